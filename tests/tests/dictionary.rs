//! Dictionary identifiers (issue 12): the case table in `data/dictionary.toml` and the
//! properties every kind of finding keeps (admin is the input, views are idempotent and UTF-8,
//! JSON stays JSON, masking in pieces is masking the whole), with terms in the text.

use std::sync::OnceLock;

use logmask_mask::{Masker, Policy, Role};
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Table {
    policy: String,
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    input: String,
    operator: String,
    readonly: String,
    custom: u64,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/dictionary.toml");
        toml::from_str(&std::fs::read_to_string(path).expect("the table is readable")).expect("the table parses")
    })
}

fn masker() -> &'static Masker {
    static MASKER: OnceLock<Masker> = OnceLock::new();
    MASKER.get_or_init(|| {
        let policy = Policy::from_toml(&table().policy).expect("the table's policy parses");
        Masker::builder(policy).build().expect("the table's policy is valid")
    })
}

/// The table's terms without its pattern identifier: the readonly view's narrower second round
/// applies only without patterns.
fn terms_only_masker() -> &'static Masker {
    static MASKER: OnceLock<Masker> = OnceLock::new();
    MASKER.get_or_init(|| {
        let mut policy = Policy::from_toml(&table().policy).expect("the table's policy parses");
        policy.identifiers.retain(|i| i.pattern.is_none());
        Masker::builder(policy).build().expect("the table's policy is valid")
    })
}

/// Texts where masking an address changes what a term next to it reads as: an address glued
/// to an escape's last character, a term declined next to an address (the first text: found by
/// the property test below when the second round was skipped altogether).
#[test]
fn the_narrow_second_round_agrees_on_glued_addresses() {
    for text in [
        r"2001:db8::110.0.0.1.acme\u5c71\u7530",
        r"acm\u006510.0.0.1 x",
        r"acm\u0065::1",
        r"[acm\u0065bob@example.com]",
        "acme10.0.0.1 acme-10.0.0.1 acme.10.0.0.1",
        "ORD-12192.0.2.1 acme",
        r"12345\u00401.2.3.4",
        "tokyo%2010.0.0.1",
        // A term behind an escape right after an address: the backslash is no word byte, the
        // letter it decodes to is.
        r"1.2.3.4\u0061cme 1.2.3.4\u0074okyo",
        // Next to Japanese or punctuation, a term reads the same whatever the address became.
        "山田10.0.0.1山田 acme.10.0.0.1.acme",
        "Müller10.0.0.1 10.0.0.1Müller",
    ] {
        let masker = terms_only_masker();
        let narrow = masker.mask(Role::Readonly, text.as_bytes()).0;
        assert_eq!(narrow, masker.mask_searching_every_changed_line(Role::Readonly, text.as_bytes()), "{text}");
        assert_eq!(masker.mask(Role::Readonly, &narrow).0, narrow, "{text}");
    }
}

/// A term that starts or ends with a letter of another script than Latin ASCII, next to an
/// address glued to it: masking the address makes it a whole word, and the second round must
/// find it (the table's terms start and end with ASCII or Japanese).
#[test]
fn the_narrow_second_round_reads_letters_of_every_script() {
    let policy = Policy {
        identifiers: vec![logmask_mask::IdentifierPolicy {
            name: "customer".into(),
            terms: ["éclair", "Ωmega", "café", "山田"].map(String::from).to_vec(),
            ..Default::default()
        }],
        ..Policy::default()
    };
    let masker = Masker::builder(policy).build().unwrap();
    for (text, view) in [
        ("1.2.3.4éclair", "<ipv4><customer>"),
        ("::1Ωmega x", "<ipv6><customer> x"),
        (r"1.2.3.4\u00e9clair", "<ipv4><customer>"),
        ("café1.2.3.4", "<customer><ipv4>"),
        ("山田10.0.0.1山田", "<customer><ipv4><customer>"),
    ] {
        let narrow = masker.mask(Role::Readonly, text.as_bytes()).0;
        assert_eq!(String::from_utf8_lossy(&narrow), view, "{text}");
        assert_eq!(narrow, masker.mask_searching_every_changed_line(Role::Readonly, text.as_bytes()), "{text}");
    }
}

