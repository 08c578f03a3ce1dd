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

/// A binary built by this workspace (`tandem`, `pki`), checked to be newer than its
/// sources: `cargo test -p tandem-tests` builds the tests but not the binaries they start,
/// and a stale binary would make them pass or fail for code that is no longer there.
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` (the README test command does)",
        path.display()
    );
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("binary mtime");
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().expect("tests/ is inside the workspace");
    // Each binary's own crate and the crates it depends on.
    let sources: &[&str] = match name {
        "tandem" => &["node/src", "pki/src"],
        _ => &["pki/src"],
    };
    for dir in sources {
        if let Some(newer) = newer_file(&workspace.join(dir), built) {
            panic!(
                "{} is older than {}; run `cargo build --workspace --bins` (the README test command does)",
                path.display(),
                newer.display()
            );
        }
    }
    path
}

/// A file under `dir` modified after `than`, if any.
fn newer_file(dir: &std::path::Path, than: std::time::SystemTime) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let meta = entry.metadata().ok()?;
        if meta.is_dir() {
            if let Some(found) = newer_file(&path, than) {
                return Some(found);
            }
        } else if meta.modified().is_ok_and(|m| m > than) {
            return Some(path);
        }
    }
    None
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
