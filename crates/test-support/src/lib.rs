//! What the workspace's tests share, kept out of every production build.
//!
//! - [`moto`]: AWS clients pointed at the moto_server that `./scripts/test` starts
//!   (`MOTO_ENDPOINT`, dummy credentials, `ap-northeast-1`, path-style S3), buckets, Firehose
//!   delivery streams, secrets and SSM parameters there, and the environment a child process
//!   needs to reach moto.
//! - [`runtime_api`]: a local Lambda Runtime API that runs a function binary end to end for one
//!   invocation.
//! - [`logs`]: tracing output captured so tests can assert that secrets never reach a log.
//! - [`unique`]: resource names no other test, or earlier run against the same moto, uses.
//!
//! Fakes of a crate's own traits stay next to those traits, behind that crate's `test-util`
//! feature (`logmask-dkim`, `logmask-notify`, `logmask-monitor`). This crate is a
//! dev-dependency only; `tests/production_builds.rs` fails when a shipped binary's normal
//! dependency graph reaches it or enables any `test-util` feature.
//!
//! ```
//! use logmask_test_support::{logs::capture_logs, unique};
//!
//! let ((), text) = capture_logs(|| tracing::warn!(bucket = %unique("raw"), "object skipped"));
//! assert!(text.contains("object skipped bucket=raw-"), "{text}");
//! assert_ne!(unique("raw"), unique("raw"));
//! ```

pub mod logs;
pub mod moto;
pub mod runtime_api;

use std::sync::atomic::{AtomicUsize, Ordering};

/// `prefix` followed by the process id, a per-process counter and the clock's nanoseconds:
/// unique within a run (the counter) and across runs against one moto_server (pid and clock).
/// Short enough for S3 bucket names (≤ 63 characters) when `prefix` is ≤ 25 characters.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::unique;

    #[test]
    fn unique_names_differ_and_fit_a_bucket_name() {
        let prefix = "dns-team-notifications";
        let names: std::collections::HashSet<String> = (0..1000).map(|_| unique(prefix)).collect();
        assert_eq!(names.len(), 1000);
        assert!(names.iter().all(|n| n.starts_with("dns-team-notifications-") && n.len() <= 63));
    }
}
