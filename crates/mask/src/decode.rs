//! Disguises a reader undoes by eye, undone before the scan: JSON escapes of address characters
//! (`10\u002e1\u002e2\u002e3`, `dave@ex\u0061mple.com`), percent-encoded dots (`%2e`),
//! full-width digits and dots (`１９２．０．２．１`) and the IPv4 address in an EC2 host name
//! (`ip-10-1-2-3.ec2.internal`).
//!
//! The scanner reads the decoded text, and every finding is mapped back to the bytes it covers
//! in the input, so the views replace exactly the disguised address and keep its disguise where
//! they keep anything (the operator view of `10\u002e1\u002e2\u002e3` is `10\u002e1\u002e2\u002e*`).
//! The at-sign forms (`\u0040`, `%40`) are not decoded: the scanner knows them and renders them
//! as written.

use crate::scan::{Finding, hex_value};

/// An offset into a decoded text or its input. The thread's reused scratch holds `u32`s: dense
/// disguises (an EC2 name is three units in eleven bytes) made 24-byte units outgrow the kept
/// buffers, and the page faults of fresh ones cost a third of the time. Inputs over 4 GiB get
/// `usize`.
pub(crate) trait Offset: Copy {
    /// `v`, which the caller has checked fits.
    fn new(v: usize) -> Self;
    fn get(self) -> usize;
}

impl Offset for u32 {
    fn new(v: usize) -> Self {
        debug_assert!(u32::try_from(v).is_ok());
        v as u32
    }
    fn get(self) -> usize {
        self as usize
    }
}

impl Offset for usize {
    fn new(v: usize) -> Self {
        v
    }
    fn get(self) -> usize {
        self
    }
}

/// Decoded text and where its decoded units came from.
pub(crate) struct Decoded<O = usize> {
    pub(crate) text: Vec<u8>,
    /// `(decoded offset, shift after)` of every decoded unit, in order: the unit's character
    /// stands at the decoded offset, and a decoded offset after it (up to the next unit) is the
    /// input offset minus the shift. The shift before a unit is the previous unit's (or 0).
    units: Vec<(O, O)>,
}

impl<O> Default for Decoded<O> {
    fn default() -> Self {
        Decoded { text: Vec::new(), units: Vec::new() }
    }
}

/// The character an escape at `p` stands for and the escape's length, when it is one this
/// module decodes.
fn unit_at(hay: &[u8], p: usize) -> Option<(u8, usize)> {
    match hay[p] {
        b'%' if hay.get(p + 1) == Some(&b'2') && matches!(hay.get(p + 2), Some(b'e' | b'E')) => Some((b'.', 3)),
        b'\\' => {
            let esc = hay.get(p..p + 6)?;
            if !(esc[1] == b'u' && esc[2] == b'0' && esc[3] == b'0') {
                return None;
            }
            let c = (hex_value(esc[4])? << 4) | hex_value(esc[5])?;
            // Only an escape: the backslash must not itself be escaped ("\\u002e" is text).
            let escaped = hay[..p].iter().rev().take(64).take_while(|&&b| b == b'\\').count() % 2 == 1;
            (is_address_char(c) && !escaped).then_some((c, 6))
        }
        _ => None,
    }
}

/// Characters of addresses whose escapes are decoded. Not `@` (its escapes are at-sign forms the
/// scanner knows), not `%` (decoding it would invent URL escapes).
fn is_address_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+' | b':')
}

/// A full-width digit (U+FF10–FF19) or full stop (U+FF0E) at `p`, as its ASCII character.
fn full_width_at(hay: &[u8], p: usize) -> Option<u8> {
    match hay.get(p..p + 3)? {
        [0xEF, 0xBC, b @ 0x90..=0x99] => Some(b'0' + (b - 0x90)),
        [0xEF, 0xBC, 0x8E] => Some(b'.'),
        _ => None,
    }
}

/// The digits of an EC2 host name's address (`ip-10-1-2-3`), with the offsets of its three
/// dashes: `ip-` at a word start, four octets ≤ 255 joined by dashes, then no further digit or
/// letter (a dash ends it). An octet may also be the operator view's `*` (`ip-10-1-2-*`): the view must
/// decode as the input did.
fn ec2_host(hay: &[u8], q: usize) -> Option<[usize; 3]> {
    if q > 0 && (hay[q - 1].is_ascii_alphanumeric() || hay[q - 1] == b'_') {
        return None;
    }
    let mut i = q + 3;
    let mut dashes = [0; 3];
    // A plain loop per octet: an iterator chain per octet was a tenth of the time on dense names.
    for k in 0..4 {
        let (mut value, mut digits) = (0u16, 0);
        while digits < 4 && i + digits < hay.len() && hay[i + digits].is_ascii_digit() {
            value = value * 10 + u16::from(hay[i + digits] - b'0');
            digits += 1;
        }
        if k > 0 && digits == 0 && hay.get(i) == Some(&crate::view::HIDDEN) {
            i += 1;
        } else {
            if !(1..=3).contains(&digits) || value > 255 {
                return None;
            }
            i += digits;
        }
        if let Some(dash) = dashes.get_mut(k) {
            if hay.get(i) != Some(&b'-') {
                return None;
            }
            *dash = i;
            i += 1;
        }
    }
    let ends = match hay.get(i) {
        None => true,
        // A dash ends the name whatever follows it: a view may mask what follows
        // ("ip-10-1-2-3-10.0.0.1" masks to "ip-<ipv4>-<ipv4>"), and the verdict must not change
        // with it (proptest find). Not a name there left "10-1-2-3" readable (Firehose fuzz).
        Some(b'-') => true,
        Some(&b) => !(b.is_ascii_alphanumeric() || b == b'_'),
    };
    ends.then_some(dashes)
}

