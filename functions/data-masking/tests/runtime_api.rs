//! The real `data-masking` binary served by a local Lambda Runtime API (logmask-test-support's
//! harness): the seed's invoke masked for readonly, its audit line in the function log without
//! the data, and the cold-start init time (process start → first `/next` poll) printed.
//! `DATA_MASKING_BIN` may point at another build.

use logmask_test_support::runtime_api::invoke_once;

#[test]
fn the_binary_masks_the_seed_invoke_through_the_runtime_api() {
    let seed = r#"{"userGroups":["ses-migration-production-admin"],"logData":"Email sent to user@goo.ne.jp from IP 192.168.1.100"}"#;
    let binary = std::env::var("DATA_MASKING_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_data-masking").to_owned());
    let env = [("PROJECT_CODE", "ses-migration"), ("ENVIRONMENT", "production"), ("ADMIN_IP_RANGES", "10.0.0.0/8")];
    let run = invoke_once(binary, "data-masking", &env, seed.as_bytes());
    println!("cold-start init (process start → first /next): {:?}", run.init);

    let response: serde_json::Value = serde_json::from_slice(&run.response).unwrap();
    // The admin claim of a direct invoke reaches only DIRECT_INVOKE_MAX_ROLE (readonly).
    assert_eq!(response["maskedData"], "Email sent to <email> from IP <ipv4>");
    assert_eq!((response["role"].as_str(), response["groupRole"].as_str()), (Some("readonly"), Some("admin")));

    let log = run.stdout + &run.stderr;
    let audits: Vec<&str> = log.lines().filter(|l| l.contains("logmask_query::audit")).collect();
    assert_eq!(audits.len(), 1, "{log}");
    let fields = &serde_json::from_str::<serde_json::Value>(audits[0]).unwrap()["fields"];
    assert_eq!((fields["role"].as_str(), fields["group_role"].as_str()), (Some("readonly"), Some("admin")));
    assert_eq!((fields["caller"].as_str(), fields["emails"].as_u64()), (Some("unverified"), Some(1)));
    assert!(!log.contains("goo.ne.jp") && !log.contains("192.168.1.100"), "no data in the function log:\n{log}");
}
