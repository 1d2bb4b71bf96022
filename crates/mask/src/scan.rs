//! The scanner's core: what a finding is, what one trigger position decides, and the pieces the
//! address kinds share. Each kind lives in its own module ([`crate::email`], [`crate::ipv4`],
//! [`crate::ipv6`]); what a mask looks like, and the rules that keep views idempotent, only in
//! [`crate::view`]. The hot path that visits trigger positions is [`crate::prefilter::scan_blocks`]
//! (disguises undone first by [`crate::decode::scan`]).
//!
//! # Candidates
//!
//! Every address contains a *trigger byte*: `@` (or a disguised at sign, one of [`AtForm`]) for
//! e-mail, `.` for IPv4, `:` for IPv6. A *candidate* is the smallest text around a trigger that
//! could hold an address: [`candidate_at`] expands it (an IP run of [`address_run`], a local part
//! and a domain around an at sign), validates it by hand and applies the view rules.
//!
//! # The contract the prefilter relies on
//!
//! [`candidate_at`] is a pure function of `(haystack, position, floor)`, where `floor` is the end
//! of the previous finding (no address starts before it). When it rejects a position it may
//! return a hint ([`Outcome::Skip`], [`Outcome::SkipSame`]) that only jumps over positions whose
//! verdict would be the same rejection. The tests hold the prefilter to the every-byte reference
//! scan in [`crate::oracle`], which ignores the hints.

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
    /// An IPv6 address in any RFC 4291 text form (without zone id or brackets), and the address
    /// it spells: the views render from it, so a finding is parsed once.
    Ipv6(std::net::Ipv6Addr),
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
    /// Every form.
    pub const ALL: [AtForm; 4] = [AtForm::Plain, AtForm::FullWidth, AtForm::JsonEscape, AtForm::UrlEncoded];

    /// How the at sign is spelled in this form.
    pub const fn spelling(self) -> &'static [u8] {
        match self {
            AtForm::Plain => b"@",
            AtForm::FullWidth => "＠".as_bytes(),
            AtForm::JsonEscape => b"\\u0040",
            AtForm::UrlEncoded => b"%40",
        }
    }

    /// The number of bytes the at sign takes in this form.
    #[allow(clippy::len_without_is_empty)] // an at sign is never empty
    pub const fn len(self) -> usize {
        self.spelling().len()
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
    /// [`Outcome::SkipSame`] for a run too long to hold an address whatever the floor: its
    /// triggers of the same byte before `kept` see the limit ahead of them, so a finding in
    /// the run does not end their judgement (a dot's IPv4 address inside a long colon run).
    LongRun {
        until: usize,
        kept: usize,
    },
}

// Bytes examined by the run expansions, counted in tests only: the scan must stay linear on
// adversarial runs, which a timer cannot check reliably but this count can.
#[cfg(test)]
thread_local! {
    pub(crate) static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[inline(always)]
pub(crate) fn count_work(_n: usize) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + _n));
}

/// Upper bound on how far an IP span is expanded in each direction: far more than the longest
/// address text (45 bytes), small enough to keep the scan linear on adversarial input.
pub(crate) const IP_EXPAND: usize = 64;

pub(crate) const fn class_table(chars: &[u8], ranges: &[(u8, u8)]) -> [bool; 256] {
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

pub(crate) const ALNUM: [(u8, u8); 3] = [(b'0', b'9'), (b'a', b'z'), (b'A', b'Z')];
static WORD: [bool; 256] = class_table(b"_", &ALNUM);
static HEX: [bool; 256] = class_table(b"", &[(b'0', b'9'), (b'a', b'f'), (b'A', b'F')]);

#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    WORD[b as usize]
}

#[inline]
pub(crate) fn is_hex(b: u8) -> bool {
    HEX[b as usize]
}

/// The value of a hex digit: one load per byte (IPv6 groups, `%XX` and `\uXXXX` escapes).
#[inline]
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    const NOT_HEX: u8 = 0xFF;
    static VALUE: [u8; 256] = {
        let mut t = [NOT_HEX; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = match b as u8 {
                d @ b'0'..=b'9' => d - b'0',
                d @ b'a'..=b'f' => d - b'a' + 10,
                d @ b'A'..=b'F' => d - b'A' + 10,
                _ => NOT_HEX,
            };
            b += 1;
        }
        t
    };
    let v = VALUE[b as usize];
    (v != NOT_HEX).then_some(v)
}

