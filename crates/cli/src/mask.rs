//! `logmask mask`: stream files (or stdin) through the masker, line for line, in parallel chunks.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use logmask_mask::{CUT_CONTEXT, Counts, Masker, Policy, Role};
use rayon::prelude::*;

/// A few lines of every kind the engine handles, for trying the command without any input.
const SAMPLE: &str = include_str!("../data/sample.log");

/// Bytes read per chunk; chunks are cut where the engine says a cut changes no verdict
/// (`Masker::cut_point`: after the last newline, or inside a long stretch without triggers).
const CHUNK: usize = 1 << 20;

/// Most bytes held while waiting for a place to cut. A longer line without one (no line break
/// and no 2 KiB without `@ . : % \`) is refused rather than held whole or cut where the cut
/// could split an address.
const MAX_PENDING: usize = 64 << 20;

#[derive(clap::Args)]
pub struct MaskArgs {
    /// Who will read the output: admin (raw), operator (partial) or readonly (tokens).
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Policy file (TOML): operator shapes, token key id, extra identifiers.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// File holding the HMAC key for readonly pseudonyms: raw bytes (16-4096, one trailing newline
    /// dropped) or the rotation JSON, as in Secrets Manager; never printed.
    #[arg(long, value_name = "FILE")]
    token_key_file: Option<PathBuf>,
    /// Print per-type counts to stderr as one JSON line.
    #[arg(long)]
    stats: bool,
    /// Mask the bundled sample instead of files or stdin.
    #[arg(long, conflicts_with = "files")]
    sample: bool,
    /// Input files; stdin when none is given.
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Admin,
    Operator,
    Readonly,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
            RoleArg::Readonly => Role::Readonly,
        }
    }
}

