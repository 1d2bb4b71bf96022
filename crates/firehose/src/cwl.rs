//! CloudWatch Logs subscription documents, one log event at a time.
//!
//! The envelope (`messageType`, `logGroup`, `logStream`) is read by a first pass that skips
//! `logEvents` without storing it; a second pass hands the events to a callback one by one, so
//! memory follows the largest single event, never the number of events (a 4 KB gzip record can
//! hold a million of them).

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::json::JsonBytes;

/// One log event, strings decoded (lone surrogates kept as WTF-8, see [`JsonBytes`]).
#[derive(Debug, Deserialize)]
pub(crate) struct LogEvent<'a> {
    #[serde(borrow, default)]
    pub id: JsonBytes<'a>,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(borrow, default)]
    pub message: JsonBytes<'a>,
}

/// Why a pass over the events stopped early.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The callback refused to go on (output or time bound), with its reason.
    Refused(String),
    /// The document is not what the first pass saw (cannot happen for the same bytes), or an
    /// event has the wrong shape.
    Invalid(String),
}

/// Calls `each` for every element of the document's `logEvents`, in order; returns how many.
pub(crate) fn for_each_log_event<'a>(
    doc: &'a [u8],
    mut each: impl FnMut(LogEvent<'a>) -> Result<(), String>,
) -> Result<usize, Stop> {
    let mut count = 0;
    let mut refused = None;
    let mut de = serde_json::Deserializer::from_slice(doc);
    let result = de
        .deserialize_map(Document { each: &mut each, count: &mut count, refused: &mut refused })
        .and_then(|()| de.end());
    match (result, refused) {
        (_, Some(reason)) => Err(Stop::Refused(reason)),
        (Ok(()), None) => Ok(count),
        (Err(e), None) => Err(Stop::Invalid(crate::transform::json_error_reason("invalid log event", &e))),
    }
}

struct Document<'s, F> {
    each: &'s mut F,
    count: &'s mut usize,
    refused: &'s mut Option<String>,
}

impl<'de, F: FnMut(LogEvent<'de>) -> Result<(), String>> Visitor<'de> for Document<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudWatch Logs subscription document")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let Document { each, count, refused } = self;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "logEvents" {
                map.next_value_seed(Events { each: &mut *each, count: &mut *count, refused: &mut *refused })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Events<'s, F> {
    each: &'s mut F,
    count: &'s mut usize,
    refused: &'s mut Option<String>,
}

impl<'de, F: FnMut(LogEvent<'de>) -> Result<(), String>> DeserializeSeed<'de> for Events<'_, F> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, F: FnMut(LogEvent<'de>) -> Result<(), String>> Visitor<'de> for Events<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of log events")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while let Some(event) = seq.next_element::<LogEvent<'de>>()? {
            *self.count += 1;
            if let Err(reason) = (self.each)(event) {
                *self.refused = Some(reason);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_one_by_one_whatever_the_key_order() {
        let doc = br#"{"logEvents":[{"id":"a","timestamp":1,"message":"x"},{"message":"y\ud800","id":"b","timestamp":2}],"messageType":"DATA_MESSAGE"}"#;
        let mut seen = Vec::new();
        let n = for_each_log_event(doc, |e| {
            seen.push((e.id.0.into_owned(), e.timestamp, e.message.0.into_owned()));
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(seen[0], (b"a".to_vec(), 1, b"x".to_vec()));
        assert_eq!(seen[1], (b"b".to_vec(), 2, b"y\xed\xa0\x80".to_vec()));
    }

    #[test]
    fn the_callback_can_stop_the_pass() {
        let doc = br#"{"logEvents":[{},{},{}]}"#;
        let mut calls = 0;
        let stop = for_each_log_event(doc, |_| {
            calls += 1;
            if calls == 2 { Err("enough".into()) } else { Ok(()) }
        });
        assert_eq!(stop, Err(Stop::Refused("enough".into())));
        assert_eq!(calls, 2);
        assert!(matches!(for_each_log_event(br#"{"logEvents":[1]}"#, |_| Ok(())), Err(Stop::Invalid(_))));
        assert_eq!(for_each_log_event(br#"{"logEvents":null}"#, |_| Ok(())), Ok(0));
    }
}
