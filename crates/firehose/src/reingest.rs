//! Re-ingestion of records that do not fit in the response: `PutRecordBatch` into the same
//! delivery stream, in calls of at most 500 records and 4 MiB, retrying only the failed entries
//! with exponential backoff and full jitter, for a bounded number of attempts.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::ReingestError;

/// `PutRecordBatch` accepts at most this many records per call.
pub const MAX_BATCH_RECORDS: usize = 500;
/// `PutRecordBatch` accepts at most 4 MiB per call; this leaves room for request overhead.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024 - 64 * 1024;
/// Firehose's maximum record size before base64 is 1,000 KiB; re-ingested pieces stay below.
pub const MAX_PIECE_BYTES: usize = 1_000_000;

/// One `PutRecordBatch` call. The handler builds batching and retries on top.
pub trait Reingest: Send + Sync {
    /// Sends `records` to `stream` in one call. On success returns one entry per record: `None`
    /// if it was accepted, `Some(error code)` if it failed. `Err` means the whole call failed.
    fn put_record_batch(
        &self,
        stream: &str,
        records: &[Vec<u8>],
    ) -> impl Future<Output = Result<Vec<Option<String>>, ReingestError>> + Send;
}

impl<T: Reingest + ?Sized> Reingest for &T {
    fn put_record_batch(
        &self,
        stream: &str,
        records: &[Vec<u8>],
    ) -> impl Future<Output = Result<Vec<Option<String>>, ReingestError>> + Send {
        (**self).put_record_batch(stream, records)
    }
}

impl<T: Reingest + ?Sized> Reingest for std::sync::Arc<T> {
    fn put_record_batch(
        &self,
        stream: &str,
        records: &[Vec<u8>],
    ) -> impl Future<Output = Result<Vec<Option<String>>, ReingestError>> + Send {
        (**self).put_record_batch(stream, records)
    }
}

/// Retry schedule for failed entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls per entry, first try included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Ceiling of one backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, 100 ms doubling to at most 5 s: at most ~15 s of sleeping, well inside the
    /// Lambda timeout a Firehose transform should have (60 s or more).
    fn default() -> RetryPolicy {
        RetryPolicy { max_attempts: 8, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// Full jitter: a uniform delay in `[0, min(max, base * 2^retry)]`.
    fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1u32 << retry.min(20)).min(self.max_delay);
        let nanos = ceiling.as_nanos() as u64;
        // fastrand's per-thread generator is seeded differently in every process, which is all
        // de-synchronising retrying clients needs.
        Duration::from_nanos(fastrand::u64(..=nanos))
    }
}

/// What a delivery attempt achieved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Per record: delivered or not.
    pub delivered: Vec<bool>,
    /// `PutRecordBatch` calls made.
    pub calls: u32,
    /// The last error seen, for the log (error codes and messages from AWS, never record data).
    pub last_error: Option<String>,
    /// A call failed for a reason no retry can fix: later deliveries in the same invocation are
    /// not attempted.
    pub permanent: bool,
}

/// Delivers `records` to `stream`: batches by count and bytes, retries failed entries.
pub async fn deliver<R: Reingest + ?Sized>(
    client: &R,
    stream: &str,
    records: &[Vec<u8>],
    policy: &RetryPolicy,
) -> Delivery {
    deliver_until(client, stream, records, policy, None).await
}

