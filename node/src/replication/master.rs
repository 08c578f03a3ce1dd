//! The master side of a link: the PSYNC decision (taken under the engine lock, so the
//! snapshot and the stream offset agree), the RDB transfer (disk or diskless), and the
//! stream from the backlog, with the replica's ACKs read on the same socket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::diskless;
use super::state::{ReplicaInfo, ReplicaState};
use super::{ReplId, ReplOffset};
use crate::clients::ClientInfo;
use crate::engine::EngineState;
use crate::persistence::Snapshot;
use crate::server::Server;
use crate::{notice, warning};

/// What a replica told us in REPLCONF before PSYNC.
#[derive(Debug, Clone, Default)]
pub struct ReplicaConf {
    pub listening_port: u16,
    pub ip_address: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
}

/// How a replica's stream starts.
#[derive(Debug)]
pub enum SyncStart {
    /// Write this snapshot to `dbfilename`, send the file, then the stream from
    /// `offset + 1`.
    Full {
        snapshot: Box<Snapshot>,
        offset: ReplOffset,
    },
    /// Relay the pieces of a shared diskless transfer (a snapshot at `offset`), then the
    /// stream from `offset + 1`.
    Diskless {
        pieces: diskless::Pieces,
        offset: ReplOffset,
    },
    /// Send the stream from `from` (already in the backlog).
    Partial { from: ReplOffset },
}

/// A connection that became a replica link (after PSYNC or SYNC).
#[derive(Debug)]
pub struct Handoff {
    pub start: SyncStart,
    pub conf: ReplicaConf,
    /// Old-protocol SYNC: no ACKs expected.
    pub pre_psync: bool,
}

