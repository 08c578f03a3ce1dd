//! Persistence: RDB snapshots (SAVE, BGSAVE, `save` points, saving at shutdown, loading
//! at start-up) and the append-only file.
//!
//! There is no fork: a snapshot is a copy-on-write view of the databases taken under the
//! engine lock in microseconds, then serialised on a thread of its own while clients go
//! on writing (see DESIGN.md).

pub mod aof;
pub mod rdb_file;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::Config;
use crate::engine::EngineState;
use crate::{notice, verbose, warning};
pub use rdb_file::{ExpiredKeys, Loaded, Snapshot};

/// The outcome of the last snapshot written, and what is in progress (INFO persistence,
/// LASTSAVE, the save points).
#[derive(Debug)]
pub struct SaveStatus {
    /// Unix seconds of the last successful save (or of start-up).
    pub last_save: AtomicU64,
    /// `dirty` counted into the last successful save: changes since = dirty - this.
    pub dirty_saved: AtomicU64,
    pub last_ok: AtomicBool,
    /// Unix seconds of the last attempt (a failed one delays retries by save points).
    pub last_try: AtomicU64,
    pub in_progress: AtomicBool,
    /// Duration of the last background save, seconds (-1: none yet).
    pub last_duration: Mutex<Option<u64>>,
    pub started: Mutex<Option<Instant>>,
    pub saves: AtomicU64,
}

impl SaveStatus {
    pub fn new(now_secs: u64) -> SaveStatus {
        SaveStatus {
            last_save: AtomicU64::new(now_secs),
            dirty_saved: AtomicU64::new(0),
            last_ok: AtomicBool::new(true),
            last_try: AtomicU64::new(0),
            in_progress: AtomicBool::new(false),
            last_duration: Mutex::new(None),
            started: Mutex::new(None),
            saves: AtomicU64::new(0),
        }
    }

    /// Changes since the last successful save, given the engine's change counter.
    pub fn changes_since(&self, dirty: u64) -> u64 {
        dirty.saturating_sub(self.dirty_saved.load(Ordering::Relaxed))
    }

    /// Counts nothing up to `dirty` as changed since the last save (a dataset just loaded).
    pub fn forget_changes(&self, dirty: u64) {
        self.dirty_saved.store(dirty, Ordering::Relaxed);
    }

    /// Records a save's outcome. As in Redis, only a background save's failure counts as
    /// `rdb_last_bgsave_status:err` (which stops writes under
    /// `stop-writes-on-bgsave-error`); a failed SAVE or shutdown save is reported to its
    /// caller alone.
    fn finish(&self, snapshot_dirty: u64, result: &std::io::Result<u64>, background: bool) {
        let now = crate::keyspace::now_ms() / 1000;
        self.last_try.store(now, Ordering::Relaxed);
        match result {
            Ok(_) => {
                self.last_ok.store(true, Ordering::Relaxed);
                self.last_save.store(now, Ordering::Relaxed);
                self.dirty_saved
                    .fetch_max(snapshot_dirty, Ordering::Relaxed);
                self.saves.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) if background => self.last_ok.store(false, Ordering::Relaxed),
            Err(_) => {}
        }
    }
}

/// The RDB file's path: `dir` is the working directory (tandem chdirs there at start-up,
/// as redis-server does), so this is `dbfilename`.
pub fn rdb_path(config: &Config) -> PathBuf {
    PathBuf::from(config.get("dbfilename"))
}

/// Background snapshot jobs started (BGSAVE, save points, AOF rewrites, full syncs' RDB).
static BACKGROUND_JOBS: AtomicU64 = AtomicU64::new(0);

/// Counts a background snapshot job: INFO's total_forks, as these threads are what
/// Redis forks a child for.
pub(crate) fn count_background_job() {
    BACKGROUND_JOBS.fetch_add(1, Ordering::Relaxed);
}

/// Background snapshot jobs started since start-up (INFO total_forks).
pub fn background_jobs() -> u64 {
    BACKGROUND_JOBS.load(Ordering::Relaxed)
}

