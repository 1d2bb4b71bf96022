//! Duplicate suppression: a finding that was already sent is not sent again every day unless
//! its severity rose or `REPEAT_AFTER_DAYS` passed.
//!
//! State is one small JSON object per finding in S3. A run *claims* a send by writing the new
//! state with a conditional `PutObject` (`If-None-Match: *` when there was no state,
//! `If-Match: <etag>` otherwise), and only the run whose write succeeded publishes; a
//! concurrent run gets `412 Precondition Failed` and stays quiet. (moto_server 5.2 implements
//! both conditions on PutObject and answers 412, so the tests use real S3 semantics.)
//!
//! Failure direction: anything that loses or hides the state — a deleted or unreadable object,
//! S3 unreachable — means "send", never "stay silent". If publishing fails after a claim, the
//! claim is deleted so the next run sends again.

use std::future::Future;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::message::Severity;

/// What was last sent for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentState {
    pub finding: String,
    pub severity: Severity,
    pub first_sent_at: Timestamp,
    pub last_sent_at: Timestamp,
}

/// A state object as stored, with its version tag.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub body: Vec<u8>,
    pub etag: String,
}

/// Precondition of a state write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `If-None-Match: *`: only if no object exists.
    Absent,
    /// `If-Match: <etag>`: only if the object is still this version.
    Match(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Written,
    /// The precondition failed: another run changed the state first.
    Conflict,
}

#[derive(Debug, thiserror::Error)]
#[error("state {operation} {key}: {message}")]
pub struct StateError {
    pub operation: &'static str,
    pub key: String,
    pub message: String,
}

/// Conditional object storage for the state.
pub trait StateStore: Send + Sync {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Versioned>, StateError>> + Send;
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: Condition,
    ) -> impl Future<Output = Result<PutOutcome, StateError>> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StateError>> + Send;
}

/// Why a finding is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SendReason {
    /// No state: never sent, or the state object was lost.
    New,
    SeverityRose {
        from: Severity,
    },
    RepeatDue {
        last_sent_at: Timestamp,
    },
    /// The state could not be read or written; sending is the safe side.
    StateUnavailable {
        error: String,
    },
}

/// The pure rule, without storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Send(SendReason),
    Suppress { last_sent_at: Timestamp, last_severity: Severity },
}

/// Same finding → silent, unless the severity rose or `repeat_after` passed since the last send.
pub fn decide(
    previous: Option<&SentState>,
    severity: Severity,
    now: Timestamp,
    repeat_after: SignedDuration,
) -> Decision {
    match previous {
        None => Decision::Send(SendReason::New),
        Some(p) if severity > p.severity => Decision::Send(SendReason::SeverityRose { from: p.severity }),
        Some(p) if now.duration_since(p.last_sent_at) >= repeat_after => {
            Decision::Send(SendReason::RepeatDue { last_sent_at: p.last_sent_at })
        }
        Some(p) => Decision::Suppress { last_sent_at: p.last_sent_at, last_severity: p.severity },
    }
}

/// The outcome of [`Suppressor::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Publish now; call [`Suppressor::release`] with `state_key` if publishing fails.
    Send {
        reason: SendReason,
        state_key: String,
    },
    Suppressed {
        last_sent_at: Timestamp,
        last_severity: Severity,
    },
    /// A concurrent run claimed this finding first; it sends, this run does not.
    LostRace,
}

pub struct Suppressor<S> {
    store: S,
    prefix: String,
    repeat_after: SignedDuration,
}

