//! The user's walkthrough (a Redis master/replica tutorial) run as written, with tandem in
//! place of redis-server: its two configuration files, `redis-cli -a mypassword`, INFO
//! REPLICATION on both sides and reads of the replicated keys on the replica. Docker is
//! left out: the master's host name is `localhost` instead of the container's name, and the
//! harness adds port, dir and `--bind 127.0.0.1` (tests do not listen on every interface)
//! after the configuration file, as command-line overrides.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tandem_tests::{redis_tool, wait_until, Node};

/// `redis-cli -p <port> <args>`: its standard output, and its standard error (warnings).
fn cli(port: u16, args: &[&str]) -> (String, String) {
    let bin = redis_tool("redis-cli").expect("checked by the caller");
    let out = Command::new(bin)
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_conf(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The value of `field` in INFO output.
fn field<'a>(info: &'a str, field: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in:\n{info}"))
        .trim_end()
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn master_replica_walkthrough_as_written() {
    if redis_tool("redis-cli").is_none() {
        return;
    }
    let confs = tempfile::tempdir().unwrap();
    let master_conf = write_conf(
        confs.path(),
        "master.conf",
        "# Bind to all interfaces (needed for Docker)\n\
         bind 0.0.0.0\n\
         # Optional: Set a password for security\n\
         requirepass mypassword\n\
         # Enable persistence (optional, for data durability)\n\
         appendonly yes\n",
    );
    // The harness turns persistence off after the file; the walkthrough's master has it on.
    let master = Node::tandem(&[master_conf.to_str().unwrap(), "--appendonly", "yes"]);
    let replica_conf = write_conf(
        confs.path(),
        "replica.conf",
        &format!(
            "# Bind to all interfaces\n\
             bind 0.0.0.0\n\
             # Specify the master to replicate from\n\
             replicaof localhost {}\n\
             # Password for the master (if set)\n\
             masterauth mypassword\n",
            master.port
        ),
    );
    let replica = Node::tandem(&[replica_conf.to_str().unwrap()]);
    let auth = ["-a", "mypassword"];
    let on_master = |args: &[&str]| cli(master.port, &[&auth[..], args].concat()).0;
    assert_eq!(on_master(&["SET", "key1", "value1"]), "OK\n");
    assert_eq!(on_master(&["SET", "key2", "value2"]), "OK\n");
    // Without the password the master refuses.
    assert!(cli(master.port, &["GET", "key1"])
        .0
        .starts_with("NOAUTH Authentication required."));

    // Online comes first; the offset follows with the replica's next ACK (once a second),
    // which may be the first to cover the two writes.
    wait_until(
        Duration::from_secs(30),
        "the replica online and acknowledging",
        || {
            let info = on_master(&["INFO", "REPLICATION"]);
            info.contains("state=online") && !info.contains("state=online,offset=0,")
        },
    );
    let info = on_master(&["INFO", "REPLICATION"]);
    assert!(info.starts_with("# Replication\r\n"), "{info}");
    assert_eq!(field(&info, "role"), "master");
    assert_eq!(field(&info, "connected_slaves"), "1");
    let slave0 = field(&info, "slave0");
    let prefix = format!("ip=127.0.0.1,port={},state=online,offset=", replica.port);
    let rest = slave0
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{slave0}"));
    let (offset, lag) = rest.split_once(",lag=").unwrap();
    assert!(offset.parse::<u64>().unwrap() > 0, "{slave0}");
    assert!(lag.parse::<u64>().unwrap() <= 1, "{slave0}");
    assert_eq!(field(&info, "master_failover_state"), "no-failover");
    assert!(is_hex_id(field(&info, "master_replid")), "{info}");
    assert_eq!(field(&info, "master_replid2"), "0".repeat(40));

    // On the replica, with `-a mypassword` as the walkthrough types it: the replica has no
    // requirepass, so redis-cli warns that AUTH failed and goes on.
    let (value, warnings) = cli(replica.port, &["-a", "mypassword", "GET", "key1"]);
    assert_eq!(value, "value1\n");
    assert!(
        warnings.contains("AUTH failed: ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"),
        "{warnings}"
    );
    assert_eq!(cli(replica.port, &["GET", "key2"]).0, "value2\n");
    let info = cli(replica.port, &["-a", "mypassword", "INFO", "REPLICATION"]).0;
    assert_eq!(field(&info, "role"), "slave");
    assert_eq!(field(&info, "master_host"), "localhost");
    assert_eq!(field(&info, "master_port"), master.port.to_string());
    assert_eq!(field(&info, "master_link_status"), "up");
    // And the master's appendonly yes put the writes in its append-only file.
    let aof_dir = master.dir.path().join("appendonlydir");
    let incr = std::fs::read_dir(&aof_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .expect("an INCR file");
    let text = std::fs::read_to_string(incr).unwrap();
    assert!(text.contains("key1") && text.contains("value2"), "{text}");
}
