//! RESP, the Redis serialization protocol: the request parser and the reply writer.
//!
//! This module knows bytes and frames, nothing of commands. Requests are parsed
//! zero-copy out of the connection's read buffer (each argument is a `Bytes` slice of it);
//! replies are written straight into an output buffer in RESP2 or RESP3.

mod parser;
mod writer;

pub use parser::{parse_request, split_args, ParseLimits, ProtocolError, RequestParser};
pub use writer::{format_double, ReplyWriter};

/// C's `atoll` (and `atoi`, `strtol` in base 10), as Redis parses some numbers: leading
/// blanks, an optional sign and digits; anything after is ignored, and no digits is 0.
/// Saturates instead of overflowing.
pub fn atoll(text: &[u8]) -> i64 {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let t = &text[start..];
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}
