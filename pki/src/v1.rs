//! X.509 version 1 certificates: no extensions, so no key usage and no names but the
//! subject's. webpki accepts only version 3, but OpenSSL (and so redis-server) accepts
//! version 1, and `openssl x509 -req` without `-extensions` makes one: Redis's own test
//! certificates are such (`utils/gen-test-certs.sh`), as are many made by hand.
//!
//! A version 1 certificate is accepted as OpenSSL accepts it for Redis: issued and
//! signed directly by one of the trusted CA certificates, within its validity dates, and
//! not revoked by a configured CRL. Its handshake signatures are checked with the key it
//! holds. Version 3 certificates never come here: webpki verifies them.

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, PeerMisbehaved};
use x509_parser::prelude::{FromDer, X509Certificate, X509Version};

/// One DER element: its tag, its contents, and what follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;

/// A certificate's signed part, signature algorithm (the AlgorithmIdentifier's
/// contents) and signature.
fn signed_parts(der: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (SEQUENCE, cert, _) = der_element(der)? else {
        return None;
    };
    let (SEQUENCE, _, after_tbs) = der_element(cert)? else {
        return None;
    };
    let tbs = &cert[..cert.len() - after_tbs.len()];
    let (SEQUENCE, alg, rest) = der_element(after_tbs)? else {
        return None;
    };
    let (BIT_STRING, sig, _) = der_element(rest)? else {
        return None;
    };
    // The unused-bits count leads a BIT STRING; signatures use whole bytes.
    let (0, sig) = sig.split_first()? else {
        return None;
    };
    Some((tbs, alg, sig))
}

/// A SubjectPublicKeyInfo's algorithm (the AlgorithmIdentifier's contents) and key bits.
fn spki_parts(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let (SEQUENCE, body, _) = der_element(spki)? else {
        return None;
    };
    let (SEQUENCE, alg, rest) = der_element(body)? else {
        return None;
    };
    let (BIT_STRING, key, _) = der_element(rest)? else {
        return None;
    };
    let (0, key) = key.split_first()? else {
        return None;
    };
    Some((alg, key))
}

fn bad_encoding() -> Error {
    Error::InvalidCertificate(CertificateError::BadEncoding)
}

/// Whether `cert` is a version 1 certificate (so webpki cannot verify it).
pub fn is_v1(cert: &CertificateDer<'_>) -> bool {
    X509Certificate::from_der(cert).is_ok_and(|(_, c)| c.version() == X509Version::V1)
}

/// The SubjectPublicKeyInfo of a certificate of any version, DER.
pub fn subject_public_key_info(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, c) = X509Certificate::from_der(cert).ok()?;
    Some(c.public_key().raw.to_vec())
}

/// A trusted CA as version 1 verification needs it.
#[derive(Debug, Clone)]
struct Issuer {
    subject: Vec<u8>,
    spki: Vec<u8>,
}

/// Verifies version 1 certificates against the trusted CA certificates.
#[derive(Debug, Clone)]
pub struct V1Verifier {
    issuers: Vec<Issuer>,
    /// (issuer name, revoked serial numbers) of each configured CRL.
    revoked: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl V1Verifier {
    /// A verifier trusting `cas` (certificates that do not parse are left out: webpki
    /// already refuses them), with the revocation lists `crls` (DER).
    pub fn new(
        cas: &[CertificateDer<'_>],
        crls: &[Vec<u8>],
        algorithms: WebPkiSupportedAlgorithms,
    ) -> V1Verifier {
        let issuers = cas
            .iter()
            .filter_map(|der| X509Certificate::from_der(der).ok())
            .map(|(_, c)| Issuer {
                subject: c.subject().as_raw().to_vec(),
                spki: c.public_key().raw.to_vec(),
            })
            .collect();
        let revoked = crls
            .iter()
            .filter_map(|der| {
                x509_parser::revocation_list::CertificateRevocationList::from_der(der).ok()
            })
            .map(|(_, crl)| {
                let serials = crl
                    .iter_revoked_certificates()
                    .map(|r| r.raw_serial().to_vec())
                    .collect();
                (crl.issuer().as_raw().to_vec(), serials)
            })
            .collect();
        V1Verifier {
            issuers,
            revoked,
            algorithms,
        }
    }

    /// Verifies a version 1 end-entity certificate at `now`.
    pub fn verify(&self, cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), Error> {
        let (_, parsed) = X509Certificate::from_der(cert).map_err(|_| bad_encoding())?;
        let now_secs = now.as_secs() as i64;
        let validity = parsed.validity();
        if now_secs < validity.not_before.timestamp() {
            return Err(Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        if now_secs > validity.not_after.timestamp() {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        let issuer_name = parsed.issuer().as_raw();
        let (tbs, sig_alg, signature) = signed_parts(cert).ok_or_else(bad_encoding)?;
        let signed_by = self
            .issuers
            .iter()
            .filter(|i| i.subject == issuer_name)
            .any(|issuer| self.signature_valid(&issuer.spki, sig_alg, tbs, signature));
        if !signed_by {
            return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        }
        let serial = parsed.raw_serial();
        let revoked = self
            .revoked
            .iter()
            .any(|(issuer, serials)| issuer == issuer_name && serials.iter().any(|s| s == serial));
        if revoked {
            return Err(Error::InvalidCertificate(CertificateError::Revoked));
        }
        Ok(())
    }

    /// Whether `signature` over `message` verifies under `spki` with the algorithm
    /// `sig_alg` names (one the crypto provider accepts).
    fn signature_valid(
        &self,
        spki: &[u8],
        sig_alg: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let Some((key_alg, key)) = spki_parts(spki) else {
            return false;
        };
        self.algorithms.all.iter().any(|alg| {
            alg.signature_alg_id().as_ref() == sig_alg
                && alg.public_key_alg_id().as_ref() == key_alg
                && alg.verify_signature(key, message, signature).is_ok()
        })
    }

    /// A TLS 1.2 handshake signature by the holder of version 1 certificate `cert`: every
    /// algorithm the scheme may mean is tried, as rustls does.
    pub fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let spki = subject_public_key_info(cert).ok_or_else(bad_encoding)?;
        let (key_alg, key) = spki_parts(&spki).ok_or_else(bad_encoding)?;
        let candidates = self
            .algorithms
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == dss.scheme)
            .map(|(_, algs)| *algs)
            .ok_or(Error::PeerMisbehaved(
                PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
            ))?;
        let valid = candidates.iter().any(|alg| {
            alg.public_key_alg_id().as_ref() == key_alg
                && alg.verify_signature(key, message, dss.signature()).is_ok()
        });
        if valid {
            Ok(HandshakeSignatureValid::assertion())
        } else {
            Err(Error::InvalidCertificate(CertificateError::BadSignature))
        }
    }

    /// A TLS 1.3 handshake signature by the holder of version 1 certificate `cert`.
    pub fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let spki = subject_public_key_info(cert).ok_or_else(bad_encoding)?;
        rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &SubjectPublicKeyInfoDer::from(spki.as_slice()),
            dss,
            &self.algorithms,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_short_and_long() {
        assert_eq!(
            der_element(&[0x30, 0x01, 0xff, 0x00]),
            Some((0x30, &[0xff][..], &[0x00][..]))
        );
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let (tag, contents, rest) = der_element(&long).unwrap();
        assert_eq!((tag, contents.len(), rest.len()), (0x04, 0x80, 0));
        assert_eq!(der_element(&[0x30, 0x05, 0x00]), None);
        assert_eq!(der_element(&[0x30, 0x80]), None);
    }
}
