//! The batch: every record once, in order, inside the response budget; overflow re-ingested.

use logmask_mask::{Masker, Role};

use crate::config::Config;
use crate::event::{
    DEFAULT_RESPONSE_BUDGET, FirehoseEvent, FirehoseResponse, PARTITION_KEY_NAMES, PartitionKeyMap, RecordResult,
    ResponseMetadata, ResponseRecord, base64_len, decode_base64, encode_base64, json_len,
};
use crate::metrics::{BatchMetrics, Summary, render_emf};
use std::time::{Duration, Instant};

use crate::error::BatchError;
use crate::event::RESPONSE_LIMIT;
use crate::reingest::{MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_PIECE_BYTES, Reingest, RetryPolicy, deliver_until};
use crate::transform::{
    Bounds, MAX_RECORD_OUTPUT, Outcome, PartitionKeys, RecordKind, Scratch, TIME_BUDGET_REASON, marker_line, transform,
};

/// A re-ingested piece that comes back this many times is given up on (`ProcessingFailed`), so a
/// record can never circulate forever.
pub const MAX_HOPS: u8 = 4;

/// Re-ingested bytes one invocation may send, per byte of record data it received (decoded):
/// a CloudWatch Logs batch expands ~10× (gzip, then one line per event), so real batches stay
/// inside, while a small event of hostile records cannot make the function write tens of MB.
pub const REINGEST_EXPANSION: usize = 16;
/// The re-ingestion budget of an invocation is never below this …
pub const MIN_REINGEST_BUDGET: usize = 1024 * 1024;
/// … nor above this.
pub const MAX_REINGEST_BUDGET: usize = 64 * 1024 * 1024;

/// The re-ingestion budget of an event whose records hold `decoded_bytes` bytes.
pub fn reingest_budget(decoded_bytes: usize) -> usize {
    decoded_bytes.saturating_mul(REINGEST_EXPANSION).clamp(MIN_REINGEST_BUDGET, MAX_REINGEST_BUDGET)
}

/// Everything one batch produced.
#[derive(Debug, Clone)]
pub struct BatchOutput {
    /// What Firehose gets back.
    pub response: FirehoseResponse,
    /// Totals (the CLI's summary line).
    pub summary: Summary,
    /// SES and masking counters.
    pub metrics: BatchMetrics,
    /// The EMF documents, one JSON object each.
    pub emf: Vec<String>,
    /// How each record was recognised, in input order (for the demo and tests).
    pub kinds: Vec<RecordKind>,
    /// Set when the batch cannot be answered at all: `response` is then empty and the
    /// invocation must fail (see [`BatchError`]). Nothing was processed or re-ingested.
    pub refused: Option<BatchError>,
}

/// The transformation: masker and settings built once at cold start, a re-ingestion client.
#[derive(Debug)]
pub struct Transformer<R> {
    masker: Masker,
    role: Role,
    namespace: String,
    service: String,
    reingest: R,
    retry: RetryPolicy,
    budget: usize,
    max_record_output: usize,
}

struct Pending {
    entry: usize,
    pieces: Vec<Vec<u8>>,
}

impl<R: Reingest> Transformer<R> {
    /// A transformer writing `config.role`'s view.
    pub fn new(masker: Masker, config: &Config, reingest: R) -> Transformer<R> {
        Transformer {
            masker,
            role: config.role,
            namespace: config.namespace.clone(),
            service: config.service.clone(),
            reingest,
            retry: RetryPolicy::default(),
            budget: DEFAULT_RESPONSE_BUDGET,
            max_record_output: MAX_RECORD_OUTPUT,
        }
    }

    /// Overrides the per-record output bound ([`MAX_RECORD_OUTPUT`]); tests use small ones.
    pub fn with_record_limit(mut self, bytes: usize) -> Transformer<R> {
        self.max_record_output = bytes;
        self
    }

    /// Overrides the response budget (bytes of serialised response); tests use small ones.
    pub fn with_budget(mut self, budget: usize) -> Transformer<R> {
        self.budget = budget;
        self
    }