/// Decides between a partial and a full resync for `PSYNC <id> <offset>` and registers
/// the replica. Returns the reply line and the handoff; runs under the engine lock.
pub fn psync(
    server: &Server,
    engine: &mut EngineState,
    client: &Arc<ClientInfo>,
    conf: ReplicaConf,
    requested: Option<(&str, i64)>,
) -> Result<(String, Handoff), String> {
    let repl = &server.repl;
    let mut st = repl.state();
    if let Some(m) = &st.master {
        if m.state != super::LinkState::Connected {
            return Err("NOMASTERLINK Can't SYNC while not connected with my master".into());
        }
    }
    let feed = repl.feed.clone();
    let mut log = feed.log();
    if !log.active {
        if st.master.is_none() {
            // A first backlog starts a new history, as Redis does.
            st.replid = ReplId::random();
            st.replid2 = ReplId::zero();
            st.second_offset = None;
            engine.repl_feed = Some(feed.clone());
        }
        log.active = true;
    }
    let peer_ip = client
        .addr
        .rsplit_once(':')
        .map(|(ip, _)| ip.trim_matches(['[', ']']).to_string())
        .unwrap_or_default();
    let ip = conf.ip_address.clone().unwrap_or(peer_ip);
    let label = format!("{ip}:{}", conf.listening_port);
    let partial = requested.and_then(|(id, off)| {
        if id == "?" || off < 0 {
            return None;
        }
        let off = off as u64;
        let same = id == st.replid.as_str()
            || (id == st.replid2.as_str() && st.second_offset.is_some_and(|s| off <= s));
        if !same {
            notice!(
                "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{id}', my replication IDs are '{}' and '{}')",
                st.replid,
                st.replid2
            );
            return None;
        }
        if !log.can_continue_from(ReplOffset(off)) {
            notice!(
                "Unable to partial resync with replica {label} for lack of backlog (Replica request was: {off})."
            );
            return None;
        }
        Some(ReplOffset(off))
    });
    let now = Instant::now();
    let (line, start, state) = match partial {
        Some(from) => {
            st.sync_partial_ok += 1;
            log.pin(client.id, from);
            notice!(
                "Partial resynchronization request from {label} accepted. Sending {} bytes of backlog starting from offset {from}.",
                log.end().0 + 1 - from.0
            );
            let line = if conf.capa_psync2 {
                format!("+CONTINUE {}\r\n", st.replid)
            } else {
                "+CONTINUE\r\n".to_string()
            };
            (line, SyncStart::Partial { from }, ReplicaState::Online)
        }
        None => {
            if requested.is_some_and(|(id, _)| id != "?") {
                st.sync_partial_err += 1;
            }
            st.sync_full += 1;
            notice!("Replica {label} asks for synchronization");
            notice!("Full resync requested by replica {label}");
            log.forget_selected_db();
            let (diskless, delay, max_replicas, key_delay) = {
                let c = server.config();
                (
                    c.get_bool("repl-diskless-sync") && conf.capa_eof,
                    Duration::from_secs(c.get_u64("repl-diskless-sync-delay")),
                    c.get_u64("repl-diskless-sync-max-replicas") as usize,
                    c.get_int("rdb-key-save-delay"),
                )
            };
            // A diskless transfer still waiting for replicas is joined: same snapshot,
            // same offset, if the backlog still holds the stream after it.
            let joined = st
                .diskless_pending
                .as_ref()
                .filter(|t| diskless && log.can_continue_from(ReplOffset(t.offset.0 + 1)))
                .and_then(|t| Some((t.offset, t.join(client.id, max_replicas)?)));
            let start = match joined {
                Some((offset, pieces)) => SyncStart::Diskless { pieces, offset },
                None => {
                    let offset = log.end();
                    let snapshot = Snapshot::take(engine, Some((st.replid.clone(), offset)))
                        .with_key_save_delay(key_delay);
                    crate::persistence::count_background_job();
                    if diskless {
                        let me = server.self_arc().ok_or("ERR server is shutting down")?;
                        let (transfer, pieces) = diskless::Transfer::open(
                            me,
                            snapshot,
                            offset,
                            client.id,
                            delay,
                            max_replicas,
                        );
                        st.diskless_pending = Some(transfer);
                        SyncStart::Diskless { pieces, offset }
                    } else {
                        SyncStart::Full {
                            snapshot: Box::new(snapshot),
                            offset,
                        }
                    }
                }
            };
            let offset = match &start {
                SyncStart::Full { offset, .. } | SyncStart::Diskless { offset, .. } => *offset,
                SyncStart::Partial { from } => *from,
            };
            log.pin(client.id, ReplOffset(offset.0 + 1));
            let line = format!("+FULLRESYNC {} {}\r\n", st.replid, offset);
            (line, start, ReplicaState::WaitBgsave)
        }
    };
    st.replicas.insert(
        client.id,
        ReplicaInfo {
            ip,
            port: conf.listening_port,
            state,
            ack_offset: 0,
            ack_time: now,
            client: client.clone(),
        },
    );
    *client.flags.lock().expect("lock") = "S".into();
    Ok((
        line,
        Handoff {
            start,
            conf,
            pre_psync: requested.is_none(),
        },
    ))
}

fn set_state(server: &Server, id: u64, state: ReplicaState) {
    if let Some(r) = server.repl.state().replicas.get_mut(&id) {
        r.state = state;
        r.ack_time = Instant::now();
    }
}

/// Serves a replica until its link ends.
pub async fn serve_replica<S>(
    server: Arc<Server>,
    stream: S,
    handoff: Handoff,
    leftover: BytesMut,
    info: Arc<ClientInfo>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let label = {
        let st = server.repl.state();
        st.replicas
            .get(&info.id)
            .map(|r| format!("{}:{}", r.ip, r.port))
            .unwrap_or_else(|| info.addr.clone())
    };
    let mut inbuf = leftover;
    let result = async {
        let (next, wait_first_ack) = match handoff.start {
            SyncStart::Full { snapshot, offset } => {
                send_rdb_file(&server, &mut wr, *snapshot, info.id, &label).await?;
                (ReplOffset(offset.0 + 1), false)
            }
            SyncStart::Diskless { pieces, offset } => {
                send_diskless(&server, &mut wr, pieces, info.id, &label).await?;
                // The replica is online once it ACKs after loading.
                (ReplOffset(offset.0 + 1), true)
            }
            SyncStart::Partial { from } => (from, false),
        };
        if !wait_first_ack {
            set_state(&server, info.id, ReplicaState::Online);
            notice!("Synchronization with replica {label} succeeded");
        }
        stream_to_replica(
            &server,
            &mut rd,
            &mut wr,
            &mut inbuf,
            &info,
            next,
            wait_first_ack,
            handoff.pre_psync,
            &label,
        )
        .await
    }
    .await;
    if let Err(e) = result {
        notice!("Connection with replica {label} lost ({e}).");
    }
    server.repl.state().replicas.remove(&info.id);
    server.repl.feed.update(|log| log.unpin(info.id));
}

