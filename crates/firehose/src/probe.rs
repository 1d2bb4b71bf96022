//! One validating pass over a JSON record that keeps only what the partition keys, the metrics and
//! the record-kind decision read, borrowing it from the record.
//!
//! Why not serde: deriving a struct for these fields made serde_json parse every byte of every SES
//! event a second time (masking already reads them all), refuse the whole record over one field it
//! could not read as text (a lone surrogate escape such as `\ud800`, a tag key with one, a field of
//! an unexpected type) — so such an SES event lost its metrics — and decode strings it would then
//! throw away. This pass checks the whole record against the JSON grammar as serde_json does
//! (strings, escapes, numbers, literals, nothing after the value) without building anything, and
//! hands back the few fields as raw tokens, decoded only when read.
//!
//! Rules for the fields read (issue 14: a broken field is counted as unknown, the rest of the record
//! still counts):
//! * A field holding `null` is absent. A string field holding another type is [`Field::Broken`];
//!   an object (`mail`, `bounce`, `mail.tags`, …) holding another type is absent.
//! * A field written twice keeps its first value; repeated CloudWatch Logs envelope fields are
//!   reported ([`Probe::cloudwatch_logs_well_formed`]) because CloudWatch Logs never writes them.
//! * Keys are compared after decoding their escapes, as serde_json does.

use std::borrow::Cow;

/// A JSON string as it stands in the record, quotes included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawStr<'a> {
    token: &'a [u8],
    escaped: bool,
}

impl<'a> RawStr<'a> {
    /// The decoded bytes: lone surrogates as WTF-8 (see [`crate::json::JsonBytes`]).
    pub fn bytes(&self) -> Cow<'a, [u8]> {
        let inner = self.inner();
        if !self.escaped {
            return Cow::Borrowed(inner);
        }
        let mut out = Vec::with_capacity(inner.len());
        crate::json::decode_checked(inner, &mut out);
        Cow::Owned(out)
    }

    /// [`RawStr::bytes`], decoded into `buf` (cleared first) when the string holds an escape, so
    /// one buffer serves every string of a document.
    pub fn bytes_in<'s>(&self, buf: &'s mut Vec<u8>) -> &'s [u8]
    where
        'a: 's,
    {
        if !self.escaped {
            return self.inner();
        }
        buf.clear();
        crate::json::decode_checked(self.inner(), buf);
        buf
    }

    /// The string as it stands between its quotes; it passed the grammar check, so when it holds
    /// no escape it is its own decoded text.
    pub fn inner(&self) -> &'a [u8] {
        &self.token[1..self.token.len() - 1]
    }

    /// The decoded text, or `None` when it holds a lone surrogate (no UTF-8 string can).
    pub fn text(&self) -> Option<Cow<'a, str>> {
        match self.bytes() {
            // The record was checked to be UTF-8 before it was scanned.
            Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Cow::Borrowed),
            Cow::Owned(b) => String::from_utf8(b).ok().map(Cow::Owned),
        }
    }
}

/// A string field of the record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    /// Not there, or `null`.
    #[default]
    Absent,
    /// A string.
    Str(RawStr<'a>),
    /// There, but not a string.
    Broken,
}

impl<'a> Field<'a> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// The text, when the field is a string without lone surrogates.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        match self {
            Field::Str(s) => s.text(),
            _ => None,
        }
    }

    fn keep_first(&mut self, value: Field<'a>) {
        if self.is_absent() {
            *self = value;
        }
    }
}

/// `mail`.
#[derive(Debug, Default)]
pub(crate) struct Mail<'a> {
    pub timestamp: Field<'a>,
    pub source: Field<'a>,
    /// `mail.tags["ses:configuration-set"][0]`; an empty list is absent, anything else broken.
    pub configuration_set: Field<'a>,
}

/// An event's detail object (`bounce`, `delivery`, …).
#[derive(Debug, Default)]
pub(crate) struct Detail<'a> {
    pub timestamp: Field<'a>,
    pub bounce_type: Field<'a>,
    pub bounce_sub_type: Field<'a>,
}

