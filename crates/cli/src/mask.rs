//! `logmask mask`: stream files (or stdin) through the masker, line for line, in parallel chunks.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Mutex, mpsc};

#[cfg(target_os = "linux")]
mod mapped;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use logmask_mask::{CUT_CONTEXT, Counts, Masker, Policy, Role};

/// A few lines of every kind the engine handles, for trying the command without any input.
const SAMPLE: &str = include_str!("../data/sample.log");

/// Bytes read per chunk; chunks are cut where the engine says a cut changes no verdict
/// (`Masker::cut_point`: after the last newline, or inside a long stretch without triggers).
const CHUNK: usize = 1 << 20;

/// Bytes of a regular file mapped at a time. Pages of a mapping that were read count in the
/// process's resident memory until it is unmapped: a few windows in flight stay far below the
/// 64 MB the command promises, and each is one `mmap` call per 16 MiB.
const WINDOW: usize = 16 << 20;

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
        // RAYON_NUM_THREADS is honoured as before: it sets the masking threads.
        let workers = rayon::current_num_threads();
        if args.sample {
            counts += mask_stream(&masker, role, SAMPLE.as_bytes(), &mut out, None, StreamOpts::new(workers, true))?;
        } else if args.files.is_empty() {
            let (stdin, regular) = stdin_reader()?;
            let opts = StreamOpts::new(workers, regular);
            counts += mask_input(&masker, role, stdin, regular, &mut out, progress(None), opts)?;
        } else {
            for path in &args.files {
                let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                let meta = file.metadata().ok();
                let len = meta.as_ref().map(|m| m.len());
                let regular = meta.is_some_and(|m| m.is_file());
                let opts = StreamOpts::new(workers, regular);
                counts += mask_input(&masker, role, file, regular, &mut out, progress(len), opts)
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

/// Standard input as a file of its own (std's `Stdin` adds a lock and an 8 KiB buffer to every
/// read) and whether it is a regular file (`< FILE`), which is read in whole chunks like a path.
#[cfg(unix)]
fn stdin_reader() -> anyhow::Result<(File, bool)> {
    use std::os::fd::AsFd as _;
    let file = File::from(io::stdin().as_fd().try_clone_to_owned().context("cannot read stdin")?);
    let meta = file.metadata().ok();
    #[cfg(target_os = "linux")]
    if meta.as_ref().is_some_and(|m| std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type())) {
        grow_pipe(&file);
    }
    Ok((file, meta.is_some_and(|m| m.is_file())))
}

/// Pipe buffer asked for stdin: `cat big.log | logmask mask` hands over 64 KiB per wake-up with
/// Linux's default buffer, so on a busy machine the two processes spend their time waiting for
/// each other. 1 MiB is the unprivileged limit (`/proc/sys/fs/pipe-max-size`) on most systems.
#[cfg(target_os = "linux")]
const PIPE_BUFFER: libc::c_int = 1 << 20;

/// Best effort: a pipe that cannot grow (a lower limit, or its pages are in use) stays as it is.
#[cfg(target_os = "linux")]
fn grow_pipe(pipe: &File) {
    use std::os::fd::AsRawFd as _;
    // SAFETY: F_SETPIPE_SZ takes an int and touches no memory of ours; the descriptor is open
    // (owned by `pipe` for the whole call). Benchmarked by benches/cli_report.py (pipe columns).
    let _ = unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BUFFER) };
}

