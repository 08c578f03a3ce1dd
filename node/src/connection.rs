//! One client connection: read requests, execute them through the engine, write replies.
//!
//! The task reads whatever is available, parses every complete request, executes the
//! batch under one engine lock, and writes all replies at once. It also delivers pub/sub
//! and MONITOR messages, waits for blocked commands, and finishes slow password checks.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::clients::{ClientState, ReplyMode};
use crate::cmd::{self, BlockRequest, Ctx};
use crate::keyspace::now_ms;
use crate::pubsub::Outbound;
use crate::resp::{ReplyWriter, RequestParser};
use crate::server::{ClientLimits, Server};
use crate::verbose;

const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Why the execution of a batch stopped early.
enum Outcome {
    /// Every pending request ran.
    Done,
    /// The front request is blocked (BLPOP & co.).
    Blocked(BlockRequest),
    /// AUTH/HELLO needs the slow password check.
    VerifyPassword(Bytes),
    /// QUIT, or CLIENT KILL of itself.
    Close,
    /// SHUTDOWN: the reply waits for the outcome.
    AwaitShutdown(tokio::sync::watch::Receiver<u64>),
}

/// Serves one accepted connection until it closes.
pub async fn serve<S>(
    server: Arc<Server>,
    mut stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    tls: Option<Option<String>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (maxclients, protected) = {
        let c = server.config();
        (c.get_u64("maxclients"), c.get_bool("protected-mode"))
    };
    if server.clients.len() as u64 >= maxclients {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }
    let auth_required = server.auth().required();
    if protected && !auth_required && !peer.ip().is_loopback() {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(PROTECTED_MODE_DENIED).await;
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let info = server
        .clients
        .register(peer, local, tls.is_some(), tx.clone());
    // tls-auth-clients-user: a verified certificate whose CN is `default` authenticates as
    // the default user (the only user tandem has).
    let cn_user = tls.flatten();
    let authenticated_by_cert = cn_user.as_deref() == Some("default");
    if let Some(user) = cn_user.as_deref().filter(|u| *u != "default") {
        verbose!("TLS client {peer} presented CN {user:?}, which names no user here; AUTH is still required");
    }
    let client = ClientState::new(info.clone(), !auth_required || authenticated_by_cert, tx);
    let mut conn = Connection {
        server: server.clone(),
        client,
        inbuf: BytesMut::with_capacity(16 * 1024),
        out: ReplyWriter::new(false),
        pending: VecDeque::new(),
        rx,
        limits: (server.limits_version(), server.limits()),
        parser: RequestParser::new(server.limits().parse),
        parse_more: false,
        blocked_since: None,
    };
    if let Err(e) = conn.run(&mut stream).await {
        verbose!("Client id={} addr={} closed: {e}", info.id, peer);
    }
    conn.cleanup();
    if let Some(handoff) = conn.client.handoff.take() {
        let leftover = std::mem::take(&mut conn.inbuf);
        drop(conn);
        crate::replication::master::serve_replica(
            server.clone(),
            stream,
            handoff,
            leftover,
            info.clone(),
        )
        .await;
    }
    server.clients.unregister(info.id);
}

/// Reads into `buf`, first making room for a full-sized read (frames split off the
/// front of the buffer take its capacity with them), or for the whole argument the parser
/// is waiting for, so a large value is not grown 16 KB at a time.
async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    needed: Option<usize>,
) -> std::io::Result<usize> {
    let want = needed.map_or(0, |n| n.saturating_sub(buf.len()));
    if buf.capacity() - buf.len() < want.max(4096) {
        buf.reserve(want.max(16 * 1024));
    }
    stream.read_buf(buf).await
}

/// Counts a client in INFO's `blocked_clients` (and `clients_in_timeout_table` when its
/// wait has a timeout) for as long as it lives.
struct BlockedGauge<'a> {
    stats: &'a crate::server::ServerStats,
    timed: bool,
}

impl<'a> BlockedGauge<'a> {
    fn enter(stats: &'a crate::server::ServerStats, timed: bool) -> Self {
        stats.blocked_clients.fetch_add(1, Ordering::Relaxed);
        if timed {
            stats
                .clients_in_timeout_table
                .fetch_add(1, Ordering::Relaxed);
        }
        BlockedGauge { stats, timed }
    }
}

