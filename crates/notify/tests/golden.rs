//! Golden files: every message kind of both functions, rendered exactly as SNS receives it.
//! `LOGMASK_UPDATE_GOLDEN=1 cargo test -p logmask-notify --test golden` rewrites them; review
//! the diff like any other change of wording.

use std::collections::BTreeSet;
use std::path::PathBuf;

use logmask_notify::{Context, DnsRecordBlock, KINDS, Message, Route, Severity};

fn ctx() -> Context {
    Context {
        environment: "prod".into(),
        domain: "goo.example.jp".into(),
        region: "ap-northeast-1".into(),
        at: "2026-12-01T00:00:00Z".parse().unwrap(),
        dkim_manager_function: "ses-migration-prod-dkim-manager".into(),
        certificates_bucket: Some("ses-migration-prod-dkim-certificates".into()),
    }
}

fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn samples() -> Vec<(&'static str, Severity, Message)> {
    let record = DnsRecordBlock {
        name: "gooid-21-pro-20261201-1._domainkey.goo.example.jp".into(),
        record_type: "TXT".into(),
        value: "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest".into(),
        quoted: "\"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest\"".into(),
        public_key_fingerprint: "sha256:0123456789abcdef".into(),
    };
    vec![
        (
            "dkim_dns_record_request",
            Severity::Warning,
            Message::DnsRecordRequest { selector: "gooid-21-pro-20261201-1".into(), record },
        ),
        (
            "dkim_byodkim_applied",
            Severity::Info,
            Message::ByodkimApplied {
                selector: "gooid-21-pro-20261201-1".into(),
                status: "PENDING".into(),
                retire_after_days: 7,
            },
        ),
        (
            "dkim_byodkim_apply_failed_rolled_back",
            Severity::Critical,
            Message::ByodkimApplyFailed {
                selector: "gooid-21-pro-20261201-1".into(),
                cause: "SES PutEmailIdentityDkimAttributes failed: throttled".into(),
                restored: "EXTERNAL selector gooid-21-pro-20250901-1".into(),
                rolled_back: true,
            },
        ),
        (
            "dkim_byodkim_apply_failed_rollback_failed",
            Severity::Critical,
            Message::ByodkimApplyFailed {
                selector: "gooid-21-pro-20261201-1".into(),
                cause: "read-back shows signing disabled".into(),
                restored: "Easy DKIM (AWS_SES)".into(),
                rolled_back: false,
            },
        ),
        (
            "monitor_key_expiry_warning",
            Severity::Warning,
            Message::KeyExpiry {
                selector: "gooid-21-pro-20250901-1".into(),
                expires_at: t("2026-12-17T00:00:00Z"),
                days_left: 16,
                successor: None,
            },
        ),
        (
            "monitor_key_expiry_critical_with_successor",
            Severity::Critical,
            Message::KeyExpiry {
                selector: "gooid-21-pro-20250901-1".into(),
                expires_at: t("2026-12-08T00:00:00Z"),
                days_left: 7,
                successor: Some("gooid-21-pro-20261120-1".into()),
            },
        ),
        (
            "monitor_key_expired",
            Severity::Critical,
            Message::KeyExpiry {
                selector: "gooid-21-pro-20250901-1".into(),
                expires_at: t("2026-11-30T00:00:00Z"),
                days_left: -1,
                successor: None,
            },
        ),
        (
            "monitor_rotation_requested",
            Severity::Info,
            Message::RotationRequested {
                selector: "gooid-21-pro-20250901-1".into(),
                new_selector: Some("gooid-21-pro-20261201-1".into()),
            },
        ),
        (
            "monitor_ses_dkim_status",
            Severity::Critical,
            Message::SesDkimStatus { status: "FAILED".into(), selector: Some("gooid-21-pro-20250901-1".into()) },
        ),
        (
            "monitor_ses_dkim_pending",
            Severity::Warning,
            Message::SesDkimPending { selector: Some("gooid-21-pro-20261120-1".into()), pending_hours: Some(73) },
        ),
        (
            "monitor_ses_signing_origin",
            Severity::Critical,
            Message::SesSigningOrigin {
                origin: Some("AWS_SES".into()),
                tokens: vec!["tok1".into(), "tok2".into(), "tok3".into()],
                expected_selector: "gooid-21-pro-20250901-1".into(),
            },
        ),
        (
            "monitor_ses_signing_disabled",
            Severity::Critical,
            Message::SesSigningDisabled { origin: Some("EXTERNAL".into()) },
        ),
        (
            "monitor_dns_key_mismatch",
            Severity::Critical,
            Message::DnsKeyMismatch {
                selector: "gooid-21-pro-20250901-1".into(),
                record_name: "gooid-21-pro-20250901-1._domainkey.goo.example.jp".into(),
                status: "MISMATCH".into(),
                detail: "p= holds a different key".into(),
            },
        ),
        (
            "monitor_retired_selector_published",
            Severity::Info,
            Message::RetiredSelectorPublished {
                selector: "gooid-21-pro-20240601-1".into(),
                record_name: "gooid-21-pro-20240601-1._domainkey.goo.example.jp".into(),
                removable_since: t("2026-11-20T00:00:00Z"),
            },
        ),
        (
            "monitor_bounce_rate",
            Severity::Critical,
            Message::BounceRate { percent: 5.0, threshold_percent: 5.0, hard_bounces: 50.0, sends: 1000.0 },
        ),
        (
            "monitor_complaint_rate",
            Severity::Warning,
            Message::ComplaintRate { percent: 0.05, threshold_percent: 0.05, complaints: 1.0, deliveries: 2000.0 },
        ),
        (
            "monitor_success_rate",
            Severity::Warning,
            Message::SuccessRate { percent: 94.9, threshold_percent: 95.0, deliveries: 949.0, sends: 1000.0 },
        ),
        (
            "monitor_reputation_bounce_rate",
            Severity::Critical,
            Message::ReputationBounceRate { fraction: 0.05, threshold_percent: 5.0 },
        ),
        (
            "monitor_reputation_complaint_rate",
            Severity::Warning,
            Message::ReputationComplaintRate { fraction: 0.0005, threshold_percent: 0.05 },
        ),
        (
            "monitor_records_processing_failed",
            Severity::Warning,
            Message::RecordsProcessingFailed { count: 3.0, service: "firehose-transform".into() },
        ),
        (
            "monitor_no_events",
            Severity::Warning,
            Message::NoEvents { ses_sends: 1200.0, namespace: "ses-migration/prod/SES".into() },
        ),
        (
            "monitor_check_failed",
            Severity::Warning,
            Message::CheckFailed {
                check: "sending_health".into(),
                operation: "CloudWatch GetMetricData".into(),
                error: "AccessDenied: not authorized to perform cloudwatch:GetMetricData".into(),
            },
        ),
    ]
}

