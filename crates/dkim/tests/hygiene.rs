//! Secret hygiene: run every action (including a failed apply and error paths), capture the
//! tracing output, every response, every error and every notification, and assert that no
//! private key material appears anywhere.

use logmask_dkim::fakes::{FakeDns, FakeSes, MemoryStore, RecordingNotifier};
use logmask_dkim::keys::PrivateKeyPkcs1;
use logmask_dkim::{Deps, KeyRepository, ManagerConfig, handle};
use logmask_test_support::logs::LogCapture;
use serde_json::{Value, json};

const DOMAIN: &str = "goo.example.jp";

/// Every representation of a private key that must never leak: its PEM body lines, the
/// base64 DER SES receives, and every 40-character slice of that base64. The PKCS#1 DER also
/// holds the public modulus, which responses rightly carry inside `p=`; a slice that occurs in
/// the public key's base64 is public and is left out.
fn secret_fragments(key: &PrivateKeyPkcs1) -> Vec<String> {
    let public_b64 = key.public_key().unwrap().to_base64();
    let b64 = key.to_ses_signing_key().unwrap().expose_secret().to_owned();
    let mut fragments: Vec<String> =
        key.to_pem().lines().filter(|l| !l.starts_with("-----")).map(str::to_owned).collect();
    fragments.push(b64.clone());
    fragments.extend((0..=b64.len() - 40).map(|i| b64[i..i + 40].to_owned()));
    let all = fragments.len();
    fragments.retain(|f| !public_b64.contains(f.as_str()));
    // Only the modulus overlaps; the secret exponent and primes leave most slices in.
    assert!(fragments.len() * 10 > all * 7, "{} of {all}", fragments.len());
    fragments
}

fn leaks(haystack: &str, fragments: &[String]) -> Option<String> {
    fragments.iter().find(|f| haystack.contains(f.as_str())).cloned()
}

#[tokio::test]
async fn no_key_material_in_logs_responses_errors_or_notifications() {
    // Every thread, every level: wherever a key would be logged, it must be seen here.
    let logs = LogCapture::all_threads(tracing::Level::TRACE);

    let store = MemoryStore::default();
    let (notifier, ses, dns) = (RecordingNotifier::default(), FakeSes::easy_dkim(), FakeDns::default());
    let deps = Deps {
        keys: KeyRepository::new(store.clone()),
        notifier: notifier.clone(),
        ses: ses.clone(),
        dns: dns.clone(),
        config: ManagerConfig { dkim_separator: "gooid-21-pro".into(), ..ManagerConfig::default() },
    };
    let now = jiff::Timestamp::now();
    let mut outputs: Vec<String> = Vec::new();
    let mut run = async |payload: Value| -> Option<Value> {
        match handle(&payload, &deps, now).await {
            Ok(response) => {
                let value = serde_json::to_value(&response).unwrap();
                outputs.push(value.to_string());
                outputs.push(format!("{response:?}"));
                Some(value)
            }
            Err(err) => {
                outputs.push(err.to_string());
                outputs.push(format!("{err:?}"));
                None
            }
        }
    };

    let first = run(json!({"action": "create_dkim_certificate", "domain": DOMAIN, "selector": "s1"})).await.unwrap();
    run(json!({"action": "create_dkim_certificate", "domain": DOMAIN, "selector": "s1"})).await.unwrap();
    run(json!({"action": "check_dns_status", "domain": DOMAIN, "selector": "s1"})).await.unwrap();
    run(json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"})).await; // DNS not ready
    let record = &first["dns_record"];
    dns.publish(record["name"].as_str().unwrap(), record["value"].as_str().unwrap());
    run(json!({"action": "disable_easy_dkim", "domain": DOMAIN})).await.unwrap();
    run(json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s1"})).await.unwrap();
    ses.set_status("SUCCESS");
    run(json!({"action": "status", "domain": DOMAIN})).await.unwrap();
    let second = run(json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "GENERATE_ONLY"})).await.unwrap();
    let record = &second["dns_record"];
    dns.publish(record["name"].as_str().unwrap(), record["value"].as_str().unwrap());
    run(json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "APPLY_TO_SES"})).await; // refused
    ses.fail_call(ses.calls().len() + 2); // the enable call of the next apply fails
    let rolled_back =
        run(json!({"action": "rotate_dkim_keys", "domain": DOMAIN, "mode": "APPLY_TO_SES", "dns_confirmation": true}))
            .await
            .unwrap();
    assert_eq!(rolled_back["outcome"], json!("ROLLED_BACK"));
    run(json!({"action": "disable_easy_dkim", "domain": DOMAIN})).await; // refused: BYODKIM
    run(json!({"action": "status", "domain": DOMAIN})).await.unwrap();
    run(json!({"action": "no_such_action"})).await;

    let mut fragments = Vec::new();
    for selector in ["s1", second["selector"].as_str().unwrap()] {
        let pem = store.object(&format!("dkim-certificates/{DOMAIN}/{selector}/private_key.pem")).unwrap();
        fragments.extend(secret_fragments(&PrivateKeyPkcs1::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap()));
    }
    let log_text = logs.text();
    let notifications: Vec<String> = notifier.sent().into_iter().flat_map(|(s, m)| [s, m]).collect();
    let stored_metadata: Vec<String> = store
        .keys()
        .into_iter()
        .filter(|k| !k.ends_with("private_key.pem"))
        .map(|k| String::from_utf8(store.object(&k).unwrap()).unwrap())
        .collect();

    // The captured material is real: logs, responses and notifications carry the public record.
    assert!(log_text.contains("DNS team notified"), "{log_text}");
    assert!(notifications.len() >= 6, "{}", notifications.len());
    assert!(outputs.iter().any(|o| o.contains("v=DKIM1; k=rsa; p=MIIB")));
    // And the detector works: a planted fragment is found.
    assert!(leaks(&format!("xx{}yy", &fragments.last().unwrap()[..40]), &fragments).is_some());

    for (what, texts) in [
        ("logs", vec![log_text]),
        ("responses and errors", outputs),
        ("notifications", notifications),
        ("metadata and DNS records", stored_metadata),
    ] {
        for text in texts {
            if let Some(fragment) = leaks(&text, &fragments) {
                panic!("private key material ({fragment}) leaked into {what}: {text}");
            }
        }
    }
}
