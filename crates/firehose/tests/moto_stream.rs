//! A moto S3 bucket with a Direct PUT delivery stream writing into it, and what landed there.
//! Shared by this crate's moto tests and the CLI's re-ingestion test (`#[path]`).

/// Creates `bucket` and the delivery stream `stream` that writes into it.
pub async fn create_delivery_stream(sdk: &aws_config::SdkConfig, stream: &str, bucket: &str) {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::ApNortheast1)
                .build(),
        )
        .send()
        .await
        .unwrap();
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
        .unwrap();
}

/// Every object in `bucket`, concatenated.
pub async fn bucket_contents(sdk: &aws_config::SdkConfig, bucket: &str) -> Vec<u8> {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    let list = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut all = Vec::new();
    for object in list.contents() {
        let body = s3.get_object().bucket(bucket).key(object.key().unwrap()).send().await.unwrap().body;
        all.extend_from_slice(&body.collect().await.unwrap().into_bytes());
    }
    all
}
