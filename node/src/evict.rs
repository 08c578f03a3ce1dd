//! `maxmemory`: before a command runs, keys are evicted by `maxmemory-policy` until the
//! memory in use is back under the limit, as Redis 7.0 does; when nothing is left to evict
//! (or the policy is `noeviction`), commands that may add memory are refused with -OOM.
//!
//! LRU, LFU and TTL eviction are approximated as in Redis: each pass samples
//! `maxmemory-samples` keys per database into a pool of the 16 best candidates seen so
//! far, and evicts the best one that still exists. Evicted keys go to replicas and the
//! AOF as DEL. A replica leaves eviction to its master (`replica-ignore-maxmemory yes`).

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::Config;
use crate::engine::EngineState;
use crate::keyspace::{AccessTracking, EvictionCandidate, EvictionOrder, SavedAccess};
use crate::server::Server;

/// Candidates kept between passes (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

/// The error Redis replies to a command refused for memory.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Which keys `maxmemory-policy` lets go, and in what order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    NoEviction,
    /// `volatile`: only keys with an expiry time.
    Evict {
        volatile: bool,
        pick: Pick,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    Lru,
    Lfu,
    Random,
    Ttl,
}

impl Policy {
    fn parse(name: &str) -> Policy {
        let (volatile, pick) = match name {
            "volatile-lru" => (true, Pick::Lru),
            "volatile-lfu" => (true, Pick::Lfu),
            "volatile-random" => (true, Pick::Random),
            "volatile-ttl" => (true, Pick::Ttl),
            "allkeys-lru" => (false, Pick::Lru),
            "allkeys-lfu" => (false, Pick::Lfu),
            "allkeys-random" => (false, Pick::Random),
            _ => return Policy::NoEviction,
        };
        Policy::Evict { volatile, pick }
    }
}

/// What an eviction pass achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is within the limit (or eviction does not apply here).
    Within,
    /// Still over after the pass's time limit; later passes go on.
    Running,
    /// Over the limit with nothing (more) that the policy may evict.
    Failed,
}

/// The eviction settings and state; lives in the engine.
#[derive(Debug, Default)]
pub struct Evictor {
    maxmemory: u64,
    policy: Option<Policy>,
    samples: usize,
    /// How long one pass may evict before letting the command run (from
    /// `maxmemory-eviction-tenacity`); None: until done.
    time_limit: Option<Duration>,
    ignore_on_replica: bool,
    /// `lazyfree-lazy-eviction`: evictions propagate as UNLINK rather than DEL.
    lazy: bool,
    /// The best candidates sampled so far, worst first.
    pool: Vec<(usize, EvictionCandidate)>,
    /// Where `*-random` looks first (round robin over the databases).
    next_db: usize,
    /// A task goes on evicting after a pass ran out of time.
    continuing: bool,
    /// Since when memory has been over the limit, and the total of past such spans
    /// (INFO `current_/total_eviction_exceeded_time`).
    over_since: Option<Instant>,
    over_total: Duration,
}

impl Evictor {
    /// Applies `maxmemory` and the eviction directives (at start-up, after CONFIG SET).
    pub fn configure(&mut self, config: &Config) {
        let policy = Policy::parse(config.get("maxmemory-policy"));
        if self.policy != Some(policy) {
            // Scores from another policy do not compare with the new ones.
            self.pool.clear();
        }
        self.policy = Some(policy);
        self.maxmemory = config.get_u64("maxmemory");
        self.samples = config.get_u64("maxmemory-samples").max(1) as usize;
        self.time_limit = time_limit(config.get_u64("maxmemory-eviction-tenacity"));
        self.ignore_on_replica = config.get_bool("replica-ignore-maxmemory");
        self.lazy = config.get_bool("lazyfree-lazy-eviction");
        if self.maxmemory == 0 {
            self.note_within();
        }
    }

    /// Whether a limit is set at all (the per-command check is this one load otherwise).
    pub fn enabled(&self) -> bool {
        self.maxmemory != 0
    }