#[cfg(not(unix))]
fn stdin_reader() -> anyhow::Result<(io::Stdin, bool)> {
    Ok((io::stdin(), false))
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

/// Masks a file or stream: a regular file is mapped ([`mapped`]: no copy of its bytes), anything
/// else is read ([`read_pieces`]).
#[cfg(target_os = "linux")]
fn mask_input(
    masker: &Masker,
    role: Role,
    input: File,
    regular: bool,
    out: &mut impl Write,
    bar: Option<ProgressBar>,
    opts: StreamOpts,
) -> anyhow::Result<Counts> {
    if regular {
        let stage = |_free: mpsc::Receiver<Vec<u8>>, work: mpsc::SyncSender<Piece>, bar: Option<&ProgressBar>| {
            mapped::map_pieces(masker, &std::sync::Arc::new(input), work, bar, opts)
        };
        return mask_pieces(masker, role, out, bar, opts, stage);
    }
    mask_stream(masker, role, input, out, bar, opts)
}

#[cfg(not(target_os = "linux"))]
fn mask_input(
    masker: &Masker,
    role: Role,
    input: impl Read + Send,
    _regular: bool,
    out: &mut impl Write,
    bar: Option<ProgressBar>,
    opts: StreamOpts,
) -> anyhow::Result<Counts> {
    mask_stream(masker, role, input, out, bar, opts)
}

/// Masks `input` into `out` with constant memory, in three overlapping stages: a reader thread
/// fills chunks and cuts them where the engine allows, `workers` threads mask them, and the
/// calling thread writes the results in input order. Chunks and output buffers go round a fixed
/// set (a free list), so a multi-GB input allocates nothing per chunk. A short read (a pipe with
/// nothing more for now) sends what is complete at once and the writer flushes it, so
/// `tail -f | logmask mask` stays line-prompt. At most `max_pending` bytes wait for a cut; a
/// line that offers none by then is an error.
fn mask_stream(
    masker: &Masker,
    role: Role,
    input: impl Read + Send,
    out: &mut impl Write,
    bar: Option<ProgressBar>,
    opts: StreamOpts,
) -> anyhow::Result<Counts> {
    let stage = |free: mpsc::Receiver<Vec<u8>>, work: mpsc::SyncSender<Piece>, bar: Option<&ProgressBar>| {
        read_pieces(masker, input, free, work, bar, opts)
    };
    mask_pieces(masker, role, out, bar, opts, stage)
}

/// The masking and writing stages of [`mask_stream`] behind any first stage that produces
/// pieces in order (it gets the free list of input buffers, which a mapped file leaves unused).
fn mask_pieces<'m>(
    masker: &Masker,
    role: Role,
    out: &mut impl Write,
    bar: Option<ProgressBar>,
    opts: StreamOpts,
    first_stage: impl FnOnce(mpsc::Receiver<Vec<u8>>, mpsc::SyncSender<Piece>, Option<&ProgressBar>) -> anyhow::Result<()>
    + Send
    + 'm,
) -> anyhow::Result<Counts> {
    let workers = opts.workers.max(1);
    // Enough chunks that every worker has one in hand and one queued while the reader fills the
    // next and the writer drains the last: more only costs memory.
    let in_flight = 2 * workers + 2;
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(in_flight);
    for _ in 0..in_flight {
        free_tx.send(Vec::new()).expect("the receiver is alive");
    }
    let (work_tx, work_rx) = mpsc::sync_channel::<Piece>(in_flight);
    let (done_tx, done_rx) = mpsc::sync_channel::<Masked>(in_flight);
    // `None` once the writer has stopped: the worker that finds out drops the receiver, so a
    // first stage blocked on a full queue returns (a mapped file waits for no free buffer, and
    // `logmask mask FILE | head` hung there).
    let work_rx = Mutex::new(Some(work_rx));
    let spare_outputs = Mutex::new(Vec::<Vec<u8>>::new());

    std::thread::scope(|scope| {
        let bar = bar.as_ref();
        let reader = scope.spawn(move || first_stage(free_rx, work_tx, bar));
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let (work_rx, spare_outputs) = (&work_rx, &spare_outputs);
            scope.spawn(move || {
                let mut scratch = Vec::new();
                loop {
                    // One worker waits in `recv` holding the lock, the others wait for the lock.
                    let next = work_rx.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(mpsc::Receiver::recv);
                    let Some(Ok(piece)) = next else { break };
                    let mut masked = spare_outputs.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
                    masked.clear();
                    // A panic must not strand the pipeline: the writer would wait for this chunk
                    // forever and the reader for its buffer. It becomes the writer's error.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        masker.mask_into(role, piece.input.bytes(&mut scratch), &mut masked)
                    }));
                    let (counts, panicked) = match result {
                        Ok(counts) => (counts, false),
                        Err(_) => (Counts::default(), true),
                    };
                    let done = Masked {
                        seq: piece.seq,
                        input: piece.input,
                        output: masked,
                        counts,
                        flush: piece.flush,
                        panicked,
                    };
                    if done_tx.send(done).is_err() {
                        // The writer stopped (an error): so does the first stage.
                        work_rx.lock().unwrap_or_else(|e| e.into_inner()).take();
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let written = write_in_order(done_rx, free_tx, &spare_outputs, out);
        // The writer's channels are closed now, so a reader or worker blocked on them returns.
        let read = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let counts = written?;
        read?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Ok(counts)
    })
}

/// How [`mask_stream`] reads: threads, read sizes and the pending limit.
#[derive(Clone, Copy, Debug)]
struct StreamOpts {
    /// Masking threads.
    workers: usize,
    /// Bytes asked of one `read` call. A pipe returns at most its buffer (64 KiB) per call, so a
    /// pipe read that comes back shorter than asked means the writer has nothing more for now.
    read_size: usize,
    /// Most bytes held while waiting for a place to cut.
    max_pending: usize,
    /// Bytes of a mapped file mapped at once (more for a line longer than this, up to
    /// `max_pending`).
    window: usize,
    /// Bytes per piece cut from a mapped file.
    chunk: usize,
}

impl StreamOpts {
    fn new(workers: usize, regular_file: bool) -> StreamOpts {
        let read_size = if regular_file { CHUNK } else { PIPE_READ };
        StreamOpts { workers, read_size, max_pending: MAX_PENDING, window: WINDOW, chunk: CHUNK }
    }
}

/// A chunk of input ready to mask, number `seq` in input order.
struct Piece {
    seq: u64,
    input: Chunk,
    /// The input stalled after this chunk: write it out now.
    flush: bool,
}

/// The bytes of a piece: the front of a read buffer, or a range of a mapped file.
enum Chunk {
    Read {
        buf: Vec<u8>,
        len: usize,
    },
    #[cfg(target_os = "linux")]
    Mapped {
        map: std::sync::Arc<memmap2::Mmap>,
        range: std::ops::Range<usize>,
        /// The mapped file, and where `range` starts in it.
        file: std::sync::Arc<File>,
        offset: u64,
    },
}

impl Chunk {
    /// The piece's bytes. A mapped piece is read with `pread` into the masking thread's own
    /// `scratch` buffer: the copy runs on every masking thread at once, where faulting the
    /// mapping's pages in cost each thread more than the copy (the first stage touches only the
    /// pages around its cuts). A piece longer than two chunks is a long line whose every page the
    /// first stage's search for a cut has already faulted in: it is read from the mapping, not
    /// copied once more (a 64 MiB line held both, 226 MB peak against 161 through a pipe).
    /// Should the read fail (the file shrank), the mapping is read, and a vanished page reports
    /// the truncation.
    fn bytes<'a>(&'a self, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        match self {
            Chunk::Read { buf, len } => &buf[..*len],
            #[cfg(target_os = "linux")]
            Chunk::Mapped { map, range, file, offset } => {
                use std::os::unix::fs::FileExt as _;
                let len = range.len();
                if len > 2 * CHUNK {
                    return &map[range.clone()];
                }
                if scratch.len() < len {
                    scratch.resize(len, 0);
                }
                match file.read_exact_at(&mut scratch[..len], *offset) {
                    Ok(()) => &scratch[..len],
                    Err(_) => &map[range.clone()],
                }
            }
        }
    }
}

