//! The checks. Each turns what it observed into findings; none of them stops the others, and
//! a part that cannot run becomes a WARNING finding naming what failed.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use logmask_dkim::dns::{DnsStatus, TxtResolver, check_dns};
use logmask_dkim::keys::PublicKeySpki;
use logmask_dkim::metadata::{CertificateInfo, KeyState};
use logmask_dkim::ses::{DkimSigningAttributesOrigin, DkimStatus, SesDkimState};
use logmask_notify::{Message, Severity};

use crate::config::Thresholds;
use crate::error::CheckError;
use crate::finding::{Check, Finding};
use crate::metrics::ids;

const DAY: SignedDuration = SignedDuration::from_hours(24);
/// Within this many days of expiry (or expired) a key in use is CRITICAL.
pub const CRITICAL_DAYS: i32 = 7;
/// SES looks for the DKIM record for 72 hours; PENDING for longer is a WARNING.
pub const PENDING_WARNING: SignedDuration = SignedDuration::from_hours(72);
/// Rates within this distance of a threshold count as at the threshold (floating point).
const RATE_EPSILON: f64 = 1e-9;

fn in_use(state: KeyState) -> bool {
    matches!(state, KeyState::Applied | KeyState::Active)
}

/// The selector whose TXT must match: the one SES signs with (EXTERNAL), else the newest key
/// our metadata says is applied (SES unreachable, or not signing with it: that is the SES
/// check's finding, and DNS must still hold the key).
pub fn active_selector(infos: &[CertificateInfo], ses: Option<&SesDkimState>) -> Option<String> {
    ses.and_then(SesDkimState::external_selector).map(str::to_owned).or_else(|| {
        infos.iter().filter(|i| in_use(i.state)).max_by_key(|i| i.created_at).map(|i| i.selector.to_string())
    })
}

/// Result of the key-expiry check.
#[derive(Debug, Default)]
pub struct Expiry {
    pub findings: Vec<Finding>,
    /// (selector, whole days until expiry, negative once expired) of every key in use.
    pub days_until_expiry: Vec<(String, i64)>,
    /// Expiring selectors without a successor key (candidates for AUTO rotation).
    pub needs_successor: Vec<String>,
}

/// WARNING within `alert_days` of expiry, CRITICAL within [`CRITICAL_DAYS`] or expired, for every
/// key in use (APPLIED/ACTIVE, or the selector SES signs with).
pub fn key_expiry(infos: &[CertificateInfo], ses: Option<&SesDkimState>, now: Timestamp, alert_days: u32) -> Expiry {
    let current = ses.and_then(SesDkimState::external_selector);
    let mut out = Expiry::default();
    let alert = DAY * i32::try_from(alert_days).unwrap_or(i32::MAX);
    for info in infos.iter().filter(|i| in_use(i.state) || Some(i.selector.as_str()) == current) {
        let remaining = now.duration_until(info.expires_at);
        let days_left = remaining.as_secs().div_euclid(86_400);
        out.days_until_expiry.push((info.selector.to_string(), days_left));
        let severity = if remaining <= DAY * CRITICAL_DAYS {
            Severity::Critical
        } else if remaining <= alert {
            Severity::Warning
        } else {
            continue;
        };
        let successor = infos
            .iter()
            .filter(|o| {
                o.created_at > info.created_at
                    && matches!(o.state, KeyState::Generated | KeyState::DnsVerified | KeyState::Applied)
            })
            .max_by_key(|o| o.created_at)
            .map(|o| o.selector.to_string());
        if successor.is_none() {
            out.needs_successor.push(info.selector.to_string());
        }
        out.findings.push(Finding::new(
            Check::KeyExpiry,
            format!("key-expiry/{}", info.selector),
            severity,
            Message::KeyExpiry {
                selector: info.selector.to_string(),
                expires_at: info.expires_at,
                days_left,
                successor,
            },
        ));
    }
    out
}

