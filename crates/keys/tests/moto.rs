//! Against moto_server (MOTO_ENDPOINT, started by ./scripts/test): the same key bytes give the
//! same pseudonyms from a key file, a Secrets Manager secret (string and binary) and an SSM
//! SecureString parameter — raw with a trailing newline, and as rotation JSON.

use logmask_keys::{AwsKeyStore, KeyError, KeySource, TokenKeys, load, read_key_file};
use logmask_mask::{Policy, Role};
use logmask_test_support::moto::{put_secret, put_secure_parameter, sdk_config};
use logmask_test_support::unique;

const LINE: &str = "bounce for bob@example.com from 203.0.113.7 and 2001:db8::5";

fn pseudonyms(keys: &TokenKeys) -> String {
    keys.builder(Policy::default()).build().unwrap().mask_str(Role::Readonly, LINE).0
}

/// Stores `doc` as a secret string, a secret binary and a SecureString; returns the sources.
async fn store_everywhere(sdk: &aws_config::SdkConfig, doc: &str) -> Vec<KeySource> {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let string_id = put_secret(sdk, "logmask/token-key", doc).await;
    let binary_id = unique("logmask/token-key-bin");
    secrets
        .create_secret()
        .name(&binary_id)
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(doc.as_bytes()))
        .send()
        .await
        .unwrap();
    let parameter = put_secure_parameter(sdk, "logmask-token-key", doc).await;
    vec![KeySource::SecretsManager(string_id), KeySource::SecretsManager(binary_id), KeySource::SsmParameter(parameter)]
}

#[tokio::test]
async fn the_same_bytes_give_the_same_pseudonym_from_a_file_secrets_manager_and_ssm() {
    let sdk = sdk_config().await;
    let store = AwsKeyStore::new(&sdk);
    let dir = tempfile::tempdir().unwrap();
    let rotation = r#"{"current":{"id":"k2","key_b64":"MDEyMzQ1Njc4OWFiY2RlZg=="},
        "previous":{"id":"k1","key_b64":"b2xkLWtleS1iZWZvcmUtcm90YXRpb24="}}"#;
    // (document, what the key bytes must be, expected key id in pseudonyms)
    let cases =
        [("0123456789abcdef\n", "k1"), ("0123456789abcdef\r\n", "k1"), ("0123456789abcdef", "k1"), (rotation, "k2")];
    let reference = TokenKeys::parse(b"0123456789abcdef", "reference").unwrap();
    let reference_out = pseudonyms(&reference);
    for (doc, id) in cases {
        let path = dir.path().join("key");
        std::fs::write(&path, doc).unwrap();
        let from_file = pseudonyms(&read_key_file(&path).unwrap());
        assert!(from_file.contains(&format!("<email:{id}:")), "{from_file}");
        // The key bytes are the same in every case: only the id in the token may differ.
        assert_eq!(from_file.replace("k2:", "k1:"), reference_out, "{doc:?}");
        for source in store_everywhere(&sdk, doc).await {
            let keys = load(&store, &source).await.unwrap();
            assert_eq!(pseudonyms(&keys), from_file, "{source} with {doc:?}");
        }
    }
}

#[tokio::test]
async fn a_missing_or_bad_key_is_an_error_that_names_the_source_not_the_key() {
    let sdk = sdk_config().await;
    let store = AwsKeyStore::new(&sdk);
    let err = load(&store, &KeySource::SecretsManager("no/such/secret".into())).await.unwrap_err();
    assert!(matches!(err, KeyError::Fetch { .. }));
    assert!(err.to_string().contains("secretsmanager:no/such/secret"), "{err}");
    let err = load(&store, &KeySource::SsmParameter("/no/such/parameter".into())).await.unwrap_err();
    assert!(err.to_string().contains("ssm:/no/such/parameter"), "{err}");

    for doc in ["short-secret-1\n", r#"{"current":{"id":"k1","key_b64":"c2hvcnQtc2VjcmV0LTE="}}"#] {
        for source in store_everywhere(&sdk, doc).await {
            let err = load(&store, &source).await.unwrap_err();
            assert!(matches!(err, KeyError::Invalid { .. }), "{err}");
            assert!(err.to_string().contains("shorter than 16"), "{err}");
            assert!(!err.to_string().contains("short-secret") && !err.to_string().contains("c2hvcnQt"), "{err}");
        }
    }
}
