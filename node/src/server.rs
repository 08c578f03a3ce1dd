//! The server: shared state, listeners, the accept loop, the background cron (active
//! expiry), and shutdown.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

use crate::auth::Auth;
use crate::clients::{ClientId, ClientRegistry, ClientState};
use crate::cmd::{CommandSpec, CommandTable};
use crate::config::Config;
use crate::engine::EngineState;
use crate::pubsub::{Outbound, PubSub};
use crate::resp::ParseLimits;
use crate::{notice, warning};

/// Counters for INFO stats.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Clients waiting in a blocking command (BLPOP, WAIT...): a gauge, not reset.
    pub blocked_clients: AtomicU64,
    /// Those of them whose wait has a timeout.
    pub clients_in_timeout_table: AtomicU64,
}

impl ServerStats {
    pub fn reset(&self) {
        for c in [&self.connections_received, &self.rejected_connections] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A request to shut down, from SHUTDOWN or a signal.
#[derive(Debug)]
pub struct Shutdown {
    pub requested: AtomicBool,
    /// `Some(false)` for NOSAVE, `Some(true)` for SAVE, None for the configured default.
    pub save: Mutex<Option<bool>>,
    /// SHUTDOWN FORCE: exit even when the final save fails.
    pub force: AtomicBool,
    pub notify: Notify,
    /// Counts shutdowns abandoned because the final save failed (the server keeps running,
    /// as Redis does, rather than exit and lose the writes since the last save). A SHUTDOWN
    /// client waits on it for its error reply; on success it just sees the process go.
    pub abandoned: tokio::sync::watch::Sender<u64>,
    /// A SIGTERM or SIGINT received: the cron starts the shutdown (so DEBUG PAUSE-CRON
    /// holds it, and SHUTDOWN ABORT can cancel it), as in Redis.
    pub signal: Mutex<Option<&'static str>>,
}

impl Shutdown {
    /// Takes the signal waiting for the cron.
    fn take_signal(&self) -> Option<&'static str> {
        self.signal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// SHUTDOWN ABORT: cancels a shutdown a signal asked for; false when there is none.
    pub fn abort(&self) -> bool {
        let pending = self.take_signal().is_some();
        if pending {
            warning!("Shutdown manually aborted.");
        }
        pending
    }
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown {
            signal: Mutex::new(None),
            requested: AtomicBool::new(false),
            save: Mutex::new(None),
            force: AtomicBool::new(false),
            notify: Notify::new(),
            abandoned: tokio::sync::watch::Sender::new(0),
        }
    }
}

/// A configuration change being applied: from, to, the directives CONFIG SET changed,
/// and whether it runs inside a transaction (EXEC).
struct ConfigChange<'a> {
    from: &'a Config,
    to: &'a Config,
    changed: &'a [&'static str],
    in_exec: bool,
}

impl ConfigChange<'_> {
    /// Whether CONFIG SET set `name` (not necessarily to another value).
    fn set(&self, name: &str) -> bool {
        self.changed.contains(&name)
    }
}

