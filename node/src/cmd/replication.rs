//! Replication commands: REPLCONF, PSYNC, SYNC (a replica's side of the handshake, served
//! here), REPLICAOF/SLAVEOF, ROLE, WAIT and FAILOVER.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

use super::args::{self, is};
use super::flags::*;
use super::{spec, BlockRequest, CmdError, CmdResult, CommandSpec, Ctx};
use crate::replication::LinkState;
use crate::replication::{failover, master};

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        (0, 0, 0),
        "server",
        replconf,
    ),
    spec(
        "psync",
        -3,
        ADMIN | NOSCRIPT | NO_MULTI | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        psync,
    ),
    spec(
        "sync",
        1,
        ADMIN | NOSCRIPT | NO_MULTI | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        sync,
    ),
    spec(
        "replicaof",
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        replicaof,
    ),
    spec(
        "slaveof",
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        replicaof,
    ),
    spec(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        (0, 0, 0),
        "server",
        role,
    ),
    spec("wait", 3, NOSCRIPT, (0, 0, 0), "generic", wait),
    spec(
        "failover",
        -1,
        ADMIN | NOSCRIPT | STALE,
        (0, 0, 0),
        "server",
        failover,
    ),
];

fn replconf(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut conf = ctx.client.replica_conf.clone();
    for pair in a[1..].chunks(2) {
        let (opt, val) = (&pair[0], &pair[1]);
        if is(opt, "listening-port") {
            conf.listening_port = u16::try_from(args::int(val)?)
                .map_err(|_| CmdError::msg("ERR value is out of range"))?;
        } else if is(opt, "ip-address") {
            if val.len() >= 46 {
                return Err(CmdError::msg("ERR REPLCONF ip-address provided by replica instance is too long: 46 bytes or more"));
            }
            conf.ip_address = Some(String::from_utf8_lossy(val).into_owned());
        } else if is(opt, "capa") {
            if is(val, "eof") {
                conf.capa_eof = true;
            } else if is(val, "psync2") {
                conf.capa_psync2 = true;
            }
        } else if is(opt, "ack") || is(opt, "getack") {
            // Only meaningful on a replica link, which reads them itself; no reply.
            return Ok(());
        } else if is(opt, "rdb-only") || is(opt, "rdb-filter-only") {
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    ctx.client.replica_conf = conf;
    ctx.out.ok();
    Ok(())
}

fn start_sync(ctx: &mut Ctx, requested: Option<(&str, i64)>) -> CmdResult {
    if ctx.client.is_master {
        return Err(CmdError::msg(
            "ERR Replica can't interact with the keyspace",
        ));
    }
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg(
            "ERR Command not allowed inside a transaction",
        ));
    }
    if ctx.server.repl.failover_active() {
        return Err(CmdError::msg("NOMASTERLINK Can't SYNC while failing over"));
    }
    let (line, handoff) = master::psync(
        ctx.server,
        ctx.state,
        &ctx.client.info,
        ctx.client.replica_conf.clone(),
        requested,
    )
    .map_err(CmdError::msg)?;
    if requested.is_some() {
        ctx.out.raw(line.as_bytes());
    }
    ctx.client.handoff = Some(handoff);
    Ok(())
}

fn psync(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let id = String::from_utf8_lossy(&a[1]).into_owned();
    let offset = args::int(&a[2])?;
    if a.len() > 3 && is(&a[3], "failover") && !ctx.client.is_master {
        // Our master hands its role over (its FAILOVER): take it, then serve its PSYNC.
        let requester = format!("id={} addr={}", ctx.client.id, ctx.client.info.addr);
        failover::take_over(ctx.server, ctx.state, &id, &requester).map_err(CmdError::msg)?;
    }
    start_sync(ctx, Some((&id, offset)))
}

