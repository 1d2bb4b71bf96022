//! Production builds contain no test support: for every shipped binary (each package under
//! `functions/`, and the `logmask` CLI), `cargo tree -e normal` — the dependency graph and the
//! features a release build of that package resolves for this (Linux) host, as the Lambda
//! artefacts are built, dev-dependencies left out — must reach none of the test crates and
//! enable no `test-util` feature. Adding `features = ["test-util"]` to a function's
//! `[dependencies]` fails this test.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// Crates only tests and benchmarks may depend on.
const TEST_ONLY: &[&str] = &[
    "logmask-test-support",
    "logmask-conformance",
    "proptest",
    "aws-smithy-mocks",
    "aws-smithy-mocks-experimental",
    "criterion",
];

/// `test-util` features that upstream turns on in its own `[dependencies]`, not ours to remove:
/// aws-config 1.x depends on `aws-credential-types` with `features = ["test-util"]`, which enables
/// the other two. They add constructors for static credentials and test bodies, no fakes of ours.
/// Any other crate's `test-util` (ours, an `aws-sdk-*`'s mocks, `aws-smithy-runtime`'s) fails.
const UPSTREAM_TEST_UTIL: &[&str] = &["aws-credential-types", "aws-smithy-runtime-api", "aws-smithy-types"];

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo).args(args).current_dir(workspace_root()).output().unwrap();
    assert!(output.status.success(), "cargo {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The shipped packages: every workspace package under `functions/`, and the CLI.
fn shipped_packages() -> Vec<String> {
    let metadata: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--no-deps", "--format-version", "1", "--locked"])).unwrap();
    let functions = workspace_root().join("functions").canonicalize().unwrap();
    let mut names: Vec<String> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap());
            manifest.starts_with(&functions) || p["name"] == "logmask-cli"
        })
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// What is wrong in `package`'s graph along `edges`: test-only crates reached and `test-util`
/// features enabled, as "crate" and "crate/test-util".
fn test_support_in(package: &str, edges: &str) -> BTreeSet<String> {
    let tree = cargo(&["tree", "--locked", "-p", package, "-e", edges, "--prefix", "none", "--format", "{p}|{f}"]);
    let mut found = BTreeSet::new();
    for line in tree.lines().filter(|l| !l.trim().is_empty()) {
        let (id, features) = line.split_once('|').unwrap_or_else(|| panic!("unexpected cargo tree line: {line}"));
        let name = id.split_whitespace().next().unwrap();
        if TEST_ONLY.contains(&name) {
            found.insert(name.to_owned());
        }
        // `{f}` is a comma-separated list; a repeated subtree ends in " (*)".
        let features = features.trim_end_matches(" (*)");
        if features.split(',').any(|f| f.trim() == "test-util") && !UPSTREAM_TEST_UTIL.contains(&name) {
            found.insert(format!("{name}/test-util"));
        }
    }
    found
}

#[test]
fn no_shipped_binary_depends_on_test_support() {
    let packages = shipped_packages();
    assert!(packages.len() >= 6, "functions/* and the CLI expected: {packages:?}");
    let offenders: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let found = test_support_in(p, "normal");
            (!found.is_empty()).then(|| format!("{p}: {}", found.into_iter().collect::<Vec<_>>().join(", ")))
        })
        .collect();
    assert!(offenders.is_empty(), "test support in production builds:\n{}", offenders.join("\n"));
}

/// The check sees what it must refuse: dkim-manager's tests use the DKIM fakes, so its graph
/// with dev-dependencies enables `logmask-dkim/test-util`.
#[test]
fn the_check_finds_test_util_where_dev_dependencies_enable_it() {
    let found = test_support_in("dkim-manager", "normal,dev");
    assert!(found.contains("logmask-dkim/test-util"), "{found:?}");
    assert!(test_support_in("dkim-manager", "normal").is_empty());
}
