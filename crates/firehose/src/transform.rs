//! One record in, one outcome out: kind detection, decoding and masking.

use std::borrow::Cow;
use std::io::Read as _;
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use jiff::Timestamp;
use jiff::tz::Offset;
use logmask_mask::{Counts, Masker, Role};
use serde::Serialize;

use crate::cwl::{Stop, for_each_log_event};
use crate::event::PartitionKeyMap;
use crate::json::{
    Plain, is_json, mask_json_text, mask_lines, plain_json_text, write_json_string, write_json_string_as,
};
use crate::probe::{CwlItem, Field, Probe, RawLogEvent, probe};
use crate::ses::SesFacts;

/// Decompressed CloudWatch Logs documents above this size fail instead of exhausting memory.
/// CloudWatch Logs sends at most 10,000 events and 1,048,576 bytes of messages per document
/// (`PutLogEvents` limits), so real documents stay far below.
pub const MAX_DECOMPRESSED: usize = 16 * 1024 * 1024;

/// The most masked output one record may produce. The inflate cap alone does not bound it: every
/// log event line repeats `logGroup` and `logStream`, so a 4 KB gzip record of a million empty
/// events would write 65 MB. Real records write a few MB at most (CloudWatch Logs sends at most
/// 10,000 events and ~1 MB of messages per document); a record that needs more is
/// `ProcessingFailed` (Firehose keeps its source in the error output) as soon as it passes this.
pub const MAX_RECORD_OUTPUT: usize = 8 * 1024 * 1024;

/// Longest `logGroup`, `logStream` or log event `id` accepted, in decoded bytes. CloudWatch Logs
/// allows 512 characters for names and writes ids of 56 digits; a document with longer ones was
/// not written by CloudWatch Logs and fails before its events are read.
pub const MAX_NAME_BYTES: usize = 4096;

/// Longest log event message accepted, in decoded bytes: twice CloudWatch Logs' own limit (1 MB
/// per event), so that masking one message never needs more memory than that.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// First bytes of a record this function re-ingested itself (ASCII record separator + tag).
pub(crate) const MARKER_PREFIX: &[u8] = b"\x1elogmask-reingest/1 ";

/// Every `eventType` partition value this function writes; a re-ingestion marker naming another is
/// not a marker.
pub(crate) const EVENT_TYPES: &[&str] = &[
    "Send",
    "Delivery",
    "Bounce",
    "Complaint",
    "Reject",
    "Open",
    "Click",
    "RenderingFailure",
    "DeliveryDelay",
    "Subscription",
    "Other",
    "CloudWatchLogs",
];

/// Per-record bounds, set by the handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// Output bytes the record may produce ([`MAX_RECORD_OUTPUT`] unless a test lowers it).
    pub max_output: usize,
    /// Past this instant, work on the record stops (the batch's time budget).
    pub stop_at: Option<Instant>,
}

impl Bounds {
    fn check_time(&self) -> Result<(), String> {
        match self.stop_at {
            Some(at) if Instant::now() >= at => Err(TIME_BUDGET_REASON.to_owned()),
            _ => Ok(()),
        }
    }
}

/// The reason given for records stopped by the batch's time budget.
pub(crate) const TIME_BUDGET_REASON: &str = "time budget of the invocation exhausted (Lambda deadline near)";

/// How a record was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// CloudWatch Logs subscription document, gzip-compressed.
    CloudWatchLogsGzip,
    /// CloudWatch Logs subscription document, already decompressed.
    CloudWatchLogsJson,
    /// SES event-publishing (or notification) JSON.
    SesEvent,
    /// Any other JSON document.
    Json,
    /// Any other UTF-8 text.
    Text,
    /// A piece this function re-ingested earlier: already masked.
    Reingested,
    /// Undecodable: empty, bad base64, corrupt gzip, not UTF-8, broken JSON.
    Invalid,
}

impl RecordKind {
    /// The name used in logs and the demo.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::CloudWatchLogsGzip => "cloudwatch-logs-gzip",
            RecordKind::CloudWatchLogsJson => "cloudwatch-logs-json",
            RecordKind::SesEvent => "ses-event",
            RecordKind::Json => "json",
            RecordKind::Text => "text",
            RecordKind::Reingested => "reingested",
            RecordKind::Invalid => "invalid",
        }
    }
}

/// Dynamic-partitioning keys: `eventType` and the UTC hour of the event's own time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKeys {
    /// `Send`, `Bounce`, …, `CloudWatchLogs`, `Other` (one of a fixed set).
    pub event_type: &'static str,
    /// UTC time the keys were taken from.
    pub time: Timestamp,
}

impl PartitionKeys {
    /// The `partitionKeys` object of the response entry.
    pub fn to_map(&self) -> PartitionKeyMap {
        PartitionKeyMap::new(self.event_type, self.time)
    }
}