/// Writes `snapshot` to `path` in the foreground (SAVE, shutdown) and records the outcome.
/// The temporary file of a foreground save (SAVE, shutdown): `temp-<pid>.rdb` in `dir`,
/// as Redis names it (a second SIGINT during the shutdown save removes it).
pub fn foreground_temp_path() -> PathBuf {
    PathBuf::from(format!("temp-{}.rdb", std::process::id()))
}

pub fn save_now(status: &SaveStatus, snapshot: Snapshot, path: &std::path::Path) -> bool {
    let start = Instant::now();
    let (dirty, keys) = (snapshot.dirty, snapshot.keys());
    let result = snapshot.write_file_via(path, &foreground_temp_path());
    status.finish(dirty, &result, false);
    match result {
        Ok(size) => {
            notice!(
                "DB saved on disk ({} keys, {} bytes, {} ms)",
                keys,
                size,
                start.elapsed().as_millis()
            );
            true
        }
        Err(e) => {
            warning!("Failed saving the DB to {}: {e}", path.display());
            false
        }
    }
}

/// Starts writing `snapshot` to `path` on a thread of its own (BGSAVE, save points).
/// Returns false when a background save is already running.
pub fn save_in_background(status: &Arc<SaveStatus>, snapshot: Snapshot, path: PathBuf) -> bool {
    let snapshot = snapshot.sharing_cpu();
    if status.in_progress.swap(true, Ordering::AcqRel) {
        return false;
    }
    *status.started.lock().expect("save status") = Some(Instant::now());
    count_background_job();
    notice!(
        "Background saving started ({} keys, no fork: copy-on-write snapshot)",
        snapshot.keys()
    );
    let thread_status = status.clone();
    std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(crate::memory::counted(move || {
            yield_cpu_to_clients();
            let status = thread_status;
            let start = Instant::now();
            let dirty = snapshot.dirty;
            let result = snapshot.write_file(&path);
            status.finish(dirty, &result, true);
            *status.last_duration.lock().expect("save status") = Some(start.elapsed().as_secs());
            *status.started.lock().expect("save status") = None;
            match &result {
                Ok(size) => notice!(
                    "DB saved on disk ({} bytes, {} ms); Background saving terminated with success",
                    size,
                    start.elapsed().as_millis()
                ),
                Err(e) => warning!("Background saving error: {}: {e}", path.display()),
            }
            status.in_progress.store(false, Ordering::Release);
        }))
        .map(|_| true)
        .unwrap_or_else(|e| {
            warning!("Can't start the background save thread: {e}");
            status.in_progress.store(false, Ordering::Release);
            false
        })
}

/// Puts the calling thread (a background save or AOF rewrite) under SCHED_IDLE: it runs
/// on the CPU time the threads serving clients leave, and a client thread that wakes up
/// takes the CPU from it at once. (A nice value alone leaves a woken thread waiting up to
/// a scheduler slice, milliseconds of client latency on a busy machine.) It still
/// progresses under load: any idle CPU runs it, and the policy keeps a minimal share.
pub(crate) fn yield_cpu_to_clients() {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(e) = set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        idle,
    ) {
        verbose!("Could not lower the priority of a background thread: {e:?}");
    }
}

