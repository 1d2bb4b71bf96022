//! The first stage of `logmask mask` for a regular file: the file is mapped a window at a time
//! and cut into pieces where the engine allows; each masking thread then reads its piece with
//! `pread` into a buffer of its own (`Chunk::bytes`). The first stage touches only the pages
//! around its cuts, so no single thread copies every byte: a reader thread that did (the pipe
//! path) made the default run slower than one thread on clean logs, and masking threads that
//! faulted the mapping's pages in paid more for the faults than for a copy.
//!
//! A mapping reads what the file holds when a page is touched. A file that grows while it is
//! masked is read to its new end, as `read` would; a file that shrinks (a log rotation that
//! truncates it in place) is an error, never a silently shorter output: the size is checked
//! before each window, and a page that vanished under a window in use raises SIGBUS, which
//! [`report_truncation`] turns into the same message and exit status 74 (EX_IOERR; the size check
//! exits 1 like any other error).

use std::fs::File;
use std::sync::{Arc, Once, mpsc};

use anyhow::bail;
use indicatif::ProgressBar;
use logmask_mask::Masker;
use memmap2::{Advice, MmapOptions};

use super::{Chunk, Piece, StreamOpts};

/// What a truncated input reports, from the size check and from the SIGBUS handler (which can
/// only write a literal, hence a macro).
macro_rules! shrank {
    () => {
        "the input file shrank while it was being masked (truncated in place, e.g. by a log rotation); \
         the output is incomplete"
    };
}

/// Maps `file` window by window and sends its pieces, in order, to the masking threads.
pub(super) fn map_pieces(
    masker: &Masker,
    file: &Arc<File>,
    work: mpsc::SyncSender<Piece>,
    bar: Option<&ProgressBar>,
    opts: StreamOpts,
) -> anyhow::Result<()> {
    report_truncation();
    let mut pos = 0u64;
    let mut seq = 0u64;
    let mut window = opts.window;
    loop {
        let len = file.metadata()?.len();
        if len < pos {
            bail!(concat!(shrank!(), ": {} bytes left of the {} already read"), len, pos);
        }
        if len == pos {
            return Ok(());
        }
        let want = usize::try_from(len - pos).unwrap_or(usize::MAX).min(window);
        let last = pos + want as u64 == len;
        // SAFETY: the mapping is read-only and private to this process; its bytes are only
        // read, through slices that live no longer than the `Arc` holding the mapping. Another
        // process may still change the file under it: changed bytes are read as whatever they
        // are at the time (the engine indexes only within the slice, so no read goes out of
        // bounds), and bytes cut off by a truncation raise SIGBUS, which `report_truncation`
        // turns into an error exit. Justified by benches/cli_report.py (file columns; README,
        // "three designs": a reader thread copying every byte made the default run slower than
        // one thread on clean logs).
        let map = Arc::new(unsafe { MmapOptions::new().offset(pos).len(want).map(&**file)? });
        // Read-ahead in large steps.
        let _ = map.advise(Advice::Sequential);
        let mut start = 0;
        while start < want {
            let end = (start + opts.chunk).min(want);
            let cut = if last && end == want {
                Some(want) // the end of the file ends every verdict
            } else {
                masker
                    .cut_point(&map[start..end])
                    .map(|c| start + c)
                    .filter(|&c| c > start)
                    .or_else(|| {
                        // A line longer than a piece: the last cut in the rest of the window.
                        if end == want {
                            return None;
                        }
                        masker.cut_point(&map[start..want]).map(|c| start + c).filter(|&c| c > start)
                    })
                    .or(last.then_some(want))
            };
            let Some(cut) = cut else { break };
            if let Some(bar) = bar {
                bar.inc((cut - start) as u64);
            }
            let input = Chunk::Mapped {
                map: Arc::clone(&map),
                range: start..cut,
                file: Arc::clone(file),
                offset: pos + start as u64,
            };
            if work.send(Piece { seq, input, flush: false }).is_err() {
                return Ok(()); // the writer stopped; its error is the one to report
            }
            seq += 1;
            start = cut;
        }
        pos += start as u64;
        if start > 0 {
            window = opts.window;
        } else if want >= opts.max_pending {
            return Err(super::no_cut(opts.max_pending));
        } else {
            // No cut anywhere in the window: map a longer one from the same place.
            window = (window * 2).min(opts.max_pending);
        }
    }
}

/// Installs (once) a SIGBUS handler that reports a truncated input instead of dying without a
/// word. It runs in signal context, so it only writes a fixed message and exits.
fn report_truncation() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        extern "C" fn on_sigbus(_signal: libc::c_int) {
            const MESSAGE: &[u8] = concat!("logmask: error: ", shrank!(), "\n").as_bytes();
            // SAFETY: write(2) and _exit(2) are async-signal-safe; MESSAGE is a static byte
            // string valid for its whole length. The process ends here: no code of the
            // interrupted thread runs again.
            unsafe {
                libc::write(libc::STDERR_FILENO, MESSAGE.as_ptr().cast(), MESSAGE.len());
                libc::_exit(74);
            }
        }
        // SAFETY: `action` is fully initialised (zeroed, then its handler and an empty mask);
        // the handler is an `extern "C" fn(c_int)`, the form sigaction expects without
        // SA_SIGINFO. Installing a handler touches no memory of ours.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    });
}
