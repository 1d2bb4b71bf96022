//! One monitor run: gather, check, decide what to send, send, and report.

use jiff::{SignedDuration, Timestamp};
use logmask_dkim::dns::TxtResolver;
use logmask_dkim::selector::Domain;
use logmask_dkim::ses::SesDkimApi;
use logmask_dkim::store::{KeyRepository, ObjectStore};
use logmask_notify::suppress::StateStore;
use logmask_notify::{Claim, Context, Decision, Message, Notification, Notifier, SendReason, Severity, Suppressor};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::warn;

use crate::checks;
use crate::config::Config;
use crate::error::{CheckError, MonitorError};
use crate::finding::{Check, Finding};
use crate::invoke::ManagerInvoker;
use crate::metrics::{MetricsApi, WINDOW_SECONDS, sending_queries};

/// The clients, generic so tests use moto, mocks or fakes.
pub struct Deps<K, E, R, M, L, N, S> {
    /// DKIM metadata (`DKIM_CERTIFICATES_BUCKET`; read only).
    pub keys: KeyRepository<K>,
    pub ses: E,
    pub dns: R,
    pub metrics: M,
    pub invoker: L,
    pub notifier: N,
    pub suppressor: Suppressor<S>,
    pub config: Config,
}

/// Live runs send and may invoke the DKIM manager; dry runs do neither and write no state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    DryRun,
}

/// What one run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub domain: String,
    pub at: Timestamp,
    pub findings: Vec<Finding>,
    /// (selector, days until expiry) of each key in use.
    pub days_until_expiry: Vec<(String, i64)>,
}

