//! `maxmemory` and eviction, against the real binary and, where the outcome does not
//! depend on how much memory each server uses, byte for byte against a real redis-server
//! 7.0: the -OOM refusals, LFU counters, which keys each policy evicts, evictions reaching
//! a replica as DEL, and `used_memory` following what is allocated.

use tandem_tests::dataset::eventually;
use tandem_tests::{Client, Differential, Node, NodeKind, Reply};

const VALUE_LEN: usize = 1000;

fn field(c: &mut Client, section: &str, name: &str) -> i64 {
    let info = c.cmd(&["INFO", section]);
    let value = info
        .info_field(name)
        .unwrap_or_else(|| panic!("no {name} in INFO {section}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{name}:{value} is not a number"))
}

/// Sends every command, then reads every reply, asserting none is an error.
fn pipeline<A: AsRef<[u8]> + std::fmt::Debug>(c: &mut Client, commands: &[Vec<A>]) {
    for args in commands {
        c.send(args);
    }
    for args in commands {
        let reply = c.read();
        assert!(!matches!(reply, Reply::Error(_)), "{args:?}: {reply:?}");
    }
}

fn set_commands(prefix: &str, n: usize, extra: &[&str]) -> Vec<Vec<String>> {
    let value = "v".repeat(VALUE_LEN);
    (0..n)
        .map(|i| {
            let mut args = vec!["SET".to_string(), format!("{prefix}:{i}"), value.clone()];
            args.extend(extra.iter().map(|s| s.to_string()));
            args
        })
        .collect()
}

/// How many of `prefix:0..n` exist (EXISTS does not count as an access).
fn surviving(c: &mut Client, prefix: &str, n: usize) -> usize {
    (0..n)
        .filter(|i| c.cmd(&["EXISTS", &format!("{prefix}:{i}")]).int() == 1)
        .count()
}

/// Asserts that eviction spared the 300 keys `key:0..300` the test read: LRU and LFU are
/// approximated by sampling, in Redis as here, so a pass whose pool holds only such keys
/// evicts one of them, rarely; random eviction would keep about two thirds of them.
fn assert_read_keys_kept(c: &mut Client, kind: NodeKind) {
    let kept = surviving(c, "key", 300);
    assert!(
        kept >= 295,
        "{kind:?}: {} of the keys read were evicted",
        300 - kept
    );
}

/// Sets maxmemory `below` bytes under what `c`'s server uses now, then writes one more
/// key so that every server, whether it evicts at CONFIG SET or at the next command, has
/// run its eviction; once memory is under the limit, lifts the limit again, so that no
/// further eviction changes what the test then counts. Returns the limit.
fn squeeze(c: &mut Client, below: i64) -> i64 {
    let used = field(c, "memory", "used_memory");
    let limit = used - below;
    let set_limit = |c: &mut Client, limit: &str| {
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "maxmemory", limit]),
            Reply::Simple("OK".into())
        );
    };
    set_limit(c, &limit.to_string());
    assert_eq!(c.cmd(&["SET", "trigger", "1"]), Reply::Simple("OK".into()));
    eventually("eviction brings memory under the limit", || {
        field(c, "memory", "used_memory") <= limit
    });
    set_limit(c, "0");
    limit
}

/// tandem, and redis-server when installed: for assertions that hold on both.
fn nodes(extra: &[&str]) -> Vec<Node> {
    let mut nodes = vec![Node::tandem(extra)];
    nodes.extend(Node::redis(extra));
    nodes
}

