//! Sorted set commands, compared byte for byte with redis-server 7.0.

use std::time::Duration;

use tandem_tests::client::assert_reply;
use tandem_tests::{wait_until, Differential, Node};

#[test]
fn sorted_set_commands_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"][..],
        &["ZADD", "z", "1.1", "d", "-inf", "e", "+inf", "f"],
        // Out of a double's range: refused as a score, taken (as +inf, 0) as a bound.
        &["ZADD", "z", "1e400", "big"],
        &["ZADD", "z", "-1e400", "big"],
        &["ZADD", "z", "1e-400", "tiny"],
        &["ZADD", "z", "Infinity", "spelled"],
        &["ZINCRBY", "z", "1e400", "a"],
        &["ZRANGEBYSCORE", "z", "1e400", "+inf"],
        &["ZRANGEBYSCORE", "z", "-1e400", "(1e-400"],
        &["ZREM", "z", "spelled"],
        &["ZADD", "z", "NX", "10", "a", "5", "g"],
        &["ZADD", "z", "XX", "CH", "10", "a", "5", "h"],
        &["ZADD", "z", "GT", "CH", "1", "a", "20", "b"],
        &["ZADD", "z", "LT", "CH", "30", "c", "0.5", "c"],
        &["ZADD", "z", "INCR", "2", "a"],
        &["ZADD", "z", "NX", "INCR", "2", "a"],
        &["ZADD", "z", "NX", "XX", "1", "a"],
        &["ZADD", "z", "GT", "LT", "1", "a"],
        &["ZADD", "z", "INCR", "1", "a", "2", "b"],
        &["ZADD", "z", "1"],
        &["ZADD", "z", "x", "a"],
        &["ZADD", "z", "nan", "a"],
        &["ZADD", "z", "XX", "1", "brandnew"],
        &["ZADD", "nope", "XX", "1", "a"],
        &["ZADD", "nope", "XX", "INCR", "1", "a"],
        &["ZINCRBY", "z", "2.5", "b"],
        &["ZINCRBY", "z", "x", "b"],
        &["ZADD", "inf", "+inf", "m"],
        &["ZINCRBY", "inf", "-inf", "m"],
        &["ZCARD", "z"],
        &["ZCARD", "nope"],
        &["ZSCORE", "z", "d"],
        &["ZSCORE", "z", "nope"],
        &["ZMSCORE", "z", "a", "nope", "e"],
        &["ZRANK", "z", "c"],
        &["ZREVRANK", "z", "c"],
        &["ZRANK", "z", "nope"],
        &["ZRANGE", "z", "0", "-1"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZRANGE", "z", "2", "3", "REV", "WITHSCORES"],
        &[
            "ZRANGE",
            "z",
            "(1",
            "+inf",
            "BYSCORE",
            "LIMIT",
            "1",
            "2",
            "WITHSCORES",
        ],
        &["ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV"],
        &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
        &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
        &["ZRANGE", "z", "0", "-1", "BOGUS"],
        &["ZRANGE", "z", "x", "1", "BYSCORE"],
        &["ZRANGE", "nope", "0", "-1"],
        &["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
        &["ZRANGEBYSCORE", "z", "-inf", "+inf"],
        &[
            "ZRANGEBYSCORE",
            "z",
            "1",
            "2",
            "WITHSCORES",
            "LIMIT",
            "0",
            "10",
        ],
        &["ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "-1", "10"],
        &["ZRANGEBYSCORE", "z", "1", "2", "REV"],
        &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "-1"],
        &["ZCOUNT", "z", "(1", "3"],
        &["ZCOUNT", "z", "a", "3"],
        &["ZREM", "z", "a", "nope"],
        &["ZREMRANGEBYSCORE", "z", "-inf", "(0"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZREMRANGEBYRANK", "z", "-1", "-1"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &[
            "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
        ],
        &["ZRANGEBYLEX", "lex", "[b", "(e"],
        &["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "1", "2"],
        &["ZREVRANGEBYLEX", "lex", "+", "[c"],
        &["ZRANGEBYLEX", "lex", "b", "c"],
        &["ZLEXCOUNT", "lex", "[b", "+"],
        &["ZREMRANGEBYLEX", "lex", "[a", "[b"],
        &["ZRANGESTORE", "dst", "lex", "0", "-1"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "dst", "lex", "[x", "[z", "BYLEX"],
        &["EXISTS", "dst"],
        &["ZRANGESTORE", "dst", "lex", "0", "-1", "WITHSCORES"],
        &["ZPOPMIN", "lex"],
        &["ZPOPMAX", "lex", "2"],
        &["ZPOPMIN", "lex", "0"],
        &["ZPOPMIN", "lex", "-1"],
        &["ZPOPMIN", "nope"],
        &["ZPOPMIN", "nope", "2"],
        &["ZMPOP", "2", "nope", "z", "MIN", "COUNT", "2"],
        &["ZMPOP", "1", "nope", "MAX"],
        &["ZMPOP", "0", "z", "MIN"],
        &["ZMPOP", "1", "z", "MIDDLE"],
        &["BZPOPMIN", "nope", "z", "0"],
        &["BZMPOP", "0", "1", "z", "MAX"],
        &["ZADD", "s1", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "s2", "10", "b", "20", "c", "30", "d"],
        &["SADD", "plain", "a", "d"],
        &["ZUNION", "2", "s1", "s2", "WITHSCORES"],
        &[
            "ZUNION",
            "3",
            "s1",
            "s2",
            "plain",
            "WEIGHTS",
            "1",
            "2",
            "3",
            "AGGREGATE",
            "MAX",
            "WITHSCORES",
        ],
        &["ZINTER", "2", "s1", "s2", "WITHSCORES"],
        &["ZINTER", "2", "s1", "s2", "AGGREGATE", "MIN", "WITHSCORES"],
        &["ZDIFF", "2", "s1", "s2", "WITHSCORES"],
        &["ZDIFF", "2", "s1", "s2", "WEIGHTS", "1", "1"],
        &["ZUNIONSTORE", "out", "2", "s1", "s2"],
        &["ZRANGE", "out", "0", "-1", "WITHSCORES"],
        &["ZINTERSTORE", "out", "2", "s1", "nope"],
        &["EXISTS", "out"],
        &["ZDIFFSTORE", "out", "1", "s1"],
        &["ZINTERCARD", "2", "s1", "s2"],
        &["ZINTERCARD", "2", "s1", "s2", "LIMIT", "1"],
        &["ZINTERCARD", "0", "s1"],
        &["ZUNION", "0", "s1"],
        &["ZUNION", "5", "s1"],
        &["ZUNION", "2", "s1", "s2", "WEIGHTS", "1", "x"],
        &["ZUNION", "2", "s1", "s2", "AGGREGATE", "AVG"],
        &["ZUNIONSTORE", "out", "2", "s1", "s2", "WITHSCORES"],
        &["ZRANDMEMBER", "nope"],
        &["ZRANDMEMBER", "nope", "2"],
        &["ZRANDMEMBER", "s1", "0"],
        &["ZRANDMEMBER", "s1", "1", "WITHSCORES", "x"],
        &["ZSCAN", "s1", "0"],
        &["ZSCAN", "s1", "0", "MATCH", "a*"],
        &["SET", "str", "x"],
        &["ZADD", "str", "1", "a"],
        &["ZRANGE", "str", "0", "-1"],
        &["ZUNION", "2", "s1", "str"],
        &["OBJECT", "ENCODING", "s1"],
    ] {
        d.check(cmd);
    }
}

/// Redis keeps -0 in a skiplist but stores it as the integer 0 in a listpack, and a
/// new member's INCR reply is the increment itself: clients see both.
#[test]
fn negative_zero_scores_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    let big: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let mut fill = vec!["ZADD", "big"];
    for m in &big {
        fill.extend(["1", m.as_str()]);
    }
    d.check(&fill);
    for cmd in [
        &["ZADD", "small", "-0", "a", "0", "b", "-1", "c"][..],
        &["ZRANGE", "small", "0", "-1", "WITHSCORES"],
        &["ZSCORE", "small", "a"],
        &["ZINCRBY", "fresh", "-0", "a"],
        &["ZSCORE", "fresh", "a"],
        &["ZADD", "fresh2", "INCR", "-0", "a"],
        &["ZSCORE", "fresh2", "a"],
        &["ZADD", "big", "-0", "neg"],
        &["ZSCORE", "big", "neg"],
        &["ZUNIONSTORE", "flipped", "1", "small", "WEIGHTS", "-1"],
        &["ZRANGE", "flipped", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "part", "big", "-0", "0", "BYSCORE"],
        &["ZRANGE", "part", "0", "-1", "WITHSCORES"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn sorted_set_resp3_shapes_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.both(&["HELLO", "3"]);
    for cmd in [
        &["ZADD", "z", "1", "a", "2.5", "b", "3", "c"][..],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZSCORE", "z", "b"],
        &["ZMSCORE", "z", "b", "nope"],
        &["ZADD", "z", "INCR", "1", "a"],
        &["ZPOPMIN", "z"],
        &["ZPOPMIN", "z", "1"],
        &["ZUNION", "1", "z", "WITHSCORES"],
        &["ZMPOP", "1", "z", "MAX"],
        &["ZSCAN", "z", "0"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn bzpopmin_is_served_by_zadd_and_times_out() {
    let node = Node::tandem(&[]);
    let mut waiter = node.client();
    let mut writer = node.client();
    waiter.send(&["BZPOPMIN", "z1", "z2", "0"]);
    wait_until(Duration::from_secs(5), "the BZPOPMIN to block", || {
        writer
            .cmd(&["CLIENT", "LIST"])
            .text()
            .contains("cmd=bzpopmin")
    });
    writer.cmd(&["ZADD", "z2", "5", "five", "1", "one"]);
    assert_eq!(
        waiter.read_raw(),
        b"*3\r\n$2\r\nz2\r\n$3\r\none\r\n$1\r\n1\r\n"
    );
    assert_reply(&mut waiter, &["BZPOPMAX", "empty", "0.05"], "*-1\r\n");
    assert_reply(&mut waiter, &["MULTI"], "+OK\r\n");
    assert_reply(
        &mut waiter,
        &["BZMPOP", "0", "1", "empty", "MIN"],
        "+QUEUED\r\n",
    );
    assert_reply(&mut waiter, &["EXEC"], "*1\r\n*-1\r\n");
}

#[test]
fn random_members_of_a_large_sorted_set_come_with_their_scores() {
    use std::collections::HashSet;
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    let mut zadd = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..3000 {
        zadd.extend([i.to_string(), format!("m{i}")]);
    }
    let zadd: Vec<&str> = zadd.iter().map(String::as_str).collect();
    d.check(&zadd);
    // Each pick is a member with its own score (member mN has score N).
    let pairs = |reply: &tandem_tests::Reply| -> Vec<(String, String)> {
        reply
            .strings()
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect()
    };
    for count in ["5", "900", "2500", "-5000"] {
        let (t, r) = d.both(&["ZRANDMEMBER", "z", count, "WITHSCORES"]);
        let picked = pairs(&t);
        assert_eq!(picked.len(), pairs(&r).len(), "ZRANDMEMBER {count}");
        assert!(
            picked.iter().all(|(m, s)| *m == format!("m{s}")),
            "{picked:?}"
        );
        if !count.starts_with('-') {
            assert_eq!(picked.iter().collect::<HashSet<_>>().len(), picked.len());
        }
    }
    // All of it, in the order Redis walks a large set (and a small one, below).
    d.check(&["ZRANDMEMBER", "z", "3000"]);
    d.check(&["ZADD", "small", "2", "b", "1", "a", "3", "c"]);
    d.check(&["ZRANDMEMBER", "small", "5", "WITHSCORES"]);
    let one = d.t.cmd(&["ZRANDMEMBER", "z"]).text();
    assert!(one.starts_with('m'), "{one}");
}
