//! Arbitrary bytes through the scanner and every role view.
//!
//! Checks, for any input: no panic in any role (with and without a token key, with a
//! user-defined identifier); admin output is the input; the fast scan finds exactly what the
//! every-byte reference scan finds; findings are in order, in bounds, non-overlapping and cut
//! UTF-8 input only at character boundaries; the counts match the findings; operator and
//! readonly views are idempotent (masking masked text changes nothing), hold nothing the scan
//! would find again and keep UTF-8 valid; masking in two pieces cut where `Masker::cut_point`
//! says equals masking the whole; every IPv4 address found is found again with its dots
//! written as `\u002e` or `%2e`; with dictionary terms, the readonly view's narrow second
//! round gives what searching every changed line again gives.
//!
//! Run: `cd crates/mask/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run scan -s none -- -dict=scan.dict`
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use logmask_mask::{Masker, Policy, Role, reference_scan};

static PLAIN: LazyLock<Masker> = LazyLock::new(Masker::new);
static KEYED: LazyLock<Masker> = LazyLock::new(|| {
    Masker::builder(Policy::default()).token_key(*b"fuzz key: 32 bytes, not a secret").build().expect("valid key")
});
static WITH_IDENTIFIER: LazyLock<Masker> = LazyLock::new(|| {
    let policy = Policy::from_toml("[[identifiers]]\nname = \"order_id\"\npattern = 'ORD-[0-9]{4}'\n").expect("policy");
    Masker::builder(policy).build().expect("valid policy")
});

static WITH_TERMS: LazyLock<Masker> = LazyLock::new(|| {
    let policy = Policy::from_toml(
        "[[identifiers]]\nname = \"customer\"\nterms = [\"acme\", \"山田\", \"éclair\", \"Ωmega\", \"12345\", \"a.b\"]\n\
         [[identifiers]]\nname = \"host\"\nterms = [\"tokyo\", \"db-01\"]\ncase_insensitive = true\n\
         [[identifiers]]\nname = \"project\"\nterms = [\"zq7\", \"Ωm\"]\ninside_words = true\n",
    )
    .expect("policy");
    Masker::builder(policy).build().expect("valid policy")
});

fuzz_target!(|data: &[u8]| {
    let found = PLAIN.find(data);
    assert_eq!(found, reference_scan(data), "prefiltered scan differs from the reference scan");
    let utf8 = std::str::from_utf8(data).is_ok();
    let mut last_end = 0;
    for f in &found {
        assert!(last_end <= f.start && f.start < f.end && f.end <= data.len(), "bad span {f:?}");
        if let Ok(text) = std::str::from_utf8(data) {
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end), "span cuts a character: {f:?}");
        }
        last_end = f.end;
    }

    // Disguised dots hide nothing: each address found is found again, alone, with its dots
    // escaped, and gets the plain form's pseudonym.
    for f in found.iter().filter(|f| f.kind == logmask_mask::Kind::Ipv4) {
        let text = &data[f.start..f.end];
        let plain = KEYED.mask(Role::Readonly, text).0;
        for dot in [&b"\\u002e"[..], b"%2E"] {
            let mut disguised = Vec::new();
            for (i, part) in text.split(|&b| b == b'.').enumerate() {
                if i > 0 {
                    disguised.extend_from_slice(dot);
                }
                disguised.extend_from_slice(part);
            }
            assert_eq!(KEYED.mask(Role::Readonly, &disguised).0, plain, "{:?}", String::from_utf8_lossy(&disguised));
        }
    }

    let narrow = WITH_TERMS.mask(Role::Readonly, data).0;
    let every = WITH_TERMS.mask_searching_every_changed_line(Role::Readonly, data);
    assert!(
        narrow == every,
        "the narrow second round differs:\nnarrow: {:?}\n every: {:?}",
        String::from_utf8_lossy(&narrow),
        String::from_utf8_lossy(&every)
    );

    for masker in [&*PLAIN, &*KEYED, &*WITH_IDENTIFIER, &*WITH_TERMS] {
        let expected = masker.find(data).len() as u64;
        for role in Role::ALL {
            let mut out = Vec::new();
            let counts = masker.mask_into(role, data, &mut out);
            assert_eq!(counts.total(), expected, "{role}: counts differ from find()");
            if role == Role::Admin {
                assert_eq!(out, data, "admin view must be the input byte for byte");
                continue;
            }
            if utf8 {
                assert!(std::str::from_utf8(&out).is_ok(), "{role}: masking broke UTF-8");
            }
            assert!(masker.find(&out).is_empty(), "{role} view still holds findings: {:?}", String::from_utf8_lossy(&out));
            if let Some(cut) = masker.cut_point(data) {
                let mut pieces = Vec::new();
                let mut counts = masker.mask_into(role, &data[..cut], &mut pieces);
                counts += masker.mask_into(role, &data[cut..], &mut pieces);
                assert!(pieces == out && counts.total() == expected, "{role}: cut at {cut} changes the view");
            }
            let mut again = Vec::new();
            masker.mask_into(role, &out, &mut again);
            assert!(
                again == out,
                "{role} view is not idempotent:\n once: {:?}\ntwice: {:?}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&again)
            );
        }
    }
});
