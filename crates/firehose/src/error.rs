//! Typed errors. None of them carries record data or key material.

/// Configuration or cold-start failures: the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `MASK_ROLE` (or another setting) has a value that is not allowed.
    #[error("{name}: {message}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// Why it was rejected.
        message: String,
    },
    /// The masking policy file could not be read or compiled.
    #[error("masking policy: {0}")]
    Policy(String),
    /// The token key could not be fetched. The message names the secret or parameter, never its value.
    #[error("token key from {source_name}: {message}")]
    TokenKey {
        /// `secretsmanager:<id>` or `ssm:<name>`.
        source_name: String,
        /// What went wrong.
        message: String,
    },
}

/// A failed `PutRecordBatch` call as a whole (per-entry failures are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum ReingestError {
    /// The request failed: throttled, unreachable, rejected.
    #[error("{message}")]
    Request {
        /// AWS error code and message, or the transport error.
        message: String,
        /// Whether trying again can help.
        retryable: bool,
    },
}

impl ReingestError {
    /// Whether trying again can help.
    pub fn is_retryable(&self) -> bool {
        match self {
            ReingestError::Request { retryable, .. } => *retryable,
        }
    }
}

/// A batch the handler cannot answer at all: the invocation fails, Firehose retries it
/// (`NumberOfRetries`, default 3) and then writes every record of it to the error output. Nothing
/// was processed, re-ingested or counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Even with every record reported as `ProcessingFailed` and nothing else, the response would
    /// pass the 6,291,456-byte Lambda limit (hundreds of thousands of tiny records).
    #[error(
        "{records} records cannot be answered within the 6291456-byte response limit (their ids alone need {bytes} bytes); failing the invocation so that Firehose retries it and then sends every record to the error output"
    )]
    ResponseTooLarge {
        /// Records in the batch.
        records: usize,
        /// The smallest possible response, in bytes.
        bytes: usize,
    },
}
