use super::*;
use logmask_dkim::metadata::CertificateInfo;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2026-12-01T00:00:00Z";

/// A key in `state` that expires `remaining` after NOW.
fn key(selector: &str, state: KeyState, remaining: SignedDuration) -> CertificateInfo {
    let mut info = CertificateInfo::new(
        "example.jp".parse().unwrap(),
        selector.parse().unwrap(),
        "prod".into(),
        "AAAA".into(),
        "sha256:00".into(),
        t("2025-09-01T00:00:00Z"),
        456,
        16,
    );
    info.expires_at = t(NOW) + remaining;
    info.advance(state, t("2025-09-02T00:00:00Z"), "test");
    info
}

#[test]
fn key_expiry_edges() {
    let s = SignedDuration::from_secs(1);
    // (remaining, expected severity, expected whole days)
    let cases: [(SignedDuration, Option<Severity>, i64); 10] = [
        (DAY * 17, None, 17),
        (DAY * 16 + s, None, 16),
        (DAY * 16, Some(Severity::Warning), 16),
        (DAY * 16 - s, Some(Severity::Warning), 15),
        (DAY * 8, Some(Severity::Warning), 8),
        (DAY * 7 + s, Some(Severity::Warning), 7),
        (DAY * 7, Some(Severity::Critical), 7),
        (DAY * 7 - s, Some(Severity::Critical), 6),
        (SignedDuration::ZERO, Some(Severity::Critical), 0),
        (-DAY, Some(Severity::Critical), -1),
    ];
    for (remaining, expected, days) in cases {
        let infos = [key("s1", KeyState::Active, remaining)];
        let out = key_expiry(&infos, None, t(NOW), 16);
        assert_eq!(out.findings.first().map(|f| f.severity), expected, "{remaining:?}");
        assert_eq!(out.days_until_expiry, vec![("s1".to_owned(), days)], "{remaining:?}");
        if let Some(f) = out.findings.first() {
            assert_eq!(f.id, "key-expiry/s1");
            assert!(matches!(&f.message, Message::KeyExpiry { days_left, .. } if *days_left == days));
        }
    }
}

#[test]
fn only_keys_in_use_are_checked_and_a_successor_is_named() {
    let old = key("s1", KeyState::Active, DAY * 3);
    let pending = key("s2", KeyState::Generated, DAY * 400);
    let retired = key("s0", KeyState::Retired, -DAY * 30);
    let mut pending_newer = pending.clone();
    pending_newer.created_at = t("2026-11-20T00:00:00Z");
    let out = key_expiry(&[retired.clone(), old.clone(), pending_newer], None, t(NOW), 16);
    assert_eq!(out.findings.len(), 1);
    assert!(matches!(&out.findings[0].message, Message::KeyExpiry { successor: Some(s), .. } if s == "s2"));
    assert!(out.needs_successor.is_empty());
    let out = key_expiry(&[retired, old], None, t(NOW), 16);
    assert_eq!(out.needs_successor, vec!["s1".to_owned()]);
}

fn ses(status: DkimStatus, origin: DkimSigningAttributesOrigin, token: &str) -> SesDkimState {
    SesDkimState { signing_enabled: true, status, tokens: vec![token.into()], origin: Some(origin) }
}

#[test]
fn ses_status_and_pending_edges() {
    let mut applied = key("s1", KeyState::Applied, DAY * 300);
    applied.applied_at = Some(t(NOW) - PENDING_WARNING);
    let infos = [applied.clone()];
    let external = DkimSigningAttributesOrigin::External;
    assert!(ses_dkim(&ses(DkimStatus::Success, external.clone(), "s1"), &infos, t(NOW)).is_empty());
    // Exactly 72 h pending: not yet; one second more: WARNING.
    assert!(ses_dkim(&ses(DkimStatus::Pending, external.clone(), "s1"), &infos, t(NOW)).is_empty());
    let later = t(NOW) + SignedDuration::from_secs(1);
    let f = ses_dkim(&ses(DkimStatus::Pending, external.clone(), "s1"), &infos, later);
    assert_eq!((f.len(), f[0].severity, f[0].id.as_str()), (1, Severity::Warning, "ses-dkim/status"));
    for status in
        [DkimStatus::Failed, DkimStatus::TemporaryFailure, DkimStatus::NotStarted, DkimStatus::from("NEW_STATE")]
    {
        let f = ses_dkim(&ses(status.clone(), external.clone(), "s1"), &infos, t(NOW));
        assert_eq!(f.len(), 1, "{status:?}");
        assert_eq!(f[0].severity, Severity::Critical);
    }
    // BYODKIM applied by us, but SES signs with Easy DKIM.
    let f = ses_dkim(&ses(DkimStatus::Success, DkimSigningAttributesOrigin::AwsSes, "tok"), &infos, t(NOW));
    assert_eq!(f[0].id, "ses-dkim/origin");
    assert_eq!(f[0].severity, Severity::Critical);
    // No BYODKIM yet: Easy DKIM is fine.
    assert!(ses_dkim(&ses(DkimStatus::Success, DkimSigningAttributesOrigin::AwsSes, "tok"), &[], t(NOW)).is_empty());
    let mut off = ses(DkimStatus::Success, external, "s1");
    off.signing_enabled = false;
    assert_eq!(ses_dkim(&off, &infos, t(NOW))[0].id, "ses-dkim/signing");
}