/// Relays a shared diskless transfer to one replica: newline keepalives until it starts
/// (as Redis sends while the replica waits for the BGSAVE), then `$EOF:<mark>`, the
/// pieces, and the mark.
async fn send_diskless<W: AsyncWrite + Unpin>(
    server: &Arc<Server>,
    wr: &mut W,
    mut pieces: diskless::Pieces,
    id: u64,
    label: &str,
) -> std::io::Result<()> {
    let mut first = loop {
        tokio::select! {
            piece = pieces.recv() => break piece,
            _ = tokio::time::sleep(Duration::from_secs(1)) => wr.write_all(b"\n").await?,
        }
    };
    set_state(server, id, ReplicaState::SendBulk);
    let start = Instant::now();
    let mark = crate::server::random_hex40();
    wr.write_all(format!("$EOF:{mark}\r\n").as_bytes()).await?;
    let mut sent = 0u64;
    loop {
        let piece = match first.take() {
            Some(piece) => Some(piece),
            None => pieces.recv().await,
        };
        match piece {
            Some(diskless::Piece::Data(data)) => {
                wr.write_all(&data).await?;
                sent += data.len() as u64;
            }
            Some(diskless::Piece::Done(Ok(()))) => break,
            Some(diskless::Piece::Done(Err(e))) => return Err(std::io::Error::other(e)),
            None => return Err(std::io::Error::other("the RDB transfer ended early")),
        }
    }
    wr.write_all(mark.as_bytes()).await?;
    wr.flush().await?;
    notice!(
        "Diskless transfer to replica {label}: {sent} bytes in {} ms",
        start.elapsed().as_millis()
    );
    Ok(())
}

/// Sends the RDB the disk way: written to `dbfilename`, then sent as `$<len>`.
async fn send_rdb_file<W: AsyncWrite + Unpin>(
    server: &Arc<Server>,
    wr: &mut W,
    snapshot: Snapshot,
    id: u64,
    label: &str,
) -> std::io::Result<()> {
    let start = Instant::now();
    let keys = snapshot.keys();
    set_state(server, id, ReplicaState::SendBulk);
    notice!("Starting BGSAVE for SYNC with target: disk ({keys} keys)");
    let path = crate::persistence::rdb_path(&server.config());
    let status = server.save_status.clone();
    let save_path = path.clone();
    let saved = tokio::task::spawn_blocking(move || {
        crate::persistence::save_now(&status, snapshot, &save_path)
    })
    .await
    .unwrap_or(false);
    if !saved {
        return Err(std::io::Error::other("BGSAVE for replication failed"));
    }
    let mut file = tokio::fs::File::open(&path).await?;
    let len = file.metadata().await?.len();
    wr.write_all(format!("${len}\r\n").as_bytes()).await?;
    tokio::io::copy(&mut file, wr).await?;
    wr.flush().await?;
    notice!(
        "Synchronization with replica {label}: sent {len} bytes of RDB in {} ms",
        start.elapsed().as_millis()
    );
    Ok(())
}

/// Applies what the replica sent: `REPLCONF ACK <offset>` (and empty keepalive lines).
/// Returns whether an ACK was seen.
fn read_acks(
    server: &Server,
    id: u64,
    parser: &mut crate::resp::RequestParser,
    inbuf: &mut BytesMut,
) -> std::io::Result<bool> {
    let mut acked = false;
    while let Some(args) = parser
        .parse(inbuf)
        .map_err(|e| std::io::Error::other(format!("protocol error from replica: {e}")))?
    {
        if args.len() >= 3
            && args[0].eq_ignore_ascii_case(b"REPLCONF")
            && args[1].eq_ignore_ascii_case(b"ACK")
        {
            if let Some(off) = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                server.repl.ack(id, off);
                acked = true;
            }
        } else if args.is_empty() {
            // A newline keepalive refreshes the ACK time.
            server.repl.ack(id, 0);
        }
    }
    if inbuf.len() > 64 * 1024 {
        return Err(std::io::Error::other(
            "replica sent too much unparsed input",
        ));
    }
    Ok(acked)
}