/// One fallible part of applying a configuration.
type ConfigStep = fn(&Server, &mut EngineState, &ConfigChange<'_>) -> Result<(), (String, String)>;

/// Everything connections share.
pub struct Server {
    pub engine: Mutex<EngineState>,
    config: RwLock<Config>,
    pub clients: ClientRegistry,
    pub pubsub: PubSub,
    pub commands: CommandTable,
    pub stats: ServerStats,
    pub started: Instant,
    pub started_unix: u64,
    /// 40 hex chars identifying this run (INFO run_id).
    pub run_id: String,
    /// Replication: ids, offsets, the stream and backlog, master link and replicas.
    pub repl: crate::replication::Replication,
    /// RDB saves: last save, in progress, outcome.
    pub save_status: Arc<crate::persistence::SaveStatus>,
    /// The append-only file, on or off, from start-up on.
    aof: std::sync::OnceLock<Arc<crate::persistence::aof::Aof>>,
    /// The `Arc` this server lives in, for commands that start tasks (REPLICAOF).
    self_ref: std::sync::OnceLock<std::sync::Weak<Server>>,
    auth: RwLock<Arc<Auth>>,
    limits: RwLock<ClientLimits>,
    /// Bumped whenever `limits` changes, so connections can cache them.
    limits_version: std::sync::atomic::AtomicU64,
    monitors: Mutex<Vec<(ClientId, mpsc::UnboundedSender<Outbound>)>>,
    monitor_count: AtomicUsize,
    pub shutdown: Shutdown,
    active_expire: AtomicBool,
    /// DEBUG PAUSE-CRON: the periodic work stops (expiry, saves, timeouts, heartbeats).
    pub cron_paused: AtomicBool,
    /// The TCP port actually bound (differs from the config when it said 0... or for tests).
    pub port: AtomicUsize,
    /// The TLS listener's state, when `tls-port` is set.
    pub tls: Option<crate::tls::TlsServer>,
    /// The listening sockets and their accept loops.
    pub listeners: crate::listeners::Listeners,
    /// Connections MIGRATE keeps to its targets.
    pub migrate_sockets: crate::cmd::migrate::SocketCache,
    /// Keeps the event loop polling briefly after requests (`busy-poll-us`).
    pub busy_poll: Arc<crate::busy_poll::BusyPoll>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("run_id", &self.run_id)
            .finish()
    }
}

/// 40 random hex characters (run ids, replication ids).
pub fn random_hex40() -> String {
    (0..40)
        .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).expect("hex digit"))
        .collect()
}

/// Settings read on every request batch, cached out of the config so the hot path does
/// not look directives up by name.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    pub parse: ParseLimits,
    /// `client-query-buffer-limit`, bytes.
    pub query_buffer: u64,
    /// `timeout`: idle seconds before a client is closed (0 = never).
    pub idle_timeout: u64,
    /// `client-output-buffer-limit normal ...`.
    pub normal_output: crate::config::OutputBufferLimit,
}

fn limits_from(config: &Config) -> ClientLimits {
    ClientLimits {
        parse: ParseLimits {
            max_bulk_len: config.get_u64("proto-max-bulk-len"),
            ..ParseLimits::default()
        },
        query_buffer: config.get_u64("client-query-buffer-limit"),
        idle_timeout: config.get_u64("timeout"),
        normal_output: config.output_buffer_limit(crate::config::OutputBufferClass::Normal),
    }
}

impl Server {
    pub fn new(config: Config, tls: Option<crate::tls::TlsServer>) -> Server {
        let databases = config.get_int("databases").max(1) as usize;
        let auth = Auth::new(config.get("requirepass"), config.get("requirepass-hash"));
        let commands = CommandTable::new(&config.renamed_commands);
        let limits = limits_from(&config);
        let backlog_size = config.get_u64("repl-backlog-size") as usize;
        let busy_poll_us = config.get_u64("busy-poll-us");
        // Calibrates the clock commands are timed with (a few ms, once) before any runs.
        let _ = quanta::Instant::now();
        let mut engine = EngineState::new(databases);
        engine.apply_settings(&config);
        let server = Server {
            engine: Mutex::new(engine),
            config: RwLock::new(config),
            clients: ClientRegistry::default(),
            pubsub: PubSub::default(),
            commands,
            stats: ServerStats::default(),
            started: Instant::now(),
            started_unix: crate::keyspace::now_ms() / 1000,
            run_id: random_hex40(),
            repl: crate::replication::Replication::new(backlog_size),
            save_status: Arc::new(crate::persistence::SaveStatus::new(
                crate::keyspace::now_ms() / 1000,
            )),
            aof: std::sync::OnceLock::new(),
            self_ref: std::sync::OnceLock::new(),
            auth: RwLock::new(Arc::new(auth)),
            limits: RwLock::new(limits),
            limits_version: std::sync::atomic::AtomicU64::new(0),
            monitors: Mutex::new(Vec::new()),
            monitor_count: AtomicUsize::new(0),
            shutdown: Shutdown::default(),
            active_expire: AtomicBool::new(true),
            cron_paused: AtomicBool::new(false),
            port: AtomicUsize::new(0),
            tls,
            listeners: Default::default(),
            migrate_sockets: Default::default(),
            busy_poll: Arc::new(crate::busy_poll::BusyPoll::new(busy_poll_us)),
        };
        server.apply_repl_limits(&server.config());
        server
    }

