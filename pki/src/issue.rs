//! Issuing leaf certificates from the CA.

use std::net::IpAddr;

use rcgen::{CertificateParams, DnType, SanType};

use crate::ca::{random_serial, Ca, KeyType, Validity};
use crate::profile::Profile;
use crate::PkiError;

/// What to issue.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The subject common name.
    pub name: String,
    pub profile: Profile,
    /// DNS names and IP addresses, beyond the defaults of host-naming profiles.
    pub sans: Vec<String>,
    pub validity: Validity,
    pub key_type: KeyType,
}

/// A new certificate and its key, in PEM.
#[derive(Debug)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Issued {
    /// Writes the certificate (0644) and the key (0600).
    pub fn write(&self, cert: &std::path::Path, key: &std::path::Path) -> Result<(), PkiError> {
        crate::store::write_file(cert, &self.cert_pem, crate::store::CERT_MODE)?;
        crate::store::write_file(key, &self.key_pem, crate::store::KEY_MODE)
    }
}

/// The machine's host name, when it can be read.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// The SANs a server or node certificate gets by default: localhost, 127.0.0.1, ::1 and
/// the host name.
pub fn default_sans() -> Vec<String> {
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    sans.extend(host_name());
    sans
}

fn san(name: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    name.to_string()
        .try_into()
        .map(SanType::DnsName)
        .map_err(|e: rcgen::Error| PkiError::BadSan {
            name: name.into(),
            reason: e.to_string(),
        })
}

/// Issues a certificate for `req` signed by `ca`.
pub fn issue(ca: &Ca, req: &IssueRequest) -> Result<Issued, PkiError> {
    let key = req.key_type.generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, req.name.as_str());
    params
        .distinguished_name
        .push(DnType::OrganizationName, "tandem");
    let mut names = if req.profile.names_hosts() {
        default_sans()
    } else {
        Vec::new()
    };
    for extra in &req.sans {
        if !names.contains(extra) {
            names.push(extra.clone());
        }
    }
    params.subject_alt_names = names.iter().map(|n| san(n)).collect::<Result<_, _>>()?;
    params.key_usages = req.profile.key_usages();
    params.extended_key_usages = req.profile.extended_key_usages();
    params.not_before = req.validity.not_before;
    params.not_after = req.validity.not_after;
    params.serial_number = Some(random_serial());
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, &ca.issuer)
        .map_err(|e| PkiError::Signing {
            name: req.name.clone(),
            reason: e.to_string(),
        })?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}
