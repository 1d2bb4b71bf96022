//! Masking throughput per role on three generated corpora, next to a naive one-regex masker and a
//! plain copy of the same buffer, so the ratios the engine is held to are visible in one run.
//!
//! `cargo bench -p logmask-benches --bench engine`, then
//! `cargo run -p logmask-benches --release --bin bench-report` for the table.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logmask_mask::{Masker, Policy, Role};
use regex::bytes::{NoExpand, Regex};

/// The baseline: what a hand-written masker looks like — one alternation of the usual e-mail,
/// dotted-quad and RFC 4291 IPv6 patterns, replaced in one `replace_all`. `{B}` stands for the
/// word boundary, filled in two ways:
///
/// * `naive_regex`: plain `\b`, as people write it. In the `regex` crate it is Unicode-aware,
///   and its lazy DFA gives up on non-ASCII bytes (Japanese text), falling back to the much
///   slower PikeVM. This is the baseline the targets name.
/// * `naive_regex_ascii`: `(?-u:\b)`, a tuned regex that stays on the DFA: the strongest
///   one-regex competitor, kept next to it so the ratio is not read out of context.
const NAIVE_PATTERN: &str = concat!(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    r"|{B}(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]){B}",
    r"|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}",
    r"|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}",
    r"|(?:[0-9A-Fa-f]{1,4}:){1,7}:",
    r"|::(?:[Ff]{4}:)?(?:[0-9]{1,3}\.){3}[0-9]{1,3}",
    r"|:(?::[0-9A-Fa-f]{1,4}){1,7}",
);

/// How much of a corpus the slow baseline masks per iteration.
const SLOW_PREFIX_BYTES: usize = 128 * 1024;

/// A fixed bench key (32 bytes): pseudonyms cost one HMAC-SHA-256 per finding.
const TOKEN_KEY: &[u8; 32] = b"logmask bench key, not a secret!";

fn bench_corpus(c: &mut Criterion, name: &str, corpus: &[u8]) {
    let plain = Masker::new();
    let keyed = Masker::builder(Policy::default()).token_key(*TOKEN_KEY).build().expect("valid bench key");
    let naive = Regex::new(&NAIVE_PATTERN.replace("{B}", r"\b")).expect("the baseline pattern compiles");
    let naive_ascii = Regex::new(&NAIVE_PATTERN.replace("{B}", r"(?-u:\b)")).expect("the baseline pattern compiles");
    let mut out = Vec::with_capacity(corpus.len() * 2);

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(corpus.len() as u64));
    group.sample_size(15).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for role in Role::ALL {
        group.bench_function(role.as_str(), |b| {
            b.iter(|| {
                out.clear();
                black_box(plain.mask_into(role, black_box(corpus), &mut out));
            })
        });
    }
    group.bench_function("readonly_keyed", |b| {
        b.iter(|| {
            out.clear();
            black_box(keyed.mask_into(Role::Readonly, black_box(corpus), &mut out));
        })
    });
    group.bench_function("naive_regex_ascii", |b| {
        b.iter(|| black_box(naive_ascii.replace_all(black_box(corpus), NoExpand(b"<pii>"))))
    });
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(corpus));
            black_box(&out);
        })
    });
    // The floor of this engine's design on this corpus: the copy every masked view makes, plus
    // the block classifier with no candidate arithmetic and no visits.
    group.bench_function("floor_classify_copy", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(corpus));
            black_box(logmask_mask::classify_blocks(black_box(corpus)));
        })
    });
    // The Unicode-`\b` regex runs at a few MB/s: a prefix keeps the suite short, and throughput
    // is per byte, so the ratio stays comparable (the cost is per byte, not per buffer).
    let prefix = &corpus[..corpus.len().min(SLOW_PREFIX_BYTES)];
    group.throughput(Throughput::Bytes(prefix.len() as u64));
    group.bench_function("naive_regex", |b| {
        b.iter(|| black_box(naive.replace_all(black_box(prefix), NoExpand(b"<pii>"))))
    });
    group.finish();
}

/// Bytes of each adversarial corpus: enough to leave the L2 cache, small enough for a quick row.
const ADVERSARIAL_BYTES: usize = 1 << 20;

