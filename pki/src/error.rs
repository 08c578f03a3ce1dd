//! Errors that name their cause: the file or certificate, and what is wrong with it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not valid PEM: {reason}", path.display())]
    BadPem { path: PathBuf, reason: String },
    #[error("{}: no certificate in the file", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: no private key in the file", path.display())]
    NoKey { path: PathBuf },
    #[error("{}: the private key is encrypted: {reason}", path.display())]
    EncryptedKey { path: PathBuf, reason: String },
    #[error("{}: not a certificate: {reason}", path.display())]
    NotACertificate { path: PathBuf, reason: String },
    #[error("{}: the private key does not match the certificate {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("refusing to overwrite existing files (use --force): {}", list_paths(.0))]
    Exists(Vec<PathBuf>),
    #[error("cannot generate a {key_type} key: {reason}")]
    KeyGeneration { key_type: String, reason: String },
    #[error("cannot sign the certificate for {name}: {reason}")]
    Signing { name: String, reason: String },
    #[error("invalid subject alternative name {name:?}: {reason}")]
    BadSan { name: String, reason: String },
    #[error("{}: not a CA certificate (no basicConstraints CA:TRUE)", path.display())]
    NotACa { path: PathBuf },
    #[error("{}: no CA certificates found", path.display())]
    NoCaCertificates { path: PathBuf },
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("TLS client verification: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("unknown TLS protocol {0:?} (use TLSv1.2 and/or TLSv1.3)")]
    UnknownProtocol(String),
    #[error("TLS cipher suite {0:?} is not available (rustls supports: {1})")]
    UnknownCipherSuite(String, String),
    #[error("password hashing: {0}")]
    Password(String),
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl PkiError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PkiError {
        let path = path.into();
        move |source| PkiError::Io { path, source }
    }
}