    /// `repl-backlog-size` and the replica output buffer limit, applied to the backlog.
    fn apply_repl_limits(&self, config: &Config) {
        let hard = config
            .output_buffer_limit(crate::config::OutputBufferClass::Replica)
            .hard;
        let backlog = config.get_u64("repl-backlog-size") as usize;
        self.repl
            .set_min_replicas_to_write(config.get_u64("min-replicas-to-write"));
        let pin_limit = if hard == 0 { usize::MAX } else { hard as usize };
        self.repl
            .feed
            .update(|log| log.set_limits(backlog, pin_limit));
    }

    /// Records the `Arc` the server lives in (see [`Server::self_arc`]).
    pub fn set_self_arc(self: &Arc<Self>) {
        let _ = self.self_ref.set(Arc::downgrade(self));
    }

    pub fn self_arc(&self) -> Option<Arc<Server>> {
        self.self_ref.get().and_then(|w| w.upgrade())
    }

    /// The append-only file (on or off); None only before start-up loaded the dataset.
    pub fn aof(&self) -> Option<&Arc<crate::persistence::aof::Aof>> {
        self.aof.get()
    }

    /// Installs the AOF set up at start-up (on or off) and has the engine feed it.
    pub fn install_aof(&self, state: &mut EngineState, aof: Arc<crate::persistence::aof::Aof>) {
        state.add_sink(Box::new(crate::persistence::aof::AofSink(aof.clone())));
        let _ = self.aof.set(aof);
    }

    /// The append-only file, in whatever state (set up at start-up).
    pub fn aof_arc(&self) -> Arc<crate::persistence::aof::Aof> {
        self.aof
            .get()
            .expect("the AOF is set up at start-up")
            .clone()
    }

    /// Writes the commands of the batch just run to the AOF (before replies are sent).
    /// A failure is logged by the AOF and refuses writes until a retry succeeds.
    pub fn flush_aof(&self) {
        if let Some(aof) = self.aof.get() {
            let _ = aof.flush();
        }
    }

    /// A snapshot of `state` (taken under the engine lock) recording this node's
    /// replication position.
    pub fn snapshot(&self, state: &EngineState) -> crate::persistence::Snapshot {
        crate::persistence::Snapshot::take(state, self.repl_position())
            .with_key_save_delay(self.config().get_int("rdb-key-save-delay"))
    }

    /// A snapshot of `state` for an AOF base (no replication position, as Redis's).
    pub fn aof_snapshot(&self, state: &EngineState) -> crate::persistence::Snapshot {
        crate::persistence::Snapshot::take(state, None)
            .with_key_save_delay(self.config().get_int("rdb-key-save-delay"))
    }

    /// The replication id and offset a snapshot taken now corresponds to, when this node
    /// has a replication history (so a restart can partially resynchronise).
    pub fn repl_position(
        &self,
    ) -> Option<(crate::replication::ReplId, crate::replication::ReplOffset)> {
        let st = self.repl.state();
        let log = self.repl.feed.log();
        log.active.then(|| (st.replid.clone(), log.end()))
    }

    pub fn config(&self) -> RwLockReadGuard<'_, Config> {
        self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The version of [`Server::limits`]; a changed value means reload them.
    pub fn limits_version(&self) -> u64 {
        self.limits_version.load(Ordering::Acquire)
    }

