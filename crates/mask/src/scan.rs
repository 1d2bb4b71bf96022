//! The hot path: one forward pass over the bytes that finds e-mail, IPv4 and IPv6 addresses.
//!
//! # How it works
//!
//! Every address contains a *trigger byte*: `@` (or a disguised at sign: `%40`, `\u0040`, the
//! full-width `＠`) for e-mail, `.` for IPv4, `:` for IPv6. Two `memchr3` searches
//! (`@ . :` and `% \ 0xEF`) jump from trigger to trigger; everything between them is copied by
//! the caller untouched. At a trigger, [`candidate_at`] expands the smallest text that could
//! hold an address around it and validates it by hand (the final IPv6 check is std's parser).
//!
//! # The prefilter contract
//!
//! The trigger searches never produce false negatives: an address always contains at least one
//! trigger byte, and [`candidate_at`] is a pure function of `(haystack, position, floor)`. When a
//! candidate is rejected it may return a *skip hint*; a hint only jumps over positions whose
//! candidate would be rejected too (they share the same maximal span). The test suite checks this
//! by comparing [`scan`] with [`reference_scan`], which visits every byte and ignores the hints.

use memchr::memchr3;

/// What a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An e-mail address; `at` is the offset of its at sign in the haystack.
    Email {
        /// Offset of the at sign (of whichever form) in the haystack.
        at: usize,
        /// How the at sign is written.
        form: AtForm,
    },
    /// A dotted-quad IPv4 address (leading zeros allowed).
    Ipv4,
    /// An IPv6 address in any RFC 4291 text form (without zone id or brackets).
    Ipv6,
    /// A match of the policy's user-defined identifier with this index.
    Custom(u16),
}

/// How the at sign of an e-mail address is written in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtForm {
    /// `@`
    Plain,
    /// `＠` (U+FF20), common in Japanese text.
    FullWidth,
    /// `\u0040`, inside JSON strings.
    JsonEscape,
    /// `%40`, in URLs and query strings.
    UrlEncoded,
}

impl AtForm {
    /// The number of bytes the at sign takes in this form.
    #[allow(clippy::len_without_is_empty)] // an at sign is never empty
    pub const fn len(self) -> usize {
        match self {
            AtForm::Plain => 1,
            AtForm::FullWidth => 3,
            AtForm::JsonEscape => 6,
            AtForm::UrlEncoded => 3,
        }
    }
}

/// One occurrence of personal data: `haystack[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
    /// What was found.
    pub kind: Kind,
}

/// What [`candidate_at`] concluded about one trigger position.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Found(Finding),
    /// No address here; positions before the hint cannot start one either.
    Skip(usize),
    /// No address here, and none at any trigger *of the same byte* before the hint while the
    /// floor stays where it is: the run around the trigger was judged as a whole (too long to
    /// hold an address), and every such trigger in it would judge the same run again. Other
    /// triggers in it (a dot in a colon run) still need their own visit.
    SkipSame(usize),
}

// Bytes examined by the run expansions, counted in tests only: the scan must stay linear on
// adversarial runs, which a timer cannot check reliably but this count can.
#[cfg(test)]
thread_local! {
    pub(crate) static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[inline(always)]
fn count_work(_n: usize) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + _n));
}

const NONE: usize = usize::MAX;

/// Upper bound on how far an IP span is expanded in each direction: far more than the longest
/// address text (45 bytes), small enough to keep the scan linear on adversarial input.
const IP_EXPAND: usize = 64;
/// Upper bound on a local part as scanned backwards from the at sign.
const LOCAL_SCAN: usize = 256;
/// Longest local part accepted (RFC 5321 says 64; real logs have longer VERP addresses).
const LOCAL_MAX: usize = 128;
/// Longest domain accepted (RFC 1035).
const DOMAIN_MAX: usize = 253;

const fn class_table(chars: &[u8], ranges: &[(u8, u8)]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < chars.len() {
        t[chars[i] as usize] = true;
        i += 1;
    }
    let mut r = 0;
    while r < ranges.len() {
        let (lo, hi) = ranges[r];
        let mut b = lo;
        while b <= hi {
            t[b as usize] = true;
            b += 1;
        }
        r += 1;
    }
    t
}

const ALNUM: [(u8, u8); 3] = [(b'0', b'9'), (b'a', b'z'), (b'A', b'Z')];
static WORD: [bool; 256] = class_table(b"_", &ALNUM);
static LOCAL: [bool; 256] = class_table(b"._%+-", &ALNUM);
static LABEL: [bool; 256] = class_table(b"-", &ALNUM);
static HEX: [bool; 256] = class_table(b"", &[(b'0', b'9'), (b'a', b'f'), (b'A', b'F')]);
static V6: [bool; 256] = class_table(b":.", &[(b'0', b'9'), (b'a', b'f'), (b'A', b'F')]);
static V4: [bool; 256] = class_table(b".", &[(b'0', b'9')]);

#[inline]
fn is_word(b: u8) -> bool {
    WORD[b as usize]
}

#[inline]
fn is_hex(b: u8) -> bool {
    HEX[b as usize]
}

#[inline]
fn find_structural(hay: &[u8], from: usize) -> usize {
    memchr3(b'@', b'.', b':', &hay[from..]).map_or(NONE, |i| from + i)
}

#[inline]
fn find_disguise(hay: &[u8], from: usize) -> usize {
    memchr3(b'%', b'\\', 0xEF, &hay[from..]).map_or(NONE, |i| from + i)
}

/// Calls `emit` for every address in `hay`, in order, without overlaps.
#[inline]
pub(crate) fn scan(hay: &[u8], mut emit: impl FnMut(Finding)) {
    let mut from = 0;
    let mut floor = 0;
    let mut next_structural = find_structural(hay, 0);
    let mut next_disguise = find_disguise(hay, 0);
    loop {
        if next_structural < from {
            next_structural = find_structural(hay, from);
        }
        if next_disguise < from {
            next_disguise = find_disguise(hay, from);
        }
        let p = next_structural.min(next_disguise);
        if p == NONE {
            return;
        }
        match candidate_at(hay, p, floor) {
            Outcome::Found(f) => {
                debug_assert!(f.start >= floor && f.start <= p && f.end > p);
                emit(f);
                floor = f.end;
                from = f.end;
            }
            Outcome::Skip(hint) => from = hint.max(p + 1),
            Outcome::SkipSame(_) => from = p + 1,
        }
        if from >= hay.len() {
            return;
        }
    }
}

/// The slow, obviously-correct twin of [`scan`]: tries every byte, no memchr, no skip hints.
/// Used by the tests as the oracle for the prefilter.
#[doc(hidden)]
pub fn reference_scan(hay: &[u8]) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut floor = 0;
    let mut i = 0;
    while i < hay.len() {
        if matches!(hay[i], b'@' | b'.' | b':' | b'%' | b'\\' | 0xEF)
            && let Outcome::Found(f) = candidate_at(hay, i, floor)
        {
            found.push(f);
            floor = f.end;
            i = f.end;
            continue;
        }
        i += 1;
    }
    found
}

