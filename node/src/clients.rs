//! Connected clients: ids, the per-connection state commands see, and the registry behind
//! CLIENT LIST / CLIENT KILL / INFO clients.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

use crate::pubsub::Outbound;

/// A client's unique id (CLIENT ID), never reused while the server runs.
pub type ClientId = u64;

/// Where a connection comes from and arrives at, as CLIENT LIST shows them.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: String,
    pub laddr: String,
    /// The unix socket (always local, never TLS).
    pub unix: bool,
    /// The loopback address or the unix socket.
    pub local: bool,
}

impl Endpoint {
    pub fn tcp(peer: SocketAddr, local: SocketAddr) -> Endpoint {
        Endpoint {
            addr: peer.to_string(),
            laddr: local.to_string(),
            unix: false,
            local: peer.ip().is_loopback(),
        }
    }

    /// A client of the unix socket at `path`: shown as `path:0`, as Redis shows it.
    pub fn unix(path: &str) -> Endpoint {
        let addr = format!("{path}:0");
        Endpoint {
            addr: addr.clone(),
            laddr: addr,
            unix: true,
            local: true,
        }
    }
}

/// What other tasks can see of a client: for CLIENT LIST, and to kill it.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: ClientId,
    pub addr: String,
    pub laddr: String,
    pub created: Instant,
    /// Unix time in ms of the last batch of commands run (CLIENT LIST `idle=`), stamped
    /// with the clock reading the batch already takes.
    pub last_interaction_ms: AtomicU64,
    pub name: Mutex<Option<Bytes>>,
    pub db: AtomicUsize,
    /// Name of the last command run (CLIENT LIST `cmd=`).
    pub last_cmd: Mutex<&'static str>,
    /// Bytes read from and written to this client (INFO total_net_*); each connection
    /// counts its own, so no counter is shared between cores on the hot path.
    pub net_in: AtomicU64,
    pub net_out: AtomicU64,
    /// Bytes waiting in the pub/sub queue, checked against the pubsub output limit.
    pub queued_bytes: AtomicUsize,
    pub subscriptions: AtomicUsize,
    pub psubscriptions: AtomicUsize,
    /// `N` normal, `S` replica, `M` master link, `P` pubsub, `O` monitor, `x` in MULTI...
    pub flags: Mutex<String>,
    pub resp: AtomicUsize,
    /// Signalled to make the connection close (CLIENT KILL, output limit exceeded), for
    /// a task busy writing or blocked; an idle connection hears it on `outbound`.
    pub kill: Notify,
    /// The connection's queue of messages from other tasks.
    outbound: mpsc::UnboundedSender<Outbound>,
    pub killed: std::sync::atomic::AtomicBool,
    pub tls: bool,
    /// Connected over the unix socket (CLIENT LIST flag `U`).
    pub unix: bool,
    /// From the loopback address or the unix socket (protected mode, `local` settings).
    pub local: bool,
    /// The socket's file descriptor (CLIENT LIST `fd=`), -1 for internal clients.
    pub fd: i32,
    /// The connection's buffers, as its task last published them.
    pub buffers: BufferGauges,
}

/// A connection's buffers as CLIENT LIST shows them and the output limits and the cron
/// judge them. The connection task owns the buffers and publishes their sizes here after
/// each change; the cron models Redis's reply buffer resizing on them.
#[derive(Debug)]
pub struct BufferGauges {
    /// Input read and not yet processed; while a batch runs, the whole batch (as Redis's
    /// query buffer still holds the command being executed).
    pub qbuf: AtomicUsize,
    /// Room left in the query buffer.
    pub qbuf_free: AtomicUsize,
    /// Bytes of the arguments of the command being executed.
    pub argv_mem: AtomicUsize,
    /// Commands queued by MULTI, or -1 outside a transaction.
    pub multi: std::sync::atomic::AtomicI64,
    /// Bytes of the arguments queued by MULTI.
    pub multi_mem: AtomicUsize,
    /// Reply bytes not yet written to the socket.
    pub out_pending: AtomicUsize,
    /// Redis's reply buffer size (`rbs`) and its peak since the last reset (`rbp`), with
    /// the time of that reset in ms.
    pub reply_buf_size: AtomicUsize,
    pub reply_buf_peak: AtomicUsize,
    pub reply_peak_reset_ms: AtomicU64,
    /// Unix ms when the output first went over the soft limit; 0 while under it.
    pub soft_limit_since: AtomicU64,
}

