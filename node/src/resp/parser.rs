//! Incremental request parser: multibulk (`*N\r\n$len\r\narg\r\n...`) and inline commands.
//!
//! A request is parsed only once the whole frame is in the buffer; a partial frame leaves the
//! buffer untouched (`Ok(None)`). Lengths are checked against the limits before any byte of
//! the payload is awaited, so a peer cannot make us buffer more than it announced and we allow.

use bytes::{Buf, Bytes, BytesMut};

/// Upper bounds a request must respect (`proto-max-bulk-len`, `client-query-buffer-limit`).
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Largest bulk string accepted, in bytes.
    pub max_bulk_len: u64,
    /// Largest number of arguments in one multibulk request.
    pub max_multibulk_len: u64,
    /// Longest inline request line.
    pub max_inline_len: usize,
    /// False while the client still has to authenticate: then, as in Redis, a multibulk
    /// request may have at most [`UNAUTHENTICATED_ARGS`] arguments of at most
    /// [`UNAUTHENTICATED_BULK`] bytes, so a stranger cannot make the server buffer much.
    pub authenticated: bool,
}

/// Most arguments an unauthenticated client may send in one request.
pub const UNAUTHENTICATED_ARGS: i64 = 10;
/// Longest argument an unauthenticated client may send.
pub const UNAUTHENTICATED_BULK: i64 = 16 * 1024;

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bulk_len: 512 * 1024 * 1024,
            // Redis 7.0 takes up to INT_MAX arguments; the query buffer limit bounds the
            // bytes, and an announced count never sizes an allocation.
            max_multibulk_len: i32::MAX as u64,
            max_inline_len: 64 * 1024,
            authenticated: true,
        }
    }
}

/// A request that cannot be parsed. The `Display` text is Redis's own, sent as `-ERR <text>`
/// before the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedBulk(char),
    #[error("Protocol error: too big inline request")]
    InlineTooBig,
    #[error("Protocol error: too big mbulk count string")]
    MultibulkCountTooBig,
    #[error("Protocol error: too big bulk count string")]
    BulkCountTooBig,
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
}

/// Requests with up to this many arguments are parsed without a heap allocation for
/// their spans.
const INLINE_SPANS: usize = 8;

/// Arguments at least this long are kept as slices of the read buffer instead of copied.
const BIG_ARG: usize = 32 * 1024;

/// Longest `*N` or `$N` header line Redis accepts before giving up.
const MAX_HEADER_LINE: usize = 1024 * 64;

/// Parses one request from the front of `buf` (a fresh parser each time: fine for
/// whole frames; connections keep a [`RequestParser`] so partial frames resume).
pub fn parse_request(
    buf: &mut BytesMut,
    limits: &ParseLimits,
) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    RequestParser::new(*limits).parse(buf)
}

/// An incremental request parser. A multibulk request that arrives in pieces is not
/// re-scanned from its start on every read: the parser remembers the arguments it has
/// already validated (the buffer is only consumed once the request is complete, so their
/// positions stay valid), and says how many bytes the argument in progress still needs so
/// the reader can make room for it at once.
#[derive(Debug)]
pub struct RequestParser {
    limits: ParseLimits,
    partial: Option<Partial>,
}

/// A multibulk request whose arguments are not all in the buffer yet.
#[derive(Debug)]
struct Partial {
    count: usize,
    /// Where the next argument's `$len` header starts.
    pos: usize,
    spans: Spans,
    /// Buffer length the argument in progress needs to be complete (0 = unknown).
    needed: usize,
}

impl RequestParser {
    pub fn new(limits: ParseLimits) -> RequestParser {
        RequestParser {
            limits,
            partial: None,
        }
    }

    /// Replaces the limits (CONFIG SET proto-max-bulk-len).
    pub fn set_limits(&mut self, limits: ParseLimits) {
        self.limits = limits;
    }

    /// Buffer length the request in progress needs, when a bulk length announced it; lets
    /// the reader reserve room for a large argument in one step.
    pub fn bytes_needed(&self) -> Option<usize> {
        self.partial.as_ref().map(|p| p.needed).filter(|n| *n > 0)
    }

