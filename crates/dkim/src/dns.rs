//! Proving that DNS publishes *our* key before SES is touched.
//!
//! [`check_dns`] resolves `{selector}._domainkey.{domain}` TXT, joins each record's strings,
//! parses the tags and compares the decoded `p=` with our SPKI DER byte for byte. A record that
//! merely exists is not enough: a wrong or stale key is `MISMATCH`, never "found".

use std::future::Future;
use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use serde::{Deserialize, Serialize};

use crate::error::DnsError;
use crate::keys::PublicKeySpki;
use crate::record::{parse_dkim_key_record, record_name};
use crate::selector::{Domain, Selector};

/// One TXT resource record: its character-strings, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtRecord {
    pub strings: Vec<Vec<u8>>,
}

impl TxtRecord {
    /// The strings concatenated without separators (RFC 6376 §3.6.2.2).
    pub fn joined(&self) -> String {
        String::from_utf8_lossy(&self.strings.concat()).into_owned()
    }
}

/// TXT lookups. An absent name or an absent TXT RRset is `Ok(vec![])`; only real failures
/// (timeouts, SERVFAIL) are errors, so they are never mistaken for `NOT_FOUND`.
pub trait TxtResolver: Send + Sync {
    fn lookup_txt(&self, name: &str) -> impl Future<Output = Result<Vec<TxtRecord>, DnsError>> + Send;
}

/// hickory-resolver with either the system configuration or explicit name servers (the
/// domain's authoritative servers avoid stale negative answers from caching resolvers).
pub struct HickoryTxtResolver {
    resolver: TokioResolver,
}

impl HickoryTxtResolver {
    /// Uses `/etc/resolv.conf`.
    pub fn system() -> Result<Self, DnsError> {
        let mut builder = TokioResolver::builder_tokio()
            .map_err(|e| DnsError { name: "(system configuration)".into(), message: e.to_string() })?;
        *builder.options_mut() = fresh_answer_options();
        let resolver = builder.build().map_err(|e| DnsError { name: "(resolver)".into(), message: e.to_string() })?;
        Ok(Self { resolver })
    }

    /// Queries exactly these servers (UDP, falling back to TCP for truncated answers).
    pub fn with_name_servers(servers: &[SocketAddr]) -> Result<Self, DnsError> {
        let name_servers = servers
            .iter()
            .map(|addr| {
                let connections = [ProtocolConfig::Udp, ProtocolConfig::Tcp]
                    .into_iter()
                    .map(|protocol| {
                        let mut conn = ConnectionConfig::new(protocol);
                        conn.port = addr.port();
                        conn
                    })
                    .collect();
                NameServerConfig::new(addr.ip(), true, connections)
            })
            .collect();
        let config = ResolverConfig::from_name_servers(name_servers);
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(fresh_answer_options())
            .build()
            .map_err(|e| DnsError { name: "(resolver)".into(), message: e.to_string() })?;
        Ok(Self { resolver })
    }
}

/// A check must see the DNS as it is now, not an answer cached by an earlier check.
fn fresh_answer_options() -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 2;
    opts.timeout = std::time::Duration::from_secs(3);
    opts
}

impl TxtResolver for HickoryTxtResolver {
    async fn lookup_txt(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        // A trailing dot makes the name absolute, so no search domain is appended.
        let fqdn = if name.ends_with('.') { name.to_owned() } else { format!("{name}.") };
        match self.resolver.txt_lookup(fqdn.as_str()).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(TxtRecord { strings: txt.txt_data.iter().map(|s| s.to_vec()).collect() }),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(DnsError { name: name.to_owned(), message: e.to_string() }),
        }
    }
}

/// The outcome of comparing DNS with our key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DnsStatus {
    /// No TXT record at the name.
    NotFound,
    /// One record, but not our key (other key, revoked `p=`, not a DKIM record, PKCS#1 form…).
    Mismatch,
    /// More than one TXT record: verifiers may pick any of them, so this is not safe either.
    MultipleRecords,
    /// Exactly one record and its `p=` decodes to our SPKI DER.
    Match,
}

impl DnsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DnsStatus::NotFound => "NOT_FOUND",
            DnsStatus::Mismatch => "MISMATCH",
            DnsStatus::MultipleRecords => "MULTIPLE_RECORDS",
            DnsStatus::Match => "MATCH",
        }
    }
}

impl std::fmt::Display for DnsStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`check_dns`] saw. Everything here is public DNS data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsCheck {
    pub record_name: String,
    pub status: DnsStatus,
    pub records_found: usize,
    pub expected_fingerprint: String,
    /// Fingerprint of the key DNS publishes, when it parses as an SPKI key.
    pub published_fingerprint: Option<String>,
    pub detail: String,
}