/// What a connection costs besides its buffers (its task, state and queues), roughly.
const CLIENT_STRUCT_BYTES: usize = 1024;

/// Redis's reply buffer bounds (PROTO_REPLY_MIN_BYTES, PROTO_REPLY_CHUNK_BYTES).
pub const REPLY_BUFFER_MIN: usize = 1024;
pub const REPLY_BUFFER_CHUNK: usize = 16 * 1024;

impl Default for BufferGauges {
    fn default() -> Self {
        BufferGauges {
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            argv_mem: AtomicUsize::new(0),
            multi: std::sync::atomic::AtomicI64::new(-1),
            multi_mem: AtomicUsize::new(0),
            out_pending: AtomicUsize::new(0),
            reply_buf_size: AtomicUsize::new(REPLY_BUFFER_CHUNK),
            reply_buf_peak: AtomicUsize::new(0),
            reply_peak_reset_ms: AtomicU64::new(crate::keyspace::now_ms()),
            soft_limit_since: AtomicU64::new(0),
        }
    }
}

impl ClientInfo {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill.notify_one();
        let _ = self.outbound.send(Outbound::Kill);
    }

    /// Whether a command of the client waits (CLIENT LIST flag `b`).
    pub fn is_blocked(&self) -> bool {
        self.flags.lock().expect("lock").contains('b')
    }

    /// CLIENT UNBLOCK: ends the client's wait, as a timeout or with an error.
    pub fn unblock(&self, error: bool) {
        let _ = self.outbound.send(Outbound::Unblock { error });
    }

    /// The client's class as CLIENT LIST TYPE / CLIENT KILL TYPE name it.
    pub fn kind(&self) -> &'static str {
        let flags = self.flags.lock().expect("lock");
        if flags.contains('M') {
            "master"
        } else if flags.contains('S') {
            "replica"
        } else if flags.contains('P') {
            "pubsub"
        } else {
            "normal"
        }
    }

    /// Whether the client is of the class named `wanted` (`slave` is an alias of `replica`).
    pub fn is_kind(&self, wanted: &str) -> bool {
        let wanted = if wanted == "slave" { "replica" } else { wanted };
        self.kind() == wanted
    }

    /// The bytes of output waiting for this client: its replies not yet written and the
    /// messages queued for it (CLIENT LIST `omem`, what the output limits judge).
    pub fn output_memory(&self) -> usize {
        self.buffers.out_pending.load(Ordering::Relaxed) + self.queued_bytes.load(Ordering::Relaxed)
    }

    /// Whether the client's output is over `limit`, as Redis judges it: at or over the hard
    /// limit, or at or over the soft limit for longer than its seconds (the time it went
    /// over is remembered here). `now_ms` is the current Unix time in ms.
    pub fn output_over_limit(&self, limit: &crate::config::OutputBufferLimit, now_ms: u64) -> bool {
        let used = self.output_memory() as u64;
        if limit.hard > 0 && used >= limit.hard {
            return true;
        }
        let since = &self.buffers.soft_limit_since;
        if limit.soft == 0 || used < limit.soft {
            if since.load(Ordering::Relaxed) != 0 {
                since.store(0, Ordering::Relaxed);
            }
            return false;
        }
        match since.load(Ordering::Relaxed) {
            0 => {
                since.store(now_ms.max(1), Ordering::Relaxed);
                false
            }
            start => now_ms.saturating_sub(start) / 1000 > limit.soft_secs,
        }
    }

    /// The memory the client's buffers take (CLIENT LIST `tot-mem`, client eviction).
    pub fn memory_usage(&self) -> usize {
        let b = &self.buffers;
        let load = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        load(&b.qbuf)
            + load(&b.qbuf_free)
            + load(&b.argv_mem)
            + load(&b.multi_mem)
            + load(&b.reply_buf_size)
            + self.output_memory()
            + CLIENT_STRUCT_BYTES
    }

    /// One line of CLIENT LIST, in Redis 7.0's field order.
    pub fn list_line(&self) -> String {
        let age = self.created.elapsed().as_secs();
        let idle = crate::keyspace::now_ms()
            .saturating_sub(self.last_interaction_ms.load(Ordering::Relaxed))
            / 1000;
        let name = self
            .name
            .lock()
            .expect("lock")
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let flags = self.flags.lock().expect("lock").clone();
        let b = &self.buffers;
        let load = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        let (qbuf, qbuf_free, argv_mem) = (load(&b.qbuf), load(&b.qbuf_free), load(&b.argv_mem));
        let multi_mem = load(&b.multi_mem);
        let (rbs, rbp) = (load(&b.reply_buf_size), load(&b.reply_buf_peak));
        // Redis's output: a reply buffer of `rbs` bytes (obl), then a list of 16 KB blocks
        // (oll); omem counts what does not fit the buffer.
        let pending = load(&b.out_pending);
        let obl = pending.min(rbs);
        let beyond = pending - obl + self.queued_bytes.load(Ordering::Relaxed);
        let oll = beyond.div_ceil(REPLY_BUFFER_CHUNK);
        let tot_mem = self.memory_usage();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events={} cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            age,
            idle,
            if flags.is_empty() { "N" } else { &flags },
            self.db.load(Ordering::Relaxed),
            self.subscriptions.load(Ordering::Relaxed),
            self.psubscriptions.load(Ordering::Relaxed),
            b.multi.load(Ordering::Relaxed),
            qbuf,
            qbuf_free,
            argv_mem,
            multi_mem,
            rbs,
            rbp,
            obl,
            oll,
            beyond,
            tot_mem,
            if pending > 0 { "rw" } else { "r" },
            self.last_cmd.lock().expect("lock"),
            self.resp.load(Ordering::Relaxed),
        )
    }
}

