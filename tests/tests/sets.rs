//! Set commands, compared with redis-server 7.0 (byte for byte where Redis's order is
//! defined, as a multiset where it is not).

use tandem_tests::Differential;

#[test]
fn set_commands_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    for cmd in [
        &["SADD", "n", "3", "1", "2", "10", "-5"][..],
        &["SADD", "n", "1", "4"],
        &["SMEMBERS", "n"],
        &["SCARD", "n"],
        &["SCARD", "nope"],
        &["SISMEMBER", "n", "3"],
        &["SISMEMBER", "n", "99"],
        &["SMISMEMBER", "n", "1", "99", "10"],
        &["SMISMEMBER", "nope", "1"],
        &["SREM", "n", "1", "99"],
        &["SMEMBERS", "n"],
        &["SMEMBERS", "nope"],
        &["OBJECT", "ENCODING", "n"],
        &["SADD", "m", "2", "3", "4", "5"],
        &["SINTER", "n", "m"],
        &["SINTER", "n", "nope"],
        &["SUNION", "n", "m"],
        &["SDIFF", "n", "m"],
        &["SDIFF", "nope", "m"],
        &["SINTERSTORE", "dst", "n", "m"],
        &["SMEMBERS", "dst"],
        &["SUNIONSTORE", "dst", "n", "m", "nope"],
        &["SMEMBERS", "dst"],
        &["SDIFFSTORE", "dst", "n", "n"],
        &["EXISTS", "dst"],
        &["SINTERCARD", "2", "n", "m"],
        &["SINTERCARD", "2", "n", "m", "LIMIT", "1"],
        &["SINTERCARD", "0", "n"],
        &["SINTERCARD", "3", "n"],
        &["SINTERCARD", "1", "n", "LIMIT", "-1"],
        &["SINTERCARD", "1", "n", "BOGUS"],
        &["SMOVE", "n", "m", "10"],
        &["SMOVE", "n", "m", "99"],
        &["SMOVE", "nope", "m", "1"],
        &["SMOVE", "n", "n", "3"],
        &["SMEMBERS", "m"],
        &["SPOP", "nope"],
        &["SPOP", "nope", "3"],
        &["SPOP", "n", "0"],
        &["SPOP", "n", "-1"],
        &["SPOP", "n", "x"],
        &["SPOP", "n", "1", "2"],
        &["SRANDMEMBER", "nope"],
        &["SRANDMEMBER", "nope", "5"],
        &["SRANDMEMBER", "n", "0"],
        &["SRANDMEMBER", "m", "100"],
        &["SRANDMEMBER", "n", "x"],
        &["SSCAN", "m", "0"],
        &["SSCAN", "m", "0", "MATCH", "1*"],
        &["SSCAN", "nope", "0"],
        &["SET", "str", "x"],
        &["SADD", "str", "a"],
        &["SMEMBERS", "str"],
        &["SINTER", "n", "str"],
        &["SINTER", "nope", "str"],
        &["SUNIONSTORE", "str", "m"],
        &["TYPE", "str"],
    ] {
        d.check(cmd);
    }
}

#[test]
fn string_sets_match_redis_as_multisets() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["SADD", "a", "x", "y", "z", "w"]);
    d.check(&["SADD", "b", "y", "w", "q"]);
    d.check(&["OBJECT", "ENCODING", "a"]);
    for cmd in [
        &["SMEMBERS", "a"][..],
        &["SINTER", "a", "b"],
        &["SUNION", "a", "b"],
        &["SDIFF", "a", "b"],
    ] {
        d.check_unordered(cmd);
    }
    d.check(&["SINTERSTORE", "c", "a", "b"]);
    d.check_unordered(&["SMEMBERS", "c"]);
    // Random picks: sizes and membership.
    let (t, _) = d.both(&["SRANDMEMBER", "a", "-10"]);
    assert_eq!(t.array().len(), 10);
    let (t, _) = d.both(&["SRANDMEMBER", "a", "2"]);
    let picked = t.strings();
    assert_eq!(picked.len(), 2);
    assert_ne!(picked[0], picked[1]);
    let (t, r) = d.both(&["SPOP", "a", "3"]);
    assert_eq!(t.array().len(), r.array().len());
    d.check(&["SCARD", "a"]);
    let (t, _) = d.both(&["SPOP", "a"]);
    assert!(["x", "y", "z", "w"].contains(&t.text().as_str()));
    d.check(&["EXISTS", "a"]);
}

#[test]
fn random_picks_from_a_large_set_are_members_distinct_where_asked_and_popped() {
    use std::collections::HashSet;
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    let members: Vec<String> = (0..5000).map(|i| format!("member:{i}")).collect();
    let mut sadd = vec!["SADD", "big"];
    sadd.extend(members.iter().map(String::as_str));
    d.check(&sadd);
    let mut left: HashSet<String> = members.iter().cloned().collect();
    let all_members = |picked: &[String], left: &HashSet<String>| {
        assert!(picked.iter().all(|m| left.contains(m)), "{picked:?}");
    };
    // Small counts pick one at a time, large ones walk the set: both distinct.
    for count in ["10", "1000", "4000"] {
        let (t, r) = d.both(&["SRANDMEMBER", "big", count]);
        let picked = t.strings();
        assert_eq!(picked.len(), r.array().len(), "SRANDMEMBER {count}");
        assert_eq!(picked.iter().collect::<HashSet<_>>().len(), picked.len());
        all_members(&picked, &left);
    }
    let (t, _) = d.both(&["SRANDMEMBER", "big", "-20000"]);
    let picked = t.strings();
    assert_eq!(picked.len(), 20000);
    all_members(&picked, &left);
    // Every member can come up: 20000 picks from 5000 miss one with odds around 5000 *
    // e^-4, so require most of them rather than all.
    assert!(picked.iter().collect::<HashSet<_>>().len() > 4500);
    for count in ["100", "3000"] {
        let (t, _) = d.both(&["SPOP", "big", count]);
        let popped = t.strings();
        assert_eq!(popped.iter().collect::<HashSet<_>>().len(), popped.len());
        all_members(&popped, &left);
        for m in &popped {
            left.remove(m);
        }
        assert_eq!(d.t.cmd(&["SCARD", "big"]).int(), left.len() as i64);
    }
    // Pop the rest one by one: the table shrinks as it empties and picks still find members.
    while !left.is_empty() {
        let popped = d.t.cmd(&["SPOP", "big"]).text();
        assert!(left.remove(&popped), "{popped} popped twice or never added");
    }
    assert_eq!(d.t.cmd(&["EXISTS", "big"]).int(), 0);
}
