//! IPv6: every RFC 4291 text form around a `:` (groups, one `::`, an embedded dotted quad), with
//! the shapes logs write next to them (ports, labels such as `ip:`, escapes before the first group)
//! and the look-alikes that are not addresses (`std::io`, times, MAC addresses, ARNs).

use crate::scan::{
    Finding, Kind, Outcome, address_run, class_table, hex_value, ip_left_ok, is_hex, is_word, json_escape_digits_end,
};
use crate::view::{touches_mask, touches_star};
use std::net::Ipv6Addr;

/// Judges the `:` at `p` (no candidate starts before `floor`): the address run around it, by
/// [`common_shape`] when it can and [`long_way`] otherwise.
pub(crate) fn ipv6(hay: &[u8], p: usize, floor: usize) -> Outcome {
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
        Err((until, kept)) => return Outcome::LongRun { until, kept },
    };
    match common_shape(hay, p, s, e) {
        Ok(f) => Outcome::Found(f),
        Err(whole_tried) => long_way(hay, p, floor, s, e, whole_tried),
    }
}

/// The common shapes of an address run `hay[s..e]`, decided without [`long_way`], which reaches
/// the same verdict (property-tested):
/// * between plain separators (`::1 `, `[fe80::1]`, `"::1"`), no rule reads through the bytes
///   around the span (escapes, labels, ports and masks all need a word byte, a '%', a '*' or a
///   token next to it), so the span is the address when it parses;
/// * after any other byte that is no word and no '%', no escape's digits lead the span, so the
///   long way would first try the whole span with the checks of [`ipv6_exact`].
///
/// * a run that opens with a lone colon (a label's, "ip:fe80::1", or one left of a neighbour:
///   "-:fe80::1") holds no address from there (no text starting ":x" parses); the long way then
///   tries the text after that colon, first whole, unless the trigger is that colon itself.
///
/// Dense findings made the long way most of the time per finding ("::1 " ran at 45 MB/s).
///
/// `Err(true)` when the whole span was tried and is no address (as `ipv6_exact` judges it), so
/// the long way need not try it again.
#[inline(always)]
fn common_shape(hay: &[u8], p: usize, s: usize, e: usize) -> Result<Finding, bool> {
    let plain_before = s == 0 || SEPARATOR[hay[s - 1] as usize];
    if plain_before && (e == hay.len() || SEPARATOR[hay[e] as usize]) && e - s > 2 {
        let addr = parse_ipv6(&hay[s..e]).ok_or(true)?;
        return Ok(Finding { start: s, end: e, kind: Kind::Ipv6(addr) });
    }
    if hay[s] == b':' && p > s && hay.get(s + 1).is_some_and(|&b| b != b':') {
        return after_lone_colon(hay, s, e);
    }
    if plain_before || !is_word(hay[s - 1]) && hay[s - 1] != b'%' {
        ipv6_exact(hay, s, e).ok_or(true)
    } else {
        Err(false)
    }
}

/// The third common shape, out of line: inlined, it slowed the first ("::1 " repeated: 134 →
/// 122 MB/s readonly, best of 40, with no more instructions run).
#[inline(never)]
fn after_lone_colon(hay: &[u8], s: usize, e: usize) -> Result<Finding, bool> {
    ipv6_exact(hay, s + 1, e).ok_or(false)
}

/// Judges the run `hay[s..e]` around the colon at `p`, every rule in turn; `whole_tried` when
/// `hay[s..e]` is known to be no address.
fn long_way(hay: &[u8], p: usize, floor: usize, s: usize, e: usize, whole_tried: bool) -> Outcome {
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
    // "2001:db8::1234:58430" (HAProxy): a five-digit port cannot be a group. Not when the run
    // ends at a token: a view masked an address the run went on into, and the input's run had
    // another last group ("::44:44944:192.0.2.1:ffff" reads "::44:44944:<ipv4>:ffff" in the
    // readonly view, where "::44" must stay no address: fuzz find).
    let cut_by_a_mask = crate::view::opens_token(&hay[e..]);
    if let Some(last_colon) = hay[s..end].iter().rposition(|&b| b == b':').map(|i| s + i)
        && !cut_by_a_mask
    {
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
    let first =
        if escape_digits { s + 2 } else { json_escape_digits_end(hay, s).filter(|&a| a < e && a > floor).unwrap_or(s) };
    if let Some(f) = address_from(hay, first, &ends, whole_tried && first == s) {
        return Outcome::Found(f);
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
        if let Some(f) = address_from(hay, after, &ends, false) {
            return Outcome::Found(f);
        }
    }
    judged
}

/// The first of the candidate `ends` (longest first; a repeated end is tried once) that makes
/// `hay[start..end]` an address; without the first (the whole run's end) when `skip_whole`.
fn address_from(hay: &[u8], start: usize, ends: &[usize; 4], skip_whole: bool) -> Option<Finding> {
    ends.iter()
        .enumerate()
        .filter(|&(k, &end)| (k == 0 && !skip_whole || k > 0 && end != ends[k - 1]) && end > start)
        .find_map(|(_, &end)| ipv6_exact(hay, start, end))
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
    let addr = parse_ipv6(text)?;
    (!touches_mask(hay, start, end)).then_some(Finding { start, end, kind: Kind::Ipv6(addr) })
}

/// Parses an IPv6 address in any RFC 4291 text form (groups of 1–4 hex digits, one `::`, an
/// embedded dotted quad as the last 32 bits), exactly the texts `std::net::Ipv6Addr` accepts
/// (property-tested against it), into its eight groups. Hand-written: findings are validated
/// and rendered with it, and std's parser called per candidate was the largest cost on dense
/// IPv6 text (`fe80::1,` repeated ran at 29 MB/s in the operator view).
pub(crate) fn parse_ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    // The groups read so far, as the low bits of a number (the last group lowest); at the "::",
    // those before it move to `head`. Shifting them into place at the end costs no copy of an
    // array (moving groups behind the gap was a memmove and a memset per finding).
    let mut bits = 0u128;
    let mut head = 0u128;
    let mut n = 0;
    // Where the "::" stands, as a group index.
    let mut gap = None;
    let mut i = 0;
    if text.starts_with(b"::") {
        gap = Some(0);
        i = 2;
        if text.len() == 2 {
            return Some(Ipv6Addr::UNSPECIFIED);
        }
    }
    loop {
        // A "::" stands for at least one group.
        let limit = if gap.is_some() { 7 } else { 8 };
        let mut value = 0u32;
        let mut digits = 0;
        while let Some(d) = text.get(i + digits).and_then(|&b| hex_value(b)) {
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
            bits = bits << 32 | u128::from(u32::from_be_bytes(parse_strict_ipv4(&text[i..])?));
            n += 2;
            break;
        }
        if digits == 0 || n >= limit {
            return None;
        }
        bits = bits << 16 | u128::from(value);
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
            (head, bits) = (bits, 0);
            i += 1;
            if i == text.len() {
                break;
            }
        } else if i == text.len() {
            return None;
        }
    }
    let address = match gap {
        None if n == 8 => bits,
        None => return None,
        Some(_) if n > 7 => return None,
        // The groups before the gap go to the top: 8 - g groups up (all of them when g is 0,
        // and then `head` is 0).
        Some(g) => head.checked_shl(16 * (8 - g) as u32).unwrap_or(0) | bits,
    };
    Some(Ipv6Addr::from(address))
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

