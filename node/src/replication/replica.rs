//! The replica side of a link: connect (TCP or mutual TLS), handshake, PSYNC, load a
//! full sync's RDB as it arrives, then apply the master's stream, ACK every second and
//! answer GETACK, and reconnect after a drop with a partial resync.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use super::state::{LinkState, MasterLink};
use super::{encode_command, ReplId, ReplOffset};
use crate::clients::ClientState;
use crate::engine::EngineState;
use crate::persistence::{ExpiredKeys, Loaded};
use crate::resp::{ReplyWriter, RequestParser};
use crate::server::Server;
use crate::{notice, verbose, warning};

/// A socket to the master, plain or TLS.
trait LinkStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> LinkStream for T {}

type LinkError = String;

/// Makes this node a replica of `host:port` (config `replicaof`, REPLICAOF): the link
/// task starts; a previous one stops. Called with the engine lock held.
pub fn start(server: &Arc<Server>, engine: &mut EngineState, host: String, port: u16) {
    // A replica's OOM score is the replica's (`oom-score-adj-values`); failure is logged.
    let _ = crate::oom_score::apply(&server.config(), true);
    let stop = Arc::new(Notify::new());
    let generation = {
        let mut st = server.repl.state();
        if let Some(old) = st.master.take() {
            old.stop.notify_one();
        }
        st.generation += 1;
        let link = MasterLink {
            host: host.clone(),
            port,
            state: LinkState::Connect,
            last_io: None,
            down_since: None,
            ever_up: false,
            sync_total: -1,
            sync_read: 0,
            stop: stop.clone(),
        };
        server.repl.set_master(&mut st, Some(link));
        // Commands no longer feed the stream: the master's bytes do.
        engine.repl_feed = None;
        engine.set_delete_expired(false);
        st.generation
    };
    notice!("Connecting to MASTER {host}:{port}");
    tokio::spawn(run(server.clone(), generation, stop));
}

/// REPLICAOF NO ONE: stops the link and promotes this node, keeping its data and moving
/// its replication id to replid2 so the other replicas can continue from it. Called with
/// the engine lock held. `why` ends the log line ("user request from ...").
pub fn promote(server: &Server, engine: &mut EngineState, why: &str) {
    let mut st = server.repl.state();
    let Some(old) = st.master.take() else {
        return;
    };
    let _ = crate::oom_score::apply(&server.config(), false);
    server.repl.set_master(&mut st, None);
    old.stop.notify_one();
    st.generation += 1;
    let feed = server.repl.feed.clone();
    let end = feed.update(|log| {
        log.forget_selected_db();
        log.active = true;
        log.end()
    });
    st.shift_replid(end);
    engine.repl_feed = Some(feed);
    engine.set_delete_expired(true);
    // Sub-replicas reconnect and continue with the old id (now replid2).
    st.disconnect_replicas();
    notice!("MASTER MODE enabled ({why})");
}

async fn run(server: Arc<Server>, generation: u64, stop: Arc<Notify>) {
    let mut master_db = 0usize;
    loop {
        let current = server.repl.state().generation == generation;
        // Not stopped by a shutdown request: one whose final save fails is abandoned, and
        // the link must live on; the process exit ends it otherwise.
        if !current {
            return;
        }
        tokio::select! {
            r = link_once(&server, generation, &mut master_db) => {
                if let Err(e) = r {
                    warning!("{e}");
                }
            }
            _ = stop.notified() => return,
        }
        {
            let mut st = server.repl.state();
            if st.generation != generation {
                return;
            }
            if let Some(m) = st.master.as_mut() {
                if m.state == LinkState::Connected {
                    m.down_since = Some(Instant::now());
                }
                m.state = LinkState::Connect;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.notified() => return,
        }
    }
}

fn set_link(server: &Server, generation: u64, f: impl FnOnce(&mut MasterLink)) {
    let mut st = server.repl.state();
    if st.generation == generation {
        if let Some(m) = st.master.as_mut() {
            f(m);
        }
    }
}

/// The link's socket with a read buffer.
struct Link {
    stream: Box<dyn LinkStream>,
    inbuf: BytesMut,
    timeout: Duration,
    /// The master's address and ours, as CLIENT LIST shows the master client.
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
}

impl Link {
    async fn send(&mut self, args: &[&[u8]]) -> Result<(), LinkError> {
        let mut out = BytesMut::new();
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        encode_command(&mut out, &args);
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| format!("Error writing to MASTER: {e}"))?;
        self.stream
            .flush()
            .await
            .map_err(|e| format!("Error writing to MASTER: {e}"))
    }

    async fn fill(&mut self) -> Result<(), LinkError> {
        match tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.inbuf)).await {
            Err(_) => Err("Timeout connecting to the MASTER...".into()),
            Ok(Err(e)) => Err(format!("Error reading from MASTER: {e}")),
            Ok(Ok(0)) => Err("Master closed the connection".into()),
            Ok(Ok(_)) => Ok(()),
        }
    }

    /// One reply line, skipping the empty keepalive lines a master sends while it prepares.
    async fn line(&mut self) -> Result<String, LinkError> {
        loop {
            if let Some(pos) = self.inbuf.iter().position(|&b| b == b'\n') {
                let raw = self.inbuf.split_to(pos + 1);
                let text = String::from_utf8_lossy(&raw).trim_end().to_string();
                if text.is_empty() {
                    continue;
                }
                return Ok(text);
            }
            if self.inbuf.len() > 64 * 1024 {
                return Err("MASTER sent an over-long line".into());
            }
            self.fill().await?;
        }
    }
}

