//! The wire protocol: pipelining, inline commands, RESP3, and malformed input (the client
//! gets Redis's protocol error and is disconnected; other clients are unaffected).

use tandem_tests::client::assert_reply;
use tandem_tests::{Differential, Node, Reply};

#[test]
fn pipelined_and_inline_requests() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    c.send_bytes(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nECHO \"a b\"\r\n");
    assert_eq!(c.read(), Reply::Simple("OK".into()));
    assert_eq!(c.read(), Reply::Bulk(b"v".to_vec()));
    assert_eq!(c.read(), Reply::Simple("PONG".into()));
    assert_eq!(c.read(), Reply::Bulk(b"a b".to_vec()));
}

/// Sends `garbage` on one connection and checks the reply and the disconnect, while a
/// second connection keeps working.
fn assert_rejected(garbage: &[u8], expected: &str) {
    let node = Node::tandem(&[]);
    let mut other = node.client();
    assert_reply(&mut other, &["SET", "survivor", "1"], "+OK\r\n");
    let mut bad = node.client();
    bad.send_bytes(garbage);
    let reply = bad.read();
    assert_eq!(
        reply,
        Reply::Error(expected.into()),
        "reply to {:?}",
        String::from_utf8_lossy(garbage)
    );
    assert!(
        bad.is_closed(),
        "connection must be closed after a protocol error"
    );
    assert_reply(&mut other, &["GET", "survivor"], "$1\r\n1\r\n");
}

#[test]
fn huge_bulk_length_is_rejected_without_buffering() {
    assert_rejected(
        b"*1\r\n$1099511627776\r\n",
        "ERR Protocol error: invalid bulk length",
    );
}

#[test]
fn bad_multibulk_length_is_rejected() {
    assert_rejected(b"*abc\r\n", "ERR Protocol error: invalid multibulk length");
}

#[test]
fn non_bulk_inside_multibulk_is_rejected() {
    assert_rejected(b"*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'");
}

#[test]
fn unbalanced_inline_quotes_are_rejected() {
    assert_rejected(
        b"SET \"unterminated\r\n",
        "ERR Protocol error: unbalanced quotes in request",
    );
}

#[test]
fn unterminated_inline_request_is_bounded() {
    let garbage = vec![b'x'; 70 * 1024];
    assert_rejected(&garbage, "ERR Protocol error: too big inline request");
}

#[test]
fn unterminated_multibulk_waits_then_other_clients_work() {
    let node = Node::tandem(&[]);
    let mut partial = node.client();
    // A request cut in the middle is not an error: the server waits for the rest.
    partial.send_bytes(b"*2\r\n$3\r\nGET\r\n$5\r\nab");
    let mut other = node.client();
    assert_reply(&mut other, &["PING"], "+PONG\r\n");
    partial.send_bytes(b"cde\r\n");
    assert_eq!(partial.read(), Reply::Nil);
}

