//! pki: what the OpenSSL steps of a Redis TLS setup do, as a library and a command.
//!
//! It creates a CA and issues node, server and client certificates from it ([`ca`],
//! [`profile`], [`issue`]), reads and writes PEM files with safe permissions ([`store`]),
//! describes certificates ([`inspect`]), validates chains with reasons in words
//! ([`verify`]), builds the rustls configurations tandem serves and replicates with
//! ([`tls`]), tells who a verified peer is ([`identity`]) and hashes passwords
//! ([`password`]).

pub mod ca;
pub mod error;
pub mod identity;
pub mod inspect;
pub mod issue;
pub mod password;
pub mod profile;
pub mod store;
pub mod tls;
pub mod v1;
pub mod verify;

pub use error::PkiError;

/// The crypto provider every configuration is built with (no process-wide default needed).
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
