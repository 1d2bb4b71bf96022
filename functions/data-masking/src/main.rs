//! Lambda: data masking for people reading logs. The caller's role comes from IAM (function URL)
//! or from its claims capped by `DIRECT_INVOKE_MAX_ROLE` (direct invoke); everything lives in
//! `logmask-query`, this only wires it to the runtime.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use logmask_query::Config;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .without_time()
        .init();

    // Cold start: settings, policy and token key are read once; any failure stops the function.
    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    let handler = Arc::new(logmask_query::aws_handler(config, &sdk).await?);
    tracing::info!(ip_restriction = handler.config().access.ip_restriction, "ready");

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(event).await }
    }))
    .await
}
