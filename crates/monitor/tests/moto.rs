//! Duplicate suppression on real S3 semantics (moto_server: conditional PutObject with
//! If-None-Match / If-Match answers 412) and publishing to SNS topics in moto.

use logmask_dkim::fakes::{FakeDns, FakeSes, MemoryStore};
use logmask_monitor::fakes::{FakeInvoker, FakeMetrics};
use logmask_monitor::{Deps, Mode, Report, deliver};
use logmask_notify::suppress::{Condition, PutOutcome, StateStore};
use logmask_notify::testing::RecordingNotifier;
use logmask_notify::{
    Claim, DnsRecordBlock, Message, Notifier, S3StateStore, Severity, SnsNotifier, Suppressor, Topics,
};
use logmask_test_support::moto::{create_bucket, s3, sdk_config};
use logmask_test_support::unique;

use crate::support::{DOMAIN, config, t};

async fn bucket() -> (aws_sdk_s3::Client, String) {
    let sdk = sdk_config().await;
    let s3 = s3(&sdk);
    let bucket = unique("monitor-state");
    create_bucket(&s3, &bucket).await;
    (s3, bucket)
}

fn report(severity: Severity, at: &str) -> Report {
    Report {
        domain: DOMAIN.into(),
        at: t(at),
        findings: vec![logmask_monitor::Finding::new(
            logmask_monitor::Check::KeyExpiry,
            "key-expiry/s1",
            severity,
            Message::KeyExpiry {
                selector: "s1".into(),
                expires_at: t("2026-12-17T00:00:00Z"),
                days_left: 16,
                successor: None,
            },
        )],
        days_until_expiry: vec![],
    }
}

#[tokio::test]
async fn conditional_writes_on_s3() {
    let (s3, bucket) = bucket().await;
    let store = S3StateStore::new(s3, &bucket);
    assert_eq!(store.put("k", b"1".to_vec(), Condition::Absent).await.unwrap(), PutOutcome::Written);
    assert_eq!(store.put("k", b"2".to_vec(), Condition::Absent).await.unwrap(), PutOutcome::Conflict);
    let v1 = store.get("k").await.unwrap().unwrap();
    assert_eq!(store.put("k", b"3".to_vec(), Condition::Match(v1.etag.clone())).await.unwrap(), PutOutcome::Written);
    assert_eq!(store.put("k", b"4".to_vec(), Condition::Match(v1.etag)).await.unwrap(), PutOutcome::Conflict);
    assert_eq!(store.get("k").await.unwrap().unwrap().body, b"3");
    store.delete("k").await.unwrap();
    assert!(store.get("k").await.unwrap().is_none());
}

