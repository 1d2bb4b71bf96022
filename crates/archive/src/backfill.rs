//! The backfill loop shared by local trees, S3 and S3 Batch Operations tasks: list, skip what is
//! already masked under the current fingerprint, mask the rest in parallel, write atomically.

use std::io::{self, Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use logmask_mask::{Counts, Masker, Role};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{BackfillError, ObjectError};
use crate::fingerprint::Fingerprint;
use crate::object::{Compression, ObjectStats, RawObject};

/// One object found in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Key relative to the source root or prefix; the destination uses the same relative key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, seconds since the epoch.
    pub modified: Option<i64>,
    /// Changes whenever the object's content may have changed (S3 ETag; size and mtime locally).
    pub tag: String,
}

/// What a destination object records about how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Policy, role and key id it was masked with.
    pub fingerprint: Fingerprint,
    /// The source's [`Entry::tag`] when it was masked.
    pub source_tag: String,
}

/// Where raw objects come from.
pub trait Source: Sync {
    /// A streaming reader over one object.
    type Reader: Read + Send;
    /// Every object under the root, in key order.
    fn list(&self) -> Result<Vec<Entry>, BackfillError>;
    /// Opens one object.
    fn open(&self, entry: &Entry) -> io::Result<Self::Reader>;
}

/// Where masked objects go. A writer's bytes become visible under the key only on
/// [`Dest::commit`], all at once; an abandoned writer leaves no object behind.
pub trait Dest: Sync {
    /// Receives the masked bytes.
    type Writer: Write + Send;
    /// How the object at `key` was made, if it exists and says so.
    fn stamp(&self, key: &str) -> io::Result<Option<Stamp>>;
    /// Starts writing `key`.
    fn create(&self, key: &str, compression: Compression, stamp: &Stamp) -> io::Result<Self::Writer>;
    /// Makes the object visible under its key.
    fn commit(&self, writer: Self::Writer) -> io::Result<()>;
    /// Drops what was written (best effort).
    fn abort(&self, writer: Self::Writer);
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The view written.
    pub role: Role,
    /// Recorded with every object written; objects already carrying it are skipped.
    pub fingerprint: Fingerprint,
    /// Only objects modified at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// List and compare only; write nothing.
    pub dry_run: bool,
    /// Rewrite objects even when their fingerprint is current.
    pub force: bool,
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Masked and committed.
    Written(ObjectStats),
    /// Already masked with the current fingerprint from the same source content.
    Skipped,
    /// `--dry-run`: would be written.
    WouldWrite,
    /// Not written; the reason never quotes the object.
    Failed {
        /// One line.
        reason: String,
        /// The object itself is bad (retrying cannot help), as opposed to the storage around it.
        permanent: bool,
    },
}

/// Masks one object from `source` to `dest` unless it is already current.
pub fn process_entry<S: Source, D: Dest>(
    source: &S,
    dest: &D,
    masker: &Masker,
    options: &Options,
    entry: &Entry,
) -> Outcome {
    let stamp = Stamp { fingerprint: options.fingerprint.clone(), source_tag: entry.tag.clone() };
    if !options.force {
        match dest.stamp(&entry.key) {
            Ok(Some(existing)) if existing == stamp => return Outcome::Skipped,
            Ok(_) => {}
            Err(e) => return io_failure("checking the destination", &e),
        }
    }
    if options.dry_run {
        return Outcome::WouldWrite;
    }
    let reader = match source.open(entry) {
        Ok(r) => r,
        Err(e) => return io_failure("opening the source", &e),
    };
    let object = match RawObject::open(reader) {
        Ok(o) => o,
        Err(e) => return object_failure(&e),
    };
    let mut writer = match dest.create(&entry.key, object.compression(), &stamp) {
        Ok(w) => w,
        Err(e) => return io_failure("creating the destination", &e),
    };
    match object.mask_into(masker, options.role, &mut writer) {
        Ok(stats) => match dest.commit(writer) {
            Ok(()) => Outcome::Written(stats),
            Err(e) => io_failure("committing the destination", &e),
        },
        Err(e) => {
            dest.abort(writer);
            object_failure(&e)
        }
    }
}

