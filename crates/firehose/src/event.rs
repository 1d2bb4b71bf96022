//! The Firehose ⇄ Lambda wire format: the invocation event and the response, with exact size accounting.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;

// SIMD base64 (AVX2/SSE4.1/NEON detected at run time): decoding and encoding are a large share
// of a batch's work. Its STANDARD engine accepts exactly what the `base64` crate's does: padded,
// no stray trailing bits (property test below).
use base64_simd::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// The Lambda's synchronous response limit. Going over fails the whole invocation
/// (`Function.ResponseSizeTooLarge`), so the handler keeps the serialised response below it.
pub const RESPONSE_LIMIT: usize = 6_291_456;

/// What the handler allows itself by default: the limit minus ~290 KB headroom, as the AWS
/// blueprint does. The handler counts the envelope, commas and every entry exactly on top.
pub const DEFAULT_RESPONSE_BUDGET: usize = 6_000_000;

/// The transformation event Firehose sends.
///
/// Wire-compatible with `aws_lambda_events::event::firehose::KinesisFirehoseEvent`, but the record
/// `data` stays base64 text until its record is processed: a record with broken base64 then fails
/// alone instead of failing the deserialisation of the whole batch, and only one record is decoded
/// at a time. `kinesisRecordMetadata` is ignored (its `subsequenceNumber` is sometimes `""`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent {
    /// Firehose's id of this invocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// `arn:aws:firehose:<region>:<account>:deliverystream/<name>`: the re-ingestion target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_stream_arn: Option<String>,
    /// Present when the delivery stream reads from a Kinesis data stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_kinesis_stream_arn: Option<String>,
    /// The delivery stream's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The batch, in the order the response must keep.
    #[serde(default)]
    pub records: Vec<FirehoseRecord>,
}

/// One input record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord {
    /// Echoed back exactly once in the response.
    #[serde(default)]
    pub record_id: String,
    /// Epoch milliseconds (a number on the wire; some documentation samples show a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_arrival_timestamp: Option<Millis>,
    /// Base64 of the record's bytes.
    #[serde(default)]
    pub data: String,
}

/// Epoch milliseconds as Firehose writes them, or as documentation samples do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Millis {
    /// `1510254469499`
    Number(i64),
    /// `"1510254469499"`
    Text(String),
}

impl Millis {
    /// The value, when it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Millis::Number(n) => Some(*n),
            Millis::Text(s) => s.trim().parse().ok(),
        }
    }
}

impl FirehoseRecord {
    /// A record carrying `bytes`, for tests, the CLI and the demo.
    pub fn new(record_id: impl Into<String>, arrival_ms: i64, bytes: &[u8]) -> FirehoseRecord {
        FirehoseRecord {
            record_id: record_id.into(),
            approximate_arrival_timestamp: Some(Millis::Number(arrival_ms)),
            data: BASE64.encode_to_string(bytes),
        }
    }
}

/// The transformation response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct FirehoseResponse {
    /// One entry per input record, same ids, same order.
    pub records: Vec<ResponseRecord>,
}

/// The status model's three results, serialised as exactly `Ok`, `Dropped` and `ProcessingFailed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum RecordResult {
    /// Transformed; `data` is delivered.
    Ok,
    /// Consumed on purpose (a control message, or re-ingested in pieces): nothing is delivered.
    Dropped,
    /// Firehose writes the *source* record to the error output prefix.
    ProcessingFailed,
}

impl RecordResult {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecordResult::Ok => "Ok",
            RecordResult::Dropped => "Dropped",
            RecordResult::ProcessingFailed => "ProcessingFailed",
        }
    }
}

/// One response entry. `data` and `metadata` are only written for `Ok` records, as the blueprints do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRecord {
    /// The input record's id.
    pub record_id: String,
    /// What happened to it.
    pub result: RecordResult,
    /// Base64 of the transformed bytes (`Ok` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Dynamic-partitioning keys (`Ok` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ResponseMetadata>,
}

impl ResponseRecord {
    /// The decoded `data`, if any and valid.
    pub fn decoded_data(&self) -> Option<Vec<u8>> {
        self.data.as_deref().and_then(|d| BASE64.decode_to_vec(d).ok())
    }
}

/// `metadata` of an `Ok` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseMetadata {
    /// Referenced in the S3 prefix as `!{partitionKeyFromLambda:eventType}` and so on.
    pub partition_keys: PartitionKeyMap,
}

