//! The real `redis-cli` and `redis-benchmark` against tandem: commands as arguments,
//! `--pipe` mass insertion, `--scan`, `--stat`, and the whole default benchmark suite.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use tandem_tests::{redis_tool, wait_until, Node};

fn cli(node: &Node, args: &[&str]) -> Option<String> {
    let bin = redis_tool("redis-cli")?;
    let out = Command::new(bin)
        .args(["-p", &node.port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(
        out.status.success(),
        "redis-cli {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn commands_as_arguments() {
    let node = Node::tandem(&[]);
    let Some(out) = cli(&node, &["SET", "greeting", "hello world"]) else {
        return;
    };
    assert_eq!(out, "OK\n");
    assert_eq!(cli(&node, &["GET", "greeting"]).unwrap(), "hello world\n");
    assert_eq!(cli(&node, &["INCRBY", "n", "41"]).unwrap(), "41\n");
    assert_eq!(cli(&node, &["GET", "missing"]).unwrap(), "\n");
    assert!(cli(&node, &["INFO", "server"])
        .unwrap()
        .contains("redis_version:7.0.15"));
}

#[test]
fn pipe_mass_insertion_of_100k_commands() {
    let node = Node::tandem(&[]);
    let Some(bin) = redis_tool("redis-cli") else {
        return;
    };
    let mut input = Vec::new();
    for i in 0..100_000 {
        let key = format!("key:{i}");
        let val = format!("value:{i}");
        input.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{val}\r\n",
                key.len(),
                val.len()
            )
            .as_bytes(),
        );
    }
    let mut child = Command::new(bin)
        .args(["-p", &node.port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "{out}");
    assert!(out.contains("errors: 0, replies: 100000"), "{out}");
    assert_eq!(node.client().cmd(&["DBSIZE"]).int(), 100_000);
    assert_eq!(
        node.client().cmd(&["GET", "key:99999"]).text(),
        "value:99999"
    );
}

#[test]
fn scan_lists_every_key_exactly_once() {
    let node = Node::tandem(&[]);
    let mut c = node.client();
    let mut expected: Vec<String> = (0..3000).map(|i| format!("user:{i}")).collect();
    for k in &expected {
        c.send(&["SET", k.as_str(), "x"]);
    }
    for _ in &expected {
        c.read();
    }
    c.cmd(&["SET", "other", "x"]);
    let Some(out) = cli(&node, &["--scan", "--pattern", "user:*"]) else {
        return;
    };
    let mut got: Vec<String> = out.lines().map(str::to_string).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn stat_prints_rows_for_a_second() {
    let node = Node::tandem(&[]);
    node.client().cmd(&["SET", "a", "1"]);
    let Some(bin) = redis_tool("redis-cli") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stat.out");
    let out_file = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(bin)
        .args(["-p", &node.port.to_string(), "--stat", "-i", "0.1"])
        .stdout(out_file)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Poll the output until a few data rows arrived (about a second of --stat).
    wait_until(Duration::from_secs(10), "redis-cli --stat rows", || {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        text.lines()
            .filter(|l| l.trim_start().starts_with('1'))
            .count()
            >= 5
    });
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(text.contains("------- data ------"), "{text}");
    assert!(!text.contains("ERR"), "{text}");
}

/// Every test of redis-benchmark's default suite.
const BENCHMARK_TESTS: &[&str] = &[
    "PING_INLINE",
    "PING_MBULK",
    "SET",
    "GET",
    "INCR",
    "LPUSH",
    "RPUSH",
    "LPOP",
    "RPOP",
    "SADD",
    "HSET",
    "SPOP",
    "ZADD",
    "ZPOPMIN",
    "LRANGE_100",
    "LRANGE_300",
    "LRANGE_500",
    "LRANGE_600",
    "MSET",
];

#[test]
fn benchmark_default_suite_has_no_errors() {
    let node = Node::tandem(&[]);
    let Some(bin) = redis_tool("redis-benchmark") else {
        return;
    };
    let out = Command::new(bin)
        .args(["-p", &node.port.to_string(), "-n", "2000", "-c", "20", "-q"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        !text.contains("rror"),
        "redis-benchmark reported errors:\n{text}"
    );
    for test in BENCHMARK_TESTS {
        // redis-benchmark names some tests with a detail: "MSET (10 keys): ...".
        assert!(
            text.contains(&format!("{test}: ")) || text.contains(&format!("{test} (")),
            "no result for {test}:\n{text}"
        );
    }
}
