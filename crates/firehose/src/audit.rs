//! Checks on transformed output, for tests, fuzzing and operators' spot checks: what a reader of
//! the readonly view could still read back as an address.

use logmask_mask::Masker;

/// The addresses `masker` finds in `data` as a reader would see it: every JSON string once its
/// escapes are decoded (lone surrogates included), and the text between strings as it stands.
/// Empty for any readonly output of this crate; a non-empty result is a leak.
pub fn readable_findings(masker: &Masker, data: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut find = |hay: &[u8]| {
        found.extend(masker.find(hay).iter().map(|f| String::from_utf8_lossy(&hay[f.start..f.end]).into_owned()));
    };
    let mut decoded = Vec::new();
    let mut between = 0;
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'"', &data[i..]) {
        let open = i + offset;
        let Some(close) = string_close(data, open) else { break };
        i = close + 1;
        decoded.clear();
        if crate::json::decode_string(&data[open..=close], &mut decoded) {
            find(&data[between..open]);
            find(&decoded);
            between = i;
        }
    }
    find(&data[between..]);
    found
}

fn string_close(text: &[u8], open: usize) -> Option<usize> {
    let mut at = open + 1;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', text.get(at..)?)?;
        if text[found] == b'"' {
            return Some(found);
        }
        at = found + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_addresses_are_read_back() {
        let masker = Masker::new();
        assert!(readable_findings(&masker, br#"{"a":"<email>","n":1}"#).is_empty());
        assert_eq!(readable_findings(&masker, br#"{"a":"bob\u0040example\u002ecom"}"#).len(), 1);
        assert_eq!(readable_findings(&masker, br#"["\ud800 10\u002e1\u002e2\u002e3"]"#).len(), 1);
        assert_eq!(readable_findings(&masker, b"plain 192.0.2.1").len(), 1);
    }
}