/// Parses `save` ("3600 1 300 100"): (seconds, changes) pairs.
pub fn save_points(config: &Config) -> Vec<(u64, u64)> {
    let nums: Vec<u64> = config
        .get("save")
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    nums.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// Whether a save point is due: enough changes and enough time since the last save
/// (after a failure, retries wait 5 seconds, as Redis does).
pub fn save_point_due(points: &[(u64, u64)], status: &SaveStatus, dirty: u64, now: u64) -> bool {
    let changes = status.changes_since(dirty);
    let since = now.saturating_sub(status.last_save.load(Ordering::Relaxed));
    let retry_ok = status.last_ok.load(Ordering::Relaxed)
        || now.saturating_sub(status.last_try.load(Ordering::Relaxed)) >= 5;
    retry_ok
        && points
            .iter()
            .any(|&(secs, min_changes)| changes >= min_changes && since >= secs)
}

/// Loads the dataset at start-up, as redis-server does: the AOF manifest is read
/// whatever `appendonly` says (a damaged one stops start-up); with `appendonly yes` the
/// AOF is loaded (upgrading an old single-file one) and opened for appending, creating it
/// when absent; otherwise the RDB file is loaded. A corrupt file stops start-up with
/// Redis's message naming the file, as the last line of the log, and is left untouched
/// (except a torn last command under `aof-load-truncated yes`).
pub fn load_at_startup(server: &Arc<crate::server::Server>) -> Result<(), String> {
    let start = Instant::now();
    let (appendonly, truncated_ok, is_replica, paths, settings) = {
        let c = server.config();
        (
            c.get_bool("appendonly"),
            c.get_bool("aof-load-truncated"),
            !c.get("replicaof").is_empty(),
            aof::AofPaths::new(&c),
            aof::AofSettings::from_config(&c),
        )
    };
    let mut state = server.engine.lock().unwrap_or_else(|e| e.into_inner());
    if is_replica {
        // A replica keeps keys whose time has passed until its master deletes them.
        state.set_delete_expired(false);
    }
    let mut manifest = read_manifest_or_exit(&paths);
    let mut loaded_sizes = aof::load::Sizes::default();
    if appendonly {
        let (status, sizes) = load_aof(server, &mut state, &paths, &mut manifest, truncated_ok)
            .unwrap_or_else(|aof::load::Failed| exit_after_fatal_error());
        if status != aof::load::Status::NotExist {
            notice!(
                "DB loaded from append only file: {:.3} seconds",
                start.elapsed().as_secs_f64()
            );
        }
        loaded_sizes = sizes;
    } else {
        let path = rdb_path(&server.config());
        let progress = |n: u64| notice!("Loading: {n} keys loaded");
        if let Some(loaded) = load_rdb_file(&state, &path, progress)? {
            notice!(
                "Done loading RDB, keys loaded: {}, keys expired: 0.",
                loaded.keys
            );
            let repl = loaded.repl.clone();
            state.install_dbs(loaded.dbs);
            if let Some((id, offset)) = repl {
                restore_replication(server, &mut state, id, offset, is_replica);
            }
            notice!(
                "DB loaded from disk: {:.3} seconds",
                start.elapsed().as_secs_f64()
            );
        }
    }
    let aof = Arc::new(aof::Aof::new(paths, settings, manifest));
    if appendonly {
        if let Err(e) = aof.open_at_startup(|| Snapshot::take(&state, None)) {
            warning!("{e}");
            exit_after_fatal_error();
        }
        aof.set_loaded_sizes(loaded_sizes.total, loaded_sizes.base);
    }
    aof.delete_history();
    server.install_aof(&mut state, aof);
    Ok(())
}

/// Ends the process after a fatal start-up (or DEBUG LOADAOF) error, already logged as
/// the last line, as Redis does.
fn exit_after_fatal_error() -> ! {
    std::process::exit(1)
}

/// Reads the AOF manifest; a damaged one is logged as Redis logs it and ends the process.
fn read_manifest_or_exit(paths: &aof::AofPaths) -> aof::Manifest {
    match paths.read_manifest() {
        Ok(m) => m,
        Err(e) => {
            for line in e.log_lines() {
                warning!("{line}");
            }
            exit_after_fatal_error()
        }
    }
}

/// DEBUG RELOAD's options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReloadOptions {
    /// NOSAVE: load the file as it is instead of saving the dataset first.
    pub nosave: bool,
    /// NOFLUSH: load into the dataset instead of replacing it.
    pub noflush: bool,
    /// MERGE: with NOFLUSH, a key of the file replaces the dataset's.
    pub merge: bool,
}

/// Why DEBUG RELOAD failed.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("ERR")]
    Save,
    #[error("ERR Error trying to load the RDB dump")]
    Load,
}

