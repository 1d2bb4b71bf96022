//! Backfill throughput per core on a local tree (a harness, not criterion: one run of a whole
//! tree is the unit that matters, and it takes seconds).
//!
//! The tree holds the three object shapes of a raw Firehose archive: CloudWatch Logs source-record
//! backups (gzip members of 200-event documents back to back), gzip SES event NDJSON, and plain
//! application logs (~20 % of lines with an address). Each shape is backfilled alone, then the
//! whole tree with 1 and 2 workers. MB/s are of decompressed source bytes per second of wall
//! time; "stored" is the same for the bytes as stored (compressed for gzip).
//!
//! `cargo bench -p logmask-benches --bench backfill`

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use logmask_archive::{Fingerprint, LocalDest, LocalSource, Options, Outcome, run};
use logmask_firehose::samples::cloudwatch_logs_document;
use logmask_mask::{Masker, Policy, Role};

const OBJECT_BYTES: usize = 4 * 1024 * 1024;
const OBJECTS_PER_SHAPE: usize = 6;
/// Best of this many runs: the development machine is shared and noisy.
const RUNS: usize = 3;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn make_tree(root: &Path) {
    for i in 0..OBJECTS_PER_SHAPE {
        let mut cwl = Vec::new();
        let mut raw = 0;
        let mut seed = i as u64 * 1000;
        while raw < OBJECT_BYTES {
            let doc = cloudwatch_logs_document(seed, 200);
            raw += doc.len();
            cwl.extend(gzip(&doc));
            seed += 1;
        }
        let dir = root.join("cwl");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("cwl-{i}.gz")), cwl).unwrap();
        let dir = root.join("ses");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("ses-{i}.gz")), gzip(&logmask_benches::ses_json(OBJECT_BYTES))).unwrap();
        let dir = root.join("app");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("app-{i}.log")), logmask_benches::app_logs(OBJECT_BYTES)).unwrap();
    }
}

fn measure(from: &Path, to: &Path, jobs: usize) -> (f64, f64, f64, u64) {
    (0..RUNS).map(|_| measure_once(from, to, jobs)).max_by(|a, b| a.0.total_cmp(&b.0)).unwrap()
}

fn measure_once(from: &Path, to: &Path, jobs: usize) -> (f64, f64, f64, u64) {
    let _ = fs::remove_dir_all(to);
    let role = Role::Readonly;
    let options = Options {
        role,
        fingerprint: Fingerprint::new(&Policy::default(), role, None),
        since: None,
        dry_run: false,
        force: false,
    };
    let decompressed = AtomicU64::new(0);
    let masker = Masker::new();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().unwrap();
    let started = Instant::now();
    let summary = pool
        .install(|| {
            run(&LocalSource::new(from), &LocalDest::new(to), &masker, &options, |_, outcome| {
                if let Outcome::Written(s) = outcome {
                    decompressed.fetch_add(s.bytes_decompressed, Ordering::Relaxed);
                }
            })
        })
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(summary.failed, 0);
    let raw = decompressed.load(Ordering::Relaxed) as f64 / 1e6;
    (raw / secs, summary.bytes_in as f64 / 1e6 / secs, secs, summary.written)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    make_tree(&raw);
    let out = dir.path().join("masked");
    println!("| objects | workers | decompressed MB/s | per core | stored MB/s | seconds |");
    println!("|---|---|---|---|---|---|");
    for shape in ["cwl", "ses", "app"] {
        let (mbs, stored, secs, n) = measure(&raw.join(shape), &out, 1);
        println!("| {n} × {shape} | 1 | {mbs:.1} | {mbs:.1} | {stored:.1} | {secs:.2} |");
    }
    for jobs in [1, 2] {
        let (mbs, stored, secs, n) = measure(&raw, &out, jobs);
        println!("| {n} (all) | {jobs} | {mbs:.1} | {:.1} | {stored:.1} | {secs:.2} |", mbs / jobs as f64);
    }
}