    /// Overrides the re-ingestion retry schedule.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Transformer<R> {
        self.retry = retry;
        self
    }

    /// The view this transformer writes.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The re-ingestion client.
    pub fn reingest_client(&self) -> &R {
        &self.reingest
    }

    /// Lambda entry point: processes the batch within the invocation's deadline, prints the EMF
    /// documents on stdout (a failure there is logged, never fails the batch) and returns the
    /// response. Fails the invocation only for a batch whose record ids alone cannot fit in a
    /// response ([`BatchError::ResponseTooLarge`]).
    #[cfg(feature = "aws")]
    pub async fn handle(
        &self,
        event: lambda_runtime::LambdaEvent<FirehoseEvent>,
    ) -> Result<FirehoseResponse, lambda_runtime::Error> {
        let deadline = lambda_deadline(event.context.deadline);
        let output = self.process_until(event.payload, deadline).await;
        if let Some(error) = output.refused {
            tracing::error!(error = %error, "batch refused");
            return Err(error.into());
        }
        let mut stdout = std::io::stdout().lock();
        for doc in &output.emf {
            use std::io::Write as _;
            if let Err(e) = writeln!(stdout, "{doc}") {
                tracing::warn!(error = %e, "could not write EMF metrics");
                break;
            }
        }
        let s = &output.summary;
        tracing::info!(
            records = s.records,
            ok = s.ok,
            dropped = s.dropped,
            processing_failed = s.processing_failed,
            reingested = s.reingested,
            bytes_in = s.bytes_in,
            bytes_out = s.bytes_out,
            "batch done"
        );
        Ok(output.response)
    }

    /// Transforms one batch without a deadline. A bad record becomes `ProcessingFailed` on its
    /// own; only a batch that cannot be answered at all is refused ([`BatchOutput::refused`]).
    pub async fn process(&self, event: FirehoseEvent) -> BatchOutput {
        self.process_until(event, None).await
    }

    /// Transforms one batch, finishing by `deadline` (the Lambda's): past a point that leaves time
    /// to deliver re-ingested pieces and to answer, the records not yet done are
    /// `ProcessingFailed` with a reason, and a record in progress stops between log events.
    pub async fn process_until(&self, event: FirehoseEvent, deadline: Option<Instant>) -> BatchOutput {
        let started = Instant::now();
        let (stop_at, flush_until) = match deadline {
            Some(deadline) => {
                let remaining = deadline.saturating_duration_since(started);
                // Kept back for delivering what is pending, serialising the response and EMF.
                let reserve = (remaining / 5).clamp(Duration::from_millis(500), Duration::from_secs(10));
                let flush_reserve = Duration::from_millis(250).min(reserve / 2);
                (
                    Some(deadline.checked_sub(reserve).unwrap_or(started)),
                    Some(deadline.checked_sub(flush_reserve).unwrap_or(deadline)),
                )
            }
            None => (None, None),
        };
        let stream = reingest_target(&event);
        // Room kept for every record still to come, so each can at least be reported.
        let mut reserve: usize = event.records.iter().map(|r| failed_entry_len(&r.record_id)).sum();
        let mut used = json_len(&FirehoseResponse::default());
        // The last entry has no comma after it.
        let smallest = used + reserve.saturating_sub(1);
        if smallest > RESPONSE_LIMIT {
            return BatchOutput {
                response: FirehoseResponse::default(),
                summary: Summary { records: event.records.len() as u64, ..Summary::default() },
                metrics: BatchMetrics::default(),
                emf: Vec::new(),
                kinds: Vec::new(),
                refused: Some(BatchError::ResponseTooLarge { records: event.records.len(), bytes: smallest }),
            };
        }
        let decoded_in: usize = event.records.iter().map(|r| r.data.len() / 4 * 3).sum();
        let mut reingest_left = reingest_budget(decoded_in);
        // Set once a delivery fails for good (no credentials, access denied, no such stream): the
        // rest of the batch does not try again.
        let mut unavailable = false;
        let bounds = Bounds { max_output: self.max_record_output, stop_at };
        // A piece coming back must fit in a response on its own, whatever the budget.
        let piece_max = MAX_PIECE_BYTES.min(self.budget.saturating_sub(used + 512) / 4 * 3).max(256);

        let mut entries = Vec::with_capacity(event.records.len());
        let mut kinds = Vec::with_capacity(event.records.len());
        let mut summary = Summary { records: event.records.len() as u64, ..Summary::default() };
        let mut metrics = BatchMetrics::default();
        let mut pending: Vec<Pending> = Vec::new();
        let mut pending_bytes = 0usize;
        let mut scratch = Scratch::default();
        let mut decoded = Vec::new();

        // Records are consumed one by one so that each one's base64 text is freed once decoded.
        // Each record's id moves into its entry (a copy per record showed in profiles).
        for record in event.records {
            let record_id = record.record_id;
            let id = record_id.as_str();
            let entry_min = failed_entry_len(id);
            reserve -= entry_min;
            let failed = |record_id: String| ResponseRecord {
                record_id,
                result: RecordResult::ProcessingFailed,
                data: None,
                metadata: None,
            };

            if stop_at.is_some_and(|at| Instant::now() >= at) {
                kinds.push(RecordKind::Invalid);
                tracing::warn!(record_id = id, reason = TIME_BUDGET_REASON, "record failed");
                entries.push(failed(record_id));
                used += entry_min;
                continue;
            }
            decoded.clear();
            let valid = decode_base64(&record.data, &mut decoded);
            drop(record.data);
            let bytes = match valid {
                Ok(()) => decoded.as_slice(),
                Err(_) => {
                    kinds.push(RecordKind::Invalid);
                    tracing::warn!(
                        record_id = id,
                        kind = "invalid",
                        reason = "data is not valid base64",
                        "record failed"
                    );
                    entries.push(failed(record_id));
                    used += entry_min;
                    continue;
                }
            };
            summary.bytes_in += bytes.len() as u64;
            let arrival = record.approximate_arrival_timestamp.as_ref().and_then(|m| m.as_i64());
            let t = transform(&self.masker, self.role, bytes, arrival, &bounds, &mut scratch);
            kinds.push(t.kind);
            metrics.masked += t.counts;
            if let Some(facts) = t.ses {
                metrics.add_ses(facts);
            }
            match t.outcome {
                Outcome::Ok { data, keys, hop } => {
                    let partition_keys = keys.to_map();
                    let size = ok_entry_len(id, &partition_keys) + base64_len(data.len()) + 1;
                    if used + size + reserve <= self.budget {
                        entries.push(ResponseRecord {
                            record_id,
                            result: RecordResult::Ok,
                            data: Some(encode_base64(&data)),
                            metadata: Some(ResponseMetadata { partition_keys }),
                        });
                        summary.bytes_out += data.len() as u64;
                        scratch.recycle(data);
                        used += size;
                        continue;
                    }
                    used += entry_min;
                    let reason = match &stream {
                        Err(reason) => Some(*reason),
                        Ok(_) if hop >= MAX_HOPS => Some("re-ingestion hop limit reached"),
                        Ok(_) if data.len() > reingest_left => {
                            Some("response full and the re-ingestion budget of this invocation is spent")
                        }
                        Ok(_) if stop_at.is_some_and(|at| Instant::now() >= at) => Some(TIME_BUDGET_REASON),
                        Ok(_) if unavailable => Some(
                            "response full and re-ingestion failed earlier in this invocation for a reason no retry can fix",
                        ),
                        Ok(_) => None,
                    };
                    if let Some(reason) = reason {
                        tracing::warn!(
                            record_id = id,
                            kind = t.kind.as_str(),
                            reason,
                            "record does not fit in the response"
                        );
                        entries.push(failed(record_id));
                        continue;
                    }
                    reingest_left -= data.len();
                    let pieces = split_pieces(&data, &keys, hop + 1, piece_max);
                    scratch.recycle(data);
                    pending_bytes += pieces.iter().map(Vec::len).sum::<usize>();
                    pending.push(Pending { entry: entries.len(), pieces });
                    entries.push(failed(record_id));
                    if pending_bytes >= MAX_BATCH_BYTES
                        || pending.iter().map(|p| p.pieces.len()).sum::<usize>() >= MAX_BATCH_RECORDS
                    {
                        if let Ok(stream) = &stream {
                            unavailable |=
                                self.flush(stream, &mut pending, &mut entries, &mut summary, flush_until).await;
                        }
                        pending_bytes = 0;
                    }
                }
                Outcome::Dropped { reason } => {
                    tracing::debug!(record_id = id, kind = t.kind.as_str(), reason, "record dropped");
                    entries.push(ResponseRecord {
                        record_id,
                        result: RecordResult::Dropped,
                        data: None,
                        metadata: None,
                    });
                    used += entry_min;
                }
                Outcome::Failed { reason } => {
                    tracing::warn!(record_id = id, kind = t.kind.as_str(), reason = reason.as_str(), "record failed");
                    entries.push(failed(record_id));
                    used += entry_min;
                }
            }
        }
        if let Ok(stream) = &stream
            && !pending.is_empty()
        {
            self.flush(stream, &mut pending, &mut entries, &mut summary, flush_until).await;
        }
        for entry in &entries {
            match entry.result {
                RecordResult::Ok => summary.ok += 1,
                RecordResult::Dropped => summary.dropped += 1,
                RecordResult::ProcessingFailed => summary.processing_failed += 1,
            }
        }
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let emf = render_emf(&self.namespace, &self.service, now_ms, &summary, &metrics);
        BatchOutput { response: FirehoseResponse { records: entries }, summary, metrics, emf, kinds, refused: None }
    }

    async fn flush(
        &self,
        stream: &str,
        pending: &mut Vec<Pending>,
        entries: &mut [ResponseRecord],
        summary: &mut Summary,
        until: Option<Instant>,
    ) -> bool {
        let counts: Vec<usize> = pending.iter().map(|p| p.pieces.len()).collect();
        let pieces: Vec<Vec<u8>> = pending.iter_mut().flat_map(|p| std::mem::take(&mut p.pieces)).collect();
        let delivery = deliver_until(&self.reingest, stream, &pieces, &self.retry, until).await;
        drop(pieces);
        let mut offset = 0;
        for (p, count) in pending.drain(..).zip(counts) {
            let all = delivery.delivered[offset..offset + count].iter().all(|&d| d);
            offset += count;
            let entry = &mut entries[p.entry];
            if all {
                entry.result = RecordResult::Dropped;
                summary.reingested += 1;
            } else {
                tracing::warn!(
                    record_id = entry.record_id.as_str(),
                    reason = "re-ingestion failed",
                    last_error = delivery.last_error.as_deref().unwrap_or(""),
                    calls = delivery.calls,
                    "record failed"
                );
            }
        }
        delivery.permanent
    }
}

