//! List commands, compared byte for byte with redis-server 7.0, and the blocking pops
//! served by another client's push.

use std::time::Duration;

use tandem_tests::client::assert_reply;
use tandem_tests::{wait_until, Client, Differential, Node};

#[test]
fn list_commands_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["LPUSH", "l", "a", "b", "c"][..],
        &["RPUSH", "l", "d", "e"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "l", "-2", "100"],
        &["LRANGE", "l", "5", "1"],
        &["LRANGE", "l", "x", "1"],
        &["LLEN", "l"],
        &["LLEN", "nope"],
        &["LINDEX", "l", "0"],
        &["LINDEX", "l", "-1"],
        &["LINDEX", "l", "99"],
        &["LSET", "l", "1", "B"],
        &["LSET", "l", "99", "x"],
        &["LSET", "nope", "0", "x"],
        &["LINSERT", "l", "BEFORE", "B", "pre"],
        &["LINSERT", "l", "AFTER", "e", "post"],
        &["LINSERT", "l", "AFTER", "zz", "x"],
        &["LINSERT", "nope", "AFTER", "zz", "x"],
        &["LINSERT", "l", "MIDDLE", "B", "x"],
        &["LRANGE", "l", "0", "-1"],
        &["RPUSH", "r", "x", "y", "x", "z", "x", "x"],
        &["LREM", "r", "2", "x"],
        &["LREM", "r", "-1", "x"],
        &["LREM", "r", "0", "x"],
        &["LRANGE", "r", "0", "-1"],
        &["RPUSH", "p", "a", "b", "c", "b", "a", "b"],
        &["LPOS", "p", "b"],
        &["LPOS", "p", "b", "RANK", "2"],
        &["LPOS", "p", "b", "RANK", "-1"],
        &["LPOS", "p", "b", "COUNT", "0"],
        &["LPOS", "p", "b", "COUNT", "2", "RANK", "-1"],
        &["LPOS", "p", "b", "MAXLEN", "2"],
        &["LPOS", "p", "zz"],
        &["LPOS", "p", "zz", "COUNT", "1"],
        &["LPOS", "p", "b", "RANK", "0"],
        &["LPOS", "p", "b", "COUNT", "-1"],
        &["LPOS", "p", "b", "MAXLEN", "-1"],
        &["LPOS", "p", "b", "BOGUS", "1"],
        &["LTRIM", "p", "1", "-2"],
        &["LRANGE", "p", "0", "-1"],
        &["LTRIM", "p", "5", "1"],
        &["EXISTS", "p"],
        &["LPOP", "l"],
        &["RPOP", "l"],
        &["LPOP", "l", "2"],
        &["LPOP", "l", "0"],
        &["LPOP", "l", "-1"],
        &["LPOP", "l", "x"],
        &["LPOP", "nope"],
        &["LPOP", "nope", "2"],
        &["LPOP", "l", "1", "2"],
        &["RPOP", "l", "100"],
        &["EXISTS", "l"],
        &["LPUSHX", "nope", "a"],
        &["RPUSH", "s", "1", "2", "3"],
        &["RPUSHX", "s", "4"],
        &["LPUSHX", "s", "0"],
        &["RPOPLPUSH", "s", "t"],
        &["RPOPLPUSH", "s", "s"],
        &["LMOVE", "s", "t", "LEFT", "RIGHT"],
        &["LMOVE", "s", "t", "UP", "RIGHT"],
        &["RPOPLPUSH", "nope", "t"],
        &["LRANGE", "s", "0", "-1"],
        &["LRANGE", "t", "0", "-1"],
        &["SET", "str", "x"],
        &["LPUSH", "str", "a"],
        &["LRANGE", "str", "0", "1"],
        &["RPOPLPUSH", "s", "str"],
        &["RPOPLPUSH", "str", "s"],
        &["LMPOP", "2", "nope", "t", "RIGHT", "COUNT", "2"],
        &["LMPOP", "1", "nope", "LEFT"],
        &["LMPOP", "0", "t", "LEFT"],
        &["LMPOP", "5", "t", "LEFT"],
        &["LMPOP", "1", "t", "LEFT", "COUNT", "0"],
        &["LMPOP", "1", "t", "MIDDLE"],
        &["BLPOP", "nope", "s", "0"],
        &["BLPOP", "t", "-1"],
        &["BLPOP", "t", "abc"],
        &["BRPOP", "str", "0"],
        &["BLMPOP", "0", "1", "s", "RIGHT", "COUNT", "5"],
        &["OBJECT", "ENCODING", "s"],
        &["RPUSH", "small", "a"],
        &["OBJECT", "ENCODING", "small"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn list_replies_in_resp3_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.both(&["HELLO", "3"]);
    d.check(&["RPUSH", "l", "a", "b"]);
    d.check(&["LPOP", "nope"]);
    d.check(&["LPOP", "nope", "3"]);
    d.check(&["LMPOP", "1", "nope", "LEFT"]);
    d.check(&["LMPOP", "1", "l", "LEFT"]);
    d.check(&["LPOS", "l", "zz"]);
}

#[test]
fn blpop_is_served_by_a_push_from_another_client() {
    let node = Node::tandem(&[]);
    let mut waiter = node.client();
    let mut pusher = node.client();
    waiter.send(&["BLPOP", "queue", "other", "0"]);
    // Wait until the server has the client blocked, then push.
    wait_until(Duration::from_secs(5), "the BLPOP to block", || {
        pusher.cmd(&["CLIENT", "LIST"]).text().contains("cmd=blpop")
    });
    assert_reply(&mut pusher, &["RPUSH", "other", "job1", "job2"], ":2\r\n");
    assert_eq!(waiter.read_raw(), b"*2\r\n$5\r\nother\r\n$4\r\njob1\r\n");
    assert_reply(
        &mut pusher,
        &["LRANGE", "other", "0", "-1"],
        "*1\r\n$4\r\njob2\r\n",
    );
}