static V6: [bool; 256] = class_table(b":.", &[(b'0', b'9'), (b'a', b'f'), (b'A', b'F')]);

/// Bytes next to which a span needs none of the context rules: white space, quotes, brackets,
/// commas and semicolons are no word, hold no escape, no mask and no e-mail text.
static SEPARATOR: [bool; 256] = class_table(b" \t\r\n\",;()[]", &[]);

#[cfg(test)]
mod tests {
    use super::*;

    /// std's parser is the obviously-correct reference for the hand-written one.
    fn std_ipv6(text: &[u8]) -> Option<[u16; 8]> {
        std::str::from_utf8(text).ok()?.parse::<std::net::Ipv6Addr>().ok().map(|a| a.segments())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4096),
            ..Default::default()
        })]

        /// Whatever the common shapes decide, the long way decides too, from every colon of the
        /// run and every floor.
        #[test]
        fn the_common_shapes_agree_with_the_long_way(
            pieces in proptest::collection::vec(proptest::sample::select(&[
                "::1", "fe80::1", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", ":", "::", "a", "0", "12345", " ", ",",
                "]", "[", "*", "@", "%", "%40", "\\u0040", "\\", "u", ".", "-", "<ipv6>", ">", "<", "g", "***@",
                "\"", "é", "＠",
            ][..]), 1..12),
        ) {
            let hay = pieces.concat();
            let hay = hay.as_bytes();
            for p in (0..hay.len()).filter(|&p| hay[p] == b':') {
                for floor in [0, p / 2, p] {
                    let Ok((s, e)) = address_run(hay, p, floor, &V6) else { continue };
                    let whole = ipv6_exact(hay, s, e);
                    match common_shape(hay, p, s, e) {
                        Ok(f) => proptest::prop_assert_eq!(
                            long_way(hay, p, floor, s, e, false), Outcome::Found(f),
                            "{:?} at {} floor {}", String::from_utf8_lossy(hay), p, floor
                        ),
                        Err(tried) => {
                            proptest::prop_assert!(!tried || whole.is_none(), "{:?}", String::from_utf8_lossy(hay));
                            proptest::prop_assert_eq!(
                                long_way(hay, p, floor, s, e, tried), long_way(hay, p, floor, s, e, false),
                                "{:?} at {} floor {}", String::from_utf8_lossy(hay), p, floor
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn ipv6_parser_agrees_with_std_on_edge_forms() {
        for text in [
            "",
            ":",
            "::",
            ":::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::1.2.3.4",
            "::ffff:01.2.3.4",
            "::ffff:1.2.3.256",
            "1.2.3.4::",
            "1:2:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "12345::",
            "fFfF::",
            "1::2::3",
            "1:",
            ":1",
            "1::2:",
            "::1.2.3",
            "::1.2.3.4.5",
            "::a.2.3.4",
            "0:0:0:0:0:0:0:0",
            "::0.0.0.0",
            "2001:db8::1%eth0",
            "[::1]",
        ] {
            assert_eq!(parse_ipv6(text.as_bytes()).map(|a| a.segments()), std_ipv6(text.as_bytes()), "{text:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4096),
            ..Default::default()
        })]

        #[test]
        fn ipv6_parser_agrees_with_std_on_near_addresses(text in "[0-9a-fA-F:.]{0,46}") {
            proptest::prop_assert_eq!(parse_ipv6(text.as_bytes()).map(|a| a.segments()), std_ipv6(text.as_bytes()), "{:?}", text);
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
                proptest::prop_assert_eq!(parse_ipv6(t.as_bytes()).map(|a| a.segments()), std_ipv6(t.as_bytes()), "{:?}", t);
            }
            proptest::prop_assert_eq!(parse_ipv6(addr.to_string().as_bytes()).map(|a| a.segments()), Some(groups));
        }
    }
}
