//! Who a verified peer certificate names: its subject common name and SANs.

use x509_parser::extensions::GeneralName;

/// The identity in a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub common_name: Option<String>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
}

/// Reads the identity from a DER certificate (None if it does not parse).
pub fn of_certificate(der: &[u8]) -> Option<Identity> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    let mut id = Identity {
        common_name,
        ..Identity::default()
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => id.dns_names.push(d.to_string()),
                GeneralName::IPAddress(ip) => id.ip_addresses.push(ip_text(ip)),
                _ => {}
            }
        }
    }
    Some(id)
}

pub(crate) fn ip_text(raw: &[u8]) -> String {
    match raw.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(raw).expect("4 bytes")).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(raw).expect("16 bytes")).to_string(),
        _ => format!("{raw:02x?}"),
    }
}
