//! Bundled sample records (written for this project after the documented shapes; documentation
//! addresses only) and the demo batch `logmask demo` runs. The generators of large batches for
//! benchmarks live in `samples`, behind the `test-util` feature.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::event::{FirehoseEvent, FirehoseRecord};

/// SES event-publishing records, one JSON document per line.
pub const SES_EVENTS: &str = include_str!("../data/ses-events.ndjson");
/// A CloudWatch Logs `DATA_MESSAGE` subscription document (before gzip).
pub const CLOUDWATCH_LOGS: &str = include_str!("../data/cloudwatch-logs.json");
/// A CloudWatch Logs `CONTROL_MESSAGE` (before gzip).
pub const CLOUDWATCH_LOGS_CONTROL: &str = include_str!("../data/cloudwatch-logs-control.json");

/// The delivery stream every sample event names.
pub const SAMPLE_STREAM_ARN: &str =
    "arn:aws:firehose:ap-northeast-1:123456789012:deliverystream/ses-migration-production-events";

/// Gzip, as CloudWatch Logs compresses subscription payloads.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// An event over `records`, addressed to [`SAMPLE_STREAM_ARN`].
pub fn event(records: Vec<FirehoseRecord>) -> FirehoseEvent {
    FirehoseEvent {
        invocation_id: Some("00540a87-5050-496a-84e4-e7d92bbaf5e2".to_owned()),
        delivery_stream_arn: Some(SAMPLE_STREAM_ARN.to_owned()),
        region: Some("ap-northeast-1".to_owned()),
        source_kinesis_stream_arn: None,
        records,
    }
}

fn record_id(i: usize) -> String {
    format!("49546986683135544286507457936321625675700192471156785{i:03}")
}

/// The demo batch: every SES sample, a gzip CloudWatch Logs document, a control message and a
/// truncated gzip record (which must fail alone).
pub fn demo_event() -> FirehoseEvent {
    let arrival = 1_714_555_805_000;
    let mut records: Vec<FirehoseRecord> = SES_EVENTS
        .lines()
        .enumerate()
        .map(|(i, line)| FirehoseRecord::new(record_id(i), arrival, format!("{line}\n").as_bytes()))
        .collect();
    let n = records.len();
    records.push(FirehoseRecord::new(record_id(n), arrival, &gzip(CLOUDWATCH_LOGS.as_bytes())));
    records.push(FirehoseRecord::new(record_id(n + 1), arrival, &gzip(CLOUDWATCH_LOGS_CONTROL.as_bytes())));
    let broken = gzip(CLOUDWATCH_LOGS.as_bytes());
    records.push(FirehoseRecord::new(record_id(n + 2), arrival, &broken[..broken.len() / 2]));
    event(records)
}