/// What became of one record before the size budget is applied.
#[derive(Debug)]
pub(crate) enum Outcome {
    Ok { data: Vec<u8>, keys: PartitionKeys, hop: u8 },
    Dropped { reason: &'static str },
    Failed { reason: String },
}

#[derive(Debug)]
pub(crate) struct Transformed {
    pub kind: RecordKind,
    pub outcome: Outcome,
    pub counts: Counts,
    pub ses: Option<SesFacts>,
}

impl Transformed {
    fn failed(kind: RecordKind, reason: impl Into<String>) -> Transformed {
        Transformed { kind, outcome: Outcome::Failed { reason: reason.into() }, counts: Counts::default(), ses: None }
    }
}

/// Reusable buffers: one set per handler call.
#[derive(Default)]
pub(crate) struct Scratch {
    inflated: Vec<u8>,
    /// The output buffer of the last record, handed back once encoded ([`Scratch::recycle`]), so
    /// that a batch of small records does not allocate one per record.
    out: Vec<u8>,
}

impl Scratch {
    fn output(&mut self, capacity: usize) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        out.reserve(capacity);
        out
    }

    /// Takes back a record's output once it is no longer needed. A large one is not kept for the
    /// rest of the batch.
    pub(crate) fn recycle(&mut self, out: Vec<u8>) {
        if out.capacity() <= 1 << 20 && out.capacity() > self.out.capacity() {
            self.out = out;
        }
    }
}

pub(crate) fn transform(
    masker: &Masker,
    role: Role,
    bytes: &[u8],
    arrival_ms: Option<i64>,
    bounds: &Bounds,
    scratch: &mut Scratch,
) -> Transformed {
    let arrival = arrival_ms.and_then(|ms| Timestamp::from_millisecond(ms).ok()).unwrap_or(Timestamp::UNIX_EPOCH);
    if bytes.is_empty() {
        return Transformed::failed(RecordKind::Invalid, "empty record");
    }
    let result = if bytes.starts_with(&[0x1f, 0x8b]) {
        scratch.inflated.clear();
        if let Err(reason) = gunzip(bytes, &mut scratch.inflated) {
            return Transformed::failed(RecordKind::CloudWatchLogsGzip, reason);
        }
        let inflated = std::mem::take(&mut scratch.inflated);
        let result = match utf8_error_at(&inflated) {
            None => transform_json(masker, role, &inflated, arrival, true, bounds, scratch.output(0)),
            Some(at) => Transformed::failed(
                RecordKind::CloudWatchLogsGzip,
                format!("decompressed data is not UTF-8 (at byte {at})"),
            ),
        };
        scratch.inflated = inflated;
        // A large document's buffer is not kept for the rest of the batch.
        scratch.inflated.shrink_to(1 << 20);
        result
    } else if bytes.starts_with(MARKER_PREFIX)
        && let Some((keys, hop, body)) = parse_marker(bytes)
    {
        // The marker only says where the piece goes (within what any record could claim) and how
        // often it came back; the body takes the same masking path as any other text, so a forged
        // marker gains nothing. Re-masking already masked text changes nothing.
        let mut data = Vec::with_capacity(body.len());
        let counts = mask_lines(masker, role, body, &mut data);
        Transformed { kind: RecordKind::Reingested, outcome: Outcome::Ok { data, keys, hop }, counts, ses: None }
    } else if let Some(at) = utf8_error_at(bytes) {
        return Transformed::failed(RecordKind::Invalid, format!("not UTF-8 text (invalid byte at offset {at})"));
    } else {
        let start = bytes.trim_ascii_start().first().copied();
        if start == Some(b'{') {
            transform_json(masker, role, bytes, arrival, false, bounds, scratch.output(bytes.len() + 16))
        } else if matches!(start, Some(b'[' | b'"')) && is_json(bytes) {
            // Arrays and top-level strings are JSON too: their strings are decoded before masking.
            let mut data = Vec::with_capacity(bytes.len() + 16);
            let counts = mask_json_text(masker, role, bytes, &mut data);
            let keys = PartitionKeys { event_type: "Other", time: arrival };
            Transformed { kind: RecordKind::Json, outcome: Outcome::Ok { data, keys, hop: 0 }, counts, ses: None }
        } else {
            let mut data = Vec::with_capacity(bytes.len() + 16);
            let counts = mask_lines(masker, role, bytes, &mut data);
            let keys = PartitionKeys { event_type: "Other", time: arrival };
            Transformed { kind: RecordKind::Text, outcome: Outcome::Ok { data, keys, hop: 0 }, counts, ses: None }
        }
    };
    match &result.outcome {
        Outcome::Ok { data, .. } if data.len() > bounds.max_output => Transformed::failed(
            result.kind,
            format!("masked output is larger than {} bytes (the per-record bound)", bounds.max_output),
        ),
        _ => result,
    }
}

/// Where `bytes` stops being UTF-8, if it does. Every record is checked once, here; the SIMD check
/// is several times faster than std's on text with non-ASCII characters (Japanese log lines).
fn utf8_error_at(bytes: &[u8]) -> Option<usize> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(_) => None,
        // Only failing records pay for locating the error.
        Err(_) => Some(std::str::from_utf8(bytes).err().map_or(0, |e| e.valid_up_to())),
    }
}

fn gunzip(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut decoder = MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED as u64 + 1);
    match decoder.read_to_end(out) {
        Ok(_) if out.len() > MAX_DECOMPRESSED => {
            Err(format!("gzip data decompresses to more than {MAX_DECOMPRESSED} bytes"))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err("truncated gzip data".to_owned()),
        Err(_) => Err("corrupt gzip data".to_owned()),
    }
}

