//! The crate's error types. Messages never contain key material: key errors describe the
//! problem ("not PKCS#1", "1536 bits"), never the bytes.

use crate::dns::DnsStatus;

/// Problems with key material (generation, encoding, format rules for SES).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("RSA key generation failed")]
    Generation,
    #[error("malformed DER: {0}")]
    MalformedDer(&'static str),
    #[error("malformed PEM: {0}")]
    MalformedPem(&'static str),
    #[error("not an RSA key (PKCS#8 algorithm is not rsaEncryption)")]
    NotRsa,
    #[error(
        "PKCS#8 private keys are not sent to SES: SES BYODKIM identities configured with PKCS#8 \
         keys have been reported to never verify; convert to PKCS#1 (RSAPrivateKey) first"
    )]
    Pkcs8NotAcceptedForSes,
    #[error("the private key is not a valid PKCS#1 RSAPrivateKey")]
    InvalidPkcs1,
    #[error("the public key is not a valid SubjectPublicKeyInfo RSA key")]
    InvalidPublicKey,
    #[error("SES BYODKIM accepts RSA keys of 1024 to 2048 bits; this key has {0} bits")]
    UnsupportedKeySize(usize),
    #[error("the SES private key value must be base64 without PEM armour or whitespace")]
    NotBareBase64,
}

/// Errors from the object store (S3).
#[derive(Debug, thiserror::Error)]
#[error("object store {operation} {key}: {message}")]
pub struct StoreError {
    pub operation: &'static str,
    pub key: String,
    pub message: String,
}

/// Errors from the SESv2 DKIM calls.
#[derive(Debug, thiserror::Error)]
#[error("SES {operation} failed: {message}")]
pub struct SesError {
    pub operation: &'static str,
    pub message: String,
}

/// Errors from DNS resolution (not "no record": that is a [`DnsStatus`]).
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup of {name} failed: {message}")]
pub struct DnsError {
    pub name: String,
    pub message: String,
}

/// Everything the manager can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown action {action:?}; valid actions: {valid}")]
    UnknownAction { action: String, valid: String },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid domain {domain:?}: {reason}")]
    InvalidDomain { domain: String, reason: &'static str },
    #[error("invalid selector {selector:?}: {reason}")]
    InvalidSelector { selector: String, reason: &'static str },
    #[error("invalid configuration {name}: {reason}")]
    InvalidConfig { name: &'static str, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notify(#[from] logmask_notify::NotifyError),
    #[error(transparent)]
    Ses(#[from] SesError),
    #[error(transparent)]
    Dns(#[from] DnsError),
    #[error("CERTIFICATE_NOT_FOUND: no DKIM key stored for {domain} selector {selector}")]
    CertificateNotFound { domain: String, selector: String },
    #[error("NO_PENDING_KEY: {domain} has no generated key waiting to be applied")]
    NoPendingKey { domain: String },
    #[error("DNS_TXT_NOT_READY: {record_name} is {status}, not MATCH ({detail}); SES was not touched")]
    DnsNotReady { record_name: String, status: DnsStatus, detail: String },
    #[error("refused: {0}")]
    Refused(String),
    #[error("stored metadata {key} is invalid: {message}")]
    Metadata { key: String, message: String },
    #[error(
        "the stored private key for {selector} does not match its recorded public key \
         (fingerprint {recorded}); refusing to use it"
    )]
    KeyPairMismatch { selector: String, recorded: String },
}
