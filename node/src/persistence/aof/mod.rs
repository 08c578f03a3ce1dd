//! The append-only file, in Redis 7's multi-part layout: a directory (`appenddirname`)
//! holding a base (`<appendfilename>.<n>.base.rdb`, or `.base.aof` in RESP when
//! `aof-use-rdb-preamble no`), the commands applied since (`<appendfilename>.<n>.incr.aof`),
//! and a manifest naming them (see [`manifest`]). redis-server 7.0 reads tandem's directory
//! and the other way round, and tandem loads (and upgrades) a single-file AOF of an older
//! Redis.
//!
//! Writes: propagated commands are appended to a buffer under the engine lock, and
//! written out before any reply is sent (with `appendfsync always`, also fsynced), so an
//! acknowledged write is in the file. `everysec` fsyncs from the cron on a duplicate
//! descriptor, without stopping writers. A failed write keeps the buffer and is retried;
//! until a write succeeds, writes are refused with MISCONF (with `always`, the process
//! exits, as Redis does).
//!
//! States, as Redis's: OFF; ON; and WAIT_REWRITE after `CONFIG SET appendonly yes`, when
//! commands go to a temporary incremental file until the first rewrite succeeds.
//!
//! Rewrite (BGREWRITEAOF) without a fork: under the engine lock a snapshot is taken and a
//! new incremental file opened, so snapshot + new file is the whole dataset; the base is
//! written on a thread of its own; then the manifest is switched and the replaced files
//! become history, deleted unless `aof-disable-auto-gc yes`.

pub mod load;
pub mod manifest;
mod resp_base;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use manifest::{Entry, Manifest, ManifestError};

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

/// Whether commands are being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AofState {
    Off,
    On,
    /// Enabled at runtime; commands go to a temporary file until the first rewrite is done.
    WaitRewrite,
}

/// Where the AOF lives and what its files are called.
#[derive(Debug, Clone)]
pub struct AofPaths {
    /// `appenddirname`, relative to the working directory (`dir`).
    pub dir: PathBuf,
    /// `appendfilename`.
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

    fn base_name(&self, seq: u64, rdb: bool) -> String {
        format!(
            "{}.{seq}.base.{}",
            self.name,
            if rdb { "rdb" } else { "aof" }
        )
    }

    fn incr_name(&self, seq: u64) -> String {
        format!("{}.{seq}.incr.aof", self.name)
    }

    /// The incremental file commands go to until the first rewrite after the AOF was
    /// enabled at runtime.
    fn temp_incr_name(&self) -> String {
        format!("temp-{}.incr", self.name)
    }