/// Decides whether an address contains the trigger byte at `p`. No address may start before
/// `floor` (the end of the previous finding).
pub(crate) fn candidate_at(hay: &[u8], p: usize, floor: usize) -> Outcome {
    match hay[p] {
        b'@' => crate::email::email(hay, p, AtForm::Plain, floor),
        b'.' => crate::ipv4::ipv4(hay, p, floor),
        b':' => crate::ipv6::ipv6(hay, p, floor),
        b'%' if hay[p..].starts_with(AtForm::UrlEncoded.spelling()) => {
            crate::email::email(hay, p, AtForm::UrlEncoded, floor)
        }
        b'\\' => crate::email::json_escape(hay, p, floor),
        0xEF if hay[p..].starts_with(AtForm::FullWidth.spelling()) => {
            crate::email::email(hay, p, AtForm::FullWidth, floor)
        }
        _ => Outcome::Skip(p + 1),
    }
}

/// Number of backslashes directly before `i`, capped at 64 (only parity matters).
pub(crate) fn backslashes_before(hay: &[u8], i: usize) -> usize {
    hay[..i].iter().rev().take(64).take_while(|&&b| b == b'\\').count()
}

/// Does an escape sequence (`\n`, `\uXXXX`, `%XX`) end exactly at `i`? Text after an escape
/// starts a new token even when the escape's last character is a letter or digit.
pub(crate) fn escape_ends_at(hay: &[u8], i: usize) -> bool {
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
pub(crate) fn json_escape_digits_end(hay: &[u8], s: usize) -> Option<usize> {
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
pub(crate) fn ip_left_ok(hay: &[u8], s: usize) -> bool {
    s == 0 || !is_word(hay[s - 1]) || escape_ends_at(hay, s)
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
///
/// A run the limit cuts ahead is walked on to its end: every trigger of it with the limit still
/// ahead (before `kept`, the end less the limit) judges it too long whatever the floor, so the
/// scan keeps that judgement across findings (`Err((end, kept))`) and walks the run once. The
/// judgement used to end at every finding inside the run (a finding's end is a new floor), and
/// the run was walked to its end again after each: `10.0.0.1::1` repeated was quadratic (a MiB
/// took half a minute). A run cut behind only may be shortened by the next floor (`kept` 0).
pub(crate) fn address_run(
    hay: &[u8],
    p: usize,
    floor: usize,
    class: &[bool; 256],
) -> Result<(usize, usize), (usize, usize)> {
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
    if e != hi || e == n || !extends_on(e) {
        return Err((e, 0)); // cut behind only: the next floor may shorten it
    }
    // Every byte in (p, e) extends the run; walk on to its end, then each trigger p' with
    // p' + IP_EXPAND < e has the limit ahead of it.
    let from = e;
    while e < n && extends_on(e) {
        e += 1;
    }
    count_work(e - from);
    Err((e, e - IP_EXPAND))
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
pub(crate) fn prev_char(hay: &[u8], i: usize, limit: usize) -> Option<(char, usize)> {
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
    use crate::oracle::{reference_scan, scan};

    fn spans(s: &str) -> Vec<(&str, &'static str)> {
        let mut out = Vec::new();
        scan(s.as_bytes(), |f| {
            let kind = match f.kind {
                Kind::Email { .. } => "email",
                Kind::Ipv4 => "ipv4",
                Kind::Ipv6(_) => "ipv6",
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
        // Fuzz find: "a::*::2" masked to "a:0:0:**::2" and then found "::2"; IPs never touch a
        // mask's '*'.
        assert_eq!(spans("a::*::2 1::*::1 10.0.0.1*.* 10.0.0.*"), vec![]);
        // Stars where no mask puts them are text around an address (Markdown, bullets).
        assert_eq!(spans("10.0.0.1* **10.0.0.2**"), vec![("10.0.0.1", "ipv4"), ("10.0.0.2", "ipv4")]);
        // Operator views of "2001:db8::1bob@example.com" and "10.0.0.1::1": nothing new appears.
        assert_eq!(spans("2001:db8::1***@example.com 10.0.0.*::1"), vec![]);
        // Next to a token, text is judged as it reads: the readonly view searches the text
        // around a glued token again and masks what stands apart there ("<ipv4>::1").
        assert_eq!(spans("<ipv4>::1 <ipv4>10.0.0.1"), vec![("::1", "ipv6"), ("10.0.0.1", "ipv4")]);
        assert_eq!(spans("b***@example.com@example.org <email>@example.com@example.org"), vec![]);
        assert_eq!(spans("b***@example.comÀa::@ b***@mx.10.0.0.1 日***%40日本.bob%40example.com"), vec![]);
        assert_eq!(spans("10.0.0.1..***@"), vec![]);
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
        assert_eq!(spans("x***@10.0.0.1.example.com"), vec![]); // the operator view of x@10.0.0.1.example.com
        assert_eq!(
            spans("13957525385%40163.com@p28-contacts.icloud.com"),
            vec![("13957525385%40163.com@p28-contacts.icloud.com", "email")]
        );
    }
}
