//! RDB version 10, the snapshot format of Redis 7.0: encode and decode. Pure: bytes in,
//! values out, and back. No sockets, no files, no keyspace locking.
//!
//! The same value encoding serves three purposes: `dump.rdb` files, the payload of a full
//! resynchronisation, and the DUMP/RESTORE payloads. Redis 7.0.15 is the reference:
//! what it writes we write byte for byte where its output is deterministic, and whatever
//! a 7.0 loader accepts we accept (streams and modules excepted, refused with an error).
//!
//! - Writing a snapshot: [`write_snapshot`], or [`RdbWriter`] for control over each record.
//! - Reading one, incrementally: [`RdbReader::next_event`] over any [`std::io::Read`].
//! - DUMP/RESTORE: [`dump_payload`] and [`restore_payload`].
//!
//! The pieces, one per file: [`crc64`] (the checksum), [`lzf`] (string compression),
//! [`length`] (length and special encodings), [`listpack`], [`ziplist`], [`intset`] and
//! [`zipmap`] (the compact blobs), [`encode`], [`reader`] (counting, checksumming byte
//! source), [`decode`], [`payload`] (DUMP framing) and [`error`].

pub mod crc64;
pub mod decode;
pub mod encode;
pub mod error;
pub mod intset;
pub mod length;
pub mod listpack;
pub mod lzf;
pub mod payload;
pub mod reader;
pub mod ziplist;
pub mod zipmap;

pub use decode::{Event, KeyRecord, RdbReader};
pub use encode::{write_snapshot, AuxInfo, Pace, RdbWriter, ReplInfo};
pub use error::{BlobError, RdbError};
pub use payload::{dump_payload, restore_payload, RestoreError};

/// Process-wide debugging switches, as DEBUG sets them in Redis.
pub mod debug_switches {
    use std::sync::atomic::{AtomicBool, AtomicU64};

    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RDB files and RESTORE payloads are loaded
    /// without checking their CRC-64.
    pub static SKIP_CHECKSUM: AtomicBool = AtomicBool::new(false);

    /// Redis's default for the next switch: 1 GiB.
    pub const PACKED_THRESHOLD_DEFAULT: u64 = 1 << 30;

    /// DEBUG QUICKLIST-PACKED-THRESHOLD: list elements at least this long are written in a
    /// PLAIN quicklist node of their own.
    pub static PACKED_THRESHOLD: AtomicU64 = AtomicU64::new(PACKED_THRESHOLD_DEFAULT);
}

/// The format version tandem writes, and the newest it reads.
pub const RDB_VERSION: u16 = 10;

/// Value type bytes (`RDB_TYPE_*` in Redis's rdb.h).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// Opcodes that may stand where a value type byte is expected (`RDB_OPCODE_*`).
pub mod opcodes {
    pub const FUNCTION2: u8 = 0xF5;
    pub const FUNCTION: u8 = 0xF6;
    pub const MODULE_AUX: u8 = 0xF7;
    pub const IDLE: u8 = 0xF8;
    pub const FREQ: u8 = 0xF9;
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const EXPIRETIME: u8 = 0xFD;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
}

/// Quicklist node containers in a LIST_QUICKLIST_2 value.
pub mod containers {
    /// One element stored as a plain string (elements of 1 GiB and more).
    pub const PLAIN: u64 = 1;
    /// A listpack of elements.
    pub const PACKED: u64 = 2;
}

#[cfg(test)]
mod tests;