/// The worst-case row: every adversarial corpus in every role (`adversarial/<corpus>_<role>`).
/// `bench-report` prints the slowest of them against the worst-case target.
fn adversarial(c: &mut Criterion) {
    let plain = Masker::new();
    let mut out = Vec::with_capacity(ADVERSARIAL_BYTES * 4);
    let mut group = c.benchmark_group("adversarial");
    group.sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_millis(800));
    for (name, unit) in logmask_benches::ADVERSARIAL {
        let corpus = logmask_benches::adversarial(unit, ADVERSARIAL_BYTES);
        group.throughput(Throughput::Bytes(corpus.len() as u64));
        for role in Role::ALL {
            group.bench_function(format!("{name}_{role}"), |b| {
                b.iter(|| {
                    out.clear();
                    black_box(plain.mask_into(role, black_box(&corpus), &mut out));
                })
            });
        }
    }
    group.finish();
}

/// How many terms the dictionary row compiles.
const DICTIONARY_TERMS: usize = 10_000;

/// `n` dictionary terms as an operator would list them: customer and company names (Latin and
/// Japanese), internal host names and project code names, all distinct, with a few names the
/// app-log corpus holds (`yamada`, `山田 太郎`) so the row also pays for matches.
fn dictionary_terms(n: usize) -> Vec<String> {
    const SYLLABLES: &[&str] =
        &["ka", "no", "ri", "ta", "mi", "shi", "ro", "be", "lu", "xo", "ven", "dra", "tor", "qui", "sel", "mar"];
    const KANJI: &[char] =
        &['山', '川', '田', '中', '高', '橋', '森', '林', '本', '東', '西', '商', '電', '工', '堂', '屋'];
    let mut terms: Vec<String> = ["yamada", "suzuki", "hanako", "山田 太郎", "鈴木 花子"].map(String::from).to_vec();
    let mut seen: std::collections::HashSet<String> = terms.iter().cloned().collect();
    let mut rng = fastrand::Rng::with_seed(0x0D1C_7105);
    // Drawn as `u64`: `Rng::usize` draws differently on 32- and 64-bit targets.
    let mut next = |k: u64| rng.u64(..k) as usize;
    while terms.len() < n {
        let i = terms.len();
        let word: String = (0..2 + next(3)).map(|_| SYLLABLES[next(SYLLABLES.len() as u64)]).collect();
        let term = match i % 4 {
            0 => format!("{}{} {}", word[..1].to_uppercase(), &word[1..], ["Holdings", "Corp", "Ltd", "KK"][next(4)]),
            1 => format!("{word}-{}-{:02}.internal", ["db", "api", "cache"][next(3)], next(100)),
            2 => format!("{}{}", word[..1].to_uppercase(), &word[1..]),
            _ => (0..2 + next(3)).map(|_| KANJI[next(KANJI.len() as u64)]).chain("商事".chars()).collect(),
        };
        if seen.insert(term.clone()) {
            terms.push(term);
        }
    }
    terms
}

/// The dictionary-identifier row (issue 12): readonly on the app-log corpus with and without
/// 10 000 terms, interleaved in one group so a busy machine slows both alike.
fn dictionary(c: &mut Criterion) {
    let corpus = logmask_benches::app_logs(logmask_benches::CORPUS_BYTES);
    let terms = dictionary_terms(DICTIONARY_TERMS);
    let masker = |case_insensitive: bool| {
        let policy = Policy {
            identifiers: vec![logmask_mask::IdentifierPolicy {
                name: "customer".into(),
                terms: terms.clone(),
                case_insensitive,
                ..Default::default()
            }],
            ..Policy::default()
        };
        Masker::builder(policy).build().expect("the bench terms are valid")
    };
    let plain = Masker::new();
    let (exact, folded) = (masker(false), masker(true));
    let mut out = Vec::with_capacity(corpus.len() * 2);
    let mut group = c.benchmark_group("dictionary");
    group.throughput(Throughput::Bytes(corpus.len() as u64));
    group.sample_size(15).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for (name, m) in [("readonly", &plain), ("readonly_10k_terms", &exact), ("readonly_10k_terms_ci", &folded)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                black_box(m.mask_into(Role::Readonly, black_box(&corpus), &mut out));
            })
        });
    }
    group.finish();
}

fn engine(c: &mut Criterion) {
    let size = logmask_benches::CORPUS_BYTES;
    bench_corpus(c, "ses_json", &logmask_benches::ses_json(size));
    bench_corpus(c, "app_logs", &logmask_benches::app_logs(size));
    bench_corpus(c, "clean_logs", &logmask_benches::clean_logs(size));
    adversarial(c);
}

criterion_group!(benches, engine, dictionary);
criterion_main!(benches);
