//! The data-masking function's settings, read once at cold start.

use std::path::PathBuf;
use std::time::Duration;

use logmask_access::AccessPolicy;
use logmask_keys::{KeySource, KeyStore};
use logmask_mask::{Masker, Policy, Role};

use crate::error::ConfigError;

/// Every environment variable [`Config::from_lookup`] reads (Lambda's own `AWS_*` aside).
pub const ENV_VARS: &[&str] = &[
    "PROJECT_CODE",
    "ENVIRONMENT",
    "GROUP_ROLE_MAP",
    "ENABLE_IP_RESTRICTION",
    "ADMIN_IP_RANGES",
    "OPERATOR_IP_RANGES",
    "DIRECT_INVOKE_MAX_ROLE",
    "RAW_BUCKET",
    "RAW_PREFIX",
    "MAX_OBJECT_BYTES",
    "GROUP_CACHE_TTL_SECONDS",
    "MASK_POLICY_FILE",
    "TOKEN_KEY_SECRET_ID",
    "TOKEN_KEY_SSM_PARAMETER",
];

/// Default for `MAX_OBJECT_BYTES`: a raw object larger than this (as stored) is refused.
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 64 * 1024 * 1024;
/// Default for `GROUP_CACHE_TTL_SECONDS`: how long a warm container trusts a user's groups.
pub const DEFAULT_GROUP_CACHE_TTL: Duration = Duration::from_secs(60);

/// The function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Groups, networks, IP restriction (`PROJECT_CODE`, `ENVIRONMENT`, `GROUP_ROLE_MAP`,
    /// `ENABLE_IP_RESTRICTION`, `ADMIN_IP_RANGES`, `OPERATOR_IP_RANGES`).
    pub access: AccessPolicy,
    /// `DIRECT_INVOKE_MAX_ROLE` (default readonly): the most a direct invoke's claimed groups
    /// can reveal, since nothing proves them.
    pub direct_invoke_max_role: Role,
    /// `RAW_BUCKET`: the only bucket `{"s3":…}` requests may read; unset disables them.
    pub raw_bucket: Option<String>,
    /// `RAW_PREFIX`: keys must start with it (default: empty, the whole bucket).
    pub raw_prefix: String,
    /// `MAX_OBJECT_BYTES`: larger objects are refused.
    pub max_object_bytes: u64,
    /// `GROUP_CACHE_TTL_SECONDS` (0 disables the cache).
    pub group_cache_ttl: Duration,
    /// `MASK_POLICY_FILE`: TOML masking policy; the engine's default otherwise.
    pub policy_file: Option<PathBuf>,
    /// `TOKEN_KEY_SECRET_ID` or `TOKEN_KEY_SSM_PARAMETER`.
    pub token_key: Option<KeySource>,
}