/// How the client wants replies (CLIENT REPLY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply to the next command only.
    SkipNext,
    Skip,
}

/// A connection's own state, owned by its task and lent to commands.
#[derive(Debug)]
pub struct ClientState {
    pub id: ClientId,
    pub db: usize,
    pub authenticated: bool,
    /// Queued commands between MULTI and EXEC.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command failed to queue: EXEC will abort.
    pub multi_failed: bool,
    /// Bytes of the arguments queued in `multi` (CLIENT LIST `multi-mem`).
    pub multi_bytes: usize,
    /// A command of this client waits for a key or for acknowledgements (flag `b`).
    pub blocked: bool,
    pub watched: Vec<(usize, Bytes)>,
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    pub messages: mpsc::UnboundedSender<Outbound>,
    pub reply_mode: ReplyMode,
    pub close_after_reply: bool,
    /// SHUTDOWN was requested by this client: it waits to hear whether the shutdown was
    /// abandoned (its error reply) or goes with the process.
    pub shutdown_wait: Option<tokio::sync::watch::Receiver<u64>>,
    pub monitor: bool,
    /// This connection is the link to our master: its writes are allowed on a replica.
    pub is_master: bool,
    /// A password AUTH/HELLO left for the connection to verify off the engine lock.
    pub pending_auth: Option<Bytes>,
    /// HELLO to re-run (without AUTH) once `pending_auth` is verified.
    pub pending_hello: Option<Vec<Bytes>>,
    /// The last command dispatched in the current batch, published to `info` after it.
    pub last_cmd: Option<&'static str>,
    /// The name last published to `info.last_cmd`.
    published_cmd: &'static str,
    /// The last command looked up, to skip the table for repeated commands.
    pub last_spec: Option<(Bytes, &'static crate::cmd::CommandSpec)>,
    pub info: Arc<ClientInfo>,
    /// Replication offset after this client's last write (what WAIT waits for).
    pub woff: u64,
    /// What a replica said in REPLCONF before PSYNC.
    pub replica_conf: crate::replication::master::ReplicaConf,
    /// Set by PSYNC/SYNC: the connection becomes a replica link after this reply.
    pub handoff: Option<crate::replication::master::Handoff>,
    /// When a blocked WAIT gives up (it is re-run on every ACK).
    pub wait_deadline: Option<std::time::Instant>,
    /// The next command is the re-run of one that blocked: it was already shown to
    /// MONITOR and counted as a call.
    pub resumed_call: bool,
    /// Commands are left out of the statistics (AOF replay, as in Redis).
    pub uncounted: bool,
    /// The last command's name and the slot of its counters in the command statistics.
    pub stats_slot: Option<(&'static str, usize)>,
}

impl ClientState {
    /// A client with default settings whose pub/sub messages go to `messages`.
    pub fn new(
        info: Arc<ClientInfo>,
        authenticated: bool,
        messages: mpsc::UnboundedSender<Outbound>,
    ) -> ClientState {
        ClientState {
            id: info.id,
            db: 0,
            authenticated,
            multi: None,
            multi_failed: false,
            multi_bytes: 0,
            blocked: false,
            watched: Vec::new(),
            channels: Default::default(),
            patterns: Default::default(),
            messages,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            shutdown_wait: None,
            monitor: false,
            is_master: false,
            pending_auth: None,
            pending_hello: None,
            last_cmd: None,
            published_cmd: "NULL",
            last_spec: None,
            info,
            woff: 0,
            replica_conf: Default::default(),
            handoff: None,
            wait_deadline: None,
            resumed_call: false,
            uncounted: false,
            stats_slot: None,
        }
    }

    /// A client with no connection whose commands are applied like a master's (allowed
    /// on a read-only replica, authenticated): the link to our master, AOF replay. It is
    /// registered in `registry`; the caller unregisters it when done.
    pub fn internal_master(registry: &ClientRegistry) -> ClientState {
        let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
        ClientState::master_link(registry, &Endpoint::tcp(nowhere, nowhere))
    }

    /// The client a replica applies its master's stream as, shown at the link's
    /// addresses (see [`ClientState::internal_master`]).
    pub fn master_link(registry: &ClientRegistry, endpoint: &Endpoint) -> ClientState {
        // Nothing is ever published to it: the receiving side is dropped.
        let (tx, _) = mpsc::unbounded_channel();
        let info = registry.register(endpoint, false, -1, tx.clone());
        let mut client = ClientState::new(info, true, tx);
        client.is_master = true;
        client
    }

    /// Shows the last command run in CLIENT LIST. A pipeline repeats its command, so the
    /// lock is taken only when the name changes.
    pub fn publish_last_cmd(&mut self) {
        if let Some(name) = self.last_cmd.take() {
            if !std::ptr::eq(name, self.published_cmd) {
                *self.info.last_cmd.lock().expect("lock") = name;
                self.published_cmd = name;
            }
        }
    }

    pub fn in_pubsub(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }

    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    pub fn set_db(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    /// Refreshes the flags CLIENT LIST shows.
    pub fn update_flags(&self) {
        let mut f = String::new();
        if self.info.unix {
            f.push('U');
        }
        if self.is_master {
            f.push('M');
        }
        if self.in_pubsub() {
            f.push('P');
        }
        if self.monitor {
            f.push('O');
        }
        if self.multi.is_some() {
            f.push('x');
        }
        if self.blocked {
            f.push('b');
        }
        *self.info.flags.lock().expect("lock") = f;
        self.info
            .subscriptions
            .store(self.channels.len(), Ordering::Relaxed);
        self.info
            .psubscriptions
            .store(self.patterns.len(), Ordering::Relaxed);
    }
}

/// All connected clients.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    closed_net_in: AtomicU64,
    closed_net_out: AtomicU64,
    clients: Mutex<HashMap<ClientId, Arc<ClientInfo>>>,
    /// How the reply buffers are resized (DEBUG REPLYBUFFER), and the resizes made
    /// (INFO reply_buffer_shrinks / reply_buffer_expands).
    pub reply_buffers: ReplyBufferPolicy,
}

/// Redis's reply buffer resizing, modelled on each client's gauges by the cron: a buffer
/// whose peak use stayed under half its size shrinks, one used to the full doubles, up to
/// 16 KB; the peak is forgotten every `peak_reset_ms`.
#[derive(Debug)]
pub struct ReplyBufferPolicy {
    /// Whether buffers are resized at all (DEBUG REPLYBUFFER RESIZING 0|1).
    pub enabled: std::sync::atomic::AtomicBool,
    /// How often the peak is reset, in ms; negative: never (DEBUG REPLYBUFFER PEAK-RESET-TIME).
    pub peak_reset_ms: std::sync::atomic::AtomicI64,
    pub shrinks: AtomicU64,
    pub expands: AtomicU64,
}

/// Redis's default reply buffer peak reset time.
pub const REPLY_PEAK_RESET_DEFAULT_MS: i64 = 5000;

impl Default for ReplyBufferPolicy {
    fn default() -> Self {
        ReplyBufferPolicy {
            enabled: std::sync::atomic::AtomicBool::new(true),
            peak_reset_ms: std::sync::atomic::AtomicI64::new(REPLY_PEAK_RESET_DEFAULT_MS),
            shrinks: AtomicU64::new(0),
            expands: AtomicU64::new(0),
        }
    }
}

impl ReplyBufferPolicy {
    /// One cron pass over a client's reply buffer gauges.
    fn resize(&self, g: &BufferGauges, now_ms: u64) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let size = g.reply_buf_size.load(Ordering::Relaxed);
        let peak = g.reply_buf_peak.load(Ordering::Relaxed);
        if size / 2 >= REPLY_BUFFER_MIN && peak < size / 2 {
            g.reply_buf_size
                .store(REPLY_BUFFER_MIN.max(peak + 1), Ordering::Relaxed);
            self.shrinks.fetch_add(1, Ordering::Relaxed);
        } else if size * 2 < REPLY_BUFFER_CHUNK * 2 && peak == size {
            g.reply_buf_size
                .store(REPLY_BUFFER_CHUNK.min(size * 2), Ordering::Relaxed);
            self.expands.fetch_add(1, Ordering::Relaxed);
        }
        let reset = self.peak_reset_ms.load(Ordering::Relaxed);
        let last = g.reply_peak_reset_ms.load(Ordering::Relaxed);
        if reset >= 0 && now_ms.saturating_sub(last) >= reset as u64 {
            let in_buffer = g
                .out_pending
                .load(Ordering::Relaxed)
                .min(g.reply_buf_size.load(Ordering::Relaxed));
            g.reply_buf_peak.store(in_buffer, Ordering::Relaxed);
            g.reply_peak_reset_ms.store(now_ms, Ordering::Relaxed);
        }
    }
}

impl ClientRegistry {
    /// Registers a new connection, whose task receives `outbound`, and returns its
    /// shared info.
    pub fn register(
        &self,
        endpoint: &Endpoint,
        tls: bool,
        fd: i32,
        outbound: mpsc::UnboundedSender<Outbound>,
    ) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let info = Arc::new(ClientInfo {
            id,
            addr: endpoint.addr.clone(),
            laddr: endpoint.laddr.clone(),
            created: now,
            last_interaction_ms: AtomicU64::new(crate::keyspace::now_ms()),
            name: Mutex::new(None),
            db: AtomicUsize::new(0),
            last_cmd: Mutex::new("NULL"),
            net_in: AtomicU64::new(0),
            net_out: AtomicU64::new(0),
            queued_bytes: AtomicUsize::new(0),
            subscriptions: AtomicUsize::new(0),
            psubscriptions: AtomicUsize::new(0),
            flags: Mutex::new(if endpoint.unix { "U" } else { "" }.to_string()),
            resp: AtomicUsize::new(2),
            kill: Notify::new(),
            outbound,
            killed: std::sync::atomic::AtomicBool::new(false),
            tls,
            unix: endpoint.unix,
            local: endpoint.local,
            fd,
            buffers: BufferGauges::default(),
        });
        self.clients.lock().expect("lock").insert(id, info.clone());
        info
    }