impl Drop for BlockedGauge<'_> {
    fn drop(&mut self) {
        self.stats.blocked_clients.fetch_sub(1, Ordering::Relaxed);
        if self.timed {
            self.stats
                .clients_in_timeout_table
                .fetch_sub(1, Ordering::Relaxed);
        }
    }
}

struct Connection {
    server: Arc<Server>,
    client: ClientState,
    inbuf: BytesMut,
    out: ReplyWriter,
    /// Parsed requests not yet executed (behind a blocked one, or a slow AUTH).
    pending: VecDeque<Vec<Bytes>>,
    rx: mpsc::UnboundedReceiver<Outbound>,
    /// Cached [`Server::limits`] with the version they were read at.
    limits: (u64, ClientLimits),
    parser: RequestParser,
    /// Requests were left in `inbuf` to be parsed after the one before them ran.
    parse_more: bool,
    /// When the blocked command first blocked: a command woken for nothing (another client
    /// took the element, the key changed type) blocks again until its first deadline, as
    /// Redis keeps it, not for a whole new timeout.
    blocked_since: Option<tokio::time::Instant>,
}

impl Connection {
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<()> {
        let mut timed_out = false;
        loop {
            if let Err(e) = self.parse_input() {
                self.out.error(&format!("ERR {e}"));
                self.flush(stream).await?;
                verbose!(
                    "Protocol error ({e}) from client: id={} addr={}. Closing.",
                    self.client.id,
                    self.client.info.addr
                );
                return Ok(());
            }
            if !self.pending.is_empty() {
                let outcome = self.execute_pending(timed_out);
                timed_out = false;
                // Acknowledged writes are in the AOF before the replies go out.
                self.server.flush_aof();
                if self.output_over_limit() {
                    return Ok(());
                }
                self.flush(stream).await?;
                match outcome {
                    Outcome::Done => {}
                    Outcome::Close => return Ok(()),
                    Outcome::AwaitShutdown(mut abandoned) => {
                        if abandoned.changed().await.is_ok() {
                            self.out.error("ERR Errors trying to SHUTDOWN. Check logs.");
                            self.flush(stream).await?;
                        }
                        continue;
                    }
                    Outcome::VerifyPassword(pw) => {
                        self.finish_auth(pw).await;
                        self.flush(stream).await?;
                        continue;
                    }
                    Outcome::Blocked(req) => match self.wait_blocked(stream, req).await? {
                        Some(t) => {
                            timed_out = t;
                            continue;
                        }
                        None => return Ok(()),
                    },
                }
            }
            if std::mem::take(&mut self.parse_more) {
                continue;
            }
            if !self.wait_for_input(stream).await? {
                return Ok(());
            }
        }
    }

    /// The server's per-client limits, re-read only when CONFIG SET changed them (the
    /// shared lock's counter would otherwise bounce between cores on every batch).
    fn limits(&mut self) -> ClientLimits {
        let version = self.server.limits_version();
        if version != self.limits.0 {
            self.limits = (version, self.server.limits());
        }
        self.limits.1
    }

    /// Moves every complete request from the input buffer to `pending`.
    fn parse_input(&mut self) -> Result<(), crate::resp::ProtocolError> {
        let mut limits = self.limits().parse;
        limits.authenticated = self.client.authenticated;
        self.parser.set_limits(limits);
        while let Some(args) = self.parser.parse(&mut self.inbuf)? {
            if !args.is_empty() {
                self.pending.push_back(args);
            }
            // Until the client has authenticated, the next request is parsed only after
            // this one ran: it may be the AUTH that lifts the unauthenticated limits (Redis
            // too parses and runs one request at a time).
            if !self.client.authenticated && !self.pending.is_empty() {
                self.parse_more = !self.inbuf.is_empty();
                break;
            }
        }
        Ok(())
    }

