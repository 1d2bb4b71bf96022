//! The Firehose contract for arbitrary batches: every recordId once and in order, the response
//! inside the budget, nothing lost across Ok / Dropped (re-ingested) / ProcessingFailed; bad
//! records fail alone with a one-line reason that never quotes them.

use std::collections::HashMap;

use logmask_firehose::{FirehoseRecord, RESPONSE_LIMIT, RecordKind, RecordResult, samples};
use logmask_mask::Role;
use proptest::prelude::*;

use crate::common::{MemoryStream, capture_logs, event_of, run};

#[derive(Debug, Clone)]
enum Spec {
    Ses(usize),
    CloudWatchGzip { events: usize, message_len: usize, seed: u64 },
    CloudWatchPlain { events: usize, seed: u64 },
    Control,
    Text(String),
    TruncatedGzip(usize),
    InvalidUtf8,
    BrokenJson(usize),
    Empty,
}

fn cwl_document(events: usize, message_len: usize, seed: u64) -> Vec<u8> {
    let events: Vec<serde_json::Value> = (0..events)
        .map(|i| {
            let base = format!("evt {seed}-{i} user{i}@example.com from 192.0.2.{} ", i % 250 + 1);
            let message: String = base.chars().cycle().take(message_len.max(base.len())).collect();
            serde_json::json!({"id": format!("{seed}{i:06}"), "timestamp": 1_714_555_800_000i64 + i as i64, "message": message})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/x",
        "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events,
    }))
    .unwrap()
}

impl Spec {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Spec::Ses(i) => {
                let lines: Vec<&str> = samples::SES_EVENTS.lines().collect();
                format!("{}\n", lines[i % lines.len()]).into_bytes()
            }
            Spec::CloudWatchGzip { events, message_len, seed } => {
                samples::gzip(&cwl_document(*events, *message_len, *seed))
            }
            Spec::CloudWatchPlain { events, seed } => cwl_document(*events, 40, *seed),
            Spec::Control => samples::gzip(samples::CLOUDWATCH_LOGS_CONTROL.as_bytes()),
            Spec::Text(t) => t.clone().into_bytes(),
            Spec::TruncatedGzip(cut) => {
                let full = samples::gzip(&cwl_document(20, 60, 7));
                full[..(*cut % (full.len() - 2)) + 2].to_vec()
            }
            Spec::InvalidUtf8 => b"mail to bob@example.com \xff\xfe broken".to_vec(),
            Spec::BrokenJson(cut) => {
                let ses = samples::SES_EVENTS.lines().next().unwrap();
                ses.as_bytes()[..(*cut % (ses.len() - 1)) + 1].to_vec()
            }
            Spec::Empty => Vec::new(),
        }
    }

    fn must_fail(&self) -> bool {
        matches!(self, Spec::TruncatedGzip(_) | Spec::InvalidUtf8 | Spec::BrokenJson(_) | Spec::Empty)
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        4 => (0usize..7).prop_map(Spec::Ses),
        4 => (1usize..120, 20usize..400, any::<u64>()).prop_map(|(events, message_len, seed)| Spec::CloudWatchGzip { events, message_len, seed }),
        1 => (1usize..40, any::<u64>()).prop_map(|(events, seed)| Spec::CloudWatchPlain { events, seed }),
        1 => Just(Spec::Control),
        2 => "[a-z .@0-9]{1,200}".prop_map(Spec::Text),
        1 => any::<usize>().prop_map(Spec::TruncatedGzip),
        1 => Just(Spec::InvalidUtf8),
        1 => any::<usize>().prop_map(Spec::BrokenJson),
        1 => Just(Spec::Empty),
    ]
}

