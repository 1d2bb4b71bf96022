//! The Firehose transformation on 1 MB and 6 MB events of gzip CloudWatch Logs records and of SES
//! event JSON, end to end as the Lambda runs it: event JSON → records → masked response JSON.
//! Throughput is event bytes in; the output size per event is printed so MB/s out follows.
//!
//! The generated events are also written to `$FIREHOSE_BENCH_DIR` (default: the system temp dir,
//! `logmask-firehose-bench/`) for `benches/blueprint_baseline.py` and for `/usr/bin/time -v
//! logmask firehose --event …` peak-RSS runs.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logmask_firehose::{Config, FirehoseEvent, Reingest, ReingestError, Transformer, samples};
use logmask_mask::Masker;

/// Accepts everything and only counts bytes: large CloudWatch Logs batches always overflow one
/// response, and the re-ingestion path is part of the work being measured.
#[derive(Default)]
struct CountingStream(AtomicU64);

impl Reingest for CountingStream {
    async fn put_record_batch(&self, _stream: &str, records: &[Vec<u8>]) -> Result<Vec<Option<String>>, ReingestError> {
        self.0.fetch_add(records.iter().map(|r| r.len() as u64).sum(), Ordering::Relaxed);
        Ok(vec![None; records.len()])
    }
}

const MB: usize = 1_000_000;

fn events() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (label, size) in [("1mb", MB), ("6mb", 6 * MB)] {
        out.push((format!("cwl-gzip-{label}"), serde_json::to_vec(&samples::cloudwatch_batch(size, 200)).unwrap()));
        out.push((format!("ses-json-{label}"), serde_json::to_vec(&samples::ses_batch(size)).unwrap()));
    }
    let dir = std::env::var_os("FIREHOSE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("logmask-firehose-bench"));
    if std::fs::create_dir_all(&dir).is_ok() {
        for (name, bytes) in &out {
            let _ = std::fs::write(dir.join(format!("{name}.json")), bytes);
        }
        eprintln!("events written to {}", dir.display());
    }
    out
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stream = CountingStream::default();
    let transformer = Transformer::new(Masker::new(), &Config::default(), &stream);
    let mut group = c.benchmark_group("firehose");
    group.sample_size(10);
    for (name, bytes) in events() {
        let run = || {
            let event: FirehoseEvent = serde_json::from_slice(&bytes).unwrap();
            let output = runtime.block_on(transformer.process(event));
            serde_json::to_vec(&output.response).unwrap().len()
        };
        let before = stream.0.load(Ordering::Relaxed);
        let response_bytes = run();
        let reingested = stream.0.load(Ordering::Relaxed) - before;
        eprintln!(
            "{name}: event {} bytes → response {response_bytes} bytes + re-ingested {reingested} bytes (out/in {:.2})",
            bytes.len(),
            (response_bytes as f64 + reingested as f64 * 4.0 / 3.0) / bytes.len() as f64
        );
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(&name, |b| b.iter(|| black_box(run())));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
