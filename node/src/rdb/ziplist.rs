//! Ziplists: the compact sequence of RDB files before version 10 (lists, small hashes and
//! sorted sets, and quicklist nodes up to Redis 6.2). Load only: Redis 7.0 converts them
//! to listpacks on load and never writes them.
//!
//! Layout: `u32 zlbytes`, `u32 zltail`, `u16 zllen` (little-endian), entries, `0xFF`. An
//! entry: the previous entry's size (1 byte if < 254, else `0xFE` + u32 LE), then an
//! encoding: `00pppppp` string of <= 63 bytes; `01pppppp qqqqqqqq` 14-bit length,
//! big-endian; `10000000` + u32 big-endian length; `0xC0` int16, `0xD0` int32, `0xE0`
//! int64, `0xF0` int24, `0xFE` int8 (little-endian); `0xF1`..`0xFD` the values 0..12.

use super::error::BlobError;
use super::listpack::Entry;

const HEADER: usize = 10;
const END: u8 = 0xFF;

/// Decodes every entry of a ziplist blob, checking its structure end to end.
pub fn decode(zl: &[u8]) -> Result<Vec<Entry<'_>>, BlobError> {
    if zl.len() < HEADER + 1 {
        return Err(BlobError::at(0, "ziplist shorter than its header"));
    }
    let word = |i: usize| u32::from_le_bytes([zl[i], zl[i + 1], zl[i + 2], zl[i + 3]]) as usize;
    if word(0) != zl.len() {
        return Err(BlobError::at(0, "ziplist total bytes differ from its size"));
    }
    if zl[zl.len() - 1] != END {
        return Err(BlobError::at(zl.len() - 1, "ziplist not terminated"));
    }
    let tail = word(4);
    if tail > zl.len() - 1 {
        return Err(BlobError::at(4, "ziplist tail offset out of range"));
    }
    let declared = u16::from_le_bytes([zl[8], zl[9]]);
    let body = &zl[..zl.len() - 1];
    let mut entries = Vec::with_capacity((declared as usize).min(body.len() / 2));
    let mut p = HEADER;
    let mut prev_size = 0usize;
    let mut last = None;
    while p < body.len() {
        let past = || BlobError::at(p, "ziplist entry runs past the end");
        let byte = |i: usize| body.get(i).copied().ok_or_else(past);
        let (prevlen, mut q) = if byte(p)? < 0xFE {
            (byte(p)? as usize, p + 1)
        } else if byte(p)? == 0xFE {
            let raw = body.get(p + 1..p + 5).ok_or_else(past)?;
            (
                u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize,
                p + 5,
            )
        } else {
            return Err(BlobError::at(p, "bad ziplist prevlen"));
        };
        if prevlen != prev_size {
            return Err(BlobError::at(p, "ziplist prevlen mismatch"));
        }
        let enc = byte(q)?;
        let int_le = |at: usize, n: usize| -> Result<i64, BlobError> {
            let raw = body.get(at..at + n).ok_or_else(past)?;
            let mut v: u64 = 0;
            for (i, &b) in raw.iter().enumerate() {
                v |= (b as u64) << (8 * i);
            }
            let shift = 64 - 8 * n as u32;
            Ok(((v << shift) as i64) >> shift)
        };
        let (entry, end) = match enc >> 6 {
            0..=2 => {
                let (len, start) = match enc >> 6 {
                    0 => ((enc & 0x3f) as usize, q + 1),
                    1 => (
                        (((enc & 0x3f) as usize) << 8) | byte(q + 1)? as usize,
                        q + 2,
                    ),
                    _ if enc == 0x80 => {
                        let raw = body.get(q + 1..q + 5).ok_or_else(past)?;
                        (
                            u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize,
                            q + 5,
                        )
                    }
                    _ => return Err(BlobError::at(q, "bad ziplist string encoding")),
                };
                let end = start.checked_add(len).ok_or_else(past)?;
                (Entry::Str(body.get(start..end).ok_or_else(past)?), end)
            }
            _ => {
                q += 1;
                match enc {
                    0xC0 => (Entry::Int(int_le(q, 2)?), q + 2),
                    0xD0 => (Entry::Int(int_le(q, 4)?), q + 4),
                    0xE0 => (Entry::Int(int_le(q, 8)?), q + 8),
                    0xF0 => (Entry::Int(int_le(q, 3)?), q + 3),
                    0xFE => (Entry::Int(int_le(q, 1)?), q + 1),
                    0xF1..=0xFD => (Entry::Int((enc & 0x0f) as i64 - 1), q),
                    _ => return Err(BlobError::at(q - 1, "bad ziplist integer encoding")),
                }
            }
        };
        entries.push(entry);
        last = Some(p);
        prev_size = end - p;
        p = end;
    }
    if p != body.len() {
        return Err(BlobError::at(p, "ziplist terminator misplaced"));
    }
    if let Some(last) = last {
        if last != tail {
            return Err(BlobError::at(4, "ziplist tail offset mismatch"));
        }
    }
    if declared != u16::MAX && declared as usize != entries.len() {
        return Err(BlobError::at(8, "ziplist element count mismatch"));
    }
    Ok(entries)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ziplist as Redis 6.2 wrote them (for tests of the loader).
    pub(crate) fn build(elements: &[&[u8]]) -> Vec<u8> {
        let mut zl = vec![0u8; HEADER];
        let mut prev = 0usize;
        let mut tail = HEADER;
        for e in elements {
            let start = zl.len();
            tail = start;
            if prev < 254 {
                zl.push(prev as u8);
            } else {
                zl.push(0xFE);
                zl.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match std::str::from_utf8(e)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            {
                Some(v) if (0..=12).contains(&v) => zl.push(0xF1 + v as u8),
                Some(v) if i8::try_from(v).is_ok() => zl.extend_from_slice(&[0xFE, v as u8]),
                Some(v) if i16::try_from(v).is_ok() => {
                    zl.push(0xC0);
                    zl.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                    zl.push(0xF0);
                    zl.extend_from_slice(&v.to_le_bytes()[..3]);
                }
                Some(v) if i32::try_from(v).is_ok() => {
                    zl.push(0xD0);
                    zl.extend_from_slice(&(v as i32).to_le_bytes());
                }
                Some(v) => {
                    zl.push(0xE0);
                    zl.extend_from_slice(&v.to_le_bytes());
                }
                None if e.len() < 64 => {
                    zl.push(e.len() as u8);
                    zl.extend_from_slice(e);
                }
                None if e.len() < 16384 => {
                    zl.extend_from_slice(&[0x40 | (e.len() >> 8) as u8, e.len() as u8]);
                    zl.extend_from_slice(e);
                }
                None => {
                    zl.push(0x80);
                    zl.extend_from_slice(&(e.len() as u32).to_be_bytes());
                    zl.extend_from_slice(e);
                }
            }
            prev = zl.len() - start;
        }
        zl.push(END);
        let total = zl.len() as u32;
        zl[0..4].copy_from_slice(&total.to_le_bytes());
        zl[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        zl[8..10].copy_from_slice(&(elements.len() as u16).to_le_bytes());
        zl
    }

    #[test]
    fn decodes_every_encoding() {
        let long = vec![b'y'; 300];
        let huge = vec![b'z'; 17000];
        let elements: Vec<&[u8]> = vec![
            b"hello",
            b"0",
            b"12",
            b"13",
            b"-100",
            b"1000",
            b"100000",
            b"10000000",
            b"-3000000000",
            &long,
            &huge,
        ];
        let zl = build(&elements);
        let got = decode(&zl).unwrap();
        let texts: Vec<Vec<u8>> = got.iter().map(|e| e.to_bytes().to_vec()).collect();
        let want: Vec<Vec<u8>> = elements.iter().map(|e| e.to_vec()).collect();
        assert_eq!(texts, want);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        crate::rdb::tests::check_corruption(&build(&[b"abc", b"5", b"xyz"]), |b| decode(b).is_ok());
    }
}