/// The Lambda context's deadline (epoch milliseconds; 0 when unknown) as an `Instant`.
#[cfg(feature = "aws")]
fn lambda_deadline(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    use std::time::SystemTime;
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let remaining = deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
    Some(Instant::now() + remaining)
}

/// Serialised size of a `ProcessingFailed` entry for `id`, with its comma: the least every record
/// takes in the response.
fn failed_entry_len(id: &str) -> usize {
    string_len(id) + r#"{"recordId":,"result":"ProcessingFailed"},"#.len()
}

/// Serialised size of an `Ok` entry for `id` with `keys` whose `data` is still empty, without its
/// comma. Entries are sized for every record, so this counts instead of serialising.
fn ok_entry_len(id: &str, keys: &PartitionKeyMap) -> usize {
    let pairs: usize = keys.iter().map(|(k, v)| string_len(k) + string_len(v) + 1).sum();
    r#"{"recordId":,"result":"Ok","data":"","metadata":{"partitionKeys":{}}}"#.len()
        + string_len(id)
        + pairs
        + PARTITION_KEY_NAMES.len()
        - 1
}

/// A string's JSON length: most need no escape, and those are counted without serde.
fn string_len(s: &str) -> usize {
    // Branch-free over the whole string so that it vectorises (ids are ~56 bytes, one per record).
    let plain = !s.bytes().fold(false, |acc, b| acc | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if plain { s.len() + 2 } else { json_len(&s) }
}

/// The delivery stream to re-ingest into, or why there is none.
fn reingest_target(event: &FirehoseEvent) -> Result<String, &'static str> {
    if event.source_kinesis_stream_arn.is_some() {
        // PutRecordBatch is refused on streams fed by Kinesis Data Streams.
        return Err("response full and re-ingestion into a Kinesis-sourced stream is not supported");
    }
    let arn = event.delivery_stream_arn.as_deref().ok_or("response full and the event names no delivery stream")?;
    match arn.split_once(":deliverystream/") {
        Some((_, name)) if !name.is_empty() => Ok(name.to_owned()),
        _ => Err("response full and deliveryStreamArn is malformed"),
    }
}

