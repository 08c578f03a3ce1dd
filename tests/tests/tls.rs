//! Mutual TLS on tandem: the real redis-cli and redis-benchmark over TLS with certificates
//! from pki, refusals with reasons in the log, tls-auth-clients modes, certificate rotation
//! through CONFIG SET and SIGHUP, and tls-auth-clients-user.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use pki::ca::Validity;
use pki::profile::Profile;
use tandem_tests::certs::{add_certs, make_certs};
use tandem_tests::tools::free_port;
use tandem_tests::{redis_tool, wait_until, Node, Reply};

fn standard_certs(dir: &Path) {
    make_certs(
        dir,
        &[
            ("redis", Profile::Node, Validity::days(30)),
            ("client", Profile::Client, Validity::days(30)),
            ("expired", Profile::Client, Validity::relative(-30, -20)),
        ],
    );
}

/// A tandem node with a TLS port (and its plain port for the harness).
struct TlsNode {
    node: Node,
    tls_port: u16,
    certs: PathBuf,
}

fn start(certs: &Path, extra: &[&str]) -> TlsNode {
    let tls_port = free_port();
    let c = |f: &str| certs.join(f).to_str().unwrap().to_string();
    let mut args: Vec<String> = vec![
        "--tls-port".into(),
        tls_port.to_string(),
        "--tls-cert-file".into(),
        c("redis.crt"),
        "--tls-key-file".into(),
        c("redis.key"),
        "--tls-ca-cert-file".into(),
        c("ca.crt"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let node = Node::tandem(&args);
    TlsNode {
        node,
        tls_port,
        certs: certs.to_path_buf(),
    }
}

/// redis-cli over TLS, presenting `cert` (a name in the certs dir) or no certificate.
fn cli(t: &TlsNode, cert: Option<&str>, args: &[&str]) -> Option<Output> {
    let bin = redis_tool("redis-cli")?;
    let mut cmd = Command::new(bin);
    cmd.args(["--tls", "-h", "127.0.0.1", "-p", &t.tls_port.to_string()]);
    cmd.arg("--cacert").arg(t.certs.join("ca.crt"));
    if let Some(name) = cert {
        cmd.arg("--cert").arg(t.certs.join(format!("{name}.crt")));
        cmd.arg("--key").arg(t.certs.join(format!("{name}.key")));
    }
    Some(cmd.args(args).output().unwrap())
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn wait_for_log(node: &Node, text: &str) {
    wait_until(
        Duration::from_secs(10),
        &format!("log line {text:?}"),
        || node.log().contains(text),
    );
}

#[test]
fn redis_cli_session_over_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    let t = start(dir.path(), &[]);
    let Some(out) = cli(&t, Some("client"), &["SET", "greeting", "hello over tls"]) else {
        return;
    };
    assert_eq!(stdout(&out), "OK", "{out:?}");
    assert_eq!(
        stdout(&cli(&t, Some("client"), &["GET", "greeting"]).unwrap()),
        "hello over tls"
    );
    // The node certificate works as a client certificate too (it has clientAuth).
    assert_eq!(
        stdout(&cli(&t, Some("redis"), &["GET", "greeting"]).unwrap()),
        "hello over tls"
    );
    let info = t.node.client().cmd(&["INFO", "server"]).text();
    assert!(info.contains(&format!("tls_port:{}", t.tls_port)), "{info}");
    assert!(info.contains("tls_cert_subject:CN=redis"), "{info}");
    assert!(info.contains("tls_cert_days_left:"), "{info}");
}

#[test]
fn bad_clients_are_refused_with_the_reason_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    let foreign = tempfile::tempdir().unwrap();
    make_certs(
        foreign.path(),
        &[("client", Profile::Client, Validity::days(30))],
    );
    std::fs::copy(
        foreign.path().join("client.crt"),
        dir.path().join("foreign.crt"),
    )
    .unwrap();
    std::fs::copy(
        foreign.path().join("client.key"),
        dir.path().join("foreign.key"),
    )
    .unwrap();
    let t = start(dir.path(), &[]);
    let Some(out) = cli(&t, None, &["PING"]) else {
        return;
    };
    assert_ne!(stdout(&out), "PONG");
    wait_for_log(&t.node, "no client certificate");
    assert_ne!(
        stdout(&cli(&t, Some("foreign"), &["PING"]).unwrap()),
        "PONG"
    );
    wait_for_log(&t.node, "client certificate refused: unknown issuer");
    assert_ne!(
        stdout(&cli(&t, Some("expired"), &["PING"]).unwrap()),
        "PONG"
    );
    wait_for_log(&t.node, "client certificate refused: expired on");
    // A plaintext client on the TLS port.
    let mut plain = TcpStream::connect(("127.0.0.1", t.tls_port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = plain.read(&mut buf).unwrap_or(0);
    // Closed without an answer, as redis-server (OpenSSL) does: no TLS alert to misread.
    assert_eq!(n, 0, "{:?}", &buf[..n]);
    wait_for_log(
        &t.node,
        "not a TLS handshake (plaintext client on the TLS port?)",
    );
    let stats = t.node.client().cmd(&["INFO", "stats"]).text();
    assert!(stats.contains("tls_rejected_handshakes:4"), "{stats}");
    // Other clients were unaffected.
    assert_eq!(stdout(&cli(&t, Some("client"), &["PING"]).unwrap()), "PONG");
}

#[test]
fn auth_clients_optional_and_no() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    let foreign = tempfile::tempdir().unwrap();
    make_certs(
        foreign.path(),
        &[("client", Profile::Client, Validity::days(30))],
    );
    std::fs::copy(
        foreign.path().join("client.crt"),
        dir.path().join("foreign.crt"),
    )
    .unwrap();
    std::fs::copy(
        foreign.path().join("client.key"),
        dir.path().join("foreign.key"),
    )
    .unwrap();
    let optional = start(dir.path(), &["--tls-auth-clients", "optional"]);
    let Some(out) = cli(&optional, None, &["PING"]) else {
        return;
    };
    assert_eq!(stdout(&out), "PONG");
    assert_eq!(
        stdout(&cli(&optional, Some("client"), &["PING"]).unwrap()),
        "PONG"
    );
    assert_ne!(
        stdout(&cli(&optional, Some("foreign"), &["PING"]).unwrap()),
        "PONG"
    );
    let no = start(dir.path(), &["--tls-auth-clients", "no"]);
    assert_eq!(stdout(&cli(&no, None, &["PING"]).unwrap()), "PONG");
}

/// Connects with rustls, runs PING, and returns the CN of the certificate the server
/// presented, keeping the connection open.
fn tls_connect(
    t: &TlsNode,
) -> (
    rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    String,
) {
    let files = pki::tls::ClientFiles {
        cert: t.certs.join("client.crt"),
        key: t.certs.join("client.key"),
        ca: t.certs.join("ca.crt"),
        verify_hostname: false,
        key_password: None,
    };
    let config = pki::tls::client_config(&files, &pki::tls::TlsOptions::default()).unwrap();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", t.tls_port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    assert_eq!(ping(&mut tls), "+PONG\r\n");
    let cn = pki::identity::of_certificate(&tls.conn.peer_certificates().unwrap()[0])
        .unwrap()
        .common_name
        .unwrap();
    (tls, cn)
}

fn ping(tls: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>) -> String {
    tls.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = tls.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn certificates_rotate_with_config_set_and_sighup() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    add_certs(
        dir.path(),
        &[("rotated", Profile::Node, Validity::days(60))],
    );
    let t = start(dir.path(), &[]);
    let (mut old_conn, cn) = tls_connect(&t);
    assert_eq!(cn, "redis");
    let mut admin = t.node.client();
    let set = admin.cmd(&[
        "CONFIG",
        "SET",
        "tls-cert-file",
        dir.path().join("rotated.crt").to_str().unwrap(),
        "tls-key-file",
        dir.path().join("rotated.key").to_str().unwrap(),
    ]);
    assert_eq!(set, Reply::Simple("OK".into()));
    assert_eq!(tls_connect(&t).1, "rotated");
    // The connection made before the rotation keeps working.
    assert_eq!(ping(&mut old_conn), "+PONG\r\n");
    // A bad file is refused and the current certificate keeps serving.
    let bad = admin.cmd(&[
        "CONFIG",
        "SET",
        "tls-cert-file",
        dir.path().join("missing.crt").to_str().unwrap(),
    ]);
    // Redis's reply; the log says which file and why.
    assert_eq!(
        bad,
        Reply::Error(
            "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs.".into()
        )
    );
    wait_for_log(&t.node, "missing.crt");
    assert_eq!(tls_connect(&t).1, "rotated");
    assert!(admin.cmd(&["CONFIG", "GET", "tls-cert-file"]).array()[1]
        .text()
        .ends_with("rotated.crt"));
    // Tooling replaces the files in place and sends SIGHUP.
    add_certs(
        dir.path(),
        &[("rotated", Profile::Node, Validity::days(90))],
    );
    std::fs::copy(dir.path().join("redis.crt"), dir.path().join("rotated.crt")).unwrap();
    std::fs::copy(dir.path().join("redis.key"), dir.path().join("rotated.key")).unwrap();
    let pid = admin.cmd(&["INFO", "server"]).text();
    let pid = pid
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .unwrap()
        .trim()
        .to_string();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    wait_for_log(&t.node, "Received SIGHUP: TLS certificates reloaded");
    assert_eq!(tls_connect(&t).1, "redis");
    assert_eq!(ping(&mut old_conn), "+PONG\r\n");
}

#[test]
fn benchmark_over_tls_has_no_errors() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    let t = start(dir.path(), &[]);
    let Some(bin) = redis_tool("redis-benchmark") else {
        return;
    };
    let out = Command::new(bin)
        .args([
            "--tls",
            "-h",
            "127.0.0.1",
            "-p",
            &t.tls_port.to_string(),
            "-n",
            "1000",
            "-c",
            "10",
            "-q",
        ])
        .arg("--cacert")
        .arg(dir.path().join("ca.crt"))
        .arg("--cert")
        .arg(dir.path().join("client.crt"))
        .arg("--key")
        .arg(dir.path().join("client.key"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("rror"), "{text}");
    for test in [
        "PING_INLINE",
        "SET",
        "GET",
        "LPUSH",
        "ZADD",
        "LRANGE_600",
        "MSET",
    ] {
        assert!(
            text.contains(&format!("{test}: ")) || text.contains(&format!("{test} (")),
            "no {test}:\n{text}"
        );
    }
}

#[test]
fn client_certificate_cn_default_authenticates_as_the_default_user() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    add_certs(
        dir.path(),
        &[("default", Profile::Client, Validity::days(30))],
    );
    let t = start(
        dir.path(),
        &["--requirepass", "s3cret", "--tls-auth-clients-user", "cn"],
    );
    let Some(out) = cli(&t, Some("default"), &["SET", "k", "v"]) else {
        return;
    };
    assert_eq!(stdout(&out), "OK", "{out:?}");
    // A certificate whose CN names no user still needs AUTH.
    let out = cli(&t, Some("client"), &["GET", "k"]).unwrap();
    assert!(stdout(&out).contains("NOAUTH"), "{out:?}");
    assert_eq!(
        stdout(
            &cli(
                &t,
                Some("client"),
                &["-a", "s3cret", "--no-auth-warning", "GET", "k"]
            )
            .unwrap()
        ),
        "v"
    );
}

/// Starts tandem with TLS on `dir`'s certificates plus `extra`, expecting it to refuse to
/// start; returns what it printed.
fn failed_start(dir: &Path, key: &str, extra: &[&str]) -> String {
    let out = Command::new(tandem_tests::tools::workspace_bin("tandem"))
        .args(["--port", "0", "--tls-port", &free_port().to_string()])
        .arg("--tls-cert-file")
        .arg(dir.join("redis.crt"))
        .arg("--tls-key-file")
        .arg(dir.join(key))
        .arg("--tls-ca-cert-file")
        .arg(dir.join("ca.crt"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "tandem started despite a bad TLS setup"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn misconfigured_tls_stops_startup_with_the_file_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    let log = failed_start(dir.path(), "client.key", &[]);
    assert!(
        log.contains("client.key") && log.contains("does not match"),
        "{log}"
    );
    let log = failed_start(
        dir.path(),
        "redis.key",
        &["--tls-ciphersuites", "TLS_FAKE_SUITE"],
    );
    assert!(log.contains("TLS_FAKE_SUITE"), "{log}");
}

#[test]
fn an_encrypted_key_needs_its_password() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    // As redis's own test makes one: OpenSSL 3 writes an encrypted PKCS#8 key.
    let Some(openssl) = redis_tool("openssl") else {
        return;
    };
    let plain = dir.path().join("redis.key");
    let encrypted = dir.path().join("redis.key.encrypted");
    let made = Command::new(openssl)
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:1234",
            "-in",
        ])
        .arg(&plain)
        .arg("-out")
        .arg(&encrypted)
        .status()
        .unwrap();
    assert!(made.success());
    let log = failed_start(dir.path(), "redis.key.encrypted", &[]);
    assert!(
        log.contains("redis.key.encrypted: the private key is encrypted: no password given"),
        "{log}"
    );
    let log = failed_start(
        dir.path(),
        "redis.key.encrypted",
        &["--tls-key-file-pass", "wrong"],
    );
    assert!(log.contains("wrong password"), "{log}");
    // With the password it serves; CONFIG SET of the key file needs it too.
    let t = start(dir.path(), &[]);
    let mut c = t.node.client();
    let reply = c.cmd(&["CONFIG", "SET", "tls-key-file", encrypted.to_str().unwrap()]);
    assert_eq!(
        reply,
        Reply::Error(
            "ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - Unable to update TLS configuration. Check server logs.".into()
        )
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "tls-key-file-pass", "1234"]),
        Reply::Simple("OK".into())
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "tls-key-file", encrypted.to_str().unwrap()]),
        Reply::Simple("OK".into())
    );
    let Some(out) = cli(&t, Some("client"), &["PING"]) else {
        return;
    };
    assert_eq!(stdout(&out), "PONG");
}

#[test]
fn a_silent_connection_is_dropped_at_the_handshake_timeout() {
    let dir = tempfile::tempdir().unwrap();
    standard_certs(dir.path());
    let t = start(dir.path(), &["--tls-handshake-timeout", "1"]);
    let mut silent = TcpStream::connect(("127.0.0.1", t.tls_port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 16];
    // The server closes the connection on its own (read returns EOF, or a reset).
    assert!(matches!(silent.read(&mut buf), Ok(0) | Err(_)));
    wait_for_log(&t.node, "handshake not completed within 1s");
    let Some(out) = cli(&t, Some("client"), &["PING"]) else {
        return;
    };
    assert_eq!(stdout(&out), "PONG");
}