/// A one-line description of a JSON error that never quotes the input (serde_json's own messages
/// can contain the offending value).
pub(crate) fn json_error_reason(what: &str, e: &serde_json::Error) -> String {
    let class = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "unexpected end of data",
    };
    format!("{what}: {class} at line {} column {}", e.line(), e.column())
}

fn transform_json(
    masker: &Masker,
    role: Role,
    text: &[u8],
    arrival: Timestamp,
    gzipped: bool,
    bounds: &Bounds,
    out: Vec<u8>,
) -> Transformed {
    let cwl_kind = if gzipped { RecordKind::CloudWatchLogsGzip } else { RecordKind::CloudWatchLogsJson };
    let out = if gzipped {
        match cloudwatch_logs_one_pass(masker, role, text, arrival, bounds, out) {
            Ok(done) => return done,
            Err(mut out) => {
                out.clear();
                out
            }
        }
    } else {
        out
    };
    let probe = match probe(text) {
        Some(p) => p,
        // The scan checks the grammar as serde_json does; should the two ever disagree, serde_json's
        // word stands and the record is an ordinary JSON document.
        None if !gzipped && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok() => Probe::default(),
        // Several JSON documents, one per line: each line takes the JSON path.
        None if !gzipped && is_ndjson(text) => {
            let mut data = Vec::with_capacity(text.len() + 16);
            let counts = mask_lines(masker, role, text, &mut data);
            let keys = PartitionKeys { event_type: "Other", time: arrival };
            return Transformed {
                kind: RecordKind::Json,
                outcome: Outcome::Ok { data, keys, hop: 0 },
                counts,
                ses: None,
            };
        }
        None => {
            let kind = if gzipped { cwl_kind } else { RecordKind::Invalid };
            // The scan only says no; serde_json says where, without quoting the record.
            let reason = match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
                Err(e) => json_error_reason("invalid JSON", &e),
                Ok(_) => "invalid JSON".to_owned(),
            };
            return Transformed::failed(kind, reason);
        }
    };
    if probe.is_cloudwatch_logs() {
        if probe.cloudwatch_logs_well_formed() {
            return transform_cloudwatch_logs(masker, role, &probe, text, cwl_kind, arrival, bounds, out);
        }
        if gzipped {
            return Transformed::failed(
                cwl_kind,
                "CloudWatch Logs envelope with a field of the wrong type or written twice",
            );
        }
        // Not written by CloudWatch Logs: an ordinary JSON document.
    }
    if gzipped {
        return Transformed::failed(cwl_kind, "gzip record is not a CloudWatch Logs subscription document");
    }
    let mut data = out;
    data.reserve(text.len() + 16);
    let counts = if probe.escaped {
        mask_json_text(masker, role, text, &mut data)
    } else {
        // What `mask_json_text` does when no string holds an escape, without looking for them again.
        masker.mask_into(role, text, &mut data)
    };
    if probe.is_ses() && !probe.is_cloudwatch_logs() {
        let facts = probe.ses_facts();
        let time = probe.ses_timestamp().as_deref().and_then(parse_time).filter(plausible).unwrap_or(arrival);
        let keys = PartitionKeys { event_type: facts.event.partition_name(), time };
        // SES follows each record with a newline; keep exactly one so S3 objects stay NDJSON.
        ensure_trailing_newline(&mut data);
        return Transformed {
            kind: RecordKind::SesEvent,
            outcome: Outcome::Ok { data, keys, hop: 0 },
            counts,
            ses: Some(facts),
        };
    }
    let keys = PartitionKeys { event_type: "Other", time: arrival };
    Transformed { kind: RecordKind::Json, outcome: Outcome::Ok { data, keys, hop: 0 }, counts, ses: None }
}

fn is_ndjson(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty()).all(is_json)
}

/// Partition keys name a year between 2000 and 2099: an event time outside (`0001-01-01`, a
/// timestamp of 0) is not trusted and the arrival time is used, so no record can create
/// partitions far outside the data's real range.
fn plausible(time: &Timestamp) -> bool {
    (2000..2100).contains(&Offset::UTC.to_datetime(*time).year())
}

fn ensure_trailing_newline(data: &mut Vec<u8>) {
    while data.last().is_some_and(|b| b.is_ascii_whitespace()) {
        data.pop();
    }
    data.push(b'\n');
}