/// Decides whether an address contains the trigger byte at `p`. No address may start before
/// `floor` (the end of the previous finding).
pub(crate) fn candidate_at(hay: &[u8], p: usize, floor: usize) -> Outcome {
    match hay[p] {
        b'@' => email(hay, p, AtForm::Plain, floor),
        b'.' => ipv4(hay, p, floor),
        b':' => ipv6(hay, p, floor),
        b'%' if hay[p + 1..].starts_with(b"40") => email(hay, p, AtForm::UrlEncoded, floor),
        b'\\' => json_escape(hay, p, floor),
        0xEF if hay[p + 1..].starts_with(&[0xBC, 0xA0]) => email(hay, p, AtForm::FullWidth, floor),
        _ => Outcome::Skip(p + 1),
    }
}

/// A backslash is only the start of an escape when it starts a run of backslashes: the run is
/// read as pairs, and only an odd run escapes what follows it.
fn json_escape(hay: &[u8], p: usize, floor: usize) -> Outcome {
    if p > floor && hay[p - 1] == b'\\' {
        return Outcome::Skip(p + 1);
    }
    let run = hay[p..].iter().take_while(|&&b| b == b'\\').count();
    let last = p + run - 1;
    if run % 2 == 1 && hay[last..].starts_with(b"\\u0040") {
        return email(hay, last, AtForm::JsonEscape, floor);
    }
    Outcome::Skip(p + run)
}

/// Number of backslashes directly before `i`, down to `floor`, capped (only parity matters).
fn backslashes_before(hay: &[u8], i: usize) -> usize {
    hay[..i].iter().rev().take(64).take_while(|&&b| b == b'\\').count()
}

/// Does an escape sequence (`\n`, `\uXXXX`, `%XX`) end exactly at `i`? Text after an escape
/// starts a new token even when the escape's last character is a letter or digit.
fn escape_ends_at(hay: &[u8], i: usize) -> bool {
    if i >= 3 && hay[i - 3] == b'%' && is_hex(hay[i - 2]) && is_hex(hay[i - 1]) {
        return true;
    }
    if i >= 2
        && hay[i - 2] == b'\\'
        && matches!(hay[i - 1], b'n' | b'r' | b't' | b'b' | b'f' | b'"' | b'/' | b'\\')
        && backslashes_before(hay, i - 1) % 2 == 1
    {
        return true;
    }
    i >= 6
        && hay[i - 6] == b'\\'
        && hay[i - 5] == b'u'
        && hay[i - 4..i].iter().all(|&b| is_hex(b))
        && backslashes_before(hay, i - 5) % 2 == 1
}

/// Where the hex digits of a `\uXXXX` escape end, when `s` lies among them ("10\u0040::1",
/// "caf\u00e91.2.3.4"). Those digits are the escape's, not an address's: a reader decodes the
/// escape, and the decoded text ("10@::1") is what must be judged (plain text kept "::1"
/// readable while the JSON path, which decodes, masked it: Firehose fuzz find).
fn json_escape_digits_end(hay: &[u8], s: usize) -> Option<usize> {
    (0..4).find_map(|k| {
        let u = s.checked_sub(k + 1)?;
        let digits = hay.get(u + 1..u + 5)?;
        (u >= 1
            && hay[u] == b'u'
            && hay[u - 1] == b'\\'
            && backslashes_before(hay, u) % 2 == 1
            && digits.iter().all(|&b| is_hex(b)))
        .then_some(u + 5)
    })
}

/// Left edge of an IP address: start of text, a non-word byte, or the end of an escape.
fn ip_left_ok(hay: &[u8], s: usize) -> bool {
    s == 0 || !is_word(hay[s - 1]) || escape_ends_at(hay, s)
}

/// Does `hay[start..end]` touch a mask of a masked view (`<ipv4>`, `<email:k1:…>`, `10.0.0.*`,
/// `b***@`)? In the input the address ran into a word ("2001:db8::1bob@…", "10.0.0.1::1") and was
/// not one; once its neighbour is masked it must stay not one, or masking twice changes the text.
/// Is the dotted quad at `start..end` the first labels of an e-mail domain
/// ("x@10.0.0.1.example.com")? The operator view keeps domains as written, so an address found
/// there in the view would be masked on a second pass.
fn leads_email_domain(hay: &[u8], start: usize, end: usize) -> bool {
    let before = &hay[..start];
    let after_at = [&b"@"[..], "＠".as_bytes(), b"%40", b"\\u0040"].iter().any(|a| before.ends_with(a));
    after_at && hay.get(end) == Some(&b'.') && starts_label(hay, end + 1)
}

