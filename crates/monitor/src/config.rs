//! The monitor's configuration from its Lambda environment. Names are the team's contract
//! (the infrastructure templates set exactly these); every one but the bucket and the topic has
//! a default, so a dry run needs only those two and a domain.

use std::net::SocketAddr;

use logmask_notify::Topics;

use crate::error::MonitorError;

/// Every environment variable [`Config::from_lookup`] reads (Lambda's own `AWS_*` aside).
pub const ENV_VARS: &[&str] = &[
    "PROJECT_CODE",
    "ENVIRONMENT",
    "DOMAIN_NAME",
    "DKIM_CERTIFICATES_BUCKET",
    "NOTIFICATION_TOPIC_ARN",
    "DNS_TEAM_TOPIC_ARN",
    "RENEWAL_ALERT_DAYS",
    "RETIRE_AFTER_DAYS",
    "BYODKIM_ROTATION_MODE",
    "DKIM_MANAGER_FUNCTION_NAME",
    "DKIM_DNS_NAMESERVERS",
    "METRICS_NAMESPACE",
    "CONFIGURATION_SET_NAME",
    "TRANSFORM_SERVICE_NAME",
    "BOUNCE_RATE_WARNING",
    "BOUNCE_RATE_CRITICAL",
    "COMPLAINT_RATE_WARNING",
    "COMPLAINT_RATE_CRITICAL",
    "SEND_SUCCESS_RATE_THRESHOLD",
    "REPEAT_AFTER_DAYS",
    "STATE_PREFIX",
];

/// Rate thresholds in percent (the seed's production parameters by default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// `BOUNCE_RATE_WARNING` (3.0, the seed's `BounceRateThreshold`).
    pub bounce_warning: f64,
    /// `BOUNCE_RATE_CRITICAL` (5.0: SES reviews accounts at 5 %).
    pub bounce_critical: f64,
    /// `COMPLAINT_RATE_WARNING` (0.05, the seed's `ComplaintRateThreshold`).
    pub complaint_warning: f64,
    /// `COMPLAINT_RATE_CRITICAL` (0.1: SES reviews at 0.1 %).
    pub complaint_critical: f64,
    /// `SEND_SUCCESS_RATE_THRESHOLD` (95.0): below it is a WARNING.
    pub success_rate: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            bounce_warning: 3.0,
            bounce_critical: 5.0,
            complaint_warning: 0.05,
            complaint_critical: 0.1,
            success_rate: 95.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `PROJECT_CODE` (default `ses-migration`).
    pub project_code: String,
    /// `ENVIRONMENT` (default `production`, as the Firehose handler's).
    pub environment: String,
    /// `DOMAIN_NAME`: the mail domain; a manual invocation may name another.
    pub domain: Option<String>,
    /// `DKIM_CERTIFICATES_BUCKET` (required): DKIM metadata, and the suppression state.
    pub bucket: String,
    /// `NOTIFICATION_TOPIC_ARN` (required) and `DNS_TEAM_TOPIC_ARN` (optional).
    pub topics: Topics,
    /// `RENEWAL_ALERT_DAYS` (16, the seed's production value).
    pub renewal_alert_days: u32,
    /// `RETIRE_AFTER_DAYS` (7, as the DKIM manager): a retired selector's TXT may go this many
    /// days after its successor became ACTIVE.
    pub retire_after_days: u32,
    /// `BYODKIM_ROTATION_MODE=AUTO` (or `AUTOMATIC`): ask the DKIM manager for a successor key.
    pub auto_rotation: bool,
    /// `DKIM_MANAGER_FUNCTION_NAME` (default `${PROJECT_CODE}-${ENVIRONMENT}-dkim-manager`).
    pub dkim_manager_function: String,
    /// `DKIM_DNS_NAMESERVERS`: comma-separated `IP[:PORT]`; empty means the system resolver.
    pub name_servers: Vec<SocketAddr>,
    /// `METRICS_NAMESPACE` (default `${PROJECT_CODE}/${ENVIRONMENT}/SES`, as the Firehose handler).
    pub metrics_namespace: String,
    /// `CONFIGURATION_SET_NAME`: the `ConfigurationSet` dimension; unset sums every set.
    pub configuration_set: Option<String>,
    /// `TRANSFORM_SERVICE_NAME` (default `firehose-transform`): the `Service` dimension.
    pub transform_service: String,
    pub thresholds: Thresholds,
    /// `REPEAT_AFTER_DAYS` (default 7): an unchanged finding is sent again after this many days.
    pub repeat_after_days: u32,
    /// `STATE_PREFIX` (default `monitor-state/`): suppression state keys in the bucket.
    pub state_prefix: String,
    /// Lambda's `AWS_REGION` (default `ap-northeast-1`), for console links.
    pub region: String,
}