/// A gzip CloudWatch Logs document in the shape CloudWatch Logs writes, read and written in one
/// pass ([`crate::probe::cloudwatch_logs_one_pass`]) instead of a validating scan and then the
/// events. `Err` hands `out` back for the two-pass path: any other document, a control message,
/// or a document the two-pass path refuses (it words the reason).
fn cloudwatch_logs_one_pass(
    masker: &Masker,
    role: Role,
    doc: &[u8],
    arrival: Timestamp,
    bounds: &Bounds,
    out: Vec<u8>,
) -> Result<Transformed, Vec<u8>> {
    let mut out = Some(out);
    let mut lines: Option<Lines<'_>> = None;
    let mut refused = None;
    let done = crate::probe::cloudwatch_logs_one_pass(doc, |item| match item {
        CwlItem::Envelope { message_type, log_group, log_stream } => {
            if message_type.text().as_deref() != Some("DATA_MESSAGE") {
                return Err(String::new());
            }
            let (group, stream) = (log_group.bytes(), log_stream.bytes());
            if group.len() > MAX_NAME_BYTES || stream.len() > MAX_NAME_BYTES {
                return Err(String::new());
            }
            let out = out.take().unwrap_or_default();
            lines = Some(Lines::new(masker, role, bounds, &group, &stream, doc, out));
            Ok(())
        }
        CwlItem::Event(event) => {
            let lines = lines.as_mut().ok_or_else(String::new)?;
            lines.push_raw(event).inspect_err(|reason| refused = Some(reason.clone()))
        }
    });
    match (done, lines) {
        (Some(_), Some(lines)) => Ok(lines.finish(RecordKind::CloudWatchLogsGzip, arrival)),
        // A bound (output, name or message length, time) refused an event: the record fails as on
        // the two-pass path, without doing the work again (a hostile record is refused at its
        // bound once). Only the reason can differ, for a document that is also invalid further on.
        (None, Some(_)) if let Some(reason) = refused => {
            Ok(Transformed::failed(RecordKind::CloudWatchLogsGzip, reason))
        }
        (_, Some(lines)) => Err(lines.data),
        (_, None) => Err(out.unwrap_or_default()),
    }
}

#[allow(clippy::too_many_arguments)]
fn transform_cloudwatch_logs(
    masker: &Masker,
    role: Role,
    probe: &Probe<'_>,
    doc: &[u8],
    kind: RecordKind,
    arrival: Timestamp,
    bounds: &Bounds,
    out: Vec<u8>,
) -> Transformed {
    match probe.message_type.text().as_deref() {
        Some("DATA_MESSAGE") => {}
        Some("CONTROL_MESSAGE") => {
            return Transformed {
                kind,
                outcome: Outcome::Dropped { reason: "control message" },
                counts: Counts::default(),
                ses: None,
            };
        }
        _ => return Transformed::failed(kind, "unknown CloudWatch Logs messageType"),
    }
    fn name<'a>(field: &Field<'a>) -> Cow<'a, [u8]> {
        match field {
            Field::Str(s) => s.bytes(),
            _ => Cow::Borrowed(&b""[..]),
        }
    }
    let (group, stream) = (name(&probe.log_group), name(&probe.log_stream));
    let (group, stream) = (&*group, &*stream);
    for (name, value) in [("logGroup", group), ("logStream", stream)] {
        if value.len() > MAX_NAME_BYTES {
            return Transformed::failed(kind, format!("{name} is longer than {MAX_NAME_BYTES} bytes"));
        }
    }
    let mut lines = Lines::new(masker, role, bounds, group, stream, doc, out);
    let counts = lines.counts;
    let mut refused = None;
    let fast = crate::probe::log_events(doc, &mut refused, |event| lines.push_raw(event));
    let pass = match (fast, refused) {
        (_, Some(reason)) => Err(reason),
        (Some(_), None) => Ok(()),
        // Events of a shape CloudWatch Logs does not write: serde_json reads them (or says why not).
        (None, None) => {
            lines.data.clear();
            lines.counts = counts;
            lines.first_timestamp = None;
            match for_each_log_event(doc, |event| lines.push(&event.id.0, event.timestamp, None, &event.message.0)) {
                Ok(_) => Ok(()),
                Err(Stop::Refused(reason) | Stop::Invalid(reason)) => Err(reason),
            }
        }
    };
    if let Err(reason) = pass {
        return Transformed::failed(kind, reason);
    }
    lines.finish(kind, arrival)
}

/// An RFC 3339 time with its offset (`2024-05-01T09:30:00.000Z`, `…+09:00`), as SES writes them.
/// The output of a CloudWatch Logs document: one JSON line per log event.
struct Lines<'m> {
    masker: &'m Masker,
    role: Role,
    bounds: &'m Bounds,
    /// `{"logGroup":…,"logStream":…,"id":` with group and stream masked.
    prefix: Vec<u8>,
    masked: Vec<u8>,
    /// Decoded `id` and `message` of an event whose strings hold escapes.
    id_buf: Vec<u8>,
    message_buf: Vec<u8>,
    /// An event's id and message as two lines, before and after masking.
    joined: Vec<u8>,
    masked_lines: Vec<u8>,
    data: Vec<u8>,
    counts: Counts,
    first_timestamp: Option<i64>,
}

