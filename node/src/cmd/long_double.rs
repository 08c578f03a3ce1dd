//! INCRBYFLOAT arithmetic as Redis does it: in an x87 80-bit `long double` (64-bit
//! significand), printed with `%.17Lf` and trailing zeros removed.
//!
//! Redis parses the stored string and the increment with `strtold`, adds them in long
//! double precision and stores the humanised `%.17Lf` text, so `10.6 + 5000` becomes
//! `5010.60000000000000009`. An f64 cannot reproduce those digits, so this module
//! emulates the three steps exactly with big integers: correctly rounded parsing, one
//! correctly rounded addition, and correctly rounded fixed-point printing.

use num_bigint::BigInt;

/// Significand bits of an x87 extended double.
const SIGNIFICAND_BITS: u64 = 64;
/// Largest binary exponent of a finite x87 extended double.
const MAX_EXP: i64 = 16383;

/// A finite extended-precision value: `mantissa * 2^exp`, the mantissa holding at most
/// 64 significant bits (sign included in the BigInt).
#[derive(Debug, Clone, PartialEq)]
pub struct LongDouble {
    mantissa: BigInt,
    exp: i64,
}

/// Rounds `n / 2^shift` to the nearest integer, ties to even (`shift` may be ≤ 0).
fn shift_round(n: &BigInt, shift: i64) -> BigInt {
    if shift <= 0 {
        return n << (-shift) as usize;
    }
    let shift = shift as usize;
    let neg = n.sign() == num_bigint::Sign::Minus;
    let mag = if neg { -n } else { n.clone() };
    let q: BigInt = &mag >> shift;
    let r = &mag - (&q << shift);
    let half = BigInt::from(1) << (shift - 1);
    let q = if r > half || (r == half && q.bit(0)) {
        q + 1
    } else {
        q
    };
    if neg {
        -q
    } else {
        q
    }
}

impl LongDouble {
    /// Rounds the exact value `n * 2^exp` to 64 significant bits.
    fn round_from(n: BigInt, exp: i64) -> Option<LongDouble> {
        let bits = n.bits() as i64;
        let (mantissa, exp) = if bits > SIGNIFICAND_BITS as i64 {
            let shift = bits - SIGNIFICAND_BITS as i64;
            (shift_round(&n, shift), exp + shift)
        } else {
            (n, exp)
        };
        if mantissa.bits() as i64 + exp > MAX_EXP {
            return None;
        }
        Some(LongDouble { mantissa, exp })
    }

    /// Parses like `strtold` as Redis uses it: optional sign, digits with an optional
    /// fraction, optional exponent; no spaces, no trailing bytes. `inf`/`nan` and values
    /// out of range are refused (Redis refuses them too, or turns them into an error).
    pub fn parse(text: &[u8]) -> Option<LongDouble> {
        let s = std::str::from_utf8(text).ok()?;
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (num, exp10) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
            None => (body, 0),
        };
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        if exp10.abs() > 6000 {
            return None;
        }
        let digits: BigInt = format!("0{int_part}{frac_part}").parse().ok()?;
        let digits = if neg { -digits } else { digits };
        let exp10 = exp10 - frac_part.len() as i64;
        if digits.bits() == 0 {
            return Some(LongDouble {
                mantissa: BigInt::from(0),
                exp: 0,
            });
        }
        if exp10 >= 0 {
            return LongDouble::round_from(digits * BigInt::from(10).pow(exp10 as u32), 0);
        }
        // value = digits / 10^k: scale by 2^s so the quotient has more than 64 bits, then
        // round the quotient (the remainder decides ties).
        let den = BigInt::from(10).pow((-exp10) as u32);
        let s = (den.bits() as i64 - digits.bits() as i64 + SIGNIFICAND_BITS as i64 + 2).max(0);
        let scaled: BigInt = digits << s as usize;
        let q = &scaled / &den;
        let r = &scaled - &q * &den;
        // Fold the remainder into a sticky bit below the quotient so rounding sees it.
        let sticky = if r.bits() == 0 { 0 } else { 1 };
        let q = (q << 1usize) + if q_is_neg(&scaled) { -sticky } else { sticky };
        LongDouble::round_from(q, -s - 1)
    }

    /// `self + other`, correctly rounded; None on overflow.
    pub fn add(&self, other: &LongDouble) -> Option<LongDouble> {
        let exp = self.exp.min(other.exp);
        let a = &self.mantissa << (self.exp - exp) as usize;
        let b = &other.mantissa << (other.exp - exp) as usize;
        LongDouble::round_from(a + b, exp)
    }

    /// `%.17Lf` with trailing zeros (and a trailing point) removed, as Redis's
    /// `ld2string(..., LD_STR_HUMAN)`.
    pub fn to_human_string(&self) -> String {
        let scaled = &self.mantissa * BigInt::from(10).pow(17);
        let q = shift_round(&scaled, -self.exp);
        let neg = q.sign() == num_bigint::Sign::Minus;
        let mag = if neg { (-q).to_string() } else { q.to_string() };
        let padded = format!("{mag:0>18}");
        let (int_part, frac) = padded.split_at(padded.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        out.push_str(int_part);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

fn q_is_neg(n: &BigInt) -> bool {
    n.sign() == num_bigint::Sign::Minus
}

/// INCRBYFLOAT's result text for a stored value (None = absent) and an increment, with
/// Redis's errors: either operand not a float, or a result that is not finite.
pub fn incr_by_float(current: Option<&[u8]>, delta: &[u8]) -> Result<String, super::CmdError> {
    let not_finite = || super::CmdError::msg("ERR increment would produce NaN or Infinity");
    // strtold reads an infinity, which makes the sum infinite: Redis's error for that.
    let parse = |text: &[u8]| match LongDouble::parse(text) {
        Some(v) => Ok(Some(v)),
        None if super::args::is_infinity(text) => Ok(None),
        None => Err(super::CmdError::NotFloat),
    };
    let a = match current {
        Some(c) => parse(c)?,
        None => LongDouble::parse(b"0"),
    };
    let b = parse(delta)?;
    let (Some(a), Some(b)) = (a, b) else {
        return Err(not_finite());
    };
    a.add(&b)
        .map(|sum| sum.to_human_string())
        .ok_or_else(not_finite)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> String {
        incr_by_float(Some(a.as_bytes()), b.as_bytes()).unwrap()
    }

    #[test]
    fn matches_redis_long_double_output() {
        // Values observed from redis-server 7.0.15 on x86_64.
        assert_eq!(incr("10.6", "5000"), "5010.60000000000000009");
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0", "10.5"), "10.5");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("3", "-3"), "0");
        assert_eq!(incr("-1.5", "0.25"), "-1.25");
        assert_eq!(incr_by_float(None, b"1.5").unwrap(), "1.5");
        assert!(incr_by_float(Some(b"x"), b"1").is_err());
    }

    #[test]
    fn parse_rejects_what_strtold_refuses_for_redis() {
        assert!(LongDouble::parse(b"abc").is_none());
        assert!(LongDouble::parse(b" 1").is_none());
        assert!(LongDouble::parse(b"1 ").is_none());
        assert!(LongDouble::parse(b"").is_none());
        assert!(LongDouble::parse(b".").is_none());
        assert!(LongDouble::parse(b"1e99999").is_none());
        assert!(LongDouble::parse(b".5").is_some());
    }
}
