//! The default user's password: `requirepass` (plaintext, compared in constant time) or
//! `requirepass-hash` (an argon2id PHC string, verified off the engine lock with bounded
//! concurrency so a flood of AUTH attempts cannot starve other clients).

use std::sync::Arc;

use tokio::sync::Semaphore;

/// The outcome of a fast password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Match,
    Mismatch,
    /// The password is stored hashed: verify with [`Auth::verify_slow`].
    NeedsSlowVerify,
}

/// How many argon2 verifications may run at once (each takes tens of ms and ~19 MiB).
const CONCURRENT_VERIFICATIONS: usize = 2;

#[derive(Debug)]
pub struct Auth {
    plain: Option<Vec<u8>>,
    hash: Option<String>,
    permits: Arc<Semaphore>,
}

impl Auth {
    /// From the `requirepass` and `requirepass-hash` directives (empty means unset).
    pub fn new(requirepass: &str, requirepass_hash: &str) -> Auth {
        Auth {
            plain: (!requirepass.is_empty()).then(|| requirepass.as_bytes().to_vec()),
            hash: (!requirepass_hash.is_empty()).then(|| requirepass_hash.to_string()),
            permits: Arc::new(Semaphore::new(CONCURRENT_VERIFICATIONS)),
        }
    }

    /// Whether clients must authenticate.
    pub fn required(&self) -> bool {
        self.plain.is_some() || self.hash.is_some()
    }

    /// Checks a plaintext password in constant time; defers to the slow path for a hash.
    pub fn check(&self, password: &[u8]) -> PasswordCheck {
        if let Some(plain) = &self.plain {
            if constant_time_eq(plain, password) {
                return PasswordCheck::Match;
            }
        }
        if self.hash.is_some() {
            return PasswordCheck::NeedsSlowVerify;
        }
        PasswordCheck::Mismatch
    }

    /// Verifies against the argon2id hash on a blocking thread, at most a few at a time.
    pub async fn verify_slow(&self, password: Vec<u8>) -> bool {
        let Some(hash) = self.hash.clone() else {
            return false;
        };
        let Ok(_permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || pki::password::verify(&hash, &password))
            .await
            .unwrap_or(false)
    }
}

/// Whether `hash` (a PHC string) is well formed, for config validation.
pub fn valid_phc(hash: &str) -> bool {
    pki::password::is_valid(hash)
}

/// Compares without an early exit, so timing does not reveal the matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | ((a.len() ^ b.len()) >> 8) as u8;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext() {
        let a = Auth::new("secret", "");
        assert_eq!(a.check(b"secret"), PasswordCheck::Match);
        assert_eq!(a.check(b"secre"), PasswordCheck::Mismatch);
        assert_eq!(a.check(b"secret1"), PasswordCheck::Mismatch);
        assert!(!Auth::new("", "").required());
    }

    #[tokio::test]
    async fn hashed() {
        let hash = pki::password::hash(b"pw").unwrap();
        assert!(valid_phc(&hash));
        let a = Auth::new("", &hash);
        assert_eq!(a.check(b"pw"), PasswordCheck::NeedsSlowVerify);
        assert!(a.verify_slow(b"pw".to_vec()).await);
        assert!(!a.verify_slow(b"nope".to_vec()).await);
    }
}
