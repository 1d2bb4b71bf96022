//! Configuration from the environment, and the HMAC token key from Secrets Manager or SSM,
//! read once at cold start.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;

use logmask_mask::{Masker, Policy, Role};

use crate::error::ConfigError;

/// Shortest token key accepted: shorter HMAC keys make pseudonyms guessable by brute force.
pub const MIN_TOKEN_KEY_BYTES: usize = 16;

/// Where the token key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A Secrets Manager secret id or ARN (`SecretString` bytes, or `SecretBinary`).
    SecretsManager(String),
    /// An SSM `SecureString` parameter name, read with decryption.
    SsmParameter(String),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::SecretsManager(id) => write!(f, "secretsmanager:{id}"),
            KeySource::SsmParameter(name) => write!(f, "ssm:{name}"),
        }
    }
}

/// Key bytes. `Debug` never shows them and they are wiped on drop.
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(bytes)
    }
    /// The key itself.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Fetches a token key. Implemented over AWS by [`AwsKeyStore`]; tests use moto or a fake.
pub trait KeyStore: Send + Sync {
    /// The key stored at `source`.
    fn fetch(&self, source: &KeySource) -> impl Future<Output = Result<SecretBytes, ConfigError>> + Send;
}

/// The function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// View written to the destination: `MASK_ROLE`, default `readonly`.
    pub role: Role,
    /// EMF namespace: `METRICS_NAMESPACE`, else `${PROJECT_CODE}/${ENVIRONMENT}/SES`
    /// (defaults `ses-migration`, `production`).
    pub namespace: String,
    /// Value of the `Service` dimension of the pipeline metrics: `METRICS_SERVICE`, else the
    /// Lambda function name, else `firehose-transform`.
    pub service: String,
    /// `TOKEN_KEY_SECRET_ID` or `TOKEN_KEY_SSM_PARAMETER` (setting both is an error).
    pub token_key: Option<KeySource>,
    /// `MASK_POLICY_FILE`: a TOML masking policy; the engine's default policy otherwise.
    pub policy_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            role: Role::Readonly,
            namespace: "ses-migration/production/SES".to_owned(),
            service: "firehose-transform".to_owned(),
            token_key: None,
            policy_file: None,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let role = match get("MASK_ROLE") {
            Some(value) => {
                value.parse::<Role>().map_err(|e| ConfigError::Invalid { name: "MASK_ROLE", message: e.to_string() })?
            }
            None => Role::Readonly,
        };
        let namespace = get("METRICS_NAMESPACE").unwrap_or_else(|| {
            let project = get("PROJECT_CODE").unwrap_or_else(|| "ses-migration".to_owned());
            let environment = get("ENVIRONMENT").unwrap_or_else(|| "production".to_owned());
            format!("{project}/{environment}/SES")
        });
        if namespace.len() > 255 || namespace.starts_with("AWS/") {
            return Err(ConfigError::Invalid {
                name: "METRICS_NAMESPACE",
                message: "must be at most 255 characters and not start with AWS/".to_owned(),
            });
        }
        let service = get("METRICS_SERVICE")
            .or_else(|| get("AWS_LAMBDA_FUNCTION_NAME"))
            .unwrap_or_else(|| "firehose-transform".to_owned());
        let token_key = match (get("TOKEN_KEY_SECRET_ID"), get("TOKEN_KEY_SSM_PARAMETER")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: "TOKEN_KEY_SECRET_ID",
                    message: "set TOKEN_KEY_SECRET_ID or TOKEN_KEY_SSM_PARAMETER, not both".to_owned(),
                });
            }
            (Some(id), None) => Some(KeySource::SecretsManager(id)),
            (None, Some(name)) => Some(KeySource::SsmParameter(name)),
            (None, None) => None,
        };
        Ok(Config { role, namespace, service, token_key, policy_file: get("MASK_POLICY_FILE").map(PathBuf::from) })
    }

    /// Compiles the masker once: policy file, then the token key from `store` if one is configured.
    pub async fn build_masker(&self, store: &impl KeyStore) -> Result<Masker, ConfigError> {
        let policy = match &self.policy_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Policy(format!("{}: {e}", path.display())))?;
                Policy::from_toml(&text).map_err(|e| ConfigError::Policy(e.to_string()))?
            }
            None => Policy::default(),
        };
        let mut builder = Masker::builder(policy);
        if let Some(source) = &self.token_key {
            let key = store.fetch(source).await?;
            if key.expose().len() < MIN_TOKEN_KEY_BYTES {
                return Err(ConfigError::TokenKey {
                    source_name: source.to_string(),
                    message: format!("key is shorter than {MIN_TOKEN_KEY_BYTES} bytes"),
                });
            }
            builder = builder.token_key(key.expose().to_vec());
        }
        builder.build().map_err(|e| ConfigError::Policy(e.to_string()))
    }
}