impl Report {
    pub fn highest(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

/// Runs every check for `domain`. Never fails: what cannot be checked is a finding.
pub async fn run_checks<K, E, R, M, L, N, S>(
    deps: &Deps<K, E, R, M, L, N, S>,
    domain: &Domain,
    now: Timestamp,
    mode: Mode,
) -> Report
where
    K: ObjectStore,
    E: SesDkimApi,
    R: TxtResolver,
    M: MetricsApi,
    L: ManagerInvoker,
{
    let config = &deps.config;
    let mut findings = Vec::new();
    let infos = deps
        .keys
        .list_infos(domain)
        .await
        .map_err(|e| CheckError::new(format!("S3 read of s3://{}/dkim-certificates/{domain}/", config.bucket), e));
    let ses = deps.ses.get_dkim(domain.as_str()).await.map_err(|e| CheckError::new("SES GetEmailIdentity", e));

    // Key expiry (needs the metadata; SES only refines which key is in use).
    let mut days_until_expiry = Vec::new();
    match &infos {
        Err(e) => findings.push(Finding::check_failed(Check::KeyExpiry, None, e)),
        Ok(infos) => {
            let expiry = checks::key_expiry(infos, ses.as_ref().ok(), now, config.renewal_alert_days);
            findings.extend(expiry.findings);
            days_until_expiry = expiry.days_until_expiry;
            if config.auto_rotation && mode == Mode::Live {
                for selector in expiry.needs_successor {
                    findings.push(request_successor(deps, domain, &selector).await);
                }
            }
        }
    }

    // SES DKIM status.
    match &ses {
        Err(e) => findings.push(Finding::check_failed(Check::SesDkim, None, e)),
        Ok(state) => findings.extend(checks::ses_dkim(state, infos.as_deref().unwrap_or_default(), now)),
    }

    // DNS (needs the metadata for our public keys).
    match &infos {
        Err(e) => findings.push(Finding::check_failed(
            Check::Dns,
            None,
            &CheckError::new(e.operation.clone(), format!("DKIM metadata needed for the DNS check: {}", e.message)),
        )),
        Ok(infos) => {
            let active = checks::active_selector(infos, ses.as_ref().ok());
            findings.extend(checks::dns(&deps.dns, infos, active.as_deref(), now, config.retire_after_days).await);
        }
    }

    // Sending and pipeline health: one GetMetricData for both.
    let start = now - SignedDuration::from_secs(i64::from(WINDOW_SECONDS));
    match deps.metrics.values(&sending_queries(config, domain.as_str()), start, now).await {
        Ok(values) => {
            findings.extend(checks::sending_health(&values, &config.thresholds));
            findings.extend(checks::pipeline(&values, &config.transform_service, &config.metrics_namespace));
        }
        Err(e) => {
            findings.push(Finding::check_failed(Check::SendingHealth, None, &e));
            findings.push(Finding::check_failed(Check::Pipeline, None, &e));
        }
    }
    Report { domain: domain.to_string(), at: now, findings, days_until_expiry }
}

/// `rotate_dkim_keys GENERATE_ONLY` as a scheduled invocation, so the manager's own
/// `BYODKIM_ROTATION_MODE` guard applies too. Idempotent twice over: the monitor asks only while
/// no successor exists, and the manager returns its pending key instead of generating another.
async fn request_successor<K, E, R, M, L: ManagerInvoker, N, S>(
    deps: &Deps<K, E, R, M, L, N, S>,
    domain: &Domain,
    selector: &str,
) -> Finding {
    let payload =
        json!({"action": "rotate_dkim_keys", "domain": domain, "mode": "GENERATE_ONLY", "trigger": "scheduled"});
    match deps.invoker.invoke(&payload).await {
        Ok(response) if response.get("statusCode").and_then(Value::as_u64) == Some(200) => Finding::new(
            Check::KeyExpiry,
            format!("key-expiry/{selector}/rotation"),
            Severity::Info,
            Message::RotationRequested {
                selector: selector.to_owned(),
                new_selector: response.get("selector").and_then(Value::as_str).map(str::to_owned),
            },
        ),
        Ok(response) => Finding::check_failed(
            Check::KeyExpiry,
            Some(selector),
            &CheckError::new(
                format!("Lambda Invoke {} rotate_dkim_keys", deps.config.dkim_manager_function),
                format!("unexpected response {response}"),
            ),
        ),
        Err(e) => Finding::check_failed(Check::KeyExpiry, Some(selector), &e),
    }
}

/// What happened to one finding's notification.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub finding: String,
    pub severity: Severity,
    /// `sent`, `suppressed`, `lost_race`, `failed`, `would_send`, `would_suppress`.
    pub decision: &'static str,
    pub reason: Option<SendReason>,
    #[serde(skip)]
    pub notification: Notification,
}

pub fn context(config: &Config, domain: &str, now: Timestamp) -> Context {
    Context {
        environment: config.environment.clone(),
        domain: domain.to_owned(),
        region: config.region.clone(),
        at: now,
        dkim_manager_function: config.dkim_manager_function.clone(),
        certificates_bucket: Some(config.bucket.clone()),
    }
}

/// Sends what duplicate suppression lets through (dry run: says what it would send).
pub async fn deliver<K, E, R, M, L, N, S>(deps: &Deps<K, E, R, M, L, N, S>, report: &Report, mode: Mode) -> Vec<Outcome>
where
    N: Notifier,
    S: StateStore,
{
    let ctx = context(&deps.config, &report.domain, report.at);
    let scope = format!("{}/{}", deps.config.environment, report.domain);
    let mut outcomes = Vec::new();
    for finding in &report.findings {
        let notification = finding.message.render(finding.severity, &ctx);
        let (decision, reason) = match mode {
            Mode::DryRun => match deps.suppressor.peek(&scope, &finding.id, finding.severity, report.at).await {
                Decision::Send(reason) => ("would_send", Some(reason)),
                Decision::Suppress { .. } => ("would_suppress", None),
            },
            Mode::Live => match deps.suppressor.claim(&scope, &finding.id, finding.severity, report.at).await {
                Claim::Suppressed { .. } => ("suppressed", None),
                Claim::LostRace => ("lost_race", None),
                Claim::Send { reason, state_key } => match deps.notifier.send(&notification).await {
                    Ok(()) => ("sent", Some(reason)),
                    Err(e) => {
                        warn!(finding = %finding.id, error = %e, "notification failed; forgetting the claim");
                        if let Err(e) = deps.suppressor.release(&state_key).await {
                            warn!(finding = %finding.id, error = %e, "could not release the claim");
                        }
                        ("failed", Some(reason))
                    }
                },
            },
        };
        outcomes.push(Outcome {
            finding: finding.id.clone(),
            severity: finding.severity,
            decision,
            reason,
            notification,
        });
    }
    outcomes
}

/// How the function was invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// EventBridge Scheduler (or rule) event, or the seed's `{}`.
    Scheduled,
    /// `{"source":"manual","domain":"…"}` (the seed's manual run; `environment` is accepted).
    Manual { domain: Option<String> },
}

pub fn parse_invocation(payload: &Value) -> Result<Invocation, MonitorError> {
    let Some(object) = payload.as_object() else {
        return Err(MonitorError::UnknownPayload(format!("not a JSON object: {payload}")));
    };
    if object.is_empty() {
        return Ok(Invocation::Scheduled);
    }
    let domain = object.get("domain").and_then(Value::as_str).map(str::to_owned);
    match object.get("source").and_then(Value::as_str) {
        Some("aws.scheduler" | "aws.events") => Ok(Invocation::Scheduled),
        Some("manual") => Ok(Invocation::Manual { domain }),
        Some(other) => Err(MonitorError::UnknownPayload(format!("source {other:?}"))),
        // The runbook's manual run without a source: `{"environment":"prod","domain":"…"}`.
        None if domain.is_some() && object.keys().all(|k| k == "domain" || k == "environment") => {
            Ok(Invocation::Manual { domain })
        }
        None => Err(MonitorError::UnknownPayload(format!(
            "fields {:?}",
            object.keys().map(String::as_str).collect::<Vec<_>>()
        ))),
    }
}