/// SES's view of the identity: signing on, status SUCCESS (PENDING for at most 72 hours), and
/// origin EXTERNAL once our metadata says BYODKIM was applied.
pub fn ses_dkim(ses: &SesDkimState, infos: &[CertificateInfo], now: Timestamp) -> Vec<Finding> {
    let mut findings = Vec::new();
    let origin = ses.origin.as_ref().map(|o| o.as_str().to_owned());
    if !ses.signing_enabled {
        findings.push(Finding::new(
            Check::SesDkim,
            "ses-dkim/signing",
            Severity::Critical,
            Message::SesSigningDisabled { origin: origin.clone() },
        ));
    }
    let selector = ses.external_selector().map(str::to_owned);
    match &ses.status {
        DkimStatus::Success => {}
        DkimStatus::Pending => {
            let since = selector
                .as_deref()
                .and_then(|s| infos.iter().find(|i| i.selector.as_str() == s))
                .and_then(|i| i.applied_at);
            let pending = since.map(|t| t.duration_until(now));
            let severity = match pending {
                Some(d) if d > PENDING_WARNING => Some(Severity::Warning),
                Some(_) => None,
                // Applied outside the manager: the duration is unknown, so only say so.
                None => Some(Severity::Info),
            };
            if let Some(severity) = severity {
                findings.push(Finding::new(
                    Check::SesDkim,
                    "ses-dkim/status",
                    severity,
                    Message::SesDkimPending { selector, pending_hours: pending.map(|d| d.as_secs() / 3600) },
                ));
            }
        }
        other => findings.push(Finding::new(
            Check::SesDkim,
            "ses-dkim/status",
            Severity::Critical,
            Message::SesDkimStatus { status: other.as_str().to_owned(), selector: selector.clone() },
        )),
    }
    let applied = infos.iter().filter(|i| in_use(i.state)).max_by_key(|i| i.created_at);
    if let Some(expected) = applied
        && ses.origin != Some(DkimSigningAttributesOrigin::External)
    {
        findings.push(Finding::new(
            Check::SesDkim,
            "ses-dkim/origin",
            Severity::Critical,
            Message::SesSigningOrigin {
                origin,
                tokens: ses.tokens.clone(),
                expected_selector: expected.selector.to_string(),
            },
        ));
    }
    findings
}

fn public_key(info: &CertificateInfo) -> Result<PublicKeySpki, CheckError> {
    PublicKeySpki::from_base64(&info.public_key)
        .map_err(|e| CheckError::new(format!("DKIM metadata of {}", info.selector), e))
}

/// The active selector's TXT must hold exactly our key (MATCH); a retired selector still
/// published after its retire date is worth an INFO to the DNS team.
pub async fn dns<R: TxtResolver>(
    resolver: &R,
    infos: &[CertificateInfo],
    active: Option<&str>,
    now: Timestamp,
    retire_after_days: u32,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(selector) = active {
        match infos.iter().find(|i| i.selector.as_str() == selector) {
            None => findings.push(Finding::check_failed(
                Check::Dns,
                Some(selector),
                &CheckError::new(
                    "DKIM metadata",
                    format!("no certificate_info.json for selector {selector}, which SES signs with"),
                ),
            )),
            Some(info) => {
                let checked = match public_key(info) {
                    Ok(public) => check_dns(resolver, &info.domain, &info.selector, &public)
                        .await
                        .map_err(|e| CheckError::new("DNS TXT lookup", e)),
                    Err(e) => Err(e),
                };
                match checked {
                    Ok(check) if check.status == DnsStatus::Match => {}
                    Ok(check) => findings.push(Finding::new(
                        Check::Dns,
                        format!("dns/{selector}"),
                        Severity::Critical,
                        Message::DnsKeyMismatch {
                            selector: selector.to_owned(),
                            record_name: check.record_name,
                            status: check.status.as_str().to_owned(),
                            detail: check.detail,
                        },
                    )),
                    Err(e) => findings.push(Finding::check_failed(Check::Dns, Some(selector), &e)),
                }
            }
        }
    }
    let retire_after = DAY * i32::try_from(retire_after_days).unwrap_or(i32::MAX);
    for info in infos.iter().filter(|i| i.state == KeyState::Retired && Some(i.selector.as_str()) != active) {
        let successor_active =
            info.superseded_by.as_ref().and_then(|s| infos.iter().find(|o| &o.selector == s)).and_then(|o| o.active_at);
        let Some(base) = successor_active.or(info.retired_at) else { continue };
        let removable_since = base + retire_after;
        if now < removable_since {
            continue;
        }
        let checked = match public_key(info) {
            Ok(public) => check_dns(resolver, &info.domain, &info.selector, &public)
                .await
                .map_err(|e| CheckError::new("DNS TXT lookup", e)),
            Err(e) => Err(e),
        };
        match checked {
            Ok(check) if check.status == DnsStatus::NotFound => {}
            Ok(check) => findings.push(Finding::new(
                Check::Dns,
                format!("dns/retired/{}", info.selector),
                Severity::Info,
                Message::RetiredSelectorPublished {
                    selector: info.selector.to_string(),
                    record_name: check.record_name,
                    removable_since,
                },
            )),
            Err(e) => findings.push(Finding::check_failed(Check::Dns, Some(info.selector.as_str()), &e)),
        }
    }
    findings
}

