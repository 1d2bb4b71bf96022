//! The HMAC token key behind readonly pseudonyms (`<email:k2:9c1f0e2a7b33>`), in one place for
//! every entry point: the Firehose Lambda, the data-masking Lambda, `logmask mask`, the backfill.
//!
//! # The one key rule
//!
//! A key file, a Secrets Manager secret (`SecretString` or `SecretBinary`) and an SSM
//! `SecureString` parameter are read with the same function, [`TokenKeys::parse`]:
//!
//! * **Rotation JSON** — the document, less surrounding ASCII whitespace, starts with `{` and ends
//!   with `}`:
//!   `{"current":{"id":"k2","key_b64":"…"},"previous":{"id":"k1","key_b64":"…"}}`. Keys are
//!   standard base64 (with padding); ids are 1–16 characters of `[A-Za-z0-9_-]`; `previous` is
//!   optional; unknown fields are errors. Anything that looks like JSON but is not exactly this is
//!   an error, never a raw key: a typo must not silently change every pseudonym.
//! * **Raw bytes** otherwise: the bytes as stored, with exactly one trailing `\n` or `\r\n`
//!   removed (what `echo` and editors add). Nothing else is trimmed. Such a key has no id of its
//!   own; pseudonyms name it with the policy's `readonly.token_key_id` (default `k1`).
//!
//! Every key is [`MIN_TOKEN_KEY_BYTES`]..=[`MAX_TOKEN_KEY_BYTES`] bytes; a stored document is at
//! most [`MAX_KEY_DOCUMENT_BYTES`] (files are read with that cap, so `/dev/zero` fails at once).
//!
//! # Rotation
//!
//! New output is always made with `current`, and pseudonyms carry its id. `previous` is
//! *accepted* while it stays in the document: [`TokenKeys::accepts`] names it, and
//! [`TokenKeys::builder_for`] renders pseudonyms with it, so a reader can still join a query
//! against archive objects masked before the rotation (their tokens carry the old id). The window
//! ends when `previous` is removed — after the archive has been re-masked with the new key.
//!
//! # Example
//!
//! ```
//! use logmask_keys::TokenKeys;
//! use logmask_mask::{Policy, Role};
//!
//! // A CLI key file, a secret and a parameter holding these bytes all give the same key.
//! let keys = TokenKeys::parse(b"0123456789abcdef\n", "file:token.key").unwrap();
//! assert_eq!(keys.current().secret().expose(), b"0123456789abcdef");
//! let masker = keys.builder(Policy::default()).build().unwrap();
//! let (out, _) = masker.mask_str(Role::Readonly, "to bob@example.com");
//! assert!(out.starts_with("to <email:k1:"));
//!
//! let rotated = br#"{"current":{"id":"k2","key_b64":"MDEyMzQ1Njc4OWFiY2RlZg=="},
//!                    "previous":{"id":"k1","key_b64":"ZmVkY2JhOTg3NjU0MzIxMA=="}}"#;
//! let keys = TokenKeys::parse(rotated, "secretsmanager:logmask/token-key").unwrap();
//! assert!(keys.accepts("k1") && keys.accepts("k2") && !keys.accepts("k3"));
//! let masker = keys.builder(Policy::default()).build().unwrap();
//! assert!(masker.mask_str(Role::Readonly, "bob@example.com").0.starts_with("<email:k2:"));
//! // Debug never shows key material.
//! assert!(!format!("{keys:?}").contains("MDEy"));
//! ```
#![deny(missing_docs)]

use std::fmt;
use std::future::Future;
use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use logmask_mask::{Masker, MaskerBuilder, Policy};
use zeroize::Zeroize as _;

/// Shortest token key accepted (the engine's rule): shorter HMAC keys make pseudonyms guessable
/// by brute force.
pub use logmask_mask::MIN_TOKEN_KEY_BYTES;
/// Longest token key accepted. HMAC hashes longer keys first, so more adds nothing but a way to
/// make the function allocate.
pub const MAX_TOKEN_KEY_BYTES: usize = 4096;
/// Largest stored document: a rotation JSON with two keys of the maximum size fits.
pub const MAX_KEY_DOCUMENT_BYTES: usize = 16 * 1024;