fn lines_of(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_record_once_in_order_within_budget_and_nothing_lost(
        specs in proptest::collection::vec(spec(), 1..40),
        budget in 3_000usize..60_000,
        fail_every in prop_oneof![Just(0usize), 2usize..5],
        throttle_calls in 0usize..3,
    ) {
        let inputs: Vec<Vec<u8>> = specs.iter().map(Spec::bytes).collect();
        let event = event_of(inputs.clone());
        let stream = MemoryStream { fail_every, throttle_calls, ..MemoryStream::default() };
        let out = run(Role::Readonly, budget, &stream, event.clone());

        // Each recordId exactly once, in input order.
        let ids: Vec<&str> = out.response.records.iter().map(|r| r.record_id.as_str()).collect();
        let expected: Vec<&str> = event.records.iter().map(|r| r.record_id.as_str()).collect();
        prop_assert_eq!(ids, expected);

        // The serialised response is inside the budget (and so under the Lambda limit).
        let size = serde_json::to_vec(&out.response).unwrap().len();
        prop_assert!(size <= budget.max(out.response.records.len() * 80 + 14), "response {} > budget {}", size, budget);
        prop_assert!(size < RESPONSE_LIMIT);

        // Bad records fail, alone.
        for (spec, record) in specs.iter().zip(&out.response.records) {
            if spec.must_fail() {
                prop_assert_eq!(record.result, RecordResult::ProcessingFailed, "{:?}", spec);
            }
            if record.result == RecordResult::Ok {
                prop_assert!(record.data.is_some() && record.metadata.is_some());
            }
        }

        // Nothing lost: what one unlimited run writes for the records that ended Ok or were
        // re-ingested must reappear in this run's Ok data plus a second pass over the
        // delivered pieces (duplicates allowed, losses not).
        let reference = run(Role::Readonly, usize::MAX / 2, &MemoryStream::default(), event.clone());
        let delivered = stream.delivered.lock().unwrap().clone();
        let second = run(Role::Readonly, usize::MAX / 2, &MemoryStream::default(), event_of(delivered.clone()));
        prop_assert!(second.kinds.iter().all(|k| *k == RecordKind::Reingested));
        prop_assert!(second.response.records.iter().all(|r| r.result == RecordResult::Ok));
        let mut available: HashMap<Vec<u8>, i64> = HashMap::new();
        for r in out.response.records.iter().chain(&second.response.records) {
            for line in lines_of(&r.decoded_data().unwrap_or_default()) {
                *available.entry(line).or_default() += 1;
            }
        }
        for (i, (record, reference)) in out.response.records.iter().zip(&reference.response.records).enumerate() {
            let reingested = record.result == RecordResult::Dropped && reference.result == RecordResult::Ok;
            if record.result == RecordResult::Ok || reingested {
                prop_assert_eq!(reference.result, RecordResult::Ok);
                for line in lines_of(&reference.decoded_data().unwrap()) {
                    let n = available.entry(line.clone()).or_default();
                    *n -= 1;
                    prop_assert!(*n >= 0, "record {} lost line {:?}", i, String::from_utf8_lossy(&line));
                }
            }
            if record.result == RecordResult::Dropped && !reingested {
                prop_assert!(matches!(specs[i], Spec::Control), "{:?} dropped", specs[i]);
            }
        }
        prop_assert_eq!(out.summary.reingested as usize,
            out.response.records.iter().zip(&reference.response.records)
                .filter(|(r, f)| r.result == RecordResult::Dropped && f.result == RecordResult::Ok).count());
        // Re-ingested pieces never carry raw addresses.
        for piece in &delivered {
            prop_assert!(!String::from_utf8_lossy(piece).contains("@example.com"));
        }
    }
}

/// Bytes a decoder may meet: anything, gzip of anything, a valid gzip document with a few bytes
/// overwritten, JSON-ish text.
fn hostile_record() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(|b| samples::gzip(&b)),
        (proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), 1usize..30).prop_map(|(edits, events)| {
            let mut gz = samples::gzip(&cwl_document(events, 60, 3));
            let len = gz.len();
            for (at, byte) in edits {
                gz[at % len] = byte;
            }
            gz
        }),
        r#"[{}\[\]":,a-z0-9@. \\]{0,300}"#.prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The decode path never panics: every record comes back once, Ok records carry UTF-8
    /// data and partition keys, and anything undecodable is ProcessingFailed, not dropped.
    #[test]
    fn hostile_bytes_never_panic_and_never_vanish(records in proptest::collection::vec(hostile_record(), 1..12)) {
        let event = event_of(records.clone());
        let out = run(Role::Readonly, usize::MAX / 2, &MemoryStream::default(), event);
        prop_assert_eq!(out.response.records.len(), records.len());
        for (input, record) in records.iter().zip(&out.response.records) {
            match record.result {
                RecordResult::Ok => {
                    let data = record.decoded_data();
                    prop_assert!(data.as_deref().is_some_and(|d| std::str::from_utf8(d).is_ok()));
                    prop_assert!(record.metadata.is_some());
                }
                RecordResult::Dropped => {
                    // Only CloudWatch Logs control messages are dropped without re-ingestion.
                    prop_assert!(input.starts_with(&[0x1f, 0x8b]) || input.starts_with(b"{"), "{:?}", input);
                }
                RecordResult::ProcessingFailed => prop_assert!(record.data.is_none()),
            }
        }
    }
}

