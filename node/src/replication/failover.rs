//! FAILOVER: a master hands its role to one of its replicas without losing a write, as
//! Redis 7.0 coordinates it.
//!
//! The master pauses writes (clients wait; see [`pause_writer`]) and waits
//! (`waiting-for-sync`) until the target, or any replica when none was named, has
//! acknowledged its whole stream. It then becomes a replica of that node
//! (`failover-in-progress`) and asks it `PSYNC <replid> <offset> FAILOVER`; the target,
//! still a replica of this node with the same id, promotes itself and answers `+CONTINUE`.
//! The pause ends then, and paused writes find a replica (`-READONLY`). A timeout aborts
//! (or, with FORCE, fails over to the named target anyway); FAILOVER ABORT gives up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::state::ReplicaState;
use crate::engine::EngineState;
use crate::server::Server;
use crate::{notice, warning};

/// A failover under way on a master.
#[derive(Debug)]
pub struct Failover {
    /// The replica to hand over to; None until one has caught up when none was named.
    target: Option<(String, u16)>,
    deadline: Option<Instant>,
    force: bool,
    /// Past waiting: this node is now connecting to the target as its replica.
    pub in_progress: bool,
}

/// What FAILOVER was asked to do (the parsed command).
#[derive(Debug, Default)]
pub struct Request {
    pub target: Option<(String, u16)>,
    pub timeout: Option<Duration>,
    pub force: bool,
}

/// The `master_failover_state` INFO field.
pub fn state_name(failover: Option<&Failover>) -> &'static str {
    match failover {
        None => "no-failover",
        Some(f) if f.in_progress => "failover-in-progress",
        Some(_) => "waiting-for-sync",
    }
}

/// Starts a failover (FAILOVER [TO host port [FORCE]] [TIMEOUT ms]); the error is the
/// reply, in Redis's words.
pub fn begin(server: &Server, req: Request) -> Result<(), String> {
    let mut st = server.repl.state();
    if st.failover.is_some() {
        return Err("ERR FAILOVER already in progress.".into());
    }
    if st.master.is_some() {
        return Err("ERR FAILOVER is not valid when server is a replica.".into());
    }
    if st.replicas.is_empty() {
        return Err("ERR FAILOVER requires connected replicas.".into());
    }
    if req.force && (req.timeout.is_none() || req.target.is_none()) {
        return Err(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.".into(),
        );
    }
    if let Some((host, port)) = &req.target {
        let replica = st
            .replicas
            .values()
            .find(|r| r.ip == *host && r.port == *port)
            .ok_or("ERR FAILOVER target HOST and PORT is not a replica.")?;
        if replica.state != ReplicaState::Online {
            return Err("ERR FAILOVER target replica is not online.".into());
        }
        notice!("FAILOVER requested to {host}:{port}.");
    } else {
        notice!("FAILOVER requested to any replica.");
    }
    st.failover = Some(Failover {
        target: req.target,
        deadline: req.timeout.map(|t| Instant::now() + t),
        force: req.force,
        in_progress: false,
    });
    server.repl.set_failover_active(true);
    Ok(())
}

/// While a failover is under way, a write waits: returns what to wait on, or None when
/// no failover is under way (cheap: one atomic load in the common case).
pub fn pause_writer(server: &Server) -> Option<Arc<Notify>> {
    if !server.repl.failover_active() {
        return None;
    }
    let mut st = server.repl.state();
    st.failover.as_ref()?;
    let waker = Arc::new(Notify::new());
    st.paused_writers.push(waker.clone());
    Some(waker)
}

/// Moves a waiting failover on (called by the cron with the engine lock held): hands
/// over once the target has acknowledged everything, or times out.
pub fn advance(server: &Arc<Server>, engine: &mut EngineState) {
    let handover = {
        let mut st = server.repl.state();
        let end = server.repl.feed.end().0;
        let Some(f) = st.failover.as_ref() else {
            return;
        };
        if f.in_progress {
            return;
        }
        let timed_out = f.deadline.is_some_and(|d| Instant::now() >= d);
        if timed_out && !f.force {
            drop(st);
            abort(server, engine, "Replica never caught up before timeout");
            return;
        }
        let caught_up = st
            .replicas
            .values()
            .filter(|r| r.state == ReplicaState::Online && r.ack_offset == end)
            .find(|r| {
                f.target
                    .as_ref()
                    .is_none_or(|(host, port)| r.ip == *host && r.port == *port)
            })
            .map(|r| (r.ip.clone(), r.port));
        let target = if timed_out {
            let (host, port) = f.target.clone().expect("FORCE requires a target");
            notice!("FAILOVER to {host}:{port} time out exceeded, failing over.");
            (host, port)
        } else {
            let Some((host, port)) = caught_up else {
                return;
            };
            notice!("Failover target {host}:{port} is synced, failing over.");
            (host, port)
        };
        let f = st.failover.as_mut().expect("checked above");
        f.target = Some(target.clone());
        f.in_progress = true;
        target
    };
    super::replica::start(server, engine, handover.0, handover.1);
}

/// Whether this node's link should send `PSYNC ... FAILOVER`.
pub fn handing_over(server: &Server) -> bool {
    server
        .repl
        .state()
        .failover
        .as_ref()
        .is_some_and(|f| f.in_progress)
}

/// The target accepted the hand-over: the failover is complete.
pub fn completed(server: &Server) {
    if handing_over(server) {
        notice!("FAILOVER completed: this node is now a replica of the new master.");
        clear(server);
    }
}

/// Gives up (FAILOVER ABORT, a timeout, a target that refused): a node that had already
/// become a replica of the target is a master again.
pub fn abort(server: &Server, engine: &mut EngineState, reason: &str) {
    let (target, in_progress) = {
        let st = server.repl.state();
        let Some(f) = st.failover.as_ref() else {
            return;
        };
        (f.target.clone(), f.in_progress)
    };
    match target {
        Some((host, port)) => notice!("FAILOVER to {host}:{port} aborted: {reason}"),
        None => notice!("FAILOVER to any replica aborted: {reason}"),
    }
    if in_progress {
        super::replica::promote(server, engine, "failover aborted");
    }
    clear(server);
}

/// Ends the pause: waiting writers run again.
fn clear(server: &Server) {
    let mut st = server.repl.state();
    st.failover = None;
    server.repl.set_failover_active(false);
    for writer in st.paused_writers.drain(..) {
        writer.notify_one();
    }
}

/// The target side: `PSYNC <replid> <offset> FAILOVER` from this node's master asks it
/// to take over. Called with the engine lock held; Ok means it is now a master and the
/// PSYNC proceeds as usual. `requester` describes the client, for the log.
pub fn take_over(
    server: &Server,
    engine: &mut EngineState,
    replid: &str,
    requester: &str,
) -> Result<(), String> {
    warning!("Failover request received for replid {replid}.");
    let st = server.repl.state();
    if st.master.is_none() {
        return Err("ERR PSYNC FAILOVER can't be sent to a master.".into());
    }
    if st.replid.to_string() != replid {
        return Err("ERR PSYNC FAILOVER replid must match my replid.".into());
    }
    drop(st);
    super::replica::promote(
        server,
        engine,
        &format!("failover request from '{requester}'"),
    );
    Ok(())
}