    /// Reads the manifest: an empty one when the directory or the file is missing.
    pub fn read_manifest(&self) -> Result<Manifest, ManifestError> {
        match fs::read(self.manifest()) {
            Ok(bytes) => Manifest::parse(&String::from_utf8_lossy(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(_) => Err(ManifestError {
                line: None,
                message: "Read AOF manifest failed",
            }),
        }
    }

    /// Writes the manifest atomically (a temporary file, fsynced, renamed, the directory
    /// fsynced).
    fn write_manifest(&self, m: &Manifest) -> io::Result<()> {
        crate::atomic_file::write_bytes(&self.manifest(), m.render().as_bytes())
    }
}

/// The settings the AOF reads from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct AofSettings {
    pub policy: FsyncPolicy,
    /// `aof-use-rdb-preamble`: a new base is an RDB (else RESP commands).
    pub rdb_base: bool,
    /// `aof-timestamp-enabled`: `#TS:<unix secs>` lines, at most one a second.
    pub timestamps: bool,
    /// `aof-disable-auto-gc`: history files are kept.
    pub keep_history: bool,
}

impl AofSettings {
    pub fn from_config(config: &crate::config::Config) -> AofSettings {
        AofSettings {
            policy: FsyncPolicy::from_name(config.get("appendfsync")),
            rdb_base: config.get_bool("aof-use-rdb-preamble"),
            timestamps: config.get_bool("aof-timestamp-enabled"),
            keep_history: config.get_bool("aof-disable-auto-gc"),
        }
    }
}

/// A rewrite in flight.
#[derive(Debug)]
struct Rewrite {
    /// Set when the AOF is turned off meanwhile: the rewrite's result is thrown away.
    cancelled: Arc<AtomicBool>,
}

/// Where a rewrite writes its base before it is moved into the AOF directory: in `dir`,
/// as Redis's `temp-rewriteaof-bg-<pid>.aof`, numbered per rewrite.
fn rewrite_temp_path(n: u64) -> PathBuf {
    PathBuf::from(format!("temp-rewriteaof-bg-{}-{n}.aof", std::process::id()))
}

struct Inner {
    state: AofState,
    settings: AofSettings,
    manifest: Manifest,
    /// The incremental file written to (ON, WAIT_REWRITE), and its length.
    file: Option<File>,
    incr_len: u64,
    /// Encoded commands not yet written.
    pending: Vec<u8>,
    encoder: StreamEncoder,
    /// The last `#TS:` annotation written.
    last_timestamp: u64,
    /// The error of the last failed write (its `strerror` text), until a write succeeds.
    write_error: Option<String>,
    /// When the last write error was logged (one line every 30 s, as Redis).
    write_error_logged: Option<Instant>,
    rewrite: Option<Rewrite>,
    /// A rewrite is wanted and waits to start (the first one after enabling failed).
    rewrite_scheduled: bool,
    /// INFO aof_current_size, aof_base_size.
    current_size: u64,
    base_size: u64,
}

/// The append-only file of a running server, in any state.
pub struct Aof {
    paths: AofPaths,
    inner: Mutex<Inner>,
    /// A duplicate of the incremental file's descriptor for `everysec` fsyncs off the lock.
    sync_handle: Mutex<Option<File>>,
    /// Bytes written but perhaps not yet fsynced.
    unsynced: AtomicBool,
    /// Writes fail: writes are refused until one succeeds (read without the lock).
    failing: AtomicBool,
    /// Commands are appended (ON, or WAIT_REWRITE with its rewrite running): checked
    /// without the lock, so a server without an AOF pays nothing per write.
    accepting: AtomicBool,
    pub rewrite_in_progress: AtomicBool,
    rewrite_started: Mutex<Option<Instant>>,
    pub last_rewrite_secs: AtomicI64,
    pub last_rewrite_ok: AtomicBool,
    pub rewrites: AtomicU64,
    pub consecutive_failures: AtomicU64,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds each write of buffered commands waits first.
    pub flush_sleep_us: AtomicU64,
}

impl std::fmt::Debug for Aof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aof").field("paths", &self.paths).finish()
    }
}