/// [`deliver`], giving up (what is left stays undelivered) rather than calling or sleeping past
/// `until`: the Lambda deadline must not cut the invocation off while entries are in flight.
pub async fn deliver_until<R: Reingest + ?Sized>(
    client: &R,
    stream: &str,
    records: &[Vec<u8>],
    policy: &RetryPolicy,
    until: Option<Instant>,
) -> Delivery {
    let out_of_time = |delay: Duration| until.is_some_and(|u| Instant::now() + delay >= u);
    let mut delivery = Delivery { delivered: vec![false; records.len()], ..Delivery::default() };
    let mut pending: Vec<usize> = (0..records.len()).filter(|&i| records[i].len() <= MAX_PIECE_BYTES).collect();
    if pending.len() < records.len() {
        delivery.last_error = Some("record above the 1,000 KiB Firehose limit".to_owned());
    }
    for attempt in 0..policy.max_attempts.max(1) {
        if pending.is_empty() {
            break;
        }
        let delay = if attempt > 0 { policy.delay(attempt - 1) } else { Duration::ZERO };
        if out_of_time(delay) {
            delivery.last_error = Some("time budget of the invocation exhausted before delivery".to_owned());
            break;
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut still_failed = Vec::new();
        for (n, batch) in batches(&pending, records).into_iter().enumerate() {
            if n > 0 && out_of_time(Duration::ZERO) {
                delivery.last_error = Some("time budget of the invocation exhausted before delivery".to_owned());
                still_failed.extend_from_slice(batch);
                continue;
            }
            // A first attempt sends runs of consecutive records: no copy of up to 4 MiB is needed.
            let copied: Vec<Vec<u8>>;
            let payload: &[Vec<u8>] = if batch.windows(2).all(|w| w[1] == w[0] + 1) {
                &records[batch[0]..=batch[batch.len() - 1]]
            } else {
                copied = batch.iter().map(|&i| records[i].clone()).collect();
                &copied
            };
            delivery.calls += 1;
            match client.put_record_batch(stream, payload).await {
                Ok(results) => {
                    for (k, &i) in batch.iter().enumerate() {
                        match results.get(k) {
                            Some(None) => delivery.delivered[i] = true,
                            Some(Some(code)) => {
                                delivery.last_error = Some(code.clone());
                                still_failed.push(i);
                            }
                            None => {
                                delivery.last_error = Some("PutRecordBatch returned fewer results than records".into());
                                still_failed.push(i);
                            }
                        }
                    }
                }
                Err(e) => {
                    let retryable = e.is_retryable();
                    delivery.last_error = Some(e.to_string());
                    if !retryable {
                        // Nothing will change on a retry (missing stream, access denied): stop.
                        delivery.permanent = true;
                        return delivery;
                    }
                    still_failed.extend_from_slice(batch);
                }
            }
        }
        pending = still_failed;
    }
    delivery
}

fn batches<'a>(pending: &'a [usize], records: &[Vec<u8>]) -> Vec<&'a [usize]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (k, &i) in pending.iter().enumerate() {
        let len = records[i].len();
        if k > start && (k - start == MAX_BATCH_RECORDS || bytes + len > MAX_BATCH_BYTES) {
            out.push(&pending[start..k]);
            (start, bytes) = (k, 0);
        }
        bytes += len;
    }
    if start < pending.len() {
        out.push(&pending[start..]);
    }
    out
}

/// The real client: `PutRecordBatch` through aws-sdk-firehose.
#[cfg(feature = "aws")]
#[derive(Debug, Clone)]
pub struct FirehoseReingest {
    client: aws_sdk_firehose::Client,
}

#[cfg(feature = "aws")]
impl FirehoseReingest {
    /// Wraps a configured client (the SDK honours `AWS_ENDPOINT_URL`).
    pub fn new(client: aws_sdk_firehose::Client) -> FirehoseReingest {
        FirehoseReingest { client }
    }
}

#[cfg(feature = "aws")]
impl Reingest for FirehoseReingest {
    async fn put_record_batch(&self, stream: &str, records: &[Vec<u8>]) -> Result<Vec<Option<String>>, ReingestError> {
        use aws_sdk_firehose::error::ProvideErrorMetadata as _;
        use aws_sdk_firehose::primitives::Blob;
        use aws_sdk_firehose::types::Record;

        let mut request = self.client.put_record_batch().delivery_stream_name(stream);
        for bytes in records {
            let record = Record::builder()
                .data(Blob::new(bytes.clone()))
                .build()
                .map_err(|e| ReingestError::Request { message: e.to_string(), retryable: false })?;
            request = request.records(record);
        }
        match request.send().await {
            Ok(output) => Ok(output.request_responses().iter().map(|r| r.error_code().map(str::to_owned)).collect()),
            Err(err) => {
                let code = err.code().unwrap_or("").to_owned();
                let retryable = is_retryable(&err);
                let message = match err.message() {
                    Some(m) => format!("{code}: {m}"),
                    None => format!("PutRecordBatch failed: {}", aws_sdk_firehose::error::DisplayErrorContext(&err)),
                };
                Err(ReingestError::Request { message, retryable })
            }
        }
    }
}