fn render(severity: Severity, message: &Message) -> String {
    let n = message.render(severity, &ctx());
    let route = match n.route {
        Route::Operations => "operations",
        Route::DnsTeam => "operations + dns_team",
    };
    format!("Subject: {}\nRoute: {route}\nKind: {}\n\n{}", n.subject(), n.kind, n.message())
}

#[test]
fn every_message_kind_matches_its_golden_file() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("LOGMASK_UPDATE_GOLDEN").is_some();
    let mut mismatched = Vec::new();
    for (name, severity, message) in samples() {
        let rendered = render(severity, &message);
        let path = dir.join(format!("{name}.txt"));
        if update {
            std::fs::write(&path, &rendered).unwrap();
            continue;
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_default();
        if golden != rendered {
            mismatched.push(format!("{name}:\n--- golden\n{golden}\n--- rendered\n{rendered}"));
        }
    }
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n\n"));
}

#[test]
fn every_kind_has_a_sample_and_a_valid_subject() {
    let covered: BTreeSet<&str> = samples().iter().map(|(_, _, m)| m.kind()).collect();
    let all: BTreeSet<&str> = KINDS.into_iter().collect();
    assert_eq!(covered, all, "a message kind without a golden file");
    for (name, severity, message) in samples() {
        let n = message.render(severity, &ctx());
        let subject = n.subject();
        assert!(subject.chars().count() < 100, "{name}: {subject}");
        assert!(!subject.chars().any(char::is_control), "{name}");
        assert!(subject.starts_with(&format!("【{}】", severity.as_str())), "{name}");
        let body = n.message();
        let (ja, en) = (body.find("--- 日本語 ---").unwrap(), body.find("--- English ---").unwrap());
        assert!(ja < en, "{name}");
        for needle in ["環境 / Environment: prod", "ドメイン / Domain: goo.example.jp", "https://"] {
            assert!(body.contains(needle), "{name} lacks {needle}");
        }
        assert!(body.contains("■ 次に行うこと") && body.contains("■ What to do next"), "{name}");
    }
}

#[test]
fn only_dns_requests_go_to_the_dns_team() {
    for (name, _, message) in samples() {
        let dns = matches!(message, Message::DnsRecordRequest { .. } | Message::RetiredSelectorPublished { .. });
        assert_eq!(message.route() == Route::DnsTeam, dns, "{name}");
    }
}