    pub fn limits(&self) -> ClientLimits {
        *self.limits.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn auth(&self) -> Arc<Auth> {
        self.auth.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn role_name(&self) -> &'static str {
        if self.repl.is_replica() {
            "replica"
        } else {
            "master"
        }
    }

    /// Installs a new configuration after CONFIG SET, applying what changed (`changed`
    /// names the directives). The steps that can fail run first, in order; when one does,
    /// those already done are applied again with the old configuration, which stays, and
    /// the error names the directive: `(directive, reason)`.
    pub fn apply_config(
        &self,
        state: &mut EngineState,
        next: Config,
        changed: &[&'static str],
        in_exec: bool,
    ) -> Result<(), (String, String)> {
        let old = self.config().clone();
        let change = ConfigChange {
            from: &old,
            to: &next,
            changed,
            in_exec,
        };
        let undo_change = ConfigChange {
            from: &next,
            to: &old,
            changed,
            in_exec,
        };
        let steps: [ConfigStep; 5] = [
            Server::apply_dir,
            Server::apply_listener_changes,
            Server::apply_tls_files,
            Server::apply_oom_score,
            Server::apply_appendonly,
        ];
        for (done, step) in steps.iter().enumerate() {
            if let Err(e) = step(self, state, &change) {
                warning!(
                    "Failed applying new configuration. Possibly related to new {} setting. Restoring previous settings.",
                    e.0
                );
                for undo in &steps[..done] {
                    if let Err((name, reason)) = undo(self, state, &undo_change) {
                        warning!("Failed restoring {name}: {reason}");
                    }
                }
                return Err(e);
            }
        }
        if changed.contains(&"requirepass") || changed.contains(&"requirepass-hash") {
            *self.auth.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Auth::new(
                next.get("requirepass"),
                next.get("requirepass-hash"),
            ));
        }
        if changed.contains(&"busy-poll-us") {
            self.busy_poll.set_window(next.get_u64("busy-poll-us"));
        }
        if changed.contains(&"loglevel") {
            crate::log::set_level(crate::log::Level::from_name(next.get("loglevel")));
        }
        if let Some(aof) = self.aof() {
            aof.set_settings(crate::persistence::aof::AofSettings::from_config(&next));
        }
        self.apply_repl_limits(&next);
        *self.limits.write().unwrap_or_else(|e| e.into_inner()) = limits_from(&next);
        self.limits_version.fetch_add(1, Ordering::Release);
        let retitle = ["proc-title-template", "port", "bind", "tls-port"]
            .iter()
            .any(|d| changed.contains(d));
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = next;
        if retitle {
            crate::proc_title::apply(&self.config(), self.port.load(Ordering::Relaxed) as u16);
        }
        Ok(())
    }

    /// CONFIG SET dir: the working directory changes (the RDB and AOF live there).
    fn apply_dir(
        &self,
        _: &mut EngineState,
        change: &ConfigChange<'_>,
    ) -> Result<(), (String, String)> {
        if !change.set("dir") {
            return Ok(());
        }
        std::env::set_current_dir(change.to.get("dir"))
            .map_err(|e| ("dir".to_string(), crate::log::strerror(&e)))
    }

    /// CONFIG SET of a TLS file or setting: the TLS configuration is read again.
    fn apply_tls_files(
        &self,
        _: &mut EngineState,
        change: &ConfigChange<'_>,
    ) -> Result<(), (String, String)> {
        let Some(tls) = &self.tls else {
            return Ok(());
        };
        let Some(name) = change
            .changed
            .iter()
            .find(|d| crate::tls::RELOAD_DIRECTIVES.contains(d))
        else {
            return Ok(());
        };
        tls.reload(change.to).map_err(|e| {
            warning!("Failed to update the TLS configuration (CONFIG SET {name}): {e}");
            (
                name.to_string(),
                "Unable to update TLS configuration. Check server logs.".to_string(),
            )
        })?;
        notice!("TLS configuration reloaded (CONFIG SET {name})");
        Ok(())
    }

    /// CONFIG SET oom-score-adj, oom-score-adj-values: the process's OOM score.
    fn apply_oom_score(
        &self,
        _: &mut EngineState,
        change: &ConfigChange<'_>,
    ) -> Result<(), (String, String)> {
        let Some(name) = change
            .changed
            .iter()
            .find(|d| matches!(**d, "oom-score-adj" | "oom-score-adj-values"))
        else {
            return Ok(());
        };
        crate::oom_score::apply(change.to, self.repl.is_replica())
            .map_err(|e| (name.to_string(), e))
    }

    /// CONFIG SET appendonly: turns the AOF on (a rewrite makes its base; inside a
    /// transaction the cron starts it, as in Redis) or off.
    fn apply_appendonly(
        &self,
        state: &mut EngineState,
        change: &ConfigChange<'_>,
    ) -> Result<(), (String, String)> {
        let Some(aof) = self.aof() else {
            return Ok(());
        };
        let on = change.to.get_bool("appendonly");
        if !change.set("appendonly") || on == aof.enabled() {
            return Ok(());
        }
        if on {
            aof.set_settings(crate::persistence::aof::AofSettings::from_config(change.to));
            if change.in_exec {
                aof.enable_later();
                return Ok(());
            }
            let snapshot = self.aof_snapshot(state);
            aof.enable(snapshot)
                .map_err(|e| ("appendonly".to_string(), e))
        } else {
            aof.disable();
            Ok(())
        }
    }

    /// Rebinds the listeners after CONFIG SET bind, port or tls-port (see
    /// [`crate::listeners::Listeners`]).
    fn apply_listener_changes(
        &self,
        _: &mut EngineState,
        change: &ConfigChange<'_>,
    ) -> Result<(), (String, String)> {
        use crate::listeners::Kind;
        let (old, next) = (change.from, change.to);
        let Some(me) = self.self_arc() else {
            return Ok(());
        };
        let differs = |name: &str| change.set(name) && old.get(name) != next.get(name);
        if differs("bind") {
            return self
                .listeners
                .change_bind(&me, old, next)
                .map_err(|e| ("bind".to_string(), e));
        }
        for (name, kind) in [("port", Kind::Plain), ("tls-port", Kind::Tls)] {
            if !differs(name) {
                continue;
            }
            if kind == Kind::Tls && self.tls.is_none() {
                return Err((
                    name.to_string(),
                    "TLS is not configured: start tandem with a tls-port to serve TLS".into(),
                ));
            }
            self.listeners
                .change_port(&me, next, kind)
                .map_err(|e| (name.to_string(), e))?;
        }
        Ok(())
    }

    /// Delivers a message to the subscribers of `channel` (and matching patterns),
    /// disconnecting those over the pub/sub output buffer limits; returns how many
    /// received it.
    pub fn publish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        self.pubsub
            .publish(channel, payload, &self.pubsub_output_limit())
    }

