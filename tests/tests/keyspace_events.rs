//! Keyspace notifications (`notify-keyspace-events`): the same commands against tandem and
//! redis-server 7.0, and the same events, in the same order, byte for byte.

use std::time::Duration;

use tandem_tests::client::{assert_reply, Client};
use tandem_tests::tools::wait_until;
use tandem_tests::{Differential, Node, Reply};

/// A subscriber to every keyspace and keyevent channel, plus the marker channel that
/// ends a batch.
fn subscriber(mut c: Client) -> Client {
    assert_eq!(
        c.cmd(&["PSUBSCRIBE", "__key*__:*"]).array()[2],
        Reply::Int(1)
    );
    assert_eq!(c.cmd(&["SUBSCRIBE", "marker"]).array()[2], Reply::Int(2));
    c
}

/// Publishes the marker through `publisher` and returns what `sub` received before it, as
/// `channel payload` lines.
fn events_until_marker(publisher: &mut Client, sub: &mut Client) -> Vec<String> {
    publisher.cmd(&["PUBLISH", "marker", "end"]);
    let mut events = Vec::new();
    loop {
        let msg = sub.read().strings();
        match msg[0].as_str() {
            "message" if msg[1] == "marker" => return events,
            "pmessage" => events.push(format!("{} {}", msg[2], msg[3])),
            other => panic!("unexpected {other}: {msg:?}"),
        }
    }
}

/// Both servers with the subscribers, and the marker's publishers.
struct Watched {
    d: Differential,
    sub_t: Client,
    sub_r: Client,
}

impl Watched {
    fn start(flags: &str) -> Option<Watched> {
        let d = Differential::start(&[
            "--notify-keyspace-events",
            flags,
            "--enable-debug-command",
            "local",
        ])?;
        let sub_t = subscriber(d.tandem.client());
        let sub_r = subscriber(d.redis.client());
        Some(Watched { d, sub_t, sub_r })
    }

    /// Runs `commands` on both (replies compared), then compares the events they caused.
    #[track_caller]
    fn run(&mut self, commands: &[&[&str]]) -> Vec<String> {
        for args in commands {
            self.d.check(args);
        }
        self.events()
    }

    /// The events since the last batch, which must be the same on both servers.
    #[track_caller]
    fn events(&mut self) -> Vec<String> {
        let t = events_until_marker(&mut self.d.t, &mut self.sub_t);
        let r = events_until_marker(&mut self.d.r, &mut self.sub_r);
        assert_eq!(t, r, "events: tandem (left) and redis (right) differ");
        t
    }
}

#[test]
fn flags_are_parsed_and_shown_as_redis_does() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["CONFIG", "GET", "notify-keyspace-events"]);
    for flags in [
        "KEA",
        "gKE",
        "Exg",
        "KEAm",
        "KEAn",
        "KEn",
        "mKE",
        "g$lshzxetdKE",
        "",
    ] {
        d.check(&["CONFIG", "SET", "notify-keyspace-events", flags]);
        d.check(&["CONFIG", "GET", "notify-keyspace-events"]);
    }
    d.check(&["CONFIG", "SET", "notify-keyspace-events", "KEq"]);
    d.check(&["CONFIG", "SET", "notify-keyspace-events", "K E"]);
    d.check(&["CONFIG", "GET", "notify-keyspace-events"]);
}

