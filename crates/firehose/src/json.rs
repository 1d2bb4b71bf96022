//! JSON-aware masking: every JSON string a reader will see is decoded before it is masked, so no
//! escape (`\u0040`, `\u002e`, `\uff20`, a lone surrogate nearby) can hide an address.

use std::borrow::Cow;

use logmask_mask::{Counts, Masker, Role};
use serde::Deserialize;

/// A JSON string as bytes with every escape decoded. Lone surrogate escapes (`\ud800`), which no
/// UTF-8 string can hold, decode to their 3-byte WTF-8 form instead of failing the whole string;
/// [`write_json_string`] turns them back into the same escape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct JsonBytes<'a>(pub Cow<'a, [u8]>);

impl<'de: 'a, 'a> Deserialize<'de> for JsonBytes<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = JsonBytes<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(JsonBytes(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(JsonBytes(Cow::Owned(v.to_vec())))
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonBytes(Cow::Borrowed(v.as_bytes())))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonBytes(Cow::Owned(v.as_bytes().to_vec())))
            }
        }

        // serde_json's `deserialize_bytes` on a string decodes escapes and accepts lone surrogates.
        deserializer.deserialize_bytes(Visit(std::marker::PhantomData))
    }
}

/// Decodes the JSON string token `token` (quotes included) into `out`. False if `token` is not
/// exactly one valid JSON string.
pub(crate) fn decode_string(token: &[u8], out: &mut Vec<u8>) -> bool {
    let mut de = serde_json::Deserializer::from_slice(token);
    match JsonBytes::deserialize(&mut de) {
        Ok(JsonBytes(bytes)) if de.end().is_ok() => {
            out.extend_from_slice(&bytes);
            true
        }
        _ => false,
    }
}

/// Whether decoded JSON text holds a lone surrogate (its WTF-8 form: 0xED then 0xA0..=0xBF).
fn has_lone_surrogate(decoded: &[u8]) -> bool {
    memchr::memchr_iter(0xED, decoded).any(|i| decoded.get(i + 1).is_some_and(|b| (0xA0..=0xBF).contains(b)))
}

/// Whether `text` is one complete JSON value (of any type).
pub(crate) fn is_json(text: &[u8]) -> bool {
    crate::probe::probe(text).is_some()
}

/// Masks every string of a JSON document (keys and unknown fields included), keeping field order
/// and formatting. Strings without escapes are masked where they stand: the text between two
/// strings that hold escapes goes through the masker in one call (a quote is never part of an
/// address, so no finding crosses a string's edge, and numbers, `true` and punctuation hold
/// nothing). A string with escapes is decoded (all of them, lone surrogates included), masked as
/// text and re-encoded when something was found, so escapes cannot hide an address and the output
/// is valid JSON by construction. `text` must be valid JSON; arrays and scalars work as objects do.
pub(crate) fn mask_json_text(masker: &Masker, role: Role, text: &[u8], out: &mut Vec<u8>) -> Counts {
    let mut counts = Counts::default();
    let mut decoded = Vec::new();
    let mut masked = Vec::new();
    let mut unmasked_from = 0;
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'"', &text[i..]) {
        let open = i + offset;
        let Some((close, has_escape)) = string_end(text, open) else {
            break; // an unterminated string: nothing after it is JSON
        };
        i = close + 1;
        if !has_escape {
            continue;
        }
        counts += masker.mask_into(role, &text[unmasked_from..open], out);
        unmasked_from = i;
        let token = &text[open..=close];
        decoded.clear();
        if !decode_string(token, &mut decoded) {
            // Not a JSON string after all (only for text that is not JSON): masked as it stands.
            counts += masker.mask_into(role, token, out);
            continue;
        }
        masked.clear();
        counts += masker.mask_into(role, &decoded, &mut masked);
        let written = out.len();
        if masked == decoded {
            // Nothing changed (the admin view, or no finding): the token keeps its escapes.
            out.extend_from_slice(token);
        } else {
            write_json_string(out, &masked);
        }
        if has_lone_surrogate(&decoded) {
            // No strict parser reads a string with a lone surrogate (serde_json refuses it), so
            // a reader may read it as it stands, where the surrogate's escape is a word edge and
            // its WTF-8 bytes in the decoded text were not ("\udddddddd2:A:e02::2\u02a2" holds
            // an address only there: Firehose fuzz find). Mask that reading too; not counted,
            // the decoded text's findings were.
            let token_out = out.split_off(written);
            masker.mask_into(role, &token_out, out);
        }
    }
    counts += masker.mask_into(role, &text[unmasked_from..], out);
    counts
}

