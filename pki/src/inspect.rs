//! Describing certificate and key files in words (`pki inspect`).

use std::fmt::Write;
use std::path::Path;

use rustls_pki_types::PrivateKeyDer;
use x509_parser::extensions::GeneralName;

use crate::identity::ip_text;
use crate::{store, PkiError};

/// Days under which `inspect` warns that a certificate expires soon.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A description of every certificate in `path`, or of the key when it holds a key (the
/// key's type only, never its secret).
pub fn describe_file(path: &Path) -> Result<String, PkiError> {
    let text = std::fs::read(path).map_err(PkiError::io(path))?;
    let is_key = String::from_utf8_lossy(&text).contains("PRIVATE KEY-----");
    if is_key {
        let key = store::read_key(path)?;
        let kind = match &key {
            PrivateKeyDer::Pkcs1(_) => "RSA private key (PKCS#1)".to_string(),
            PrivateKeyDer::Sec1(_) => "EC private key (SEC1)".to_string(),
            PrivateKeyDer::Pkcs8(k) => match rcgen::KeyPair::try_from(k.secret_pkcs8_der()) {
                Ok(pair) => format!("{} private key (PKCS#8)", algorithm_name(pair.algorithm())),
                Err(_) => "private key (PKCS#8, unrecognised algorithm)".to_string(),
            },
            _ => "private key".to_string(),
        };
        let mode = std::fs::metadata(path)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
            .unwrap_or(0);
        let mut out = format!("{}: {kind}, file mode {mode:o}", path.display());
        if mode & 0o077 != 0 {
            out.push_str(" (warning: readable by others; keys should be 0600)");
        }
        return Ok(out + "\n");
    }
    let certs = store::read_certs(path)?;
    let mut out = String::new();
    for (i, der) in certs.iter().enumerate() {
        if certs.len() > 1 {
            let _ = writeln!(out, "{} [{}]:", path.display(), i);
        } else {
            let _ = writeln!(out, "{}:", path.display());
        }
        out.push_str(
            &describe_certificate(der).map_err(|reason| PkiError::NotACertificate {
                path: path.to_path_buf(),
                reason,
            })?,
        );
    }
    Ok(out)
}

fn algorithm_name(alg: &'static rcgen::SignatureAlgorithm) -> &'static str {
    if alg == &rcgen::PKCS_ED25519 {
        "Ed25519"
    } else if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        "ECDSA P-256"
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        "ECDSA P-384"
    } else {
        "RSA"
    }
}

/// SHA-256 of the DER, as colon-separated hex (what `openssl x509 -fingerprint -sha256`
/// prints).
pub fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Days from now until `not_after` (negative once expired).
pub fn days_left(not_after_unix: i64) -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    (not_after_unix - now).div_euclid(86_400)
}

fn describe_certificate(der: &[u8]) -> Result<String, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let _ = writeln!(out, "  subject:     {}", cert.subject());
    let _ = writeln!(out, "  issuer:      {}", cert.issuer());
    let _ = writeln!(out, "  serial:      {}", cert.raw_serial_as_string());
    let v = cert.validity();
    let days = days_left(v.not_after.timestamp());
    let _ = writeln!(out, "  not before:  {}", v.not_before);
    let status = if days < 0 {
        format!("EXPIRED {} days ago", -days)
    } else if v.not_before.timestamp() > time::OffsetDateTime::now_utc().unix_timestamp() {
        "not yet valid".to_string()
    } else if days < EXPIRY_WARNING_DAYS {
        format!("{days} days left (warning: expires in under {EXPIRY_WARNING_DAYS} days)")
    } else {
        format!("{days} days left")
    };
    let _ = writeln!(out, "  not after:   {} ({status})", v.not_after);
    let key_type = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(ec)) => format!("EC {} bits", ec.key_size()),
        _ if cert.public_key().algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            "Ed25519".to_string()
        }
        _ => cert.public_key().algorithm.algorithm.to_id_string(),
    };
    let _ = writeln!(out, "  key:         {key_type}");
    let _ = writeln!(
        out,
        "  CA:          {}",
        if cert.is_ca() { "yes" } else { "no" }
    );
    if let Ok(Some(ku)) = cert.key_usage() {
        let _ = writeln!(out, "  key usage:   {}", ku.value);
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let mut uses = Vec::new();
        if eku.value.server_auth {
            uses.push("serverAuth");
        }
        if eku.value.client_auth {
            uses.push("clientAuth");
        }
        if eku.value.any {
            uses.push("any");
        }
        let _ = writeln!(out, "  ext. usage:  {}", uses.join(", "));
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                GeneralName::IPAddress(ip) => format!("IP:{}", ip_text(ip)),
                other => format!("{other:?}"),
            })
            .collect();
        let _ = writeln!(out, "  SANs:        {}", names.join(", "));
    }
    let _ = writeln!(out, "  SHA-256:     {}", fingerprint(der));
    Ok(out)
}
