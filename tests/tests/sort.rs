//! SORT and SORT_RO, compared byte for byte with redis-server 7.0: numeric and ALPHA
//! order, BY weights and hash fields, GET patterns, LIMIT, STORE, and the errors.

use tandem_tests::Differential;

#[test]
fn sort_matches_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["RPUSH", "nums", "3", "1", "10", "2", "-4.5", "1e2", "2"][..],
        &["SORT", "nums"],
        &["SORT", "nums", "DESC"],
        &["SORT", "nums", "ALPHA"],
        &["SORT", "nums", "ALPHA", "DESC", "LIMIT", "1", "3"],
        &["SORT", "nums", "LIMIT", "0", "0"],
        &["SORT", "nums", "LIMIT", "-5", "2"],
        &["SORT", "nums", "LIMIT", "5", "100"],
        &["SORT", "nums", "LIMIT", "100", "2"],
        &["SORT", "nums", "LIMIT", "2", "-1"],
        &["SORT", "nums", "LIMIT", "x", "1"],
        &["SORT", "nums", "LIMIT", "1"],
        &["SORT", "nums", "BY", "nosort"],
        &["SORT", "nums", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        &["SORT", "nums", "FOO"],
        &["RPUSH", "words", "banana", "apple", "cherry", "10"],
        &["SORT", "words"],
        &["SORT", "words", "ALPHA"],
        &["SORT", "words", "ALPHA", "DESC"],
        &["RPUSH", "blank", "", "1"],
        &["SORT", "blank"],
        // BY weights and hash fields, GET values, # for the element itself.
        &["RPUSH", "ids", "1", "2", "3", "4"],
        &[
            "MSET", "w_1", "40", "w_2", "10", "w_3", "30", "name_1", "one", "name_2", "two",
        ],
        &["HSET", "h_1", "age", "31", "city", "Oslo"],
        &["HSET", "h_2", "age", "7", "city", "Rome"],
        &["HSET", "h_3", "age", "7"],
        &["SORT", "ids", "BY", "w_*"],
        &["SORT", "ids", "BY", "w_*", "DESC"],
        &["SORT", "ids", "BY", "w_*", "GET", "name_*", "GET", "#"],
        &[
            "SORT",
            "ids",
            "BY",
            "h_*->age",
            "GET",
            "h_*->city",
            "GET",
            "#",
        ],
        &[
            "SORT", "ids", "BY", "h_*->age", "LIMIT", "1", "2", "GET", "#",
        ],
        &["SORT", "ids", "BY", "w_*", "ALPHA", "GET", "#"],
        &["SORT", "ids", "GET", "nostar", "GET", "w_*->x"],
        &["SORT", "ids", "BY", "name_*"],
        &["SORT", "ids", "BY", "name_*", "ALPHA"],
        // Sets and sorted sets.
        &["SADD", "set", "5", "3", "9", "1"],
        &["SORT", "set"],
        &["SORT", "set", "DESC", "LIMIT", "1", "2"],
        &["SORT", "set", "BY", "nosort", "STORE", "fromset"],
        &["LRANGE", "fromset", "0", "-1"],
        &["ZADD", "z", "3", "c", "1", "a", "2", "b"],
        &["SORT", "z", "ALPHA"],
        &["SORT", "z", "BY", "nosort"],
        &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "5"],
        &["SORT", "z"],
        // STORE: a list replacing whatever was there (TTL too), or nothing at all.
        &["SET", "dst", "x", "EX", "100"],
        &["SORT", "nums", "STORE", "dst"],
        &["TYPE", "dst"],
        &["TTL", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &["SORT", "ids", "BY", "w_*", "GET", "name_*", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &["SORT", "missing", "STORE", "dst"],
        &["EXISTS", "dst"],
        &["SORT", "missing"],
        &["SORT_RO", "nums", "LIMIT", "0", "3", "DESC"],
        &["SORT_RO", "nums", "STORE", "dst"],
        &["SET", "str", "x"],
        &["SORT", "str"],
        &["HSET", "hash", "a", "1"],
        &["SORT", "hash"],
        &["SORT", "str", "FOO"],
        // Last: after an out-of-range weight, redis-server 7.0 refuses numeric sorts until
        // something else resets errno (it does not clear it before strtod).
        &["RPUSH", "huge", "1e400", "1"],
        &["SORT", "huge"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn sort_store_reaches_a_replica() {
    use tandem_tests::dataset::wait_same;
    use tandem_tests::Node;
    let master = Node::tandem(&["--repl-diskless-sync-delay", "0"]);
    // Linked first, so the writes travel as the command stream, not in a full sync.
    let replica = Node::linked_replica_of(&master, &[]);
    let (mut m, mut r) = (master.client(), replica.client());
    m.cmd(&["SADD", "s", "b", "c", "a"]);
    m.cmd(&["MSET", "w_a", "3", "w_b", "1", "w_c", "2"]);
    m.cmd(&["SORT", "s", "BY", "w_*", "STORE", "byweight"]);
    m.cmd(&["SORT", "s", "BY", "nosort", "STORE", "alpha"]);
    m.cmd(&["SORT", "nothing", "STORE", "w_a"]);
    wait_same(&mut m, &mut r, std::time::Duration::from_secs(10));
    let list = |c: &mut tandem_tests::Client, k: &str| c.cmd(&["LRANGE", k, "0", "-1"]).strings();
    assert_eq!(list(&mut r, "byweight"), ["b", "c", "a"]);
    assert_eq!(list(&mut r, "alpha"), ["a", "b", "c"]);
    assert_eq!(r.cmd(&["EXISTS", "w_a"]).int(), 0);
}
