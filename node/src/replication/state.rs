//! What a node knows about replication: its ids and offsets (the stream and backlog in
//! [`Feed`]), its master when it is a replica, and its replicas when it has some. INFO
//! replication, ROLE, WAIT and min-replicas-to-write read from here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{watch, Notify};

use super::{ReplId, ReplOffset, ReplicationLog};
use crate::clients::{ClientId, ClientInfo};
use crate::info::line;

/// The replication stream with its backlog, and a signal for the links that read it.
#[derive(Debug)]
pub struct Feed {
    log: Mutex<ReplicationLog>,
    end: watch::Sender<u64>,
}

impl Feed {
    pub fn new(capacity: usize) -> Feed {
        Feed {
            log: Mutex::new(ReplicationLog::new(capacity, ReplOffset(0))),
            end: watch::channel(0).0,
        }
    }

    pub fn log(&self) -> MutexGuard<'_, ReplicationLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the log, then wakes the links if the stream grew.
    pub fn update<R>(&self, f: impl FnOnce(&mut ReplicationLog) -> R) -> R {
        let mut log = self.log();
        let r = f(&mut log);
        let end = log.end().0;
        drop(log);
        self.end.send_if_modified(|v| {
            let grew = *v != end;
            *v = end;
            grew
        });
        r
    }

    /// `master_repl_offset`.
    pub fn end(&self) -> ReplOffset {
        self.log().end()
    }

    /// A receiver that changes whenever the stream grows.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.end.subscribe()
    }
}

/// Where a replica's link to its master stands (ROLE's state names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Handshake,
    Sync,
    Connected,
}

impl LinkState {
    pub fn role_name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// This node's master, when it is a replica.
#[derive(Debug)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// Last bytes from the master.
    pub last_io: Option<Instant>,
    /// When the link went down (None while up or before it was ever up).
    pub down_since: Option<Instant>,
    pub ever_up: bool,
    /// RDB transfer progress: total (-1 unknown, 0 for EOF-marked streams) and read.
    pub sync_total: i64,
    pub sync_read: u64,
    /// Tells the link task to stop (REPLICAOF to elsewhere, NO ONE, shutdown).
    pub stop: Arc<Notify>,
}

/// Where a replica of this node stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    WaitBgsave,
    SendBulk,
    Online,
}

impl ReplicaState {
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// A replica connected to this node.
#[derive(Debug, Clone)]
pub struct ReplicaInfo {
    pub ip: String,
    pub port: u16,
    pub state: ReplicaState,
    pub ack_offset: u64,
    pub ack_time: Instant,
    pub client: Arc<ClientInfo>,
}

/// The mutable part, under one lock.
#[derive(Debug)]
pub struct ReplState {
    pub replid: ReplId,
    pub replid2: ReplId,
    /// `second_repl_offset`: up to where `replid2` is valid (None = -1).
    pub second_offset: Option<u64>,
    pub master: Option<MasterLink>,
    pub replicas: BTreeMap<ClientId, ReplicaInfo>,
    /// WAIT callers to wake on each ACK.
    pub ack_waiters: Vec<Arc<Notify>>,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// Bumped whenever the master changes, so a stale link task knows to stop.
    pub generation: u64,
    /// A FAILOVER under way on this master.
    pub failover: Option<super::failover::Failover>,
    /// The diskless full sync that replicas arriving now can still join.
    pub diskless_pending: Option<super::diskless::Transfer>,
    /// Since when this master has had no replica (for `repl-backlog-ttl`).
    pub no_replicas_since: Option<Instant>,
    /// Writers waiting for the failover to end (each woken once, so a wake-up that comes
    /// before its writer waits is kept).
    pub paused_writers: Vec<Arc<Notify>>,
}

impl ReplState {
    /// Online replicas whose last ACK is at most `max_lag` seconds old.
    pub fn good_replicas(&self, max_lag: u64) -> usize {
        self.replicas
            .values()
            .filter(|r| {
                r.state == ReplicaState::Online && r.ack_time.elapsed().as_secs() <= max_lag
            })
            .count()
    }

    /// Replicas that acknowledged at least `offset`.
    pub fn acked(&self, offset: u64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.state == ReplicaState::Online && r.ack_offset >= offset)
            .count()
    }

    /// Closes the links of this node's replicas; they reconnect and resynchronise (after
    /// this node's history changed).
    pub fn disconnect_replicas(&self) {
        for r in self.replicas.values() {
            r.client.kill();
        }
    }

    /// PSYNC2 id shift on promotion: the old id stays valid up to the current offset.
    pub fn shift_replid(&mut self, end: ReplOffset) {
        self.replid2 = self.replid.clone();
        self.second_offset = Some(end.0 + 1);
        self.replid = ReplId::random();
    }

    /// Adopts a new master id reported by `+CONTINUE <id>`.
    pub fn adopt_replid(&mut self, id: ReplId, end: ReplOffset) {
        if id != self.replid {
            self.replid2 = std::mem::replace(&mut self.replid, id);
            self.second_offset = Some(end.0 + 1);
        }
    }
}

/// Replication state of a node.
#[derive(Debug)]
pub struct Replication {
    pub feed: Arc<Feed>,
    state: Mutex<ReplState>,
    /// Mirrors `state.master.is_some()`, read on every command without the lock.
    replica: AtomicBool,
    /// `min-replicas-to-write`, read on every write.
    min_replicas: AtomicU64,
    /// Mirrors `state.failover.is_some()`: writes wait while it is set.
    failover_active: AtomicBool,
}

