//! MIGRATE: moves keys to another server with DUMP payloads and RESTORE, as Redis 7.0
//! does: synchronously (the command waits for the target, within its timeout, as Redis's
//! blocks its event loop), over a connection cached per target for 10 seconds of idleness,
//! deleting the source keys the target acknowledged unless COPY is given.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::args::{self, is};
use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::rdb::dump_payload;

pub static COMMANDS: &[CommandSpec] = &[spec("migrate", -6, WRITE, (3, 3, 1), "generic", migrate)];

/// A cached connection is closed after this long unused (MIGRATE_SOCKET_CACHE_TTL).
const CACHE_TTL: Duration = Duration::from_secs(10);
/// Keys sent per RESTORE pipeline batch.
const BATCH: usize = 10;

/// A connection to a MIGRATE target, with the database last selected on it.
#[derive(Debug)]
struct CachedSocket {
    reader: BufReader<TcpStream>,
    last_db: Option<i64>,
    last_use: Instant,
}

/// Connections to MIGRATE targets by `host:port` (INFO `migrate_cached_sockets`).
#[derive(Debug, Default)]
pub struct SocketCache {
    sockets: Mutex<HashMap<String, CachedSocket>>,
}

impl SocketCache {
    pub fn len(&self) -> usize {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the connections unused for 10 seconds (from the cron).
    pub fn expire_idle(&self) {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, s| s.last_use.elapsed() < CACHE_TTL);
    }

    fn take(&self, target: &str) -> Option<CachedSocket> {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(target)
    }

    fn put(&self, target: String, socket: CachedSocket) {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(target, socket);
    }
}

/// `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key ...]`.
struct Request {
    host: String,
    port: u16,
    db: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    auth: Option<Vec<Bytes>>,
    keys: Vec<Bytes>,
}

