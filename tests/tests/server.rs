//! Server behaviour: authentication (plaintext and argon2id), protected mode, CONFIG
//! SET/REWRITE, CLIENT, MONITOR, INFO sections, SHUTDOWN and signals, log lines.

use std::time::Duration;

use tandem_tests::client::assert_reply;
use tandem_tests::{wait_until, Differential, Node, Reply};

#[test]
fn requirepass_matches_redis() {
    let Some(mut d) = Differential::start(&["--requirepass", "s3cret"]) else {
        return;
    };
    for cmd in [
        &["GET", "k"][..],
        &["HELLO", "3"],
        &["AUTH", "wrong"],
        &["AUTH", "nobody", "s3cret"],
        &["AUTH", "a", "b", "c"],
        &["PING"],
        &["AUTH", "s3cret"],
        &["SET", "k", "v"],
        &["AUTH", "default", "s3cret"],
        &["GET", "k"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn unauthenticated_requests_are_kept_small_as_redis_keeps_them() {
    let Some(d) = Differential::start(&["--requirepass", "s3cret"]) else {
        return;
    };
    for node in [&d.tandem, &d.redis] {
        // More than 10 arguments, or an argument over 16 KB, before AUTH: refused at the
        // header, without waiting for (or buffering) the rest, and the connection closed.
        for (header, error) in [
            (
                &b"*11\r\n"[..],
                "ERR Protocol error: unauthenticated multibulk length",
            ),
            (
                b"*2\r\n$3\r\nGET\r\n$16385\r\n",
                "ERR Protocol error: unauthenticated bulk length",
            ),
        ] {
            let mut c = node.client();
            c.send_bytes(header);
            assert_eq!(c.read(), Reply::Error(error.into()), "{:?}", node.kind);
            assert!(c.is_closed(), "{:?}", node.kind);
        }
        // AUTH lifts the limits for the very next request, even when both came in one
        // write (as redis-benchmark -a sends them).
        let mut c = node.client();
        let mut batch: Vec<u8> =
            b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*23\r\n$4\r\nMSET\r\n".to_vec();
        for i in 0..11 {
            batch.extend_from_slice(format!("$2\r\nk{}\r\n$5\r\n", i % 10).as_bytes());
            batch.extend_from_slice(b"value\r\n");
        }
        batch.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$2\r\nk3\r\n");
        c.send_bytes(&batch);
        assert_eq!(c.read(), Reply::Simple("OK".into()), "{:?}", node.kind);
        assert_eq!(c.read(), Reply::Simple("OK".into()), "{:?}", node.kind);
        assert_eq!(c.read(), Reply::Bulk(b"value".to_vec()), "{:?}", node.kind);
    }
}

fn argon2_phc(password: &str) -> String {
    pki::password::hash(password.as_bytes()).unwrap()
}

#[test]
fn hashed_requirepass_accepts_the_password_and_rejects_others() {
    let hash = argon2_phc("correct horse");
    let node = Node::tandem(&["--requirepass-hash", &hash]);
    let mut c = node.client();
    assert_reply(
        &mut c,
        &["GET", "k"],
        "-NOAUTH Authentication required.\r\n",
    );
    assert_reply(
        &mut c,
        &["AUTH", "battery staple"],
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    assert_reply(&mut c, &["AUTH", "correct horse"], "+OK\r\n");
    assert_reply(&mut c, &["SET", "k", "v"], "+OK\r\n");
    // HELLO with AUTH verifies the hash, then answers HELLO.
    let mut h = node.client();
    let reply = h.cmd(&["HELLO", "3", "AUTH", "default", "correct horse"]);
    assert!(matches!(reply, Reply::Map(_)), "{reply:?}");
    assert_reply(&mut h, &["GET", "k"], "$1\r\nv\r\n");
    // Pipelined commands after a slow AUTH still run in order.
    let mut p = node.client();
    p.send(&["AUTH", "correct horse"]);
    p.send(&["GET", "k"]);
    assert_eq!(p.read(), Reply::Simple("OK".into()));
    assert_eq!(p.read(), Reply::Bulk(b"v".to_vec()));
    // Verified off the engine lock, each is still one call, and the wrong one a failure.
    let stats = c.cmd(&["INFO", "commandstats"]).text();
    for (name, calls, failed) in [("auth", 3, 1), ("hello", 1, 0)] {
        let line = stats
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {stats}"));
        assert!(line.contains(&format!(":calls={calls},")), "{line}");
        assert!(line.ends_with(&format!(",failed_calls={failed}")), "{line}");
    }
    let errors = c.cmd(&["INFO", "errorstats"]).text();
    assert!(
        errors.contains("errorstat_WRONGPASS:count=1\r\n"),
        "{errors}"
    );
    // CONFIG GET shows the hash, never a plaintext password.
    let cfg = c.cmd(&["CONFIG", "GET", "requirepass-hash"]);
    assert_eq!(cfg.array()[1].text(), hash);
    // A malformed hash is refused at runtime and the old one keeps working.
    assert!(matches!(
        c.cmd(&["CONFIG", "SET", "requirepass-hash", "nothash"]),
        Reply::Error(_)
    ));
    assert_reply(&mut node.client(), &["AUTH", "correct horse"], "+OK\r\n");
}

#[test]
fn config_set_and_rewrite_persist_changes() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("tandem.conf");
    std::fs::write(&conf, "# my node\nmaxmemory 10mb\nhz 10\n").unwrap();
    let node = Node::tandem(&[conf.to_str().unwrap()]);
    let mut c = node.client();
    assert_reply(
        &mut c,
        &["CONFIG", "SET", "maxmemory", "20mb", "hz", "20"],
        "+OK\r\n",
    );
    assert_reply(
        &mut c,
        &["CONFIG", "GET", "maxmemory"],
        "*2\r\n$9\r\nmaxmemory\r\n$8\r\n20971520\r\n",
    );
    // A bad pair leaves every pair of the same CONFIG SET unapplied.
    assert!(matches!(
        c.cmd(&["CONFIG", "SET", "hz", "30", "maxmemory", "x"]),
        Reply::Error(_)
    ));
    assert_reply(
        &mut c,
        &["CONFIG", "GET", "hz"],
        "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n",
    );
    assert_reply(
        &mut c,
        &["CONFIG", "SET", "slowlog-max-len", "256"],
        "+OK\r\n",
    );
    assert_reply(&mut c, &["CONFIG", "REWRITE"], "+OK\r\n");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        // Memory in the largest unit that divides it, as Redis's rewrite writes it.
        text.starts_with("# my node\nmaxmemory 20mb\nhz 20\n"),
        "{text}"
    );
    assert!(text.contains("slowlog-max-len 256"), "{text}");
}

#[test]
fn client_list_names_the_last_command_as_redis_does() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    // The `cmd=` field of a line: the caller's own is the command being run, and a
    // container's subcommand is named `parent|sub`.
    fn cmd_field(line: &str) -> String {
        let field = line.split(' ').find_map(|f| f.strip_prefix("cmd="));
        field
            .unwrap_or_else(|| panic!("no cmd= in {line}"))
            .to_string()
    }
    let mut names = Vec::new();
    for (node, own) in [(&d.tandem, &mut d.t), (&d.redis, &mut d.r)] {
        let mut other = node.client();
        let mut seen = vec![cmd_field(&own.cmd(&["CLIENT", "INFO"]).text())];
        for cmd in [
            &["CONFIG", "GET", "maxmemory"][..],
            &["SET", "k", "v"],
            &["OBJECT", "HELP"],
            &["SLOWLOG", "LEN"],
        ] {
            own.cmd(cmd);
            let id = own.cmd(&["CLIENT", "ID"]).int().to_string();
            own.cmd(cmd);
            let list = other.cmd(&["CLIENT", "LIST", "ID", &id]).text();
            seen.push(cmd_field(&list));
        }
        let list = own.cmd(&["CLIENT", "LIST"]).text();
        let id = own.cmd(&["CLIENT", "ID"]).int().to_string();
        let line = list
            .lines()
            .find(|l| l.starts_with(&format!("id={id} ")))
            .unwrap();
        seen.push(cmd_field(line));
        names.push(seen);
    }
    assert_eq!(names[0], names[1], "tandem (left) and redis (right)");
    assert_eq!(names[0][1], "config|get", "{names:?}");
}

#[test]
fn slowlog_and_latency_match_redis() {
    // Nothing is slow enough to log, and no latency event is recorded: both servers give
    // the replies of an instance with empty logs.
    let Some(mut d) = Differential::start(&["--slowlog-log-slower-than", "-1"]) else {
        return;
    };
    for cmd in [
        &["SLOWLOG", "GET"][..],
        &["SLOWLOG", "GET", "5"],
        &["SLOWLOG", "GET", "-1"],
        &["SLOWLOG", "GET", "abc"],
        &["SLOWLOG", "LEN"],
        &["SLOWLOG", "LEN", "x"],
        &["SLOWLOG", "RESET"],
        &["SLOWLOG", "NOPE"],
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "HISTORY"],
        &["LATENCY", "RESET"],
        &["LATENCY", "RESET", "a", "b"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "GRAPH"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "DOCTOR", "x"],
        &["LATENCY", "HISTOGRAM", "nosuchcommand"],
        &["LATENCY", "GRAPH", "a", "b"],
        &["LATENCY", "NOPE"],
        &["SLOWLOG", "GET", "5", "6"],
        &["SLOWLOG", "GET", "-2"],
        &["SLOWLOG", "RESET", "x"],
        &["SLOWLOG"],
        &["LATENCY"],
        &["CONFIG", "SET", "latency-monitor-threshold", "100"],
        &["LATENCY", "DOCTOR"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn client_list_kill_and_names() {
    let node = Node::tandem(&[]);
    let mut a = node.client();
    let mut b = node.client();
    assert_reply(&mut b, &["CLIENT", "SETNAME", "victim"], "+OK\r\n");
    let id = b.cmd(&["CLIENT", "ID"]).int();
    let list = a.cmd(&["CLIENT", "LIST"]).text();
    assert!(
        list.contains(&format!("id={id} ")) && list.contains("name=victim"),
        "{list}"
    );
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &id.to_string()]).int(), 1);
    assert!(b.is_closed());
    wait_until(
        Duration::from_secs(5),
        "the killed client to leave CLIENT LIST",
        || !a.cmd(&["CLIENT", "LIST"]).text().contains("name=victim"),
    );
}