/// Environment variable naming the Secrets Manager secret that holds the key.
pub const SECRET_ID_VAR: &str = "TOKEN_KEY_SECRET_ID";
/// Environment variable naming the SSM `SecureString` parameter that holds the key.
pub const SSM_PARAMETER_VAR: &str = "TOKEN_KEY_SSM_PARAMETER";

/// Where a Lambda's token key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A Secrets Manager secret id or ARN (`SecretString` bytes, or `SecretBinary`).
    SecretsManager(String),
    /// An SSM `SecureString` parameter name, read with decryption.
    SsmParameter(String),
}

impl KeySource {
    /// The source named by the values of [`SECRET_ID_VAR`] and [`SSM_PARAMETER_VAR`] (empty or
    /// blank values count as unset). Both set is an error: which one wins must not be a guess.
    pub fn from_settings(secret_id: Option<&str>, parameter: Option<&str>) -> Result<Option<KeySource>, KeyError> {
        let clean = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        match (clean(secret_id), clean(parameter)) {
            (Some(_), Some(_)) => Err(KeyError::BothSources),
            (Some(id), None) => Ok(Some(KeySource::SecretsManager(id))),
            (None, Some(name)) => Ok(Some(KeySource::SsmParameter(name))),
            (None, None) => Ok(None),
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::SecretsManager(id) => write!(f, "secretsmanager:{id}"),
            KeySource::SsmParameter(name) => write!(f, "ssm:{name}"),
        }
    }
}

/// Why a token key could not be had. Messages name the source, never a byte of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Both [`SECRET_ID_VAR`] and [`SSM_PARAMETER_VAR`] are set.
    #[error("set TOKEN_KEY_SECRET_ID or TOKEN_KEY_SSM_PARAMETER, not both")]
    BothSources,
    /// The secret, parameter or file could not be read.
    #[error("token key from {source_name}: {message}")]
    Fetch {
        /// `secretsmanager:<id>`, `ssm:<name>` or `file:<path>`.
        source_name: String,
        /// What went wrong (AWS error code and message, or the I/O error).
        message: String,
    },
    /// It was read but breaks the key rule (size, JSON shape, base64, id).
    #[error("token key from {source_name}: {message}")]
    Invalid {
        /// `secretsmanager:<id>`, `ssm:<name>` or `file:<path>`.
        source_name: String,
        /// Which rule it breaks.
        message: String,
    },
}

impl KeyError {
    /// The source the error is about, if any.
    pub fn source_name(&self) -> Option<&str> {
        match self {
            KeyError::BothSources => None,
            KeyError::Fetch { source_name, .. } | KeyError::Invalid { source_name, .. } => Some(source_name),
        }
    }

    /// The error without the source name.
    pub fn message(&self) -> String {
        match self {
            KeyError::BothSources => self.to_string(),
            KeyError::Fetch { message, .. } | KeyError::Invalid { message, .. } => message.clone(),
        }
    }
}

/// Key bytes. `Debug` never shows them and they are wiped on drop.
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(bytes)
    }
    /// The bytes themselves.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// One key: its id (from the rotation JSON; `None` for a raw key) and its bytes.
#[derive(Debug)]
pub struct TokenKey {
    id: Option<String>,
    secret: SecretBytes,
}

impl TokenKey {
    /// The id pseudonyms carry, when the document names one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    /// The key bytes.
    pub fn secret(&self) -> &SecretBytes {
        &self.secret
    }
}

