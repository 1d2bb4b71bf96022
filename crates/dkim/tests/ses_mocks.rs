//! The SESv2 DKIM calls through the real SDK client with aws-smithy-mocks. moto does not
//! implement PutEmailIdentityDkimSigningAttributes / PutEmailIdentityDkimAttributes (404) and
//! its GetEmailIdentity with DKIM attributes does not deserialize in the Rust SDK, so SES is
//! the one service mocked at the HTTP-client level.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::operation::put_email_identity_dkim_attributes::{
    PutEmailIdentityDkimAttributesError, PutEmailIdentityDkimAttributesOutput,
};
use aws_sdk_sesv2::operation::put_email_identity_dkim_signing_attributes::PutEmailIdentityDkimSigningAttributesOutput;
use aws_sdk_sesv2::types::error::BadRequestException;
use aws_sdk_sesv2::types::{DkimAttributes, DkimSigningAttributesOrigin, DkimStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use logmask_dkim::fakes::{FakeDns, MemoryStore, RecordingNotifier};
use logmask_dkim::keys::PrivateKeyPkcs1;
use logmask_dkim::ses::SesV2DkimClient;
use logmask_dkim::{Deps, KeyRepository, ManagerConfig, handle};
use serde_json::{Value, json};

const DOMAIN: &str = "goo.example.jp";

fn identity(origin: DkimSigningAttributesOrigin, token: &str, status: DkimStatus) -> GetEmailIdentityOutput {
    GetEmailIdentityOutput::builder()
        .dkim_attributes(
            DkimAttributes::builder()
                .signing_enabled(true)
                .status(status)
                .tokens(token)
                .signing_attributes_origin(origin)
                .build(),
        )
        .build()
}

/// Creates keys `selectors` with a fake SES, publishes the last one's record in DNS, and
/// returns the store, DNS and each key's SES value.
async fn prepared(selectors: &[&str]) -> (MemoryStore, FakeDns, Vec<String>) {
    let store = MemoryStore::default();
    let dns = FakeDns::default();
    let deps = Deps {
        keys: KeyRepository::new(store.clone()),
        notifier: RecordingNotifier::default(),
        ses: logmask_dkim::fakes::FakeSes::easy_dkim(),
        dns: dns.clone(),
        config: ManagerConfig::default(),
    };
    let mut ses_values = Vec::new();
    let mut last: Option<Value> = None;
    for selector in selectors {
        let created = handle(
            &json!({"action": "create_dkim_certificate", "domain": DOMAIN, "selector": selector}),
            &deps,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
        let pem = store.object(&format!("dkim-certificates/{DOMAIN}/{selector}/private_key.pem")).unwrap();
        let key = PrivateKeyPkcs1::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
        ses_values.push(key.to_ses_signing_key().unwrap().expose_secret().to_owned());
        last = Some(created.details["dns_record"].clone());
    }
    let record = last.unwrap();
    dns.publish(record["name"].as_str().unwrap(), record["value"].as_str().unwrap());
    (store, dns, ses_values)
}

fn deps_with(
    client: Client,
    store: MemoryStore,
    dns: FakeDns,
) -> Deps<MemoryStore, RecordingNotifier, SesV2DkimClient, FakeDns> {
    Deps {
        keys: KeyRepository::new(store),
        notifier: RecordingNotifier::default(),
        ses: SesV2DkimClient::new(client),
        dns,
        config: ManagerConfig::default(),
    }
}

#[tokio::test]
async fn apply_sends_external_pkcs1_key_enables_signing_and_reads_back() {
    let (store, dns, values) = prepared(&["s-new"]).await;
    let new_key = values[0].clone();
    let get = mock!(Client::get_email_identity)
        .sequence()
        .output(|| identity(DkimSigningAttributesOrigin::AwsSes, "easytoken", DkimStatus::Success))
        .output(|| identity(DkimSigningAttributesOrigin::External, "s-new", DkimStatus::Pending))
        .build();
    let put = mock!(Client::put_email_identity_dkim_signing_attributes)
        .match_requests(move |req| {
            let attrs = req.signing_attributes().unwrap();
            req.email_identity() == Some(DOMAIN)
                && req.signing_attributes_origin() == Some(&DkimSigningAttributesOrigin::External)
                && attrs.domain_signing_selector() == Some("s-new")
                && attrs.domain_signing_private_key() == Some(new_key.as_str())
        })
        .then_output(|| {
            PutEmailIdentityDkimSigningAttributesOutput::builder().dkim_status(DkimStatus::Pending).build()
        });
    let enable = mock!(Client::put_email_identity_dkim_attributes)
        .match_requests(|req| req.signing_enabled() == Some(true))
        .then_output(|| PutEmailIdentityDkimAttributesOutput::builder().build());
    let client = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&get, &put, &enable]);
    let deps = deps_with(client, store, dns);

    let response = handle(
        &json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s-new"}),
        &deps,
        jiff::Timestamp::now(),
    )
    .await
    .unwrap();
    assert_eq!(response.details["outcome"], json!("APPLIED"), "{response:?}");
    assert_eq!(response.details["final_dkim_status"], json!("PENDING"));
    assert_eq!(response.details["signing_origin"], json!("EXTERNAL"));
    assert_eq!((get.num_calls(), put.num_calls(), enable.num_calls()), (2, 1, 1));
    assert!(!values[0].contains("MA0GCSqGSIb3DQEBAQUA"), "never PKCS#8");
    assert!(!values[0].contains('\n') && !values[0].contains("-----"));
}

