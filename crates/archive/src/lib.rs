//! Masks raw log objects — what Firehose's source-record backup writes to S3 — record by record
//! with the Firehose transformation's own record code, so an archive re-masked after a policy or
//! key change reads exactly as if the data had just passed through the Lambda.
//!
//! * [`mask_object`] / [`RawObject`]: one object, gzip (by its magic bytes, nested gzip
//!   included) or plain, streamed with bounded memory whatever its size; gzip out when gzip in.
//! * Records are JSON documents (newline-delimited or concatenated `}{`, as Firehose writes
//!   records without a delimiter of its own) and runs of text lines; see [`RawObject`].
//!
//! # Example
//!
//! ```
//! use logmask_archive::mask_object;
//! use logmask_mask::{Masker, Role};
//!
//! // Two CloudWatch Logs documents back to back, as a source-record backup holds them.
//! let raw = concat!(
//!     r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"#,
//!     r#""logEvents":[{"id":"1","timestamp":1714555800000,"message":"from taro@example.co.jp"}]}"#,
//!     r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","#,
//!     r#""subscriptionFilters":[],"logEvents":[]}"#,
//! );
//! let mut out = Vec::new();
//! let stats = mask_object(&Masker::new(), Role::Readonly, raw.as_bytes(), &mut out)?;
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "{\"logGroup\":\"g\",\"logStream\":\"s\",\"id\":\"1\",\"timestamp\":1714555800000,\"message\":\"from <email>\"}\n"
//! );
//! assert_eq!((stats.records, stats.dropped, stats.counts.emails), (2, 1, 1));
//! # Ok::<(), logmask_archive::ObjectError>(())
//! ```
#![deny(missing_docs)]

mod backfill;
mod batch;
mod error;
#[cfg(test)]
mod fake;
mod fingerprint;
mod local;
mod object;
mod s3;

pub use backfill::{Dest, Entry, Options, Outcome, Source, Stamp, Summary, process_entry, run, run_entries, select};
pub use batch::{
    BatchConfig, BatchEvent, BatchHandler, BatchJob, BatchResponse, BatchTask, ENV_VARS, ResultCode, TaskResult,
    build_masker, decode_key, encode_key,
};
pub use error::{BackfillError, ConfigError, ObjectError};
pub use fingerprint::{FORMAT_VERSION, Fingerprint};
pub use local::{LocalDest, LocalSource, LocalWriter, SIDECAR_SUFFIX, TEMP_PREFIX};
pub use object::{Compression, MAX_RECORD_BYTES, ObjectStats, RawObject, TEXT_BLOCK_BYTES, mask_object};
pub use s3::{
    AwsS3, BlockingBody, Head, ListPage, Listed, META_FINGERPRINT, META_ROLE, META_SOURCE_ETAG, PART_BYTES, PutSpec,
    S3Client, S3Dest, S3Source, S3Writer, StoreError, parse_s3_url,
};