#[test]
fn client_kill_closes_a_client_that_never_stops_sending() {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let node = Node::tandem(&[]);
    let mut admin = node.client();
    let mut busy = node.client();
    let id = busy.cmd(&["CLIENT", "ID"]).int();
    // One thread floods pipelined PINGs and another reads the replies as fast as they
    // come: the connection is never idle and its writes never block, so the kill has to
    // reach it between batches of requests.
    let mut writer = busy.stream.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        let chunk = b"PING\r\n".repeat(1000);
        while writer.write_all(&chunk).is_ok() {}
    });
    let received = Arc::new(AtomicUsize::new(0));
    let mut reader = busy.stream.try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let counter = received.clone();
    let drain = std::thread::spawn(move || {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => counter.fetch_add(n, Ordering::Relaxed),
                Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
            };
        }
    });
    wait_until(Duration::from_secs(10), "replies to the flood", || {
        received.load(Ordering::Relaxed) > 1_000_000
    });
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "ID", &id.to_string()]).int(),
        1
    );
    assert!(
        drain.join().unwrap(),
        "the flooding client was not closed after CLIENT KILL"
    );
    flood.join().unwrap();
    assert_reply(&mut admin, &["PING"], "+PONG\r\n");
}

#[test]
fn client_reply_off_and_skip() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    c.send(&["CLIENT", "REPLY", "SKIP"]);
    c.send(&["SET", "a", "1"]);
    c.send(&["GET", "a"]);
    assert_eq!(c.read(), Reply::Bulk(b"1".to_vec()));
    c.send(&["CLIENT", "REPLY", "OFF"]);
    c.send(&["SET", "b", "2"]);
    c.send(&["CLIENT", "REPLY", "ON"]);
    assert_eq!(c.read(), Reply::Simple("OK".into()));
    assert_reply(&mut c, &["GET", "b"], "$1\r\n2\r\n");
}