/// Error codes no retry can fix: the stream, the role or the key is wrong, not busy.
#[cfg(feature = "aws")]
const PERMANENT_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "InvalidArgumentException",
    "AccessDeniedException",
    "AccessDenied",
    "InvalidKMSResourceException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "NotAuthorized",
    "ValidationException",
];

/// Whether a failed `PutRecordBatch` call is worth repeating: throttling, service errors and
/// network failures are; a request that could not be built or signed (no credentials), or that
/// the service refused for what it is, is not — those fail fast instead of spending the
/// invocation in backoff.
#[cfg(feature = "aws")]
fn is_retryable<R>(
    err: &aws_sdk_firehose::error::SdkError<aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError, R>,
) -> bool {
    use aws_sdk_firehose::error::{ProvideErrorMetadata as _, SdkError};
    match err {
        SdkError::ConstructionFailure(_) => false,
        // Credentials are resolved and the request signed just before it is sent: a failure
        // there is a dispatch failure that is neither I/O nor a timeout.
        SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_timeout(),
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        _ => !err.code().is_some_and(|code| PERMANENT_CODES.contains(&code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_bytes() {
        let records: Vec<Vec<u8>> = (0..1200).map(|_| vec![0u8; 10]).collect();
        let pending: Vec<usize> = (0..records.len()).collect();
        let sizes: Vec<usize> = batches(&pending, &records).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![500, 500, 200]);

        let records: Vec<Vec<u8>> = (0..10).map(|_| vec![0u8; 900_000]).collect();
        let pending: Vec<usize> = (0..records.len()).collect();
        for batch in batches(&pending, &records) {
            assert!(batch.iter().map(|&i| records[i].len()).sum::<usize>() <= MAX_BATCH_BYTES);
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    fn client(credentials: bool, endpoint: &str) -> FirehoseReingest {
        let mut config = aws_sdk_firehose::Config::builder()
            .behavior_version(aws_sdk_firehose::config::BehaviorVersion::latest())
            .region(aws_sdk_firehose::config::Region::new("ap-northeast-1"))
            .endpoint_url(endpoint)
            .retry_config(aws_sdk_firehose::config::retry::RetryConfig::disabled());
        if credentials {
            config = config.credentials_provider(aws_sdk_firehose::config::Credentials::new(
                "testing", "testing", None, None, "t",
            ));
        }
        FirehoseReingest::new(aws_sdk_firehose::Client::from_conf(config.build()))
    }

    fn closed_port() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    }

    #[test]
    fn no_credentials_fail_fast_and_a_refused_connection_is_retried() {
        // Issue 11: without credentials a 6 MB event spent 23–26 s in backoff.
        let endpoint = closed_port();
        let err = block_on(client(false, &endpoint).put_record_batch("s", &[b"x".to_vec()])).unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        let err = block_on(client(true, &endpoint).put_record_batch("s", &[b"x".to_vec()])).unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }

    #[test]
    fn a_permanent_failure_stops_delivery_without_backoff() {
        let policy =
            RetryPolicy { max_attempts: 8, base_delay: Duration::from_secs(5), max_delay: Duration::from_secs(5) };
        let started = Instant::now();
        let records: Vec<Vec<u8>> = (0..1200).map(|_| vec![b'x'; 10]).collect();
        let delivery = block_on(deliver(&client(false, &closed_port()), "s", &records, &policy));
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
        assert!(delivery.permanent && delivery.calls == 1 && delivery.delivered.iter().all(|d| !d));
    }

    #[test]
    fn delays_grow_and_stay_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        for retry in 0..10 {
            assert!(policy.delay(retry) <= Duration::from_millis(50));
        }
    }
}
