//! String commands: GET, SET and its options, counters, ranges, multi-key forms.

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::value::reserve_greedy;
use crate::keyspace::{Value, ValueKind};
use crate::notify::class;

pub static COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, (1, 1, 1), "string", get),
    spec("set", -3, WRITE | DENYOOM, (1, 1, 1), "string", set),
    spec(
        "setnx",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        setnx,
    ),
    spec("setex", 4, WRITE | DENYOOM, (1, 1, 1), "string", setex),
    spec("psetex", 4, WRITE | DENYOOM, (1, 1, 1), "string", psetex),
    spec(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        getset,
    ),
    spec("getdel", 2, WRITE | FAST, (1, 1, 1), "string", getdel),
    spec("getex", -2, WRITE | FAST, (1, 1, 1), "string", getex),
    spec("mget", -2, READONLY | FAST, (1, -1, 1), "string", mget),
    spec("mset", -3, WRITE | DENYOOM, (1, -1, 2), "string", mset),
    spec("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), "string", msetnx),
    spec("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "string", incr),
    spec("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "string", decr),
    spec(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        incrby,
    ),
    spec(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        decrby,
    ),
    spec(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        incrbyfloat,
    ),
    spec(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "string",
        append,
    ),
    spec("strlen", 2, READONLY | FAST, (1, 1, 1), "string", strlen),
    spec("getrange", 4, READONLY, (1, 1, 1), "string", getrange),
    spec("substr", 4, READONLY, (1, 1, 1), "string", getrange),
    spec(
        "setrange",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "string",
        setrange,
    ),
    spec("lcs", -3, READONLY, (1, 2, 1), "string", lcs),
];

/// Reads a copy of a string value: `Ok(None)` when absent, WRONGTYPE for other types.
pub(super) fn read_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Box<[u8]>>, CmdError> {
    Ok(ctx
        .read_typed(key, ValueKind::Str)?
        .and_then(Value::as_str)
        .map(Box::from))
}

fn get(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match ctx.read_for_reply(&a[1], ValueKind::Str)? {
        (Some(v), out) => out.bulk(v.as_str().unwrap_or_default()),
        (None, out) => out.null(),
    }
    Ok(())
}

/// When a SET-family command makes its key expire.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expiry {
    None,
    Keep,
    /// Absolute Unix ms.
    At(u64),
}

/// Parses `EX s | PX ms | EXAT s | PXAT ms` value into an absolute time; `cmd` names the
/// command in the error, as Redis does.
fn expire_at(
    unit_ms: bool,
    absolute: bool,
    arg: &[u8],
    now: u64,
    cmd: &str,
) -> Result<u64, CmdError> {
    let n = args::int(arg)?;
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{cmd}' command"));
    if n <= 0 {
        return Err(invalid());
    }
    let ms = if unit_ms {
        n
    } else {
        n.checked_mul(1000).ok_or_else(invalid)?
    };
    let at = if absolute {
        ms
    } else {
        ms.checked_add(now as i64).ok_or_else(invalid)?
    };
    Ok(at as u64)
}

/// Stores a string, propagating a command with an expiry as `SET key value PXAT ms`, as
/// Redis 7.0 does (whatever form the expiry was given in).
fn store(ctx: &mut Ctx, key: &Bytes, value: &Bytes, expiry: Expiry) {
    let now = ctx.now;
    let db = ctx.db();
    let keep = match expiry {
        Expiry::Keep => db.get(key, now).and_then(|e| e.expire_at()).unwrap_or(0),
        Expiry::At(at) => at,
        Expiry::None => 0,
    };
    // A copy, not a clone: the argument's allocation is freed with the request.
    db.insert(key, Value::string(value), keep);
    ctx.modified(key);
    ctx.notify(class::STRING, "set", key);
    if let Expiry::At(at) = expiry {
        ctx.notify(class::GENERIC, "expire", key);
        ctx.propagate(vec![
            Bytes::from_static(b"SET"),
            key.clone(),
            value.clone(),
            Bytes::from_static(b"PXAT"),
            args::int_bytes(at as i64),
        ]);
    }
}

fn set(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx, mut want_get) = (false, false, false);
    let mut expiry = Expiry::None;
    let mut i = 3;
    while i < a.len() {
        let opt = &a[i];
        let has_next = i + 1 < a.len();
        if is(opt, "NX") && !xx {
            nx = true;
        } else if is(opt, "XX") && !nx {
            xx = true;
        } else if is(opt, "GET") {
            want_get = true;
        } else if is(opt, "KEEPTTL") && expiry == Expiry::None {
            expiry = Expiry::Keep;
        } else if (is(opt, "EX") || is(opt, "PX") || is(opt, "EXAT") || is(opt, "PXAT"))
            && expiry == Expiry::None
            && has_next
        {
            let ms = is(opt, "PX") || is(opt, "PXAT");
            let absolute = is(opt, "EXAT") || is(opt, "PXAT");
            expiry = Expiry::At(expire_at(ms, absolute, &a[i + 1], ctx.now, "set")?);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let key = &a[1];
    let old = if want_get {
        read_string(ctx, key)?
    } else {
        None
    };
    let now = ctx.now;
    let exists = (nx || xx) && ctx.db().contains(key, now);
    if (nx && exists) || (xx && !exists) {
        if want_get {
            match old {
                Some(v) => ctx.out.bulk(&v),
                None => ctx.out.null(),
            }
        } else {
            ctx.out.null();
        }
        return Ok(());
    }
    store(ctx, key, &a[2], expiry);
    if want_get && !matches!(expiry, Expiry::At(_)) {
        // Propagated without its GET, as Redis does.
        let without_get = a.iter().filter(|arg| !is(arg, "GET")).cloned().collect();
        ctx.propagate(without_get);
    }
    if want_get {
        match old {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    if ctx.db().contains(&a[1], now) {
        ctx.out.int(0);
    } else {
        store(ctx, &a[1], &a[2], Expiry::None);
        ctx.out.int(1);
    }
    Ok(())
}

fn setex_generic(ctx: &mut Ctx, a: &[Bytes], ms: bool, name: &str) -> CmdResult {
    let at = expire_at(ms, false, &a[2], ctx.now, name)?;
    store(ctx, &a[1], &a[3], Expiry::At(at));
    ctx.out.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setex_generic(ctx, a, false, "setex")
}

fn psetex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setex_generic(ctx, a, true, "psetex")
}

fn getset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let old = read_string(ctx, &a[1])?;
    store(ctx, &a[1], &a[2], Expiry::None);
    ctx.propagate(vec![Bytes::from_static(b"SET"), a[1].clone(), a[2].clone()]);
    match old {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn getdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match read_string(ctx, &a[1])? {
        Some(v) => {
            ctx.db().remove(&a[1]);
            ctx.modified(&a[1]);
            ctx.notify(class::GENERIC, "del", &a[1]);
            ctx.propagate(vec![Bytes::from_static(b"DEL"), a[1].clone()]);
            ctx.out.bulk(&v);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn getex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut expiry = Expiry::None;
    let mut persist = false;
    let mut i = 2;
    while i < a.len() {
        let opt = &a[i];
        if (is(opt, "EX") || is(opt, "PX") || is(opt, "EXAT") || is(opt, "PXAT"))
            && expiry == Expiry::None
            && !persist
            && i + 1 < a.len()
        {
            let ms = is(opt, "PX") || is(opt, "PXAT");
            let absolute = is(opt, "EXAT") || is(opt, "PXAT");
            expiry = Expiry::At(expire_at(ms, absolute, &a[i + 1], ctx.now, "getex")?);
            i += 2;
        } else if is(opt, "PERSIST") && expiry == Expiry::None && !persist {
            persist = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(v) = read_string(ctx, &a[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let key = a[1].clone();
    match expiry {
        Expiry::At(at) if at <= ctx.now => {
            ctx.db().remove(&key);
            ctx.modified(&key);
            ctx.notify(class::GENERIC, "del", &key);
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key]);
        }
        Expiry::At(at) => {
            ctx.db().set_expire(&key, at);
            ctx.modified(&key);
            ctx.notify(class::GENERIC, "expire", &key);
            ctx.propagate(vec![
                Bytes::from_static(b"PEXPIREAT"),
                key,
                args::int_bytes(at as i64),
            ]);
        }
        _ if persist => {
            let now = ctx.now;
            if ctx
                .db()
                .get(&key, now)
                .and_then(|e| e.expire_at())
                .is_some()
            {
                ctx.db().set_expire(&key, 0);
                ctx.modified(&key);
                ctx.notify(class::GENERIC, "persist", &key);
                ctx.propagate(vec![Bytes::from_static(b"PERSIST"), key]);
            } else {
                ctx.propagate_as = Some(Vec::new());
            }
        }
        _ => ctx.propagate_as = Some(Vec::new()),
    }
    ctx.out.bulk(&v);
    Ok(())
}

fn mget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ctx.out.array(a.len() - 1);
    for key in &a[1..] {
        match ctx.read_for_reply(key, ValueKind::Str) {
            Ok((Some(v), out)) => out.bulk(v.as_str().unwrap_or_default()),
            Ok((None, out)) => out.null(),
            Err(_) => ctx.out.null(),
        }
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Arity("mset".into()));
    }
    for pair in a[1..].chunks(2) {
        store(ctx, &pair[0], &pair[1], Expiry::None);
    }
    ctx.out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Arity("msetnx".into()));
    }
    let now = ctx.now;
    if a[1..].chunks(2).any(|p| ctx.db().contains(&p[0], now)) {
        ctx.out.int(0);
        return Ok(());
    }
    for pair in a[1..].chunks(2) {
        store(ctx, &pair[0], &pair[1], Expiry::None);
    }
    ctx.out.int(1);
    Ok(())
}

/// INCR and its kin (one event name for all four, as in Redis). A write lookup: a
/// missing key is not a keyspace miss.
fn incr_by(ctx: &mut Ctx, key: &Bytes, delta: i64) -> CmdResult {
    let current = match ctx.write_typed(key, ValueKind::Str)? {
        Some(v) => args::int(v.as_str().unwrap_or_default())?,
        None => 0,
    };
    let new = current.checked_add(delta).ok_or(CmdError::Overflow)?;
    let value = Value::string(itoa::Buffer::new().format(new).as_bytes());
    ctx.db().set_value_keep_ttl(key, value);
    ctx.modified(key);
    ctx.notify(class::STRING, "incrby", key);
    ctx.out.int(new);
    Ok(())
}

fn incr(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    incr_by(ctx, &a[1], 1)
}

fn decr(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    incr_by(ctx, &a[1], -1)
}

fn incrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    incr_by(ctx, &a[1], args::int(&a[2])?)
}

fn decrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = args::int(&a[2])?;
    if n == i64::MIN {
        return Err(CmdError::msg("ERR decrement would overflow"));
    }
    incr_by(ctx, &a[1], -n)
}

fn incrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = a[1].clone();
    let current: Option<Box<[u8]>> = ctx
        .write_typed(&key, ValueKind::Str)?
        .and_then(|v| v.as_str())
        .map(Box::from);
    let text = Bytes::from(super::long_double::incr_by_float(
        current.as_deref(),
        &a[2],
    )?);
    ctx.db().set_value_keep_ttl(&key, Value::string(&text));
    ctx.modified(&key);
    ctx.notify(class::STRING, "incrbyfloat", &key);
    ctx.propagate(vec![
        Bytes::from_static(b"SET"),
        key,
        text.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]);
    ctx.out.bulk(&text);
    Ok(())
}

