//! What a check reports.

use logmask_notify::{Message, Severity};
use serde::Serialize;

use crate::error::CheckError;

/// The monitor's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    KeyExpiry,
    SesDkim,
    Dns,
    SendingHealth,
    Pipeline,
}

impl Check {
    pub const ALL: [Check; 5] = [Check::KeyExpiry, Check::SesDkim, Check::Dns, Check::SendingHealth, Check::Pipeline];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::KeyExpiry => "key_expiry",
            Check::SesDkim => "ses_dkim",
            Check::Dns => "dns",
            Check::SendingHealth => "sending_health",
            Check::Pipeline => "pipeline",
        }
    }
}

/// One finding. `id` names the condition independently of its severity (e.g.
/// `key-expiry/<selector>`), so duplicate suppression can tell "same finding" from "worse".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: Check,
    pub id: String,
    pub severity: Severity,
    pub message: Message,
}

impl Finding {
    pub fn new(check: Check, id: impl Into<String>, severity: Severity, message: Message) -> Self {
        Self { check, id: id.into(), severity, message }
    }

    /// A check (or part of one, `part`) could not run: a WARNING that names what failed.
    pub fn check_failed(check: Check, part: Option<&str>, error: &CheckError) -> Self {
        let id = match part {
            Some(part) => format!("{}/{part}/check-failed", check.as_str()),
            None => format!("{}/check-failed", check.as_str()),
        };
        Self::new(
            check,
            id,
            Severity::Warning,
            Message::CheckFailed {
                check: check.as_str().into(),
                operation: error.operation.clone(),
                error: error.message.clone(),
            },
        )
    }
}
