//! What a mask looks like, in one place: every output format of the views, and the rules that
//! keep views idempotent (the only part of detection that knows what a mask looks like).
//!
//! # Formats
//!
//! * Readonly: `<email>`, `<ipv4>`, `<ipv6>`, `<name>` for a user-defined identifier; with a token
//!   key `<type:key_id:12 hex digits>` ([`token`]).
//! * Operator: an e-mail keeps its first character (a whole escape counts as one), then `***`,
//!   then the at sign and domain as written (a domain literal shows its IP the way IPs are shown);
//!   an IPv4 address keeps its first octets and dots as written, then `*` per octet; an IPv6
//!   address keeps its first groups in lowercase hex without leading zeros, then `*`.
//!
//! # Idempotence
//!
//! Masking a view again must give the view: nothing in it may read as an address that the input
//! did not hold as one. A candidate next to text the views write ([`touches_mask`],
//! [`touches_star`]), inside an e-mail domain the operator view keeps ([`leads_email_domain`]) or
//! in a product version ([`product_version`]) is no address, in the input as in any view of it.
//! Changing a format here means checking these rules against it: the property tests and the fuzz
//! target (masked views are masked again) are how the rules were found.

use std::io::Write as _;

use crate::email::{DOMAIN_MAX, LABEL, LOCAL, LOCAL_MAX, starts_label};
use crate::scan::{AtForm, is_hex, is_word};

/// Type names of the built-in kinds, as tokens show them.
pub(crate) const EMAIL: &[u8] = b"email";
pub(crate) const IPV4: &[u8] = b"ipv4";
pub(crate) const IPV6: &[u8] = b"ipv6";

/// The unkeyed readonly tokens of the built-in kinds, as [`token`] writes them: copied whole,
/// a constant length each, on dense findings.
pub(crate) const EMAIL_TOKEN: &[u8; 7] = b"<email>";
pub(crate) const IPV4_TOKEN: &[u8; 6] = b"<ipv4>";
pub(crate) const IPV6_TOKEN: &[u8; 6] = b"<ipv6>";

/// What any user-defined identifier's token looks like to the scanner around it, in its place:
/// `<` and `>` around text (quoted when it replaces a JSON number, see [`write_quoted`]). A
/// match is masked only when this stand-in leaves the findings around it as they are.
pub(crate) fn token_stand_in(quoted: bool) -> &'static [u8] {
    if quoted { b"\"<x>\"" } else { b"<x>" }
}

/// Writes a user-defined identifier's token with `write`, in quotes when it replaces a whole
/// JSON number in value position (`{"n":12345}` becomes `{"n":"<customer>"}`: a token is no
/// JSON number, and the view must stay JSON).
pub(crate) fn write_quoted(quoted: bool, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    if quoted {
        out.push(b'"');
        write(out);
        out.push(b'"');
    } else {
        write(out);
    }
}

/// What the operator view writes in place of the hidden part of an e-mail local part.
const MASK_STARS: &[u8] = b"***";

/// What the operator view writes for a hidden IPv4 octet (and what ends an e-mail mask's `***`).
pub(crate) const HIDDEN: u8 = b'*';

/// Does a mask end with `b`? An operator mask ends in `*`, a token in `>`: text right after
/// either was written by a view, not typed next to an address.
pub(crate) fn ends_a_mask(b: u8) -> bool {
    b == HIDDEN || b == b'>'
}

/// A readonly token: `<type_name>`, or `<type_name:key_id:digest in hex>` for a pseudonym.
pub(crate) fn token(type_name: &[u8], pseudonym: Option<(&str, &[u8])>, out: &mut Vec<u8>) {
    out.push(b'<');
    out.extend_from_slice(type_name);
    if let Some((id, digest)) = pseudonym {
        out.push(b':');
        out.extend_from_slice(id.as_bytes());
        out.push(b':');
        for b in digest {
            write!(out, "{b:02x}").expect("Vec write");
        }
    }
    out.push(b'>');
}

/// The operator view of an e-mail address: `local` is its local part, `at_and_domain` the rest
/// (starting with the at sign as written); the first character of the local part is kept when
/// `keep_first`. `ip_keep` is what the IP views keep, for domain literals.
pub(crate) fn operator_email(
    local: &[u8],
    at_and_domain: &[u8],
    form: AtForm,
    keep_first: bool,
    ip_keep: (usize, usize),
    out: &mut Vec<u8>,
) {
    if keep_first {
        out.extend_from_slice(&local[..first_unit_len(local, form)]);
    }
    out.extend_from_slice(MASK_STARS);
    let (at, domain) = at_and_domain.split_at(form.len());
    out.extend_from_slice(at);
    if let Some(inner) = domain.strip_prefix(b"[").and_then(|d| d.strip_suffix(b"]")) {
        // A domain literal is an IP address: show it the way IPs are shown.
        out.push(b'[');
        if inner.len() > 5 && inner[..5].eq_ignore_ascii_case(b"IPv6:") {
            out.extend_from_slice(&inner[..5]);
            operator_ipv6_text(&inner[5..], ip_keep.1, out);
        } else {
            operator_ipv4(inner, ip_keep.0, out);
        }
        out.push(b']');
    } else {
        out.extend_from_slice(domain);
    }
}

