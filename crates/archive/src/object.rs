//! One raw object in, its masked form out: gzip detection by magic bytes, streaming, record
//! splitting, and the Firehose crate's record code for each record.

use std::io::{self, Cursor, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use logmask_firehose::{RecordOutput, mask_record};
use logmask_mask::{Counts, Masker, Role};
use serde::Serialize;

use crate::error::ObjectError;

/// A JSON record longer than this (decompressed) is not looked for as a whole: its bytes are
/// masked as text instead, so memory stays bounded whatever an object holds. It is the Firehose
/// path's own ceiling for a decompressed record.
pub const MAX_RECORD_BYTES: usize = logmask_firehose::MAX_DECOMPRESSED;

/// Text lines are masked in blocks of about this size: one call per line would cost more than
/// the masking, and no address spans a newline.
pub const TEXT_BLOCK_BYTES: usize = 1 << 20;

const READ_CHUNK: usize = 256 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How an object was stored; the masked object is stored the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip (one or more members; a gzip of gzip members counts as gzip too).
    Gzip,
    /// Anything else, read as is.
    Plain,
}

/// What one object held and what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ObjectStats {
    /// Bytes read from the source (compressed size for gzip).
    pub bytes_in: u64,
    /// Bytes after decompression.
    pub bytes_decompressed: u64,
    /// Bytes written (compressed size for gzip).
    pub bytes_out: u64,
    /// JSON records plus text lines.
    pub records: u64,
    /// Records with nothing to deliver (CloudWatch Logs control messages).
    pub dropped: u64,
    /// JSON-looking records that did not parse (or were too large to look for whole): masked as
    /// text, so no byte of them leaves unmasked.
    pub malformed: u64,
    /// Findings per type.
    pub counts: Counts,
}

/// Remembers whether an I/O error came from the storage below a decoder or from the decoder
/// itself: the first may go away on retry, the second means the object is bad.
#[derive(Default)]
struct Tracker {
    read: AtomicU64,
    failed: AtomicBool,
}

struct Tracked<R> {
    inner: R,
    tracker: Arc<Tracker>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.tracker.read.fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.tracker.failed.store(true, Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }
}

struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A raw object opened for masking: its compression is known (so the caller can choose the
/// destination's name, content type or metadata) before anything is written.
///
/// Records are found in the decompressed stream like this: a `{` where a record starts opens a
/// JSON document that ends at its matching `}` (strings and escapes respected), so
/// newline-delimited JSON, concatenated documents (`}{`, what Firehose writes when producers add
/// no delimiter, e.g. CloudWatch Logs subscription documents) and pretty-printed JSON are all
/// split right. Whitespace between documents is dropped and every JSON record's output ends with
/// one newline. Anything else is text, masked in blocks of whole lines.
pub struct RawObject<'a> {
    reader: Box<dyn Read + Send + 'a>,
    compression: Compression,
    tracker: Arc<Tracker>,
}

