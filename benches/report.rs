//! Prints the `engine` bench results as one table, with the ratios the engine is held to.
//!
//! `cargo run -p logmask-benches --release --bin bench-report [CRITERION_DIR] [dictionary]`; the
//! directory defaults to `$CARGO_TARGET_DIR/criterion`, else `target/criterion`; `dictionary`
//! prints only the dictionary row (after `cargo bench … --bench engine -- dictionary`).
//! `floor_classify_copy` is the copy plus the block classifier alone: what the engine would cost
//! with no address logic at all.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const CORPORA: [&str; 3] = ["ses_json", "app_logs", "clean_logs"];
const BENCHES: [&str; 8] = [
    "admin",
    "operator",
    "readonly",
    "readonly_keyed",
    "naive_regex",
    "naive_regex_ascii",
    "memcpy",
    "floor_classify_copy",
];

/// Median bytes per second of one benchmark, from criterion's saved estimates.
fn throughput(dir: &Path, corpus: &str, bench: &str) -> Result<f64, String> {
    let read = |file: &str| -> Result<serde_json::Value, String> {
        let path = dir.join(corpus).join(bench).join("new").join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let nanos = read("estimates.json")?["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{corpus}/{bench}: no median in estimates.json"))?;
    let bytes = read("benchmark.json")?["throughput"]["Bytes"]
        .as_f64()
        .ok_or_else(|| format!("{corpus}/{bench}: no byte throughput in benchmark.json"))?;
    Ok(bytes / (nanos * 1e-9))
}

fn human(bytes_per_sec: f64) -> String {
    match bytes_per_sec {
        t if t >= 1e9 => format!("{:.2} GB/s", t / 1e9),
        t if t >= 1e7 => format!("{:.0} MB/s", t / 1e6),
        t => format!("{:.1} MB/s", t / 1e6),
    }
}

/// The target for the readonly view on each corpus: (what it is compared with, minimum ratio).
fn target(corpus: &str) -> (&'static str, f64) {
    match corpus {
        "ses_json" => ("naive_regex", 40.0),
        "app_logs" => ("naive_regex", 4.0),
        _ => ("memcpy", 0.25),
    }
}

fn main() -> ExitCode {
    let (only, dirs): (Vec<_>, Vec<_>) = std::env::args_os().skip(1).partition(|a| a == "dictionary");
    let dir = dirs.into_iter().next().map(PathBuf::from).unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
        target.join("criterion")
    });
    if !only.is_empty() {
        // `-- dictionary` runs only that group: its row alone, and whether its target is met.
        return if dictionary(&dir) { ExitCode::SUCCESS } else { ExitCode::from(2) };
    }
    let mut rows = Vec::new();
    for corpus in CORPORA {
        let mut row = Vec::new();
        for bench in BENCHES {
            match throughput(&dir, corpus, bench) {
                Ok(t) => row.push(t),
                Err(e) => {
                    eprintln!("bench-report: {e}\nrun `cargo bench -p logmask-benches --bench engine` first");
                    return ExitCode::FAILURE;
                }
            }
        }
        rows.push(row);
    }

    println!(
        "| corpus | {} | readonly ÷ naive | readonly ÷ naive_ascii | readonly ÷ memcpy | floor ÷ memcpy | target |",
        BENCHES.join(" | ")
    );
    println!("|---|{}---|---|---|---|---|", "---|".repeat(BENCHES.len()));
    let mut all_met = true;
    for (corpus, row) in CORPORA.iter().zip(&rows) {
        let at = |name: &str| row[BENCHES.iter().position(|b| *b == name).expect("known bench")];
        let (against, minimum) = target(corpus);
        let ratio = at("readonly") / at(against);
        let met = ratio >= minimum;
        all_met &= met;
        let cells: Vec<String> = row.iter().map(|&t| human(t)).collect();
        println!(
            "| {corpus} | {} | {:.1}× | {:.1}× | {:.3}× | {:.3}× | readonly ≥ {minimum}× {against}: {} |",
            cells.join(" | "),
            at("readonly") / at("naive_regex"),
            at("readonly") / at("naive_regex_ascii"),
            at("readonly") / at("memcpy"),
            at("floor_classify_copy") / at("memcpy"),
            if met { "met".to_owned() } else { format!("MISSED ({:.0}% of target)", 100.0 * ratio / minimum) },
        );
    }
    all_met &= worst_case(&dir);
    dictionary(&dir);
    if all_met { ExitCode::SUCCESS } else { ExitCode::from(2) }
}

/// Prints the adversarial row: the slowest corpus per role and the worst of all, against the
/// worst-case target. Returns whether the target is met.
fn worst_case(dir: &Path) -> bool {
    let target = logmask_benches::WORST_CASE_TARGET;
    let mut worst: Option<(f64, String)> = None;
    println!();
    println!("| adversarial corpus | admin | operator | readonly |");
    println!("|---|---|---|---|");
    for (name, _) in logmask_benches::ADVERSARIAL {
        let mut cells = Vec::new();
        for role in ["admin", "operator", "readonly"] {
            let bench = format!("{name}_{role}");
            match throughput(dir, "adversarial", &bench) {
                Ok(t) => {
                    cells.push(human(t));
                    if worst.as_ref().is_none_or(|(w, _)| t < *w) {
                        worst = Some((t, bench));
                    }
                }
                Err(e) => {
                    eprintln!("bench-report: {e}");
                    cells.push("–".to_owned());
                }
            }
        }
        println!("| `{name}` | {} |", cells.join(" | "));
    }
    let Some((t, bench)) = worst else {
        eprintln!("bench-report: no adversarial results; run the engine bench first");
        return false;
    };
    let met = t >= target;
    println!(
        "\nworst case: {} ({bench}) against a target of ≥ {}: {}",
        human(t),
        human(target),
        if met { "met".to_owned() } else { format!("MISSED ({:.0}% of target)", 100.0 * t / target) }
    );
    met
}

/// Prints the dictionary-identifier row (issue 12): readonly on the app-log corpus with 10 000
/// terms against readonly without, from the same interleaved group, and returns whether the
/// ≥ 0.5× target is met. In the full report it is informational: missing results are
/// reported, not failed on.
fn dictionary(dir: &Path) -> bool {
    let row: Result<Vec<f64>, String> = ["readonly", "readonly_10k_terms", "readonly_10k_terms_ci"]
        .into_iter()
        .map(|bench| throughput(dir, "dictionary", bench))
        .collect();
    let Ok(row) = row else {
        eprintln!("bench-report: no dictionary results; run the engine bench first");
        return false;
    };
    println!();
    println!("| app logs, readonly | no terms | 10 000 terms | 10 000 terms, case-insensitive | ratio | target |");
    println!("|---|---|---|---|---|---|");
    let ratio = row[1] / row[0];
    println!(
        "| dictionary | {} | {} | {} | {ratio:.2}× ({:.2}× case-insensitive) | ≥ 0.5×: {} |",
        human(row[0]),
        human(row[1]),
        human(row[2]),
        row[2] / row[0],
        if ratio >= 0.5 { "met".to_owned() } else { format!("MISSED ({:.0}% of target)", 100.0 * ratio / 0.5) }
    );
    ratio >= 0.5
}