/// The operator view of an IPv4 address: `keep` octets as written, dots as written (`.`,
/// `\u002e`, `%2e`, an EC2 name's `-`): the view keeps the disguise.
pub(crate) fn operator_ipv4(text: &[u8], keep: usize, out: &mut Vec<u8>) {
    // Nearly every finding is plain `d.d.d.d` or an EC2 name's `d-d-d-d`: its dots need no
    // decoding check per byte.
    const LONGEST: usize = 4 * 3 + 3;
    if text.len() <= LONGEST && text.iter().all(|&b| b.is_ascii_digit() || b == b'.' || b == b'-') {
        // Every octet may become `*` and keep its separator: at most twice the text, plus one.
        out.reserve(2 * LONGEST + 1);
        let (mut octet, mut hidden) = (0, false);
        for &b in text {
            if b.is_ascii_digit() {
                if octet < keep {
                    out.push(b);
                } else if !hidden {
                    out.push(HIDDEN);
                    hidden = true;
                }
                continue;
            }
            if octet >= keep && !hidden {
                out.push(HIDDEN); // an empty octet is hidden too, as the reference does
            }
            out.push(b);
            octet += 1;
            hidden = false;
        }
        if octet >= keep && !hidden {
            out.push(HIDDEN);
        }
        return;
    }
    operator_ipv4_disguised(text, keep, out);
}

/// `operator_ipv4` for any spelling of the dots (`%2e`, `\u002e`, full width): the reference the
/// plain fast path is tested against.
fn operator_ipv4_disguised(text: &[u8], keep: usize, out: &mut Vec<u8>) {
    let mut octet = 0;
    let mut i = 0;
    let mut octet_start = 0;
    loop {
        let dot = if i < text.len() { crate::decode::dot_unit(&text[i..]) } else { Some(0) };
        match dot {
            Some(len) => {
                if octet < keep {
                    out.extend_from_slice(&text[octet_start..i]);
                } else {
                    out.push(HIDDEN);
                }
                if i >= text.len() {
                    return;
                }
                out.extend_from_slice(&text[i..i + len]);
                octet += 1;
                i += len;
                octet_start = i;
            }
            None => i += 1,
        }
    }
}

/// The operator view of an IPv6 address written as `text` (an e-mail domain literal's): `keep`
/// groups, then `*`; text that is no address becomes the readonly token.
fn operator_ipv6_text(text: &[u8], keep: usize, out: &mut Vec<u8>) {
    match crate::ipv6::parse_ipv6(&crate::decode::decode_text(text)) {
        Some(addr) => operator_ipv6(addr, keep, out),
        None => token(IPV6, None, out),
    }
}

/// The operator view of an IPv6 address: `keep` groups as lowercase hex without leading zeros
/// (`{:x}`), each followed by `:`, then `*`. Written without the formatter, byte by byte into
/// reserved room (dense IPv6 text renders one every few bytes; a stack buffer copied out at once
/// stalled on store forwarding, and so did a word stored per group).
pub(crate) fn operator_ipv6(addr: std::net::Ipv6Addr, keep: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(8 * 5 + 1);
    for group in addr.segments().into_iter().take(keep) {
        let digits = (16 - group.leading_zeros()).div_ceil(4).max(1);
        for k in (0..digits).rev() {
            out.push(HEX[usize::from((group >> (4 * k)) & 0xF)]);
        }
        out.push(b':');
    }
    out.push(HIDDEN);
}

/// Pieces of text the masker writes into its views: the unkeyed and keyed token of every type
/// (pseudonym digests with letters in them: a digit-only pattern may hit an all-digit digest,
/// which [`inside_token`] leaves alone) and the fixed parts of the operator masks.
pub(crate) fn samples<'a>(key_id: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut samples = Vec::new();
    for name in ["email", "ipv4", "ipv6"].into_iter().chain(names) {
        samples.push(format!("<{name}>"));
        for digest in ["abcdefabcdef", "a1b2c3d4e5f6"] {
            samples.push(format!("<{name}:{key_id}:{digest}>"));
        }
    }
    for mask in ["***@", "***%40", "***\\u0040", "***＠", "0.0.0.*", "0.0.*.*", "0.*.*.*", "*.*.*.*", "0:0:0:*", "0:*"]
    {
        samples.push(mask.to_owned());
    }
    samples
}

