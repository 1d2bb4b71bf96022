//! Whole runs on keys the DKIM manager created, DNS from an in-process hickory server, and
//! fakes for SES, CloudWatch and the Lambda client.

use logmask_dkim::HickoryTxtResolver;
use logmask_dkim::fakes::{FakeDns, FakeSes, MemoryStore};
use logmask_dkim::keys::PrivateKeyPkcs1;
use logmask_dkim::test_util::start_dns;
use logmask_monitor::fakes::FakeMetrics;
use logmask_monitor::{Check, Mode, deliver, run_checks};
use logmask_notify::{Message, Severity};
use serde_json::json;

use crate::support::{DOMAIN, config, fake_deps, manager, manager_keys, t};

/// s1 created 2025-09-01 (expires 2026-12-01 with 456 days), applied and ACTIVE in SES.
async fn active_key() -> (MemoryStore, FakeSes, FakeDns, String) {
    let (store, ses, dns) = (MemoryStore::default(), FakeSes::easy_dkim(), FakeDns::default());
    let created = manager_keys(&store, &ses, &dns, &[("s1", "2025-09-01T00:00:00Z")]).await;
    let record = &created[0]["dns_record"];
    let value = record["value"].as_str().unwrap().to_owned();
    dns.publish(record["name"].as_str().unwrap(), &value);
    ses.set_status_after_put("SUCCESS");
    manager(
        &store,
        &ses,
        &dns,
        json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"}),
        "2025-09-03T00:00:00Z",
    )
    .await;
    (store, ses, dns, value)
}

fn ids(findings: &[logmask_monitor::Finding]) -> Vec<(&str, Severity)> {
    findings.iter().map(|f| (f.id.as_str(), f.severity)).collect()
}

#[tokio::test]
async fn dns_match_mismatch_and_a_retired_selector_through_a_real_dns_server() {
    let (store, ses, _, value) = active_key().await;
    let metrics = FakeMetrics::default();
    let now = t("2026-06-01T00:00:00Z");

    let good = start_dns(DOMAIN, &[("s1._domainkey", vec![value.clone()])]).await;
    let deps = fake_deps(
        &store,
        &ses,
        HickoryTxtResolver::with_name_servers(&[good.addr]).unwrap(),
        metrics.clone(),
        config(&[]),
    );
    let report = run_checks(&deps, &DOMAIN.parse().unwrap(), now, Mode::Live).await;
    assert_eq!(ids(&report.findings), vec![], "healthy domain: {:?}", report.findings);
    assert_eq!(report.days_until_expiry, vec![("s1".to_owned(), 183)]);

    let other = logmask_dkim::keys::generate_rsa2048().unwrap();
    let wrong = logmask_dkim::record::dkim_txt_value(&other.public);
    let bad = start_dns(DOMAIN, &[("s1._domainkey", vec![wrong])]).await;
    let deps = fake_deps(
        &store,
        &ses,
        HickoryTxtResolver::with_name_servers(&[bad.addr]).unwrap(),
        metrics.clone(),
        config(&[]),
    );
    let report = run_checks(&deps, &DOMAIN.parse().unwrap(), now, Mode::Live).await;
    assert_eq!(ids(&report.findings), vec![("dns/s1", Severity::Critical)]);
    assert!(matches!(&report.findings[0].message, Message::DnsKeyMismatch { status, .. } if status == "MISMATCH"));

    // Rotate to s2; s1 retires. Seven days after s2 became ACTIVE, s1's record may go.
    let fake_dns = FakeDns::default();
    let created = manager_keys(&store, &ses, &fake_dns, &[("s2", "2026-06-01T00:00:00Z")]).await;
    let s2 = created[0]["dns_record"]["value"].as_str().unwrap().to_owned();
    fake_dns.publish(&format!("s2._domainkey.{DOMAIN}"), &s2);
    manager(
        &store,
        &ses,
        &fake_dns,
        json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s2"}),
        "2026-06-02T00:00:00Z",
    )
    .await;
    let both = start_dns(DOMAIN, &[("s1._domainkey", vec![value.clone()]), ("s2._domainkey", vec![s2.clone()])]).await;
    let deps = fake_deps(
        &store,
        &ses,
        HickoryTxtResolver::with_name_servers(&[both.addr]).unwrap(),
        metrics.clone(),
        config(&[]),
    );
    let six_days = run_checks(&deps, &DOMAIN.parse().unwrap(), t("2026-06-08T00:00:00Z"), Mode::Live).await;
    assert_eq!(ids(&six_days.findings), vec![]);
    let seven_days = run_checks(&deps, &DOMAIN.parse().unwrap(), t("2026-06-09T00:00:00Z"), Mode::Live).await;
    assert_eq!(ids(&seven_days.findings), vec![("dns/retired/s1", Severity::Info)]);
    // Removed from DNS: nothing to say.
    let removed = start_dns(DOMAIN, &[("s2._domainkey", vec![s2])]).await;
    let deps =
        fake_deps(&store, &ses, HickoryTxtResolver::with_name_servers(&[removed.addr]).unwrap(), metrics, config(&[]));
    let report = run_checks(&deps, &DOMAIN.parse().unwrap(), t("2026-06-09T00:00:00Z"), Mode::Live).await;
    assert_eq!(ids(&report.findings), vec![]);
}

