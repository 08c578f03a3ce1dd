//! Chain validation with reasons in words (`pki verify`, and tandem's start-up checks).
//!
//! The trust decision is rustls's webpki verifier, the same code that runs during a
//! handshake; x509-parser only supplies dates and names for the messages.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, RootCertStore};

use crate::{store, PkiError};

/// What the certificate must be good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Purpose {
    /// TLS server authentication (serverAuth).
    Server,
    /// TLS client authentication (clientAuth).
    Client,
}

/// Why a certificate was rejected, as one line.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("unknown issuer: not signed by a CA in {ca}")]
    UnknownIssuer { ca: String },
    #[error("expired on {date}")]
    Expired { date: String },
    #[error("not yet valid: valid from {date}")]
    NotYetValid { date: String },
    #[error("name mismatch: the certificate is for {presented}, not {name}")]
    NameMismatch { name: String, presented: String },
    #[error("wrong purpose: not valid for TLS {purpose} authentication (extended key usage)")]
    WrongPurpose { purpose: &'static str },
    #[error("bad signature")]
    BadSignature,
    #[error("not a certificate: {reason}")]
    NotACertificate { reason: String },
    #[error("rejected: {reason}")]
    Rejected { reason: String },
    #[error("{0}")]
    File(#[from] PkiError),
}

/// Loads CA certificates (file or directory) into a root store.
pub fn root_store(ca: &Path) -> Result<RootCertStore, PkiError> {
    let mut roots = RootCertStore::empty();
    for cert in store::read_ca_certs(ca)? {
        roots.add(cert).map_err(|e| PkiError::NotACertificate {
            path: ca.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    Ok(roots)
}

/// The leaf's dates and names, for messages.
struct LeafFacts {
    not_before: String,
    not_after: String,
    names: Vec<String>,
}

fn leaf_facts(der: &[u8]) -> Result<LeafFacts, Rejection> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| Rejection::NotACertificate {
            reason: e.to_string(),
        })?;
    let id = crate::identity::of_certificate(der).unwrap_or_default();
    let mut names = id.dns_names;
    names.extend(id.ip_addresses);
    if names.is_empty() {
        names.extend(id.common_name);
    }
    Ok(LeafFacts {
        not_before: cert.validity().not_before.to_string(),
        not_after: cert.validity().not_after.to_string(),
        names,
    })
}

/// Maps a rustls verification error to a [`Rejection`].
pub fn explain(
    err: rustls::Error,
    ca: &Path,
    leaf: Option<&CertificateDer<'_>>,
    name: &str,
    purpose: Purpose,
) -> Rejection {
    let facts = leaf.and_then(|l| leaf_facts(l).ok());
    let fact = |f: fn(&LeafFacts) -> String| {
        facts
            .as_ref()
            .map(f)
            .unwrap_or_else(|| "an unknown date".into())
    };
    match err {
        rustls::Error::InvalidCertificate(e) => {
            match e {
                CertificateError::UnknownIssuer => Rejection::UnknownIssuer {
                    ca: ca.display().to_string(),
                },
                CertificateError::ExpiredContext { not_after, .. } if facts.is_none() => {
                    Rejection::Expired {
                        date: unix_date(not_after.as_secs()),
                    }
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    Rejection::Expired {
                        date: fact(|f| f.not_after.clone()),
                    }
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Rejection::NotYetValid {
                        date: fact(|f| f.not_before.clone()),
                    }
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => Rejection::NameMismatch {
                    name: name.to_string(),
                    presented: facts.map(|f| f.names.join(", ")).unwrap_or_default(),
                },
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => Rejection::WrongPurpose {
                    purpose: match purpose {
                        Purpose::Server => "server",
                        Purpose::Client => "client",
                    },
                },
                CertificateError::BadSignature => Rejection::BadSignature,
                CertificateError::BadEncoding => Rejection::NotACertificate {
                    reason: "bad encoding".into(),
                },
                other => Rejection::Rejected {
                    reason: format!("{other:?}"),
                },
            }
        }
        other => Rejection::Rejected {
            reason: other.to_string(),
        },
    }
}

/// A Unix time as `2026-11-24 19:40:55 UTC`.
fn unix_date(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|_| format!("{secs} (Unix time)"))
}

/// Validates the certificate (and any intermediates after it) in `cert` against the CA
/// in `ca` for `purpose`; `name`, when given, must be one of its names.
pub fn verify_files(
    ca: &Path,
    cert: &Path,
    name: Option<&str>,
    purpose: Purpose,
) -> Result<(), Rejection> {
    let roots = Arc::new(root_store(ca)?);
    let chain = store::read_certs(cert)?;
    let facts = leaf_facts(&chain[0])?;
    let (leaf, intermediates) = chain
        .split_first()
        .expect("read_certs returns at least one");
    let provider = crate::provider();
    let now = UnixTime::now();
    match purpose {
        Purpose::Server => {
            let verifier =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| Rejection::Rejected {
                        reason: e.to_string(),
                    })?;
            let wanted = name
                .map(str::to_string)
                .or_else(|| facts.names.first().cloned())
                .unwrap_or_else(|| "localhost".into());
            let server_name =
                ServerName::try_from(wanted.clone()).map_err(|e| Rejection::Rejected {
                    reason: e.to_string(),
                })?;
            match verifier.verify_server_cert(leaf, intermediates, &server_name, &[], now) {
                Ok(_) => Ok(()),
                // Without --name only the chain and purpose are checked.
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) if name.is_none() => Ok(()),
                Err(e) => Err(explain(e, ca, Some(leaf), &wanted, purpose)),
            }
        }
        Purpose::Client => {
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| Rejection::Rejected {
                        reason: e.to_string(),
                    })?;
            verifier
                .verify_client_cert(leaf, intermediates, now)
                .map_err(|e| explain(e, ca, Some(leaf), name.unwrap_or(""), purpose))?;
            if let Some(wanted) = name {
                if !facts.names.iter().any(|n| n == wanted) {
                    return Err(Rejection::NameMismatch {
                        name: wanted.into(),
                        presented: facts.names.join(", "),
                    });
                }
            }
            Ok(())
        }
    }
}
