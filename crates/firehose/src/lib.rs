//! The Kinesis Data Firehose transformation behind `functions/firehose-transform`: SES events and
//! CloudWatch Logs records in, PII-masked records out, SES metrics as CloudWatch EMF on the side.
//!
//! * Record kinds are detected per record: gzip (`1f 8b`) or plain CloudWatch Logs subscription
//!   documents (`DATA_MESSAGE` → one JSON line per log event with `logGroup`, `logStream`, `id`,
//!   `timestamp`, masked `message`; `CONTROL_MESSAGE` → `Dropped`), SES event JSON (stays JSON,
//!   every string masked, unknown fields included), other JSON, other text.
//! * Bad records (empty, bad base64, corrupt gzip, not UTF-8, broken JSON) become
//!   `ProcessingFailed` alone, with a one-line reason in the log and never their content.
//! * The response stays inside [`DEFAULT_RESPONSE_BUDGET`]; what does not fit is re-ingested with
//!   `PutRecordBatch` ([`Reingest`]) already masked, behind a marker line that the next pass
//!   recognises, and is `Dropped` only once delivered.
//! * Partition keys `eventType`, `year`, `month`, `day`, `hour` come from the event's own time.
//! * Metrics: [`render_emf`] documents with dimensions `ConfigurationSet` and `SendingDomain`.
//!
//! # Example
//!
//! ```
//! use logmask_firehose::{Config, FirehoseEvent, FirehoseRecord, NoReingest, RecordResult, Transformer};
//! use logmask_mask::Masker;
//!
//! let ses = br#"{"eventType":"Delivery","mail":{"timestamp":"2024-05-01T09:30:00.000Z","source":"shop@example.com",
//!   "destination":["taro@example.co.jp"],"tags":{"ses:configuration-set":["marketing"]}},
//!   "delivery":{"timestamp":"2024-05-01T09:30:02.000Z","recipients":["taro@example.co.jp"]}}
//! "#;
//! let event = FirehoseEvent {
//!     delivery_stream_arn: Some("arn:aws:firehose:ap-northeast-1:123456789012:deliverystream/ses".into()),
//!     records: vec![FirehoseRecord::new("r1", 1_714_555_800_000, ses)],
//!     ..FirehoseEvent::default()
//! };
//! let transformer = Transformer::new(Masker::new(), &Config::default(), NoReingest);
//! let out = tokio_test_block_on(transformer.process(event));
//!
//! let record = &out.response.records[0];
//! assert_eq!(record.result, RecordResult::Ok);
//! let text = String::from_utf8(record.decoded_data().unwrap()).unwrap();
//! assert!(text.contains(r#""destination":["<email>"]"#) && !text.contains("taro"));
//! let keys = &record.metadata.as_ref().unwrap().partition_keys;
//! assert_eq!((&keys["eventType"], &keys["hour"]), ("Delivery", "09"));
//! assert_eq!(out.metrics.get("marketing", "example.com", "Delivery"), 1);
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
//! # }
//! ```
#![deny(missing_docs)]

pub mod audit;
mod config;
mod cwl;
pub mod demo;
mod error;
mod event;
mod handler;
mod json;
mod metrics;
mod probe;
mod record;
mod reingest;
#[cfg(feature = "test-util")]
pub mod samples;
mod ses;
mod transform;

pub use config::Config;
pub use error::{BatchError, ConfigError, ReingestError};
pub use event::{
    DEFAULT_RESPONSE_BUDGET, FirehoseEvent, FirehoseRecord, FirehoseResponse, Millis, PARTITION_KEY_NAMES,
    PartitionKeyMap, RESPONSE_LIMIT, RecordResult, ResponseMetadata, ResponseRecord,
};
pub use handler::{
    BatchOutput, MAX_HOPS, MAX_REINGEST_BUDGET, MIN_REINGEST_BUDGET, REINGEST_EXPANSION, Transformer, reingest_budget,
};
// The token key moved to `logmask-keys`; re-exported so the Lambda and the CLI keep one import.
#[cfg(feature = "aws")]
pub use logmask_keys::AwsKeyStore;
pub use logmask_keys::{KeySource, KeyStore, MIN_TOKEN_KEY_BYTES, SecretBytes};
pub use metrics::{BatchMetrics, MAX_METRICS_PER_DIRECTIVE, PIPELINE_METRICS, SES_METRICS, Summary, render_emf};
pub use record::{MaskedRecord, RecordOutput, mask_record};
#[cfg(feature = "aws")]
pub use reingest::FirehoseReingest;
pub use reingest::{
    Delivery, MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_PIECE_BYTES, Reingest, RetryPolicy, deliver, deliver_until,
};
pub use ses::{SesEvent, SesFacts, sending_domain};
pub use transform::{
    MAX_DECOMPRESSED, MAX_MESSAGE_BYTES, MAX_NAME_BYTES, MAX_RECORD_OUTPUT, PartitionKeys, RecordKind,
};

/// A [`Reingest`] that refuses every call: for local runs without AWS. Records that do not fit
/// in the response then become `ProcessingFailed` (and reach the error prefix), never lost.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReingest;

impl Reingest for NoReingest {
    async fn put_record_batch(
        &self,
        _stream: &str,
        _records: &[Vec<u8>],
    ) -> Result<Vec<Option<String>>, ReingestError> {
        Err(ReingestError::Request { message: "re-ingestion is disabled".to_owned(), retryable: false })
    }
}

/// The environment variables the transform reads (see [`Config::from_lookup`]).
pub use config::ENV_VARS;
