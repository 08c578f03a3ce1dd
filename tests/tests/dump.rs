//! DUMP and RESTORE against redis-server 7.0: payloads byte-identical where Redis's output
//! is deterministic, payloads of either server restored into the other with the same
//! contents, and the same error replies for bad payloads.

use tandem_tests::{Client, Differential, Reply};

/// Keys and the commands that build them. `ordered` is false for hashtable-encoded sets
/// and hashes, whose DUMP order Redis leaves unspecified.
struct Fixture {
    key: String,
    setup: Vec<Vec<String>>,
    ordered: bool,
}

fn fixture(key: &str, ordered: bool, setup: Vec<Vec<String>>) -> Fixture {
    Fixture {
        key: key.to_string(),
        setup,
        ordered,
    }
}

fn words(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// One command: `cmd key` followed by `rest`.
fn command(cmd: &str, key: &str, rest: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v = vec![cmd.to_string(), key.to_string()];
    v.extend(rest);
    v
}

/// A deterministic pseudo-random string of `len` letters and digits.
fn noise(seed: u64, len: usize) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

fn fixtures() -> Vec<Fixture> {
    let set = |k: &str, v: String| fixture(k, true, vec![command("SET", k, [v])]);
    let mut all = vec![
        set("s:int8", "-5".into()),
        set("s:int16", "300".into()),
        set("s:int32", "2147483647".into()),
        set("s:int64", "9223372036854775807".into()),
        set("s:lead0", "007".into()),
        set("s:short", "hello".into()),
        set("s:empty", String::new()),
        set("s:twenty", "a".repeat(20)),
        set("s:compressible", "abc".repeat(100)),
        set(
            "s:text",
            "the quick brown fox jumps over the lazy dog ".repeat(20),
        ),
        set("s:noise", noise(1, 200)),
        set("s:big", noise(2, 50) + &"x".repeat(100_000)),
        fixture(
            "l:small",
            true,
            vec![command(
                "RPUSH",
                "l:small",
                words(&[
                    "a",
                    "b",
                    "1",
                    "2",
                    "300",
                    "-5",
                    "70000",
                    "-4096",
                    "9223372036854775807",
                ]),
            )],
        ),
        fixture(
            "l:big",
            true,
            (0..20)
                .map(|chunk| {
                    command(
                        "RPUSH",
                        "l:big",
                        (0..100).map(move |i| match i % 4 {
                            0 => (chunk * 100 + i).to_string(),
                            1 => noise(chunk * 100 + i, 1 + (i as usize % 90)),
                            2 => "repeat".repeat(1 + i as usize % 30),
                            _ => format!("-{}", i * 1000),
                        }),
                    )
                })
                .collect(),
        ),
        fixture(
            "l:huge-elements",
            true,
            vec![command(
                "RPUSH",
                "l:huge-elements",
                [
                    "a".to_string(),
                    noise(3, 9000),
                    "b".into(),
                    "z".repeat(20_000),
                    "c".into(),
                ],
            )],
        ),
        fixture(
            "set:int16",
            true,
            vec![command(
                "SADD",
                "set:int16",
                words(&["3", "1", "2", "-100", "32767"]),
            )],
        ),
        fixture(
            "set:int64",
            true,
            vec![command(
                "SADD",
                "set:int64",
                words(&["5", "-9223372036854775808", "70000", "9223372036854775807"]),
            )],
        ),
        fixture(
            "set:intset512",
            true,
            vec![command(
                "SADD",
                "set:intset512",
                (0..512).map(|i| (i * 7 - 1000).to_string()),
            )],
        ),
        fixture(
            "set:strings",
            false,
            vec![command("SADD", "set:strings", words(&["a", "b", "c", "1"]))],
        ),
        fixture(
            "set:big",
            false,
            vec![command("SADD", "set:big", (0..600).map(|i| i.to_string()))],
        ),
        fixture(
            "h:small",
            true,
            vec![
                command(
                    "HSET",
                    "h:small",
                    words(&["f", "v", "n", "5", "neg", "-70000"]),
                ),
                command(
                    "HSET",
                    "h:small",
                    words(&["f", "updated", "x", &"y".repeat(64)]),
                ),
                command("HDEL", "h:small", words(&["n"])),
            ],
        ),
        fixture(
            "h:long-value",
            false,
            vec![command(
                "HSET",
                "h:long-value",
                words(&["a", "1", "b", &"v".repeat(65)]),
            )],
        ),
        fixture(
            "h:many",
            false,
            vec![command(
                "HSET",
                "h:many",
                (0..200).flat_map(|i| [format!("field{i}"), noise(i, 10)]),
            )],
        ),
        fixture(
            "h:128",
            true,
            vec![command(
                "HSET",
                "h:128",
                (0..128).flat_map(|i| [format!("f{i}"), i.to_string()]),
            )],
        ),
        fixture(
            "z:small",
            true,
            vec![command(
                "ZADD",
                "z:small",
                words(&[
                    "1",
                    "a",
                    "2.5",
                    "b",
                    "-3",
                    "c",
                    "1e20",
                    "d",
                    "inf",
                    "e",
                    "-inf",
                    "f",
                    "0.1",
                    "g",
                    "4611686018427387904",
                    "h",
                    "7",
                    "12345",
                ]),
            )],
        ),
        fixture(
            "z:many",
            true,
            vec![command(
                "ZADD",
                "z:many",
                (0..300).flat_map(|i| [format!("{}.{}", i % 17, i), format!("m{i}")]),
            )],
        ),
        fixture(
            "z:long-member",
            true,
            vec![command(
                "ZADD",
                "z:long-member",
                words(&["1", "a", "2", &"m".repeat(65)]),
            )],
        ),
    ];
    all.push(fixture(
        "h:ints",
        true,
        vec![command(
            "HSET",
            "h:ints",
            words(&["1", "2", "-3", "4000000000", "0", "x"]),
        )],
    ));
    all
}

/// The contents of `key` in a form that compares equal across servers.
fn contents(c: &mut Client, key: &str) -> Vec<String> {
    let kind = c.cmd(&["TYPE", key]).text();
    let mut items = match kind.as_str() {
        "string" => vec![c.cmd(&["GET", key]).text()],
        "list" => c.cmd(&["LRANGE", key, "0", "-1"]).strings(),
        "set" => {
            let mut m = c.cmd(&["SMEMBERS", key]).strings();
            m.sort();
            m
        }
        "hash" => {
            let flat = c.cmd(&["HGETALL", key]).strings();
            let mut pairs: Vec<String> = flat
                .chunks(2)
                .map(|p| format!("{}={}", p[0], p[1]))
                .collect();
            pairs.sort();
            pairs
        }
        "zset" => c.cmd(&["ZRANGE", key, "0", "-1", "WITHSCORES"]).strings(),
        other => panic!("unexpected type {other} for {key}"),
    };
    items.insert(0, kind);
    items
}

fn dump(c: &mut Client, key: &str) -> Vec<u8> {
    match c.cmd(&["DUMP", key]) {
        Reply::Bulk(b) => b,
        other => panic!("DUMP {key}: {other:?}"),
    }
}

fn restore(c: &mut Client, key: &str, payload: &[u8]) -> Reply {
    c.cmd(&[b"RESTORE".as_slice(), key.as_bytes(), b"0", payload])
}

/// DUMPs `key` on `from`, RESTOREs it as `<prefix>:<key>` on `to`, and returns the
/// copy's contents.
fn carry(from: &mut Client, to: &mut Client, key: &str, prefix: &str) -> Vec<String> {
    let payload = dump(from, key);
    let copy = &format!("{prefix}:{key}");
    assert_eq!(
        restore(to, copy, &payload),
        Reply::Simple("OK".into()),
        "{key}"
    );
    contents(to, copy)
}

fn start_with_fixtures() -> Option<(Differential, Vec<Fixture>)> {
    let mut d = Differential::start(&[])?;
    let fixtures = fixtures();
    for f in &fixtures {
        for cmd in &f.setup {
            let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
            d.check(&args);
        }
    }
    Some((d, fixtures))
}

#[test]
fn dump_payloads_are_redis_bytes() {
    let Some((mut d, fixtures)) = start_with_fixtures() else {
        return;
    };
    for f in fixtures.iter().filter(|f| f.ordered) {
        let ours = dump(&mut d.t, &f.key);
        let theirs = dump(&mut d.r, &f.key);
        assert!(
            ours == theirs,
            "DUMP {} differs:\n tandem {:?}\n redis  {:?}",
            f.key,
            String::from_utf8_lossy(&ours[..ours.len().min(400)]),
            String::from_utf8_lossy(&theirs[..theirs.len().min(400)])
        );
    }
    d.check(&["DUMP", "missing"]);
}

#[test]
fn payloads_restore_across_servers() {
    let Some((mut d, fixtures)) = start_with_fixtures() else {
        return;
    };
    for f in &fixtures {
        let want = contents(&mut d.t, &f.key);
        assert_eq!(want, contents(&mut d.r, &f.key), "setup of {}", f.key);

        let from_redis = carry(&mut d.r, &mut d.t, &f.key, "from-redis");
        assert_eq!(from_redis, want, "redis payload of {} in tandem", f.key);
        let from_tandem = carry(&mut d.t, &mut d.r, &f.key, "from-tandem");
        assert_eq!(from_tandem, want, "tandem payload of {} in redis", f.key);
        let copy = format!("from-tandem:{}", f.key);

        // Round trips keep the encoding Redis reports.
        let enc = d.r.cmd(&["OBJECT", "ENCODING", &copy]);
        assert_eq!(d.r.cmd(&["OBJECT", "ENCODING", &f.key]), enc, "{}", f.key);
    }
}

/// CRC-64 Jones, bit by bit (the test's own, to build payloads with chosen bytes).
fn crc64(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// A payload with a valid footer around `body` (type byte + value).
fn framed(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// Sends the same binary command to both servers and asserts identical replies.
fn check_raw(d: &mut Differential, args: &[&[u8]]) -> Reply {
    let t = d.t.raw(args);
    let r = d.r.raw(args);
    assert_eq!(
        String::from_utf8_lossy(&t),
        String::from_utf8_lossy(&r),
        "tandem (left) and redis (right) differ on {:?}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>()
    );
    tandem_tests::client::parse_reply(&t).expect("complete").0
}

#[test]
fn restore_errors_match_redis() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["RPUSH", "src", "a", "b", "c"]);
    d.check(&["SET", "existing", "v"]);
    let good = dump(&mut d.r, "src");
    assert_eq!(good, dump(&mut d.t, "src"));

    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    let mut bad_body = good.clone();
    bad_body[3] ^= 0x40;
    let truncated_list = framed(&good[..good.len() - 14], 10);
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"RESTORE", b"k", b"0", b"short"],
        vec![b"RESTORE", b"k", b"0", b""],
        vec![b"RESTORE", b"k", b"0", &bad_crc],
        vec![b"RESTORE", b"k", b"0", &bad_body],
        vec![b"RESTORE", b"existing", b"0", &good],
        vec![b"RESTORE", b"k", b"-1", &good],
        vec![b"RESTORE", b"k", b"abc", &good],
        vec![b"RESTORE", b"k", b"0", &good, b"BOGUS"],
        vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME", b"-1"],
        vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME", b"x"],
        vec![b"RESTORE", b"k", b"0", &good, b"FREQ", b"256"],
        vec![
            b"RESTORE",
            b"k",
            b"0",
            &good,
            b"FREQ",
            b"5",
            b"IDLETIME",
            b"5",
        ],
        vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME"],
        vec![b"RESTORE", b"k"],
    ];
    for args in &cases {
        check_raw(&mut d, args);
    }
    let version_11 = framed(&good[..good.len() - 10], 11);
    let unknown_type = framed(b"\x42\x01a", 10);
    let empty_list = framed(b"\x12\x00", 10);
    let empty_set = framed(b"\x02\x00", 10);
    let dup_set = framed(b"\x02\x02\x01a\x01a", 10);
    let stream = framed(b"\x13\x00", 10);
    let old_version_string = framed(b"\x00\x03abc", 6);
    let bad_lzf = framed(b"\x00\xc3\x02\x10\x1f\x00", 10);
    for payload in [
        &version_11,
        &unknown_type,
        &empty_list,
        &empty_set,
        &dup_set,
        &stream,
        &truncated_list,
        &old_version_string,
        &bad_lzf,
    ] {
        check_raw(&mut d, &[b"RESTORE", b"k", b"0", payload]);
        check_raw(&mut d, &[b"EXISTS", b"k"]);
        d.check(&["DEL", "k"]);
    }

    // Options that succeed.
    check_raw(&mut d, &[b"RESTORE", b"existing", b"0", &good, b"REPLACE"]);
    d.check(&["LRANGE", "existing", "0", "-1"]);
    check_raw(&mut d, &[b"RESTORE", b"old", b"1", &good, b"ABSTTL"]);
    d.check(&["EXISTS", "old"]);
    check_raw(
        &mut d,
        &[
            b"RESTORE",
            b"existing",
            b"1000",
            &good,
            b"ABSTTL",
            b"REPLACE",
        ],
    );
    d.check(&["EXISTS", "existing"]);
    check_raw(
        &mut d,
        &[b"RESTORE", b"ttl", b"100000", &good, b"IDLETIME", b"10"],
    );
    check_raw(
        &mut d,
        &[b"RESTORE", b"freq", b"0", &good, b"FREQ", b"10", b"replace"],
    );
    let (t, r) = d.both(&["PTTL", "ttl"]);
    assert!(t.int() > 90_000 && r.int() > 90_000, "{t:?} {r:?}");
    // IDLETIME backdates the key's last access, as OBJECT IDLETIME then reports.
    let (t, r) = d.both(&["OBJECT", "IDLETIME", "ttl"]);
    assert!(
        (10..=11).contains(&t.int()) && (10..=11).contains(&r.int()),
        "{t:?} {r:?}"
    );
    d.check(&["TTL", "freq"]);
}

#[test]
fn restore_ttl_is_relative_unless_absttl() {
    let Some(mut d) = Differential::start(&[]) else {
        return;
    };
    d.check(&["SET", "src", "value"]);
    let payload = dump(&mut d.t, "src");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (key, ttl, abs) in [("rel", "50000", false), ("abs", "99999999999000", true)] {
        let mut args: Vec<&[u8]> = vec![b"RESTORE", key.as_bytes(), ttl.as_bytes(), &payload];
        if abs {
            args.push(b"ABSTTL");
        }
        assert_eq!(d.t.cmd(&args), Reply::Simple("OK".into()));
        let at = d.t.cmd(&["PEXPIRETIME", key]).int();
        if abs {
            assert_eq!(at, 99999999999000);
        } else {
            assert!((now_ms + 49_000..now_ms + 60_000).contains(&at), "{at}");
        }
    }
}