fn parse(a: &[Bytes]) -> Result<Request, CmdError> {
    let mut req = Request {
        host: String::from_utf8_lossy(&a[1]).into_owned(),
        port: 0,
        db: args::int(&a[4])?,
        timeout: Duration::ZERO,
        copy: false,
        replace: false,
        auth: None,
        keys: Vec::new(),
    };
    let mut first_key = None;
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - j - 1;
        if is(&a[j], "COPY") {
            req.copy = true;
        } else if is(&a[j], "REPLACE") {
            req.replace = true;
        } else if is(&a[j], "AUTH") {
            if more < 1 {
                return Err(CmdError::Syntax);
            }
            req.auth = Some(vec![a[j + 1].clone()]);
            j += 1;
        } else if is(&a[j], "AUTH2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            req.auth = Some(vec![a[j + 1].clone(), a[j + 2].clone()]);
            j += 2;
        } else if is(&a[j], "KEYS") {
            if !a[3].is_empty() {
                return Err(CmdError::msg(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            first_key = Some(j + 1);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let port = args::int(&a[2])?;
    let timeout = args::int(&a[5])?;
    req.port = u16::try_from(port).map_err(|_| CmdError::NotInteger)?;
    req.timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    req.keys = match first_key {
        Some(k) => a[k..].to_vec(),
        None => vec![a[3].clone()],
    };
    Ok(req)
}

/// Appends a command in RESP to `out`.
fn encode(out: &mut BytesMut, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads one reply line (`+OK`, `-ERR ...`); RESTORE and SELECT reply with nothing else.
fn read_line(reader: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn io_error(target: &str, e: &std::io::Error) -> CmdError {
    crate::verbose!("MIGRATE to {target}: {e}");
    CmdError::msg("IOERR error or timeout reading to target instance")
}

fn migrate(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let req = parse(a)?;
    let now = ctx.now;
    // The keys that exist, with their values and time left.
    let mut found: Vec<(Bytes, Vec<u8>, i64)> = Vec::new();
    for key in &req.keys {
        let Some(entry) = ctx.read(key) else {
            continue;
        };
        let ttl = match entry.expire_at() {
            Some(at) => (at.saturating_sub(now)).max(1) as i64,
            None => 0,
        };
        found.push((key.clone(), dump_payload(&entry.value), ttl));
    }
    if found.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    let target = format!("{}:{}", req.host, req.port);
    let cache = &ctx.server.migrate_sockets;
    let mut socket = match cache.take(&target) {
        Some(s) => s,
        None => {
            let addr = (req.host.as_str(), req.port);
            let stream = std::net::ToSocketAddrs::to_socket_addrs(&addr)
                .ok()
                .and_then(|mut addrs| addrs.next())
                .and_then(|addr| TcpStream::connect_timeout(&addr, req.timeout).ok())
                .ok_or_else(|| CmdError::msg("IOERR error or timeout connecting to the client"))?;
            CachedSocket {
                reader: BufReader::new(stream),
                last_db: None,
                last_use: Instant::now(),
            }
        }
    };
    let stream = socket.reader.get_ref();
    let _ = stream.set_read_timeout(Some(req.timeout));
    let _ = stream.set_write_timeout(Some(req.timeout));
    let _ = stream.set_nodelay(true);
    let outcome = transfer(&mut socket, &req, &found);
    let (acked, error) = match outcome {
        Ok(result) => result,
        Err(e) => {
            // The connection is in an unknown state: not cached.
            return Err(io_error(&target, &e));
        }
    };
    socket.last_use = Instant::now();
    cache.put(target, socket);
    if !req.copy && !acked.is_empty() {
        let mut del = vec![Bytes::from_static(b"DEL")];
        for key in &acked {
            ctx.db().remove(key);
            ctx.modified(key);
            ctx.notify(crate::notify::class::GENERIC, "del", key);
            del.push(key.clone());
        }
        ctx.propagate(del);
    } else {
        ctx.propagate_as = Some(Vec::new());
    }
    match error {
        Some(e) => Err(CmdError::msg(format!(
            "ERR Target instance replied with error: {e}"
        ))),
        None => {
            ctx.out.ok();
            Ok(())
        }
    }
}

/// Sends AUTH, SELECT and the RESTOREs and reads their replies. Returns the keys the
/// target stored and the first error it replied with.
#[allow(clippy::type_complexity)]
fn transfer(
    socket: &mut CachedSocket,
    req: &Request,
    found: &[(Bytes, Vec<u8>, i64)],
) -> std::io::Result<(Vec<Bytes>, Option<String>)> {
    let mut out = BytesMut::new();
    let mut expect_extra = 0;
    if let Some(auth) = &req.auth {
        let mut cmd: Vec<&[u8]> = vec![b"AUTH"];
        cmd.extend(auth.iter().map(|a| &a[..]));
        encode(&mut out, &cmd);
        expect_extra += 1;
    }
    let select = socket.last_db != Some(req.db);
    if select {
        encode(&mut out, &[b"SELECT", req.db.to_string().as_bytes()]);
        expect_extra += 1;
    }
    socket.reader.get_mut().write_all(&out)?;
    let mut error = None;
    for _ in 0..expect_extra {
        let line = read_line(&mut socket.reader)?;
        if let Some(e) = line.strip_prefix('-') {
            error.get_or_insert_with(|| e.to_string());
        }
    }
    if error.is_some() {
        socket.last_db = None;
        return Ok((Vec::new(), error));
    }
    if select {
        socket.last_db = Some(req.db);
    }
    let mut acked = Vec::new();
    for batch in found.chunks(BATCH) {
        out.clear();
        for (key, payload, ttl) in batch {
            let ttl = ttl.to_string();
            let mut cmd: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), payload];
            if req.replace {
                cmd.push(b"REPLACE");
            }
            encode(&mut out, &cmd);
        }
        socket.reader.get_mut().write_all(&out)?;
        for (key, _, _) in batch {
            let line = read_line(&mut socket.reader)?;
            match line.strip_prefix('-') {
                Some(e) => {
                    error.get_or_insert_with(|| e.to_string());
                }
                None => acked.push(key.clone()),
            }
        }
    }
    Ok((acked, error))
}
