//! The keyspace: numbered databases of keys with values and optional expiry times.
//!
//! It knows nothing of sockets, commands or replication. Each database is split into
//! segments held behind `Arc`s, so a snapshot (for BGSAVE or a full sync) is a cheap clone
//! of the segment pointers; a later write copies only the one segment it touches, and
//! collections inside values are `Arc`s too, copied on write only while a snapshot shares
//! them.

pub mod access;
mod db;
pub mod digest;
pub mod encoding;
mod keyed_table;
mod segment;
pub mod value;
mod zset;

pub use access::{AccessTracking, RecordedAccess, SavedAccess};
pub use db::{Db, DbSnapshot, Entry, EvictionCandidate, EvictionOrder, ScanCursor, SnapshotPart};
pub use encoding::EncodingLimits;
pub use value::{
    glob_match, remove_field, Collection, FieldMap, MemberSet, Value, ValueKind, ValueRef,
};
pub use zset::{is_negative_zero, Score, SortedSet};

/// How the keys of a load (RDB file, full sync) are made: their accesses stamped as the
/// databases track them, at the databases' clock, and their encodings settled against
/// the current thresholds.
#[derive(Debug, Clone, Copy)]
pub struct LoadSettings {
    pub access: AccessTracking,
    pub clock_secs: u32,
    pub encoding: EncodingLimits,
}

/// Milliseconds since the Unix epoch, the unit of every expiry time.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
