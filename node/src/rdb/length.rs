//! Lengths and the special string encodings that share their first byte.
//!
//! The top two bits of the first byte say which: `00xxxxxx` a 6-bit length;
//! `01xxxxxx yyyyyyyy` a 14-bit length, big-endian; `0x80` then a big-endian u32;
//! `0x81` then a big-endian u64; `11xxxxxx` a special string encoding whose kind is the
//! low six bits (see [`Length::Encoded`]). Writers always pick the shortest form.

use std::io::Read;

use super::error::RdbError;
use super::reader::Source;

/// Special string encodings (`11xxxxxx`): an 8, 16 or 32-bit little-endian integer, or
/// LZF-compressed bytes.
pub const ENC_INT8: u8 = 0;
pub const ENC_INT16: u8 = 1;
pub const ENC_INT32: u8 = 2;
pub const ENC_LZF: u8 = 3;

/// What a length field held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Len(u64),
    /// A special string encoding (`ENC_*`), only meaningful where a string is expected.
    Encoded(u8),
}

/// Appends `len` in its shortest form.
pub fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Reads a length or a special encoding marker.
pub fn read_length<R: Read>(src: &mut Source<R>) -> Result<Length, RdbError> {
    let offset = src.offset();
    let b = src.u8()?;
    Ok(match b >> 6 {
        0 => Length::Len((b & 0x3f) as u64),
        1 => Length::Len((((b & 0x3f) as u64) << 8) | src.u8()? as u64),
        3 => Length::Encoded(b & 0x3f),
        _ => match b {
            0x80 => Length::Len(u32::from_be_bytes(src.array()?) as u64),
            0x81 => Length::Len(u64::from_be_bytes(src.array()?)),
            _ => return Err(RdbError::BadLength { byte: b, offset }),
        },
    })
}

/// Reads a length where a special encoding is not allowed.
pub fn read_len<R: Read>(src: &mut Source<R>) -> Result<u64, RdbError> {
    let offset = src.offset();
    match read_length(src)? {
        Length::Len(n) => Ok(n),
        Length::Encoded(e) => Err(RdbError::BadLength {
            byte: 0xC0 | e,
            offset,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_forms_round_trip() {
        for (len, bytes) in [
            (0u64, &[0x00][..]),
            (63, &[0x3f]),
            (64, &[0x40, 0x40]),
            (16383, &[0x7f, 0xff]),
            (16384, &[0x80, 0, 0, 0x40, 0]),
            (u32::MAX as u64, &[0x80, 0xff, 0xff, 0xff, 0xff]),
            (1 << 32, &[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            write_len(&mut out, len);
            assert_eq!(out, bytes, "{len}");
            let mut src = Source::new(&out[..]);
            assert_eq!(read_len(&mut src).unwrap(), len);
            assert_eq!(src.offset(), out.len() as u64);
        }
    }

    #[test]
    fn special_and_bad_encodings() {
        let mut src = Source::new(&[0xC3u8][..]);
        assert_eq!(read_length(&mut src).unwrap(), Length::Encoded(ENC_LZF));
        assert!(matches!(
            read_len(&mut Source::new(&[0xC0u8][..])),
            Err(RdbError::BadLength {
                byte: 0xC0,
                offset: 0
            })
        ));
        assert!(matches!(
            read_len(&mut Source::new(&[0x82u8][..])),
            Err(RdbError::BadLength { byte: 0x82, .. })
        ));
        assert!(matches!(
            read_len(&mut Source::new(&[0x80u8, 1][..])),
            Err(RdbError::Truncated { offset: 1 })
        ));
    }
}
