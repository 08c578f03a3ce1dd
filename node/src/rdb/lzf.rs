//! LZF, the compression of RDB strings (`0xC3` special encoding) and compressed quicklist
//! nodes.
//!
//! The compressor follows Redis's bundled liblzf (`lzf_c.c`, built with HLOG 16 and
//! VERY_FAST) step for step, hash function and bail-out tests included, so that tandem's
//! compressed strings are the bytes Redis writes and DUMP payloads compare equal. The
//! decompressor checks every read and write against its bounds and fails on corrupt
//! input rather than panic.
//!
//! Format: a control byte `c`; `c < 32` is a literal run of `c + 1` bytes; otherwise a
//! back reference of `(c >> 5) + 2` bytes (a length of 7 adds the next byte) at distance
//! `((c & 31) << 8) + next byte + 1` behind the output position.

use std::cell::RefCell;

use super::error::BlobError;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// The compressor's hash table, kept per thread: slots hold `(generation << 32) |
/// (position + 1)`, so a new call starts with an empty table without clearing 512 KiB.
struct HashTable {
    slots: Vec<u64>,
    generation: u64,
}

thread_local! {
    static TABLE: RefCell<HashTable> = RefCell::new(HashTable {
        slots: vec![0; HSIZE],
        generation: 0,
    });
}

#[inline]
fn first(input: &[u8], ip: usize) -> u32 {
    ((input[ip] as u32) << 8) | input[ip + 1] as u32
}

#[inline]
fn next(v: u32, input: &[u8], ip: usize) -> u32 {
    (v << 8) | input[ip + 2] as u32
}

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `max_out` bytes, as Redis's `lzf_compress` does; None
/// when the output would not fit (Redis then stores the string uncompressed).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if input.is_empty() || max_out == 0 {
        return None;
    }
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        t.generation += 1;
        if t.generation > u32::MAX as u64 {
            t.slots.iter_mut().for_each(|s| *s = 0);
            t.generation = 1;
        }
        compress_with(input, max_out, &mut t)
    })
}

fn compress_with(input: &[u8], out_len: usize, table: &mut HashTable) -> Option<Vec<u8>> {
    let gen = table.generation << 32;
    let htab = &mut table.slots;
    let in_end = input.len();
    // Slack so the run-start bytes the C code reserves past `out_len` stay in bounds.
    let mut out = vec![0u8; out_len + 4];
    let mut op = 1usize; // start run
    let mut lit = 0usize;
    let mut ip = 0usize;

    if in_end >= 3 {
        let mut hval = first(input, ip);
        while ip < in_end - 2 {
            hval = next(hval, input, ip);
            let slot = &mut htab[idx(hval)];
            let reference = if *slot >> 32 == gen >> 32 && *slot & 0xffff_ffff != 0 {
                Some((*slot & 0xffff_ffff) as usize - 1)
            } else {
                None
            };
            *slot = gen | (ip as u64 + 1);

            let matched = reference.filter(|&r| {
                r < ip
                    && ip - r - 1 < MAX_OFF
                    && r > 0
                    && input[r + 2] == input[ip + 2]
                    && input[r] == input[ip]
                    && input[r + 1] == input[ip + 1]
            });
            if let Some(r) = matched {
                let off = ip - r - 1;
                let mut len = 2usize;
                let maxlen = (in_end - ip - len).min(MAX_REF);
                if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                    return None;
                }
                out[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop run
                op -= usize::from(lit == 0); // undo run if length is zero
                'extend: {
                    if maxlen > 16 {
                        for _ in 0..16 {
                            len += 1;
                            if input[r + len] != input[ip + len] {
                                break 'extend;
                            }
                        }
                    }
                    loop {
                        len += 1;
                        if !(len < maxlen && input[r + len] == input[ip + len]) {
                            break;
                        }
                    }
                }
                len -= 2; // len is now #octets - 1
                ip += 1;
                if len < 7 {
                    out[op] = ((off >> 8) + (len << 5)) as u8;
                    op += 1;
                } else {
                    out[op] = ((off >> 8) + (7 << 5)) as u8;
                    out[op + 1] = (len - 7) as u8;
                    op += 2;
                }
                out[op] = off as u8;
                op += 1;
                lit = 0;
                op += 1; // start run
                ip += len + 1;
                if ip >= in_end - 2 {
                    break;
                }
                ip -= 2;
                hval = first(input, ip);
                hval = next(hval, input, ip);
                htab[idx(hval)] = gen | (ip as u64 + 1);
                ip += 1;
                hval = next(hval, input, ip);
                htab[idx(hval)] = gen | (ip as u64 + 1);
                ip += 1;
            } else {
                if op >= out_len {
                    return None;
                }
                push_literal(&mut out, &mut op, &mut lit, input[ip]);
                ip += 1;
            }
        }
    }
    if op + 3 > out_len {
        return None;
    }
    for &byte in &input[ip..] {
        push_literal(&mut out, &mut op, &mut lit, byte);
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1); // end run
    op -= usize::from(lit == 0);
    if op > out_len {
        return None;
    }
    out.truncate(op);
    Some(out)
}

