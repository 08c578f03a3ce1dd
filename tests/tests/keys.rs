//! Commands on keys of any type, compared with redis-server 7.0, and active expiry.

use std::time::Duration;

use tandem_tests::{wait_until, Differential, Node};

#[test]
fn key_commands_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["SET", "a", "1"][..],
        &["SET", "b", "2"],
        &["EXISTS", "a", "b", "c", "a"],
        &["DEL", "a", "c"],
        &["UNLINK", "b"],
        &["SET", "src", "v"],
        &["RENAME", "src", "dst"],
        &["RENAME", "src", "dst"],
        &["RENAME", "dst", "dst"],
        &["SET", "other", "x"],
        &["RENAMENX", "dst", "other"],
        &["RENAMENX", "dst", "fresh"],
        &["MOVE", "fresh", "1"],
        &["MOVE", "fresh", "1"],
        &["MOVE", "other", "0"],
        &["MOVE", "other", "99"],
        &["SELECT", "1"],
        &["GET", "fresh"],
        &["COPY", "fresh", "copied"],
        &["COPY", "fresh", "copied"],
        &["COPY", "fresh", "copied", "REPLACE"],
        &["COPY", "fresh", "fresh"],
        &["COPY", "fresh", "x", "DB", "0"],
        &["COPY", "fresh", "x", "BOGUS"],
        &["SELECT", "0"],
        &["GET", "x"],
        &["SET", "t", "v"],
        &["EXPIRE", "t", "100"],
        &["TTL", "t"],
        &["PEXPIRE", "t", "100000", "LT"],
        &["TTL", "t"],
        &["EXPIREAT", "t", "99999999999"],
        &["EXPIRETIME", "t"],
        &["PEXPIREAT", "t", "99999999999000"],
        &["PEXPIRETIME", "t"],
        &["EXPIRE", "t", "notanumber"],
        &["EXPIRE", "t", "9223372036854775807"],
        &["PERSIST", "t"],
        &["TTL", "t"],
        &["TTL", "missing"],
        &["TOUCH", "t", "missing"],
        &["KEYS", "nomatch*"],
        &["SCAN", "notacursor"],
        &["SCAN", "0", "COUNT", "0"],
        &["SCAN", "0", "MATCH"],
        &["OBJECT", "ENCODING", "t"],
        &["OBJECT", "REFCOUNT", "t"],
        &["OBJECT", "FREQ", "t"],
        &["OBJECT", "BOGUS", "t"],
        &["FLUSHALL"],
        &["RANDOMKEY"],
        &["KEYS", "*"],
        &["SCAN", "0"],
    ] {
        d.check(cmd);
    }
    d.check(&["MSET", "k1", "a", "k2", "b", "k3", "c", "kx", "d"]);
    d.check_unordered(&["KEYS", "k?"]);
    d.check_unordered(&["KEYS", "k[12]"]);
    // A full scan returns the same set of keys as Redis.
    let (t, r) = d.both(&["SCAN", "0", "MATCH", "k*", "COUNT", "1000"]);
    let mut tk = t.array()[1].strings();
    let mut rk = r.array()[1].strings();
    tk.sort();
    rk.sort();
    assert_eq!(tk, rk);
    d.check(&["SCAN", "0", "TYPE", "list", "COUNT", "1000"]);
}

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let node = Node::tandem(&["--hz", "100"]);
    let mut c = node.client();
    for i in 0..500 {
        c.send(&["SET", &format!("k{i}"), "v", "PX", "50"]);
    }
    for _ in 0..500 {
        c.read();
    }
    c.cmd(&["SET", "keep", "v"]);
    // DBSIZE counts keys whether or not they expired; only the active cycle lowers it.
    wait_until(
        Duration::from_secs(10),
        "expired keys to be reclaimed",
        || node.client().cmd(&["DBSIZE"]).int() == 1,
    );
    let info = c.cmd(&["INFO", "stats"]).text();
    assert!(info.contains("expired_keys:500\r\n"), "{info}");
}

#[test]
fn lazy_expiry_on_access() {
    let node = Node::tandem(&["--enable-debug-command", "local"]);
    let mut c = node.client();
    c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    c.cmd(&["SET", "k", "v", "PX", "1"]);
    wait_until(Duration::from_secs(5), "the key to expire", || {
        c.cmd(&["PTTL", "k"]).int() == -2
    });
    assert_eq!(c.cmd(&["EXISTS", "k"]).int(), 0);
}
