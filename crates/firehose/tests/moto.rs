//! Against moto_server (MOTO_ENDPOINT, started by ./scripts/test): re-ingestion with the real
//! aws-sdk-firehose client into a delivery stream that writes to a moto S3 bucket, with faults
//! injected by a wrapper around the real client (`Faulty`: whole-call throttling and per-entry
//! failures, the failed entries withheld from moto); token keys from Secrets Manager and SSM.

use std::sync::Mutex;

use logmask_firehose::{
    AwsKeyStore, Config, ConfigError, FirehoseReingest, KeySource, RecordResult, Reingest, ReingestError, Transformer,
    samples,
};
use logmask_mask::{Masker, Role};
use logmask_test_support::moto::{
    bucket_contents, create_delivery_stream, put_secret, put_secure_parameter, sdk_config,
};
use logmask_test_support::unique;

use crate::common::{block_on, capture_logs, event_of, fast_retry};

/// A bucket and a Direct PUT delivery stream writing into it; returns (stream name, bucket).
async fn delivery_stream(sdk: &aws_config::SdkConfig) -> (String, String) {
    let (stream, bucket) = (unique("ses-events"), unique("logmask-firehose"));
    create_delivery_stream(sdk, &stream, &bucket).await;
    (stream, bucket)
}

fn event_for(stream: &str, records: Vec<Vec<u8>>) -> logmask_firehose::FirehoseEvent {
    let mut event = event_of(records);
    event.delivery_stream_arn = Some(format!("arn:aws:firehose:ap-northeast-1:123456789012:deliverystream/{stream}"));
    event
}

fn marker_bodies(contents: &[u8]) -> usize {
    contents.windows(20).filter(|w| w == b"\x1elogmask-reingest/1 ").count()
}

#[test]
fn overflow_is_reingested_into_the_delivery_stream_and_lands_in_s3_masked() {
    block_on(async {
        let sdk = sdk_config().await;
        let (stream, bucket) = delivery_stream(&sdk).await;
        let records: Vec<Vec<u8>> =
            (0..12).map(|i| samples::gzip(&samples::cloudwatch_logs_document(i, 150))).collect();
        let transformer = Transformer::new(
            Masker::new(),
            &Config::default(),
            FirehoseReingest::new(aws_sdk_firehose::Client::new(&sdk)),
        )
        .with_budget(80_000)
        .with_retry(fast_retry());
        let out = transformer.process(event_for(&stream, records)).await;
        let reingested = out.summary.reingested as usize;
        assert!(reingested >= 5, "{:?}", out.summary);
        assert_eq!(out.summary.ok as usize + reingested, 12);

        let contents = bucket_contents(&sdk, &bucket).await;
        assert!(marker_bodies(&contents) >= reingested, "every re-ingested record arrived in S3");
        let text = String::from_utf8_lossy(&contents);
        assert!(text.contains("<email>") && !text.contains("@example.co.jp"), "S3 holds only masked data");
    });
}

/// Wraps the real client: the first `throttle` calls fail as a whole (ThrottlingException);
/// afterwards every `fail_every`-th entry of each call is withheld from moto and reported as
/// ServiceUnavailableException, as PutRecordBatch does for partial failures.
struct Faulty {
    inner: FirehoseReingest,
    throttle: usize,
    fail_every: usize,
    calls: Mutex<Vec<usize>>,
}

impl Reingest for Faulty {
    async fn put_record_batch(&self, stream: &str, records: &[Vec<u8>]) -> Result<Vec<Option<String>>, ReingestError> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(records.len());
            calls.len()
        };
        if call <= self.throttle {
            return Err(ReingestError::Request {
                message: "ThrottlingException: Rate exceeded".into(),
                retryable: true,
            });
        }
        let (pass, fail): (Vec<usize>, Vec<usize>) =
            (0..records.len()).partition(|i| (i + call) % self.fail_every != 0);
        let forwarded: Vec<Vec<u8>> = pass.iter().map(|&i| records[i].clone()).collect();
        let answers = self.inner.put_record_batch(stream, &forwarded).await?;
        let mut results = vec![Some("ServiceUnavailableException".to_owned()); records.len()];
        for (k, &i) in pass.iter().enumerate() {
            results[i] = answers[k].clone();
        }
        assert!(fail.iter().all(|&i| results[i].is_some()));
        Ok(results)
    }
}

