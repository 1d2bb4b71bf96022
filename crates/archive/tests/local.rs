//! Backfill of local directory trees: idempotence, resumption after an interruption, bad objects.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use logmask_archive::{
    Compression, Dest, Entry, Fingerprint, LocalDest, LocalSource, LocalWriter, Options, Outcome, SIDECAR_SUFFIX,
    Source, Stamp, Summary, TEMP_PREFIX, run, select,
};
use logmask_mask::{Masker, Policy, Role};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn write(root: &Path, key: &str, bytes: &[u8]) {
    let path = root.join(key);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn raw_tree(root: &Path) {
    write(root, "2024/05/01/09/app.log", b"login a@example.com from 192.0.2.1\n");
    write(root, "2024/05/01/09/ses.gz", &gzip(b"{\"eventType\":\"Send\",\"mail\":{\"source\":\"b@example.com\"}}\n"));
    write(
        root,
        "2024/05/02/00/ses-2.gz",
        &gzip(b"{\"eventType\":\"Bounce\",\"mail\":{\"source\":\"c@example.com\"}}\n"),
    );
    let mut corrupt = gzip(&b"d@example.com\n".repeat(500));
    let n = corrupt.len();
    corrupt.truncate(n - 20);
    write(root, "2024/05/02/00/corrupt.gz", &corrupt);
}

fn options(role: Role) -> Options {
    Options {
        role,
        fingerprint: Fingerprint::new(&Policy::default(), role, None),
        since: None,
        dry_run: false,
        force: false,
    }
}

fn backfill<D: Dest>(from: &Path, dest: &D, opts: &Options) -> Summary {
    // One worker: the interruption test relies on a deterministic order.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| run(&LocalSource::new(from), dest, &Masker::new(), opts, |_, _| {})).unwrap()
}

fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_tree_is_masked_once_and_a_second_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, masked) = (dir.path().join("raw"), dir.path().join("masked"));
    raw_tree(&raw);
    let dest = LocalDest::new(&masked);
    let first = backfill(&raw, &dest, &options(Role::Readonly));
    assert_eq!((first.objects, first.written, first.skipped, first.failed), (4, 3, 0, 1), "{}", first.line());
    assert_eq!(first.failures[0].0, "2024/05/02/00/corrupt.gz");
    assert!(first.failures[0].1.contains("corrupt gzip"));
    assert_eq!(fs::read_to_string(masked.join("2024/05/01/09/app.log")).unwrap(), "login <email> from <ipv4>\n");
    let mut ses = String::new();
    flate2::read::GzDecoder::new(fs::File::open(masked.join("2024/05/01/09/ses.gz")).unwrap())
        .read_to_string(&mut ses)
        .unwrap();
    assert_eq!(ses, "{\"eventType\":\"Send\",\"mail\":{\"source\":\"<email>\"}}\n");
    assert!(!masked.join("2024/05/02/00/corrupt.gz").exists(), "a bad object leaves nothing behind");
    let listed = files(&masked);
    assert!(listed.iter().all(|f| !f.contains(TEMP_PREFIX)), "{listed:?}");
    assert_eq!(listed.iter().filter(|f| f.ends_with(SIDECAR_SUFFIX)).count(), 3);
    let line = first.line();
    assert!(line.starts_with("objects 4 written 3 skipped 0 failed 1 bytes_in ") && line.ends_with("MB/s"), "{line}");

    let modified = fs::metadata(masked.join("2024/05/01/09/app.log")).unwrap().modified().unwrap();
    let second = backfill(&raw, &dest, &options(Role::Readonly));
    assert_eq!((second.written, second.skipped, second.failed), (0, 3, 1));
    assert_eq!(fs::metadata(masked.join("2024/05/01/09/app.log")).unwrap().modified().unwrap(), modified);

    // A new policy (here: another view) changes the fingerprint: everything is redone.
    let third = backfill(&raw, &dest, &options(Role::Operator));
    assert_eq!((third.written, third.skipped), (3, 0));
    assert_eq!(
        fs::read_to_string(masked.join("2024/05/01/09/app.log")).unwrap(),
        "login a***@example.com from 192.0.2.*\n"
    );

    // A changed source object is redone even under the same fingerprint.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&raw, "2024/05/01/09/app.log", b"changed e@example.com and more\n");
    let fourth = backfill(&raw, &dest, &options(Role::Operator));
    assert_eq!((fourth.written, fourth.skipped), (1, 2));
}

/// A destination whose process "dies" on the `n`-th commit: the writer is dropped without
/// renaming or cleaning up, as after a kill.
struct CrashOnCommit {
    inner: LocalDest,
    commits_left: AtomicUsize,
}

