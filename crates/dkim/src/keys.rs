//! RSA key material for SES BYODKIM.
//!
//! SES gets the private key as base64 of PKCS#1 `RSAPrivateKey` DER (no PEM armour, no line
//! breaks): the current AWS docs accept PKCS#1 or PKCS#8, but PKCS#8 keys have been reported to
//! be accepted silently and then never verify, and PKCS#1 is valid under every version of the
//! docs. DNS gets the public key as base64 of SubjectPublicKeyInfo DER, the form `openssl rsa
//! -pubout` produces and the one every verifier parses.
//!
//! aws-lc-rs exports generated keys as PKCS#8 only, so [`pkcs8_to_pkcs1`] unwraps the
//! `privateKey` OCTET STRING of the PKCS#8 `PrivateKeyInfo`, which *is* the PKCS#1 DER.
//!
//! Types holding private key bytes zeroize on drop and print as `[REDACTED]` with `{:?}`.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use crate::error::KeyError;

/// DER of the rsaEncryption OID 1.2.840.113549.1.1.1 (tag, length, value).
const RSA_ENCRYPTION_OID: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const PKCS1_PEM_LABEL: &str = "RSA PRIVATE KEY";
const PKCS8_PEM_LABEL: &str = "PRIVATE KEY";
/// SES BYODKIM key size limits (bits), from the SES API reference.
const SES_MIN_BITS: usize = 1024;
const SES_MAX_BITS: usize = 2048;

/// A PKCS#1 `RSAPrivateKey` in DER. Validated on construction; never printed.
pub struct PrivateKeyPkcs1 {
    der: Zeroizing<Vec<u8>>,
    bits: usize,
}

impl fmt::Debug for PrivateKeyPkcs1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKeyPkcs1({} bits, [REDACTED])", self.bits)
    }
}

impl PrivateKeyPkcs1 {
    /// Accepts PKCS#1 DER only; a PKCS#8 structure is reported as such rather than as garbage.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        if is_pkcs8(der) {
            return Err(KeyError::Pkcs8NotAcceptedForSes);
        }
        let pair = KeyPair::from_der(der).map_err(|_| KeyError::InvalidPkcs1)?;
        Ok(Self { der: Zeroizing::new(der.to_vec()), bits: pair.public_modulus_len() * 8 })
    }

    /// Parses a `-----BEGIN RSA PRIVATE KEY-----` PEM. A `BEGIN PRIVATE KEY` (PKCS#8) PEM is
    /// rejected: use [`PrivateKeyPkcs1::from_pem_converting_pkcs8`] where conversion is intended.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(pem)?;
        match label.as_str() {
            PKCS1_PEM_LABEL => Self::from_der(&der),
            PKCS8_PEM_LABEL => Err(KeyError::Pkcs8NotAcceptedForSes),
            _ => Err(KeyError::MalformedPem("expected an RSA PRIVATE KEY block")),
        }
    }

    /// Like [`from_pem`](Self::from_pem) but converts a PKCS#8 PEM to PKCS#1. Used only to
    /// load keys another tool stored (e.g. the previous selector, for rollback).
    pub fn from_pem_converting_pkcs8(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(pem)?;
        match label.as_str() {
            PKCS1_PEM_LABEL => Self::from_der(&der),
            PKCS8_PEM_LABEL => Self::from_der(&pkcs8_to_pkcs1(&der)?),
            _ => Err(KeyError::MalformedPem("expected a private key block")),
        }
    }

    /// PEM with the PKCS#1 label, 64-character lines (the storage format in S3).
    pub fn to_pem(&self) -> Zeroizing<String> {
        encode_pem(PKCS1_PEM_LABEL, &self.der)
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The PKCS#1 DER bytes. Handle with care: never log or return them.
    pub fn expose_der(&self) -> &[u8] {
        &self.der
    }

    /// The matching public key (SubjectPublicKeyInfo).
    pub fn public_key(&self) -> Result<PublicKeySpki, KeyError> {
        let pair = KeyPair::from_der(&self.der).map_err(|_| KeyError::InvalidPkcs1)?;
        let spki: PublicKeyX509Der<'static> = pair.public_key().as_der().map_err(|_| KeyError::InvalidPkcs1)?;
        Ok(PublicKeySpki { der: spki.as_ref().to_vec() })
    }

    /// The value for SESv2 `DomainSigningPrivateKey`.
    pub fn to_ses_signing_key(&self) -> Result<SesSigningKey, KeyError> {
        SesSigningKey::from_base64(&BASE64.encode(&*self.der))
    }
}

