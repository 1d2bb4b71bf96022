//! `logmask mask` end to end: the real binary on the shared corpus and on bad configuration.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn logmask(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logmask"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the logmask binary runs");
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let output = child.wait_with_output().expect("logmask finishes");
    match writer.join().expect("writer thread") {
        // A run that fails early (a bad role or policy) may exit before reading its input; the
        // callers' assertions on status and output decide whether that was right.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.expect("stdin accepted"),
    }
    output
}

/// Corpus cases are single lines; joined, the binary must give each expected view line for line.
#[test]
fn shared_corpus_through_the_binary() {
    let cases: Vec<_> = logmask_conformance::corpus().into_iter().filter(|c| !c.input.contains('\n')).collect();
    assert!(cases.len() >= 150, "the corpus has {} single-line cases", cases.len());
    let input: String = cases.iter().map(|c| format!("{}\n", c.input)).collect();
    for role in ["admin", "operator", "readonly"] {
        let out = logmask(&["mask", "--role", role], input.as_bytes());
        assert!(out.status.success(), "{role}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).expect("UTF-8 in, UTF-8 out");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), cases.len());
        for (case, line) in cases.iter().zip(lines) {
            let expected = match role {
                "admin" => &case.input,
                "operator" => &case.operator,
                _ => &case.readonly,
            };
            assert_eq!(line, expected, "case {} as {role}", case.name);
        }
    }
}

#[test]
fn files_are_read_in_order_and_stats_are_one_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    std::fs::write(&a, "from alice@example.com\n").unwrap();
    std::fs::write(&b, "peer 192.0.2.1 and 2001:db8::7\n").unwrap();
    let out = logmask(&["mask", "--role", "readonly", "--stats", a.to_str().unwrap(), b.to_str().unwrap()], b"");
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "from <email>\npeer <ipv4> and <ipv6>\n");
    let stats: serde_json::Value = serde_json::from_slice(&out.stderr).expect("stderr is one JSON line");
    assert_eq!(stats, serde_json::json!({"emails": 1, "ipv4": 1, "ipv6": 1, "custom": 0}));
}

#[test]
fn unknown_role_is_exit_2_with_the_valid_roles_named() {
    let out = logmask(&["mask", "--role", "auditor"], b"a@example.com\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing is masked with a silent default");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auditor") && err.contains("readonly") && err.contains("operator"), "{err}");
}

#[test]
fn bad_policy_is_exit_2_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[operator]\nipv4_prefix = 12\n").unwrap();
    let out = logmask(&["mask", "--role", "operator", "--policy", policy.to_str().unwrap()], b"10.0.0.1\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ipv4_prefix"));
}

#[test]
fn policy_and_token_key_file_shape_the_views_and_the_key_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[operator]\nemail = \"domain-only\"\nipv4_prefix = 16\n[readonly]\ntoken_key_id = \"k7\"\n\
         [[identifiers]]\nname = \"order_id\"\npattern = 'ORD-[0-9]{8}'\n",
    )
    .unwrap();
    let key = dir.path().join("key");
    let secret = "s3cr3t-token-key-0123456789abcdef";
    std::fs::write(&key, format!("{secret}\n")).unwrap();
    let input = b"Bob@Example.com bob%40example.com 10.1.2.3 ORD-12345678\n";
    let p = policy.to_str().unwrap();
    let k = key.to_str().unwrap();

    let op = logmask(&["mask", "--role", "operator", "--policy", p], input);
    assert_eq!(String::from_utf8(op.stdout).unwrap(), "***@Example.com ***%40example.com 10.1.*.* <order_id>\n");

    let ro = logmask(&["mask", "--role", "readonly", "--policy", p, "--token-key-file", k, "--stats"], input);
    assert!(ro.status.success());
    let text = String::from_utf8(ro.stdout).unwrap();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    assert!(tokens[0].starts_with("<email:k7:") && tokens[0].len() == "<email:k7:>".len() + 12, "{text}");
    assert_eq!(tokens[0], tokens[1], "one address, one pseudonym, whatever the spelling");
    assert!(tokens[2].starts_with("<ipv4:k7:") && tokens[3].starts_with("<order_id:k7:"));
    let stderr = String::from_utf8(ro.stderr).unwrap();
    for haystack in [&text, &stderr] {
        assert!(!haystack.contains(secret) && !haystack.contains("s3cr3t"), "key leaked: {haystack}");
    }
}

#[test]
fn bundled_sample_masks_without_input() {
    let out = logmask(&["mask", "--role", "operator", "--sample", "--stats"], b"");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("t***@example.jp") && text.contains("198.51.100.*") && text.contains("2001:db8:85a3:*"));
    assert!(text.contains("v10.20.30.40.50") && text.contains("1.3.6.1.4.1.311") && text.contains("00:1a:2b:3c:4d:5e"));
    let stats: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(stats["emails"].as_u64().unwrap() >= 8 && stats["ipv6"].as_u64().unwrap() >= 3, "{stats}");
}

/// `tail -f app.log | logmask mask`: each line comes out while the pipe is still open and idle,
/// not when a chunk fills or the input ends.
#[test]
fn lines_from_an_open_idle_pipe_come_out_at_once() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_logmask"))
        .args(["mask", "--role", "readonly"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the logmask binary runs");
    let mut input = child.stdin.take().expect("piped stdin");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.expect("utf-8 output")).is_err() {
                break;
            }
        }
    });
    let wait = std::time::Duration::from_secs(30);
    input.write_all(b"login from 10.0.0.1\n").unwrap();
    input.flush().unwrap();
    assert_eq!(rx.recv_timeout(wait).expect("the first line before any more input"), "login from <ipv4>");
    input.write_all(b"mail to bob@example.com\n").unwrap();
    input.flush().unwrap();
    assert_eq!(rx.recv_timeout(wait).expect("the second line"), "mail to <email>");
    drop(input);
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
}

/// A file truncated in place while it is masked (a log rotation with `copytruncate`) ends the
/// run with an error and a non-zero status, never a silently shorter output. The output pipe is
/// left unread until the first masked bytes arrive, so the command is inside the file when it
/// shrinks (its pipeline holds a few MiB; the file is 51 MiB).
#[cfg(target_os = "linux")]
#[test]
fn a_file_truncated_while_masked_is_an_error_not_a_short_output() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rotating.log");
    std::fs::write(&path, b"GET /index.html from 10.0.0.1 for bob@example.com\n".repeat(1 << 20)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_logmask"))
        .args(["mask", "--role", "readonly"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the logmask binary runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).expect("masked output starts");
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a truncated input must fail the run");
    assert!(stderr.contains("shrank while it was being masked"), "{stderr}");
    let whole = b"GET /index.html from <ipv4> for <email>\n".len() << 20;
    assert!(rest.len() + 1 < whole, "the output is incomplete ({} of {whole} bytes), and says so", rest.len() + 1);
}
