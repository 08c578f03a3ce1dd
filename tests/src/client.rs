//! A minimal RESP client for tests: send commands, read typed replies or exact bytes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A reply, as the test client parsed it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    NilArray,
    Array(Vec<Reply>),
    // RESP3
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
    Double(String),
    Bool(bool),
    Verbatim(String),
    Null,
}

impl Reply {
    /// The text of a bulk, simple or verbatim string (panics otherwise).
    pub fn text(&self) -> String {
        match self {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Reply::Simple(s) | Reply::Verbatim(s) => s.clone(),
            other => panic!("not a string reply: {other:?}"),
        }
    }

    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("not an integer reply: {other:?}"),
        }
    }

    pub fn array(&self) -> &[Reply] {
        match self {
            Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => v,
            other => panic!("not an array reply: {other:?}"),
        }
    }

    /// Bulk strings of an array reply, as text.
    pub fn strings(&self) -> Vec<String> {
        self.array().iter().map(|r| r.text()).collect()
    }

    /// The value of `name:value` in an INFO reply.
    pub fn info_field(&self, name: &str) -> Option<String> {
        self.text().lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        })
    }
}

/// Parses one complete reply from `buf`: `Some((reply, consumed))`, None when incomplete.
pub fn parse_reply(buf: &[u8]) -> Option<(Reply, usize)> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[1..line_end]).ok()?.to_string();
    let after = line_end + 2;
    let agg = |n: i64, buf: &[u8], pairs: bool| -> Option<(Vec<Reply>, usize)> {
        let mut items = Vec::new();
        let mut pos = after;
        let count = if pairs { n * 2 } else { n };
        for _ in 0..count {
            let (r, used) = parse_reply(&buf[pos..])?;
            items.push(r);
            pos += used;
        }
        Some((items, pos))
    };
    match buf[0] {
        b'+' => Some((Reply::Simple(line), after)),
        b'-' => Some((Reply::Error(line), after)),
        b':' => Some((Reply::Int(line.parse().ok()?), after)),
        b',' => Some((Reply::Double(line), after)),
        b'#' => Some((Reply::Bool(line == "t"), after)),
        b'_' => Some((Reply::Null, after)),
        b'$' | b'=' => {
            let n: i64 = line.parse().ok()?;
            if n < 0 {
                return Some((Reply::Nil, after));
            }
            let end = after + n as usize;
            if buf.len() < end + 2 {
                return None;
            }
            let data = buf[after..end].to_vec();
            if buf[0] == b'=' {
                let text = String::from_utf8_lossy(&data[4..]).into_owned();
                Some((Reply::Verbatim(text), end + 2))
            } else {
                Some((Reply::Bulk(data), end + 2))
            }
        }
        b'*' | b'~' | b'>' => {
            let n: i64 = line.parse().ok()?;
            if n < 0 {
                return Some((Reply::NilArray, after));
            }
            let (items, pos) = agg(n, buf, false)?;
            Some((
                match buf[0] {
                    b'*' => Reply::Array(items),
                    b'~' => Reply::Set(items),
                    _ => Reply::Push(items),
                },
                pos,
            ))
        }
        b'%' => {
            let n: i64 = line.parse().ok()?;
            let (items, pos) = agg(n, buf, true)?;
            let mut it = items.into_iter();
            let mut pairs = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Some((Reply::Map(pairs), pos))
        }
        other => panic!(
            "unexpected reply type byte {:?} in {:?}",
            other as char,
            String::from_utf8_lossy(buf)
        ),
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A blocking RESP connection with a 10 s read timeout.
#[derive(Debug)]
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a command and returns its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        self.send(args);
        self.read()
    }

    /// Sends a command and returns the exact bytes of its reply.
    pub fn raw<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(args);
        self.read_raw()
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        self.stream.write_all(&encode_command(args)).expect("write");
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one reply.
    pub fn read(&mut self) -> Reply {
        let raw = self.read_raw();
        parse_reply(&raw).expect("complete reply").0
    }

    /// Reads the exact bytes of one reply.
    pub fn read_raw(&mut self) -> Vec<u8> {
        self.try_read_raw().unwrap_or_else(|| {
            panic!(
                "connection closed or timed out while waiting for a reply; got so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            )
        })
    }

    /// Sends a command and returns its reply, or None when the connection is gone: for
    /// clients that outlive their server on purpose (kill -9 tests).
    pub fn try_cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Option<Reply> {
        self.stream.write_all(&encode_command(args)).ok()?;
        let raw = self.try_read_raw()?;
        Some(parse_reply(&raw).expect("complete reply").0)
    }

    /// The next reply's bytes if one arrives within `wait`; None otherwise (a reply still
    /// on its way is kept for the next read).
    pub fn reply_within(&mut self, wait: Duration) -> Option<Vec<u8>> {
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let reply = self.try_read_raw();
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        reply
    }

    fn try_read_raw(&mut self) -> Option<Vec<u8>> {
        loop {
            if !self.buf.is_empty() {
                if let Some((_, used)) = parse_reply(&self.buf) {
                    return Some(self.buf.drain(..used).collect());
                }
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Whether the server closed the connection (reads until EOF or timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// Asserts that `args` gets exactly `expected` (RESP bytes) back.
#[track_caller]
pub fn assert_reply<A: AsRef<[u8]>>(c: &mut Client, args: &[A], expected: &str) {
    let got = c.raw(args);
    assert_eq!(
        String::from_utf8_lossy(&got),
        expected,
        "reply to {:?}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
            .collect::<Vec<_>>()
    );
}
