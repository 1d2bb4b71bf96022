//! One record in, one outcome out: kind detection, decoding and masking.

use std::collections::BTreeMap;
use std::io::Read as _;

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use flate2::read::MultiGzDecoder;
use logmask_mask::{Counts, Masker, Role};
use serde::Serialize;

use crate::ses::{Probe, SesFacts};

/// Decompressed CloudWatch Logs documents above this size fail instead of exhausting memory.
/// CloudWatch Logs batches are at most ~1 MB of events, so real documents stay far below.
pub const MAX_DECOMPRESSED: usize = 16 * 1024 * 1024;

/// First bytes of a record this function re-ingested itself (ASCII record separator + tag).
pub(crate) const MARKER_PREFIX: &[u8] = b"\x1elogmask-reingest/1 ";

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

/// Dynamic-partitioning keys: `eventType` and the UTC hour of the event's own timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKeys {
    /// `Send`, `Bounce`, …, `CloudWatchLogs`, `Other`.
    pub event_type: String,
    /// UTC time the keys were taken from.
    pub time: DateTime<Utc>,
}

impl PartitionKeys {
    /// The `partitionKeys` map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("eventType".to_owned(), self.event_type.clone()),
            ("year".to_owned(), format!("{:04}", self.time.year())),
            ("month".to_owned(), format!("{:02}", self.time.month())),
            ("day".to_owned(), format!("{:02}", self.time.day())),
            ("hour".to_owned(), format!("{:02}", self.time.hour())),
        ])
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
}

pub(crate) fn transform(
    masker: &Masker,
    role: Role,
    bytes: &[u8],
    arrival_ms: Option<i64>,
    scratch: &mut Scratch,
) -> Transformed {
    let arrival = arrival_ms.and_then(DateTime::<Utc>::from_timestamp_millis).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    if bytes.is_empty() {
        return Transformed::failed(RecordKind::Invalid, "empty record");
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        scratch.inflated.clear();
        if let Err(reason) = gunzip(bytes, &mut scratch.inflated) {
            return Transformed::failed(RecordKind::CloudWatchLogsGzip, reason);
        }
        let inflated = std::mem::take(&mut scratch.inflated);
        let result = match std::str::from_utf8(&inflated) {
            Ok(_) => transform_json(masker, role, &inflated, arrival, true),
            Err(e) => Transformed::failed(
                RecordKind::CloudWatchLogsGzip,
                format!("decompressed data is not UTF-8 (at byte {})", e.valid_up_to()),
            ),
        };
        scratch.inflated = inflated;
        return result;
    }
    if bytes.starts_with(MARKER_PREFIX)
        && let Some((keys, hop, body)) = parse_marker(bytes)
    {
        let mut data = Vec::with_capacity(body.len());
        // Re-masking already masked text changes nothing, and a forged marker gains nothing.
        let counts = masker.mask_into(role, body, &mut data);
        return Transformed {
            kind: RecordKind::Reingested,
            outcome: Outcome::Ok { data, keys, hop },
            counts,
            ses: None,
        };
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        return Transformed::failed(
            RecordKind::Invalid,
            format!("not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
        );
    }
    if bytes.trim_ascii_start().starts_with(b"{") {
        return transform_json(masker, role, bytes, arrival, false);
    }
    let mut data = Vec::with_capacity(bytes.len() + 16);
    let counts = masker.mask_into(role, bytes, &mut data);
    let keys = PartitionKeys { event_type: "Other".to_owned(), time: arrival };
    Transformed { kind: RecordKind::Text, outcome: Outcome::Ok { data, keys, hop: 0 }, counts, ses: None }
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

fn transform_json(masker: &Masker, role: Role, text: &[u8], arrival: DateTime<Utc>, gzipped: bool) -> Transformed {
    let cwl_kind = if gzipped { RecordKind::CloudWatchLogsGzip } else { RecordKind::CloudWatchLogsJson };
    let probe: Probe = match serde_json::from_slice(text) {
        Ok(p) => p,
        // Valid JSON of another shape (say `"mail": "x"`): masked as a JSON document.
        Err(e) if e.is_data() && !gzipped && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok() => {
            Probe::default()
        }
        Err(e) => {
            let kind = if gzipped { cwl_kind } else { RecordKind::Invalid };
            return Transformed::failed(kind, json_error_reason("invalid JSON", &e));
        }
    };
    if probe.is_cloudwatch_logs() {
        return transform_cloudwatch_logs(masker, role, &probe, cwl_kind);
    }
    if gzipped {
        return Transformed::failed(cwl_kind, "gzip record is not a CloudWatch Logs subscription document");
    }
    let mut data = Vec::with_capacity(text.len() + 16);
    let counts = mask_json_text(masker, role, text, &mut data);
    if probe.is_ses() {
        let facts = probe.ses_facts();
        let time = probe.ses_timestamp().and_then(parse_time).unwrap_or(arrival);
        let keys = PartitionKeys { event_type: facts.event.partition_name().to_owned(), time };
        // SES follows each record with a newline; keep exactly one so S3 objects stay NDJSON.
        ensure_trailing_newline(&mut data);
        return Transformed {
            kind: RecordKind::SesEvent,
            outcome: Outcome::Ok { data, keys, hop: 0 },
            counts,
            ses: Some(facts),
        };
    }
    let keys = PartitionKeys { event_type: "Other".to_owned(), time: arrival };
    Transformed { kind: RecordKind::Json, outcome: Outcome::Ok { data, keys, hop: 0 }, counts, ses: None }
}

fn ensure_trailing_newline(data: &mut Vec<u8>) {
    while data.last().is_some_and(|b| b.is_ascii_whitespace()) {
        data.pop();
    }
    data.push(b'\n');
}

/// Masks every string of a JSON document (keys and unknown fields included), keeping field order
/// and formatting. Strings without escapes are masked where they stand: the text between two
/// strings that hold escapes goes through the masker in one call (a quote is never part of an
/// address, so no finding crosses a string's edge, and numbers, `true` and punctuation hold
/// nothing). A string with escapes is decoded, masked as text and re-encoded when something was
/// found, so escapes cannot hide an address (`\u0040`, JSON text nested in a string) and the output
/// is valid JSON by construction. `text` must be valid JSON.
pub(crate) fn mask_json_text(masker: &Masker, role: Role, text: &[u8], out: &mut Vec<u8>) -> Counts {
    let mut counts = Counts::default();
    let mut masked = Vec::new();
    let mut unmasked_from = 0;
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'"', &text[i..]) {
        let open = i + offset;
        let Some((close, has_escape)) = string_end(text, open) else {
            break; // an unterminated string: nothing after it is JSON
        };
        i = close + 1;
        if !has_escape {
            continue;
        }
        counts += masker.mask_into(role, &text[unmasked_from..open], out);
        unmasked_from = i;
        let token = &text[open..=close];
        let Ok(decoded) = serde_json::from_slice::<String>(token) else {
            // Valid JSON that serde_json will not decode (a lone surrogate escape): the masker
            // reads escapes itself.
            counts += masker.mask_into(role, token, out);
            continue;
        };
        masked.clear();
        counts += masker.mask_into(role, decoded.as_bytes(), &mut masked);
        if masked == decoded.as_bytes() {
            // Nothing changed (the admin view, or no finding): the token keeps its escapes.
            out.extend_from_slice(token);
        } else {
            write_json_string(out, &masked);
        }
    }
    counts += masker.mask_into(role, &text[unmasked_from..], out);
    counts
}

/// The closing quote of the JSON string opening at `open`, and whether the string holds a
/// backslash escape.
fn string_end(text: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut at = open + 1;
    let mut has_escape = false;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', text.get(at..)?)?;
        if text[found] == b'"' {
            return Some((found, has_escape));
        }
        has_escape = true;
        at = found + 2;
    }
}

