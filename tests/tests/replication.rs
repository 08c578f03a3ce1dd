//! Replication end to end: tandem and the real redis-server 7.0 as masters and replicas
//! of each other, over plain TCP and mutual TLS. Convergence is checked by comparing whole
//! datasets.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pki::ca::Validity;
use pki::profile::Profile;
use tandem_tests::certs::make_certs;
use tandem_tests::dataset::{dump, eventually, fill_every_type, wait_same};
use tandem_tests::tools::free_port;
use tandem_tests::{Client, Node, NodeKind, Reply};

const SYNC: Duration = Duration::from_secs(30);

/// A field of `INFO <section>`.
fn info(c: &mut Client, section: &str, field: &str) -> String {
    c.cmd(&["INFO", section])
        .info_field(field)
        .unwrap_or_default()
}

/// Sends `sig` ("-STOP", "-CONT") to process `pid`.
fn send_signal(pid: &str, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, pid])
        .status()
        .unwrap()
        .success());
}

fn authed(node: &Node, password: &str) -> Client {
    let mut c = node.client();
    assert_eq!(c.cmd(&["AUTH", password]), Reply::Simple("OK".into()));
    c
}

/// TLS settings for a node whose replication link uses the certificates in `certs`.
struct Tls {
    port: u16,
    args: Vec<String>,
}

fn tls_args(certs: &Path) -> Tls {
    let port = free_port();
    let p = |f: &str| certs.join(f).to_str().unwrap().to_string();
    Tls {
        port,
        args: vec![
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            p("redis.crt"),
            "--tls-key-file".into(),
            p("redis.key"),
            "--tls-ca-cert-file".into(),
            p("ca.crt"),
            "--tls-replication".into(),
            "yes".into(),
        ],
    }
}

fn start(kind: NodeKind, args: &[String]) -> Option<Node> {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Node::start(kind, &refs)
}

/// The nodes of one test: all on plain TCP, or all on mutual TLS with certificates of one
/// CA and `tls-replication yes`, so that every replication link of the test is of that kind.
struct Net {
    certs: Option<tempfile::TempDir>,
}

/// A node of a [`Net`] and the port its replicas connect to (its TLS port over TLS).
struct Member {
    node: Node,
    link_port: u16,
}

impl Net {
    fn new(tls: bool) -> Net {
        let certs = tls.then(|| {
            let dir = tempfile::tempdir().unwrap();
            make_certs(dir.path(), &[("redis", Profile::Node, Validity::days(30))]);
            dir
        });
        Net { certs }
    }

    /// Starts a node of `kind` with `extra`, a replica of `master` (a link port) when
    /// given. None when `kind` is not installed.
    fn start(&self, kind: NodeKind, extra: &[&str], master: Option<u16>) -> Option<Member> {
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let tls = self.certs.as_ref().map(|c| tls_args(c.path()));
        if let Some(tls) = &tls {
            args.extend(tls.args.iter().cloned());
        }
        if let Some(port) = master {
            args.push("--replicaof".into());
            match kind {
                NodeKind::Tandem => args.push(format!("127.0.0.1 {port}")),
                // redis-server takes `--replicaof host port` as two words.
                NodeKind::Redis => args.extend(["127.0.0.1".to_string(), port.to_string()]),
            }
        }
        let node = start(kind, &args)?;
        let link_port = tls.map_or(node.port, |t| t.port);
        Some(Member { node, link_port })
    }

    /// A tandem node with `extra`, a replica of `master` when given.
    fn tandem(&self, extra: &[&str], master: Option<u16>) -> Member {
        self.start(NodeKind::Tandem, extra, master)
            .expect("tandem is always available")
    }
}

/// Starts a master of `master_kind` and a replica of `replica_kind`, over TLS when
/// `tls`; returns them with the [`Net`] that keeps their certificates.
fn pair(master_kind: NodeKind, replica_kind: NodeKind, tls: bool) -> Option<(Node, Node, Net)> {
    pair_with(master_kind, replica_kind, tls, &[])
}