    /// Runs pending requests under one engine lock.
    fn execute_pending(&mut self, timed_out_first: bool) -> Outcome {
        let server = self.server.clone();
        let mut state = server.engine.lock().unwrap_or_else(|e| e.into_inner());
        let mut first = true;
        // One clock reading per batch: a batch runs in microseconds, and Redis too fixes
        // the time for the duration of a command.
        let now = now_ms();
        let mut clock = quanta::Instant::now();
        let outcome = loop {
            let Some(args) = self.pending.pop_front() else {
                break Outcome::Done;
            };
            let mark = self.out.len();
            let mut ctx = Ctx {
                server: &server,
                state: &mut state,
                client: &mut self.client,
                out: &mut self.out,
                now,
                clock,
                block: None,
                timed_out: first && timed_out_first,
                retrying: false,
                propagate_as: None,
                modified: 0,
                in_exec: false,
            };
            cmd::dispatch(&mut ctx, &args);
            clock = ctx.clock;
            let block = ctx.block.take();
            first = false;
            if let Some(req) = block {
                self.pending.push_front(args);
                break Outcome::Blocked(req);
            }
            self.blocked_since = None;
            match self.client.reply_mode {
                ReplyMode::On => {}
                ReplyMode::Off => self.out.truncate(mark),
                ReplyMode::Skip => {
                    self.out.truncate(mark);
                    self.client.reply_mode = ReplyMode::On;
                }
                ReplyMode::SkipNext => self.client.reply_mode = ReplyMode::Skip,
            }
            if let Some(pw) = self.client.pending_auth.take() {
                break Outcome::VerifyPassword(pw);
            }
            if self.client.close_after_reply || self.client.handoff.is_some() {
                break Outcome::Close;
            }
            if let Some(wait) = self.client.shutdown_wait.take() {
                break Outcome::AwaitShutdown(wait);
            }
        };
        drop(state);
        self.client
            .info
            .last_interaction_ms
            .store(now, Ordering::Relaxed);
        self.client.publish_last_cmd();
        outcome
    }

    /// Completes AUTH or HELLO ... AUTH against a hashed password.
    async fn finish_auth(&mut self, password: Bytes) {
        let ok = self.server.auth().verify_slow(password.to_vec()).await;
        let hello = self.client.pending_hello.take();
        if !ok {
            self.out.error(crate::cmd::WRONGPASS);
            // The AUTH or HELLO was counted as a call when it ran; it failed after all.
            if let Some((_, slot)) = self.client.stats_slot {
                let mut state = self.server.engine.lock().unwrap_or_else(|e| e.into_inner());
                state.command_stats.record_failed(slot);
            }
            return;
        }
        self.client.authenticated = true;
        match hello {
            Some(args) => {
                // Finishing the HELLO already counted (and shown to MONITOR).
                self.client.resumed_call = true;
                self.pending.push_front(args)
            }
            None => self.out.ok(),
        }
    }

