//! The shared PII corpus (`tests/data/corpus.toml`) and the location of the third-party test data,
//! for every consumer's tests: the engine's, the Lambdas' and the CLI's.
//!
//! Each corpus case is one input line with the findings the engine must report (kind and text,
//! in order) and the exact operator and readonly renderings. The admin rendering is always the
//! input itself, so it is not written per case.
//!
//! # Example
//!
//! ```
//! use logmask_conformance::{check_case, corpus};
//! use logmask_mask::Masker;
//!
//! let masker = Masker::new();
//! for case in corpus() {
//!     check_case(&case, &masker).unwrap();
//! }
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use logmask_mask::{Finding, Kind, Masker, Role};
use serde::Deserialize;

/// The corpus file, compiled in so consumers need no path handling.
pub const CORPUS_TOML: &str = include_str!("data/corpus.toml");

/// One corpus case.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique kebab-case name.
    pub name: String,
    /// Free-form groups (`email`, `json`, `negative`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The input line.
    pub input: String,
    /// Every address the engine must report, in order.
    pub findings: Vec<ExpectedFinding>,
    /// The exact operator view.
    pub operator: String,
    /// The exact readonly view (default policy, no token key).
    pub readonly: String,
}

impl Case {
    /// Whether the case carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// One expected finding: its kind and the exact text it covers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    /// `email`, `ipv4` or `ipv6`.
    pub kind: String,
    /// The bytes of the input the finding covers.
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    case: Vec<Case>,
}

/// Every corpus case, in file order.
///
/// # Panics
///
/// When the corpus is malformed: bad TOML, unknown fields, duplicate or non-kebab-case names,
/// unknown finding kinds, or a finding text that does not occur in its input. The message
/// names the problem and the case.
pub fn corpus() -> Vec<Case> {
    parse_corpus(CORPUS_TOML).unwrap_or_else(|e| panic!("tests/data/corpus.toml is malformed: {e}"))
}

/// Parses and validates corpus text (see [`corpus`]).
pub fn parse_corpus(text: &str) -> Result<Vec<Case>, String> {
    let file: CorpusFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut names = HashSet::new();
    for case in &file.case {
        let name = &case.name;
        let kebab = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !kebab {
            return Err(format!("case name {name:?} is not kebab-case"));
        }
        if !names.insert(name.as_str()) {
            return Err(format!("case name {name:?} is used twice"));
        }
        for f in &case.findings {
            if !matches!(f.kind.as_str(), "email" | "ipv4" | "ipv6") {
                return Err(format!("case {name:?}: unknown finding kind {:?} (email|ipv4|ipv6)", f.kind));
            }
            if f.text.is_empty() || !case.input.contains(&f.text) {
                return Err(format!("case {name:?}: finding text {:?} is not in the input", f.text));
            }
        }
        if case.findings.is_empty() && (case.operator != case.input || case.readonly != case.input) {
            return Err(format!("case {name:?}: no findings, so operator and readonly must equal the input"));
        }
    }
    Ok(file.case)
}

/// The name a corpus uses for a finding's kind.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Email { .. } => "email",
        Kind::Ipv4 => "ipv4",
        Kind::Ipv6(_) => "ipv6",
        Kind::Custom(_) => "custom",
    }
}

/// `(kind, text)` of each finding, for comparison with [`Case::findings`].
pub fn describe(hay: &str, found: &[Finding]) -> Vec<(String, String)> {
    found
        .iter()
        .map(|f| (kind_name(f.kind).to_owned(), String::from_utf8_lossy(&hay.as_bytes()[f.start..f.end]).into_owned()))
        .collect()
}

/// Checks one case against `masker` (a default-policy masker without a token key): findings,
/// the three views, idempotence of the masked views, and that nothing is found in them again.
///
/// `Err` lists every mismatch of the case, so a failure report shows all of them at once.
pub fn check_case(case: &Case, masker: &Masker) -> Result<(), String> {
    let mut problems = Vec::new();
    let expected: Vec<(String, String)> = case.findings.iter().map(|f| (f.kind.clone(), f.text.clone())).collect();
    let found = describe(&case.input, &masker.find(case.input.as_bytes()));
    if found != expected {
        problems.push(format!("findings: expected {expected:?}, got {found:?}"));
    }
    let (admin, _) = masker.mask_str(Role::Admin, &case.input);
    if admin != case.input {
        problems.push(format!("admin: expected the input, got {admin:?}"));
    }
    for (role, want) in [(Role::Operator, &case.operator), (Role::Readonly, &case.readonly)] {
        let (got, counts) = masker.mask_str(role, &case.input);
        if &got != want {
            problems.push(format!("{role}: expected {want:?}, got {got:?}"));
        }
        if counts.total() != expected.len() as u64 {
            problems.push(format!("{role}: counts {counts:?} do not add up to {} findings", expected.len()));
        }
        let (again, _) = masker.mask_str(role, &got);
        if again != got {
            problems.push(format!("{role}: not idempotent: {got:?} masks again to {again:?}"));
        }
        let refound = describe(&got, &masker.find(got.as_bytes()));
        if !refound.is_empty() {
            problems.push(format!("{role}: the output {got:?} still contains findings {refound:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("case {:?} (input {:?}):\n  {}", case.name, case.input, problems.join("\n  ")))
    }
}

/// `../shared/testdata` beside the repository (`shared/` is a sibling of the repo directory), or
/// `None` after printing a skip message when it is absent.
pub fn shared_testdata() -> Option<PathBuf> {
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives inside the repository");
    let dir = repo_root.join("../shared/testdata");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: ../shared/testdata not found (looked for {})", dir.display());
        None
    }
}