#[test]
fn monitor_sees_commands_of_other_clients() {
    let node = Node::tandem(&[]);
    let mut m = node.client();
    assert_reply(&mut m, &["MONITOR"], "+OK\r\n");
    node.client()
        .cmd(&["SET", "watched", "value with \"quotes\""]);
    let line = m.read().text();
    assert!(
        line.contains("\"SET\" \"watched\" \"value with \\\"quotes\\\"\""),
        "{line}"
    );
}

#[test]
fn info_has_every_section_and_field_redis_has() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["SET", "k", "v"]);
    let (t, r) = d.both(&["INFO", "everything"]);
    let fields = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with('#') || l.contains(':'))
            .map(|l| l.split(':').next().unwrap().to_string())
            .collect()
    };
    let tf = fields(t.text());
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Keyspace",
    ] {
        assert!(
            tf.contains(&section.to_string()),
            "tandem INFO lacks {section}"
        );
    }
    // The fields scripts and redis-cli read must be there with Redis's names.
    for field in [
        "redis_version",
        "process_id",
        "run_id",
        "tcp_port",
        "uptime_in_seconds",
        "connected_clients",
        "used_memory",
        "used_memory_rss",
        "rdb_changes_since_last_save",
        "aof_enabled",
        "total_commands_processed",
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "role",
        "connected_slaves",
        "master_replid",
        "master_repl_offset",
        "used_cpu_sys",
        "db0",
    ] {
        assert!(tf.contains(&field.to_string()), "tandem INFO lacks {field}");
        assert!(
            fields(r.text()).contains(&field.to_string()),
            "redis INFO lacks {field}?"
        );
    }
    let keyspace = d.check(&["INFO", "keyspace"]);
    assert!(keyspace.text().contains("db0:keys=1,expires=0,avg_ttl=0"));
}

