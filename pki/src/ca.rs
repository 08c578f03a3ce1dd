//! The certificate authority: creating one, and loading it back to issue more.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::store;
use crate::PkiError;

/// Key algorithms pki can generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256: small, fast, supported everywhere TLS 1.2+ is.
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519 (TLS 1.3 peers, OpenSSL 1.1.1+).
    Ed25519,
    /// RSA 2048 with SHA-256, for old clients (slower to generate).
    Rsa2048,
    /// RSA 3072 with SHA-256.
    Rsa3072,
}

impl KeyType {
    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::EcdsaP384 => "ECDSA P-384",
            KeyType::Ed25519 => "Ed25519",
            KeyType::Rsa2048 => "RSA 2048",
            KeyType::Rsa3072 => "RSA 3072",
        }
    }

    /// A new key pair of this type.
    pub fn generate(self) -> Result<KeyPair, PkiError> {
        let err = |e: &dyn std::fmt::Display| PkiError::KeyGeneration {
            key_type: self.name().into(),
            reason: e.to_string(),
        };
        match self {
            KeyType::EcdsaP256 => {
                KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| err(&e))
            }
            KeyType::EcdsaP384 => {
                KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(|e| err(&e))
            }
            KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(|e| err(&e)),
            KeyType::Rsa2048 | KeyType::Rsa3072 => {
                // ring signs with RSA keys but cannot make them: the RustCrypto rsa crate
                // generates the key, ring does all signing.
                use rsa::pkcs8::EncodePrivateKey;
                let bits = if self == KeyType::Rsa2048 { 2048 } else { 3072 };
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
                    .map_err(|e| err(&e))?;
                let der = key.to_pkcs8_der().map_err(|e| err(&e))?;
                let pkcs8 = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
                KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
                    .map_err(|e| err(&e))
            }
        }
    }
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From an hour ago (tolerates clock skew between nodes) to `days` from now.
    pub fn days(days: i64) -> Validity {
        let now = OffsetDateTime::now_utc();
        Validity {
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(days),
        }
    }

    /// A window relative to now, in days (negative = in the past); for tests and
    /// deliberately expired or future certificates.
    pub fn relative(start_days: i64, end_days: i64) -> Validity {
        let now = OffsetDateTime::now_utc();
        Validity {
            not_before: now + Duration::days(start_days),
            not_after: now + Duration::days(end_days),
        }
    }
}

/// A random positive 16-byte serial number.
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("system randomness");
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// A CA name unique to this `pki init` ("tandem CA <host> <8 hex>"): two separately made
/// CAs must not share a subject, or a certificate from one would be reported against the
/// other as a bad signature instead of an unknown issuer.
pub fn unique_name() -> String {
    let mut tag = [0u8; 4];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut tag)
        .expect("system randomness");
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let host = crate::issue::host_name().unwrap_or_else(|| "localhost".into());
    format!("tandem CA {host} {hex}")
}

/// A new self-signed CA: basicConstraints CA, keyCertSign and cRLSign.
/// Returns the certificate PEM and the key.
pub fn create(
    common_name: &str,
    validity: Validity,
    key_type: KeyType,
) -> Result<(String, KeyPair), PkiError> {
    let key = key_type.generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "tandem");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(random_serial());
    let cert = params.self_signed(&key).map_err(|e| PkiError::Signing {
        name: common_name.into(),
        reason: e.to_string(),
    })?;
    Ok((cert.pem(), key))
}

/// Creates a CA with a [`unique_name`], writes `ca.crt` (0644) and `ca.key` (0600) into
/// `dir`, and loads it back ready to issue.
pub fn create_in(dir: &Path, validity: Validity, key_type: KeyType) -> Result<Ca, PkiError> {
    let (cert_pem, key) = create(&unique_name(), validity, key_type)?;
    store::write_file(&dir.join("ca.crt"), &cert_pem, store::CERT_MODE)?;
    store::write_file(&dir.join("ca.key"), &key.serialize_pem(), store::KEY_MODE)?;
    Ca::load(dir)
}

/// A CA loaded from its files, ready to issue.
pub struct Ca {
    pub cert_path: PathBuf,
    pub issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("cert_path", &self.cert_path)
            .finish()
    }
}

impl Ca {
    /// Loads `ca.crt` and `ca.key` from `dir`, checking the certificate is a CA and the key
    /// is its key.
    pub fn load(dir: &Path) -> Result<Ca, PkiError> {
        let cert_path = dir.join("ca.crt");
        let key_path = dir.join("ca.key");
        let cert_der = store::read_certs(&cert_path)?.remove(0);
        let key_pem = std::fs::read_to_string(&key_path).map_err(PkiError::io(&key_path))?;
        let key = KeyPair::from_pem(&key_pem).map_err(|_| PkiError::NoKey {
            path: key_path.clone(),
        })?;
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert_der).map_err(|e| {
            PkiError::NotACertificate {
                path: cert_path.clone(),
                reason: e.to_string(),
            }
        })?;
        if !parsed.is_ca() {
            return Err(PkiError::NotACa { path: cert_path });
        }
        if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(PkiError::KeyMismatch {
                cert: cert_path,
                key: key_path,
            });
        }
        let issuer =
            Issuer::from_ca_cert_der(&cert_der, key).map_err(|e| PkiError::NotACertificate {
                path: cert_path.clone(),
                reason: e.to_string(),
            })?;
        Ok(Ca { cert_path, issuer })
    }
}