/// [`pair`] with more arguments for the master.
fn pair_with(
    master_kind: NodeKind,
    replica_kind: NodeKind,
    tls: bool,
    master_extra: &[&str],
) -> Option<(Node, Node, Net)> {
    let net = Net::new(tls);
    let mut margs = vec!["--repl-diskless-sync-delay", "0", "--requirepass", "pw"];
    margs.extend_from_slice(master_extra);
    let master = net.start(master_kind, &margs, None)?;
    let replica = net.start(
        replica_kind,
        &["--masterauth", "pw"],
        Some(master.link_port),
    )?;
    Some((master.node, replica.node, net))
}

/// Full sync of every type, then the live stream, then a partial resync after the link
/// is cut, between a master and a replica of the given kinds.
fn full_stream_partial(master_kind: NodeKind, replica_kind: NodeKind, tls: bool) {
    let Some((master, replica, _certs)) = pair(master_kind, replica_kind, tls) else {
        return;
    };
    let mut mc = authed(&master, "pw");
    fill_every_type(&mut mc, "before");
    let mut rc = replica.client();
    wait_same(&mut mc, &mut rc, SYNC);
    assert_eq!(info(&mut rc, "replication", "master_link_status"), "up");
    eventually("the replica to be online on the master", || {
        info(&mut mc, "replication", "slave0").contains("state=online")
    });
    // The stream.
    fill_every_type(&mut mc, "stream");
    mc.cmd(&["DEL", "before:str"]);
    mc.cmd(&["EXPIRE", "before:int", "1000"]);
    wait_same(&mut mc, &mut rc, SYNC);
    // Cut the link from the replica's side; it reconnects and continues from its offset.
    let partial_before: i64 = info(&mut mc, "stats", "sync_partial_ok").parse().unwrap();
    rc.cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    fill_every_type(&mut mc, "after-cut");
    wait_same(&mut mc, &mut rc, SYNC);
    eventually("a partial resync", || {
        info(&mut mc, "stats", "sync_partial_ok")
            .parse::<i64>()
            .unwrap()
            > partial_before
    });
    assert_eq!(info(&mut mc, "stats", "sync_full"), "1");
    eventually("offsets to match", || {
        info(&mut mc, "replication", "master_repl_offset")
            == info(&mut rc, "replication", "master_repl_offset")
    });
    assert_eq!(
        info(&mut mc, "replication", "master_replid"),
        info(&mut rc, "replication", "master_replid")
    );
    // A replica is read-only.
    let r = rc.cmd(&["SET", "x", "1"]);
    assert_eq!(
        r,
        Reply::Error("READONLY You can't write against a read only replica.".into())
    );
}

#[test]
fn tandem_master_tandem_replica_plain() {
    full_stream_partial(NodeKind::Tandem, NodeKind::Tandem, false);
}

#[test]
fn tandem_master_tandem_replica_tls() {
    full_stream_partial(NodeKind::Tandem, NodeKind::Tandem, true);
}

#[test]
fn redis_master_tandem_replica_plain() {
    full_stream_partial(NodeKind::Redis, NodeKind::Tandem, false);
}

#[test]
fn redis_master_tandem_replica_tls() {
    full_stream_partial(NodeKind::Redis, NodeKind::Tandem, true);
}

#[test]
fn tandem_master_redis_replica_plain() {
    full_stream_partial(NodeKind::Tandem, NodeKind::Redis, false);
}

#[test]
fn tandem_master_redis_replica_tls() {
    full_stream_partial(NodeKind::Tandem, NodeKind::Redis, true);
}

/// A plain tandem replica of `port`.
fn replica_of(port: u16, extra: &[&str]) -> Node {
    Net::new(false).tandem(extra, Some(port)).node
}