pub fn run(args: MaskArgs) -> anyhow::Result<ExitCode> {
    let masker = match build_masker(&args) {
        Ok(m) => m,
        Err(err) => {
            // Configuration errors are usage errors: exit 2, like an unknown role.
            eprintln!("logmask: {err:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let role = Role::from(args.role);
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(CHUNK, stdout.lock());
    let mut counts = Counts::default();

    let result = (|| -> anyhow::Result<()> {
        if args.sample {
            counts += mask_stream(&masker, role, SAMPLE.as_bytes(), &mut out, None, MAX_PENDING)?;
        } else if args.files.is_empty() {
            counts += mask_stream(&masker, role, io::stdin().lock(), &mut out, progress(None), MAX_PENDING)?;
        } else {
            for path in &args.files {
                let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                let len = file.metadata().map(|m| m.len()).ok();
                counts += mask_stream(&masker, role, file, &mut out, progress(len), MAX_PENDING)
                    .with_context(|| format!("while masking {}", path.display()))?;
            }
        }
        out.flush()?;
        Ok(())
    })();
    if let Err(err) = result {
        if is_broken_pipe(&err) {
            return Ok(ExitCode::SUCCESS); // `logmask mask … | head`: the reader has all it wanted
        }
        return Err(err);
    }
    if args.stats {
        eprintln!("{}", serde_json::to_string(&counts)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn build_masker(args: &MaskArgs) -> anyhow::Result<Masker> {
    let policy = match &args.policy {
        Some(path) => {
            // The policy's terms files are read relative to it.
            Policy::from_file(path).with_context(|| format!("policy {}", path.display()))?
        }
        None => Policy::default(),
    };
    // The key file follows the one key rule shared with Secrets Manager and SSM (logmask-keys).
    let builder = match &args.token_key_file {
        Some(path) => logmask_keys::read_key_file(path)?.builder(policy),
        None => Masker::builder(policy),
    };
    Ok(builder.build()?)
}

fn progress(total: Option<u64>) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .expect("static template"),
        ),
        None => ProgressBar::new_spinner()
            .with_style(ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}").expect("static template")),
    };
    Some(bar)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// Masks `input` into `out` with constant memory: reads up to one chunk per worker thread, masks
/// the chunks in parallel, writes them in order. A short read (a pipe with nothing more for
/// now) flushes what is complete, so `tail -f | logmask mask` stays line-prompt. At most
/// `max_pending` bytes wait for a cut; a line that offers none by then is an error.
fn mask_stream(
    masker: &Masker,
    role: Role,
    mut input: impl Read,
    out: &mut impl Write,
    bar: Option<ProgressBar>,
    max_pending: usize,
) -> anyhow::Result<Counts> {
    let batch_len = rayon::current_num_threads().max(1) * 2;
    let mut counts = Counts::default();
    let mut carry: Vec<u8> = Vec::new();
    let mut scratch = vec![0u8; READ_SIZE];
    let mut eof = false;
    while !eof {
        let mut batch: Vec<Vec<u8>> = Vec::with_capacity(batch_len);
        while batch.len() < batch_len && !eof {
            let mut chunk = std::mem::take(&mut carry);
            // The carry holds no cut; only its last bytes can become one once more text follows.
            let searched = chunk.len().saturating_sub(2 * CUT_CONTEXT);
            chunk.reserve(CHUNK);
            let short = fill(&mut input, &mut chunk, CHUNK, &mut scratch)?;
            eof = short.eof;
            if let Some(bar) = &bar {
                bar.inc(short.read as u64);
            }
            let cut = if eof { Some(chunk.len()) } else { masker.cut_point(&chunk[searched..]).map(|c| searched + c) };
            match cut {
                Some(cut) => {
                    carry = chunk.split_off(cut);
                    batch.push(chunk);
                }
                None if chunk.len() > max_pending => bail!(
                    "a line of more than {} MiB offers no place to cut it without changing what is masked \
                     (no line break, no {} bytes without any of '@ . : % \\'); refusing to hold it in memory",
                    max_pending >> 20,
                    2 * CUT_CONTEXT
                ),
                // No cut yet: the chunk continues a long line.
                None => carry = chunk,
            }
            if short.partial && !batch.is_empty() {
                break;
            }
        }
        let masked: Vec<(Vec<u8>, Counts)> = batch
            .par_iter()
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() + chunk.len() / 8);
                let c = masker.mask_into(role, chunk, &mut buf);
                (buf, c)
            })
            .collect();
        for (buf, c) in masked {
            out.write_all(&buf)?;
            counts += c;
        }
        if !eof {
            out.flush()?;
        }
    }
    if !carry.is_empty() {
        bail!("internal error: {} bytes left unmasked", carry.len());
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(counts)
}

struct Fill {
    read: usize,
    eof: bool,
    /// The source returned less than asked before the chunk was full.
    partial: bool,
}

/// Size of one read: a pipe's buffer is 64 KiB.
const READ_SIZE: usize = 64 * 1024;

/// Reads into `chunk` until it holds `want` more bytes, the source ends, or a read comes up short.
/// Reads go through `scratch` (`READ_SIZE` bytes, zeroed once by the caller), so a slow pipe that
/// returns a byte at a time costs a byte's work per read, not a chunk's.
fn fill(input: &mut impl Read, chunk: &mut Vec<u8>, want: usize, scratch: &mut [u8]) -> io::Result<Fill> {
    let start = chunk.len();
    let target = start + want;
    let mut result = Fill { read: 0, eof: false, partial: false };
    while chunk.len() < target {
        let ask = scratch.len().min(target - chunk.len());
        match input.read(&mut scratch[..ask]) {
            Ok(0) => {
                result.eof = true;
                break;
            }
            Ok(n) => {
                chunk.extend_from_slice(&scratch[..n]);
                if chunk.len() < target && n < ask {
                    result.partial = true;
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    result.read = chunk.len() - start;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A reader that returns at most `step` bytes per call, like a slow pipe.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn streamed(input: &[u8], step: usize) -> (Vec<u8>, Counts) {
        let masker = Masker::new();
        let mut out = Vec::new();
        let counts =
            mask_stream(&masker, Role::Readonly, Trickle { data: input, step }, &mut out, None, MAX_PENDING).unwrap();
        (out, counts)
    }

    #[test]
    fn streaming_equals_whole_buffer_masking_for_any_read_size() {
        let mut input = Vec::new();
        for i in 0..30_000 {
            input.extend_from_slice(
                format!("{i} user{i}@example.com from 10.0.{}.{} ok\n", i % 256, i % 200).as_bytes(),
            );
        }
        input.extend_from_slice(b"last line without newline 2001:db8::1");
        let (expected, expected_counts) = Masker::new().mask(Role::Readonly, &input);
        for step in [1 << 20, 7919, 100, 1] {
            if step == 1 {
                // byte-at-a-time on the first 64 KiB only: same code path, less time
                let head = &input[..65_536];
                assert_eq!(streamed(head, 1).0, Masker::new().mask(Role::Readonly, head).0);
                continue;
            }
            let (out, counts) = streamed(&input, step);
            assert_eq!(out, expected, "read size {step}");
            assert_eq!(counts, expected_counts);
        }
        assert_eq!(expected_counts.emails, 30_000);
        assert_eq!(expected_counts.ipv6, 1);
    }

    /// Issue 14, finding 6: one line without a newline or space was held whole (600 MB took
    /// 1.18 GB and 25 s). A line the engine can cut streams through a small buffer.
    #[test]
    fn a_long_line_streams_in_bounded_memory() {
        let masker = Masker::new();
        let mut line = b"bob@example.com ".to_vec();
        line.extend(b"abcdefgh".repeat(1 << 20)); // 8 MiB, no newline, no trigger
        line.extend_from_slice(b" 10.0.0.1");
        let mut out = Vec::new();
        let counts = mask_stream(&masker, Role::Readonly, &line[..], &mut out, None, 2 << 20).unwrap();
        assert_eq!((counts.emails, counts.ipv4), (1, 1));
        assert_eq!(out, masker.mask(Role::Readonly, &line).0);
        // A line with nowhere to cut is refused once it outgrows the limit, not held whole.
        let dense = b"1.".repeat(2 << 20);
        let err = mask_stream(&masker, Role::Readonly, &dense[..], &mut Vec::new(), None, 2 << 20).unwrap_err();
        assert!(err.to_string().contains("no place to cut"), "{err}");
    }

    fn pieces() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => proptest::sample::select(vec![
                "bob@example.com", "b***@example.com", "<email>", "<ipv6:", ">", "bob%40example.com",
                "10.0.0.1", "10.0.0.*", "2001:db8::1", "::", ".", ":", "@", "%40", "%2", "\\u0040", "\\", " ", "\n",
                "日本", "＠", "x", "1", "a",
            ]).prop_map(|p| p.as_bytes().to_vec()),
            1 => (proptest::sample::select(vec!["x", "1.", ":", "a", "%40", "ab "]), 1..3000usize)
                .prop_map(|(unit, n)| unit.repeat(n).into_bytes()),
        ];
        proptest::collection::vec(piece, 0..30).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Issue 11: streaming output equals whole-buffer output for any read size, on text
        /// with tokens, escapes, operator masks and long runs.
        #[test]
        fn streaming_equals_whole_buffer_on_adversarial_text(text in pieces(), step in 1usize..5000) {
            let masker = Masker::new();
            for role in Role::ALL {
                let mut out = Vec::new();
                let counts =
                    mask_stream(&masker, role, Trickle { data: &text, step }, &mut out, None, MAX_PENDING).unwrap();
                let (whole, whole_counts) = masker.mask(role, &text);
                prop_assert_eq!(&out, &whole, "{} view, read size {}", role, step);
                prop_assert_eq!(counts, whole_counts);
            }
        }
    }

    #[test]
    fn a_line_longer_than_a_chunk_is_kept_whole() {
        let mut input = vec![b'x'; CHUNK * 2 + 17];
        input.extend_from_slice(b"y@example.com\n");
        let (out, counts) = streamed(&input, CHUNK);
        assert_eq!(counts.emails, 0, "xxx…y@example.com has a local part too long to be an address");
        assert_eq!(out, input);
        let mut spaced = vec![b'x'; CHUNK * 2 + 17];
        spaced.extend_from_slice(b" y@example.com\n");
        assert_eq!(streamed(&spaced, CHUNK).1.emails, 1);
    }
}
