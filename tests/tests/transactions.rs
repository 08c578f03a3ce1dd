//! MULTI / EXEC / DISCARD / WATCH, compared with redis-server, and WATCH across clients.

use tandem_tests::client::assert_reply;
use tandem_tests::{Differential, Node};

#[test]
fn transaction_replies_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["EXEC"][..],
        &["DISCARD"],
        &["MULTI"],
        &["MULTI"],
        &["SET", "a", "1"],
        &["INCR", "a"],
        &["GET", "a"],
        &["EXEC"],
        &["MULTI"],
        &["SET", "a"],
        &["INCR", "a"],
        &["EXEC"],
        &["GET", "a"],
        &["MULTI"],
        &["SET", "b", "x"],
        &["INCR", "b"],
        &["EXEC"],
        &["MULTI"],
        &["WATCH", "a"],
        &["DISCARD"],
        &["WATCH", "a"],
        &["UNWATCH"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn touched_watch_makes_exec_return_nil() {
    let node = Node::tandem(&[]);
    let mut a = node.client();
    let mut b = node.client();
    assert_reply(&mut a, &["SET", "k", "1"], "+OK\r\n");
    assert_reply(&mut a, &["WATCH", "k"], "+OK\r\n");
    assert_reply(&mut b, &["SET", "k", "2"], "+OK\r\n");
    assert_reply(&mut a, &["MULTI"], "+OK\r\n");
    assert_reply(&mut a, &["SET", "k", "3"], "+QUEUED\r\n");
    assert_reply(&mut a, &["EXEC"], "*-1\r\n");
    assert_reply(&mut a, &["GET", "k"], "$1\r\n2\r\n");
    // An untouched watch lets the transaction run.
    assert_reply(&mut a, &["WATCH", "k"], "+OK\r\n");
    assert_reply(&mut a, &["MULTI"], "+OK\r\n");
    assert_reply(&mut a, &["SET", "k", "3"], "+QUEUED\r\n");
    assert_reply(&mut a, &["EXEC"], "*1\r\n+OK\r\n");
}

#[test]
fn flushall_invalidates_watches() {
    let node = Node::tandem(&[]);
    let mut a = node.client();
    let mut b = node.client();
    assert_reply(&mut a, &["SET", "k", "1"], "+OK\r\n");
    assert_reply(&mut a, &["WATCH", "k"], "+OK\r\n");
    assert_reply(&mut b, &["FLUSHALL"], "+OK\r\n");
    assert_reply(&mut a, &["MULTI"], "+OK\r\n");
    assert_reply(&mut a, &["PING"], "+QUEUED\r\n");
    assert_reply(&mut a, &["EXEC"], "*-1\r\n");
}
