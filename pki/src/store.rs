//! PEM files in and out: certificates 0644, private keys 0600, written atomically, never
//! over existing files unless asked.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::PkiError;

/// Mode of private key files.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificate files.
pub const CERT_MODE: u32 = 0o644;

/// Fails with [`PkiError::Exists`] naming every path that exists, unless `force`.
pub fn refuse_overwrite(paths: &[PathBuf], force: bool) -> Result<(), PkiError> {
    if force {
        return Ok(());
    }
    let existing: Vec<PathBuf> = paths.iter().filter(|p| p.exists()).cloned().collect();
    if existing.is_empty() {
        Ok(())
    } else {
        Err(PkiError::Exists(existing))
    }
}

/// Writes `contents` to `path` with `mode`, through a temp file and a rename.
pub fn write_file(path: &Path, contents: &str, mode: u32) -> Result<(), PkiError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(PkiError::io(dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("pki")
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(PkiError::io(&tmp))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(PkiError::io(&tmp))?;
    f.write_all(contents.as_bytes())
        .map_err(PkiError::io(&tmp))?;
    f.sync_all().map_err(PkiError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(PkiError::io(path))
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(PkiError::io(path))
}

/// Every certificate in a PEM file, in order (leaf first for a chain).
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::BadPem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(PkiError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, PkiError> {
    read_key_with_password(path, None)
}

/// Reads the private key in a PEM file, decrypting an encrypted PKCS#8 key (`ENCRYPTED
/// PRIVATE KEY`, as `openssl pkcs8 -topk8` and OpenSSL 3's `openssl rsa -aes256` write
/// it) with `password` (`tls-key-file-pass`).
pub fn read_key_with_password(
    path: &Path,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, PkiError> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let encrypted = |reason: &str| PkiError::EncryptedKey {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(encrypted(
            "the legacy OpenSSL encryption is not supported; convert it with `openssl pkcs8 -topk8`",
        ));
    }
    if let Some(start) = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(encrypted("no password given (tls-key-file-pass)"));
        };
        let end_marker = "-----END ENCRYPTED PRIVATE KEY-----";
        let end = text[start..]
            .find(end_marker)
            .map(|i| start + i + end_marker.len())
            .ok_or_else(|| encrypted("the PEM block does not end"))?;
        let (_, der) = pkcs8::der::pem::decode_vec(text[start..end].as_bytes())
            .map_err(|e| encrypted(&e.to_string()))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
            .map_err(|e| encrypted(&e.to_string()))?;
        let document = info
            .decrypt(password)
            .map_err(|_| encrypted("wrong password, or an unsupported encryption"))?;
        return Ok(PrivateKeyDer::Pkcs8(document.as_bytes().to_vec().into()));
    }
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => PkiError::NoKey {
            path: path.to_path_buf(),
        },
        e => PkiError::BadPem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })
}

/// The CRLs in a PEM file.
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, PkiError> {
    let bytes = read(path)?;
    CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::BadPem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// CA certificates from a file, or from every `*.crt`/`*.pem` file of a directory.
pub fn read_ca_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    if !path.is_dir() {
        return read_certs(path);
    }
    let mut certs = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(PkiError::io(path))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x == "crt" || x == "pem")
        })
        .collect();
    entries.sort();
    for file in entries {
        certs.extend(read_certs(&file)?);
    }
    if certs.is_empty() {
        return Err(PkiError::NoCaCertificates {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}
