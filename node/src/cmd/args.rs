//! Argument parsing shared by all command families, with Redis's error texts.

use std::time::Duration;

use bytes::Bytes;

use super::CmdError;
use crate::keyspace::value::parse_canonical_i64;

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn int(arg: &[u8]) -> Result<i64, CmdError> {
    parse_canonical_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parses an argument Redis reads as a C `int` (database indexes): an integer outside its
/// range gets Redis's getIntFromObjectOrReply error.
pub fn int32(arg: &[u8]) -> Result<i32, CmdError> {
    i32::try_from(int(arg)?).map_err(|_| {
        CmdError::msg("ERR value is out of range, value must between -2147483648 and 2147483647")
    })
}

/// Parses a non-negative integer argument.
pub fn uint(arg: &[u8]) -> Result<u64, CmdError> {
    match int(arg)? {
        n if n >= 0 => Ok(n as u64),
        _ => Err(CmdError::NotInteger),
    }
}

/// Parses a count that must not be negative (LPOP, SPOP...): Redis answers "value is
/// out of range, must be positive" both for a negative number and for a non-number.
pub fn positive_count(arg: &[u8]) -> Result<usize, CmdError> {
    let out_of_range = || CmdError::msg("ERR value is out of range, must be positive");
    let n = int_or(arg, out_of_range())?;
    usize::try_from(n).map_err(|_| out_of_range())
}

/// The arguments of LMPOP/BLMPOP and ZMPOP/BZMPOP from `a[start..]`:
/// `numkeys key... <END> [COUNT n]`, where `<END>` is one of `ends` (LEFT|RIGHT, MIN|MAX).
/// Returns the keys, whether the end was the first word, and the count (default 1).
pub fn mpop(
    a: &[Bytes],
    start: usize,
    ends: [&str; 2],
) -> Result<(Vec<Bytes>, bool, usize), CmdError> {
    let positive = |arg: &[u8], what: &'static str| -> Result<usize, CmdError> {
        match int_or(arg, CmdError::msg(what))? {
            n if n > 0 => Ok(n as usize),
            _ => Err(CmdError::msg(what)),
        }
    };
    let numkeys = positive(&a[start], "ERR numkeys should be greater than 0")?;
    let where_idx = start + 1 + numkeys;
    if numkeys >= a.len() || where_idx >= a.len() {
        return Err(CmdError::Syntax);
    }
    let first = if is(&a[where_idx], ends[0]) {
        true
    } else if is(&a[where_idx], ends[1]) {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count.is_none() && is(&a[j], "COUNT") && j + 1 < a.len() {
            count = Some(positive(&a[j + 1], "ERR count should be greater than 0")?);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((a[start + 1..where_idx].to_vec(), first, count.unwrap_or(1)))
}

/// Parses an integer, with a custom error (e.g. "ERR value is out of range, must be positive").
pub fn int_or(arg: &[u8], err: CmdError) -> Result<i64, CmdError> {
    parse_canonical_i64(arg).ok_or(err)
}

/// Parses a float as `strtod` would (no NaN, no surrounding spaces): `ERR value is not a
/// valid float`.
pub fn float(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64(arg).ok_or(CmdError::NotFloat)
}

pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    let v = parse_f64_bound(arg)?;
    // strtod's range errors, which Redis refuses here: a number too large for a double
    // (an infinity must be spelled as one), or one so small it became 0.
    let overflow = v.is_infinite() && !is_infinity(arg);
    let underflow = v == 0.0
        && arg
            .iter()
            .take_while(|c| !matches!(c, b'e' | b'E'))
            .any(|c| (b'1'..=b'9').contains(c));
    (!overflow && !underflow).then_some(v)
}

/// Parses a float as strtod would, out-of-range values included (as infinities or 0):
/// how Redis reads score range bounds (ZRANGEBYSCORE & co.), which only refuse NaN.
pub fn parse_f64_bound(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let v: f64 = match (is_infinity(arg), arg.first()) {
        (true, Some(b'-')) => f64::NEG_INFINITY,
        (true, _) => f64::INFINITY,
        (false, _) => s.parse().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

/// Whether `text` is an infinity as strtod reads one: `inf` or `infinity`, any case,
/// optionally signed.
pub fn is_infinity(text: &[u8]) -> bool {
    let unsigned = text
        .strip_prefix(b"-")
        .or(text.strip_prefix(b"+"))
        .unwrap_or(text);
    unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"infinity")
}

/// Parses a blocking timeout in seconds (fractions allowed); 0 means forever.
pub fn timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let secs = parse_f64(arg).ok_or(CmdError::BadTimeout)?;
    if secs < 0.0 {
        return Err(CmdError::NegativeTimeout);
    }
    if !secs.is_finite() || secs > (i64::MAX / 1000) as f64 {
        return Err(CmdError::BadTimeout);
    }
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
}

/// Case-insensitive comparison of an argument with an option name.
pub fn is(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

/// The canonical decimal form of an integer as a bulk value.
pub fn int_bytes(n: i64) -> Bytes {
    let mut b = itoa::Buffer::new();
    Bytes::copy_from_slice(b.format(n).as_bytes())
}

/// Resolves a Redis index (negative counts from the end) against `len`; clamps ranges
/// the way LRANGE/GETRANGE/ZRANGE do. Returns None for an empty range.
pub fn resolve_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(resolve_range(0, -1, 5), Some((0, 4)));
        assert_eq!(resolve_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(resolve_range(3, 1, 5), None);
        assert_eq!(resolve_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(resolve_range(5, 10, 5), None);
        assert_eq!(resolve_range(0, -1, 0), None);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"abc"), None);
    }
}