    /// Parses the next request from the front of `buf`: `Ok(Some(args))` consumes it,
    /// `Ok(None)` means more bytes are needed (nothing consumed), or a [`ProtocolError`].
    /// An empty inline line yields `Some(vec![])`, which callers skip, as Redis does.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.partial.is_none() {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf, &self.limits);
            }
            let Some(cr) = find_crlf(buf, 1) else {
                if buf.len() > MAX_HEADER_LINE {
                    return Err(ProtocolError::MultibulkCountTooBig);
                }
                return Ok(None);
            };
            if cr + 1 >= buf.len() {
                return Ok(None);
            }
            let count =
                parse_header_int(&buf[1..cr]).ok_or(ProtocolError::InvalidMultibulkLength)?;
            if count > self.limits.max_multibulk_len as i64 {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            if count > UNAUTHENTICATED_ARGS && !self.limits.authenticated {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            if count <= 0 {
                buf.advance(cr + 2);
                return Ok(Some(Vec::new()));
            }
            self.partial = Some(Partial {
                count: count as usize,
                pos: cr + 2,
                // An announced count only bounds, never sizes, what we allocate.
                spans: Spans::new(count as usize),
                needed: 0,
            });
        }
        let partial = self.partial.as_mut().expect("set above");
        match scan_bulks(buf, partial, &self.limits) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => {
                self.partial = None;
                return Err(e);
            }
        }
        let partial = self.partial.take().expect("complete request");
        // Arguments that may be stored get their own allocation: a slice would pin the
        // whole read buffer for as long as the keyspace keeps the value. The command name
        // is never stored, and big arguments (like Redis's PROTO_MBULK_BIG_ARG) are most of
        // their buffer anyway: those are sliced without a copy.
        let frame = buf.split_to(partial.pos).freeze();
        Ok(Some(
            partial
                .spans
                .as_slice()
                .iter()
                .enumerate()
                .map(|(i, &(s, e))| {
                    if i == 0 || e - s >= BIG_ARG {
                        frame.slice(s..e)
                    } else {
                        Bytes::copy_from_slice(&frame[s..e])
                    }
                })
                .collect(),
        ))
    }
}

/// Validates bulk arguments from `partial.pos` on, recording their spans. Returns true
/// once all `partial.count` arguments are present.
fn scan_bulks(
    buf: &[u8],
    partial: &mut Partial,
    limits: &ParseLimits,
) -> Result<bool, ProtocolError> {
    while partial.spans.len() < partial.count {
        let pos = partial.pos;
        partial.needed = 0;
        if pos >= buf.len() {
            return Ok(false);
        }
        if buf[pos] != b'$' {
            return Err(ProtocolError::ExpectedBulk(buf[pos] as char));
        }
        let Some(cr) = find_crlf(buf, pos + 1) else {
            if buf.len() - pos > MAX_HEADER_LINE {
                return Err(ProtocolError::BulkCountTooBig);
            }
            return Ok(false);
        };
        let len = parse_header_int(&buf[pos + 1..cr]).ok_or(ProtocolError::InvalidBulkLength)?;
        if len < 0 || len as u64 > limits.max_bulk_len {
            return Err(ProtocolError::InvalidBulkLength);
        }
        if len > UNAUTHENTICATED_BULK && !limits.authenticated {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        let start = cr + 2;
        let end = start + len as usize;
        if end + 2 > buf.len() {
            partial.needed = end + 2;
            return Ok(false);
        }
        partial.spans.push((start, end));
        partial.pos = end + 2;
    }
    Ok(true)
}

/// Position of the next `\r` at or after `from`. Header lines are a few bytes long, so a
/// plain scan of the first bytes beats memchr's set-up; long lines fall back to memchr.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let rest = &buf[from..];
    let quick = rest.len().min(24);
    match rest[..quick].iter().position(|&b| b == b'\r') {
        Some(p) => Some(from + p),
        None if rest.len() > quick => {
            memchr::memchr(b'\r', &rest[quick..]).map(|p| from + quick + p)
        }
        None => None,
    }
}

