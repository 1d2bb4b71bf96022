//! `logmask query` end to end: the real binary on the example events of functions/data-masking.

use std::path::PathBuf;
use std::process::{Command, Output};

fn event(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../functions/data-masking/events").join(name)
}

/// Runs `logmask query` with a clean data-masking environment plus `env`.
fn query(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logmask"));
    cmd.arg("query").args(args);
    for name in logmask_query::ENV_VARS {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("the logmask binary runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_seed_invoke_prints_the_readonly_view_and_one_audit_line() {
    let path = event("direct-seed.json");
    let out = query(&["--event", path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let response = json(&out);
    assert_eq!(response["maskedData"], "Email sent to <email> from IP <ipv4>");
    assert_eq!((response["role"].as_str(), response["mode"].as_str()), (Some("readonly"), Some("direct")));
    assert_eq!(response["counts"], serde_json::json!({"emails": 1, "ipv4": 1, "ipv6": 0, "custom": 0}));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let audit: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(audit["outcome"], "ok");
    assert!(!stderr.contains("goo.ne.jp") && !stderr.contains("192.168.1.100"), "{stderr}");
}

#[test]
fn flags_set_the_networks_and_the_restriction() {
    let path = event("direct-list.json");
    let p = path.to_str().unwrap();
    let env = [("DIRECT_INVOKE_MAX_ROLE", "admin")];
    let on = json(&query(&["--event", p, "--ip-restriction", "on", "--operator-cidr", "192.168.100.0/24"], &env));
    assert_eq!((on["role"].as_str(), on["ipRole"].as_str()), (Some("operator"), Some("operator")));
    let data = on["maskedData"].as_array().unwrap();
    assert_eq!(data[0], "2026-12-01T09:30:02Z delivery to t***@example.co.jp via 203.0.113.*");
    assert!(data[1].as_str().unwrap().contains("\"j***@example.org\""), "{}", data[1]);
    // Outside every range, restriction on: readonly; off: the group role.
    let out = json(&query(&["--event", p, "--ip-restriction", "on"], &env));
    assert_eq!(out["role"], "readonly");
    let off = json(&query(&["--event", p, "--ip-restriction", "off"], &env));
    assert_eq!(off["role"], "operator");
    let bad = query(&["--event", p, "--admin-cidr", "10.0.0.1/8"], &env);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--admin-cidr"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn a_function_url_request_ignores_body_claims() {
    let path = event("function-url.json");
    let out = query(&["--event", path.to_str().unwrap(), "--operator-cidr", "192.168.100.0/24"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let response = json(&out);
    assert_eq!(response["statusCode"], 200);
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    // The assumed role's name maps to operator; the body's admin claim changes nothing.
    assert_eq!((body["role"].as_str(), body["groupRole"].as_str()), (Some("operator"), Some("operator")));
    assert_eq!(body["maskedData"], "Email sent to u***@goo.ne.jp from IP 192.168.1.*");
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"ignoredClaims\":[\"userGroups\"]"));
}

#[test]
fn an_invalid_payload_is_a_clear_error() {
    let path = event("invalid.json");
    let out = query(&["--event", path.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let response = json(&out);
    assert_eq!(response["errorType"], "InvalidPayload");
    assert!(response["errorMessage"].as_str().unwrap().contains("unknown field \"userGroup\""), "{response}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("user@goo"));
}
