//! `logmask dkim keygen` and `logmask dkim txt` through the built binary.

use std::process::Command;

fn logmask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_logmask"))
}

#[test]
fn keygen_writes_a_0600_pkcs1_key_and_txt_reproduces_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keys");
    let status = logmask()
        .args(["dkim", "keygen", "--domain", "example.jp", "--selector", "s1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let stdout = String::from_utf8(status.stdout).unwrap();
    assert!(stdout.contains("s1._domainkey.example.jp"), "{stdout}");

    let private = out.join("s1.private_key.pem");
    let pem = std::fs::read_to_string(&private).unwrap();
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"), "PKCS#1 PEM expected");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "private key mode {mode:o}");
    }
    // The private key never reaches stdout.
    let body_line = pem.lines().nth(1).unwrap();
    assert!(!stdout.contains(body_line));

    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("s1.dns_record.json")).unwrap()).unwrap();
    let value = record["value"].as_str().unwrap();
    assert!(value.starts_with("v=DKIM1; k=rsa; p=MIIB"));
    assert_eq!(value.len(), 410);

    let txt = logmask().args(["dkim", "txt", "--public-key"]).arg(out.join("s1.public_key.pem")).output().unwrap();
    assert!(txt.status.success(), "{}", String::from_utf8_lossy(&txt.stderr));
    let txt_out = String::from_utf8(txt.stdout).unwrap();
    let mut lines = txt_out.lines();
    assert_eq!(lines.next(), Some(value));
    assert_eq!(lines.next(), record["quoted"].as_str());

    // Running keygen again into the same directory refuses to overwrite the key.
    let again = logmask()
        .args(["dkim", "keygen", "--domain", "example.jp", "--selector", "s1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert_eq!(std::fs::read_to_string(&private).unwrap(), pem);
}

#[test]
fn invalid_selector_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let output = logmask()
        .args(["dkim", "keygen", "--domain", "example.jp", "--selector", "bad_selector", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("bad_selector"));
}
