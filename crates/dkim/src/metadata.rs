//! `certificate_info.json`: a key's dates, fingerprint and lifecycle state.
//!
//! The state only moves forward (GENERATED → DNS_VERIFIED → APPLIED → ACTIVE → RETIRED) and every
//! change is appended to `history`, so a retried invocation can see what already happened and
//! an operator can audit when each step took place.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::selector::{Domain, Selector};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyState {
    /// Key stored, DNS team notified; DNS not yet proven.
    Generated,
    /// DNS was seen publishing exactly this key.
    DnsVerified,
    /// SES was told to sign with it (status may still be PENDING).
    Applied,
    /// SES reported SUCCESS for this selector.
    Active,
    /// A newer key became ACTIVE; SES no longer signs with this one. Its TXT record may be
    /// removed once `retire_after_days` have passed since the successor became ACTIVE.
    Retired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    pub state: KeyState,
    pub at: Timestamp,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    pub domain: Domain,
    pub selector: Selector,
    pub environment: String,
    pub key_algorithm: String,
    pub private_key_format: String,
    /// Base64 SPKI DER: public, kept here so DNS checks need not read the private key.
    pub public_key: String,
    pub public_key_fingerprint: String,
    pub created_at: Timestamp,
    pub validity_days: u32,
    /// Our rotation policy, not a property of the key (DKIM keys carry no expiry).
    pub expires_at: Timestamp,
    pub renewal_alert_days: u32,
    pub renewal_alert_at: Timestamp,
    pub state: KeyState,
    #[serde(default)]
    pub dns_team_notified_at: Option<Timestamp>,
    #[serde(default)]
    pub dns_verified_at: Option<Timestamp>,
    #[serde(default)]
    pub applied_at: Option<Timestamp>,
    #[serde(default)]
    pub active_at: Option<Timestamp>,
    #[serde(default)]
    pub retired_at: Option<Timestamp>,
    #[serde(default)]
    pub superseded_by: Option<Selector>,
    #[serde(default)]
    pub history: Vec<StateChange>,
}

pub(crate) const DAY: SignedDuration = SignedDuration::from_hours(24);

impl CertificateInfo {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        domain: Domain,
        selector: Selector,
        environment: String,
        public_key_b64: String,
        fingerprint: String,
        created_at: Timestamp,
        validity_days: u32,
        renewal_alert_days: u32,
    ) -> Self {
        let expires_at = created_at + DAY * i32::try_from(validity_days).unwrap_or(i32::MAX);
        let renewal_alert_at = expires_at - DAY * i32::try_from(renewal_alert_days).unwrap_or(i32::MAX);
        Self {
            domain,
            selector,
            environment,
            key_algorithm: "RSA-2048".into(),
            private_key_format: "PKCS#1 PEM (RSA PRIVATE KEY)".into(),
            public_key: public_key_b64,
            public_key_fingerprint: fingerprint,
            created_at,
            validity_days,
            expires_at,
            renewal_alert_days,
            renewal_alert_at,
            state: KeyState::Generated,
            dns_team_notified_at: None,
            dns_verified_at: None,
            applied_at: None,
            active_at: None,
            retired_at: None,
            superseded_by: None,
            history: vec![StateChange {
                state: KeyState::Generated,
                at: created_at,
                note: "key generated and stored".into(),
            }],
        }
    }

    /// Moves to `to` if that is forward; returns whether anything changed. Intermediate
    /// timestamps are filled in too (an APPLIED key was necessarily DNS-verified).
    pub fn advance(&mut self, to: KeyState, at: Timestamp, note: impl Into<String>) -> bool {
        if to <= self.state {
            return false;
        }
        let note = note.into();
        if to >= KeyState::DnsVerified && self.dns_verified_at.is_none() {
            self.dns_verified_at = Some(at);
        }
        if to >= KeyState::Applied && self.applied_at.is_none() && to != KeyState::Retired {
            self.applied_at = Some(at);
        }
        if to >= KeyState::Active && self.active_at.is_none() && to != KeyState::Retired {
            self.active_at = Some(at);
        }
        if to == KeyState::Retired {
            self.retired_at = Some(at);
        }
        self.state = to;
        self.history.push(StateChange { state: to, at, note });
        true
    }

    /// Appends a note without changing state (e.g. an apply that was rolled back).
    pub fn note(&mut self, at: Timestamp, note: impl Into<String>) {
        self.history.push(StateChange { state: self.state, at, note: note.into() });
    }

    /// True while the key waits for DNS or for SES (generated but not applied).
    pub fn is_pending(&self) -> bool {
        matches!(self.state, KeyState::Generated | KeyState::DnsVerified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_forward_only_transitions() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut info = CertificateInfo::new(
            "example.jp".parse().unwrap(),
            "s1".parse().unwrap(),
            "prod".into(),
            "AAAA".into(),
            "sha256:00".into(),
            t0,
            456,
            16,
        );
        assert_eq!(info.expires_at.to_string(), "2027-04-02T00:00:00Z");
        assert_eq!(info.renewal_alert_at.to_string(), "2027-03-17T00:00:00Z");
        let t1 = t0 + DAY;
        assert!(info.advance(KeyState::Applied, t1, "applied"));
        assert_eq!(info.dns_verified_at, Some(t1));
        assert!(!info.advance(KeyState::DnsVerified, t1, "late"));
        assert_eq!(info.state, KeyState::Applied);
        assert!(info.advance(KeyState::Retired, t1 + DAY, "superseded"));
        assert_eq!(info.active_at, None);
        assert_eq!(info.history.len(), 3);
        let json = serde_json::to_string(&info).unwrap();
        assert!(json.contains("\"state\":\"RETIRED\""));
        assert_eq!(serde_json::from_str::<CertificateInfo>(&json).unwrap(), info);
    }
}
