//! Generators of large batches for benchmarks, memory measurements and tests (the `test-util`
//! feature: never in the Lambda build). The bundled samples of [`crate::demo`] are re-exported so
//! tests and benches keep one import.

pub use crate::demo::*;

use crate::event::{FirehoseEvent, FirehoseRecord};

/// The seeded generator of every sample: the same seed gives the same batch on every run.
fn seeded(seed: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed)
}

fn record_id(i: usize) -> String {
    format!("49546986683135544286507457936321625675700192471156785{i:03}")
}

fn log_message(rng: &mut fastrand::Rng) -> String {
    let n = rng.u64(..);
    match n % 5 {
        0 => format!(
            "INFO  request id=req-{:08x} user=user{}@example.co.jp ip=192.0.2.{} path=/api/orders/{} status=200 ms={}",
            rng.u32(..),
            n % 5000,
            n % 254 + 1,
            n % 100_000,
            n % 900
        ),
        1 => format!(
            "WARN  smtp deferred for customer{}@example.net via 198.51.100.{}:25 (421 4.7.0 try again later) attempt={}",
            n % 7000,
            n % 254 + 1,
            n % 5
        ),
        2 => format!(
            "{{\"level\":\"info\",\"event\":\"login\",\"email\":\"member{}@example.com\",\"src\":\"2001:db8:{:x}::{:x}\",\"ua\":\"Mozilla/5.0\",\"ok\":true}}",
            n % 9000,
            n % 65535,
            rng.u64(..65535)
        ),
        3 => format!(
            "DEBUG cache hit key=catalog:{} region=ap-northeast-1 version=1.2.{} took={}us",
            n % 100_000,
            n % 40,
            n % 5000
        ),
        _ => format!(
            "ERROR payment declined order={} card=**** reason=\"insufficient funds\" contact=billing@example.org trace={:016x}",
            n % 1_000_000,
            rng.u64(..)
        ),
    }
}

/// A CloudWatch Logs subscription document with `events` log events.
pub fn cloudwatch_logs_document(seed: u64, events: usize) -> Vec<u8> {
    let mut rng = seeded(seed);
    let log_events: Vec<serde_json::Value> = (0..events)
        .map(|i| {
            serde_json::json!({
                "id": format!("3754021461732512735812659047213327142837504923453615{:04}", i % 10_000),
                "timestamp": 1_714_555_800_000i64 + i as i64 * 37,
                "message": log_message(&mut rng),
            })
        })
        .collect();
    // In the order CloudWatch Logs writes the fields (a `json!` map would sort them).
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Document<'a> {
        message_type: &'a str,
        owner: &'a str,
        log_group: &'a str,
        log_stream: &'a str,
        subscription_filters: [&'a str; 1],
        log_events: Vec<serde_json::Value>,
    }
    serde_json::to_vec(&Document {
        message_type: "DATA_MESSAGE",
        owner: "123456789012",
        log_group: "/aws/lambda/ses-migration-production-mailer",
        log_stream: "2024/05/01/[$LATEST]0123456789abcdef",
        subscription_filters: ["to-firehose"],
        log_events,
    })
    .unwrap_or_default()
}

/// A batch of gzip CloudWatch Logs records whose event JSON is about `target_bytes` long.
pub fn cloudwatch_batch(target_bytes: usize, events_per_record: usize) -> FirehoseEvent {
    fill(target_bytes, |i| gzip(&cloudwatch_logs_document(i as u64 + 1, events_per_record)))
}

/// A batch of SES event records (the samples, cycled with varied addresses) of about `target_bytes`.
pub fn ses_batch(target_bytes: usize) -> FirehoseEvent {
    let samples: Vec<&str> = SES_EVENTS.lines().collect();
    fill(target_bytes, |i| {
        let line = samples[i % samples.len()]
            .replace("taro.yamada@", &format!("taro.yamada{i}@"))
            .replace("hanako@", &format!("hanako{i}@"))
            .replace("192.0.2.10", &format!("192.0.2.{}", i % 250 + 1));
        format!("{line}\n").into_bytes()
    })
}

fn fill(target_bytes: usize, mut make: impl FnMut(usize) -> Vec<u8>) -> FirehoseEvent {
    let mut records = Vec::new();
    // The envelope plus ~200 bytes of record fields around each base64 payload.
    let mut size = 300;
    let mut i = 0;
    while size < target_bytes {
        let data = make(i);
        let record = FirehoseRecord::new(format!("{}{i:08}", &record_id(0)[..48]), 1_714_555_805_000 + i as i64, &data);
        size += record.data.len() + record.record_id.len() + 70;
        if size > target_bytes && !records.is_empty() {
            break;
        }
        records.push(record);
        i += 1;
    }
    event(records)
}