/// Cuts `data` into pieces of at most `piece_max` bytes, marker line included, at line ends when
/// possible (one log event or SES record per line), else at a UTF-8 character boundary.
fn split_pieces(data: &[u8], keys: &PartitionKeys, hop: u8, piece_max: usize) -> Vec<Vec<u8>> {
    let marker = marker_line(keys, hop);
    let body_max = piece_max.saturating_sub(marker.len()).max(64);
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let take = if rest.len() <= body_max {
            rest.len()
        } else {
            match rest[..body_max].iter().rposition(|&b| b == b'\n') {
                Some(nl) => nl + 1,
                None => {
                    let mut cut = body_max;
                    while cut > 1 && (rest[cut] & 0xC0) == 0x80 {
                        cut -= 1;
                    }
                    cut
                }
            }
        };
        let mut piece = Vec::with_capacity(marker.len() + take);
        piece.extend_from_slice(&marker);
        piece.extend_from_slice(&rest[..take]);
        pieces.push(piece);
        rest = &rest[take..];
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cut_at_line_ends_and_keep_all_bytes() {
        let keys = PartitionKeys { event_type: "CloudWatchLogs", time: jiff::Timestamp::UNIX_EPOCH };
        let data: Vec<u8> = (0..100).flat_map(|i| format!("line {i} é\n").into_bytes()).collect();
        let pieces = split_pieces(&data, &keys, 1, 200);
        let marker = marker_line(&keys, 1);
        let mut joined = Vec::new();
        for p in &pieces {
            assert!(p.len() <= 200 && p.starts_with(&marker));
            assert!(p.ends_with(b"\n"));
            joined.extend_from_slice(&p[marker.len()..]);
        }
        assert_eq!(joined, data);
    }

    #[test]
    fn failed_entry_len_is_the_serialised_size() {
        for id in ["", "49546986683135544286507457936321625675700192471156785154", "a\"b\\c\u{1}é"] {
            let entry = ResponseRecord {
                record_id: id.to_owned(),
                result: RecordResult::ProcessingFailed,
                data: None,
                metadata: None,
            };
            assert_eq!(failed_entry_len(id), serde_json::to_vec(&entry).unwrap().len() + 1, "{id:?}");
        }
    }

    #[test]
    fn ok_entry_len_is_the_serialised_size() {
        let keys = PartitionKeys { event_type: "Bounce", time: jiff::Timestamp::from_second(1_714_555_800).unwrap() };
        for id in ["", "49546986683135544286507457936321625675700192471156785154", "a\"b\\c\u{1}é"] {
            for data in ["", "QUJD"] {
                let entry = ResponseRecord {
                    record_id: id.to_owned(),
                    result: RecordResult::Ok,
                    data: Some(data.to_owned()),
                    metadata: Some(ResponseMetadata { partition_keys: keys.to_map() }),
                };
                let size = ok_entry_len(id, &keys.to_map()) + data.len();
                assert_eq!(size, serde_json::to_vec(&entry).unwrap().len(), "{id:?}");
            }
        }
    }

    #[test]
    fn reingest_target_reads_the_stream_name() {
        let mut e = FirehoseEvent {
            delivery_stream_arn: Some("arn:aws:firehose:ap-northeast-1:123456789012:deliverystream/ses-events".into()),
            ..FirehoseEvent::default()
        };
        assert_eq!(reingest_target(&e), Ok("ses-events".to_owned()));
        e.source_kinesis_stream_arn = Some("arn:aws:kinesis:x".into());
        assert!(reingest_target(&e).is_err());
    }
}