#[test]
fn errors_and_protocol_replies_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["PING"][..],
        &["PING", "hello"],
        &["PING", "a", "b"],
        &["ECHO"],
        &["NOSUCHCOMMAND", "a", "b"],
        &["GET"],
        &["SELECT", "99"],
        &["SELECT", "x"],
        &["SELECT", "1"],
        &["SET", "k", "v"],
        &["TYPE", "k"],
        &["TYPE", "nope"],
        &["DBSIZE"],
        &["SELECT", "0"],
        &["DBSIZE"],
        &["AUTH", "x"],
        &["AUTH", "default", "x"],
        &["HELLO", "4"],
        &["CLIENT", "SETNAME", "bad name"],
        &["CLIENT", "SETNAME", "good"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "NOSUCH"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "GET", "databases"],
        &["CONFIG", "SET", "databases", "4"],
        &["CONFIG", "SET", "nosuch", "4"],
        &["CONFIG", "SET", "maxmemory", "lots"],
        &["CONFIG", "SET", "appendfsync", "sometimes"],
        &["CONFIG", "GET", "appendfsync"],
        &["OBJECT", "ENCODING", "k"],
        &["SET", "n", "12345"],
        &["OBJECT", "ENCODING", "n"],
        &["OBJECT", "ENCODING", "missing"],
        &["FLUSHDB", "BOGUS"],
        &["SWAPDB", "0", "x"],
        // Database indexes are C ints in Redis: beyond one, its range error.
        &["SWAPDB", "0", "9223372036854775807"],
        &["SWAPDB", "4294967296", "0"],
        &["SWAPDB", "0", "16"],
        &["SELECT", "9223372036854775807"],
        &["SELECT", "2147483648"],
        &["SELECT", "-1"],
        &["SELECT", "16"],
        &["MOVE", "k", "9223372036854775807"],
        &["MOVE", "k", "16"],
        &["COPY", "k", "k2", "DB", "2147483648"],
        &["MEMORY", "USAGE", "k", "SAMPLES", "-1"],
        &["MEMORY", "USAGE", "k", "SAMPLES", "x"],
        &["MEMORY", "USAGE", "missing", "SAMPLES", "0"],
        // Refused, not acted on: a bare CLIENT KILL would kill everyone, SHUTDOWN ABORT
        // or contradictory flags must not stop the server.
        &["CLIENT", "KILL"],
        &["CLIENT", "KILL", "TYPE", "foo"],
        &["CLIENT", "KILL", "TYPE", "pubsub"],
        &["SHUTDOWN", "ABORT"],
        &["SHUTDOWN", "ABORT", "NOW"],
        &["SHUTDOWN", "NOSAVE", "SAVE"],
        &["PING"],
        &["OBJECT", "ENCODING"],
        &["OBJECT", "ENCODING", "k", "extra"],
        &["OBJECT", "FREQ"],
        &["OBJECT", "NOSUCH", "k"],
        &["COMMAND", "INFO", "nosuch"],
        // Keys after a count, SORT's STORE, a container's key: as Redis finds them.
        &["COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"],
        &["COMMAND", "GETKEYS", "zunionstore", "d", "5", "a", "b"],
        &[
            "COMMAND", "GETKEYS", "zinter", "2", "a", "b", "WEIGHTS", "1", "2",
        ],
        &["COMMAND", "GETKEYS", "lmpop", "2", "a", "b", "LEFT"],
        &["COMMAND", "GETKEYS", "blmpop", "0", "2", "a", "b", "LEFT"],
        &[
            "COMMAND",
            "GETKEYS",
            "sintercard",
            "2",
            "a",
            "b",
            "LIMIT",
            "1",
        ],
        &["COMMAND", "GETKEYS", "zintercard", "0", "a"],
        &["COMMAND", "GETKEYS", "memory", "usage", "k"],
        &["COMMAND", "GETKEYS", "object", "encoding", "k"],
        &[
            "COMMAND", "GETKEYS", "sort", "k", "BY", "w_*", "LIMIT", "0", "1", "STORE", "d",
        ],
        &["COMMAND", "GETKEYS", "sort_ro", "k", "ALPHA"],
        &["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"],
        &["COMMAND", "GETKEYS", "ping"],
        &["COMMAND", "GETKEYS", "get"],
        &["COMMAND", "GETKEYS", "nosuch", "k"],
        &["HSET", "h", "f", "1.5"],
        &["HINCRBYFLOAT", "h", "f", "inf"],
        &["HINCRBYFLOAT", "h", "f", "-Infinity"],
        &["HINCRBYFLOAT", "h", "f", "x"],
        &["HSET", "h", "g", "inf"],
        &["HINCRBYFLOAT", "h", "g", "1"],
        &["HSET", "h", "s", "abc"],
        &["HINCRBYFLOAT", "h", "s", "1"],
        &["INCRBYFLOAT", "fl", "inf"],
        &["SET", "fl", "-inf"],
        &["INCRBYFLOAT", "fl", "1"],
        &["HRANDFIELD", "h", "-9223372036854775808"],
        &["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"],
        &["CONFIG", "GET", "hash-max-listpack-entries"],
        &["CONFIG", "GET", "zset-max-listpack-entries"],
        &["FLUSHALL"],
        &["DBSIZE"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn resp3_hello_matches_redis_shapes() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    let (t, r) = d.both(&["HELLO", "3"]);
    let keys = |reply: &Reply| match reply {
        Reply::Map(pairs) => pairs.iter().map(|(k, _)| k.text()).collect::<Vec<_>>(),
        other => panic!("HELLO 3 must reply with a map, got {other:?}"),
    };
    assert_eq!(keys(&t), keys(&r));
    d.check(&["SET", "k", "v"]);
    d.check(&["GET", "missing"]);
    d.check(&["CONFIG", "GET", "maxmemory"]);
    d.check_unordered(&["CONFIG", "GET", "maxmemory*"]);
    // Client ids differ between servers; the shape and the other fields must not.
    let (t, r) = d.both(&["HELLO", "2", "SETNAME", "x"]);
    let without_id = |reply: &Reply| {
        let items = reply.array().to_vec();
        items
            .chunks(2)
            .filter(|kv| kv[0].text() != "id")
            .map(|kv| kv.to_vec())
            .collect::<Vec<_>>()
    };
    assert_eq!(without_id(&t), without_id(&r));
}