fn parse_days(name: &'static str, value: Option<String>, default: u32) -> Result<u32, MonitorError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| MonitorError::Config { name, reason: format!("{v:?} is not a whole number of days") }),
    }
}

fn parse_percent(name: &'static str, value: Option<String>, default: f64) -> Result<f64, MonitorError> {
    match value {
        None => Ok(default),
        Some(v) => match v.trim().trim_end_matches('%').trim().parse::<f64>() {
            Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => Ok(p),
            _ => Err(MonitorError::Config { name, reason: format!("{v:?} is not a percentage between 0 and 100") }),
        },
    }
}

impl Config {
    pub fn from_env() -> Result<Self, MonitorError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, MonitorError> {
        let var = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let required =
            |name: &'static str| var(name).ok_or(MonitorError::Config { name, reason: "is required".into() });
        let project_code = var("PROJECT_CODE").unwrap_or_else(|| "ses-migration".into());
        let environment = var("ENVIRONMENT").unwrap_or_else(|| "production".into());
        let auto_rotation = match var("BYODKIM_ROTATION_MODE").as_deref().map(str::trim) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("MANUAL") => false,
            Some(v) if v.eq_ignore_ascii_case("AUTO") || v.eq_ignore_ascii_case("AUTOMATIC") => true,
            Some(v) => {
                return Err(MonitorError::Config {
                    name: "BYODKIM_ROTATION_MODE",
                    reason: format!("{v:?} is not MANUAL or AUTO"),
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
                        .map_err(|_| MonitorError::Config {
                            name: "DKIM_DNS_NAMESERVERS",
                            reason: format!("{s:?} is not IP or IP:PORT"),
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let d = Thresholds::default();
        let thresholds = Thresholds {
            bounce_warning: parse_percent("BOUNCE_RATE_WARNING", var("BOUNCE_RATE_WARNING"), d.bounce_warning)?,
            bounce_critical: parse_percent("BOUNCE_RATE_CRITICAL", var("BOUNCE_RATE_CRITICAL"), d.bounce_critical)?,
            complaint_warning: parse_percent(
                "COMPLAINT_RATE_WARNING",
                var("COMPLAINT_RATE_WARNING"),
                d.complaint_warning,
            )?,
            complaint_critical: parse_percent(
                "COMPLAINT_RATE_CRITICAL",
                var("COMPLAINT_RATE_CRITICAL"),
                d.complaint_critical,
            )?,
            success_rate: parse_percent(
                "SEND_SUCCESS_RATE_THRESHOLD",
                var("SEND_SUCCESS_RATE_THRESHOLD"),
                d.success_rate,
            )?,
        };
        if thresholds.bounce_warning > thresholds.bounce_critical {
            return Err(MonitorError::Config {
                name: "BOUNCE_RATE_WARNING",
                reason: "must not exceed BOUNCE_RATE_CRITICAL".into(),
            });
        }
        if thresholds.complaint_warning > thresholds.complaint_critical {
            return Err(MonitorError::Config {
                name: "COMPLAINT_RATE_WARNING",
                reason: "must not exceed COMPLAINT_RATE_CRITICAL".into(),
            });
        }
        let config = Self {
            domain: var("DOMAIN_NAME").map(|d| d.trim().to_ascii_lowercase()),
            bucket: required("DKIM_CERTIFICATES_BUCKET")?,
            topics: Topics { operations: required("NOTIFICATION_TOPIC_ARN")?, dns_team: var("DNS_TEAM_TOPIC_ARN") },
            renewal_alert_days: parse_days("RENEWAL_ALERT_DAYS", var("RENEWAL_ALERT_DAYS"), 16)?,
            retire_after_days: parse_days("RETIRE_AFTER_DAYS", var("RETIRE_AFTER_DAYS"), 7)?,
            auto_rotation,
            dkim_manager_function: var("DKIM_MANAGER_FUNCTION_NAME")
                .unwrap_or_else(|| format!("{project_code}-{environment}-dkim-manager")),
            name_servers,
            metrics_namespace: var("METRICS_NAMESPACE").unwrap_or_else(|| format!("{project_code}/{environment}/SES")),
            configuration_set: var("CONFIGURATION_SET_NAME"),
            transform_service: var("TRANSFORM_SERVICE_NAME").unwrap_or_else(|| "firehose-transform".into()),
            thresholds,
            repeat_after_days: parse_days("REPEAT_AFTER_DAYS", var("REPEAT_AFTER_DAYS"), 7)?,
            state_prefix: var("STATE_PREFIX").unwrap_or_else(|| "monitor-state/".into()),
            region: var("AWS_REGION").unwrap_or_else(|| "ap-northeast-1".into()),
            project_code,
            environment,
        };
        if config.repeat_after_days == 0 {
            return Err(MonitorError::Config {
                name: "REPEAT_AFTER_DAYS",
                reason: "must be at least 1 (0 would send every finding on every run)".into(),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::{BTreeSet, HashMap};

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const MINIMAL: [(&str, &str); 2] = [("DKIM_CERTIFICATES_BUCKET", "b"), ("NOTIFICATION_TOPIC_ARN", "arn:ops")];

    #[test]
    fn the_lookup_reads_exactly_env_vars() {
        let asked = RefCell::new(BTreeSet::new());
        let lookup = |k: &str| {
            asked.borrow_mut().insert(k.to_owned());
            vars(&MINIMAL)(k)
        };
        Config::from_lookup(lookup).unwrap();
        let asked: BTreeSet<String> = asked.into_inner().into_iter().filter(|k| !k.starts_with("AWS_")).collect();
        let listed: BTreeSet<String> = ENV_VARS.iter().map(|s| s.to_string()).collect();
        assert_eq!(asked, listed);
    }

    #[test]
    fn defaults_need_only_bucket_and_topic() {
        let c = Config::from_lookup(vars(&MINIMAL)).unwrap();
        assert_eq!(c.renewal_alert_days, 16);
        assert_eq!(c.metrics_namespace, "ses-migration/production/SES");
        assert_eq!(c.dkim_manager_function, "ses-migration-production-dkim-manager");
        assert_eq!(c.thresholds, Thresholds::default());
        assert_eq!(c.repeat_after_days, 7);
        assert!(!c.auto_rotation);
        assert_eq!(c.topics.dns_team, None);
        assert!(Config::from_lookup(vars(&MINIMAL[..1])).is_err());
    }

    #[test]
    fn parses_and_rejects_values() {
        let mut pairs = MINIMAL.to_vec();
        pairs.extend([
            ("BYODKIM_ROTATION_MODE", "auto"),
            ("BOUNCE_RATE_WARNING", "2.5"),
            ("DKIM_DNS_NAMESERVERS", "192.0.2.1, 127.0.0.1:5353"),
            ("DOMAIN_NAME", "Example.JP"),
        ]);
        let c = Config::from_lookup(vars(&pairs)).unwrap();
        assert!(c.auto_rotation);
        assert_eq!(c.thresholds.bounce_warning, 2.5);
        assert_eq!(c.name_servers[0].to_string(), "192.0.2.1:53");
        assert_eq!(c.domain.as_deref(), Some("example.jp"));
        for bad in [
            ("BYODKIM_ROTATION_MODE", "sometimes"),
            ("BOUNCE_RATE_WARNING", "6"),
            ("COMPLAINT_RATE_CRITICAL", "abc"),
            ("SEND_SUCCESS_RATE_THRESHOLD", "101"),
            ("RENEWAL_ALERT_DAYS", "-3"),
            ("REPEAT_AFTER_DAYS", "0"),
            ("DKIM_DNS_NAMESERVERS", "ns1.example"),
        ] {
            let mut pairs = MINIMAL.to_vec();
            pairs.push(bad);
            assert!(Config::from_lookup(vars(&pairs)).is_err(), "{bad:?}");
        }
    }
}