#[test]
fn throttling_and_partial_failures_retry_only_failed_entries() {
    block_on(async {
        let sdk = sdk_config().await;
        let (stream, bucket) = delivery_stream(&sdk).await;
        let faulty = Faulty {
            inner: FirehoseReingest::new(aws_sdk_firehose::Client::new(&sdk)),
            throttle: 2,
            fail_every: 3,
            calls: Mutex::new(Vec::new()),
        };
        let records: Vec<Vec<u8>> =
            (0..15).map(|i| samples::gzip(&samples::cloudwatch_logs_document(100 + i, 100))).collect();
        let transformer =
            Transformer::new(Masker::new(), &Config::default(), &faulty).with_budget(50_000).with_retry(fast_retry());
        let out = transformer.process(event_for(&stream, records)).await;
        assert!(out.summary.reingested >= 8, "{:?}", out.summary);
        assert_eq!(out.summary.ok + out.summary.reingested, 15);
        let calls = faulty.calls.lock().unwrap().clone();
        assert!(calls.len() >= 4 && calls[3] < calls[0], "retries carry only failed entries: {calls:?}");
        let contents = bucket_contents(&sdk, &bucket).await;
        // Each piece exactly once: a delivered entry is never sent again.
        let pieces: Vec<&[u8]> = contents.split(|&b| b == 0x1e).filter(|p| !p.is_empty()).collect();
        let unique: std::collections::HashSet<&[u8]> = pieces.iter().copied().collect();
        assert_eq!(unique.len(), pieces.len());
        assert!(pieces.len() as u64 >= out.summary.reingested);
    });
}

#[test]
fn a_missing_stream_fails_the_overflow_records_not_the_batch() {
    block_on(async {
        let sdk = sdk_config().await;
        let records: Vec<Vec<u8>> = (0..10).map(|i| samples::gzip(&samples::cloudwatch_logs_document(i, 60))).collect();
        let transformer = Transformer::new(
            Masker::new(),
            &Config::default(),
            FirehoseReingest::new(aws_sdk_firehose::Client::new(&sdk)),
        )
        .with_budget(60_000)
        .with_retry(fast_retry());
        let out = transformer.process(event_for(&unique("no-such-stream"), records)).await;
        assert!(out.summary.processing_failed >= 1 && out.summary.ok >= 1, "{:?}", out.summary);
        assert_eq!(out.summary.ok + out.summary.processing_failed, 10);
        assert!(out.response.records.iter().all(|r| r.result != RecordResult::Dropped));
    });
}

const KEY: &str = "k3y-material-that-must-never-be-logged-0123456789";

#[test]
fn token_key_loads_once_from_secrets_manager_and_ssm_and_never_leaks() {
    let ((), logs) = capture_logs(|| {
        block_on(async {
            let sdk = sdk_config().await;
            let secret_id = put_secret(&sdk, "logmask/token-key", KEY).await;
            let parameter = put_secure_parameter(&sdk, "logmask-token-key", KEY).await;
            let store = AwsKeyStore::new(&sdk);
            let expected = Masker::builder(Default::default()).token_key(KEY.as_bytes().to_vec()).build().unwrap();
            for source in [KeySource::SecretsManager(secret_id.clone()), KeySource::SsmParameter(parameter.clone())] {
                let config = Config { token_key: Some(source.clone()), ..Config::default() };
                let masker = config.build_masker(&store).await.unwrap();
                assert!(masker.has_token_key(), "{source}");
                let transformer = Transformer::new(masker, &config, logmask_firehose::NoReingest);
                let out = transformer.process(samples::demo_event()).await;
                let text = serde_json::to_string(&out.response).unwrap();
                let data = out.response.records[0].decoded_data().unwrap();
                let data = String::from_utf8(data).unwrap();
                let want = expected.mask_str(Role::Readonly, samples::SES_EVENTS.lines().next().unwrap()).0;
                assert_eq!(data.trim_end(), want);
                assert!(data.contains("<email:k1:"), "{data}");
                assert!(!text.contains(KEY) && !out.emf.join("").contains(KEY));
                assert!(!format!("{config:?}").contains(KEY));
            }
            let missing =
                Config { token_key: Some(KeySource::SecretsManager("no/such/secret".into())), ..Config::default() };
            let err = missing.build_masker(&store).await.unwrap_err();
            assert!(matches!(err, ConfigError::TokenKey { .. }));
            assert!(err.to_string().contains("secretsmanager:no/such/secret"), "{err}");
            tracing::info!(error = %err, "token key error as logged");
            let short = put_secret(&sdk, "logmask/short-key", "short").await;
            let err = Config { token_key: Some(KeySource::SecretsManager(short)), ..Config::default() }
                .build_masker(&store)
                .await
                .unwrap_err();
            assert!(err.to_string().contains("shorter than") && !err.to_string().contains("short\""), "{err}");
        })
    });
    assert!(!logs.contains(KEY), "key material in the log:\n{logs}");
}
