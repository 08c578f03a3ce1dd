//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
//! BITFIELD_RO, with Redis 7.0's bit order (bit 0 is the most significant bit of the first
//! byte), argument checks and error texts. Strings grow in place, zero-padded, with the
//! spare room APPEND uses (see [`Value::str_mut`]).

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::strings::write_at;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{Value, ValueKind};
use crate::notify::class;

pub static COMMANDS: &[CommandSpec] = &[
    spec("setbit", 4, WRITE | DENYOOM, (1, 1, 1), "bitmap", setbit),
    spec("getbit", 3, READONLY | FAST, (1, 1, 1), "bitmap", getbit),
    spec("bitcount", -2, READONLY, (1, 1, 1), "bitmap", bitcount),
    spec("bitpos", -3, READONLY, (1, 1, 1), "bitmap", bitpos),
    spec("bitop", -4, WRITE | DENYOOM, (2, -1, 1), "bitmap", bitop),
    spec(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        (1, 1, 1),
        "bitmap",
        bitfield,
    ),
    spec(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        (1, 1, 1),
        "bitmap",
        bitfield_ro,
    ),
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";

/// A bit offset argument. With `width` (BITFIELD), `#n` means the n-th field of that
/// width. Beyond the largest string allowed (proto-max-bulk-len) is an error, except on
/// the master's stream, which a replica must apply whatever its own limit.
fn bit_offset(ctx: &Ctx, arg: &[u8], width: Option<u32>) -> Result<u64, CmdError> {
    let bad = || CmdError::msg(BAD_OFFSET);
    let (digits, times) = match (arg.first(), width) {
        (Some(b'#'), Some(w)) => (&arg[1..], i64::from(w)),
        _ => (arg, 1),
    };
    let offset = args::int(digits)
        .map_err(|_| bad())?
        .checked_mul(times)
        .ok_or_else(bad)?;
    let max_bytes = ctx.server.limits().parse.max_bulk_len;
    if offset < 0 || (!ctx.client.is_master && (offset as u64 >> 3) >= max_bytes) {
        return Err(bad());
    }
    Ok(offset as u64)
}

/// The bytes of the string at `key` for reading (empty when absent); WRONGTYPE otherwise.
fn read_bits<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c [u8]>, CmdError> {
    Ok(ctx.read_typed(key, ValueKind::Str)?.and_then(Value::as_str))
}

/// The string at `key` for changing bits, zero-padded to hold bit `max_bit` (created when
/// absent, as Redis's lookupStringForBitCommand); also whether that created or grew it.
fn bits_for_writing<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
    max_bit: u64,
) -> Result<(&'c mut Vec<u8>, bool), CmdError> {
    let len = (max_bit >> 3) as usize + 1;
    let value = ctx.write_or_create(key, ValueKind::Str, || Value::raw(Vec::new()))?;
    let s = value.str_mut().expect("a string");
    let grew = s.len() < len;
    if s.is_empty() {
        // A new string of exactly the size needed, as Redis makes it.
        s.reserve_exact(len);
    }
    if grew {
        write_at(s, len - 1, &[0]);
    }
    Ok((s, grew))
}

fn bit_at(s: &[u8], offset: u64) -> bool {
    s.get((offset >> 3) as usize)
        .is_some_and(|byte| byte & (0x80 >> (offset & 7)) != 0)
}

fn set_bit_at(s: &mut [u8], offset: u64, on: bool) {
    let byte = &mut s[(offset >> 3) as usize];
    let mask = 0x80 >> (offset & 7);
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
}

fn setbit(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let offset = bit_offset(ctx, &a[2], None)?;
    let bad_bit = || CmdError::msg("ERR bit is not an integer or out of range");
    let on = match args::int(&a[3]).map_err(|_| bad_bit())? {
        0 => false,
        1 => true,
        _ => return Err(bad_bit()),
    };
    let (s, grew) = bits_for_writing(ctx, key, offset)?;
    let was = bit_at(s, offset);
    set_bit_at(s, offset, on);
    if grew || was != on {
        ctx.modified(key);
        ctx.notify(class::STRING, "setbit", key);
    }
    ctx.out.int(i64::from(was));
    Ok(())
}

