use super::*;
use crate::fakes::{FakeDns, FakeSes, MemoryStore, RecordingNotifier, SesCall};
use crate::keys::PrivateKeyPkcs1;

type TestDeps = Deps<MemoryStore, RecordingNotifier, FakeSes, FakeDns>;

struct Env {
    deps: TestDeps,
    store: MemoryStore,
    notifier: RecordingNotifier,
    ses: FakeSes,
    dns: FakeDns,
}

fn env_with(config: ManagerConfig, ses: FakeSes) -> Env {
    let (store, notifier, dns) = (MemoryStore::default(), RecordingNotifier::default(), FakeDns::default());
    Env {
        deps: Deps {
            keys: KeyRepository::new(store.clone()),
            notifier: notifier.clone(),
            ses: ses.clone(),
            dns: dns.clone(),
            config,
        },
        store,
        notifier,
        ses,
        dns,
    }
}

fn env() -> Env {
    let config = ManagerConfig { dkim_separator: "gooid-21-pro".into(), ..ManagerConfig::default() };
    env_with(config, FakeSes::easy_dkim())
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const DOMAIN: &str = "goo.example.jp";

async fn run(env: &Env, payload: Value, now: Timestamp) -> Result<Response, Error> {
    handle(&payload, &env.deps, now).await
}

async fn create(env: &Env, selector: &str, now: Timestamp) -> Response {
    run(
        env,
        json!({"action": "create_dkim_certificate", "domain": DOMAIN, "selector": selector, "environment": "prod"}),
        now,
    )
    .await
    .unwrap()
}

/// Publishes the record exactly as the DNS team would paste it.
fn publish_dns(env: &Env, response: &Response) {
    let record: DnsTxtRecord = serde_json::from_value(response.details["dns_record"].clone()).unwrap();
    env.dns.publish(&record.name, &record.value);
}

fn stored_key(env: &Env, selector: &str) -> PrivateKeyPkcs1 {
    let pem = env.store.object(&format!("dkim-certificates/{DOMAIN}/{selector}/private_key.pem")).unwrap();
    PrivateKeyPkcs1::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap()
}

fn info(env: &Env, selector: &str) -> CertificateInfo {
    let bytes = env.store.object(&format!("dkim-certificates/{DOMAIN}/{selector}/certificate_info.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn unknown_or_missing_action_lists_valid_actions() {
    let env = env();
    for payload in [json!({"action": "phase_manager"}), json!({"domain": DOMAIN})] {
        let err = run(&env, payload, t("2026-01-01T00:00:00Z")).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::UnknownAction { .. }), "{text}");
        for action in VALID_ACTIONS {
            assert!(text.contains(action), "{text}");
        }
    }
    let err = run(
        &env,
        json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1", "private_key": "x"}),
        t("2026-01-01T00:00:00Z"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    assert!(env.ses.calls().is_empty());
}

#[tokio::test]
async fn create_stores_key_record_and_metadata_and_notifies_once() {
    let env = env();
    let now = t("2026-11-30T01:00:00Z");
    let response = create(&env, "gooid-21-pro-20261130-1", now).await;
    assert_eq!(response.status_code, 200);
    assert_eq!(response.details["generated"], json!(true));
    assert_eq!(response.details["state"], json!("GENERATED"));
    assert_eq!(response.details["validity_days"], json!(456));
    assert_eq!(response.details["expires_at"], json!("2028-02-29T01:00:00Z"));
    let key = stored_key(&env, "gooid-21-pro-20261130-1");
    let record = &response.details["dns_record"];
    assert_eq!(record["name"], json!(format!("gooid-21-pro-20261130-1._domainkey.{DOMAIN}")));
    assert_eq!(record["value"], json!(format!("v=DKIM1; k=rsa; p={}", key.public_key().unwrap().to_base64())));
    assert!(env.store.object(&format!("dns_records/{DOMAIN}/gooid-21-pro-20261130-1.json")).is_some());
    let stored = info(&env, "gooid-21-pro-20261130-1");
    assert_eq!(stored.dns_team_notified_at, Some(now));
    assert_eq!(stored.public_key_fingerprint, key.public_key().unwrap().fingerprint());

    let sent = env.notifier.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.starts_with("【WARNING】"), "{}", sent[0].0);
    assert!(sent[0].1.contains(record["value"].as_str().unwrap()));
    assert!(sent[0].1.contains(record["quoted"].as_str().unwrap()));
    // A DNS request: the operations topic and the DNS team's.
    assert_eq!(env.notifier.topics()[0], vec!["operations".to_owned(), "dns-team".to_owned()]);
    assert_eq!(env.notifier.notifications()[0].kind, "dkim.dns_record_request");

    // A retry: same key, nothing regenerated, no second notification.
    let puts = env.store.put_count();
    let again = create(&env, "gooid-21-pro-20261130-1", t("2026-11-30T02:00:00Z")).await;
    assert_eq!(again.details["generated"], json!(false));
    assert_eq!(again.details["dns_record"], response.details["dns_record"]);
    assert_eq!(env.store.put_count(), puts);
    assert_eq!(env.notifier.sent().len(), 1);
}

#[tokio::test]
async fn interrupted_create_reuses_the_stored_key() {
    let env = env();
    create(&env, "s1", t("2026-01-01T00:00:00Z")).await;
    let original = stored_key(&env, "s1").expose_der().to_vec();
    // Simulate a crash after the private key was written but before the metadata.
    env.store.remove(&format!("dkim-certificates/{DOMAIN}/s1/certificate_info.json"));
    let response = create(&env, "s1", t("2026-01-01T00:05:00Z")).await;
    assert_eq!(response.details["generated"], json!(false));
    assert_eq!(stored_key(&env, "s1").expose_der(), original.as_slice());
}

#[tokio::test]
async fn generated_selectors_and_pending_key_reuse() {
    let env = env();
    let now = t("2026-11-30T20:00:00Z"); // 2026-12-01 in JST
    let payload = json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "GENERATE_ONLY"});
    let first = run(&env, payload.clone(), now).await.unwrap();
    assert_eq!(first.details["selector"], json!("gooid-21-pro-20261201-1"));
    let retry = run(&env, payload, now).await.unwrap();
    assert_eq!(retry.details["selector"], json!("gooid-21-pro-20261201-1"));
    assert_eq!(retry.details["generated"], json!(false));
    // An explicit create without selector always makes a new one, numbered after the last.
    let second = run(&env, json!({"action": "create_dkim_certificate", "domain": DOMAIN}), now).await.unwrap();
    assert_eq!(second.details["selector"], json!("gooid-21-pro-20261201-2"));
}

