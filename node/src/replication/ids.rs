//! Replication ids (40 hex characters) and stream offsets, as distinct types so one is
//! never passed for the other.

use std::fmt;

/// A replication id: 40 lower-case hex characters naming one history of the stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplId(String);

impl ReplId {
    /// A fresh random id.
    pub fn random() -> ReplId {
        ReplId(crate::server::random_hex40())
    }

    /// The all-zero id Redis reports as `master_replid2` when there is none.
    pub fn zero() -> ReplId {
        ReplId("0".repeat(40))
    }

    /// Parses an id received from a peer (PSYNC, +FULLRESYNC, +CONTINUE, RDB aux).
    pub fn parse(text: &str) -> Option<ReplId> {
        (text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| ReplId(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReplId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A position in the replication stream: the number of bytes ever fed into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReplOffset(pub u64);

impl fmt::Display for ReplOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let id = ReplId::random();
        assert_eq!(id.as_str().len(), 40);
        assert_eq!(ReplId::parse(id.as_str()), Some(id));
        assert_eq!(ReplId::parse("xyz"), None);
        assert_eq!(
            ReplId::zero().as_str(),
            "0000000000000000000000000000000000000000"
        );
    }
}
