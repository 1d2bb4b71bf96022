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

/// Longest error text carried into a finding: SDK errors can embed whole raw responses, which
/// help nobody reading a notification.
const MAX_MESSAGE_CHARS: usize = 400;

impl CheckError {
    pub fn new(operation: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let mut message = message.to_string();
        if message.chars().count() > MAX_MESSAGE_CHARS {
            message = message.chars().take(MAX_MESSAGE_CHARS - 1).collect::<String>() + "…";
        }
        Self { operation: operation.into(), message }
    }

    /// From an error and its `source()` chain, without the SDK's debug dump of the response.
    pub fn from_chain(operation: impl Into<String>, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(e) = source {
            let next = e.to_string();
            if !text.contains(&next) {
                text.push_str(": ");
                text.push_str(&next);
            }
            source = e.source();
        }
        Self::new(operation, text)
    }
}
