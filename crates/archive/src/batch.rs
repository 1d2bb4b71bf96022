//! S3 Batch Operations: the `LambdaInvoke` operation's events (`invocationSchemaVersion` "2.0",
//! "1.0" read too) answered by the same per-object code as `logmask backfill`, and the
//! function's configuration (`functions/backfill`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use logmask_keys::{KeySource, KeyStore, TokenKeys};
use logmask_mask::{Masker, Policy, Role};
use serde::{Deserialize, Serialize};

use crate::backfill::{Entry, Options, Outcome, process_entry};
use crate::error::ConfigError;
use crate::fingerprint::Fingerprint;
use crate::s3::{S3Client, S3Dest, S3Source};

/// Every environment variable [`BatchConfig::from_lookup`] reads.
pub const ENV_VARS: &[&str] = &[
    "SOURCE_BUCKET",
    "SOURCE_PREFIX",
    "DEST_BUCKET",
    "DEST_PREFIX",
    "DEST_KMS_KEY_ID",
    "MASK_ROLE",
    "MASK_POLICY_FILE",
    "TOKEN_KEY_SECRET_ID",
    "TOKEN_KEY_SSM_PARAMETER",
];

/// The function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchConfig {
    /// `SOURCE_BUCKET` (required): the raw archive; tasks for other buckets are refused.
    pub source_bucket: String,
    /// `SOURCE_PREFIX`: tasks for keys outside it are refused.
    pub source_prefix: String,
    /// `DEST_BUCKET` (required).
    pub dest_bucket: String,
    /// `DEST_PREFIX`: replaces `SOURCE_PREFIX` in the written key.
    pub dest_prefix: String,
    /// `DEST_KMS_KEY_ID`: SSE-KMS key for written objects.
    pub kms_key_id: Option<String>,
    /// `MASK_ROLE`, default `readonly`.
    pub role: Role,
    /// `MASK_POLICY_FILE`: TOML policy; the engine's default otherwise.
    pub policy_file: Option<PathBuf>,
    /// `TOKEN_KEY_SECRET_ID` or `TOKEN_KEY_SSM_PARAMETER`.
    pub token_key: Option<KeySource>,
}

impl BatchConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<BatchConfig, ConfigError> {
        BatchConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<BatchConfig, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let role = match get("MASK_ROLE") {
            Some(v) => {
                v.parse::<Role>().map_err(|e| ConfigError::Invalid { name: "MASK_ROLE", message: e.to_string() })?
            }
            None => Role::Readonly,
        };
        let token_key =
            KeySource::from_settings(get("TOKEN_KEY_SECRET_ID").as_deref(), get("TOKEN_KEY_SSM_PARAMETER").as_deref())
                .map_err(|e| ConfigError::Invalid { name: "TOKEN_KEY_SECRET_ID", message: e.to_string() })?;
        let config = BatchConfig {
            source_bucket: required("SOURCE_BUCKET")?,
            source_prefix: get("SOURCE_PREFIX").unwrap_or_default(),
            dest_bucket: required("DEST_BUCKET")?,
            dest_prefix: get("DEST_PREFIX").unwrap_or_default(),
            kms_key_id: get("DEST_KMS_KEY_ID"),
            role,
            policy_file: get("MASK_POLICY_FILE").map(PathBuf::from),
            token_key,
        };
        if config.source_bucket == config.dest_bucket
            && (config.source_prefix.starts_with(&config.dest_prefix)
                || config.dest_prefix.starts_with(&config.source_prefix))
        {
            return Err(ConfigError::Invalid {
                name: "DEST_PREFIX",
                message: "source and destination overlap: masked objects would land among raw ones".to_owned(),
            });
        }
        Ok(config)
    }

    /// Cold start: the policy file, then the token key from `store` when one is configured (a
    /// key that cannot be loaded is an error, never a fallback to unkeyed tokens).
    pub async fn build_masker(&self, store: &impl KeyStore) -> Result<(Masker, Fingerprint), ConfigError> {
        let policy = match &self.policy_file {
            // The policy's terms files are read relative to it.
            Some(path) => Policy::from_file(path).map_err(|e| ConfigError::Policy(e.to_string()))?,
            None => Policy::default(),
        };
        let keys = match &self.token_key {
            Some(source) => {
                Some(logmask_keys::load(store, source).await.map_err(|e| ConfigError::TokenKey(e.to_string()))?)
            }
            None => None,
        };
        build_masker(policy, keys.as_ref(), self.role).map_err(|e| ConfigError::Policy(e.to_string()))
    }
}