#[test]
fn malformed_records_fail_alone_with_a_one_line_reason_that_never_quotes_them() {
    let secret = "leaky.person@example.com";
    let truncated = {
        let full = samples::gzip(format!("{{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{{\"id\":\"1\",\"timestamp\":1,\"message\":\"{secret}\"}}]}}").as_bytes());
        full[..full.len() - 9].to_vec()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (truncated, "truncated gzip data"),
        (format!("{secret} \u{0} \u{7f}").into_bytes().into_iter().chain([0xff, 0xfe]).collect(), "not UTF-8"),
        (format!("{{\"eventType\":\"Bounce\",\"mail\":{{\"source\":\"{secret}\"").into_bytes(), "invalid JSON"),
        (format!("{{\"eventType\":\"Send\",\"mail\":\"{secret}\"}} trailing {secret}").into_bytes(), "invalid JSON"),
        (Vec::new(), "empty record"),
        (samples::gzip(format!("{{\"note\":\"{secret}\"}}").as_bytes()), "not a CloudWatch Logs"),
        (
            samples::gzip(
                format!("{{\"messageType\":\"OTHER\",\"logEvents\":[],\"logGroup\":\"{secret}\"}}").as_bytes(),
            ),
            "messageType",
        ),
    ];
    let mut records: Vec<Vec<u8>> = vec![samples::SES_EVENTS.lines().next().unwrap().as_bytes().to_vec()];
    records.extend(cases.iter().map(|(bytes, _)| bytes.clone()));
    records.push(samples::gzip(samples::CLOUDWATCH_LOGS.as_bytes()));
    let mut event = event_of(records);
    event.records.push(FirehoseRecord {
        record_id: "bad-base64".into(),
        data: format!("{secret}!!"),
        ..Default::default()
    });

    let (out, logs) = capture_logs(|| run(Role::Readonly, 6_000_000, &MemoryStream::default(), event));
    let results: Vec<RecordResult> = out.response.records.iter().map(|r| r.result).collect();
    let mut expected = vec![RecordResult::Ok];
    expected.extend(std::iter::repeat_n(RecordResult::ProcessingFailed, cases.len()));
    expected.extend([RecordResult::Ok, RecordResult::ProcessingFailed]);
    assert_eq!(results, expected);

    for (i, (_, reason)) in cases.iter().enumerate() {
        let id = format!("rec-{:04}", i + 1);
        let line = logs.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("no log line for {id}:\n{logs}"));
        assert!(line.contains(reason), "{id}: expected {reason:?} in {line:?}");
    }
    assert!(logs.lines().any(|l| l.contains("bad-base64") && l.contains("base64")), "{logs}");
    assert!(!logs.contains("leaky"), "record content reached the log:\n{logs}");
    assert!(!serde_json::to_string(&out.response).unwrap().contains("leaky"));
}