#[test]
fn blocking_moves_and_mpop_are_served() {
    let node = Node::tandem(&[]);
    let mut waiter = node.client();
    let mut pusher = node.client();
    waiter.send(&["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_until(Duration::from_secs(5), "the BLMOVE to block", || {
        pusher
            .cmd(&["CLIENT", "LIST"])
            .text()
            .contains("cmd=blmove")
    });
    pusher.cmd(&["LPUSH", "src", "x"]);
    assert_eq!(waiter.read_raw(), b"$1\r\nx\r\n");
    assert_reply(
        &mut pusher,
        &["LRANGE", "dst", "0", "-1"],
        "*1\r\n$1\r\nx\r\n",
    );
    waiter.send(&["BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"]);
    wait_until(Duration::from_secs(5), "the BLMPOP to block", || {
        pusher
            .cmd(&["CLIENT", "LIST"])
            .text()
            .contains("cmd=blmpop")
    });
    pusher.cmd(&["RPUSH", "b", "1", "2", "3"]);
    assert_eq!(
        waiter.read_raw(),
        b"*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
}

#[test]
fn blocking_pops_time_out_and_never_block_inside_exec() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    assert_reply(&mut c, &["BLPOP", "empty", "0.05"], "*-1\r\n");
    // A timed-out blocked client gets a null array, whatever the command (Redis 7.0's
    // replyToBlockedClientTimedOut); inside EXEC, BLMOVE answers as LMOVE, a null bulk.
    assert_reply(&mut c, &["BRPOPLPUSH", "empty", "x", "0.05"], "*-1\r\n");
    assert_reply(
        &mut c,
        &["BLMOVE", "empty", "x", "LEFT", "RIGHT", "0.05"],
        "*-1\r\n",
    );
    assert_reply(&mut c, &["MULTI"], "+OK\r\n");
    assert_reply(&mut c, &["BLPOP", "empty", "0"], "+QUEUED\r\n");
    assert_reply(
        &mut c,
        &["BLMOVE", "empty", "x", "LEFT", "LEFT", "0"],
        "+QUEUED\r\n",
    );
    assert_reply(&mut c, &["EXEC"], "*2\r\n*-1\r\n$-1\r\n");
}

/// Sends the blocking command `args` on `waiting` and returns once the server (asked
/// through `observer`) counts one blocked client.
fn send_blocked(waiting: &mut Client, observer: &mut Client, args: &[&str]) {
    waiting.send(args);
    wait_until(Duration::from_secs(5), "the client blocked", || {
        observer
            .cmd(&["INFO", "clients"])
            .info_field("blocked_clients")
            == Some("1".into())
    });
}

/// Redis 7.0 serves a blocked pop only from a key of the type it waits for: a key that
/// becomes another type while the client waits is passed over, not a WRONGTYPE error
/// (that came with 7.2). Whenever the woken client looks again, the first key is still a
/// string, so a WRONGTYPE there would show whatever the timing.
#[test]
fn a_blocked_pop_passes_over_a_key_that_became_another_type() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    let cases: [(&[&str], &[&str], &[&str]); 3] = [
        (
            &["BLPOP", "k", "other", "0"],
            &["SET", "k", "string"],
            &["RPUSH", "other", "v"],
        ),
        (
            &["BZPOPMIN", "z", "zother", "0"],
            &["SADD", "z", "member"],
            &["ZADD", "zother", "1", "m"],
        ),
        (
            &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"],
            &["HSET", "src", "f", "v"],
            &["HSET", "src2", "f", "v"],
        ),
    ];
    for (blocking, retype, serve) in cases {
        let (mut t, mut r) = d.block(blocking);
        d.check(retype);
        d.check(serve);
        if blocking[0] == "BLMOVE" {
            // Nothing to serve it: it times out neither; end it by its source turning back
            // into a list.
            d.check(&["DEL", "src"]);
            d.check(&["RPUSH", "src", "x"]);
        }
        assert_eq!(
            String::from_utf8_lossy(&t.read_raw()),
            String::from_utf8_lossy(&r.read_raw()),
            "{blocking:?}"
        );
    }
    // A wait that times out on a key of another type replies as a timeout.
    let (mut t, mut r) = d.block(&["BLPOP", "t", "1"]);
    d.check(&["SET", "t", "string"]);
    assert_eq!(t.read_raw(), b"*-1\r\n");
    assert_eq!(r.read_raw(), b"*-1\r\n");
}

/// A wait woken for nothing (the element went elsewhere) goes on until its first
/// deadline: woken over and over, it still times out, as in Redis.
#[test]
fn a_blocked_pop_woken_for_nothing_keeps_its_deadline() {
    let tandem = Node::tandem(&[]);
    let redis = Node::redis(&[]);
    for node in std::iter::once(&tandem).chain(redis.as_ref()) {
        let mut waiting = node.client();
        let mut other = node.client();
        send_blocked(&mut waiting, &mut other, &["BLPOP", "q", "1"]);
        // Each transaction writes q (waking the waiter) and leaves it empty.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let reply = loop {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}: the BLPOP never timed out",
                node.kind
            );
            for cmd in [
                &["MULTI"][..],
                &["RPUSH", "q", "x"],
                &["LPOP", "q"],
                &["EXEC"],
            ] {
                other.cmd(cmd);
            }
            if let Some(reply) = waiting.reply_within(Duration::from_millis(10)) {
                break reply;
            }
        };
        assert_eq!(reply, b"*-1\r\n", "{:?}", node.kind);
    }
}