/// A public key as SubjectPublicKeyInfo DER (what goes into `p=`).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKeySpki {
    der: Vec<u8>,
}

impl fmt::Debug for PublicKeySpki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKeySpki({})", self.fingerprint())
    }
}

impl PublicKeySpki {
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        // aws-lc parses PKCS#1 and SPKI alike; DNS must carry SPKI, so check the shape too:
        // SEQUENCE { AlgorithmIdentifier(rsaEncryption), BIT STRING }.
        let is_spki = matches!(read_tlv(der), Ok((0x30, content, [])) if matches!(
            read_tlv(content), Ok((0x30, algorithm, _)) if algorithm.starts_with(&RSA_ENCRYPTION_OID)));
        if !is_spki {
            return Err(KeyError::InvalidPublicKey);
        }
        aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|_| KeyError::InvalidPublicKey)?;
        Ok(Self { der: der.to_vec() })
    }

    pub fn from_base64(b64: &str) -> Result<Self, KeyError> {
        let der = BASE64.decode(b64.trim()).map_err(|_| KeyError::InvalidPublicKey)?;
        Self::from_der(&der)
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// `-----BEGIN PUBLIC KEY-----` PEM (the `openssl rsa -pubout` form).
    pub fn to_pem(&self) -> String {
        encode_pem("PUBLIC KEY", &self.der).to_string()
    }

    /// Reads a `PUBLIC KEY` PEM, or bare base64 of the SPKI DER (a TXT record's `p=` value).
    pub fn from_pem_or_base64(text: &str) -> Result<Self, KeyError> {
        if text.trim_start().starts_with("-----BEGIN") {
            let (label, der) = decode_pem(text)?;
            if label != "PUBLIC KEY" {
                return Err(KeyError::MalformedPem("expected a PUBLIC KEY block"));
            }
            return Self::from_der(&der);
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        Self::from_base64(&compact)
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(&self.der)
    }

    /// `sha256:` + lowercase hex of SHA-256 over the SPKI DER; identifies a key pair in
    /// metadata, notifications and logs without revealing anything secret.
    pub fn fingerprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        let mut out = String::from("sha256:");
        for byte in digest.as_ref() {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }
}

/// Exactly what is sent to SES as `DomainSigningPrivateKey`: base64 of PKCS#1 DER.
pub struct SesSigningKey(Zeroizing<String>);

impl fmt::Debug for SesSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SesSigningKey([REDACTED])")
    }
}

impl SesSigningKey {
    /// Validates the SES API pattern `^[a-zA-Z0-9+/]+={0,2}$`, PKCS#1 (not PKCS#8) and the
    /// 1024–2048-bit range.
    pub fn from_base64(value: &str) -> Result<Self, KeyError> {
        let body = value.trim_end_matches('=');
        let padding = value.len() - body.len();
        if body.is_empty() || padding > 2 || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        {
            return Err(KeyError::NotBareBase64);
        }
        let der = Zeroizing::new(BASE64.decode(value).map_err(|_| KeyError::NotBareBase64)?);
        let key = PrivateKeyPkcs1::from_der(&der)?;
        if !(SES_MIN_BITS..=SES_MAX_BITS).contains(&key.bits) {
            return Err(KeyError::UnsupportedKeySize(key.bits));
        }
        Ok(Self(Zeroizing::new(value.to_owned())))
    }

    /// The secret value, for the one place that sends it to SES.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

/// A freshly generated key pair.
pub struct GeneratedKey {
    pub private: PrivateKeyPkcs1,
    pub public: PublicKeySpki,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey").field("private", &self.private).field("public", &self.public).finish()
    }
}

/// Generates an RSA-2048 key pair (the largest size SES BYODKIM accepts).
pub fn generate_rsa2048() -> Result<GeneratedKey, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
    let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| KeyError::Generation)?;
    let pkcs1 = pkcs8_to_pkcs1(pkcs8.as_ref())?;
    let private = PrivateKeyPkcs1::from_der(&pkcs1)?;
    let public = private.public_key()?;
    Ok(GeneratedKey { private, public })
}

