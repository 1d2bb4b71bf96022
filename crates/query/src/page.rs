//! Responses under Lambda's 6 MB limit: whole lines (or entries) that fit, and where to resume.

use std::io;

use logmask_mask::{Counts, Masker, Role};

use crate::error::QueryError;

/// Lambda's response payload limit (bytes), for direct invokes and buffered function URLs alike.
pub const RESPONSE_LIMIT: usize = 6_291_456;
/// Room kept for the response's other fields (role, counts, object name, offsets): a generous
/// bound — the envelope is well under a kilobyte plus the object key (≤ 1024 bytes).
pub const ENVELOPE_RESERVE: usize = 64 * 1024;

/// How the masked text will be written, which decides what each byte costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A JSON string in the response (direct invoke).
    Json,
    /// A JSON string inside the JSON text of a function URL response's `body`.
    JsonInJson,
}

/// Bytes `s` takes once written as the content of a JSON string (quotes excluded) in `enc`.
pub fn encoded_len(s: &str, enc: Encoding) -> usize {
    s.chars()
        .map(|c| match (c, enc) {
            ('"' | '\\', Encoding::Json) => 2,
            ('"' | '\\', Encoding::JsonInJson) => 4,
            ('\n' | '\r' | '\t' | '\u{8}' | '\u{c}', Encoding::Json) => 2,
            ('\n' | '\r' | '\t' | '\u{8}' | '\u{c}', Encoding::JsonInJson) => 3,
            (c, Encoding::Json) if (c as u32) < 0x20 => 6,
            (c, Encoding::JsonInJson) if (c as u32) < 0x20 => 7,
            (c, _) => c.len_utf8(),
        })
        .sum()
}

/// Cost of one list entry: its text, its quotes and a comma.
fn entry_cost(s: &str, enc: Encoding) -> usize {
    encoded_len(s, enc) + if enc == Encoding::Json { 3 } else { 5 }
}

/// One page of masked text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TextPage {
    /// The masked lines, newlines included.
    pub text: String,
    /// Findings in the lines of this page.
    pub counts: Counts,
    /// Where the next page starts, when there is one.
    pub next_offset: Option<u64>,
}

/// Masks `text` from byte `offset` (a line start) line by line until `budget` is used.
pub fn page_text(
    masker: &Masker,
    role: Role,
    text: &str,
    offset: u64,
    budget: usize,
    enc: Encoding,
) -> Result<TextPage, QueryError> {
    let start = usize::try_from(offset).ok().filter(|&o| o <= text.len());
    let start = start
        .filter(|&o| o == 0 || text.as_bytes()[o - 1] == b'\n')
        .ok_or_else(|| QueryError::InvalidPayload(format!("offset {offset} is not the start of a line of logData")))?;
    let mut page = TextPage::default();
    let mut used = 0usize;
    let mut pos = start;
    for line in text[start..].split_inclusive('\n') {
        let (masked, counts) = masker.mask_str(role, line);
        let cost = encoded_len(&masked, enc);
        if used + cost > budget {
            if page.text.is_empty() {
                return Err(QueryError::TooLargeForOneResponse {
                    what: "line",
                    offset: pos as u64,
                    bytes: cost as u64,
                });
            }
            page.next_offset = Some(pos as u64);
            break;
        }
        used += cost;
        page.text.push_str(&masked);
        page.counts += counts;
        pos += line.len();
    }
    Ok(page)
}

/// One page of masked entries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The masked entries.
    pub entries: Vec<String>,
    /// Findings in them.
    pub counts: Counts,
    /// Index of the next entry, when there is one.
    pub next_offset: Option<u64>,
}

/// Masks `entries` from index `offset`, each whole, until `budget` is used.
pub fn page_list(
    masker: &Masker,
    role: Role,
    entries: &[String],
    offset: u64,
    budget: usize,
    enc: Encoding,
) -> Result<ListPage, QueryError> {
    let start = usize::try_from(offset)
        .ok()
        .filter(|&o| o <= entries.len())
        .ok_or_else(|| QueryError::InvalidPayload(format!("offset {offset} is past the {} entries", entries.len())))?;
    let mut page = ListPage::default();
    let mut used = 0usize;
    for (i, entry) in entries.iter().enumerate().skip(start) {
        let (masked, counts) = masker.mask_str(role, entry);
        let cost = entry_cost(&masked, enc);
        if used + cost > budget {
            if page.entries.is_empty() {
                return Err(QueryError::TooLargeForOneResponse { what: "entry", offset: i as u64, bytes: cost as u64 });
            }
            page.next_offset = Some(i as u64);
            break;
        }
        used += cost;
        page.entries.push(masked);
        page.counts += counts;
    }
    Ok(page)
}