fn getbit(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let offset = bit_offset(ctx, &a[2], None)?;
    let on = read_bits(ctx, &a[1])?.is_some_and(|s| bit_at(s, offset));
    ctx.out.int(i64::from(on));
    Ok(())
}

/// A BITCOUNT / BITPOS range resolved against a string: whole bytes `start..=end`, and
/// masks of the bits of the first and last byte that lie outside a BIT range.
#[derive(Debug, Clone, Copy)]
struct ByteRange {
    start: usize,
    end: usize,
    first_outside: u8,
    last_outside: u8,
}

/// Resolves `start` and `end` (negative: from the end) as Redis does, in bytes or, with
/// `in_bits`, in bits; None for an empty range.
fn byte_range(len: usize, mut start: i64, mut end: i64, in_bits: bool) -> Option<ByteRange> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0).min(total - 1);
    if start > end {
        return None;
    }
    if !in_bits {
        return Some(ByteRange {
            start: start as usize,
            end: end as usize,
            first_outside: 0,
            last_outside: 0,
        });
    }
    Some(ByteRange {
        start: (start >> 3) as usize,
        end: (end >> 3) as usize,
        first_outside: !(0xffu8 >> (start & 7)),
        last_outside: (1u8 << (7 - (end & 7))).wrapping_sub(1),
    })
}

/// The BIT / BYTE option of BITCOUNT and BITPOS.
fn unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "BIT") {
        Ok(true)
    } else if is(arg, "BYTE") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn popcount(bytes: &[u8]) -> u64 {
    bytes.iter().map(|b| u64::from(b.count_ones())).sum()
}

