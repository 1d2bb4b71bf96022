//! Issue 14, Firehose side: records built by an attacker. Small events that used to exhaust
//! memory, responses over the Lambda limit, batches past the deadline, and every way the readonly
//! view leaked an address (log event ids, escapes beside a lone surrogate, arrays, top-level
//! strings, forged re-ingestion markers).

use std::time::{Duration, Instant};

use logmask_firehose::audit::readable_findings;
use logmask_firehose::{
    FirehoseRecord, MAX_RECORD_OUTPUT, RESPONSE_LIMIT, RecordKind, RecordResult, Transformer, samples,
};
use logmask_mask::{Masker, Role};

use crate::common::{MemoryStream, block_on, capture_logs, event_of, fast_retry, run};

/// A gzip CloudWatch Logs document: `events` copies of `event` under `group`.
fn cwl_gzip(group: &str, event: &str, events: usize) -> Vec<u8> {
    let mut doc = format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"{group}","logStream":"s","subscriptionFilters":[],"logEvents":["#
    );
    doc.reserve(events * (event.len() + 1));
    for i in 0..events {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(event);
    }
    doc.push_str("]}");
    samples::gzip(doc.as_bytes())
}

fn result_and_log(record: Vec<u8>) -> (RecordResult, String, usize) {
    let stream = MemoryStream::default();
    let (out, logs) = capture_logs(|| run(Role::Readonly, 6_000_000, &stream, event_of(vec![record])));
    let delivered = stream.delivered.lock().unwrap().iter().map(Vec::len).sum();
    (out.response.records[0].result, logs, delivered)
}

