//! JSON records are masked in place, between the strings that hold escapes, in one masker call
//! per run. The reference masks every string on its own (decoded, masked as text): the two must
//! give the same JSON values, and the output must stay valid JSON.

use logmask_firehose::{RecordKind, RecordResult};
use logmask_mask::{Masker, Role};
use proptest::prelude::*;
use serde_json::Value;

use crate::common::{MemoryStream, event_of, run};

/// Pieces of string content: addresses in every form the engine reads, the characters JSON must
/// escape, near-misses (versions, times, `::`), Japanese text.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("bob@example.com".to_owned()),
        Just("hanako.yamada+tag@mail.example.co.jp".to_owned()),
        Just("192.0.2.44".to_owned()),
        Just("2001:db8:85a3::8a2e:370:7334".to_owned()),
        Just("::ffff:198.51.100.7".to_owned()),
        Just("bob%40example.com".to_owned()),
        Just("bob\\u0040example.com".to_owned()),
        Just("ｔａｒｏ＠example.jp".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\t".to_owned()),
        Just("\u{1}".to_owned()),
        Just("<".to_owned()),
        Just("1.2.3".to_owned()),
        Just("12:34:56.789".to_owned()),
        Just("std::io".to_owned()),
        Just("送信しました".to_owned()),
        "[a-z0-9 .:@%-]{0,6}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 0..5).prop_map(|p| p.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::String),
        any::<i32>().prop_map(Value::from),
        Just(Value::from(1.5)),
        Just(Value::Bool(true)),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            // Keys without findings, so masked keys cannot collide in the reference's map.
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mask_strings(masker: &Masker, role: Role, value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(masker.mask_str(role, s).0),
        Value::Array(items) => Value::Array(items.iter().map(|v| mask_strings(masker, role, v)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), mask_strings(masker, role, v))).collect())
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn json_records_mask_like_each_string_on_its_own(
        fields in proptest::collection::btree_map("[a-z]{1,6}", json_value(), 1..6),
        pretty in any::<bool>(),
        role in prop_oneof![Just(Role::Readonly), Just(Role::Operator), Just(Role::Admin)],
    ) {
        let doc = Value::Object(fields.into_iter().collect());
        let bytes = if pretty { serde_json::to_vec_pretty(&doc) } else { serde_json::to_vec(&doc) }.unwrap();
        let out = run(role, usize::MAX / 2, &MemoryStream::default(), event_of(vec![bytes.clone()]));
        prop_assert_eq!(out.kinds[0], RecordKind::Json);
        prop_assert_eq!(out.response.records[0].result, RecordResult::Ok);
        let data = out.response.records[0].decoded_data().unwrap();
        if role == Role::Admin {
            prop_assert_eq!(&data, &bytes, "admin output is the input byte for byte");
        }
        let got: Value = serde_json::from_slice(&data).map_err(|e| TestCaseError::fail(format!("not JSON: {e}")))?;
        prop_assert_eq!(got, mask_strings(&Masker::new(), role, &doc));
    }
}
