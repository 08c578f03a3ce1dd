//! Certificate profiles: what each kind of certificate may be used for.
//!
//! A node certificate is both server and client (one pair serves clients and replicates
//! to a master); a server certificate only serves; a client certificate only
//! authenticates to servers (redis-cli, applications).

use rcgen::{ExtendedKeyUsagePurpose as Eku, KeyUsagePurpose as Ku};

/// The kinds of leaf certificate `pki issue` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// serverAuth and clientAuth: a tandem node that serves and replicates.
    Node,
    /// serverAuth only.
    Server,
    /// clientAuth only: redis-cli and applications.
    Client,
}

impl Profile {
    pub fn extended_key_usages(self) -> Vec<Eku> {
        match self {
            Profile::Node => vec![Eku::ServerAuth, Eku::ClientAuth],
            Profile::Server => vec![Eku::ServerAuth],
            Profile::Client => vec![Eku::ClientAuth],
        }
    }

    pub fn key_usages(self) -> Vec<Ku> {
        vec![Ku::DigitalSignature, Ku::KeyEncipherment]
    }

    /// Whether the certificate names hosts (and so gets the default SANs).
    pub fn names_hosts(self) -> bool {
        !matches!(self, Profile::Client)
    }
}