#[test]
fn generic_and_string_commands_report_redis_events() {
    let Some(mut w) = Watched::start("KEAnm") else {
        return;
    };
    let events = w.run(&[
        &["SET", "a", "1"],
        &["DEL", "a", "a", "missing"],
        &["SET", "a", "1"],
        &["EXPIRE", "a", "100"],
        &["EXPIRE", "a", "50", "GT"],
        &["PERSIST", "a"],
        &["PERSIST", "a"],
        &["PEXPIREAT", "a", "1"],
        &["EXISTS", "a", "b"],
        &["TYPE", "nokey"],
        &["TTL", "nokey"],
        &["TOUCH", "nokey"],
        &["DUMP", "nokey"],
        &["SET", "a", "1"],
        &["RENAME", "a", "b"],
        &["SET", "c", "1"],
        &["RENAMENX", "b", "c"],
        &["RENAME", "b", "c"],
        &["MOVE", "c", "1"],
        &["SET", "c", "2"],
        &["COPY", "c", "d"],
        &["COPY", "c", "d", "DB", "2", "REPLACE"],
        &["COPY", "nokey", "e"],
        &["FLUSHDB"],
    ]);
    // The batch is not vacuous: spot-check a few of Redis's own events.
    assert!(events.contains(&"__keyevent@1__:move_to c".to_string()));
    assert!(events.contains(&"__keyspace@0__:nokey keymiss".to_string()));
    w.run(&[
        &["SET", "s", "v", "EX", "100"],
        &["SET", "s", "v", "KEEPTTL"],
        &["SET", "s", "w", "GET"],
        &["SET", "s2", "v", "NX"],
        &["SET", "s2", "v", "NX"],
        &["SET", "s9", "v", "XX"],
        &["SET", "s9", "v", "GET"],
        &["SETNX", "s3", "v"],
        &["SETEX", "s4", "100", "v"],
        &["PSETEX", "s4", "100000", "v"],
        &["MSET", "m1", "a", "m2", "b"],
        &["MSETNX", "m1", "a", "m3", "b"],
        &["GETSET", "s", "v2"],
        &["GETSET", "fresh", "v"],
        &["GETDEL", "s"],
        &["GETDEL", "s"],
        &["GETEX", "s4", "PERSIST"],
        &["GETEX", "s4", "EX", "100"],
        &["GETEX", "s4"],
        &["GETEX", "s4", "PXAT", "1"],
        &["SETRANGE", "s5", "0", "abc"],
        &["SETRANGE", "s5", "0", ""],
        &["SETRANGE", "s6", "3", ""],
        &["APPEND", "s5", "x"],
        &["APPEND", "s5", ""],
        &["APPEND", "s7", "new"],
        &["INCR", "i"],
        &["DECR", "i"],
        &["INCRBY", "i", "5"],
        &["DECRBY", "i", "2"],
        &["INCR", "s5"],
        &["INCRBYFLOAT", "f", "1.5"],
        &["GET", "nokey"],
        &["MGET", "nokey", "s5", "nokey2"],
        &["STRLEN", "nokey"],
        &["GETRANGE", "nokey", "0", "1"],
        &["LCS", "s5", "nokey"],
        &["SETBIT", "b", "7", "1"],
        &["SETBIT", "b", "7", "1"],
        &["SETBIT", "b", "7", "0"],
        &["GETBIT", "nokey", "0"],
        &["BITCOUNT", "nokey"],
        &["BITFIELD", "bf", "SET", "u8", "0", "1"],
        &["BITFIELD", "bf", "GET", "u8", "0"],
        &["BITFIELD", "nokey", "GET", "u8", "0"],
        &["BITOP", "OR", "bo", "b", "nokey"],
        &["BITOP", "AND", "bo", "nokey"],
        &["BITOP", "AND", "bo", "nokey"],
    ]);
}