/// Appends `text` as a JSON string. Most text needs no escape: it is checked in one vectorisable
/// pass and copied; the rest goes through serde_json. Invalid UTF-8 becomes U+FFFD.
fn write_json_string(out: &mut Vec<u8>, text: &[u8]) {
    let needs_escape =
        text.chunks(64).any(|chunk| chunk.iter().fold(false, |acc, &b| acc | (b < 0x20) | (b == b'"') | (b == b'\\')));
    match std::str::from_utf8(text) {
        Ok(_) if !needs_escape => {
            out.reserve(text.len() + 2);
            out.push(b'"');
            out.extend_from_slice(text);
            out.push(b'"');
        }
        // Serialising a string into a Vec cannot fail.
        Ok(valid) => {
            let _ = serde_json::to_writer(&mut *out, valid);
        }
        Err(_) => {
            let _ = serde_json::to_writer(&mut *out, String::from_utf8_lossy(text).as_ref());
        }
    }
}

fn transform_cloudwatch_logs(masker: &Masker, role: Role, probe: &Probe<'_>, kind: RecordKind) -> Transformed {
    match probe.message_type.as_deref() {
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
    let events = probe.log_events.as_deref().unwrap_or_default();
    let Some(first) = events.first() else {
        return Transformed {
            kind,
            outcome: Outcome::Dropped { reason: "no log events" },
            counts: Counts::default(),
            ses: None,
        };
    };
    let mut counts = Counts::default();
    let (log_group, c) = masker.mask_str(role, probe.log_group.as_deref().unwrap_or(""));
    counts += c;
    let (log_stream, c) = masker.mask_str(role, probe.log_stream.as_deref().unwrap_or(""));
    counts += c;
    let total: usize = events.iter().map(|e| e.message.len() + 64).sum();
    let mut data = Vec::with_capacity(total + events.len() * (log_group.len() + log_stream.len()));
    let mut masked = Vec::with_capacity(4096);
    // Every line is {"logGroup":…,"logStream":…,"id":…,"timestamp":…,"message":…}; the group and
    // stream are the same for the whole document, so they are encoded once.
    let mut prefix = Vec::with_capacity(log_group.len() + log_stream.len() + 48);
    prefix.extend_from_slice(b"{\"logGroup\":");
    write_json_string(&mut prefix, log_group.as_bytes());
    prefix.extend_from_slice(b",\"logStream\":");
    write_json_string(&mut prefix, log_stream.as_bytes());
    prefix.extend_from_slice(b",\"id\":");
    for event in events {
        masked.clear();
        counts += masker.mask_into(role, event.message.as_bytes(), &mut masked);
        let mut end = masked.len();
        while end > 0 && matches!(masked[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        data.extend_from_slice(&prefix);
        write_json_string(&mut data, event.id.as_bytes());
        data.extend_from_slice(b",\"timestamp\":");
        // Serialising an integer into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut data, &event.timestamp);
        data.extend_from_slice(b",\"message\":");
        write_json_string(&mut data, &masked[..end]);
        data.extend_from_slice(b"}\n");
    }
    let time = DateTime::<Utc>::from_timestamp_millis(first.timestamp).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let keys = PartitionKeys { event_type: "CloudWatchLogs".to_owned(), time };
    Transformed { kind, outcome: Outcome::Ok { data, keys, hop: 0 }, counts, ses: None }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The marker line of a re-ingested piece: hop count and the original partition keys, so the
/// piece lands where its source record would have.
pub(crate) fn marker_line(keys: &PartitionKeys, hop: u8) -> Vec<u8> {
    let mut line = MARKER_PREFIX.to_vec();
    line.extend_from_slice(
        format!("hop={hop} eventType={} ts={}\n", keys.event_type, keys.time.timestamp()).as_bytes(),
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
            ("eventType", v)
                if !v.is_empty()
                    && v.len() <= 64
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                event_type = Some(v.to_owned())
            }
            ("ts", v) => ts = v.parse::<i64>().ok().and_then(|s| DateTime::<Utc>::from_timestamp(s, 0)),
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
        let keys =
            PartitionKeys { event_type: "Bounce".into(), time: DateTime::from_timestamp(1_500_000_000, 0).unwrap() };
        let mut piece = marker_line(&keys, 2);
        piece.extend_from_slice(b"body\n");
        let (parsed, hop, body) = parse_marker(&piece).unwrap();
        assert_eq!((parsed, hop, body), (keys, 2, &b"body\n"[..]));
        assert!(parse_marker(b"\x1elogmask-reingest/1 hop=1 eventType=a/b ts=1\nx").is_none());
        assert!(parse_marker(b"\x1elogmask-reingest/1 hop=1 eventType=A\nx").is_none());
    }

    #[test]
    fn json_text_is_masked_in_runs_and_escaped_strings_decoded() {
        let masker = Masker::new();
        let doc = concat!(
            r#"{"a@example.com":"x 192.0.2.1","q":"\"Bob\" <bob@example.com>","b":"\\","#,
            r#""n":1.5,"s":"\ud800 carol@example.com","t":"dave\u0040example.com"}"#
        );
        let mut out = Vec::new();
        let counts = mask_json_text(&masker, Role::Readonly, doc.as_bytes(), &mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            concat!(
                r#"{"<email>":"x <ipv4>","q":"\"Bob\" <<email>>","b":"\\","#,
                r#""n":1.5,"s":"\ud800 <email>","t":"<email>"}"#
            )
        );
        assert_eq!((counts.emails, counts.ipv4), (4, 1));
        let mut admin = Vec::new();
        mask_json_text(&masker, Role::Admin, doc.as_bytes(), &mut admin);
        assert_eq!(admin, doc.as_bytes());
    }

    #[test]
    fn json_strings_are_escaped_only_when_needed() {
        let mut out = Vec::new();
        write_json_string(&mut out, "plain テキスト".as_bytes());
        write_json_string(&mut out, b"q\"b\\c\n\x01");
        write_json_string(&mut out, b"bad \xff");
        assert_eq!(String::from_utf8(out).unwrap(), "\"plain テキスト\"\"q\\\"b\\\\c\\n\\u0001\"\"bad \u{fffd}\"");
    }

    #[test]
    fn json_error_reason_never_quotes_input() {
        let err = serde_json::from_str::<Vec<u8>>(r#"["secret@example.com"]"#).unwrap_err();
        let reason = json_error_reason("invalid JSON", &err);
        assert!(!reason.contains("secret"), "{reason}");
        assert!(reason.contains("line 1"));
    }
}
