//! Arbitrary bytes as Firehose records: base64 in, every decode path (gzip, CloudWatch Logs
//! JSON, SES JSON, text, re-ingest marker) out.
//!
//! The input is cut into records at each `0xFF 0x00` pair; the first byte picks the view and a
//! small response budget so that the overflow path runs too (no re-ingestion client: overflow
//! must become ProcessingFailed). Checks: no panic; every recordId once, in order; the response
//! inside the budget and always inside the Lambda limit; Ok records carry UTF-8 data and partition
//! keys; a readonly Ok record of a JSON-aware kind (JSON, SES, CloudWatch Logs, re-ingested
//! piece) holds no address a reader could decode from it — in its bytes or in any of its JSON
//! strings once their escapes are decoded (issue 14: escapes beside a lone surrogate, log event
//! ids, arrays, forged markers) — and a text record none in its bytes.
//!
//! Run: `cd crates/firehose/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run decode -s none`
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use logmask_firehose::audit::readable_findings;
use logmask_firehose::{
    Config, FirehoseRecord, NoReingest, RESPONSE_LIMIT, RecordKind, RecordResult, Transformer, samples,
};
use logmask_mask::{Masker, Role};

static MASKER: LazyLock<Masker> = LazyLock::new(Masker::new);

static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime"));

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let role = Role::ALL[usize::from(selector) % Role::ALL.len()];
    let budget = if selector & 0x80 != 0 { 2_000 } else { usize::MAX / 2 };
    let mut records = Vec::new();
    let mut start = 0;
    for i in 0..rest.len() {
        if i >= start && rest[i] == 0xFF && rest.get(i + 1) == Some(&0x00) {
            records.push(&rest[start..i]);
            start = i + 2;
        }
    }
    records.push(&rest[start.min(rest.len())..]);
    let event = samples::event(
        records
            .iter()
            .enumerate()
            .map(|(i, bytes)| FirehoseRecord::new(format!("r{i}"), 1_714_555_805_000, bytes))
            .collect(),
    );
    let transformer = Transformer::new(Masker::new(), &Config { role, ..Config::default() }, NoReingest)
        .with_budget(budget);
    let out = RUNTIME.block_on(transformer.process(event));
    if out.refused.is_some() {
        // Only a batch whose ids alone pass the limit is refused; a fuzz input never has that many.
        panic!("batch of {} records refused", records.len());
    }

    assert_eq!(out.response.records.len(), records.len(), "a record vanished");
    for (i, record) in out.response.records.iter().enumerate() {
        assert_eq!(record.record_id, format!("r{i}"), "recordIds out of order");
        if record.result == RecordResult::Ok {
            let bytes = record.decoded_data().expect("Ok data is base64");
            assert!(std::str::from_utf8(&bytes).is_ok(), "Ok data is UTF-8");
            assert!(record.metadata.is_some(), "Ok records carry partition keys");
            let is_json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).is_ok();
            if matches!(out.kinds[i], RecordKind::Json | RecordKind::SesEvent) && is_json(records[i]) {
                // JSON stays JSON: masking in place never breaks a string or an escape.
                assert!(is_json(&bytes), "masked JSON record {i} is not JSON");
            }
            if role == Role::Admin && matches!(out.kinds[i], RecordKind::Json | RecordKind::Text) {
                assert_eq!(bytes, records[i], "the admin view of record {i} is its input byte for byte");
            }
            if role == Role::Readonly {
                let found = if out.kinds[i] == RecordKind::Text {
                    MASKER.find(&bytes).len()
                } else {
                    readable_findings(&MASKER, &bytes).len()
                };
                assert_eq!(found, 0, "readonly record {i} ({:?}) still holds a readable address", out.kinds[i]);
            }
        }
    }
    let actual = serde_json_len(&out.response);
    assert!(actual <= RESPONSE_LIMIT, "response {actual} bytes over the Lambda limit");
    if budget < usize::MAX / 2 {
        // Every record must at least be reported, so a tiny budget stretches to that floor.
        let limit = budget.max(out.response.records.len() * 80 + 14);
        assert!(actual <= limit, "response {actual} bytes over budget {limit}");
    }
});

fn serde_json_len(response: &logmask_firehose::FirehoseResponse) -> usize {
    serde_json::to_vec(response).map(|v| v.len()).unwrap_or(0)
}
