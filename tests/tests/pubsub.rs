//! Pub/Sub in RESP2 and RESP3, compared with redis-server where replies are deterministic.

use tandem_tests::client::assert_reply;
use tandem_tests::{Differential, Node, Reply};

#[test]
fn subscribe_publish_unsubscribe_resp2() {
    let node = Node::tandem(&[]);
    let mut sub = node.client();
    let mut publisher = node.client();
    assert_reply(
        &mut sub,
        &["SUBSCRIBE", "news", "sport"],
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    );
    assert_eq!(
        sub.read_raw(),
        b"*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n"
    );
    assert_reply(&mut sub, &["GET", "x"], "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    assert_reply(&mut sub, &["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_reply(&mut publisher, &["PUBLISH", "news", "hello"], ":1\r\n");
    assert_eq!(
        sub.read_raw(),
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    assert_reply(
        &mut sub,
        &["PSUBSCRIBE", "n*"],
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n",
    );
    assert_reply(&mut publisher, &["PUBLISH", "news", "again"], ":2\r\n");
    let first = sub.read();
    let second = sub.read();
    let kinds: Vec<String> = [first, second]
        .iter()
        .map(|r| r.array()[0].text())
        .collect();
    assert!(
        kinds.contains(&"message".to_string()) && kinds.contains(&"pmessage".to_string()),
        "{kinds:?}"
    );
    assert_reply(
        &mut publisher,
        &["PUBSUB", "NUMSUB", "news", "none"],
        "*4\r\n$4\r\nnews\r\n:1\r\n$4\r\nnone\r\n:0\r\n",
    );
    assert_reply(&mut publisher, &["PUBSUB", "NUMPAT"], ":1\r\n");
    assert_reply(
        &mut sub,
        &["UNSUBSCRIBE", "news"],
        "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:2\r\n",
    );
    assert_reply(
        &mut sub,
        &["PUNSUBSCRIBE"],
        "*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:1\r\n",
    );
    assert_reply(
        &mut sub,
        &["UNSUBSCRIBE"],
        "*3\r\n$11\r\nunsubscribe\r\n$5\r\nsport\r\n:0\r\n",
    );
    // Out of subscribe mode, ordinary commands work again.
    assert_reply(&mut sub, &["PING"], "+PONG\r\n");
}

#[test]
fn resp3_messages_are_pushes_and_commands_still_work() {
    let node = Node::tandem(&[]);
    let mut sub = node.client();
    let mut publisher = node.client();
    let _ = sub.cmd(&["HELLO", "3"]);
    assert_reply(
        &mut sub,
        &["SUBSCRIBE", "c"],
        ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
    );
    assert_reply(&mut sub, &["SET", "k", "v"], "+OK\r\n");
    assert_reply(&mut publisher, &["PUBLISH", "c", "m"], ":1\r\n");
    assert_eq!(
        sub.read(),
        Reply::Push(vec![
            Reply::Bulk(b"message".to_vec()),
            Reply::Bulk(b"c".to_vec()),
            Reply::Bulk(b"m".to_vec()),
        ])
    );
}

#[test]
fn pubsub_introspection_matches_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["PUBLISH", "nobody", "x"]);
    d.check(&["PUBSUB", "CHANNELS"]);
    d.check(&["PUBSUB", "NUMPAT"]);
    d.check(&["PUBSUB", "NUMSUB", "a", "b"]);
    d.check(&["UNSUBSCRIBE"]);
    d.check(&["PUNSUBSCRIBE"]);
    d.check(&["PUBSUB", "FOO"]);
    // RESP3 too: NUMSUB is a flat array of channel, count pairs in Redis 7.0, not a map.
    d.both(&["HELLO", "3"]);
    d.check(&["PUBSUB", "NUMSUB", "a", "b"]);
    d.check(&["PUBSUB", "NUMSUB"]);
}