/// DEBUG RELOAD: saves the dataset to the RDB file (unless NOSAVE), empties it (unless
/// NOFLUSH) and loads the file back, as Redis does: the round trip re-encodes every value
/// from its content and drops the keys whose time has passed.
pub fn reload_rdb(
    server: &crate::server::Server,
    state: &mut EngineState,
    options: ReloadOptions,
    now: u64,
) -> Result<(), ReloadError> {
    let path = rdb_path(&server.config());
    if !options.nosave {
        let snapshot = server.snapshot(state);
        if !save_now(&server.save_status, snapshot, &path) {
            return Err(ReloadError::Save);
        }
    }
    if !options.noflush {
        for db in 0..state.dbs.len() {
            state.touch_flushed(db, now);
            state.dbs[db].clear();
        }
    }
    let loaded = match load_rdb_file(state, &path, |_| {}) {
        Ok(Some(loaded)) => loaded,
        Ok(None) => {
            warning!("DEBUG RELOAD: {} does not exist", path.display());
            return Err(ReloadError::Load);
        }
        Err(e) => {
            warning!("DEBUG RELOAD: {e}");
            return Err(ReloadError::Load);
        }
    };
    if options.noflush {
        for (index, db) in loaded.dbs.iter().enumerate() {
            for (key, entry) in db.entries() {
                if !options.merge && state.dbs[index].peek(key).is_some() {
                    warning!(
                        "RDB has duplicated key '{}' in DB {index}",
                        String::from_utf8_lossy(key)
                    );
                    return Err(ReloadError::Load);
                }
                let expire_at = entry.expire_at().unwrap_or(0);
                state.dbs[index].insert(key, entry.value.clone(), expire_at);
            }
        }
    } else {
        state.install_dbs(loaded.dbs);
    }
    notice!("DB reloaded by DEBUG RELOAD");
    Ok(())
}

/// DEBUG LOADAOF: writes out what the AOF buffers, empties the dataset, re-reads the
/// manifest (deleting its history files) and loads the AOF files back, whether the AOF is
/// on or not. As in Redis, a load that does not fully succeed (no AOF, a torn or corrupt
/// file) ends the process. Nothing loaded counts as a change since the last save.
pub fn reload_aof(server: &Arc<crate::server::Server>, state: &mut EngineState, now: u64) {
    let aof = server.aof().expect("the AOF is set up at start-up").clone();
    if aof.enabled() {
        if let Err(e) = aof.flush() {
            warning!(
                "Error writing to the AOF file: {}",
                crate::log::strerror(&e)
            );
        }
    }
    for db in 0..state.dbs.len() {
        state.touch_flushed(db, now);
        state.dbs[db].clear();
    }
    let truncated_ok = server.config().get_bool("aof-load-truncated");
    aof.set_manifest(read_manifest_or_exit(aof.paths()));
    aof.delete_history();
    let mut manifest = aof.manifest();
    let loaded = load_aof(server, state, aof.paths(), &mut manifest, truncated_ok);
    aof.set_manifest(manifest);
    match loaded {
        Ok((aof::load::Status::Ok | aof::load::Status::Empty, _)) => {}
        _ => exit_after_fatal_error(),
    }
    server.save_status.forget_changes(state.dirty);
    warning!("Append Only File loaded by DEBUG LOADAOF");
}

/// Loads the RDB file at `path` into databases like those of `state` (as many, tracking
/// accesses and encoding values as they do); None when it does not exist. Keys whose
/// time has passed are dropped on a master and kept on a replica, which waits for its
/// master's DEL (the databases of a replica keep expired keys).
fn load_rdb_file(
    state: &EngineState,
    path: &std::path::Path,
    progress: impl FnMut(u64),
) -> Result<Option<rdb_file::Loaded>, String> {
    let expired = match state.dbs.first().is_some_and(|db| db.delete_expired) {
        true => ExpiredKeys::Skip,
        false => ExpiredKeys::Keep,
    };
    rdb_file::load_file(
        path,
        state.dbs.len(),
        expired,
        state.load_settings(),
        progress,
    )
}

