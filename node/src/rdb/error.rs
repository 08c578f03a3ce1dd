//! What can be wrong with RDB input, said precisely: where (the byte offset from the start
//! of the input) and what. Corrupt input is an error, never a panic.

/// A problem inside a compact blob (listpack, ziplist, intset, zipmap, LZF data), at a
/// position relative to the start of the blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {pos}")]
pub struct BlobError {
    pub pos: usize,
    pub reason: &'static str,
}

impl BlobError {
    pub fn at(pos: usize, reason: &'static str) -> BlobError {
        BlobError { pos, reason }
    }
}

/// An RDB decoding error. `offset` counts bytes from the start of the input.
#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    #[error("I/O error reading RDB at offset {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("truncated RDB: input ends at offset {offset}")]
    Truncated { offset: u64 },
    #[error("wrong signature: not an RDB file (expected \"REDIS\" and 4 digits)")]
    BadSignature,
    #[error("Can't handle RDB format version {0}")]
    UnsupportedVersion(u32),
    #[error("bad RDB checksum: computed {computed:016x}, stored {stored:016x}")]
    BadChecksum { computed: u64, stored: u64 },
    #[error("unknown type 0x{type_byte:02x} at offset {offset}")]
    UnknownType { type_byte: u8, offset: u64 },
    #[error("unknown length encoding 0x{byte:02x} at offset {offset}")]
    BadLength { byte: u8, offset: u64 },
    #[error("unknown string encoding {encoding} at offset {offset}")]
    BadStringEncoding { encoding: u8, offset: u64 },
    #[error("key '{key}' (offset {offset}) is a {kind}, which tandem cannot load")]
    UnsupportedValue {
        key: String,
        kind: &'static str,
        offset: u64,
    },
    #[error("module auxiliary data at offset {offset}: modules are not supported")]
    ModuleAux { offset: u64 },
    #[error("function library at offset {offset}: {what}")]
    Function { offset: u64, what: &'static str },
    #[error("corrupt {what} at offset {offset}: {source}")]
    Corrupt {
        what: &'static str,
        offset: u64,
        #[source]
        source: BlobError,
    },
    #[error("invalid {what} at offset {offset}")]
    Invalid { what: &'static str, offset: u64 },
    #[error("duplicate {what} in the value at offset {offset}")]
    Duplicate { what: &'static str, offset: u64 },
}

impl RdbError {
    /// An I/O error, with an unexpected end of input reported as truncation.
    pub fn from_io(offset: u64, source: std::io::Error) -> RdbError {
        if source.kind() == std::io::ErrorKind::UnexpectedEof {
            RdbError::Truncated { offset }
        } else {
            RdbError::Io { offset, source }
        }
    }
}
