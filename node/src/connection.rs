//! One client connection: read requests, execute them through the engine, write replies.
//!
//! As redis-server does, the task keeps reading and executing while its replies wait to
//! be written: a client that pipelines many requests before reading any reply is never
//! deadlocked against its own output. The output limits of the client's class end a
//! client whose unwritten output grows past them. The task also delivers pub/sub and
//! MONITOR messages, waits for blocked commands, finishes slow password checks, and
//! gives back idle buffers.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::clients::{ClientState, ReplyMode};
use crate::cmd::{self, BlockRequest, Ctx};
use crate::config::OutputBufferLimit;
use crate::keyspace::now_ms;
use crate::pubsub::Outbound;
use crate::resp::{ReplyWriter, RequestParser};
use crate::server::{ClientLimits, Server};
use crate::verbose;

const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Redis's read size (PROTO_IOBUF_LEN): the room made in the query buffer for a read.
const READ_CHUNK: usize = 16 * 1024;
/// A query buffer larger than this is shrunk when its recent peak used less than half of
/// it (PROTO_RESIZE_THRESHOLD).
const QUERY_RESIZE_THRESHOLD: usize = 32 * 1024;
/// Output allowed to pile up beyond the reply buffer for a client that has not
/// authenticated.
const UNAUTHENTICATED_OUTPUT: usize = 1024;
/// How often a client's query buffer is looked at for resizing.
const QUERY_RESIZE_INTERVAL: Duration = Duration::from_millis(200);
/// An idle client's buffers are given back after this long (Redis's clientsCron: 2 s).
const IDLE_BUFFER_RELEASE: Duration = Duration::from_secs(2);

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

/// What woke the connection up.
enum Event {
    /// Bytes were read into the query buffer.
    Read,
    /// The peer closed its side.
    Eof,
    /// Some output was written.
    Wrote,
    Message(Outbound),
    /// A key the blocked command waits for was written.
    Woken,
    /// A deadline passed: the block timeout, the idle timeout, the soft output limit or the
    /// idle buffer release.
    Timer,
    /// CLIENT KILL, or an output limit judged by another task.
    Killed,
}

/// A request parsed and not yet executed, with its size on the wire.
struct Request {
    args: Vec<Bytes>,
    wire_len: usize,
}