/// The masker for new output and its fingerprint: `policy` with the current key of `keys` (whose
/// id, when the document names one, replaces `readonly.token_key_id`), or unkeyed tokens.
pub fn build_masker(
    mut policy: Policy,
    keys: Option<&TokenKeys>,
    role: Role,
) -> Result<(Masker, Fingerprint), logmask_mask::BuildError> {
    let Some(keys) = keys else {
        let fingerprint = Fingerprint::new(&policy, role, None);
        return Ok((Masker::builder(policy).build()?, fingerprint));
    };
    if let Some(id) = keys.current().id() {
        policy.readonly.token_key_id = id.to_owned();
    }
    let fingerprint = Fingerprint::new(&policy, role, Some(&policy.readonly.token_key_id));
    Ok((keys.builder(policy).build()?, fingerprint))
}

/// The event S3 Batch Operations sends for each invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEvent {
    /// "2.0" (or "1.0").
    pub invocation_schema_version: String,
    /// Echoed in the response.
    pub invocation_id: String,
    /// The job.
    #[serde(default)]
    pub job: BatchJob,
    /// The objects (one per invocation today).
    pub tasks: Vec<BatchTask>,
}

/// The job an event belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchJob {
    /// Job id.
    #[serde(default)]
    pub id: String,
    /// `UserArguments` of the job (schema 2.0); not used for anything security-relevant.
    #[serde(default)]
    pub user_arguments: HashMap<String, String>,
}

/// One object of the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchTask {
    /// Echoed in the result.
    pub task_id: String,
    /// The key, URL-encoded as in the manifest.
    pub s3_key: String,
    /// Version id, when the manifest has one.
    #[serde(default)]
    pub s3_version_id: Option<String>,
    /// Bucket name (schema 2.0).
    #[serde(default)]
    pub s3_bucket: Option<String>,
    /// Bucket ARN (schema 1.0).
    #[serde(default)]
    pub s3_bucket_arn: Option<String>,
}

/// Per-task result codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultCode {
    /// Done (or already done).
    Succeeded,
    /// S3 Batch Operations retries the task.
    TemporaryFailure,
    /// Not retried; the reason goes to the job's completion report.
    PermanentFailure,
}

/// One task's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    /// The task's id.
    pub task_id: String,
    /// The outcome.
    pub result_code: ResultCode,
    /// One line for the completion report (never object content).
    pub result_string: String,
}

/// The response S3 Batch Operations expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// As in the event.
    pub invocation_schema_version: String,
    /// A task missing from `results` counts as this.
    pub treat_missing_keys_as: ResultCode,
    /// As in the event.
    pub invocation_id: String,
    /// One per task, in order.
    pub results: Vec<TaskResult>,
}

