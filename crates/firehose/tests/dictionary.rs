//! Dictionary identifiers through the Firehose handler: `MASK_POLICY_FILE` names a policy whose
//! terms file sits next to it; records (plain and JSON, with `\uXXXX` escapes) come out with the
//! terms masked and valid JSON.

use logmask_firehose::{Config, RecordResult, Transformer};
use logmask_keys::{KeyError, KeySource, KeyStore, SecretBytes};
use logmask_mask::Role;

use crate::common::{MemoryStream, block_on, event_of, fast_retry};

/// No token key is configured, so the handler never asks for one.
struct NoKeys;

impl KeyStore for NoKeys {
    async fn fetch(&self, source: &KeySource) -> Result<SecretBytes, KeyError> {
        panic!("no token key is configured, yet {source} was fetched")
    }
}

fn config(dir: &std::path::Path, role: &str) -> Config {
    let policy = dir.join("policy.toml").display().to_string();
    Config::from_lookup(|name| match name {
        "MASK_POLICY_FILE" => Some(policy.clone()),
        "MASK_ROLE" => Some(role.to_owned()),
        _ => None,
    })
    .expect("a valid configuration")
}

#[test]
fn terms_from_the_policy_file_are_masked_in_every_record_shape() {
    let dir = tempfile_dir();
    std::fs::write(
        dir.join("policy.toml"),
        "[[identifiers]]\nname = \"customer\"\nterms_file = \"customers.txt\"\ncase_insensitive = true\n",
    )
    .unwrap();
    std::fs::write(dir.join("customers.txt"), "# one per line\nAcme Corp\n山田商事\n").unwrap();
    let records = vec![
        b"ACME CORP renewed; acme corporation did not\n".to_vec(),
        br#"{"customer":"\u5c71\u7530\u5546\u4e8b","note":"Acme Corp <- bob@example.com"}"#.to_vec(),
        r#"{"customer":"山田商事様"}"#.as_bytes().to_vec(),
    ];
    for (role, expected) in [
        (
            "readonly",
            [
                "<customer> renewed; acme corporation did not\n",
                r#"{"customer":"<customer>","note":"<customer> <- <email>"}"#,
                r#"{"customer":"<customer>様"}"#,
            ],
        ),
        (
            "operator",
            [
                "<customer> renewed; acme corporation did not\n",
                r#"{"customer":"<customer>","note":"<customer> <- b***@example.com"}"#,
                r#"{"customer":"<customer>様"}"#,
            ],
        ),
    ] {
        let config = config(&dir, role);
        let masker = block_on(config.build_masker(&NoKeys)).expect("the policy and its terms file load");
        let transformer = Transformer::new(masker, &config, MemoryStream::default()).with_retry(fast_retry());
        let out = block_on(transformer.process(event_of(records.clone())));
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(out.response.records[i].result, RecordResult::Ok, "{role} record {i}");
            let data = out.response.records[i].decoded_data().unwrap();
            assert_eq!(String::from_utf8(data.clone()).unwrap(), *want, "{role} record {i}");
            if i > 0 {
                serde_json::from_slice::<serde_json::Value>(&data).expect("JSON records stay JSON");
            }
        }
    }
    assert_eq!(config(&dir, "readonly").role, Role::Readonly);
}

#[test]
fn a_bad_terms_file_fails_the_cold_start_with_the_reason() {
    let dir = tempfile_dir();
    std::fs::write(dir.join("policy.toml"), "[[identifiers]]\nname = \"customer\"\nterms_file = \"gone.txt\"\n")
        .unwrap();
    let err = block_on(config(&dir, "readonly").build_masker(&NoKeys)).unwrap_err().to_string();
    assert!(err.contains("customer") && err.contains("gone.txt"), "{err}");
}

/// A fresh directory under the system's temporary directory, removed by the OS's cleaning.
fn tempfile_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("logmask-firehose-dictionary-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