#[test]
fn shutdown_command_and_sigterm_exit_cleanly_with_log_lines() {
    let mut node = Node::tandem(&[]);
    let log = node.log();
    assert!(log.contains("Ready to accept connections tcp"), "{log}");
    let status = node
        .terminate(Duration::from_secs(10))
        .expect("exit status");
    assert!(status.success(), "{status}");
    assert!(node
        .log()
        .contains("Received SIGTERM scheduling shutdown..."));

    let mut node = Node::tandem(&[]);
    let mut c = node.client();
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed());
    wait_until(
        Duration::from_secs(10),
        "the server to exit after SHUTDOWN",
        || !node.is_running(),
    );
}

#[test]
fn a_signal_shutdown_waits_for_the_cron_and_can_be_aborted() {
    let mut node = Node::tandem(&["--enable-debug-command", "yes"]);
    let mut c = node.client();
    let pid = c.cmd(&["INFO", "server"]).info_field("process_id").unwrap();
    // With the cron paused the SIGTERM waits, and SHUTDOWN ABORT cancels it (as Redis).
    assert_eq!(
        c.cmd(&["DEBUG", "PAUSE-CRON", "1"]),
        Reply::Simple("OK".into())
    );
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    wait_until(Duration::from_secs(10), "the SIGTERM to be logged", || {
        node.log()
            .contains("Received SIGTERM scheduling shutdown...")
    });
    assert_eq!(c.cmd(&["SHUTDOWN", "ABORT"]), Reply::Simple("OK".into()));
    assert!(node.log().contains("Shutdown manually aborted."));
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT"]),
        Reply::Error("ERR No shutdown in progress.".into())
    );
    assert_eq!(
        c.cmd(&["DEBUG", "PAUSE-CRON", "0"]),
        Reply::Simple("OK".into())
    );
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert!(node.is_running());
    // A SIGINT while the shutdown save runs exits at once and removes its temporary RDB.
    c.cmd(&["CONFIG", "SET", "save", "3600 1"]);
    c.cmd(&["DEBUG", "POPULATE", "20"]);
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "200000"]);
    let temp = node.dir.path().join(format!("temp-{pid}.rdb"));
    let signal = |name: &str| {
        std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .unwrap()
    };
    signal("-INT");
    wait_until(
        Duration::from_secs(10),
        "the shutdown save to start",
        || temp.exists(),
    );
    signal("-INT");
    wait_until(Duration::from_secs(10), "the insisted exit", || {
        !node.is_running()
    });
    assert!(!temp.exists());
    assert!(node.log().contains("You insist... exiting now."));
}

