//! Times every unit of two pieces (and a third, short one) of address text, repeated without a
//! line break, in the operator and readonly views, and prints the slowest and any that grow
//! faster than the input: the adversarial row's corpora are what someone thought of, this is
//! what a machine finds.
//!
//! `cargo run --release -p logmask-benches --bin unit-sweep [ROWS]`. A unit 8× longer should
//! take ~8× the time; a ratio above 12 is flagged (quadratic would be 64). Best of three
//! passes per figure, `Instant`: a sweep, not a benchmark to quote.

use std::time::Instant;

use logmask_mask::{Masker, Role};

const PIECES: [&str; 22] = [
    "1.2.3.4",
    "::",
    ":1",
    "@",
    "a@b.cc",
    "%40",
    "\\u0040",
    "ip-1-2-3-4",
    ".",
    "-",
    "１．",
    "*",
    "<ipv4>",
    "fe80::1",
    "bob",
    "1",
    "a",
    "\\u002e",
    "%2e",
    "＠",
    "[",
    "]",
];
const ENDS: [&str; 4] = ["", "1", ".", ":"];

fn seconds(masker: &Masker, role: Role, unit: &[u8], kib: usize, out: &mut Vec<u8>) -> f64 {
    let hay = unit.repeat(kib * 1024 / unit.len() + 1);
    (0..3)
        .map(|_| {
            out.clear();
            let started = Instant::now();
            masker.mask_into(role, &hay, out);
            started.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let rows: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20);
    let masker = Masker::new();
    let mut out = Vec::with_capacity(1 << 20);
    let mut results = Vec::new();
    for a in PIECES {
        for b in PIECES {
            for c in ENDS {
                let unit = format!("{a}{b}{c}");
                for role in [Role::Operator, Role::Readonly] {
                    let small = seconds(&masker, role, unit.as_bytes(), 32, &mut out);
                    let large = seconds(&masker, role, unit.as_bytes(), 256, &mut out);
                    results.push((256.0 * 1024.0 / large / 1e6, large / small, unit.clone(), role));
                }
            }
        }
    }
    results.sort_by(|x, y| x.0.total_cmp(&y.0));
    println!("| unit | view | MB/s (256 KiB) | time ÷ time at 32 KiB |");
    println!("|---|---|---|---|");
    for (mbs, ratio, unit, role) in results.iter().take(rows) {
        println!("| `{unit}` | {role} | {mbs:.1} | {ratio:.1} |");
    }
    let growing: Vec<_> = results.iter().filter(|r| r.1 > 12.0).collect();
    println!("\n{} of {} figures grow faster than the input (ratio > 12)", growing.len(), results.len());
    for (mbs, ratio, unit, role) in growing.iter().take(rows) {
        println!("  `{unit}` {role}: {mbs:.1} MB/s, ratio {ratio:.1}");
    }
}
