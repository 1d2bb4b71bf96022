//! Lambda entry point for the DKIM manager; all logic lives in `logmask_dkim::manager`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use logmask_dkim::store::KeyRepository;
use logmask_dkim::{AwsResources, Deps, HickoryTxtResolver, ManagerConfig, ObjectStore, S3ObjectStore};
use logmask_dkim::{TxtResolver, ses::SesDkimApi, ses::SesV2DkimClient};
use logmask_notify::{Notifier, SnsNotifier};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let var = |k: &str| std::env::var(k).ok();
    let (config, aws) = (ManagerConfig::from_vars(var)?, AwsResources::from_vars(var)?);
    // Honours AWS_ENDPOINT_URL (moto/local runs); S3 path-style works everywhere.
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let dns = match config.name_servers.as_slice() {
        [] => HickoryTxtResolver::system()?,
        servers => HickoryTxtResolver::with_name_servers(servers)?,
    };
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), aws.topics());
    let deps = Deps {
        keys: KeyRepository::new(S3ObjectStore::new(s3, aws.bucket, aws.kms_key_id)),
        notifier,
        ses: SesV2DkimClient::new(aws_sdk_sesv2::Client::new(&sdk)),
        dns,
        config,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| handler(event, &deps))).await
}

async fn handler<S: ObjectStore, N: Notifier, E: SesDkimApi, R: TxtResolver>(
    event: LambdaEvent<Value>,
    deps: &Deps<S, N, E, R>,
) -> Result<Value, Error> {
    let response = logmask_dkim::handle(&event.payload, deps, jiff::Timestamp::now()).await?;
    Ok(serde_json::to_value(response)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;
    use logmask_dkim::fakes::{FakeDns, FakeSes, MemoryStore, RecordingNotifier};
    use serde_json::json;

    fn deps() -> Deps<MemoryStore, RecordingNotifier, FakeSes, FakeDns> {
        Deps {
            keys: KeyRepository::new(MemoryStore::default()),
            notifier: RecordingNotifier::default(),
            ses: FakeSes::easy_dkim(),
            dns: FakeDns::default(),
            config: ManagerConfig::default(),
        }
    }

    #[tokio::test]
    async fn handler_returns_the_response_json() {
        let deps = deps();
        let payload = json!({"action": "create_dkim_certificate", "domain": "example.jp", "selector": "s1"});
        let out = handler(LambdaEvent::new(payload, Context::default()), &deps).await.unwrap();
        assert_eq!(out["statusCode"], json!(200));
        assert_eq!(out["dns_record"]["name"], json!("s1._domainkey.example.jp"));
        let status = json!({"action": "check_dns_status", "domain": "example.jp", "selector": "s1"});
        let out = handler(LambdaEvent::new(status, Context::default()), &deps).await.unwrap();
        assert_eq!(out["status"], json!("NOT_FOUND"));
    }

    #[tokio::test]
    async fn handler_turns_errors_into_lambda_errors() {
        let err = handler(LambdaEvent::new(json!({"action": "nope"}), Context::default()), &deps()).await.unwrap_err();
        assert!(err.to_string().contains("create_dkim_certificate"), "{err}");
    }
}
