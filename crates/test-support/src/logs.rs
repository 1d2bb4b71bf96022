//! Tracing output captured in memory, so a test can assert what was (and was never) logged.
//!
//! One global subscriber, installed on first use, formats events (the `tracing_subscriber::fmt`
//! layout, no colours) for the captures active at that moment. It is global on purpose: a
//! thread-scoped default subscriber misses events whose callsite interest another test thread
//! cached first, and a missed event is an unchecked event. Its filter is evaluated per event
//! (never cached), so events with no capture to go to are not even formatted.
//!
//! - [`LogCapture::this_thread`] / [`capture_logs`]: this thread's events only, so tests running
//!   in parallel threads of one binary do not see each other's lines. Code under test must run
//!   on this thread (a current-thread tokio runtime does).
//! - [`LogCapture::all_threads`]: every thread's events (spawned runtimes, blocking pools), for
//!   hygiene checks that must not miss a line wherever it was emitted.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};

use tracing::{Level, Metadata};
use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

type Buffer = Arc<Mutex<Vec<u8>>>;

struct ThreadCapture {
    max: Level,
    buffer: Buffer,
}

thread_local! {
    static THREAD: RefCell<Option<ThreadCapture>> = const { RefCell::new(None) };
}

/// Active all-threads captures: (id, most verbose level wanted, buffer).
static ALL_THREADS: Mutex<Vec<(u64, Level, Buffer)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Level order in tracing: more verbose is greater (`TRACE > DEBUG > … > ERROR`).
fn wanted_by_thread(level: &Level) -> bool {
    THREAD.with(|t| t.borrow().as_ref().is_some_and(|c| level <= &c.max))
}

fn wanted_by_all_threads(level: &Level) -> bool {
    ALL_THREADS.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|(_, max, _)| level <= max)
}

fn wanted(meta: &Metadata<'_>) -> bool {
    wanted_by_thread(meta.level()) || wanted_by_all_threads(meta.level())
}

/// Where one formatted event goes: the captures that want its level.
struct Route(Level);

impl io::Write for Route {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        THREAD.with(|t| {
            if let Some(c) = t.borrow().as_ref().filter(|c| self.0 <= c.max) {
                c.buffer.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
            }
        });
        for (_, max, buffer) in ALL_THREADS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if self.0 <= *max {
                buffer.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Router;

impl<'a> MakeWriter<'a> for Router {
    type Writer = Route;
    fn make_writer(&'a self) -> Route {
        Route(Level::TRACE)
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Route {
        Route(*meta.level())
    }
}

fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // `dynamic_filter_fn`, not `filter_fn`: a `FilterFn` caches its answer per callsite
        // (`Interest::always`/`never`) from whichever thread reaches the callsite first, so a
        // callsite first hit by a test without a capture would never be captured again.
        let filter = dynamic_filter_fn(|meta, _| wanted(meta));
        let layer = fmt::layer().with_writer(Router).with_ansi(false).with_filter(filter);
        if let Err(err) = tracing_subscriber::registry().with(layer).try_init() {
            panic!("another global tracing subscriber is installed, captures would miss its events: {err}");
        }
    });
}

/// Collects formatted events while alive; dropping it stops the capture.
pub struct LogCapture {
    buffer: Buffer,
    all_threads: Option<u64>,
}

impl LogCapture {
    /// Captures events up to `max` (e.g. `Level::DEBUG`) emitted on this thread.
    ///
    /// # Panics
    /// If this thread already has a capture (nested captures would split the lines).
    pub fn this_thread(max: Level) -> Self {
        install();
        let buffer = Buffer::default();
        THREAD.with(|t| {
            let mut t = t.borrow_mut();
            assert!(t.is_none(), "this thread already captures its logs");
            *t = Some(ThreadCapture { max, buffer: buffer.clone() });
        });
        LogCapture { buffer, all_threads: None }
    }

    /// Captures events up to `max` emitted on any thread, other tests' included.
    pub fn all_threads(max: Level) -> Self {
        install();
        let buffer = Buffer::default();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        ALL_THREADS.lock().unwrap_or_else(|e| e.into_inner()).push((id, max, buffer.clone()));
        LogCapture { buffer, all_threads: Some(id) }
    }

    /// Everything captured so far (lossy UTF-8: a test should see bytes it did not expect).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        match self.all_threads {
            Some(id) => ALL_THREADS.lock().unwrap_or_else(|e| e.into_inner()).retain(|(other, _, _)| *other != id),
            None => THREAD.with(|t| {
                let mut t = t.borrow_mut();
                if t.as_ref().is_some_and(|c| Arc::ptr_eq(&c.buffer, &self.buffer)) {
                    *t = None;
                }
            }),
        }
    }
}

/// Runs `f` and returns what it logged on this thread up to DEBUG. Not TRACE: at TRACE the AWS
/// SDK and hyper log every connection step, which no assertion here is about.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    let capture = LogCapture::this_thread(Level::DEBUG);
    let out = f();
    (out, capture.text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_capture_sees_its_own_thread_up_to_its_level() {
        let ((), text) = capture_logs(|| {
            tracing::info!(user = "alice", "on this thread");
            tracing::trace!("too verbose");
            std::thread::spawn(|| tracing::info!("on another thread")).join().unwrap();
        });
        assert!(text.contains("INFO") && text.contains("on this thread user=\"alice\""), "{text}");
        assert!(!text.contains("too verbose") && !text.contains("another thread"), "{text}");
        assert!(!text.contains('\x1b'), "no colour codes: {text:?}");
    }

    #[test]
    fn an_all_threads_capture_sees_every_thread_and_stops_when_dropped() {
        let capture = LogCapture::all_threads(Level::TRACE);
        std::thread::spawn(|| tracing::trace!(marker = 7, "spawned")).join().unwrap();
        let text = capture.text();
        drop(capture);
        assert!(text.contains("spawned marker=7"), "{text}");
        let later = LogCapture::all_threads(Level::TRACE);
        let (_, mine) = capture_logs(|| tracing::debug!("after the first capture"));
        assert!(later.text().contains("after the first capture") && mine.contains("after the first capture"));
        assert!(!later.text().contains("spawned marker=7"));
    }

    #[test]
    #[should_panic(expected = "already captures")]
    fn nested_captures_on_one_thread_are_refused() {
        let _outer = LogCapture::this_thread(Level::INFO);
        let _inner = LogCapture::this_thread(Level::INFO);
    }
}