/// Decodes a manifest key: `%XX` escapes and `+` for space (keys in a Batch Operations CSV
/// manifest are URL-encoded). `None` for a broken escape or invalid UTF-8.
pub fn decode_key(key: &str) -> Option<String> {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Encodes a key for a CSV manifest: everything but unreserved characters and `/` as `%XX`.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Answers S3 Batch Operations events: each task's object is masked from the source to the
/// destination with [`process_entry`], exactly as `logmask backfill` does it.
pub struct BatchHandler<C> {
    client: Arc<C>,
    masker: Arc<Masker>,
    config: Arc<BatchConfig>,
    fingerprint: Fingerprint,
}

impl<C: S3Client> BatchHandler<C> {
    /// A handler writing `config.role`'s view with `masker`, recording `fingerprint`.
    pub fn new(client: Arc<C>, masker: Masker, fingerprint: Fingerprint, config: BatchConfig) -> BatchHandler<C> {
        BatchHandler { client, masker: Arc::new(masker), config: Arc::new(config), fingerprint }
    }

    /// Lambda entry point.
    pub async fn handle_event(
        &self,
        event: lambda_runtime::LambdaEvent<BatchEvent>,
    ) -> Result<BatchResponse, lambda_runtime::Error> {
        Ok(self.handle(event.payload).await)
    }

    /// Processes every task; never fails as a whole.
    pub async fn handle(&self, event: BatchEvent) -> BatchResponse {
        let mut results = Vec::with_capacity(event.tasks.len());
        for task in &event.tasks {
            let (result_code, result_string) = self.task(task).await;
            tracing::info!(task = %task.task_id, code = ?result_code, result = %result_string, "task done");
            results.push(TaskResult { task_id: task.task_id.clone(), result_code, result_string });
        }
        BatchResponse {
            invocation_schema_version: event.invocation_schema_version,
            treat_missing_keys_as: ResultCode::PermanentFailure,
            invocation_id: event.invocation_id,
            results,
        }
    }

    async fn task(&self, task: &BatchTask) -> (ResultCode, String) {
        let permanent = |m: String| (ResultCode::PermanentFailure, m);
        let bucket = task
            .s3_bucket
            .clone()
            .or_else(|| task.s3_bucket_arn.as_deref().and_then(|a| a.rsplit(":::").next()).map(str::to_owned));
        let Some(bucket) = bucket else { return permanent("task names no bucket".to_owned()) };
        let Some(key) = decode_key(&task.s3_key) else {
            return permanent("s3Key is not valid URL-encoded UTF-8".to_owned());
        };
        // The function's role can read the raw archive; it must not become a way to copy other
        // objects anywhere.
        if bucket != self.config.source_bucket {
            return permanent(format!("bucket {bucket} is not the configured source bucket"));
        }
        let Some(rel) = key.strip_prefix(&self.config.source_prefix).filter(|r| !r.is_empty()).map(str::to_owned)
        else {
            return permanent(format!("key is outside the configured source prefix {:?}", self.config.source_prefix));
        };
        let head = match self.client.head(&bucket, &key).await {
            Ok(Some(head)) => head,
            Ok(None) => return permanent("no such source object".to_owned()),
            Err(e) if e.retryable => return (ResultCode::TemporaryFailure, e.message),
            Err(e) => return permanent(e.message),
        };
        let handle = tokio::runtime::Handle::current();
        let (client, masker, config) = (self.client.clone(), self.masker.clone(), self.config.clone());
        let options = Options {
            role: config.role,
            fingerprint: self.fingerprint.clone(),
            since: None,
            dry_run: false,
            force: false,
        };
        let joined = tokio::task::spawn_blocking(move || {
            let source = S3Source::new(
                client.clone(),
                config.source_bucket.clone(),
                config.source_prefix.clone(),
                handle.clone(),
            );
            let dest = S3Dest::new(
                client,
                config.dest_bucket.clone(),
                config.dest_prefix.clone(),
                config.kms_key_id.clone(),
                config.role,
                handle,
            );
            let entry = Entry { key: rel, size: 0, modified: None, tag: head.etag };
            process_entry(&source, &dest, &masker, &options, &entry)
        })
        .await;
        match joined {
            Ok(Outcome::Written(s)) => (
                ResultCode::Succeeded,
                format!("masked {} records, {} bytes in, {} bytes out", s.records, s.bytes_in, s.bytes_out),
            ),
            Ok(Outcome::Skipped) => (ResultCode::Succeeded, "already masked with the current fingerprint".to_owned()),
            Ok(Outcome::WouldWrite) => (ResultCode::Succeeded, "dry run".to_owned()),
            Ok(Outcome::Failed { reason, permanent: true }) => (ResultCode::PermanentFailure, reason),
            Ok(Outcome::Failed { reason, permanent: false }) => (ResultCode::TemporaryFailure, reason),
            Err(e) => (ResultCode::TemporaryFailure, format!("worker failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io::{Read as _, Write as _};

    use super::*;
    use crate::fake::FakeS3;
    use crate::s3::{META_FINGERPRINT, META_ROLE};

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| map.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("SOURCE_BUCKET", "raw-logs"),
        ("SOURCE_PREFIX", "raw/"),
        ("DEST_BUCKET", "masked-logs"),
        ("DEST_PREFIX", "masked/"),
    ];

    #[test]
    fn the_lookup_reads_exactly_env_vars() {
        let seen = RefCell::new(Vec::new());
        let map = lookup(BASE);
        BatchConfig::from_lookup(|name| {
            seen.borrow_mut().push(name.to_owned());
            map(name)
        })
        .unwrap();
        let mut seen = seen.into_inner();
        seen.sort();
        seen.dedup();
        let mut expected: Vec<String> = ENV_VARS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn configuration_is_checked_at_start() {
        let c = BatchConfig::from_lookup(lookup(BASE)).unwrap();
        assert_eq!((c.role, c.kms_key_id.as_deref(), c.token_key.as_ref()), (Role::Readonly, None, None));
        assert!(matches!(
            BatchConfig::from_lookup(lookup(&[("DEST_BUCKET", "b")])),
            Err(ConfigError::Missing("SOURCE_BUCKET"))
        ));
        let overlap = [
            ("SOURCE_BUCKET", "one"),
            ("DEST_BUCKET", "one"),
            ("SOURCE_PREFIX", "raw/"),
            ("DEST_PREFIX", "raw/masked/"),
        ];
        assert!(BatchConfig::from_lookup(lookup(&overlap)).is_err());
        let mut both = BASE.to_vec();
        both.extend([("TOKEN_KEY_SECRET_ID", "a"), ("TOKEN_KEY_SSM_PARAMETER", "b")]);
        assert!(BatchConfig::from_lookup(lookup(&both)).is_err());
        let mut bad_role = BASE.to_vec();
        bad_role.push(("MASK_ROLE", "root"));
        let err = BatchConfig::from_lookup(lookup(&bad_role)).unwrap_err().to_string();
        assert!(err.starts_with("MASK_ROLE:"), "{err}");
    }

    #[test]
    fn documented_event_shapes_parse_and_the_response_has_the_documented_fields() {
        let v2 = r#"{"invocationSchemaVersion":"2.0","invocationId":"YXNk","job":{"id":"f3cc","userArguments":{"k1":"v1"}},
            "tasks":[{"taskId":"dGFz","s3Key":"raw/a%20b+c.gz","s3VersionId":null,"s3Bucket":"raw-logs"}]}"#;
        let event: BatchEvent = serde_json::from_str(v2).unwrap();
        assert_eq!(event.tasks[0].s3_bucket.as_deref(), Some("raw-logs"));
        assert_eq!(event.job.user_arguments["k1"], "v1");
        assert_eq!(decode_key(&event.tasks[0].s3_key).as_deref(), Some("raw/a b c.gz"));
        let v1 = r#"{"invocationSchemaVersion":"1.0","invocationId":"YXNk","job":{"id":"f3cc"},
            "tasks":[{"taskId":"dGFz","s3Key":"k","s3VersionId":"1","s3BucketArn":"arn:aws:s3:::raw-logs"}]}"#;
        let event: BatchEvent = serde_json::from_str(v1).unwrap();
        assert_eq!(event.tasks[0].s3_bucket_arn.as_deref(), Some("arn:aws:s3:::raw-logs"));
        let response = BatchResponse {
            invocation_schema_version: "2.0".into(),
            treat_missing_keys_as: ResultCode::PermanentFailure,
            invocation_id: "YXNk".into(),
            results: vec![TaskResult {
                task_id: "dGFz".into(),
                result_code: ResultCode::TemporaryFailure,
                result_string: "x".into(),
            }],
        };
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"invocationSchemaVersion":"2.0","treatMissingKeysAs":"PermanentFailure","invocationId":"YXNk",
                "results":[{"taskId":"dGFz","resultCode":"TemporaryFailure","resultString":"x"}]})
        );
    }

    #[test]
    fn keys_round_trip_through_the_manifest_encoding() {
        for key in ["raw/2024/05/01/a.gz", "raw/with space+plus%/日本.log", "a,b\"c"] {
            let encoded = encode_key(key);
            assert!(!encoded.contains(',') && !encoded.contains(' ') && !encoded.contains('+'), "{encoded}");
            assert_eq!(decode_key(&encoded).as_deref(), Some(key));
        }
        assert_eq!(decode_key("bad%2"), None);
        assert_eq!(decode_key("bad%zz"), None);
        assert_eq!(decode_key("%ff"), None);
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn event(tasks: &[(&str, &str)]) -> BatchEvent {
        BatchEvent {
            invocation_schema_version: "2.0".into(),
            invocation_id: "inv-1".into(),
            job: BatchJob::default(),
            tasks: tasks
                .iter()
                .enumerate()
                .map(|(i, (bucket, key))| BatchTask {
                    task_id: format!("t{i}"),
                    s3_key: encode_key(key),
                    s3_bucket: Some(bucket.to_string()),
                    ..BatchTask::default()
                })
                .collect(),
        }
    }

    const KEY_BYTES: &[u8] = b"batch-test-token-key-0123456789";

    fn handler(fake: Arc<FakeS3>) -> BatchHandler<FakeS3> {
        let mut pairs = BASE.to_vec();
        pairs.push(("DEST_KMS_KEY_ID", "alias/logs"));
        let config = BatchConfig::from_lookup(lookup(&pairs)).unwrap();
        let keys = TokenKeys::parse(KEY_BYTES, "test").unwrap();
        let (masker, fingerprint) = build_masker(Policy::default(), Some(&keys), Role::Readonly).unwrap();
        BatchHandler::new(fake, masker, fingerprint, config)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_get_the_documented_result_codes() {
        let fake = Arc::new(FakeS3::default());
        fake.insert(
            "raw-logs",
            "raw/2024/05/01/a b.gz",
            gzip(b"{\"eventType\":\"Send\",\"mail\":{\"source\":\"x@example.com\"}}\n"),
        );
        let mut corrupt = gzip(&b"line y@example.com\n".repeat(1000));
        let n = corrupt.len();
        corrupt.truncate(n / 2);
        fake.insert("raw-logs", "raw/corrupt.gz", corrupt);
        fake.insert("raw-logs", "raw/flaky.log", b"z@example.com\n".to_vec());
        fake.flaky.lock().unwrap().push("raw/flaky.log".into());
        fake.insert("other-bucket", "raw/a.log", b"secret@example.com\n".to_vec());
        fake.insert("raw-logs", "elsewhere/a.log", b"secret@example.com\n".to_vec());
        let handler = handler(fake.clone());

        let tasks = [
            ("raw-logs", "raw/2024/05/01/a b.gz"),
            ("raw-logs", "raw/corrupt.gz"),
            ("raw-logs", "raw/flaky.log"),
            ("other-bucket", "raw/a.log"),
            ("raw-logs", "elsewhere/a.log"),
            ("raw-logs", "raw/missing.log"),
        ];
        let lambda_event = lambda_runtime::LambdaEvent::new(event(&tasks), lambda_runtime::Context::default());
        let response = handler.handle_event(lambda_event).await.unwrap();
        assert_eq!((response.invocation_id.as_str(), response.invocation_schema_version.as_str()), ("inv-1", "2.0"));
        let codes: Vec<ResultCode> = response.results.iter().map(|r| r.result_code).collect();
        use ResultCode::*;
        assert_eq!(
            codes,
            [Succeeded, PermanentFailure, TemporaryFailure, PermanentFailure, PermanentFailure, PermanentFailure]
        );
        assert_eq!(
            response.results.iter().map(|r| r.task_id.as_str()).collect::<Vec<_>>(),
            ["t0", "t1", "t2", "t3", "t4", "t5"]
        );
        assert!(response.results[1].result_string.contains("corrupt gzip"), "{:?}", response.results[1]);

        let written =
            fake.get_stored("masked-logs", "masked/2024/05/01/a b.gz").expect("written under the destination prefix");
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&written.body[..]).read_to_string(&mut text).unwrap();
        assert!(text.contains("\"source\":\"<email:k1:") && !text.contains("example.com"), "{text}");
        assert_eq!(written.spec.kms_key_id.as_deref(), Some("alias/logs"));
        assert_eq!(written.spec.metadata[META_ROLE], "readonly");
        assert_eq!(written.spec.metadata[META_FINGERPRINT], handler.fingerprint.as_str());
        assert_eq!(fake.objects.lock().unwrap().keys().filter(|(b, _)| b == "masked-logs").count(), 1);

        // Retried or repeated: nothing is written again.
        let puts = *fake.puts.lock().unwrap();
        let again = handler.handle(event(&tasks[..1])).await;
        assert_eq!(again.results[0].result_code, Succeeded);
        assert!(again.results[0].result_string.contains("already masked"));
        assert_eq!(*fake.puts.lock().unwrap(), puts);

        // The token key appears nowhere in what goes back to S3 Batch Operations.
        let all = serde_json::to_string(&response).unwrap() + &serde_json::to_string(&again).unwrap();
        assert!(!all.contains(std::str::from_utf8(KEY_BYTES).unwrap()) && !all.contains("secret@"));
    }
}
