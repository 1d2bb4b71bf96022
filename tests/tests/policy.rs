//! Policies: bad ones are rejected at build with the right error; good ones change the views.

use logmask_mask::{BuildError, Masker, Policy, Role};

fn build(policy_toml: &str) -> Result<Masker, BuildError> {
    Masker::builder(Policy::from_toml(policy_toml)?).build()
}

fn err(policy_toml: &str) -> BuildError {
    build(policy_toml).expect_err(policy_toml)
}

const _: () = {
    const fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Masker>();
    shareable::<BuildError>();
};

#[test]
fn bad_prefixes_are_rejected() {
    for bits in [1u8, 12, 25, 32, 255] {
        assert_eq!(err(&format!("[operator]\nipv4_prefix = {bits}")), BuildError::Ipv4Prefix(bits));
    }
    for bits in [0u8, 8, 20, 120, 128] {
        assert_eq!(err(&format!("[operator]\nipv6_prefix = {bits}")), BuildError::Ipv6Prefix(bits));
    }
    for bits in [0u8, 8, 16, 24] {
        build(&format!("[operator]\nipv4_prefix = {bits}")).unwrap();
    }
    for bits in [16u8, 32, 48, 64, 80, 96, 112] {
        build(&format!("[operator]\nipv6_prefix = {bits}")).unwrap();
    }
}

#[test]
fn bad_identifiers_are_rejected() {
    let ident = |name: &str, pattern: &str| format!("[[identifiers]]\nname = '{name}'\npattern = '{pattern}'\n");
    let unclosed = String::from("ORD-(");
    assert_eq!(
        err(&ident("order_id", &unclosed)),
        BuildError::IdentifierPattern {
            name: "order_id".into(),
            message: regex::Regex::new(&unclosed).unwrap_err().to_string(),
        }
    );
    assert!(matches!(err(&ident("x", "[z-a]")), BuildError::IdentifierPattern { name, .. } if name == "x"));
    assert_eq!(err(&ident("maybe", "a*")), BuildError::IdentifierMatchesEmpty("maybe".into()));
    for bad in ["Order", "1st", "", "email", "ipv4", "ipv6", "order-id", "a23456789012345678901234567890123"] {
        assert_eq!(err(&ident(bad, "X[0-9]+")), BuildError::IdentifierName(bad.into()), "name {bad:?}");
    }
    let twice = format!("{}{}", ident("ticket", "T-[0-9]+"), ident("ticket", "TK[0-9]+"));
    assert_eq!(err(&twice), BuildError::DuplicateIdentifier("ticket".into()));
}

#[test]
fn short_keys_and_bad_key_ids_are_rejected() {
    for len in [0usize, 1, 15] {
        let result = Masker::builder(Policy::default()).token_key(vec![7u8; len]).build();
        assert_eq!(result.unwrap_err(), BuildError::TokenKeyTooShort(len));
    }
    Masker::builder(Policy::default()).token_key(vec![7u8; 16]).build().unwrap();
    for id in ["", "has space", "seventeen-chars-x", "k/1"] {
        assert_eq!(err(&format!("[readonly]\ntoken_key_id = '{id}'")), BuildError::TokenKeyId(id.into()));
    }
}

#[test]
fn typos_and_unknown_roles_are_rejected() {
    assert!(matches!(err("[operator]\nipv4_prefx = 16"), BuildError::Syntax(m) if m.contains("ipv4_prefx")));
    assert!(matches!(err("[operator]\nemail = 'first_char'"), BuildError::Syntax(_)));
    assert!(matches!(err("[readonly\n"), BuildError::Syntax(_)));
    let unknown = "superuser".parse::<Role>().unwrap_err();
    assert_eq!(unknown, BuildError::UnknownRole("superuser".into()));
    let message = unknown.to_string();
    assert!(["admin", "operator", "readonly"].iter().all(|r| message.contains(r)), "{message}");
    for role in Role::ALL {
        assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
    }
}

#[test]
fn empty_policy_is_the_default() {
    let masker = build("").unwrap();
    let line = "a.b@example.com 203.0.113.7 2001:db8:85a3::1";
    assert_eq!(masker.mask_str(Role::Operator, line).0, Masker::new().mask_str(Role::Operator, line).0);
}