#[allow(clippy::too_many_arguments)]
async fn stream_to_replica<R, W>(
    server: &Arc<Server>,
    rd: &mut R,
    wr: &mut W,
    inbuf: &mut BytesMut,
    info: &Arc<ClientInfo>,
    mut next: ReplOffset,
    mut wait_first_ack: bool,
    pre_psync: bool,
    label: &str,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let feed = server.repl.feed.clone();
    let mut changed = feed.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_ack = Instant::now();
    let mut parser = crate::resp::RequestParser::new(crate::resp::ParseLimits::default());
    loop {
        changed.borrow_and_update();
        // After an EOF-framed transfer nothing is sent before the replica's first ACK.
        let mut drain = !wait_first_ack;
        while drain {
            let chunk = feed.update(|log| {
                let c = log.read_from(next, 256 * 1024);
                if let Some(c) = &c {
                    log.pin(info.id, ReplOffset(next.0 + c.len() as u64));
                }
                c
            });
            match chunk {
                None => {
                    warning!(
                        "Client id={} addr={} (replica) scheduled to be closed ASAP for overcoming of output buffer limits.",
                        info.id, info.addr
                    );
                    return Err(std::io::Error::other("replica fell out of the backlog"));
                }
                Some(c) if c.is_empty() => drain = false,
                Some(c) => {
                    wr.write_all(&c).await?;
                    next.0 += c.len() as u64;
                    info.net_out
                        .fetch_add(c.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        wr.flush().await?;
        tokio::select! {
            r = changed.changed() => {
                if r.is_err() {
                    return Ok(());
                }
            }
            r = rd.read_buf(inbuf) => {
                if r? == 0 {
                    return Err(std::io::Error::other("connection closed by replica"));
                }
                if read_acks(server, info.id, &mut parser, inbuf)? {
                    last_ack = Instant::now();
                    if wait_first_ack {
                        wait_first_ack = false;
                        set_state(server, info.id, ReplicaState::Online);
                        notice!("Synchronization with replica {} succeeded", label);
                    }
                }
            }
            _ = tick.tick() => {
                let timeout = server.config().get_u64("repl-timeout");
                if !pre_psync && last_ack.elapsed().as_secs() > timeout {
                    warning!("Disconnecting timedout replica (streaming sync): {}", info.addr);
                    return Err(std::io::Error::other("timeout"));
                }
            }
            _ = info.kill.notified() => return Err(std::io::Error::other("killed")),
        }
    }
}

/// `repl-backlog-ttl`: a master that has had no replica for that many seconds frees its
/// backlog and starts a new history (a new replication id), as Redis does; 0 keeps it.
/// Called every second.
pub fn expire_idle_backlog(server: &Server, ttl_secs: u64) {
    {
        let mut st = server.repl.state();
        if st.master.is_some() || !st.replicas.is_empty() {
            st.no_replicas_since = None;
            return;
        }
        let since = *st.no_replicas_since.get_or_insert_with(Instant::now);
        if ttl_secs == 0 || since.elapsed().as_secs() < ttl_secs || !server.repl.feed.log().active {
            return;
        }
    }
    let mut engine = server.engine.lock().unwrap_or_else(|e| e.into_inner());
    let mut st = server.repl.state();
    if st.master.is_some() || !st.replicas.is_empty() {
        return;
    }
    server.repl.feed.update(|log| {
        let end = log.end();
        log.reset(end);
        log.active = false;
    });
    engine.repl_feed = None;
    st.replid = ReplId::random();
    st.replid2 = ReplId::zero();
    st.second_offset = None;
    notice!("Replication backlog freed after {ttl_secs} seconds without connected replicas.");
}