    /// Waits until a blocked command may be retried. Returns `Some(timed_out)`, or None
    /// when the client went away.
    async fn wait_blocked<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        req: BlockRequest,
    ) -> std::io::Result<Option<bool>> {
        let since = *self
            .blocked_since
            .get_or_insert_with(tokio::time::Instant::now);
        let deadline = req.timeout.map(|t| since + t);
        let server = self.server.clone();
        let _counted = BlockedGauge::enter(&server.stats, deadline.is_some());
        let result = loop {
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = req.waker.notified() => break Some(false),
                _ = sleep => break Some(true),
                _ = self.client.info.kill.notified() => break None,
                r = read_more(stream, &mut self.inbuf, self.parser.bytes_needed()) => {
                    // Input while blocked waits its turn; EOF ends the client.
                    if r? == 0 {
                        break None;
                    }
                    self.check_query_buffer()?;
                }
            }
        };
        let db = self.client.db;
        let mut state = self.server.engine.lock().unwrap_or_else(|e| e.into_inner());
        state.unblock(db, &req.keys, &req.waker);
        Ok(result)
    }

    /// Whether the replies waiting to be written exceed the normal clients' output buffer
    /// limit (the hard limit, or a soft limit with no grace period); such a client is
    /// closed, as Redis does, rather than buffered without bound.
    fn output_over_limit(&mut self) -> bool {
        let limit = self.limits().normal_output;
        let len = self.out.len() as u64;
        let over = (limit.hard > 0 && len > limit.hard)
            || (limit.soft > 0 && limit.soft_secs == 0 && len > limit.soft);
        if over {
            crate::warning!(
                "Client id={} addr={} closed for overcoming of output buffer limits ({} bytes).",
                self.client.id,
                self.client.info.addr,
                len
            );
        }
        over
    }

    fn check_query_buffer(&mut self) -> std::io::Result<()> {
        let limit = self.limits().query_buffer;
        if self.inbuf.len() as u64 > limit {
            crate::warning!(
                "Closing client that reached max query buffer length: id={} addr={} (qbuf={})",
                self.client.id,
                self.client.info.addr,
                self.inbuf.len()
            );
            return Err(std::io::Error::other("query buffer limit reached"));
        }
        Ok(())
    }

    /// Waits for request bytes, messages to deliver, a kill, or the idle timeout. Returns
    /// false when the connection should close.
    async fn wait_for_input<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<bool> {
        let idle_limit = self.limits().idle_timeout;
        let idle = async {
            if idle_limit == 0 || self.client.in_pubsub() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_secs(idle_limit)).await;
        };
        // Not biased: a client that always has more input waiting must still hear its
        // kill, and a subscriber flooded with messages must still have its commands read.
        tokio::select! {
            Some(msg) = self.rx.recv() => {
                let mut open = self.deliver(msg);
                while open && self.out.len() <= 64 * 1024 {
                    match self.rx.try_recv() {
                        Ok(more) => open = self.deliver(more),
                        Err(_) => break,
                    }
                }
                self.flush(stream).await?;
                // Redis counts a write to the client as an interaction too.
                self.client.info.last_interaction_ms.store(now_ms(), Ordering::Relaxed);
                Ok(open)
            }
            r = read_more(stream, &mut self.inbuf, self.parser.bytes_needed()) => {
                let n = r?;
                if n == 0 {
                    return Ok(false);
                }
                self.client.info.net_in.fetch_add(n as u64, Ordering::Relaxed);
                self.server.busy_poll.note_activity();
                self.check_query_buffer()?;
                Ok(true)
            }
            _ = idle => {
                verbose!("Closing idle client id={}", self.client.id);
                Ok(false)
            }
        }
    }

    /// Adds a message from another task to the replies; false for a kill.
    fn deliver(&mut self, msg: Outbound) -> bool {
        match msg {
            Outbound::PubSub(m) => {
                self.client
                    .info
                    .queued_bytes
                    .fetch_sub(m.size(), Ordering::Relaxed);
                match &m.pattern {
                    Some(p) => {
                        self.out.push(4);
                        self.out.bulk(b"pmessage");
                        self.out.bulk(p);
                    }
                    None => {
                        self.out.push(3);
                        self.out.bulk(b"message");
                    }
                }
                self.out.bulk(&m.channel);
                self.out.bulk(&m.payload);
            }
            Outbound::Monitor(line) => self.out.raw(&line),
            Outbound::Kill => return false,
        }
        true
    }

    async fn flush<S: AsyncWrite + Unpin>(&mut self, stream: &mut S) -> std::io::Result<()> {
        if self.out.has_errors() {
            // Errors written outside a command (protocol errors, a slow AUTH's verdict).
            let mut state = self.server.engine.lock().unwrap_or_else(|e| e.into_inner());
            state.command_stats.count_errors(&mut self.out, true);
        }
        if self.out.is_empty() {
            return Ok(());
        }
        self.client
            .info
            .net_out
            .fetch_add(self.out.len() as u64, Ordering::Relaxed);
        // A client that does not read would keep us in write_all forever; a kill (CLIENT
        // KILL, an output buffer limit) must still end the connection.
        let out = &self.out;
        let write = async {
            stream.write_all(out.buffer()).await?;
            stream.flush().await
        };
        tokio::select! {
            biased;
            r = write => r?,
            _ = self.client.info.kill.notified() => {
                return Err(std::io::Error::other("client killed while writing"));
            }
        }
        // Clearing (not taking) keeps the buffer's capacity for the next batch.
        self.out.clear();
        Ok(())
    }

    /// Releases what the client held in shared state.
    fn cleanup(&mut self) {
        for ch in self.client.channels.drain() {
            self.server.pubsub.unsubscribe(&ch, self.client.id, false);
        }
        for p in self.client.patterns.drain() {
            self.server.pubsub.unsubscribe(&p, self.client.id, true);
        }
        if self.client.monitor {
            self.server.remove_monitor(self.client.id);
        }
        if !self.client.watched.is_empty() {
            let mut state = self.server.engine.lock().unwrap_or_else(|e| e.into_inner());
            state.unwatch_all(self.client.id, &self.client.watched);
        }
    }
}