/// A writer that receives a whole masked object and keeps one page of it: it skips `offset`
/// bytes, then keeps whole lines while they fit, then only counts. Offsets are bytes of the
/// masked text, so any page can be asked for again and gives the same lines.
#[derive(Debug)]
pub struct PageSink {
    offset: u64,
    budget: usize,
    enc: Encoding,
    written: u64,
    byte_before_offset: Option<u8>,
    partial: Vec<u8>,
    line_start: u64,
    used: usize,
    text: String,
    full: bool,
    next_offset: Option<u64>,
    too_large: Option<(u64, u64)>,
}

impl PageSink {
    /// A sink for the page starting at `offset`.
    pub fn new(offset: u64, budget: usize, enc: Encoding) -> PageSink {
        PageSink {
            offset,
            budget,
            enc,
            written: 0,
            byte_before_offset: None,
            partial: Vec::new(),
            line_start: offset,
            used: 0,
            text: String::new(),
            full: false,
            next_offset: None,
            too_large: None,
        }
    }

    /// Takes one complete line (or the unterminated tail); false when the page is full.
    fn take_line(&mut self, line: &[u8]) -> bool {
        let text = String::from_utf8_lossy(line);
        let cost = encoded_len(&text, self.enc);
        if self.used + cost > self.budget {
            if self.text.is_empty() {
                self.too_large = Some((self.line_start, cost as u64));
            }
            self.next_offset = Some(self.line_start);
            self.full = true;
            return false;
        }
        self.used += cost;
        self.text.push_str(&text);
        self.line_start += line.len() as u64;
        true
    }

    /// Ends the object: the page text, where the next page starts, the masked object's size.
    pub fn finish(mut self) -> Result<(String, Option<u64>, u64), QueryError> {
        if self.offset > 0 && (self.written < self.offset || self.byte_before_offset != Some(b'\n')) {
            return Err(QueryError::InvalidPayload(format!(
                "offset {} is not the start of a line of the masked object",
                self.offset
            )));
        }
        if !self.full && !self.partial.is_empty() {
            let tail = std::mem::take(&mut self.partial);
            self.take_line(&tail);
        }
        if let Some((offset, bytes)) = self.too_large {
            return Err(QueryError::TooLargeForOneResponse { what: "line", offset, bytes });
        }
        Ok((self.text, self.next_offset, self.written))
    }
}