fn bitcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // As in Redis, a missing key counts 0 before the arguments are looked at.
    let Some(s) = read_bits(ctx, &a[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let range = match a.len() {
        2 if s.is_empty() => None,
        2 => byte_range(s.len(), 0, -1, false),
        4 | 5 => {
            let (start, end) = (args::int(&a[2])?, args::int(&a[3])?);
            if start < 0 && end < 0 && start > end {
                None
            } else {
                let in_bits = a.len() == 5 && unit_is_bit(&a[4])?;
                byte_range(s.len(), start, end, in_bits)
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let count = range.map_or(0, |r| {
        popcount(&s[r.start..=r.end])
            - u64::from((s[r.start] & r.first_outside).count_ones())
            - u64::from((s[r.end] & r.last_outside).count_ones())
    });
    ctx.out.int(count as i64);
    Ok(())
}

/// The position of the first `bit` in `bytes`; past the end (the string is taken as
/// zero-padded) when looking for a 0 and none is found, None for a 1 (Redis's
/// redisBitpos).
fn first_bit(bytes: &[u8], bit: bool) -> Option<u64> {
    let found = bytes.iter().enumerate().find_map(|(i, &b)| {
        let lead = if bit {
            b.leading_zeros()
        } else {
            b.leading_ones()
        };
        (lead < 8).then(|| i as u64 * 8 + u64::from(lead))
    });
    match found {
        Some(pos) => Some(pos),
        None if bit => None,
        None => Some(bytes.len() as u64 * 8),
    }
}

fn bitpos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let bit = match args::int(&a[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
    };
    let Some(s) = read_bits(ctx, &a[1])? else {
        // A missing key is an endless run of 0 bits.
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let (range, end_given) = match a.len() {
        3 => (byte_range(s.len(), 0, -1, false), false),
        4..=6 => {
            let start = args::int(&a[3])?;
            let in_bits = a.len() == 6 && unit_is_bit(&a[5])?;
            let end = if a.len() >= 5 { args::int(&a[4])? } else { -1 };
            (byte_range(s.len(), start, end, in_bits), a.len() >= 5)
        }
        _ => return Err(CmdError::Syntax),
    };
    let Some(r) = range else {
        ctx.out.int(-1);
        return Ok(());
    };
    // The bits outside the range, set to what is not being looked for.
    let hide = |byte: u8, outside: u8| if bit { byte & !outside } else { byte | outside };
    let mut bytes: Vec<u8> = Vec::new();
    let window: &[u8] = if r.first_outside == 0 && r.last_outside == 0 {
        &s[r.start..=r.end]
    } else {
        bytes.extend_from_slice(&s[r.start..=r.end]);
        let last = bytes.len() - 1;
        bytes[0] = hide(bytes[0], r.first_outside);
        bytes[last] = hide(bytes[last], r.last_outside);
        &bytes
    };
    let pos = match first_bit(window, bit) {
        // Looking for a 0 within an explicit range that has none: not found, rather than
        // the padding past the end.
        Some(p) if end_given && !bit && p == window.len() as u64 * 8 => None,
        found => found,
    };
    ctx.out
        .int(pos.map_or(-1, |p| (p + r.start as u64 * 8) as i64));
    Ok(())
}

fn bitop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    #[derive(PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = match &a[1] {
        o if is(o, "AND") => Op::And,
        o if is(o, "OR") => Op::Or,
        o if is(o, "XOR") => Op::Xor,
        o if is(o, "NOT") => Op::Not,
        _ => return Err(CmdError::Syntax),
    };
    if op == Op::Not && a.len() != 4 {
        return Err(CmdError::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut sources: Vec<Vec<u8>> = Vec::with_capacity(a.len() - 3);
    for key in &a[3..] {
        sources.push(read_bits(ctx, key)?.unwrap_or_default().to_vec());
    }
    let len = sources.iter().map(Vec::len).max().unwrap_or(0);
    let dst = &a[2];
    if len == 0 {
        if ctx.db().remove(dst).is_some() {
            ctx.modified(dst);
            ctx.notify(class::GENERIC, "del", dst);
        }
        ctx.out.int(0);
        return Ok(());
    }
    // Shorter sources count as zero-padded.
    let byte = |src: &Vec<u8>, i: usize| src.get(i).copied().unwrap_or(0);
    let result: Vec<u8> = (0..len)
        .map(|i| {
            let rest = sources[1..].iter().map(|src| byte(src, i));
            let first = byte(&sources[0], i);
            match op {
                Op::And => rest.fold(first, |acc, b| acc & b),
                Op::Or => rest.fold(first, |acc, b| acc | b),
                Op::Xor => rest.fold(first, |acc, b| acc ^ b),
                Op::Not => !first,
            }
        })
        .collect();
    ctx.db().insert(dst, Value::raw(result), 0);
    ctx.modified(dst);
    ctx.notify(class::STRING, "set", dst);
    ctx.out.int(len as i64);
    Ok(())
}

/// What BITFIELD does when a value does not fit its field (OVERFLOW).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// A BITFIELD field type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy)]
struct FieldType {
    signed: bool,
    bits: u32,
}

impl FieldType {
    fn parse(arg: &[u8]) -> Result<FieldType, CmdError> {
        let bad = || {
            CmdError::msg("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
        };
        let signed = match arg.first() {
            Some(b'i') => true,
            Some(b'u') => false,
            _ => return Err(bad()),
        };
        let bits = args::int(&arg[1..]).map_err(|_| bad())?;
        let max = if signed { 64 } else { 63 };
        if !(1..=max).contains(&bits) {
            return Err(bad());
        }
        Ok(FieldType {
            signed,
            bits: bits as u32,
        })
    }

    /// The field's bits at `offset`, as an unsigned number (bytes past the end read 0).
    fn read(self, s: &[u8], offset: u64) -> u64 {
        (offset..offset + u64::from(self.bits))
            .fold(0, |v, bit| (v << 1) | u64::from(bit_at(s, bit)))
    }

    /// The field's value at `offset`, sign-extended when signed.
    fn get(self, s: &[u8], offset: u64) -> i64 {
        let raw = self.read(s, offset);
        if self.signed && self.bits < 64 && raw & (1 << (self.bits - 1)) != 0 {
            (raw | (u64::MAX << self.bits)) as i64
        } else {
            raw as i64
        }
    }

    /// Writes the low `bits` of `value` at `offset` (the string holds it).
    fn write(self, s: &mut [u8], offset: u64, value: i64) {
        for j in 0..u64::from(self.bits) {
            let on = (value as u64 >> (u64::from(self.bits) - 1 - j)) & 1 == 1;
            set_bit_at(s, offset + j, on);
        }
    }

    /// `value + incr` in the field, or None when it does not fit and `overflow` is FAIL
    /// (Redis's checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow: WRAP keeps the
    /// low bits, SAT stops at the field's limit).
    fn add(self, value: i64, incr: i64, overflow: Overflow) -> Option<i64> {
        let bits = self.bits;
        let wrapped = || {
            let sum = (value as u64).wrapping_add(incr as u64);
            if bits == 64 {
                return sum as i64;
            }
            let mask = u64::MAX << bits;
            let negative = self.signed && sum & (1 << (bits - 1)) != 0;
            (if negative { sum | mask } else { sum & !mask }) as i64
        };
        let (over, limit) = if self.signed {
            let max: i64 = if bits == 64 {
                i64::MAX
            } else {
                (1i64 << (bits - 1)) - 1
            };
            let min = -max - 1;
            let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
            let min_incr = min.wrapping_sub(value);
            if value > max
                || (bits != 64 && incr > max_incr)
                || (value >= 0 && incr > 0 && incr > max_incr)
            {
                (true, max)
            } else if value < min
                || (bits != 64 && incr < min_incr)
                || (value < 0 && incr < 0 && incr < min_incr)
            {
                (true, min)
            } else {
                (false, 0)
            }
        } else {
            let value = value as u64;
            let max = (1u64 << bits) - 1;
            let max_incr = max.wrapping_sub(value) as i64;
            let min_incr = 0u64.wrapping_sub(value) as i64;
            if value > max || (incr > 0 && incr > max_incr) {
                (true, max as i64)
            } else if incr < 0 && incr < min_incr {
                (true, 0)
            } else {
                (false, 0)
            }
        };
        match (over, overflow) {
            (false, _) => Some(value.wrapping_add(incr)),
            (true, Overflow::Wrap) => Some(wrapped()),
            (true, Overflow::Sat) => Some(limit),
            (true, Overflow::Fail) => None,
        }
    }
}

/// One BITFIELD operation, with the OVERFLOW in force where it appeared.
#[derive(Debug, Clone, Copy)]
enum FieldOp {
    Get(FieldType, u64),
    Set(FieldType, u64, i64, Overflow),
    IncrBy(FieldType, u64, i64, Overflow),
}

fn parse_field_ops(ctx: &Ctx, a: &[Bytes]) -> Result<Vec<FieldOp>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let rest = a.len() - j - 1;
        let sub = &a[j];
        if is(sub, "OVERFLOW") && rest >= 1 {
            overflow = match &a[j + 1] {
                o if is(o, "WRAP") => Overflow::Wrap,
                o if is(o, "SAT") => Overflow::Sat,
                o if is(o, "FAIL") => Overflow::Fail,
                _ => return Err(CmdError::msg("ERR Invalid OVERFLOW type specified")),
            };
            j += 2;
            continue;
        }
        let is_get = is(sub, "GET") && rest >= 2;
        if !is_get && !((is(sub, "SET") || is(sub, "INCRBY")) && rest >= 3) {
            return Err(CmdError::Syntax);
        }
        let ty = FieldType::parse(&a[j + 1])?;
        let offset = bit_offset(ctx, &a[j + 2], Some(ty.bits))?;
        if is_get {
            ops.push(FieldOp::Get(ty, offset));
            j += 3;
            continue;
        }
        let value = args::int(&a[j + 3])?;
        ops.push(if is(sub, "SET") {
            FieldOp::Set(ty, offset, value, overflow)
        } else {
            FieldOp::IncrBy(ty, offset, value, overflow)
        });
        j += 4;
    }
    Ok(ops)
}

fn bitfield(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, a, false)
}

fn bitfield_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, a, true)
}

fn bitfield_generic(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> CmdResult {
    let ops = parse_field_ops(ctx, a)?;
    let key = &a[1];
    let highest_write = ops
        .iter()
        .filter_map(|op| match *op {
            FieldOp::Set(ty, offset, ..) | FieldOp::IncrBy(ty, offset, ..) => {
                Some(offset + u64::from(ty.bits) - 1)
            }
            FieldOp::Get(..) => None,
        })
        .max();
    let Some(highest_write) = highest_write else {
        let s = read_bits(ctx, key)?.unwrap_or_default().to_vec();
        ctx.out.array(ops.len());
        for op in ops {
            if let FieldOp::Get(ty, offset) = op {
                ctx.out.int(ty.get(&s, offset));
            }
        }
        return Ok(());
    };
    if read_only {
        return Err(CmdError::msg(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let (s, grew) = bits_for_writing(ctx, key, highest_write)?;
    let mut replies: Vec<Option<i64>> = Vec::with_capacity(ops.len());
    let mut changes = 0;
    for op in ops {
        let (ty, offset, new, reply_old) = match op {
            FieldOp::Get(ty, offset) => {
                replies.push(Some(ty.get(s, offset)));
                continue;
            }
            FieldOp::Set(ty, offset, value, overflow) => {
                (ty, offset, ty.add(value, 0, overflow), true)
            }
            FieldOp::IncrBy(ty, offset, incr, overflow) => {
                let old = ty.get(s, offset);
                (ty, offset, ty.add(old, incr, overflow), false)
            }
        };
        let old = ty.get(s, offset);
        match new {
            Some(new) => {
                ty.write(s, offset, new);
                // What the field reads back: SET replies the old value, INCRBY the new.
                replies.push(Some(if reply_old { old } else { ty.get(s, offset) }));
                if grew || old != new {
                    changes += 1;
                }
            }
            None => replies.push(None),
        }
    }
    if changes > 0 {
        ctx.modified(key);
        ctx.notify(class::STRING, "setbit", key);
    }
    ctx.out.array(replies.len());
    for reply in replies {
        match reply {
            Some(n) => ctx.out.int(n),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_bytes_and_bits() {
        let r = byte_range(3, 0, -1, false).unwrap();
        assert_eq!(
            (r.start, r.end, r.first_outside, r.last_outside),
            (0, 2, 0, 0)
        );
        // Bits 5..=12: from the 6th bit of byte 0 to the 5th of byte 1.
        let r = byte_range(3, 5, 12, true).unwrap();
        assert_eq!((r.start, r.end), (0, 1));
        assert_eq!(
            (r.first_outside, r.last_outside),
            (0b1111_1000, 0b0000_0111)
        );
        assert!(byte_range(3, 2, 1, false).is_none());
        assert!(byte_range(0, 0, -1, false).is_none());
    }

    #[test]
    fn first_bits_as_redis_bitpos() {
        assert_eq!(first_bit(&[0x00, 0x10], true), Some(11));
        assert_eq!(first_bit(&[0x00], true), None);
        assert_eq!(first_bit(&[0xff, 0xfe], false), Some(15));
        assert_eq!(first_bit(&[0xff], false), Some(8));
    }

    #[test]
    fn fields_wrap_saturate_or_fail() {
        let u8_ = FieldType {
            signed: false,
            bits: 8,
        };
        assert_eq!(u8_.add(250, 10, Overflow::Wrap), Some(4));
        assert_eq!(u8_.add(250, 10, Overflow::Sat), Some(255));
        assert_eq!(u8_.add(250, 10, Overflow::Fail), None);
        assert_eq!(u8_.add(5, -10, Overflow::Sat), Some(0));
        let i8_ = FieldType {
            signed: true,
            bits: 8,
        };
        assert_eq!(i8_.add(120, 10, Overflow::Wrap), Some(-126));
        assert_eq!(i8_.add(-120, -10, Overflow::Sat), Some(-128));
        assert_eq!(i8_.add(300, 0, Overflow::Wrap), Some(44));
        let i64_ = FieldType {
            signed: true,
            bits: 64,
        };
        assert_eq!(i64_.add(i64::MAX, 1, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(i64_.add(i64::MAX, 1, Overflow::Fail), None);
        let mut s = vec![0u8; 2];
        i8_.write(&mut s, 4, -2);
        assert_eq!(s, [0x0f, 0xe0]);
        assert_eq!(i8_.get(&s, 4), -2);
        assert_eq!(u8_.get(&s, 4), 254);
    }
}
