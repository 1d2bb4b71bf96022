//! IPv4: dotted quads around a `.` between two digits (leading zeros allowed), the disguises
//! decoded before the scan (`\u002e`, `%2e`, full-width digits, EC2 host names), and the shapes
//! logs write next to them (ports after a dot, escapes before the first octet, OIDs and product
//! versions, which are not addresses).

use crate::scan::{
    Finding, Kind, Outcome, address_run, class_table, escape_ends_at, ip_left_ok, is_hex, is_word,
    json_escape_digits_end,
};
use crate::view::{leads_email_domain, product_version, touches_mask, touches_star};

/// Judges the `.` at `p` (no candidate starts before `floor`): the dotted quad around it, in
/// any spelling of its dots, or why there is none (see the module docs).
pub(crate) fn ipv4(hay: &[u8], p: usize, floor: usize) -> Outcome {
    let n = hay.len();
    if !(p > floor && hay[p - 1].is_ascii_digit() && p + 1 < n && hay[p + 1].is_ascii_digit()) {
        return Outcome::Skip(p + 1);
    }
    let (s, e) = match address_run(hay, p, floor, &V4) {
        Ok(run) => run,
        Err((until, kept)) => return Outcome::LongRun { until, kept },
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

static V4: [bool; 256] = class_table(b".", &[(b'0', b'9')]);