/// Is the dotted quad at `start` a product version: a User-Agent product token
/// ("Chrome/120.0.0.0", "UP.Browser/6.2.3.3", "rv:1.9.0.19") or a Windows package version
/// ("amd64~~6.1.1.0")? Product names are capitalised words after a space or bracket; a lowercase
/// name before the slash, or one with digits or hyphens, is a host ("msra-sa-41/10.190.173.170:9000",
/// "localhost/127.0.0.1", Java's "MININT-FNANLI5/127.0.0.1").
fn product_version(hay: &[u8], start: usize, floor: usize) -> bool {
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

/// How far back the '<' of a token that ends right before an address is looked for: a keyed
/// token with an operator view nested in it fits.
const TOKEN_SCAN: usize = 160;

/// A '*' right against an IP candidate is an operator-mask edge (or looks like one): whichever it
/// is, no IP touching it is an address, so a first and a second pass agree ("a::*::2").
fn touches_star(hay: &[u8], start: usize, end: usize) -> bool {
    hay.get(end) == Some(&b'*') || (start > 0 && hay[start - 1] == b'*')
}

/// Does `text` end in four dot-separated numbers ("¡10.0.0.1")? An operator IPv4 mask shows at
/// most three octets before its `*`, so a run ending in four ends in an address of its own, which
/// the view masks: the run does not reach the `*` there, and must not here either.
fn ends_in_dotted_quad(text: &[u8]) -> bool {
    let numeric = text.iter().rev().take_while(|&&b| b.is_ascii_digit() || b == b'.').count();
    let mut parts = text[text.len() - numeric..].rsplit(|&b| b == b'.');
    (0..4).all(|_| parts.next().is_some_and(|p| !p.is_empty()))
}

fn touches_mask(hay: &[u8], start: usize, end: usize) -> bool {
    let punctuation = hay[end..].iter().take_while(|&&b| b == b':' || b == b'.').count();
    let after = &hay[end + punctuation..]; // "::ffff:<ipv4>", "0::...<email>"
    // A whole token only: "<ipv63a＠92.com" is an address, and once masked no longer reads "<ipv6".
    if opens_token(after) {
        return true;
    }
    // Text that reads on into a masked address, up to its "***@" ("bob@example.com.日本1***@…"
    // is the view of a longer address) or into an operator IP mask ("%40@a.xn--0:0:0:*" and
    // "bob@example.com.com-0:0:0:*" are views of "…::ffff:1.2.3.4"): not an address of its own.
    // Both masks start with a '*' right after the run: without one in reach (the run is at most
    // LOCAL_MAX bytes), skip the run itself, which dense findings made the costliest step; and
    // without a run at all (the common case) skip the search for a '*'.
    let in_run = |b: u8| LOCAL[b as usize] || b == b':' || b >= 0x80;
    let reach = &hay[end..hay.len().min(end + LOCAL_MAX + 1)];
    let run = if reach.first().is_some_and(|&b| in_run(b)) && memchr::memchr(b'*', reach).is_some() {
        hay[end..].iter().take(LOCAL_MAX).take_while(|&&b| in_run(b)).count()
    } else {
        0
    };
    let rest = &hay[end + run..];
    let email_mask = rest
            .strip_prefix(b"***")
            .is_some_and(|at| [&b"@"[..], "＠".as_bytes(), b"%40", b"\\u0040"].iter().any(|a| at.starts_with(a)));
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
    if before.len() > 3 && before.ends_with(b"***") && !before[before.len() - 4].is_ascii_whitespace() {
        return true;
    }
    // "b***@example.comÀa::1": the operator view kept the domain "example.comÀa"; its tail is
    // no address of its own.
    // Every masked at sign below ends in "***" before the domain: without a '*' in reach there
    // is none, and the scan back over a long domain-like run is skipped.
    let in_domain = |b: u8| LABEL[b as usize] || b == b'.' || b >= 0x80;
    let star_behind = before.last().is_some_and(|&b| in_domain(b))
        && memchr::memrchr(b'*', &before[before.len().saturating_sub(DOMAIN_MAX + 8)..]).is_some();
    let domain_len = if star_behind {
        before.iter().rev().take(DOMAIN_MAX).take_while(|&&b| in_domain(b)).count()
    } else {
        0
    };
    let (owner, domain) = before.split_at(before.len() - domain_len);
    // The scan back also ate the letters and digits of "%40", "\u0040" and the bytes of "＠".
    let masked_at: [(&[u8], &[u8]); 4] =
        [(b"***@", b""), (b"***", "＠".as_bytes()), (b"***%", b"40"), (b"***\\", b"u0040")];
    if masked_at.iter().any(|(head, tail)| owner.ends_with(head) && domain.starts_with(tail)) {
        return true;
    }
    if before.last() != Some(&b'>') {
        return false;
    }
    // The '<' that opens the token this '>' closes, past any masks nested in it: the readonly
    // view of "<ipv6:0::2>" is "<ipv6:<ipv6>>".
    // A token never holds a line break: the window ends at one, so every verdict stays within
    // its line and a buffer may be cut after any newline (`Masker::cut_point`).
    let mut window_start = before.len().saturating_sub(TOKEN_SCAN);
    if let Some(nl) = memchr::memrchr(b'\n', &before[window_start..]) {
        window_start += nl + 1;
    }
    let window = &before[window_start..before.len() - 1];
    let mut depth = 0usize;
    let open = window.iter().rposition(|&b| match b {
        b'>' => {
            depth += 1;
            false
        }
        b'<' if depth == 0 => true,
        b'<' => {
            depth -= 1;
            false
        }
        _ => false,
    });
    // Whatever is inside the token: it may be masked ("<ipv6:0::2>" reads "<ipv6:0:0:0:*>" in
    // the operator view) and must still count.
    open.is_some_and(|i| opens_token(&before[window_start + i..]))
}

/// Does `text` start with a whole mask token, `<ipv6>` or `<ipv6:` (keyed, or with something
/// nested), not just its letters (`<ipv63a＠…` is an address)?
fn opens_token(text: &[u8]) -> bool {
    MASK_TOKENS.iter().any(|t| text.starts_with(t) && matches!(text.get(t.len()), Some(b'>' | b':')))
}

/// The run of `class` bytes around the trigger at `p` (not before `floor`): `Ok(hay[s..e])`, or
/// `Err(end)` when it is too long to hold an address (an OID, a serial, a hash), with `end` the
/// end of the whole run. The run stops at "..", which no address holds, so an ellipsis of any
/// length next to an address ("..........010.001.002.003") does not join it.
///
/// The answer is the same from every trigger of the run — a run longer than the limit is too
/// long from all of them, a shorter one never reaches it — so once one trigger has judged a long
/// run, the scan skips the run's other triggers of the same byte (`Outcome::SkipSame(end)`):
/// expanding it again from each of them made runs of `:` or `1.` cost 128 steps per byte.
fn address_run(hay: &[u8], p: usize, floor: usize, class: &[bool; 256]) -> Result<(usize, usize), usize> {
    let n = hay.len();
    let extends_back =
        |s: usize| class[hay[s - 1] as usize] && !(hay[s - 1] == b'.' && s >= floor + 2 && hay[s - 2] == b'.');
    let extends_on = |e: usize| class[hay[e] as usize] && !(hay[e] == b'.' && hay.get(e + 1) == Some(&b'.'));
    let lo = floor.max(p.saturating_sub(IP_EXPAND));
    let mut s = p;
    while s > lo && extends_back(s) {
        s -= 1;
    }
    let hi = n.min(p + IP_EXPAND);
    let mut e = p + 1;
    while e < hi && extends_on(e) {
        e += 1;
    }
    count_work(e - s);
    let capped = (s == lo && s > floor && extends_back(s)) || (e == hi && e < n && extends_on(e));
    if !capped && e - s <= IP_EXPAND {
        return Ok((s, e));
    }
    // Walked once: the scan then skips every trigger of this byte up to here.
    let from = e;
    while e < n && extends_on(e) {
        e += 1;
    }
    count_work(e - from);
    Err(e)
}

// ---------------------------------------------------------------------------------------------
// IPv4

fn ipv4(hay: &[u8], p: usize, floor: usize) -> Outcome {
    let n = hay.len();
    if !(p > floor && hay[p - 1].is_ascii_digit() && p + 1 < n && hay[p + 1].is_ascii_digit()) {
        return Outcome::Skip(p + 1);
    }
    let (s, e) = match address_run(hay, p, floor, &V4) {
        Ok(run) => run,
        Err(end) => return Outcome::SkipSame(end),
    };
    let mut end = e;
    while hay[end - 1] == b'.' {
        end -= 1; // sentence punctuation: "from 10.0.0.1."
    }
    let mut start = s;
    if hay[start] == b'.' {
        // "ipAdEntAddr.127.0.0.1": an OID suffix, not an address; "done...10.0.0.1" is an ellipsis.
        // A word that ends a finding ("bob@example.com.10.0.0.1") is masked away, so it does not
        // count: the view must read the same after masking.
        if start > floor && is_word(hay[start - 1]) && hay[start + 1] != b'.' && !escape_ends_at(hay, start) {
            return Outcome::SkipSame(e);
        }
        while hay[start] == b'.' {
            start += 1;
        }
    }
    // Only a run of three or four dots can hold an address (a quad, or a quad and a port); the
    // dotted numbers of version chains stop here before any parsing.
    let dots = hay[start..end].iter().filter(|&&b| b == b'.').count();
    if dots == 3
        && let Some(f) = ipv4_exact(hay, start, end, floor)
    {
        return Outcome::Found(f);
    }
    // "%2010.0.0.1": the digits of a percent escape run into the first octet.
    if dots == 3
        && start > floor
        && hay[start - 1] == b'%'
        && start + 2 < end
        && is_hex(hay[start])
        && is_hex(hay[start + 1])
        && let Some(f) = ipv4_exact(hay, start + 2, end, floor)
    {
        return Outcome::Found(f);
    }
    // "10\u00401.2.3.4": the hex digits of a JSON escape run into the first octet.
    if dots == 3
        && let Some(after) = json_escape_digits_end(hay, start).filter(|&a| a < end)
        && let Some(f) = ipv4_exact(hay, after, end, floor)
    {
        return Outcome::Found(f);
    }
    // "1.2.3.4.50550" (Dante, BSD netstat): a port after a dot. Only a fifth part that cannot be
    // an octet; "1.2.3.4.5" stays a five-part number.
    let run = &hay[start..end];
    if dots == 4 {
        let last_dot = start + memchr::memrchr(b'.', run).expect("four dots");
        let port = &hay[last_dot + 1..end];
        let value = || port.iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
        if (1..=5).contains(&port.len())
            && (256..=65535).contains(&value())
            && let Some(f) = ipv4_exact(hay, start, last_dot, floor)
        {
            return Outcome::Found(f);
        }
    }
    // The verdict depends on the run alone, not on which of its dots asked: its other dots
    // need no visit.
    Outcome::SkipSame(e)
}

fn ipv4_exact(hay: &[u8], start: usize, end: usize, floor: usize) -> Option<Finding> {
    let right_ok = end == hay.len() || (!is_word(hay[end]) && hay[end] != b'@');
    if !(right_ok && ip_left_ok(hay, start)) || touches_star(hay, start, end) {
        return None;
    }
    parse_ipv4(&hay[start..end])?;
    (!touches_mask(hay, start, end) && !leads_email_domain(hay, start, end) && !product_version(hay, start, floor))
        .then_some(Finding { start, end, kind: Kind::Ipv4 })
}

/// Parses a dotted quad, allowing leading zeros (`010.001.002.003` is 10.1.2.3, as most log
/// producers mean it; inet_aton's octal reading is not what anyone writes in a log).
pub(crate) fn parse_ipv4(text: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = part.iter().fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
        *octet = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(octets)
}

// ---------------------------------------------------------------------------------------------
// IPv6

fn ipv6(hay: &[u8], p: usize, floor: usize) -> Outcome {
    let n = hay.len();
    let prev_hex = p > floor && is_hex(hay[p - 1]);
    let next_ok = p + 1 < n && (is_hex(hay[p + 1]) || hay[p + 1] == b':');
    if !(prev_hex || next_ok) {
        return Outcome::Skip(p + 1);
    }
    // "std::io", "mailer::queue", "arn:aws:iam::123456789012:role": what follows a "::" must be a
    // group of at most four hex digits ending at a non-word byte, or no address holds this "::".
    if hay.get(p + 1) == Some(&b':') {
        let group = hay[p + 2..].iter().take(5).take_while(|&&b| is_hex(b)).count();
        if group == 5 || hay.get(p + 2 + group).is_some_and(|&b| is_word(b)) {
            return Outcome::Skip(p + 2 + group);
        }
    }
    let (s, e) = match address_run(hay, p, floor, &V6) {
        Ok(run) => run,
        // Dots in the run are left to the IPv4 check ("::::…:10.0.0.1" holds an address).
        Err(end) => return Outcome::SkipSame(end),
    };
    // Cheap shape test before any parsing: without "::" an address has exactly 7 colons
    // (6 with an embedded IPv4). Times (12:34:56) and MACs (6 groups) stop here.
    // Spans are at most IP_EXPAND bytes, mostly a few: plain loops beat memchr's set-up here.
    let span = &hay[s..e];
    let (mut colons, mut compressed, mut prev_colon) = (0usize, false, false);
    for &b in span {
        let colon = b == b':';
        colons += usize::from(colon);
        compressed |= colon && prev_colon;
        prev_colon = colon;
    }
    // The whole span gives the same verdict from every colon in it; dots are left for IPv4
    // ("ip:10.0.0.1" is an IPv4 address after a label).
    let judged = Outcome::SkipSame(e);
    if colons < 2 || (!compressed && colons < 6) {
        return judged;
    }
    let mut ends = [e; 4];
    let mut end = e;
    while end > p && hay[end - 1] == b'.' {
        end -= 1;
    }
    ends[1] = end;
    if end >= 2 && hay[end - 1] == b':' && hay[end - 2] != b':' {
        end -= 1; // "2001:db8::1: connection refused"
    }
    ends[2] = end;
    // "2001:db8::1234:58430" (HAProxy): a five-digit port cannot be a group.
    if let Some(last_colon) = hay[s..end].iter().rposition(|&b| b == b':').map(|i| s + i) {
        let port = &hay[last_colon + 1..end];
        if port.len() == 5 && port.iter().all(u8::is_ascii_digit) && last_colon > s && hay[last_colon - 1] != b':' {
            end = last_colon;
        }
    }
    ends[3] = end;
    // "ip%3D2001:db8::1", "a%2001:db8::1": the two hex digits after a '%' are the escape's, not
    // the first group's (and "…***%400::" keeps the "%40" of an e-mail mask whole).
    let escape_digits = s > floor && hay[s - 1] == b'%' && s + 2 < e && is_hex(hay[s]) && is_hex(hay[s + 1]);
    // "10\u0040::1": the same for the four hex digits of a JSON escape.
    let first = if escape_digits {
        s + 2
    } else {
        json_escape_digits_end(hay, s).filter(|&a| a < e && a > floor).unwrap_or(s)
    };
    for (k, &end) in ends.iter().enumerate() {
        if k > 0 && end == ends[k - 1] {
            continue;
        }
        if end > first
            && let Some(f) = ipv6_exact(hay, first, end)
        {
            return Outcome::Found(f);
        }
    }
    // "ip:fe80::1", "[IPv6:2001:db8::1]": a label ending in a hex digit (or in nothing) runs into
    // the address through its colon. Not for ":::" ("arn:aws:s3:::cafe-bucket").
    let label_colon = s + span.iter().position(|&b| b == b':').expect("the span holds the trigger colon");
    let after = label_colon + 1;
    let label_before = label_colon == s || !ip_left_ok(hay, s);
    if label_before && after < e && hay[after] != b':' {
        if after > p {
            return Outcome::Skip(p + 1); // the next colon of this span tries it
        }
        // From here on nothing depends on which colon (after the label's) asked.
        for (k, &end) in ends.iter().enumerate() {
            if k > 0 && end == ends[k - 1] {
                continue;
            }
            if end > after
                && let Some(f) = ipv6_exact(hay, after, end)
            {
                return Outcome::Found(f);
            }
        }
    }
    judged
}

fn ipv6_exact(hay: &[u8], start: usize, end: usize) -> Option<Finding> {
    let text = &hay[start..end];
    if text == b"::" {
        return None; // the unspecified address alone is a separator in logs ("listening on ::")
    }
    // Boundaries first: they are cheap and reject most look-alikes (`std::io`, `iam::1234`).
    let right_ok = end == hay.len() || !is_word(hay[end]);
    if !(right_ok && ip_left_ok(hay, start)) || touches_star(hay, start, end) {
        return None;
    }
    parse_ipv6(text)?;
    (!touches_mask(hay, start, end)).then_some(Finding { start, end, kind: Kind::Ipv6 })
}

/// Parses an IPv6 address in any RFC 4291 text form (groups of 1–4 hex digits, one `::`, an
/// embedded dotted quad as the last 32 bits), exactly the texts `std::net::Ipv6Addr` accepts
/// (property-tested against it), into its eight groups. Hand-written: findings are validated
/// and rendered with it, and std's parser called per candidate was the largest cost on dense
/// IPv6 text (`fe80::1,` repeated ran at 29 MB/s in the operator view).
pub(crate) fn parse_ipv6(text: &[u8]) -> Option<[u16; 8]> {
    let mut groups = [0u16; 8];
    let mut n = 0;
    // Where the "::" stands, as a group index.
    let mut gap = None;
    let mut i = 0;
    if text.starts_with(b"::") {
        gap = Some(0);
        i = 2;
        if text.len() == 2 {
            return Some(groups);
        }
    }
    loop {
        // A "::" stands for at least one group.
        let limit = if gap.is_some() { 7 } else { 8 };
        let mut value = 0u32;
        let mut digits = 0;
        while let Some(d) = text.get(i + digits).and_then(|&b| hex_digit(b)) {
            if digits == 4 {
                return None;
            }
            value = value << 4 | u32::from(d);
            digits += 1;
        }
        if text.get(i + digits) == Some(&b'.') {
            // The embedded dotted quad: the last 32 bits, to the end of the text.
            if n + 2 > limit {
                return None;
            }
            let [a, b, c, d] = parse_strict_ipv4(&text[i..])?;
            groups[n] = u16::from_be_bytes([a, b]);
            groups[n + 1] = u16::from_be_bytes([c, d]);
            n += 2;
            break;
        }
        if digits == 0 || n >= limit {
            return None;
        }
        groups[n] = value as u16;
        n += 1;
        i += digits;
        if i == text.len() {
            break;
        }
        if text[i] != b':' {
            return None;
        }
        i += 1;
        if text.get(i) == Some(&b':') {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            i += 1;
            if i == text.len() {
                break;
            }
        } else if i == text.len() {
            return None;
        }
    }
    match gap {
        None => (n == 8).then_some(groups),
        Some(_) if n > 7 => None,
        Some(g) => {
            let tail = n - g;
            groups.copy_within(g..n, 8 - tail);
            groups[g..8 - tail].fill(0);
            Some(groups)
        }
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A dotted quad as std reads one inside an IPv6 address: no leading zeros, the whole text.
fn parse_strict_ipv4(text: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut v = 0u16;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u16::from(d - b'0');
        }
        *octet = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(octets)
}

// ---------------------------------------------------------------------------------------------
// E-mail

fn email(hay: &[u8], at: usize, form: AtForm, floor: usize) -> Outcome {
    let skip = Outcome::Skip(at + 1);
    // Cheap edges first: a local part needs a character right before the at sign, a domain a
    // label (or a literal) right after it. Runs of at signs stop here.
    let s = at + form.len();
    let local_edge = at > floor && (LOCAL[hay[at - 1] as usize] || hay[at - 1] >= 0x80);
    let domain_edge = s < hay.len() && (LABEL[hay[s] as usize] || hay[s] >= 0x80 || hay[s] == b'[');
    if !(local_edge && domain_edge) {
        return skip;
    }
    let start = match local_part(hay, at, form, floor) {
        Ok(start) => start,
        // "%40%40%40…": the local part before every later "%40" of this ASCII run is as long.
        Err(LocalMiss::TooLongAscii) if form == AtForm::UrlEncoded => {
            let run = hay[at..].iter().take_while(|&&b| LOCAL[b as usize]).count();
            count_work(run);
            return Outcome::SkipSame(at + run);
        }
        Err(_) => return skip,
    };
    let Some(end) = domain(hay, s) else {
        return skip;
    };
    if touches_mask(hay, start, end) {
        return skip; // "a@0.日本10.0.0.1" masks to "a@0.日本<ipv4>": no address appears in the view
    }
    if form == AtForm::UrlEncoded && hay.get(end) == Some(&b'@') {
        // "13957525385%40163.com@p28-contacts.icloud.com": the plain @ owns the address.
        return skip;
    }
    Outcome::Found(Finding { start, end, kind: Kind::Email { at, form } })
}

/// Why there is no local part before an at sign.
enum LocalMiss {
    /// The run of local-part bytes before it is longer than any address's, and all ASCII: every
    /// at sign later in the same ASCII run has a run at least as long before it.
    TooLongAscii,
    Other,
}

/// Finds where the local part ending at `at` starts.
fn local_part(hay: &[u8], at: usize, form: AtForm, floor: usize) -> Result<usize, LocalMiss> {
    let limit = floor.max(at.saturating_sub(LOCAL_SCAN));
    if at <= limit {
        return Err(LocalMiss::Other);
    }
    // The character nearest the at sign decides the script: after Latin text a CJK character
    // ends the local part ("宛先taro@…" is taro's address); after CJK it does not ("山田@…").
    let cjk_mode = match prev_char(hay, at, limit) {
        Some((c, _)) => is_cjk(c),
        None => false,
    };
    let mut i = at;
    let mut ascii = true;
    while i > limit {
        let b = hay[i - 1];
        if b < 0x80 {
            if LOCAL[b as usize] {
                i -= 1;
                continue;
            }
            break;
        }
        ascii = false;
        match prev_char(hay, i, limit) {
            Some((c, len)) if is_letter(c) && (cjk_mode || !is_cjk(c)) => i -= len,
            _ => break,
        }
    }
    count_work(at - i);
    // Too long only when the run really goes on past the limit: a run that the byte before the
    // limit would end anyway (a line break) reads the same whatever the floor, so the verdict
    // does not depend on where a buffer was cut.
    let goes_on = |b: u8| LOCAL[b as usize] || b >= 0x80;
    if i == limit && limit > floor && goes_on(hay[limit - 1]) {
        // A token this long before an at sign is not an address.
        return Err(if ascii { LocalMiss::TooLongAscii } else { LocalMiss::Other });
    }
    let mut start = i;
    // "\nbob@…", "\u003cbob@…": the letters of an escape are not part of the address.
    if start < at && start > floor && hay[start - 1] == b'\\' && backslashes_before(hay, start) % 2 == 1 {
        if hay[start] == b'u' && start + 5 <= at && hay[start + 1..start + 5].iter().all(|&b| is_hex(b)) {
            start += 5;
        } else if hay[start].is_ascii() {
            start += 1; // never into a multi-byte character: "C:\山田@example.jp" keeps 山田
        }
    }
    // "%3Cbob%40…", "email%3Dbob@…": start after the last escape that decodes to a byte no
    // local part contains. An encoded @ stays inside a plain-@ address (source routing).
    let mut j = start;
    while j + 2 < at {
        if hay[j] == b'%' && is_hex(hay[j + 1]) && is_hex(hay[j + 2]) {
            let decoded = hex_value(hay[j + 1]) << 4 | hex_value(hay[j + 2]);
            let keeps = LOCAL[decoded as usize] || (decoded == b'@' && form == AtForm::Plain);
            if !keeps {
                start = j + 3;
            }
            j += 3;
        } else {
            j += 1;
        }
    }
    // "(+help@moz.com)": a leading '+' is the User-Agent "contact follows" convention, not the
    // address's first character.
    while start < at && (hay[start] == b'.' || hay[start] == b'+') {
        start += 1;
    }
    let local = &hay[start..at];
    if local.is_empty() || local.len() > LOCAL_MAX || follows_address_at(hay, start) {
        return Err(LocalMiss::Other);
    }
    local.iter().any(|&b| b.is_ascii_alphanumeric() || b >= 0x80).then_some(start).ok_or(LocalMiss::Other)
}

/// Is `hay[..start]` the at sign of an address ("bob@example.com@example.org")? Then the text at
/// `start` is that address's domain, not a local part, also once the address is masked
/// ("b***@example.com@…", "<email>@example.com@…"). A handle's at sign ("@bob@mastodon.social") follows a space.
fn follows_address_at(hay: &[u8], start: usize) -> bool {
    let before = &hay[..start];
    let Some(at_len) =
        [&b"@"[..], "＠".as_bytes(), b"%40", b"\\u0040"].iter().find(|a| before.ends_with(a)).map(|a| a.len())
    else {
        return false;
    };
    let owner = before.len() - at_len;
    // Only when that at sign can own the text as its domain: in "a@carol@example.org" the
    // first at sign has no domain ("carol" has no top-level domain), so carol's address is
    // carol's (readonly left it readable before: found by fuzzing the Firehose path).
    owner > 0
        && (LOCAL[before[owner - 1] as usize] || matches!(before[owner - 1], b'*' | b'>'))
        && domain(hay, start).is_some()
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// Finds where the domain starting at `s` ends, or `None` if there is no valid domain.
fn domain(hay: &[u8], s: usize) -> Option<usize> {
    let n = hay.len();
    if s >= n {
        return None;
    }
    if hay[s] == b'[' {
        return domain_literal(hay, s);
    }
    // End of the longest run of two or more labels whose last label can be a TLD: the domain
    // when trailing labels cannot end one ("user@example.com.1", "…@example.com.com0ﬀ10.0.0.1",
    // which must read the same once its IP address is masked).
    let mut tld_end = None;
    let mut labels = 0;
    let mut i = s;
    loop {
        let label_start = i;
        let cjk_label = match next_char(hay, i) {
            Some((c, _)) if !c.is_ascii() && is_letter(c) => is_cjk(c),
            Some((c, _)) if c.is_ascii() && LABEL[c as usize] => false,
            _ => break,
        };
        let mut script_end = label_start;
        while i < n {
            let b = hay[i];
            if b < 0x80 {
                if LABEL[b as usize] {
                    i += 1;
                    continue;
                }
                break;
            }
            match next_char(hay, i) {
                // "taro@example.jpまで": a CJK character ends an ASCII label.
                Some((c, len)) if is_letter(c) && (cjk_label || !is_cjk(c)) => {
                    i += len;
                    script_end = i;
                }
                _ => break,
            }
        }
        // "…@example.日本bob@example.com": Latin text run from a CJK label into an at sign is the
        // next address's local part (as the local-part scan reads it), not the end of this domain.
        if cjk_label
            && script_end < i
            && [&b"@"[..], "＠".as_bytes(), b"%40", b"\\u0040"].iter().any(|a| hay[i..].starts_with(a))
        {
            i = script_end;
        }
        let label = &hay[label_start..i];
        if label.len() > 63 || label[0] == b'-' || label[label.len() - 1] == b'-' {
            return None;
        }
        labels += 1;
        if labels >= 2 && is_tld(label) {
            tld_end = Some(i);
        }
        if i - s > DOMAIN_MAX {
            return None;
        }
        if i + 1 < n && hay[i] == b'.' && starts_label(hay, i + 1) {
            i += 1;
            continue;
        }
        break;
    }
    tld_end
}

fn starts_label(hay: &[u8], i: usize) -> bool {
    match next_char(hay, i) {
        Some((c, _)) if c.is_ascii() => LABEL[c as usize] && c != '-',
        Some((c, _)) => is_letter(c),
        None => false,
    }
}

fn is_tld(label: &[u8]) -> bool {
    if label.len() < 2 {
        return false;
    }
    if label.iter().all(u8::is_ascii_alphabetic) {
        return true;
    }
    if label.len() > 4 && label[..4].eq_ignore_ascii_case(b"xn--") {
        return label[4..].iter().all(|&b| LABEL[b as usize]);
    }
    // An internationalised TLD (.日本, .みんな): letters only, no ASCII digits.
    label.iter().any(|&b| b >= 0x80) && !label.iter().any(u8::is_ascii_digit)
}

/// `user@[192.0.2.1]`, `user@[IPv6:2001:db8::1]`.
fn domain_literal(hay: &[u8], s: usize) -> Option<usize> {
    let window = &hay[s + 1..hay.len().min(s + 1 + 52)];
    let close = memchr::memchr(b']', window)?;
    let inner = &window[..close];
    let ok = if inner.len() > 5 && inner[..5].eq_ignore_ascii_case(b"IPv6:") {
        parse_ipv6(&inner[5..]).is_some()
    } else {
        parse_ipv4(inner).is_some()
    };
    ok.then_some(s + 1 + close + 1)
}

// ---------------------------------------------------------------------------------------------
// Non-ASCII text

/// Decodes the UTF-8 character starting at `i`; `None` for ASCII-less garbage or invalid UTF-8.
#[inline]
pub(crate) fn next_char(hay: &[u8], i: usize) -> Option<(char, usize)> {
    let b = *hay.get(i)?;
    let len = match b {
        0x00..=0x7F => return Some((b as char, 1)),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let bytes = hay.get(i..i + len)?;
    let c = std::str::from_utf8(bytes).ok()?.chars().next()?;
    Some((c, len))
}

/// Decodes the UTF-8 character that ends at `i` (not reaching below `limit`).
#[inline]
fn prev_char(hay: &[u8], i: usize, limit: usize) -> Option<(char, usize)> {
    if i <= limit {
        return None;
    }
    if hay[i - 1] < 0x80 {
        return Some((hay[i - 1] as char, 1));
    }
    let mut start = i - 1;
    while start > limit && i - start < 4 && (hay[start] & 0xC0) == 0x80 {
        start -= 1;
    }
    match next_char(hay, start) {
        Some((c, len)) if start + len == i => Some((c, len)),
        _ => None,
    }
}

/// A non-ASCII character that can be part of an address (a letter of any script), as opposed to
/// punctuation, symbols and spaces (Japanese 、。「」：＠ among them).
pub(crate) fn is_letter(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return c.is_ascii_alphanumeric();
    }
    !((0x80..=0xBF).contains(&u)
        || u == 0xD7
        || u == 0xF7
        || (0x2000..=0x2BFF).contains(&u)
        || (0x3000..=0x303F).contains(&u)
        || (0xE000..=0xF8FF).contains(&u)
        || (0xFE10..=0xFE6F).contains(&u)
        || (0xFF00..=0xFF0F).contains(&u)
        || (0xFF1A..=0xFF20).contains(&u)
        || (0xFF3B..=0xFF40).contains(&u)
        || (0xFF5B..=0xFF65).contains(&u)
        || (0xFFF0..=0xFFFF).contains(&u)
        || (0x1F000..=0x1FAFF).contains(&u)
        || c.is_whitespace())
}

/// Japanese, Chinese and Korean script characters (and full-width Latin), which logs write
/// directly against ASCII words.
pub(crate) fn is_cjk(c: char) -> bool {
    let u = c as u32;
    (0x3040..=0x30FF).contains(&u)
        || (0x31F0..=0x31FF).contains(&u)
        || (0x3400..=0x4DBF).contains(&u)
        || (0x4E00..=0x9FFF).contains(&u)
        || (0xAC00..=0xD7AF).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0xFF10..=0xFF19).contains(&u)
        || (0xFF21..=0xFF3A).contains(&u)
        || (0xFF41..=0xFF5A).contains(&u)
        || (0xFF66..=0xFF9F).contains(&u)
        || (0x20000..=0x2FFFF).contains(&u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(s: &str) -> Vec<(&str, &'static str)> {
        let mut out = Vec::new();
        scan(s.as_bytes(), |f| {
            let kind = match f.kind {
                Kind::Email { .. } => "email",
                Kind::Ipv4 => "ipv4",
                Kind::Ipv6 => "ipv6",
                Kind::Custom(_) => "custom",
            };
            out.push((&s[f.start..f.end], kind));
        });
        out
    }

    #[test]
    fn basic_forms() {
        assert_eq!(spans("from a.b+c@example.co.jp."), vec![("a.b+c@example.co.jp", "email")]);
        assert_eq!(spans("ip=10.0.0.1:8080"), vec![("10.0.0.1", "ipv4")]);
        assert_eq!(spans("[2001:db8::1]:443"), vec![("2001:db8::1", "ipv6")]);
        assert_eq!(spans("fe80::1%eth0"), vec![("fe80::1", "ipv6")]);
        assert_eq!(spans("::ffff:192.0.2.1"), vec![("::ffff:192.0.2.1", "ipv6")]);
        assert_eq!(spans("ip:10.0.0.1"), vec![("10.0.0.1", "ipv4")]);
        assert_eq!(spans("listening on :: port 22"), vec![]);
        // Fuzz find: "a::*::2" masked to "a:0:0:**::2" and then found "::2"; IPs never touch a '*'.
        assert_eq!(spans("a::*::2 1::*::1 10.0.0.1*"), vec![]);
        // Views of "2001:db8::1bob@example.com" and "10.0.0.1::1": nothing new appears.
        assert_eq!(spans("2001:db8::1***@example.com 2001:db8::<email> 10.0.0.*::1 <ipv4>::1 ::ffff:<ipv4>"), vec![]);
        assert_eq!(spans("b***@example.com@example.org <email>@example.com@example.org"), vec![]);
        assert_eq!(spans("b***@example.comÀa::@ b***@mx.10.0.0.1 日***%40日本.bob%40example.com"), vec![]);
        assert_eq!(spans("0::...<email> 10.0.0.1..***@"), vec![]);
        assert_eq!(spans("%40@a.xn--0:0:0:*@ b***%40example.com%@日本.aa"), vec![]);
        assert_eq!(spans("**a*** ***bob@example.com***"), vec![("bob@example.com", "email")]);
        assert_eq!(spans("日***@10.0.0.1ꀀ.bob@example.com"), vec![]);
        assert_eq!(spans("bob@example.com.日本1***@example.com bob@example.com.com-0:0:0:*"), vec![]);
        assert_eq!(
            spans("bob@example.com.* 10.0.0.1.* 10.0.0.1%40<ipv4>.*"),
            vec![("bob@example.com", "email"), ("10.0.0.1", "ipv4"), ("10.0.0.1", "ipv4")]
        );
        assert_eq!(spans("ACL bob@example.com:* 10.0.0.1:*"), vec![("bob@example.com", "email"), ("10.0.0.1", "ipv4")]);
        assert_eq!(spans("@bob@mastodon.social"), vec![("bob@mastodon.social", "email")]);
        assert_eq!(spans("12:34:56.789 aa:bb:cc:dd:ee:ff std::io::Error"), vec![]);
        assert_eq!(spans("1.3.6.1.4.1.311 v1.2.3 1.234.567 256.1.1.1"), vec![]);
        assert_eq!(spans("Class@679 local@tbird-admin1 @handle"), vec![]);
        assert_eq!(spans("arn:aws:iam::123456789012:role/x arn:aws:s3:::bucket"), vec![]);
    }

    /// std's parser is the obviously-correct reference for the hand-written one.
    fn std_ipv6(text: &[u8]) -> Option<[u16; 8]> {
        std::str::from_utf8(text).ok()?.parse::<std::net::Ipv6Addr>().ok().map(|a| a.segments())
    }

    #[test]
    fn ipv6_parser_agrees_with_std_on_edge_forms() {
        for text in [
            "", ":", "::", ":::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8", "1::3:4:5:6:7:8", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4", "::ffff:01.2.3.4", "::ffff:1.2.3.256", "1.2.3.4::", "1:2:1.2.3.4",
            "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "12345::", "fFfF::", "1::2::3", "1:", ":1", "1::2:", "::1.2.3",
            "::1.2.3.4.5", "::a.2.3.4", "0:0:0:0:0:0:0:0", "::0.0.0.0", "2001:db8::1%eth0", "[::1]",
        ] {
            assert_eq!(parse_ipv6(text.as_bytes()), std_ipv6(text.as_bytes()), "{text:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4096),
            ..Default::default()
        })]

        #[test]
        fn ipv6_parser_agrees_with_std_on_near_addresses(text in "[0-9a-fA-F:.]{0,46}") {
            proptest::prop_assert_eq!(parse_ipv6(text.as_bytes()), std_ipv6(text.as_bytes()), "{:?}", text);
        }

        #[test]
        fn ipv6_parser_agrees_with_std_on_written_addresses(
            groups in proptest::array::uniform8(proptest::prelude::any::<u16>()),
            zeros in 0usize..8,
            v4 in proptest::prelude::any::<bool>(),
            cut in 0usize..50,
        ) {
            // std's own renderings (with "::" and embedded IPv4 forms), then cut short.
            let mut groups = groups;
            groups[zeros..(zeros + 3).min(8)].fill(0);
            let addr = std::net::Ipv6Addr::from(groups);
            let text = if v4 {
                let [a, b, c, d] = addr.octets()[12..] else { unreachable!() };
                let head = std::net::Ipv6Addr::from([groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], 0, 0]);
                let head = head.to_string();
                let head = head.strip_suffix("::").map_or_else(|| head.trim_end_matches(":0:0").to_owned() + ":", |h| h.to_owned() + "::");
                format!("{head}{a}.{b}.{c}.{d}")
            } else {
                addr.to_string()
            };
            for t in [text.as_str(), &text[..cut.min(text.len())], &text[cut.min(text.len())..]] {
                proptest::prop_assert_eq!(parse_ipv6(t.as_bytes()), std_ipv6(t.as_bytes()), "{:?}", t);
            }
            proptest::prop_assert_eq!(parse_ipv6(addr.to_string().as_bytes()), Some(groups));
        }
    }

    #[test]
    fn a_product_name_at_a_line_start_reads_as_at_the_text_start() {
        let line = "FFFFFFFFEFFFFFFFFFF/70.0.2.1";
        assert_eq!(spans(&format!("x\n{line}")), spans(line));
        assert_eq!(spans(line), vec![]);
    }

    #[test]
    fn decoded_disguises_read_the_same_in_views() {
        // Proptest find: the full-width dot decoded in the input only because of the octet the
        // operator view masks; the view must decode alike, or "bob@…" after it reads differently.
        let m = crate::Masker::new();
        for text in ["10.0.0.1．*bob@example.com.com@", "ip-10-1-2-3.*bob@example.com", "ip-10-1-2-3-*bob@example.com"]
        {
            for role in [crate::Role::Operator, crate::Role::Readonly] {
                let once = m.mask_str(role, text).0;
                assert_eq!(m.mask_str(role, &once).0, once, "{role}: {text}");
            }
        }
    }

    #[test]
    fn a_finding_inside_a_judged_run_ends_the_judgement() {
        // Proptest find: the colon run was judged at its first colon, the IPv4 address inside it
        // moved the floor, and "db8::1" after it must still be tried.
        for hay in [
            "::ffff:1.2.3.4.2001:db8::1@",
            ":::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::::1.2.3.4 ::1",
        ] {
            let mut fast = Vec::new();
            crate::prefilter::scan_blocks(hay.as_bytes(), |f| fast.push(f));
            assert_eq!(fast, reference_scan(hay.as_bytes()), "{hay}");
        }
    }

    #[test]
    fn disguised_at_signs() {
        assert_eq!(spans(r#""to":"bob\u0040example.com""#), vec![(r"bob\u0040example.com", "email")]);
        assert_eq!(spans("u=bob%2Btag%40example.com&x=1"), vec![("bob%2Btag%40example.com", "email")]);
        assert_eq!(spans("連絡先はtaro＠example.jpまで"), vec![("taro＠example.jp", "email")]);
        assert_eq!(spans("宛先taro@example.jpに送信"), vec![("taro@example.jp", "email")]);
        assert_eq!(spans(r#""\nbob@example.com""#), vec![("bob@example.com", "email")]);
        assert_eq!(spans(r"a\\u0040example.com"), vec![]);
        assert_eq!(spans(r"\@example.com \%40example.com"), vec![]); // an escape right before the at sign
        assert_eq!(spans(r"C:\山田@example.jp"), vec![("山田@example.jp", "email")]);
        assert_eq!(
            spans("bob@example.日本bob@example.com"),
            vec![("bob@example.日本", "email"), ("bob@example.com", "email")]
        );
        assert_eq!(spans("retrying...10.0.0.1."), vec![("10.0.0.1", "ipv4")]);
        assert_eq!(spans("]: 1.2.3.4.50550 0.0.0.0.1080: x"), vec![("1.2.3.4", "ipv4"), ("0.0.0.0", "ipv4")]);
        assert_eq!(spans("1.2.3.4.5 1.2.3.4.65536 1.2.3.4.123456 1.2.3.4.123456789012345678901234567890"), vec![]);
        assert_eq!(spans("haproxy[760]: 2001:db8::1234:58430 ["), vec![("2001:db8::1234", "ipv6")]);
        assert_eq!(spans("(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36; rv:1.9.0.19 amd64~~6.1.1.0"), vec![]);
        assert_eq!(
            spans("msra-sa-41/10.190.173.170:9000 GET /Hosts/10.0.0.2 from MININT-FNANLI5/127.0.0.1"),
            vec![("10.190.173.170", "ipv4"), ("10.0.0.2", "ipv4"), ("127.0.0.1", "ipv4")]
        );
        assert_eq!(spans("x***@10.0.0.1.example.com a@0.日本<ipv4>"), vec![]); // views of x@10.0.0.1.example.com, a@0.日本10.0.0.1
        assert_eq!(
            spans("13957525385%40163.com@p28-contacts.icloud.com"),
            vec![("13957525385%40163.com@p28-contacts.icloud.com", "email")]
        );
    }
}
