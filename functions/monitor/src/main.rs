//! Lambda entry point of the monitor; the checks and the handler live in `logmask_monitor`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use logmask_dkim::ses::{SesDkimApi, SesV2DkimClient};
use logmask_dkim::{HickoryTxtResolver, KeyRepository, ObjectStore, S3ObjectStore, TxtResolver};
use logmask_monitor::invoke::{LambdaManagerInvoker, ManagerInvoker};
use logmask_monitor::metrics::{CloudWatchMetrics, MetricsApi};
use logmask_monitor::{Config, Deps};
use logmask_notify::{Notifier, S3StateStore, SnsNotifier, StateStore, Suppressor};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let config = Config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let dns = match config.name_servers.as_slice() {
        [] => HickoryTxtResolver::system()?,
        servers => HickoryTxtResolver::with_name_servers(servers)?,
    };
    let deps = Deps {
        // Read only: the KMS key id is needed for writes, which the monitor never makes here.
        keys: KeyRepository::new(S3ObjectStore::new(s3.clone(), config.bucket.clone(), String::new())),
        ses: SesV2DkimClient::new(aws_sdk_sesv2::Client::new(&sdk)),
        dns,
        metrics: CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(&sdk)),
        invoker: LambdaManagerInvoker::new(aws_sdk_lambda::Client::new(&sdk), &config.dkim_manager_function),
        notifier: SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), config.topics.clone()),
        suppressor: Suppressor::new(
            S3StateStore::new(s3, &config.bucket),
            &config.state_prefix,
            config.repeat_after_days,
        ),
        config,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| handler(event, &deps))).await
}

/// Runs the library handler; its log lines and EMF documents go to stdout (CloudWatch Logs).
async fn handler<K, E, R, M, L, N, S>(
    event: LambdaEvent<Value>,
    deps: &Deps<K, E, R, M, L, N, S>,
) -> Result<Value, Error>
where
    K: ObjectStore,
    E: SesDkimApi,
    R: TxtResolver,
    M: MetricsApi,
    L: ManagerInvoker,
    N: Notifier,
    S: StateStore,
{
    let handled = logmask_monitor::handle(&event.payload, deps, jiff::Timestamp::now()).await?;
    handled.stdout_lines.iter().for_each(|line| println!("{line}"));
    Ok(handled.response)
}

#[cfg(test)]
mod tests;