/// The link's socket and its two ends.
struct Connected {
    stream: Box<dyn LinkStream>,
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
}

/// Opens a TCP connection to the master, from `bind-source-addr` when it is set.
async fn connect_tcp(
    host: &str,
    port: u16,
    source: Option<std::net::IpAddr>,
) -> std::io::Result<tokio::net::TcpStream> {
    let mut last = std::io::Error::other(format!("{host} resolves to no address"));
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = match addr {
            std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        if let Some(ip) = source {
            socket.bind(std::net::SocketAddr::new(ip, 0))?;
        }
        match socket.connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn connect(server: &Server, host: &str, port: u16) -> Result<Connected, LinkError> {
    let (timeout, tls, source) = {
        let c = server.config();
        (
            Duration::from_secs(c.get_u64("repl-timeout")),
            c.get_bool("tls-replication"),
            c.get("bind-source-addr").parse::<std::net::IpAddr>().ok(),
        )
    };
    let tcp = tokio::time::timeout(timeout, connect_tcp(host, port, source))
        .await
        .map_err(|_| format!("Timeout connecting to the MASTER {host}:{port}"))?
        .map_err(|e| format!("Error condition on socket for SYNC: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let peer = tcp
        .peer_addr()
        .map_err(|e| format!("Error condition on socket for SYNC: {e}"))?;
    let local = tcp.local_addr().unwrap_or(peer);
    if !tls {
        return Ok(Connected {
            stream: Box::new(tcp),
            peer,
            local,
        });
    }
    let config = crate::tls::replication_client_config(&server.config())
        .map_err(|e| format!("Failed to configure TLS for replication: {e}"))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("Invalid MASTER host name {host}: {e}"))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| format!("Timeout in the TLS handshake with MASTER {host}:{port}"))?
        .map_err(|e| format!("TLS handshake with MASTER {host}:{port} failed: {e}"))?;
    Ok(Connected {
        stream: Box::new(stream),
        peer,
        local,
    })
}

/// One life of the link: connect, handshake, sync, stream until it breaks.
async fn link_once(
    server: &Arc<Server>,
    generation: u64,
    master_db: &mut usize,
) -> Result<(), LinkError> {
    let (host, port) = {
        let st = server.repl.state();
        match &st.master {
            Some(m) => (m.host.clone(), m.port),
            None => return Ok(()),
        }
    };
    set_link(server, generation, |m| m.state = LinkState::Connecting);
    notice!("MASTER <-> REPLICA sync started");
    let connected = connect(server, &host, port).await?;
    notice!("Non blocking connect for SYNC fired the event.");
    let timeout = Duration::from_secs(server.config().get_u64("repl-timeout"));
    let mut link = Link {
        stream: connected.stream,
        inbuf: BytesMut::with_capacity(64 * 1024),
        timeout,
        peer: connected.peer,
        local: connected.local,
    };
    set_link(server, generation, |m| {
        m.state = LinkState::Handshake;
        m.last_io = Some(Instant::now());
    });
    link.send(&[b"PING"]).await?;
    let pong = link.line().await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(format!("Error reply to PING from master: '{pong}'"));
    }
    notice!("Master replied to PING, replication can continue...");
    let (auth, user, listening_port, announce_ip) = {
        let c = server.config();
        let port = match c.get_u64("replica-announce-port") {
            0 if c.get_bool("tls-replication") && c.get_int("tls-port") != 0 => {
                c.get_u64("tls-port")
            }
            0 => server.port.load(std::sync::atomic::Ordering::Relaxed) as u64,
            p => p,
        };
        (
            c.get("masterauth").to_string(),
            c.get("masteruser").to_string(),
            port.to_string(),
            c.get("replica-announce-ip").to_string(),
        )
    };
    if !auth.is_empty() {
        if user.is_empty() {
            link.send(&[b"AUTH", auth.as_bytes()]).await?;
        } else {
            link.send(&[b"AUTH", user.as_bytes(), auth.as_bytes()])
                .await?;
        }
        let r = link.line().await?;
        if r.starts_with('-') {
            return Err(format!("Unable to AUTH to MASTER: {r}"));
        }
    }
    link.send(&[b"REPLCONF", b"listening-port", listening_port.as_bytes()])
        .await?;
    let r = link.line().await?;
    if r.starts_with('-') {
        notice!("(Non critical) Master does not understand REPLCONF listening-port: {r}");
    }
    if !announce_ip.is_empty() {
        link.send(&[b"REPLCONF", b"ip-address", announce_ip.as_bytes()])
            .await?;
        let r = link.line().await?;
        if r.starts_with('-') {
            notice!("(Non critical) Master does not understand REPLCONF ip-address: {r}");
        }
    }
    link.send(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        .await?;
    let r = link.line().await?;
    if r.starts_with('-') {
        notice!("(Non critical) Master does not understand REPLCONF capa: {r}");
    }
    let (cached_id, cached_next) = {
        let st = server.repl.state();
        let log = server.repl.feed.log();
        if log.active {
            (st.replid.to_string(), (log.end().0 + 1).to_string())
        } else {
            ("?".to_string(), "-1".to_string())
        }
    };
    if cached_id != "?" {
        notice!("Trying a partial resynchronization (request {cached_id}:{cached_next}).");
    }
    let handing_over = super::failover::handing_over(server);
    let mut psync: Vec<&[u8]> = vec![b"PSYNC", cached_id.as_bytes(), cached_next.as_bytes()];
    if handing_over {
        // This node was the master: the target takes over if it still follows our id.
        psync.push(b"FAILOVER");
    }
    link.send(&psync).await?;
    let reply = link.line().await?;
    if handing_over {
        if reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE") {
            super::failover::completed(server);
        } else {
            let mut engine = server.engine.lock().unwrap_or_else(|e| e.into_inner());
            super::failover::abort(
                server,
                &mut engine,
                "Failover target rejected psync request",
            );
            return Err(format!("Failover target refused PSYNC FAILOVER: {reply}"));
        }
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
        let mut parts = rest.split_whitespace();
        let id = parts.next().and_then(ReplId::parse);
        let offset = parts.next().and_then(|o| o.parse::<u64>().ok());
        let (Some(id), Some(offset)) = (id, offset) else {
            return Err(format!(
                "Master replied with wrong +FULLRESYNC syntax: {reply}"
            ));
        };
        notice!("Full resync from master: {id}:{offset}");
        *master_db = 0;
        full_sync(server, generation, &mut link, id, ReplOffset(offset)).await?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let end = server.repl.feed.end();
        let mut st = server.repl.state();
        if let Some(id) = rest.split_whitespace().next().and_then(ReplId::parse) {
            if id != st.replid {
                notice!("Master replication ID changed to {id}");
                st.adopt_replid(id, end);
                st.disconnect_replicas();
            }
        }
        drop(st);
        notice!("Successful partial resynchronization with master.");
        notice!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    } else if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
        return Err(format!(
            "Master is currently unable to PSYNC but should be in the future: {reply}"
        ));
    } else {
        return Err(format!("Unexpected reply to PSYNC from master: {reply}"));
    }
    set_link(server, generation, |m| {
        m.state = LinkState::Connected;
        m.ever_up = true;
        m.down_since = None;
        m.last_io = Some(Instant::now());
    });
    stream_from_master(server, generation, &mut link, master_db).await
}