    /// The pub/sub clients' output buffer limits (`client-output-buffer-limit pubsub`).
    pub fn pubsub_output_limit(&self) -> crate::config::OutputBufferLimit {
        self.config()
            .output_buffer_limit(crate::config::OutputBufferClass::Pubsub)
    }

    /// Re-reads the TLS certificate, key and CA files (SIGHUP); a failure keeps the
    /// configuration that was serving.
    pub fn reload_tls_files(&self) {
        let Some(tls) = &self.tls else {
            notice!("Received SIGHUP: TLS is not enabled, nothing to reload");
            return;
        };
        match tls.reload(&self.config()) {
            Ok(()) => notice!("Received SIGHUP: TLS certificates reloaded"),
            Err(e) => warning!(
                "Received SIGHUP: TLS reload failed, keeping the current certificates: {e}"
            ),
        }
    }

    pub fn add_monitor(&self, client: &ClientState) {
        self.monitors
            .lock()
            .expect("monitors lock")
            .push((client.id, client.messages.clone()));
        self.monitor_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn remove_monitor(&self, id: ClientId) {
        let mut m = self.monitors.lock().expect("monitors lock");
        let before = m.len();
        m.retain(|(c, _)| *c != id);
        self.monitor_count
            .fetch_sub(before - m.len(), Ordering::Relaxed);
    }

    /// Whether any client is in MONITOR mode.
    pub fn has_monitors(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) > 0
    }