/// Every word that is a term of the table's policy, as a reader would check for it.
fn is_term(word: &str) -> bool {
    ["acme", "山田商事", "山田", "Müller", "12345"].contains(&word)
        || ["db-prod-01", "tokyo"].contains(&word.to_ascii_lowercase().as_str())
}

#[test]
fn the_case_table() {
    let masker = masker();
    let mut failures = Vec::new();
    for case in &table().case {
        let (operator, _) = masker.mask_str(Role::Operator, &case.input);
        let (readonly, counts) = masker.mask_str(Role::Readonly, &case.input);
        let (admin, _) = masker.mask_str(Role::Admin, &case.input);
        if operator != case.operator || readonly != case.readonly || admin != case.input || counts.custom != case.custom
        {
            failures.push(format!(
                "{}:\n  operator {operator:?}\n  readonly {readonly:?}\n  custom {}",
                case.name, counts.custom
            ));
        }
        for (role, view) in [(Role::Operator, &operator), (Role::Readonly, &readonly)] {
            let (twice, _) = masker.mask_str(role, view);
            if &twice != view {
                failures.push(format!("{}: {role} view is not idempotent: {twice:?}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), table().case.len(), failures.join("\n"));
}

#[test]
fn keyed_pseudonyms_join_spellings_of_one_term() {
    let policy = Policy::from_toml(&table().policy).unwrap();
    let keyed = Masker::builder(policy).token_key(*b"a dictionary test key, 32 bytes").build().unwrap();
    let view = |text: &str| keyed.mask_str(Role::Readonly, text).0;
    let tokyo = view("Tokyo");
    assert!(tokyo.starts_with("<host:k1:") && tokyo.len() == "<host:k1:0123456789ab>".len(), "{tokyo}");
    // ASCII case ignored by the dictionary, JSON escapes decoded: one entity, one pseudonym.
    assert_eq!(view("TOKYO"), tokyo);
    assert_eq!(view(r#"{"r":"\u0074okyo"}"#), format!(r#"{{"r":"{tokyo}"}}"#));
    let yamada = view("山田");
    assert_eq!(view(r#"{"n":"\u5c71\u7530"}"#), format!(r#"{{"n":"{yamada}"}}"#));
    assert_ne!(view("acme"), view("12345"));
    // A case-sensitive dictionary tells case apart only by what it matches: `Acme` is no term.
    assert_eq!(view("Acme"), "Acme");
    // The operator view shows the unkeyed token, like every user-defined identifier.
    assert_eq!(keyed.mask_str(Role::Operator, "Tokyo").0, "<host>");
}

#[test]
fn ten_thousand_terms_compile_once_and_all_match() {
    let terms: Vec<String> = (0..10_000).map(|i| format!("Kunde{i:05}")).collect();
    let mut identifier = logmask_mask::IdentifierPolicy { name: "customer".into(), ..Default::default() };
    identifier.terms = terms.clone();
    let masker = Masker::builder(Policy { identifiers: vec![identifier], ..Policy::default() }).build().unwrap();
    let text = terms.join(" ");
    let (out, counts) = masker.mask_str(Role::Readonly, &text);
    assert_eq!(counts.custom, 10_000);
    assert_eq!(out, vec!["<customer>"; 10_000].join(" "));
}

/// Pieces around the dictionary's decision edges: terms, terms cut or extended by a word
/// character, their escapes, separators, addresses, Japanese, the views' own pieces.
const FRAGMENTS: &[&str] = &[
    "zq7",
    "xzq7y",
    "Ωmegas",
    "acme",
    "acme",
    "Acme Corp",
    "ACME",
    "acmes",
    "x",
    "_",
    "2",
    "12345",
    "1",
    "山田",
    "山田商事",
    "商事",
    "Müller",
    "é",
    "tokyo",
    "TOKYO",
    "db-prod-01",
    "ORD-1234",
    r"\u0061cme",
    r"\u5c71\u7530",
    r"\u0074",
    r"\n",
    "\\",
    r"\\",
    " ",
    " ",
    "-",
    ".",
    ":",
    "@",
    "%40",
    "<",
    ">",
    "<customer>",
    "<host>",
    "***",
    "bob@example.com",
    r"acm\u0065",
    r"x%20",
    "acme%20",
    "10.0.0.1",
    "2001:db8::1",
    "example.com",
    "様",
    "、",
    "\"",
];

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..30).prop_map(|v| v.concat())
}

/// Masks `text` as a stream would: reads of the given sizes, cut where the engine says.
fn mask_in_pieces(masker: &Masker, role: Role, text: &[u8], reads: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut pending, mut read_to) = (0, 0);
    for &size in reads.iter().cycle() {
        if read_to == text.len() {
            break;
        }
        read_to = text.len().min(read_to + size);
        if let Some(cut) = masker.cut_point(&text[pending..read_to]) {
            masker.mask_into(role, &text[pending..pending + cut], &mut out);
            pending += cut;
        }
    }
    masker.mask_into(role, &text[pending..], &mut out);
    out
}

/// JSON text of `value` with every non-ASCII character written as `\uXXXX` (surrogate pairs
/// beyond the BMP), as Python's `json.dumps` writes by default.
fn ascii_json(value: &str) -> String {
    let mut out = String::new();
    for c in serde_json::to_string(value).unwrap().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1024),
        ..ProptestConfig::default()
    })]

    #[test]
    fn views_with_terms_are_utf8_idempotent_and_counted(text in text()) {
        let masker = masker();
        let (admin, _) = masker.mask_str(Role::Admin, &text);
        prop_assert_eq!(&admin, &text);
        for role in [Role::Operator, Role::Readonly] {
            let (once, counts) = masker.mask_str(role, &text);
            prop_assert_eq!(counts.total(), masker.find(text.as_bytes()).len() as u64);
            let (twice, _) = masker.mask_str(role, &once);
            prop_assert_eq!(&twice, &once, "{} view of {:?} is not idempotent", role, text);
        }
    }

    #[test]
    fn the_narrow_second_round_finds_what_searching_every_changed_line_finds(text in text()) {
        // Lines of fragments: addresses glued to escapes, letters and terms, tokens typed in.
        for masker in [terms_only_masker(), masker()] {
            let narrow = masker.mask(Role::Readonly, text.as_bytes()).0;
            let every = masker.mask_searching_every_changed_line(Role::Readonly, text.as_bytes());
            prop_assert_eq!(&narrow, &every, "readonly view of {:?}", text);
            prop_assert_eq!(masker.mask(Role::Readonly, &narrow).0, narrow.clone(), "not idempotent: {:?}", text);
        }
    }

    #[test]
    fn masking_in_pieces_equals_masking_whole(
        lines in proptest::collection::vec(text(), 1..6),
        reads in proptest::collection::vec(1usize..64, 1..8),
    ) {
        let text = lines.join("\n");
        for role in Role::ALL {
            let whole = masker().mask(role, text.as_bytes()).0;
            let pieces = mask_in_pieces(masker(), role, text.as_bytes(), &reads);
            prop_assert_eq!(&pieces, &whole, "{} view differs when cut: {:?}", role, text);
        }
    }

    #[test]
    fn json_stays_valid_and_readonly_hides_every_term(
        values in proptest::collection::vec(proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..8), 1..5),
        ascii in any::<bool>(),
    ) {
        // Words joined by spaces: every word that is a term stands as a whole word.
        let values: Vec<String> = values.iter().map(|v| v.join(" ")).collect();
        let encode = |v: &String| if ascii { ascii_json(v) } else { serde_json::to_string(v).unwrap() };
        let fields: Vec<String> = values.iter().enumerate().map(|(i, v)| format!("\"k{i}\":{}", encode(v))).collect();
        let json = format!("{{{},\"n\":12345}}", fields.join(","));
        for role in Role::ALL {
            let (out, _) = masker().mask_str(role, &json);
            let parsed: serde_json::Value = match serde_json::from_str(&out) {
                Ok(v) => v,
                Err(e) => return Err(TestCaseError::fail(format!("{role} view is not JSON ({e}): {out}\ninput: {json}"))),
            };
            let object = parsed.as_object().unwrap();
            prop_assert_eq!(object.len(), values.len() + 1);
            if role == Role::Readonly {
                prop_assert_eq!(&object["n"], &serde_json::json!("<customer>"));
                for i in 0..values.len() {
                    let value = object[&format!("k{i}")].as_str().unwrap();
                    let left: Vec<&str> = value.split(' ').filter(|w| is_term(w)).collect();
                    prop_assert!(left.is_empty(), "readonly view {:?} of {:?} shows {:?}", value, values[i], left);
                }
            }
        }
    }
}
