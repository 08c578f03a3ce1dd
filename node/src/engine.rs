//! The engine: the one place where commands execute.
//!
//! Under one lock, a command is applied to the keyspace, keys it modified are signalled
//! (WATCH, blocked clients), and its propagated form goes to the replication/AOF feed, in
//! one order. The lock is taken once per pipelined batch and never held across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;

use crate::clients::ClientId;
use crate::keyspace::{AccessTracking, Db};

/// Counters INFO stats reports that live with the keyspace.
#[derive(Debug, Default, Clone)]
pub struct KeyspaceStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
}

/// A command as propagated to replicas and the AOF: the database it applies to and its
/// arguments (already rewritten into a deterministic form).
#[derive(Debug, Clone)]
pub struct Propagated {
    pub db: usize,
    pub args: Vec<Bytes>,
}

/// Receives propagated commands (the replication log, the AOF).
pub trait PropagationSink: Send {
    /// Called for each command, in execution order. `multi` brackets (MULTI/EXEC) are
    /// passed as ordinary commands.
    fn feed(&mut self, cmd: &Propagated);
}

/// A client's WATCH of a key.
#[derive(Debug, Clone, Copy)]
struct Watcher {
    client: ClientId,
    /// The key's time had already passed when it was watched (it was stored but logically
    /// gone): its deletion then changes nothing, as in Redis.
    expired: bool,
}

/// Everything guarded by the engine lock.
pub struct EngineState {
    pub dbs: Vec<Db>,
    /// Changes since the last successful save (`rdb_changes_since_last_save`).
    pub dirty: u64,
    pub stats: KeyspaceStats,
    /// Commands executed (INFO total_commands_processed); counted under the lock rather
    /// than in a shared atomic that every core would contend on.
    pub commands_processed: u64,
    /// Per-command and per-error counters (INFO commandstats, errorstats, latencystats).
    pub command_stats: crate::stats::CommandStats,
    pub slowlog: crate::stats::SlowLog,
    pub latency_monitor: crate::stats::LatencyMonitor,
    /// `maxmemory` and its eviction state.
    pub evictor: crate::evict::Evictor,
    /// Keyspace notifications waiting to be published.
    pub events: crate::notify::KeyspaceEvents,
    /// The encoding thresholds commands convert values at.
    pub encoding: crate::keyspace::EncodingLimits,
    /// Keys watched by clients (WATCH), by (db, key).
    watched: HashMap<(usize, Bytes), Vec<Watcher>>,
    /// Clients whose watched keys were touched: their next EXEC fails.
    cas_dirty: HashSet<ClientId>,
    /// Clients blocked on keys (BLPOP & co.), woken when the key is written.
    blocked: HashMap<(usize, Bytes), Vec<Arc<Notify>>>,
    /// Commands propagated by the current command, collected until it finishes.
    pending: Vec<Propagated>,
    sinks: Vec<Box<dyn PropagationSink>>,
    /// The replication stream, while this node is a master with a backlog (a replica's
    /// stream is fed with its master's bytes instead, see `replication::replica`).
    pub repl_feed: Option<Arc<crate::replication::Feed>>,
    /// `master_repl_offset` after the last command fed to `repl_feed`: a client's WAIT
    /// waits for its last write to reach this offset.
    pub repl_end: u64,
    /// On a writable replica, keys its own clients gave an expiry (not its master): the
    /// replica expires these itself, as Redis's slaveKeysWithExpire; the master's keys
    /// wait for the master's DEL.
    replica_written_expiring: HashSet<(usize, Bytes)>,
}

impl std::fmt::Debug for EngineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineState")
            .field("dbs", &self.dbs.len())
            .field("dirty", &self.dirty)
            .finish()
    }
}

impl EngineState {
    pub fn new(databases: usize) -> EngineState {
        EngineState {
            dbs: (0..databases).map(|_| Db::new()).collect(),
            dirty: 0,
            stats: KeyspaceStats::default(),
            commands_processed: 0,
            command_stats: Default::default(),
            slowlog: Default::default(),
            latency_monitor: Default::default(),
            evictor: Default::default(),
            events: Default::default(),
            encoding: Default::default(),
            watched: HashMap::new(),
            cas_dirty: HashSet::new(),
            blocked: HashMap::new(),
            pending: Vec::new(),
            sinks: Vec::new(),
            repl_feed: None,
            repl_end: 0,
            replica_written_expiring: HashSet::new(),
        }
    }