/// Resolves the selector's TXT record and compares it with `expected`.
pub async fn check_dns<R: TxtResolver>(
    resolver: &R,
    domain: &Domain,
    selector: &Selector,
    expected: &PublicKeySpki,
) -> Result<DnsCheck, DnsError> {
    let name = record_name(domain, selector);
    let records = resolver.lookup_txt(&name).await?;
    let mut check = DnsCheck {
        record_name: name,
        status: DnsStatus::NotFound,
        records_found: records.len(),
        expected_fingerprint: expected.fingerprint(),
        published_fingerprint: None,
        detail: String::new(),
    };
    match records.as_slice() {
        [] => check.detail = "no TXT record".into(),
        [record] => {
            let (status, published, detail) = compare(&record.joined(), expected);
            check.status = status;
            check.published_fingerprint = published;
            check.detail = detail;
        }
        many => {
            check.status = DnsStatus::MultipleRecords;
            let matching = many.iter().filter(|r| compare(&r.joined(), expected).0 == DnsStatus::Match).count();
            check.detail = format!("{} TXT records ({matching} with our key); exactly one must remain", many.len());
        }
    }
    Ok(check)
}

fn compare(joined: &str, expected: &PublicKeySpki) -> (DnsStatus, Option<String>, String) {
    let tags = match parse_dkim_key_record(joined) {
        Ok(tags) => tags,
        Err(e) => {
            return (DnsStatus::Mismatch, None, format!("not a DKIM key record: {e}"));
        }
    };
    if !tags.key_type.eq_ignore_ascii_case("rsa") {
        return (DnsStatus::Mismatch, None, format!("k={} is not rsa", tags.key_type));
    }
    if tags.public_key_b64.is_empty() {
        return (DnsStatus::Mismatch, None, "p= is empty (key revoked)".into());
    }
    let Ok(published) = BASE64.decode(&tags.public_key_b64) else {
        return (DnsStatus::Mismatch, None, "p= is not valid base64".into());
    };
    let fingerprint = PublicKeySpki::from_der(&published).ok().map(|k| k.fingerprint());
    if published == expected.der() {
        (DnsStatus::Match, fingerprint, "p= equals our key".into())
    } else if fingerprint.is_none() {
        (DnsStatus::Mismatch, None, "p= is not an RSA SubjectPublicKeyInfo (PKCS#1 form or garbage)".into())
    } else {
        (DnsStatus::Mismatch, fingerprint, "p= holds a different key".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::FakeDns;
    use crate::keys::generate_rsa2048;
    use crate::record::{dkim_txt_value, split_character_strings};

    fn txt(value: &str) -> TxtRecord {
        TxtRecord { strings: split_character_strings(value).into_iter().map(String::into_bytes).collect() }
    }

    #[tokio::test]
    async fn statuses_cover_every_case() {
        let ours = generate_rsa2048().unwrap().public;
        let theirs = generate_rsa2048().unwrap().public;
        let domain: Domain = "example.jp".parse().unwrap();
        let selector: Selector = "s1".parse().unwrap();
        let name = "s1._domainkey.example.jp";
        let dns = FakeDns::default();

        let status = |dns: &FakeDns| {
            let dns = dns.clone();
            let (domain, selector, ours) = (domain.clone(), selector.clone(), ours.clone());
            async move { check_dns(&dns, &domain, &selector, &ours).await.unwrap() }
        };

        assert_eq!(status(&dns).await.status, DnsStatus::NotFound);

        dns.set(name, vec![txt(&dkim_txt_value(&theirs))]);
        let check = status(&dns).await;
        assert_eq!(check.status, DnsStatus::Mismatch);
        assert_eq!(check.published_fingerprint, Some(theirs.fingerprint()));

        dns.set(name, vec![txt("v=DKIM1; p=")]);
        assert_eq!(status(&dns).await.status, DnsStatus::Mismatch);
        dns.set(name, vec![txt("some verification token")]);
        assert_eq!(status(&dns).await.status, DnsStatus::Mismatch);

        dns.set(name, vec![txt(&dkim_txt_value(&ours))]);
        let check = status(&dns).await;
        assert_eq!(check.status, DnsStatus::Match);
        assert_eq!(check.published_fingerprint, Some(ours.fingerprint()));

        dns.set(name, vec![txt(&dkim_txt_value(&ours)), txt(&dkim_txt_value(&theirs))]);
        let check = status(&dns).await;
        assert_eq!(check.status, DnsStatus::MultipleRecords);
        assert!(check.detail.contains("1 with our key"), "{}", check.detail);
    }
}