#[tokio::test]
async fn a_check_that_errors_does_not_stop_the_others() {
    let (store, ses, dns, _) = active_key().await;
    let metrics = FakeMetrics::default();
    metrics.fail("AccessDeniedException: not authorized to perform cloudwatch:GetMetricData");
    let deps = fake_deps(&store, &ses, dns.clone(), metrics, config(&[]));
    // 10 days before expiry.
    let report = run_checks(&deps, &DOMAIN.parse().unwrap(), t("2026-11-21T00:00:00Z"), Mode::Live).await;
    assert_eq!(
        ids(&report.findings),
        vec![
            ("key-expiry/s1", Severity::Warning),
            ("sending_health/check-failed", Severity::Warning),
            ("pipeline/check-failed", Severity::Warning),
        ]
    );
    let failed = &report.findings[1];
    assert_eq!(failed.check, Check::SendingHealth);
    assert!(matches!(&failed.message, Message::CheckFailed { operation, error, .. }
        if operation == "CloudWatch GetMetricData" && error.contains("AccessDenied")));

    // SES unreachable too: its check says so, expiry and DNS still run from the metadata.
    ses.fail_call(ses.calls().len());
    dns.publish(&format!("s1._domainkey.{DOMAIN}"), "v=DKIM1; k=rsa; p=");
    let report = run_checks(&deps, &DOMAIN.parse().unwrap(), t("2026-11-21T00:00:00Z"), Mode::Live).await;
    let got = ids(&report.findings);
    assert!(got.contains(&("key-expiry/s1", Severity::Warning)), "{got:?}");
    assert!(got.contains(&("ses_dkim/check-failed", Severity::Warning)), "{got:?}");
    assert!(got.contains(&("dns/s1", Severity::Critical)), "{got:?}");
}