#[tokio::test]
async fn failure_of_the_second_call_restores_the_old_selector_and_key() {
    let (store, dns, values) = prepared(&["s-old", "s-new"]).await;
    let (old_key, new_key) = (values[0].clone(), values[1].clone());
    let get = mock!(Client::get_email_identity)
        .sequence()
        .output(|| identity(DkimSigningAttributesOrigin::External, "s-old", DkimStatus::Success))
        .output(|| identity(DkimSigningAttributesOrigin::External, "s-old", DkimStatus::Success))
        .build();
    let put_new = mock!(Client::put_email_identity_dkim_signing_attributes)
        .match_requests(move |req| {
            let attrs = req.signing_attributes().unwrap();
            attrs.domain_signing_selector() == Some("s-new")
                && attrs.domain_signing_private_key() == Some(new_key.as_str())
        })
        .then_output(|| {
            PutEmailIdentityDkimSigningAttributesOutput::builder().dkim_status(DkimStatus::Pending).build()
        });
    // Not a throttling error, so the SDK does not retry it.
    let enable_fails = mock!(Client::put_email_identity_dkim_attributes).then_error(|| {
        PutEmailIdentityDkimAttributesError::BadRequestException(
            BadRequestException::builder().message("simulated failure").build(),
        )
    });
    let restore_old = mock!(Client::put_email_identity_dkim_signing_attributes)
        .match_requests(move |req| {
            let attrs = req.signing_attributes().unwrap();
            req.signing_attributes_origin() == Some(&DkimSigningAttributesOrigin::External)
                && attrs.domain_signing_selector() == Some("s-old")
                && attrs.domain_signing_private_key() == Some(old_key.as_str())
        })
        .then_output(|| {
            PutEmailIdentityDkimSigningAttributesOutput::builder().dkim_status(DkimStatus::Success).build()
        });
    let client = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, [&get, &put_new, &enable_fails, &restore_old]);
    let deps = deps_with(client, store.clone(), dns);

    let response = handle(
        &json!({"action": "update_ses_byodkim_automated", "domain": DOMAIN, "selector": "s-new"}),
        &deps,
        jiff::Timestamp::now(),
    )
    .await
    .unwrap();
    assert_eq!(response.status_code, 500);
    assert_eq!(response.details["outcome"], json!("ROLLED_BACK"));
    assert!(response.message.contains("simulated failure"), "{}", response.message);
    assert!(response.message.contains("rolled back to EXTERNAL selector s-old"), "{}", response.message);
    assert_eq!(put_new.num_calls(), 1);
    assert_eq!(enable_fails.num_calls(), 1);
    assert_eq!(restore_old.num_calls(), 1, "the old selector and key were sent back");
    assert_eq!(get.num_calls(), 2);
    let info: Value = serde_json::from_slice(
        &store.object(&format!("dkim-certificates/{DOMAIN}/s-new/certificate_info.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(info["state"], json!("DNS_VERIFIED"));
    assert!(info["history"].to_string().contains("ROLLED_BACK"));
}