#[test]
fn noeviction_refuses_what_may_add_memory_as_redis_does() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["SET", "k0", "v"]);
    d.check(&["MULTI"]);
    d.check(&["SET", "queued", "before the limit"]);
    // Over the limit from here (one byte), and noeviction is the default policy.
    let (mut t2, mut r2) = (d.tandem.client(), d.redis.client());
    for c in [&mut t2, &mut r2] {
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "maxmemory", "1"]),
            Reply::Simple("OK".into())
        );
    }
    // EXEC of a transaction that queued a write is refused and the transaction is
    // spoiled: the next EXEC aborts.
    d.check(&["EXEC"]);
    d.check(&["EXEC"]);
    for args in [
        &["SET", "k1", "v"][..],
        &["INCR", "counter"],
        &["LPUSH", "list", "a"],
        &["APPEND", "k0", "more"],
        &["GET", "k0"],
        &["DEL", "k0"],
        &["EXISTS", "k0"],
        &["PING"],
        // Inside MULTI even a read is refused (queueing takes memory); DISCARD is not.
        &["MULTI"],
        &["GET", "k0"],
        &["DISCARD"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
    ] {
        d.check(args);
    }
    for c in [&mut d.t, &mut d.r] {
        assert_eq!(
            c.cmd(&["CONFIG", "GET", "maxmemory-policy"]).strings(),
            ["maxmemory-policy", "noeviction"]
        );
    }
    let counts = |c: &mut Client| {
        let errors = c.cmd(&["INFO", "errorstats"]).info_field("errorstat_OOM");
        let set = c.cmd(&["INFO", "commandstats"]).info_field("cmdstat_set");
        (
            errors,
            set.map(|s| s.split(",usec").next().unwrap().to_string()),
        )
    };
    let (tc, rc) = (counts(&mut d.t), counts(&mut d.r));
    assert_eq!(
        tc, rc,
        "OOM error and SET counts: tandem (left), redis (right)"
    );
    assert!(tc.0.as_ref().is_some_and(|e| e != "count=0"), "{tc:?}");
    for c in [&mut t2, &mut r2] {
        c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    }
    d.check(&["SET", "k1", "v"]);
}

#[test]
fn allkeys_lru_evicts_keys_not_read_lately() {
    for node in nodes(&["--maxmemory-policy", "allkeys-lru"]) {
        let mut c = node.client();
        c.cmd(&["SET", "model", &"v".repeat(VALUE_LEN)]);
        let payload = dump(&mut c, "model");
        // 3000 keys last used ~3 hours ago; 300 of them are then read.
        let restores: Vec<Vec<Vec<u8>>> = (0..3000)
            .map(|i| restore(&format!("key:{i}"), &payload, &["IDLETIME", "10000"]))
            .collect();
        pipeline(&mut c, &restores);
        for i in 0..300 {
            assert_eq!(
                c.cmd(&["STRLEN", &format!("key:{i}")]).int(),
                VALUE_LEN as i64
            );
        }
        assert_eq!(
            c.cmd(&["OBJECT", "IDLETIME", "key:0"]).int(),
            0,
            "{:?}",
            node.kind
        );
        assert!(c.cmd(&["OBJECT", "IDLETIME", "key:2999"]).int() >= 10000);
        // Room for about 2000 of the keys.
        let limit = squeeze(&mut c, 1000 * (VALUE_LEN as i64 + 100));
        let evicted = field(&mut c, "stats", "evicted_keys");
        assert!(evicted >= 500, "{:?}: evicted {evicted}", node.kind);
        assert_read_keys_kept(&mut c, node.kind);
        let left = c.cmd(&["DBSIZE"]).int();
        assert_eq!(left, 3000 + 2 - evicted, "{:?}", node.kind);
        // Writes go on, evicting as they go.
        c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
        pipeline(&mut c, &set_commands("more", 1000, &[]));
        assert!(field(&mut c, "stats", "evicted_keys") >= evicted + 900);
    }
}

/// The serialised value of `key` (DUMP).
fn dump(c: &mut Client, key: &str) -> Vec<u8> {
    match c.cmd(&["DUMP", key]) {
        Reply::Bulk(b) => b,
        other => panic!("DUMP: {other:?}"),
    }
}

/// RESTORE `key` from `payload` with `options` (IDLETIME, FREQ).
fn restore(key: &str, payload: &[u8], options: &[&str]) -> Vec<Vec<u8>> {
    let mut args: Vec<Vec<u8>> = vec![b"RESTORE".to_vec(), key.into(), b"0".to_vec()];
    args.push(payload.to_vec());
    args.extend(options.iter().map(|o| o.as_bytes().to_vec()));
    args
}