/// A master, a replica of it and a replica of that replica; the last one is restarted and
/// continues with a partial resync.
fn chained_replicas(tls: bool) {
    let net = Net::new(tls);
    let master = net.tandem(&["--repl-diskless-sync-delay", "0"], None);
    let mut mc = master.node.client();
    fill_every_type(&mut mc, "a");
    let r1 = net.tandem(&["--repl-diskless-sync-delay", "0"], Some(master.link_port));
    let mut r2 = net.tandem(&["--save", "3600 1"], Some(r1.link_port)).node;
    let (mut c1, mut c2) = (r1.node.client(), r2.client());
    wait_same(&mut mc, &mut c2, SYNC);
    fill_every_type(&mut mc, "b");
    wait_same(&mut mc, &mut c2, SYNC);
    let id = info(&mut mc, "replication", "master_replid");
    assert_eq!(info(&mut c1, "replication", "master_replid"), id);
    assert_eq!(info(&mut c2, "replication", "master_replid"), id);
    eventually("offsets to match down the chain", || {
        let off = info(&mut mc, "replication", "master_repl_offset");
        off == info(&mut c1, "replication", "master_repl_offset")
            && off == info(&mut c2, "replication", "master_repl_offset")
    });
    assert_eq!(info(&mut c1, "replication", "connected_slaves"), "1");
    // Restart the last replica on the same directory: its saved id and offset let it
    // continue with a partial resync.
    assert!(r2.terminate(Duration::from_secs(20)).unwrap().success());
    fill_every_type(&mut mc, "c");
    let dir = r2.dir.path().to_str().unwrap().to_string();
    let r2b = net.tandem(&["--dir", &dir], Some(r1.link_port)).node;
    let mut c2b = r2b.client();
    wait_same(&mut mc, &mut c2b, SYNC);
    let log = r2b.log();
    assert!(
        log.contains("Successful partial resynchronization"),
        "restarted replica did a full sync:\n{log}"
    );
}

#[test]
fn chained_replicas_share_the_masters_history_and_a_restarted_replica_continues_plain() {
    chained_replicas(false);
}

#[test]
fn chained_replicas_share_the_masters_history_and_a_restarted_replica_continues_tls() {
    chained_replicas(true);
}

/// A replica stopped (SIGSTOP) while megabytes are written: the master drops it at the
/// output buffer limit, and once resumed it needs a full sync, which converges.
fn backlog_overrun(tls: bool) {
    let net = Net::new(tls);
    let master = net.tandem(
        &[
            "--repl-diskless-sync-delay",
            "0",
            "--repl-backlog-size",
            "16kb",
            "--client-output-buffer-limit",
            "replica 64kb 0 0",
        ],
        None,
    );
    let mut mc = master.node.client();
    fill_every_type(&mut mc, "a");
    let replica = net.tandem(&[], Some(master.link_port)).node;
    let mut rc = replica.client();
    wait_same(&mut mc, &mut rc, SYNC);
    let pid = info(&mut rc, "server", "process_id");
    let signal = |sig: &str| send_signal(&pid, sig);
    signal("-STOP");
    // Far more than the socket buffers and the replica limit hold.
    let value = "v".repeat(1 << 20);
    for i in 0..40 {
        mc.cmd(&["SET", &format!("big{i}"), &value]);
        if info(&mut mc, "replication", "connected_slaves") == "0" {
            break;
        }
    }
    eventually("the master to drop the stalled replica", || {
        info(&mut mc, "replication", "connected_slaves") == "0"
    });
    signal("-CONT");
    wait_same(&mut mc, &mut rc, SYNC);
    assert_eq!(info(&mut mc, "stats", "sync_full"), "2");
    assert!(master
        .node
        .log()
        .contains("overcoming of output buffer limits"));
}

#[test]
fn backlog_overrun_forces_a_full_sync_that_converges_plain() {
    backlog_overrun(false);
}

#[test]
fn backlog_overrun_forces_a_full_sync_that_converges_tls() {
    backlog_overrun(true);
}

#[test]
fn wrong_masterauth_is_refused_with_the_reason_logged() {
    let master = Node::tandem(&["--requirepass", "right"]);
    let replica = replica_of(master.port, &["--masterauth", "wrong"]);
    eventually("the AUTH failure in the replica's log", || {
        replica.log().contains("Unable to AUTH to MASTER")
    });
    let mut rc = replica.client();
    assert_eq!(info(&mut rc, "replication", "master_link_status"), "down");
    let mut mc = authed(&master, "right");
    assert_eq!(info(&mut mc, "replication", "connected_slaves"), "0");
}