    pub fn unregister(&self, id: ClientId) {
        if let Some(c) = self.clients.lock().expect("lock").remove(&id) {
            self.closed_net_in
                .fetch_add(c.net_in.load(Ordering::Relaxed), Ordering::Relaxed);
            self.closed_net_out
                .fetch_add(c.net_out.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// Total bytes (read, written) over the server's life, since the last CONFIG RESETSTAT.
    pub fn net_totals(&self) -> (u64, u64) {
        let clients = self.clients.lock().expect("lock");
        let live_in: u64 = clients
            .values()
            .map(|c| c.net_in.load(Ordering::Relaxed))
            .sum();
        let live_out: u64 = clients
            .values()
            .map(|c| c.net_out.load(Ordering::Relaxed))
            .sum();
        (
            self.closed_net_in.load(Ordering::Relaxed) + live_in,
            self.closed_net_out.load(Ordering::Relaxed) + live_out,
        )
    }

    /// Zeroes the network counters (CONFIG RESETSTAT).
    pub fn reset_net_totals(&self) {
        self.closed_net_in.store(0, Ordering::Relaxed);
        self.closed_net_out.store(0, Ordering::Relaxed);
        for c in self.clients.lock().expect("lock").values() {
            c.net_in.store(0, Ordering::Relaxed);
            c.net_out.store(0, Ordering::Relaxed);
        }
    }

    pub fn len(&self) -> usize {
        self.clients.lock().expect("lock").len()
    }

    /// The clients' share of the server cron (Redis's clientsCron): reply buffer resizing.
    pub fn cron(&self) {
        let now = crate::keyspace::now_ms();
        for c in self.clients.lock().expect("lock").values() {
            self.reply_buffers.resize(&c.buffers, now);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every client, ordered by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        let mut v: Vec<_> = self
            .clients
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|c| c.id);
        v
    }
}