#[test]
fn volatile_policies_evict_only_keys_with_a_ttl() {
    for node in nodes(&["--maxmemory-policy", "volatile-ttl"]) {
        let mut c = node.client();
        pipeline(&mut c, &set_commands("keep", 1000, &[]));
        pipeline(&mut c, &set_commands("late", 1000, &["EX", "100000"]));
        pipeline(&mut c, &set_commands("soon", 1000, &["EX", "1000"]));
        squeeze(&mut c, 500 * (VALUE_LEN as i64 + 100));
        let evicted = field(&mut c, "stats", "evicted_keys");
        assert!(evicted >= 300, "{:?}: evicted {evicted}", node.kind);
        assert_eq!(surviving(&mut c, "keep", 1000), 1000, "{:?}", node.kind);
        // Sampling picks the nearest expiry of each sample: the later keys mostly stay.
        let late = surviving(&mut c, "late", 1000);
        let soon = surviving(&mut c, "soon", 1000);
        assert!(
            late > 900 && soon < 800,
            "{:?}: late {late}, soon {soon}",
            node.kind
        );
        // Once every key with a TTL is gone, nothing is left that the policy may evict:
        // refused. (The eviction may take more than one pass, and a command that comes
        // while one is still under way is let through.)
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]);
        c.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
        eventually("a write is refused", || {
            c.cmd(&["SET", "x", "y"])
                == Reply::Error("OOM command not allowed when used memory > 'maxmemory'.".into())
        });
        assert_eq!(surviving(&mut c, "late", 1000), 0, "{:?}", node.kind);
        assert_eq!(surviving(&mut c, "soon", 1000), 0, "{:?}", node.kind);
        assert_eq!(surviving(&mut c, "keep", 1000), 1000, "{:?}", node.kind);
    }
}