    /// Notes that a client of this replica (not its master) wrote `key` in `db`: if the
    /// key now has an expiry, the replica expires it itself.
    pub fn note_replica_write(&mut self, db: usize, key: &Bytes) {
        if self.dbs[db]
            .peek(key)
            .is_some_and(|e| e.expire_at().is_some())
        {
            self.replica_written_expiring.insert((db, key.clone()));
        }
    }

    /// Deletes the keys written on this replica whose time has passed (propagating the
    /// DELs to its own replicas and AOF); forgets those that no longer exist or expire.
    pub fn expire_replica_written(&mut self, now: u64) {
        if self.replica_written_expiring.is_empty() {
            return;
        }
        let mut touched = Vec::new();
        let dbs = &mut self.dbs;
        self.replica_written_expiring.retain(|(db, key)| {
            let Some(db_state) = dbs.get_mut(*db) else {
                return false;
            };
            match db_state.peek(key).and_then(|e| e.expire_at()) {
                Some(at) if at <= now => {
                    db_state.expire_now(key);
                    touched.push(*db);
                    false
                }
                Some(_) => true,
                None => false,
            }
        });
        touched.dedup();
        for db in touched {
            self.propagate_expired(db);
        }
    }

    /// Applies the directives the engine keeps a copy of (at start-up, after CONFIG SET):
    /// the statistics ones and the memory ones.
    pub fn apply_settings(&mut self, config: &crate::config::Config) {
        self.apply_stats_settings(config);
        self.evictor.configure(config);
        self.encoding = crate::keyspace::EncodingLimits::from_config(config);
        self.events.configure(
            crate::notify::parse_flags(config.get("notify-keyspace-events")).unwrap_or(0),
        );
        let record_created = self.events.enabled(crate::notify::class::NEW);
        for db in self.dbs.iter_mut() {
            db.record_created = record_created;
            db.take_created();
        }
        let access = crate::evict::access_tracking(config);
        for db in self.dbs.iter_mut() {
            db.access = access;
        }
    }

    /// The slow log, latency tracking and latency monitor directives.
    fn apply_stats_settings(&mut self, config: &crate::config::Config) {
        self.latency_monitor
            .configure(config.get_u64("latency-monitor-threshold"));
        self.slowlog.configure(
            config.get_int("slowlog-log-slower-than"),
            config.get_u64("slowlog-max-len") as usize,
        );
        self.command_stats.configure(
            config.get_bool("latency-tracking"),
            crate::stats::parse_percentiles(config.get("latency-tracking-info-percentiles"))
                .unwrap_or_default(),
        );
    }

    /// Replaces the dataset (an RDB loaded at start-up or by a full sync, its keys stamped
    /// as [`Self::load_settings`] said), the new databases keeping the settings of the old;
    /// returns the old.
    pub fn install_dbs(&mut self, mut dbs: Vec<Db>) -> Vec<Db> {
        if let Some(old) = self.dbs.first() {
            for db in dbs.iter_mut() {
                db.access = old.access;
                db.clock_secs = old.clock_secs;
                db.delete_expired = old.delete_expired;
                db.expiry_paused = old.expiry_paused;
                db.record_created = old.record_created;
            }
        }
        std::mem::replace(&mut self.dbs, dbs)
    }

    /// How keys about to be loaded are made: the databases' access tracking, the clock of
    /// now, and the encoding thresholds.
    pub fn load_settings(&self) -> crate::keyspace::LoadSettings {
        let (access, clock_secs) = self
            .dbs
            .first()
            .map_or((AccessTracking::default(), 0), |db| {
                (db.access, db.clock_secs)
            });
        crate::keyspace::LoadSettings {
            access,
            clock_secs,
            encoding: self.encoding,
        }
    }

    /// Reports keyspace event `event` of `class` on `key` in `db`, after the `expired` and
    /// `new` events of keys the command expired or created so far (Redis reports those
    /// when they happen, so before).
    pub fn notify(&mut self, class: u16, event: &'static str, db: usize, key: &[u8]) {
        self.report_expired(db);
        self.report_created(db);
        self.events.push(class, event, db, key);
    }

    /// Queues the `expired` events of the keys `db` found expired since the last report.
    pub fn report_expired(&mut self, db: usize) {
        if self.events.enabled(crate::notify::class::EXPIRED) {
            for key in self.dbs[db].newly_expired() {
                self.events.push_expired(db, key);
            }
        }
    }

    /// Queues the `new` events of the keys created in `db` since the last report.
    pub fn report_created(&mut self, db: usize) {
        if self.dbs[db].record_created {
            for key in self.dbs[db].take_created() {
                self.events.push(crate::notify::class::NEW, "new", db, &key);
            }
        }
    }