/// Is `hay[start..end]` inside a mask token (`<email>`, `<order_id:k1:0123456789ab>`)? A
/// user-defined identifier never masks part of one: that would change a view on every pass.
pub(crate) fn inside_token(hay: &[u8], start: usize, end: usize) -> bool {
    const REACH: usize = 64;
    let back = &hay[start.saturating_sub(REACH)..start];
    let Some(open) = back.iter().rposition(|&b| b == b'<' || b == b'>') else {
        return false;
    };
    if back[open] != b'<' {
        return false;
    }
    let open = start - back.len() + open;
    let ahead = &hay[end..hay.len().min(end + REACH)];
    let Some(close) = ahead.iter().position(|&b| b == b'<' || b == b'>') else {
        return false;
    };
    if ahead[close] != b'>' {
        return false;
    }
    let inner = &hay[open + 1..end + close];
    let mut parts = inner.split(|&b| b == b':');
    let name = parts.next().unwrap_or_default();
    let name_ok = name.first().is_some_and(u8::is_ascii_lowercase)
        && name.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let rest: Vec<&[u8]> = parts.collect();
    name_ok
        && match rest.as_slice() {
            [] => true,
            [id, digest] => {
                !id.is_empty()
                    && id.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    && digest.len() == 12
                    && digest.iter().all(|&b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            }
            _ => false,
        }
}

/// Length of the first character of an address (a whole percent escape counts as one, and so
/// does a JSON `\uXXXX` escape: half of one would leave a broken escape in the view).
fn first_unit_len(text: &[u8], form: AtForm) -> usize {
    if text.len() >= 6 && text[0] == b'\\' && text[1] == b'u' && text[2..6].iter().all(u8::is_ascii_hexdigit) {
        return 6;
    }
    if form == AtForm::UrlEncoded
        && text.len() >= 3
        && text[0] == b'%'
        && text[1].is_ascii_hexdigit()
        && text[2].is_ascii_hexdigit()
    {
        return 3; // "%2Bsales%40…": a whole escape; "%2ﬀbob%40…" is '%' and then a character
    }
    crate::scan::next_char(text, 0).map_or(1, |(_, len)| len)
}

/// Is the dotted quad at `start..end` the first labels of an e-mail domain
/// ("x@10.0.0.1.example.com")? The operator view keeps domains as written, so an address found
/// there in the view would be masked on a second pass.
pub(crate) fn leads_email_domain(hay: &[u8], start: usize, end: usize) -> bool {
    let before = &hay[..start];
    let after_at = AtForm::ALL.iter().any(|a| before.ends_with(a.spelling()));
    after_at && hay.get(end) == Some(&b'.') && starts_label(hay, end + 1)
}

/// Is the dotted quad at `start` a product version: a User-Agent product token
/// ("Chrome/120.0.0.0", "UP.Browser/6.2.3.3", "rv:1.9.0.19") or a Windows package version
/// ("amd64~~6.1.1.0")? Product names are capitalised words after a space or bracket; a lowercase
/// name before the slash, or one with digits or hyphens, is a host ("msra-sa-41/10.190.173.170:9000",
/// "localhost/127.0.0.1", Java's "MININT-FNANLI5/127.0.0.1").
pub(crate) fn product_version(hay: &[u8], start: usize, floor: usize) -> bool {
    let before = &hay[..start];
    // "rv:" as a word of its own, not the tail of one ("comrv:") or of the address before it
    // ("a@b.cc.rv:10.0.0.1" reads "<email>:10.0.0.1" once masked).
    let rv = before.ends_with(b"rv:") && start >= floor + 3 && (start == 3 || !is_word(hay[start - 4]));
    if rv || before.ends_with(b"~") {
        return true;
    }
    let Some(name_end) = before.len().checked_sub(1).filter(|&i| before[i] == b'/') else {
        return false;
    };
    let name_start = before[..name_end]
        .iter()
        .rev()
        .take(32)
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        .count();
    let name_start = name_end - name_start;
    let name = &before[name_start..name_end];
    name.first().is_some_and(u8::is_ascii_uppercase)
        && !name.iter().any(|&b| b.is_ascii_digit() || b == b'-')
        // A line break starts a product like the start of the text does: the verdict must not
        // change when a stream is cut after it (fuzz find: "\nFFF…F/70.0.2.1").
        && (name_start == 0 || matches!(before[name_start - 1], b' ' | b'\t' | b'(' | b';' | b',' | b'"' | b'\n' | b'\r'))
}

const MASK_TOKENS: [&[u8]; 3] = [b"<email", b"<ipv4", b"<ipv6"];

/// A '*' right against an IP candidate where an operator mask could have written it: no IP
/// touching a mask's star is an address, so a first and a second pass agree ("a::*::2").
///
/// Only stars in the places masks put them. A mask's last star follows what the mask kept (a
/// dot in any of its spellings, a colon, an EC2 name's dash, or a token's `>` where the input
/// had the hex digit a disguised dot ends with); a mask's first star is an IPv4
/// octet's (a dot follows it) or starts an e-mail mask's `***` and its at sign. Other stars are
/// text: Markdown's `**10.0.0.1**` or a bullet's `*10.0.0.1` hold an address (they hid it from
/// the readonly view while any star counted).
pub(crate) fn touches_star(hay: &[u8], start: usize, end: usize) -> bool {
    // The stars right before the candidate, and what stands before them: a mask's last star
    // (input stars may follow it) after what the mask kept, or a token after the text an
    // input's star followed ("EEEE::E*::EE" reads "<ipv6>*::EE" once masked: fuzz find).
    let stars = hay[..start].iter().rev().take_while(|&&b| b == HIDDEN).count();
    let star_before =
        stars > 0 && start > stars && matches!(hay[start - stars - 1], b'.' | b':' | b'-' | b'e' | b'E' | 0x8E | b'>');
    star_before || (hay.get(end) == Some(&HIDDEN) && star_opens_a_mask(hay, start, end))
}

/// Whether the star at `hay[end]`, right after a candidate `hay[start..end]`, may open an
/// operator mask: an IPv4 octet's (a dot in any spelling follows it), an e-mail mask's
/// (`***` and an at sign), or one after a kept IPv6 group or dot the candidate ends with.
fn star_opens_a_mask(hay: &[u8], start: usize, end: usize) -> bool {
    let after = &hay[end + 1..];
    // A dot in any spelling; not an EC2 name's dash, which `dot_unit` also reads as one.
    let dot_after = after.first() != Some(&b'-') && crate::decode::dot_unit(after).is_some();
    (end > start && matches!(hay[end - 1], b'.' | b':' | b'-')) || dot_after || opens_email_mask(&hay[end..])
}

/// Does `text` start with an operator e-mail mask's `***` and an at sign in any spelling?
fn opens_email_mask(text: &[u8]) -> bool {
    text.strip_prefix(MASK_STARS).is_some_and(|at| AtForm::ALL.iter().any(|a| at.starts_with(a.spelling())))
}

/// Where [`touches_mask`] looks for a mask's star: every mask it recognises has one within
/// [`DOMAIN_MAX`] + 4 bytes before the candidate (the stars before a kept domain and its at
/// sign) or [`LOCAL_MAX`] + 2 bytes after it (after a run of address text).
const STAR_BEFORE: usize = DOMAIN_MAX + 8;
const STAR_AFTER: usize = LOCAL_MAX + 8;

/// Is `hay[q]` a star of the kind every mask [`touches_mask`] recognises holds: one after a
/// dot or a colon (an IP mask's, `10.0.0.*`), or after another star (`***`, an e-mail mask's)?
/// A lone star after other text (`*10.0.0.1`, `a*::1`) is in none of them.
fn mask_star(hay: &[u8], q: usize) -> bool {
    q > 0 && matches!(hay[q - 1], b'.' | b':' | HIDDEN)
}

/// The pairs a [`mask_star`] ends: `.*`, `:*`, `**`.
const MASK_PAIRS: [&[u8; 2]; 3] = [b".*", b":*", b"**"];

/// The first [`mask_star`] in `hay[lo..hi]`. After eight stars, three searches for a pair, each
/// a vector loop: a search for the next `*` with a check of the byte before each one cost
/// dense stars (`*::1` repeated) ten instructions a byte.
fn first_mask_star(hay: &[u8], lo: usize, hi: usize) -> Option<usize> {
    static PAIRS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 3]> =
        std::sync::LazyLock::new(|| MASK_PAIRS.map(|pair| memchr::memmem::Finder::new(pair).into_owned()));
    // Most text holds no star, or a few ("0 3 * * *"): a search for each.
    let mut i = lo;
    for _ in 0..8 {
        let q = i + memchr::memchr(HIDDEN, &hay[i..hi])?;
        if mask_star(hay, q) {
            return Some(q);
        }
        i = q + 1;
    }
    // The star before `i` may be the first of a pair.
    let text = &hay[i - 1..hi];
    PAIRS.iter().filter_map(|pair| pair.find(text)).min().map(|m| i + m)
}

