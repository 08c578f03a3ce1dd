//! Finding binaries, and polling with a deadline instead of sleeping.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Directory of the workspace's build output (`target/debug`), derived from the test
/// executable's own location (`target/debug/deps/<test>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .to_path_buf()
}

/// A binary built by this workspace (`tandem`, `pki`).
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` (the README test command does)",
        path.display()
    );
    path
}

/// A Redis tool from the Debian packages (`redis-server`, `redis-cli`, ...). When absent
/// the test is skipped with a printed reason, unless `TANDEM_REQUIRE_REDIS=1`, which
/// makes it a failure.
pub fn redis_tool(name: &str) -> Option<PathBuf> {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = PathBuf::from(dir).join(name);
        if p.exists() {
            return Some(p);
        }
    }
    if std::env::var("TANDEM_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("{name} is required (TANDEM_REQUIRE_REDIS=1) but not installed");
    }
    eprintln!("SKIPPED: {name} is not installed (apt-get install redis-server redis-tools)");
    None
}

/// Polls `cond` until it returns true or `timeout` passes; panics with `what` on timeout.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A port that was free a moment ago (bound to 127.0.0.1:0 and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
