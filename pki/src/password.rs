//! Password hashes for tandem's `requirepass-hash`: argon2id PHC strings.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::PkiError;

/// Hashes `password` with argon2id (the crate's defaults: m=19 MiB, t=2, p=1, which meet
/// OWASP's minimum) and a random salt; returns the PHC string.
pub fn hash(password: &[u8]) -> Result<String, PkiError> {
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .map_err(|_| PkiError::Password("no system randomness".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PkiError::Password(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| PkiError::Password(e.to_string()))
}

/// Whether `phc` is a well-formed PHC string (for checking configuration).
pub fn is_valid(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok()
}

/// Whether `password` matches the PHC string `phc` (false for a malformed string).
pub fn verify(phc: &str, password: &[u8]) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password, &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let h = super::hash(b"s3cret").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(super::verify(&h, b"s3cret"));
        assert!(!super::verify(&h, b"wrong"));
        assert!(!super::verify("not a hash", b"s3cret"));
    }
}
