//! The reply writer: appends RESP2 or RESP3 replies to a client's output buffer.
//!
//! Commands describe replies in RESP3 terms (map, set, double, null, push); on a RESP2
//! connection each is lowered the way Redis 7.0 lowers it (a map becomes a flat array, a
//! double a bulk string, a null `$-1` or `*-1`).

use bytes::{BufMut, BytesMut};

/// Writes replies into an output buffer in the protocol version the client negotiated.
#[derive(Debug, Default)]
pub struct ReplyWriter {
    buf: BytesMut,
    resp3: bool,
    /// Codes of the errors written and not yet counted (INFO errorstats).
    errors: Vec<Box<str>>,
    /// A push (pub/sub confirmation or message) was written since the last
    /// [`ReplyWriter::take_pushed`]: CLIENT REPLY OFF does not silence those.
    pushed: bool,
}

impl ReplyWriter {
    pub fn new(resp3: bool) -> Self {
        ReplyWriter {
            buf: BytesMut::with_capacity(4096),
            resp3,
            errors: Vec::new(),
            pushed: false,
        }
    }

    /// Whether a push was written since the last call.
    pub fn take_pushed(&mut self) -> bool {
        std::mem::take(&mut self.pushed)
    }

    /// Drops the first `n` bytes, which were written to the socket.
    pub fn consume(&mut self, n: usize) {
        if n >= self.buf.len() {
            self.buf.clear();
        } else {
            bytes::Buf::advance(&mut self.buf, n);
        }
    }

    pub fn is_resp3(&self) -> bool {
        self.resp3
    }

    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything written after `len` (used to undo a partial reply).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// Empties the buffer, keeping its capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Appends bytes that are already RESP.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.put_u8(prefix);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+<text>`: the text must not contain CR or LF.
    pub fn simple(&mut self, text: &str) {
        self.buf.put_u8(b'+');
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-<text>`: `text` is the whole error line, code included (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(&mut self, text: &str) {
        self.errors.push(error_code(text).into());
        self.buf.put_u8(b'-');
        for &c in text.as_bytes() {
            // Newlines would break the framing; Redis replaces them with spaces.
            self.buf
                .put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Whether errors were written since the last [`ReplyWriter::take_errors`].
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The codes of the errors written since the last call, for the error counters.
    pub fn take_errors(&mut self) -> std::vec::Drain<'_, Box<str>> {
        self.errors.drain(..)
    }

    /// `:<n>`
    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    /// `$<len>\r\n<bytes>\r\n`
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.line(b'$', bytes.len() as i64);
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// Null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// Null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    /// Array header: `*<n>`, followed by n replies.
    pub fn array(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    /// Map header of `n` pairs: `%<n>` in RESP3, `*<2n>` in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.line(b'%', n as i64);
        } else {
            self.line(b'*', 2 * n as i64);
        }
    }

    /// Set header: `~<n>` in RESP3, `*<n>` in RESP2.
    pub fn set(&mut self, n: usize) {
        if self.resp3 {
            self.line(b'~', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// Push header (pub/sub messages): `><n>` in RESP3, `*<n>` in RESP2.
    pub fn push(&mut self, n: usize) {
        self.pushed = true;
        if self.resp3 {
            self.line(b'>', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// A double as Redis 7.0 replies it: `,<%.17g>` in RESP3, a bulk string in RESP2.
    pub fn double(&mut self, d: f64) {
        let text = format_double(d);
        if self.resp3 {
            self.buf.put_u8(b',');
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A big number: `(<digits>` in RESP3, a bulk string in RESP2.
    pub fn bignum(&mut self, digits: &str) {
        if self.resp3 {
            self.buf.put_u8(b'(');
            self.buf.extend_from_slice(digits.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits.as_bytes());
        }
    }

    /// An attribute header of `n` pairs (`|<n>`), which only RESP3 has: returns false on
    /// a RESP2 connection, where the attribute is left out.
    pub fn attribute(&mut self, n: usize) -> bool {
        if self.resp3 {
            self.line(b'|', n as i64);
        }
        self.resp3
    }

    /// Verbatim text (INFO, CLIENT LIST): `=<len>\r\ntxt:...` in RESP3, bulk in RESP2.
    pub fn verbatim(&mut self, text: &str) {
        if self.resp3 {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }
}

/// Formats a double like C's `%.17g`, which Redis 7.0 uses for scores and RESP3 doubles;
/// infinities are `inf` / `-inf`.
pub fn format_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d.is_nan() {
        return "nan".into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    const P: i32 = 17;
    let sci = format!("{:.*e}", (P - 1) as usize, d);
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent digits");
    if !(-4..P).contains(&exp) {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (P - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The code of an error reply, as Redis counts it: its first word when a space comes
/// within 32 bytes (`WRONGTYPE`, `NOAUTH`...), `ERR` otherwise.
pub fn error_code(text: &str) -> &str {
    match text.as_bytes().iter().take(31).position(|&b| b == b' ') {
        Some(end) if end > 0 => &text[..end],
        _ => "ERR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_match_c_printf() {
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(-2.25), "-2.25");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(0.00001), "1.0000000000000001e-05");
        assert_eq!(format_double(123456789.0), "123456789");
        assert_eq!(format_double(f64::INFINITY), "inf");
    }

    #[test]
    fn resp2_and_resp3_lowering() {
        let mut w = ReplyWriter::new(false);
        w.map(1);
        w.null();
        w.boolean(true);
        assert_eq!(w.buffer(), b"*2\r\n$-1\r\n:1\r\n");
        let mut w = ReplyWriter::new(true);
        w.map(1);
        w.null();
        w.boolean(true);
        w.double(2.5);
        assert_eq!(w.buffer(), b"%1\r\n_\r\n#t\r\n,2.5\r\n");
    }

    #[test]
    fn error_lines_cannot_break_framing() {
        let mut w = ReplyWriter::new(false);
        w.error("ERR a\r\nb");
        assert_eq!(w.buffer(), b"-ERR a  b\r\n");
    }

    #[test]
    fn errors_written_are_remembered_by_code() {
        let mut w = ReplyWriter::new(false);
        assert!(!w.has_errors());
        w.error("WRONGTYPE Operation against a key holding the wrong kind of value");
        w.error("NOSPACEANYWHERE");
        w.error("ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ x");
        let codes: Vec<Box<str>> = w.take_errors().collect();
        assert_eq!(codes, vec!["WRONGTYPE".into(), "ERR".into(), "ERR".into()]);
        assert!(!w.has_errors());
    }
}