#[test]
fn lfu_counters_match_redis() {
    // log factor 0: every access counts; decay 0: no minute boundary can lower a count.
    let Some(mut d) = Differential::start(&[
        "--maxmemory-policy",
        "allkeys-lfu",
        "--lfu-log-factor",
        "0",
        "--lfu-decay-time",
        "0",
    ]) else {
        return;
    };
    d.check_unordered(&["CONFIG", "GET", "lfu-*"]);
    d.check(&["SET", "k", "v"]);
    d.check(&["OBJECT", "FREQ", "k"]);
    for _ in 0..10 {
        d.check(&["GET", "k"]);
    }
    // Not accesses: TYPE, EXISTS, TTL, OBJECT.
    for args in [&["TYPE", "k"][..], &["EXISTS", "k"], &["TTL", "k"]] {
        d.check(args);
    }
    d.check(&["OBJECT", "FREQ", "k"]);
    d.check(&["SET", "k", "overwritten"]);
    d.check(&["OBJECT", "FREQ", "k"]);
    d.check(&["OBJECT", "IDLETIME", "k"]);
    // Each command, on a new key and then on the same key, counts as Redis counts it.
    for (key, args) in [
        ("h", &["HSET", "h", "f", "v"][..]),
        ("h", &["HGET", "h", "f"]),
        ("l", &["LPUSH", "l", "a"]),
        ("l", &["LRANGE", "l", "0", "-1"]),
        ("s", &["SADD", "s", "a"]),
        ("z", &["ZADD", "z", "1", "a"]),
        ("z", &["ZSCORE", "z", "a"]),
        ("n", &["INCR", "n"]),
        ("n", &["APPEND", "n", "0"]),
        ("n", &["SETRANGE", "n", "0", "9"]),
        ("n", &["GETRANGE", "n", "0", "1"]),
        ("n", &["EXPIRE", "n", "100"]),
        ("n", &["PERSIST", "n"]),
        ("s2", &["SUNIONSTORE", "s2", "s"]),
        ("s", &["SMEMBERS", "s"]),
        ("n", &["TOUCH", "n"]),
    ] {
        d.check(args);
        d.check(&["OBJECT", "FREQ", key]);
        d.check(args);
        d.check(&["OBJECT", "FREQ", key]);
    }
    for c in [&mut d.t, &mut d.r] {
        let payload = dump(c, "k");
        pipeline(c, &[restore("r", &payload, &["FREQ", "100"])]);
    }
    d.check(&["OBJECT", "FREQ", "r"]);
    // RENAME and MOVE keep the key's counter, COPY starts a new one, also over an
    // existing key.
    for args in [
        &["RENAME", "r", "r2"][..],
        &["OBJECT", "FREQ", "r2"],
        &["RENAME", "r2", "k"],
        &["OBJECT", "FREQ", "k"],
        &["MOVE", "k", "1"],
        &["SELECT", "1"],
        &["OBJECT", "FREQ", "k"],
        &["COPY", "k", "k2"],
        &["OBJECT", "FREQ", "k2"],
        &["GET", "k2"],
        &["COPY", "k", "k2", "REPLACE"],
        &["OBJECT", "FREQ", "k2"],
    ] {
        d.check(args);
    }
    // RANDOMKEY is not an access of the key it returns.
    d.both(&["RANDOMKEY"]);
    d.check(&["OBJECT", "FREQ", "k"]);
    d.check(&["OBJECT", "FREQ", "k2"]);
    d.check(&["SELECT", "0"]);
    // Back to LRU: IDLETIME answers, FREQ refuses.
    d.check(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    d.check(&["OBJECT", "FREQ", "k"]);
    d.check(&["CONFIG", "SET", "lfu-log-factor", "-1"]);
}

#[test]
fn allkeys_lfu_evicts_keys_read_least() {
    for node in nodes(&["--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0"]) {
        let mut c = node.client();
        pipeline(&mut c, &set_commands("key", 3000, &[]));
        let reads: Vec<Vec<String>> = (0..300)
            .flat_map(|i| std::iter::repeat_n(vec!["GET".to_string(), format!("key:{i}")], 5))
            .collect();
        pipeline(&mut c, &reads);
        squeeze(&mut c, 1000 * (VALUE_LEN as i64 + 100));
        assert!(field(&mut c, "stats", "evicted_keys") >= 500);
        assert_read_keys_kept(&mut c, node.kind);
    }
}

#[test]
fn evictions_reach_a_replica_that_ignores_its_own_limit() {
    let master = Node::tandem(&["--maxmemory-policy", "allkeys-random"]);
    let port = master.port.to_string();
    // A replica with a limit it is always over: replica-ignore-maxmemory (the default)
    // keeps it from evicting or refusing its master's stream.
    let replica = Node::start(
        NodeKind::Tandem,
        &["--replicaof", "127.0.0.1", &port, "--maxmemory", "1"],
    )
    .expect("tandem");
    let (mut m, mut r) = (master.client(), replica.client());
    eventually("the replica syncs", || {
        r.cmd(&["INFO", "replication"])
            .info_field("master_link_status")
            .is_some_and(|s| s == "up")
    });
    pipeline(&mut m, &set_commands("key", 2000, &[]));
    eventually("the replica has every key", || {
        r.cmd(&["DBSIZE"]).int() == 2000
    });
    squeeze(&mut m, 500 * (VALUE_LEN as i64 + 100));
    let left = m.cmd(&["DBSIZE"]).int();
    assert!(left < 1700, "master kept {left}");
    eventually("the replica has the master's keys", || {
        r.cmd(&["DBSIZE"]).int() == left
    });
    assert_eq!(field(&mut r, "stats", "evicted_keys"), 0);
    assert_eq!(field(&mut m, "stats", "evicted_keys"), 2001 - left);
}

#[test]
fn used_memory_follows_what_is_allocated() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    let before = field(&mut c, "memory", "used_memory");
    pipeline(&mut c, &set_commands("key", 10_000, &[]));
    let loaded = field(&mut c, "memory", "used_memory");
    // 10,000 values of 1000 bytes, in 1 KiB blocks, plus keys and table.
    let per_key = (loaded - before) / 10_000;
    assert!((1000..1400).contains(&per_key), "{per_key} bytes per key");
    assert!(field(&mut c, "memory", "used_memory_peak") >= loaded);
    c.cmd(&["FLUSHALL"]);
    // Freed memory counts at once (the resident set would lag behind).
    let after = field(&mut c, "memory", "used_memory");
    assert!(after < before + 1_000_000, "before {before}, after {after}");
}