    /// INFO stats: milliseconds spent over the limit in total and in the current span.
    pub fn exceeded_ms(&self) -> (u64, u64) {
        let current = self.over_since.map_or(Duration::ZERO, |t| t.elapsed());
        (
            (self.over_total + current).as_millis() as u64,
            current.as_millis() as u64,
        )
    }

    /// CONFIG RESETSTAT: the exceeded times start again.
    pub fn reset_stats(&mut self) {
        self.over_total = Duration::ZERO;
        if self.over_since.is_some() {
            self.over_since = Some(Instant::now());
        }
    }

    fn note_within(&mut self) {
        if let Some(since) = self.over_since.take() {
            self.over_total += since.elapsed();
        }
    }

    fn note_over(&mut self) {
        self.over_since.get_or_insert_with(Instant::now);
    }

    /// Adds a sampled candidate to the pool, which keeps the best [`POOL_SIZE`] in order.
    fn offer(&mut self, db: usize, candidate: EvictionCandidate) {
        if let Some(i) = self
            .pool
            .iter()
            .position(|(d, c)| *d == db && c.key == candidate.key)
        {
            self.pool.remove(i);
        }
        let at = self
            .pool
            .partition_point(|(_, c)| c.score < candidate.score);
        if self.pool.len() == POOL_SIZE {
            if at == 0 {
                return;
            }
            self.pool.remove(0);
            self.pool.insert(at - 1, (db, candidate));
        } else {
            self.pool.insert(at, (db, candidate));
        }
    }
}

impl Evictor {
    /// What snapshots record of each key's access under the policy in force.
    pub fn saved_access(&self) -> SavedAccess {
        match self.policy {
            Some(Policy::Evict {
                pick: Pick::Lru, ..
            }) => SavedAccess::IdleTime,
            Some(Policy::Evict {
                pick: Pick::Lfu, ..
            }) => SavedAccess::Frequency,
            _ => SavedAccess::Nothing,
        }
    }
}

/// How the database stamps accesses under `config`'s policy: LFU counters for the LFU
/// policies, last-access seconds otherwise (OBJECT IDLETIME works then).
pub fn access_tracking(config: &Config) -> AccessTracking {
    if config.get("maxmemory-policy").contains("lfu") {
        AccessTracking::Lfu {
            log_factor: config.get_u64("lfu-log-factor") as u32,
            decay_minutes: config.get_u64("lfu-decay-time") as u32,
        }
    } else {
        AccessTracking::Lru
    }
}

/// Redis's evictionTimeLimitUs: 50 us per point of tenacity up to 10, then 15% more per
/// point, and no limit at 100.
fn time_limit(tenacity: u64) -> Option<Duration> {
    let micros = match tenacity {
        0..=10 => 50.0 * tenacity as f64,
        11..=99 => 500.0 * 1.15f64.powi(tenacity as i32 - 10),
        _ => return None,
    };
    Some(Duration::from_micros(micros as u64))
}

/// Memory the limit does not count (INFO `mem_not_counted_for_evict`): replication
/// stream held beyond `repl-backlog-size` for replicas that lag, as Redis leaves out its
/// replicas' output buffers (evicting keys would only add DELs to it), and what only a
/// snapshot still holds (see [`Db::retained_by_snapshots`]; Redis's snapshot is a forked
/// child's memory, not in its count).
///
/// [`Db::retained_by_snapshots`]: crate::keyspace::Db::retained_by_snapshots
pub fn not_counted(state: &EngineState) -> u64 {
    let backlog = state.repl_feed.as_ref().map_or(0, |feed| {
        let log = feed.log();
        log.histlen().saturating_sub(log.capacity())
    });
    let snapshots: usize = state.dbs.iter().map(|db| db.retained_by_snapshots()).sum();
    (backlog + snapshots) as u64
}