/// A `Read` over chunks sent from the async side: the decoder thread reads the RDB
/// through it while the socket is still receiving.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    cur: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(c) => self.cur = c,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

async fn full_sync(
    server: &Arc<Server>,
    generation: u64,
    link: &mut Link,
    id: ReplId,
    offset: ReplOffset,
) -> Result<(), LinkError> {
    set_link(server, generation, |m| {
        m.state = LinkState::Sync;
        m.sync_total = -1;
        m.sync_read = 0;
    });
    let header = link.line().await?;
    if header.starts_with('-') {
        return Err(format!(
            "MASTER aborted replication with an error: {header}"
        ));
    }
    let Some(spec) = header.strip_prefix('$') else {
        return Err(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?"
        ));
    };
    let mark = spec.strip_prefix("EOF:").map(|m| m.as_bytes().to_vec());
    let total = match &mark {
        Some(m) if m.len() == 40 => None,
        Some(_) => return Err(format!("Bad EOF mark from MASTER: {header}")),
        None => Some(
            spec.parse::<u64>()
                .map_err(|_| format!("Bad RDB length from MASTER: {header}"))?,
        ),
    };
    // Redis's wording; tandem decodes as the bytes arrive ("to parser"), never via a file.
    match total {
        Some(t) => notice!("MASTER <-> REPLICA sync: receiving {t} bytes from master to parser"),
        None => notice!(
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser"
        ),
    }
    set_link(server, generation, |m| {
        m.sync_total = total.map_or(0, |t| t as i64)
    });
    let (databases, clock) = {
        let engine = server.engine.lock().unwrap_or_else(|e| e.into_inner());
        (engine.dbs.len(), engine.load_settings())
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let start = Instant::now();
    let decoder = std::thread::spawn(crate::memory::counted(move || {
        crate::persistence::rdb_file::load(
            std::io::BufReader::with_capacity(
                256 * 1024,
                ChunkReader {
                    rx,
                    cur: Bytes::new(),
                },
            ),
            databases,
            ExpiredKeys::Keep,
            clock,
            |n| notice!("Loading RDB from MASTER: {n} keys loaded"),
        )
    }));
    let mut received = 0u64;
    let mut tail: Vec<u8> = Vec::with_capacity(80);
    loop {
        if link.inbuf.is_empty() {
            link.fill()
                .await
                .map_err(|e| format!("I/O error trying to sync with MASTER: {e}"))?;
        }
        let take = match total {
            Some(t) => ((t - received) as usize).min(link.inbuf.len()),
            None => link.inbuf.len(),
        };
        let chunk = link.inbuf.split_to(take).freeze();
        received += chunk.len() as u64;
        let done = match (&mark, total) {
            (_, Some(t)) => received == t,
            (Some(m), None) => {
                tail.extend_from_slice(&chunk[chunk.len().saturating_sub(40)..]);
                if tail.len() > 40 {
                    tail.drain(..tail.len() - 40);
                }
                tail == *m
            }
            (None, None) => unreachable!("length or mark"),
        };
        set_link(server, generation, |m| {
            m.sync_read = received;
            m.last_io = Some(Instant::now());
        });
        // The decoder stops at the RDB's end and drops its side: the EOF mark may then
        // find the channel closed, which is fine.
        let _ = tx.send(chunk).await;
        if done {
            break;
        }
    }
    drop(tx);
    let loaded: Loaded = tokio::task::spawn_blocking(move || decoder.join())
        .await
        .map_err(|e| format!("RDB loader task failed: {e}"))?
        .map_err(|_| "RDB loader panicked".to_string())?
        .map_err(|e| {
            format!("Failed trying to load the MASTER synchronization DB from socket: {e}")
        })?;
    notice!(
        "MASTER <-> REPLICA sync: Loading DB in memory: {} keys, {} bytes in {} ms",
        loaded.keys,
        received,
        start.elapsed().as_millis()
    );
    install_dataset(server, generation, loaded, id, offset)?;
    notice!("MASTER <-> REPLICA sync: Finished with success");
    Ok(())
}