/// Resumes the replication history recorded in the RDB: a replica asks its master to
/// continue from it; a master keeps it as replid2 so its replicas can continue (7.0).
fn restore_replication(
    server: &crate::server::Server,
    state: &mut EngineState,
    id: crate::replication::ReplId,
    offset: crate::replication::ReplOffset,
    is_replica: bool,
) {
    let mut st = server.repl.state();
    st.replid = id;
    server.repl.feed.update(|log| log.reset(offset));
    if !is_replica {
        st.shift_replid(offset);
        state.repl_feed = Some(server.repl.feed.clone());
    }
    notice!("Replication history restored from the RDB: offset {offset}");
}

/// Loads the AOF `manifest` lists into `state` (after moving an old single-file AOF
/// into the directory, which updates `manifest`).
fn load_aof(
    server: &Arc<crate::server::Server>,
    state: &mut EngineState,
    paths: &aof::AofPaths,
    manifest: &mut aof::Manifest,
    truncated_ok: bool,
) -> Result<(aof::load::Status, aof::load::Sizes), aof::load::Failed> {
    aof::load::upgrade_old_aof(paths, manifest)?;
    state.loading(|state| {
        let mut replay = Replay {
            server,
            state,
            client: None,
            out: crate::resp::ReplyWriter::new(false),
        };
        aof::load::load_files(paths, manifest, truncated_ok, &mut replay)
    })
}

/// Applies AOF files to the dataset: commands run as Redis's AOF client, a master client
/// (so nothing is refused, and a time already past sets the expiry rather than deleting),
/// a new one in database 0 for every file.
struct Replay<'a> {
    server: &'a Arc<crate::server::Server>,
    state: &'a mut EngineState,
    client: Option<crate::clients::ClientState>,
    out: crate::resp::ReplyWriter,
}

impl Replay<'_> {
    fn end_client(&mut self) {
        if let Some(client) = self.client.take() {
            self.server.clients.unregister(client.id);
        }
    }
}

impl Drop for Replay<'_> {
    fn drop(&mut self) {
        self.end_client();
    }
}

impl aof::load::Target for Replay<'_> {
    fn load_rdb(&mut self, input: &mut dyn std::io::Read) -> Result<u64, String> {
        // Keys of an AOF's RDB whose time has passed are kept, to expire once loaded.
        let loaded = rdb_file::load(
            input,
            self.state.dbs.len(),
            ExpiredKeys::Keep,
            self.state.load_settings(),
            |n| notice!("Loading: {n} keys loaded"),
        )
        .map_err(|e| e.to_string())?;
        notice!(
            "Done loading RDB, keys loaded: {}, keys expired: 0.",
            loaded.keys
        );
        let bytes = loaded.bytes;
        if self.state.dbs.iter().all(|db| db.is_empty()) {
            self.state.install_dbs(loaded.dbs);
        } else {
            for (index, db) in loaded.dbs.iter().enumerate() {
                for (key, entry) in db.entries() {
                    let expire_at = entry.expire_at().unwrap_or(0);
                    self.state.dbs[index].insert(key, entry.value.clone(), expire_at);
                }
            }
        }
        Ok(bytes)
    }

    fn start_file(&mut self) {
        self.end_client();
        let mut client = crate::clients::ClientState::internal_master(&self.server.clients);
        client.uncounted = true;
        self.client = Some(client);
    }

    fn run(&mut self, args: &[bytes::Bytes]) -> Result<(), aof::load::UnknownCommand> {
        if self.server.commands.lookup(&args[0]).is_none() {
            return Err(aof::load::UnknownCommand);
        }
        let client = self.client.as_mut().expect("start_file comes first");
        let now = crate::keyspace::now_ms();
        crate::cmd::execute_detached(self.server, self.state, client, &mut self.out, args, now);
        let reply = self.out.buffer();
        if reply.first() == Some(&b'-') {
            let error = String::from_utf8_lossy(&reply[1..]);
            warning!(
                "== CRITICAL == This server is sending an error to its AOF-loading-client: '{}' after processing the command '{}'",
                error.trim_end(),
                String::from_utf8_lossy(&args[0])
            );
        }
        self.out.clear();
        self.out.take_errors();
        Ok(())
    }
}