#[test]
fn cloudwatch_logs_become_masked_lines_and_control_messages_are_dropped() {
    let out = run(
        Role::Operator,
        6_000_000,
        &MemoryStream::default(),
        event_of(vec![
            samples::gzip(samples::CLOUDWATCH_LOGS.as_bytes()),
            samples::CLOUDWATCH_LOGS.as_bytes().to_vec(),
            samples::gzip(samples::CLOUDWATCH_LOGS_CONTROL.as_bytes()),
        ]),
    );
    assert_eq!(out.kinds[..2], [RecordKind::CloudWatchLogsGzip, RecordKind::CloudWatchLogsJson]);
    let results: Vec<&str> = out.response.records.iter().map(|r| r.result.as_str()).collect();
    assert_eq!(results, ["Ok", "Ok", "Dropped"]);
    let gz = out.response.records[0].decoded_data().unwrap();
    assert_eq!(gz, out.response.records[1].decoded_data().unwrap());
    let lines: Vec<serde_json::Value> =
        gz.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["logGroup"], "/aws/lambda/ses-migration-production-mailer");
    assert_eq!(lines[0]["id"], "37540214617325127358126590472133271428375049234536153088");
    assert_eq!(lines[0]["timestamp"], 1_714_555_801_000i64);
    assert_eq!(lines[0]["message"], "INFO sending order mail to t***@example.co.jp from 192.0.2.*");
    assert_eq!(lines[1]["message"], "WARN smtp retry for h***@example.net via [2001:db8:85a3:*]:587");
    let keys = &out.response.records[0].metadata.as_ref().unwrap().partition_keys;
    let keys: Vec<(&str, &str)> = keys.iter().collect();
    assert_eq!(
        keys,
        [("day", "01"), ("eventType", "CloudWatchLogs"), ("hour", "09"), ("month", "05"), ("year", "2024")]
    );
    // The wire format carries the literal status strings and no data on Dropped.
    let wire = serde_json::to_string(&out.response.records[2]).unwrap();
    assert_eq!(wire, format!(r#"{{"recordId":"{}","result":"Dropped"}}"#, out.response.records[2].record_id));
}

#[test]
fn an_oversized_record_is_split_by_log_events_and_reassembles_on_the_next_pass() {
    // ~3 MB of log lines in one gzip record: far more than one response may carry.
    let doc = samples::cloudwatch_logs_document(42, 10_000);
    let stream = MemoryStream::default();
    let out = run(Role::Readonly, 6_000_000, &stream, event_of(vec![samples::gzip(&doc)]));
    assert_eq!(out.response.records[0].result, RecordResult::Ok, "a 6 MB budget fits it");

    let out = run(Role::Readonly, 400_000, &stream, event_of(vec![samples::gzip(&doc)]));
    assert_eq!(out.response.records[0].result, RecordResult::Dropped);
    assert_eq!(out.summary.reingested, 1);
    let pieces = stream.delivered.lock().unwrap().clone();
    assert!(pieces.len() > 5, "{} pieces", pieces.len());
    assert!(pieces.iter().all(|p| p.len() <= 300_000 && p.ends_with(b"\n")));

    // The next pass recognises the pieces, keeps their partition and adds nothing.
    let second = run(Role::Readonly, 6_000_000, &MemoryStream::default(), event_of(pieces));
    let reference = run(Role::Readonly, 6_000_000, &MemoryStream::default(), event_of(vec![samples::gzip(&doc)]));
    let joined: Vec<u8> = second.response.records.iter().flat_map(|r| r.decoded_data().unwrap()).collect();
    assert_eq!(joined, reference.response.records[0].decoded_data().unwrap());
    let keys =
        |o: &logmask_firehose::BatchOutput, i: usize| o.response.records[i].metadata.clone().unwrap().partition_keys;
    assert_eq!(keys(&second, 0), keys(&reference, 0));
    // Metrics are not counted twice for re-ingested pieces.
    assert!(second.metrics.ses.is_empty());
}

#[test]
fn failed_reingestion_is_processing_failed_never_dropped() {
    let stream = MemoryStream { always_fail: true, ..MemoryStream::default() };
    let records: Vec<Vec<u8>> = (0..20).map(|i| samples::gzip(&samples::cloudwatch_logs_document(i, 100))).collect();
    let (out, logs) = capture_logs(|| run(Role::Readonly, 150_000, &stream, event_of(records)));
    let ok = out.response.records.iter().filter(|r| r.result == RecordResult::Ok).count();
    let failed = out.response.records.iter().filter(|r| r.result == RecordResult::ProcessingFailed).count();
    assert!(ok >= 1 && failed >= 1 && ok + failed == 20, "ok {ok} failed {failed}");
    assert_eq!(out.summary.reingested, 0);
    assert!(stream.calls.lock().unwrap().len() >= 5, "retried with backoff");
    assert!(logs.contains("re-ingestion failed") && logs.contains("ThrottlingException"), "{logs}");
}

#[test]
fn a_reingestion_failure_no_retry_can_fix_fails_fast_for_the_whole_batch() {
    // Issue 11: no credentials, access denied, no such stream — no backoff, and the rest of the
    // batch does not try again.
    let stream = MemoryStream { permanent_failure: true, ..MemoryStream::default() };
    // ~10 MB of lines: the first 4 MiB of re-ingestion is sent mid-batch, the rest must not be.
    let records: Vec<Vec<u8>> = (0..24).map(|i| samples::gzip(&samples::cloudwatch_logs_document(i, 2_000))).collect();
    let transformer = crate::common::transformer(Role::Readonly, &stream).with_budget(1_000_000).with_retry(
        logmask_firehose::RetryPolicy {
            max_attempts: 8,
            base_delay: std::time::Duration::from_secs(2),
            max_delay: std::time::Duration::from_secs(2),
        },
    );
    let started = std::time::Instant::now();
    let (out, logs) = capture_logs(|| crate::common::block_on(transformer.process(event_of(records))));
    // Backoff alone would take 7 × 2 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(stream.calls.lock().unwrap().len(), 1, "one call, then no more");
    let ok = out.response.records.iter().filter(|r| r.result == RecordResult::Ok).count();
    let failed = out.response.records.iter().filter(|r| r.result == RecordResult::ProcessingFailed).count();
    assert!(ok >= 1 && ok + failed == 24 && failed > 10, "ok {ok} failed {failed}");
    assert!(logs.contains("AccessDeniedException") && logs.contains("no retry can fix"), "{logs}");
}

#[test]
fn partial_failures_and_throttling_are_retried_until_delivered() {
    let stream = MemoryStream { fail_every: 3, throttle_calls: 1, ..MemoryStream::default() };
    let records: Vec<Vec<u8>> = (0..30).map(|i| samples::gzip(&samples::cloudwatch_logs_document(i, 100))).collect();
    let out = run(Role::Readonly, 60_000, &stream, event_of(records));
    let reingested = out.summary.reingested as usize;
    assert!(reingested > 10, "{reingested}");
    assert_eq!(out.summary.ok as usize + reingested, 30);
    let calls = stream.calls.lock().unwrap().clone();
    // First call throttled, later calls resend only what failed.
    assert!(calls.len() >= 3 && calls[calls.len() - 1] < calls[1], "{calls:?}");
    let delivered = stream.delivered.lock().unwrap();
    let unique: std::collections::HashSet<&Vec<u8>> = delivered.iter().collect();
    assert_eq!(unique.len(), delivered.len(), "an entry that succeeded was sent again");
}

#[test]
fn emf_documents_follow_the_spec() {
    let out = run(Role::Readonly, 6_000_000, &MemoryStream::default(), samples::demo_event());
    assert_eq!(out.emf.len(), out.metrics.ses.len() + 1);
    for doc in &out.emf {
        let v: serde_json::Value = serde_json::from_str(doc).unwrap();
        let directives = v["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
        for d in directives {
            assert_eq!(d["Namespace"], "ses-migration/production/SES");
            let metrics = d["Metrics"].as_array().unwrap();
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                assert!(v[m["Name"].as_str().unwrap()].is_u64(), "metric value missing: {m}");
            }
            for dims in d["Dimensions"].as_array().unwrap() {
                for dim in dims.as_array().unwrap() {
                    assert!(v[dim.as_str().unwrap()].is_string());
                }
            }
        }
        // Dimensions never carry recipients or message ids.
        assert!(!doc.contains("taro") && !doc.contains("0106018f"), "{doc}");
    }
    assert_eq!(out.metrics.get("marketing", "example.com", "Send"), 1);
    assert_eq!(out.metrics.get("marketing", "example.com", "BouncePermanent"), 1);
    assert_eq!(out.metrics.get("newsletter", "mail.example.com", "Complaint"), 1);
    assert_eq!(out.metrics.get("marketing", "example.com", "RenderingFailure"), 1);
}