#[test]
fn clients_connect_over_the_unix_socket() {
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;
    let sock_dir = tempfile::tempdir().unwrap();
    let path = sock_dir.path().join("tandem.sock");
    let mut node = Node::tandem(&[
        "--unixsocket",
        path.to_str().unwrap(),
        "--unixsocketperm",
        "700",
    ]);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"CLIENT INFO\r\n").unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    let info = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        info.contains(&format!("addr={}:0 ", path.display())) && info.contains("flags=U "),
        "{info}"
    );
    // `bind ""`: TCP is gone, the unix socket still serves.
    let mut c = node.client();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "bind", ""]),
        Reply::Simple("OK".into())
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", node.port)).is_err());
    s.write_all(b"PING\r\n").unwrap();
    let n = s.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"+PONG\r\n");
    s.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
    wait_until(Duration::from_secs(10), "the server to exit", || {
        !node.is_running()
    });
    assert!(!path.exists(), "the socket file is removed at exit");
}

#[test]
fn the_process_title_follows_the_template() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    let pid = c.cmd(&["INFO", "server"]).info_field("process_id").unwrap();
    let cmdline = || {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        String::from_utf8_lossy(&raw[..end]).into_owned()
    };
    // Redis's default template: the program and its first bind address and port.
    let port = node.port;
    assert!(
        cmdline().ends_with(&format!("/tandem 127.0.0.1:{port}")),
        "{}",
        cmdline()
    );
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "proc-title-template",
            "TEST {title} {port} {config-file}"
        ]),
        Reply::Simple("OK".into())
    );
    let title = cmdline();
    assert!(
        title.starts_with("TEST ") && title.ends_with(&format!("/tandem {port} -")),
        "{title}"
    );
    assert!(matches!(
        c.cmd(&["CONFIG", "SET", "proc-title-template", "{invalid-var}"]),
        Reply::Error(e) if e.contains("template format is invalid")
    ));
}

#[test]
fn rename_command_hides_the_old_name() {
    let node = Node::tandem(&[
        "--rename-command",
        "CONFIG",
        "ADMINCFG",
        "--rename-command",
        "FLUSHALL",
        "",
    ]);
    let mut c = node.client();
    // Repeated use of the new name must not make the old one reachable.
    for _ in 0..3 {
        assert_eq!(c.cmd(&["ADMINCFG", "GET", "hz"]).array()[1].text(), "10");
    }
    assert!(
        matches!(c.cmd(&["CONFIG", "GET", "hz"]), Reply::Error(e) if e.starts_with("ERR unknown command 'CONFIG'"))
    );
    assert!(
        matches!(c.cmd(&["FLUSHALL"]), Reply::Error(e) if e.starts_with("ERR unknown command"))
    );
}

#[test]
fn command_docs_give_redis_cli_its_hints() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    let flat = String::from_utf8(c.raw(&["COMMAND", "DOCS", "SET", "CONFIG"])).unwrap();
    assert!(flat.contains("key value [NX|XX] [GET]"), "{flat}");
    assert!(
        flat.contains("config|get") && flat.contains("parameter [parameter ...]"),
        "{flat}"
    );
    // COMMAND LIST names the subcommands too, as Redis 7.0 does; COUNT counts commands.
    let list = c.cmd(&["COMMAND", "LIST"]).strings();
    let top_level = list.iter().filter(|n| !n.contains('|')).count();
    assert_eq!(c.cmd(&["COMMAND", "COUNT"]).int() as usize, top_level);
    assert!(list.iter().any(|n| n == "config|get"), "{list:?}");
    let info = c.cmd(&["COMMAND", "INFO", "GET"]);
    assert_eq!(info.array()[0].array()[0].text(), "get");
    assert_eq!(info.array()[0].array()[1].int(), 2);
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"])
            .strings(),
        ["a", "b"]
    );
}