#[test]
fn a_limit_set_inside_a_transaction_evicts_after_it() {
    let Some(mut d) = Differential::start(&["--maxmemory-policy", "allkeys-random"]) else {
        return;
    };
    d.check(&["SET", "x", "1"]);
    for args in [
        &["MULTI"][..],
        &["INCR", "x"],
        &["CONFIG", "SET", "maxmemory", "1"],
        &["INCR", "x"],
        // The transaction runs whole: x is evicted after it, not between its commands.
        &["EXEC"],
    ] {
        d.check(args);
    }
    for c in [&mut d.t, &mut d.r] {
        eventually("x is evicted", || c.cmd(&["EXISTS", "x"]).int() == 0);
        c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    }
}

#[test]
fn eviction_during_a_snapshot_evicts_only_what_the_limit_needs() {
    // The save pauses 2 ms per key: it holds the whole dataset for about 4 s.
    let node = Node::tandem(&[
        "--maxmemory-policy",
        "allkeys-random",
        "--rdb-key-save-delay",
        "2000",
    ]);
    let mut c = node.client();
    pipeline(&mut c, &set_commands("key", 2000, &[]));
    let loaded = field(&mut c, "memory", "used_memory");
    assert_eq!(
        c.cmd(&["BGSAVE"]),
        Reply::Simple("Background saving started".into())
    );
    let saving = |c: &mut Client| field(c, "persistence", "rdb_bgsave_in_progress") == 1;
    assert!(saving(&mut c));
    // The save's thread sets up its buffers (the file's 1 MB write buffer among them) a
    // moment after the reply; the limit is set against the memory in use once it has, or
    // the buffers would count as more the writes must evict.
    let mut used = loaded;
    eventually("the save's buffers are allocated", || {
        used = field(&mut c, "memory", "used_memory");
        used > loaded + 512 * 1024
    });
    let key_size = VALUE_LEN as i64 + 100;
    let limit = used - 300 * key_size;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    // Keys deleted while the snapshot holds them free nothing until it is done: each
    // eviction must count as freeing anyway, or every write would evict on and on.
    pipeline(&mut c, &set_commands("new", 300, &[]));
    pipeline(&mut c, &set_commands("key", 300, &[]));
    assert!(saving(&mut c), "the save ended too soon to show anything");
    let evicted = field(&mut c, "stats", "evicted_keys");
    let left = c.cmd(&["DBSIZE"]).int();
    // About 300 + 600 evictions are needed; with the snapshot's memory counted, writes
    // would evict nearly everything. The estimate of what only the snapshot holds is
    // rough: up to 1306 evictions were seen on a loaded machine.
    assert!(
        (300..=1500).contains(&evicted) && left >= 800,
        "evicted {evicted}, {left} keys left"
    );
    assert!(field(&mut c, "memory", "mem_not_counted_for_evict") > 300 * VALUE_LEN as i64);
    // Once the save is done its memory is free: well under the limit, nothing more to
    // evict.
    eventually("the save ends", || !saving(&mut c));
    let after = field(&mut c, "memory", "used_memory");
    assert!(
        after < limit - 100 * key_size,
        "used {after}, limit {limit}"
    );
    let evicted = field(&mut c, "stats", "evicted_keys");
    pipeline(&mut c, &set_commands("after", 10, &[]));
    assert_eq!(field(&mut c, "stats", "evicted_keys"), evicted);
    assert_eq!(field(&mut c, "memory", "mem_not_counted_for_evict"), 0);
}

/// The policies whose RDBs record each key's access, with how a test key is restored and
/// how its recorded access reads back: the idle time (LRU) or the counter (LFU).
const RECORDING_POLICIES: [(&str, &str, &str); 2] = [
    ("allkeys-lru", "IDLETIME", "5000"),
    ("volatile-lfu", "FREQ", "77"),
];

/// Restores `key` as last accessed `option value` ago / as often, on `c`.
fn restore_with_access(c: &mut Client, key: &str, option: &str, value: &str) {
    c.cmd(&["SET", "model", "v"]);
    let payload = dump(c, "model");
    let reply = c.cmd(&restore(key, &payload, &[option, value]));
    assert_eq!(reply, Reply::Simple("OK".into()));
}