#[test]
fn custom_identifiers_render_their_name() {
    let masker = build(
        "[[identifiers]]\nname = 'order_id'\npattern = 'ORD-[0-9]{8}'\n\n\
         [[identifiers]]\nname = 'member'\npattern = 'M[0-9]{6}'\n",
    )
    .unwrap();
    let line = r#"{"order":"ORD-12345678","member":"M123456","to":"bob@example.com","ip":"10.0.0.1"}"#;
    let (operator, counts) = masker.mask_str(Role::Operator, line);
    assert_eq!(operator, r#"{"order":"<order_id>","member":"<member>","to":"b***@example.com","ip":"10.0.0.*"}"#);
    assert_eq!((counts.custom, counts.emails, counts.ipv4), (2, 1, 1));
    let (readonly, _) = masker.mask_str(Role::Readonly, line);
    assert_eq!(readonly, r#"{"order":"<order_id>","member":"<member>","to":"<email>","ip":"<ipv4>"}"#);
    assert_eq!(masker.mask_str(Role::Admin, line).0, line);
    assert_eq!(masker.mask_str(Role::Readonly, &readonly).0, readonly, "idempotent");
    let names: Vec<_> = (0..3).map(|i| masker.identifier_name(i)).collect();
    assert_eq!(names, [Some("order_id"), Some("member"), None]);
    // A user pattern overlapping a built-in finding does not split it.
    let overlap = build("[[identifiers]]\nname = 'bobs'\npattern = 'bob@ex'\n").unwrap();
    assert_eq!(overlap.mask_str(Role::Readonly, "to bob@example.com").0, "to <email>");
}

#[test]
fn a_custom_match_that_would_uncover_an_address_is_left_alone() {
    let masker = build("[[identifiers]]\nname = 'order_id'\npattern = 'ORD-[0-9]{4}'\n").unwrap();
    // Found by fuzzing: the match cuts "12192.0.2.1"; with "<order_id>" before it, "2.0.2.1"
    // would read as an address and the view would change when masked again.
    for line in ["ref ORD-12192.0.2.1 end", "10.0.0.1ORD-1234 x", "x ORD-1234.1.2.3.4", "2001:db8::ORD-1234"] {
        for role in [Role::Operator, Role::Readonly] {
            let (once, counts) = masker.mask_str(role, line);
            assert_eq!(masker.mask_str(role, &once).0, once, "{role}: {line}");
            assert_eq!(counts.custom, 0, "{role}: {line} -> {once}");
        }
    }
    // Next to separators and to other punctuation that cannot join an address, it is masked.
    for (line, masked) in [
        ("order ORD-1234 shipped", "order <order_id> shipped"),
        ("id=ORD-1234&x=1", "id=<order_id>&x=1"),
        ("[ORD-1234] ok", "[<order_id>] ok"),
        ("ORD-1234", "<order_id>"),
    ] {
        assert_eq!(masker.mask_str(Role::Readonly, line).0, masked);
    }
}

#[test]
fn operator_shapes_follow_the_policy() {
    let line = "taro@example.co.jp 203.0.113.7 2001:db8:85a3:1:2:3:4:5";
    let view = |policy: &str| build(policy).unwrap().mask_str(Role::Operator, line).0;
    assert_eq!(view("[operator]\nemail = 'domain-only'"), "***@example.co.jp 203.0.113.* 2001:db8:85a3:*");
    assert_eq!(view("[operator]\nemail = 'token'"), "<email> 203.0.113.* 2001:db8:85a3:*");
    assert_eq!(
        view("[operator]\nipv4_prefix = 16\nipv6_prefix = 64"),
        "t***@example.co.jp 203.0.*.* 2001:db8:85a3:1:*"
    );
    assert_eq!(view("[operator]\nipv4_prefix = 0\nipv6_prefix = 16"), "t***@example.co.jp *.*.*.* 2001:*");
    for policy in ["[operator]\nipv4_prefix = 0\nipv6_prefix = 112", "[operator]\nemail = 'domain-only'"] {
        let masker = build(policy).unwrap();
        let once = masker.mask_str(Role::Operator, line).0;
        assert_eq!(masker.mask_str(Role::Operator, &once).0, once, "{policy}");
        assert!(masker.find(once.as_bytes()).is_empty(), "{policy}: {once}");
    }
}

/// Issue 14, finding 5: a pattern that matches its own token grew the output on every pass
/// (`[a-z_]+_id` named `customer_id`; `[a-z]` named `ab`: 5.4 GB from `hello`).
#[test]
fn patterns_that_match_a_mask_token_or_a_view_are_refused() {
    let ident = |name: &str, pattern: &str| format!("[[identifiers]]\nname = '{name}'\npattern = '{pattern}'\n");
    for (name, pattern) in [
        ("customer_id", "[a-z_]+_id"),
        ("ab", "[a-z]"),
        ("word", r"\w+"),
        ("angle", "<[a-z]+>"),
        ("stars", r"\*+"),
        ("keyed", "k1:[a-f0-9]+"),
        ("octets", r"[0-9]+\.\*"),
        ("ip", "ipv4"),
    ] {
        match err(&ident(name, pattern)) {
            BuildError::IdentifierMatchesView { name: got, sample } => {
                assert_eq!(got, name);
                let message = err(&ident(name, pattern)).to_string();
                assert!(message.contains(name) && message.contains(&sample), "{message}");
            }
            other => panic!("{pattern}: {other:?}"),
        }
    }
    // Ordinary identifiers are accepted, digit-only ones included.
    for (name, pattern) in [("order_id", "ORD-[0-9]{8}"), ("account", "[0-9]{12}"), ("member", "M[0-9]{6}")] {
        build(&ident(name, pattern)).unwrap();
    }
}

/// Whatever the pattern, masking never runs away: masking a view again gives the view.
#[test]
fn accepted_identifiers_keep_views_stable() {
    let masker = build("[[identifiers]]\nname = 'account'\npattern = '[0-9]{12}'\n").unwrap();
    let keyed =
        Masker::builder(Policy::from_toml("[[identifiers]]\nname = 'account'\npattern = '[0-9]{12}'\n").unwrap())
            .token_key(*b"policy test key, 32 bytes long!!")
            .build()
            .unwrap();
    for line in ["acct 123456789012 bob@example.com", "x 000000000000 <email:k1:000000000000>"] {
        for m in [&masker, &keyed] {
            for role in [Role::Operator, Role::Readonly] {
                let once = m.mask_str(role, line).0;
                assert_eq!(m.mask_str(role, &once).0, once, "{role}: {line}");
            }
        }
    }
}

/// Issue 14, finding 5: `[0-9]{12}` turned `{"accountId":123456789012}` into
/// `{"accountId":<account>}`. A match inside a JSON number masks the whole number as a string.
#[test]
fn identifiers_keep_json_valid() {
    let masker = build("[[identifiers]]\nname = 'account'\npattern = '[0-9]{12}'\n").unwrap();
    for (line, readonly) in [
        (r#"{"accountId":123456789012}"#, r#"{"accountId":"<account>"}"#),
        (r#"{"accountId": 123456789012 , "n":1}"#, r#"{"accountId": "<account>" , "n":1}"#),
        (r#"{"ids":[123456789012,1234567890123]}"#, r#"{"ids":["<account>","<account>"]}"#),
        (r#"{"big":-1234567890123.5e3}"#, r#"{"big":"<account>"}"#),
        (r#"{"s":"id 123456789012 ok"}"#, r#"{"s":"id <account> ok"}"#),
        ("plain 123456789012 text", "plain <account> text"),
    ] {
        for role in [Role::Operator, Role::Readonly] {
            let (out, counts) = masker.mask_str(role, line);
            assert_eq!(out, readonly, "{role}");
            assert!(counts.custom >= 1);
            assert_eq!(masker.mask_str(role, &out).0, out, "{role}: idempotent");
            if line.starts_with('{') {
                serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{role}: {out}: {e}"));
            }
        }
    }
}

/// README "Reliability limits": the most a view grows, on the densest findings there are.
#[test]
fn output_expansion_stays_within_the_documented_bound() {
    let long_id = build("[readonly]\ntoken_key_id = 'abcdefghijklmnop'\n[operator]\nipv6_prefix = 112").unwrap();
    let keyed = Masker::builder(
        Policy::from_toml("[readonly]\ntoken_key_id = 'abcdefghijklmnop'\n[operator]\nipv6_prefix = 112").unwrap(),
    )
    .token_key(*b"expansion test key, 32 bytes!!!!")
    .build()
    .unwrap();
    let mut worst = [0f64; 3];
    let dense = ["::1 ", "1::,", "a@b.cc ", "1.2.3.4,", "ip-1-2-3-4 "].map(|unit| unit.repeat(1000));
    for text in dense.into_iter().chain(["::1".to_owned()]) {
        for (i, (m, role)) in
            [(&long_id, Role::Operator), (&long_id, Role::Readonly), (&keyed, Role::Readonly)].into_iter().enumerate()
        {
            let ratio = m.mask(role, text.as_bytes()).0.len() as f64 / text.len() as f64;
            worst[i] = worst[i].max(ratio);
        }
    }
    // "::1" (3 bytes) alone: "0:0:0:0:0:0:0:*" with a /112 prefix, "<ipv6>",
    // "<ipv6:<16-char id>:<12 hex>>"; dense ones have a separator each (9.25× keyed).
    assert!(worst[0] <= 5.0, "operator {worst:?}");
    assert!(worst[1] <= 2.0, "readonly {worst:?}");
    assert!(worst[2] <= 12.0, "keyed readonly {worst:?}");
    assert!(worst[2] > 11.0, "the bound is reached: {worst:?}");
}