/// Parses the decimal number of a `*N` or `$N` header (between `start` and the `\r`).
fn parse_header_int(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let (neg, digits) = match digits[0] {
        b'-' => (true, &digits[1..]),
        _ => (false, digits),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

/// Argument positions of one request: on the stack for short requests.
#[derive(Debug)]
struct Spans {
    inline: [(usize, usize); INLINE_SPANS],
    len: usize,
    spilled: Vec<(usize, usize)>,
}

impl Spans {
    /// `expected` only sizes a spill, capped: an announced count is not yet data.
    fn new(expected: usize) -> Spans {
        let spilled = if expected > INLINE_SPANS {
            Vec::with_capacity(expected.min(1024))
        } else {
            Vec::new()
        };
        Spans {
            inline: [(0, 0); INLINE_SPANS],
            len: 0,
            spilled,
        }
    }

    fn push(&mut self, span: (usize, usize)) {
        if self.spilled.capacity() == 0 && self.len < INLINE_SPANS {
            self.inline[self.len] = span;
            self.len += 1;
        } else {
            self.spilled.push(span);
        }
    }

    fn len(&self) -> usize {
        if self.spilled.capacity() == 0 {
            self.len
        } else {
            self.spilled.len()
        }
    }

    fn as_slice(&self) -> &[(usize, usize)] {
        if self.spilled.capacity() == 0 {
            &self.inline[..self.len]
        } else {
            &self.spilled
        }
    }
}

fn parse_inline(
    buf: &mut BytesMut,
    limits: &ParseLimits,
) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() > limits.max_inline_len {
            return Err(ProtocolError::InlineTooBig);
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1);
    let mut line = &line[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    split_args(line).map(Some)
}

/// Splits an inline request like `sdssplitargs`: spaces separate, double quotes allow
/// `\n`, `\xHH` escapes, single quotes are literal except `\'`.
pub fn split_args(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut cur = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    if i >= line.len() {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    match line[i] {
                        b'\\'
                            if i + 3 < line.len()
                                && line[i + 1] == b'x'
                                && line[i + 2].is_ascii_hexdigit()
                                && line[i + 3].is_ascii_hexdigit() =>
                        {
                            let hex = std::str::from_utf8(&line[i + 2..i + 4]).unwrap_or("0");
                            cur.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                            i += 4;
                        }
                        b'\\' if i + 1 < line.len() => {
                            cur.push(match line[i + 1] {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'a' => 7,
                                c => c,
                            });
                            i += 2;
                        }
                        b'"' => {
                            i += 1;
                            if i < line.len() && !line[i].is_ascii_whitespace() {
                                return Err(ProtocolError::UnbalancedQuotes);
                            }
                            break;
                        }
                        c => {
                            cur.push(c);
                            i += 1;
                        }
                    }
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    if i >= line.len() {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    match line[i] {
                        b'\\' if i + 1 < line.len() && line[i + 1] == b'\'' => {
                            cur.push(b'\'');
                            i += 2;
                        }
                        b'\'' => {
                            i += 1;
                            if i < line.len() && !line[i].is_ascii_whitespace() {
                                return Err(ProtocolError::UnbalancedQuotes);
                            }
                            break;
                        }
                        c => {
                            cur.push(c);
                            i += 1;
                        }
                    }
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    cur.push(line[i]);
                    i += 1;
                }
            }
        }
        args.push(Bytes::from(cur));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        parse_request(&mut buf, &ParseLimits::default())
    }

    #[test]
    fn multibulk_complete_and_partial() {
        let full = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        assert_eq!(
            parse(full).unwrap().unwrap(),
            vec![Bytes::from("GET"), Bytes::from("k")]
        );
        for cut in 1..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(parse_request(&mut buf, &ParseLimits::default()), Ok(None));
            assert_eq!(buf.len(), cut, "partial frame must not be consumed");
        }
    }

    #[test]
    fn resumes_a_request_fed_byte_by_byte() {
        let full = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n*1\r\n$4\r\nPING\r\n";
        let mut parser = RequestParser::new(ParseLimits::default());
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in full.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(args) = parser.parse(&mut buf).unwrap() {
                got.push(args);
            }
            if buf.len() >= 27 && got.is_empty() {
                // The announced value length tells the reader how much room to make.
                assert_eq!(parser.bytes_needed(), Some(39));
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            vec![
                Bytes::from("SET"),
                Bytes::from("key"),
                Bytes::from("0123456789")
            ]
        );
        assert_eq!(got[1], vec![Bytes::from("PING")]);
        assert!(buf.is_empty());
    }

    #[test]
    fn error_after_partial_input_resets_the_parser() {
        let mut parser = RequestParser::new(ParseLimits::default());
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n"[..]);
        assert_eq!(parser.parse(&mut buf), Ok(None));
        buf.extend_from_slice(b"+oops\r\n");
        assert_eq!(
            parser.parse(&mut buf),
            Err(ProtocolError::ExpectedBulk('+'))
        );
        let mut fresh = BytesMut::from(&b"PING\r\n"[..]);
        assert_eq!(
            parser.parse(&mut fresh).unwrap().unwrap(),
            vec![Bytes::from("PING")]
        );
    }

    #[test]
    fn two_pipelined_requests() {
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\nPING\r\n"[..]);
        let l = ParseLimits::default();
        assert_eq!(parse_request(&mut buf, &l).unwrap().unwrap()[0], "PING");
        assert_eq!(parse_request(&mut buf, &l).unwrap().unwrap()[0], "PING");
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_bulk_rejected_before_payload() {
        assert_eq!(
            parse(b"*1\r\n$1099511627776\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse(b"*1\r\n$-5\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse(b"*99999999999\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(parse(b"*x\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(
            parse(b"*1\r\n:5\r\n"),
            Err(ProtocolError::ExpectedBulk(':'))
        );
    }

    #[test]
    fn inline_with_quotes() {
        assert_eq!(
            parse(b"set k \"a b\\x41\"\r\n").unwrap().unwrap(),
            vec![Bytes::from("set"), Bytes::from("k"), Bytes::from("a bA")]
        );
        assert_eq!(
            parse(b"set 'it\\'s'\n").unwrap().unwrap(),
            vec![Bytes::from("set"), Bytes::from("it's")]
        );
        assert_eq!(parse(b"get \"k\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(parse(b"\r\n").unwrap().unwrap(), Vec::<Bytes>::new());
    }

    #[test]
    fn unterminated_inline_is_bounded() {
        let big = vec![b'a'; 70 * 1024];
        assert_eq!(parse(&big), Err(ProtocolError::InlineTooBig));
    }
}
