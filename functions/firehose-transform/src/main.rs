//! Lambda: Kinesis Data Firehose transformation. Masks PII in SES events and CloudWatch Logs
//! records (view from `MASK_ROLE`, default `readonly`) and prints SES metrics as EMF on stdout.
//! Everything lives in `logmask-firehose`; this only wires it to the runtime.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use logmask_firehose::{AwsKeyStore, Config, FirehoseEvent, FirehoseReingest, Transformer};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Logs go to stderr so that stdout carries only the EMF documents.
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .without_time()
        .init();

    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    // Cold start: the policy and the token key are read once, here.
    let masker = config.build_masker(&AwsKeyStore::new(&sdk)).await?;
    let reingest = FirehoseReingest::new(aws_sdk_firehose::Client::new(&sdk));
    let transformer = Arc::new(Transformer::new(masker, &config, reingest));
    tracing::info!(role = %config.role, namespace = %config.namespace, keyed = config.token_key.is_some(), "ready");

    lambda_runtime::run(service_fn(move |event: LambdaEvent<FirehoseEvent>| {
        let transformer = Arc::clone(&transformer);
        async move { transformer.handle(event).await }
    }))
    .await
}