/// Masks text that is not one JSON document line by line: a line that is a complete JSON value
/// (NDJSON, a re-ingested piece's lines) takes the JSON-aware path, runs of other lines go
/// through the masker in one call.
pub(crate) fn mask_lines(masker: &Masker, role: Role, text: &[u8], out: &mut Vec<u8>) -> Counts {
    let mut counts = Counts::default();
    let mut run_start = 0;
    let mut at = 0;
    while at < text.len() {
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |n| at + n + 1);
        let line = &text[at..end];
        let content = line.trim_ascii();
        if content.first().is_some_and(|b| matches!(b, b'{' | b'[' | b'"')) && is_json(content) {
            counts += masker.mask_into(role, &text[run_start..at], out);
            counts += mask_json_text(masker, role, line, out);
            run_start = end;
        }
        at = end;
    }
    counts += masker.mask_into(role, &text[run_start..], out);
    counts
}

/// The closing quote of the JSON string opening at `open`, and whether the string holds a
/// backslash escape.
fn string_end(text: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut at = open + 1;
    let mut has_escape = false;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', text.get(at..)?)?;
        if text[found] == b'"' {
            return Some((found, has_escape));
        }
        has_escape = true;
        at = found + 2;
    }
}

/// Appends `text` as a JSON string. Most text needs no escape: it is checked in one vectorisable
/// pass and copied. WTF-8 surrogates (from [`JsonBytes`]) become `\uXXXX` escapes again; other
/// invalid UTF-8 becomes U+FFFD.
pub(crate) fn write_json_string(out: &mut Vec<u8>, text: &[u8]) {
    write_json_string_as(out, text, plain_json_text(text));
}

/// [`write_json_string`] for text whose [`plain_json_text`] is known to be `plain` (or, for `Escapes`,
/// which may also be text that needs none).
pub(crate) fn write_json_string_as(out: &mut Vec<u8>, text: &[u8], plain: Plain) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    match plain {
        Plain::Yes => out.extend_from_slice(text),
        Plain::Escapes => write_escaped_utf8(out, text),
        Plain::NotUtf8 => write_escaped(out, text),
    }
    out.push(b'"');
}

/// What a JSON string of some text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plain {
    /// Nothing: the text is UTF-8 without `"`, `\` or control characters.
    Yes,
    /// UTF-8, with characters to escape.
    Escapes,
    /// Not UTF-8 (WTF-8 surrogates, stray bytes).
    NotUtf8,
}

/// Classifies `text` in one vectorisable pass over 64-byte chunks; only text with non-ASCII bytes
/// pays for the UTF-8 check as well.
pub(crate) fn plain_json_text(text: &[u8]) -> Plain {
    // Eight bytes per step (most strings are a log message or an id: too short for a vector
    // loop to pay off); the last partial word is padded with spaces, which need nothing.
    let (mut special, mut high) = (0u64, 0u64);
    let mut words = text.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let word = u64::from_le_bytes(bytes);
        special |= crate::probe::string_stop(word);
        high |= word;
    }
    let mut last = [b' '; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    let word = u64::from_le_bytes(last);
    special |= crate::probe::string_stop(word);
    high |= word;
    if high & crate::probe::HIGHS != 0 && simdutf8::basic::from_utf8(text).is_err() {
        Plain::NotUtf8
    } else if special != 0 {
        Plain::Escapes
    } else {
        Plain::Yes
    }
}