/// The keys of one document: the current one for new output, the previous one still accepted.
#[derive(Debug)]
pub struct TokenKeys {
    current: TokenKey,
    previous: Option<TokenKey>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationDoc {
    current: RotationEntry,
    #[serde(default)]
    previous: Option<RotationEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationEntry {
    id: String,
    key_b64: String,
}

impl Drop for RotationEntry {
    fn drop(&mut self) {
        self.key_b64.zeroize();
    }
}

impl TokenKeys {
    /// The one key rule (see the crate documentation), for a document read from `source_name`
    /// (used in error messages only).
    pub fn parse(document: &[u8], source_name: &str) -> Result<TokenKeys, KeyError> {
        let invalid = |message: String| KeyError::Invalid { source_name: source_name.to_owned(), message };
        if document.len() > MAX_KEY_DOCUMENT_BYTES {
            return Err(invalid(format!("more than {MAX_KEY_DOCUMENT_BYTES} bytes")));
        }
        let trimmed = document.trim_ascii();
        if trimmed.starts_with(b"{") && trimmed.ends_with(b"}") {
            // serde_json's messages quote at most a line/column, never the input itself.
            let shape = |detail: String| {
                invalid(format!(
                    "not the rotation JSON {{\"current\":{{\"id\",\"key_b64\"}},\"previous\":{{\"id\",\"key_b64\"}}}} \
                     ({detail})"
                ))
            };
            let syntax =
                |e: serde_json::Error| shape(format!("line {} column {}: {}", e.line(), e.column(), classify(&e)));
            let mut value: serde_json::Value = serde_json::from_slice(trimmed).map_err(syntax)?;
            // serde would also take a struct from an array; only objects are the documented shape.
            let objects = value.get("current").is_some_and(|v| v.is_object())
                && value.get("previous").is_none_or(|v| v.is_object() || v.is_null());
            let doc = if objects {
                <RotationDoc as serde::Deserialize>::deserialize(&value).map_err(syntax)
            } else {
                Err(shape("\"current\" must be an object, \"previous\" an object or absent".to_owned()))
            };
            wipe(&mut value);
            let doc = doc?;
            let current = decode_entry(&doc.current, "current").map_err(invalid)?;
            let previous = match &doc.previous {
                Some(entry) => Some(decode_entry(entry, "previous").map_err(invalid)?),
                None => None,
            };
            if let Some(previous) = &previous
                && previous.id == current.id
            {
                return Err(invalid("current and previous have the same id".to_owned()));
            }
            return Ok(TokenKeys { current, previous });
        }
        let raw = document.strip_suffix(b"\r\n").or_else(|| document.strip_suffix(b"\n")).unwrap_or(document);
        check_len(raw.len(), "the key").map_err(invalid)?;
        Ok(TokenKeys { current: TokenKey { id: None, secret: SecretBytes::new(raw.to_vec()) }, previous: None })
    }

    /// The key new output is made with.
    pub fn current(&self) -> &TokenKey {
        &self.current
    }

    /// The key still accepted during a rotation window.
    pub fn previous(&self) -> Option<&TokenKey> {
        self.previous.as_ref()
    }

    /// Whether pseudonyms carrying `id` come from a key of this document. A raw key has no id
    /// of its own and answers for `default_id` (the policy's `readonly.token_key_id`).
    pub fn accepts_with_default(&self, id: &str, default_id: &str) -> bool {
        self.key_for(id, default_id).is_some()
    }

    /// [`TokenKeys::accepts_with_default`] with the policy default `k1`.
    pub fn accepts(&self, id: &str) -> bool {
        self.accepts_with_default(id, "k1")
    }

    fn key_for(&self, id: &str, default_id: &str) -> Option<&TokenKey> {
        [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id.as_deref().unwrap_or(default_id) == id)
    }

    /// A masker builder for new output: `policy` with the current key, whose id (when the
    /// document names one) replaces `readonly.token_key_id`.
    pub fn builder(&self, policy: Policy) -> MaskerBuilder {
        with_key(policy, &self.current)
    }

    /// A masker builder rendering pseudonyms with the accepted key `id` (current or previous);
    /// `None` when no key of this document carries that id.
    pub fn builder_for(&self, id: &str, policy: Policy) -> Option<MaskerBuilder> {
        let key = self.key_for(id, &policy.readonly.token_key_id)?;
        Some(with_key(policy, key))
    }

    /// Every accepted id with its masker, current first (for handlers that honour a reader's
    /// choice of key during a rotation window).
    pub fn maskers(&self, policy: &Policy) -> Result<Vec<(String, Masker)>, logmask_mask::BuildError> {
        let mut out = Vec::with_capacity(2);
        for key in [Some(&self.current), self.previous.as_ref()].into_iter().flatten() {
            let id = key.id.clone().unwrap_or_else(|| policy.readonly.token_key_id.clone());
            out.push((id, with_key(policy.clone(), key).build()?));
        }
        Ok(out)
    }
}

fn with_key(mut policy: Policy, key: &TokenKey) -> MaskerBuilder {
    if let Some(id) = &key.id {
        policy.readonly.token_key_id = id.clone();
    }
    Masker::builder(policy).token_key(key.secret.expose().to_vec())
}

/// Overwrites every string of a parsed document, so no copy of a base64 key outlives parsing.
fn wipe(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(wipe),
        serde_json::Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}

fn classify(e: &serde_json::Error) -> String {
    // The Display of a data error may quote an unknown field name; that is schema, not a key.
    match e.classify() {
        serde_json::error::Category::Data => e.to_string().split(" at line").next().unwrap_or("bad field").to_owned(),
        serde_json::error::Category::Syntax => "syntax error".to_owned(),
        serde_json::error::Category::Eof => "truncated".to_owned(),
        serde_json::error::Category::Io => "read error".to_owned(),
    }
}

fn decode_entry(entry: &RotationEntry, which: &str) -> Result<TokenKey, String> {
    let id_ok = !entry.id.is_empty()
        && entry.id.len() <= 16
        && entry.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(format!("{which}.id must be 1-16 characters of [A-Za-z0-9_-]"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(entry.key_b64.as_bytes())
        .map_err(|_| format!("{which}.key_b64 is not standard base64"))?;
    let secret = SecretBytes::new(bytes);
    check_len(secret.len(), &format!("{which}.key_b64"))?;
    Ok(TokenKey { id: Some(entry.id.clone()), secret })
}

fn check_len(len: usize, what: &str) -> Result<(), String> {
    if len < MIN_TOKEN_KEY_BYTES {
        Err(format!("{what} is shorter than {MIN_TOKEN_KEY_BYTES} bytes"))
    } else if len > MAX_TOKEN_KEY_BYTES {
        Err(format!("{what} is longer than {MAX_TOKEN_KEY_BYTES} bytes"))
    } else {
        Ok(())
    }
}

/// Reads a key file (the CLI's `--token-key-file`) with the size cap, then applies the key rule.
pub fn read_key_file(path: &Path) -> Result<TokenKeys, KeyError> {
    let source_name = format!("file:{}", path.display());
    let fail = |message: String| KeyError::Fetch { source_name: source_name.clone(), message };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut buf = Vec::with_capacity(256);
    // One byte past the cap tells "too large" from "exactly at the cap" without reading on.
    let read = file.take(MAX_KEY_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut buf);
    let doc = SecretBytes::new(buf);
    read.map_err(|e| fail(e.to_string()))?;
    TokenKeys::parse(doc.expose(), &source_name)
}

/// Fetches the stored document (not yet parsed) behind a [`KeySource`]. Implemented over AWS
/// by [`AwsKeyStore`]; tests use moto.
pub trait KeyStore: Send + Sync {
    /// The bytes stored at `source`.
    fn fetch(&self, source: &KeySource) -> impl Future<Output = Result<SecretBytes, KeyError>> + Send;
}

/// Fetches `source` from `store` and applies the key rule: what a cold start calls once. Any
/// failure is the caller's startup error — there is no fallback to unkeyed tokens.
pub async fn load(store: &impl KeyStore, source: &KeySource) -> Result<TokenKeys, KeyError> {
    let doc = store.fetch(source).await?;
    TokenKeys::parse(doc.expose(), &source.to_string())
}

/// Token keys from AWS Secrets Manager and SSM Parameter Store.
#[cfg(feature = "aws")]
#[derive(Debug, Clone)]
pub struct AwsKeyStore {
    secrets: aws_sdk_secretsmanager::Client,
    ssm: aws_sdk_ssm::Client,
}

#[cfg(feature = "aws")]
impl AwsKeyStore {
    /// Clients built from one SDK configuration.
    pub fn new(sdk: &aws_config::SdkConfig) -> AwsKeyStore {
        AwsKeyStore { secrets: aws_sdk_secretsmanager::Client::new(sdk), ssm: aws_sdk_ssm::Client::new(sdk) }
    }
}

#[cfg(feature = "aws")]
impl KeyStore for AwsKeyStore {
    async fn fetch(&self, source: &KeySource) -> Result<SecretBytes, KeyError> {
        let fail = |message: String| KeyError::Fetch { source_name: source.to_string(), message };
        match source {
            KeySource::SecretsManager(id) => {
                let out = self
                    .secrets
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| fail(aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string()))?;
                if let Some(text) = out.secret_string() {
                    Ok(SecretBytes::new(text.as_bytes().to_vec()))
                } else if let Some(blob) = out.secret_binary() {
                    Ok(SecretBytes::new(blob.as_ref().to_vec()))
                } else {
                    Err(fail("secret has no value".to_owned()))
                }
            }
            KeySource::SsmParameter(name) => {
                let out = self
                    .ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| fail(aws_sdk_ssm::error::DisplayErrorContext(&e).to_string()))?;
                let value =
                    out.parameter().and_then(|p| p.value()).ok_or_else(|| fail("parameter has no value".to_owned()))?;
                Ok(SecretBytes::new(value.as_bytes().to_vec()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logmask_mask::Role;

    const KEY: &[u8] = b"0123456789abcdef";

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn exactly_one_trailing_line_end_is_stripped() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"0123456789abcdef", KEY),
            (b"0123456789abcdef\n", KEY),
            (b"0123456789abcdef\r\n", KEY),
            (b"0123456789abcdef\n\n", b"0123456789abcdef\n"),
            (b"0123456789abcdef\r\n\r\n", b"0123456789abcdef\r\n"),
            (b"0123456789abcdef\n\r", b"0123456789abcdef\n\r"),
            (b" 0123456789abcdef ", b" 0123456789abcdef "),
            (b"0123456789abcdef\t", b"0123456789abcdef\t"),
        ];
        for (doc, want) in cases {
            let keys = TokenKeys::parse(doc, "test").unwrap();
            assert_eq!(keys.current().secret().expose(), *want, "{doc:?}");
            assert_eq!(keys.current().id(), None);
            assert!(keys.previous().is_none());
        }
    }

    #[test]
    fn sizes_are_bounded_and_errors_never_quote_the_key() {
        assert!(TokenKeys::parse(&[b'x'; 15], "s").is_err());
        assert!(TokenKeys::parse(b"0123456789abcde\n", "s").is_err(), "15 bytes once the newline is gone");
        assert!(TokenKeys::parse(&[b'x'; 4096], "s").is_ok());
        assert!(TokenKeys::parse(&[b'x'; 4097], "s").is_err());
        assert!(TokenKeys::parse(&vec![b'x'; MAX_KEY_DOCUMENT_BYTES + 1], "s").is_err());
        let err = TokenKeys::parse(b"short-sekrit", "ssm:/p").unwrap_err().to_string();
        assert!(err.starts_with("token key from ssm:/p:") && err.contains("shorter than 16"), "{err}");
        assert!(!err.contains("sekrit"), "{err}");
    }

    #[test]
    fn rotation_json_is_decoded_and_checked() {
        let doc = format!(
            r#" {{"current":{{"id":"k2","key_b64":"{}"}},"previous":{{"id":"k1","key_b64":"{}"}}}}
"#,
            b64(b"current-key-0123456789"),
            b64(KEY)
        );
        let keys = TokenKeys::parse(doc.as_bytes(), "t").unwrap();
        assert_eq!(keys.current().id(), Some("k2"));
        assert_eq!(keys.current().secret().expose(), b"current-key-0123456789");
        assert_eq!(keys.previous().unwrap().secret().expose(), KEY);
        assert!(keys.accepts("k1") && keys.accepts("k2") && !keys.accepts("k3"));

        let only = format!(r#"{{"current":{{"id":"k9","key_b64":"{}"}},"previous":null}}"#, b64(KEY));
        let keys = TokenKeys::parse(only.as_bytes(), "t").unwrap();
        assert!(keys.previous().is_none() && keys.accepts("k9") && !keys.accepts("k1"));

        let secret_b64 = b64(b"do-not-print-this-key");
        let bad: Vec<(String, &str)> = vec![
            (format!(r#"{{"current":{{"id":"k1","key_b64":"{secret_b64}"}},"extra":1}}"#), "unknown field"),
            (format!(r#"{{"current":{{"id":"k1","key":"{secret_b64}"}}}}"#), "unknown field"),
            (format!(r#"{{"previous":{{"id":"k1","key_b64":"{secret_b64}"}}}}"#), "\"current\" must be"),
            (format!(r#"{{"current":{{"id":"k1","key_b64":"{secret_b64}"}},}}"#), "syntax"),
            (r#"{"current":{"id":"k1","key_b64":"not base64!!"}}"#.to_owned(), "base64"),
            (format!(r#"{{"current":{{"id":"k1","key_b64":"{}"}}}}"#, b64(b"short")), "shorter"),
            (format!(r#"{{"current":{{"id":"k 1","key_b64":"{secret_b64}"}}}}"#), "current.id"),
            (format!(r#"{{"current":{{"id":"","key_b64":"{secret_b64}"}}}}"#), "current.id"),
            (
                format!(
                    r#"{{"current":{{"id":"k1","key_b64":"{secret_b64}"}},"previous":{{"id":"k1","key_b64":"{}"}}}}"#,
                    b64(KEY)
                ),
                "same id",
            ),
            (format!(r#"{{"current":["k1","{secret_b64}"]}}"#), "must be an object"),
            (format!(r#"{{"current":{{"id":"k1","key_b64":"{secret_b64}"}},"previous":"k0"}}"#), "an object or absent"),
        ];
        for (doc, want) in bad {
            let err = TokenKeys::parse(doc.as_bytes(), "t").unwrap_err().to_string();
            assert!(err.contains(want), "{doc}: {err}");
            assert!(!err.contains(&secret_b64) && !err.contains("do-not-print"), "{err}");
        }
    }

    #[test]
    fn rotation_ids_name_the_pseudonyms_and_previous_keys_reproduce_old_tokens() {
        let before = TokenKeys::parse(KEY, "raw").unwrap().builder(Policy::default()).build().unwrap();
        let doc = format!(
            r#"{{"current":{{"id":"k2","key_b64":"{}"}},"previous":{{"id":"k1","key_b64":"{}"}}}}"#,
            b64(b"the-new-key-after-rotation"),
            b64(KEY)
        );
        let keys = TokenKeys::parse(doc.as_bytes(), "t").unwrap();
        let new = keys.builder(Policy::default()).build().unwrap();
        let old = keys.builder_for("k1", Policy::default()).unwrap().build().unwrap();
        let line = "bob@example.com from 203.0.113.9";
        let (new_out, _) = new.mask_str(Role::Readonly, line);
        assert!(new_out.starts_with("<email:k2:"), "{new_out}");
        assert_eq!(old.mask_str(Role::Readonly, line), before.mask_str(Role::Readonly, line));
        assert!(keys.builder_for("k3", Policy::default()).is_none());
        let all = keys.maskers(&Policy::default()).unwrap();
        assert_eq!(all.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["k2", "k1"]);
    }

    #[test]
    fn key_files_are_read_with_a_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.key");
        std::fs::write(&path, b"0123456789abcdef\n").unwrap();
        assert_eq!(read_key_file(&path).unwrap().current().secret().expose(), KEY);
        std::fs::write(&path, vec![b'a'; MAX_KEY_DOCUMENT_BYTES * 4]).unwrap();
        let err = read_key_file(&path).unwrap_err();
        assert!(err.to_string().contains("more than 16384 bytes"), "{err}");
        let err = read_key_file(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(err, KeyError::Fetch { .. }), "{err}");
    }

    #[test]
    fn dev_zero_fails_fast() {
        let path = Path::new("/dev/zero");
        if !path.exists() {
            return;
        }
        let start = std::time::Instant::now();
        let err = read_key_file(path).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn sources_come_from_one_setting() {
        assert_eq!(KeySource::from_settings(None, Some("  ")), Ok(None));
        assert_eq!(KeySource::from_settings(Some("s"), None), Ok(Some(KeySource::SecretsManager("s".into()))));
        assert_eq!(KeySource::from_settings(Some(""), Some("/p")), Ok(Some(KeySource::SsmParameter("/p".into()))));
        assert_eq!(KeySource::from_settings(Some("s"), Some("/p")), Err(KeyError::BothSources));
        assert_eq!(KeySource::SsmParameter("/p".into()).to_string(), "ssm:/p");
    }

    #[test]
    fn secret_bytes_debug_is_redacted() {
        let key = SecretBytes::new(b"super-secret-key-material".to_vec());
        assert_eq!(format!("{key:?}"), "SecretBytes(<25 bytes redacted>)");
        let keys = TokenKeys::parse(b"super-secret-key-material", "t").unwrap();
        assert!(!format!("{keys:?}").contains("super"));
    }
}