#[tokio::test]
async fn auto_rotation_asks_the_manager_once_per_selector() {
    let (store, ses, dns, _) = active_key().await;
    let now = t("2026-11-21T00:00:00Z");
    let manual = fake_deps(&store, &ses, dns.clone(), FakeMetrics::default(), config(&[]));
    run_checks(&manual, &DOMAIN.parse().unwrap(), now, Mode::Live).await;
    assert!(manual.invoker.payloads().is_empty(), "MANUAL never invokes");

    let auto =
        fake_deps(&store, &ses, dns.clone(), FakeMetrics::default(), config(&[("BYODKIM_ROTATION_MODE", "AUTO")]));
    let dry = run_checks(&auto, &DOMAIN.parse().unwrap(), now, Mode::DryRun).await;
    assert!(auto.invoker.payloads().is_empty(), "a dry run never invokes");
    assert_eq!(dry.findings.len(), 1);
    let report = run_checks(&auto, &DOMAIN.parse().unwrap(), now, Mode::Live).await;
    assert_eq!(
        auto.invoker.payloads(),
        vec![json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "GENERATE_ONLY", "trigger": "scheduled"})]
    );
    assert!(report.findings.iter().any(|f| matches!(&f.message,
        Message::RotationRequested { selector, new_selector: Some(n) } if selector == "s1" && n == "next-20261201-1")));
    // The manager generated the successor (here for real): the next run does not ask again.
    manager(
        &store,
        &ses,
        &dns,
        json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "GENERATE_ONLY"}),
        "2026-11-21T00:00:01Z",
    )
    .await;
    let next_day = run_checks(&auto, &DOMAIN.parse().unwrap(), t("2026-11-22T00:00:00Z"), Mode::Live).await;
    assert_eq!(auto.invoker.payloads().len(), 1);
    assert!(matches!(&next_day.findings[0].message, Message::KeyExpiry { successor: Some(_), .. }));
}

#[tokio::test]
async fn a_failed_send_is_retried_on_the_next_run() {
    let (store, ses, dns, _) = active_key().await;
    let deps = fake_deps(&store, &ses, dns, FakeMetrics::default(), config(&[]));
    let report = run_checks(&deps, &DOMAIN.parse().unwrap(), t("2026-11-21T00:00:00Z"), Mode::Live).await;
    deps.notifier.fail_sends(true);
    let outcomes = deliver(&deps, &report, Mode::Live).await;
    assert_eq!(outcomes[0].decision, "failed");
    deps.notifier.fail_sends(false);
    let outcomes = deliver(&deps, &report, Mode::Live).await;
    assert_eq!(outcomes[0].decision, "sent");
    assert_eq!(deps.notifier.sent().len(), 1);
}

#[tokio::test]
async fn no_private_key_ever_appears_in_a_notification_or_log_line() {
    let (store, ses, dns, _) = active_key().await;
    // Every kind of trouble at once: expired key, DNS revoked, SES failed, bad rates.
    dns.publish(&format!("s1._domainkey.{DOMAIN}"), "v=DKIM1; k=rsa; p=");
    ses.set_status("FAILED");
    let metrics = FakeMetrics::with(&[
        ("send", 100.0),
        ("delivery", 80.0),
        ("bounce_permanent", 10.0),
        ("complaint", 1.0),
        ("records_failed", 2.0),
        ("ses_send", 100.0),
    ]);
    let deps = fake_deps(&store, &ses, dns, metrics, config(&[("BYODKIM_ROTATION_MODE", "AUTO")]));
    let now = t("2026-12-02T00:00:00Z");
    let handled = logmask_monitor::handle(&json!({}), &deps, now).await.unwrap();
    let sent = deps.notifier.sent();
    assert!(sent.len() >= 6, "{sent:?}");

    let pem = store.object(&format!("dkim-certificates/{DOMAIN}/s1/private_key.pem")).unwrap();
    let pem = std::str::from_utf8(&pem).unwrap();
    let key = PrivateKeyPkcs1::from_pem(pem).unwrap();
    let ses_value = key.to_ses_signing_key().unwrap().expose_secret().to_owned();
    let mut secrets: Vec<String> = pem.lines().filter(|l| !l.starts_with("-----")).map(str::to_owned).collect();
    secrets.push(ses_value[..40].to_owned());
    secrets.push("PRIVATE KEY".to_owned());
    let everything: Vec<String> = sent
        .iter()
        .flat_map(|(s, m)| [s.clone(), m.clone()])
        .chain(handled.stdout_lines.clone())
        .chain([handled.response.to_string()])
        .collect();
    for text in &everything {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "key material in output: {text}");
        }
    }
}