/// Unwraps the PKCS#1 `RSAPrivateKey` from a PKCS#8 `PrivateKeyInfo` (RFC 5208):
/// `SEQUENCE { version INTEGER, algorithm AlgorithmIdentifier, privateKey OCTET STRING, … }`.
pub fn pkcs8_to_pkcs1(pkcs8: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let (tag, info, _) = read_tlv(pkcs8)?;
    if tag != 0x30 {
        return Err(KeyError::MalformedDer("PrivateKeyInfo is not a SEQUENCE"));
    }
    let (tag, _version, rest) = read_tlv(info)?;
    if tag != 0x02 {
        return Err(KeyError::MalformedDer("missing PKCS#8 version"));
    }
    let (tag, algorithm, rest) = read_tlv(rest)?;
    if tag != 0x30 {
        return Err(KeyError::MalformedDer("missing AlgorithmIdentifier"));
    }
    if !algorithm.starts_with(&RSA_ENCRYPTION_OID) {
        return Err(KeyError::NotRsa);
    }
    let (tag, private_key, _attributes) = read_tlv(rest)?;
    if tag != 0x04 {
        return Err(KeyError::MalformedDer("privateKey is not an OCTET STRING"));
    }
    Ok(Zeroizing::new(private_key.to_vec()))
}

/// True if `der` is shaped like a PKCS#8 `PrivateKeyInfo` (version INTEGER followed by an
/// AlgorithmIdentifier SEQUENCE); PKCS#1 has the modulus INTEGER in that place.
pub fn is_pkcs8(der: &[u8]) -> bool {
    let Ok((0x30, content, _)) = read_tlv(der) else {
        return false;
    };
    let Ok((0x02, _, rest)) = read_tlv(content) else {
        return false;
    };
    matches!(read_tlv(rest), Ok((0x30, _, _)))
}