#[test]
fn output_buffer_limit_closes_the_client_not_the_server() {
    let node = Node::tandem(&["--client-output-buffer-limit", "normal 1mb 0 0"]);
    let mut c = node.client();
    let big = "x".repeat(600 * 1024);
    assert_reply(&mut c, &["SET", "big", big.as_str()], "+OK\r\n");
    // One GET fits; two pipelined GETs produce 1.2 MB of replies in one batch.
    assert_eq!(c.cmd(&["GET", "big"]).text().len(), big.len());
    // Sent in one write so that both land in the same batch.
    let mut two = tandem_tests::client::encode_command(&["GET", "big"]);
    two.extend(tandem_tests::client::encode_command(&["GET", "big"]));
    c.send_bytes(&two);
    assert!(
        c.is_closed(),
        "a client over its output buffer limit must be disconnected"
    );
    assert!(
        node.log().contains("output buffer limits"),
        "{}",
        node.log()
    );
    assert_reply(&mut node.client(), &["STRLEN", "big"], ":614400\r\n");
}

#[test]
fn large_values_and_long_argument_lists_arrive_in_pieces() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    let big = vec![b'v'; 8 * 1024 * 1024];
    assert_reply(&mut c, &[&b"SET"[..], b"big", &big], "+OK\r\n");
    assert_reply(&mut c, &["STRLEN", "big"], ":8388608\r\n");
    let mut mset: Vec<String> = vec!["MSET".into()];
    for i in 0..50_000 {
        mset.push(format!("k{i}"));
        mset.push(format!("v{i}"));
    }
    assert_reply(&mut c, &mset, "+OK\r\n");
    assert_reply(&mut c, &["DBSIZE"], ":50001\r\n");
    assert_reply(&mut c, &["GET", "k49999"], "$6\r\nv49999\r\n");
}

#[test]
fn command_info_without_names_describes_every_command() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    let count = c.cmd(&["COMMAND", "COUNT"]).int();
    let all = c.cmd(&["COMMAND", "INFO"]);
    assert_eq!(all.array().len() as i64, count);
    assert_eq!(c.cmd(&["COMMAND"]).array().len() as i64, count);
}

#[test]
fn command_info_acl_categories_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for name in [
        "get",
        "set",
        "incr",
        "append",
        "mget",
        "del",
        "exists",
        "expire",
        "ttl",
        "rename",
        "lpush",
        "lrange",
        "blpop",
        "blmove",
        "hset",
        "hgetall",
        "sadd",
        "smembers",
        "spop",
        "zadd",
        "zrange",
        "bzpopmin",
        "setbit",
        "bitcount",
        "multi",
        "exec",
        "watch",
        "publish",
        "subscribe",
        "ping",
        "echo",
        "select",
    ] {
        let (t, r) = d.both(&["COMMAND", "INFO", name]);
        let categories = |reply: &Reply| reply.array()[0].array()[6].clone();
        assert_eq!(categories(&t), categories(&r), "ACL categories of {name}");
    }
}

#[test]
fn command_list_filters_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    // Families tandem has whole, and patterns over them (subcommands included).
    for args in [
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "sortedset"][..],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "list"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "hash"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "set"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "bitmap"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "z*"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG*"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "slowlog|*"],
        &["COMMAND", "LIST", "FILTERBY", "MODULE", "foo"],
    ] {
        d.check_unordered(args);
    }
    d.check(&["COMMAND", "LIST", "FILTERBY", "FOO", "x"]);
    d.check(&["COMMAND", "LIST", "FILTERBY", "PATTERN"]);
    d.check(&["PUBSUB", "HELP"]);
}