/// The last [`mask_star`] in `hay[lo..hi]`, searched as [`first_mask_star`] but from the end.
fn last_mask_star(hay: &[u8], lo: usize, hi: usize) -> Option<usize> {
    static PAIRS: std::sync::LazyLock<[memchr::memmem::FinderRev<'static>; 3]> =
        std::sync::LazyLock::new(|| MASK_PAIRS.map(|pair| memchr::memmem::FinderRev::new(pair).into_owned()));
    let mut i = hi;
    for _ in 0..8 {
        let q = lo + memchr::memrchr(HIDDEN, &hay[lo..i])?;
        if mask_star(hay, q) {
            return Some(q);
        }
        i = q;
    }
    // A pair may start right before `lo`.
    let from = lo.saturating_sub(1);
    let text = &hay[from..i];
    PAIRS.iter().filter_map(|pair| pair.rfind(text)).max().map(|m| from + m + 1)
}

/// What the scan in progress on this thread knows of the [`mask_star`]s of its text: one at
/// `star` (`usize::MAX`: none known), and none in `clear_from..clear_to`. Dense findings with no
/// mask near them (`-::1` or `*::1` repeated, one address every four bytes) then skip
/// [`touches_mask`] for a comparison instead of walking the text around each of them (a fifth
/// of their time), and a view full of masks (`0:0:0:*` repeated, searched again) finds the
/// star it asks about already known.
#[derive(Clone, Copy)]
struct StarIndex {
    hay: usize,
    len: usize,
    star: usize,
    clear_from: usize,
    clear_to: usize,
}

impl StarIndex {
    const CLOSED: StarIndex = StarIndex { hay: 0, len: usize::MAX, star: usize::MAX, clear_from: 0, clear_to: 0 };
}

thread_local! {
    static STARS: std::cell::Cell<StarIndex> = const { std::cell::Cell::new(StarIndex::CLOSED) };
}

/// How far past a window [`mask_star_near`] searches when it finds no star in it, so that the
/// next windows (they move forward with the scan) find their answer in the index.
const STAR_HORIZON: usize = 512;

/// A scan of `hay` in progress on this thread (the prefilter's loop holds one): while it lives,
/// [`mask_star_near`] answers from what it has already searched of `hay`. The buffer is
/// borrowed for the guard's life, so its bytes cannot change under the index; a query about
/// any other buffer (or with no scan open) searches its window.
pub(crate) struct StarScan<'a>(std::marker::PhantomData<&'a [u8]>);

impl<'a> StarScan<'a> {
    pub(crate) fn open(hay: &'a [u8]) -> StarScan<'a> {
        let index = StarIndex { hay: hay.as_ptr() as usize, len: hay.len(), ..StarIndex::CLOSED };
        STARS.with(|s| s.set(index));
        StarScan(std::marker::PhantomData)
    }
}

impl Drop for StarScan<'_> {
    fn drop(&mut self) {
        STARS.with(|s| s.set(StarIndex::CLOSED));
    }
}

