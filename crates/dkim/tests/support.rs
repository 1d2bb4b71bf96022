//! Shared test helpers: moto configuration (the DNS server is `logmask_dkim::test_util`).

pub use logmask_dkim::test_util::start_dns;

/// The moto endpoint exported by `scripts/test`. Tests that need it fail loudly without it.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is not set: these tests need moto_server. Run ./scripts/test, or start \
             `moto_server -H 127.0.0.1 -p 5123` and export MOTO_ENDPOINT=http://127.0.0.1:5123"
        )
    })
}

pub async fn moto_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("ap-northeast-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// A name no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