/// The `partitionKeys` object of an `Ok` entry: `eventType` and the UTC `year`, `month`, `day` and
/// `hour` of the record's own time.
///
/// Serialised exactly as a `BTreeMap<String, String>` of those five keys was (keys in byte order:
/// `day`, `eventType`, `hour`, `month`, `year`), but built without allocating: every `Ok` record
/// has one, and eleven allocations per record were a fifth of the handler's time on SES events.
/// Reads like a map: `keys["eventType"]`, [`PartitionKeyMap::get`], [`PartitionKeyMap::iter`].
#[derive(Clone, PartialEq, Eq)]
pub struct PartitionKeyMap {
    event_type: Cow<'static, str>,
    year: Inline,
    month: Inline,
    day: Inline,
    hour: Inline,
}

/// The key names, in the order they are serialised.
pub const PARTITION_KEY_NAMES: [&str; 5] = ["day", "eventType", "hour", "month", "year"];

impl PartitionKeyMap {
    /// The keys of a record of `event_type` whose time is `time` (UTC).
    pub fn new(event_type: &'static str, time: jiff::Timestamp) -> PartitionKeyMap {
        let t = jiff::tz::Offset::UTC.to_datetime(time);
        PartitionKeyMap {
            event_type: Cow::Borrowed(event_type),
            year: Inline::format(format_args!("{:04}", t.year())),
            month: Inline::format(format_args!("{:02}", t.month())),
            day: Inline::format(format_args!("{:02}", t.day())),
            hour: Inline::format(format_args!("{:02}", t.hour())),
        }
    }

    /// The value of `key`, if it is one of the five.
    pub fn get(&self, key: &str) -> Option<&str> {
        Some(match key {
            "day" => self.day.as_str(),
            "eventType" => &self.event_type,
            "hour" => self.hour.as_str(),
            "month" => self.month.as_str(),
            "year" => self.year.as_str(),
            _ => return None,
        })
    }

    /// `(key, value)` pairs in serialisation order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        PARTITION_KEY_NAMES.into_iter().map(|k| (k, self.get(k).unwrap_or_default()))
    }

    /// The keys as an ordinary map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }
}

impl std::ops::Index<&str> for PartitionKeyMap {
    type Output = str;

    /// Panics when `key` is not a partition key, as a map's index does.
    fn index(&self, key: &str) -> &str {
        self.get(key).unwrap_or_else(|| panic!("no partition key {key:?}"))
    }
}

impl std::fmt::Debug for PartitionKeyMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for PartitionKeyMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(PARTITION_KEY_NAMES.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for PartitionKeyMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PartitionKeyMap, D::Error> {
        use serde::de::Error as _;
        let mut map = BTreeMap::<String, String>::deserialize(deserializer)?;
        if map.len() != PARTITION_KEY_NAMES.len() {
            return Err(D::Error::custom(format_args!(
                "partitionKeys must have exactly the keys {PARTITION_KEY_NAMES:?}"
            )));
        }
        let mut take =
            |key: &str| map.remove(key).ok_or_else(|| D::Error::custom(format_args!("partitionKeys has no {key:?}")));
        let event_type = Cow::Owned(take("eventType")?);
        let mut short = |key: &str| {
            let value = take(key)?;
            Inline::new(&value).ok_or_else(|| D::Error::custom(format_args!("partitionKeys {key:?} is too long")))
        };
        Ok(PartitionKeyMap {
            year: short("year")?,
            month: short("month")?,
            day: short("day")?,
            hour: short("hour")?,
            event_type,
        })
    }
}

/// A short string stored in place (the date parts of the partition keys).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Inline {
    len: u8,
    bytes: [u8; Inline::CAPACITY],
}

impl Inline {
    const CAPACITY: usize = 15;

    fn new(s: &str) -> Option<Inline> {
        let mut inline = Inline { len: 0, bytes: [0; Inline::CAPACITY] };
        std::fmt::Write::write_str(&mut inline, s).ok()?;
        Some(inline)
    }

