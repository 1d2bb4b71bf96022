//! Lambda: one S3 Batch Operations task (`LambdaInvoke`, schema 2.0) re-masks one raw archive
//! object into the masked archive. Everything lives in `logmask-archive`; this only wires it to
//! the runtime.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use logmask_archive::{AwsS3, BatchConfig, BatchEvent, BatchHandler};
use logmask_keys::AwsKeyStore;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .without_time()
        .init();

    let config = BatchConfig::from_env()?;
    let sdk = aws_config::load_from_env().await;
    // Cold start: the policy and the token key are read once, here.
    let (masker, fingerprint) = config.build_masker(&AwsKeyStore::new(&sdk)).await?;
    tracing::info!(role = %config.role, fingerprint = %fingerprint, keyed = config.token_key.is_some(), "ready");
    let client = Arc::new(AwsS3::new(aws_sdk_s3::Client::new(&sdk)));
    let handler = Arc::new(BatchHandler::new(client, masker, fingerprint, config));

    lambda_runtime::run(service_fn(move |event: LambdaEvent<BatchEvent>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle_event(event).await }
    }))
    .await
}