#[test]
fn maxclients_refuses_the_extra_connection() {
    let node = Node::tandem(&["--maxclients", "2"]);
    let mut a = node.client();
    // The harness's readiness probe may still be counted: wait until `a` is alone.
    wait_until(Duration::from_secs(5), "only one client connected", || {
        a.cmd(&["CLIENT", "LIST"]).text().lines().count() == 1
    });
    let mut b = node.client();
    assert_reply(&mut a, &["PING"], "+PONG\r\n");
    assert_reply(&mut b, &["PING"], "+PONG\r\n");
    let mut c = node.client();
    assert_eq!(
        c.read(),
        Reply::Error("ERR max number of clients reached".into())
    );
    assert!(c.is_closed());
    assert_reply(&mut a, &["PING"], "+PONG\r\n");
}

/// Threads of process `pid` named by tokio (its workers, and its pool for blocking work).
fn runtime_threads(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("task list")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("tokio-"))
        .count()
}

#[test]
fn io_threads_sets_how_many_threads_serve_clients() {
    // The default serves clients on the main thread; io-threads 3 starts three tokio
    // workers. Both have one more tokio thread, the blocking pool's, which the cron's first
    // tick (every 100 ms) starts.
    for (setting, active, tokio_threads) in [(None, "0", 1), (Some("3"), "1", 4)] {
        let args: Vec<&str> = setting.map_or(vec![], |n| vec!["--io-threads", n]);
        let node = Node::tandem(&args);
        let mut c = node.client();
        let info = c.cmd(&["INFO", "server"]);
        let field = |name: &str| {
            info.info_field(name)
                .unwrap_or_else(|| panic!("INFO lacks {name}"))
        };
        assert_eq!(field("io_threads_active"), active, "io-threads {setting:?}");
        let expected = setting.unwrap_or("1");
        assert_reply(
            &mut c,
            &["CONFIG", "GET", "io-threads"],
            &format!("*2\r\n$10\r\nio-threads\r\n$1\r\n{expected}\r\n"),
        );
        let pid = field("process_id");
        wait_until(
            Duration::from_secs(5),
            &format!("{tokio_threads} tokio threads with io-threads {setting:?}"),
            || runtime_threads(&pid) == tokio_threads,
        );
    }
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let node = Node::tandem(&["--timeout", "1"]);
    let mut idle = node.client();
    assert_reply(&mut idle, &["PING"], "+PONG\r\n");
    // The server closes the idle client on its own; is_closed polls until EOF.
    idle.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(
        idle.is_closed(),
        "an idle client must be closed after `timeout` seconds"
    );
}

#[test]
fn slow_subscriber_is_disconnected_at_the_pubsub_output_limit() {
    let node = Node::tandem(&["--client-output-buffer-limit", "pubsub 256kb 0 0"]);
    let mut sub = node.client();
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "firehose"]).array()[0].text(),
        "subscribe"
    );
    // The subscriber never reads: once the socket buffers fill, messages queue up in the
    // server until the limit closes the subscriber.
    let mut publisher = node.client();
    let payload = "x".repeat(64 * 1024);
    wait_until(
        Duration::from_secs(20),
        "the slow subscriber to be dropped",
        || {
            publisher.cmd(&["PUBLISH", "firehose", payload.as_str()]);
            publisher.cmd(&["PUBSUB", "NUMSUB", "firehose"]).array()[1].int() == 0
        },
    );
    assert_reply(&mut publisher, &["PING"], "+PONG\r\n");
}

