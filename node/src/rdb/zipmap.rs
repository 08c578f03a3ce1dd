//! Zipmaps: the small-hash encoding of RDB files written by Redis 2.4 and older (type
//! HASH_ZIPMAP). Load only.
//!
//! Layout: `zmlen` (1 byte, 254 = too many to count), then per pair `<len>field
//! <len><free>value<free bytes>`, then `0xFF`. A `<len>` is one byte below 254, or 254
//! followed by a u32 (little-endian).

use super::error::BlobError;

const BIGLEN: u8 = 254;
const END: u8 = 255;

/// A field and its value.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// The (field, value) pairs of a zipmap blob.
pub fn decode(zm: &[u8]) -> Result<Vec<Pair<'_>>, BlobError> {
    if zm.len() < 2 || zm[zm.len() - 1] != END {
        return Err(BlobError::at(0, "zipmap not terminated"));
    }
    let mut pairs = Vec::new();
    let mut p = 1usize;
    let read_len = |p: &mut usize| -> Result<usize, BlobError> {
        let past = BlobError::at(*p, "zipmap entry runs past the end");
        let b = *zm.get(*p).ok_or(past.clone())?;
        if b < BIGLEN {
            *p += 1;
            Ok(b as usize)
        } else if b == BIGLEN {
            let raw = zm.get(*p + 1..*p + 5).ok_or(past)?;
            *p += 5;
            Ok(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize)
        } else {
            Err(BlobError::at(
                *p,
                "zipmap length where an entry was expected",
            ))
        }
    };
    let take = |p: &mut usize, n: usize| -> Result<&[u8], BlobError> {
        let end = p.checked_add(n).filter(|&e| e < zm.len());
        let s = end
            .and_then(|e| zm.get(*p..e))
            .ok_or(BlobError::at(*p, "zipmap entry runs past the end"))?;
        *p += n;
        Ok(s)
    };
    while zm.get(p) != Some(&END) {
        let flen = read_len(&mut p)?;
        let field = take(&mut p, flen)?;
        let vlen = read_len(&mut p)?;
        let free = take(&mut p, 1)?[0] as usize;
        let value = take(&mut p, vlen)?;
        take(&mut p, free)?;
        pairs.push((field, value));
    }
    if p != zm.len() - 1 {
        return Err(BlobError::at(p, "zipmap terminator misplaced"));
    }
    if pairs.is_empty() {
        return Err(BlobError::at(0, "empty zipmap"));
    }
    if zm[0] != BIGLEN && zm[0] as usize != pairs.len() {
        return Err(BlobError::at(0, "zipmap count mismatch"));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_example() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x02world!!\xff";
        assert_eq!(
            decode(zm).unwrap(),
            vec![(&b"foo"[..], &b"bar"[..]), (b"hello", b"world")]
        );
        for cut in 0..zm.len() {
            assert!(decode(&zm[..cut]).is_err());
        }
    }
}