/// Largest string APPEND/SETRANGE may build (`proto-max-bulk-len`).
fn check_size_within(max: u64, len: u64) -> CmdResult {
    if len > max {
        return Err(CmdError::msg(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

/// APPEND: in place, into the string's spare room (see [`Collection::Raw`]).
///
/// [`Collection::Raw`]: crate::keyspace::Collection::Raw
fn append(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (key, tail) = (&a[1], &a[2]);
    let max = ctx.server.limits().parse.max_bulk_len;
    let len = match ctx.write_typed(key, ValueKind::Str)? {
        Some(value) => {
            let s = value.str_mut().expect("a string value");
            check_size_within(max, (s.len() + tail.len()) as u64)?;
            reserve_greedy(s, tail.len());
            s.extend_from_slice(tail);
            s.len()
        }
        None => {
            ctx.db().insert(key, Value::string(tail), 0);
            tail.len()
        }
    };
    ctx.modified(key);
    ctx.notify(class::STRING, "append", key);
    ctx.out.int(len as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match ctx.read_for_reply(&a[1], ValueKind::Str)? {
        (Some(v), out) => out.int(v.as_str().map_or(0, <[u8]>::len) as i64),
        (None, out) => out.int(0),
    }
    Ok(())
}

fn getrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = args::int(&a[2])?;
    let end = args::int(&a[3])?;
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::Str)?;
    let v = value.and_then(Value::as_str).unwrap_or_default();
    out.bulk(substring(v, start, end));
    Ok(())
}

/// GETRANGE's clamping, including Redis's quirk that two negative indexes beyond the
/// start clamp to the first byte rather than to an empty range.
fn substring(v: &[u8], mut start: i64, mut end: i64) -> &[u8] {
    let len = v.len() as i64;
    if start < 0 && end < 0 && start > end {
        return b"";
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        b""
    } else {
        &v[start as usize..=end as usize]
    }
}

fn setrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let offset = args::int(&a[2])?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let (key, patch) = (&a[1], &a[3]);
    let end = offset as usize + patch.len();
    let max = ctx.server.limits().parse.max_bulk_len;
    let len = match ctx.write_typed(key, ValueKind::Str)? {
        Some(value) if patch.is_empty() => value.as_str().map_or(0, <[u8]>::len),
        None if patch.is_empty() => 0,
        Some(value) => {
            check_size_within(max, end as u64)?;
            let s = value.str_mut().expect("a string value");
            write_at(s, offset as usize, patch);
            s.len()
        }
        None => {
            check_size_within(max, end as u64)?;
            // A new string of exactly the size needed, as Redis makes it.
            let mut s = Vec::with_capacity(end);
            write_at(&mut s, offset as usize, patch);
            ctx.db().insert(key, Value::raw(s), 0);
            end
        }
    };
    if !patch.is_empty() {
        ctx.modified(key);
        ctx.notify(class::STRING, "setrange", key);
    }
    ctx.out.int(len as i64);
    Ok(())
}

/// Writes `bytes` at `offset` of `s`, zero-padding it first if it is shorter (SETRANGE,
/// and the bit commands through [`reserve_greedy`]'s growth).
pub(super) fn write_at(s: &mut Vec<u8>, offset: usize, bytes: &[u8]) {
    let end = offset + bytes.len();
    if s.len() < end {
        reserve_greedy(s, end - s.len());
        s.resize(end, 0);
    }
    s[offset..end].copy_from_slice(bytes);
}

/// One common run found by LCS: its range in each string and its length.
struct LcsMatch {
    a: (usize, usize),
    b: (usize, usize),
    len: usize,
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
fn lcs(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // The keys first, then the options, as Redis checks them.
    let not_strings = |_| CmdError::msg("ERR The specified keys must contain string values");
    let x = read_string(ctx, &a[1]).map_err(not_strings)?;
    let y = read_string(ctx, &a[2]).map_err(not_strings)?;
    let (x, y) = (x.unwrap_or_default(), y.unwrap_or_default());
    let (mut want_len, mut want_idx, mut with_match_len, mut min_len) = (false, false, false, 0i64);
    let mut i = 3;
    while i < a.len() {
        if is(&a[i], "LEN") {
            want_len = true;
        } else if is(&a[i], "IDX") {
            want_idx = true;
        } else if is(&a[i], "WITHMATCHLEN") {
            with_match_len = true;
        } else if is(&a[i], "MINMATCHLEN") && i + 1 < a.len() {
            min_len = args::int(&a[i + 1])?.max(0);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if want_len && want_idx {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    if (x.len() as u64).saturating_mul(y.len() as u64) > 512 * 1024 * 1024 {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // Dynamic programming table of LCS lengths of suffixes... prefixes, as Redis does.
    let (n, m) = (x.len(), y.len());
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in 1..=n {
        for j in 1..=m {
            t[at(i, j)] = if x[i - 1] == y[j - 1] {
                t[at(i - 1, j - 1)] + 1
            } else {
                t[at(i - 1, j)].max(t[at(i, j - 1)])
            };
        }
    }
    let total = t[at(n, m)] as usize;
    // Walk back to build the string and the matching ranges.
    let mut result = vec![0u8; total];
    let mut matches: Vec<LcsMatch> = Vec::new();
    let (mut i, mut j, mut idx) = (n, m, total);
    let mut cur: Option<((usize, usize), (usize, usize))> = None;
    while i > 0 && j > 0 {
        if x[i - 1] == y[j - 1] {
            idx -= 1;
            result[idx] = x[i - 1];
            match &mut cur {
                Some((ra, rb)) if ra.0 == i && rb.0 == j => {
                    ra.0 = i - 1;
                    rb.0 = j - 1;
                }
                _ => {
                    if let Some((ra, rb)) = cur.take() {
                        let len = ra.1 - ra.0 + 1;
                        if len as i64 >= min_len {
                            matches.push(LcsMatch { a: ra, b: rb, len });
                        }
                    }
                    cur = Some(((i - 1, i - 1), (j - 1, j - 1)));
                }
            }
            i -= 1;
            j -= 1;
        } else if t[at(i - 1, j)] > t[at(i, j - 1)] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    if let Some((ra, rb)) = cur {
        let len = ra.1 - ra.0 + 1;
        if len as i64 >= min_len {
            matches.push(LcsMatch { a: ra, b: rb, len });
        }
    }
    if want_len {
        ctx.out.int(total as i64);
    } else if want_idx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(matches.len());
        for LcsMatch { a: ra, b: rb, len } in &matches {
            ctx.out.array(if with_match_len { 3 } else { 2 });
            ctx.out.array(2);
            ctx.out.int(ra.0 as i64);
            ctx.out.int(ra.1 as i64);
            ctx.out.array(2);
            ctx.out.int(rb.0 as i64);
            ctx.out.int(rb.1 as i64);
            if with_match_len {
                ctx.out.int(*len as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&result);
    }
    Ok(())
}