/// Copies one literal byte into the current run, closing the run when it is full.
#[inline]
fn push_literal(out: &mut [u8], op: &mut usize, lit: &mut usize, byte: u8) {
    *lit += 1;
    out[*op] = byte;
    *op += 1;
    if *lit == MAX_LIT {
        out[*op - *lit - 1] = (*lit - 1) as u8;
        *lit = 0;
        *op += 1; // start run
    }
}

/// Decompresses `input`, which must expand to exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, BlobError> {
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if out.len() + run > out_len {
                return Err(BlobError::at(ip - 1, "LZF output longer than declared"));
            }
            let lits = input
                .get(ip..ip + run)
                .ok_or(BlobError::at(ip - 1, "LZF literal run past the end"))?;
            out.extend_from_slice(lits);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            let at = ip - 1;
            if len == 7 {
                len += *input
                    .get(ip)
                    .ok_or(BlobError::at(at, "LZF back reference cut short"))?
                    as usize;
                ip += 1;
            }
            let low = *input
                .get(ip)
                .ok_or(BlobError::at(at, "LZF back reference cut short"))?
                as usize;
            ip += 1;
            let distance = ((ctrl & 0x1f) << 8) + low + 1;
            len += 2;
            if out.len() + len > out_len {
                return Err(BlobError::at(at, "LZF output longer than declared"));
            }
            if distance > out.len() {
                return Err(BlobError::at(at, "LZF back reference before the start"));
            }
            // An overlapping reference (distance < len) repeats the last `distance` bytes:
            // copy the periodic run from `start` in doubling pieces, each one already written.
            let start = out.len() - distance;
            let mut remaining = len;
            while remaining > 0 {
                let piece = remaining.min(out.len() - start);
                out.extend_from_within(start..start + piece);
                remaining -= piece;
            }
        }
    }
    if out.len() != out_len {
        return Err(BlobError::at(
            input.len(),
            "LZF output shorter than declared",
        ));
    }
    Ok(out)
}

/// The most a single LZF input byte can expand to (a 3-byte back reference of 264 bytes),
/// used to refuse absurd declared lengths before allocating for them.
pub const MAX_EXPANSION: u64 = 88;

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) {
        if let Some(c) = compress(data, data.len().saturating_sub(4)) {
            assert!(c.len() <= data.len() - 4);
            assert_eq!(decompress(&c, data.len()).unwrap(), data);
        }
        let c = compress(data, data.len() + 64).expect("fits with room");
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }

    #[test]
    fn round_trips() {
        round_trip(b"a");
        round_trip(b"ab");
        round_trip(b"abc");
        round_trip(&[b'a'; 100]);
        round_trip(b"hello hello hello hello hello world world world");
        let varied: Vec<u8> = (0..20000u32).map(|i| ((i * i) % 251) as u8).collect();
        round_trip(&varied);
        let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog. "
            .iter()
            .cycle()
            .take(50_000)
            .copied()
            .collect();
        round_trip(&text);
    }

    #[test]
    fn matches_redis_output() {
        // Redis 7.0.15, SET k <45 x 'a'>, DUMP k: 0xC3, clen 9, len 45, then these bytes.
        let c = compress(&[b'a'; 45], 41).unwrap();
        assert_eq!(c, [0x01, b'a', b'a', 0xE0, 0x20, 0x00, 0x01, b'a', b'a']);
    }

    #[test]
    fn overlapping_references_repeat_the_period() {
        // "abc", then a reference 3 back, 20 long: the run overlaps what it writes.
        let out = decompress(&[0x02, b'a', b'b', b'c', 0xE0, 11, 0x02], 23).unwrap();
        let expected: Vec<u8> = b"abc".iter().cycle().take(23).copied().collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn incompressible_gives_none() {
        let random: Vec<u8> = (0..64u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(compress(&random, random.len() - 4).is_none());
    }

    #[test]
    fn corrupt_input_is_an_error() {
        assert!(decompress(&[0x05, b'a'], 6).is_err()); // literal past the end
        assert!(decompress(&[0x20, 0x00], 3).is_err()); // reference before the start
        assert!(decompress(&[0x00, b'a', 0xE0], 20).is_err()); // cut short
        assert!(decompress(&[0x00, b'a'], 2).is_err()); // shorter than declared
        assert!(decompress(&[0x01, b'a', b'b'], 1).is_err()); // longer than declared
        for len in 0..40 {
            for seed in 0..50u32 {
                let data: Vec<u8> = (0..len)
                    .map(|i| (seed.wrapping_mul(97).wrapping_add(i * 31)) as u8)
                    .collect();
                let _ = decompress(&data, (seed as usize) * 3);
            }
        }
    }
}
