//! The daily monitor of logmask's mail domain (`functions/monitor`, run by EventBridge
//! Scheduler at 09:00 Asia/Tokyo): every check yields findings with a severity, one failing
//! check never stops the others, and what cannot be checked is itself a WARNING finding.
//!
//! | check | source | findings |
//! |---|---|---|
//! | key expiry | DKIM metadata in S3 | WARNING within `RENEWAL_ALERT_DAYS`, CRITICAL within 7 days or expired; `AUTO` mode asks the DKIM manager for a successor |
//! | SES DKIM | SESv2 `GetEmailIdentity` | not SUCCESS → CRITICAL, PENDING > 72 h → WARNING, not EXTERNAL although BYODKIM was applied → CRITICAL |
//! | DNS | the DKIM crate's check | active selector not MATCH → CRITICAL; retired selector still published → INFO |
//! | sending health | CloudWatch `GetMetricData`, 24 h | bounce / complaint / success rate and SES reputation against the thresholds |
//! | pipeline | CloudWatch | `RecordsProcessingFailed` > 0, or no `Events` while SES sent mail → WARNING |
//!
//! Notifications are `logmask-notify`'s, with duplicate suppression.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use logmask_monitor::checks::sending_health;
//! use logmask_monitor::config::Thresholds;
//! use logmask_monitor::metrics::ids;
//! use logmask_notify::Severity;
//!
//! // 1,000 sends in 24 h, 40 hard bounces of which 10 to suppressed addresses: 3.0 %.
//! let values: HashMap<String, Option<f64>> = [
//!     (ids::SEND, 1000.0), (ids::DELIVERY, 960.0),
//!     (ids::BOUNCE_PERMANENT, 40.0), (ids::BOUNCE_PERMANENT_SUPPRESSED, 10.0),
//! ]
//! .into_iter()
//! .map(|(k, v)| (k.to_owned(), Some(v)))
//! .collect();
//! let findings = sending_health(&values, &Thresholds::default());
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].id, "sending/bounce-rate");
//! assert_eq!(findings[0].severity, Severity::Warning); // at 3.0 %: WARNING; CRITICAL from 5.0 %
//! ```

pub mod checks;
pub mod config;
pub mod error;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
pub mod finding;
pub mod invoke;
pub mod metrics;
pub mod run;

pub use config::{Config, ENV_VARS, Thresholds};
pub use error::{CheckError, MonitorError};
pub use finding::{Check, Finding};
pub use run::{Deps, Handled, Mode, Report, deliver, handle, run_checks};