#[tokio::test]
async fn duplicate_suppression_with_state_in_s3() {
    let (s3, bucket) = bucket().await;
    let deps = Deps {
        keys: logmask_dkim::KeyRepository::new(MemoryStore::default()),
        ses: FakeSes::easy_dkim(),
        dns: FakeDns::default(),
        metrics: FakeMetrics::default(),
        invoker: FakeInvoker::default(),
        notifier: RecordingNotifier::default(),
        suppressor: Suppressor::new(S3StateStore::new(s3.clone(), &bucket), "monitor-state/", 7),
        config: config(&[]),
    };
    let state_key = format!("monitor-state/prod/{DOMAIN}/key-expiry/s1.json");
    // (severity, time, expected decision)
    let steps = [
        (Severity::Warning, "2026-12-01T00:00:00Z", "sent"), // first time
        (Severity::Warning, "2026-12-02T00:00:00Z", "suppressed"), // next day, same finding: silent
        (Severity::Critical, "2026-12-03T00:00:00Z", "sent"), // severity rose
        (Severity::Critical, "2026-12-09T23:59:59Z", "suppressed"), // just under REPEAT_AFTER_DAYS
        (Severity::Critical, "2026-12-10T00:00:00Z", "sent"), // REPEAT_AFTER_DAYS passed
    ];
    for (severity, at, expected) in steps {
        let outcomes = deliver(&deps, &report(severity, at), Mode::Live).await;
        assert_eq!(outcomes[0].decision, expected, "{severity} at {at}");
    }
    // The state object is lost: send again, never stay silent.
    s3.delete_object().bucket(&bucket).key(&state_key).send().await.unwrap();
    let dry = deliver(&deps, &report(Severity::Critical, "2026-12-11T00:00:00Z"), Mode::DryRun).await;
    assert_eq!(dry[0].decision, "would_send");
    let outcomes = deliver(&deps, &report(Severity::Critical, "2026-12-11T00:00:00Z"), Mode::Live).await;
    assert_eq!(outcomes[0].decision, "sent");
    // A corrupted state object counts as lost too.
    s3.put_object().bucket(&bucket).key(&state_key).body(b"not json".to_vec().into()).send().await.unwrap();
    let outcomes = deliver(&deps, &report(Severity::Critical, "2026-12-12T00:00:00Z"), Mode::Live).await;
    assert_eq!(outcomes[0].decision, "sent");
    assert_eq!(deps.notifier.sent().len(), 5);
    // The check itself failing does not make its findings "resolved".
    let failed_check = Report {
        findings: vec![logmask_monitor::Finding::check_failed(
            logmask_monitor::Check::KeyExpiry,
            None,
            &logmask_monitor::CheckError::new("S3 read", "AccessDenied"),
        )],
        ..report(Severity::Critical, "2026-12-12T01:00:00Z")
    };
    assert_eq!(deliver(&deps, &failed_check, Mode::Live).await[0].decision, "sent");
    let outcomes = deliver(&deps, &report(Severity::Critical, "2026-12-12T02:00:00Z"), Mode::Live).await;
    assert_eq!(outcomes[0].decision, "suppressed");
    // Resolved (the check ran and the finding is gone): forgotten, so a recurrence is new.
    let clean = Report { findings: vec![], ..report(Severity::Critical, "2026-12-13T00:00:00Z") };
    assert!(deliver(&deps, &clean, Mode::Live).await.is_empty());
    assert_eq!(deps.suppressor.store().list("monitor-state/").await.unwrap(), Vec::<String>::new());
    let outcomes = deliver(&deps, &report(Severity::Warning, "2026-12-14T00:00:00Z"), Mode::Live).await;
    assert_eq!(outcomes[0].decision, "sent", "a finding that came back after it was resolved");
    assert_eq!(deps.notifier.sent().len(), 7);
    // A dry run writes nothing.
    let dry = deliver(&deps, &report(Severity::Warning, "2026-12-15T00:00:00Z"), Mode::DryRun).await;
    assert_eq!(dry[0].decision, "would_suppress");
}

#[tokio::test]
async fn two_concurrent_runs_send_once() {
    let (s3, bucket) = bucket().await;
    let a = Suppressor::new(S3StateStore::new(s3.clone(), &bucket), "st/", 7);
    let b = Suppressor::new(S3StateStore::new(s3, &bucket), "st/", 7);
    let now = t("2026-12-01T00:00:00Z");
    for round in 0..5 {
        let finding = format!("f{round}");
        let (x, y) = tokio::join!(
            a.claim("prod/d", &finding, Severity::Warning, now),
            b.claim("prod/d", &finding, Severity::Warning, now)
        );
        let sends = [&x, &y].iter().filter(|c| matches!(c, Claim::Send { .. })).count();
        assert_eq!(sends, 1, "round {round}: {x:?} / {y:?}");
    }
}

#[tokio::test]
async fn sns_topics_in_moto_receive_the_routed_notification() {
    let sdk = sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let mut arns = Vec::new();
    for name in ["ops", "dns-team"] {
        let out = sns.create_topic().name(unique(name)).send().await.expect("create topic in moto");
        arns.push(out.topic_arn().unwrap().to_owned());
    }
    let ctx = logmask_monitor::run::context(&config(&[]), DOMAIN, t("2026-12-01T00:00:00Z"));
    let request = Message::DnsRecordRequest {
        selector: "s1".into(),
        record: DnsRecordBlock {
            name: format!("s1._domainkey.{DOMAIN}"),
            record_type: "TXT".into(),
            value: "v=DKIM1; k=rsa; p=AAAA".into(),
            quoted: "\"v=DKIM1; k=rsa; p=AAAA\"".into(),
            public_key_fingerprint: "sha256:00".into(),
        },
    }
    .render(Severity::Warning, &ctx);
    let notifier =
        SnsNotifier::new(sns.clone(), Topics { operations: arns[0].clone(), dns_team: Some(arns[1].clone()) });
    notifier.send(&request).await.expect("SNS (moto) accepts the unified subject and body");
    // A topic that does not exist is an error naming it, not a silent success.
    let missing = format!("{}-missing", arns[0]);
    let broken = SnsNotifier::new(sns, Topics { operations: missing.clone(), dns_team: None });
    let err = broken.send(&request).await.unwrap_err();
    assert_eq!(err.topic, missing);
}
