//! S3 (SSE-KMS), KMS and SNS against moto_server. SES is a fake here: moto lacks the SESv2
//! DKIM operations (see ses_mocks.rs for the SDK-level SES tests).

use aws_sdk_s3::types::ServerSideEncryption;
use logmask_dkim::fakes::{FakeDns, FakeSes, RecordingNotifier, SesCall};
use logmask_dkim::keys::PrivateKeyPkcs1;
use logmask_dkim::{Deps, KeyRepository, ManagerConfig, S3ObjectStore, handle};
use logmask_notify::{Notification, Notifier, NotifyError, SnsNotifier, Topics};
use logmask_test_support::moto::{create_bucket, object, s3, sdk_config};
use logmask_test_support::unique;
use serde_json::json;

/// Publishes through real SNS (moto) and keeps a copy of what was sent.
pub struct TeeNotifier {
    pub sns: SnsNotifier,
    pub copy: RecordingNotifier,
}

impl Notifier for TeeNotifier {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.sns.send(notification).await?;
        self.copy.send(notification).await
    }
}

pub struct MotoResources {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub kms_key_id: String,
    pub topic_arn: String,
    pub sns: aws_sdk_sns::Client,
}

pub async fn moto_resources() -> MotoResources {
    let sdk = sdk_config().await;
    let s3 = s3(&sdk);
    let bucket = unique("dkim-certificates");
    create_bucket(&s3, &bucket).await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms.create_key().description("dkim test key").send().await.expect("create KMS key in moto");
    let kms_key_id = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic_arn = sns
        .create_topic()
        .name(unique("dns-team-notifications"))
        .send()
        .await
        .expect("create SNS topic in moto")
        .topic_arn()
        .unwrap()
        .to_owned();
    MotoResources { s3, bucket, kms_key_id, topic_arn, sns }
}

#[tokio::test]
async fn keys_are_stored_with_sse_kms_and_the_dns_team_is_notified_over_sns() {
    let moto = moto_resources().await;
    let copy = RecordingNotifier::default();
    let (ses, dns) = (FakeSes::easy_dkim(), FakeDns::default());
    let deps = Deps {
        keys: KeyRepository::new(S3ObjectStore::new(moto.s3.clone(), moto.bucket.clone(), moto.kms_key_id.clone())),
        notifier: TeeNotifier {
            sns: SnsNotifier::new(moto.sns.clone(), Topics { operations: moto.topic_arn.clone(), dns_team: None }),
            copy: copy.clone(),
        },
        ses: ses.clone(),
        dns: dns.clone(),
        config: ManagerConfig { dkim_separator: "gooid-21-pro".into(), ..ManagerConfig::default() },
    };
    let domain = "goo.example.jp";
    let now = jiff::Timestamp::now();
    let created =
        handle(&json!({"action": "create_dkim_certificate", "domain": domain, "environment": "prod"}), &deps, now)
            .await
            .unwrap();
    let selector = created.details["selector"].as_str().unwrap().to_owned();
    assert!(selector.starts_with("gooid-21-pro-"), "{selector}");

    for suffix in ["private_key.pem", "certificate_info.json"] {
        let key = format!("dkim-certificates/{domain}/{selector}/{suffix}");
        let head = moto.s3.head_object().bucket(&moto.bucket).key(&key).send().await.unwrap();
        assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms), "{key}");
        assert_eq!(head.ssekms_key_id(), Some(moto.kms_key_id.as_str()), "{key}");
    }
    let read = async |key: String| object(&moto.s3, &moto.bucket, &key).await;
    let pem = read(format!("dkim-certificates/{domain}/{selector}/private_key.pem")).await;
    let private = PrivateKeyPkcs1::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
    assert_eq!(private.bits(), 2048);
    let fingerprint = private.public_key().unwrap().fingerprint();
    assert_eq!(created.details["public_key_fingerprint"], json!(fingerprint));

    let info: serde_json::Value =
        serde_json::from_slice(&read(format!("dkim-certificates/{domain}/{selector}/certificate_info.json")).await)
            .unwrap();
    assert_eq!(info["validity_days"], json!(456));
    assert_eq!(info["state"], json!("GENERATED"));
    assert_eq!(info["public_key_fingerprint"], json!(fingerprint));
    let record: serde_json::Value =
        serde_json::from_slice(&read(format!("dns_records/{domain}/{selector}.json")).await).unwrap();
    assert_eq!(record, created.details["dns_record"]);

    // SNS accepted the unified-format message (moto validates the subject length).
    let sent = copy.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1.contains(record["value"].as_str().unwrap()));

    // Retry with the same selector: the object in S3 is unchanged, nothing is re-sent.
    let again =
        handle(&json!({"action": "create_dkim_certificate", "domain": domain, "selector": selector}), &deps, now)
            .await
            .unwrap();
    assert_eq!(again.details["generated"], json!(false));
    assert_eq!(copy.sent().len(), 1);

    // Apply reads the key back from S3 (through KMS in real AWS) and SES receives PKCS#1.
    dns.publish(record["name"].as_str().unwrap(), record["value"].as_str().unwrap());
    let applied =
        handle(&json!({"action": "update_ses_byodkim_automated", "domain": domain, "selector": selector}), &deps, now)
            .await
            .unwrap();
    assert_eq!(applied.details["outcome"], json!("APPLIED"));
    assert!(ses.calls().contains(&SesCall::PutExternal {
        selector: selector.clone(),
        private_key_b64: private.to_ses_signing_key().unwrap().expose_secret().to_owned().into(),
    }));
    let status = handle(&json!({"action": "status", "domain": domain}), &deps, now).await.unwrap();
    assert_eq!(status.details["keys"][0]["state"], json!("APPLIED"));
    assert_eq!(status.details["current_selector"], json!(selector));
}
