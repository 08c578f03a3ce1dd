//! rustls configurations for tandem: the server side (client certificates required,
//! optional or ignored, as `tls-auth-clients yes|optional|no`) and the client side of a
//! replication link, plus atomic swapping for certificate rotation.
//!
//! **Hostname policy for replication links.** Redis verifies only the chain of the
//! master's certificate (OpenSSL with `SSL_VERIFY_PEER` and no host check), and masters
//! are often reached by addresses their certificates do not name (Docker service names,
//! IPs). tandem does the same by default: the master's certificate must chain to the
//! configured CA, be within its validity and carry serverAuth; its names are not compared
//! with the host dialled. [`ClientFiles::verify_hostname`] turns the name check on.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};

use crate::{store, verify, PkiError};

/// Whether the server asks for client certificates (`tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A certificate from the CA is required (`yes`, Redis's default).
    Required,
    /// A certificate is verified if sent (`optional`).
    Optional,
    /// No certificate is asked for (`no`).
    None,
}

/// Protocol versions and cipher suites (`tls-protocols`, `tls-ciphersuites`).
#[derive(Debug, Clone)]
pub struct TlsOptions {
    pub protocols: Vec<&'static SupportedProtocolVersion>,
    /// None: rustls's defaults.
    pub cipher_suites: Option<Vec<SupportedCipherSuite>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            protocols: vec![&rustls::version::TLS13, &rustls::version::TLS12],
            cipher_suites: None,
        }
    }
}

/// Parses `tls-protocols` ("TLSv1.2 TLSv1.3"); empty means both.
pub fn parse_protocols(text: &str) -> Result<Vec<&'static SupportedProtocolVersion>, PkiError> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            _ => return Err(PkiError::UnknownProtocol(word.into())),
        }
    }
    if out.is_empty() {
        out = TlsOptions::default().protocols;
    }
    Ok(out)
}

/// Parses `tls-ciphersuites` (TLS 1.3 names, colon-separated, as OpenSSL takes them) or
/// IANA names of TLS 1.2 suites; a suite rustls does not implement is an error naming it.
pub fn parse_ciphersuites(text: &str) -> Result<Option<Vec<SupportedCipherSuite>>, PkiError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let all = rustls::crypto::ring::default_provider().cipher_suites;
    let mut out = Vec::new();
    for name in text.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        let found = all
            .iter()
            .find(|s| format!("{:?}", s.suite()).eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                PkiError::UnknownCipherSuite(
                    name.into(),
                    all.iter()
                        .map(|s| format!("{:?}", s.suite()))
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })?;
        out.push(*found);
    }
    Ok(Some(out))
}

fn provider_for(opts: &TlsOptions) -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = &opts.cipher_suites {
        provider.cipher_suites = suites.clone();
    }
    Arc::new(provider)
}

/// The files a TLS server needs.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A CA file or a directory of CA files, to verify client certificates.
    pub ca: Option<PathBuf>,
    pub crls: Vec<PathBuf>,
}

fn key_mismatch(e: rustls::Error, cert: &std::path::Path, key: &std::path::Path) -> PkiError {
    match e {
        rustls::Error::InconsistentKeys(_) => PkiError::KeyMismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        },
        e => PkiError::Tls(e),
    }
}

/// Builds a server configuration; any problem with a file is an error naming it.
pub fn server_config(
    files: &ServerFiles,
    auth: ClientAuth,
    opts: &TlsOptions,
) -> Result<ServerConfig, PkiError> {
    let chain = store::read_certs(&files.cert)?;
    let key = store::read_key(&files.key)?;
    let provider = provider_for(opts);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&opts.protocols)?;
    let builder = match (auth, &files.ca) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(PkiError::NoCaCertificates {
                path: PathBuf::from("(tls-ca-cert-file / tls-ca-cert-dir not set)"),
            })
        }
        (auth, Some(ca)) => {
            let roots = Arc::new(verify::root_store(ca)?);
            let mut crls = Vec::new();
            for crl in &files.crls {
                crls.extend(store::read_crls(crl)?);
            }
            let mut v =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .with_crls(crls);
            if auth == ClientAuth::Optional {
                v = v.allow_unauthenticated();
            }
            builder.with_client_cert_verifier(v.build()?)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| key_mismatch(e, &files.cert, &files.key))?;
    config.alpn_protocols.clear();
    Ok(config)
}

/// The files the client side of a replication link needs.
#[derive(Debug, Clone)]
pub struct ClientFiles {
    /// The certificate presented to the master (the node's own, or tls-client-cert-file).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA file or directory the master's certificate must chain to.
    pub ca: PathBuf,
    /// Also require the master's certificate to name the host dialled.
    pub verify_hostname: bool,
}

