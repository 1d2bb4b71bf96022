//! The one notification format of logmask's DKIM manager and monitor.
//!
//! * [`Message`]: every message kind with its data and its text. A message renders into a
//!   [`Notification`]: subject `【CRITICAL】…` / `【WARNING】…` / `【INFO】…` (under 100
//!   characters, one line, as SNS requires), body in Japanese first and then English, with the
//!   environment, the domain, what happened, what to do next (the exact command or payload) and
//!   console links for the region.
//! * [`Topics`] / [`Notifier`]: the operations topic gets everything, the DNS team's topic
//!   (optional) only DNS requests.
//! * [`Suppressor`]: the same finding is not sent every day; state in S3 with conditional
//!   writes, and a lost state object means "send again".
//!
//! Messages carry public data only: record names, public keys to paste, fingerprints.
//!
//! # Example
//!
//! ```
//! use logmask_notify::{Context, Message, Route, Severity};
//!
//! let ctx = Context {
//!     environment: "prod".into(),
//!     domain: "example.jp".into(),
//!     region: "ap-northeast-1".into(),
//!     at: "2026-12-01T00:00:00Z".parse()?,
//!     dkim_manager_function: "dkim-manager".into(),
//!     certificates_bucket: None,
//! };
//! let message = Message::KeyExpiry {
//!     selector: "s-20250901-1".into(),
//!     expires_at: "2026-12-08T00:00:00Z".parse()?,
//!     days_left: 7,
//!     successor: None,
//! };
//! let n = message.render(Severity::Critical, &ctx);
//! assert_eq!(n.subject(), "【CRITICAL】DKIM 鍵の期限が近づいています / DKIM key expires soon: example.jp");
//! assert_eq!(n.route, Route::Operations);
//! let body = n.message();
//! assert!(body.find("--- 日本語 ---") < body.find("--- English ---"));
//! assert!(body.contains("\"mode\":\"GENERATE_ONLY\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod kinds;
mod message;
mod publish;
pub mod suppress;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use kinds::{KINDS, Message};
pub use message::{Context, DnsRecordBlock, Notification, Route, Severity, format_time, jst};
pub use publish::{Notifier, NotifyError, SnsNotifier, Topics};
pub use suppress::{Claim, Decision, S3StateStore, SendReason, StateStore, Suppressor};