/// The escape [`write_escaped`] writes for an ASCII byte, if it needs one.
fn short_escape(b: u8) -> Option<&'static [u8]> {
    match b {
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        b'\n' => Some(b"\\n"),
        b'\r' => Some(b"\\r"),
        b'\t' => Some(b"\\t"),
        0x08 => Some(b"\\b"),
        0x0c => Some(b"\\f"),
        _ => None,
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the escape of `b`, a `"`, a `\` or a control character.
fn push_escape(out: &mut Vec<u8>, b: u8) {
    match short_escape(b) {
        Some(escape) => out.extend_from_slice(escape),
        None => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
    }
}

/// [`write_escaped`] for text known to be UTF-8: only `"`, `\` and control characters change,
/// found sixteen bytes at a time (no per-character UTF-8 check, no per-byte branch).
fn write_escaped_utf8(out: &mut Vec<u8>, text: &[u8]) {
    let mut copied = 0;
    while let Some(found) = crate::probe::find_string_stop(text, copied) {
        out.extend_from_slice(&text[copied..found]);
        push_escape(out, text[found]);
        copied = found + 1;
    }
    out.extend_from_slice(&text[copied..]);
}

/// Decodes the inside of a JSON string token that passed the grammar check of
/// [`crate::probe`] (quotes excluded) into `out`, as serde_json's `deserialize_bytes` does
/// ([`decode_string`]): every escape, surrogate pairs joined, lone surrogates as WTF-8.
pub(crate) fn decode_checked(inner: &[u8], out: &mut Vec<u8>) {
    out.reserve(inner.len());
    let mut rest = inner;
    while let Some(at) = memchr::memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..at]);
        let Some(&kind) = rest.get(at + 1) else { return };
        rest = &rest[at + 2..];
        let byte = match kind {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let Some(unit) = hex4(rest) else { return };
                rest = &rest[4..];
                let mut point = u32::from(unit);
                if (0xD800..0xDC00).contains(&unit)
                    && let [b'\\', b'u', tail @ ..] = rest
                    && let Some(low @ 0xDC00..0xE000) = hex4(tail)
                {
                    point = 0x10000 + ((point - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    rest = &tail[4..];
                }
                push_wtf8(out, point);
                continue;
            }
            // `"`, `\` and `/` stand for themselves.
            other => other,
        };
        out.push(byte);
    }
    out.extend_from_slice(rest);
}

fn hex4(text: &[u8]) -> Option<u16> {
    let digits = text.get(..4)?;
    let mut value = 0u16;
    for &d in digits {
        value = value << 4 | u16::try_from((d as char).to_digit(16)?).ok()?;
    }
    Some(value)
}

/// UTF-8 encoding of `point`, surrogates included (WTF-8).
fn push_wtf8(out: &mut Vec<u8>, point: u32) {
    // Six bits at a time; `as u8` keeps the low eight of an already masked value.
    let cont = |shift: u32| 0x80 | ((point >> shift) & 0x3F) as u8;
    match point {
        0..0x80 => out.push(point as u8),
        0x80..0x800 => out.extend_from_slice(&[0xC0 | (point >> 6) as u8, cont(0)]),
        0x800..0x10000 => out.extend_from_slice(&[0xE0 | (point >> 12) as u8, cont(6), cont(0)]),
        _ => out.extend_from_slice(&[0xF0 | (point >> 18) as u8, cont(12), cont(6), cont(0)]),
    }
}

