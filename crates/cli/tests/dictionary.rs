//! `logmask mask --policy FILE` with dictionary identifiers: terms inline and from a terms file
//! next to the policy, whole words, the case option, Japanese terms, and the errors a bad
//! dictionary gives before any output.

use std::process::{Command, Output};

fn logmask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logmask")).args(args).output().expect("the logmask binary runs")
}

#[test]
fn terms_inline_and_from_a_file_relative_to_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    // The policy names its terms file relatively; the run starts elsewhere.
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(
        dir.path().join("conf/policy.toml"),
        "[[identifiers]]\nname = \"customer\"\nterms_file = \"customers.txt\"\nterms = [\"山田商事\"]\n\
         [[identifiers]]\nname = \"host\"\nterms = [\"db-prod-01\"]\ncase_insensitive = true\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("conf/customers.txt"), "\u{feff}# VIP customers\nAcme Corp\r\n\n  Bluebird  \n")
        .unwrap();
    let input = dir.path().join("app.log");
    std::fs::write(
        &input,
        "Acme Corp paid; Bluebirds flew\n{\"to\":\"\\u5c71\\u7530\\u5546\\u4e8b\",\"host\":\"DB-PROD-01\"}\n山田商事様 bob@example.com\n",
    )
    .unwrap();
    let policy = dir.path().join("conf/policy.toml");
    let (p, i) = (policy.to_str().unwrap(), input.to_str().unwrap());

    let ro = logmask(&["mask", "--role", "readonly", "--policy", p, "--stats", i]);
    assert!(ro.status.success(), "{}", String::from_utf8_lossy(&ro.stderr));
    assert_eq!(
        String::from_utf8(ro.stdout).unwrap(),
        "<customer> paid; Bluebirds flew\n{\"to\":\"<customer>\",\"host\":\"<host>\"}\n<customer>様 <email>\n"
    );
    let stats: serde_json::Value = serde_json::from_slice(&ro.stderr).unwrap();
    assert_eq!((stats["custom"].as_u64(), stats["emails"].as_u64()), (Some(4), Some(1)));

    let op = logmask(&["mask", "--role", "operator", "--policy", p, i]);
    assert_eq!(
        String::from_utf8(op.stdout).unwrap(),
        "<customer> paid; Bluebirds flew\n{\"to\":\"<customer>\",\"host\":\"<host>\"}\n<customer>様 b***@example.com\n"
    );
    let admin = logmask(&["mask", "--role", "admin", "--policy", p, i]);
    assert_eq!(admin.stdout, std::fs::read(&input).unwrap());
}

#[test]
fn bad_dictionaries_are_exit_2_with_the_reason_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    std::fs::write(&input, "acme\n").unwrap();
    let cases: [(&str, Option<&[u8]>, &str); 5] = [
        ("terms_file = \"missing.txt\"", None, "missing.txt"),
        ("terms_file = \"terms.txt\"", Some(b"acme\n\xff\xfe\n"), "not UTF-8 (line 2)"),
        ("terms_file = \"terms.txt\"", Some(b"# nothing but comments\n\n"), "lists no terms"),
        ("terms = [\"ok\", \"\"]", None, "is empty"),
        ("terms = [\"email\"]", None, "matches \"<email>\""),
    ];
    for (line, file, reason) in cases {
        let policy = dir.path().join("policy.toml");
        std::fs::write(&policy, format!("[[identifiers]]\nname = \"customer\"\n{line}\n")).unwrap();
        if let Some(bytes) = file {
            std::fs::write(dir.path().join("terms.txt"), bytes).unwrap();
        }
        let out =
            logmask(&["mask", "--role", "readonly", "--policy", policy.to_str().unwrap(), input.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {stderr}");
        assert!(out.stdout.is_empty(), "{line}: output before the error");
        assert!(stderr.contains(reason), "{line}: {stderr}");
    }
    // Too big: a sparse file one byte over the cap.
    let big = std::fs::File::create(dir.path().join("big.txt")).unwrap();
    big.set_len(logmask_mask::MAX_TERMS_FILE_BYTES + 1).unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[[identifiers]]\nname = \"customer\"\nterms_file = \"big.txt\"\n").unwrap();
    let out = logmask(&["mask", "--role", "readonly", "--policy", policy.to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than"), "{}", String::from_utf8_lossy(&out.stderr));
}
