//! Running nodes: the tandem binary or a real redis-server, killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::client::Client;
use crate::tools::{free_port, redis_tool, wait_until, workspace_bin};

/// Which server a [`Node`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Tandem,
    Redis,
}

/// A running server process on 127.0.0.1, with its own temp dir and log file. Dropping
/// it kills the process (also when the test panics).
#[derive(Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub log_path: PathBuf,
    bin: PathBuf,
    args: Vec<String>,
}

impl Node {
    /// Starts tandem with `extra` arguments (`--name value` pairs or a config file first).
    pub fn tandem(extra: &[&str]) -> Node {
        Node::start(NodeKind::Tandem, extra).expect("tandem is always available")
    }

    /// Starts a real redis-server, or returns None (test skipped) when it is not installed.
    pub fn redis(extra: &[&str]) -> Option<Node> {
        Node::start(NodeKind::Redis, extra)
    }

    /// Starts a tandem replica of `master` (with `extra` arguments) and waits until its
    /// link is up, so that what the master does next reaches it as the command stream.
    pub fn linked_replica_of(master: &Node, extra: &[&str]) -> Node {
        let port = master.port.to_string();
        let mut args = vec!["--replicaof", "127.0.0.1", &port];
        args.extend_from_slice(extra);
        let replica = Node::tandem(&args);
        let mut c = replica.client();
        wait_until(
            Duration::from_secs(20),
            "the replica's link to its master",
            || {
                c.cmd(&["INFO", "replication"])
                    .info_field("master_link_status")
                    .is_some_and(|s| s == "up")
            },
        );
        replica
    }

    pub fn start(kind: NodeKind, extra: &[&str]) -> Option<Node> {
        let bin = match kind {
            NodeKind::Tandem => workspace_bin("tandem"),
            NodeKind::Redis => redis_tool("redis-server")?,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let log_path = dir.path().join("node.log");
        let mut args: Vec<String> = Vec::new();
        // A config file, if given, must come first.
        let (file, rest) = match extra.first() {
            Some(f) if !f.starts_with("--") => (Some(f.to_string()), &extra[1..]),
            _ => (None, extra),
        };
        args.extend(file);
        for a in [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.path().to_str().expect("utf-8 path"),
            "--logfile",
            log_path.to_str().expect("utf-8 path"),
        ] {
            args.push(a.to_string());
        }
        args.extend(rest.iter().map(|s| s.to_string()));
        let mut node = Node {
            kind,
            port,
            dir,
            child: None,
            log_path,
            args,
            bin,
        };
        node.spawn();
        Some(node)
    }

    /// Starts the process and waits until it answers on its port. Tests run in parallel
    /// and a free port can be taken by another test between choosing and binding it, so a
    /// start that fails to bind (or finds someone else's server there) retries on a new port.
    fn spawn(&mut self) {
        for attempt in 0..5 {
            if attempt > 0 {
                let old = self.port.to_string();
                self.port = free_port();
                let new = self.port.to_string();
                for a in self.args.iter_mut() {
                    if *a == old {
                        *a = new.clone();
                    }
                }
            }
            match self.try_spawn() {
                Ok(()) => return,
                Err(why) if attempt < 4 => eprintln!("retrying server start: {why}"),
                Err(why) => panic!("{why}"),
            }
        }
    }

    /// Starts the node again after `kill` or `terminate`: same binary, arguments, port and
    /// directory, so replicas pointed at it find it again.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart of a running node");
        self.try_spawn()
            .unwrap_or_else(|why| panic!("restart failed: {why}"));
    }

    fn try_spawn(&mut self) -> Result<(), String> {
        const READY: &str = "Ready to accept connections";
        // A restart appends to the same log: wait for a new line.
        let ready_before = self.log().matches(READY).count();
        let bin = &self.bin;
        let child = Command::new(bin)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let pid = child.id();
        self.child = Some(child);
        let port = self.port;
        let mut exited = None;
        // Both servers log "Ready to accept connections" only after binding their port, so
        // the line proves the port is ours and not another test's.
        wait_until(
            Duration::from_secs(20),
            "the server to accept connections",
            || {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    exited = Some(status);
                    return true;
                }
                std::fs::read_to_string(&self.log_path)
                    .is_ok_and(|log| log.matches(READY).count() > ready_before)
                    && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            },
        );
        if let Some(status) = exited {
            let mut stderr = String::new();
            if let Some(mut e) = self.child.as_mut().and_then(|c| c.stderr.take()) {
                let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
            }
            self.child = None;
            return Err(format!(
                "server (pid {pid}) exited at start ({status}): {stderr}\nlog:\n{}",
                std::fs::read_to_string(&self.log_path).unwrap_or_default()
            ));
        }
        Ok(())
    }

    /// A new RESP connection.
    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGKILL and waits for the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for a clean exit; returns its exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let mut status = None;
        wait_until(timeout, "the server to exit after SIGTERM", || {
            status = c.try_wait().ok().flatten();
            status.is_some()
        });
        status
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