fn open_append(path: &std::path::Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn open_truncated(path: &std::path::Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
}

/// What INFO persistence shows of the AOF.
#[derive(Debug, Clone, Copy)]
pub struct AofInfo {
    pub enabled: bool,
    pub rewrite_scheduled: bool,
    pub write_ok: bool,
    pub current_size: u64,
    pub base_size: u64,
    pub buffer_length: usize,
}

impl Aof {
    /// The AOF of a server, off, with the manifest read at start-up.
    pub fn new(paths: AofPaths, settings: AofSettings, manifest: Manifest) -> Aof {
        Aof {
            paths,
            inner: Mutex::new(Inner {
                state: AofState::Off,
                settings,
                manifest,
                file: None,
                incr_len: 0,
                pending: Vec::new(),
                encoder: StreamEncoder::default(),
                last_timestamp: 0,
                write_error: None,
                write_error_logged: None,
                rewrite: None,
                rewrite_scheduled: false,
                current_size: 0,
                base_size: 0,
            }),
            sync_handle: Mutex::new(None),
            unsynced: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            accepting: AtomicBool::new(false),
            rewrite_in_progress: AtomicBool::new(false),
            rewrite_started: Mutex::new(None),
            last_rewrite_secs: AtomicI64::new(-1),
            last_rewrite_ok: AtomicBool::new(true),
            rewrites: AtomicU64::new(0),
            consecutive_failures: AtomicU64::new(0),
            flush_sleep_us: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn paths(&self) -> &AofPaths {
        &self.paths
    }

    pub fn state(&self) -> AofState {
        self.lock().state
    }

    /// Whether the AOF is on (INFO aof_enabled): ON or waiting for its first rewrite.
    pub fn enabled(&self) -> bool {
        self.state() != AofState::Off
    }

    /// The manifest as the server knows it.
    pub fn manifest(&self) -> Manifest {
        self.lock().manifest.clone()
    }

    /// Replaces the manifest with one read from disk (DEBUG LOADAOF).
    pub fn set_manifest(&self, manifest: Manifest) {
        self.lock().manifest = manifest;
    }

    /// Sizes recorded by a load (INFO aof_current_size, aof_base_size).
    pub fn set_loaded_sizes(&self, total: u64, base: u64) {
        let mut inner = self.lock();
        inner.current_size = total;
        inner.base_size = base;
    }

    pub fn set_settings(&self, settings: AofSettings) {
        let gc_now = {
            let mut inner = self.lock();
            let gc = inner.settings.keep_history && !settings.keep_history;
            inner.settings = settings;
            gc
        };
        if gc_now {
            self.delete_history();
        }
    }

    pub fn info(&self) -> AofInfo {
        let inner = self.lock();
        AofInfo {
            enabled: inner.state != AofState::Off,
            rewrite_scheduled: inner.rewrite_scheduled,
            write_ok: inner.write_error.is_none(),
            current_size: inner.current_size,
            base_size: inner.base_size,
            buffer_length: inner.pending.len(),
        }
    }

    /// `aof_current_rewrite_time_sec`: seconds the running rewrite has taken, -1 if none.
    pub fn current_rewrite_secs(&self) -> i64 {
        self.rewrite_started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(-1, |t| t.elapsed().as_secs() as i64)
    }

    /// Why writes are refused (MISCONF), while the AOF is on and its writes fail.
    pub fn write_refusal(&self) -> Option<String> {
        if !self.failing.load(Ordering::Relaxed) {
            return None;
        }
        let inner = self.lock();
        let error = inner.write_error.as_ref()?;
        (inner.state != AofState::Off)
            .then(|| format!("MISCONF Errors writing to the AOF file: {error}"))
    }

    /// Opens the AOF at start-up with `appendonly yes` (after loading): a base made now
    /// from the dataset when there is none, and the last incremental file (or a new one)
    /// for appending.
    pub fn open_at_startup(&self, snapshot: impl FnOnce() -> Snapshot) -> io::Result<()> {
        fs::create_dir_all(&self.paths.dir).map_err(|e| {
            io::Error::other(format!(
                "Can't open or create append-only dir {}: {e}",
                self.paths.dir.display()
            ))
        })?;
        let mut inner = self.lock();
        let mut changed = false;
        if inner.manifest.is_empty() {
            let rdb = inner.settings.rdb_base;
            inner.manifest.base_seq += 1;
            let name = self.paths.base_name(inner.manifest.base_seq, rdb);
            let timestamp = inner.settings.timestamps;
            write_base(&self.paths.dir.join(&name), snapshot(), rdb, timestamp)?;
            notice!("Creating AOF base file {name} on server start");
            inner.manifest.base = Some(Entry {
                name,
                seq: inner.manifest.base_seq,
            });
            changed = true;
        }
        let opening = !inner.manifest.incrs.is_empty();
        if !opening {
            inner.manifest.incr_seq += 1;
            let entry = Entry {
                name: self.paths.incr_name(inner.manifest.incr_seq),
                seq: inner.manifest.incr_seq,
            };
            inner.manifest.incrs.push(entry);
            changed = true;
        }
        let name = inner.manifest.incrs.last().expect("an incr").name.clone();
        let file = open_append(&self.paths.dir.join(&name)).map_err(|e| {
            io::Error::other(format!("Can't open the append-only file {name}: {e}"))
        })?;
        if changed {
            self.paths.write_manifest(&inner.manifest)?;
        }
        if opening {
            notice!("Opening AOF incr file {name} on server start");
        } else {
            notice!("Creating AOF incr file {name} on server start");
        }
        *self.sync_handle.lock().unwrap_or_else(|e| e.into_inner()) = Some(file.try_clone()?);
        inner.incr_len = file.metadata()?.len();
        inner.file = Some(file);
        inner.encoder.forget_selected_db();
        inner.state = AofState::On;
        self.update_accepting(&inner);
        Ok(())
    }

    /// Deletes the history files the manifest lists (unless `aof-disable-auto-gc yes`)
    /// and writes the manifest without them.
    pub fn delete_history(&self) {
        self.delete_history_locked(&mut self.lock());
    }

    fn delete_history_locked(&self, inner: &mut Inner) {
        if inner.settings.keep_history || inner.manifest.history.is_empty() {
            return;
        }
        for e in std::mem::take(&mut inner.manifest.history) {
            notice!("Removing the history file {} in the background", e.name);
            let path = self.paths.dir.join(&e.name);
            std::thread::spawn(move || {
                let _ = fs::remove_file(path);
            });
        }
        if let Err(e) = self.paths.write_manifest(&inner.manifest) {
            warning!("Can't write the AOF manifest: {e}");
        }
    }

    /// Records whether commands are appended, after `inner`'s state or rewrite changed.
    fn update_accepting(&self, inner: &Inner) {
        let accepting = match inner.state {
            AofState::On => true,
            AofState::WaitRewrite => inner.rewrite.is_some(),
            AofState::Off => false,
        };
        self.accepting.store(accepting, Ordering::Release);
    }

    /// Adds a propagated command to the buffer (ON, or waiting for a rewrite that runs).
    fn append(&self, cmd: &Propagated) {
        if !self.accepting.load(Ordering::Acquire) {
            return;
        }
        let mut guard = self.lock();
        let inner = &mut *guard;
        if inner.settings.timestamps {
            let now = crate::keyspace::now_ms() / 1000;
            if inner.last_timestamp < now {
                inner
                    .pending
                    .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
                inner.last_timestamp = now;
            }
        }
        inner
            .encoder
            .encode(&mut inner.pending, Some(cmd.db), &cmd.args);
    }

    /// Writes buffered commands to the file (and fsyncs under `always`). Called before
    /// replies go out. A failure keeps the buffer for the next attempt; under `always` it
    /// ends the process, as Redis does.
    pub fn flush(&self) -> io::Result<()> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if inner.pending.is_empty() {
            return Ok(());
        }
        let Some(file) = inner.file.as_mut() else {
            inner.pending.clear();
            return Ok(());
        };
        let sleep = self.flush_sleep_us.load(Ordering::Relaxed);
        if sleep > 0 {
            std::thread::sleep(std::time::Duration::from_micros(sleep));
        }
        let result = file.write_all(&inner.pending).and_then(|()| {
            if inner.settings.policy == FsyncPolicy::Always {
                file.sync_data()
            } else {
                Ok(())
            }
        });
        match result {
            Ok(()) => {
                inner.current_size += inner.pending.len() as u64;
                inner.incr_len += inner.pending.len() as u64;
                inner.pending.clear();
                if inner.write_error.take().is_some() {
                    self.failing.store(false, Ordering::Relaxed);
                    warning!("AOF write error looks solved, Redis can write again.");
                }
                if inner.settings.policy != FsyncPolicy::Always {
                    self.unsynced.store(true, Ordering::Release);
                }
                Ok(())
            }
            Err(e) => {
                if inner.settings.policy == FsyncPolicy::Always {
                    warning!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                    std::process::exit(1);
                }
                let first = inner.write_error.is_none();
                let due = inner
                    .write_error_logged
                    .is_none_or(|t| t.elapsed().as_secs() >= 30);
                if first || due {
                    warning!(
                        "Error writing to the AOF file: {}",
                        crate::log::strerror(&e)
                    );
                    inner.write_error_logged = Some(Instant::now());
                }
                // A partial write may have left a torn command: cut the file back.
                if let Some(file) = inner.file.as_ref() {
                    if let Err(e) = file.set_len(inner.incr_len) {
                        warning!("Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {e}");
                    }
                }
                inner.write_error = Some(crate::log::strerror(&e));
                self.failing.store(true, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    /// The `everysec` fsync and the retry of a failed write, from the cron.
    pub fn cron(&self) {
        if self.failing.load(Ordering::Relaxed) {
            let _ = self.flush();
        }
        let policy = self.lock().settings.policy;
        if policy == FsyncPolicy::EverySec && self.unsynced.swap(false, Ordering::AcqRel) {
            if let Some(f) = self
                .sync_handle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
            {
                if let Err(e) = f.sync_data() {
                    warning!("Error syncing the append only file: {e}");
                }
            }
        }
    }

    /// Writes and fsyncs everything (shutdown, DEBUG LOADAOF).
    pub fn flush_and_sync(&self) -> io::Result<()> {
        self.flush()?;
        match self.lock().file.as_ref() {
            Some(f) => f.sync_all(),
            None => Ok(()),
        }
    }

    /// CONFIG SET appendonly yes: commands go to a temporary incremental file, and a
    /// rewrite makes the base; the manifest names them once the rewrite is done.
    pub fn enable(self: &Arc<Self>, snapshot: Snapshot) -> Result<(), String> {
        {
            let mut inner = self.lock();
            if inner.state != AofState::Off {
                return Ok(());
            }
            inner.state = AofState::WaitRewrite;
            if let Some(rewrite) = inner.rewrite.take() {
                notice!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                rewrite.cancelled.store(true, Ordering::Relaxed);
                self.rewrite_in_progress.store(false, Ordering::Release);
            }
            if inner.write_error.take().is_some() {
                self.failing.store(false, Ordering::Relaxed);
                notice!("AOF reopen, just ignore the last error.");
            }
        }
        match self.start_rewrite(snapshot) {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut inner = self.lock();
                inner.state = AofState::Off;
                self.update_accepting(&inner);
                drop(inner);
                warning!("{e}");
                warning!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
                Err("Unable to turn on AOF. Check server logs.".into())
            }
        }
    }

    /// CONFIG SET appendonly no: what is buffered is written and synced, the file closed.
    /// The files stay; a rewrite in flight is abandoned.
    pub fn disable(&self) {
        let _ = self.flush();
        let mut inner = self.lock();
        if let Some(f) = inner.file.take() {
            if let Err(e) = f.sync_all() {
                warning!("Fail to fsync the AOF file: {e}");
            }
        }
        if let Some(rewrite) = inner.rewrite.take() {
            notice!("Killing running AOF rewrite child");
            rewrite.cancelled.store(true, Ordering::Relaxed);
            self.rewrite_in_progress.store(false, Ordering::Release);
        }
        *self.sync_handle.lock().unwrap_or_else(|e| e.into_inner()) = None;
        inner.pending.clear();
        inner.encoder.forget_selected_db();
        inner.state = AofState::Off;
        self.update_accepting(&inner);
        inner.rewrite_scheduled = false;
        inner.write_error = None;
        self.failing.store(false, Ordering::Relaxed);
    }

    /// CONFIG SET appendonly yes inside a transaction: the AOF is on, waiting for a
    /// rewrite the cron starts (commands are not written until it runs), as Redis does.
    pub fn enable_later(&self) {
        let mut inner = self.lock();
        if inner.state != AofState::Off {
            return;
        }
        inner.state = AofState::WaitRewrite;
        inner.rewrite_scheduled = true;
        self.update_accepting(&inner);
        notice!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
    }

    /// BGREWRITEAOF inside a transaction: the cron starts the rewrite. False when one is
    /// already running.
    pub fn schedule_rewrite(&self) -> bool {
        let mut inner = self.lock();
        if inner.rewrite.is_some() {
            return false;
        }
        inner.rewrite_scheduled = true;
        self.consecutive_failures.store(0, Ordering::Relaxed);
        true
    }

    /// Whether a rewrite waits to be retried (the cron starts it).
    pub fn rewrite_due(&self) -> bool {
        let inner = self.lock();
        inner.rewrite_scheduled && inner.rewrite.is_none()
    }

    /// Starts a rewrite from `snapshot`, taken under the engine lock. Returns false when
    /// one is already running.
    pub fn start_rewrite(self: &Arc<Self>, snapshot: Snapshot) -> io::Result<bool> {
        let cancelled = Arc::new(AtomicBool::new(false));
        {
            let mut guard = self.lock();
            let inner = &mut *guard;
            if inner.rewrite.is_some() {
                return Ok(false);
            }
            fs::create_dir_all(&self.paths.dir).map_err(|e| {
                io::Error::other(format!(
                    "Can't open or create append-only dir {}: {e}",
                    self.paths.dir.display()
                ))
            })?;
            // What is buffered belongs to the files being replaced.
            if let Some(file) = inner.file.as_mut() {
                file.write_all(&inner.pending)?;
                inner.current_size += inner.pending.len() as u64;
            }
            inner.pending.clear();
            let opened = match inner.state {
                AofState::Off => None,
                AofState::WaitRewrite => {
                    let name = self.paths.temp_incr_name();
                    let file = open_truncated(&self.paths.dir.join(&name)).map_err(|e| {
                        io::Error::other(format!("Can't open the append-only file {name}: {e}"))
                    })?;
                    Some((name, file))
                }
                AofState::On => {
                    let seq = inner.manifest.incr_seq + 1;
                    let name = self.paths.incr_name(seq);
                    let file = open_truncated(&self.paths.dir.join(&name)).map_err(|e| {
                        io::Error::other(format!("Can't open the append-only file {name}: {e}"))
                    })?;
                    let mut next = inner.manifest.clone();
                    next.incr_seq = seq;
                    next.incrs.push(Entry {
                        name: name.clone(),
                        seq,
                    });
                    self.paths.write_manifest(&next)?;
                    inner.manifest = next;
                    Some((name, file))
                }
            };
            if let Some((name, file)) = opened {
                notice!("Creating AOF incr file {name} on background rewrite");
                if let Some(old) = inner.file.replace(file) {
                    std::thread::spawn(move || {
                        let _ = old.sync_all();
                    });
                }
                *self.sync_handle.lock().unwrap_or_else(|e| e.into_inner()) =
                    inner.file.as_ref().and_then(|f| f.try_clone().ok());
                inner.incr_len = 0;
            }
            // Every incremental file starts by selecting its database.
            inner.encoder.forget_selected_db();
            inner.rewrite = Some(Rewrite {
                cancelled: cancelled.clone(),
            });
            self.update_accepting(inner);
            inner.rewrite_scheduled = false;
        }
        let temp = rewrite_temp_path(self.rewrites.fetch_add(1, Ordering::Relaxed));
        super::count_background_job();
        self.rewrite_in_progress.store(true, Ordering::Release);
        *self
            .rewrite_started
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        notice!(
            "Background append only file rewriting started by pid {}",
            std::process::id()
        );
        let (rdb, timestamps) = {
            let inner = self.lock();
            (inner.settings.rdb_base, inner.settings.timestamps)
        };
        let snapshot = snapshot.sharing_cpu();
        let aof = self.clone();
        std::thread::Builder::new()
            .name("aof-rewrite".into())
            .spawn(crate::memory::counted(move || {
                super::yield_cpu_to_clients();
                let start = Instant::now();
                let written = write_base(&temp, snapshot, rdb, timestamps);
                aof.finish_rewrite(written.map(|_| temp.clone()), &temp, &cancelled, rdb, start);
            }))?;
        Ok(true)
    }

    /// Installs the base a rewrite wrote (at `temp`), or counts its failure.
    fn finish_rewrite(
        &self,
        written: io::Result<PathBuf>,
        temp_path: &std::path::Path,
        cancelled: &AtomicBool,
        rdb: bool,
        start: Instant,
    ) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if cancelled.load(Ordering::Relaxed) {
            let _ = fs::remove_file(temp_path);
            return;
        }
        inner.rewrite = None;
        self.update_accepting(inner);
        *self
            .rewrite_started
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        self.last_rewrite_secs
            .store(start.elapsed().as_secs() as i64, Ordering::Relaxed);
        let installed = written.and_then(|temp| self.install_rewrite(inner, &temp, rdb));
        match installed {
            Ok(()) => {
                notice!("Background AOF rewrite terminated with success");
                self.last_rewrite_ok.store(true, Ordering::Relaxed);
                self.consecutive_failures.store(0, Ordering::Relaxed);
                if inner.state == AofState::WaitRewrite {
                    inner.state = AofState::On;
                }
                self.update_accepting(inner);
                self.delete_history_locked(inner);
                notice!("Background AOF rewrite finished successfully");
            }
            Err(e) => {
                warning!("Background AOF rewrite terminated with error: {e}");
                let _ = fs::remove_file(temp_path);
                self.last_rewrite_ok.store(false, Ordering::Relaxed);
                self.consecutive_failures.fetch_add(1, Ordering::Relaxed);
                if inner.state == AofState::WaitRewrite {
                    inner.pending.clear();
                    let name = self.paths.temp_incr_name();
                    notice!("Removing the temp incr aof file {name} in the background");
                    inner.file = None;
                    *self.sync_handle.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    let _ = fs::remove_file(self.paths.dir.join(name));
                    inner.rewrite_scheduled = true;
                }
            }
        }
        // Only now, with the manifest final: INFO's aof_rewrite_in_progress:0 means done.
        self.rewrite_in_progress.store(false, Ordering::Release);
    }

    /// The manifest after a successful rewrite: the new base; the old base and the
    /// replaced incremental files become history (newest first); in WAIT_REWRITE the
    /// temporary file becomes the first incremental file.
    fn install_rewrite(
        &self,
        inner: &mut Inner,
        temp: &std::path::Path,
        rdb: bool,
    ) -> io::Result<()> {
        let mut next = inner.manifest.clone();
        if let Some(old) = next.base.take() {
            next.history.insert(0, old);
        }
        next.base_seq += 1;
        let base = self.paths.base_name(next.base_seq, rdb);
        fs::rename(temp, self.paths.dir.join(&base)).map_err(|e| {
            io::Error::other(format!(
                "Error trying to rename the temporary AOF base file {} into {base}: {e}",
                temp.display()
            ))
        })?;
        notice!(
            "Successfully renamed the temporary AOF base file {} into {base}",
            temp.display()
        );
        next.base = Some(Entry {
            name: base.clone(),
            seq: next.base_seq,
        });
        if inner.state == AofState::WaitRewrite {
            next.incr_seq += 1;
            let name = self.paths.incr_name(next.incr_seq);
            let temp_incr = self.paths.temp_incr_name();
            fs::rename(self.paths.dir.join(&temp_incr), self.paths.dir.join(&name))?;
            notice!("Successfully renamed the temporary AOF incr file {temp_incr} into {name}");
            next.incrs.push(Entry {
                name,
                seq: next.incr_seq,
            });
        }
        // The incremental file written now stays; the rest are history.
        let keep = if inner.file.is_some() { 1 } else { 0 };
        while next.incrs.len() > keep {
            let old = next.incrs.remove(next.incrs.len() - keep - 1);
            next.history.insert(0, old);
        }
        self.paths.write_manifest(&next)?;
        inner.manifest = next;
        if inner.state != AofState::Off {
            let base_size = fs::metadata(self.paths.dir.join(&base)).map_or(0, |m| m.len());
            let incr_size = inner
                .file
                .as_ref()
                .and_then(|f| f.metadata().ok())
                .map_or(0, |m| m.len());
            inner.current_size = base_size + incr_size;
            inner.base_size = inner.current_size;
        }
        Ok(())
    }

    /// Size of the files the manifest lists.
    pub fn files_size(&self) -> u64 {
        let inner = self.lock();
        inner
            .manifest
            .base
            .iter()
            .chain(inner.manifest.incrs.iter())
            .filter_map(|e| fs::metadata(self.paths.dir.join(&e.name)).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// Writes a base file at `path`: an RDB (marked as an AOF base), or RESP commands.
fn write_base(
    path: &std::path::Path,
    mut snapshot: Snapshot,
    rdb: bool,
    timestamps: bool,
) -> io::Result<u64> {
    if rdb {
        snapshot.aux.aof_base = true;
        return snapshot.write_file(path);
    }
    crate::atomic_file::write_with(path, |w| resp_base::write(w, snapshot, timestamps))
}

/// The engine feeds the AOF through this.
#[derive(Debug, Clone)]
pub struct AofSink(pub Arc<Aof>);

impl PropagationSink for AofSink {
    fn feed(&mut self, cmd: &Propagated) {
        self.0.append(cmd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// The bytes of a command as the AOF holds it.
    fn encoded(args: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::replication::encode_command(&mut out, args);
        out
    }

    #[test]
    fn commands_are_buffered_only_while_on() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AofPaths {
            dir: dir.path().join("appendonlydir"),
            name: "appendonly.aof".into(),
        };
        let settings = AofSettings {
            policy: FsyncPolicy::No,
            rdb_base: true,
            timestamps: false,
            keep_history: false,
        };
        let aof = Aof::new(paths, settings, Manifest::default());
        let cmd = Propagated {
            db: 0,
            args: vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("v")],
        };
        aof.append(&cmd);
        assert_eq!(aof.info().buffer_length, 0);
        aof.open_at_startup(|| Snapshot::take(&crate::engine::EngineState::new(16), None))
            .unwrap();
        aof.append(&cmd);
        aof.flush().unwrap();
        let incr =
            std::fs::read(dir.path().join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
        let mut expected = encoded(&["SELECT", "0"]);
        expected.extend(encoded(&["SET", "k", "v"]));
        assert_eq!(incr, expected);
        let manifest =
            std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest"))
                .unwrap();
        assert_eq!(
            manifest,
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
    }
}