#[test]
fn replica_certificate_from_a_foreign_ca_is_refused() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(
        certs.path(),
        &[("redis", Profile::Node, Validity::days(30))],
    );
    let foreign = tempfile::tempdir().unwrap();
    make_certs(
        foreign.path(),
        &[("redis", Profile::Node, Validity::days(30))],
    );
    let mtls = tls_args(certs.path());
    let master = start(NodeKind::Tandem, &mtls.args).unwrap();
    // The replica trusts the master's CA but presents a certificate of its own CA.
    let mut rargs = tls_args(foreign.path()).args;
    let ca_at = rargs
        .iter()
        .position(|a| a == "--tls-ca-cert-file")
        .unwrap();
    rargs[ca_at + 1] = certs.path().join("ca.crt").to_str().unwrap().to_string();
    rargs.extend([
        "--replicaof".to_string(),
        format!("127.0.0.1 {}", mtls.port),
    ]);
    let replica = start(NodeKind::Tandem, &rargs).unwrap();
    eventually("the refusal in the master's log", || {
        master.log().contains("unknown issuer")
    });
    eventually("the failure in the replica's log", || {
        let log = replica.log();
        log.contains("Error reading from MASTER") || log.contains("TLS handshake with MASTER")
    });
    let mut rc = replica.client();
    assert_eq!(info(&mut rc, "replication", "master_link_status"), "down");
}

#[test]
fn wait_counts_acknowledging_replicas_and_min_replicas_refuses_writes() {
    let master = Node::tandem(&["--repl-diskless-sync-delay", "0"]);
    let mut mc = master.client();
    mc.cmd(&["SET", "seed", "1"]);
    let r1 = replica_of(master.port, &[]);
    let r2 = replica_of(master.port, &[]);
    eventually("two online replicas", || {
        let text = mc.cmd(&["INFO", "replication"]).text();
        text.matches("state=online").count() == 2
    });
    mc.cmd(&["SET", "k", "v"]);
    assert_eq!(mc.cmd(&["WAIT", "2", "10000"]), Reply::Int(2));
    // Only two exist: WAIT for three returns two when its timeout passes.
    mc.cmd(&["SET", "k", "v2"]);
    assert_eq!(mc.cmd(&["WAIT", "3", "300"]), Reply::Int(2));
    let mut rc = r1.client();
    assert_eq!(
        rc.cmd(&["WAIT", "1", "10"]),
        Reply::Error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.".into())
    );
    assert_eq!(
        mc.cmd(&["CONFIG", "SET", "min-replicas-to-write", "2"]),
        Reply::Simple("OK".into())
    );
    assert_eq!(mc.cmd(&["SET", "k", "v3"]), Reply::Simple("OK".into()));
    drop(r2);
    eventually("the master to notice the replica is gone", || {
        info(&mut mc, "replication", "connected_slaves") == "1"
    });
    assert_eq!(
        mc.cmd(&["SET", "k", "v4"]),
        Reply::Error("NOREPLICAS Not enough good replicas to write.".into())
    );
    assert_eq!(mc.cmd(&["GET", "k"]), Reply::Bulk(b"v3".to_vec()));
    drop(r1);
}

#[test]
fn a_promoted_replica_keeps_its_data_and_the_other_replica_continues_from_it() {
    let master = Node::tandem(&["--repl-diskless-sync-delay", "0"]);
    let mut mc = master.client();
    fill_every_type(&mut mc, "a");
    let r1 = replica_of(master.port, &["--repl-diskless-sync-delay", "0"]);
    let r2 = replica_of(master.port, &[]);
    let (mut c1, mut c2) = (r1.client(), r2.client());
    wait_same(&mut mc, &mut c1, SYNC);
    wait_same(&mut mc, &mut c2, SYNC);
    let expected = dump(&mut mc);
    let old_id = info(&mut mc, "replication", "master_replid");
    drop(mc);
    drop(master);
    assert_eq!(
        c1.cmd(&["REPLICAOF", "NO", "ONE"]),
        Reply::Simple("OK".into())
    );
    assert_eq!(info(&mut c1, "replication", "role"), "master");
    assert_eq!(info(&mut c1, "replication", "master_replid2"), old_id);
    assert_eq!(dump(&mut c1), expected);
    let port = r1.port.to_string();
    assert_eq!(
        c2.cmd(&["REPLICAOF", "127.0.0.1", &port]),
        Reply::Simple("OK".into())
    );
    c1.cmd(&["SET", "after-promotion", "yes"]);
    wait_same(&mut c1, &mut c2, SYNC);
    assert_eq!(info(&mut c1, "stats", "sync_partial_ok"), "1");
    assert_eq!(info(&mut c1, "stats", "sync_full"), "0");
}

/// Adds `n` small strings, pipelined.
fn add_keys(c: &mut Client, prefix: &str, n: usize) {
    for i in 0..n {
        c.send(&["SET", &format!("{prefix}:{i}"), "value"]);
    }
    for _ in 0..n {
        c.read();
    }
}