#[tokio::test]
async fn safety_flags_refuse_scheduled_and_unconfirmed_applies() {
    let env = env();
    let now = t("2026-01-01T00:00:00Z");
    let scheduled_generate =
        json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "GENERATE_ONLY", "trigger": "scheduled"});
    assert!(matches!(run(&env, scheduled_generate, now).await, Err(Error::Refused(_))));
    create(&env, "s1", now).await;
    let sent_before = env.notifier.sent().len();
    for payload in [
        json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "APPLY_TO_SES"}),
        json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "APPLY_TO_SES", "dns_confirmation": false}),
        json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "APPLY_TO_SES", "dns_confirmation": true, "trigger": "scheduled"}),
        json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1", "trigger": "scheduled"}),
    ] {
        let err = run(&env, payload.clone(), now).await.unwrap_err();
        assert!(matches!(err, Error::Refused(_)), "{payload}: {err}");
    }
    assert!(env.ses.calls().is_empty());
    assert_eq!(env.notifier.sent().len(), sent_before);

    // With auto-apply on and automatic rotation, a scheduled apply goes through to the DNS gate.
    let auto = env_with(
        ManagerConfig { auto_apply_to_ses: true, rotation_mode: RotationMode::Automatic, ..ManagerConfig::default() },
        FakeSes::easy_dkim(),
    );
    create(&auto, "s1", now).await;
    let err = run(
        &auto,
        json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1", "trigger": "scheduled"}),
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::DnsNotReady { status: DnsStatus::NotFound, .. }), "{err}");
}

