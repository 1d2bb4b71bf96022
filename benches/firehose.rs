//! The Firehose transformation on 1 MB and 6 MB events of gzip CloudWatch Logs records and of SES
//! event JSON, end to end as the Lambda runs it: event JSON → records → masked response JSON.
//! Throughput is event bytes in; the output size per event is printed so MB/s out follows.
//!
//! The generated events are also written to `$FIREHOSE_BENCH_DIR` (default: the system temp dir,
//! `logmask-firehose-bench/`) for `benches/blueprint_baseline.py` and for `/usr/bin/time -v
//! logmask firehose --event …` peak-RSS runs.
//!
//! Next to each event, `<event>/blueprint-in-rust`: the Python blueprint's own logic in Rust (no
//! masking), the least work any transformation does on that event.
//!
//! Times are the benchmark thread's CPU time (`/proc/thread-self/schedstat`, nanoseconds on a
//! CPU), not wall time: both rows run on one thread, so on an idle machine the two agree, and on a
//! shared one (the development machine runs several builds at once) the handler ÷ ceiling ratio
//! stops depending on what else was scheduled. Without that file, wall time.

use std::hint::black_box;
use std::io::Read as _;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logmask_firehose::{
    Config, FirehoseEvent, FirehoseResponse, RecordResult, Reingest, ReingestError, ResponseRecord, Transformer,
    samples,
};
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

/// CPU time of the calling thread in nanoseconds (see the module doc).
struct ThreadCpu {
    wall: WallTime,
    start: std::time::Instant,
}

impl ThreadCpu {
    fn new() -> ThreadCpu {
        ThreadCpu { wall: WallTime, start: std::time::Instant::now() }
    }

    fn now(&self) -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| self.start.elapsed().as_nanos() as u64)
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        self.now()
    }
    fn end(&self, start: u64) -> u64 {
        self.now().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, printed as criterion prints wall time.
        self.wall.formatter()
    }
}

fn bench(c: &mut Criterion<ThreadCpu>) {
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
        group.bench_function(format!("{name}/blueprint-in-rust"), |b| b.iter(|| black_box(blueprint(&bytes))));
    }
    group.finish();
}

/// The Python blueprint's logic (`blueprint_baseline.py`) written in Rust, with no masking and no
/// size budget: what any implementation of the contract pays at least. Its speed over the Python
/// figure bounds the speed-up a Rust transformation can reach on the same event.
fn blueprint(event: &[u8]) -> usize {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Document<'a> {
        #[serde(borrow)]
        message_type: std::borrow::Cow<'a, str>,
        #[serde(borrow, default)]
        log_events: Vec<LogEvent<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct LogEvent<'a> {
        #[serde(borrow)]
        message: std::borrow::Cow<'a, str>,
    }

    let event: FirehoseEvent = serde_json::from_slice(event).unwrap();
    let mut records = Vec::with_capacity(event.records.len());
    for record in event.records {
        let raw = BASE64.decode(&record.data).unwrap();
        let (result, data) = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut text).unwrap();
            let doc: Document = serde_json::from_slice(&text).unwrap();
            if doc.message_type == "CONTROL_MESSAGE" {
                (RecordResult::Dropped, None)
            } else {
                let mut joined = String::with_capacity(text.len());
                for e in &doc.log_events {
                    joined.push_str(&e.message);
                    joined.push('\n');
                }
                (RecordResult::Ok, Some(BASE64.encode(joined)))
            }
        } else {
            (RecordResult::Ok, Some(BASE64.encode(&raw)))
        };
        records.push(ResponseRecord { record_id: record.record_id, result, data, metadata: None });
    }
    serde_json::to_vec(&FirehoseResponse { records }).unwrap().len()
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu::new());
    targets = bench
}
criterion_main!(benches);