    /// Sends a command to MONITOR clients: `+<time> [<db> <addr>] "arg" ...`.
    pub fn feed_monitors(&self, client: &ClientState, args: &[Bytes], spec: &CommandSpec) {
        if !self.has_monitors() || spec.has(crate::cmd::flags::ADMIN) {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = format!(
            "+{}.{:06} [{} {}]",
            now.as_secs(),
            now.subsec_micros(),
            client.db,
            client.info.addr
        );
        for (i, a) in args.iter().enumerate() {
            line.push_str(" \"");
            if crate::cmd::redacted_arg(spec, args, i) {
                line.push_str("(redacted)");
            } else {
                for &b in a.iter() {
                    match b {
                        b'"' => line.push_str("\\\""),
                        b'\\' => line.push_str("\\\\"),
                        b'\n' => line.push_str("\\n"),
                        b'\r' => line.push_str("\\r"),
                        b'\t' => line.push_str("\\t"),
                        0x20..=0x7e => line.push(b as char),
                        _ => line.push_str(&format!("\\x{b:02x}")),
                    }
                }
            }
            line.push('"');
        }
        line.push_str("\r\n");
        let line = Bytes::from(line);
        for (_, tx) in self.monitors.lock().expect("monitors lock").iter() {
            let _ = tx.send(Outbound::Monitor(line.clone()));
        }
    }

    pub fn request_shutdown(&self, save: Option<bool>, force: bool) {
        *self.shutdown.save.lock().expect("shutdown lock") = save;
        self.shutdown.force.store(force, Ordering::SeqCst);
        self.shutdown.requested.store(true, Ordering::SeqCst);
        self.shutdown.notify.notify_waiters();
    }

    /// Starts the shutdown a signal asked for, as `shutdown-on-sigterm` / `-sigint` say
    /// (`save`, `nosave`, `force`; `now` changes nothing: tandem does not wait for
    /// replicas).
    fn shutdown_on_signal(&self, signal: &str) {
        let directive = if signal == "SIGINT" {
            "shutdown-on-sigint"
        } else {
            "shutdown-on-sigterm"
        };
        let flags = self.config().get(directive).to_string();
        let has = |f: &str| flags.split_whitespace().any(|w| w == f);
        let save = if has("save") {
            Some(true)
        } else if has("nosave") {
            Some(false)
        } else {
            None
        };
        self.request_shutdown(save, has("force"));
    }

    pub fn shutting_down(&self) -> bool {
        self.shutdown.requested.load(Ordering::SeqCst)
    }

    pub fn set_active_expire(&self, on: bool) {
        self.active_expire.store(on, Ordering::Relaxed);
    }

    /// Once a second: the AOF's `everysec` fsync, `save` points, and the master's PING to
    /// its replicas every `repl-ping-replica-period` seconds.
    pub fn cron_every_second(&self, second: u64) {
        if self.cron_paused.load(Ordering::Relaxed) {
            return;
        }
        if let Some(aof) = self.aof() {
            aof.cron();
            if aof.rewrite_due() {
                let state = self.engine.lock().unwrap_or_else(|e| e.into_inner());
                let snapshot = self.aof_snapshot(&state);
                drop(state);
                if let Err(e) = self.aof_arc().start_rewrite(snapshot) {
                    warning!("Can't rewrite append only file in background: {e}");
                }
            }
        }
        self.migrate_sockets.expire_idle();
        let backlog_ttl = self.config().get_u64("repl-backlog-ttl");
        crate::replication::master::expire_idle_backlog(self, backlog_ttl);
        let (points, ping_period) = {
            let c = self.config();
            (
                crate::persistence::save_points(&c),
                c.get_u64("repl-ping-replica-period").max(1),
            )
        };
        if !points.is_empty() && !self.save_status.in_progress.load(Ordering::Acquire) {
            let state = self.engine.lock().unwrap_or_else(|e| e.into_inner());
            let now = crate::keyspace::now_ms() / 1000;
            if crate::persistence::save_point_due(&points, &self.save_status, state.dirty, now) {
                notice!(
                    "{} changes since the last save: saving...",
                    self.save_status.changes_since(state.dirty)
                );
                let snapshot = self.snapshot(&state);
                drop(state);
                let path = crate::persistence::rdb_path(&self.config());
                crate::persistence::save_in_background(&self.save_status, snapshot, path);
            }
        }
        if second.is_multiple_of(ping_period) {
            // Not during a FAILOVER: the stream must stay where the target caught up.
            let has_replicas = {
                let st = self.repl.state();
                st.master.is_none() && !st.replicas.is_empty() && st.failover.is_none()
            };
            if has_replicas {
                self.repl
                    .feed
                    .update(|log| log.feed_global(&[Bytes::from_static(b"PING")]));
            }
        }
    }

    /// The save at shutdown: an RDB when `save` points are set (or SHUTDOWN SAVE) unless
    /// NOSAVE, and the AOF written and fsynced. Returns false when the save failed.
    pub fn save_for_shutdown(&self) -> bool {
        let requested = *self.shutdown.save.lock().expect("shutdown lock");
        let mut ok = true;
        if let Some(aof) = self.aof() {
            if let Err(e) = aof.flush_and_sync() {
                warning!("Error flushing the AOF at shutdown: {e}");
                ok = false;
            }
        }
        let configured = !crate::persistence::save_points(&self.config()).is_empty();
        if requested.unwrap_or(configured) {
            notice!("Saving the final RDB snapshot before exiting.");
            let state = self.engine.lock().unwrap_or_else(|e| e.into_inner());
            let snapshot = self.snapshot(&state);
            let path = crate::persistence::rdb_path(&self.config());
            ok &= crate::persistence::save_now(&self.save_status, snapshot, &path);
        }
        ok
    }

    /// One pass of the periodic work: a shutdown a signal asked for, and active expiry of
    /// keys whose time has passed.
    pub fn cron(&self) {
        if self.cron_paused.load(Ordering::Relaxed) {
            return;
        }
        if let Some(signal) = self.shutdown.take_signal() {
            self.shutdown_on_signal(signal);
        }
        let clock = (self.started.elapsed().as_secs() & 0xffff_ffff) as u32;
        // FAILOVER fixes the dataset, expiries included, until the hand-over.
        let failover = self.repl.failover_active();
        let active = self.active_expire.load(Ordering::Relaxed) && !failover;
        let mut state = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        if failover {
            if let Some(me) = self.self_arc() {
                crate::replication::failover::advance(&me, &mut state);
            }
        }
        let now = crate::keyspace::now_ms();
        for i in 0..state.dbs.len() {
            state.dbs[i].clock_secs = clock;
            state.dbs[i].forget_retained_if_unshared();
            if active && state.dbs[i].delete_expired {
                // A bounded budget per pass keeps the lock hold short.
                state.dbs[i].expire_cycle(now, 2000);
                state.propagate_expired(i);
                state.flush_propagation(false);
                crate::notify::publish(self, &mut state);
            }
        }
        if active && state.dbs.first().is_some_and(|db| !db.delete_expired) {
            state.expire_replica_written(now);
            state.flush_propagation(false);
            crate::notify::publish(self, &mut state);
        }
        drop(state);
        self.clients.cron();
        let mut state = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        // An eviction pass that ran out of time goes on here too when no command comes.
        if state.evictor.enabled() {
            crate::evict::enforce(self, &mut state);
        }
        crate::memory::sample_peak();
    }
}

/// A SIGTERM or SIGINT: the cron starts the shutdown. A SIGINT while one is already
/// pending or saving exits at once, removing the unfinished RDB, as Redis does.
fn on_signal(server: &Server, name: &'static str) {
    let mut pending = server
        .shutdown
        .signal
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if name == "SIGINT" && (pending.is_some() || server.shutting_down()) {
        warning!("You insist... exiting now.");
        let _ = std::fs::remove_file(crate::persistence::foreground_temp_path());
        std::process::exit(1);
    }
    warning!("Received {name} scheduling shutdown...");
    *pending = Some(name);
}

/// Runs the server until shutdown: accept loops, cron, signals.
pub async fn run(server: Arc<Server>, bound: crate::listeners::Bound) -> anyhow::Result<()> {
    // Handlers first: a signal that comes once clients can connect must not be lost (or, when
    // the parent left SIGINT ignored, ignored).
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    server.listeners.start(&server, bound);
    crate::proc_title::apply(&server.config(), server.port.load(Ordering::Relaxed) as u16);
    if tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::CurrentThread
    {
        tokio::spawn(server.busy_poll.clone().run());
    }
    let cron_server = server.clone();
    tokio::spawn(async move {
        let mut last_second = Instant::now();
        let mut seconds = 0u64;
        loop {
            let hz = cron_server.config().get_int("hz").clamp(1, 500) as u64;
            tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
            let s = cron_server.clone();
            let every_second = last_second.elapsed() >= Duration::from_secs(1);
            if every_second {
                last_second = Instant::now();
                seconds += 1;
            }
            // The cron takes the engine lock; keep it off the async worker's hot loop.
            let _ = tokio::task::spawn_blocking(move || {
                s.cron();
                if every_second {
                    s.cron_every_second(seconds);
                }
            })
            .await;
        }
    });
    if server.port.load(Ordering::Relaxed) != 0 {
        notice!("Ready to accept connections tcp");
    }
    if server.tls.is_some() {
        notice!("Ready to accept connections tls");
    }
    loop {
        let notified = server.shutdown.notify.notified();
        tokio::pin!(notified);
        if !server.shutting_down() {
            tokio::select! {
                _ = sigterm.recv() => on_signal(&server, "SIGTERM"),
                _ = sigint.recv() => on_signal(&server, "SIGINT"),
                _ = sighup.recv() => server.reload_tls_files(),
                _ = &mut notified => {}
            }
        }
        if !server.shutting_down() {
            continue;
        }
        warning!("User requested shutdown...");
        let s = server.clone();
        let mut save = tokio::task::spawn_blocking(move || s.save_for_shutdown());
        let saved = loop {
            tokio::select! {
                saved = &mut save => break saved.unwrap_or(false),
                _ = sigint.recv() => on_signal(&server, "SIGINT"),
                _ = sigterm.recv() => {}
            }
        };
        if saved {
            break;
        }
        if server.shutdown.force.load(Ordering::SeqCst) {
            warning!("Error trying to save the DB. Exit anyway.");
            break;
        }
        // As Redis: keep serving rather than exit and lose what the save was to keep.
        warning!("Error trying to save the DB, can't exit.");
        warning!("Errors trying to shut down the server. Check the logs for more information.");
        server.shutdown.requested.store(false, Ordering::SeqCst);
        server.shutdown.abandoned.send_modify(|n| *n += 1);
    }
    server.listeners.remove_unix_socket();
    warning!("tandem is now ready to exit, bye bye...");
    Ok(())
}