/// A replica killed with SIGKILL while its full sync is under way: the master notices,
/// lets go of it, and the restarted replica syncs again and converges.
fn replica_killed_mid_full_sync(replica_kind: NodeKind, tls: bool) {
    let Some((master, mut replica, _certs)) = pair(NodeKind::Tandem, replica_kind, tls) else {
        return;
    };
    let mut mc = authed(&master, "pw");
    // Slow the master's side of the sync down (1 ms a key) so that it is caught midway.
    mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "1000"]);
    fill_every_type(&mut mc, "a");
    add_keys(&mut mc, "bulk", 3000);
    // Start the replica afresh (redis-server keeps the RDB of its first sync, which would
    // let it continue with a partial resync), so that it needs a full sync now.
    replica.kill();
    let _ = std::fs::remove_file(replica.dir.path().join("dump.rdb"));
    replica.restart();
    eventually("a full sync to be under way", || {
        let slave = info(&mut mc, "replication", "slave0");
        slave.contains("state=wait_bgsave") || slave.contains("state=send_bulk")
    });
    replica.kill();
    eventually("the master to let go of the killed replica", || {
        info(&mut mc, "replication", "connected_slaves") == "0"
    });
    mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    fill_every_type(&mut mc, "b");
    replica.restart();
    let mut rc = replica.client();
    wait_same(&mut mc, &mut rc, SYNC);
    assert_eq!(info(&mut rc, "replication", "master_link_status"), "up");
    assert!(
        info(&mut mc, "stats", "sync_full").parse::<i64>().unwrap() >= 2,
        "{}",
        master.log()
    );
}

#[test]
fn tandem_replica_killed_mid_full_sync_recovers_plain() {
    replica_killed_mid_full_sync(NodeKind::Tandem, false);
}

#[test]
fn tandem_replica_killed_mid_full_sync_recovers_tls() {
    replica_killed_mid_full_sync(NodeKind::Tandem, true);
}

#[test]
fn redis_replica_killed_mid_full_sync_recovers_plain() {
    replica_killed_mid_full_sync(NodeKind::Redis, false);
}

#[test]
fn redis_replica_killed_mid_full_sync_recovers_tls() {
    replica_killed_mid_full_sync(NodeKind::Redis, true);
}

/// A master with appendonly yes killed with SIGKILL and restarted on its port and
/// directory: it comes back with every acknowledged write (appendfsync always), its
/// replicas reconnect on their own, resync, and follow the writes made after the restart.
fn master_restarted_with_aof_keeps_its_replicas(replica_kind: NodeKind, tls: bool) {
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let Some((mut master, replica, _certs)) = pair_with(NodeKind::Tandem, replica_kind, tls, &aof)
    else {
        return;
    };
    let mut mc = authed(&master, "pw");
    fill_every_type(&mut mc, "before");
    let mut rc = replica.client();
    wait_same(&mut mc, &mut rc, SYNC);
    let acknowledged = dump(&mut mc);
    master.kill();
    eventually("the replica to see its master gone", || {
        info(&mut rc, "replication", "master_link_status") == "down"
    });
    // The replica keeps serving the data it had.
    assert_eq!(dump(&mut rc), acknowledged);
    master.restart();
    let mut mc = authed(&master, "pw");
    assert_eq!(dump(&mut mc), acknowledged);
    fill_every_type(&mut mc, "after-restart");
    wait_same(&mut mc, &mut rc, SYNC);
    eventually("the replica's link to come back up", || {
        info(&mut rc, "replication", "master_link_status") == "up"
    });
    assert_eq!(info(&mut mc, "replication", "connected_slaves"), "1");
}

#[test]
fn master_restarted_with_aof_keeps_a_tandem_replica_plain() {
    master_restarted_with_aof_keeps_its_replicas(NodeKind::Tandem, false);
}

#[test]
fn master_restarted_with_aof_keeps_a_tandem_replica_tls() {
    master_restarted_with_aof_keeps_its_replicas(NodeKind::Tandem, true);
}

#[test]
fn master_restarted_with_aof_keeps_a_redis_replica_plain() {
    master_restarted_with_aof_keeps_its_replicas(NodeKind::Redis, false);
}