#[tokio::test]
async fn apply_refuses_unless_dns_matches() {
    let env = env();
    let now = t("2026-01-01T00:00:00Z");
    create(&env, "s1", now).await;
    let other = create(&env, "s2", now).await;
    let update = json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"});

    let err = run(&env, update.clone(), now).await.unwrap_err();
    assert!(matches!(err, Error::DnsNotReady { status: DnsStatus::NotFound, .. }), "{err}");
    assert!(err.to_string().starts_with("DNS_TXT_NOT_READY"));

    // s1's name publishes s2's key: it exists, but it is not ours.
    let value = other.details["dns_record"]["value"].as_str().unwrap().to_owned();
    env.dns.publish(&format!("s1._domainkey.{DOMAIN}"), &value);
    let err = run(&env, update, now).await.unwrap_err();
    assert!(matches!(err, Error::DnsNotReady { status: DnsStatus::Mismatch, .. }), "{err}");
    assert!(env.ses.calls().is_empty(), "SES must not be touched");
    assert_eq!(info(&env, "s1").state, KeyState::Generated);
}

#[tokio::test]
async fn full_lifecycle_apply_activate_rotate_retire() {
    let env = env();
    let t0 = t("2026-01-01T00:00:00Z");
    let first = create(&env, "s1", t0).await;
    publish_dns(&env, &first);

    let check = run(&env, json!({"action": "check_dns_status", "domain": DOMAIN, "selector": "s1"}), t0).await.unwrap();
    assert_eq!(check.details["status"], json!("MATCH"));
    assert_eq!(info(&env, "s1").state, KeyState::DnsVerified);

    let applied = run(&env, json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"}), t0)
        .await
        .unwrap();
    assert_eq!(applied.status_code, 200);
    assert_eq!(applied.details["outcome"], json!("APPLIED"));
    assert_eq!(applied.details["final_dkim_status"], json!("PENDING"));
    assert_eq!(applied.details["signing_origin"], json!("EXTERNAL"));
    let key_b64 = stored_key(&env, "s1").to_ses_signing_key().unwrap().expose_secret().to_owned();
    assert_eq!(
        env.ses.calls(),
        vec![
            SesCall::Get,
            SesCall::PutExternal { selector: "s1".into(), private_key_b64: key_b64.clone().into() },
            SesCall::SetSigningEnabled(true),
            SesCall::Get,
        ]
    );
    assert!(!key_b64.contains("MA0GCSqGSIb3DQEBAQUA"), "PKCS#8 must never reach SES");
    assert_eq!(info(&env, "s1").state, KeyState::Applied);

    // Retry: SES already signs with s1, so nothing is sent again.
    let calls = env.ses.calls().len();
    let retry = run(&env, json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"}), t0)
        .await
        .unwrap();
    assert_eq!(retry.details["outcome"], json!("ALREADY_APPLIED"));
    assert_eq!(env.ses.calls()[calls..], [SesCall::Get]);

    // SES verifies; status records ACTIVE.
    env.ses.set_status("SUCCESS");
    let t1 = t("2026-01-02T00:00:00Z");
    let status = run(&env, json!({"action": "status", "domain": DOMAIN}), t1).await.unwrap();
    assert_eq!(status.details["current_selector"], json!("s1"));
    assert_eq!(info(&env, "s1").state, KeyState::Active);
    assert_eq!(info(&env, "s1").active_at, Some(t1));

    // Rotation: GENERATE_ONLY, DNS, APPLY_TO_SES; SES verifies at once this time.
    let t2 = t("2027-03-20T00:00:00Z");
    let second = run(
        &env,
        json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "GENERATE_ONLY", "selector": "s2"}),
        t2,
    )
    .await
    .unwrap();
    publish_dns(&env, &second);
    env.ses.set_status_after_put("SUCCESS");
    let rotated = run(
        &env,
        json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "APPLY_TO_SES", "dns_confirmation": true}),
        t2,
    )
    .await
    .unwrap();
    assert_eq!(rotated.details["selector"], json!("s2"));
    assert_eq!(rotated.details["final_dkim_status"], json!("SUCCESS"));
    assert_eq!(info(&env, "s2").state, KeyState::Active);
    let old = info(&env, "s1");
    assert_eq!(old.state, KeyState::Retired);
    assert_eq!(old.superseded_by.as_ref().map(Selector::as_str), Some("s2"));
    let states: Vec<KeyState> = old.history.iter().map(|h| h.state).collect();
    assert_eq!(
        states,
        [KeyState::Generated, KeyState::DnsVerified, KeyState::Applied, KeyState::Active, KeyState::Retired]
    );

    // s1's record may go 7 days after s2 reached SUCCESS, not before.
    let status = run(&env, json!({"action": "status", "domain": DOMAIN}), t2 + DAY * 6).await.unwrap();
    assert_eq!(status.details["dns_records_removable"], json!([]));
    assert_eq!(status.details["keys"][0]["renewal_due"], json!(true)); // s1: alert 16 days before expiry
    let status = run(&env, json!({"action": "status", "domain": DOMAIN}), t2 + DAY * 7).await.unwrap();
    assert_eq!(status.details["dns_records_removable"], json!(["s1"]));
    assert_eq!(status.details["keys"][1]["current"], json!(true));
    assert_eq!(status.details["keys"][1]["renewal_due"], json!(false));
    // Nothing was deleted.
    assert!(env.store.object(&format!("dkim-certificates/{DOMAIN}/s1/private_key.pem")).is_some());
}

