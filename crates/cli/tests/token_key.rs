//! The one key rule through the real binary (issue 14, item 7): `--token-key-file` gives the
//! pseudonyms the Lambdas give from Secrets Manager and SSM (moto_server, MOTO_ENDPOINT) for the
//! same stored bytes, and a key file that never ends is refused at once.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use logmask_keys::{AwsKeyStore, KeySource, load};
use logmask_mask::{Policy, Role};
use logmask_test_support::moto::{put_secret, put_secure_parameter, sdk_config};

const INPUT: &str = "bounce for bob@example.com from 203.0.113.7\n";

fn mask_with_key_file(path: &std::path::Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logmask"))
        .args(["mask", "--role", "readonly", "--token-key-file"])
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the logmask binary runs");
    let mut stdin = child.stdin.take().unwrap();
    // A refused key exits before reading stdin; a broken pipe then is expected.
    let _ = stdin.write_all(INPUT.as_bytes());
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn a_key_file_and_the_lambdas_key_stores_give_the_same_pseudonyms() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rotation = r#"{"current":{"id":"k2","key_b64":"MDEyMzQ1Njc4OWFiY2RlZg=="}}"#;
    for doc in ["0123456789abcdef\n", "0123456789abcdef\r\n", rotation] {
        let path = dir.path().join("token.key");
        std::fs::write(&path, doc).unwrap();
        let out = mask_with_key_file(&path);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cli = String::from_utf8(out.stdout).unwrap();
        assert!(cli.starts_with("bounce for <email:k"), "{cli}");

        let lambda_views = rt.block_on(async {
            let sdk = sdk_config().await;
            let secret = put_secret(&sdk, "logmask-cli-key", doc).await;
            let parameter = put_secure_parameter(&sdk, "logmask-cli-key", doc).await;
            let store = AwsKeyStore::new(&sdk);
            let mut views = Vec::new();
            for source in [KeySource::SecretsManager(secret), KeySource::SsmParameter(parameter)] {
                let masker = load(&store, &source).await.unwrap().builder(Policy::default()).build().unwrap();
                views.push((source.to_string(), masker.mask_str(Role::Readonly, INPUT).0));
            }
            views
        });
        for (source, view) in lambda_views {
            assert_eq!(view, cli, "{source} with {doc:?}");
        }
    }
}

#[test]
fn an_endless_or_oversized_key_file_is_refused_at_once() {
    let start = Instant::now();
    let out = mask_with_key_file(std::path::Path::new("/dev/zero"));
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than 16384 bytes"));
    assert!(out.stdout.is_empty());
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.key");
    std::fs::write(&path, "tiny-secret\n").unwrap();
    let out = mask_with_key_file(&path);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shorter than 16 bytes") && !err.contains("tiny-secret"), "{err}");
}