#[test]
fn master_restarted_with_aof_keeps_a_redis_replica_tls() {
    master_restarted_with_aof_keeps_its_replicas(NodeKind::Redis, true);
}

/// A node of `kind` replicating from `master_port`.
fn replica_of_kind(kind: NodeKind, master_port: u16) -> Option<Node> {
    let port = master_port.to_string();
    match kind {
        NodeKind::Tandem => Some(replica_of(master_port, &[])),
        NodeKind::Redis => Node::redis(&["--replicaof", "127.0.0.1", &port]),
    }
}

fn role_name(c: &mut Client) -> String {
    match c.cmd(&["ROLE"]) {
        Reply::Array(items) => match items.first() {
            Some(Reply::Bulk(name)) => String::from_utf8_lossy(name).into_owned(),
            other => panic!("ROLE: {other:?}"),
        },
        other => panic!("ROLE: {other:?}"),
    }
}

/// FAILOVER TO a replica: the master waits for it to catch up, becomes its replica, and
/// the target takes over with a partial resync (no full sync); the other replica and the
/// old master follow the new master's writes.
fn failover_to_a_replica(master_kind: NodeKind, target_kind: NodeKind) {
    let Some(master) = Node::start(master_kind, &["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let mut mc = master.client();
    fill_every_type(&mut mc, "a");
    let Some(target) = replica_of_kind(target_kind, master.port) else {
        return;
    };
    let other = replica_of(master.port, &[]);
    let (mut tc, mut oc) = (target.client(), other.client());
    wait_same(&mut mc, &mut tc, SYNC);
    wait_same(&mut mc, &mut oc, SYNC);
    let port = target.port.to_string();
    // FAILOVER TO needs the target online in the master's view (after its first ACK).
    let online = format!("port={port},state=online");
    eventually("the target to be online on the master", || {
        mc.cmd(&["INFO", "replication"]).text().contains(&online)
    });
    let r = mc.cmd(&["FAILOVER", "TO", "127.0.0.1", &port, "TIMEOUT", "20000"]);
    assert_eq!(
        r,
        Reply::Simple("OK".into()),
        "{}",
        mc.cmd(&["INFO", "replication"]).text()
    );
    eventually("the target to become the master", || {
        role_name(&mut tc) == "master"
    });
    eventually("the old master to follow the target", || {
        info(&mut mc, "replication", "master_port") == port
            && info(&mut mc, "replication", "master_link_status") == "up"
    });
    assert_eq!(
        info(&mut mc, "replication", "master_failover_state"),
        "no-failover"
    );
    assert_eq!(info(&mut tc, "stats", "sync_full"), "0");
    // Both servers log the steps in the same words.
    assert!(target
        .log()
        .contains("Failover request received for replid"));
    assert!(master.log().contains("is synced, failing over."));
    fill_every_type(&mut tc, "b");
    wait_same(&mut tc, &mut mc, SYNC);
    wait_same(&mut tc, &mut oc, SYNC);
    assert_eq!(
        mc.cmd(&["SET", "x", "1"]),
        Reply::Error("READONLY You can't write against a read only replica.".into())
    );
}

#[test]
fn failover_from_tandem_to_a_tandem_replica() {
    failover_to_a_replica(NodeKind::Tandem, NodeKind::Tandem);
}

#[test]
fn failover_from_tandem_to_a_redis_replica() {
    failover_to_a_replica(NodeKind::Tandem, NodeKind::Redis);
}

#[test]
fn failover_from_redis_to_a_tandem_replica() {
    failover_to_a_replica(NodeKind::Redis, NodeKind::Tandem);
}

/// While FAILOVER waits for a replica that cannot catch up, writes wait too; a timeout
/// (without FORCE) or FAILOVER ABORT ends the failover and the waiting writes run.
#[test]
fn failover_pauses_writes_until_it_times_out_or_is_aborted() {
    let master = Node::tandem(&["--repl-diskless-sync-delay", "0"]);
    let mut mc = master.client();
    assert_eq!(
        mc.cmd(&["FAILOVER"]),
        Reply::Error("ERR FAILOVER requires connected replicas.".into())
    );
    fill_every_type(&mut mc, "a");
    let replica = replica_of(master.port, &[]);
    let mut rc = replica.client();
    wait_same(&mut mc, &mut rc, SYNC);
    assert_eq!(
        rc.cmd(&["FAILOVER"]),
        Reply::Error("ERR FAILOVER is not valid when server is a replica.".into())
    );
    assert_eq!(
        mc.cmd(&["FAILOVER", "FORCE"]),
        Reply::Error(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.".into()
        )
    );
    assert_eq!(
        mc.cmd(&["FAILOVER", "TO", "127.0.0.1", "1"]),
        Reply::Error("ERR FAILOVER target HOST and PORT is not a replica.".into())
    );
    assert_eq!(
        mc.cmd(&["FAILOVER", "ABORT"]),
        Reply::Error("ERR No failover in progress.".into())
    );
    // A frozen replica never acknowledges the write below.
    let pid = info(&mut rc, "server", "process_id");
    let signal = |sig: &str| send_signal(&pid, sig);
    signal("-STOP");
    mc.cmd(&["SET", "unacknowledged", "1"]);
    let mut writer = master.client();
    for (end, how) in [
        (vec!["FAILOVER", "TIMEOUT", "500"], None),
        (vec!["FAILOVER"], Some("ABORT")),
    ] {
        assert_eq!(mc.cmd(&end), Reply::Simple("OK".into()));
        assert_eq!(
            info(&mut mc, "replication", "master_failover_state"),
            "waiting-for-sync"
        );
        assert_eq!(
            mc.cmd(&["FAILOVER"]),
            Reply::Error("ERR FAILOVER already in progress.".into())
        );
        writer.send(&["INCR", "paused-writes"]);
        // Reads go on; the write has not run.
        let before = mc.cmd(&["GET", "paused-writes"]);
        if let Some(abort) = how {
            assert_eq!(mc.cmd(&["FAILOVER", abort]), Reply::Simple("OK".into()));
        }
        let done = writer.read();
        assert!(matches!(done, Reply::Int(_)), "{done:?}");
        assert_eq!(
            mc.cmd(&["GET", "paused-writes"]),
            Reply::Bulk(done.int().to_string().into())
        );
        assert_ne!(before, Reply::Bulk(done.int().to_string().into()));
        assert_eq!(
            info(&mut mc, "replication", "master_failover_state"),
            "no-failover"
        );
    }
    let log = master.log();
    assert!(
        log.contains("Replica never caught up before timeout"),
        "{log}"
    );
    assert!(log.contains("Failover manually aborted"), "{log}");
    signal("-CONT");
    assert_eq!(role_name(&mut mc), "master");
}

/// Replicas that ask for a full sync together share one diskless transfer: one snapshot,
/// serialised once; repl-diskless-sync-max-replicas starts it as soon as that many wait
/// (long before the 60 s delay).
fn shared_diskless_transfer(tls: bool) {
    let net = Net::new(tls);
    let master = net.tandem(
        &[
            "--repl-diskless-sync-delay",
            "60",
            "--repl-diskless-sync-max-replicas",
            "2",
        ],
        None,
    );
    let mut mc = master.node.client();
    fill_every_type(&mut mc, "a");
    let Some(redis_replica) = net.start(NodeKind::Redis, &[], Some(master.link_port)) else {
        return;
    };
    let tandem_replica = net.tandem(&[], Some(master.link_port));
    let (mut rc, mut tc) = (redis_replica.node.client(), tandem_replica.node.client());
    wait_same(&mut mc, &mut rc, SYNC);
    wait_same(&mut mc, &mut tc, SYNC);
    assert_eq!(info(&mut mc, "stats", "sync_full"), "2");
    let log = master.node.log();
    let transfers: Vec<_> = log
        .lines()
        .filter(|l| l.contains("Starting BGSAVE for SYNC with target: replicas sockets"))
        .collect();
    assert_eq!(transfers.len(), 1, "{log}");
    assert!(transfers[0].contains("(2 replicas"), "{log}");
    fill_every_type(&mut mc, "b");
    wait_same(&mut mc, &mut rc, SYNC);
    wait_same(&mut mc, &mut tc, SYNC);
}

#[test]
fn replicas_arriving_together_share_one_diskless_transfer_plain() {
    shared_diskless_transfer(false);
}

#[test]
fn replicas_arriving_together_share_one_diskless_transfer_tls() {
    shared_diskless_transfer(true);
}

/// repl-backlog-ttl: a master left without replicas for that long frees its backlog and
/// starts a new history, so a returning replica gets a full sync.
#[test]
fn backlog_is_freed_after_repl_backlog_ttl_without_replicas() {
    let master = Node::tandem(&["--repl-diskless-sync-delay", "0", "--repl-backlog-ttl", "1"]);
    let mut mc = master.client();
    fill_every_type(&mut mc, "a");
    let mut replica = replica_of(master.port, &[]);
    let mut rc = replica.client();
    wait_same(&mut mc, &mut rc, SYNC);
    let id = info(&mut mc, "replication", "master_replid");
    assert_eq!(info(&mut mc, "replication", "repl_backlog_active"), "1");
    replica.kill();
    eventually("the backlog to be freed", || {
        info(&mut mc, "replication", "repl_backlog_active") == "0"
    });
    assert_ne!(info(&mut mc, "replication", "master_replid"), id);
    assert!(master
        .log()
        .contains("Replication backlog freed after 1 seconds without connected replicas."));
    replica.restart();
    let mut rc = replica.client();
    wait_same(&mut mc, &mut rc, SYNC);
    assert_eq!(info(&mut mc, "stats", "sync_full"), "2");
}

/// A redis-server master holding a stream (a type tandem has not): the tandem replica
/// refuses the snapshot with the key named in its log and loads none of it, rather than a
/// partial dataset; once the stream is gone, the next full sync converges.
#[test]
fn a_master_snapshot_with_a_stream_is_refused_whole() {
    let Some(master) = Node::redis(&["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let mut mc = master.client();
    fill_every_type(&mut mc, "a");
    mc.cmd(&["XADD", "events", "*", "field", "value"]);
    let replica = replica_of(master.port, &[]);
    eventually("the refusal in the replica's log", || {
        replica.log().contains("key 'events' (offset")
    });
    let mut rc = replica.client();
    assert_eq!(rc.cmd(&["DBSIZE"]), Reply::Int(0));
    assert_eq!(info(&mut rc, "replication", "master_link_status"), "down");
    assert!(replica
        .log()
        .contains("is a stream, which tandem cannot load"));
    mc.cmd(&["DEL", "events"]);
    wait_same(&mut mc, &mut rc, SYNC);
    assert_eq!(info(&mut rc, "replication", "master_link_status"), "up");
}

/// The replies of a master of `kind` and its replica to writes that replication state
/// refuses, inside and around MULTI; None without redis-server.
fn refusals_in_transactions(kind: NodeKind) -> Option<Vec<String>> {
    let master = Node::start(kind, &["--repl-diskless-sync-delay", "0"])?;
    let replica = replica_of_kind(kind, master.port)?;
    let (mut mc, mut rc) = (master.client(), replica.client());
    assert_eq!(mc.cmd(&["SET", "k", "v"]), Reply::Simple("OK".into()));
    wait_same(&mut mc, &mut rc, SYNC);
    let mut replies = Vec::new();
    let mut run = |c: &mut Client, args: &[&str]| {
        replies.push(format!(
            "{args:?} {}",
            String::from_utf8_lossy(&c.raw(args))
        ));
    };
    // A write queued on a read-only replica is refused and spoils the transaction: EXEC
    // must not run it.
    for args in [
        &["MULTI"][..],
        &["SET", "k", "replica"],
        &["GET", "k"],
        &["EXEC"],
        &["GET", "k"],
        &["MULTI"],
        &["GET", "k"],
        &["EXEC"],
    ] {
        run(&mut rc, args);
    }
    // Without enough replicas the master refuses queued writes the same way; a refused
    // EXEC names its reason.
    for args in [
        &["CONFIG", "SET", "min-replicas-to-write", "5"][..],
        &["MULTI"],
        &["SET", "k", "master"],
        &["EXEC"],
        &["EXEC", "extra"],
        &["GET", "k"],
        &["CONFIG", "SET", "min-replicas-to-write", "0"],
    ] {
        run(&mut mc, args);
    }
    Some(replies)
}

#[test]
fn refusals_inside_multi_match_redis() {
    let tandem = refusals_in_transactions(NodeKind::Tandem).expect("tandem");
    let Some(redis) = refusals_in_transactions(NodeKind::Redis) else {
        return;
    };
    assert_eq!(tandem, redis, "tandem (left), redis (right)");
}