impl<'m> Lines<'m> {
    /// Lines for a document of `group` and `stream` (decoded, within [`MAX_NAME_BYTES`]), written
    /// into `out`.
    fn new(
        masker: &'m Masker,
        role: Role,
        bounds: &'m Bounds,
        group: &[u8],
        stream: &[u8],
        doc: &[u8],
        mut out: Vec<u8>,
    ) -> Lines<'m> {
        let mut counts = Counts::default();
        // Every line is {"logGroup":…,"logStream":…,"id":…,"timestamp":…,"message":…}; the group
        // and stream are the same for the whole document, so they are masked and encoded once.
        let mut prefix = Vec::with_capacity(group.len() + stream.len() + 48);
        let mut masked = Vec::with_capacity(4096);
        prefix.extend_from_slice(b"{\"logGroup\":");
        counts += masker.mask_into(role, group, &mut masked);
        write_json_string(&mut prefix, &masked);
        prefix.extend_from_slice(b",\"logStream\":");
        masked.clear();
        counts += masker.mask_into(role, stream, &mut masked);
        write_json_string(&mut prefix, &masked);
        prefix.extend_from_slice(b",\"id\":");
        out.reserve(doc.len().min(bounds.max_output) + 1024);
        Lines {
            masker,
            role,
            bounds,
            prefix,
            masked,
            id_buf: Vec::new(),
            message_buf: Vec::new(),
            joined: Vec::new(),
            masked_lines: Vec::new(),
            data: out,
            counts,
            first_timestamp: None,
        }
    }

    fn finish(self, kind: RecordKind, arrival: Timestamp) -> Transformed {
        let Lines { data, counts, first_timestamp, .. } = self;
        let Some(first) = first_timestamp else {
            return Transformed {
                kind,
                outcome: Outcome::Dropped { reason: "no log events" },
                counts: Counts::default(),
                ses: None,
            };
        };
        let time = Timestamp::from_millisecond(first).ok().filter(plausible).unwrap_or(arrival);
        let keys = PartitionKeys { event_type: "CloudWatchLogs", time };
        Transformed { kind, outcome: Outcome::Ok { data, keys, hop: 0 }, counts, ses: None }
    }

    /// [`Lines::push`] for an event as it stands in the document: strings with escapes are
    /// decoded into buffers kept for the whole document, the others are used where they stand.
    fn push_raw(&mut self, event: RawLogEvent<'_>) -> Result<(), String> {
        let (mut id_buf, mut message_buf) = (std::mem::take(&mut self.id_buf), std::mem::take(&mut self.message_buf));
        let id = event.id.map_or(&b""[..], |s| s.bytes_in(&mut id_buf));
        let message = event.message.map_or(&b""[..], |s| s.bytes_in(&mut message_buf));
        // A JSON integer is written as serde_json writes its value, except `-0`.
        let text = Some(event.timestamp_text).filter(|t| !t.is_empty() && *t != b"-0");
        let pushed = self.push(id, event.timestamp, text, message);
        (self.id_buf, self.message_buf) = (id_buf, message_buf);
        pushed
    }

    /// Appends the line of one event; `timestamp_text`, when given, is how `timestamp` is written.
    fn push(&mut self, id: &[u8], timestamp: i64, timestamp_text: Option<&[u8]>, message: &[u8]) -> Result<(), String> {
        if id.len() > MAX_NAME_BYTES {
            return Err(format!("a log event id is longer than {MAX_NAME_BYTES} bytes"));
        }
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(format!("a log event message is longer than {MAX_MESSAGE_BYTES} bytes"));
        }
        self.first_timestamp.get_or_insert(timestamp);
        self.data.extend_from_slice(&self.prefix);
        // The id is only digits when CloudWatch Logs writes it, but anyone who can put records
        // into the stream can write anything there, and readers see it. Id and message go
        // through the masker in one call, as two lines: no finding spans a line break and every
        // verdict reads only its own line (`Masker::cut_point`), so the first line break of the
        // output ends the masked id, and a call costs as much as masking a short message.
        if memchr::memchr(b'\n', id).is_none() {
            let joined = &mut self.joined;
            joined.clear();
            joined.extend_from_slice(id);
            joined.push(b'\n');
            joined.extend_from_slice(message);
            let mut masked = std::mem::take(&mut self.masked_lines);
            masked.clear();
            self.counts += self.masker.mask_into(self.role, joined, &mut masked);
            let cut = memchr::memchr(b'\n', &masked).unwrap_or(masked.len());
            self.write_string(&masked[..cut], false);
            self.data.extend_from_slice(b",\"timestamp\":");
            self.write_timestamp(timestamp, timestamp_text);
            self.data.extend_from_slice(b",\"message\":");
            self.write_string(masked.get(cut + 1..).unwrap_or_default(), true);
            self.masked_lines = masked;
        } else {
            self.write_masked(id, false);
            self.data.extend_from_slice(b",\"timestamp\":");
            self.write_timestamp(timestamp, timestamp_text);
            self.data.extend_from_slice(b",\"message\":");
            self.write_masked(message, true);
        }
        self.data.extend_from_slice(b"}\n");
        if self.data.len() > self.bounds.max_output {
            return Err(format!(
                "masked output is larger than {} bytes (the per-record bound) after {} log events",
                self.bounds.max_output,
                self.data.iter().filter(|&&b| b == b'\n').count()
            ));
        }
        self.bounds.check_time()
    }

    fn write_timestamp(&mut self, timestamp: i64, text: Option<&[u8]>) {
        match text {
            Some(text) => self.data.extend_from_slice(text),
            None => push_integer(&mut self.data, timestamp),
        }
    }

    /// Appends `text` masked, as a JSON string (without the line breaks that end a message when
    /// `trim_line_end`). The masker writes straight into the output and one pass checks what it
    /// wrote: when that needs no escape (most log text), it is the JSON string's content as it
    /// stands; otherwise it is taken back out and encoded.
    fn write_masked(&mut self, text: &[u8], trim_line_end: bool) {
        let data = &mut self.data;
        data.push(b'"');
        let start = data.len();
        self.counts += self.masker.mask_into(self.role, text, data);
        // Plain text ends in neither `\n` nor `\r` (control characters are not plain).
        let plain = plain_json_text(&data[start..]);
        if plain == Plain::Yes {
            data.push(b'"');
            return;
        }
        let masked = &mut self.masked;
        masked.clear();
        masked.extend_from_slice(&data[start..]);
        data.truncate(start - 1);
        write_trimmed(data, masked, trim_line_end, plain);
    }

    /// Appends already masked `text` as a JSON string, as [`Lines::write_masked`] does.
    fn write_string(&mut self, text: &[u8], trim_line_end: bool) {
        let plain = plain_json_text(text);
        if plain == Plain::Yes {
            self.data.reserve(text.len() + 2);
            self.data.push(b'"');
            self.data.extend_from_slice(text);
            self.data.push(b'"');
        } else {
            write_trimmed(&mut self.data, text, trim_line_end, plain);
        }
    }
}

