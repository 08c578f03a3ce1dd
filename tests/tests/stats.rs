//! Command statistics against a real redis-server 7.0: INFO commandstats, errorstats and
//! latencystats, LATENCY HISTOGRAM, the slow log, the latency monitor, and the redaction
//! of credentials in the slow log and MONITOR. Timings differ between the two servers, so they are masked; every
//! count, name and argument must be the same.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use tandem_tests::{Client, Differential, Node, Reply};

/// `cmdstat_<name>` → the fields of its line, without the timings.
fn command_counts(info: &Reply) -> BTreeMap<String, String> {
    info.text()
        .lines()
        .filter_map(|l| l.strip_prefix("cmdstat_"))
        .map(|l| {
            let (name, fields) = l.split_once(':').expect("name:fields");
            let counts: Vec<&str> = fields
                .split(',')
                .filter(|f| !f.starts_with("usec"))
                .collect();
            (name.to_string(), counts.join(","))
        })
        .collect()
}

/// One `name:value` field of an INFO reply.
fn info_field(info: &Reply, name: &str) -> String {
    info.info_field(name)
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

/// Commands with latency percentiles in INFO latencystats (sorted: Redis lists them in
/// hash table order), with the percentiles named.
fn latency_names(info: &Reply) -> Vec<String> {
    info.text()
        .lines()
        .filter_map(|l| l.strip_prefix("latency_percentiles_usec_"))
        .map(|l| {
            let (name, values) = l.split_once(':').expect("name:values");
            let percentiles: Vec<&str> = values
                .split(',')
                .map(|v| v.split('=').next().unwrap())
                .collect();
            format!("{name} {}", percentiles.join(","))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// LATENCY HISTOGRAM as command → calls, checking each distribution is cumulative and
/// ends at the call count.
fn histogram_calls(reply: &Reply) -> BTreeMap<String, i64> {
    reply
        .array()
        .chunks(2)
        .map(|pair| {
            let fields = pair[1].array();
            assert_eq!(fields[0].text(), "calls");
            assert_eq!(fields[2].text(), "histogram_usec");
            let calls = fields[1].int();
            let steps: Vec<i64> = fields[3].array().iter().map(Reply::int).collect();
            let counts: Vec<i64> = steps.chunks(2).map(|s| s[1]).collect();
            assert!(counts.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
            assert_eq!(counts.last().copied(), Some(calls), "{steps:?}");
            (pair[0].text(), calls)
        })
        .collect()
}

/// INFO clients' `clients_in_timeout_table` of both servers.
fn timeout_table(d: &mut Differential) -> (String, String) {
    (
        info_field(&d.t.cmd(&["INFO", "clients"]), "clients_in_timeout_table"),
        info_field(&d.r.cmd(&["INFO", "clients"]), "clients_in_timeout_table"),
    )
}

#[test]
fn command_error_and_latency_stats_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["CONFIG", "RESETSTAT"]);
    for cmd in [
        &["SET", "k", "v"][..],
        &["GET", "k"],
        &["LPUSH", "k", "x"],
        &["INCR", "k"],
        &["MSET", "a"],
        &["MSET", "a", "b", "c"],
        &["PING", "a", "b"],
        &["CONFIG", "GET"],
        &["CONFIG", "NOPE"],
        &["CLIENT", "GETNAME", "x"],
        &["OBJECT", "ENCODING", "missing"],
        &["NOSUCHCOMMAND", "x"],
        &["MULTI"],
        &["SET", "t", "1"],
        &["LPUSH", "t", "x"],
        &["EXEC"],
        &["MULTI"],
        &["GET"],
        &["EXEC"],
        &["BLPOP", "empty", "0.01"],
        // Refused with enable-debug-command at its default, counted as rejected.
        &["DEBUG", "SLEEP", "0"],
    ] {
        d.check(cmd);
    }
    // A BLPOP served after it blocked counts one call, timed when it is served.
    let (mut t, mut r) = d.block(&["BLPOP", "q", "5"]);
    assert_eq!(timeout_table(&mut d), ("1".into(), "1".into()));
    d.check(&["RPUSH", "q", "v"]);
    assert_eq!(t.read(), r.read());

    let (ts, rs) = d.both(&["INFO", "stats"]);
    for field in ["total_error_replies", "total_commands_processed"] {
        assert_eq!(info_field(&ts, field), info_field(&rs, field), "{field}");
    }
    d.check(&["INFO", "errorstats"]);
    let (tc, rc) = d.both(&["INFO", "commandstats"]);
    assert_eq!(command_counts(&tc), command_counts(&rc));
    assert!(command_counts(&tc)["config|get"].contains("rejected_calls=1"));
    let (tl, rl) = d.both(&["INFO", "latencystats"]);
    assert_eq!(latency_names(&tl), latency_names(&rl));
    let (th, rh) = d.both(&["LATENCY", "HISTOGRAM"]);
    assert_eq!(histogram_calls(&th), histogram_calls(&rh));
    let (th, rh) = d.both(&["LATENCY", "HISTOGRAM", "blpop", "config", "nosuch"]);
    assert_eq!(histogram_calls(&th), histogram_calls(&rh));
    // Both BLPOPs are calls; only the one served is timed (Redis 7.0 does not time one
    // that times out).
    assert!(command_counts(&tc)["blpop"].starts_with("calls=2,"));
    assert_eq!(histogram_calls(&th).get("blpop"), Some(&1));

    // The percentiles are a setting, checked as Redis checks it.
    for cmd in [
        &[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "50 101",
        ][..],
        &[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "0 99.99 100",
        ],
        &["CONFIG", "GET", "latency-tracking-info-percentiles"],
    ] {
        d.check(cmd);
    }
    let (tl, rl) = d.both(&["INFO", "latencystats"]);
    assert_eq!(latency_names(&tl), latency_names(&rl));
    assert!(latency_names(&tl)[0].ends_with(" p0,p99.99,p100"));

    // RESETSTAT forgets it all; with latency tracking off only the counters are kept.
    d.check(&["CONFIG", "RESETSTAT"]);
    d.check(&["INFO", "errorstats"]);
    d.check(&["CONFIG", "SET", "latency-tracking", "no"]);
    d.check(&["GET", "k"]);
    let (tc, rc) = d.both(&["INFO", "commandstats"]);
    assert_eq!(command_counts(&tc), command_counts(&rc));
    let names: Vec<String> = command_counts(&tc).into_keys().collect();
    assert_eq!(
        names,
        ["config|resetstat", "config|set", "get", "info"],
        "{}",
        tc.text()
    );
    let (tl, rl) = d.both(&["INFO", "latencystats"]);
    assert_eq!(latency_names(&tl), latency_names(&rl));
    let (th, rh) = d.both(&["LATENCY", "HISTOGRAM"]);
    assert_eq!(histogram_calls(&th), histogram_calls(&rh));

    // WAIT with no timeout blocks with no deadline: not in the timeout table.
    let mut wt = d.tandem.client();
    let mut wr = d.redis.client();
    wt.send(&["WAIT", "1", "0"]);
    wr.send(&["WAIT", "1", "0"]);
    d.wait_both_blocked();
    assert_eq!(timeout_table(&mut d), ("0".into(), "0".into()));
}

/// A SLOWLOG GET reply with the parts that legitimately differ (time, duration, client
/// port) checked and masked.
fn masked_slowlog(reply: &Reply) -> Reply {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Reply::Array(
        reply
            .array()
            .iter()
            .map(|entry| {
                let mut e = entry.array().to_vec();
                assert_eq!(e.len(), 6, "{entry:?}");
                assert!((e[1].int() - now).abs() < 60, "{entry:?}");
                assert!(e[2].int() >= 0, "{entry:?}");
                assert!(e[4].text().starts_with("127.0.0.1:"), "{entry:?}");
                e[1] = Reply::Int(0);
                e[2] = Reply::Int(0);
                e[4] = Reply::Nil;
                Reply::Array(e)
            })
            .collect(),
    )
}

#[test]
fn slowlog_logs_commands_as_redis_does() {
    let Some(mut d) = Differential::start(&[
        "--slowlog-log-slower-than",
        "0",
        "--enable-debug-command",
        "local",
    ]) else {
        return;
    };
    let long_value = "x".repeat(200);
    let mut many = vec!["RPUSH", "list"];
    many.extend(std::iter::repeat_n("e", 40));
    for cmd in [
        &["SLOWLOG", "RESET"][..],
        &["CLIENT", "SETNAME", "reporter"],
        &["SET", "k", &long_value],
        &many,
        &["AUTH", "someone", "secret"],
        &[
            "CONFIG",
            "SET",
            "masterauth",
            "hidden",
            "maxmemory-samples",
            "5",
        ],
        &["MULTI"],
        &["INCR", "n"],
        &["EXEC"],
    ] {
        d.check(cmd);
    }
    // HELLO's reply holds the client id, which differs between the servers.
    d.both(&["HELLO", "2", "AUTH", "default", "pw", "SETNAME", "reporter"]);
    d.check(&["PING"]);
    let (t, r) = d.both(&["SLOWLOG", "GET", "-1"]);
    assert_eq!(masked_slowlog(&t), masked_slowlog(&r));
    let text = format!("{t:?}");
    for secret in ["secret", "someone", "hidden", "\"pw\""] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    for cmd in [
        &["SLOWLOG", "LEN"][..],
        &["CONFIG", "SET", "slowlog-max-len", "3"],
        &["SLOWLOG", "LEN"],
        &["PING"],
        &["SLOWLOG", "LEN"],
        &["SLOWLOG", "HELP"],
        &["LATENCY", "HELP"],
        &["SLOWLOG", "RESET"],
        &["SLOWLOG", "LEN"],
    ] {
        d.check(cmd);
    }
    let (t, r) = d.both(&["SLOWLOG", "GET", "1"]);
    assert_eq!(masked_slowlog(&t), masked_slowlog(&r));

    // With the default threshold only a slow command is logged, with its duration.
    for cmd in [
        &["CONFIG", "SET", "slowlog-log-slower-than", "20000"][..],
        &["SLOWLOG", "RESET"],
        &["DEBUG", "SLEEP", "0"],
        &["DEBUG", "SLEEP", "0.03"],
        &["SLOWLOG", "LEN"],
    ] {
        d.check(cmd);
    }
    let (t, r) = d.both(&["SLOWLOG", "GET"]);
    assert_eq!(masked_slowlog(&t), masked_slowlog(&r));
    assert!(t.array()[0].array()[2].int() >= 30_000, "{t:?}");
    // A shorter maximum applies with the next command considered, slow or not.
    for cmd in [
        &["DEBUG", "SLEEP", "0.03"][..],
        &["CONFIG", "SET", "slowlog-log-slower-than", "1000000"],
        &["CONFIG", "SET", "slowlog-max-len", "1"],
        &["PING"],
        &["SLOWLOG", "LEN"],
    ] {
        d.check(cmd);
    }
    d.check(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    d.check(&["DEBUG", "SLEEP", "0.03"]);
    d.check(&["SLOWLOG", "LEN"]);
}

/// MONITOR lines with the timestamp and client port masked.
fn monitor_lines(m: &mut Client, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let line = m.read().text();
            let (_, rest) = line.split_once(" [").expect("timestamp");
            let (addr, args) = rest.split_once("] ").expect("client");
            let db = addr.split(' ').next().unwrap();
            format!("[{db}] {args}")
        })
        .collect()
}

#[test]
fn monitor_redacts_credentials_as_redis_does() {
    let Some(d) = Differential::start(&[]) else {
        return;
    };
    let mut lines = Vec::new();
    for node in [&d.tandem, &d.redis] {
        lines.push(monitor_session(node));
    }
    assert_eq!(lines[0], lines[1]);
    assert!(lines[0].iter().all(|l| !l.contains("pw")), "{lines:?}");
}

fn monitor_session(node: &Node) -> Vec<String> {
    let mut m = node.client();
    assert_eq!(m.cmd(&["MONITOR"]), Reply::Simple("OK".into()));
    let mut c = node.client();
    c.cmd(&["AUTH", "someone", "pw"]);
    c.cmd(&["HELLO", "2", "AUTH", "default", "pw", "SETNAME", "watched"]);
    c.cmd(&["SET", "k", "v"]);
    // Commands are shown after they run: EXEC after the commands it ran, SELECT with the
    // database it selected.
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "n"]);
    c.cmd(&["EXEC"]);
    c.cmd(&["SELECT", "2"]);
    monitor_lines(&mut m, 7)
}