/// Is there a [`mask_star`] in `hay[lo..hi]`? Within an open [`StarScan`] of `hay`, mostly one
/// comparison: the scan asks about windows that move forward, a star found is the last of its
/// window (it stays in the next ones longest), and bytes found clear are not searched again
/// while the windows move over them.
#[inline]
fn mask_star_near(hay: &[u8], lo: usize, hi: usize) -> bool {
    let s = STARS.with(std::cell::Cell::get);
    if s.hay == hay.as_ptr() as usize && s.len == hay.len() {
        if lo <= s.star && s.star < hi {
            return true;
        }
        if s.clear_from <= lo && hi <= s.clear_to {
            return false;
        }
    }
    mask_star_searched(hay, lo, hi)
}

/// [`mask_star_near`] where the index does not answer: it searches the bytes of the window it
/// does not know to be clear, and a little beyond.
#[inline(never)]
fn mask_star_searched(hay: &[u8], lo: usize, hi: usize) -> bool {
    let hi = hi.min(hay.len());
    if lo >= hi {
        return false;
    }
    STARS.with(|cell| {
        let mut s = cell.get();
        if s.hay != hay.as_ptr() as usize || s.len != hay.len() {
            return first_mask_star(hay, lo, hi).is_some();
        }
        // hay[lo..known] holds none.
        let known = if s.clear_from <= lo && lo <= s.clear_to { s.clear_to.min(hi) } else { lo };
        if let Some(q) = last_mask_star(hay, known, hi) {
            s.star = q;
            cell.set(s);
            return true;
        }
        let upto = hay.len().min(hi + STAR_HORIZON);
        match first_mask_star(hay, hi, upto) {
            Some(q) => (s.star, s.clear_from, s.clear_to) = (q, lo, q),
            None => (s.clear_from, s.clear_to) = (lo, upto),
        }
        cell.set(s);
        false
    })
}

/// Runs of address text next to a candidate shorter than this are walked byte by byte in
/// [`touches_mask`]; longer ones are first searched for a `*` with memchr.
const SHORT_RUN: usize = 8;

/// Does `text` end in four dot-separated numbers ("¡10.0.0.1")? An operator IPv4 mask shows at
/// most three octets before its `*`, so a run ending in four ends in an address of its own, which
/// the view masks: the run does not reach the `*` there, and must not here either.
fn ends_in_dotted_quad(text: &[u8]) -> bool {
    let numeric = text.iter().rev().take_while(|&&b| b.is_ascii_digit() || b == b'.').count();
    let mut parts = text[text.len() - numeric..].rsplit(|&b| b == b'.');
    (0..4).all(|_| parts.next().is_some_and(|p| !p.is_empty()))
}

