//! The lean default build (no `aws` feature): the AWS-backed subcommands are listed and answer
//! with the feature that brings them, whatever their arguments.
#![cfg(not(feature = "aws"))]

use std::process::Command;

#[test]
fn aws_subcommands_name_the_feature_that_brings_them() {
    for args in [
        &["dkim", "keygen", "--domain", "example.jp"][..],
        &["monitor", "--dry-run"],
        &["backfill", "--help"],
        &["query"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_logmask")).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("`logmask {}`", args[0])) && stderr.contains("--features aws"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let help = Command::new(env!("CARGO_BIN_EXE_logmask")).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("dkim"));
}
