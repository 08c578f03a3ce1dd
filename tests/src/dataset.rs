//! Whole datasets: filling a node with every type and encoding size, reading everything
//! back (every key, type, value, and whether it has a TTL), and waiting for two nodes to
//! hold the same data.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::{Client, Reply};
use crate::wait_until;

/// Writes keys of every type, in small (listpack/intset) and large (hashtable/skiplist,
/// multi-node quicklist) encodings, with and without expiry, in databases 0 and 3.
/// `tag` makes the keys of successive calls distinct.
pub fn fill_every_type(c: &mut Client, tag: &str) {
    let ok = |r: Reply| assert!(!matches!(r, Reply::Error(_)), "fill failed: {r:?}");
    for db in ["0", "3"] {
        ok(c.cmd(&["SELECT", db]));
        ok(c.cmd(&["SET", &format!("{tag}:int"), "12345"]));
        ok(c.cmd(&["SET", &format!("{tag}:str"), "hello world"]));
        ok(c.cmd(&["SET", &format!("{tag}:long"), &"abcdefgh".repeat(40)]));
        ok(c.cmd(&["SET", &format!("{tag}:ttl"), "v", "EX", "3600"]));
        ok(c.cmd(&["RPUSH", &format!("{tag}:list"), "a", "b", "1", "-7"]));
        let big: Vec<String> = (0..600)
            .map(|i| format!("element-{i}-{}", "x".repeat(i % 50)))
            .collect();
        let mut args = vec!["RPUSH".to_string(), format!("{tag}:biglist")];
        args.extend(big.iter().cloned());
        ok(c.cmd(&args));
        ok(c.cmd(&["HSET", &format!("{tag}:hash"), "f1", "v1", "f2", "2"]));
        let mut args = vec!["HSET".to_string(), format!("{tag}:bighash")];
        for i in 0..300 {
            args.push(format!("field{i}"));
            args.push(format!("value{i}"));
        }
        ok(c.cmd(&args));
        ok(c.cmd(&["SADD", &format!("{tag}:intset"), "1", "2", "300", "-5"]));
        let mut args = vec!["SADD".to_string(), format!("{tag}:set")];
        args.extend((0..200).map(|i| format!("member{i}")));
        ok(c.cmd(&args));
        ok(c.cmd(&[
            "ZADD",
            &format!("{tag}:zset"),
            "1",
            "a",
            "2.5",
            "b",
            "-3",
            "c",
        ]));
        let mut args = vec!["ZADD".to_string(), format!("{tag}:bigzset")];
        for i in 0..300 {
            args.push(format!("{}", i as f64 / 7.0));
            args.push(format!("m{i}"));
        }
        ok(c.cmd(&args));
        ok(c.cmd(&["HSET", &format!("{tag}:ttlhash"), "a", "b"]));
        ok(c.cmd(&["PEXPIRE", &format!("{tag}:ttlhash"), "7200000"]));
    }
    ok(c.cmd(&["SELECT", "0"]));
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Every key of databases 0..16 with its type, value and whether it has a TTL.
pub fn dump(c: &mut Client) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for db in 0..16 {
        c.cmd(&["SELECT", &db.to_string()]);
        for key in c.cmd(&["KEYS", "*"]).strings() {
            let ty = c.cmd(&["TYPE", &key]).text();
            let value = match ty.as_str() {
                "string" => vec![c.cmd(&["GET", &key]).text()],
                "list" => c.cmd(&["LRANGE", &key, "0", "-1"]).strings(),
                "hash" => {
                    let flat = c.cmd(&["HGETALL", &key]).strings();
                    sorted(
                        flat.chunks(2)
                            .map(|p| format!("{}={}", p[0], p[1]))
                            .collect(),
                    )
                }
                "set" => sorted(c.cmd(&["SMEMBERS", &key]).strings()),
                "zset" => c.cmd(&["ZRANGE", &key, "0", "-1", "WITHSCORES"]).strings(),
                "none" => continue,
                other => vec![format!("unexpected type {other}")],
            };
            let ttl = c.cmd(&["PTTL", &key]).int() > 0;
            out.insert(
                format!("{db}:{key}"),
                format!("{ty} ttl={ttl} {}", value.join(",")),
            );
        }
    }
    c.cmd(&["SELECT", "0"]);
    out
}

/// Waits until `replica` holds exactly `master`'s dataset; panics naming the first
/// difference after `timeout`.
pub fn wait_same(master: &mut Client, replica: &mut Client, timeout: Duration) {
    let mut last = (BTreeMap::new(), BTreeMap::new());
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        let (m, r) = (dump(master), dump(replica));
        if m == r && !m.is_empty() {
            return;
        }
        last = (m, r);
        std::thread::sleep(Duration::from_millis(50));
    }
    let (m, r) = last;
    let missing: Vec<_> = m
        .iter()
        .filter(|(k, v)| r.get(*k) != Some(v))
        .take(3)
        .collect();
    let extra: Vec<_> = r.keys().filter(|k| !m.contains_key(*k)).take(3).collect();
    panic!(
        "datasets differ ({} vs {} keys); first differences: {missing:?}; extra on replica: {extra:?}",
        m.len(),
        r.len()
    );
}

/// Polls until `f` holds (for INFO fields and logs), with a 20 s deadline.
pub fn eventually(what: &str, f: impl FnMut() -> bool) {
    wait_until(Duration::from_secs(20), what, f);
}
