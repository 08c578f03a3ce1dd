//! The append-only file, in Redis 7's multi-part layout: a directory (`appenddirname`)
//! holding a base snapshot (`<appendfilename>.<n>.base.rdb`), the commands applied since
//! (`<appendfilename>.<n>.incr.aof`), and a manifest naming them
//! (`<appendfilename>.manifest`). redis-server 7.0 reads tandem's directory and the other
//! way round.
//!
//! Writes: propagated commands are appended to a buffer under the engine lock, and the
//! connection that ran them writes the buffer to the file before sending its replies
//! (with `appendfsync always`, also fsyncs), so an acknowledged write is in the file.
//! `everysec` fsyncs from the cron, on a duplicate descriptor, without stopping writers.
//!
//! Rewrite (BGREWRITEAOF): under the engine lock a snapshot is taken and a new INCR file
//! opened, so snapshot + new INCR is the whole dataset; the base is written in the
//! background; then the manifest is switched atomically and the old files deleted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::engine::{Propagated, PropagationSink};
use crate::persistence::Snapshot;
use crate::replication::StreamEncoder;
use crate::{notice, warning};

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    EverySec,
    No,
}

impl FsyncPolicy {
    pub fn from_name(name: &str) -> FsyncPolicy {
        match name {
            "always" => FsyncPolicy::Always,
            "no" => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }
}

/// One file the manifest lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    pub name: String,
    pub seq: u64,
    /// `b` base, `i` incremental, `h` history.
    pub kind: char,
}

/// The manifest: the base (if any) and the INCR files, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<ManifestEntry>,
    pub incrs: Vec<ManifestEntry>,
}

impl Manifest {
    /// Parses a manifest: lines `file <name> seq <n> type <b|i|h>`, `#` comments.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let mut name = None;
            let mut seq = None;
            let mut kind = None;
            for pair in words.chunks(2) {
                match pair {
                    ["file", v] => name = Some(v.to_string()),
                    ["seq", v] => seq = v.parse::<u64>().ok(),
                    ["type", v] if v.len() == 1 => kind = v.chars().next(),
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(format!(
                    "Invalid AOF manifest file format at line {}",
                    i + 1
                ));
            };
            if name.contains('/') {
                return Err(format!(
                    "Invalid AOF manifest file format at line {}: file names may not contain '/'",
                    i + 1
                ));
            }
            let entry = ManifestEntry { name, seq, kind };
            match kind {
                'b' if m.base.is_some() => {
                    return Err("Found duplicate base file information in the AOF manifest".into())
                }
                'b' => m.base = Some(entry),
                'i' => m.incrs.push(entry),
                'h' => {}
                _ => return Err(format!("Unknown AOF file type '{kind}' at line {}", i + 1)),
            }
        }
        Ok(m)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in self.base.iter().chain(self.incrs.iter()) {
            out.push_str(&format!("file {} seq {} type {}\n", e.name, e.seq, e.kind));
        }
        out
    }

    fn next_incr_seq(&self) -> u64 {
        self.incrs.iter().map(|e| e.seq).max().unwrap_or(0) + 1
    }
}

/// Where the AOF lives and what its files are called.
#[derive(Debug, Clone)]
pub struct AofPaths {
    pub dir: PathBuf,
    pub name: String,
}

impl AofPaths {
    pub fn new(config: &crate::config::Config) -> AofPaths {
        AofPaths {
            dir: PathBuf::from(config.get("appenddirname")),
            name: config.get("appendfilename").to_string(),
        }
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.name))
    }

    fn base_name(&self, seq: u64) -> String {
        format!("{}.{seq}.base.rdb", self.name)
    }

    fn incr_name(&self, seq: u64) -> String {
        format!("{}.{seq}.incr.aof", self.name)
    }

    pub fn read_manifest(&self) -> Result<Option<Manifest>, String> {
        match fs::read_to_string(self.manifest()) {
            Ok(text) => Manifest::parse(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", self.manifest().display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("Can't read {}: {e}", self.manifest().display())),
        }
    }
}