/// FAILOVER [TO host port [FORCE]] [TIMEOUT ms] | FAILOVER ABORT.
fn failover(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() == 2 && is(&a[1], "abort") {
        if ctx.server.repl.state().failover.is_none() {
            return Err(CmdError::msg("ERR No failover in progress."));
        }
        failover::abort(ctx.server, ctx.state, "Failover manually aborted");
        ctx.out.ok();
        return Ok(());
    }
    let mut req = failover::Request::default();
    let mut i = 1;
    while i < a.len() {
        if is(&a[i], "timeout") && i + 1 < a.len() && req.timeout.is_none() {
            let ms = args::int(&a[i + 1])?;
            if ms <= 0 {
                return Err(CmdError::msg("ERR FAILOVER timeout must be greater than 0"));
            }
            req.timeout = Some(Duration::from_millis(ms as u64));
            i += 2;
        } else if is(&a[i], "to") && i + 2 < a.len() && req.target.is_none() {
            let port = args::int(&a[i + 2])?;
            let host = String::from_utf8_lossy(&a[i + 1]).into_owned();
            // A port no replica can have simply matches none.
            req.target = Some((host, u16::try_from(port).unwrap_or(0)));
            i += 3;
        } else if is(&a[i], "force") && !req.force {
            req.force = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    failover::begin(ctx.server, req).map_err(CmdError::msg)?;
    ctx.out.ok();
    Ok(())
}

fn sync(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    start_sync(ctx, None)
}

/// The server as an `Arc`, for commands that start tasks (REPLICAOF).
fn server_arc(ctx: &Ctx) -> Option<Arc<crate::server::Server>> {
    ctx.server.self_arc()
}

fn replicaof(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let server = server_arc(ctx).ok_or_else(|| CmdError::msg("ERR server is shutting down"))?;
    if ctx.server.repl.failover_active() {
        return Err(CmdError::msg(
            "ERR REPLICAOF not allowed while failing over.",
        ));
    }
    if is(&a[1], "no") && is(&a[2], "one") {
        if ctx.server.repl.is_replica() {
            let why = format!(
                "user request from 'id={} addr={}'",
                ctx.client.id, ctx.client.info.addr
            );
            crate::replication::replica::promote(ctx.server, ctx.state, &why);
        }
        ctx.out.ok();
        return Ok(());
    }
    let host = String::from_utf8_lossy(&a[1]).into_owned();
    let port = args::int(&a[2])?;
    let port = u16::try_from(port).map_err(|_| CmdError::msg("ERR Invalid master port"))?;
    if let Some(m) = &ctx.server.repl.state().master {
        if m.host == host && m.port == port {
            ctx.out.simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    crate::replication::replica::start(&server, ctx.state, host.clone(), port);
    crate::notice!(
        "REPLICAOF {host}:{port} enabled (user request from 'id={} addr={}')",
        ctx.client.id,
        ctx.client.info.addr
    );
    ctx.out.ok();
    Ok(())
}

fn role(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let repl = &ctx.server.repl;
    let st = repl.state();
    let end = repl.feed.end();
    if let Some(m) = &st.master {
        ctx.out.array(5);
        ctx.out.bulk(b"slave");
        ctx.out.bulk(m.host.as_bytes());
        ctx.out.int(m.port as i64);
        ctx.out.bulk(m.state.role_name().as_bytes());
        let offset = if m.state == LinkState::Connected || repl.feed.log().active {
            end.0 as i64
        } else {
            -1
        };
        ctx.out.int(offset);
        return Ok(());
    }
    let online: Vec<_> = st
        .replicas
        .values()
        .filter(|r| r.state == crate::replication::state::ReplicaState::Online)
        .collect();
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(end.0 as i64);
    ctx.out.array(online.len());
    for r in online {
        ctx.out.array(3);
        ctx.out.bulk(r.ip.as_bytes());
        ctx.out.bulk(r.port.to_string().as_bytes());
        ctx.out.bulk(r.ack_offset.to_string().as_bytes());
    }
    Ok(())
}

fn wait(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.server.repl.is_replica() {
        return Err(CmdError::msg(
            "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let wanted = args::int(&a[1])?;
    let timeout_ms = args::int(&a[2])?;
    if timeout_ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let target = ctx.client.woff;
    let mut st = ctx.server.repl.state();
    let acked = st.acked(target) as i64;
    let expired = ctx
        .client
        .wait_deadline
        .is_some_and(|d| Instant::now() >= d);
    if acked >= wanted || ctx.in_exec || ctx.client.multi.is_some() || expired || ctx.timed_out {
        ctx.client.wait_deadline = None;
        ctx.out.int(acked);
        return Ok(());
    }
    let now = Instant::now();
    let first = ctx.client.wait_deadline.is_none();
    let has_replicas = !st.replicas.is_empty();
    let deadline = *ctx.client.wait_deadline.get_or_insert_with(|| {
        if timeout_ms == 0 {
            now + Duration::from_secs(u32::MAX as u64)
        } else {
            now + Duration::from_millis(timeout_ms as u64)
        }
    });
    let waker = Arc::new(Notify::new());
    st.ack_waiters.push(waker.clone());
    drop(st);
    // Ask the replicas for their offsets now rather than at their next 1 s ACK.
    if first && has_replicas {
        ctx.server.repl.feed.update(|log| {
            log.feed_global(&[
                Bytes::from_static(b"REPLCONF"),
                Bytes::from_static(b"GETACK"),
                Bytes::from_static(b"*"),
            ])
        });
    }
    ctx.block = Some(BlockRequest {
        keys: Vec::new(),
        // `WAIT n 0` waits for good (and is not in INFO's clients_in_timeout_table).
        timeout: (timeout_ms != 0).then(|| deadline.saturating_duration_since(now)),
        waker,
    });
    Ok(())
}