#[tokio::test]
async fn failure_mid_apply_restores_previous_selector_and_key() {
    let env = env();
    let t0 = t("2026-01-01T00:00:00Z");
    let first = create(&env, "s1", t0).await;
    publish_dns(&env, &first);
    env.ses.set_status_after_put("SUCCESS");
    run(&env, json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"}), t0).await.unwrap();
    let second = create(&env, "s2", t0).await;
    publish_dns(&env, &second);
    let calls_before = env.ses.calls().len();
    // Calls of the apply: Get, PutExternal(s2), SetSigningEnabled(true) ← fails.
    env.ses.fail_call(calls_before + 2);

    let response = run(&env, json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s2"}), t0)
        .await
        .unwrap();
    assert_eq!(response.status_code, 500);
    assert_eq!(response.details["outcome"], json!("ROLLED_BACK"));
    assert_eq!(response.details["rolled_back"], json!(true));
    assert!(response.message.contains("rolled back to EXTERNAL selector s1"), "{}", response.message);

    let old_key = stored_key(&env, "s1").to_ses_signing_key().unwrap().expose_secret().to_owned();
    let calls = env.ses.calls();
    assert_eq!(
        calls[calls_before + 3],
        SesCall::PutExternal { selector: "s1".into(), private_key_b64: old_key.into() }
    );
    let state = env.ses.state();
    assert_eq!(state.tokens, vec!["s1".to_owned()]);
    assert!(state.signing_enabled);
    assert_eq!(info(&env, "s2").state, KeyState::DnsVerified);
    assert!(info(&env, "s2").history.last().unwrap().note.contains("ROLLED_BACK"));
    assert_eq!(info(&env, "s1").state, KeyState::Active);
    let (subject, _) = env.notifier.sent().pop().unwrap();
    assert!(subject.starts_with("【CRITICAL】"), "{subject}");
}

#[tokio::test]
async fn apply_refuses_when_current_external_key_is_unknown() {
    let ses = FakeSes::with_state(crate::ses::SesDkimState {
        signing_enabled: true,
        status: DkimStatus::Success,
        tokens: vec!["legacy".into()],
        origin: Some(DkimSigningAttributesOrigin::External),
    });
    let env = env_with(ManagerConfig::default(), ses);
    let t0 = t("2026-01-01T00:00:00Z");
    let created = create(&env, "s1", t0).await;
    publish_dns(&env, &created);
    let err = run(&env, json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"}), t0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err}");
    assert_eq!(env.ses.calls(), vec![SesCall::Get]);
}

#[tokio::test]
async fn disable_easy_dkim_is_idempotent_and_protects_byodkim() {
    let env = env();
    let t0 = t("2026-01-01T00:00:00Z");
    let payload = json!({"action": "disable_easy_dkim", "domain": DOMAIN});
    let first = run(&env, payload.clone(), t0).await.unwrap();
    assert_eq!(first.details["changed"], json!(true));
    assert!(!env.ses.state().signing_enabled);
    let second = run(&env, payload.clone(), t0).await.unwrap();
    assert_eq!(second.details["changed"], json!(false));
    assert_eq!(env.ses.calls().iter().filter(|c| matches!(c, SesCall::SetSigningEnabled(_))).count(), 1);

    let created = create(&env, "s1", t0).await;
    publish_dns(&env, &created);
    run(&env, json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"}), t0).await.unwrap();
    let err = run(&env, payload, t0).await.unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err}");
    assert!(env.ses.state().signing_enabled);
}

#[tokio::test]
async fn failure_from_easy_dkim_rolls_back_to_easy_dkim() {
    let env = env();
    let t0 = t("2026-01-01T00:00:00Z");
    let created = create(&env, "s1", t0).await;
    publish_dns(&env, &created);
    env.ses.set_status_after_put("FAILED");
    let response = run(&env, json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"}), t0)
        .await
        .unwrap();
    assert_eq!(response.details["outcome"], json!("ROLLED_BACK"));
    assert!(env.ses.calls().contains(&SesCall::PutEasyDkim));
    assert_eq!(env.ses.state().origin, Some(DkimSigningAttributesOrigin::AwsSes));
    assert_eq!(info(&env, "s1").state, KeyState::DnsVerified);
}

#[tokio::test]
async fn the_seeds_create_dkim_payload_file_is_create_dkim_certificate() {
    let env = env();
    // Exactly what the runbook writes to create-dkim-payload.json.
    let payload = json!({
        "action": "create_dkim",
        "domain": DOMAIN,
        "environment": "prod",
        "projectName": "aws-ses-migration",
        "dkimSeparator": "gooid-21-pro"
    });
    let response = run(&env, payload, t("2026-11-30T01:00:00Z")).await.unwrap();
    assert_eq!(response.action, "create_dkim_certificate");
    assert_eq!(response.details["selector"], json!("gooid-21-pro-20261130-1"));
    assert_eq!(response.details["generated"], json!(true));
    assert_eq!(env.notifier.sent().len(), 1);
    // The alias is not a loophole for unknown actions.
    let err =
        run(&env, json!({"action": "create_dkim_key", "domain": DOMAIN}), t("2026-11-30T01:00:00Z")).await.unwrap_err();
    assert!(matches!(err, Error::UnknownAction { .. }), "{err}");
}

#[tokio::test]
async fn apply_notifications_go_to_operations_only() {
    let env = env();
    let t0 = t("2026-01-01T00:00:00Z");
    let created = create(&env, "s1", t0).await;
    publish_dns(&env, &created);
    run(&env, json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"}), t0).await.unwrap();
    let kinds: Vec<&str> = env.notifier.notifications().iter().map(|n| n.kind).collect();
    assert_eq!(kinds, ["dkim.dns_record_request", "dkim.byodkim_applied"]);
    assert_eq!(env.notifier.topics()[1], vec!["operations".to_owned()]);
}
