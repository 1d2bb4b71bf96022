//! The real `firehose-transform` binary served by a local Lambda Runtime API (logmask-test-support's
//! harness): one invocation with the demo batch, the response checked, EMF read from stdout, and
//! the cold-start init time (process start → first `/next` poll) printed.
//! `FIREHOSE_TRANSFORM_BIN` may point at another build (e.g. the release binary) to measure it.

use logmask_firehose::{FirehoseResponse, RecordResult, demo};
use logmask_test_support::runtime_api::invoke_once;

#[test]
fn the_binary_transforms_an_invocation_through_the_runtime_api() {
    let event = demo::demo_event();
    let binary =
        std::env::var("FIREHOSE_TRANSFORM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_firehose-transform").to_owned());
    let env = [("MASK_ROLE", "operator"), ("PROJECT_CODE", "ses-migration"), ("ENVIRONMENT", "production")];
    let run = invoke_once(binary, "firehose-transform", &env, &serde_json::to_vec(&event).unwrap());
    println!("cold-start init (process start → first /next): {:?}", run.init);

    let response: FirehoseResponse = serde_json::from_slice(&run.response).unwrap();
    let ids: Vec<&str> = response.records.iter().map(|r| r.record_id.as_str()).collect();
    let expected: Vec<&str> = event.records.iter().map(|r| r.record_id.as_str()).collect();
    assert_eq!(ids, expected);
    let results: Vec<RecordResult> = response.records.iter().map(|r| r.result).collect();
    let n = results.len();
    assert!(results[..n - 2].iter().all(|r| *r == RecordResult::Ok), "{results:?}");
    assert_eq!(results[n - 2..], [RecordResult::Dropped, RecordResult::ProcessingFailed]);
    let first = String::from_utf8(response.records[0].decoded_data().unwrap()).unwrap();
    assert!(first.contains(r#""destination":["t***@example.co.jp"]"#), "{first}");

    let stdout = &run.stdout;
    let emf: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).expect("stdout carries only EMF")).collect();
    assert!(emf.len() >= 3, "{stdout}");
    assert!(emf.iter().all(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ses-migration/production/SES"));
    let stderr = &run.stderr;
    assert!(stderr.contains("truncated gzip data"), "the corrupt record's reason is logged:\n{stderr}");
    assert!(!stderr.contains("taro.yamada"), "no record content in the function log");
}
