//! `logmask firehose` and `logmask demo` through the built binary: the response on stdout, the
//! summary line on stderr, the EMF file, role selection, malformed records, and re-ingestion
//! into a moto_server delivery stream through the normal AWS SDK configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use logmask_firehose::{FirehoseEvent, FirehoseResponse, RecordResult, samples};
use logmask_mask::Masker;
use logmask_test_support::{moto, unique};
use serde_json::Value;

fn logmask() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_logmask"));
    // Local runs must not reach for AWS unless a test asks for it.
    command.env_remove("MASK_ROLE").env_remove("TOKEN_KEY_SECRET_ID").env_remove("TOKEN_KEY_SSM_PARAMETER");
    command.env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

fn example_event(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions/firehose-transform/events").join(name)
}

fn read_event(path: &Path) -> FirehoseEvent {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

struct Run {
    response: FirehoseResponse,
    summary: Value,
    stderr: String,
}

fn run_firehose(args: &[&str], event: &Path) -> Run {
    let output = logmask().arg("firehose").arg("--event").arg(event).args(args).output().unwrap();
    parse_run(&output)
}

fn parse_run(output: &Output) -> Run {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "logmask firehose failed: {stderr}");
    let response: FirehoseResponse = serde_json::from_slice(&output.stdout).expect("stdout is the response JSON");
    let last = stderr.lines().last().expect("a summary line on stderr");
    let summary: Value = serde_json::from_str(last).expect("the summary line is JSON");
    Run { response, summary, stderr }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default()
}

fn decoded(response: &FirehoseResponse) -> Vec<String> {
    response
        .records
        .iter()
        .filter(|r| r.result == RecordResult::Ok)
        .map(|r| String::from_utf8(r.decoded_data().expect("Ok records carry base64 data")).expect("UTF-8 output"))
        .collect()
}

#[test]
fn every_example_event_gets_a_complete_response_and_a_consistent_summary() {
    for name in ["ses-batch.json", "cloudwatch-logs.json", "malformed.json"] {
        let path = example_event(name);
        let event = read_event(&path);
        let run = run_firehose(&[], &path);

        let ids: Vec<&str> = run.response.records.iter().map(|r| r.record_id.as_str()).collect();
        let expected: Vec<&str> = event.records.iter().map(|r| r.record_id.as_str()).collect();
        assert_eq!(ids, expected, "{name}: every recordId once, in order");

        let field = |k: &str| run.summary[k].as_u64().unwrap_or_else(|| panic!("{name}: summary lacks {k}"));
        let count = |result: RecordResult| run.response.records.iter().filter(|r| r.result == result).count() as u64;
        assert_eq!(field("records"), event.records.len() as u64, "{name}");
        assert_eq!(field("ok"), count(RecordResult::Ok), "{name}");
        assert_eq!(field("dropped"), count(RecordResult::Dropped), "{name}");
        assert_eq!(field("processing_failed"), count(RecordResult::ProcessingFailed), "{name}");
        assert_eq!(field("ok") + field("dropped") + field("processing_failed"), field("records"), "{name}");
        assert_eq!(field("reingested"), 0, "{name}: small events fit in one response");
        assert!(field("bytes_in") > 0, "{name}");

        // The default view is readonly: nothing the detector would find is left.
        let finder = Masker::new();
        for text in decoded(&run.response) {
            assert!(finder.find(text.as_bytes()).is_empty(), "{name}: address left in {text}");
        }
    }
}

#[test]
fn malformed_records_fail_alone_and_their_content_stays_out_of_the_log() {
    let path = example_event("malformed.json");
    let event = read_event(&path);
    let output = logmask().env("RUST_LOG", "info").arg("firehose").arg("--event").arg(&path).output().unwrap();
    let run = parse_run(&output);
    assert!(run.summary["processing_failed"].as_u64().unwrap() >= 1, "{}", run.summary);
    assert!(run.summary["ok"].as_u64().unwrap() >= 1, "the good records still pass: {}", run.summary);
    // The log names each failed record with a reason, and never prints what it held.
    for (input, record) in event.records.iter().zip(&run.response.records) {
        if record.result != RecordResult::ProcessingFailed {
            continue;
        }
        assert!(run.stderr.contains(&record.record_id), "no log line for {}", record.record_id);
        let raw = base64_decode(&input.data);
        let raw = String::from_utf8_lossy(&raw);
        for word in raw.split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.').filter(|w| w.len() >= 12) {
            assert!(!run.stderr.contains(word), "record content {word:?} leaked into the log");
        }
    }
}