/// The domain a run is about: the manual payload's, else `DOMAIN_NAME`.
pub fn domain_for(invocation: &Invocation, config: &Config) -> Result<Domain, MonitorError> {
    let name = match invocation {
        Invocation::Manual { domain: Some(d) } => d.clone(),
        _ => config.domain.clone().ok_or(MonitorError::NoDomain)?,
    };
    name.parse().map_err(|_| MonitorError::InvalidDomain(name))
}

/// The Lambda's answer plus the lines to print (one JSON log line per finding, EMF documents).
#[derive(Debug, Clone)]
pub struct Handled {
    pub response: Value,
    pub stdout_lines: Vec<String>,
}

/// The Lambda handler.
pub async fn handle<K, E, R, M, L, N, S>(
    payload: &Value,
    deps: &Deps<K, E, R, M, L, N, S>,
    now: Timestamp,
) -> Result<Handled, MonitorError>
where
    K: ObjectStore,
    E: SesDkimApi,
    R: TxtResolver,
    M: MetricsApi,
    L: ManagerInvoker,
    N: Notifier,
    S: StateStore,
{
    let invocation = parse_invocation(payload)?;
    let domain = domain_for(&invocation, &deps.config)?;
    let report = run_checks(deps, &domain, now, Mode::Live).await;
    let outcomes = deliver(deps, &report, Mode::Live).await;
    let mut stdout_lines = finding_log_lines(&report, &outcomes);
    stdout_lines.extend(emf_documents(&deps.config.metrics_namespace, &report, &outcomes));
    let count = |d: &str| outcomes.iter().filter(|o| o.decision == d).count();
    let response = json!({
        "statusCode": 200,
        "message": "Certificate monitoring completed",
        "timestamp": now,
        "domain": report.domain,
        "invocation": match invocation { Invocation::Scheduled => "scheduled", Invocation::Manual { .. } => "manual" },
        "highest_severity": report.highest(),
        "findings": report.findings.iter().zip(&outcomes).map(|(f, o)| json!({
            "check": f.check,
            "id": f.id,
            "severity": f.severity,
            "kind": f.message.kind(),
            "subject": o.notification.subject(),
            "notification": o.decision,
        })).collect::<Vec<_>>(),
        "days_until_expiry": report.days_until_expiry.iter().map(|(s, d)| json!({"selector": s, "days": d})).collect::<Vec<_>>(),
        "notifications": {
            "sent": count("sent"),
            "suppressed": count("suppressed"),
            "lost_race": count("lost_race"),
            "failed": count("failed"),
        },
    });
    Ok(Handled { response, stdout_lines })
}

/// One JSON line per finding (public data only: the message's fields and the subject).
pub fn finding_log_lines(report: &Report, outcomes: &[Outcome]) -> Vec<String> {
    report
        .findings
        .iter()
        .zip(outcomes)
        .map(|(f, o)| {
            json!({
                "timestamp": report.at,
                "level": match f.severity { Severity::Critical => "ERROR", Severity::Warning => "WARN", Severity::Info => "INFO" },
                "msg": "finding",
                "domain": report.domain,
                "check": f.check,
                "id": f.id,
                "severity": f.severity,
                "subject": o.notification.subject(),
                "notification": o.decision,
                "reason": o.reason,
                "detail": f.message,
            })
            .to_string()
        })
        .collect()
}

/// EMF: findings per severity and notifications sent (dimension `SendingDomain`), and days
/// until expiry per selector (`SendingDomain`, `Selector`).
pub fn emf_documents(namespace: &str, report: &Report, outcomes: &[Outcome]) -> Vec<String> {
    let ms = report.at.as_millisecond();
    let sent = outcomes.iter().filter(|o| o.decision == "sent").count();
    let mut docs = vec![
        json!({
            "_aws": {"Timestamp": ms, "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["SendingDomain"]],
                "Metrics": [
                    {"Name": "MonitorFindingsCritical", "Unit": "Count"},
                    {"Name": "MonitorFindingsWarning", "Unit": "Count"},
                    {"Name": "MonitorFindingsInfo", "Unit": "Count"},
                    {"Name": "MonitorChecksFailed", "Unit": "Count"},
                    {"Name": "MonitorNotificationsSent", "Unit": "Count"},
                ],
            }]},
            "SendingDomain": report.domain,
            "MonitorFindingsCritical": report.count(Severity::Critical),
            "MonitorFindingsWarning": report.count(Severity::Warning),
            "MonitorFindingsInfo": report.count(Severity::Info),
            "MonitorChecksFailed": report.findings.iter().filter(|f| matches!(f.message, Message::CheckFailed { .. })).count(),
            "MonitorNotificationsSent": sent,
        })
        .to_string(),
    ];
    for (selector, days) in &report.days_until_expiry {
        docs.push(
            json!({
                "_aws": {"Timestamp": ms, "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["SendingDomain", "Selector"]],
                    "Metrics": [{"Name": "DkimKeyDaysUntilExpiry", "Unit": "None"}],
                }]},
                "SendingDomain": report.domain,
                "Selector": selector,
                "DkimKeyDaysUntilExpiry": days,
            })
            .to_string(),
        );
    }
    docs
}