impl<'a> RawObject<'a> {
    /// Reads the first bytes of `source` to tell gzip from plain data.
    pub fn open(source: impl Read + Send + 'a) -> Result<RawObject<'a>, ObjectError> {
        let tracker = Arc::new(Tracker::default());
        let mut tracked = Tracked { inner: source, tracker: tracker.clone() };
        let magic = peek2(&mut tracked).map_err(ObjectError::Read)?;
        let head = Cursor::new(magic.clone()).chain(tracked);
        if magic != GZIP_MAGIC {
            return Ok(RawObject { reader: Box::new(head), compression: Compression::Plain, tracker });
        }
        let mut outer = MultiGzDecoder::new(head);
        let inner_magic = peek2(&mut outer).map_err(|e| classify(&tracker, true, e))?;
        let decoded = Cursor::new(inner_magic.clone()).chain(outer);
        // Firehose compressing a backup of records that were gzip already (CloudWatch Logs
        // documents) gives gzip inside gzip.
        let reader: Box<dyn Read + Send> =
            if inner_magic == GZIP_MAGIC { Box::new(MultiGzDecoder::new(decoded)) } else { Box::new(decoded) };
        Ok(RawObject { reader, compression: Compression::Gzip, tracker })
    }

    /// How the object is stored.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Masks every record for `role` into `out`, gzip-compressed when the source was. Memory
    /// stays within a few times [`MAX_RECORD_BYTES`] whatever the object's size.
    pub fn mask_into(self, masker: &Masker, role: Role, out: &mut impl Write) -> Result<ObjectStats, ObjectError> {
        let gzip = self.compression == Compression::Gzip;
        let mut sink = Counting { inner: out, written: 0 };
        let mut stats = ObjectStats::default();
        let mut splitter = Splitter {
            reader: self.reader,
            tracker: &self.tracker,
            gzip,
            buf: Vec::new(),
            start: 0,
            offset: 0,
            eof: false,
        };
        if gzip {
            let mut encoder = GzEncoder::new(&mut sink, flate2::Compression::default());
            splitter.run(masker, role, &mut encoder, &mut stats)?;
            encoder.finish().map_err(ObjectError::Write)?;
        } else {
            splitter.run(masker, role, &mut sink, &mut stats)?;
        }
        sink.flush().map_err(ObjectError::Write)?;
        stats.bytes_out = sink.written;
        stats.bytes_in = self.tracker.read.load(Ordering::Relaxed);
        stats.bytes_decompressed = splitter.offset + splitter.buf.len() as u64;
        Ok(stats)
    }
}

/// Masks one raw object from `source` into `out`: [`RawObject::open`] then
/// [`RawObject::mask_into`].
pub fn mask_object(
    masker: &Masker,
    role: Role,
    source: impl Read + Send,
    out: &mut impl Write,
) -> Result<ObjectStats, ObjectError> {
    RawObject::open(source)?.mask_into(masker, role, out)
}

fn peek2(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < 2 {
        match reader.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(magic[..n].to_vec())
}

fn classify(tracker: &Tracker, gzip: bool, e: io::Error) -> ObjectError {
    if tracker.failed.load(Ordering::Relaxed) || !gzip {
        ObjectError::Read(e)
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        ObjectError::CorruptGzip("truncated".to_owned())
    } else {
        ObjectError::CorruptGzip("invalid deflate data or header".to_owned())
    }
}

/// Where a JSON document's end search stands, so a refill continues instead of rescanning.
#[derive(Default)]
struct JsonScan {
    pos: usize,
    depth: usize,
    in_string: bool,
}

impl JsonScan {
    /// The end (exclusive) of the document starting at `rec[0]`, if it is in `rec`.
    fn advance(&mut self, rec: &[u8]) -> Option<usize> {
        while self.pos < rec.len() {
            let rest = &rec[self.pos..];
            if self.in_string {
                let at = self.pos + memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
                if at == rec.len() {
                    self.pos = at;
                } else if rec[at] == b'\\' {
                    if at + 1 == rec.len() {
                        // The escaped byte is not here yet: look at the backslash again later.
                        self.pos = at;
                        return None;
                    }
                    self.pos = at + 2;
                } else {
                    self.in_string = false;
                    self.pos = at + 1;
                }
            } else {
                let Some(i) = memchr::memchr3(b'"', b'{', b'}', rest) else {
                    self.pos = rec.len();
                    return None;
                };
                let at = self.pos + i;
                self.pos = at + 1;
                match rec[at] {
                    b'"' => self.in_string = true,
                    b'{' => self.depth += 1,
                    _ => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            return Some(at + 1);
                        }
                    }
                }
            }
        }
        None
    }
}

struct Splitter<'r, 'a> {
    reader: Box<dyn Read + Send + 'a>,
    tracker: &'r Tracker,
    gzip: bool,
    /// Unprocessed bytes live in `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    /// Decompressed offset of `buf[0]`.
    offset: u64,
    eof: bool,
}

enum Piece {
    Json(usize),
    Text { end: usize, malformed: bool },
}