/// The decoded text, or `None` when `hay` holds nothing to decode (the common case: a
/// `memchr3` pass and a search for `ip-` over the input).
pub(crate) fn decode(hay: &[u8]) -> Option<Decoded> {
    let mut d = Decoded::default();
    decode_into(hay, &mut d).then_some(d)
}

/// The dashes of the EC2 host names in `hay`, in order, found as the merge asks for them.
struct Ec2Dashes<'h> {
    hay: &'h [u8],
    found: memchr::memmem::FindIter<'h, 'static>,
    host: [usize; 3],
    /// The next of `host`'s dashes to hand out (3: none left).
    next: usize,
}

impl Iterator for Ec2Dashes<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.next == 3 {
            self.host = self.found.by_ref().find_map(|q| ec2_host(self.hay, q))?;
            self.next = 0;
        }
        self.next += 1;
        Some(self.host[self.next - 1])
    }
}

/// [`decode`] into reused buffers: whether `hay` held anything to decode (`d` is then its
/// decoded text). Dense disguises (`1%2e` repeated) made fresh buffers per call — a unit per
/// three input bytes — cost more in page faults than the decoding itself. `O` must hold
/// `hay.len()`.
fn decode_into<O: Offset>(hay: &[u8], d: &mut Decoded<O>) -> bool {
    static EC2: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"ip-"));
    d.text.clear();
    d.units.clear();
    // Units in input order, not overlapping: the escapes and full-width forms from one memchr3
    // pass, merged with the (rare) dashes of EC2 host names.
    let mut dashes = Ec2Dashes { hay, found: EC2.find_iter(hay), host: [0; 3], next: 3 };
    let mut dash = dashes.next();
    let mut copied = 0;
    let mut push = |d: &mut Decoded<O>, p: usize, len: usize, c: u8| {
        if p < copied {
            return;
        }
        d.text.extend_from_slice(&hay[copied..p]);
        d.text.push(c);
        copied = p + len;
        d.units.push((O::new(d.text.len() - 1), O::new(copied - d.text.len())));
    };
    let mut next = 0;
    while let Some(i) = memchr::memchr3(b'\\', b'%', 0xEF, &hay[next..]) {
        let p = next + i;
        while let Some(q) = dash.filter(|&q| q < p) {
            push(d, q, 1, b'.');
            dash = dashes.next();
        }
        // Full-width digits and dots are read as ASCII wherever they stand: a decision that
        // depended on their neighbours would change once a view masks those neighbours, and
        // masking the view again would read it differently.
        let (at, unit) = match hay[p] {
            0xEF => (p, full_width_at(hay, p).map(|c| (c, 3))),
            // Only the last backslash of a run can start an escape: the search goes on after
            // the run, not from each of its backslashes (a run made every byte a visit).
            b'\\' => {
                let last = p + hay[p..].iter().take_while(|&&b| b == b'\\').count() - 1;
                (last, unit_at(hay, last))
            }
            _ => (p, unit_at(hay, p)),
        };
        next = at + 1;
        if let Some((c, len)) = unit {
            push(d, at, len, c);
            next = at + len;
        }
    }
    while let Some(q) = dash {
        push(d, q, 1, b'.');
        dash = dashes.next();
    }
    if d.units.is_empty() {
        return false;
    }
    d.text.extend_from_slice(&hay[copied..]);
    true
}

impl<O: Offset> Decoded<O> {
    /// The input offset of decoded offset `d` (`d` may be the end of the text).
    fn to_input(&self, d: usize) -> usize {
        self.to_input_from(self.units.partition_point(|&(dec, _)| dec.get() <= d), d)
    }

    /// [`Self::to_input`] with `i` the number of units at or before `d`.
    fn to_input_from(&self, i: usize, d: usize) -> usize {
        let shift_after = |k: usize| self.units[k].1.get();
        match i.checked_sub(1) {
            None => d,
            // The unit's own character: the input offset where the unit starts.
            Some(k) if self.units[k].0.get() == d => d + k.checked_sub(1).map_or(0, shift_after),
            Some(k) => d + shift_after(k),
        }
    }

