//! Persistence: RDB snapshots and the append-only file survive restarts and kill -9,
//! files are exchanged with the real redis-server 7.0 both ways, and corrupt files stop
//! start-up with a clear message without being overwritten.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tandem_tests::dataset::{dump, fill_every_type};
use tandem_tests::{redis_tool, Node, NodeKind, Reply};

fn on_dir(kind: NodeKind, dir: &Path, extra: &[&str]) -> Option<Node> {
    let mut args = vec!["--dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    Node::start(kind, &args)
}

#[test]
fn save_then_restart_loads_every_key() {
    let mut node = Node::tandem(&[]);
    let mut c = node.client();
    fill_every_type(&mut c, "k");
    let before = dump(&mut c);
    let last = c.cmd(&["LASTSAVE"]).int();
    assert_eq!(c.cmd(&["SAVE"]), Reply::Simple("OK".into()));
    assert!(c.cmd(&["LASTSAVE"]).int() >= last);
    let text = c.cmd(&["INFO", "persistence"]).text();
    assert!(text.contains("rdb_changes_since_last_save:0"), "{text}");
    node.kill();
    let again = on_dir(NodeKind::Tandem, node.dir.path(), &[]).unwrap();
    assert_eq!(dump(&mut again.client()), before);
}

#[test]
fn bgsave_and_shutdown_save_and_nosave() {
    let mut node = Node::tandem(&["--save", "3600 1"]);
    let mut c = node.client();
    fill_every_type(&mut c, "k");
    assert_eq!(
        c.cmd(&["BGSAVE"]),
        Reply::Simple("Background saving started".into())
    );
    tandem_tests::wait_until(Duration::from_secs(20), "BGSAVE to finish", || {
        c.cmd(&["INFO", "persistence"])
            .text()
            .contains("rdb_bgsave_in_progress:0")
    });
    c.cmd(&["SET", "written-after-bgsave", "1"]);
    let before = dump(&mut c);
    // SIGTERM saves because a save point is configured.
    assert!(node.terminate(Duration::from_secs(20)).unwrap().success());
    let mut again = on_dir(NodeKind::Tandem, node.dir.path(), &["--save", "3600 1"]).unwrap();
    let mut c = again.client();
    assert_eq!(dump(&mut c), before);
    // SHUTDOWN NOSAVE does not.
    c.cmd(&["SET", "lost", "1"]);
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed());
    again.terminate(Duration::from_secs(20));
    let third = on_dir(NodeKind::Tandem, node.dir.path(), &[]).unwrap();
    assert_eq!(third.client().cmd(&["EXISTS", "lost"]), Reply::Int(0));
}