impl io::Write for PageSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        if self.written < self.offset {
            let skip = usize::try_from(self.offset - self.written).unwrap_or(usize::MAX).min(rest.len());
            if skip > 0 {
                self.byte_before_offset = Some(rest[skip - 1]);
            }
            self.written += skip as u64;
            rest = &rest[skip..];
        }
        self.written += rest.len() as u64;
        if self.full || rest.is_empty() {
            return Ok(buf.len());
        }
        self.partial.extend_from_slice(rest);
        let mut consumed = 0;
        while let Some(nl) = memchr_newline(&self.partial[consumed..]) {
            let end = consumed + nl + 1;
            let line = self.partial[consumed..end].to_vec();
            consumed = end;
            if !self.take_line(&line) {
                break;
            }
        }
        self.partial.drain(..consumed);
        // A line already longer than the budget can never fit: stop holding it.
        if !self.full && encoded_len_bytes_lower_bound(&self.partial) > self.budget {
            let partial = std::mem::take(&mut self.partial);
            self.take_line(&partial);
        }
        if self.full {
            self.partial = Vec::new();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Every byte costs at least one once encoded.
fn encoded_len_bytes_lower_bound(bytes: &[u8]) -> usize {
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn encoded_lengths_match_serde() {
        for s in ["plain", "quote \" and \\ slash", "tab\tnew\nline\r", "\u{1}\u{1f}", "日本語 ＠", ""] {
            let once = serde_json::to_string(s).unwrap();
            assert_eq!(encoded_len(s, Encoding::Json), once.len() - 2, "{s:?}");
            let twice = serde_json::to_string(&once).unwrap();
            // The inner quotes cost 2 bytes each once escaped again.
            assert_eq!(encoded_len(s, Encoding::JsonInJson), twice.len() - 2 - 4, "{s:?}");
        }
    }

    #[test]
    fn text_pages_end_at_whole_lines_and_resume_exactly() {
        let masker = Masker::new();
        let text: String = (0..100).map(|i| format!("line {i} from user{i}@example.com\n")).collect();
        let mut offset = 0;
        let mut joined = String::new();
        let mut pages = 0;
        loop {
            let page = page_text(&masker, Role::Readonly, &text, offset, 200, Encoding::Json).unwrap();
            assert!(page.text.ends_with('\n') && page.text.len() <= 200);
            assert_eq!(page.counts.emails as usize, page.text.lines().count());
            joined.push_str(&page.text);
            pages += 1;
            match page.next_offset {
                Some(next) => offset = next,
                None => break,
            }
        }
        assert!(pages > 10);
        assert_eq!(joined, masker.mask_str(Role::Readonly, &text).0);
        assert!(page_text(&masker, Role::Readonly, &text, 3, 200, Encoding::Json).is_err());
        assert!(page_text(&masker, Role::Readonly, &text, text.len() as u64 + 1, 200, Encoding::Json).is_err());
        let err = page_text(&masker, Role::Readonly, &text, 0, 10, Encoding::Json).unwrap_err();
        assert!(matches!(err, QueryError::TooLargeForOneResponse { offset: 0, .. }), "{err}");
    }

    #[test]
    fn list_pages_keep_entries_whole() {
        let masker = Masker::new();
        let entries: Vec<String> = (0..10).map(|i| format!("{i}: 192.0.2.{i}\nsecond line")).collect();
        let page = page_list(&masker, Role::Operator, &entries, 2, 100, Encoding::JsonInJson).unwrap();
        assert_eq!(page.entries[0], "2: 192.0.2.*\nsecond line");
        let next = page.next_offset.unwrap();
        assert_eq!(next, 2 + page.entries.len() as u64);
        assert!(page_list(&masker, Role::Operator, &entries, 11, 100, Encoding::Json).is_err());
        let last = page_list(&masker, Role::Operator, &entries, 10, 100, Encoding::Json).unwrap();
        assert_eq!((last.entries.len(), last.next_offset), (0, None));
    }

    #[test]
    fn the_sink_pages_any_write_pattern_the_same_way() {
        let object: Vec<u8> = (0..50).flat_map(|i| format!("record {i} {}\n", "x".repeat(i)).into_bytes()).collect();
        for chunk in [1, 7, 64, 100_000] {
            let mut offset = 0;
            let mut joined = Vec::new();
            loop {
                let mut sink = PageSink::new(offset, 300, Encoding::Json);
                for piece in object.chunks(chunk) {
                    sink.write_all(piece).unwrap();
                }
                let (text, next, total) = sink.finish().unwrap();
                assert_eq!(total, object.len() as u64);
                assert!(text.len() <= 300 && text.ends_with('\n'));
                joined.extend_from_slice(text.as_bytes());
                match next {
                    Some(n) => offset = n,
                    None => break,
                }
            }
            assert_eq!(joined, object, "chunk {chunk}");
        }
        let mut sink = PageSink::new(5, 300, Encoding::Json);
        sink.write_all(&object).unwrap();
        assert!(matches!(sink.finish(), Err(QueryError::InvalidPayload(_))));
        let mut sink = PageSink::new(0, 10, Encoding::Json);
        sink.write_all(&object).unwrap();
        assert!(matches!(sink.finish(), Err(QueryError::TooLargeForOneResponse { .. })));
        let mut sink = PageSink::new(0, 300, Encoding::Json);
        sink.write_all(b"no newline at the end").unwrap();
        assert_eq!(sink.finish().unwrap().0, "no newline at the end");
    }
}