/// Reads one DER TLV: (tag, content, rest). Definite lengths only, up to 4 length octets.
fn read_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), KeyError> {
    let (&tag, rest) = input.split_first().ok_or(KeyError::MalformedDer("empty"))?;
    let (&first, mut rest) = rest.split_first().ok_or(KeyError::MalformedDer("missing length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(KeyError::MalformedDer("bad length"));
        }
        let mut len = 0usize;
        for &b in &rest[..count] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[count..];
        len
    };
    if rest.len() < len {
        return Err(KeyError::MalformedDer("truncated"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn encode_pem(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(BASE64.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 80));
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Returns (label, DER) of the first PEM block.
fn decode_pem(pem: &str) -> Result<(String, Zeroizing<Vec<u8>>), KeyError> {
    let mut lines = pem.lines().map(str::trim).skip_while(|l| l.is_empty());
    let begin = lines.next().ok_or(KeyError::MalformedPem("empty"))?;
    let label = begin
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or(KeyError::MalformedPem("missing BEGIN line"))?
        .to_owned();
    let end = format!("-----END {label}-----");
    let mut body = Zeroizing::new(String::new());
    let mut closed = false;
    for line in lines {
        if line == end {
            closed = true;
            break;
        }
        if line.contains(':') {
            return Err(KeyError::MalformedPem("encrypted or annotated PEM is not supported"));
        }
        body.push_str(line);
    }
    if !closed {
        return Err(KeyError::MalformedPem("missing END line"));
    }
    let der = BASE64.decode(body.as_bytes()).map_err(|_| KeyError::MalformedPem("body is not base64"))?;
    Ok((label, Zeroizing::new(der)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkcs8_of_fresh_key() -> Vec<u8> {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
        pkcs8.as_ref().to_vec()
    }

    #[test]
    fn generated_key_is_pkcs1_2048_with_spki_public_key() {
        let key = generate_rsa2048().unwrap();
        assert_eq!(key.private.bits(), 2048);
        assert!(!is_pkcs8(key.private.expose_der()));
        // The research notes' recognisable prefixes: PKCS#1 2048 vs the PKCS#8 rsaEncryption OID.
        let ses = key.private.to_ses_signing_key().unwrap();
        assert!(ses.expose_secret().starts_with("MIIE"));
        assert!(ses.expose_secret()[..20].contains("IBAAKCAQEA")); // version 0, then the modulus
        assert!(!ses.expose_secret().contains("MA0GCSqGSIb3DQEBAQUA"));
        // SPKI DER of RSA-2048 is 294 bytes and starts with the rsaEncryption AlgorithmIdentifier.
        assert_eq!(key.public.der().len(), 294);
        assert!(key.public.to_base64().starts_with("MIIBIjANBgkqhkiG9w0BAQEFAA"));
        assert_eq!(key.private.public_key().unwrap(), key.public);
    }

    #[test]
    fn pkcs8_conversion_keeps_the_same_key() {
        let pkcs8 = pkcs8_of_fresh_key();
        assert!(is_pkcs8(&pkcs8));
        let pkcs1 = pkcs8_to_pkcs1(&pkcs8).unwrap();
        let from_pkcs1 = PrivateKeyPkcs1::from_der(&pkcs1).unwrap();
        let from_pkcs8 = KeyPair::from_pkcs8(&pkcs8).unwrap();
        let spki: PublicKeyX509Der<'static> = from_pkcs8.public_key().as_der().unwrap();
        assert_eq!(from_pkcs1.public_key().unwrap().der(), spki.as_ref());
    }

    #[test]
    fn pkcs8_is_rejected_for_ses_in_every_form() {
        let pkcs8 = pkcs8_of_fresh_key();
        assert_eq!(PrivateKeyPkcs1::from_der(&pkcs8).unwrap_err(), KeyError::Pkcs8NotAcceptedForSes);
        assert_eq!(SesSigningKey::from_base64(&BASE64.encode(&pkcs8)).unwrap_err(), KeyError::Pkcs8NotAcceptedForSes);
        let pem = encode_pem(PKCS8_PEM_LABEL, &pkcs8);
        assert_eq!(PrivateKeyPkcs1::from_pem(&pem).unwrap_err(), KeyError::Pkcs8NotAcceptedForSes);
        // Explicit conversion is allowed (loading a key another tool stored).
        let converted = PrivateKeyPkcs1::from_pem_converting_pkcs8(&pem).unwrap();
        assert!(converted.to_ses_signing_key().is_ok());
    }

    #[test]
    fn ses_value_must_be_bare_base64() {
        let key = generate_rsa2048().unwrap();
        let pem = key.private.to_pem();
        assert_eq!(SesSigningKey::from_base64(&pem).unwrap_err(), KeyError::NotBareBase64);
        let with_newline = format!("{}\n", key.private.to_ses_signing_key().unwrap().expose_secret());
        assert_eq!(SesSigningKey::from_base64(&with_newline).unwrap_err(), KeyError::NotBareBase64);
        assert_eq!(SesSigningKey::from_base64("AAAA").unwrap_err(), KeyError::InvalidPkcs1);
    }

    #[test]
    fn pem_round_trip_and_redacted_debug() {
        let key = generate_rsa2048().unwrap();
        let pem = key.private.to_pem();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let back = PrivateKeyPkcs1::from_pem(&pem).unwrap();
        assert_eq!(back.expose_der(), key.private.expose_der());
        let ses = key.private.to_ses_signing_key().unwrap();
        for debug in [format!("{key:?}"), format!("{:?}", key.private), format!("{ses:?}")] {
            assert!(debug.contains("REDACTED"), "{debug}");
            assert!(!debug.contains(&ses.expose_secret()[..40]), "{debug}");
        }
    }

    #[test]
    fn fingerprint_is_sha256_of_spki() {
        let key = generate_rsa2048().unwrap();
        let fp = key.public.fingerprint();
        assert_eq!(fp.len(), "sha256:".len() + 64);
        let other = generate_rsa2048().unwrap();
        assert_ne!(fp, other.public.fingerprint());
        assert_eq!(PublicKeySpki::from_base64(&key.public.to_base64()).unwrap(), key.public);
    }

    #[test]
    fn malformed_der_is_an_error_not_a_panic() {
        for input in [&[][..], &[0x30], &[0x30, 0x85, 0, 0, 0, 0, 0], &[0x30, 0x05, 0x02]] {
            assert!(pkcs8_to_pkcs1(input).is_err());
            assert!(!is_pkcs8(input));
        }
    }
}
