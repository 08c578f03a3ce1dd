//! Intsets: the sorted integer array Redis uses for small sets of integers (type
//! SET_INTSET). Decoded with validation, encoded as Redis would hold a freshly built set.
//!
//! Layout, little-endian: `u32 encoding` (2, 4 or 8: bytes per element), `u32 length`,
//! then `length` signed integers of that width, strictly ascending.

use super::error::BlobError;

/// The members of an intset blob, ascending.
pub fn decode(blob: &[u8]) -> Result<Vec<i64>, BlobError> {
    if blob.len() < 8 {
        return Err(BlobError::at(0, "intset shorter than its header"));
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(BlobError::at(0, "unknown intset encoding"));
    }
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if count == 0 {
        return Err(BlobError::at(4, "empty intset"));
    }
    if (blob.len() - 8) != count.saturating_mul(width) {
        return Err(BlobError::at(4, "intset length differs from its size"));
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for (i, c) in blob[8..].chunks_exact(width).enumerate() {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&prev| prev >= v) {
            return Err(BlobError::at(
                8 + i * width,
                "intset not strictly ascending",
            ));
        }
        out.push(v);
    }
    Ok(out)
}

/// An intset blob of `members` (any order, no duplicates), in the narrowest width that
/// holds them all.
pub fn encode(members: &mut [i64]) -> Vec<u8> {
    members.sort_unstable();
    let width: usize = if members
        .iter()
        .all(|&v| (i16::MIN as i64..=i16::MAX as i64).contains(&v))
    {
        2
    } else if members
        .iter()
        .all(|&v| (i32::MIN as i64..=i32::MAX as i64).contains(&v))
    {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + members.len() * width);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(members.len() as u32).to_le_bytes());
    for v in members.iter() {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_round_trip() {
        for set in [
            vec![3i64, 1, 2],
            vec![-40000, 5],
            vec![i64::MAX, i64::MIN, 0],
        ] {
            let mut m = set.clone();
            let blob = encode(&mut m);
            let mut sorted = set.clone();
            sorted.sort();
            assert_eq!(decode(&blob).unwrap(), sorted);
        }
        assert_eq!(encode(&mut [2, 1]), b"\x02\0\0\0\x02\0\0\0\x01\0\x02\0");
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        assert!(decode(b"\x02\0\0\0\x02\0\0\0\x02\0\x01\0").is_err()); // descending
        assert!(decode(b"\x02\0\0\0\x02\0\0\0\x01\0\x01\0").is_err()); // duplicate
        assert!(decode(b"\x03\0\0\0\x01\0\0\0\x01\0\0").is_err()); // bad width
        assert!(decode(b"\x02\0\0\0\xff\xff\xff\xff\x01\0").is_err()); // huge count
        assert!(decode(b"\x02\0\0\0\0\0\0\0").is_err()); // empty
    }
}
