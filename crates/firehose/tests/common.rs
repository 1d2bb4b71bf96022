//! Shared helpers: running a batch, capturing logs, fake re-ingestion clients.

use std::io;
use std::sync::Mutex;

use logmask_firehose::{
    BatchOutput, Config, FirehoseEvent, FirehoseRecord, Reingest, ReingestError, RetryPolicy, Transformer, samples,
};
use logmask_mask::{Masker, Role};

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

thread_local! {
    static CAPTURED: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
}

/// Writes into the current thread's capture buffer, if one is active.
struct ThreadWriter;

impl io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        CAPTURED.with(|c| {
            if let Some(out) = c.borrow_mut().as_mut() {
                out.extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` and returns what it logged on this thread. One global subscriber writes to per-thread
/// buffers: thread-local default subscribers miss events when tracing's callsite-interest cache
/// was filled by a concurrently running test.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| ThreadWriter)
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .try_init();
    });
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let out = f();
    let bytes = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (out, String::from_utf8_lossy(&bytes).into_owned())
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
