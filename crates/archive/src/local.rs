//! Local directory trees: the source walked recursively, the destination written through a
//! temporary file renamed into place, the fingerprint in a sidecar file next to each object.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::backfill::{Dest, Entry, Source, Stamp};
use crate::error::BackfillError;
use crate::fingerprint::Fingerprint;
use crate::object::Compression;

/// Appended to an object's file name for its sidecar (`x.gz` → `x.gz.logmask.json`).
pub const SIDECAR_SUFFIX: &str = ".logmask.json";
/// File names starting with this are writes in progress (or left by an interrupted run).
pub const TEMP_PREFIX: &str = ".logmask-tmp-";

/// A directory of raw objects.
#[derive(Debug, Clone)]
pub struct LocalSource {
    root: PathBuf,
}

impl LocalSource {
    /// Objects under `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalSource {
        LocalSource { root: root.into() }
    }
}

fn is_ours(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) || name.ends_with(SIDECAR_SUFFIX)
}

impl Source for LocalSource {
    type Reader = File;

    fn list(&self) -> Result<Vec<Entry>, BackfillError> {
        let mut entries = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let read = fs::read_dir(&dir).map_err(|e| BackfillError::List(format!("{}: {e}", dir.display())))?;
            for item in read {
                let item = item.map_err(|e| BackfillError::List(format!("{}: {e}", dir.display())))?;
                // Symbolic links are not followed: a link could lead out of the tree or in a loop.
                let kind = item.file_type().map_err(|e| BackfillError::List(e.to_string()))?;
                let path = item.path();
                if kind.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let name = item.file_name().to_string_lossy().into_owned();
                if !kind.is_file() || is_ours(&name) {
                    continue;
                }
                let meta = item.metadata().map_err(|e| BackfillError::List(format!("{}: {e}", path.display())))?;
                let rel = path.strip_prefix(&self.root).map_err(|e| BackfillError::List(e.to_string()))?;
                let Some(key) = rel.to_str().map(|k| k.replace(std::path::MAIN_SEPARATOR, "/")) else {
                    return Err(BackfillError::List(format!("{}: file name is not UTF-8", path.display())));
                };
                let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
                entries.push(Entry {
                    key,
                    size: meta.len(),
                    modified: mtime.map(|d| d.as_secs() as i64),
                    tag: format!("{}-{}", meta.len(), mtime.map(|d| d.as_nanos()).unwrap_or(0)),
                });
            }
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }

    fn open(&self, entry: &Entry) -> io::Result<File> {
        File::open(self.root.join(safe_relative(&entry.key)?))
    }
}

/// A relative key as a path that cannot leave the root (`..`, absolute paths and empty keys are
/// refused: keys listed from S3 are anyone's text).
fn safe_relative(key: &str) -> io::Result<PathBuf> {
    let path = Path::new(key);
    let ok = !key.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(path.to_path_buf())
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, "key is not a plain relative path"))
    }
}

/// A directory receiving masked objects.
#[derive(Debug)]
pub struct LocalDest {
    root: PathBuf,
    counter: AtomicU64,
}

impl LocalDest {
    /// Objects go under `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalDest {
        LocalDest { root: root.into(), counter: AtomicU64::new(0) }
    }
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    fingerprint: String,
    source: String,
}

/// A masked object being written to a temporary file beside its final name.
#[derive(Debug)]
pub struct LocalWriter {
    file: BufWriter<File>,
    temp: PathBuf,
    path: PathBuf,
    sidecar: Vec<u8>,
}

impl Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(SIDECAR_SUFFIX);
    PathBuf::from(name)
}

impl LocalDest {
    fn temp_for(&self, path: &Path) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        path.with_file_name(format!("{TEMP_PREFIX}{}-{n}-{name}", std::process::id()))
    }

    /// Writes `bytes` to `path` through a temporary file and a rename.
    fn replace(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let temp = self.temp_for(path);
        let result = fs::write(&temp, bytes).and_then(|()| fs::rename(&temp, path));
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }
}

impl Dest for LocalDest {
    type Writer = LocalWriter;

    fn stamp(&self, key: &str) -> io::Result<Option<Stamp>> {
        let path = self.root.join(safe_relative(key)?);
        if !path.is_file() {
            return Ok(None);
        }
        let bytes = match fs::read(sidecar_path(&path)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // A sidecar that does not parse is as good as none: the object is redone.
        let Ok(sidecar) = serde_json::from_slice::<Sidecar>(&bytes) else { return Ok(None) };
        Ok(Fingerprint::parse(&sidecar.fingerprint)
            .map(|fingerprint| Stamp { fingerprint, source_tag: sidecar.source }))
    }

    fn create(&self, key: &str, _compression: Compression, stamp: &Stamp) -> io::Result<LocalWriter> {
        let path = self.root.join(safe_relative(key)?);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let temp = self.temp_for(&path);
        let file = BufWriter::with_capacity(256 * 1024, File::create(&temp)?);
        let sidecar = serde_json::to_vec(&Sidecar {
            fingerprint: stamp.fingerprint.as_str().to_owned(),
            source: stamp.source_tag.clone(),
        })
        .map_err(io::Error::other)?;
        Ok(LocalWriter { file, temp, path, sidecar })
    }

    fn commit(&self, writer: LocalWriter) -> io::Result<()> {
        let LocalWriter { file, temp, path, sidecar } = writer;
        let result = file.into_inner().map_err(|e| e.into_error()).and_then(|_| fs::rename(&temp, &path));
        if let Err(e) = result {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        // The sidecar comes second: an interruption between the two leaves a new object without
        // a sidecar, which the next run simply redoes.
        self.replace(&sidecar_path(&path), &sidecar)
    }

    fn abort(&self, writer: LocalWriter) {
        drop(writer.file);
        let _ = fs::remove_file(&writer.temp);
    }
}
