//! Finds e-mail, IPv4 and IPv6 addresses in log text in one pass and renders the text for the
//! reader's role.
//!
//! * [`Masker`] — the compiled policy: immutable, `Send + Sync`, built once.
//! * [`Role`] — admin (raw), operator (partial) or readonly (typed tokens / keyed pseudonyms).
//! * [`Finding`] and [`Counts`] — what was found, for audits and metrics.
//!
//! Detection covers addresses in JSON strings (including `\u0040`), URL-encoded text (`%40`),
//! the full-width `＠`, and Japanese text written directly against an address; disguises a
//! reader undoes by eye are part of the address (`\u002e`, `%2e`, full-width digits and dots,
//! `ip-10-1-2-3` EC2 host names). Version numbers, OIDs, ARNs, times, MAC addresses and
//! `name@host` without a top-level domain are left alone.
//!
//! [`Masker::cut_point`] says where a stream may be cut without changing any verdict, so a
//! caller can mask unbounded input in bounded memory.
//!
//! # Example
//!
//! ```
//! use logmask_mask::{Masker, Role};
//!
//! let masker = Masker::new();
//! let line = r#"{"to":"taro.yamada@example.co.jp","ip":"203.0.113.7"}"#;
//!
//! let (operator, counts) = masker.mask_str(Role::Operator, line);
//! assert_eq!(operator, r#"{"to":"t***@example.co.jp","ip":"203.0.113.*"}"#);
//! assert_eq!((counts.emails, counts.ipv4), (1, 1));
//!
//! let (readonly, _) = masker.mask_str(Role::Readonly, line);
//! assert_eq!(readonly, r#"{"to":"<email>","ip":"<ipv4>"}"#);
//!
//! let (admin, _) = masker.mask_str(Role::Admin, line);
//! assert_eq!(admin, line);
//! ```
//!
//! # Keyed pseudonyms
//!
//! With a token key, readonly readers still see no address, but the same address always gives
//! the same token, whatever its spelling:
//!
//! ```
//! use logmask_mask::{Masker, Policy, Role};
//!
//! let masker = Masker::builder(Policy::default()).token_key(*b"an example key, 32 bytes long!!!").build()?;
//! let (a, _) = masker.mask_str(Role::Readonly, "Bob@Example.com");
//! let (b, _) = masker.mask_str(Role::Readonly, "q=bob%40example.com");
//! assert!(a.starts_with("<email:k1:"));
//! assert_eq!(format!("q={a}"), b);
//! # Ok::<(), logmask_mask::BuildError>(())
//! ```
//!
//! # Crate features
//!
//! None. The crate depends on `memchr` (trigger search), `regex` (user-defined identifiers'
//! patterns), `aho-corasick` (dictionary identifiers' terms), `hmac`/`sha2` (pseudonyms),
//! `serde`/`toml` (policy files) and `thiserror`.
#![deny(missing_docs)]

mod decode;
mod dictionary;
mod email;
mod ipv4;
mod ipv6;
mod masker;
mod oracle;
mod policy;
mod prefilter;
mod scan;
mod simd;
mod view;

pub use dictionary::{MAX_TERM_BYTES, MAX_TERMS, MAX_TERMS_FILE_BYTES, TermProblem, TermsError};
pub use masker::{CUT_CONTEXT, Counts, Masker, MaskerBuilder};
pub use policy::{
    BuildError, EmailShape, IdentifierPolicy, MIN_TOKEN_KEY_BYTES, OperatorPolicy, Policy, ReadonlyPolicy, Role,
};
pub use scan::{AtForm, Finding, Kind};

/// The slow, obviously-correct twin of the scan (every byte tried, no prefilter, no skips),
/// with the same disguises undone: the oracle the tests compare [`Masker::find`] with.
#[doc(hidden)]
pub fn reference_scan(hay: &[u8]) -> Vec<Finding> {
    match decode::decode(hay) {
        None => oracle::reference_scan(hay),
        Some(d) => oracle::reference_scan(&d.text).into_iter().map(|f| d.to_input_finding(f)).collect(),
    }
}

/// The trigger-by-trigger memchr walk that the block prefilter replaced; kept as the portable
/// baseline the benchmarks compare against and as a second oracle in the tests.
#[doc(hidden)]
pub fn memchr_scan(hay: &[u8]) -> Vec<Finding> {
    let mut found = Vec::new();
    oracle::scan(hay, |f| found.push(f));
    found
}

/// The block classifier alone, its masks folded into one word: the cost floor of the block
/// prefilter (no candidate arithmetic, no visits), for the benchmarks.
#[doc(hidden)]
pub fn classify_blocks(hay: &[u8]) -> u64 {
    prefilter::classify_only(hay)
}
