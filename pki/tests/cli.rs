//! The `pki` command line, end to end: init, issue, inspect, verify, hash-password, with
//! bad input, OpenSSL interoperability, and a real redis-server using the certificates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn pki(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pki"))
        .args(args)
        .output()
        .expect("run pki")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn init(dir: &Path) {
    let out = pki(&["init", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A tool that must exist in CI (TANDEM_REQUIRE_REDIS=1) and may be skipped elsewhere.
fn tool(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin").join(name);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("TANDEM_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("{name} is required (TANDEM_REQUIRE_REDIS=1) but not installed");
    }
    eprintln!("SKIPPED: {name} is not installed");
    None
}

#[test]
fn init_writes_the_files_with_safe_modes_and_prints_how_to_use_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let start = Instant::now();
    let out = pki(&[
        "init",
        "--dir",
        certs.to_str().unwrap(),
        "--san",
        "db.example",
        "--san",
        "10.1.2.3",
    ]);
    let took = start.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    assert!(took < Duration::from_secs(1), "pki init took {took:?}");
    for (file, mode) in [
        ("ca.crt", 0o644),
        ("ca.key", 0o600),
        ("redis.crt", 0o644),
        ("redis.key", 0o600),
        ("client.crt", 0o644),
        ("client.key", 0o600),
    ] {
        let meta = std::fs::metadata(certs.join(file)).unwrap_or_else(|_| panic!("{file} missing"));
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    let printed = text(&out);
    assert!(
        printed.contains("tls-cert-file") && printed.contains("redis-cli --tls --cert"),
        "{printed}"
    );
    let desc = text(&pki(&[
        "inspect",
        certs.join("redis.crt").to_str().unwrap(),
    ]));
    assert!(desc.contains("serverAuth, clientAuth"), "{desc}");
    assert!(
        desc.contains("DNS:db.example")
            && desc.contains("IP:10.1.2.3")
            && desc.contains("IP:127.0.0.1"),
        "{desc}"
    );
    let desc = text(&pki(&[
        "inspect",
        certs.join("client.crt").to_str().unwrap(),
    ]));
    assert!(desc.contains("ext. usage:  clientAuth\n"), "{desc}");
}

#[test]
fn init_refuses_to_overwrite_and_names_the_files() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let out = pki(&["init", "--dir", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("refusing to overwrite")
            && msg.contains("ca.key")
            && msg.contains("client.crt"),
        "{msg}"
    );
    let out = pki(&["init", "--dir", dir.path().to_str().unwrap(), "--force"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn other_key_types_work() {
    for key_type in ["ed25519", "ecdsa-p384", "rsa2048"] {
        let dir = tempfile::tempdir().unwrap();
        let out = pki(&[
            "init",
            "--dir",
            dir.path().to_str().unwrap(),
            "--key-type",
            key_type,
        ]);
        assert!(out.status.success(), "{key_type}: {}", text(&out));
        let ca = dir.path().join("ca.crt");
        let out = pki(&[
            "verify",
            "--ca",
            ca.to_str().unwrap(),
            dir.path().join("redis.crt").to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{key_type}: {}", text(&out));
        let desc = text(&pki(&[
            "inspect",
            dir.path().join("redis.key").to_str().unwrap(),
        ]));
        let expected = match key_type {
            "ed25519" => "Ed25519",
            "ecdsa-p384" => "ECDSA P-384",
            _ => "RSA",
        };
        assert!(desc.contains(expected), "{key_type}: {desc}");
        assert!(
            !desc.contains("BEGIN"),
            "inspect must never print a key: {desc}"
        );
    }
}

#[test]
fn verify_gives_one_line_reasons() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let d = dir.path().to_str().unwrap();
    let ca = format!("{d}/ca.crt");
    let run = |args: &[&str]| {
        let out = pki(args);
        (out.status.code(), text(&out))
    };
    assert_eq!(
        run(&["verify", "--ca", &ca, &format!("{d}/redis.crt")]).0,
        Some(0)
    );
    assert_eq!(
        run(&[
            "verify",
            "--ca",
            &ca,
            "--purpose",
            "client",
            &format!("{d}/client.crt")
        ])
        .0,
        Some(0)
    );
    assert_eq!(
        run(&[
            "verify",
            "--ca",
            &ca,
            "--name",
            "localhost",
            &format!("{d}/redis.crt")
        ])
        .0,
        Some(0)
    );
    let (code, msg) = run(&["verify", "--ca", &ca, &format!("{d}/client.crt")]);
    assert_eq!(code, Some(1));
    assert!(msg.contains("wrong purpose"), "{msg}");
    let (code, msg) = run(&[
        "verify",
        "--ca",
        &ca,
        "--name",
        "example.com",
        &format!("{d}/redis.crt"),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        msg.contains("name mismatch") && msg.contains("example.com"),
        "{msg}"
    );
    // A certificate from a second, separate CA.
    let other = tempfile::tempdir().unwrap();
    init(other.path());
    let (code, msg) = run(&[
        "verify",
        "--ca",
        &ca,
        other.path().join("redis.crt").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(msg.contains("unknown issuer"), "{msg}");
    // Expired and not yet valid.
    let out = pki(&[
        "issue",
        "old",
        "--profile",
        "client",
        "--ca-dir",
        d,
        "--start-days",
        "-30",
        "--days",
        "10",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let (code, msg) = run(&[
        "verify",
        "--ca",
        &ca,
        "--purpose",
        "client",
        &format!("{d}/old.crt"),
    ]);
    assert_eq!(code, Some(1));
    assert!(msg.contains("expired on"), "{msg}");
    let out = pki(&[
        "issue",
        "future",
        "--profile",
        "client",
        "--ca-dir",
        d,
        "--start-days",
        "10",
        "--days",
        "10",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let (_, msg) = run(&[
        "verify",
        "--ca",
        &ca,
        "--purpose",
        "client",
        &format!("{d}/future.crt"),
    ]);
    assert!(msg.contains("not yet valid"), "{msg}");
    // Not a certificate, corrupt PEM, missing CA.
    std::fs::write(format!("{d}/junk.crt"), "hello").unwrap();
    let (code, msg) = run(&["verify", "--ca", &ca, &format!("{d}/junk.crt")]);
    assert_eq!(code, Some(1));
    assert!(msg.contains("no certificate"), "{msg}");
    std::fs::write(
        format!("{d}/bad.crt"),
        "-----BEGIN CERTIFICATE-----\n!!!notbase64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (_, msg) = run(&["verify", "--ca", &ca, &format!("{d}/bad.crt")]);
    assert!(
        msg.contains("bad.crt") && msg.contains("not valid PEM"),
        "{msg}"
    );
    let (code, msg) = run(&[
        "verify",
        "--ca",
        &format!("{d}/missing.crt"),
        &format!("{d}/redis.crt"),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        msg.contains("missing.crt") && msg.contains("No such file"),
        "{msg}"
    );
}

#[test]
fn issue_from_a_missing_ca_or_with_a_foreign_key_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = pki(&[
        "issue",
        "replica2",
        "--profile",
        "node",
        "--ca-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("ca.crt"), "{}", text(&out));
    init(dir.path());
    let other = tempfile::tempdir().unwrap();
    init(other.path());
    std::fs::copy(other.path().join("ca.key"), dir.path().join("ca.key")).unwrap();
    let out = pki(&[
        "issue",
        "replica2",
        "--profile",
        "node",
        "--ca-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("does not match"), "{}", text(&out));
}

#[test]
fn issue_makes_a_second_node_certificate_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let out_dir = dir.path().join("replica2");
    let out = pki(&[
        "issue",
        "replica2",
        "--profile",
        "node",
        "--san",
        "replica2.internal",
        "--ca-dir",
        dir.path().to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let ca = dir.path().join("ca.crt");
    for purpose in ["server", "client"] {
        let out = pki(&[
            "verify",
            "--ca",
            ca.to_str().unwrap(),
            "--purpose",
            purpose,
            out_dir.join("replica2.crt").to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{purpose}: {}", text(&out));
    }
    let out = pki(&[
        "issue",
        "replica2",
        "--profile",
        "node",
        "--ca-dir",
        dir.path().to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success(),
        "issue must not overwrite without --force"
    );
}

#[test]
fn server_profile_serves_but_does_not_authenticate_clients() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let d = dir.path().to_str().unwrap();
    let out = pki(&["issue", "web", "--profile", "server", "--ca-dir", d]);
    assert!(out.status.success(), "{}", text(&out));
    let ca = format!("{d}/ca.crt");
    let cert = format!("{d}/web.crt");
    assert!(pki(&[
        "verify",
        "--ca",
        &ca,
        "--purpose",
        "server",
        "--name",
        "127.0.0.1",
        &cert
    ])
    .status
    .success());
    let out = pki(&["verify", "--ca", &ca, "--purpose", "client", &cert]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("wrong purpose"), "{}", text(&out));
}

#[test]
fn hash_password_reads_stdin_and_prints_an_argon2id_hash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pki"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"mypassword\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let phc = String::from_utf8(out.stdout).unwrap();
    assert!(phc.trim().starts_with("$argon2id$v=19$"), "{phc}");
    assert!(pki::password::verify(phc.trim(), b"mypassword"));
}

#[test]
fn openssl_accepts_the_certificates() {
    let Some(openssl) = tool("openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let out = Command::new(&openssl)
        .args(["verify", "-CAfile"])
        .arg(dir.path().join("ca.crt"))
        .arg(dir.path().join("redis.crt"))
        .arg(dir.path().join("client.crt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = Command::new(&openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(dir.path().join("redis.crt"))
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        t.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{t}"
    );
    assert!(
        t.contains("DNS:localhost") && t.contains("IP Address:127.0.0.1"),
        "{t}"
    );
    let out = Command::new(&openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(dir.path().join("ca.crt"))
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        t.contains("CA:TRUE") && t.contains("Certificate Sign, CRL Sign"),
        "{t}"
    );
}

/// A redis-server with TLS on a free port, killed on drop.
struct RedisTls {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for RedisTls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_redis_tls(server: &Path, certs: &Path) -> RedisTls {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("redis.log");
    let child = Command::new(server)
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir.path())
        .arg("--logfile")
        .arg(&log)
        .arg("--tls-cert-file")
        .arg(certs.join("redis.crt"))
        .arg("--tls-key-file")
        .arg(certs.join("redis.key"))
        .arg("--tls-ca-cert-file")
        .arg(certs.join("ca.crt"))
        .args(["--tls-auth-clients", "yes"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Ready to accept connections")
    {
        assert!(
            Instant::now() < deadline,
            "redis-server did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    RedisTls {
        child,
        port,
        _dir: dir,
    }
}

fn redis_cli_tls(cli: &Path, port: u16, certs: &Path, ca: &Path) -> Output {
    Command::new(cli)
        .args(["--tls", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg("--cert")
        .arg(certs.join("client.crt"))
        .arg("--key")
        .arg(certs.join("client.key"))
        .arg("--cacert")
        .arg(ca)
        .arg("PING")
        .output()
        .unwrap()
}

#[test]
fn redis_server_accepts_our_client_and_refuses_a_foreign_one() {
    let (Some(server), Some(cli)) = (tool("redis-server"), tool("redis-cli")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let redis = start_redis_tls(&server, dir.path());
    let ca = dir.path().join("ca.crt");
    let out = redis_cli_tls(&cli, redis.port, dir.path(), &ca);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "PONG",
        "{}",
        text(&out)
    );
    // A client certificate from a second, separate `pki init` is refused.
    let other = tempfile::tempdir().unwrap();
    init(other.path());
    let out = redis_cli_tls(&cli, redis.port, other.path(), &ca);
    assert_ne!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "PONG",
        "a foreign client certificate was accepted"
    );
}