/// Asserts that `key` on `c` reads back the access restored with `option value`: the
/// same counter, or at least the idle time (and not much more: the test takes seconds).
fn assert_access(c: &mut Client, kind: NodeKind, key: &str, option: &str, value: &str) {
    let want: i64 = value.parse().unwrap();
    let got = c.cmd(&["OBJECT", option, key]).int();
    if option == "FREQ" {
        assert_eq!(got, want, "{kind:?}: OBJECT FREQ {key}");
    } else {
        assert!(
            (want..want + 60).contains(&got),
            "{kind:?}: OBJECT IDLETIME {key} is {got}, restored as {want}"
        );
    }
}

#[test]
fn access_records_survive_a_restart() {
    for (policy, option, value) in RECORDING_POLICIES {
        // No LFU decay while the test runs across a minute boundary.
        let extra = ["--maxmemory-policy", policy, "--lfu-decay-time", "0"];
        let mut node = Node::tandem(&extra);
        let mut c = node.client();
        restore_with_access(&mut c, "k", option, value);
        assert_eq!(c.cmd(&["SAVE"]), Reply::Simple("OK".into()));
        drop(c);
        node.terminate(std::time::Duration::from_secs(10));
        node.restart();
        let mut c = node.client();
        assert_access(&mut c, NodeKind::Tandem, "k", option, value);
        // A key written after the load is new, not as old as the loaded one.
        c.cmd(&["SET", "fresh", "v"]);
        let fresh = c.cmd(&["OBJECT", option, "fresh"]).int();
        let expected_fresh = if option == "FREQ" { 5 } else { 0 };
        assert_eq!(fresh, expected_fresh, "{policy}");
    }
}

#[test]
fn access_records_cross_a_full_sync_both_ways_with_redis() {
    for (policy, option, value) in RECORDING_POLICIES {
        let extra = [
            "--maxmemory-policy",
            policy,
            "--lfu-decay-time",
            "0",
            "--repl-diskless-sync-delay",
            "0",
        ];
        for (master_kind, replica_kind) in [
            (NodeKind::Redis, NodeKind::Tandem),
            (NodeKind::Tandem, NodeKind::Redis),
        ] {
            let Some(master) = Node::start(master_kind, &extra) else {
                return;
            };
            let mut m = master.client();
            restore_with_access(&mut m, "k", option, value);
            // The key reaches the replica in the full sync's RDB, not as a RESTORE.
            let port = master.port.to_string();
            let mut args = extra.to_vec();
            args.extend(["--replicaof", "127.0.0.1", &port]);
            let Some(replica) = Node::start(replica_kind, &args) else {
                return;
            };
            let mut r = replica.client();
            eventually("the replica syncs", || {
                r.cmd(&["INFO", "replication"])
                    .info_field("master_link_status")
                    .is_some_and(|s| s == "up")
            });
            assert_access(&mut r, replica_kind, "k", option, value);
        }
    }
}

#[test]
fn used_memory_peak_counts_what_a_transaction_held_only_briefly() {
    const BIG: i64 = 50_000_000;
    for node in nodes(&[]) {
        let mut c = node.client();
        let before = field(&mut c, "memory", "used_memory");
        // Inside one EXEC no periodic task can sample memory between the two commands:
        // only sampling after each command, as Redis does, sees the 50 MB value.
        c.cmd(&["MULTI"]);
        c.cmd(&["SETRANGE", "big", &(BIG - 1).to_string(), "x"]);
        c.cmd(&["DEL", "big"]);
        let results: Vec<i64> = c.cmd(&["EXEC"]).array().iter().map(Reply::int).collect();
        assert_eq!(results, [BIG, 1], "{:?}", node.kind);
        let peak = field(&mut c, "memory", "used_memory_peak");
        assert!(
            peak >= before + BIG,
            "{:?}: used_memory_peak {peak}, before the transaction {before}",
            node.kind
        );
        assert!(field(&mut c, "memory", "used_memory") < before + BIG / 2);
    }
}