fn level(value: f64, warning: f64, critical: f64) -> Option<(Severity, f64)> {
    if value >= critical - RATE_EPSILON {
        Some((Severity::Critical, critical))
    } else if value >= warning - RATE_EPSILON {
        Some((Severity::Warning, warning))
    } else {
        None
    }
}

/// Bounce, complaint and success rates of the last 24 hours (README's metric math) and SES's
/// reputation metrics against the thresholds. No sends → no rate, never a division by zero.
pub fn sending_health(values: &HashMap<String, Option<f64>>, t: &Thresholds) -> Vec<Finding> {
    let v = |id: &str| values.get(id).copied().flatten();
    let mut findings = Vec::new();
    let sends = v(ids::SEND).unwrap_or(0.0);
    let deliveries = v(ids::DELIVERY).unwrap_or(0.0);
    if sends > 0.0 {
        let hard_bounces =
            (v(ids::BOUNCE_PERMANENT).unwrap_or(0.0) - v(ids::BOUNCE_PERMANENT_SUPPRESSED).unwrap_or(0.0)).max(0.0);
        let percent = 100.0 * hard_bounces / sends;
        if let Some((severity, threshold_percent)) = level(percent, t.bounce_warning, t.bounce_critical) {
            findings.push(Finding::new(
                Check::SendingHealth,
                "sending/bounce-rate",
                severity,
                Message::BounceRate { percent, threshold_percent, hard_bounces, sends },
            ));
        }
        let percent = 100.0 * deliveries / sends;
        if percent < t.success_rate - RATE_EPSILON {
            findings.push(Finding::new(
                Check::SendingHealth,
                "sending/success-rate",
                Severity::Warning,
                Message::SuccessRate { percent, threshold_percent: t.success_rate, deliveries, sends },
            ));
        }
    }
    if deliveries > 0.0 {
        let complaints = v(ids::COMPLAINT).unwrap_or(0.0);
        let percent = 100.0 * complaints / deliveries;
        if let Some((severity, threshold_percent)) = level(percent, t.complaint_warning, t.complaint_critical) {
            findings.push(Finding::new(
                Check::SendingHealth,
                "sending/complaint-rate",
                severity,
                Message::ComplaintRate { percent, threshold_percent, complaints, deliveries },
            ));
        }
    }
    // SES publishes fractions (0.05 = 5 %).
    if let Some(fraction) = v(ids::REPUTATION_BOUNCE)
        && let Some((severity, threshold_percent)) = level(fraction * 100.0, t.bounce_warning, t.bounce_critical)
    {
        findings.push(Finding::new(
            Check::SendingHealth,
            "sending/reputation-bounce-rate",
            severity,
            Message::ReputationBounceRate { fraction, threshold_percent },
        ));
    }
    if let Some(fraction) = v(ids::REPUTATION_COMPLAINT)
        && let Some((severity, threshold_percent)) = level(fraction * 100.0, t.complaint_warning, t.complaint_critical)
    {
        findings.push(Finding::new(
            Check::SendingHealth,
            "sending/reputation-complaint-rate",
            severity,
            Message::ReputationComplaintRate { fraction, threshold_percent },
        ));
    }
    findings
}

/// The Firehose transformation: failed records, and events at all while SES sent mail.
pub fn pipeline(values: &HashMap<String, Option<f64>>, service: &str, namespace: &str) -> Vec<Finding> {
    let v = |id: &str| values.get(id).copied().flatten();
    let mut findings = Vec::new();
    let failed = v(ids::RECORDS_FAILED).unwrap_or(0.0);
    if failed > 0.0 {
        findings.push(Finding::new(
            Check::Pipeline,
            "pipeline/records-processing-failed",
            Severity::Warning,
            Message::RecordsProcessingFailed { count: failed, service: service.to_owned() },
        ));
    }
    let ses_sends = v(ids::SES_SEND).unwrap_or(0.0);
    if ses_sends > 0.0 && v(ids::EVENTS).unwrap_or(0.0) <= 0.0 {
        findings.push(Finding::new(
            Check::Pipeline,
            "pipeline/no-events",
            Severity::Warning,
            Message::NoEvents { ses_sends, namespace: namespace.to_owned() },
        ));
    }
    findings
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