impl Splitter<'_, '_> {
    /// Reads one more chunk; drops what is processed first so the buffer holds one record at most.
    fn fill(&mut self) -> Result<(), ObjectError> {
        if self.start > 0 {
            self.offset += self.start as u64;
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + READ_CHUNK, 0);
        loop {
            match self.reader.read(&mut self.buf[len..]) {
                Ok(n) => {
                    self.buf.truncate(len + n);
                    self.eof = n == 0;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(classify(self.tracker, self.gzip, e));
                }
            }
        }
    }

    fn run(
        &mut self,
        masker: &Masker,
        role: Role,
        out: &mut impl Write,
        stats: &mut ObjectStats,
    ) -> Result<(), ObjectError> {
        let mut after_json = false;
        loop {
            // Whitespace between records is dropped before a JSON record (each JSON record's
            // output ends with its own newline) but kept before text, where it belongs to the
            // line (indented stack frames), less the delimiter newlines right after a JSON record.
            let mut ws = self.start;
            while ws < self.buf.len() && self.buf[ws].is_ascii_whitespace() {
                ws += 1;
            }
            if ws == self.buf.len() && !self.eof {
                if ws - self.start > TEXT_BLOCK_BYTES {
                    self.start = ws; // a sea of blanks: bounded memory matters more
                }
                self.fill()?;
                continue;
            }
            if ws == self.buf.len() || self.buf[ws] == b'{' {
                self.start = ws;
            } else if after_json && let Some(i) = memchr::memrchr(b'\n', &self.buf[self.start..ws]) {
                self.start += i + 1;
            }
            if self.start == self.buf.len() {
                return Ok(());
            }
            after_json = false;
            let piece = if self.buf[self.start] == b'{' { self.json_piece()? } else { self.text_piece()? };
            let end = match piece {
                Piece::Json(end) => {
                    let r = mask_record(masker, role, &self.buf[self.start..end]);
                    match r.output {
                        RecordOutput::Masked(data) => {
                            stats.records += 1;
                            stats.counts += r.counts;
                            out.write_all(&data).map_err(ObjectError::Write)?;
                            if !data.ends_with(b"\n") {
                                out.write_all(b"\n").map_err(ObjectError::Write)?;
                            }
                            after_json = true;
                            end
                        }
                        RecordOutput::Dropped(_) => {
                            stats.records += 1;
                            stats.dropped += 1;
                            after_json = true;
                            end
                        }
                        RecordOutput::Failed(_) => {
                            // Braces in a text line (`{user} logged in`), or broken JSON: the
                            // whole line is text, so the line structure stays as it was.
                            let end = self.line_end(self.start)?;
                            self.emit_text(masker, role, end, true, out, stats)?;
                            end
                        }
                    }
                }
                Piece::Text { end, malformed } => {
                    self.emit_text(masker, role, end, malformed, out, stats)?;
                    end
                }
            };
            self.start = end;
        }
    }

    /// The end of the line holding `buf[from]`, reading on as needed (at most
    /// [`MAX_RECORD_BYTES`] ahead).
    fn line_end(&mut self, mut from: usize) -> Result<usize, ObjectError> {
        loop {
            let window_end = self.buf.len().min(from + MAX_RECORD_BYTES);
            if memchr::memchr(b'\n', &self.buf[from..window_end]).is_some()
                || self.eof
                || self.buf.len() - from >= MAX_RECORD_BYTES
            {
                return Ok(self.text_end(from));
            }
            let consumed = self.start;
            self.fill()?;
            from -= consumed;
        }
    }

    fn json_piece(&mut self) -> Result<Piece, ObjectError> {
        let mut scan = JsonScan::default();
        loop {
            if let Some(len) = scan.advance(&self.buf[self.start..]) {
                return Ok(Piece::Json(self.start + len));
            }
            let have = self.buf.len() - self.start;
            if self.eof || have > MAX_RECORD_BYTES {
                // Unterminated or oversized: not a document we can hand over whole.
                let end = self.text_end(self.start);
                return Ok(Piece::Text { end, malformed: true });
            }
            self.fill()?;
        }
    }

