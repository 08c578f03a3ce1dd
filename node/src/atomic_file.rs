//! Files replaced atomically: written to a temporary sibling, fsynced, renamed over the
//! target, and the directory fsynced. A crash at any point leaves the old file or the new
//! one, never a torn one (RDB snapshots, AOF manifests and bases, CONFIG REWRITE).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `path` through `fill` into a temporary sibling, then fsyncs and renames it into
/// place and fsyncs the directory. The temporary file is removed on failure.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> io::Result<u64> {
    let tmp = directory_of(path).join(format!(
        "temp-{}-{}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    write_via(path, &tmp, fill)
}

/// The directory a file of `path` lives in.
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// [`write_with`] through the temporary file `tmp` (in the same file system as `path`),
/// for callers whose temporary file has a known name (Redis's `temp-<pid>.rdb`).
pub fn write_via(
    path: &Path,
    tmp: &Path,
    fill: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> io::Result<u64> {
    let dir = directory_of(path);
    let result = (|| {
        let file = File::create(tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, &file);
        fill(&mut w)?;
        w.flush()?;
        drop(w);
        file.sync_all()?;
        let size = file.metadata()?.len();
        fs::rename(tmp, path)?;
        File::open(&dir)?.sync_all()?;
        Ok(size)
    })();
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// Replaces `path` with `bytes` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |w| w.write_all(bytes)).map(|_| ())
}