/// `text` with every number replaced by `N` (latencies and ages differ by a millisecond
/// or a second between the two servers).
fn without_numbers(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn latency_monitor_records_slow_commands_as_redis_does() {
    let Some(mut d) = Differential::start(&["--enable-debug-command", "local"]) else {
        return;
    };
    for cmd in [
        &["CONFIG", "SET", "latency-monitor-threshold", "10"][..],
        &["DEBUG", "SLEEP", "0"],
        &["LATENCY", "LATEST"],
        &["DEBUG", "SLEEP", "0.02"],
        &["LATENCY", "HISTORY", "COMMAND"],
        &["LATENCY", "HISTORY", "fast-command"],
    ] {
        d.check(cmd);
    }
    let (t, r) = d.both(&["LATENCY", "LATEST"]);
    for latest in [&t, &r] {
        let events = latest.array();
        assert_eq!(events.len(), 1, "{latest:?}");
        let e = events[0].array();
        assert_eq!(e[0].text(), "command");
        assert!(e[2].int() >= 20 && e[2].int() == e[3].int(), "{latest:?}");
    }
    let (t, r) = d.both(&["LATENCY", "HISTORY", "command"]);
    assert_eq!(t.array().len(), 1, "{t:?}");
    assert_eq!(r.array().len(), 1, "{r:?}");
    for sub in ["GRAPH", "DOCTOR"] {
        let args: &[&str] = if sub == "GRAPH" {
            &["LATENCY", sub, "command"]
        } else {
            &["LATENCY", sub]
        };
        let (t, r) = d.both(args);
        assert_eq!(
            without_numbers(&t.text()),
            without_numbers(&r.text()),
            "{sub}"
        );
    }
    for cmd in [
        &["LATENCY", "RESET", "nosuch", "COMMAND"][..],
        &["LATENCY", "LATEST"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "DOCTOR"],
    ] {
        d.check(cmd);
    }
}