/// A local address other than loopback (the source address of the default route), if the
/// machine has one: protected mode concerns only clients from such addresses.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing; it only picks the route and source address.
    probe.connect("192.0.2.1:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Connects to `ip:port` (so the client's address is `ip` too), sends `request` and
/// returns the first reply line and whether the server then closed the connection.
fn first_reply_from(ip: std::net::IpAddr, port: u16, request: &[u8]) -> (String, bool) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect((ip, port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => reply.push(byte[0]),
            _ => break,
        }
    }
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    // A server that closes without reading the request resets the connection.
    let closed = match stream.read(&mut byte) {
        Ok(n) => n == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    (String::from_utf8_lossy(&reply).into_owned(), closed)
}

#[test]
fn protected_mode_refuses_other_hosts_until_a_password_is_set_as_redis_does() {
    let Some(ip) = non_loopback_address() else {
        eprintln!("skipped: this machine has no address other than loopback");
        return;
    };
    let bind = format!("127.0.0.1 {ip}");
    let Some(mut d) = Differential::start(&["--bind", &bind]) else {
        return;
    };
    let ping = b"PING\r\n";
    let (denied, closed) = first_reply_from(ip, d.tandem.port, ping);
    assert!(
        denied.starts_with("-DENIED Redis is running in protected mode"),
        "{denied}"
    );
    assert!(closed, "a refused client must be disconnected");
    assert_eq!(first_reply_from(ip, d.redis.port, ping).0, denied);
    // Loopback clients are not affected.
    d.check(&["PING"]);
    // With a password, other hosts may connect (and must authenticate).
    d.check(&["CONFIG", "SET", "requirepass", "pw"]);
    let (noauth, closed) = first_reply_from(ip, d.tandem.port, ping);
    assert_eq!(noauth, "-NOAUTH Authentication required.\r\n");
    assert!(!closed);
    assert_eq!(first_reply_from(ip, d.redis.port, ping).0, noauth);
    // Or with protected mode off.
    d.check(&["AUTH", "pw"]);
    d.check(&["CONFIG", "SET", "requirepass", ""]);
    d.check(&["CONFIG", "SET", "protected-mode", "no"]);
    let (pong, closed) = first_reply_from(ip, d.tandem.port, ping);
    assert_eq!(pong, "+PONG\r\n");
    assert!(!closed);
    assert_eq!(first_reply_from(ip, d.redis.port, ping).0, pong);
}

/// The main thread's count of voluntary context switches (times it went to sleep).
fn main_thread_sleeps(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/status"))
        .expect("thread status")
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .expect("voluntary_ctxt_switches")
        .trim()
        .parse()
        .expect("a count")
}

/// The main thread's scheduler state ('R' running, 'S' sleeping...).
fn main_thread_state(pid: &str) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/stat")).expect("stat");
    // The name in parentheses may hold spaces; the state follows the last ')'.
    stat[stat.rfind(')').expect("comm") + 1..]
        .trim_start()
        .chars()
        .next()
        .expect("state")
}

#[test]
fn busy_poll_keeps_the_loop_awake_between_requests_and_then_sleeps() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    assert_reply(
        &mut c,
        &["CONFIG", "GET", "busy-poll-us"],
        "*2\r\n$12\r\nbusy-poll-us\r\n$2\r\n50\r\n",
    );
    let pid = c
        .cmd(&["INFO", "server"])
        .info_field("process_id")
        .expect("process_id");
    // One request at a time: without polling the loop sleeps between a reply and the
    // next request, nearly every time on an idle machine (on a busy one the kernel often
    // runs the woken client first, so the request is there before the loop would sleep);
    // with a window far longer than a round trip (but far shorter than the run, so each
    // request must renew it) it does not, bar a stall of the client past 10 ms now and then.
    const REQUESTS: u64 = 5000;
    let mut sleeps_with_window = |window: &str| {
        assert_reply(
            &mut c,
            &["CONFIG", "SET", "busy-poll-us", window],
            "+OK\r\n",
        );
        assert_reply(&mut c, &["PING"], "+PONG\r\n");
        let before = main_thread_sleeps(&pid);
        for _ in 0..REQUESTS {
            assert_reply(&mut c, &["PING"], "+PONG\r\n");
        }
        main_thread_sleeps(&pid) - before
    };
    let off = sleeps_with_window("0");
    let polling = sleeps_with_window("10000");
    assert!(
        off > 100 && off > 4 * polling && polling < REQUESTS / 10,
        "slept {off} times without polling, {polling} with a 10 ms window"
    );
    // With traffic gone, the loop goes back to sleeping rather than spinning for ever.
    assert_reply(&mut c, &["CONFIG", "SET", "busy-poll-us", "50"], "+OK\r\n");
    assert_reply(&mut c, &["PING"], "+PONG\r\n");
    wait_until(
        Duration::from_secs(5),
        "the idle main thread asleep",
        || main_thread_state(&pid) == 'S',
    );
    assert_reply(
        &mut c,
        &["CONFIG", "SET", "busy-poll-us", "1000001"],
        "-ERR CONFIG SET failed (possibly related to argument 'busy-poll-us') - argument must be between 0 and 1000000 inclusive\r\n",
    );
}
