//! Listpacks: the compact sequence Redis 7.0 uses for small hashes and sorted sets and
//! for the nodes of a list's quicklist. Decoded fully validated; encoded exactly as
//! Redis's `lpAppend` encodes.
//!
//! Layout, all little-endian: `u32 total_bytes`, `u16 num_elements` (65535 = too many to
//! count), entries, `0xFF`. An entry is its encoding and data followed by a *backlen*
//! (the size of encoding + data, in 1 to 5 bytes of 7 bits, most significant first, each
//! byte but the first with bit 7 set). Encodings by first byte: `0xxxxxxx` uint7;
//! `10xxxxxx` string of < 64 bytes; `110xxxxx yyyyyyyy` int13; `1110xxxx yyyyyyyy`
//! string of < 4096 bytes; `0xF0` u32 length then string; `0xF1`/`0xF2`/`0xF3`/`0xF4`
//! int16/24/32/64.

use bytes::Bytes;

use super::error::BlobError;
use crate::keyspace::value::parse_canonical_i64;

const HEADER: usize = 6;
const END: u8 = 0xFF;
const NUMELE_UNKNOWN: u16 = u16::MAX;

/// An element as stored: integers are kept as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Entry<'_> {
    /// The element as Redis returns it to clients: integers in decimal.
    pub fn to_bytes(self) -> Bytes {
        match self {
            Entry::Int(n) => {
                let mut b = itoa::Buffer::new();
                Bytes::copy_from_slice(b.format(n).as_bytes())
            }
            Entry::Str(s) => Bytes::copy_from_slice(s),
        }
    }
}

/// Decodes every entry of a listpack blob, checking its structure end to end.
pub fn decode(lp: &[u8]) -> Result<Vec<Entry<'_>>, BlobError> {
    if lp.len() < HEADER + 1 {
        return Err(BlobError::at(0, "listpack shorter than its header"));
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err(BlobError::at(
            0,
            "listpack total bytes differ from its size",
        ));
    }
    if lp[lp.len() - 1] != END {
        return Err(BlobError::at(lp.len() - 1, "listpack not terminated"));
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]);
    let body = &lp[..lp.len() - 1];
    let mut entries = Vec::with_capacity((declared as usize).min(body.len() / 2));
    let mut p = HEADER;
    while p < body.len() {
        let (entry, size) = entry_at(body, p)?;
        let backlen_len = backlen_size(size as u64);
        let backlen = body
            .get(p + size..p + size + backlen_len)
            .ok_or(BlobError::at(p, "listpack entry runs past the end"))?;
        if decode_backlen(backlen) != Some(size as u64) {
            return Err(BlobError::at(p + size, "listpack backlen mismatch"));
        }
        entries.push(entry);
        p += size + backlen_len;
    }
    if lp[p] != END || p != lp.len() - 1 {
        return Err(BlobError::at(p, "listpack terminator misplaced"));
    }
    if declared != NUMELE_UNKNOWN && declared as usize != entries.len() {
        return Err(BlobError::at(4, "listpack element count mismatch"));
    }
    Ok(entries)
}

/// The entry at `p` and the size of its encoding + data.
fn entry_at(body: &[u8], p: usize) -> Result<(Entry<'_>, usize), BlobError> {
    let past = || BlobError::at(p, "listpack entry runs past the end");
    let byte = |i: usize| body.get(p + i).copied().ok_or_else(past);
    let int_le = |n: usize| -> Result<i64, BlobError> {
        let raw = body.get(p + 1..p + 1 + n).ok_or_else(past)?;
        let mut v: u64 = 0;
        for (i, &b) in raw.iter().enumerate() {
            v |= (b as u64) << (8 * i);
        }
        let shift = 64 - 8 * n as u32;
        Ok(((v << shift) as i64) >> shift)
    };
    let string = |start: usize, len: usize| -> Result<(Entry<'_>, usize), BlobError> {
        let s = body.get(p + start..p + start + len).ok_or_else(past)?;
        Ok((Entry::Str(s), start + len))
    };
    let b = byte(0)?;
    match b {
        0x00..=0x7F => Ok((Entry::Int(b as i64), 1)),
        0x80..=0xBF => string(1, (b & 0x3f) as usize),
        0xC0..=0xDF => {
            let uv = (((b & 0x1f) as i64) << 8) | byte(1)? as i64;
            let v = if uv >= 1 << 12 { uv - (1 << 13) } else { uv };
            Ok((Entry::Int(v), 2))
        }
        0xE0..=0xEF => string(2, (((b & 0x0f) as usize) << 8) | byte(1)? as usize),
        0xF0 => {
            let raw = body.get(p + 1..p + 5).ok_or_else(past)?;
            string(
                5,
                u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize,
            )
        }
        0xF1 => Ok((Entry::Int(int_le(2)?), 3)),
        0xF2 => Ok((Entry::Int(int_le(3)?), 4)),
        0xF3 => Ok((Entry::Int(int_le(4)?), 5)),
        0xF4 => Ok((Entry::Int(int_le(8)?), 9)),
        _ => Err(BlobError::at(p, "unknown listpack entry encoding")),
    }
}

