//! `logmask monitor --dry-run`: the monitor Lambda's checks, run locally; prints the findings
//! and the exact notifications the function would send, and sends nothing.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use logmask_dkim::dns::{TxtRecord, TxtResolver};
use logmask_dkim::error::DnsError;
use logmask_dkim::ses::SesV2DkimClient;
use logmask_dkim::{HickoryTxtResolver, KeyRepository, S3ObjectStore};
use logmask_monitor::invoke::LambdaManagerInvoker;
use logmask_monitor::metrics::CloudWatchMetrics;
use logmask_monitor::{Check, Config, Deps, Mode, deliver, run_checks};
use logmask_notify::{Route, S3StateStore, SnsNotifier, Suppressor, format_time};
use serde_json::json;

#[derive(clap::Args)]
pub struct MonitorArgs {
    /// Required: run the checks and print what would be sent; nothing is sent, no state is
    /// written, the DKIM manager is not invoked.
    #[arg(long)]
    dry_run: bool,
    /// Mail domain (default: DOMAIN_NAME).
    #[arg(long)]
    domain: Option<String>,
    /// The run's time, RFC 3339 with offset (default: now), e.g. 2026-12-01T09:00:00+09:00.
    #[arg(long)]
    now: Option<String>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

/// The resolver, or why there is none here (no system resolver configuration): then every
/// lookup says why, and the DNS check reports it as its finding.
enum LocalDns {
    Hickory(HickoryTxtResolver),
    Unavailable(String),
}

impl TxtResolver for LocalDns {
    async fn lookup_txt(&self, name: &str) -> Result<Vec<TxtRecord>, DnsError> {
        match self {
            LocalDns::Hickory(resolver) => resolver.lookup_txt(name).await,
            LocalDns::Unavailable(why) => Err(DnsError { name: name.to_owned(), message: why.clone() }),
        }
    }
}

pub fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    if !args.dry_run {
        bail!("only --dry-run runs locally (the Lambda sends); add --dry-run");
    }
    let mut config = Config::from_env()
        .context("configuration (DKIM_CERTIFICATES_BUCKET and NOTIFICATION_TOPIC_ARN are required)")?;
    if let Some(domain) = args.domain {
        config.domain = Some(domain.trim().to_ascii_lowercase());
    }
    let domain = config.domain.clone().context("--domain (or DOMAIN_NAME) is required")?;
    let domain: logmask_dkim::selector::Domain = domain.parse().with_context(|| format!("--domain {domain:?}"))?;
    let now = match &args.now {
        Some(s) => s.parse::<jiff::Timestamp>().with_context(|| format!("--now {s:?} (RFC 3339 with offset)"))?,
        None => jiff::Timestamp::now(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        // Short timeouts and no retries: on a laptop without AWS each check should say so quickly.
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(RegionProviderChain::default_provider().or_else(aws_config::Region::new(config.region.clone())))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        let deps = Deps {
            keys: KeyRepository::new(S3ObjectStore::new(s3.clone(), config.bucket.clone(), String::new())),
            ses: SesV2DkimClient::new(aws_sdk_sesv2::Client::new(&sdk)),
            dns: match config.name_servers.as_slice() {
                [] => HickoryTxtResolver::system(),
                servers => HickoryTxtResolver::with_name_servers(servers),
            }
            .map_or_else(|e| LocalDns::Unavailable(e.to_string()), LocalDns::Hickory),
            metrics: CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(&sdk)),
            invoker: LambdaManagerInvoker::new(aws_sdk_lambda::Client::new(&sdk), &config.dkim_manager_function),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), config.topics.clone()),
            suppressor: Suppressor::new(
                S3StateStore::new(s3, &config.bucket),
                &config.state_prefix,
                config.repeat_after_days,
            ),
            config: config.clone(),
        };
        let report = run_checks(&deps, &domain, now, Mode::DryRun).await;
        let outcomes = deliver(&deps, &report, Mode::DryRun).await;
        let topics = |route: Route| config.topics.for_route(route).join(", ");
        if args.json {
            let doc = json!({
                "domain": report.domain,
                "at": report.at,
                "findings": report.findings,
                "notifications": outcomes.iter().map(|o| json!({
                    "finding": o.finding,
                    "decision": o.decision,
                    "reason": o.reason,
                    "topics": config.topics.for_route(o.notification.route),
                    "subject": o.notification.subject(),
                    "message": o.notification.message(),
                })).collect::<Vec<_>>(),
            });
            let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&doc)?);
            return Ok(ExitCode::SUCCESS);
        }
        let mut out = String::new();
        // writeln! into a String cannot fail.
        macro_rules! wln {
            ($($arg:tt)*) => {{ let _ = writeln!(out, $($arg)*); }};
        }
        wln!("logmask monitor --dry-run: {} at {}", report.domain, format_time(report.at));
        wln!("Nothing is sent, no state is written, the DKIM manager is not invoked.\n");
        wln!("Checks:");
        for check in Check::ALL {
            let findings: Vec<_> = report.findings.iter().filter(|f| f.check == check).collect();
            if findings.is_empty() {
                wln!("  {:<15} OK", check.as_str());
            }
            for f in findings {
                let n = f.message.render(f.severity, &logmask_monitor::run::context(&config, &report.domain, now));
                wln!("  {:<15} {:<8} {:<40} {}", check.as_str(), f.severity.as_str(), f.id, n.title_en);
            }
        }
        for (selector, days) in &report.days_until_expiry {
            wln!("  key {selector}: {days} day(s) until expiry");
        }
        let would: Vec<_> = outcomes.iter().filter(|o| o.decision == "would_send").collect();
        wln!(
            "\nNotifications that would be sent: {} ({} suppressed as already sent)",
            would.len(),
            outcomes.len() - would.len()
        );
        for (i, o) in would.iter().enumerate() {
            wln!("\n===== {}/{} to {} =====", i + 1, would.len(), topics(o.notification.route));
            wln!("Subject: {}\n", o.notification.subject());
            out.push_str(&o.notification.message());
        }
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = std::io::stdout().write_all(out.as_bytes());
        Ok(ExitCode::SUCCESS)
    })
}