/// A masked chunk on its way to the writer, with its input for reuse (a read buffer) or release
/// (a mapped range: the last piece of a mapping unmaps it).
struct Masked {
    seq: u64,
    input: Chunk,
    output: Vec<u8>,
    counts: Counts,
    flush: bool,
    /// The engine panicked on this chunk: nothing of it or after it is written.
    panicked: bool,
}

/// Why a line longer than `max_pending` bytes is refused: where the engine cuts, and that it
/// found no such place ([`Masker::cut_point`]).
fn no_cut(max_pending: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "a line of more than {} MiB offers no place to cut it without changing what is masked (no line \
         break, and no {} bytes without any of '@ . : % \\' with, when identifiers are configured, a \
         space or tab no term holds and no pattern can match in the middle); refusing to hold it in memory",
        max_pending >> 20,
        2 * CUT_CONTEXT
    )
}

/// The reader stage: fills buffers from the free list, cuts each where the engine says a cut
/// changes no verdict, and moves the bytes after the cut to the front of the next buffer.
fn read_pieces(
    masker: &Masker,
    mut input: impl Read,
    free: mpsc::Receiver<Vec<u8>>,
    work: mpsc::SyncSender<Piece>,
    bar: Option<&ProgressBar>,
    opts: StreamOpts,
) -> anyhow::Result<()> {
    let mut seq = 0u64;
    // The bytes after the last cut, waiting at the front of `buf`.
    let mut carry = 0usize;
    let Ok(mut buf) = free.recv() else { return Ok(()) };
    loop {
        // The carry holds no cut; only its last bytes can become one once more text follows.
        let searched = carry.saturating_sub(2 * CUT_CONTEXT);
        let fill = fill(&mut input, &mut buf, carry, CHUNK, opts.read_size)?;
        if let Some(bar) = bar {
            bar.inc(fill.read as u64);
        }
        let len = carry + fill.read;
        let cut = if fill.eof { Some(len) } else { masker.cut_point(&buf[searched..len]).map(|c| searched + c) };
        let Some(cut) = cut else {
            if len > opts.max_pending {
                return Err(no_cut(opts.max_pending));
            }
            // No cut yet: the chunk continues a long line; read more behind it.
            carry = len;
            continue;
        };
        if fill.eof {
            if len > 0 {
                let _ = work.send(Piece { seq, input: Chunk::Read { buf, len }, flush: false });
            }
            break;
        }
        // The next buffer takes the bytes after the cut; then this one goes to the workers.
        let Ok(mut next) = free.recv() else { return Ok(()) };
        carry = len - cut;
        if next.len() < carry {
            next.resize(carry, 0);
        }
        next[..carry].copy_from_slice(&buf[cut..len]);
        let piece = Piece { seq, input: Chunk::Read { buf, len: cut }, flush: fill.partial };
        if work.send(piece).is_err() {
            return Ok(()); // the writer stopped; its error is the one to report
        }
        seq += 1;
        buf = next;
    }
    Ok(())
}