impl Default for Config {
    fn default() -> Config {
        Config::from_lookup(|_| None).expect("the defaults are valid")
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`. Empty values count as unset; bad values are errors.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let access = AccessPolicy::from_lookup(&lookup)?;
        let direct_invoke_max_role = match get("DIRECT_INVOKE_MAX_ROLE") {
            None => Role::Readonly,
            Some(v) => logmask_access::parse_role(&v).ok_or_else(|| ConfigError::Invalid {
                name: "DIRECT_INVOKE_MAX_ROLE",
                message: "must be admin, operator or readonly".to_owned(),
            })?,
        };
        let number = |name: &'static str| -> Result<Option<u64>, ConfigError> {
            get(name)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| ConfigError::Invalid {
                        name,
                        message: "must be a non-negative integer".to_owned(),
                    })
                })
                .transpose()
        };
        let max_object_bytes = number("MAX_OBJECT_BYTES")?.unwrap_or(DEFAULT_MAX_OBJECT_BYTES);
        if max_object_bytes == 0 {
            return Err(ConfigError::Invalid { name: "MAX_OBJECT_BYTES", message: "must be at least 1".to_owned() });
        }
        let group_cache_ttl = number("GROUP_CACHE_TTL_SECONDS")?.map_or(DEFAULT_GROUP_CACHE_TTL, Duration::from_secs);
        let token_key = KeySource::from_settings(
            get(logmask_keys::SECRET_ID_VAR).as_deref(),
            get(logmask_keys::SSM_PARAMETER_VAR).as_deref(),
        )?;
        Ok(Config {
            access,
            direct_invoke_max_role,
            raw_bucket: get("RAW_BUCKET"),
            raw_prefix: get("RAW_PREFIX").unwrap_or_default(),
            max_object_bytes,
            group_cache_ttl,
            policy_file: get("MASK_POLICY_FILE").map(PathBuf::from),
            token_key,
        })
    }

    /// The policy file's policy, or the default.
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        match &self.policy_file {
            // The policy's terms files are read relative to it.
            Some(path) => Policy::from_file(path).map_err(|e| ConfigError::Policy(e.to_string())),
            None => Ok(Policy::default()),
        }
    }

    /// One masker per accepted token key id (current first), or one unkeyed masker. A key that
    /// is configured but cannot be loaded is an error: no fallback to unkeyed tokens.
    pub async fn build_maskers(&self, store: &impl KeyStore) -> Result<Vec<(String, Masker)>, ConfigError> {
        let policy = self.policy()?;
        match &self.token_key {
            Some(source) => {
                let keys = logmask_keys::load(store, source).await?;
                keys.maskers(&policy).map_err(|e| ConfigError::Policy(e.to_string()))
            }
            None => {
                let id = policy.readonly.token_key_id.clone();
                let masker = Masker::builder(policy).build().map_err(|e| ConfigError::Policy(e.to_string()))?;
                Ok(vec![(id, masker)])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn the_lookup_reads_exactly_env_vars() {
        let read = RefCell::new(Vec::new());
        Config::from_lookup(|name| {
            read.borrow_mut().push(name.to_owned());
            None
        })
        .unwrap();
        let mut read = read.into_inner();
        read.sort();
        read.dedup();
        let mut want: Vec<String> = ENV_VARS.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(read, want);
    }

    #[test]
    fn defaults_are_closed() {
        let c = config(&[]).unwrap();
        assert_eq!(c.direct_invoke_max_role, Role::Readonly);
        assert!(c.access.ip_restriction);
        assert_eq!(c.raw_bucket, None);
        assert_eq!(c.max_object_bytes, DEFAULT_MAX_OBJECT_BYTES);
        assert_eq!(c.group_cache_ttl, DEFAULT_GROUP_CACHE_TTL);
        let c = config(&[
            ("DIRECT_INVOKE_MAX_ROLE", "operator"),
            ("RAW_BUCKET", "raw-logs"),
            ("RAW_PREFIX", "firehose/"),
            ("MAX_OBJECT_BYTES", "1000"),
            ("GROUP_CACHE_TTL_SECONDS", "0"),
            ("TOKEN_KEY_SSM_PARAMETER", "/logmask/key"),
        ])
        .unwrap();
        assert_eq!(c.direct_invoke_max_role, Role::Operator);
        assert_eq!(
            (c.raw_bucket.as_deref(), c.raw_prefix.as_str(), c.max_object_bytes),
            (Some("raw-logs"), "firehose/", 1000)
        );
        assert_eq!(c.group_cache_ttl, Duration::ZERO);
        assert_eq!(c.token_key, Some(KeySource::SsmParameter("/logmask/key".into())));
    }

    #[test]
    fn bad_values_are_startup_errors_naming_the_variable() {
        for (name, value) in [
            ("DIRECT_INVOKE_MAX_ROLE", "root"),
            ("MAX_OBJECT_BYTES", "-1"),
            ("MAX_OBJECT_BYTES", "0"),
            ("GROUP_CACHE_TTL_SECONDS", "1m"),
            ("ADMIN_IP_RANGES", "10.0.0.1/8"),
            ("OPERATOR_IP_RANGES", "nope"),
            ("ENABLE_IP_RESTRICTION", "on"),
            ("GROUP_ROLE_MAP", "x"),
        ] {
            let err = config(&[(name, value)]).unwrap_err().to_string();
            assert!(err.starts_with(name), "{name}={value}: {err}");
        }
        let err = config(&[("TOKEN_KEY_SECRET_ID", "a"), ("TOKEN_KEY_SSM_PARAMETER", "b")]).unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }
}
