//! Configuration from the environment, read once at cold start. The HMAC token key (where it
//! lives, its byte rule, rotation) is `logmask-keys`'s.

use std::path::PathBuf;

use logmask_keys::{KeyError, KeySource, KeyStore};
use logmask_mask::{Policy, Role};

use crate::error::ConfigError;

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
        let token_key = KeySource::from_settings(
            get(logmask_keys::SECRET_ID_VAR).as_deref(),
            get(logmask_keys::SSM_PARAMETER_VAR).as_deref(),
        )
        .map_err(|e| ConfigError::Invalid { name: logmask_keys::SECRET_ID_VAR, message: e.to_string() })?;
        Ok(Config { role, namespace, service, token_key, policy_file: get("MASK_POLICY_FILE").map(PathBuf::from) })
    }

    /// Compiles the masker once: policy file, then the token key from `store` if one is
    /// configured (the one key rule of `logmask-keys`; a key that cannot be loaded is an error).
    pub async fn build_masker(&self, store: &impl KeyStore) -> Result<logmask_mask::Masker, ConfigError> {
        let policy = match &self.policy_file {
            // The policy's terms files are read relative to it.
            Some(path) => Policy::from_file(path).map_err(|e| ConfigError::Policy(e.to_string()))?,
            None => Policy::default(),
        };
        let builder = match &self.token_key {
            Some(source) => logmask_keys::load(store, source).await?.builder(policy),
            None => logmask_mask::Masker::builder(policy),
        };
        builder.build().map_err(|e| ConfigError::Policy(e.to_string()))
    }
}

impl From<KeyError> for ConfigError {
    fn from(e: KeyError) -> ConfigError {
        match e.source_name() {
            Some(source_name) => ConfigError::TokenKey { source_name: source_name.to_owned(), message: e.message() },
            None => ConfigError::Invalid { name: logmask_keys::SECRET_ID_VAR, message: e.to_string() },
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