#[test]
fn redis_loads_tandems_rdb_and_tandem_loads_rediss_rdb() {
    let Some(check) = redis_tool("redis-check-rdb") else {
        return;
    };
    // tandem → redis-server.
    let mut t = Node::tandem(&[]);
    let mut c = t.client();
    fill_every_type(&mut c, "t");
    let expected = dump(&mut c);
    c.cmd(&["SAVE"]);
    t.kill();
    let rdb = t.dir.path().join("dump.rdb");
    let out = Command::new(&check).arg(&rdb).output().unwrap();
    assert!(
        out.status.success(),
        "redis-check-rdb refused tandem's file: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = on_dir(NodeKind::Redis, t.dir.path(), &[]).unwrap();
    assert_eq!(dump(&mut r.client()), expected);
    // redis-server → tandem.
    let Some(mut r2) = Node::redis(&[]) else {
        return;
    };
    let mut c = r2.client();
    fill_every_type(&mut c, "r");
    let expected = dump(&mut c);
    c.cmd(&["SAVE"]);
    r2.kill();
    let t2 = on_dir(NodeKind::Tandem, r2.dir.path(), &[]).unwrap();
    assert_eq!(dump(&mut t2.client()), expected);
}

#[test]
fn aof_survives_kill_9_and_a_rewrite() {
    let mut node = Node::tandem(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = node.client();
    fill_every_type(&mut c, "a");
    c.cmd(&["INCR", "counter"]);
    c.cmd(&["DEL", "a:str"]);
    let before = dump(&mut c);
    node.kill();
    let mut second = on_dir(NodeKind::Tandem, node.dir.path(), &["--appendonly", "yes"]).unwrap();
    let mut c = second.client();
    assert_eq!(dump(&mut c), before);
    assert_eq!(
        c.cmd(&["BGREWRITEAOF"]),
        Reply::Simple("Background append only file rewriting started".into())
    );
    fill_every_type(&mut c, "b");
    tandem_tests::wait_until(Duration::from_secs(20), "the rewrite to finish", || {
        c.cmd(&["INFO", "persistence"])
            .text()
            .contains("aof_rewrite_in_progress:0")
    });
    c.cmd(&["SET", "after-rewrite", "1"]);
    let before = dump(&mut c);
    second.kill();
    let manifest = std::fs::read_to_string(
        node.dir
            .path()
            .join("appendonlydir/appendonly.aof.manifest"),
    )
    .unwrap();
    assert!(manifest.contains("appendonly.aof.2.base.rdb"), "{manifest}");
    let third = on_dir(NodeKind::Tandem, node.dir.path(), &["--appendonly", "yes"]).unwrap();
    assert_eq!(dump(&mut third.client()), before);
}

#[test]
fn redis_reads_tandems_aof_directory() {
    let mut t = Node::tandem(&["--appendonly", "yes"]);
    let mut c = t.client();
    fill_every_type(&mut c, "t");
    let expected = dump(&mut c);
    assert!(t.terminate(Duration::from_secs(20)).unwrap().success());
    let Some(r) = on_dir(NodeKind::Redis, t.dir.path(), &["--appendonly", "yes"]) else {
        return;
    };
    assert_eq!(dump(&mut r.client()), expected);
}

fn start_fails(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "--port".to_string(),
        tandem_tests::tools::free_port().to_string(),
        "--dir".to_string(),
        dir.to_str().unwrap().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = Command::new(tandem_tests::tools::workspace_bin("tandem"))
        .args(&args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "tandem started on a corrupt file");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn torn_aof_tail_is_cut_only_when_allowed() {
    let mut node = Node::tandem(&["--appendonly", "yes"]);
    let mut c = node.client();
    c.cmd(&["SET", "kept", "1"]);
    node.kill();
    let incr = node
        .dir
        .path()
        .join("appendonlydir/appendonly.aof.1.incr.aof");
    let good = std::fs::metadata(&incr).unwrap().len();
    let mut bytes = std::fs::read(&incr).unwrap();
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\ntorn");
    std::fs::write(&incr, &bytes).unwrap();
    let msg = start_fails(
        node.dir.path(),
        &["--appendonly", "yes", "--aof-load-truncated", "no"],
    );
    assert!(
        msg.contains(
            "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof."
        ),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&incr).unwrap(),
        bytes,
        "the file was modified"
    );
    let again = on_dir(NodeKind::Tandem, node.dir.path(), &["--appendonly", "yes"]).unwrap();
    assert_eq!(
        again.client().cmd(&["GET", "kept"]),
        Reply::Bulk(b"1".to_vec())
    );
    assert!(again
        .log()
        .contains("loaded anyway because aof-load-truncated is enabled"));
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good);
}

#[test]
fn corrupt_rdb_stops_start_up_and_is_left_alone() {
    let mut node = Node::tandem(&[]);
    let mut c = node.client();
    fill_every_type(&mut c, "k");
    c.cmd(&["SAVE"]);
    node.kill();
    let rdb = node.dir.path().join("dump.rdb");
    let mut bytes = std::fs::read(&rdb).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x5a;
    std::fs::write(&rdb, &bytes).unwrap();
    let msg = start_fails(node.dir.path(), &[]);
    assert!(msg.contains("dump.rdb"), "{msg}");
    assert_eq!(std::fs::read(&rdb).unwrap(), bytes);
    bytes.truncate(bytes.len() / 3);
    std::fs::write(&rdb, &bytes).unwrap();
    let msg = start_fails(node.dir.path(), &[]);
    assert!(msg.contains("dump.rdb") && msg.contains("offset"), "{msg}");
}

/// A node killed while a BGSAVE is writing leaves the previous snapshot in place, whole:
/// the restart loads exactly what the last SAVE had, and the file still checks.
#[test]
fn kill_9_during_bgsave_keeps_the_previous_snapshot() {
    let mut node = Node::tandem(&[]);
    let mut c = node.client();
    fill_every_type(&mut c, "k");
    assert_eq!(c.cmd(&["SAVE"]), Reply::Simple("OK".into()));
    let saved = dump(&mut c);
    for i in 0..50 {
        c.cmd(&["SET", &format!("after-save-{i}"), "x"]);
    }
    // 20 ms a key: the BGSAVE below takes far longer than the test waits.
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "20000"]);
    assert_eq!(
        c.cmd(&["BGSAVE"]),
        Reply::Simple("Background saving started".into())
    );
    let dir = node.dir.path().to_path_buf();
    let temp_file_created = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("temp-"))
    };
    tandem_tests::wait_until(
        Duration::from_secs(20),
        "the BGSAVE's temporary file",
        temp_file_created,
    );
    assert!(c
        .cmd(&["INFO", "persistence"])
        .text()
        .contains("rdb_bgsave_in_progress:1"));
    node.kill();
    let again = on_dir(NodeKind::Tandem, &dir, &[]).unwrap();
    assert_eq!(dump(&mut again.client()), saved);
    if let Some(check) = redis_tool("redis-check-rdb") {
        let out = Command::new(check)
            .arg(dir.join("dump.rdb"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// kill -9 while a client is writing under appendfsync always: every write the client saw
/// acknowledged is there after the restart, whatever was in flight is cut cleanly.
#[test]
fn kill_9_during_aof_appends_loses_no_acknowledged_write() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let mut node = Node::tandem(&["--appendonly", "yes", "--appendfsync", "always"]);
    let acked = Arc::new(AtomicU64::new(0));
    let mut writer_client = node.client();
    let writer_acked = acked.clone();
    let writer = std::thread::spawn(move || {
        for i in 1u64.. {
            let reply = writer_client.try_cmd(&["RPUSH", "log", &i.to_string()]);
            match reply {
                Some(Reply::Int(n)) if n == i as i64 => writer_acked.store(i, Ordering::SeqCst),
                _ => return,
            }
        }
    });
    tandem_tests::wait_until(Duration::from_secs(20), "2000 acknowledged writes", || {
        acked.load(Ordering::SeqCst) >= 2000
    });
    node.kill();
    writer.join().unwrap();
    let acknowledged = acked.load(Ordering::SeqCst);
    let again = on_dir(NodeKind::Tandem, node.dir.path(), &["--appendonly", "yes"]).unwrap();
    let mut c = again.client();
    let len = c.cmd(&["LLEN", "log"]).int() as u64;
    assert!(
        len >= acknowledged,
        "{len} entries after restart, {acknowledged} acknowledged"
    );
    let all = c.cmd(&["LRANGE", "log", "0", "-1"]);
    let expected: Vec<Reply> = (1..=len)
        .map(|i| Reply::Bulk(i.to_string().into()))
        .collect();
    assert_eq!(all, Reply::Array(expected));
}

/// When the final save fails, SHUTDOWN answers an error and SIGTERM is logged, and the
/// server keeps running with its data, as redis-server does (exiting would lose the writes
/// since the last save); once the save can succeed SHUTDOWN goes ahead, and SHUTDOWN FORCE
/// exits despite a failing save.
fn failed_final_save_keeps_the_server_running(kind: NodeKind) {
    let Some(mut node) = Node::start(kind, &["--save", "3600 1"]) else {
        return;
    };
    let mut c = node.client();
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::Simple("OK".into()));
    // A directory where the RDB file goes: the save cannot rename its temp file onto it.
    let blocker = node.dir.path().join("dump.rdb");
    std::fs::create_dir(&blocker).unwrap();
    assert_eq!(
        c.cmd(&["SHUTDOWN"]),
        Reply::Error("ERR Errors trying to SHUTDOWN. Check logs.".into())
    );
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Bulk(b"v".to_vec()));
    let pid = c.cmd(&["INFO", "server"]).text();
    let pid = pid
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .unwrap()
        .to_string();
    // The refused SHUTDOWN logged it once (read before the signal, which logs it again).
    let abandoned = "Errors trying to shut down the server. Check the logs for more information.";
    assert_eq!(node.log().matches(abandoned).count(), 1);
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    tandem_tests::wait_until(Duration::from_secs(10), "the abandoned SIGTERM", || {
        node.log().matches(abandoned).count() == 2
    });
    assert!(node.is_running());
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    // The way is clear: SHUTDOWN saves and exits, and the data is there after a restart.
    std::fs::remove_dir(&blocker).unwrap();
    c.send(&["SHUTDOWN"]);
    assert!(c.is_closed());
    tandem_tests::wait_until(Duration::from_secs(10), "the exit", || !node.is_running());
    node.kill();
    node.restart();
    let mut c = node.client();
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Bulk(b"v".to_vec()));
    // FORCE exits although the save fails.
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir(&blocker).unwrap();
    c.cmd(&["SET", "k2", "v2"]);
    c.send(&["SHUTDOWN", "FORCE"]);
    assert!(c.is_closed());
    tandem_tests::wait_until(Duration::from_secs(10), "the forced exit", || {
        !node.is_running()
    });
    assert!(node
        .log()
        .contains("Error trying to save the DB. Exit anyway."));
}

#[test]
fn tandem_keeps_running_when_the_final_save_fails() {
    failed_final_save_keeps_the_server_running(NodeKind::Tandem);
}

#[test]
fn redis_keeps_running_when_the_final_save_fails() {
    failed_final_save_keeps_the_server_running(NodeKind::Redis);
}

/// tandem has no stream type: an RDB of redis-server holding a stream stops start-up with
/// a message that names the key and the file, and the file is left as it was.
#[test]
fn an_rdb_with_a_stream_is_refused_naming_the_key() {
    let Some(mut redis) = Node::redis(&[]) else {
        return;
    };
    let mut c = redis.client();
    fill_every_type(&mut c, "k");
    c.cmd(&["XADD", "events", "*", "field", "value"]);
    assert_eq!(c.cmd(&["SAVE"]), Reply::Simple("OK".into()));
    redis.kill();
    let rdb = redis.dir.path().join("dump.rdb");
    let bytes = std::fs::read(&rdb).unwrap();
    let msg = start_fails(redis.dir.path(), &[]);
    assert!(
        msg.contains("dump.rdb") && msg.contains("events") && msg.contains("stream"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&rdb).unwrap(), bytes);
}
