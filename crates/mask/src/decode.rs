//! Disguises a reader undoes by eye, undone before the scan: JSON escapes of address characters
//! (`10\u002e1\u002e2\u002e3`, `dave@ex\u0061mple.com`) and percent-encoded dots (`%2e`).
//!
//! The scanner reads the decoded text, and every finding is mapped back to the bytes it covers
//! in the input, so the views replace exactly the disguised address and keep its disguise where
//! they keep anything (the operator view of `10\u002e1\u002e2\u002e3` is `10\u002e1\u002e2\u002e*`).
//! The at-sign forms (`\u0040`, `%40`) are not decoded: the scanner knows them and renders them
//! as written.

use memchr::memchr2_iter;

use crate::scan::Finding;

/// Decoded text and where its decoded units came from.
pub(crate) struct Decoded {
    pub(crate) text: Vec<u8>,
    /// `(decoded offset, input offset, input length)` of every decoded unit, in order.
    units: Vec<(usize, usize, usize)>,
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
            let c = (hex(esc[4])? << 4) | hex(esc[5])?;
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

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The decoded text, or `None` when `hay` holds nothing to decode (the common case: one
/// `memchr2` pass over the input).
pub(crate) fn decode(hay: &[u8]) -> Option<Decoded> {
    let mut units = Vec::new();
    let mut text = Vec::new();
    let mut copied = 0;
    for p in memchr2_iter(b'\\', b'%', hay) {
        if p < copied {
            continue;
        }
        let Some((c, len)) = unit_at(hay, p) else {
            continue;
        };
        if units.is_empty() {
            text.reserve(hay.len());
        }
        text.extend_from_slice(&hay[copied..p]);
        units.push((text.len(), p, len));
        text.push(c);
        copied = p + len;
    }
    if units.is_empty() {
        return None;
    }
    text.extend_from_slice(&hay[copied..]);
    Some(Decoded { text, units })
}

impl Decoded {
    /// The input offset of decoded offset `d` (`d` may be the end of the text).
    fn to_input(&self, d: usize) -> usize {
        let i = self.units.partition_point(|&(dec, _, _)| dec <= d);
        match i.checked_sub(1).map(|i| self.units[i]) {
            None => d,
            Some((dec, raw, _)) if dec == d => raw,
            Some((dec, raw, len)) => raw + len + (d - dec - 1),
        }
    }

    /// A finding in the decoded text as a finding in the input.
    pub(crate) fn to_input_finding(&self, f: Finding) -> Finding {
        let kind = match f.kind {
            crate::scan::Kind::Email { at, form } => crate::scan::Kind::Email { at: self.to_input(at), form },
            other => other,
        };
        Finding { start: self.to_input(f.start), end: self.to_input(f.end), kind }
    }
}

/// Decodes the disguised units of one address's text (for pseudonyms and IPv6 parsing).
pub(crate) fn decode_text(text: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match decode(text) {
        Some(d) => std::borrow::Cow::Owned(d.text),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// Length of the unit at the start of `text` when it is a decoded escape of a dot.
pub(crate) fn dot_unit(text: &[u8]) -> Option<usize> {
    match text.first()? {
        b'.' => Some(1),
        b'%' | b'\\' => unit_at(text, 0).filter(|&(c, _)| c == b'.').map(|(_, len)| len),
        _ => None,
    }
}

/// Every finding in `hay`, disguises undone: the scan of the decoded text mapped back.
#[inline(always)] // each caller's closure is inlined into its own copy of the scan loop
pub(crate) fn scan(hay: &[u8], mut emit: impl FnMut(Finding)) {
    match decode(hay) {
        None => crate::prefilter::scan_blocks(hay, emit),
        Some(d) => crate::prefilter::scan_blocks(&d.text, |f| emit(d.to_input_finding(f))),
    }
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