/// Does `hay[start..end]` touch an operator mask (`10.0.0.*`, `b***@`)? In the input the address
/// ran into a word ("2001:db8::1bob@…", "10.0.0.1::1") and was not one; the operator view keeps
/// the text around its masks, and there it must stay not one, or masking twice changes the
/// text. (Tokens are not masks here: the text next to a token is judged as it reads, and the
/// masker masks it in the same call, [`token_glued`].)
///
/// "Touches" means: a run of address text joins it to an operator mask — `***` and an at sign ahead ("bob@example.com.日本1***@…"), an
/// IP mask ahead that holds no `::` and does not end in a dotted quad of its own
/// ("bob@example.com.com-0:0:0:*"), `.*`, `:*` or `***` right before it, or the domain an
/// operator e-mail mask kept before it ("b***@example.comÀa::1"). Each clause was a fuzz or
/// proptest find where masking a view a second time changed it.
pub(crate) fn touches_mask(hay: &[u8], start: usize, end: usize) -> bool {
    // A star right next to the candidate (`*::1` repeated) sends every clause below to work;
    // without a mask's star near, none holds.
    let star_next_to = (start > 0 && hay[start - 1] == HIDDEN) || hay.get(end) == Some(&HIDDEN);
    if star_next_to && !mask_star_near(hay, start.saturating_sub(STAR_BEFORE), end + STAR_AFTER) {
        return false;
    }
    // Text that reads on into a masked address, up to its "***@" ("bob@example.com.日本1***@…"
    // is the view of a longer address) or into an operator IP mask ("%40@a.xn--0:0:0:*" and
    // "bob@example.com.com-0:0:0:*" are views of "…::ffff:1.2.3.4"): not an address of its own.
    // Both masks start with a '*' right after the run: without one in reach (the run is at most
    // LOCAL_MAX bytes), skip the run itself, which dense findings made the costliest step; and
    // without a run at all (the common case) skip the search for a '*'.
    let in_run = |b: u8| LOCAL[b as usize] || b == b':' || b >= 0x80;
    // A short run (most are) is walked: only a '*' right after it matters. A long one is
    // searched for a '*' first (dense findings made walking every run the costliest step, and
    // a memchr per finding was a tenth of the time on dense e-mail chains).
    let short = hay[end..].iter().take(SHORT_RUN).take_while(|&&b| in_run(b)).count();
    let reach = &hay[end..hay.len().min(end + LOCAL_MAX + 1)];
    let run = if short < SHORT_RUN {
        if hay.get(end + short) == Some(&HIDDEN) { short } else { 0 }
    } else if !mask_star_near(hay, start.saturating_sub(STAR_BEFORE), end + STAR_AFTER) {
        // Every clause below needs a mask's star near the candidate: none, no mask (dense
        // findings in long runs, `-::1` repeated, ask here once per finding).
        return false;
    } else if memchr::memchr(b'*', reach).is_some() {
        hay[end..].iter().take(LOCAL_MAX).take_while(|&&b| in_run(b)).count()
    } else {
        0
    };
    let rest = &hay[end + run..];
    let email_mask = opens_email_mask(rest);
    // Domain text only ("10.0.0.1%4010.0.0.*" is not a domain running into a mask).
    let label_run =
        hay[end..end + run].iter().take_while(|&&b| LABEL[b as usize] || b == b'.' || b == b':' || b >= 0x80).count();
    // An operator IP mask never holds "::" (IPv6 prefixes are written out group by group), so a
    // run through one ("1.2.3.4::ffff:1.2.3.4.*") crosses another address and proves nothing.
    let ip_mask = label_run == run
        && run >= 2
        && rest.first() == Some(&b'*')
        && matches!(hay[end + run - 1], b':' | b'.')
        && is_hex(hay[end + run - 2])
        && !hay[end..end + run].windows(2).any(|w| w == b"::")
        && !ends_in_dotted_quad(&hay[end..end + run - 1]);
    if email_mask || ip_mask {
        return true;
    }
    let before = &hay[..start];
    if before.ends_with(b".*") || before.ends_with(b":*") {
        return true;
    }
    // "b***%40example.com%@…": text right after an operator e-mail mask (not Markdown's " ***bold").
    if before.len() > 3 && before.ends_with(MASK_STARS) && !before[before.len() - 4].is_ascii_whitespace() {
        return true;
    }
    // "b***@example.comÀa::1": the operator view kept the domain "example.comÀa"; its tail is
    // no address of its own.
    // Every masked at sign below ends in "***" before the domain: without a '*' in reach there
    // is none, and the scan back over a long domain-like run is skipped.
    let in_domain = |b: u8| LABEL[b as usize] || b == b'.' || b >= 0x80;
    // As ahead: a short run is walked (a mask ending it would be right before it), a long one
    // only when a '*' is in reach.
    let short = before.iter().rev().take(SHORT_RUN).take_while(|&&b| in_domain(b)).count();
    let domain_len = if short < SHORT_RUN {
        short
    } else if memchr::memrchr(b'*', &before[before.len().saturating_sub(DOMAIN_MAX + 8)..]).is_some() {
        before.iter().rev().take(DOMAIN_MAX).take_while(|&&b| in_domain(b)).count()
    } else {
        0
    };
    let (owner, domain) = before.split_at(before.len() - domain_len);
    // Every masked at sign is "***" and the at sign's lead (what of it the domain class did not
    // eat: one byte, or none of "＠"): without a '*' right there, none is.
    let star_at = |back: usize| owner.len() > back && owner[owner.len() - 1 - back] == HIDDEN;
    if !(star_at(0) || star_at(1)) {
        return false;
    }
    // The scan back also ate the letters and digits of "%40", "\u0040" and the bytes of "＠":
    // each at sign is split where the domain class begins in it.
    AtForm::ALL.iter().any(|form| {
        let spelling = form.spelling();
        let (lead, tail) = spelling.split_at(spelling.iter().position(|&b| in_domain(b)).unwrap_or(spelling.len()));
        owner.strip_suffix(lead).is_some_and(|o| o.ends_with(MASK_STARS)) && domain.starts_with(tail)
    })
}

/// Bytes next to which a token changes no verdict: no address candidate ends right before
/// them or starts right after them, and the scanner's rules read nothing through them.
static APART: [bool; 256] = crate::scan::class_table(b" \t\r\n\"',;()[]{}<>|=&/", &[]);

/// Is `b` one of the [`APART`] bytes, next to which a token changes no verdict?
pub(crate) fn is_apart(b: u8) -> bool {
    APART[b as usize]
}

/// Whether `replacement`, the view of the finding `hay[start..end]`, is a token glued to the
/// text around it: it opens with `<` after a byte that may end an address (`10.0.0.1::1`
/// reads `<ipv4>::1`), or closes with `>` before one that may start an address
/// (`<ipv4>10.0.0.1` in the input). There the view must be searched again: what the input's
/// finding hid from the scanner ("::1" ran into "10.0.0.1") stands apart once masked, and
/// the view is what masking it again gives only once that is masked too.
///
/// The wide rule, for views with user-defined identifiers (a pattern may match any text) and
/// the reference [`glued_before`] and [`glued_after`] are tested against.
pub(crate) fn token_glued(hay: &[u8], start: usize, end: usize, replacement: &[u8]) -> bool {
    (replacement.first() == Some(&b'<') && start > 0 && !APART[hay[start - 1] as usize])
        || (replacement.last() == Some(&b'>') && hay.get(end).is_some_and(|&b| !APART[b as usize]))
}

