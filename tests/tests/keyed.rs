//! Keyed pseudonyms: one token per address whatever its spelling, and the key never shows.

use hmac::{Hmac, Mac};
use logmask_conformance::corpus;
use logmask_mask::{Masker, Policy, Role};
use regex::Regex;
use sha2::Sha256;

const KEY: &[u8] = b"corpus-test-key: 32 bytes long!!";

fn keyed() -> Masker {
    Masker::builder(Policy::default()).token_key(KEY).build().expect("valid key")
}

fn readonly(masker: &Masker, text: &str) -> String {
    masker.mask_str(Role::Readonly, text).0
}

/// The token as the standard defines it, computed here without the engine.
fn expected_token(kind: &str, normalised: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).unwrap();
    mac.update(kind.as_bytes());
    mac.update(b"\0");
    mac.update(normalised.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("<{kind}:k1:{hex}>")
}

#[test]
fn one_email_in_every_form_gets_one_token() {
    let masker = keyed();
    let want = expected_token("email", "bob@example.com");
    for form in [
        "bob@example.com",
        "Bob@Example.com",
        "BOB@EXAMPLE.COM",
        r"bob\u0040example.com",
        r"Bob\u0040Example.Com",
        "bob%40example.com",
        "bob＠example.com",
        "Bob＠EXAMPLE.com",
    ] {
        assert_eq!(readonly(&masker, form), want, "form {form:?}");
        // The same address in another record, inside other text.
        assert_eq!(readonly(&masker, &format!(r#"{{"to":"{form}","n":1}}"#)), format!(r#"{{"to":"{want}","n":1}}"#));
    }
}

#[test]
fn url_escapes_in_the_local_part_are_decoded_before_hashing() {
    let masker = keyed();
    let want = expected_token("email", "bob+tag@example.com");
    for form in
        ["bob+tag@example.com", "bob%2Btag%40example.com", "bob%2btag%40Example.COM", r"bob+tag\u0040example.com"]
    {
        assert_eq!(readonly(&masker, form), want, "form {form:?}");
    }
}

#[test]
fn ip_addresses_are_canonicalised_before_hashing() {
    let masker = keyed();
    let v4 = expected_token("ipv4", "10.1.2.3");
    assert_eq!(readonly(&masker, "10.1.2.3"), v4);
    assert_eq!(readonly(&masker, "010.001.002.003"), v4);
    let v6 = expected_token("ipv6", "2001:db8::1");
    for form in ["2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "[2001:db8::1]:443"] {
        assert!(readonly(&masker, form).contains(&v6), "form {form:?}");
    }
}

#[test]
fn different_addresses_get_different_tokens() {
    let masker = keyed();
    let inputs = [
        "bob@example.com",
        "bob@example.org",
        "bob.smith@example.com",
        "rob@example.com",
        "10.1.2.3",
        "10.1.2.4",
        "2001:db8::1",
        "2001:db8::2",
    ];
    let tokens: Vec<String> = inputs.iter().map(|i| readonly(&masker, i)).collect();
    for (i, a) in tokens.iter().enumerate() {
        for b in &tokens[i + 1..] {
            assert_ne!(a, b, "tokens collide: {tokens:?}");
        }
    }
}

#[test]
fn another_key_gives_other_tokens() {
    let other = Masker::builder(Policy::default()).token_key(*b"another key, also 32 bytes long!").build().unwrap();
    assert_ne!(readonly(&keyed(), "bob@example.com"), readonly(&other, "bob@example.com"));
}

#[test]
fn the_key_never_appears_in_output_or_debug() {
    let masker = keyed();
    let key_text = std::str::from_utf8(KEY).unwrap();
    let key_bytes_debug = format!("{:?}", KEY.to_vec()); // how a derived Debug would print a Vec<u8>
    let key_hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    let builder = Masker::builder(Policy::default()).token_key(KEY);
    for debug in [format!("{masker:?}"), format!("{masker:#?}"), format!("{builder:?}"), format!("{builder:#?}")] {
        for secret in [key_text, key_bytes_debug.as_str(), key_bytes_debug.trim_matches(['[', ']']), key_hex.as_str()] {
            assert!(!debug.contains(secret), "Debug output shows the token key: {debug}");
        }
    }
    for case in corpus() {
        for role in Role::ALL {
            let (out, _) = masker.mask_str(role, &case.input);
            assert!(!out.contains(key_text), "case {}: {role} output contains the key", case.name);
        }
    }
}

/// Under a key, every corpus case renders like the unkeyed readonly view with pseudonyms in place
/// of the typed tokens; the keyed view is idempotent and holds nothing findable.
#[test]
fn corpus_readonly_views_with_a_key() {
    let masker = keyed();
    let pseudonym = Regex::new(r"<(email|ipv4|ipv6):k1:[0-9a-f]{12}>").unwrap();
    for case in corpus() {
        let (out, counts) = masker.mask_str(Role::Readonly, &case.input);
        assert_eq!(counts.total(), case.findings.len() as u64, "case {}", case.name);
        assert_eq!(pseudonym.replace_all(&out, "<$1>"), case.readonly, "case {}", case.name);
        assert_eq!(readonly(&masker, &out), out, "case {}: keyed view not idempotent", case.name);
        assert!(masker.find(out.as_bytes()).is_empty(), "case {}: {out:?} holds findings", case.name);
        // Operators see the same partial view with or without a key.
        assert_eq!(masker.mask_str(Role::Operator, &case.input).0, case.operator, "case {}", case.name);
    }
}

/// Issue 14: disguised dots and escaped letters give the plain form's pseudonym.
#[test]
fn escaped_dots_and_letters_get_the_plain_token() {
    let masker = keyed();
    let email = expected_token("email", "bob@example.com");
    for form in [r"bob\u0040example\u002ecom", r"\u0062ob@ex\u0061mple.com", "bob%40example%2ecom", "bob@example%2Ecom"]
    {
        assert_eq!(readonly(&masker, form), email, "{form}");
    }
    let ipv4 = expected_token("ipv4", "10.1.2.3");
    for form in
        [r"10\u002e1\u002e2\u002e3", r"10\u002E1.2\u002e3", "10%2e1%2e2%2e3", "１０．１．２．３", "１０.１.２.３"]
    {
        assert_eq!(readonly(&masker, form), ipv4, "{form}");
    }
}

#[test]
fn an_ec2_host_name_gets_its_address_token() {
    let masker = keyed();
    let token = expected_token("ipv4", "10.1.2.3");
    assert_eq!(readonly(&masker, "ip-10-1-2-3.ec2.internal"), format!("ip-{token}.ec2.internal"));
}