impl<S: StateStore> Suppressor<S> {
    /// `prefix`: `STATE_PREFIX` (e.g. `monitor-state/`); `repeat_after_days`: `REPEAT_AFTER_DAYS`.
    pub fn new(store: S, prefix: impl Into<String>, repeat_after_days: u32) -> Self {
        let repeat_after = SignedDuration::from_hours(24 * i64::from(repeat_after_days));
        Self { store, prefix: prefix.into(), repeat_after }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// `{prefix}{scope}/{finding}.json`; `scope` is e.g. `prod/example.jp`.
    pub fn state_key(&self, scope: &str, finding: &str) -> String {
        format!("{}{scope}/{finding}.json", self.prefix)
    }

    /// The stored state and its etag; `state` is `None` when the object does not parse
    /// (counted as lost: sent again and overwritten).
    async fn read(&self, key: &str) -> Result<Option<(Option<SentState>, String)>, StateError> {
        let Some(v) = self.store.get(key).await? else { return Ok(None) };
        match serde_json::from_slice::<SentState>(&v.body) {
            Ok(state) => Ok(Some((Some(state), v.etag))),
            Err(e) => {
                warn!(key, error = %e, "suppression state unreadable; treating it as lost");
                Ok(Some((None, v.etag)))
            }
        }
    }

    /// What would happen, without writing anything (the CLI's dry run).
    pub async fn peek(&self, scope: &str, finding: &str, severity: Severity, now: Timestamp) -> Decision {
        match self.read(&self.state_key(scope, finding)).await {
            Ok(Some((state, _))) => decide(state.as_ref(), severity, now, self.repeat_after),
            Ok(None) => Decision::Send(SendReason::New),
            Err(e) => Decision::Send(SendReason::StateUnavailable { error: e.to_string() }),
        }
    }

    /// Decides and, when sending, records the send first with a conditional write.
    pub async fn claim(&self, scope: &str, finding: &str, severity: Severity, now: Timestamp) -> Claim {
        let key = self.state_key(scope, finding);
        let (state, condition) = match self.read(&key).await {
            Ok(Some((state, etag))) => (state, Condition::Match(etag)),
            Ok(None) => (None, Condition::Absent),
            Err(e) => {
                warn!(key, error = %e, "suppression state unavailable; sending");
                return Claim::Send { reason: SendReason::StateUnavailable { error: e.to_string() }, state_key: key };
            }
        };
        match decide(state.as_ref(), severity, now, self.repeat_after) {
            Decision::Suppress { last_sent_at, last_severity } => {
                if severity < last_severity
                    && let Some(state) = state
                    && let Ok(body) = serde_json::to_vec(&SentState { severity, ..state })
                {
                    // Remember the lower severity, so that a later rise is sent.
                    let _ = self.store.put(&key, body, condition).await;
                }
                Claim::Suppressed { last_sent_at, last_severity }
            }
            Decision::Send(reason) => {
                let new_state = SentState {
                    finding: finding.to_owned(),
                    severity,
                    first_sent_at: state.as_ref().map_or(now, |s| s.first_sent_at),
                    last_sent_at: now,
                };
                let body = serde_json::to_vec(&new_state).unwrap_or_default();
                match self.store.put(&key, body, condition).await {
                    Ok(PutOutcome::Written) => Claim::Send { reason, state_key: key },
                    Ok(PutOutcome::Conflict) => Claim::LostRace,
                    Err(e) => {
                        warn!(key, error = %e, "suppression state not writable; sending");
                        Claim::Send { reason: SendReason::StateUnavailable { error: e.to_string() }, state_key: key }
                    }
                }
            }
        }
    }

    /// Publishing failed after a claim: forget the claim so the next run sends again.
    pub async fn release(&self, state_key: &str) -> Result<(), StateError> {
        self.store.delete(state_key).await
    }
}

/// The state in S3 (`DKIM_CERTIFICATES_BUCKET` under `STATE_PREFIX`; the bucket's default
/// encryption applies).
pub struct S3StateStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3StateStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }
}

fn s3_error<E>(operation: &'static str, key: &str, err: E) -> StateError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StateError { operation, key: key.to_owned(), message: aws_sdk_s3::error::DisplayErrorContext(err).to_string() }
}

impl StateStore for S3StateStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_owned();
                let body = out.body.collect().await.map_err(|e| s3_error("GetObject", key, e))?;
                Ok(Some(Versioned { body: body.to_vec(), etag }))
            }
            Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_key()) => Ok(None),
            Err(e) => Err(s3_error("GetObject", key, e)),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>, condition: Condition) -> Result<PutOutcome, StateError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(aws_sdk_s3::primitives::ByteStream::from(body));
        let request = match condition {
            Condition::Absent => request.if_none_match("*"),
            Condition::Match(etag) => request.if_match(etag),
        };
        match request.send().await {
            Ok(_) => Ok(PutOutcome::Written),
            // 412: the precondition failed; 409: S3 saw a concurrent conditional write.
            Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) => {
                Ok(PutOutcome::Conflict)
            }
            Err(e) => Err(s3_error("PutObject", key, e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("DeleteObject", key, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_rule() {
        let repeat = SignedDuration::from_hours(24 * 7);
        let sent = SentState {
            finding: "f".into(),
            severity: Severity::Warning,
            first_sent_at: t("2026-12-01T00:00:00Z"),
            last_sent_at: t("2026-12-01T00:00:00Z"),
        };
        let cases = [
            (None, Severity::Warning, "2026-12-02T00:00:00Z", Some(SendReason::New)),
            (Some(&sent), Severity::Warning, "2026-12-02T00:00:00Z", None),
            (Some(&sent), Severity::Info, "2026-12-02T00:00:00Z", None),
            (
                Some(&sent),
                Severity::Critical,
                "2026-12-02T00:00:00Z",
                Some(SendReason::SeverityRose { from: Severity::Warning }),
            ),
            (Some(&sent), Severity::Warning, "2026-12-07T23:59:59Z", None),
            (
                Some(&sent),
                Severity::Warning,
                "2026-12-08T00:00:00Z",
                Some(SendReason::RepeatDue { last_sent_at: sent.last_sent_at }),
            ),
        ];
        for (previous, severity, now, expected) in cases {
            let got = decide(previous, severity, t(now), repeat);
            match expected {
                Some(reason) => assert_eq!(got, Decision::Send(reason), "{now} {severity}"),
                None => assert!(matches!(got, Decision::Suppress { .. }), "{now} {severity}: {got:?}"),
            }
        }
    }
}
