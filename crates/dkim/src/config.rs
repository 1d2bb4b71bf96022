//! Manager configuration from the Lambda environment. Names follow the seed's parameters
//! (`DKIMSeparator`, `CertificateValidityDays`, …) in the usual environment-variable spelling.

use std::net::SocketAddr;

use crate::error::Error;

/// `BYODKIMRotationMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationMode {
    /// Rotation steps run only when an operator invokes them (the seed's production setting).
    Manual,
    /// Scheduled invocations may generate keys (and apply them if auto-apply is on).
    Automatic,
}

#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// `ENVIRONMENT` (seed: `Environment`, e.g. `prod`).
    pub environment: String,
    /// `DKIM_SEPARATOR` (seed: `DKIMSeparator`, e.g. `gooid-21-pro`).
    pub dkim_separator: String,
    /// `CERTIFICATE_VALIDITY_DAYS` (seed production value 456).
    pub validity_days: u32,
    /// `RENEWAL_ALERT_DAYS` (seed production value 16).
    pub renewal_alert_days: u32,
    /// `BYODKIM_AUTO_APPLY_TO_SES` (seed: `false`).
    pub auto_apply_to_ses: bool,
    /// `BYODKIM_ROTATION_MODE` (seed: `MANUAL`).
    pub rotation_mode: RotationMode,
    /// Days to keep an old selector's TXT after its successor reached SUCCESS.
    pub retire_after_days: u32,
    /// `DKIM_DNS_NAMESERVERS`: comma-separated `IP:PORT`; empty means the system resolver.
    pub name_servers: Vec<SocketAddr>,
    /// Region of the console links and commands in notifications (Lambda's `AWS_REGION`).
    pub region: String,
    /// This function's name, for the commands in notifications (`AWS_LAMBDA_FUNCTION_NAME`).
    pub function_name: String,
    /// `DKIM_CERTIFICATES_BUCKET`, for the S3 console link in notifications.
    pub certificates_bucket: Option<String>,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            environment: "prod".into(),
            dkim_separator: "default".into(),
            validity_days: 456,
            renewal_alert_days: 16,
            auto_apply_to_ses: false,
            rotation_mode: RotationMode::Manual,
            retire_after_days: 7,
            name_servers: Vec::new(),
            region: "ap-northeast-1".into(),
            function_name: "dkim-manager".into(),
            certificates_bucket: None,
        }
    }
}

/// Where the Lambda keeps its keys and sends notifications.
#[derive(Debug, Clone)]
pub struct AwsResources {
    /// `DKIM_CERTIFICATES_BUCKET`.
    pub bucket: String,
    /// `DKIM_KMS_KEY_ID` (SSE-KMS key for every object).
    pub kms_key_id: String,
    /// `NOTIFICATION_TOPIC_ARN`: the operations topic, which gets every notification.
    pub topic_arn: String,
    /// `DNS_TEAM_TOPIC_ARN` (optional): DNS record requests also go here.
    pub dns_team_topic_arn: Option<String>,
}