/// The writer stage: writes masked chunks in input order, sends the buffers back for reuse.
fn write_in_order(
    done: mpsc::Receiver<Masked>,
    free: mpsc::SyncSender<Vec<u8>>,
    spare_outputs: &Mutex<Vec<Vec<u8>>>,
    out: &mut impl Write,
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let mut next = 0u64;
    let mut early: BTreeMap<u64, Masked> = BTreeMap::new();
    for masked in done {
        early.insert(masked.seq, masked);
        while let Some(mut m) = early.remove(&next) {
            if m.panicked {
                out.flush()?;
                anyhow::bail!(
                    "the engine failed on input chunk {} (a bug: please report it); output stops before it",
                    m.seq
                );
            }
            out.write_all(&m.output)?;
            if m.flush {
                out.flush()?;
            }
            counts += m.counts;
            next += 1;
            // A long line may have grown a buffer; keep the set small for the rest of the input.
            if m.output.capacity() > 4 * CHUNK {
                m.output = Vec::new();
            }
            spare_outputs.lock().unwrap_or_else(|e| e.into_inner()).push(m.output);
            if let Chunk::Read { mut buf, .. } = m.input {
                if buf.len() > 2 * CHUNK {
                    buf = Vec::new();
                }
                // The reader may have finished and dropped its end: then the buffer is not needed.
                let _ = free.send(buf);
            }
        }
    }
    Ok(counts)
}

struct Fill {
    read: usize,
    eof: bool,
    /// The source returned less than asked before the chunk was full.
    partial: bool,
}

/// Bytes asked per read from a pipe or terminal: a pipe's buffer is 64 KiB.
const PIPE_READ: usize = 64 * 1024;