impl Dest for CrashOnCommit {
    type Writer = LocalWriter;
    fn stamp(&self, key: &str) -> io::Result<Option<Stamp>> {
        self.inner.stamp(key)
    }
    fn create(&self, key: &str, c: Compression, stamp: &Stamp) -> io::Result<LocalWriter> {
        self.inner.create(key, c, stamp)
    }
    fn commit(&self, writer: LocalWriter) -> io::Result<()> {
        // Once "dead", every later commit dies the same way.
        if self.commits_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            std::mem::forget(writer);
            return Err(io::Error::other("killed"));
        }
        self.inner.commit(writer)
    }
    fn abort(&self, writer: LocalWriter) {
        self.inner.abort(writer)
    }
}

#[test]
fn an_interrupted_run_leaves_no_partial_object_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, masked) = (dir.path().join("raw"), dir.path().join("masked"));
    raw_tree(&raw);
    let crashing = CrashOnCommit { inner: LocalDest::new(&masked), commits_left: AtomicUsize::new(1) };
    let first = backfill(&raw, &crashing, &options(Role::Readonly));
    assert_eq!((first.written, first.failed), (1, 3));
    // Keys in order: app.log (written), ses.gz (killed while committing), …
    assert!(masked.join("2024/05/01/09/app.log").exists());
    assert!(!masked.join("2024/05/01/09/ses.gz").exists(), "no partial object under the final name");
    assert!(files(&masked).iter().any(|f| f.contains(TEMP_PREFIX)), "the kill left its temporary file");

    // The temporary file is neither an object nor a source entry.
    let entries = LocalSource::new(&masked).list().unwrap();
    assert!(entries.iter().all(|e| !e.key.contains(TEMP_PREFIX) && !e.key.ends_with(SIDECAR_SUFFIX)));

    let resumed = backfill(&raw, &LocalDest::new(&masked), &options(Role::Readonly));
    assert_eq!((resumed.written, resumed.skipped, resumed.failed), (2, 1, 1), "{}", resumed.line());
    let again = backfill(&raw, &LocalDest::new(&masked), &options(Role::Readonly));
    assert_eq!((again.written, again.skipped), (0, 3));
}

#[test]
fn dry_run_and_force() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, masked) = (dir.path().join("raw"), dir.path().join("masked"));
    raw_tree(&raw);
    let dest = LocalDest::new(&masked);
    let dry = backfill(&raw, &dest, &Options { dry_run: true, ..options(Role::Readonly) });
    assert_eq!((dry.would_write, dry.written), (4, 0));
    assert!(!masked.exists() || files(&masked).is_empty());
    backfill(&raw, &dest, &options(Role::Readonly));
    let dry = backfill(&raw, &dest, &Options { dry_run: true, ..options(Role::Readonly) });
    assert_eq!((dry.would_write, dry.skipped), (1, 3));
    let forced = backfill(&raw, &dest, &Options { force: true, ..options(Role::Readonly) });
    assert_eq!(forced.written, 3);
}

#[test]
fn a_damaged_sidecar_means_redo_and_since_selects_by_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, masked) = (dir.path().join("raw"), dir.path().join("masked"));
    raw_tree(&raw);
    let dest = LocalDest::new(&masked);
    backfill(&raw, &dest, &options(Role::Readonly));
    fs::write(masked.join(format!("2024/05/01/09/app.log{SIDECAR_SUFFIX}")), b"{not json").unwrap();
    let again = backfill(&raw, &dest, &options(Role::Readonly));
    assert_eq!(again.written, 1);

    let e = |key: &str, modified: Option<i64>| Entry { key: key.into(), size: 1, modified, tag: String::new() };
    let kept = select(vec![e("old", Some(99)), e("new", Some(100)), e("unknown", None)], Some(100));
    assert_eq!(kept.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["new", "unknown"]);
}

#[test]
fn keys_cannot_leave_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let dest = LocalDest::new(dir.path().join("masked"));
    let stamp =
        Stamp { fingerprint: Fingerprint::new(&Policy::default(), Role::Readonly, None), source_tag: "t".into() };
    for key in ["../escape.log", "/etc/passwd", "a/../../b", ""] {
        let err = dest.create(key, Compression::Plain, &stamp).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{key}");
    }
    let outcome = logmask_archive::process_entry(
        &LocalSource::new(dir.path()),
        &dest,
        &Masker::new(),
        &options(Role::Readonly),
        &Entry { key: "../x".into(), size: 0, modified: None, tag: String::new() },
    );
    assert!(matches!(outcome, Outcome::Failed { permanent: true, .. }), "{outcome:?}");
}