    /// Reads `key` in `db`, expiring it if due, and counts a keyspace hit or miss.
    pub fn read(&mut self, db: usize, key: &[u8], now: u64) -> Option<&crate::keyspace::Entry> {
        let found = self.dbs[db].get(key, now);
        if found.is_some() {
            self.stats.keyspace_hits += 1;
        } else {
            self.stats.keyspace_misses += 1;
            // A miss on a read lookup is a `keymiss` event (write lookups are not).
            self.events
                .push(crate::notify::class::KEY_MISS, "keymiss", db, key);
        }
        found
    }

    /// Whether expired keys are deleted when found (a master) or only hidden until the
    /// master's DEL arrives (a replica), in every database.
    pub fn set_delete_expired(&mut self, on: bool) {
        for db in self.dbs.iter_mut() {
            db.delete_expired = on;
        }
    }

    /// Runs `f` with propagation off: what it runs (an AOF replayed, a dataset loaded) is
    /// not fed back to the AOF or to replicas.
    pub fn without_propagation<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let sinks = std::mem::take(&mut self.sinks);
        let feed = self.repl_feed.take();
        let result = f(self);
        self.pending.clear();
        self.sinks = sinks;
        self.repl_feed = feed;
        result
    }

    /// Runs `f` as a load runs (the AOF replayed): nothing is propagated and no key
    /// counts as expired until it is done.
    pub fn loading<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.without_propagation(|state| {
            let set_paused = |state: &mut Self, on: bool| {
                for db in state.dbs.iter_mut() {
                    db.expiry_paused = on;
                }
            };
            set_paused(state, true);
            let result = f(state);
            set_paused(state, false);
            result
        })
    }

    /// Registers a consumer of the propagated command stream.
    pub fn add_sink(&mut self, sink: Box<dyn PropagationSink>) {
        self.sinks.push(sink);
    }

    /// Records that `key` in `db` was modified: counts a change, invalidates WATCHes and
    /// wakes clients blocked on it.
    pub fn signal_modified(&mut self, db: usize, key: &Bytes) {
        self.dirty += 1;
        self.touch(db, key);
    }

    /// Invalidates WATCHes on `key` and wakes blocked clients, without counting a change.
    /// A key watched after its time had passed and deleted since is no change.
    pub fn touch(&mut self, db: usize, key: &Bytes) {
        if !self.watched.is_empty() {
            let gone = self.dbs[db].peek(key).is_none();
            if let Some(watchers) = self.watched.get_mut(&(db, key.clone())) {
                for w in watchers.iter_mut() {
                    if w.expired && gone {
                        w.expired = false;
                    } else {
                        self.cas_dirty.insert(w.client);
                    }
                }
            }
        }
        if !self.blocked.is_empty() {
            if let Some(waiters) = self.blocked.remove(&(db, key.clone())) {
                for w in waiters {
                    w.notify_one();
                }
            }
        }
    }

    /// Invalidates the WATCHes a FLUSHDB/FLUSHALL of `db` changes, before it is emptied:
    /// those of keys it holds.
    pub fn touch_flushed(&mut self, db: usize, now: u64) {
        self.touch_replaced(db, None, now);
    }

    /// Invalidates the WATCHes SWAPDB of `a` and `b` changes, before they are swapped.
    pub fn touch_swapped(&mut self, a: usize, b: usize, now: u64) {
        self.touch_replaced(a, Some(b), now);
        self.touch_replaced(b, Some(a), now);
    }

    /// Redis's touchAllWatchedKeysInDb: the content of `db` is about to be replaced by
    /// that of `replaced_with` (or by nothing). A watched key changes unless it is absent
    /// from both, or was already expired when watched and is absent or expired after.
    fn touch_replaced(&mut self, db: usize, replaced_with: Option<usize>, now: u64) {
        if self.watched.is_empty() {
            return;
        }
        let expired_in = |dbs: &[Db], d: usize, key: &[u8]| {
            dbs[d]
                .peek(key)
                .is_some_and(|e| e.expire_at().is_some_and(|t| t <= now))
        };
        for ((d, key), watchers) in self.watched.iter_mut() {
            if *d != db {
                continue;
            }
            let in_emptied = self.dbs[db].peek(key).is_some();
            let in_replacement = replaced_with.is_some_and(|r| self.dbs[r].peek(key).is_some());
            if !in_emptied && !in_replacement {
                continue;
            }
            let replacement_expired = replaced_with.is_some_and(|r| expired_in(&self.dbs, r, key));
            for w in watchers.iter_mut() {
                if w.expired {
                    if !in_replacement {
                        // An expired key now gone: no logical change.
                        w.expired = false;
                        continue;
                    }
                    if replacement_expired {
                        continue;
                    }
                } else if !in_emptied && replacement_expired {
                    // No key replaced with an expired one.
                    w.expired = true;
                    continue;
                }
                self.cas_dirty.insert(w.client);
            }
        }
    }

    /// Watches `key` for `client`, noting whether its time has already passed.
    pub fn watch(&mut self, client: ClientId, db: usize, key: Bytes, now: u64) {
        let expired = self.dbs[db]
            .peek(&key)
            .is_some_and(|e| e.expire_at().is_some_and(|t| t <= now));
        let list = self.watched.entry((db, key)).or_default();
        if !list.iter().any(|w| w.client == client) {
            list.push(Watcher { client, expired });
        }
    }

    /// Whether a key `client` watches (`keys`) has expired since it was watched, which
    /// aborts its EXEC as a change would.
    pub fn watched_key_expired(&self, client: ClientId, keys: &[(usize, Bytes)], now: u64) -> bool {
        keys.iter().any(|(db, key)| {
            let expired_since = self
                .watched
                .get(&(*db, key.clone()))
                .and_then(|ws| ws.iter().find(|w| w.client == client))
                .is_some_and(|w| !w.expired);
            expired_since
                && self.dbs[*db]
                    .peek(key)
                    .is_some_and(|e| e.expire_at().is_some_and(|t| t <= now))
        })
    }

    /// Drops all WATCHes of `client` and returns whether one of them was touched.
    pub fn unwatch_all(&mut self, client: ClientId, keys: &[(usize, Bytes)]) -> bool {
        for k in keys {
            if let Some(list) = self.watched.get_mut(k) {
                list.retain(|w| w.client != client);
                if list.is_empty() {
                    self.watched.remove(k);
                }
            }
        }
        self.cas_dirty.remove(&client)
    }

    pub fn is_cas_dirty(&self, client: ClientId) -> bool {
        self.cas_dirty.contains(&client)
    }

    /// Registers a blocked client's wake-up for `key`.
    pub fn block_on(&mut self, db: usize, key: Bytes, waker: Arc<Notify>) {
        self.blocked.entry((db, key)).or_default().push(waker);
    }

    /// Removes a blocked client's wake-up registrations (after a timeout or disconnect).
    pub fn unblock(&mut self, db: usize, keys: &[Bytes], waker: &Arc<Notify>) {
        for key in keys {
            let k = (db, key.clone());
            if let Some(list) = self.blocked.get_mut(&k) {
                list.retain(|w| !Arc::ptr_eq(w, waker));
                if list.is_empty() {
                    self.blocked.remove(&k);
                }
            }
        }
    }

    /// Queues a command for propagation once the current command finishes.
    pub fn propagate(&mut self, db: usize, args: Vec<Bytes>) {
        if !self.propagating() {
            return;
        }
        self.pending.push(Propagated { db, args });
    }

    /// Whether anybody consumes propagated commands (skip building them otherwise).
    pub fn propagating(&self) -> bool {
        !self.sinks.is_empty() || self.repl_feed.is_some()
    }

    /// Sends the commands queued by the last command (or transaction) to the sinks,
    /// wrapped in MULTI/EXEC when `atomic` and there is more than one.
    pub fn flush_propagation(&mut self, atomic: bool) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        if atomic && pending.len() > 1 {
            // MULTI in the first command's database, EXEC in the last's: no SELECT of
            // their own.
            let (first, last) = (pending[0].db, pending[pending.len() - 1].db);
            let bracket = |db, name: &'static [u8]| Propagated {
                db,
                args: vec![Bytes::from_static(name)],
            };
            pending.insert(0, bracket(first, b"MULTI"));
            pending.push(bracket(last, b"EXEC"));
        }
        if let Some(repl) = &self.repl_feed {
            self.repl_end = repl.update(|log| {
                for cmd in &pending {
                    log.feed_command(cmd.db, &cmd.args);
                }
                log.end().0
            });
        }
        for sink in self.sinks.iter_mut() {
            for cmd in &pending {
                sink.feed(cmd);
            }
        }
    }

    /// Propagates DEL for keys that expired in `db` during the last command.
    pub fn propagate_expired(&mut self, db: usize) {
        self.report_expired(db);
        let expired = self.dbs[db].drain_expired();
        for key in expired {
            self.stats.expired_keys += 1;
            self.touch(db, &key);
            self.propagate(db, vec![Bytes::from_static(b"DEL"), key]);
        }
    }
}
