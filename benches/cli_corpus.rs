//! Helper of `benches/cli_report.py`: writes the engine's corpora at any size and measures the
//! engine in memory on a file, so the end-to-end `logmask mask` figures have their reference
//! from the same bytes and the same build.
//!
//! ```text
//! cli-corpus write DIR MIB           # DIR/{clean-logs,app-logs,ses-json}.txt, MIB MiB each
//! cli-corpus engine FILE ROLE RUNS   # best of RUNS single-threaded mask_into passes, in MB/s
//! ```

use std::process::ExitCode;
use std::time::Instant;

use logmask_mask::{Masker, Role};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", dir, mib] => {
            let Ok(mib) = mib.parse::<usize>() else { return usage() };
            let bytes = mib << 20;
            for (name, corpus) in [
                ("clean-logs", logmask_benches::clean_logs as fn(usize) -> Vec<u8>),
                ("app-logs", logmask_benches::app_logs),
                ("ses-json", logmask_benches::ses_json),
            ] {
                let path = std::path::Path::new(dir).join(format!("{name}.txt"));
                if let Err(err) = std::fs::write(&path, corpus(bytes)) {
                    eprintln!("cli-corpus: {}: {err}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        ["engine", file, role, runs] => {
            let (Ok(role), Ok(runs)) = (role.parse::<Role>(), runs.parse::<usize>()) else { return usage() };
            let hay = match std::fs::read(file) {
                Ok(hay) => hay,
                Err(err) => {
                    eprintln!("cli-corpus: {file}: {err}");
                    return ExitCode::FAILURE;
                }
            };
            let masker = Masker::new();
            // The same pieces the command masks (1 MiB at line ends), into one reused buffer: the
            // engine's speed on this text, without reading, threads or writing.
            let mut out = Vec::with_capacity((1 << 20) + (1 << 17));
            let mut best = f64::MAX;
            for _ in 0..runs.max(1) {
                let start = Instant::now();
                let mut rest = &hay[..];
                while !rest.is_empty() {
                    let end = if rest.len() <= 1 << 20 {
                        rest.len()
                    } else {
                        masker.cut_point(&rest[..1 << 20]).unwrap_or(rest.len())
                    };
                    out.clear();
                    std::hint::black_box(masker.mask_into(role, &rest[..end], &mut out));
                    rest = &rest[end..];
                }
                best = best.min(start.elapsed().as_secs_f64());
            }
            println!("{:.1}", hay.len() as f64 / best / 1e6);
            ExitCode::SUCCESS
        }
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: cli-corpus write DIR MIB | cli-corpus engine FILE ROLE RUNS");
    ExitCode::from(2)
}
