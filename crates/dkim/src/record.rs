//! The DKIM TXT record: building it, splitting it into DNS character-strings, parsing tags.
//!
//! A 2048-bit SPKI key makes a 410-character value, but one DNS character-string holds at most
//! 255 octets (RFC 1035 §3.3), so the record is published as several strings which verifiers
//! concatenate without whitespace (RFC 6376 §3.6.2.2). Route 53 and Terraform want the split
//! form typed in as `"…" "…"`; other DNS consoles take the joined value.

use serde::{Deserialize, Serialize};

use crate::keys::PublicKeySpki;
use crate::selector::{Domain, Selector};

/// Maximum octets in one DNS character-string.
pub const MAX_CHARACTER_STRING: usize = 255;

/// The record the DNS team publishes, in every form they may need. Stored as
/// `dns_records/{domain}/{selector}.json` and sent in the notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsTxtRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    /// The joined value: `v=DKIM1; k=rsa; p=<SPKI base64>`.
    pub value: String,
    /// The value split into ≤ 255-octet character-strings.
    pub strings: Vec<String>,
    /// The split value quoted for Route 53 / zone files: `"…" "…"`.
    pub quoted: String,
    pub public_key_fingerprint: String,
}

impl DnsTxtRecord {
    /// The record as the notification library shows it to the DNS team.
    pub fn to_block(&self) -> logmask_notify::DnsRecordBlock {
        logmask_notify::DnsRecordBlock {
            name: self.name.clone(),
            record_type: self.record_type.clone(),
            value: self.value.clone(),
            quoted: self.quoted.clone(),
            public_key_fingerprint: self.public_key_fingerprint.clone(),
        }
    }

    pub fn new(domain: &Domain, selector: &Selector, public: &PublicKeySpki) -> Self {
        let value = dkim_txt_value(public);
        let strings = split_character_strings(&value);
        let quoted = quote_character_strings(&strings);
        Self {
            name: record_name(domain, selector),
            record_type: "TXT".to_owned(),
            value,
            strings,
            quoted,
            public_key_fingerprint: public.fingerprint(),
        }
    }
}

/// `{selector}._domainkey.{domain}`.
pub fn record_name(domain: &Domain, selector: &Selector) -> String {
    format!("{selector}._domainkey.{domain}")
}

/// `v=DKIM1; k=rsa; p=<base64 SPKI DER>`.
pub fn dkim_txt_value(public: &PublicKeySpki) -> String {
    format!("v=DKIM1; k=rsa; p={}", public.to_base64())
}

/// Splits into chunks of at most 255 octets, never inside a UTF-8 character.
pub fn split_character_strings(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let mut cut = rest.len().min(MAX_CHARACTER_STRING);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head.to_owned());
        rest = tail;
    }
    out
}

/// `"a" "b"`, escaping `"` and `\` as zone files require.
pub fn quote_character_strings(strings: &[String]) -> String {
    strings
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The tags of a DKIM key record (RFC 6376 §3.6.1) that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimKeyTags {
    pub version: Option<String>,
    /// `k=`, defaulting to `rsa`.
    pub key_type: String,
    /// `p=` with folding whitespace removed; empty means the key was revoked.
    pub public_key_b64: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordParseError {
    #[error("tag without '=': {0:?}")]
    MissingEquals(String),
    #[error("invalid tag name {0:?}")]
    BadTagName(String),
    #[error("duplicate tag {0:?}")]
    DuplicateTag(String),
    #[error("v= must be the first tag and equal DKIM1")]
    BadVersion,
    #[error("no p= tag")]
    MissingPublicKey,
}

/// Parses a joined TXT value as a DKIM key record.
pub fn parse_dkim_key_record(value: &str) -> Result<DkimKeyTags, RecordParseError> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for part in value.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue; // a trailing ';' is allowed
        }
        let (name, tag_value) = part.split_once('=').ok_or_else(|| RecordParseError::MissingEquals(part.to_owned()))?;
        let name = name.trim();
        let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(RecordParseError::BadTagName(name.to_owned()));
        }
        if tags.iter().any(|(n, _)| n == name) {
            return Err(RecordParseError::DuplicateTag(name.to_owned()));
        }
        tags.push((name.to_owned(), tag_value.trim().to_owned()));
    }
    let version = match tags.iter().position(|(n, _)| n == "v") {
        None => None,
        Some(0) if tags[0].1 == "DKIM1" => Some(tags[0].1.clone()),
        Some(_) => return Err(RecordParseError::BadVersion),
    };
    let find = |tag: &str| tags.iter().find(|(n, _)| n == tag).map(|(_, v)| v.clone());
    let public_key_b64: String =
        find("p").ok_or(RecordParseError::MissingPublicKey)?.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(DkimKeyTags { version, key_type: find("k").unwrap_or_else(|| "rsa".to_owned()), public_key_b64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate_rsa2048;

    #[test]
    fn record_for_2048_bit_key_is_410_chars_in_two_strings() {
        let key = generate_rsa2048().unwrap();
        let domain: Domain = "example.co.jp".parse().unwrap();
        let selector: Selector = "gooid-21-pro-20261130-1".parse().unwrap();
        let record = DnsTxtRecord::new(&domain, &selector, &key.public);
        assert_eq!(record.name, "gooid-21-pro-20261130-1._domainkey.example.co.jp");
        assert_eq!(record.value.len(), 410);
        assert_eq!(record.strings.len(), 2);
        assert_eq!(record.strings[0].len(), 255);
        assert_eq!(record.strings.concat(), record.value);
        assert_eq!(record.quoted, format!("\"{}\" \"{}\"", record.strings[0], record.strings[1]));
        let tags = parse_dkim_key_record(&record.value).unwrap();
        assert_eq!(tags.public_key_b64, key.public.to_base64());
        assert_eq!(tags.key_type, "rsa");
    }

    #[test]
    fn split_respects_char_boundaries_and_limits() {
        assert!(split_character_strings("").is_empty());
        let long = "é".repeat(200); // 400 bytes, 2 bytes per char
        let parts = split_character_strings(&long);
        assert!(parts.iter().all(|p| p.len() <= MAX_CHARACTER_STRING));
        assert_eq!(parts.concat(), long);
        assert_eq!(split_character_strings(&"a".repeat(510)).len(), 2);
        assert_eq!(split_character_strings(&"a".repeat(511)).len(), 3);
    }

    #[test]
    fn parse_handles_whitespace_defaults_and_errors() {
        let tags = parse_dkim_key_record(" v=DKIM1 ; p = MIIB Ij\tAN ;").unwrap();
        assert_eq!(tags.public_key_b64, "MIIBIjAN");
        assert_eq!(tags.key_type, "rsa");
        assert_eq!(parse_dkim_key_record("k=rsa; v=DKIM1; p=abc"), Err(RecordParseError::BadVersion));
        assert_eq!(parse_dkim_key_record("v=DKIM1; k=rsa"), Err(RecordParseError::MissingPublicKey));
        assert_eq!(parse_dkim_key_record("p=a; p=b"), Err(RecordParseError::DuplicateTag("p".into())));
        assert!(matches!(parse_dkim_key_record("hello world"), Err(RecordParseError::MissingEquals(_))));
        assert_eq!(parse_dkim_key_record("v=DKIM1; p=").unwrap().public_key_b64, "");
    }
}