/// Evicts keys until the memory in use is within `maxmemory`, or the pass's time is up,
/// or the policy has nothing left to evict. Callers check [`Evictor::enabled`] first.
///
/// A pass that runs out of time lets the command run and leaves the rest to a task that
/// evicts in further passes, between other clients' commands, until done (Redis's
/// eviction time proc).
pub fn enforce(server: &Server, state: &mut EngineState) -> Outcome {
    let outcome = eviction_pass(server, state);
    if outcome == Outcome::Running {
        evict_in_background(server, state);
    }
    outcome
}

/// After CONFIG SET maxmemory: under the memory in use, Redis's warning, and eviction
/// starts in the background at once rather than with the next command. Not in the
/// command itself: it may be inside MULTI, whose commands must run as one.
pub fn maxmemory_changed(server: &Server, state: &mut EngineState) {
    crate::memory::flush_thread();
    let max = state.evictor.maxmemory;
    let used = (crate::memory::used_memory() as u64).saturating_sub(not_counted(state));
    if max == 0 || used <= max {
        return;
    }
    crate::warning!("WARNING: the new maxmemory value set via CONFIG SET ({max}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.");
    evict_in_background(server, state);
}

/// Starts the task that evicts pass by pass, between other clients' commands, until
/// memory is within the limit (unless it runs already).
fn evict_in_background(server: &Server, state: &mut EngineState) {
    if state.evictor.continuing {
        return;
    }
    if let (Some(server), Ok(runtime)) = (server.self_arc(), tokio::runtime::Handle::try_current())
    {
        state.evictor.continuing = true;
        runtime.spawn(continue_evicting(server));
    }
}

async fn continue_evicting(server: std::sync::Arc<Server>) {
    loop {
        tokio::task::yield_now().await;
        let mut state = server.engine.lock().unwrap_or_else(|e| e.into_inner());
        if !state.evictor.enabled() || eviction_pass(&server, &mut state) != Outcome::Running {
            state.evictor.continuing = false;
            return;
        }
    }
}

fn eviction_pass(server: &Server, state: &mut EngineState) -> Outcome {
    // This thread's own recent allocations and frees count (see memory::PENDING_LIMIT).
    crate::memory::flush_thread();
    let max = state.evictor.maxmemory;
    let used = crate::memory::used_memory() as u64;
    if used <= max {
        state.evictor.note_within();
        return Outcome::Within;
    }
    let repl = &server.repl;
    if (repl.is_replica() && state.evictor.ignore_on_replica) || repl.failover_active() {
        // The master's DELs keep a replica's dataset; FAILOVER has fixed the dataset.
        return Outcome::Within;
    }
    for db in state.dbs.iter_mut() {
        db.forget_retained_if_unshared();
    }
    let used = used.saturating_sub(not_counted(state));
    if used <= max {
        state.evictor.note_within();
        return Outcome::Within;
    }
    state.evictor.note_over();
    if !matches!(state.evictor.policy, Some(Policy::Evict { .. })) {
        return Outcome::Failed;
    }
    let to_free = used - max;
    let started = Instant::now();
    let (mut freed, mut evicted) = (0u64, 0u64);
    let outcome = loop {
        if freed >= to_free {
            break Outcome::Within;
        }
        let Some((db, key)) = pick(state) else {
            break Outcome::Failed;
        };
        freed += evict(state, db, key);
        evicted += 1;
        if evicted % 16 == 0
            && state
                .evictor
                .time_limit
                .is_some_and(|l| started.elapsed() > l)
        {
            break Outcome::Running;
        }
    };
    if evicted > 0 {
        state.flush_propagation(false);
        crate::notify::publish(server, state);
    }
    if outcome == Outcome::Within {
        state.evictor.note_within();
    }
    outcome
}