fn values(pairs: &[(&str, f64)]) -> HashMap<String, Option<f64>> {
    pairs.iter().map(|(k, v)| (k.to_string(), Some(*v))).collect()
}

fn one(findings: &[Finding], id: &str) -> Option<Severity> {
    findings.iter().find(|f| f.id == id).map(|f| f.severity)
}

#[test]
fn rate_threshold_edges() {
    let t = Thresholds::default();
    let (w, c) = (Some(Severity::Warning), Some(Severity::Critical));
    // Bounce (hard, per 10,000 sends): 2.99 / 3.00 / 3.01 / 4.99 / 5.00 / 5.01 %.
    for (hard, expected) in [(299.0, None), (300.0, w), (301.0, w), (499.0, w), (500.0, c), (501.0, c)] {
        let v = values(&[
            (ids::SEND, 10_000.0),
            (ids::DELIVERY, 10_000.0),
            (ids::BOUNCE_PERMANENT, hard + 7.0),
            (ids::BOUNCE_PERMANENT_SUPPRESSED, 7.0),
        ]);
        assert_eq!(one(&sending_health(&v, &t), "sending/bounce-rate"), expected, "bounces {hard}");
    }
    // Complaints per 100,000 deliveries: 0.049 / 0.05 / 0.051 / 0.099 / 0.1 / 0.101 %.
    for (complaints, expected) in [(49.0, None), (50.0, w), (51.0, w), (99.0, w), (100.0, c), (101.0, c)] {
        let v = values(&[(ids::SEND, 100_000.0), (ids::DELIVERY, 100_000.0), (ids::COMPLAINT, complaints)]);
        assert_eq!(one(&sending_health(&v, &t), "sending/complaint-rate"), expected, "complaints {complaints}");
    }
    // Success: 94.99 / 95.00 / 95.01 %.
    for (deliveries, expected) in [(9_499.0, w), (9_500.0, None), (9_501.0, None)] {
        let v = values(&[(ids::SEND, 10_000.0), (ids::DELIVERY, deliveries)]);
        assert_eq!(one(&sending_health(&v, &t), "sending/success-rate"), expected, "deliveries {deliveries}");
    }
    // SES reputation is a fraction: 0.0299 / 0.03 / 0.0301 / 0.05.
    for (fraction, expected) in [(0.0299, None), (0.03, w), (0.0301, w), (0.05, c)] {
        let v = values(&[(ids::REPUTATION_BOUNCE, fraction)]);
        assert_eq!(one(&sending_health(&v, &t), "sending/reputation-bounce-rate"), expected, "{fraction}");
    }
    for (fraction, expected) in [(0.000_49, None), (0.0005, w), (0.000_51, w), (0.001, c)] {
        let v = values(&[(ids::REPUTATION_COMPLAINT, fraction)]);
        assert_eq!(one(&sending_health(&v, &t), "sending/reputation-complaint-rate"), expected, "{fraction}");
    }
}

#[test]
fn no_sends_means_no_rate_finding() {
    let t = Thresholds::default();
    assert!(sending_health(&HashMap::new(), &t).is_empty());
    let v = values(&[(ids::SEND, 0.0), (ids::DELIVERY, 0.0), (ids::BOUNCE_PERMANENT, 3.0), (ids::COMPLAINT, 1.0)]);
    assert!(sending_health(&v, &t).is_empty());
}

#[test]
fn pipeline_findings() {
    assert!(pipeline(&values(&[(ids::SES_SEND, 0.0)]), "ft", "ns").is_empty());
    assert!(pipeline(&values(&[(ids::SES_SEND, 10.0), (ids::EVENTS, 10.0)]), "ft", "ns").is_empty());
    let f = pipeline(&values(&[(ids::SES_SEND, 10.0), (ids::RECORDS_FAILED, 1.0)]), "ft", "ns");
    let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["pipeline/records-processing-failed", "pipeline/no-events"]);
    assert!(f.iter().all(|f| f.severity == Severity::Warning));
}
