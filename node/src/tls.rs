//! TLS for client connections: the `tls-*` directives turned into a rustls server
//! configuration (through the pki library), the handshake with its timeout and its
//! failure reasons, and reloading certificates without a restart.
//!
//! Reload paths: `CONFIG SET` of any `tls-*` file directive rebuilds the configuration and
//! swaps it in (a bad file leaves the old one serving and fails the CONFIG SET), and
//! SIGHUP re-reads the configured files (for tooling that rotates certificates in place).
//! New handshakes use the new configuration; open connections keep theirs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pki::tls::{ClientAuth, Reloadable, ServerFiles, TlsOptions};
use pki::PkiError;
use rustls::ServerConfig;
use tokio::net::TcpStream;

use crate::config::Config;
use crate::{verbose, warning};

/// Directives whose change requires rebuilding the server configuration.
pub const RELOAD_DIRECTIVES: &[&str] = &[
    "tls-cert-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-auth-clients",
    "tls-protocols",
    "tls-ciphersuites",
    "tls-prefer-server-ciphers",
    "tls-session-caching",
    "tls-session-cache-size",
    "tls-auth-clients-user",
    "tls-handshake-timeout",
];

/// The content type of a TLS record carrying a handshake message (a ClientHello first).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Facts about the serving certificate, for INFO.
#[derive(Debug, Clone, Default)]
pub struct CertSummary {
    pub subject: String,
    pub days_left: i64,
}

/// The TLS side of the server: the current configuration and counters.
#[derive(Debug)]
pub struct TlsServer {
    config: Reloadable<ServerConfig>,
    summary: std::sync::Mutex<CertSummary>,
    /// Handshakes that failed (bad or missing certificate, plaintext, timeout).
    pub rejected: AtomicU64,
    /// tls-auth-clients-user: the CN of a verified client certificate names the user.
    cn_is_user: std::sync::atomic::AtomicBool,
    /// tls-handshake-timeout, seconds: half-open connections cannot pile up.
    handshake_timeout_secs: AtomicU64,
}

/// The password of an encrypted key file, when the directive sets one.
fn password(config: &Config, name: &str) -> Option<String> {
    Some(config.get(name).to_string()).filter(|p| !p.is_empty())
}

fn path(config: &Config, name: &str) -> Option<PathBuf> {
    let v = config.get(name);
    (!v.is_empty()).then(|| PathBuf::from(v))
}

/// Lines warning about directives rustls cannot honour (logged at start-up).
pub fn unsupported_directive_warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if !config.get("tls-dh-params-file").is_empty() {
        out.push("tls-dh-params-file is ignored: rustls has no finite-field DHE; key exchange is always ECDHE (X25519, P-256, P-384)".into());
    }
    if !config.get("tls-ciphers").is_empty() {
        out.push("tls-ciphers is ignored: OpenSSL cipher strings do not apply to rustls; set TLS 1.2 and 1.3 suites by IANA name in tls-ciphersuites".into());
    }
    if config.get("tls-session-cache-timeout") != "300" {
        out.push("tls-session-cache-timeout is ignored: rustls keeps sessions until the cache evicts them (tls-session-cache-size)".into());
    }
    out
}

/// Builds the client configuration of a replication link (`tls-replication yes`): the
/// certificate presented is `tls-client-cert-file` when set, else the node's own; the
/// master must chain to `tls-ca-cert-file` (or `-dir`).
pub fn replication_client_config(config: &Config) -> Result<rustls::ClientConfig, PkiError> {
    let (cert, key, key_password) = match (
        path(config, "tls-client-cert-file"),
        path(config, "tls-client-key-file"),
    ) {
        (Some(c), Some(k)) => (c, k, password(config, "tls-client-key-file-pass")),
        _ => (
            path(config, "tls-cert-file").ok_or_else(|| PkiError::NoCertificate {
                path: PathBuf::from("(tls-cert-file not set)"),
            })?,
            path(config, "tls-key-file").ok_or_else(|| PkiError::NoKey {
                path: PathBuf::from("(tls-key-file not set)"),
            })?,
            password(config, "tls-key-file-pass"),
        ),
    };
    let ca = path(config, "tls-ca-cert-file")
        .or_else(|| path(config, "tls-ca-cert-dir"))
        .ok_or_else(|| {
            PkiError::Password(
                "tls-replication needs tls-ca-cert-file or tls-ca-cert-dir to verify the master"
                    .into(),
            )
        })?;
    let files = pki::tls::ClientFiles {
        cert,
        key,
        ca,
        verify_hostname: false,
        key_password,
    };
    let opts = TlsOptions {
        protocols: pki::tls::parse_protocols(config.get("tls-protocols"))?,
        cipher_suites: pki::tls::parse_ciphersuites(config.get("tls-ciphersuites"))?,
    };
    pki::tls::client_config(&files, &opts)
}