#[test]
fn a_million_empty_log_events_fail_at_the_output_bound() {
    let record = cwl_gzip("g", "{}", 1_000_000);
    assert!(record.len() < 20_000, "{} bytes of gzip", record.len());
    let started = Instant::now();
    let (result, logs, delivered) = result_and_log(record);
    assert_eq!(result, RecordResult::ProcessingFailed);
    assert!(logs.contains("per-record bound"), "{logs}");
    assert_eq!(delivered, 0, "nothing of a failed record is re-ingested");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn long_log_groups_fail_before_their_events_are_read() {
    let (result, logs, _) = result_and_log(cwl_gzip(&"g".repeat(100_000), "{}", 10_000));
    assert_eq!(result, RecordResult::ProcessingFailed);
    assert!(logs.contains("logGroup is longer than 4096 bytes"), "{logs}");
    // 8 MB × 2 M events asked for a 16 TB allocation and aborted the process.
    let (result, logs, _) = result_and_log(cwl_gzip(&"g".repeat(8_000_000), "{}", 2_000_000));
    assert_eq!(result, RecordResult::ProcessingFailed);
    assert!(logs.contains("logGroup is longer"), "{logs}");
}

#[test]
fn an_oversized_log_message_fails_before_it_is_masked() {
    let event = format!(r#"{{"id":"1","timestamp":1714555801000,"message":"{}"}}"#, "a".repeat(3_000_000));
    let (result, logs, _) = result_and_log(cwl_gzip("g", &event, 1));
    assert_eq!(result, RecordResult::ProcessingFailed);
    assert!(logs.contains("log event message is longer than"), "{logs}");
}

#[test]
fn real_sized_documents_still_pass() {
    // CloudWatch Logs sends at most 10,000 events per document; 512-character names are legal.
    let event = r#"{"id":"37540214617325127358126590472133271428375049234536153088","timestamp":1714555801000,"message":"INFO ok user@example.com"}"#;
    let record = cwl_gzip(&"g".repeat(512), event, 10_000);
    let stream = MemoryStream::default();
    let out = run(Role::Readonly, usize::MAX / 2, &stream, event_of(vec![record]));
    assert_eq!(out.response.records[0].result, RecordResult::Ok);
    let data = out.response.records[0].decoded_data().unwrap();
    assert!(data.len() > 5_000_000 && data.len() <= MAX_RECORD_OUTPUT, "{}", data.len());
}

#[test]
fn a_small_event_cannot_make_the_function_reingest_megabytes() {
    // ~7.5 MB of lines from a few KB of gzip: over the response, under the per-record bound.
    let record = cwl_gzip(&"g".repeat(40), r#"{"message":"x"}"#, 70_000);
    assert!(record.len() < 20_000, "{}", record.len());
    let (result, logs, delivered) = result_and_log(record);
    assert_eq!(result, RecordResult::ProcessingFailed);
    assert!(logs.contains("re-ingestion budget"), "{logs}");
    assert!(delivered <= logmask_firehose::MIN_REINGEST_BUDGET, "{delivered} bytes re-ingested");
}

#[test]
fn reingestion_budget_scales_with_the_input_and_is_capped() {
    use logmask_firehose::{MAX_REINGEST_BUDGET, MIN_REINGEST_BUDGET, reingest_budget};
    assert_eq!(reingest_budget(1_000), MIN_REINGEST_BUDGET);
    assert_eq!(reingest_budget(1_000_000), 16_000_000);
    assert_eq!(reingest_budget(6_000_000), MAX_REINGEST_BUDGET);
}

#[test]
fn ids_that_cannot_fit_in_a_response_refuse_the_batch_instead_of_oversizing_it() {
    let tiny = |n: usize| {
        samples::event(
            (0..n).map(|i| FirehoseRecord { record_id: format!("{i:x}"), ..FirehoseRecord::default() }).collect(),
        )
    };
    // 180,000 empty records: 8.5 MB of response before.
    let out = run(Role::Readonly, 6_000_000, &MemoryStream::default(), tiny(180_000));
    let error = out.refused.expect("refused").to_string();
    assert!(error.contains("180000 records") && error.contains("error output"), "{error}");
    assert!(out.response.records.is_empty() && out.summary.reingested == 0);
    // The Lambda entry point fails the invocation (Firehose retries, then the error output).
    let transformer = Transformer::new(Masker::new(), &logmask_firehose::Config::default(), MemoryStream::default());
    let event = lambda_runtime::LambdaEvent::new(tiny(180_000), lambda_runtime::Context::default());
    assert!(block_on(transformer.handle(event)).is_err());

    // Just under: answered, every record reported, inside the limit.
    let out = run(Role::Readonly, 6_000_000, &MemoryStream::default(), tiny(120_000));
    assert!(out.refused.is_none());
    assert_eq!(out.response.records.len(), 120_000);
    let size = serde_json::to_vec(&out.response).unwrap().len();
    assert!(size <= RESPONSE_LIMIT, "{size}");
}

#[test]
fn past_the_deadline_records_fail_alone_and_the_batch_still_answers() {
    // Slow records: long runs the engine scans slowly (its own speed is crates/mask's business).
    let slow = "1.2.3.4.".repeat(5_000).into_bytes();
    let records: Vec<Vec<u8>> = (0..400).map(|_| slow.clone()).collect();
    let transformer = crate::common::transformer(Role::Readonly, MemoryStream::default());
    let event = event_of(records);
    // Calibrated on this machine: the deadline leaves time for about half of the batch (the
    // handler keeps 0.5 s back for delivery and the answer).
    let calibration = Instant::now();
    block_on(transformer.process(event.clone()));
    let full = calibration.elapsed();
    let started = Instant::now();
    let deadline = started + full / 2 + Duration::from_millis(500);
    let (out, logs) = capture_logs(|| block_on(transformer.process_until(event, Some(deadline))));
    let elapsed = started.elapsed();
    assert!(started + elapsed < deadline, "answered after {elapsed:?}, the whole batch takes {full:?}");
    assert_eq!(out.response.records.len(), 400);
    let failed = out.response.records.iter().filter(|r| r.result == RecordResult::ProcessingFailed).count();
    assert!(failed > 0 && failed < 400, "{failed} failed");
    assert!(logs.contains("time budget of the invocation exhausted"), "{logs}");
    // The ones done are done properly; the others are reported, in order.
    assert!(out.response.records[0].result == RecordResult::Ok);
    assert!(out.response.records[399].result == RecordResult::ProcessingFailed);
}

#[test]
fn the_lambda_context_deadline_is_used() {
    let transformer = crate::common::transformer(Role::Readonly, MemoryStream::default());
    let mut context = lambda_runtime::Context::default();
    // Already past: nothing can be done in time, every record is reported as failed.
    context.deadline =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis().saturating_sub(1_000)
            as u64;
    let event = lambda_runtime::LambdaEvent::new(event_of(vec![b"hello".to_vec(); 3]), context);
    let response = block_on(transformer.handle(event)).unwrap();
    assert!(response.records.iter().all(|r| r.result == RecordResult::ProcessingFailed));
    // No deadline (Context::default()): processed.
    let event = lambda_runtime::LambdaEvent::new(event_of(vec![b"hello".to_vec()]), lambda_runtime::Context::default());
    let response = block_on(transformer.handle(event)).unwrap();
    assert_eq!(response.records[0].result, RecordResult::Ok);
}

/// The four disguises the attacker used, as JSON string content.
const DISGUISED: [&str; 4] =
    [r"bob\u0040example\u002ecom", r"10\u002e1\u002e2\u002e3", r"dave@ex\u0061mple.com", r"gina\uff20example.com"];

fn assert_no_leak(out: &logmask_firehose::BatchOutput) {
    let masker = Masker::new();
    for (i, record) in out.response.records.iter().enumerate() {
        assert_eq!(record.result, RecordResult::Ok, "record {i} ({:?})", out.kinds[i]);
        let data = record.decoded_data().unwrap();
        let found = readable_findings(&masker, &data);
        assert!(
            found.is_empty(),
            "record {i} ({:?}) leaks {found:?}: {}",
            out.kinds[i],
            String::from_utf8_lossy(&data)
        );
    }
}

#[test]
fn escapes_beside_a_lone_surrogate_cannot_hide_an_address() {
    let mut records = Vec::new();
    for d in DISGUISED {
        records.push(format!(r#"{{"eventType":"Send","mail":{{"source":"\ud800 {d}"}}}}"#).into_bytes());
        records.push(format!(r#"{{"a":"\ud800","b":"{d}","c":"\udfff {d}"}}"#).into_bytes());
        records.push(format!(r#"["\ud800 {d}", {{"k":"{d}"}}]"#).into_bytes());
        records.push(format!(r#""{d} \ud800""#).into_bytes());
        records.push(format!("{{\"x\":1}}\n[\"{d}\"]\n").into_bytes());
    }
    let out = run(Role::Readonly, usize::MAX / 2, &MemoryStream::default(), event_of(records));
    assert_no_leak(&out);
    // Arrays and top-level strings are JSON records, not text.
    assert_eq!(out.kinds[2], RecordKind::Json);
    assert_eq!(out.kinds[3], RecordKind::Json);
}

#[test]
fn cloudwatch_logs_ids_groups_and_streams_are_masked() {
    let mut records = Vec::new();
    for d in DISGUISED {
        let doc = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/g/{d}","logStream":"{d} \ud800","subscriptionFilters":[],"logEvents":[{{"id":"bob@example.com 203.0.113.5","timestamp":1714555801000,"message":"m"}},{{"id":"{d}","timestamp":1714555801000,"message":"\ud800 {d}"}}]}}"#
        );
        records.push(samples::gzip(doc.as_bytes()));
    }
    let out = run(Role::Readonly, usize::MAX / 2, &MemoryStream::default(), event_of(records));
    assert_no_leak(&out);
    let first = String::from_utf8(out.response.records[0].decoded_data().unwrap()).unwrap();
    assert!(first.contains(r#""id":"<email> <ipv4>""#), "{first}");
}

#[test]
fn forged_markers_are_masked_like_any_record_and_set_no_arbitrary_partition() {
    let mut records = Vec::new();
    for d in DISGUISED {
        records.push(
            format!("\x1elogmask-reingest/1 hop=0 eventType=Bounce ts=1714555800\n{{\"to\":\"{d}\"}}\n[\"{d}\"]\n")
                .into_bytes(),
        );
    }
    records.push(b"\x1elogmask-reingest/1 hop=0 eventType=Injected ts=1714555800\n{\"to\":\"x\"}\n".to_vec());
    records.push(b"\x1elogmask-reingest/1 hop=0 eventType=Bounce ts=-62135596800\n{\"to\":\"x\"}\n".to_vec());
    let out = run(Role::Readonly, usize::MAX / 2, &MemoryStream::default(), event_of(records));
    assert_no_leak(&out);
    for record in &out.response.records {
        let keys = &record.metadata.as_ref().unwrap().partition_keys;
        assert_ne!(&keys["eventType"], "Injected");
        assert!(keys["year"].starts_with("20"), "{keys:?}");
    }
    assert_eq!(out.kinds[4], RecordKind::Text, "a marker naming an unknown eventType is no marker");
}

#[test]
fn pieces_of_a_hostile_record_reingest_and_come_back_masked() {
    // A JSON record too large for a small response: re-ingested, then read back as pieces.
    let body: Vec<String> = (0..2_000).map(|i| format!(r#"{{"n":{i},"to":"{}"}}"#, DISGUISED[i % 4])).collect();
    let record = format!("[{}]", body.join(",\n")).into_bytes();
    let stream = MemoryStream::default();
    let transformer = crate::common::transformer(Role::Readonly, &stream).with_budget(20_000);
    let out = block_on(transformer.process(event_of(vec![record])));
    assert_eq!(out.response.records[0].result, RecordResult::Dropped);
    let pieces = stream.delivered.lock().unwrap().clone();
    assert!(pieces.len() > 1);
    let second = run(Role::Readonly, usize::MAX / 2, &MemoryStream::default(), event_of(pieces));
    assert!(second.kinds.iter().all(|k| *k == RecordKind::Reingested));
    assert_no_leak(&second);
    let _ = fast_retry();
}

/// String content an attacker would try: the four disguises, escapes of any character next to
/// lone surrogates, plain addresses, JSON punctuation.
fn hostile_content() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let piece = prop_oneof![
        proptest::sample::select(DISGUISED.to_vec()).prop_map(str::to_owned),
        Just(r"\ud800".to_owned()),
        Just(r"\udbff\udfff".to_owned()),
        Just(r"\udfff".to_owned()),
        Just(r"\u0040".to_owned()),
        Just(r"\u002e".to_owned()),
        Just(r"\\".to_owned()),
        Just(r#"\""#.to_owned()),
        Just("carol@example.org".to_owned()),
        Just("198.51.100.7".to_owned()),
        "[a-z0-9. ]{0,8}",
    ];
    // Pieces side by side, a space apart: `x@carol@example.org` (two at signs in one word) is the
    // engine's own open question, not this crate's.
    proptest::collection::vec(piece, 1..6).prop_map(|p| p.join(" "))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, ..Default::default() })]

    /// What the fuzz target checks, on every record shape: no readonly record holds an address a
    /// reader could decode from it, and the response stays inside the Lambda limit.
    #[test]
    fn no_record_shape_lets_a_readonly_reader_decode_an_address(
        contents in proptest::collection::vec(hostile_content(), 1..6),
        shape in 0usize..6,
    ) {
        let records: Vec<Vec<u8>> = contents.iter().map(|c| match shape {
            0 => format!(r#"{{"eventType":"Bounce","mail":{{"source":"{c}","timestamp":"2024-05-01T00:00:00Z"}},"x":["{c}"]}}"#).into_bytes(),
            1 => format!(r#"["{c}",{{"{c}":"{c}"}}]"#).into_bytes(),
            2 => format!(r#""{c}""#).into_bytes(),
            3 => samples::gzip(format!(
                r#"{{"messageType":"DATA_MESSAGE","logGroup":"{c}","logStream":"{c}","logEvents":[{{"id":"{c}","timestamp":1714555801000,"message":"{c}"}}]}}"#
            ).as_bytes()),
            4 => format!("\x1elogmask-reingest/1 hop=1 eventType=Send ts=1714555800\n{{\"a\":\"{c}\"}}\n").into_bytes(),
            _ => format!("{{\"a\":1}}\n{{\"b\":\"{c}\"}}\n").into_bytes(),
        }).collect();
        let out = run(Role::Readonly, 6_000_000, &MemoryStream::default(), event_of(records));
        let size = serde_json::to_vec(&out.response).unwrap().len();
        proptest::prop_assert!(size <= RESPONSE_LIMIT);
        let masker = Masker::new();
        for (i, record) in out.response.records.iter().enumerate() {
            proptest::prop_assert_eq!(record.result, RecordResult::Ok, "{} {:?}", shape, contents[i]);
            let data = record.decoded_data().unwrap();
            let found = readable_findings(&masker, &data);
            proptest::prop_assert!(found.is_empty(), "{:?} leaks {:?}: {}", out.kinds[i], found, String::from_utf8_lossy(&data));
        }
    }
}