/// Verifies the chain like webpki and, unless asked, not the name (see the module docs).
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            // webpki checks the name only after the chain, validity and purpose passed.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Builds the client configuration of a replication link.
pub fn client_config(files: &ClientFiles, opts: &TlsOptions) -> Result<ClientConfig, PkiError> {
    let roots = Arc::new(verify::root_store(&files.ca)?);
    let chain = store::read_certs(&files.cert)?;
    let key = store::read_key(&files.key)?;
    let provider = provider_for(opts);
    let webpki =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| PkiError::Tls(rustls::Error::General(e.to_string())))?;
    let builder =
        ClientConfig::builder_with_provider(provider).with_protocol_versions(&opts.protocols)?;
    let builder = if files.verify_hostname {
        builder.with_webpki_verifier(webpki)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnlyVerifier { inner: webpki }))
    };
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|e| key_mismatch(e, &files.cert, &files.key))
}

/// A configuration that can be replaced while in use: new handshakes take the new one,
/// connections already made keep theirs.
#[derive(Debug)]
pub struct Reloadable<T> {
    current: RwLock<Arc<T>>,
}

impl<T> Reloadable<T> {
    pub fn new(value: T) -> Reloadable<T> {
        Reloadable {
            current: RwLock::new(Arc::new(value)),
        }
    }

    /// The configuration to use for the next handshake.
    pub fn current(&self) -> Arc<T> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Swaps in a new configuration.
    pub fn replace(&self, value: T) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{self, KeyType, Validity};
    use crate::issue::{issue, IssueRequest};
    use crate::profile::Profile;
    use rustls::{ClientConnection, ServerConnection};
    use std::path::Path;

    /// Writes a CA and the named certificates (name, profile) into `dir`.
    fn make_pki(dir: &Path, leaves: &[(&str, Profile)]) {
        let ca = ca::create_in(dir, Validity::days(30), KeyType::EcdsaP256).unwrap();
        for (name, profile) in leaves {
            let req = IssueRequest {
                name: name.to_string(),
                profile: *profile,
                sans: vec![],
                validity: Validity::days(30),
                key_type: KeyType::EcdsaP256,
            };
            issue(&ca, &req)
                .unwrap()
                .write(
                    &dir.join(format!("{name}.crt")),
                    &dir.join(format!("{name}.key")),
                )
                .unwrap();
        }
    }

    /// Runs a handshake in memory; Ok when both sides complete it.
    fn handshake(
        client: ClientConfig,
        server: ServerConfig,
        name: &str,
    ) -> Result<ServerConnection, rustls::Error> {
        let mut c = ClientConnection::new(
            Arc::new(client),
            ServerName::try_from(name.to_string()).unwrap(),
        )?;
        let mut s = ServerConnection::new(Arc::new(server))?;
        for _ in 0..10 {
            let mut buf = Vec::new();
            c.write_tls(&mut buf).unwrap();
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets()?;
            let mut buf = Vec::new();
            s.write_tls(&mut buf).unwrap();
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets()?;
            if !c.is_handshaking() && !s.is_handshaking() {
                return Ok(s);
            }
        }
        Err(rustls::Error::General("handshake did not finish".into()))
    }

    fn server_files(dir: &Path) -> ServerFiles {
        ServerFiles {
            cert: dir.join("node.crt"),
            key: dir.join("node.key"),
            ca: Some(dir.join("ca.crt")),
            crls: vec![],
        }
    }

    fn client_files(dir: &Path, cert: &str, ca_dir: &Path) -> ClientFiles {
        ClientFiles {
            cert: dir.join(format!("{cert}.crt")),
            key: dir.join(format!("{cert}.key")),
            ca: ca_dir.join("ca.crt"),
            verify_hostname: false,
        }
    }

    fn client_without_cert(ca_dir: &Path) -> ClientConfig {
        ClientConfig::builder_with_provider(crate::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(verify::root_store(&ca_dir.join("ca.crt")).unwrap())
            .with_no_client_auth()
    }

    #[test]
    fn mutual_tls_with_node_and_client_certificates() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(
            dir.path(),
            &[("node", Profile::Node), ("client", Profile::Client)],
        );
        let opts = TlsOptions::default();
        let server = server_config(&server_files(dir.path()), ClientAuth::Required, &opts).unwrap();
        let client = client_config(&client_files(dir.path(), "client", dir.path()), &opts).unwrap();
        let conn = handshake(client, server, "localhost").unwrap();
        let peer = conn.peer_certificates().unwrap();
        let id = crate::identity::of_certificate(&peer[0]).unwrap();
        assert_eq!(id.common_name.as_deref(), Some("client"));
        // The node certificate also authenticates as a client (replication).
        let server = server_config(&server_files(dir.path()), ClientAuth::Required, &opts).unwrap();
        let client = client_config(&client_files(dir.path(), "node", dir.path()), &opts).unwrap();
        handshake(client, server, "localhost").unwrap();
    }

