//! `logmask monitor --dry-run` with AWS and DNS unreachable: every check says so as its finding,
//! and the notifications it would send are printed, nothing is sent.

use std::process::Command;

fn dry_run(extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_logmask"))
        .args(["monitor", "--dry-run", "--domain", "mail.example.jp", "--now", "2026-12-01T09:00:00+09:00"])
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DKIM_CERTIFICATES_BUCKET", "certs")
        .env("NOTIFICATION_TOPIC_ARN", "arn:aws:sns:ap-northeast-1:000000000000:ops")
        // Nothing listens on port 9 of loopback: AWS and DNS fail fast, as on a laptop offline.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "ap-northeast-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("DKIM_DNS_NAMESERVERS", "127.0.0.1:9")
        .output()
        .unwrap()
}

#[test]
fn dry_run_offline_reports_every_check_and_the_notifications() {
    let out = dry_run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("mail.example.jp at 2026-12-01 09:00 JST (2026-12-01T00:00:00Z)"), "{stdout}");
    for check in ["key_expiry", "ses_dkim", "dns", "sending_health", "pipeline"] {
        let line = stdout.lines().find(|l| l.trim_start().starts_with(check)).unwrap_or_default();
        assert!(line.contains("WARNING") && line.contains(&format!("{check}/check-failed")), "{check}: {stdout}");
    }
    assert!(stdout.contains("Notifications that would be sent: 5 (0 suppressed"), "{stdout}");
    assert!(
        stdout.contains(
            "Subject: 【WARNING】監視チェックを実行できません / A monitor check could not run: mail.example.jp"
        )
    );
    assert!(stdout.contains("SES GetEmailIdentity"), "{stdout}");
    assert!(stdout.contains("CloudWatch GetMetricData"), "{stdout}");
}

#[test]
fn json_output_and_a_clear_error_without_dry_run() {
    let out = dry_run(&["--json"]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 5);
    assert!(doc["notifications"].as_array().unwrap().iter().all(|n| n["decision"] == "would_send"));

    let out = Command::new(env!("CARGO_BIN_EXE_logmask")).args(["monitor", "--domain", "x.jp"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dry-run"));
}