struct Writer {
    file: File,
    /// Encoded commands not yet written.
    pending: Vec<u8>,
    encoder: StreamEncoder,
    manifest: Manifest,
    /// Set while a rewrite runs: the manifest the rewrite replaces.
    rewrite_from: Option<Manifest>,
    write_ok: bool,
}

/// The append-only file of a running server.
pub struct Aof {
    paths: AofPaths,
    policy: Mutex<FsyncPolicy>,
    writer: Mutex<Writer>,
    /// A duplicate of the INCR file's descriptor for `everysec` fsyncs off the lock.
    sync_handle: Mutex<File>,
    /// Bytes written but perhaps not yet fsynced.
    unsynced: AtomicBool,
    pub rewrite_in_progress: AtomicBool,
    pub last_rewrite_ok: AtomicBool,
    pub last_rewrite_secs: AtomicU64,
    pub rewrites: AtomicU64,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds each write of buffered commands waits first.
    pub flush_sleep_us: AtomicU64,
}

impl std::fmt::Debug for Aof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aof").field("paths", &self.paths).finish()
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Aof {
    /// Opens the AOF described by `manifest` for appending, or creates a new one whose
    /// base is `initial` (the dataset at start-up) when there is no manifest.
    pub fn open(
        paths: AofPaths,
        policy: FsyncPolicy,
        manifest: Option<Manifest>,
        initial: impl FnOnce() -> Snapshot,
    ) -> io::Result<Aof> {
        fs::create_dir_all(&paths.dir)?;
        let manifest = match manifest {
            Some(m) if !m.incrs.is_empty() => m,
            Some(mut m) => {
                let seq = m.next_incr_seq();
                m.incrs.push(ManifestEntry {
                    name: paths.incr_name(seq),
                    seq,
                    kind: 'i',
                });
                crate::atomic_file::write_bytes(&paths.manifest(), m.render().as_bytes())?;
                m
            }
            None => {
                let mut snapshot = initial();
                snapshot.aux.aof_base = true;
                let base = paths.base_name(1);
                snapshot.write_file(&paths.dir.join(&base))?;
                notice!("Creating AOF base file {base} on server start");
                let m = Manifest {
                    base: Some(ManifestEntry {
                        name: base,
                        seq: 1,
                        kind: 'b',
                    }),
                    incrs: vec![ManifestEntry {
                        name: paths.incr_name(1),
                        seq: 1,
                        kind: 'i',
                    }],
                };
                open_append(&paths.dir.join(&m.incrs[0].name))?;
                crate::atomic_file::write_bytes(&paths.manifest(), m.render().as_bytes())?;
                notice!("Creating AOF incr file {} on server start", m.incrs[0].name);
                m
            }
        };
        let last = manifest.incrs.last().expect("an incr file").name.clone();
        let file = open_append(&paths.dir.join(last))?;
        let sync_handle = file.try_clone()?;
        Ok(Aof {
            paths,
            policy: Mutex::new(policy),
            writer: Mutex::new(Writer {
                file,
                pending: Vec::new(),
                encoder: StreamEncoder::default(),
                manifest,
                rewrite_from: None,
                write_ok: true,
            }),
            sync_handle: Mutex::new(sync_handle),
            unsynced: AtomicBool::new(false),
            rewrite_in_progress: AtomicBool::new(false),
            last_rewrite_ok: AtomicBool::new(true),
            last_rewrite_secs: AtomicU64::new(0),
            rewrites: AtomicU64::new(0),
            flush_sleep_us: AtomicU64::new(0),
        })
    }

    pub fn set_policy(&self, policy: FsyncPolicy) {
        *self.policy.lock().expect("aof policy") = policy;
    }

    fn policy(&self) -> FsyncPolicy {
        *self.policy.lock().expect("aof policy")
    }

    /// Whether the last write succeeded (INFO aof_last_write_status).
    pub fn write_ok(&self) -> bool {
        self.writer.lock().expect("aof writer").write_ok
    }

    /// Writes buffered commands to the file (and fsyncs under `always`). Called by a
    /// connection after its batch ran, before it replies.
    pub fn flush(&self) -> io::Result<()> {
        let mut w = self.writer.lock().expect("aof writer");
        if w.pending.is_empty() {
            return Ok(());
        }
        let sleep = self.flush_sleep_us.load(Ordering::Relaxed);
        if sleep > 0 {
            std::thread::sleep(std::time::Duration::from_micros(sleep));
        }
        let pending = std::mem::take(&mut w.pending);
        let result = w.file.write_all(&pending);
        w.write_ok = result.is_ok();
        w.pending = pending;
        w.pending.clear();
        result?;
        if self.policy() == FsyncPolicy::Always {
            w.file.sync_data()?;
        } else {
            self.unsynced.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// The `everysec` fsync, from the cron.
    pub fn fsync_if_due(&self) {
        if self.policy() == FsyncPolicy::EverySec && self.unsynced.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.sync_handle.lock().expect("aof sync").sync_data() {
                warning!("Error syncing the append only file: {e}");
            }
        }
    }

    /// Writes and fsyncs everything (shutdown).
    pub fn flush_and_sync(&self) -> io::Result<()> {
        self.flush()?;
        self.writer.lock().expect("aof writer").file.sync_all()
    }

    fn append(&self, cmd: &Propagated) {
        let w = &mut *self.writer.lock().expect("aof writer");
        w.encoder.encode(&mut w.pending, Some(cmd.db), &cmd.args);
    }

    /// Starts a rewrite: call under the engine lock with a snapshot taken under it.
    /// Returns false when one is already running.
    pub fn start_rewrite(self: &Arc<Self>, mut snapshot: Snapshot) -> io::Result<bool> {
        if self.rewrite_in_progress.swap(true, Ordering::AcqRel) {
            return Ok(false);
        }
        let started = (|| {
            let mut w = self.writer.lock().expect("aof writer");
            let pending = std::mem::take(&mut w.pending);
            w.file.write_all(&pending)?;
            w.file.sync_data()?;
            let seq = w.manifest.next_incr_seq();
            let name = self.paths.incr_name(seq);
            let file = open_append(&self.paths.dir.join(&name))?;
            let mut during = w.manifest.clone();
            during.incrs.push(ManifestEntry {
                name,
                seq,
                kind: 'i',
            });
            crate::atomic_file::write_bytes(&self.paths.manifest(), during.render().as_bytes())?;
            *self.sync_handle.lock().expect("aof sync") = file.try_clone()?;
            w.file = file;
            // The new INCR file starts with no database selected.
            w.encoder.forget_selected_db();
            w.rewrite_from = Some(w.manifest.clone());
            w.manifest = during;
            io::Result::Ok(())
        })();
        if let Err(e) = started {
            self.rewrite_in_progress.store(false, Ordering::Release);
            return Err(e);
        }
        notice!("Background append only file rewriting started");
        snapshot.aux.aof_base = true;
        let snapshot = snapshot.sharing_cpu();
        let aof = self.clone();
        std::thread::Builder::new()
            .name("aof-rewrite".into())
            .spawn(crate::memory::counted(move || {
                super::yield_cpu_to_clients();
                let start = Instant::now();
                let result = aof.finish_rewrite(snapshot);
                aof.last_rewrite_secs
                    .store(start.elapsed().as_secs(), Ordering::Relaxed);
                aof.last_rewrite_ok.store(result.is_ok(), Ordering::Relaxed);
                match result {
                    Ok(()) => {
                        aof.rewrites.fetch_add(1, Ordering::Relaxed);
                        notice!("Background AOF rewrite finished successfully")
                    }
                    Err(e) => warning!("Background AOF rewrite failed: {e}"),
                }
                aof.rewrite_in_progress.store(false, Ordering::Release);
            }))?;
        Ok(true)
    }

    fn finish_rewrite(&self, snapshot: Snapshot) -> io::Result<()> {
        let base_seq = {
            let w = self.writer.lock().expect("aof writer");
            w.manifest.base.as_ref().map_or(0, |b| b.seq) + 1
        };
        let base_name = self.paths.base_name(base_seq);
        snapshot.write_file(&self.paths.dir.join(&base_name))?;
        let mut w = self.writer.lock().expect("aof writer");
        let old = w.rewrite_from.take().unwrap_or_default();
        let mut next = w.manifest.clone();
        next.base = Some(ManifestEntry {
            name: base_name,
            seq: base_seq,
            kind: 'b',
        });
        next.incrs.retain(|e| !old.incrs.contains(e));
        crate::atomic_file::write_bytes(&self.paths.manifest(), next.render().as_bytes())?;
        w.manifest = next;
        drop(w);
        for e in old.base.iter().chain(old.incrs.iter()) {
            let _ = fs::remove_file(self.paths.dir.join(&e.name));
        }
        Ok(())
    }

    /// Size of the files the manifest lists (INFO aof_current_size).
    pub fn current_size(&self) -> u64 {
        let w = self.writer.lock().expect("aof writer");
        w.manifest
            .base
            .iter()
            .chain(w.manifest.incrs.iter())
            .filter_map(|e| fs::metadata(self.paths.dir.join(&e.name)).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// The engine feeds the AOF through this.
#[derive(Debug, Clone)]
pub struct AofSink(pub Arc<Aof>);

impl PropagationSink for AofSink {
    fn feed(&mut self, cmd: &Propagated) {
        self.0.append(cmd);
    }
}

/// An INCR file read back as commands, for replay.
#[derive(Debug)]
pub struct IncrReader {
    pub name: String,
    buf: BytesMut,
    parser: crate::resp::RequestParser,
    file: File,
    /// Bytes of the file consumed by complete commands.
    pub consumed: u64,
    eof: bool,
}

/// Why replaying an INCR file stopped.
#[derive(Debug)]
pub enum ReplayEnd {
    /// The whole file was read.
    Complete,
    /// The file ends inside a command that starts at `offset` (a torn last write).
    Truncated { offset: u64 },
}

impl IncrReader {
    pub fn open(dir: &Path, name: &str) -> io::Result<IncrReader> {
        Ok(IncrReader {
            name: name.to_string(),
            buf: BytesMut::with_capacity(1 << 16),
            parser: crate::resp::RequestParser::new(crate::resp::ParseLimits::default()),
            file: File::open(dir.join(name))?,
            consumed: 0,
            eof: false,
        })
    }

    /// The next command; Ok(None) at the end. A malformed command is an error naming its
    /// byte offset.
    pub fn next_command(&mut self) -> Result<Option<Vec<Bytes>>, String> {
        loop {
            let before = self.buf.len();
            match self.parser.parse(&mut self.buf) {
                Ok(Some(args)) => {
                    self.consumed += (before - self.buf.len()) as u64;
                    if args.is_empty() {
                        continue;
                    }
                    return Ok(Some(args));
                }
                Ok(None) => {
                    self.consumed += (before - self.buf.len()) as u64;
                }
                Err(e) => {
                    return Err(format!(
                        "Bad file format reading the append only file {} at offset {}: {e}",
                        self.name, self.consumed
                    ))
                }
            }
            if self.eof {
                return Ok(None);
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = self
                .file
                .read(&mut chunk)
                .map_err(|e| format!("Error reading {}: {e}", self.name))?;
            if n == 0 {
                self.eof = true;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// After `next_command` returned None: whether the file ended cleanly.
    pub fn end(&self) -> ReplayEnd {
        if self.buf.is_empty() && self.parser.bytes_needed().is_none() {
            ReplayEnd::Complete
        } else {
            ReplayEnd::Truncated {
                offset: self.consumed,
            }
        }
    }
}

/// Cuts a torn last command off an INCR file (`aof-load-truncated yes`).
pub fn truncate_to(dir: &Path, name: &str, len: u64) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(dir.join(name))?;
    f.set_len(len)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_errors() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.render(), text);
        assert!(Manifest::parse("file x seq 1\n").is_err());
        assert!(Manifest::parse("file ../x seq 1 type i\n").is_err());
        assert!(Manifest::parse("file a seq 1 type b\nfile b seq 2 type b\n").is_err());
    }
}