/// Reads into `buf[start..]` until `want` more bytes are there, the source ends, or a read comes up
/// short. `buf` is grown (zeroed) only when it is smaller than needed; a reused buffer is read
/// into as it is, so a slow pipe that returns a byte at a time costs a byte's work per read.
fn fill(input: &mut impl Read, buf: &mut Vec<u8>, start: usize, want: usize, read_size: usize) -> io::Result<Fill> {
    let target = start + want;
    if buf.len() < target {
        buf.resize(target, 0);
    }
    let mut at = start;
    let mut result = Fill { read: 0, eof: false, partial: false };
    while at < target {
        let ask = read_size.min(target - at);
        match input.read(&mut buf[at..at + ask]) {
            Ok(0) => {
                result.eof = true;
                break;
            }
            Ok(n) => {
                at += n;
                if at < target && n < ask {
                    result.partial = true;
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    result.read = at - start;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_chunk_the_engine_panicked_on_stops_the_writer_with_an_error() {
        // Chunk 1 arrives first and waits for chunk 0; chunk 0 failed in a worker. The writer
        // must write nothing of either and return an error instead of waiting (which would
        // leave the reader blocked on its free list).
        let (done_tx, done_rx) = mpsc::sync_channel::<Masked>(4);
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(4);
        let chunk = |seq, panicked| Masked {
            seq,
            input: Chunk::Read { buf: Vec::new(), len: 0 },
            output: b"masked\n".to_vec(),
            counts: Counts::default(),
            flush: false,
            panicked,
        };
        done_tx.send(chunk(1, false)).unwrap();
        done_tx.send(chunk(0, true)).unwrap();
        let spare = Mutex::new(Vec::new());
        let mut out = Vec::new();
        let err = write_in_order(done_rx, free_tx, &spare, &mut out).unwrap_err();
        assert!(err.to_string().contains("chunk 0"), "{err}");
        assert!(out.is_empty());
        // The writer dropped its end of the free list: a reader waiting on it wakes up.
        drop(done_tx);
        assert!(free_rx.recv().is_err());
    }

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

    /// Pipe-like reads with `workers` masking threads.
    fn opts(workers: usize) -> StreamOpts {
        StreamOpts { workers, read_size: PIPE_READ, max_pending: MAX_PENDING, window: WINDOW, chunk: CHUNK }
    }

    /// A source that hands out what a test sends it and blocks in between, like `tail -f`.
    struct Tail(mpsc::Receiver<Vec<u8>>, Vec<u8>);

    impl Read for Tail {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1.is_empty() {
                match self.0.recv() {
                    Ok(bytes) => self.1 = bytes,
                    Err(_) => return Ok(0),
                }
            }
            let n = self.1.len().min(buf.len());
            buf[..n].copy_from_slice(&self.1[..n]);
            self.1.drain(..n);
            Ok(n)
        }
    }

    /// A sink that reports what has been flushed.
    struct Flushed(Vec<u8>, mpsc::Sender<Vec<u8>>);

    impl Write for Flushed {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            let _ = self.1.send(std::mem::take(&mut self.0));
            Ok(())
        }
    }

    /// `tail -f app.log | logmask mask`: a complete line is written and flushed while the input
    /// is still open and waiting, not when a chunk fills or the input ends.
    #[test]
    fn a_stalled_input_has_its_complete_lines_flushed_at_once() {
        let (lines_tx, lines_rx) = mpsc::channel();
        let (flushed_tx, flushed_rx) = mpsc::channel();
        let masker = Masker::new();
        std::thread::scope(|scope| {
            let run = scope.spawn(|| {
                let mut out = Flushed(Vec::new(), flushed_tx);
                mask_stream(&masker, Role::Readonly, Tail(lines_rx, Vec::new()), &mut out, None, opts(2)).unwrap()
            });
            let wait = std::time::Duration::from_secs(20);
            lines_tx.send(b"first bob@example.com\nsecond 10.0.0".to_vec()).unwrap();
            assert_eq!(flushed_rx.recv_timeout(wait).unwrap(), b"first <email>\n");
            lines_tx.send(b".1\n".to_vec()).unwrap();
            assert_eq!(flushed_rx.recv_timeout(wait).unwrap(), b"second <ipv4>\n");
            drop(lines_tx);
            assert_eq!(run.join().unwrap().emails, 1);
        });
    }

    /// A sink that fails after `left` bytes, like a closed pipe.
    struct Closes(usize);

    impl Write for Closes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// `logmask mask big.log | head`: a failed write ends the reader and the workers too (no
    /// thread is left blocked on a full queue) and the error comes back.
    #[test]
    fn a_failed_write_stops_every_stage() {
        let input = b"user@example.com 10.0.0.1 and some more text\n".repeat(200_000);
        for workers in [1, 3] {
            let err = mask_stream(
                &Masker::new(),
                Role::Readonly,
                &input[..],
                &mut Closes(3 << 20),
                None,
                StreamOpts { read_size: CHUNK, ..opts(workers) },
            )
            .unwrap_err();
            assert!(is_broken_pipe(&err), "{err}");
        }
    }

    /// The same for a regular file, which is mapped and waits for no free buffer: its first
    /// stage was left blocked on a full queue once the workers had stopped, and
    /// `logmask mask FILE | head` never exited.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_stops_a_mapped_file() {
        let mut file = tempfile::tempfile().unwrap();
        let line = b"user@example.com 10.0.0.1 and some more text\n";
        // Many more chunks than go round (2 per worker and 2).
        file.write_all(&line.repeat(20 * CHUNK / line.len())).unwrap();
        for workers in [1, 3] {
            let (tx, rx) = mpsc::channel();
            let input = file.try_clone().unwrap();
            std::thread::spawn(move || {
                let result =
                    mask_input(&Masker::new(), Role::Readonly, input, true, &mut Closes(3 << 20), None, opts(workers));
                let _ = tx.send(result.map(|_| ()));
            });
            // A hang fails the test instead of stalling the suite.
            let result = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the command stops");
            assert!(is_broken_pipe(&result.unwrap_err()));
        }
    }

    fn streamed(input: &[u8], step: usize) -> (Vec<u8>, Counts) {
        let masker = Masker::new();
        let mut out = Vec::new();
        let counts =
            mask_stream(&masker, Role::Readonly, Trickle { data: input, step }, &mut out, None, opts(2)).unwrap();
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
        let small = StreamOpts { max_pending: 2 << 20, ..opts(2) };
        let counts = mask_stream(&masker, Role::Readonly, &line[..], &mut out, None, small).unwrap();
        assert_eq!((counts.emails, counts.ipv4), (1, 1));
        assert_eq!(out, masker.mask(Role::Readonly, &line).0);
        // A line with nowhere to cut is refused once it outgrows the limit, not held whole.
        let dense = b"1.".repeat(2 << 20);
        let err = mask_stream(&masker, Role::Readonly, &dense[..], &mut Vec::new(), None, small).unwrap_err();
        assert!(err.to_string().contains("no place to cut"), "{err}");
    }

    /// Issues 11 and 14: with dictionary terms a line was cut only at its newline, so a long
    /// line of terms was held whole. Where no term holds a space, it streams through a small
    /// buffer; with a term holding one it has nowhere to cut.
    #[test]
    fn a_long_line_of_terms_streams_in_bounded_memory() {
        let policy = |terms: &str| {
            let toml = format!("[[identifiers]]\nname = \"customer\"\nterms = [{terms}]\n");
            Masker::builder(Policy::from_toml(&toml).unwrap()).build().unwrap()
        };
        let mut line = b"bob@example.com ".to_vec();
        line.extend(b"yamada acme ".repeat(700_000)); // 8 MiB, no newline, no trigger
        line.extend_from_slice(b"10.0.0.1");
        let small = StreamOpts { max_pending: 2 << 20, ..opts(2) };
        let masker = policy("\"yamada\", \"acme\"");
        let mut out = Vec::new();
        let counts = mask_stream(&masker, Role::Readonly, &line[..], &mut out, None, small).unwrap();
        assert_eq!((counts.emails, counts.ipv4, counts.custom), (1, 1, 1_400_000));
        assert!(out == masker.mask(Role::Readonly, &line).0);
        let spaced = policy("\"yamada\", \"acme corp\"");
        let err = mask_stream(&spaced, Role::Readonly, &line[..], &mut Vec::new(), None, small).unwrap_err();
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
        fn streaming_equals_whole_buffer_on_adversarial_text(text in pieces(), step in 1usize..5000, workers in 1usize..4) {
            // With terms too, which a line may be cut between (`ab` in `ab ab ab`).
            static PLAIN: std::sync::LazyLock<Masker> = std::sync::LazyLock::new(Masker::new);
            static TERMS: std::sync::LazyLock<Masker> = std::sync::LazyLock::new(|| {
                let toml = "[[identifiers]]\nname = \"customer\"\nterms = [\"ab\", \"1\", \"日本\"]\n";
                Masker::builder(Policy::from_toml(toml).unwrap()).build().unwrap()
            });
            for (masker, role) in Role::ALL.into_iter().map(|r| (&*PLAIN, r)).chain([(&*TERMS, Role::Operator), (&*TERMS, Role::Readonly)]) {
                let mut out = Vec::new();
                let counts =
                    mask_stream(masker, role, Trickle { data: &text, step }, &mut out, None, opts(workers)).unwrap();
                let (whole, whole_counts) = masker.mask(role, &text);
                prop_assert_eq!(&out, &whole, "{} view, read size {}", role, step);
                prop_assert_eq!(counts, whole_counts);
            }
        }
    }

    /// A regular file masked from its mapping, in small windows and pieces so that cuts,
    /// window ends and grown windows all occur.
    #[cfg(target_os = "linux")]
    fn mapped(text: &[u8], role: Role, window: usize, chunk: usize) -> anyhow::Result<(Vec<u8>, Counts)> {
        let mut file = tempfile::tempfile()?;
        file.write_all(text)?;
        let opts = StreamOpts { window, chunk, max_pending: 1 << 20, ..opts(2) };
        let mut out = Vec::new();
        let counts = mask_input(&Masker::new(), role, file, true, &mut out, None, opts)?;
        Ok((out, counts))
    }

    #[cfg(target_os = "linux")]
    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Issue 11: a mapped file's output equals whole-buffer output for any window and piece
        /// size (the same adversarial text as the streaming property).
        #[test]
        fn a_mapped_file_masks_as_the_whole_buffer(
            text in pieces(), window in 1usize..20_000, chunk in 1usize..10_000,
        ) {
            let masker = Masker::new();
            for role in Role::ALL {
                let (out, counts) = mapped(&text, role, window, chunk).unwrap();
                let (whole, whole_counts) = masker.mask(role, &text);
                prop_assert_eq!(&out, &whole, "{} view, window {}, chunk {}", role, window, chunk);
                prop_assert_eq!(counts, whole_counts);
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_mapped_file_streams_lines_across_windows_and_refuses_an_uncuttable_line() {
        let mut input = Vec::new();
        for i in 0..20_000 {
            input.extend_from_slice(format!("{i} user{i}@example.com from 10.0.{}.{}\n", i % 256, i % 200).as_bytes());
        }
        let (expected, expected_counts) = Masker::new().mask(Role::Readonly, &input);
        let (out, counts) = mapped(&input, Role::Readonly, 64 << 10, 16 << 10).unwrap();
        assert_eq!(out, expected);
        assert_eq!((counts, counts.emails), (expected_counts, 20_000));
        // Nowhere to cut in more than max_pending (1 MiB here): refused, as the read path does.
        let err = mapped(&b"1.".repeat(1 << 20), Role::Readonly, 64 << 10, 16 << 10).unwrap_err();
        assert!(err.to_string().contains("no place to cut"), "{err}");
    }

    /// A piece longer than two chunks (a line with no cut) is masked from the mapping, not
    /// copied: the same output as the whole buffer.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_mapped_line_longer_than_two_chunks_masks_as_the_whole_buffer() {
        let mut input = b"first 10.0.0.1\n".to_vec();
        input.extend(b"fe80::1,bob@example.com,".repeat((3 * CHUNK) / 24));
        input.extend_from_slice(b"\nlast 2001:db8::1\n");
        for role in Role::ALL {
            let (out, counts) = mapped(&input, role, WINDOW, CHUNK).unwrap();
            let (whole, whole_counts) = Masker::new().mask(role, &input);
            assert!(out == whole, "{role} view differs");
            assert_eq!(counts, whole_counts);
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