/// Replaces the dataset with a full sync's, adopting the master's history.
fn install_dataset(
    server: &Arc<Server>,
    generation: u64,
    loaded: Loaded,
    id: ReplId,
    offset: ReplOffset,
) -> Result<(), LinkError> {
    let mut engine = server.engine.lock().unwrap_or_else(|e| e.into_inner());
    let mut st = server.repl.state();
    if st.generation != generation {
        return Err("replication target changed during the sync".into());
    }
    let now = crate::keyspace::now_ms();
    for db in 0..engine.dbs.len() {
        engine.touch_flushed(db, now);
    }
    let old = engine.install_dbs(loaded.dbs);
    engine.set_delete_expired(false);
    engine.dirty += 1;
    st.replid = id;
    st.replid2 = ReplId::zero();
    st.second_offset = None;
    server.repl.feed.update(|log| log.reset(offset));
    // Our replicas' history changed: they resynchronise.
    st.disconnect_replicas();
    drop(st);
    if server.aof().is_some_and(|aof| aof.enabled()) {
        let snapshot = server.aof_snapshot(&engine);
        if let Err(e) = server.aof_arc().start_rewrite(snapshot) {
            warning!("Can't rewrite the append only file after the sync: {e}");
        }
    }
    drop(engine);
    // Freeing a large old dataset takes a while: not under the lock.
    std::thread::spawn(crate::memory::counted(move || drop(old)));
    Ok(())
}