/// Builds the rustls server configuration from the `tls-*` directives.
pub fn build_server_config(config: &Config) -> Result<ServerConfig, PkiError> {
    let cert = path(config, "tls-cert-file").ok_or_else(|| PkiError::NoCertificate {
        path: PathBuf::from("(tls-cert-file not set)"),
    })?;
    let key = path(config, "tls-key-file").ok_or_else(|| PkiError::NoKey {
        path: PathBuf::from("(tls-key-file not set)"),
    })?;
    let auth = match config.get("tls-auth-clients") {
        "no" => ClientAuth::None,
        "optional" => ClientAuth::Optional,
        _ => ClientAuth::Required,
    };
    let files = ServerFiles {
        cert,
        key,
        ca: path(config, "tls-ca-cert-file").or_else(|| path(config, "tls-ca-cert-dir")),
        crls: Vec::new(),
        key_password: password(config, "tls-key-file-pass"),
    };
    let opts = TlsOptions {
        protocols: pki::tls::parse_protocols(config.get("tls-protocols"))?,
        cipher_suites: pki::tls::parse_ciphersuites(config.get("tls-ciphersuites"))?,
    };
    let mut server = pki::tls::server_config(&files, auth, &opts)?;
    server.ignore_client_order = config.get_bool("tls-prefer-server-ciphers");
    server.session_storage = if config.get_bool("tls-session-caching") {
        rustls::server::ServerSessionMemoryCache::new(
            config.get_u64("tls-session-cache-size").max(1) as usize,
        )
    } else {
        Arc::new(rustls::server::NoServerSessionStorage {})
    };
    Ok(server)
}

fn summarize(config: &Config) -> CertSummary {
    let Some(cert) = path(config, "tls-cert-file") else {
        return CertSummary::default();
    };
    let Ok(chain) = pki::store::read_certs(&cert) else {
        return CertSummary::default();
    };
    match x509_parser::parse_x509_certificate(&chain[0]) {
        Ok((_, c)) => CertSummary {
            subject: c.subject().to_string(),
            days_left: pki::inspect::days_left(c.validity().not_after.timestamp()),
        },
        Err(_) => CertSummary::default(),
    }
}

impl TlsServer {
    /// The TLS server for `config`, or None when `tls-port` is 0.
    pub fn from_config(config: &Config) -> Result<Option<TlsServer>, PkiError> {
        if config.get_int("tls-port") == 0 {
            return Ok(None);
        }
        Ok(Some(TlsServer {
            config: Reloadable::new(build_server_config(config)?),
            summary: std::sync::Mutex::new(summarize(config)),
            rejected: AtomicU64::new(0),
            cn_is_user: std::sync::atomic::AtomicBool::new(
                config.get("tls-auth-clients-user") == "cn",
            ),
            handshake_timeout_secs: AtomicU64::new(config.get_u64("tls-handshake-timeout")),
        }))
    }

    /// Rebuilds from `config` and swaps it in; on error the old configuration stays.
    pub fn reload(&self, config: &Config) -> Result<(), PkiError> {
        let new = build_server_config(config)?;
        self.config.replace(new);
        *self.summary.lock().expect("tls summary") = summarize(config);
        self.cn_is_user.store(
            config.get("tls-auth-clients-user") == "cn",
            Ordering::Relaxed,
        );
        self.handshake_timeout_secs
            .store(config.get_u64("tls-handshake-timeout"), Ordering::Relaxed);
        Ok(())
    }

    pub fn summary(&self) -> CertSummary {
        self.summary.lock().expect("tls summary").clone()
    }

    /// Runs the handshake; on failure logs the peer and the reason and counts it.
    /// On success returns the stream and, under tls-auth-clients-user, the user the
    /// certificate's CN names.
    pub async fn accept(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        ca_hint: &str,
    ) -> Option<(tokio_rustls::server::TlsStream<TcpStream>, Option<String>)> {
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config.current());
        let timeout = Duration::from_secs(self.handshake_timeout_secs.load(Ordering::Relaxed));
        // Bytes that do not start a TLS handshake record (a plaintext client) get the
        // connection closed without an answer, as OpenSSL does for redis-server: a TLS
        // alert would reach such a client as garbage.
        let mut first = [0u8; 1];
        let peeked = tokio::time::timeout(timeout, stream.peek(&mut first)).await;
        if matches!(peeked, Ok(Ok(1))) && first[0] != TLS_HANDSHAKE_RECORD {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            warning!(
                "Error accepting a client connection: not a TLS handshake (plaintext client on the TLS port?) (addr={peer})"
            );
            return None;
        }
        let outcome = tokio::time::timeout(timeout, acceptor.accept(stream)).await;
        let reason = match outcome {
            Ok(Ok(tls)) => {
                let user = if self.cn_is_user.load(Ordering::Relaxed) {
                    tls.get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| pki::identity::of_certificate(c))
                        .and_then(|id| id.common_name)
                } else {
                    None
                };
                verbose!("Accepted TLS client {peer}");
                return Some((tls, user));
            }
            Ok(Err(e)) => handshake_failure(&e, ca_hint),
            Err(_) => format!("handshake not completed within {}s", timeout.as_secs()),
        };
        self.rejected.fetch_add(1, Ordering::Relaxed);
        warning!("Error accepting a client connection: {reason} (addr={peer})");
        None
    }
}

/// The reason a handshake failed, in words.
fn handshake_failure(e: &std::io::Error, ca_hint: &str) -> String {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return format!("connection error during the handshake: {e}");
    };
    match tls {
        rustls::Error::NoCertificatesPresented => {
            "no client certificate (tls-auth-clients yes)".into()
        }
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::InappropriateMessage { .. } => {
            "not a TLS handshake (plaintext client on the TLS port?)".into()
        }
        rustls::Error::InvalidCertificate(_) => {
            let why = pki::verify::explain(
                tls.clone(),
                std::path::Path::new(ca_hint),
                None,
                "",
                pki::verify::Purpose::Client,
            );
            format!("client certificate refused: {why}")
        }
        rustls::Error::AlertReceived(alert) => format!(
            "the client aborted the handshake ({alert:?}; it may not trust our certificate)"
        ),
        other => format!("TLS error: {other}"),
    }
}