/// The detail objects, in the order their timestamps are preferred.
pub(crate) const DETAILS: [&[u8]; 7] =
    [b"bounce", b"complaint", b"delivery", b"open", b"click", b"deliveryDelay", b"subscription"];

/// What one pass read from a record: SES fields and CloudWatch Logs fields side by side, so one
/// pass tells which kind of record it is.
#[derive(Debug, Default)]
pub(crate) struct Probe<'a> {
    pub event_type: Field<'a>,
    pub notification_type: Field<'a>,
    pub mail: Option<Mail<'a>>,
    /// Indexed like [`DETAILS`].
    pub details: [Option<Detail<'a>>; 7],

    // CloudWatch Logs subscription envelope.
    pub message_type: Field<'a>,
    pub log_group: Field<'a>,
    pub log_stream: Field<'a>,
    /// `logEvents` is there and not `null`; the events are streamed by a second pass
    /// ([`crate::cwl::for_each_log_event`]) so that a record's events are never all held at once.
    pub log_events: bool,
    /// An envelope field was written twice.
    pub repeated_envelope: bool,
    /// Some string of the record (key or value) holds a backslash escape. Without one, the
    /// record's strings can be masked where they stand, in one pass over the whole record.
    pub escaped: bool,
}

impl Probe<'_> {
    pub fn is_cloudwatch_logs(&self) -> bool {
        !self.message_type.is_absent() && (self.log_events || !self.log_group.is_absent())
    }

    /// The envelope as CloudWatch Logs writes it: a `messageType` string, `logGroup` and
    /// `logStream` strings when present, no field twice.
    pub fn cloudwatch_logs_well_formed(&self) -> bool {
        self.message_type.text().is_some()
            && !matches!(self.log_group, Field::Broken)
            && !matches!(self.log_stream, Field::Broken)
            && !self.repeated_envelope
    }

    pub fn is_ses(&self) -> bool {
        self.mail.is_some() && !(self.event_type.is_absent() && self.notification_type.is_absent())
    }
}

/// Scans `text` (valid UTF-8) as one JSON document. `None` when it is not JSON.
pub(crate) fn probe(text: &[u8]) -> Option<Probe<'_>> {
    let mut scan = Scanner { s: text, i: 0, stack: Vec::new(), escaped: false };
    let mut probe = Probe::default();
    scan.ws();
    if scan.peek()? == b'{' {
        scan.object(|scan, key| scan.top_member(&key.bytes(), &mut probe))?;
    } else {
        scan.skip_value()?;
    }
    scan.ws();
    probe.escaped = scan.escaped;
    (scan.i == text.len()).then_some(probe)
}

/// One CloudWatch Logs log event as it stands in the document.
#[derive(Debug, Default)]
pub(crate) struct RawLogEvent<'a> {
    pub id: Option<RawStr<'a>>,
    pub timestamp: i64,
    /// `timestamp` as it stands in the document (empty when absent).
    pub timestamp_text: &'a [u8],
    pub message: Option<RawStr<'a>>,
}

/// Calls `each` for every element of the `logEvents` of `doc` (a document [`probe`] accepted), in
/// order, without building anything: the fast path of [`crate::cwl::for_each_log_event`].
///
/// `None` when the events are not in the shape CloudWatch Logs writes — not a list of objects, a
/// field twice, an `id` or `message` that is not a string, a `timestamp` that is not an integer
/// of 64 bits — or when `each` refused (its reason is then in `refused`); the serde pass decides
/// those cases (and what `each` already did is discarded by the caller).
pub(crate) fn log_events<'a>(
    doc: &'a [u8],
    refused: &mut Option<String>,
    mut each: impl FnMut(RawLogEvent<'a>) -> Result<(), String>,
) -> Option<usize> {
    let mut scan = Scanner { s: doc, i: 0, stack: Vec::new(), escaped: false };
    let mut count = 0;
    scan.ws();
    if scan.peek()? != b'{' {
        return None;
    }
    scan.object(|scan, key| {
        if *key.bytes() != *b"logEvents" {
            return scan.skip_value();
        }
        if scan.peek()? == b'n' {
            return scan.literal(b"null");
        }
        if scan.peek()? != b'[' {
            return None;
        }
        scan.log_event_list(&mut count, &mut |event| {
            each(event).map_err(|reason| {
                *refused = Some(reason);
            })
        })
    })?;
    Some(count)
}

