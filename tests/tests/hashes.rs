//! Hash commands, compared byte for byte with redis-server 7.0.

use tandem_tests::{Differential, Reply};

#[test]
fn hash_commands_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["HSET", "h", "f1", "v1", "f2", "v2"][..],
        &["HSET", "h", "f1", "new", "f3", "v3"],
        &["HSET", "h", "f1"],
        &["HMSET", "h", "f4", "v4"],
        &["HSETNX", "h", "f4", "x"],
        &["HSETNX", "h", "f5", "v5"],
        &["HGET", "h", "f1"],
        &["HGET", "h", "nope"],
        &["HGET", "nope", "f"],
        &["HMGET", "h", "f1", "nope", "f2"],
        &["HMGET", "nope", "a"],
        &["HLEN", "h"],
        &["HLEN", "nope"],
        &["HSTRLEN", "h", "f1"],
        &["HSTRLEN", "h", "nope"],
        &["HEXISTS", "h", "f2"],
        &["HEXISTS", "h", "nope"],
        &["HKEYS", "h"],
        &["HVALS", "h"],
        &["HGETALL", "h"],
        &["HDEL", "h", "f2", "nope"],
        &["HGETALL", "h"],
        &["HKEYS", "nope"],
        &["HGETALL", "nope"],
        &["HINCRBY", "h", "n", "5"],
        &["HINCRBY", "h", "n", "-10"],
        &["HINCRBY", "h", "f1", "1"],
        &["HINCRBY", "h", "n", "x"],
        &["HSET", "h", "big", "9223372036854775807"],
        &["HINCRBY", "h", "big", "1"],
        &["HINCRBYFLOAT", "h", "fl", "10.5"],
        &["HINCRBYFLOAT", "h", "fl", "0.1"],
        &["HINCRBYFLOAT", "h", "fl", "5.0e3"],
        &["HINCRBYFLOAT", "h", "f1", "1"],
        &["HINCRBYFLOAT", "h", "fl", "x"],
        &["HINCRBYFLOAT", "fresh", "f", "x"],
        &["EXISTS", "fresh"],
        &["HRANDFIELD", "nope"],
        &["HRANDFIELD", "nope", "3"],
        &["HRANDFIELD", "h", "0"],
        &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
        &["HRANDFIELD", "h", "1", "BOGUS"],
        &["HSCAN", "h", "0"],
        &["HSCAN", "h", "0", "MATCH", "f*"],
        &["HSCAN", "nope", "0"],
        &["HSCAN", "h", "x"],
        &["HDEL", "h", "f1", "f3", "f4", "f5", "n", "big", "fl"],
        &["EXISTS", "h"],
        &["SET", "s", "x"],
        &["HSET", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HGETALL", "s"],
        &["OBJECT", "ENCODING", "h"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn hash_resp3_and_random_fields() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.both(&["HELLO", "3"]);
    d.check(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    d.check(&["HGETALL", "h"]);
    d.check(&["HGETALL", "nope"]);
    // Random picks differ; their shapes and members must not.
    let (t, r) = d.both(&["HRANDFIELD", "h", "2", "WITHVALUES"]);
    assert_eq!(t.array().len(), r.array().len());
    for pair in t.array() {
        let pair = pair.array();
        assert_eq!(pair.len(), 2);
        let field = pair[0].text();
        assert!(["a", "b", "c"].contains(&field.as_str()));
    }
    let (t, _) = d.both(&["HRANDFIELD", "h", "-5"]);
    assert_eq!(t.array().len(), 5);
    let (t, _) = d.both(&["HRANDFIELD", "h", "10"]);
    let mut fields = t.strings();
    fields.sort();
    assert_eq!(fields, ["a", "b", "c"]);
}

#[test]
fn hscan_of_a_large_hash_returns_every_field_once() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    let mut args = vec!["HSET".to_string(), "big".to_string()];
    for i in 0..1000 {
        args.push(format!("field:{i}"));
        args.push(format!("{i}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    d.check(&args);
    d.check(&["OBJECT", "ENCODING", "big"]);
    d.check_unordered(&["HKEYS", "big"]);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = d.t.cmd(&["HSCAN", "big", &cursor, "COUNT", "50"]);
        let parts = reply.array();
        cursor = parts[0].text();
        for pair in parts[1].array().chunks(2) {
            assert!(seen.insert(pair[0].text()), "{:?} returned twice", pair[0]);
            if let Reply::Bulk(_) = &pair[1] {
            } else {
                panic!("value must be a bulk string");
            }
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
}

#[test]
fn hashes_of_up_to_512_fields_keep_listpack_order_as_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    // hash-max-listpack-entries is 512 in Redis 7.0: a 300-field hash is a listpack,
    // replies in insertion order, and keeps that order when fields are deleted.
    let mut args = vec!["HSET".to_string(), "mid".to_string()];
    for i in 0..300 {
        args.extend([format!("f{}", (i * 7) % 300), i.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    d.check(&args);
    d.check(&["OBJECT", "ENCODING", "mid"]);
    d.check(&["HDEL", "mid", "f0", "f77", "f150"]);
    d.check(&["HGETALL", "mid"]);
    d.check(&["HSCAN", "mid", "0"]);
    for i in 300..513 {
        d.check(&["HSET", "mid", &format!("f{i}"), "x"]);
    }
    d.check(&["OBJECT", "ENCODING", "mid"]);
    d.check(&["CONFIG", "GET", "hash-max-listpack-entries"]);
}