impl Replication {
    pub fn new(backlog_size: usize) -> Replication {
        Replication {
            feed: Arc::new(Feed::new(backlog_size)),
            state: Mutex::new(ReplState {
                replid: ReplId::random(),
                replid2: ReplId::zero(),
                second_offset: None,
                master: None,
                replicas: BTreeMap::new(),
                ack_waiters: Vec::new(),
                sync_full: 0,
                sync_partial_ok: 0,
                sync_partial_err: 0,
                generation: 0,
                failover: None,
                diskless_pending: None,
                no_replicas_since: None,
                paused_writers: Vec::new(),
            }),
            replica: AtomicBool::new(false),
            min_replicas: AtomicU64::new(0),
            failover_active: AtomicBool::new(false),
        }
    }

    pub fn failover_active(&self) -> bool {
        self.failover_active.load(Ordering::Acquire)
    }

    pub fn set_failover_active(&self, active: bool) {
        self.failover_active.store(active, Ordering::Release);
    }

    /// Sets the master (None: this node is a master); call with the state lock held.
    pub fn set_master(&self, st: &mut ReplState, master: Option<MasterLink>) {
        self.replica.store(master.is_some(), Ordering::Release);
        st.master = master;
    }

    pub fn min_replicas_to_write(&self) -> u64 {
        self.min_replicas.load(Ordering::Relaxed)
    }

    pub fn set_min_replicas_to_write(&self, n: u64) {
        self.min_replicas.store(n, Ordering::Relaxed);
    }

    pub fn state(&self) -> MutexGuard<'_, ReplState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Acquire)
    }

    /// Whether this replica's link to its master is up.
    pub fn link_up(&self) -> bool {
        self.state()
            .master
            .as_ref()
            .is_some_and(|m| m.state == LinkState::Connected)
    }

    /// Records an ACK from replica `id` and wakes WAIT callers.
    pub fn ack(&self, id: ClientId, offset: u64) {
        let mut st = self.state();
        if let Some(r) = st.replicas.get_mut(&id) {
            r.ack_offset = r.ack_offset.max(offset);
            r.ack_time = Instant::now();
        }
        for w in st.ack_waiters.drain(..) {
            w.notify_one();
        }
    }

    /// The `# Replication` section of INFO.
    pub fn info_section(&self, config: &crate::config::Config, out: &mut String) {
        let st = self.state();
        let log = self.feed.log();
        line(
            out,
            "role",
            if st.master.is_some() {
                "slave"
            } else {
                "master"
            },
        );
        if let Some(m) = &st.master {
            line(out, "master_host", &m.host);
            line(out, "master_port", m.port);
            let up = m.state == LinkState::Connected;
            line(out, "master_link_status", if up { "up" } else { "down" });
            line(
                out,
                "master_last_io_seconds_ago",
                m.last_io.map_or(-1, |t| t.elapsed().as_secs() as i64),
            );
            let syncing = m.state == LinkState::Sync;
            line(out, "master_sync_in_progress", syncing as u8);
            line(out, "slave_read_repl_offset", log.end());
            line(out, "slave_repl_offset", log.end());
            if syncing {
                line(out, "master_sync_total_bytes", m.sync_total);
                line(out, "master_sync_read_bytes", m.sync_read);
                let left = (m.sync_total - m.sync_read as i64).max(0);
                line(out, "master_sync_left_bytes", left);
                let perc = if m.sync_total > 0 {
                    m.sync_read as f64 * 100.0 / m.sync_total as f64
                } else {
                    0.0
                };
                line(out, "master_sync_perc", format!("{perc:.2}"));
                line(
                    out,
                    "master_sync_last_io_seconds_ago",
                    m.last_io.map_or(-1, |t| t.elapsed().as_secs() as i64),
                );
            }
            if !up {
                line(
                    out,
                    "master_link_down_since_seconds",
                    match (m.ever_up, m.down_since) {
                        (true, Some(t)) => t.elapsed().as_secs() as i64,
                        _ => -1,
                    },
                );
            }
            line(out, "slave_priority", config.get("replica-priority"));
            line(
                out,
                "slave_read_only",
                config.get_bool("replica-read-only") as u8,
            );
            line(
                out,
                "replica_announced",
                config.get_bool("replica-announced") as u8,
            );
        }
        line(out, "connected_slaves", st.replicas.len());
        let min = config.get_u64("min-replicas-to-write");
        if min > 0 {
            line(
                out,
                "min_slaves_good_slaves",
                st.good_replicas(config.get_u64("min-replicas-max-lag")),
            );
        }
        for (i, r) in st.replicas.values().enumerate() {
            let lag = if r.state == ReplicaState::Online {
                r.ack_time.elapsed().as_secs()
            } else {
                0
            };
            line(
                out,
                &format!("slave{i}"),
                format_args!(
                    "ip={},port={},state={},offset={},lag={}",
                    r.ip,
                    r.port,
                    r.state.name(),
                    r.ack_offset,
                    lag
                ),
            );
        }
        line(
            out,
            "master_failover_state",
            super::failover::state_name(st.failover.as_ref()),
        );
        line(out, "master_replid", &st.replid);
        line(out, "master_replid2", &st.replid2);
        line(out, "master_repl_offset", log.end());
        line(
            out,
            "second_repl_offset",
            st.second_offset.map_or(-1, |o| o as i64),
        );
        line(out, "repl_backlog_active", log.active as u8);
        line(out, "repl_backlog_size", log.capacity());
        line(
            out,
            "repl_backlog_first_byte_offset",
            if log.active { log.first_byte().0 } else { 0 },
        );
        line(out, "repl_backlog_histlen", log.histlen());
    }
}
