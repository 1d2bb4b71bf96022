//! The monitor's errors. A check that fails is a finding, not an error: these are only the
//! failures that stop a run before any check (configuration, an unknown payload).

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("invalid configuration {name}: {reason}")]
    Config { name: &'static str, reason: String },
    #[error(
        "unknown payload: {0}; expected the scheduler's event (`{{}}`, or an event with \"source\": \
         \"aws.events\"/\"aws.scheduler\") or {{\"source\":\"manual\",\"domain\":\"example.jp\"}}"
    )]
    UnknownPayload(String),
    #[error("no domain: set DOMAIN_NAME or invoke with {{\"source\":\"manual\",\"domain\":\"…\"}}")]
    NoDomain,
    #[error("invalid domain {0:?}")]
    InvalidDomain(String),
}

/// A failure inside a check (reported as a WARNING finding naming `operation`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct CheckError {
    pub operation: String,
    pub message: String,
}

impl CheckError {
    pub fn new(operation: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self { operation: operation.into(), message: message.to_string() }
    }
}
