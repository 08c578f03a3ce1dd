//! String commands, replies compared byte for byte with redis-server 7.0.

use tandem_tests::Differential;

#[test]
fn string_family_matches_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["SET", "k", "v"][..],
        &["GET", "k"],
        &["GET", "missing"],
        &["SET", "k", "v2", "NX"],
        &["SET", "k", "v3", "XX", "GET"],
        &["SET", "new", "x", "XX"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "EX", "abc"],
        &["SET", "k", "v", "NX", "XX"],
        &["SET", "k", "v", "EX", "100", "PX", "100"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k"],
        &["SETNX", "k", "other"],
        &["SETNX", "fresh", "1"],
        &["SETEX", "k", "-1", "v"],
        &["PSETEX", "p", "100000", "v"],
        &["GETSET", "k", "new"],
        &["GETDEL", "k"],
        &["GETDEL", "k"],
        &["MSET", "a", "1", "b", "2"],
        &["MSET", "a", "1", "b"],
        &["MGET", "a", "b", "nope"],
        &["MSETNX", "a", "1", "c", "3"],
        &["MSETNX", "c", "3", "d", "4"],
        &["INCR", "counter"],
        &["INCRBY", "counter", "10"],
        &["DECR", "counter"],
        &["DECRBY", "counter", "3"],
        &["INCRBY", "counter", "x"],
        &["SET", "big", "9223372036854775807"],
        &["INCR", "big"],
        &["SET", "notnum", "abc"],
        &["INCR", "notnum"],
        &["INCRBYFLOAT", "f", "10.5"],
        &["INCRBYFLOAT", "f", "0.1"],
        &["INCRBYFLOAT", "f", "5.0e3"],
        &["INCRBYFLOAT", "f", "abc"],
        &["INCRBYFLOAT", "f", "-5010.6"],
        &["INCRBYFLOAT", "notnum", "1"],
        &["APPEND", "s", "Hello"],
        &["APPEND", "s", " World"],
        &["STRLEN", "s"],
        &["STRLEN", "nope"],
        &["GETRANGE", "s", "0", "4"],
        &["GETRANGE", "s", "-5", "-1"],
        &["GETRANGE", "s", "-100", "-50"],
        &["GETRANGE", "s", "5", "1"],
        &["SETRANGE", "s", "6", "Redis"],
        &["GET", "s"],
        &["SETRANGE", "pad", "3", "x"],
        &["GET", "pad"],
        &["SETRANGE", "s", "-1", "x"],
        &["LCS", "s", "pad"],
        &["LPUSH", "alist", "x"],
        &["LCS", "s", "alist"],
        &["LCS", "alist", "s", "BOGUS"],
        &["GETEX", "s", "PERSIST"],
        &["GETEX", "s", "EX", "100", "PX", "1"],
        &["TTL", "s"],
        // A string changed in place is `raw` in Redis, short or numeric; a new one made
        // by APPEND is encoded as SET would, by SETRANGE `raw`.
        &["OBJECT", "ENCODING", "s"],
        &["OBJECT", "ENCODING", "pad"],
        &["APPEND", "num", "12"],
        &["OBJECT", "ENCODING", "num"],
        &["APPEND", "num", "3"],
        &["OBJECT", "ENCODING", "num"],
        &["INCR", "num"],
        &["OBJECT", "ENCODING", "num"],
        &["APPEND", "num", "x"],
        &["GET", "num"],
        &["SETRANGE", "num", "0", ""],
        &["SETRANGE", "nothing", "5", ""],
        &["EXISTS", "nothing"],
        &["SETRANGE", "num", "536870911", "xx"],
        &["SETRANGE", "num", "2", "ZZZZ"],
        &["GET", "num"],
        // APPEND and SETRANGE keep the key's TTL.
        &["SET", "ttl", "a", "EX", "1000"],
        &["APPEND", "ttl", "b"],
        &["SETRANGE", "ttl", "5", "c"],
        &["GET", "ttl"],
        &["TTL", "ttl"],
        &["LPUSH", "list", "x"],
        &["APPEND", "list", "x"],
        &["SETRANGE", "list", "0", "x"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn a_string_grown_by_many_appends_matches_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    // Pieces of different sizes, with SETRANGE writes inside and past the end between them.
    for i in 0..3000 {
        let piece = format!("{i:05}-").repeat(1 + i % 37);
        d.check(&["APPEND", "grown", &piece]);
        if i % 500 == 0 {
            let end = (i * 97).to_string();
            d.check(&["SETRANGE", "grown", &end, "<patch>"]);
        }
    }
    d.check(&["STRLEN", "grown"]);
    d.check(&["GET", "grown"]);
    d.check(&["GETRANGE", "grown", "-1000", "-1"]);
    d.check(&["DUMP", "grown"]);
}

#[test]
fn expiry_options_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["SET", "k", "v", "EX", "100"]);
    d.check(&["TTL", "k"]);
    d.check(&["SET", "k", "v2", "KEEPTTL"]);
    d.check(&["TTL", "k"]);
    d.check(&["SET", "k", "v3"]);
    d.check(&["TTL", "k"]);
    d.check(&["SET", "k", "v", "PX", "100000"]);
    d.check(&["PERSIST", "k"]);
    d.check(&["PERSIST", "k"]);
    d.check(&["EXPIRE", "k", "100", "XX"]);
    d.check(&["EXPIRE", "k", "100", "NX"]);
    d.check(&["EXPIRE", "k", "50", "GT"]);
    d.check(&["EXPIRE", "k", "200", "GT"]);
    d.check(&["EXPIRE", "k", "10", "NX", "XX"]);
    d.check(&["EXPIRE", "k", "10", "GT", "LT"]);
    d.check(&["EXPIRE", "k", "10", "FOO"]);
    d.check(&["TTL", "k"]);
    d.check(&["PTTL", "missing"]);
    d.check(&["EXPIRETIME", "missing"]);
    d.check(&["EXPIRE", "k", "-1"]);
    d.check(&["EXISTS", "k"]);
}