async fn send_ack(link: &mut Link, offset: ReplOffset) -> Result<(), LinkError> {
    let off = offset.0.to_string();
    link.send(&[b"REPLCONF", b"ACK", off.as_bytes()]).await
}

/// Applies the master's stream until the link breaks.
async fn stream_from_master(
    server: &Arc<Server>,
    generation: u64,
    link: &mut Link,
    master_db: &mut usize,
) -> Result<(), LinkError> {
    // The master appears in CLIENT LIST, and CLIENT KILL of its address breaks the link.
    let mut client = ClientState::master_link(
        &server.clients,
        &crate::clients::Endpoint::tcp(link.peer, link.local),
    );
    *client.info.flags.lock().expect("lock") = "M".into();
    client.set_db(*master_db);
    let result = apply_loop(server, generation, link, &mut client).await;
    *master_db = client.db;
    server.clients.unregister(client.id);
    result
}

async fn apply_loop(
    server: &Arc<Server>,
    generation: u64,
    link: &mut Link,
    client: &mut ClientState,
) -> Result<(), LinkError> {
    let mut parser = RequestParser::new(server.limits().parse);
    let mut out = ReplyWriter::new(false);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_io = Instant::now();
    send_ack(link, server.repl.feed.end()).await?;
    loop {
        let acks = apply_buffered(server, link, client, &mut parser, &mut out)?;
        for off in acks {
            send_ack(link, off).await?;
        }
        tokio::select! {
            r = link.stream.read_buf(&mut link.inbuf) => {
                match r {
                    Ok(0) => return Err("Connection with master lost.".into()),
                    Err(e) => return Err(format!("Connection with master lost: {e}")),
                    Ok(_) => {
                        last_io = Instant::now();
                        set_link(server, generation, |m| m.last_io = Some(last_io));
                    }
                }
            }
            _ = tick.tick() => {
                if last_io.elapsed() > link.timeout {
                    return Err("MASTER timeout: no data nor PING received...".into());
                }
                send_ack(link, server.repl.feed.end()).await?;
            }
            _ = client.info.kill.notified() => return Err("Master client killed".into()),
        }
    }
}

/// Runs every complete command in the buffer under one engine lock, advancing the offset
/// by the bytes each consumed and forwarding them to this node's own replicas. Returns
/// the offsets to ACK for `REPLCONF GETACK` (which excludes the GETACK itself).
fn apply_buffered(
    server: &Arc<Server>,
    link: &mut Link,
    client: &mut ClientState,
    parser: &mut RequestParser,
    out: &mut ReplyWriter,
) -> Result<Vec<ReplOffset>, LinkError> {
    let mut acks = Vec::new();
    if link.inbuf.is_empty() {
        return Ok(acks);
    }
    let mut engine = server.engine.lock().unwrap_or_else(|e| e.into_inner());
    let now = crate::keyspace::now_ms();
    let feed = server.repl.feed.clone();
    let mut forwarded = BytesMut::new();
    loop {
        let before = link.inbuf.len();
        let args = match parser.parse(&mut link.inbuf) {
            Ok(Some(args)) => args,
            Ok(None) => break,
            Err(e) => return Err(format!("Protocol error from MASTER: {e}")),
        };
        let consumed = before - link.inbuf.len();
        if args.is_empty() {
            continue;
        }
        let start = forwarded.len();
        encode_command(&mut forwarded, &args);
        if forwarded.len() - start != consumed {
            verbose!("MASTER sent a command in a non-canonical encoding; forwarding it re-encoded");
        }
        if args.len() >= 2
            && args[0].eq_ignore_ascii_case(b"REPLCONF")
            && args[1].eq_ignore_ascii_case(b"GETACK")
        {
            acks.push(ReplOffset(feed.end().0 + start as u64));
        } else {
            crate::cmd::execute_detached(server, &mut engine, client, out, &args, now);
            out.clear();
        }
    }
    if !forwarded.is_empty() {
        feed.update(|log| log.feed_bytes(&forwarded));
    }
    drop(engine);
    Ok(acks)
}
