//! The DUMP/RESTORE payload: one value in RDB encoding, framed for transport.
//!
//! Layout: `<type byte><value>`, then the RDB version as 2 bytes little-endian (10), then
//! the CRC-64 of everything before it as 8 bytes little-endian. RESTORE accepts payloads
//! of any version up to 10, as Redis 7.0 does.

use crate::keyspace::Value;

use super::crc64::crc64;
use super::decode::{is_value_type, read_value};
use super::encode::write_value;
use super::error::RdbError;
use super::reader::Source;
use super::RDB_VERSION;

/// Why a payload was refused; `Display` gives Redis's error reply.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("ERR DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The value could not be decoded (or is an empty collection, or a stream/module).
    #[error("ERR Bad data format")]
    BadData(#[source] Option<RdbError>),
}

/// The DUMP payload of `value`.
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut out = vec![0u8];
    out[0] = write_value(&mut out, value);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a RESTORE payload's footer and decodes its value. `key` names the key in
/// error details.
pub fn restore_payload(payload: &[u8], key: &[u8]) -> Result<Value, RestoreError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(RestoreError::VersionOrChecksum);
    };
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(RestoreError::VersionOrChecksum);
    }
    let stored = u64::from_le_bytes(footer[2..10].try_into().expect("8 bytes"));
    let skip = super::debug_switches::SKIP_CHECKSUM.load(std::sync::atomic::Ordering::Relaxed);
    if !skip && crc64(0, &payload[..body_len + 2]) != stored {
        return Err(RestoreError::VersionOrChecksum);
    }
    // Like Redis, the value is read from the whole buffer and trailing bytes are ignored.
    let mut src = Source::new(payload);
    let ty = src.u8().map_err(|e| RestoreError::BadData(Some(e)))?;
    if !is_value_type(ty) {
        return Err(RestoreError::BadData(Some(RdbError::UnknownType {
            type_byte: ty,
            offset: 0,
        })));
    }
    let value = read_value(&mut src, ty, key, 0).map_err(|e| RestoreError::BadData(Some(e)))?;
    if value.is_empty_collection() {
        return Err(RestoreError::BadData(None));
    }
    Ok(value)
}