/// `text` (classified `plain`) as a JSON string, without the line breaks that end it when
/// `trim_line_end`.
fn write_trimmed(out: &mut Vec<u8>, text: &[u8], trim_line_end: bool, plain: Plain) {
    let mut end = text.len();
    while trim_line_end && end > 0 && matches!(text[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    // Cutting line breaks off leaves UTF-8 text UTF-8 and invalid text invalid.
    write_json_string_as(out, &text[..end], plain);
}

/// Appends `value` in decimal, as serde_json writes an integer.
fn push_integer(out: &mut Vec<u8>, value: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        // `rest % 10` is below ten.
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

fn parse_time(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok()
}

/// The marker line of a re-ingested piece: hop count and the original partition keys, so the
/// piece lands where its source record would have.
pub(crate) fn marker_line(keys: &PartitionKeys, hop: u8) -> Vec<u8> {
    let mut line = MARKER_PREFIX.to_vec();
    line.extend_from_slice(
        format!("hop={hop} eventType={} ts={}\n", keys.event_type, keys.time.as_second()).as_bytes(),
    );
    line
}

fn parse_marker(bytes: &[u8]) -> Option<(PartitionKeys, u8, &[u8])> {
    let rest = &bytes[MARKER_PREFIX.len()..];
    let end = rest.iter().take(160).position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&rest[..end]).ok()?;
    let (mut hop, mut event_type, mut ts) = (None, None, None);
    for field in line.split(' ') {
        match field.split_once('=')? {
            ("hop", v) => hop = v.parse::<u8>().ok(),
            // Only values a record of our own could have produced: a marker written by anyone else
            // can at most claim what an SES event or a log document could claim anyway.
            ("eventType", v) => event_type = Some(*EVENT_TYPES.iter().find(|&&t| t == v)?),
            ("ts", v) => ts = v.parse::<i64>().ok().and_then(|s| Timestamp::from_second(s).ok()).filter(plausible),
            _ => return None,
        }
    }
    Some((PartitionKeys { event_type: event_type?, time: ts? }, hop?, &rest[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips_and_rejects_garbage() {
        let keys = PartitionKeys { event_type: "Bounce", time: Timestamp::from_second(1_500_000_000).unwrap() };
        let mut piece = marker_line(&keys, 2);
        piece.extend_from_slice(b"body\n");
        let (parsed, hop, body) = parse_marker(&piece).unwrap();
        assert_eq!((parsed, hop, body), (keys, 2, &b"body\n"[..]));
        assert!(parse_marker(b"\x1elogmask-reingest/1 hop=1 eventType=a/b ts=1\nx").is_none());
        assert!(parse_marker(b"\x1elogmask-reingest/1 hop=1 eventType=A\nx").is_none());
    }

    #[test]
    fn forged_markers_cannot_set_partition_keys_nor_skip_json_decoding() {
        // Issue 14: anyone who can put a record into the stream could write a marker line.
        assert!(parse_marker(b"\x1elogmask-reingest/1 hop=0 eventType=Injected ts=1714555800\nx").is_none());
        assert!(parse_marker(b"\x1elogmask-reingest/1 hop=0 eventType=Bounce ts=-62135596800\nx").is_none());
        assert!(parse_marker(b"\x1elogmask-reingest/1 hop=0 eventType=Bounce ts=0\nx").is_none());

        let masker = Masker::new();
        let bounds = Bounds { max_output: MAX_RECORD_OUTPUT, stop_at: None };
        let forged = b"\x1elogmask-reingest/1 hop=0 eventType=Bounce ts=1714555800\n{\"to\":\"bob\\u0040example\\u002ecom\"}\n[\"10\\u002e1\\u002e2\\u002e3\"]\n";
        let t = transform(&masker, Role::Readonly, forged, Some(1_714_555_805_000), &bounds, &mut Scratch::default());
        let Outcome::Ok { data, .. } = t.outcome else { panic!("{:?}", t.outcome) };
        let text = String::from_utf8(data).unwrap();
        assert_eq!(text, "{\"to\":\"<email>\"}\n[\"<ipv4>\"]\n");
    }

    #[test]
    fn implausible_event_times_fall_back_to_the_arrival_time() {
        let masker = Masker::new();
        let bounds = Bounds { max_output: MAX_RECORD_OUTPUT, stop_at: None };
        let ses = br#"{"eventType":"Send","mail":{"timestamp":"0001-01-01T00:00:00Z","source":"a@example.com"}}"#;
        let t = transform(&masker, Role::Readonly, ses, Some(1_714_555_805_000), &bounds, &mut Scratch::default());
        let Outcome::Ok { keys, .. } = t.outcome else { panic!() };
        assert_eq!(&keys.to_map()["year"], "2024");
    }

    #[test]
    fn the_one_pass_over_a_gzip_document_agrees_with_the_two_pass_path() {
        // The same document as plain JSON takes the two-pass path (probe, then the events).
        fn gzip(doc: &str) -> Vec<u8> {
            use std::io::Write as _;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(doc.as_bytes()).unwrap();
            e.finish().unwrap()
        }
        let masker = Masker::new();
        let bounds = Bounds { max_output: MAX_RECORD_OUTPUT, stop_at: None };
        let event = r#"{"id":"1","timestamp":1714555801000,"message":"to bob@example.com from 10.1.2.3\n"}"#;
        let docs = [
            format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{event},{event}]}}"#
            ),
            format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":"g\u0040x","logStream":"a@b.example","logEvents":[{event}]}}"#),
            format!(r#" {{ "messageType" : "DATA_MESSAGE" , "logGroup":"g","logStream":"s","logEvents":[ {event} ] }} "#),
            r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[]}"#.to_owned(),
            format!(r#"{{"logEvents":[{event}],"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s"}}"#),
            format!(r#"{{"messageType":"CONTROL_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{event}]}}"#),
            format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{event}],"logGroup":"h"}}"#),
            format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{event}],"x":[1,}}"#),
            format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{event}]}} x"#),
            format!(r#"{{"messageType":"DATA_\ud800","logGroup":"g","logStream":"s","logEvents":[{event}]}}"#),
            format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":null,"logStream":"s","logEvents":[{event}]}}"#),
            format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":"{}","logStream":"s","logEvents":[{event}]}}"#, "g".repeat(5000)),
            r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1.5,"message":"m"}]}"#.to_owned(),
            r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"m","message":"n"}]}"#.to_owned(),
            r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"\ud800 \u0040"}]}"#.to_owned(),
            r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":null}"#.to_owned(),
        ];
        for doc in &docs {
            let at = Some(1_714_555_805_000);
            let one = transform(&masker, Role::Readonly, &gzip(doc), at, &bounds, &mut Scratch::default());
            let two = transform(&masker, Role::Readonly, doc.as_bytes(), at, &bounds, &mut Scratch::default());
            assert_eq!(one.kind, RecordKind::CloudWatchLogsGzip, "{doc}");
            match (&one.outcome, &two.outcome) {
                (Outcome::Ok { data: a, keys: k, .. }, Outcome::Ok { data: b, keys: l, .. }) => {
                    assert_eq!((String::from_utf8_lossy(a), k), (String::from_utf8_lossy(b), l), "{doc}");
                    assert_eq!(one.counts, two.counts, "{doc}");
                }
                (Outcome::Dropped { reason: a }, Outcome::Dropped { reason: b }) => assert_eq!(a, b, "{doc}"),
                (Outcome::Failed { reason: a }, Outcome::Failed { reason: b }) => assert_eq!(a, b, "{doc}"),
                // Not a CloudWatch Logs document as plain JSON (an ordinary JSON record, or
                // invalid): as gzip it fails.
                (Outcome::Failed { .. }, _) if two.kind != RecordKind::CloudWatchLogsJson => {}
                (a, b) => panic!("{doc}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn json_error_reason_never_quotes_input() {
        let err = serde_json::from_str::<Vec<u8>>(r#"["secret@example.com"]"#).unwrap_err();
        let reason = json_error_reason("invalid JSON", &err);
        assert!(!reason.contains("secret"), "{reason}");
        assert!(reason.contains("line 1"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::json::JsonBytes;
    use proptest::prelude::*;

    fn gzip(doc: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(doc).unwrap();
        e.finish().unwrap()
    }

    /// The lines as they were written before the one-call masking and the in-place checks:
    /// group, stream, id and message each masked on their own, decoded by serde_json, encoded by
    /// the byte-by-byte encoder, the timestamp by serde_json. `None` when serde_json does not
    /// read the document's events.
    fn reference(masker: &Masker, role: Role, doc: &[u8]) -> Option<(Vec<u8>, Counts)> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Envelope<'a> {
            #[serde(borrow)]
            log_group: JsonBytes<'a>,
            #[serde(borrow)]
            log_stream: JsonBytes<'a>,
        }
        fn string(out: &mut Vec<u8>, text: &[u8]) {
            out.push(b'"');
            crate::json::write_escaped(out, text);
            out.push(b'"');
        }
        let envelope: Envelope<'_> = serde_json::from_slice(doc).ok()?;
        let mut counts = Counts::default();
        let mut prefix = b"{\"logGroup\":".to_vec();
        let mut masked = Vec::new();
        counts += masker.mask_into(role, &envelope.log_group.0, &mut masked);
        string(&mut prefix, &masked);
        prefix.extend_from_slice(b",\"logStream\":");
        masked.clear();
        counts += masker.mask_into(role, &envelope.log_stream.0, &mut masked);
        string(&mut prefix, &masked);
        prefix.extend_from_slice(b",\"id\":");
        let mut out = Vec::new();
        for_each_log_event(doc, |event| {
            out.extend_from_slice(&prefix);
            masked.clear();
            counts += masker.mask_into(role, &event.id.0, &mut masked);
            string(&mut out, &masked);
            out.extend_from_slice(b",\"timestamp\":");
            out.extend_from_slice(serde_json::to_string(&event.timestamp).unwrap().as_bytes());
            out.extend_from_slice(b",\"message\":");
            masked.clear();
            counts += masker.mask_into(role, &event.message.0, &mut masked);
            let end = masked.len() - masked.iter().rev().take_while(|b| matches!(b, b'\n' | b'\r')).count();
            string(&mut out, &masked[..end]);
            out.extend_from_slice(b"}\n");
            Ok(())
        })
        .ok()?;
        Some((out, counts))
    }

    /// JSON string contents: addresses (some hidden behind escapes), escapes of every kind, lone
    /// and paired surrogates, non-ASCII text, line breaks inside and at the end.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-z0-9 =:/.-]{0,16}",
            Just("bob@example.com".to_owned()),
            Just("carol\\u0040example.com".to_owned()),
            Just("192.0.2.10".to_owned()),
            Just("10\\u002e1.2.3".to_owned()),
            Just("2001:db8::1".to_owned()),
            Just("\\\"".to_owned()),
            Just("\\\\".to_owned()),
            Just("\\/".to_owned()),
            Just("\\n".to_owned()),
            Just("\\r\\n".to_owned()),
            Just("\\t\\u0001".to_owned()),
            Just("\\ud800".to_owned()),
            Just("\\udc00 x".to_owned()),
            Just("\\ud83d\\ude00".to_owned()),
            Just("é 日本語 ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ".to_owned()),
            Just("太郎@example.jp".to_owned()),
        ];
        proptest::collection::vec(piece, 0..8).prop_map(|p| p.concat())
    }

    prop_compose! {
        fn event()(id in prop_oneof![Just("37540214617325127358126590472133271428375049234536150001".to_owned()), text()],
                   timestamp in prop_oneof![Just("1714555800000".to_owned()), Just("-0".to_owned()), Just("0".to_owned()),
                                            Just("-42".to_owned()), Just("9223372036854775807".to_owned())],
                   message in text(), order in 0usize..3) -> String {
            let (id, ts, m) = (format!(r#""id":"{id}""#), format!(r#""timestamp":{timestamp}"#), format!(r#""message":"{message}""#));
            match order {
                0 => format!("{{{id},{ts},{m}}}"),
                1 => format!("{{{m},{id},{ts}}}"),
                _ => format!("{{ {ts} , {m} , {id} , \"extra\" : [1] }}"),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

        /// Every line the handler writes for a log document is byte for byte the line of the
        /// string-by-string writer, with the same counts: gzip (one pass when the envelope comes
        /// first, two passes otherwise) and plain, in every view.
        #[test]
        fn lines_are_written_as_the_string_by_string_writer_did(
            group in text(), stream in text(), events in proptest::collection::vec(event(), 1..5),
            envelope_last in any::<bool>(), role in 0usize..3,
        ) {
            let role = [Role::Readonly, Role::Operator, Role::Admin][role];
            let envelope = format!(r#""messageType":"DATA_MESSAGE","logGroup":"{group}","logStream":"{stream}""#);
            let events = format!(r#""logEvents":[{}]"#, events.join(","));
            let doc = if envelope_last { format!("{{{events},{envelope}}}") } else { format!("{{{envelope},{events}}}") };
            prop_assume!(serde_json::from_str::<serde::de::IgnoredAny>(&doc).is_ok());
            let masker = Masker::new();
            let Some((want, counts)) = reference(&masker, role, doc.as_bytes()) else { return Ok(()) };
            let bounds = Bounds { max_output: MAX_RECORD_OUTPUT, stop_at: None };
            for record in [gzip(doc.as_bytes()), doc.clone().into_bytes()] {
                let t = transform(&masker, role, &record, Some(1_714_555_805_000), &bounds, &mut Scratch::default());
                let Outcome::Ok { data, .. } = t.outcome else { panic!("{doc}: {:?}", t.outcome) };
                prop_assert_eq!(String::from_utf8_lossy(&data), String::from_utf8_lossy(&want), "{}", doc);
                prop_assert_eq!(&data, &want);
                prop_assert_eq!(t.counts, counts);
            }
        }
    }
}
