//! `logmask backfill` end to end: the real binary on local trees, and S3 → S3 plus `--plan batch`
//! against moto_server (MOTO_ENDPOINT, set by `./scripts/test`).

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use logmask_test_support::{moto, unique};

fn logmask(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logmask")).args(args).envs(env.iter().copied()).output().expect("logmask runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn tree(root: &Path) {
    fs::create_dir_all(root.join("2024/05/01")).unwrap();
    fs::write(root.join("2024/05/01/app.log"), "login a@example.com from 192.0.2.1\n").unwrap();
    fs::write(root.join("2024/05/01/ses.gz"), gzip(b"{\"mail\":{\"source\":\"b@example.com\"}}\n")).unwrap();
    fs::write(root.join("2024/05/01/bad.gz"), b"\x1f\x8b\x08\x00not gzip").unwrap();
}

#[test]
fn local_tree_summary_exit_status_and_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, masked) = (dir.path().join("raw"), dir.path().join("masked"));
    tree(&raw);
    let args = ["backfill", "--from", raw.to_str().unwrap(), "--to", masked.to_str().unwrap(), "--role", "operator"];
    let first = logmask(&args, &[]);
    assert_eq!(first.status.code(), Some(1), "a failed object makes the exit status non-zero: {}", stderr(&first));
    let err = stderr(&first);
    assert!(err.contains("failed 2024/05/01/bad.gz: corrupt gzip data"), "{err}");
    let summary = err.lines().last().unwrap();
    assert!(
        summary.starts_with("objects 3 written 2 skipped 0 failed 1 bytes_in ") && summary.ends_with(" MB/s"),
        "{summary}"
    );
    assert_eq!(
        fs::read_to_string(masked.join("2024/05/01/app.log")).unwrap(),
        "login a***@example.com from 192.0.2.*\n"
    );

    let second = logmask(&args, &[]);
    assert!(
        stderr(&second).lines().last().unwrap().starts_with("objects 3 written 0 skipped 2 failed 1"),
        "{}",
        stderr(&second)
    );

    fs::remove_file(raw.join("2024/05/01/bad.gz")).unwrap();
    let third = logmask(&args, &[]);
    assert!(third.status.success(), "{}", stderr(&third));

    let future = logmask(&[&args[..], &["--since", "2999-01-01"]].concat(), &[]);
    assert!(stderr(&future).starts_with("objects 0 written 0"), "{}", stderr(&future));
}

#[test]
fn usage_errors_exit_2_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    tree(&raw);
    let inside = raw.join("masked");
    let overlap = logmask(
        &["backfill", "--from", raw.to_str().unwrap(), "--to", inside.to_str().unwrap(), "--role", "readonly"],
        &[],
    );
    assert_eq!(overlap.status.code(), Some(2), "{}", stderr(&overlap));
    assert!(stderr(&overlap).contains("overlap"));
    let to = dir.path().join("out");
    let (raw, to) = (raw.to_str().unwrap(), to.to_str().unwrap());
    let plan = logmask(&["backfill", "--from", raw, "--to", to, "--role", "readonly", "--plan", "batch"], &[]);
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    let key = dir.path().join("short.key");
    fs::write(&key, b"short\n").unwrap();
    let short = logmask(
        &["backfill", "--from", raw, "--to", to, "--role", "readonly", "--token-key-file", key.to_str().unwrap()],
        &[],
    );
    assert_eq!(short.status.code(), Some(2), "{}", stderr(&short));
    assert!(!stderr(&short).contains("short\n"));
    let bad_date =
        logmask(&["backfill", "--from", raw, "--to", to, "--role", "readonly", "--since", "2024-13-01"], &[]);
    assert_eq!(bad_date.status.code(), Some(2));
    assert!(!Path::new(to).join("2024").exists());
}

#[test]
fn s3_to_s3_and_a_batch_plan_against_moto() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (raw, masked) = (unique("cli-raw"), unique("cli-masked"));
    rt.block_on(async {
        let s3 = moto::s3(&moto::sdk_config().await);
        for b in [&raw, &masked] {
            moto::create_bucket(&s3, b).await;
        }
        for (key, body) in [("logs/a b.log", b"x@example.com\n".to_vec()), ("logs/2024/c.gz", gzip(b"192.0.2.9\n"))] {
            s3.put_object().bucket(&raw).key(key).body(body.into()).send().await.unwrap();
        }
    });
    let moto_env = moto::child_env();
    let env: Vec<(&str, &str)> = moto_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (from, to) = (format!("s3://{raw}/logs/"), format!("s3://{masked}/masked/"));
    let args = ["backfill", "--from", from.as_str(), "--to", to.as_str(), "--role", "readonly", "--jobs", "2"];
    let first = logmask(&args, &env);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).starts_with("objects 2 written 2 skipped 0 failed 0"), "{}", stderr(&first));
    let second = logmask(&args, &env);
    assert!(stderr(&second).starts_with("objects 2 written 0 skipped 2 failed 0"), "{}", stderr(&second));

    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.csv");
    let plan = logmask(&[&args[..], &["--plan", "batch", "--manifest", manifest.to_str().unwrap()]].concat(), &env);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let csv = fs::read_to_string(&manifest).unwrap();
    assert_eq!(csv, format!("{raw},logs/2024/c.gz\n{raw},logs/a%20b.log\n"));
    let printed = String::from_utf8(plan.stdout).unwrap();
    assert!(printed.contains("aws s3control create-job"), "{printed}");
    assert!(printed.contains(r#""InvocationSchemaVersion":"2.0""#));
    assert!(printed.contains("S3BatchOperations_CSV_20180820"));
    assert!(
        printed.contains(&format!("SOURCE_BUCKET={raw} SOURCE_PREFIX=logs/ DEST_BUCKET={masked} DEST_PREFIX=masked/"))
    );
}
