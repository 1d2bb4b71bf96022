//! Shared helpers: running a batch, fake re-ingestion clients (log capture is the workspace's,
//! from logmask-test-support).

use std::sync::Mutex;

use logmask_firehose::{
    BatchOutput, Config, FirehoseEvent, FirehoseRecord, Reingest, ReingestError, RetryPolicy, Transformer, samples,
};
use logmask_mask::{Masker, Role};
pub use logmask_test_support::logs::capture_logs;

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(4),
    }
}

pub fn transformer<R: Reingest>(role: Role, reingest: R) -> Transformer<R> {
    Transformer::new(Masker::new(), &Config { role, ..Config::default() }, reingest).with_retry(fast_retry())
}

pub fn event_of(records: Vec<Vec<u8>>) -> FirehoseEvent {
    samples::event(
        records
            .iter()
            .enumerate()
            .map(|(i, data)| FirehoseRecord::new(format!("rec-{i:04}"), 1_714_555_805_000, data))
            .collect(),
    )
}

/// An in-memory delivery stream. `fail_every`: every n-th entry of each call fails (0: never);
/// `throttle_calls`: the first n calls fail as a whole with a retryable error.
#[derive(Default)]
pub struct MemoryStream {
    pub delivered: Mutex<Vec<Vec<u8>>>,
    pub calls: Mutex<Vec<usize>>,
    pub fail_every: usize,
    pub throttle_calls: usize,
    pub always_fail: bool,
    /// Every call fails as a whole with an error no retry can fix.
    pub permanent_failure: bool,
}

impl Reingest for MemoryStream {
    async fn put_record_batch(&self, _stream: &str, records: &[Vec<u8>]) -> Result<Vec<Option<String>>, ReingestError> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(records.len());
            calls.len()
        };
        assert!(records.len() <= logmask_firehose::MAX_BATCH_RECORDS);
        assert!(records.iter().map(Vec::len).sum::<usize>() <= logmask_firehose::MAX_BATCH_BYTES);
        if self.permanent_failure {
            return Err(ReingestError::Request {
                message: "AccessDeniedException: not authorized to perform firehose:PutRecordBatch".into(),
                retryable: false,
            });
        }
        if self.always_fail || call <= self.throttle_calls {
            return Err(ReingestError::Request {
                message: "ThrottlingException: Rate exceeded".into(),
                retryable: true,
            });
        }
        let mut delivered = self.delivered.lock().unwrap();
        Ok(records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if self.fail_every > 0 && (i + call) % self.fail_every == 0 {
                    Some("ServiceUnavailableException".to_owned())
                } else {
                    delivered.push(r.clone());
                    None
                }
            })
            .collect())
    }
}

pub fn run(role: Role, budget: usize, stream: &MemoryStream, event: FirehoseEvent) -> BatchOutput {
    block_on(transformer(role, stream).with_budget(budget).process(event))
}