/// Deletes `key` from `db` and propagates the DEL; returns the bytes that counts as
/// freeing. That is what the allocator got back, or the key's estimated size if more:
/// while a snapshot (BGSAVE, a full sync) shares the key, deleting it frees nothing until
/// the snapshot is done (the key then counts as retained by it, see [`not_counted`]).
fn evict(state: &mut EngineState, db: usize, key: Bytes) -> u64 {
    let before = crate::memory::used_memory();
    let entry = state.dbs[db].remove(&key);
    let estimate = entry.as_ref().map_or(0, |e| e.memory_usage(key.len()));
    drop(entry);
    crate::memory::flush_thread();
    let returned = before.saturating_sub(crate::memory::used_memory());
    state.stats.evicted_keys += 1;
    state
        .events
        .push(crate::notify::class::EVICTED, "evicted", db, &key);
    state.touch(db, &key);
    let del: &'static [u8] = if state.evictor.lazy {
        b"UNLINK"
    } else {
        b"DEL"
    };
    state.propagate(db, vec![Bytes::from_static(del), key]);
    returned.max(estimate) as u64
}

/// The key the policy evicts next, with its database; None when it may evict none.
fn pick(state: &mut EngineState) -> Option<(usize, Bytes)> {
    let Some(Policy::Evict { volatile, pick }) = state.evictor.policy else {
        return None;
    };
    let (evictor, dbs) = (&mut state.evictor, &state.dbs);
    let sample = |db: &crate::keyspace::Db, count: usize, order: EvictionOrder| {
        if volatile {
            db.sample_volatile(count, order)
        } else {
            db.sample(count, order)
        }
    };
    if pick == Pick::Random {
        for _ in 0..dbs.len() {
            evictor.next_db = (evictor.next_db + 1) % dbs.len();
            let db = evictor.next_db;
            if let Some(c) = sample(&dbs[db], 1, EvictionOrder::Access).pop() {
                return Some((db, c.key));
            }
        }
        return None;
    }
    let order = if pick == Pick::Ttl {
        EvictionOrder::Ttl
    } else {
        EvictionOrder::Access
    };
    loop {
        let mut candidates = 0;
        for (i, db) in dbs.iter().enumerate() {
            let keys = if volatile { db.expires_len() } else { db.len() };
            if keys == 0 {
                continue;
            }
            candidates += keys;
            for c in sample(db, evictor.samples, order) {
                evictor.offer(i, c);
            }
        }
        if candidates == 0 {
            return None;
        }
        // Best last; a candidate deleted since it was sampled is dropped.
        while let Some((db, c)) = evictor.pool.pop() {
            if dbs[db].holds(&c.key, volatile) {
                return Some((db, c.key));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(key: &str, score: u64) -> EvictionCandidate {
        EvictionCandidate {
            key: Bytes::copy_from_slice(key.as_bytes()),
            score,
        }
    }

    #[test]
    fn pool_keeps_the_best_candidates_in_order() {
        let mut ev = Evictor::default();
        for i in 0..20u64 {
            ev.offer(0, candidate(&format!("k{i}"), i * 10));
        }
        assert_eq!(ev.pool.len(), POOL_SIZE);
        let scores: Vec<u64> = ev.pool.iter().map(|(_, c)| c.score).collect();
        assert_eq!(scores, (4..20).map(|i| i * 10).collect::<Vec<_>>());
        // Worse than every pooled candidate: not kept.
        ev.offer(0, candidate("low", 1));
        assert!(ev.pool.iter().all(|(_, c)| c.key != "low"));
        // Sampled again with a new score: moved, not duplicated.
        ev.offer(0, candidate("k5", 1000));
        assert_eq!(ev.pool.iter().filter(|(_, c)| c.key == "k5").count(), 1);
        assert_eq!(ev.pool.last().map(|(_, c)| c.score), Some(1000));
        // The same key in another database is another candidate.
        ev.offer(1, candidate("k5", 999));
        assert_eq!(ev.pool.iter().filter(|(_, c)| c.key == "k5").count(), 2);
    }

    #[test]
    fn policies_and_time_limits_follow_redis() {
        assert_eq!(Policy::parse("noeviction"), Policy::NoEviction);
        assert_eq!(
            Policy::parse("volatile-ttl"),
            Policy::Evict {
                volatile: true,
                pick: Pick::Ttl
            }
        );
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        assert_eq!(time_limit(11), Some(Duration::from_micros(575)));
        assert_eq!(time_limit(100), None);
    }
}