    /// [`Self::to_input_finding`] for findings that arrive in order: `cursor` walks the units
    /// once (a binary search per finding cost a fifth of the time on dense findings).
    fn to_input_finding_in_order(&self, cursor: &mut usize, f: Finding) -> Finding {
        let mut map = |d: usize| {
            while *cursor < self.units.len() && self.units[*cursor].0.get() <= d {
                *cursor += 1;
            }
            self.to_input_from(*cursor, d)
        };
        let start = map(f.start);
        let kind = match f.kind {
            crate::scan::Kind::Email { at, form } => crate::scan::Kind::Email { at: map(at), form },
            other => other,
        };
        Finding { start, end: map(f.end), kind }
    }

    /// A finding in the decoded text as a finding in the input.
    pub(crate) fn to_input_finding(&self, f: Finding) -> Finding {
        let kind = match f.kind {
            crate::scan::Kind::Email { at, form } => crate::scan::Kind::Email { at: self.to_input(at), form },
            other => other,
        };
        Finding { start: self.to_input(f.start), end: self.to_input(f.end), kind }
    }

    /// Scans `hay` through `self` when it holds anything to decode; whether it did.
    #[inline(always)]
    fn scan_decoded(&mut self, hay: &[u8], emit: &mut impl FnMut(Finding)) -> bool {
        if !decode_into(hay, self) {
            return false;
        }
        let mut cursor = 0;
        crate::prefilter::scan_blocks(&self.text, |f| emit(self.to_input_finding_in_order(&mut cursor, f)));
        true
    }
}

/// Decodes the disguised units of one address's text (for pseudonyms and IPv6 parsing).
pub(crate) fn decode_text(text: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    // Every unit starts with one of these (an EC2 name holds dashes): most findings hold none.
    if !text.iter().any(|&b| matches!(b, b'\\' | b'%' | 0xEF | b'-')) {
        return std::borrow::Cow::Borrowed(text);
    }
    match decode(text) {
        Some(d) => std::borrow::Cow::Owned(d.text),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// The dotted quad an IPv4 finding's text stands for: every disguise undone, and the dashes of
/// an EC2 host name (which only such a finding holds) read as dots.
pub(crate) fn ipv4_text(text: &[u8]) -> Vec<u8> {
    let mut plain = decode_text(text).into_owned();
    for b in &mut plain {
        if *b == b'-' {
            *b = b'.';
        }
    }
    plain
}

/// Length of the unit at the start of an IPv4 finding's `text` when it is a dot in any of its
/// forms (`.`, `\u002e`, `%2e`, `．`, an EC2 host name's `-`).
pub(crate) fn dot_unit(text: &[u8]) -> Option<usize> {
    match text.first()? {
        b'.' | b'-' => Some(1),
        b'%' | b'\\' => unit_at(text, 0).filter(|&(c, _)| c == b'.').map(|(_, len)| len),
        0xEF => (full_width_at(text, 0) == Some(b'.')).then_some(3),
        _ => None,
    }
}

/// Every finding in `hay`, disguises undone: the scan of the decoded text mapped back.
#[inline(always)] // each caller's closure is inlined into its own copy of the scan loop
pub(crate) fn scan(hay: &[u8], mut emit: impl FnMut(Finding)) {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Decoded<u32>> = std::cell::RefCell::new(Decoded::default());
    }
    /// Buffers larger than this (bytes) are not kept for the next call: a bound on what a
    /// thread holds between records, above what the densest 2 MiB piece of the CLI needs.
    const KEEP: usize = 16 << 20;
    if u32::try_from(hay.len()).is_err() {
        if !Decoded::<usize>::default().scan_decoded(hay, &mut emit) {
            crate::prefilter::scan_blocks(hay, emit);
        }
        return;
    }
    SCRATCH.with(|cell| {
        // A scan inside a scan (never today) would find the buffers taken: it gets its own.
        let mut own = Decoded::default();
        let mut kept = cell.try_borrow_mut();
        let d = match kept.as_deref_mut() {
            Ok(d) => d,
            Err(_) => &mut own,
        };
        if d.scan_decoded(hay, &mut emit) {
            if d.text.capacity() + d.units.capacity() * std::mem::size_of::<(u32, u32)>() > KEEP {
                *d = Decoded::default();
            }
        } else {
            crate::prefilter::scan_blocks(hay, emit);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_through_every_unit() {
        let hay = br"10\u002e1%2e2\u002E3 \\u002e x";
        let d = decode(hay).unwrap();
        assert_eq!(d.text, br"10.1.2.3 \\u002e x");
        assert_eq!(d.to_input(0), 0);
        assert_eq!(d.to_input(2), 2);
        assert_eq!(d.to_input(3), 8);
        assert_eq!(d.to_input(5), 12);
        assert_eq!(d.to_input(8), 20);
        assert_eq!(d.to_input(d.text.len()), hay.len());
        assert!(decode(br"bob\u0040example.com %40 %2f \\u002e").is_none());
    }
}