impl ManagerConfig {
    /// Reads the configuration through `var` (e.g. `|k| std::env::var(k).ok()`), so it can be
    /// tested without touching the process environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let d = Self::default();
        let parse_u32 = |name: &'static str, default: u32| -> Result<u32, Error> {
            match var(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| Error::InvalidConfig { name, reason: format!("{v:?} is not a whole number of days") }),
            }
        };
        let auto_apply_to_ses = match var("BYODKIM_AUTO_APPLY_TO_SES").as_deref().map(str::trim) {
            None => d.auto_apply_to_ses,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(Error::InvalidConfig {
                    name: "BYODKIM_AUTO_APPLY_TO_SES",
                    reason: format!("{v:?} is not true or false"),
                });
            }
        };
        let rotation_mode = match var("BYODKIM_ROTATION_MODE").as_deref().map(str::trim) {
            None => d.rotation_mode,
            Some(v) if v.eq_ignore_ascii_case("MANUAL") => RotationMode::Manual,
            Some(v) if v.eq_ignore_ascii_case("AUTOMATIC") || v.eq_ignore_ascii_case("AUTO") => RotationMode::Automatic,
            Some(v) => {
                return Err(Error::InvalidConfig {
                    name: "BYODKIM_ROTATION_MODE",
                    reason: format!("{v:?} is not MANUAL or AUTOMATIC"),
                });
            }
        };
        let name_servers = match var("DKIM_DNS_NAMESERVERS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<SocketAddr>()
                        .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                        .map_err(|_| Error::InvalidConfig {
                            name: "DKIM_DNS_NAMESERVERS",
                            reason: format!("{s:?} is not IP or IP:PORT"),
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let config = Self {
            environment: var("ENVIRONMENT").unwrap_or(d.environment),
            dkim_separator: var("DKIM_SEPARATOR").unwrap_or(d.dkim_separator),
            validity_days: parse_u32("CERTIFICATE_VALIDITY_DAYS", d.validity_days)?,
            renewal_alert_days: parse_u32("RENEWAL_ALERT_DAYS", d.renewal_alert_days)?,
            auto_apply_to_ses,
            rotation_mode,
            retire_after_days: parse_u32("RETIRE_AFTER_DAYS", d.retire_after_days)?,
            name_servers,
            region: var("AWS_REGION").filter(|v| !v.is_empty()).unwrap_or(d.region),
            function_name: var("AWS_LAMBDA_FUNCTION_NAME").filter(|v| !v.is_empty()).unwrap_or(d.function_name),
            certificates_bucket: var("DKIM_CERTIFICATES_BUCKET").filter(|v| !v.trim().is_empty()),
        };
        if config.renewal_alert_days >= config.validity_days {
            return Err(Error::InvalidConfig {
                name: "RENEWAL_ALERT_DAYS",
                reason: "must be smaller than CERTIFICATE_VALIDITY_DAYS".into(),
            });
        }
        // Validates the separator with the selector rules (a generated selector must be one label).
        crate::selector::generate_selector(&config.dkim_separator, jiff::Timestamp::UNIX_EPOCH, &[])?;
        Ok(config)
    }
}

impl AwsResources {
    /// The notification topics (operations, and the DNS team's if configured).
    pub fn topics(&self) -> logmask_notify::Topics {
        logmask_notify::Topics { operations: self.topic_arn.clone(), dns_team: self.dns_team_topic_arn.clone() }
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let required = |name: &'static str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(Error::InvalidConfig { name, reason: "is required".into() })
        };
        Ok(Self {
            bucket: required("DKIM_CERTIFICATES_BUCKET")?,
            kms_key_id: required("DKIM_KMS_KEY_ID")?,
            topic_arn: required("NOTIFICATION_TOPIC_ARN")?,
            dns_team_topic_arn: var("DNS_TEAM_TOPIC_ARN").filter(|v| !v.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_seeds_safe_production_values() {
        let c = ManagerConfig::from_vars(vars(&[])).unwrap();
        assert_eq!(c.validity_days, 456);
        assert_eq!(c.renewal_alert_days, 16);
        assert!(!c.auto_apply_to_ses);
        assert_eq!(c.rotation_mode, RotationMode::Manual);
        assert!(c.name_servers.is_empty());
    }

    #[test]
    fn parses_and_rejects_values() {
        let c = ManagerConfig::from_vars(vars(&[
            ("DKIM_SEPARATOR", "gooid-21-pro"),
            ("BYODKIM_AUTO_APPLY_TO_SES", "TRUE"),
            ("BYODKIM_ROTATION_MODE", "automatic"),
            ("DKIM_DNS_NAMESERVERS", "192.0.2.1, 127.0.0.1:5353"),
        ]))
        .unwrap();
        assert!(c.auto_apply_to_ses);
        assert_eq!(c.rotation_mode, RotationMode::Automatic);
        assert_eq!(c.name_servers[0].to_string(), "192.0.2.1:53");
        assert_eq!(c.name_servers[1].to_string(), "127.0.0.1:5353");
        for bad in [
            ("BYODKIM_AUTO_APPLY_TO_SES", "yes"),
            ("BYODKIM_ROTATION_MODE", "sometimes"),
            ("CERTIFICATE_VALIDITY_DAYS", "-1"),
            ("RENEWAL_ALERT_DAYS", "500"),
            ("DKIM_SEPARATOR", "bad_sep"),
            ("DKIM_DNS_NAMESERVERS", "ns1.example"),
        ] {
            assert!(ManagerConfig::from_vars(vars(&[bad])).is_err(), "{bad:?}");
        }
        assert!(AwsResources::from_vars(vars(&[("DKIM_CERTIFICATES_BUCKET", "b")])).is_err());
    }

    #[test]
    fn dns_team_topic_is_optional() {
        let base = [("DKIM_CERTIFICATES_BUCKET", "b"), ("DKIM_KMS_KEY_ID", "k"), ("NOTIFICATION_TOPIC_ARN", "ops")];
        let aws = AwsResources::from_vars(vars(&base)).unwrap();
        assert_eq!(aws.topics(), logmask_notify::Topics { operations: "ops".into(), dns_team: None });
        let mut with_dns = base.to_vec();
        with_dns.push(("DNS_TEAM_TOPIC_ARN", "dns"));
        let aws = AwsResources::from_vars(vars(&with_dns)).unwrap();
        assert_eq!(aws.topics().dns_team.as_deref(), Some("dns"));
    }
}

/// Every environment variable [`ManagerConfig::from_vars`] and [`AwsResources::from_vars`] read,
/// except Lambda-provided `AWS_*` ones. The infrastructure templates set exactly these (checked by the infra tests in
/// `tests/tests/infra.rs`).
pub const ENV_VARS: &[&str] = &[
    "ENVIRONMENT",
    "DKIM_SEPARATOR",
    "CERTIFICATE_VALIDITY_DAYS",
    "RENEWAL_ALERT_DAYS",
    "RETIRE_AFTER_DAYS",
    "BYODKIM_ROTATION_MODE",
    "BYODKIM_AUTO_APPLY_TO_SES",
    "DKIM_DNS_NAMESERVERS",
    "DKIM_CERTIFICATES_BUCKET",
    "DKIM_KMS_KEY_ID",
    "NOTIFICATION_TOPIC_ARN",
];

#[cfg(test)]
mod env_vars_tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    #[test]
    fn env_vars_lists_exactly_what_the_lookups_read() {
        let read = RefCell::new(BTreeSet::new());
        // Unset optional settings are all consulted; required ones must be present to be read
        // one after another.
        ManagerConfig::from_vars(|name| {
            read.borrow_mut().insert(name.to_owned());
            None
        })
        .unwrap();
        AwsResources::from_vars(|name| {
            read.borrow_mut().insert(name.to_owned());
            Some("x".to_owned())
        })
        .unwrap();
        // Lambda sets the AWS_* ones itself; templates never do.
        let read: BTreeSet<String> = read.into_inner().into_iter().filter(|n| !n.starts_with("AWS_")).collect();
        let listed: BTreeSet<String> = ENV_VARS.iter().map(|n| n.to_string()).collect();
        assert_eq!(read, listed);
    }
}