/// Serves one accepted connection until it closes. `fd` is the socket's descriptor (CLIENT
/// LIST shows it); `tls` carries the client certificate's user for a TLS connection.
pub async fn serve<S>(
    server: Arc<Server>,
    mut stream: S,
    endpoint: crate::clients::Endpoint,
    fd: i32,
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
    if protected && !auth_required && !endpoint.local {
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
        .register(&endpoint, tls.is_some(), fd, tx.clone());
    // tls-auth-clients-user: a verified certificate whose CN is `default` authenticates as
    // the default user (the only user tandem has).
    let cn_user = tls.flatten();
    let authenticated_by_cert = cn_user.as_deref() == Some("default");
    if let Some(user) = cn_user.as_deref().filter(|u| *u != "default") {
        verbose!(
            "TLS client {} presented CN {user:?}, which names no user here; AUTH is still required",
            endpoint.addr
        );
    }
    let client = ClientState::new(info.clone(), !auth_required || authenticated_by_cert, tx);
    let mut conn = Connection {
        server: server.clone(),
        client,
        inbuf: BytesMut::with_capacity(READ_CHUNK),
        inbuf_released: false,
        query_peak: 0,
        last_query_resize: Instant::now(),
        last_activity: Instant::now(),
        out: ReplyWriter::new(false),
        unflushed: false,
        pending: VecDeque::new(),
        rx,
        limits: (server.limits_version(), server.limits()),
        parser: RequestParser::new(server.limits().parse),
        parse_more: false,
        wait: None,
        retry: Retry::Fresh,
        timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
    };
    conn.publish_input_gauges();
    if let Err(e) = conn.run(&mut stream).await {
        verbose!("Client id={} addr={} closed: {e}", info.id, endpoint.addr);
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

/// Counts a client in INFO's `blocked_clients` (and `clients_in_timeout_table` when its
/// wait has a timeout) for as long as it lives.
struct BlockedGauge {
    server: Arc<Server>,
    timed: bool,
}

impl BlockedGauge {
    fn enter(server: Arc<Server>, timed: bool) -> Self {
        server.stats.blocked_clients.fetch_add(1, Ordering::Relaxed);
        if timed {
            server
                .stats
                .clients_in_timeout_table
                .fetch_add(1, Ordering::Relaxed);
        }
        BlockedGauge { server, timed }
    }
}

impl Drop for BlockedGauge {
    fn drop(&mut self) {
        let stats = &self.server.stats;
        stats.blocked_clients.fetch_sub(1, Ordering::Relaxed);
        if self.timed {
            stats
                .clients_in_timeout_table
                .fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The front request's wait for a key (BLPOP & co.) or replica acknowledgements (WAIT).
/// It lives from the first block until the command completes: a command woken for
/// nothing (another client took the element, the key changed type) blocks again until
/// its first deadline, as Redis keeps it, not for a whole new timeout.
struct Wait {
    /// What it waits on; None while the command runs again after a wake-up or timeout.
    req: Option<BlockRequest>,
    deadline: Option<Instant>,
    _gauge: BlockedGauge,
}

/// How the front request is run next: afresh, or again after its wait ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    Fresh,
    Woken,
    TimedOut,
}

struct Connection {
    server: Arc<Server>,
    client: ClientState,
    /// The query buffer: bytes read and not yet parsed.
    inbuf: BytesMut,
    /// The query buffer was given back while the client was idle: no room is made for a
    /// read until bytes arrive.
    inbuf_released: bool,
    /// The most of the query buffer used since it was last resized.
    query_peak: usize,
    /// When the query buffer was last looked at for resizing.
    last_query_resize: Instant,
    /// The last read or write, for the idle timeout and giving idle buffers back.
    last_activity: Instant,
    /// Replies not yet written; the front may have been written in part.
    out: ReplyWriter,
    /// Bytes were written that a TLS stream may still hold: flush before going idle.
    unflushed: bool,
    /// Parsed requests not yet executed (behind a blocked one, or a slow AUTH).
    pending: VecDeque<Request>,
    rx: mpsc::UnboundedReceiver<Outbound>,
    /// Cached [`Server::limits`] with the version they were read at.
    limits: (u64, ClientLimits),
    parser: RequestParser,
    /// Requests were left in `inbuf` to be parsed after the one before them ran.
    parse_more: bool,
    /// The wait of the command at the front of `pending`.
    wait: Option<Wait>,
    retry: Retry,
    /// The one timer of the connection, set to its nearest deadline before each wait.
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Connection {
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<()> {
        loop {
            if let Err(e) = self.parse_input() {
                self.out.error(&format!("ERR {e}"));
                self.write_all(stream).await?;
                verbose!(
                    "Protocol error ({e}) from client: id={} addr={}. Closing.",
                    self.client.id,
                    self.client.info.addr
                );
                return Ok(());
            }
            if !self.waiting() && !self.pending.is_empty() {
                let outcome = self.execute_pending();
                // Acknowledged writes are in the AOF before the replies go out.
                self.server.flush_aof();
                self.publish_output_gauges();
                if self.output_over_limit() {
                    return Ok(());
                }
                match outcome {
                    Outcome::Done => {}
                    Outcome::Close => {
                        self.write_all(stream).await?;
                        return Ok(());
                    }
                    Outcome::AwaitShutdown(mut abandoned) => {
                        self.write_all(stream).await?;
                        if abandoned.changed().await.is_ok() {
                            self.out.error("ERR Errors trying to SHUTDOWN. Check logs.");
                        }
                        continue;
                    }
                    Outcome::VerifyPassword(pw) => {
                        self.write_all(stream).await?;
                        self.finish_auth(pw).await;
                        continue;
                    }
                    Outcome::Blocked(req) => self.block(req),
                }
            }
            if std::mem::take(&mut self.parse_more) {
                continue;
            }
            match self.next_event(stream).await? {
                Event::Read => {
                    self.server.busy_poll.note_activity();
                    self.check_query_buffer()?;
                }
                Event::Eof => return Ok(()),
                Event::Wrote => self.publish_output_gauges(),
                Event::Message(msg) => {
                    let mut open = self.deliver(msg);
                    while open && self.out.len() <= 64 * 1024 {
                        match self.rx.try_recv() {
                            Ok(more) => open = self.deliver(more),
                            Err(_) => break,
                        }
                    }
                    if !open {
                        return Ok(());
                    }
                    self.publish_output_gauges();
                    if self.output_over_limit() {
                        return Ok(());
                    }
                }
                Event::Woken => self.unblock(Retry::Woken),
                Event::Timer => {
                    if !self.on_deadline() {
                        return Ok(());
                    }
                }
                Event::Killed => return Ok(()),
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
        self.query_peak = self.query_peak.max(self.inbuf.len());
        loop {
            let before = self.inbuf.len();
            let Some(args) = self.parser.parse(&mut self.inbuf)? else {
                break;
            };
            let wire_len = before - self.inbuf.len();
            if !args.is_empty() {
                self.pending.push_back(Request { args, wire_len });
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
    fn execute_pending(&mut self) -> Outcome {
        let server = self.server.clone();
        let mut state = server.engine.lock().unwrap_or_else(|e| e.into_inner());
        // One clock reading per batch: a batch runs in microseconds, and Redis too fixes
        // the time for the duration of a command.
        let now = now_ms();
        let mut clock = quanta::Instant::now();
        // As in Redis, the query buffer still holds the batch while it runs.
        let gauges = &self.client.info.buffers;
        let batch_bytes: usize =
            self.pending.iter().map(|r| r.wire_len).sum::<usize>() + self.inbuf.len();
        gauges.qbuf.store(batch_bytes, Ordering::Relaxed);
        let outcome = loop {
            let Some(request) = self.pending.pop_front() else {
                break Outcome::Done;
            };
            let args = request.args;
            let gauges = &self.client.info.buffers;
            gauges
                .argv_mem
                .store(args.iter().map(|a| a.len()).sum(), Ordering::Relaxed);
            let mark = self.out.len();
            self.out.take_pushed();
            let retry = std::mem::replace(&mut self.retry, Retry::Fresh);
            let mut ctx = Ctx {
                server: &server,
                state: &mut state,
                client: &mut self.client,
                out: &mut self.out,
                now,
                clock,
                block: None,
                timed_out: retry == Retry::TimedOut,
                retrying: false,
                propagate_as: None,
                modified: 0,
                in_exec: false,
            };
            cmd::dispatch(&mut ctx, &args);
            clock = ctx.clock;
            let block = ctx.block.take();
            if let Some(req) = block {
                self.pending.push_front(Request {
                    args,
                    wire_len: request.wire_len,
                });
                break Outcome::Blocked(req);
            }
            self.wait = None;
            // Pub/sub confirmations and messages are pushes, which Redis sends whatever
            // CLIENT REPLY says.
            let pushed = self.out.take_pushed();
            match self.client.reply_mode {
                ReplyMode::On => {}
                ReplyMode::Off if pushed => {}
                ReplyMode::Off => self.out.truncate(mark),
                ReplyMode::Skip => {
                    if !pushed {
                        self.out.truncate(mark);
                    }
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
            // A client past its hard output limit stops here; it is closed after the batch.
            if self.out.len() > 64 * 1024 && self.output_over_limit_quiet() {
                break Outcome::Done;
            }
        };
        drop(state);
        self.client
            .info
            .last_interaction_ms
            .store(now, Ordering::Relaxed);
        self.client.publish_last_cmd();
        self.publish_input_gauges();
        outcome
    }

    /// Publishes the query buffer's and the transaction's sizes (CLIENT LIST).
    fn publish_input_gauges(&self) {
        let g = &self.client.info.buffers;
        g.qbuf.store(self.inbuf.len(), Ordering::Relaxed);
        g.qbuf_free
            .store(self.inbuf.capacity() - self.inbuf.len(), Ordering::Relaxed);
        g.argv_mem.store(0, Ordering::Relaxed);
        let count = self.client.multi.as_ref().map_or(-1, |q| q.len() as i64);
        g.multi.store(count, Ordering::Relaxed);
        g.multi_mem
            .store(self.client.multi_bytes, Ordering::Relaxed);
    }

    /// Publishes the output waiting to be written, and the reply buffer's peak use.
    fn publish_output_gauges(&self) {
        let g = &self.client.info.buffers;
        let pending = self.out.len();
        g.out_pending.store(pending, Ordering::Relaxed);
        let in_buffer = pending.min(g.reply_buf_size.load(Ordering::Relaxed));
        g.reply_buf_peak.fetch_max(in_buffer, Ordering::Relaxed);
    }

    /// Whether the front request waits (and nothing runs until it is woken or times out).
    fn waiting(&self) -> bool {
        self.wait.as_ref().is_some_and(|w| w.req.is_some())
    }

    /// Shows whether the client waits in CLIENT LIST (flag `b`).
    fn show_blocked(&mut self) {
        let blocked = self.waiting();
        if self.client.blocked != blocked {
            self.client.blocked = blocked;
            self.client.update_flags();
        }
    }

    /// Starts waiting for the front request's keys (or acknowledgements); a command that
    /// blocks again keeps its first deadline.
    fn block(&mut self, req: BlockRequest) {
        match &mut self.wait {
            Some(wait) => wait.req = Some(req),
            None => {
                let deadline = req.timeout.map(|t| Instant::now() + t);
                self.wait = Some(Wait {
                    req: Some(req),
                    deadline,
                    _gauge: BlockedGauge::enter(self.server.clone(), deadline.is_some()),
                });
            }
        }
        self.show_blocked();
    }

    /// Ends the front request's wait: it runs again, as woken or timed out.
    fn unblock(&mut self, how: Retry) {
        let Some(req) = self.wait.as_mut().and_then(|w| w.req.take()) else {
            return;
        };
        let mut state = self.server.engine.lock().unwrap_or_else(|e| e.into_inner());
        state.unblock(self.client.db, &req.keys, &req.waker);
        drop(state);
        self.retry = how;
        self.show_blocked();
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
                self.pending.push_front(Request { args, wire_len: 0 })
            }
            None => self.out.ok(),
        }
    }

    /// The output limit of the client's class (pub/sub for a subscriber).
    fn output_limit(&mut self) -> OutputBufferLimit {
        if self.client.in_pubsub() {
            self.server.pubsub_output_limit()
        } else {
            self.limits().normal_output
        }
    }

    /// Whether the client's output is over its class's limits (see
    /// [`crate::clients::ClientInfo::output_over_limit`]), logging it when it is.
    fn output_over_limit(&mut self) -> bool {
        let over = self.output_over_limit_quiet();
        if over {
            crate::warning!(
                "Client id={} addr={} closed for overcoming of output buffer limits ({} bytes).",
                self.client.id,
                self.client.info.addr,
                self.client.info.output_memory()
            );
        }
        over
    }

    fn output_over_limit_quiet(&mut self) -> bool {
        // As Redis since its fix for CVE-2025-21605: a client that has not authenticated
        // gets no more than its reply buffer and 1 KB of output.
        if !self.client.authenticated
            && self.out.len() > crate::clients::REPLY_BUFFER_CHUNK + UNAUTHENTICATED_OUTPUT
        {
            return true;
        }
        let limit = self.output_limit();
        if limit.hard == 0 && limit.soft == 0 {
            return false;
        }
        self.client
            .info
            .buffers
            .out_pending
            .store(self.out.len(), Ordering::Relaxed);
        self.client.info.output_over_limit(&limit, now_ms())
    }

    fn check_query_buffer(&mut self) -> std::io::Result<()> {
        let limit = self.limits().query_buffer;
        self.publish_input_gauges();
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

    /// The nearest of the connection's deadlines: the blocked command's timeout, the idle
    /// timeout, the soft output limit, and giving back the buffers of an idle client.
    fn next_deadline(&mut self) -> Option<Instant> {
        let mut nearest: Option<Instant> = None;
        let mut consider = |d: Instant| nearest = Some(nearest.map_or(d, |n| n.min(d)));
        let waiting = self.waiting();
        if let Some(d) = self
            .wait
            .as_ref()
            .and_then(|w| w.deadline)
            .filter(|_| waiting)
        {
            consider(d);
        }
        let idle_limit = self.limits().idle_timeout;
        if idle_limit > 0 && !waiting && !self.client.in_pubsub() {
            consider(self.last_activity + Duration::from_secs(idle_limit));
        }
        let soft_since = self
            .client
            .info
            .buffers
            .soft_limit_since
            .load(Ordering::Relaxed);
        if soft_since != 0 {
            let limit = self.output_limit();
            let over_at = soft_since + (limit.soft_secs + 1) * 1000;
            let wait = over_at.saturating_sub(now_ms());
            consider(Instant::now() + Duration::from_millis(wait));
        }
        if !self.inbuf_released && self.inbuf.is_empty() {
            consider(self.last_activity + IDLE_BUFFER_RELEASE);
        }
        nearest
    }

    /// A deadline passed: returns false when the connection must close.
    fn on_deadline(&mut self) -> bool {
        let now = Instant::now();
        let waiting = self.waiting();
        if let Some(deadline) = self
            .wait
            .as_ref()
            .and_then(|w| w.deadline)
            .filter(|_| waiting)
        {
            if deadline <= now {
                self.unblock(Retry::TimedOut);
                return true;
            }
        }
        let idle_limit = self.limits().idle_timeout;
        if idle_limit > 0
            && !waiting
            && !self.client.in_pubsub()
            && now >= self.last_activity + Duration::from_secs(idle_limit)
        {
            verbose!("Closing idle client id={}", self.client.id);
            return false;
        }
        if self.output_over_limit() {
            return false;
        }
        if self.inbuf.is_empty() && now >= self.last_activity + IDLE_BUFFER_RELEASE {
            // As Redis's clientsCron: an idle client's query buffer is freed.
            self.inbuf = BytesMut::new();
            self.inbuf_released = true;
            self.query_peak = 0;
            self.publish_input_gauges();
        }
        true
    }

    /// Gives back most of a large query buffer whose recent peak used less than half of it.
    /// Looked at every [`QUERY_RESIZE_INTERVAL`], as Redis's cron visits each client, and
    /// only between requests: a request arriving in pieces keeps the room made for it.
    fn resize_query_buffer(&mut self) {
        let now = Instant::now();
        if !self.inbuf.is_empty() || now < self.last_query_resize + QUERY_RESIZE_INTERVAL {
            return;
        }
        self.last_query_resize = now;
        let capacity = self.inbuf.capacity();
        if capacity > QUERY_RESIZE_THRESHOLD && self.query_peak < capacity / 2 {
            self.inbuf = BytesMut::with_capacity(self.query_peak.max(READ_CHUNK));
        }
        self.query_peak = 0;
    }

    /// Makes room in the query buffer for a read, or for the whole argument the parser is
    /// waiting for, so a large value is not grown 16 KB at a time. A buffer given back
    /// while idle stays empty until bytes arrive (see `next_event`).
    fn reserve_for_read(&mut self) {
        if self.inbuf_released {
            return;
        }
        let needed = self
            .parser
            .bytes_needed()
            .map_or(0, |n| n.saturating_sub(self.inbuf.len()));
        if self.inbuf.capacity() - self.inbuf.len() < needed.max(READ_CHUNK) {
            self.inbuf.reserve(needed.max(READ_CHUNK));
        }
    }

    /// Waits for the next thing to do: output written, input read, a message, a wake-up,
    /// a deadline or a kill. Output is written while input is read, so neither side of a
    /// pipelining client waits on the other.
    async fn next_event<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<Event> {
        self.resize_query_buffer();
        self.reserve_for_read();
        self.publish_input_gauges();
        let deadline = self.next_deadline();
        if let Some(d) = deadline {
            self.timer.as_mut().reset(d);
        }
        let info = self.client.info.clone();
        let mut kill = pin!(info.kill.notified());
        let waker = self
            .wait
            .as_ref()
            .and_then(|w| w.req.as_ref())
            .map(|r| r.waker.clone());
        let mut woken = pin!(async {
            match &waker {
                Some(w) => w.notified().await,
                None => std::future::pending().await,
            }
        });
        let event = poll_fn(|cx| {
            if !self.out.is_empty() {
                match Pin::new(&mut *stream).poll_write(cx, self.out.buffer()) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()))
                    }
                    Poll::Ready(Ok(n)) => {
                        self.out.consume(n);
                        self.client
                            .info
                            .net_out
                            .fetch_add(n as u64, Ordering::Relaxed);
                        self.unflushed = true;
                        return Poll::Ready(Ok(Event::Wrote));
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            } else if self.unflushed {
                match Pin::new(&mut *stream).poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.unflushed = false,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
            if kill.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(Event::Killed));
            }
            if woken.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(Event::Woken));
            }
            if let Poll::Ready(Some(msg)) = self.rx.poll_recv(cx) {
                return Poll::Ready(Ok(Event::Message(msg)));
            }
            match self.poll_read(stream, cx) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(Event::Eof)),
                Poll::Ready(Ok(_)) => return Poll::Ready(Ok(Event::Read)),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            if deadline.is_some() && self.timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(Event::Timer));
            }
            Poll::Pending
        })
        .await?;
        if matches!(event, Event::Read | Event::Wrote) {
            self.last_activity = Instant::now();
        }
        Ok(event)
    }

    /// Reads into the query buffer. A buffer given back while the client was idle is
    /// allocated again only once bytes are there to read.
    fn poll_read<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<usize>> {
        let n = if self.inbuf_released {
            let mut first = [0u8; 1024];
            let mut buf = tokio::io::ReadBuf::new(&mut first);
            match Pin::new(&mut *stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            let n = buf.filled().len();
            if n > 0 {
                self.inbuf.reserve(READ_CHUNK);
                self.inbuf.extend_from_slice(buf.filled());
                self.inbuf_released = false;
            }
            n
        } else {
            match tokio_util::io::poll_read_buf(Pin::new(&mut *stream), cx, &mut self.inbuf) {
                Poll::Ready(Ok(n)) => n,
                other => return other,
            }
        };
        self.client
            .info
            .net_in
            .fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(n))
    }

    /// Writes all pending output (before closing, or before waiting on something else).
    async fn write_all<S: AsyncWrite + Unpin>(&mut self, stream: &mut S) -> std::io::Result<()> {
        self.count_stray_errors();
        if self.out.is_empty() {
            return Ok(());
        }
        let n = self.out.len();
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
        self.client
            .info
            .net_out
            .fetch_add(n as u64, Ordering::Relaxed);
        self.out.clear();
        self.publish_output_gauges();
        Ok(())
    }

    /// Counts errors written outside a command (protocol errors, a slow AUTH's verdict).
    fn count_stray_errors(&mut self) {
        if self.out.has_errors() {
            let mut state = self.server.engine.lock().unwrap_or_else(|e| e.into_inner());
            state.command_stats.count_errors(&mut self.out, true);
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
            Outbound::Unblock { error } => self.unblock_by_request(error),
        }
        true
    }

    /// CLIENT UNBLOCK of this client: a waiting command runs again as timed out, or ends
    /// with Redis's UNBLOCKED error.
    fn unblock_by_request(&mut self, error: bool) {
        if !self.waiting() {
            return;
        }
        if !error {
            self.unblock(Retry::TimedOut);
            return;
        }
        self.unblock(Retry::Fresh);
        self.wait = None;
        self.show_blocked();
        self.pending.pop_front();
        self.client.resumed_call = false;
        self.out
            .error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        // The blocked call (counted when it blocked) failed: errorstats and failed_calls.
        let mut state = self.server.engine.lock().unwrap_or_else(|e| e.into_inner());
        state.command_stats.count_errors(&mut self.out, true);
        if let Some((_, slot)) = self.client.stats_slot {
            state.command_stats.record_failed(slot);
        }
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
        if let Some(req) = self.wait.take().and_then(|w| w.req) {
            let mut state = self.server.engine.lock().unwrap_or_else(|e| e.into_inner());
            state.unblock(self.client.db, &req.keys, &req.waker);
        }
    }
}