    #[test]
    fn client_auth_required_optional_and_none() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path(), &[("node", Profile::Node)]);
        let opts = TlsOptions::default();
        let files = server_files(dir.path());
        let required = server_config(&files, ClientAuth::Required, &opts).unwrap();
        assert!(handshake(client_without_cert(dir.path()), required, "localhost").is_err());
        let optional = server_config(&files, ClientAuth::Optional, &opts).unwrap();
        handshake(client_without_cert(dir.path()), optional, "localhost").unwrap();
        let none =
            server_config(&ServerFiles { ca: None, ..files }, ClientAuth::None, &opts).unwrap();
        handshake(client_without_cert(dir.path()), none, "localhost").unwrap();
    }

    #[test]
    fn foreign_client_and_server_certificates_are_refused() {
        let ours = tempfile::tempdir().unwrap();
        let theirs = tempfile::tempdir().unwrap();
        make_pki(ours.path(), &[("node", Profile::Node)]);
        make_pki(
            theirs.path(),
            &[("node", Profile::Node), ("client", Profile::Client)],
        );
        let opts = TlsOptions::default();
        let server =
            server_config(&server_files(ours.path()), ClientAuth::Required, &opts).unwrap();
        // Their client, trusting our CA so the server side is the one to refuse.
        let client =
            client_config(&client_files(theirs.path(), "client", ours.path()), &opts).unwrap();
        let err = handshake(client, server, "localhost").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
                    | rustls::Error::AlertReceived(_)
            ),
            "{err:?}"
        );
        // Our replica dialling their master: the chain does not verify.
        let server = server_config(&server_files(theirs.path()), ClientAuth::None, &opts).unwrap();
        let client = client_config(&client_files(ours.path(), "node", ours.path()), &opts).unwrap();
        let err = handshake(client, server, "localhost").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn replication_links_check_the_chain_not_the_host_name_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path(), &[("node", Profile::Node)]);
        let opts = TlsOptions::default();
        let server =
            || server_config(&server_files(dir.path()), ClientAuth::Required, &opts).unwrap();
        let files = client_files(dir.path(), "node", dir.path());
        handshake(
            client_config(&files, &opts).unwrap(),
            server(),
            "redis-master",
        )
        .unwrap();
        let strict = ClientFiles {
            verify_hostname: true,
            ..files
        };
        let err = handshake(
            client_config(&strict, &opts).unwrap(),
            server(),
            "redis-master",
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForNameContext { .. }
                        | CertificateError::NotValidForName
                )
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_key_that_does_not_match_its_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(
            dir.path(),
            &[("node", Profile::Node), ("other", Profile::Node)],
        );
        let files = ServerFiles {
            key: dir.path().join("other.key"),
            ..server_files(dir.path())
        };
        let err = server_config(&files, ClientAuth::Required, &TlsOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("other.key") && msg.contains("does not match") && msg.contains("node.crt"),
            "{msg}"
        );
    }

    #[test]
    fn ca_directory_protocols_and_cipher_suites() {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path(), &[("node", Profile::Node)]);
        let ca_dir = dir.path().join("cas");
        std::fs::create_dir(&ca_dir).unwrap();
        std::fs::copy(dir.path().join("ca.crt"), ca_dir.join("ours.crt")).unwrap();
        let files = ServerFiles {
            ca: Some(ca_dir),
            ..server_files(dir.path())
        };
        let opts = TlsOptions {
            protocols: parse_protocols("TLSv1.3").unwrap(),
            cipher_suites: parse_ciphersuites("TLS13_AES_256_GCM_SHA384").unwrap(),
        };
        let server = server_config(&files, ClientAuth::Required, &opts).unwrap();
        let client = client_config(&client_files(dir.path(), "node", dir.path()), &opts).unwrap();
        handshake(client, server, "localhost").unwrap();
        assert!(matches!(
            parse_protocols("SSLv3"),
            Err(PkiError::UnknownProtocol(_))
        ));
        let err = parse_ciphersuites("TLS_RSA_WITH_RC4_128_MD5")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TLS_RSA_WITH_RC4_128_MD5") && err.contains("TLS13_AES_128_GCM_SHA256"),
            "{err}"
        );
    }

    #[test]
    fn reloadable_swaps_for_new_handshakes_only() {
        let r = Reloadable::new(1);
        let held = r.current();
        r.replace(2);
        assert_eq!(*held, 1);
        assert_eq!(*r.current(), 2);
    }
}