#[test]
fn role_flag_and_mask_role_variable_select_the_view_and_emf_goes_to_the_file() {
    let path = example_event("ses-batch.json");
    let event = read_event(&path);
    let dir = tempfile::tempdir().unwrap();
    let emf = dir.path().join("metrics.ndjson");

    let admin = run_firehose(&["--role", "admin"], &path);
    let raw: Vec<String> = event.records.iter().map(|r| String::from_utf8(base64_decode(&r.data)).unwrap()).collect();
    let admin_texts = decoded(&admin.response);
    // SES JSON is re-encoded string by string; the values are the input's, byte for byte.
    for (raw, out) in raw.iter().zip(&admin_texts) {
        let a: Value = serde_json::from_str(raw).unwrap();
        let b: Value = serde_json::from_str(out).unwrap();
        assert_eq!(a, b, "admin view changes nothing");
    }

    let operator = logmask()
        .env("MASK_ROLE", "operator")
        .arg("firehose")
        .arg("--event")
        .arg(&path)
        .arg("--emf")
        .arg(&emf)
        .output()
        .unwrap();
    let operator = parse_run(&operator);
    let operator_texts = decoded(&operator.response);
    assert_ne!(operator_texts, admin_texts);
    assert!(operator_texts.iter().any(|t| t.contains("***@")), "operator keeps e-mail domains");
    assert!(Masker::new().find(operator_texts.join("\n").as_bytes()).is_empty());

    // --role wins over MASK_ROLE.
    let readonly = logmask()
        .env("MASK_ROLE", "operator")
        .args(["firehose", "--role", "readonly", "--event"])
        .arg(&path)
        .output()
        .unwrap();
    let readonly_texts = decoded(&parse_run(&readonly).response);
    assert!(readonly_texts.iter().all(|t| !t.contains("***@")) && readonly_texts.iter().any(|t| t.contains("<email>")));

    let documents: Vec<Value> = std::fs::read_to_string(&emf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one EMF JSON document per line"))
        .collect();
    assert!(!documents.is_empty());
    let namespaces: Vec<&str> = documents
        .iter()
        .flat_map(|d| d["_aws"]["CloudWatchMetrics"].as_array().unwrap())
        .map(|directive| directive["Namespace"].as_str().unwrap())
        .collect();
    assert!(namespaces.contains(&"ses-migration/production/SES"), "{namespaces:?}");
    let emf_text = std::fs::read_to_string(&emf).unwrap();
    assert!(!emf_text.contains("taro") && !emf_text.contains("hanako"), "no recipient in metrics");
}

#[test]
fn a_bad_role_or_event_is_a_clear_error() {
    let path = example_event("ses-batch.json");
    let bad_role = logmask().args(["firehose", "--role", "root", "--event"]).arg(&path).output().unwrap();
    assert_eq!(bad_role.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad_role.stderr);
    assert!(stderr.contains("readonly"), "valid roles named: {stderr}");

    let dir = tempfile::tempdir().unwrap();
    let not_an_event = dir.path().join("x.json");
    std::fs::write(&not_an_event, b"{\"records\": 7}").unwrap();
    let output = logmask().arg("firehose").arg("--event").arg(&not_an_event).output().unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no partial response");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a Firehose event"));
}

#[test]
fn demo_shows_every_view_the_metrics_and_the_summary() {
    let output = logmask().arg("demo").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    for needle in ["admin", "operator", "readonly", "SES metrics", "summary: {", "ProcessingFailed", "Dropped"] {
        assert!(stdout.contains(needle), "demo output lacks {needle:?}:\n{stdout}");
    }
    let finder = Masker::new();
    let view_lines = |role: &str| -> Vec<String> {
        stdout.lines().filter(|l| l.trim_start().starts_with(role)).map(str::to_owned).collect::<Vec<_>>()
    };
    let admin = view_lines("admin");
    assert!(admin.iter().any(|l| !finder.find(l.as_bytes()).is_empty()), "admin lines show raw addresses");
    for role in ["operator", "readonly"] {
        let lines = view_lines(role);
        assert!(!lines.is_empty());
        for line in lines {
            assert!(finder.find(line.as_bytes()).is_empty(), "{role} line shows an address: {line}");
        }
    }
}

/// Against moto_server: an event too large for one response is re-ingested with
/// PutRecordBatch through `AWS_ENDPOINT_URL`, and the masked pieces land in S3.
#[test]
fn overflow_is_reingested_through_aws_endpoint_url() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sdk = runtime.block_on(moto::sdk_config());
    let (bucket, stream) = (unique("logmask-cli"), unique("cli-ses-events"));
    runtime.block_on(moto::create_delivery_stream(&sdk, &stream, &bucket));

    // Gzip CloudWatch Logs expand several-fold: a 3 MB event overflows the 6 MB response.
    let mut event = samples::cloudwatch_batch(3_000_000, 400);
    event.delivery_stream_arn = Some(format!("arn:aws:firehose:ap-northeast-1:123456789012:deliverystream/{stream}"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    std::fs::write(&path, serde_json::to_vec(&event).unwrap()).unwrap();

    let output = logmask().envs(moto::child_env()).arg("firehose").arg("--event").arg(&path).output().unwrap();
    let run = parse_run(&output);
    let reingested = run.summary["reingested"].as_u64().unwrap();
    assert!(reingested > 0, "expected overflow: {}", run.summary);
    assert_eq!(run.summary["processing_failed"].as_u64(), Some(0), "{}", run.summary);
    assert_eq!(run.summary["dropped"].as_u64(), Some(reingested), "re-ingested records are Dropped");
    assert!(serde_json::to_vec(&run.response).unwrap().len() < logmask_firehose::RESPONSE_LIMIT);

    let landed = runtime.block_on(moto::bucket_contents(&sdk, &bucket));
    assert!(!landed.is_empty(), "re-ingested pieces reached the stream's bucket");
    let text = String::from_utf8_lossy(&landed);
    assert!(text.contains("\"logGroup\""), "pieces hold the masked log-event lines");
    assert!(Masker::new().find(text.as_bytes()).is_empty(), "re-ingested data is already masked");
}

#[test]
fn a_batch_whose_ids_cannot_fit_in_a_response_gets_no_response_and_fails() {
    // Issue 14: 180,000 empty records used to produce an 8.5 MB response with exit 0.
    let records: Vec<String> = (0..180_000).map(|i| format!(r#"{{"recordId":"{i:x}","data":""}}"#)).collect();
    let dir = std::env::temp_dir().join(format!("logmask-cli-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("event.json");
    std::fs::write(&path, format!(r#"{{"records":[{}]}}"#, records.join(","))).unwrap();
    let output = logmask().arg("firehose").arg("--event").arg(&path).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "{} bytes on stdout", output.stdout.len());
    assert!(stderr.contains("6291456-byte response limit"), "{stderr}");
}