/// What [`cloudwatch_logs_one_pass`] hands over, in document order.
pub(crate) enum CwlItem<'a> {
    /// `messageType`, `logGroup` and `logStream`, once, before the first event.
    Envelope { message_type: RawStr<'a>, log_group: RawStr<'a>, log_stream: RawStr<'a> },
    /// One element of `logEvents`.
    Event(RawLogEvent<'a>),
}

/// [`probe`] and [`log_events`] in one validating pass, for documents in the shape CloudWatch Logs
/// writes: `messageType`, `logGroup` and `logStream` strings, each once, all before `logEvents`.
/// `each` gets the envelope before the first event, then every event.
///
/// `None` for every other document (another order, a field twice or `null`, invalid JSON, events
/// of another shape) and whenever `each` refuses: the caller then discards what `each` built and
/// takes the two-pass path, which decides those cases and words their reasons. So this pass only
/// has to be right on the documents it accepts (the probe's test compares the two).
pub(crate) fn cloudwatch_logs_one_pass<'a>(
    doc: &'a [u8],
    mut each: impl FnMut(CwlItem<'a>) -> Result<(), String>,
) -> Option<usize> {
    let mut scan = Scanner { s: doc, i: 0, stack: Vec::new(), escaped: false };
    let (mut message_type, mut log_group, mut log_stream) = (None, None, None);
    let mut events_seen = false;
    let mut count = 0;
    scan.ws();
    if scan.peek()? != b'{' {
        return None;
    }
    scan.object(|scan, key| {
        let slot = match &*key.bytes() {
            b"messageType" => &mut message_type,
            b"logGroup" => &mut log_group,
            b"logStream" => &mut log_stream,
            b"logEvents" => {
                if events_seen || scan.peek()? != b'[' {
                    return None;
                }
                events_seen = true;
                each(CwlItem::Envelope { message_type: message_type?, log_group: log_group?, log_stream: log_stream? })
                    .ok()?;
                return scan.log_event_list(&mut count, &mut |event| each(CwlItem::Event(event)));
            }
            _ => return scan.skip_value(),
        };
        if slot.is_some() || events_seen || scan.peek()? != b'"' {
            return None;
        }
        *slot = Some(scan.string()?);
        Some(())
    })?;
    scan.ws();
    (events_seen && scan.i == doc.len()).then_some(count)
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
    /// Closing brackets of the containers [`Scanner::skip_value`] is inside.
    stack: Vec<u8>,
    /// A string seen so far held an escape.
    escaped: bool,
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
pub(crate) const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// High bit set in the first byte of `word` (little-endian order) that is `"`, `\` or a control
/// character, and possibly in later bytes; zero when none is.
#[inline]
pub(crate) fn string_stop(word: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    zero(word ^ (ONES * u64::from(b'"')))
        | zero(word ^ (ONES * u64::from(b'\\')))
        | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS)
}

/// The first byte at or after `from` that is `"`, `\` or a control character: where a JSON string
/// stops or needs an escape. Sixteen bytes per step while there are that many.
#[inline]
pub(crate) fn find_string_stop(s: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = s.get(i..i + 16) {
        let (a, b) = chunk.split_at(8);
        let a = string_stop(u64::from_le_bytes(a.try_into().ok()?));
        let b = string_stop(u64::from_le_bytes(b.try_into().ok()?));
        if a != 0 {
            return Some(i + (a.trailing_zeros() / 8) as usize);
        }
        if b != 0 {
            return Some(i + 8 + (b.trailing_zeros() / 8) as usize);
        }
        i += 16;
    }
    if let Some(chunk) = s.get(i..i + 8) {
        let a = string_stop(u64::from_le_bytes(chunk.try_into().ok()?));
        if a != 0 {
            return Some(i + (a.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s.get(i..)?.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\').map(|at| i + at)
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// The `logEvents` list at `self.i` (its `[`), each element handed to `each` as it is read;
    /// `None` for elements of another shape than CloudWatch Logs writes, or when `each` refuses.
    fn log_event_list<E>(
        &mut self,
        count: &mut usize,
        each: &mut impl FnMut(RawLogEvent<'a>) -> Result<(), E>,
    ) -> Option<()> {
        self.array(|scan| {
            if scan.peek()? != b'{' {
                return None;
            }
            let mut event = RawLogEvent::default();
            let mut seen = 0u8;
            scan.object(|scan, key| {
                let bit = match &*key.bytes() {
                    b"id" => 1,
                    b"timestamp" => 2,
                    b"message" => 4,
                    _ => return scan.skip_value(),
                };
                if seen & bit != 0 || (bit != 2 && scan.peek()? != b'"') {
                    return None;
                }
                seen |= bit;
                match bit {
                    1 => event.id = Some(scan.string()?),
                    2 => {
                        let start = scan.i;
                        event.timestamp = scan.integer()?;
                        event.timestamp_text = &scan.s[start..scan.i];
                    }
                    _ => event.message = Some(scan.string()?),
                }
                Some(())
            })?;
            *count += 1;
            each(event).ok()
        })
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    /// The string whose opening quote is at `self.i`.
    fn string(&mut self) -> Option<RawStr<'a>> {
        let s = self.s;
        let start = self.i;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            i = find_string_stop(s, i)?;
            match s[i] {
                b'"' => {
                    self.i = i + 1;
                    self.escaped |= escaped;
                    return Some(RawStr { token: &s[start..=i], escaped });
                }
                b'\\' => {
                    escaped = true;
                    i += match *s.get(i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                        b'u' if s.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => 6,
                        _ => return None,
                    };
                }
                0..0x20 => return None,
                _ => i += 1,
            }
        }
    }

    fn number(&mut self) -> Option<()> {
        let s = self.s;
        let digits = |mut i: usize| {
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = self.i + usize::from(s.get(self.i) == Some(&b'-'));
        i = match *s.get(i)? {
            b'0' => i + 1,
            b'1'..=b'9' => digits(i + 1),
            _ => return None,
        };
        if s.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return None;
            }
            i = end;
        }
        if let Some(b'e' | b'E') = s.get(i) {
            i += 1;
            i += usize::from(matches!(s.get(i), Some(b'+' | b'-')));
            let end = digits(i);
            if end == i {
                return None;
            }
            i = end;
        }
        self.i = i;
        Some(())
    }

    /// A number without fraction or exponent that fits an `i64`, as serde_json reads one, read
    /// as it is checked (timestamps: one per log event). `None` for any other number.
    fn integer(&mut self) -> Option<i64> {
        let s = self.s;
        let negative = s.get(self.i) == Some(&b'-');
        let mut i = self.i + usize::from(negative);
        // Accumulated towards the sign so that i64::MIN reads.
        let mut value = 0i64;
        match *s.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                while let Some(&d @ b'0'..=b'9') = s.get(i) {
                    let d = i64::from(d - b'0');
                    value = value.checked_mul(10)?;
                    value = if negative { value.checked_sub(d)? } else { value.checked_add(d)? };
                    i += 1;
                }
            }
            _ => return None,
        }
        if matches!(s.get(i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.i = i;
        Some(value)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.s.get(self.i..self.i + word.len())? != word {
            return None;
        }
        self.i += word.len();
        Some(())
    }

    /// `"key":` at `self.i`, the colon consumed.
    fn key(&mut self) -> Option<RawStr<'a>> {
        if self.peek()? != b'"' {
            return None;
        }
        let key = self.string()?;
        self.ws();
        if self.peek()? != b':' {
            return None;
        }
        self.i += 1;
        self.ws();
        Some(key)
    }

    /// Skips the value at `self.i` (after whitespace), checking it. Containers are tracked on a
    /// stack, not by recursion: nesting depth is the record's to choose.
    fn skip_value(&mut self) -> Option<()> {
        let base = self.stack.len();
        loop {
            self.ws();
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                open @ (b'{' | b'[') => {
                    self.i += 1;
                    self.ws();
                    let close = open + 2; // `}` and `]` follow `{` and `[` by two
                    if self.peek()? == close {
                        self.i += 1;
                    } else {
                        self.stack.push(close);
                        if open == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // A value is complete: close what it completes, up to the next member or element.
            loop {
                let Some(&close) = self.stack[base..].last() else { return Some(()) };
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                        if close == b'}' {
                            self.key()?;
                        }
                        break;
                    }
                    b if b == close => {
                        self.i += 1;
                        self.stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// Walks the object whose `{` is at `self.i`; `member` consumes each member's value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, RawStr<'a>) -> Option<()>) -> Option<()> {
        self.container(b'}', |scan| {
            let key = scan.key()?;
            member(scan, key)
        })
    }

    /// Walks the list whose `[` is at `self.i`; `element` consumes each element (after white
    /// space).
    fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.container(b']', element)
    }

    /// Walks the container whose opening bracket is at `self.i` up to `close`, handing each
    /// item to `item` (after white space) and checking the commas between them.
    #[inline(always)]
    fn container(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.i += 1;
        self.ws();
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b if b == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn string_field(&mut self) -> Option<Field<'a>> {
        match self.peek()? {
            b'"' => Some(Field::Str(self.string()?)),
            b'n' => {
                self.literal(b"null")?;
                Some(Field::Absent)
            }
            _ => {
                self.skip_value()?;
                Some(Field::Broken)
            }
        }
    }

    /// The first element of a list of strings.
    fn first_string(&mut self) -> Option<Field<'a>> {
        if self.peek()? != b'[' {
            self.skip_value()?;
            return Some(Field::Broken);
        }
        let mut first = None;
        self.array(|scan| {
            if first.is_some() {
                return scan.skip_value();
            }
            first = Some(match scan.string_field()? {
                Field::Absent => Field::Broken, // `[null]`
                field => field,
            });
            Some(())
        })?;
        Some(first.unwrap_or(Field::Absent))
    }

    /// An object field read with `member` the first time it holds an object; skipped otherwise.
    fn object_field<T: Default>(
        &mut self,
        slot: &mut Option<T>,
        mut member: impl FnMut(&mut Self, &[u8], &mut T) -> Option<()>,
    ) -> Option<()> {
        if slot.is_some() || self.peek()? != b'{' {
            return self.skip_value();
        }
        let mut value = T::default();
        self.object(|scan, key| member(scan, &key.bytes(), &mut value))?;
        *slot = Some(value);
        Some(())
    }

    fn top_member(&mut self, key: &[u8], probe: &mut Probe<'a>) -> Option<()> {
        match key {
            b"eventType" => probe.event_type.keep_first(self.string_field()?),
            b"notificationType" => probe.notification_type.keep_first(self.string_field()?),
            b"mail" => self.object_field(&mut probe.mail, |scan, key, mail| {
                match key {
                    b"timestamp" => mail.timestamp.keep_first(scan.string_field()?),
                    b"source" => mail.source.keep_first(scan.string_field()?),
                    b"tags" => {
                        let mut tags = None;
                        scan.object_field(&mut tags, |scan, key, set: &mut Field<'a>| {
                            if key == b"ses:configuration-set" && set.is_absent() {
                                *set = scan.first_string()?;
                                Some(())
                            } else {
                                scan.skip_value()
                            }
                        })?;
                        if let Some(set) = tags {
                            mail.configuration_set.keep_first(set);
                        }
                    }
                    _ => scan.skip_value()?,
                }
                Some(())
            })?,
            b"messageType" | b"logGroup" | b"logStream" => {
                let value = self.string_field()?;
                let slot = match key {
                    b"messageType" => &mut probe.message_type,
                    b"logGroup" => &mut probe.log_group,
                    _ => &mut probe.log_stream,
                };
                probe.repeated_envelope |= !slot.is_absent() && !value.is_absent();
                slot.keep_first(value);
            }
            b"logEvents" => {
                let null = self.peek()? == b'n';
                self.skip_value()?;
                probe.repeated_envelope |= probe.log_events && !null;
                probe.log_events |= !null;
            }
            _ => match DETAILS.iter().position(|d| *d == key) {
                Some(at) => self.object_field(&mut probe.details[at], |scan, key, detail| {
                    match key {
                        b"timestamp" => detail.timestamp.keep_first(scan.string_field()?),
                        b"bounceType" => detail.bounce_type.keep_first(scan.string_field()?),
                        b"bounceSubType" => detail.bounce_sub_type.keep_first(scan.string_field()?),
                        _ => scan.skip_value()?,
                    }
                    Some(())
                })?,
                None => self.skip_value()?,
            },
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_reports_whether_any_string_holds_an_escape() {
        // The handler masks a record without escapes in one call instead of string by string.
        for (text, escaped) in [
            (r#"{"a":"b","c":[1,"d"]}"#, false),
            (r#"{"a":"b","c":[1,"d\u0040e"]}"#, true),
            (r#"{"a\n":"b"}"#, true),
            (r#"{"mail":{"source":"a\/b"}}"#, true),
            (r#"["x\"y"]"#, true),
            (r#""plain""#, false),
        ] {
            assert_eq!(probe(text.as_bytes()).unwrap().escaped, escaped, "{text}");
        }
    }

    #[test]
    fn the_scan_accepts_exactly_what_serde_json_accepts() {
        let cases: &[&str] = &[
            r#"{}"#,
            r#" {"a" : [1, -0.5e+7, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9\ud800", {}, []]} "#,
            r#"{"a":{"b":{"c":[[[[]]]]}}}"#,
            r#"[1,2]"#,
            r#""s""#,
            r#"12"#,
            r#"{"a":1,}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a"}"#,
            r#"{a:1}"#,
            r#"[1,]"#,
            r#"[01]"#,
            r#"[1.]"#,
            r#"[.5]"#,
            r#"[1e]"#,
            r#"[-]"#,
            r#"[+1]"#,
            r#"["\x"]"#,
            r#"["\u12g4"]"#,
            r#"["\u12"]"#,
            "[\"a\tb\"]",
            "[\"a\u{1f}b\"]",
            r#"[tru]"#,
            r#"[nul"#,
            r#"{"a":1}x"#,
            r#"{"a":1}{}"#,
            "{\"a\":1}\u{c}",
            r#"["unterminated"#,
            r#"{"a":[1,{"b":[2,{"c":3}]}],"d":"é日本"}"#,
            r#"{"mail":{"tags":{"ses:configuration-set":["a",1,{"x":[]}]}},"eventType":"Send"}"#,
            r#"{"mail":{"tags":{"ses:configuration-set":["a",}}}"#,
            "",
            "   ",
        ];
        for case in cases {
            let want = serde_json::from_str::<serde::de::IgnoredAny>(case).is_ok();
            assert_eq!(probe(case.as_bytes()).is_some(), want, "{case}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(probe(deep.as_bytes()).is_some());
        assert!(probe(&deep.as_bytes()[1..]).is_none());
    }

    #[test]
    fn long_strings_stop_at_every_special_byte_whatever_its_offset() {
        for at in 0..40 {
            for special in ["\"", "\\n", "\u{1}", "é"] {
                let body = format!("{}{special}{}", "a".repeat(at), "b".repeat(at % 9));
                let doc = format!("[\"{body}\"]");
                let want = serde_json::from_str::<serde::de::IgnoredAny>(&doc).is_ok();
                assert_eq!(probe(doc.as_bytes()).is_some(), want, "{doc:?}");
            }
        }
    }

    #[test]
    fn fields_are_read_where_ses_and_cloudwatch_logs_put_them() {
        let doc =
            br#"{"eventType":"Bounce","x":{"mail":{"source":"no"}},"mail":{"timestamp":"t0","source":"a@example.com",
            "tags":{"other":["z"],"ses:configuration-set":["set",2]},"headers":[{"name":"\ud800"}]},
            "bounce":{"bounceType":"Permanent","timestamp":"t1"},"event\u0054ype":"Later","mail":{"source":"second"}}"#;
        let p = probe(doc).unwrap();
        assert!(p.is_ses() && !p.is_cloudwatch_logs());
        assert_eq!(p.event_type.text().as_deref(), Some("Bounce"));
        let mail = p.mail.as_ref().unwrap();
        assert_eq!(mail.source.text().as_deref(), Some("a@example.com"));
        assert_eq!(mail.configuration_set.text().as_deref(), Some("set"));
        assert_eq!(p.details[0].as_ref().unwrap().bounce_type.text().as_deref(), Some("Permanent"));

        let broken =
            probe(br#"{"eventType":5,"mail":{"source":"\ud800@example.com","tags":{"ses:configuration-set":"x"}}}"#)
                .unwrap();
        assert!(broken.is_ses());
        assert_eq!(broken.event_type, Field::Broken);
        let mail = broken.mail.as_ref().unwrap();
        assert!(matches!(mail.source, Field::Str(_)) && mail.source.text().is_none());
        assert_eq!(mail.configuration_set, Field::Broken);
        assert!(!probe(br#"{"eventType":"Send","mail":"x"}"#).unwrap().is_ses());

        let cwl = probe(br#"{"messageType":"DATA_MESSAGE","logGroup":"g\ud800","logEvents":[]}"#).unwrap();
        assert!(cwl.is_cloudwatch_logs() && cwl.cloudwatch_logs_well_formed());
        assert_eq!(cwl.log_group.text(), None);
        for odd in [
            r#"{"messageType":"DATA_MESSAGE","logGroup":5,"logEvents":[]}"#,
            r#"{"messageType":1,"logEvents":[]}"#,
            r#"{"messageType":"DATA_MESSAGE","logEvents":[],"logEvents":[]}"#,
        ] {
            let p = probe(odd.as_bytes()).unwrap();
            assert!(p.is_cloudwatch_logs() && !p.cloudwatch_logs_well_formed(), "{odd}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    /// Text made of JSON's own pieces, valid or not.
    fn jsonish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just(" ".to_owned()),
            Just("\"k\":".to_owned()),
            Just("\"mail\":{".to_owned()),
            Just("\"eventType\":".to_owned()),
            Just("\"ses:configuration-set\":[".to_owned()),
            Just("\"logEvents\":".to_owned()),
            Just("\\u00e9".to_owned()),
            Just("\\ud800".to_owned()),
            Just("\\u12".to_owned()),
            Just("\\n".to_owned()),
            Just("\u{1}".to_owned()),
            Just("日本".to_owned()),
            Just("null".to_owned()),
            Just("tru".to_owned()),
            Just("true".to_owned()),
            "-?[0-9]{0,3}(\\.[0-9]{0,2})?([eE][+-]?[0-9]{0,2})?",
            "[a-z@.]{0,12}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// The scan must never accept what serde_json refuses (the record would be treated as JSON
        /// when it is not) nor refuse what it accepts.
        #[test]
        fn the_scan_agrees_with_serde_json(text in jsonish(), wrap in 0usize..3) {
            let text = match wrap {
                0 => text,
                1 => format!("{{\"a\":{text}}}"),
                _ => format!("[\"{text}\"]"),
            };
            let want = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();
            prop_assert_eq!(super::probe(text.as_bytes()).is_some(), want, "{:?}", text);
        }

        /// Valid documents: every generated JSON value scans.
        #[test]
        fn valid_documents_scan(value in any_json()) {
            let text = serde_json::to_string(&value).unwrap();
            prop_assert!(super::probe(text.as_bytes()).is_some(), "{}", text);
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            prop_assert!(super::probe(pretty.as_bytes()).is_some(), "{}", pretty);
        }
    }

    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            any::<String>().prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