fn object_failure(e: &ObjectError) -> Outcome {
    Outcome::Failed { reason: e.to_string(), permanent: e.is_permanent() }
}

fn io_failure(what: &str, e: &io::Error) -> Outcome {
    let permanent =
        matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput);
    Outcome::Failed { reason: format!("{what}: {e}"), permanent }
}

/// Totals of a run; [`Summary::line`] is the CLI's last line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Objects selected (after `since`).
    pub objects: u64,
    /// Objects masked and written.
    pub written: u64,
    /// Objects already current.
    pub skipped: u64,
    /// Objects a dry run would write.
    pub would_write: u64,
    /// Objects that failed.
    pub failed: u64,
    /// Source bytes of the written objects.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Records masked.
    pub records: u64,
    /// Findings.
    pub counts: Counts,
    /// Wall-clock time of the masking phase.
    #[serde(skip)]
    pub elapsed: Duration,
    /// Key and reason of every failed object.
    pub failures: Vec<(String, String)>,
}

impl Summary {
    fn add(&mut self, key: &str, outcome: &Outcome) {
        self.objects += 1;
        match outcome {
            Outcome::Written(s) => {
                self.written += 1;
                self.bytes_in += s.bytes_in;
                self.bytes_out += s.bytes_out;
                self.records += s.records;
                self.counts += s.counts;
            }
            Outcome::Skipped => self.skipped += 1,
            Outcome::WouldWrite => self.would_write += 1,
            Outcome::Failed { reason, .. } => {
                self.failed += 1;
                self.failures.push((key.to_owned(), reason.clone()));
            }
        }
    }

    /// Source megabytes (10^6 bytes) masked per second of wall-clock time.
    pub fn mb_per_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.bytes_in as f64 / 1e6 / secs } else { 0.0 }
    }

    /// One line: objects, bytes in/out, skipped, failed, MB/s.
    pub fn line(&self) -> String {
        let mut line = format!(
            "objects {} written {} skipped {} failed {} bytes_in {} bytes_out {} records {} elapsed {:.2}s {:.1} MB/s",
            self.objects,
            self.written,
            self.skipped,
            self.failed,
            self.bytes_in,
            self.bytes_out,
            self.records,
            self.elapsed.as_secs_f64(),
            self.mb_per_s()
        );
        if self.would_write > 0 {
            line.push_str(&format!(" would_write {}", self.would_write));
        }
        line
    }
}

/// Runs the backfill on the current rayon pool: lists `source`, keeps objects modified since
/// `options.since`, and processes them in parallel. `on_done` sees each object as it finishes
/// (progress bars, logs). One bad object never stops the others.
pub fn run<S: Source, D: Dest>(
    source: &S,
    dest: &D,
    masker: &Masker,
    options: &Options,
    on_done: impl Fn(&Entry, &Outcome) + Sync,
) -> Result<Summary, BackfillError> {
    let entries = select(source.list()?, options.since);
    Ok(run_entries(source, dest, masker, options, &entries, on_done))
}

/// [`run`] over entries already listed (and selected).
pub fn run_entries<S: Source, D: Dest>(
    source: &S,
    dest: &D,
    masker: &Masker,
    options: &Options,
    entries: &[Entry],
    on_done: impl Fn(&Entry, &Outcome) + Sync,
) -> Summary {
    let started = Instant::now();
    let summary = Mutex::new(Summary::default());
    // One object per task: objects differ in size by orders of magnitude, so rayon's default
    // splitting would leave workers idle behind a large one.
    entries.par_iter().with_max_len(1).for_each(|entry| {
        let outcome = process_entry(source, dest, masker, options, entry);
        on_done(entry, &outcome);
        // A poisoned lock only means another worker panicked; its totals are still right.
        summary.lock().unwrap_or_else(|p| p.into_inner()).add(&entry.key, &outcome);
    });
    let mut summary = summary.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.elapsed = started.elapsed();
    summary.failures.sort();
    summary
}

/// The entries modified at or after `since`.
pub fn select(entries: Vec<Entry>, since: Option<i64>) -> Vec<Entry> {
    match since {
        Some(t) => entries.into_iter().filter(|e| e.modified.is_none_or(|m| m >= t)).collect(),
        None => entries,
    }
}