#[test]
fn collection_commands_report_redis_events() {
    let Some(mut w) = Watched::start("KEAnm") else {
        return;
    };
    w.run(&[
        &["LPUSH", "l", "a", "b", "c"],
        &["RPUSH", "l", "d"],
        &["LPUSHX", "nol", "a"],
        &["RPUSHX", "l", "e"],
        &["LPOP", "l"],
        &["RPOP", "l", "2"],
        &["LPOP", "nol"],
        &["LSET", "l", "0", "z"],
        &["LINSERT", "l", "BEFORE", "z", "y"],
        &["LINSERT", "l", "BEFORE", "nothere", "y"],
        &["LREM", "l", "0", "y"],
        &["LREM", "l", "0", "nothere"],
        &["LTRIM", "l", "0", "5"],
        &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
        &["RPOPLPUSH", "l2", "l2"],
        &["LMPOP", "2", "nol", "l2", "LEFT", "COUNT", "5"],
        &["LRANGE", "nol", "0", "-1"],
        &["LLEN", "nol"],
        &["RPUSH", "t", "1", "2", "3"],
        &["LTRIM", "t", "5", "10"],
        &["BLPOP", "nol", "t2", "0.01"],
    ]);
    w.run(&[
        &["HSET", "h", "a", "1", "b", "2"],
        &["HSET", "h", "a", "1"],
        &["HSETNX", "h", "a", "1"],
        &["HSETNX", "h", "c", "3"],
        &["HMSET", "h", "d", "4"],
        &["HINCRBY", "h", "n", "5"],
        &["HINCRBYFLOAT", "h", "f", "1.5"],
        &["HDEL", "h", "zz"],
        &["HDEL", "h", "a", "b", "c", "d", "n", "f"],
        &["HGET", "nokey", "a"],
        &["HGETALL", "nokey"],
        &["HDEL", "nokey", "a"],
    ]);
    w.run(&[
        &["SADD", "s1", "a", "b", "c"],
        &["SADD", "s1", "a"],
        &["SREM", "s1", "a"],
        &["SREM", "s1", "zz"],
        &["SADD", "sp", "x"],
        &["SPOP", "sp"],
        &["SADD", "sp", "x"],
        &["SPOP", "sp", "3"],
        &["SPOP", "sp", "0"],
        &["SMOVE", "s1", "s2", "b"],
        &["SMOVE", "s1", "s2", "nothere"],
        &["SADD", "s2", "c"],
        &["SMOVE", "s1", "s2", "c"],
        &["SADD", "s3", "a", "b", "c"],
        &["SINTERSTORE", "st", "s2", "s3"],
        &["SUNIONSTORE", "su", "s2", "s3"],
        &["SDIFFSTORE", "sd", "s2", "s2"],
        &["SDIFFSTORE", "su", "su", "su"],
        &["SINTERSTORE", "st", "s2", "nokey"],
        &["SISMEMBER", "nokey", "a"],
        &["SCARD", "nokey"],
        &["SMOVE", "nokey", "s2", "a"],
    ]);
    w.run(&[
        &["ZADD", "z", "1", "a", "2", "b"],
        &["ZADD", "z", "1", "a"],
        &["ZADD", "z", "XX", "1", "q"],
        &["ZADD", "z", "INCR", "1", "a"],
        &["ZINCRBY", "z", "0", "a"],
        &["ZINCRBY", "z", "1", "c"],
        &["ZREM", "z", "c"],
        &["ZREM", "z", "nothere"],
        &["ZREMRANGEBYSCORE", "z", "100", "200"],
        &["ZREMRANGEBYRANK", "z", "0", "0"],
        &["ZADD", "zl", "0", "a", "0", "b", "0", "c"],
        &["ZREMRANGEBYLEX", "zl", "[a", "[b"],
        &["ZADD", "z2", "1", "x", "2", "y", "3", "w"],
        &["ZPOPMIN", "zl"],
        &["ZPOPMAX", "z2", "10"],
        &["ZPOPMIN", "nokey"],
        &["ZADD", "z3", "1", "x", "2", "y"],
        &["ZUNIONSTORE", "zu", "2", "z", "z3"],
        &["ZINTERSTORE", "zi", "2", "z", "nokey"],
        &["ZDIFFSTORE", "zu", "1", "nokey"],
        &["ZRANGESTORE", "zr", "z3", "0", "-1"],
        &["ZMPOP", "2", "nokey", "z3", "MIN"],
        &["BZPOPMAX", "nokey", "z3", "0.01"],
        &["ZSCORE", "nokey", "a"],
        &["ZRANGE", "nokey", "0", "-1"],
    ]);
    w.run(&[
        &["RPUSH", "sl", "3", "1", "2"],
        &["SORT", "sl", "STORE", "so"],
        &["SORT", "nokey", "STORE", "so"],
        &["SORT", "nokey", "STORE", "so"],
        &["MULTI"],
        &["SET", "tx", "1"],
        &["LPUSH", "tx", "x"],
        &["INCR", "tx"],
        &["EXEC"],
        &["SWAPDB", "0", "1"],
        &["FLUSHALL"],
    ]);
}

#[test]
fn served_blocked_clients_report_their_pops_after_the_push() {
    let Some(mut w) = Watched::start("KEA") else {
        return;
    };
    let (mut waiting_t, mut waiting_r) = w.d.block(&["BLPOP", "q", "0"]);
    w.d.check(&["RPUSH", "q", "a", "b"]);
    assert_eq!(waiting_t.read(), waiting_r.read());
    let events = w.events();
    assert_eq!(
        events,
        [
            "__keyspace@0__:q rpush",
            "__keyevent@0__:rpush q",
            "__keyspace@0__:q lpop",
            "__keyevent@0__:lpop q",
        ]
    );
}

#[test]
fn expired_keys_report_expired_then_the_miss() {
    let Some(mut w) = Watched::start("KEAm") else {
        return;
    };
    w.run(&[&["SET", "e", "v", "PX", "1"]]);
    // Until the key is gone each server reports nothing more; the read that finds it gone
    // (or the active expiry before it) reports `expired`, and the read a `keymiss`.
    for c in [&mut w.d.t, &mut w.d.r] {
        wait_until(Duration::from_secs(5), "the key expired", || {
            c.cmd(&["EXISTS", "e"]) == Reply::Int(0)
        });
    }
    let events = w.events();
    assert_eq!(
        events,
        [
            "__keyspace@0__:e expired",
            "__keyevent@0__:expired e",
            "__keyspace@0__:e keymiss",
            "__keyevent@0__:keymiss e",
        ]
    );
}

