//! E-mail: practical RFC 5321 addresses around an at sign in any of its spellings ([`AtForm`]),
//! with local parts and domains in Japanese and other scripts, domain literals (`[192.0.2.1]`),
//! and the edges logs put around them (escapes, URL parameters, `mailto:`, handles).

use crate::ipv4::parse_ipv4;
use crate::ipv6::parse_ipv6;
use crate::scan::{
    ALNUM, AtForm, Finding, Kind, Outcome, backslashes_before, class_table, count_work, hex_value, is_cjk, is_hex,
    is_letter, next_char, prev_char,
};
use crate::view::touches_mask;

/// Upper bound on a local part as scanned backwards from the at sign.
const LOCAL_SCAN: usize = 256;

/// Longest local part accepted (RFC 5321 says 64; real logs have longer VERP addresses).
pub(crate) const LOCAL_MAX: usize = 128;

/// Longest domain accepted (RFC 1035).
pub(crate) const DOMAIN_MAX: usize = 253;

pub(crate) static LOCAL: [bool; 256] = class_table(b"._%+-", &ALNUM);

pub(crate) static LABEL: [bool; 256] = class_table(b"-", &ALNUM);

/// A backslash is only the start of an escape when it starts a run of backslashes: the run is
/// read as pairs, and only an odd run escapes what follows it.
pub(crate) fn json_escape(hay: &[u8], p: usize, floor: usize) -> Outcome {
    if p > floor && hay[p - 1] == b'\\' {
        return Outcome::Skip(p + 1);
    }
    let run = hay[p..].iter().take_while(|&&b| b == b'\\').count();
    let last = p + run - 1;
    if run % 2 == 1 && hay[last..].starts_with(AtForm::JsonEscape.spelling()) {
        return email(hay, last, AtForm::JsonEscape, floor);
    }
    Outcome::Skip(p + run)
}

/// Judges the at sign spelled `form` at `at` (no candidate starts before `floor`): the local
/// part before it and the domain after it, or why they are no e-mail address (see the module
/// docs).
pub(crate) fn email(hay: &[u8], at: usize, form: AtForm, floor: usize) -> Outcome {
    let skip = Outcome::Skip(at + 1);
    // Cheap edges first: a local part needs a character right before the at sign, a domain a
    // label (or a literal) right after it. Runs of at signs stop here.
    let s = at + form.len();
    let local_edge = at > floor && (LOCAL[hay[at - 1] as usize] || hay[at - 1] >= 0x80);
    let domain_edge = s < hay.len() && (LABEL[hay[s] as usize] || hay[s] >= 0x80 || hay[s] == b'[');
    if !(local_edge && domain_edge) {
        return skip;
    }
    // The domain first: one ASCII label not followed by a dot ends the check ("a@a@a@…").
    let Some(end) = domain(hay, s) else {
        return skip;
    };
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
        if hay[j] == b'%'
            && let (Some(high), Some(low)) = (hex_value(hay[j + 1]), hex_value(hay[j + 2]))
        {
            let decoded = high << 4 | low;
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
/// (`b***@example.com@…`, `<email>@example.com@…`). A handle's at sign ("@bob@mastodon.social") follows a space.
fn follows_address_at(hay: &[u8], start: usize) -> bool {
    let before = &hay[..start];
    let Some(at_len) = AtForm::ALL.iter().map(|a| a.spelling()).find(|a| before.ends_with(a)).map(<[u8]>::len) else {
        return false;
    };
    let owner = before.len() - at_len;
    // Only when that at sign can own the text as its domain: in "a@carol@example.org" the
    // first at sign has no domain ("carol" has no top-level domain), so carol's address is
    // carol's (readonly left it readable before: found by fuzzing the Firehose path).
    owner > 0
        && (LOCAL[before[owner - 1] as usize] || crate::view::ends_a_mask(before[owner - 1]))
        && domain(hay, start).is_some()
}

/// Finds where the domain starting at `s` ends, or `None` if there is no valid domain.
pub(crate) fn domain(hay: &[u8], s: usize) -> Option<usize> {
    let n = hay.len();
    if s >= n {
        return None;
    }
    if hay[s] == b'[' {
        return domain_literal(hay, s);
    }
    // One ASCII label followed by ASCII other than a dot (or by nothing) is no domain: the
    // loop below would read one label and stop. At-sign chains ("a@a@a@…") are all this.
    let ascii_label = hay[s..].iter().take_while(|&&b| LABEL[b as usize]).count();
    if ascii_label > 0 && hay.get(s + ascii_label).is_none_or(|&b| b < 0x80 && b != b'.') {
        return None;
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
        if cjk_label && script_end < i && AtForm::ALL.iter().any(|a| hay[i..].starts_with(a.spelling())) {
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

pub(crate) fn starts_label(hay: &[u8], i: usize) -> bool {
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