    /// Formats into place; a jiff date part always fits (at most `-9999`).
    fn format(args: std::fmt::Arguments<'_>) -> Inline {
        let mut inline = Inline { len: 0, bytes: [0; Inline::CAPACITY] };
        let _ = std::fmt::Write::write_fmt(&mut inline, args);
        inline
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever written in (`write_str` refuses what does not fit).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Write for Inline {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let at = usize::from(self.len);
        let end = at + s.len();
        if end > Inline::CAPACITY {
            return Err(std::fmt::Error);
        }
        self.bytes[at..end].copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

/// Counts bytes written through it; used to size response entries without building them.
pub(crate) struct ByteCounter(pub usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serialised size of `value` in bytes.
pub(crate) fn json_len<T: Serialize>(value: &T) -> usize {
    let mut counter = ByteCounter(0);
    // Serialising plain structs into a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Length of the standard, padded base64 of `n` bytes.
pub(crate) const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode_to_string(bytes)
}

/// Decodes `text` into `out` (appended), so one buffer serves a whole batch.
pub(crate) fn decode_base64(text: &str, out: &mut Vec<u8>) -> Result<(), base64_simd::Error> {
    BASE64.decode_append(text, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    fn base64ish() -> impl Strategy<Value = String> {
        prop_oneof![
            // Encodings of random bytes, then possibly damaged.
            (proptest::collection::vec(any::<u8>(), 0..40), 0usize..64, "[A-Za-z0-9+/=\n -]").prop_map(
                |(bytes, at, c)| {
                    let mut text = base64::engine::general_purpose::STANDARD.encode(bytes);
                    if at < text.len() {
                        text.replace_range(at..=at, &c);
                    }
                    text
                }
            ),
            "[A-Za-z0-9+/=]{0,12}",
        ]
    }

    /// The map the keys were before: the wire format must not change.
    fn old_map(event_type: &str, time: jiff::Timestamp) -> BTreeMap<String, String> {
        let time = jiff::tz::Offset::UTC.to_datetime(time);
        BTreeMap::from([
            ("eventType".to_owned(), event_type.to_owned()),
            ("year".to_owned(), format!("{:04}", time.year())),
            ("month".to_owned(), format!("{:02}", time.month())),
            ("day".to_owned(), format!("{:02}", time.day())),
            ("hour".to_owned(), format!("{:02}", time.hour())),
        ])
    }

    #[test]
    fn partition_keys_serialise_as_the_map_did_and_read_back() {
        let times = [
            jiff::Timestamp::UNIX_EPOCH,
            jiff::Timestamp::from_second(1_714_555_800).unwrap(),
            jiff::Timestamp::MIN,
            jiff::Timestamp::MAX,
            jiff::Timestamp::from_second(-62_135_596_800).unwrap(), // year 1
        ];
        for time in times {
            for event_type in ["Bounce", "CloudWatchLogs", "Other"] {
                let keys = PartitionKeyMap::new(event_type, time);
                let old = old_map(event_type, time);
                assert_eq!(serde_json::to_string(&keys).unwrap(), serde_json::to_string(&old).unwrap());
                assert_eq!(keys.to_map(), old);
                assert_eq!(keys.iter().count(), 5);
                for (k, v) in &old {
                    assert_eq!(&keys[k.as_str()], v);
                }
                let back: PartitionKeyMap = serde_json::from_str(&serde_json::to_string(&keys).unwrap()).unwrap();
                assert_eq!(back, keys);
            }
        }
        assert_eq!(PartitionKeyMap::new("Send", jiff::Timestamp::MIN).get("year"), Some("-9999"));
        assert!(PartitionKeyMap::new("Send", jiff::Timestamp::MIN).get("minute").is_none());
        for wrong in [
            r#"{"day":"01","eventType":"Send","hour":"09","month":"05"}"#,
            r#"{"day":"01","eventType":"Send","hour":"09","month":"05","year":"2024","x":"1"}"#,
            r#"{"day":"01","eventType":"Send","hour":"09","month":"05","minute":"2024"}"#,
            r#"{"day":"0123456789abcdef","eventType":"Send","hour":"09","month":"05","year":"2024"}"#,
        ] {
            assert!(serde_json::from_str::<PartitionKeyMap>(wrong).is_err(), "{wrong}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// A record is `ProcessingFailed` for bad base64: the SIMD decoder must refuse exactly what
        /// the `base64` crate's STANDARD engine refuses (padding, trailing bits) and agree on the rest.
        #[test]
        fn simd_base64_agrees_with_the_base64_crate(text in base64ish()) {
            let reference = base64::engine::general_purpose::STANDARD.decode(&text).ok();
            let mut out = b"kept".to_vec();
            let simd = decode_base64(&text, &mut out).ok().map(|()| out[4..].to_vec());
            prop_assert_eq!(&simd, &reference, "{:?}", text);
            if let Some(bytes) = reference {
                prop_assert_eq!(encode_base64(&bytes), base64::engine::general_purpose::STANDARD.encode(&bytes));
            }
        }
    }
}
