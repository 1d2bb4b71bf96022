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
            Some(v) => v.parse::<Role>().map_err(|e| ConfigError::Invalid { name: "MASK_ROLE", message: e.to_string() })?,
            None => Role::Readonly,
        };
        let token_key = KeySource::from_settings(get("TOKEN_KEY_SECRET_ID").as_deref(), get("TOKEN_KEY_SSM_PARAMETER").as_deref())
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
            && (config.source_prefix.starts_with(&config.dest_prefix) || config.dest_prefix.starts_with(&config.source_prefix))
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
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Policy(format!("{}: {e}", path.display())))?;
                Policy::from_toml(&text).map_err(|e| ConfigError::Policy(e.to_string()))?
            }
            None => Policy::default(),
        };
        let keys = match &self.token_key {
            Some(source) => Some(logmask_keys::load(store, source).await.map_err(|e| ConfigError::TokenKey(e.to_string()))?),
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
        let Some(key) = decode_key(&task.s3_key) else { return permanent("s3Key is not valid URL-encoded UTF-8".to_owned()) };
        // The function's role can read the raw archive; it must not become a way to copy other
        // objects anywhere.
        if bucket != self.config.source_bucket {
            return permanent(format!("bucket {bucket} is not the configured source bucket"));
        }
        let Some(rel) = key.strip_prefix(&self.config.source_prefix).filter(|r| !r.is_empty()).map(str::to_owned) else {
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
            let source = S3Source::new(client.clone(), config.source_bucket.clone(), config.source_prefix.clone(), handle.clone());
            let dest =
                S3Dest::new(client, config.dest_bucket.clone(), config.dest_prefix.clone(), config.kms_key_id.clone(), config.role, handle);
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
