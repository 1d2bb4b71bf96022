//! Validated domain names and DKIM selectors.
//!
//! A selector must be one DNS label: SES's API pattern is
//! `^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))$`, 1–63 characters, so no dots and no
//! underscores. Generated selectors follow the seed's `${DKIMSeparator}-YYYYMMDD-N` scheme, the
//! date in JST (Japan has no DST, so a fixed +09:00 offset is exact).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

const MAX_LABEL: usize = 63;
const MAX_DOMAIN: usize = 253;

/// The SES selector pattern; returns why a label is invalid.
fn label_problem(label: &str) -> Option<&'static str> {
    if label.is_empty() {
        return Some("empty");
    }
    if label.len() > MAX_LABEL {
        return Some("longer than 63 characters");
    }
    if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Some("only letters, digits and '-' are allowed");
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some("must not start or end with '-'");
    }
    None
}

/// A DKIM selector (one DNS label).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Selector(String);

impl Selector {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Selector {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match label_problem(s) {
            Some(reason) => Err(Error::InvalidSelector { selector: s.to_owned(), reason }),
            None => Ok(Self(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Selector {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Selector> for String {
    fn from(s: Selector) -> String {
        s.0
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mail domain, lowercased, without a trailing dot. Also used in S3 keys, so validation
/// keeps `/`, `..` and the like out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

impl Domain {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Domain {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let lower = s.trim_end_matches('.').to_ascii_lowercase();
        let invalid = |reason| Error::InvalidDomain { domain: s.to_owned(), reason };
        if lower.len() > MAX_DOMAIN {
            return Err(invalid("longer than 253 characters"));
        }
        if lower.split('.').count() < 2 {
            return Err(invalid("needs at least two labels"));
        }
        if let Some(reason) = lower.split('.').find_map(label_problem) {
            return Err(invalid(reason));
        }
        Ok(Self(lower))
    }
}

impl TryFrom<String> for Domain {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Domain> for String {
    fn from(d: Domain) -> String {
        d.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The date part of generated selectors: the JST calendar date of `now`.
pub fn jst_date(now: jiff::Timestamp) -> jiff::civil::Date {
    now.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(9))).date()
}

/// `{separator}-{YYYYMMDD}-{N}` with N one more than the highest N already used for that
/// separator and date (so a retired or failed selector name is never reused).
pub fn generate_selector(separator: &str, now: jiff::Timestamp, existing: &[Selector]) -> Result<Selector, Error> {
    if let Some(reason) = label_problem(separator) {
        return Err(Error::InvalidSelector { selector: separator.to_owned(), reason });
    }
    let date = jst_date(now);
    let prefix = format!("{separator}-{:04}{:02}{:02}-", date.year(), date.month(), date.day());
    let next =
        existing.iter().filter_map(|s| s.as_str().strip_prefix(&prefix)?.parse::<u32>().ok()).max().unwrap_or(0) + 1;
    format!("{prefix}{next}").parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn selectors_follow_the_ses_pattern() {
        for ok in ["a", "selector1", "gooid-21-pro-20250918-1", &"a".repeat(63)] {
            assert!(ok.parse::<Selector>().is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a.b", "a_b", "a b", "ａ", &"a".repeat(64)] {
            assert!(bad.parse::<Selector>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn domains_are_lowercased_and_validated() {
        assert_eq!("Goo.NE.jp.".parse::<Domain>().unwrap().as_str(), "goo.ne.jp");
        for bad in ["localhost", "a..b", "../x.com", "a/b.com", "-a.com", "a_b.com", ""] {
            assert!(bad.parse::<Domain>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generated_selector_uses_jst_date_and_next_number() {
        // 2026-11-30T20:00Z is already 2026-12-01 in Tokyo.
        let now = ts("2026-11-30T20:00:00Z");
        let first = generate_selector("gooid-21-pro", now, &[]).unwrap();
        assert_eq!(first.as_str(), "gooid-21-pro-20261201-1");
        let existing = vec![
            first,
            "gooid-21-pro-20261201-3".parse().unwrap(),
            "gooid-21-pro-20261130-9".parse().unwrap(),
            "other-20261201-7".parse().unwrap(),
        ];
        let next = generate_selector("gooid-21-pro", now, &existing).unwrap();
        assert_eq!(next.as_str(), "gooid-21-pro-20261201-4");
    }

    #[test]
    fn generated_selector_must_fit_one_label() {
        let now = ts("2026-11-30T00:00:00Z");
        assert!(generate_selector(&"s".repeat(52), now, &[]).is_ok()); // 52 + 11 = 63
        assert!(generate_selector(&"s".repeat(53), now, &[]).is_err());
        assert!(generate_selector("bad.sep", now, &[]).is_err());
    }
}