fn backlen_size(l: u64) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn decode_backlen(bytes: &[u8]) -> Option<u64> {
    let (first, rest) = bytes.split_first()?;
    if first & 0x80 != 0 || rest.iter().any(|b| b & 0x80 == 0) {
        return None;
    }
    Some(
        rest.iter()
            .fold(*first as u64, |acc, b| (acc << 7) | (b & 0x7f) as u64),
    )
}

/// Builds a listpack by appending elements, as Redis's `lpAppend` does.
#[derive(Debug, Clone)]
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        ListpackWriter::new()
    }
}

impl ListpackWriter {
    pub fn new() -> ListpackWriter {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HEADER]);
        ListpackWriter { buf, count: 0 }
    }

    /// The size the finished listpack would have now (Redis's `lpBytes`).
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends an element: as an integer when it is the canonical text of one.
    pub fn push(&mut self, element: &[u8]) {
        match parse_canonical_i64(element) {
            Some(n) => self.push_int(n),
            None => self.push_str(element),
        }
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            self.buf
                .extend_from_slice(&[0xC0 | (u >> 8) as u8, u as u8]);
        } else {
            let (tag, n) = match v {
                -32768..=32767 => (0xF1, 2),
                -8388608..=8388607 => (0xF2, 3),
                -2147483648..=2147483647 => (0xF3, 4),
                _ => (0xF4, 8),
            };
            self.buf.push(tag);
            self.buf.extend_from_slice(&v.to_le_bytes()[..n]);
        }
        self.finish_entry(start);
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf
                .extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.finish_entry(start);
    }

    fn finish_entry(&mut self, start: usize) {
        let l = (self.buf.len() - start) as u64;
        let n = backlen_size(l);
        for i in (0..n).rev() {
            let group = ((l >> (7 * i)) & 0x7f) as u8;
            self.buf.push(if i == n - 1 { group } else { group | 0x80 });
        }
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(END);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let n = if self.count < NUMELE_UNKNOWN as usize {
            self.count as u16
        } else {
            NUMELE_UNKNOWN
        };
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_bytes() {
        // Redis 7.0.15: RPUSH l a b 1 2 300 -5 70000, the listpack inside DUMP l.
        let mut w = ListpackWriter::new();
        for e in ["a", "b", "1", "2", "300", "-5", "70000"] {
            w.push(e.as_bytes());
        }
        let lp = w.finish();
        assert_eq!(
            lp,
            b"\x1c\x00\x00\x00\x07\x00\x81a\x02\x81b\x02\x01\x01\x02\x01\xc1,\x02\xdf\xfb\x02\xf2p\x11\x01\x04\xff"
        );
        let entries = decode(&lp).unwrap();
        assert_eq!(entries[0], Entry::Str(b"a"));
        assert_eq!(entries[4], Entry::Int(300));
        assert_eq!(entries[5], Entry::Int(-5));
        assert_eq!(entries[6], Entry::Int(70000));
    }

    #[test]
    fn every_encoding_round_trips() {
        let ints = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            32767,
            -8388608,
            8388607,
            i32::MIN as i64,
            i32::MAX as i64,
            i64::MIN,
            i64::MAX,
        ];
        let strs: Vec<Vec<u8>> = [0usize, 1, 63, 64, 4095, 4096, 20000]
            .iter()
            .map(|&n| vec![b'x'; n])
            .collect();
        let mut w = ListpackWriter::new();
        for &i in &ints {
            w.push_int(i);
        }
        for s in &strs {
            w.push_str(s);
        }
        let lp = w.finish();
        let got = decode(&lp).unwrap();
        let want: Vec<Entry> = ints
            .iter()
            .map(|&i| Entry::Int(i))
            .chain(strs.iter().map(|s| Entry::Str(s)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn many_elements_count_unknown() {
        let mut w = ListpackWriter::new();
        for _ in 0..70000 {
            w.push_int(1);
        }
        let lp = w.finish();
        assert_eq!(&lp[4..6], &[0xff, 0xff]);
        assert_eq!(decode(&lp).unwrap().len(), 70000);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        let mut w = ListpackWriter::new();
        for e in [
            "hello",
            "12345",
            "a longer string that is over sixty-four bytes long, yes it is!!",
        ] {
            w.push(e.as_bytes());
        }
        crate::rdb::tests::check_corruption(&w.finish(), |b| decode(b).is_ok());
    }
}
