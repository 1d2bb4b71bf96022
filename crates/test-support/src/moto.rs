//! AWS clients for the moto_server on loopback that `./scripts/test` starts and exports as
//! `MOTO_ENDPOINT`, and the resources tests create there (buckets, delivery streams, secrets,
//! parameters). Tests that need it fail loudly without it: a test skipped for want of a
//! server is a test CI believes passed.

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use crate::unique;

/// The region every test resource lives in (the project's region).
pub const REGION: &str = "ap-northeast-1";

/// `MOTO_ENDPOINT`, e.g. `http://127.0.0.1:5123`.
///
/// # Panics
/// When it is not set, with how to start moto.
pub fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MOTO_ENDPOINT is not set: these tests need moto_server. Run ./scripts/test -p <crate>, or start \
             `moto_server -H 127.0.0.1 -p 5123` and export MOTO_ENDPOINT=http://127.0.0.1:5123"
        )
    })
}

/// SDK configuration for moto: its endpoint, dummy static credentials, [`REGION`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// An S3 client with path-style addressing: moto on 127.0.0.1 has no per-bucket host names.
pub fn s3(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
}

/// Creates `bucket` in [`REGION`].
///
/// # Panics
/// When moto refuses (a name taken by an earlier run, say).
pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::ApNortheast1).build(),
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("create bucket {bucket} in moto: {err:?}"));
}

/// The environment a child process (the `logmask` binary, a Lambda binary) needs to send its
/// AWS calls to moto through the SDK's normal configuration.
pub fn child_env() -> [(&'static str, String); 5] {
    [
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

/// Creates `bucket` and the Direct PUT delivery stream `stream` that writes into it.
pub async fn create_delivery_stream(sdk: &aws_config::SdkConfig, stream: &str, bucket: &str) {
    create_bucket(&s3(sdk), bucket).await;
    aws_sdk_firehose::Client::new(sdk)
        .create_delivery_stream()
        .delivery_stream_name(stream)
        .delivery_stream_type(aws_sdk_firehose::types::DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .role_arn("arn:aws:iam::123456789012:role/firehose")
                .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("create delivery stream {stream} in moto: {err:?}"));
}

/// The bytes of object `key` in `bucket`.
///
/// # Panics
/// When it cannot be read (absent, say).
pub async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3.get_object().bucket(bucket).key(key).send().await;
    let body = out.unwrap_or_else(|err| panic!("get s3://{bucket}/{key} from moto: {err:?}")).body;
    body.collect().await.unwrap().to_vec()
}

/// Every object in `bucket` (the first listing page, 1,000 keys), concatenated.
pub async fn bucket_contents(sdk: &aws_config::SdkConfig, bucket: &str) -> Vec<u8> {
    let s3 = s3(sdk);
    let list = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut all = Vec::new();
    for listed in list.contents() {
        all.extend_from_slice(&object(&s3, bucket, listed.key().unwrap()).await);
    }
    all
}

/// Stores `value` as a Secrets Manager secret string named [`unique`]`(prefix)`; returns its id.
pub async fn put_secret(sdk: &aws_config::SdkConfig, prefix: &str, value: &str) -> String {
    let id = unique(prefix);
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(&id)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|err| panic!("create secret {id} in moto: {err:?}"));
    id
}

/// Stores `value` as an SSM SecureString parameter named `/`[`unique`]`(prefix)`; returns its
/// name.
pub async fn put_secure_parameter(sdk: &aws_config::SdkConfig, prefix: &str, value: &str) -> String {
    let name = format!("/{}", unique(prefix));
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(&name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap_or_else(|err| panic!("put parameter {name} in moto: {err:?}"));
    name
}