/// [`token_glued`], where the glued text could hold an address: what stands between the token
/// and the nearest [`APART`] byte on that side holds what some kind of address needs
/// ([`may_hold_address`]). Every address, and every rule the scanner judges one by, lies
/// within such a stretch of text, so without it the token's neighbours judge as they did. Glued text is read in the view
/// (tokens' `<` and `>` end it), up to [`GLUED_REACH`] bytes: longer glued text counts as
/// holding an address.
///
/// Real text glues tokens to words and single colons (`mailto:<email>?subject=`,
/// `連絡先：<email>`, `<ipv4>:443`): searching those lines again cost the readonly view 15–22 %
/// on SES events and application logs.
///
/// This side: `before` is the view up to the replacement.
fn glued_before(before: &[u8], replacement: &[u8]) -> bool {
    if replacement.first() != Some(&b'<') || before.last().is_none_or(|&b| APART[b as usize]) {
        return false;
    }
    let reach = &before[before.len().saturating_sub(GLUED_REACH)..];
    match reach.iter().rposition(|&b| APART[b as usize]) {
        Some(i) => may_hold_address(&reach[i + 1..]),
        None => reach.len() == GLUED_REACH || may_hold_address(reach),
    }
}

/// Does the replacement close with a token glued to the input's next byte `next`? Then the
/// text after it is checked with [`glued_after`] once the view holds it.
fn may_glue_after(replacement: &[u8], next: Option<&u8>) -> bool {
    replacement.last() == Some(&b'>') && next.is_some_and(|&b| !APART[b as usize])
}

/// The other side: `after` is the view's text after the token up to the next replacement (or
/// the view's end), and `then_apart` whether what follows it ends glued text (a token's `<`,
/// the end of the view).
fn glued_after(after: &[u8], then_apart: bool) -> bool {
    let reach = &after[..after.len().min(GLUED_REACH)];
    match reach.iter().position(|&b| APART[b as usize]) {
        Some(i) => may_hold_address(&reach[..i]),
        None => reach.len() == GLUED_REACH || !then_apart || may_hold_address(reach),
    }
}

/// The narrow rule applied as a view is written, replacement by replacement: whether the
/// replacement just written is glued before, and, once the next one is written (or the view
/// ends), whether the token before it was glued after.
#[derive(Default)]
pub(crate) struct GlueCheck {
    /// A token whose text after it is still to be read: the caller's key for it, and where it
    /// ends in the output.
    pending: Option<(usize, usize)>,
    /// Where the last replacement ended in the output (0 before the first).
    last_end: usize,
}

impl GlueCheck {
    /// After `out[from..]`, the replacement of a finding followed in the input by `next`, was
    /// written into the view that starts at `start`: `glued(key)` for the token before it if
    /// that one was glued after, and whether this one is glued before. `key` names this one.
    #[inline]
    pub(crate) fn replaced(
        &mut self,
        out: &[u8],
        start: usize,
        from: usize,
        next: Option<&u8>,
        key: usize,
        mut glued: impl FnMut(usize),
    ) -> bool {
        let replacement = &out[from..];
        let last_end = std::mem::replace(&mut self.last_end, out.len());
        let pending = self.pending.take();
        if may_glue_after(replacement, next) {
            self.pending = Some((key, out.len()));
        }
        // Between two tokens, one byte or none ("<ipv6>-<ipv6>", dense findings): both sides
        // would read that text, and one byte holds no address.
        if from - last_end <= 1
            && last_end > start
            && APART[out[last_end - 1] as usize]
            && APART[replacement[0] as usize]
        {
            return false;
        }
        if let Some((at, end)) = pending
            && glued_after(&out[end..from], replacement.first().is_some_and(|&b| APART[b as usize]))
        {
            glued(at);
        }
        glued_before(&out[start..from], replacement)
    }

    /// The view `out` ends: `glued(key)` for its last token if it was glued after.
    pub(crate) fn ended(self, out: &[u8], glued: impl FnOnce(usize)) {
        if let Some((at, end)) = self.pending
            && glued_after(&out[end..], true)
        {
            glued(at);
        }
    }
}

/// How far [`glued_before`] and [`glued_after`] look for the end of the text glued to a token.
const GLUED_REACH: usize = 64;

/// Could `text` hold an address (see [`glued_before`])? Only with what each kind needs: an at
/// sign and a letter, digit or non-ASCII byte (e-mail), a dot and a digit (IPv4), two colons
/// and a hex digit (IPv6), `ip-` and a digit (an EC2 name), each in any spelling the scanner
/// reads: a `%` or a backslash with a letter or digit may spell any of them, so either counts
/// as all. Full-width text is looked at form by form: a full-width colon or letter is no part
/// of an address, its digits, dot and at sign are.
fn may_hold_address(text: &[u8]) -> bool {
    let (mut at, mut escape, mut word) = (false, false, false);
    let (mut dot, mut digit, mut hex, mut colons, mut ec2) = (false, false, false, 0, false);
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'@' => at = true,
            b'%' | b'\\' => escape = true,
            b'.' => dot = true,
            b':' => colons += 1,
            b'-' => ec2 |= text[..i].ends_with(b"ip"),
            0xEF => match text.get(i + 1..i + 3) {
                Some([0xBC, 0xA0]) => at = true,
                Some([0xBC, 0x8E]) => dot = true,
                Some([0xBC, 0x90..=0x99]) => (digit, hex, word) = (true, true, true),
                _ => word = true,
            },
            _ => {
                word |= b.is_ascii_alphanumeric() || b >= 0x80;
                digit |= b.is_ascii_digit();
                hex |= b.is_ascii_hexdigit();
            }
        }
        if (at || escape) && word || digit && (dot || ec2) || hex && colons >= 2 {
            return true;
        }
    }
    false
}