/// Token keys from AWS Secrets Manager and SSM Parameter Store.
#[derive(Debug, Clone)]
pub struct AwsKeyStore {
    secrets: aws_sdk_secretsmanager::Client,
    ssm: aws_sdk_ssm::Client,
}

impl AwsKeyStore {
    /// Clients built from one SDK configuration.
    pub fn new(sdk: &aws_config::SdkConfig) -> AwsKeyStore {
        AwsKeyStore { secrets: aws_sdk_secretsmanager::Client::new(sdk), ssm: aws_sdk_ssm::Client::new(sdk) }
    }
}

impl KeyStore for AwsKeyStore {
    async fn fetch(&self, source: &KeySource) -> Result<SecretBytes, ConfigError> {
        let fail = |message: String| ConfigError::TokenKey { source_name: source.to_string(), message };
        match source {
            KeySource::SecretsManager(id) => {
                let out = self
                    .secrets
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| fail(aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string()))?;
                if let Some(text) = out.secret_string() {
                    Ok(SecretBytes::new(text.as_bytes().to_vec()))
                } else if let Some(blob) = out.secret_binary() {
                    Ok(SecretBytes::new(blob.as_ref().to_vec()))
                } else {
                    Err(fail("secret has no value".to_owned()))
                }
            }
            KeySource::SsmParameter(name) => {
                let out = self
                    .ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| fail(aws_sdk_ssm::error::DisplayErrorContext(&e).to_string()))?;
                let value =
                    out.parameter().and_then(|p| p.value()).ok_or_else(|| fail("parameter has no value".to_owned()))?;
                Ok(SecretBytes::new(value.as_bytes().to_vec()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_runbook() {
        let c = config(&[]).unwrap();
        assert_eq!(c.role, Role::Readonly);
        assert_eq!(c.namespace, "ses-migration/production/SES");
        assert_eq!(c.token_key, None);
        let c = config(&[("PROJECT_CODE", "p"), ("ENVIRONMENT", "staging"), ("MASK_ROLE", "operator")]).unwrap();
        assert_eq!((c.role, c.namespace.as_str()), (Role::Operator, "p/staging/SES"));
    }

    #[test]
    fn bad_settings_are_rejected_with_the_variable_name() {
        let err = config(&[("MASK_ROLE", "root")]).unwrap_err().to_string();
        assert!(err.starts_with("MASK_ROLE:") && err.contains("readonly"), "{err}");
        assert!(config(&[("TOKEN_KEY_SECRET_ID", "a"), ("TOKEN_KEY_SSM_PARAMETER", "b")]).is_err());
        assert!(config(&[("METRICS_NAMESPACE", "AWS/SES")]).is_err());
    }

    #[test]
    fn secret_bytes_debug_is_redacted() {
        let key = SecretBytes::new(b"super-secret-key-material".to_vec());
        assert!(!format!("{key:?}").contains("super"));
    }
}

/// Every environment variable [`Config::from_lookup`] reads, except the Lambda-provided
/// `AWS_LAMBDA_FUNCTION_NAME`. The infrastructure templates set exactly these (checked by the
/// infra tests in `tests/tests/infra.rs`).
pub const ENV_VARS: &[&str] = &[
    "MASK_ROLE",
    "MASK_POLICY_FILE",
    "TOKEN_KEY_SECRET_ID",
    "TOKEN_KEY_SSM_PARAMETER",
    "PROJECT_CODE",
    "ENVIRONMENT",
    "METRICS_NAMESPACE",
    "METRICS_SERVICE",
];

#[cfg(test)]
mod env_vars_tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    #[test]
    fn env_vars_lists_exactly_what_the_lookup_reads() {
        // Nothing set: every fallback is consulted, so every name the lookup can read shows up.
        let read = RefCell::new(BTreeSet::new());
        Config::from_lookup(|name| {
            read.borrow_mut().insert(name.to_owned());
            None
        })
        .unwrap();
        let read: BTreeSet<String> = read.into_inner().into_iter().filter(|n| !n.starts_with("AWS_")).collect();
        let listed: BTreeSet<String> = ENV_VARS.iter().map(|n| n.to_string()).collect();
        assert_eq!(read, listed);
    }
}