    fn text_piece(&mut self) -> Result<Piece, ObjectError> {
        let mut searched = self.start;
        loop {
            if searched > self.start
                && searched < self.buf.len()
                && self.buf[searched - 1] == b'\n'
                && self.buf[searched] == b'{'
            {
                return Ok(Piece::Text { end: searched, malformed: false });
            }
            let mut line_start = self.start;
            let mut end = None;
            while let Some(i) = memchr::memchr(b'\n', &self.buf[searched..]) {
                let after = searched + i + 1;
                searched = after;
                line_start = after;
                if after - self.start >= TEXT_BLOCK_BYTES {
                    end = Some(after);
                    break;
                }
                if after < self.buf.len() && self.buf[after] == b'{' {
                    end = Some(after);
                    break;
                }
                if after == self.buf.len() && !self.eof {
                    break; // whether the next line opens a JSON document is not known yet
                }
            }
            if let Some(end) = end {
                return Ok(Piece::Text { end, malformed: false });
            }
            if self.eof {
                return Ok(Piece::Text { end: self.buf.len(), malformed: false });
            }
            if line_start > self.start && self.buf.len() - self.start >= TEXT_BLOCK_BYTES {
                return Ok(Piece::Text { end: line_start, malformed: false });
            }
            if self.buf.len() - line_start > MAX_RECORD_BYTES {
                return Ok(Piece::Text { end: self.text_end(line_start), malformed: false });
            }
            let consumed = self.start;
            self.fill()?;
            searched -= consumed;
        }
    }

    /// The end of the text line starting at `from`, cut where no address can be split (a space)
    /// when the line is longer than [`MAX_RECORD_BYTES`].
    fn text_end(&self, from: usize) -> usize {
        let window = &self.buf[from..self.buf.len().min(from + MAX_RECORD_BYTES)];
        if let Some(i) = memchr::memchr(b'\n', window) {
            return from + i + 1;
        }
        if from + window.len() == self.buf.len() && self.eof {
            return self.buf.len();
        }
        if let Some(i) = memchr::memrchr2(b' ', b'\t', window) {
            return from + i + 1;
        }
        // One enormous token: cut on a UTF-8 character boundary at least.
        let mut cut = from + window.len();
        while cut > from + 1 && (self.buf[cut] & 0xc0) == 0x80 {
            cut -= 1;
        }
        cut
    }

    /// Masks `buf[start..end]` as text: whole lines, through the Firehose record code unless
    /// the piece is known to be a malformed JSON candidate.
    fn emit_text(
        &self,
        masker: &Masker,
        role: Role,
        end: usize,
        malformed: bool,
        out: &mut impl Write,
        stats: &mut ObjectStats,
    ) -> Result<(), ObjectError> {
        let record = &self.buf[self.start..end];
        let offset = self.offset + self.start as u64;
        stats.records += memchr::memchr_iter(b'\n', record).count() as u64 + u64::from(!record.ends_with(b"\n"));
        let data = if malformed {
            self.as_text(masker, role, record, offset, stats)?
        } else {
            let r = mask_record(masker, role, record);
            match r.output {
                RecordOutput::Masked(data) => {
                    stats.counts += r.counts;
                    data
                }
                // A text block has nothing to drop; anything else the record code refuses
                // (not UTF-8) is decided by the text path.
                RecordOutput::Dropped(_) | RecordOutput::Failed(_) => {
                    self.as_text(masker, role, record, offset, stats)?
                }
            }
        };
        out.write_all(&data).map_err(ObjectError::Write)
    }

    /// A record the Firehose path would have failed on its own but that sits in a readable
    /// object: masked as text, which finds addresses in JSON syntax too.
    fn as_text(
        &self,
        masker: &Masker,
        role: Role,
        record: &[u8],
        offset: u64,
        stats: &mut ObjectStats,
    ) -> Result<Vec<u8>, ObjectError> {
        if let Err(e) = std::str::from_utf8(record) {
            return Err(ObjectError::NotText { offset: offset + e.valid_up_to() as u64 });
        }
        stats.malformed += 1;
        let mut data = Vec::with_capacity(record.len() + 16);
        stats.counts += masker.mask_into(role, record, &mut data);
        Ok(data)
    }
}