/// Does `text` start with a whole mask token, `<ipv6>` or `<ipv6:` (keyed, or with something
/// nested), not just its letters (`<ipv63a＠…` is an address)?
pub(crate) fn opens_token(text: &[u8]) -> bool {
    // Every token opens with '<': most texts are decided by their first byte.
    text.first() == Some(&b'<')
        && MASK_TOKENS.iter().any(|t| text.starts_with(t) && matches!(text.get(t.len()), Some(b'>' | b':')))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        // Any digits, dots and dashes (as an EC2 name writes them) up to the longest quad: the
        // renderers agree on texts no finding has too (empty octets, five of them).
        #[test]
        fn the_plain_ipv4_fast_path_renders_as_the_disguise_aware_path(
            text in "[0-9.-]{0,15}",
            keep in 0usize..=4,
        ) {
            let (mut fast, mut reference) = (b"x".to_vec(), b"x".to_vec());
            operator_ipv4(text.as_bytes(), keep, &mut fast);
            operator_ipv4_disguised(text.as_bytes(), keep, &mut reference);
            proptest::prop_assert_eq!(fast, reference, "{} keep {}", text, keep);
        }
    }

    proptest::proptest! {
        /// The operator view of an IPv6 address is `{:x}` of its first `keep` groups, each with
        /// a colon, then `*`.
        #[test]
        fn the_ipv6_operator_view_is_the_formatted_groups(groups in proptest::array::uniform8(0u16..), keep in 0usize..=8) {
            let addr = std::net::Ipv6Addr::from(groups);
            let mut out = b"x".to_vec();
            operator_ipv6(addr, keep, &mut out);
            let expected: String = groups[..keep].iter().map(|g| format!("{g:x}:")).collect::<String>() + "*";
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), format!("x{expected}"));
        }
    }

    proptest::proptest! {
        /// Inside a scan, the index answers every window as a search of that window would,
        /// whatever order the windows come in (they mostly move forward; candidates found
        /// behind the last one move back). Windows start and end near stars, and near a star's
        /// distance of [`STAR_HORIZON`], where an index that knows one byte too much or too
        /// little answers wrong.
        #[test]
        fn the_star_index_answers_as_a_search_of_the_window(
            text in proptest::collection::vec(
                proptest::prop_oneof![60 => proptest::sample::select(b".:a1 ".to_vec()), 1 => proptest::strategy::Just(HIDDEN)],
                0..2000,
            ),
            windows in proptest::collection::vec(
                (proptest::sample::select(vec![0usize, 1, 2, 3]), proptest::arbitrary::any::<proptest::sample::Index>(), 0usize..4, 0usize..600),
                1..80,
            ),
        ) {
            let stars: Vec<usize> = (0..text.len()).filter(|&q| text[q] == HIDDEN && mask_star(&text, q)).collect();
            let near = |index: &proptest::sample::Index, back: usize| {
                if stars.is_empty() { index.index(text.len() + 1) } else { stars[index.index(stars.len())].saturating_sub(back) }
            };
            let _scan = StarScan::open(&text);
            let mut last = 0usize;
            for (shape, index, d, width) in windows {
                let (lo, hi) = match shape {
                    // On from the last window, as a scan asks.
                    0 => (last + width % 48, last + width % 48 + width),
                    // Starting right before or at a star.
                    1 => (near(&index, d), near(&index, d) + width),
                    // Ending right before, at or after a star.
                    2 => (near(&index, width % 400).max(last), near(&index, 0) + d),
                    // Ending where the index's search beyond the last window stopped.
                    _ => (near(&index, STAR_HORIZON + width % 300 + d), near(&index, STAR_HORIZON) + d),
                };
                let lo = lo.min(text.len());
                last = lo;
                let slow = (lo..hi.min(text.len())).any(|q| text[q] == HIDDEN && mask_star(&text, q));
                let first = lo < hi.min(text.len()) && first_mask_star(&text, lo, hi.min(text.len())).is_some();
                let rev = lo < hi.min(text.len()) && last_mask_star(&text, lo, hi.min(text.len())).is_some();
                proptest::prop_assert_eq!(first, slow, "first_mask_star at {}..{}", lo, hi);
                proptest::prop_assert_eq!(rev, slow, "last_mask_star at {}..{}", lo, hi);
                proptest::prop_assert_eq!(mask_star_near(&text, lo, hi), slow, "index at {}..{}", lo, hi);
            }
        }
    }

    #[test]
    fn the_whole_tokens_are_what_token_writes() {
        for (name, whole) in [(EMAIL, &EMAIL_TOKEN[..]), (IPV4, &IPV4_TOKEN[..]), (IPV6, &IPV6_TOKEN[..])] {
            let mut out = Vec::new();
            token(name, None, &mut out);
            assert_eq!(out, whole);
        }
    }

    #[test]
    fn the_operator_view_keeps_octets_and_dots_as_written() {
        for (text, keep, view) in
            [("10.1.2.3", 2, "10.1.*.*"), ("10-1-2-3", 3, "10-1-2-*"), ("010.001.002.003", 0, "*.*.*.*")]
        {
            let mut out = Vec::new();
            operator_ipv4(text.as_bytes(), keep, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), view);
        }
    }
}