pub(crate) fn write_escaped(out: &mut Vec<u8>, text: &[u8]) {
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b < 0x20 || b == b'"' || b == b'\\' {
            out.extend_from_slice(&text[copied..i]);
            push_escape(out, b);
            i += 1;
            copied = i;
            continue;
        }
        if b < 0x80 {
            i += 1;
            continue;
        }
        let width = match b {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 0,
        };
        if width > 0 && text.get(i..i + width).is_some_and(|c| std::str::from_utf8(c).is_ok()) {
            i += width;
            continue;
        }
        out.extend_from_slice(&text[copied..i]);
        match text.get(i..i + 3) {
            Some(&[0xED, b1 @ 0xA0..=0xBF, b2 @ 0x80..=0xBF]) => {
                let unit = 0xD000 | (u16::from(b1 & 0x3F) << 6) | u16::from(b2 & 0x3F);
                out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                i += 3;
            }
            _ => {
                out.extend_from_slice("\u{fffd}".as_bytes());
                i += 1;
            }
        }
        copied = i;
    }
    out.extend_from_slice(&text[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readonly(text: &str) -> String {
        let mut out = Vec::new();
        mask_json_text(&Masker::new(), Role::Readonly, text.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_text_is_masked_in_runs_and_escaped_strings_decoded() {
        let masker = Masker::new();
        let doc = concat!(
            r#"{"a@example.com":"x 192.0.2.1","q":"\"Bob\" <bob@example.com>","b":"\\","#,
            r#""n":1.5,"s":"\ud800 carol@example.com","t":"dave\u0040example.com"}"#
        );
        let mut out = Vec::new();
        let counts = mask_json_text(&masker, Role::Readonly, doc.as_bytes(), &mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            concat!(
                r#"{"<email>":"x <ipv4>","q":"\"Bob\" <<email>>","b":"\\","#,
                r#""n":1.5,"s":"\ud800 <email>","t":"<email>"}"#
            )
        );
        assert_eq!((counts.emails, counts.ipv4), (4, 1));
        let mut admin = Vec::new();
        mask_json_text(&masker, Role::Admin, doc.as_bytes(), &mut admin);
        assert_eq!(admin, doc.as_bytes());
    }

    #[test]
    fn a_lone_surrogate_does_not_stop_other_escapes_from_being_decoded() {
        // Found by an attacker (issue 14): serde_json refuses these strings as text, and they
        // used to be masked undecoded.
        for (input, leak) in [
            (r#"{"a":"\ud800 bob\u0040example\u002ecom"}"#, "bob"),
            (r#"{"a":"\ud800 10\u002e1\u002e2\u002e3"}"#, "10"),
            (r#"{"a":"\udfff dave@ex\u0061mple.com"}"#, "dave"),
            (r#"{"a":"\ud800 gina\uff20example.com"}"#, "gina"),
            (r#"["\ud800","bob\u0040example\u002ecom"]"#, "bob"),
            (r#""\ud800 bob\u0040example\u002ecom""#, "bob"),
        ] {
            let out = readonly(input);
            assert!(!out.contains(leak), "{input} -> {out}");
            let value: serde_json::Value = serde_json::from_str(&out.replace("\\ud800", "").replace("\\udfff", ""))
                .unwrap_or_else(|e| panic!("{out}: {e}"));
            assert!(!value.to_string().contains(leak));
            // The lone surrogate itself survives as the same escape.
            assert!(out.contains("\\ud800") || out.contains("\\udfff"), "{out}");
        }
    }

    #[test]
    fn a_string_with_a_lone_surrogate_holds_nothing_read_as_it_stands() {
        // Firehose fuzz find: decoded, the surrogate's WTF-8 bytes glued the label to the text
        // before it and "A:e02::2" was no address; read as it stands (no strict parser reads
        // the string), the escape is a word edge and the address is there.
        let masker = Masker::new();
        for input in [r#""e5::2\u02a22\udddddddddddddd2:A:e02::2\u02a2:e""#, r#""\udddddddddddddd2:A:e02::2\u02a2""#] {
            let out = readonly(input);
            assert!(masker.find(out.as_bytes()).is_empty(), "{input} -> {out}");
            assert!(out.contains("\\udddd"), "the surrogate survives: {out}");
        }
    }

    #[test]
    fn json_strings_are_escaped_only_when_needed() {
        let mut out = Vec::new();
        write_json_string(&mut out, "plain テキスト".as_bytes());
        write_json_string(&mut out, b"q\"b\\c\n\x01");
        write_json_string(&mut out, b"bad \xff");
        write_json_string(&mut out, b"lone \xed\xa0\x80!");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"plain テキスト\"\"q\\\"b\\\\c\\n\\u0001\"\"bad \u{fffd}\"\"lone \\ud800!\""
        );
    }

    #[test]
    fn escaped_output_is_what_serde_json_reads_back() {
        for text in ["a\u{7}b\u{1f}\"\\/\t", "日本語\r\n", "\u{10ffff}x"] {
            let mut out = Vec::new();
            write_json_string(&mut out, text.as_bytes());
            assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), text);
        }
    }

    #[test]
    fn lines_that_are_json_take_the_json_path() {
        let masker = Masker::new();
        let text = "plain bob@example.com\n[\"x\\u0040example\\u002ecom\"]\n\"y\\u0040example\\u002ecom\"\nend";
        let mut out = Vec::new();
        mask_lines(&masker, Role::Readonly, text.as_bytes(), &mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, "plain <email>\n[\"<email>\"]\n\"<email>\"\nend");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    /// String contents made of what decoding and encoding treat differently: escapes of every
    /// kind, surrogates paired, lone and misordered, non-ASCII text, control characters.
    fn string_body() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-z@. ]{0,20}",
            Just("\\\"".to_owned()),
            Just("\\\\".to_owned()),
            Just("\\/".to_owned()),
            Just("\\b\\f\\n\\r\\t".to_owned()),
            Just("\\u0040".to_owned()),
            Just("\\u00E9\\u0001\\u001f".to_owned()),
            Just("\\ud800".to_owned()),
            Just("\\udbff".to_owned()),
            Just("\\udc00".to_owned()),
            Just("\\ud83d\\ude00".to_owned()),
            Just("\\ud800\\u0041".to_owned()),
            Just("\\uFFFF".to_owned()),
            Just("é日本😀".to_owned()),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
    }

    /// Any bytes, with the ones that take the escape paths more likely.
    fn text_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..6),
            "[a-z\"\\\\\n\r\t\u{1}\u{7f} ]{0,30}".prop_map(String::into_bytes),
            Just("é日本😀".as_bytes().to_vec()),
            Just(b"\xed\xa0\x80".to_vec()),
            Just(b"\xed\xbf\xbf".to_vec()),
            Just(b"\xf4\x90\x80\x80".to_vec()),
        ];
        proptest::collection::vec(piece, 0..10).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// The decoder of checked strings reads every string as serde_json does (the path the
        /// masking relied on before: escapes must not hide an address from it).
        #[test]
        fn checked_decoding_agrees_with_serde_json(body in string_body()) {
            let token = format!("\"{body}\"");
            let mut want = Vec::new();
            prop_assert!(super::decode_string(token.as_bytes(), &mut want), "{}", token);
            let mut got = b"kept".to_vec();
            super::decode_checked(body.as_bytes(), &mut got);
            prop_assert_eq!(&got[4..], &want[..], "{}", token);
        }

        /// The fast paths of `write_json_string` write what the byte-by-byte encoder writes.
        #[test]
        fn json_strings_are_written_as_the_byte_by_byte_encoder_does(text in text_bytes()) {
            let mut got = Vec::new();
            super::write_json_string(&mut got, &text);
            let mut want = vec![b'"'];
            super::write_escaped(&mut want, &text);
            want.push(b'"');
            prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
            prop_assert_eq!(got, want);
        }
    }
}
