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