#[test]
fn nothing_is_published_by_default_or_without_k_or_e() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    let mut sub = subscriber(node.client());
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(events_until_marker(&mut c, &mut sub), Vec::<String>::new());
    assert_reply(
        &mut c,
        &["CONFIG", "SET", "notify-keyspace-events", "A"],
        "+OK\r\n",
    );
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(events_until_marker(&mut c, &mut sub), Vec::<String>::new());
    assert_reply(
        &mut c,
        &["CONFIG", "SET", "notify-keyspace-events", "E$"],
        "+OK\r\n",
    );
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["LPUSH", "l", "1"]);
    assert_eq!(
        events_until_marker(&mut c, &mut sub),
        ["__keyevent@0__:set a"]
    );
}

#[test]
fn evicted_keys_are_reported_once_each() {
    let node = Node::tandem(&[
        "--notify-keyspace-events",
        "Ee",
        "--maxmemory-policy",
        "allkeys-random",
    ]);
    let mut c = node.client();
    let mut sub = subscriber(node.client());
    for i in 0..200 {
        c.cmd(&["SET", &format!("k{i}"), &"v".repeat(2000)]);
    }
    let used_memory = |c: &mut Client| -> u64 {
        c.cmd(&["INFO", "memory"])
            .info_field("used_memory")
            .expect("used_memory")
            .parse()
            .expect("a number")
    };
    // Just under what is in use: eviction runs until it fits (and then stops).
    let limit = used_memory(&mut c) - 5000;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    c.cmd(&["SET", "trigger", "1"]);
    wait_until(Duration::from_secs(5), "eviction done", || {
        used_memory(&mut c) <= limit
    });
    // No limit while the events are counted: the messages queued for the subscriber take
    // memory too, and must not start another eviction.
    c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    let evicted: usize = c
        .cmd(&["INFO", "stats"])
        .info_field("evicted_keys")
        .expect("evicted_keys")
        .parse()
        .expect("a number");
    assert!(evicted > 0, "nothing was evicted");
    let events = events_until_marker(&mut c, &mut sub);
    assert_eq!(events.len(), evicted, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.starts_with("__keyevent@0__:evicted k")),
        "{events:?}"
    );
}

/// The server's clock, in milliseconds (TIME).
fn server_ms(c: &mut Client) -> u64 {
    let t = c.cmd(&["TIME"]).strings();
    t[0].parse::<u64>().expect("seconds") * 1000 + t[1].parse::<u64>().expect("micros") / 1000
}

#[test]
fn overwriting_an_expired_key_reports_its_expiry_then_a_new_key() {
    let Some(mut w) = Watched::start("KEAnm") else {
        return;
    };
    w.run(&[
        &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
        &["SET", "o", "v", "PX", "1"],
        &["SET", "o2", "v", "PX", "1"],
        &["SADD", "o3", "m"],
        &["PEXPIRE", "o3", "1"],
        &["SET", "live", "v"],
        &["MSET", "o4", "v", "o5", "v", "o6", "v"],
        &["PEXPIRE", "o4", "1"],
        &["PEXPIRE", "o5", "1"],
        &["PEXPIRE", "o6", "1"],
    ]);
    // Past the keys' time without looking them up (which would expire them).
    for c in [&mut w.d.t, &mut w.d.r] {
        let start = server_ms(c);
        wait_until(Duration::from_secs(5), "2 ms passed", || {
            server_ms(c) > start + 2
        });
    }
    let events = w.run(&[
        &["SET", "o", "w"],
        &["MSET", "o2", "w"],
        &["SUNIONSTORE", "o3", "nokey"],
        &["SADD", "s", "m"],
        &["SUNIONSTORE", "o3", "s"],
        // Multi-key commands: each expiry where its lookup found it.
        &["DEL", "live", "o4"],
        &["MGET", "nokey", "o5"],
        &["EXISTS", "nokey", "o6", "nokey"],
    ]);
    assert_eq!(
        events[..6],
        [
            "__keyspace@0__:o expired",
            "__keyevent@0__:expired o",
            "__keyspace@0__:o new",
            "__keyevent@0__:new o",
            "__keyspace@0__:o set",
            "__keyevent@0__:set o",
        ]
    );
}
