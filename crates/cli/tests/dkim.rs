//! `logmask dkim keygen`, `txt` and `check-dns` through the built binary; `check-dns` asks an
//! in-process hickory DNS server on 127.0.0.1 (the same helper the DKIM crate's tests use).

use std::path::Path;
use std::process::Command;

use logmask_dkim::test_util::start_dns;

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
fn keygen_without_selector_takes_the_next_free_number_of_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let mut selectors = Vec::new();
    for _ in 0..2 {
        let output = logmask()
            .args(["dkim", "keygen", "--domain", "example.jp", "--separator", "mail", "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let name = stdout.lines().find_map(|l| l.strip_prefix("record name:")).unwrap().trim().to_owned();
        selectors.push(name.strip_suffix("._domainkey.example.jp").unwrap().to_owned());
    }
    let (first, second) = (&selectors[0], &selectors[1]);
    assert!(first.starts_with("mail-") && first.ends_with("-1"), "{first}");
    assert_eq!(second, &format!("{}2", first.strip_suffix('1').unwrap()));
    for selector in &selectors {
        for suffix in [".private_key.pem", ".public_key.pem", ".dns_record.json"] {
            assert!(dir.path().join(format!("{selector}{suffix}")).exists(), "{selector}{suffix}");
        }
    }
}

#[test]
fn keygen_with_a_leftover_public_key_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (public, _) = keygen(dir.path(), "s1");
    let public_pem = std::fs::read_to_string(&public).unwrap();
    std::fs::remove_file(dir.path().join("s1.private_key.pem")).unwrap();
    let output = logmask()
        .args(["dkim", "keygen", "--domain", "example.jp", "--selector", "s1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    // No new private key that would match neither the public key left behind nor DNS, no temp files.
    assert!(!dir.path().join("s1.private_key.pem").exists());
    assert_eq!(std::fs::read_to_string(&public).unwrap(), public_pem);
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    // Without --selector, a selector with only a leftover file counts as taken and is skipped.
    let generate = || {
        let output = logmask()
            .args(["dkim", "keygen", "--domain", "example.jp", "--separator", "mail", "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8(output.stdout).unwrap();
        stdout.lines().find_map(|l| l.strip_prefix("private key (PKCS#1, 0600):")).unwrap().trim().to_owned()
    };
    let first = generate();
    std::fs::remove_file(&first).unwrap();
    let second = generate();
    assert_ne!(first, second);
    assert!(second.ends_with("-2.private_key.pem"), "{second}");
    assert!(!Path::new(&first).exists());
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

fn keygen(dir: &Path, selector: &str) -> (std::path::PathBuf, String) {
    let output = logmask()
        .args(["dkim", "keygen", "--domain", "example.jp", "--selector", selector, "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{selector}.dns_record.json"))).unwrap())
            .unwrap();
    (dir.join(format!("{selector}.public_key.pem")), record["value"].as_str().unwrap().to_owned())
}

#[test]
fn check_dns_passes_only_when_dns_holds_our_key() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, our_value) = keygen(dir.path(), "s1");
    let (other, other_value) = keygen(dir.path(), "s2");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let dns = runtime.block_on(start_dns(
        "example.jp",
        &[("s1._domainkey", vec![our_value.clone()]), ("s3._domainkey", vec![our_value, other_value])],
    ));
    let check = |selector: &str, key: &Path| {
        let output = logmask()
            .args(["dkim", "check-dns", "--domain", "example.jp", "--selector", selector, "--expect-key"])
            .arg(key)
            .args(["--nameserver", &dns.addr.to_string()])
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8(output.stdout).unwrap())
    };

    let (code, stdout) = check("s1", &ours);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("s1._domainkey.example.jp MATCH"), "{stdout}");

    // Another key under s1 (a record exists, but not ours), none under s2, two under s3.
    for (selector, key, status) in
        [("s1", &other, " MISMATCH"), ("s2", &other, " NOT_FOUND"), ("s3", &ours, " MULTIPLE_RECORDS")]
    {
        let (code, stdout) = check(selector, key);
        assert_eq!(code, Some(1), "{selector}: {stdout}");
        assert!(stdout.contains(status), "{selector}: {stdout}");
    }
    drop(dns);
}
