//! Commands on keys of any type: DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, MOVE, COPY,
//! expiry (EXPIRE family, TTL family, PERSIST), TOUCH, RANDOMKEY, OBJECT.

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{glob_match, ValueKind};
use crate::notify::class;

pub static COMMANDS: &[CommandSpec] = &[
    spec("del", -2, WRITE, (1, -1, 1), "generic", del),
    spec("unlink", -2, WRITE | FAST, (1, -1, 1), "generic", del),
    spec("exists", -2, READONLY | FAST, (1, -1, 1), "generic", exists),
    spec("type", 2, READONLY | FAST, (1, 1, 1), "generic", type_),
    spec("keys", 2, READONLY, (0, 0, 0), "generic", keys),
    spec("scan", -2, READONLY, (0, 0, 0), "generic", scan),
    spec("randomkey", 1, READONLY, (0, 0, 0), "generic", randomkey),
    spec("rename", 3, WRITE, (1, 2, 1), "generic", rename),
    spec("renamenx", 3, WRITE | FAST, (1, 2, 1), "generic", renamenx),
    spec("move", 3, WRITE | FAST, (1, 1, 1), "generic", move_),
    spec("copy", -3, WRITE | DENYOOM, (1, 2, 1), "generic", copy),
    spec("expire", -3, WRITE | FAST, (1, 1, 1), "generic", expire),
    spec("pexpire", -3, WRITE | FAST, (1, 1, 1), "generic", pexpire),
    spec("expireat", -3, WRITE | FAST, (1, 1, 1), "generic", expireat),
    spec(
        "pexpireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        pexpireat,
    ),
    spec("ttl", 2, READONLY | FAST, (1, 1, 1), "generic", ttl),
    spec("pttl", 2, READONLY | FAST, (1, 1, 1), "generic", pttl),
    spec(
        "expiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        expiretime,
    ),
    spec(
        "pexpiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        pexpiretime,
    ),
    spec("persist", 2, WRITE | FAST, (1, 1, 1), "generic", persist),
    spec("touch", -2, READONLY | FAST, (1, -1, 1), "generic", touch),
    spec(
        "object",
        -2,
        READONLY | CONTAINER,
        (2, 2, 1),
        "generic",
        object,
    ),
];

fn del(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    let mut n = 0;
    for key in &a[1..] {
        // Expire first, so an already-expired key counts as absent (and goes out as DEL).
        if ctx.db().get(key, now).is_some() {
            ctx.db().remove(key);
            ctx.modified(key);
            ctx.notify(class::GENERIC, "del", key);
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    let mut n = 0;
    for key in &a[1..] {
        if ctx.db().contains(key, now) {
            n += 1;
        } else {
            ctx.missed(key);
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn type_(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    let name = ctx
        .db()
        .get_untouched(&a[1], now)
        .map(|e| e.value.kind().name());
    if name.is_none() {
        ctx.missed(&a[1]);
    }
    ctx.out.simple(name.unwrap_or("none"));
    Ok(())
}

fn keys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let pattern = &a[1];
    let all = pattern.as_ref() == b"*";
    // Borrow keys straight from the database into the reply.
    let db = &ctx.state.dbs[ctx.client.db];
    let found: Vec<&[u8]> = db
        .keys(ctx.now)
        .filter(|k| all || glob_match(pattern, k, false))
        .collect();
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// Parsed `MATCH`, `COUNT` and `TYPE` options shared by SCAN, HSCAN, SSCAN and ZSCAN.
pub(super) struct ScanOptions {
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub kind: Option<ValueKind>,
}

/// Parses a SCAN cursor (`ERR invalid cursor`).
pub(super) fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| CmdError::msg("ERR invalid cursor"))
}

pub(super) fn parse_scan_options(a: &[Bytes], allow_type: bool) -> Result<ScanOptions, CmdError> {
    let mut opts = ScanOptions {
        pattern: None,
        count: 10,
        kind: None,
    };
    let mut i = 0;
    while i < a.len() {
        if i + 1 >= a.len() {
            return Err(CmdError::Syntax);
        }
        if is(&a[i], "MATCH") {
            opts.pattern = (a[i + 1].as_ref() != b"*").then(|| a[i + 1].clone());
        } else if is(&a[i], "COUNT") {
            let n = args::int(&a[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            opts.count = n as usize;
        } else if allow_type && is(&a[i], "TYPE") {
            // An unknown type matches nothing, as in Redis.
            opts.kind = ValueKind::from_name(&a[i + 1]);
            if opts.kind.is_none() {
                opts.pattern = Some(Bytes::from_static(b"\x00no type matches\x00"));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

/// One step of HSCAN, SSCAN or ZSCAN over a collection's elements (`(member, payload)`).
///
/// A compact collection (what Redis keeps as a listpack or intset) is returned whole with
/// cursor 0, as Redis does. A large one is walked in the order of a fixed hash of each
/// member, the cursor being the next hash to visit: a member present for the whole scan
/// is returned, whatever is added or removed in between. Each step costs O(n).
pub(super) fn scan_collection<'a, T>(
    items: impl Iterator<Item = (&'a [u8], T)>,
    compact: bool,
    cursor: u64,
    opts: &ScanOptions,
) -> (u64, Vec<(&'a [u8], T)>) {
    let keep = |m: &[u8]| {
        opts.pattern
            .as_ref()
            .is_none_or(|p| glob_match(p, m, false))
    };
    if compact {
        return (0, items.filter(|(m, _)| keep(m)).collect());
    }
    let hasher = foldhash::fast::FixedState::with_seed(0x7a6e_6465_6d00);
    let mut ranked: Vec<(u64, (&'a [u8], T))> = items
        .map(|item| (std::hash::BuildHasher::hash_one(&hasher, item.0), item))
        .filter(|(h, _)| *h >= cursor)
        .collect();
    ranked.sort_unstable_by_key(|(h, _)| *h);
    // Never split members of equal hash across two steps.
    let mut take = opts.count.min(ranked.len());
    while take > 0 && take < ranked.len() && ranked[take].0 == ranked[take - 1].0 {
        take += 1;
    }
    let next = match ranked.get(take) {
        Some((h, _)) => *h,
        None => 0,
    };
    ranked.truncate(take);
    let found = ranked
        .into_iter()
        .map(|(_, item)| item)
        .filter(|(m, _)| keep(m))
        .collect();
    (next, found)
}

fn scan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[1])?;
    let opts = parse_scan_options(&a[2..], true)?;
    let now = ctx.now;
    let mut found = Vec::new();
    let mut expired = Vec::new();
    let next = ctx.db().scan(cursor, opts.count, now, |k, e, live| {
        if opts
            .pattern
            .as_ref()
            .is_some_and(|p| !glob_match(p, k, false))
        {
            return;
        }
        if !live {
            expired.push(Bytes::copy_from_slice(k));
            return;
        }
        if opts.kind.is_some_and(|t| e.value.kind() != t) {
            return;
        }
        found.push(Bytes::copy_from_slice(k));
    });
    // The matching keys whose time has passed are deleted (and the DELs propagated), as
    // Redis's SCAN does when it meets them.
    for key in &expired {
        ctx.db().contains(key, now);
    }
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    match ctx.db().random_key(now) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Moves `src` to `dst` keeping its TTL; returns false (and does nothing) when `nx` and
/// `dst` exists.
fn rename_generic(ctx: &mut Ctx, a: &[Bytes], nx: bool) -> Result<bool, CmdError> {
    let now = ctx.now;
    let (src, dst) = (&a[1], &a[2]);
    let db = ctx.db();
    if db.get(src, now).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        return Ok(!nx);
    }
    if nx && db.contains(dst, now) {
        return Ok(false);
    }
    let stamp = db.access_stamp(src);
    let entry = db.remove(src).expect("checked above");
    let expire = entry.expire_at().unwrap_or(0);
    // The key replaces `dst` whole, access stamp included (an expired `dst` expires
    // first, as Redis's lookup of it does).
    db.contains(dst, now);
    db.remove(dst);
    db.insert(dst, entry.value, expire);
    if let Some(stamp) = stamp {
        db.set_access_stamp(dst, stamp);
    }
    ctx.modified(src);
    ctx.modified(dst);
    ctx.notify(class::GENERIC, "rename_from", src);
    ctx.notify(class::GENERIC, "rename_to", dst);
    Ok(true)
}

fn rename(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    rename_generic(ctx, a, false)?;
    ctx.out.ok();
    Ok(())
}

fn renamenx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let done = rename_generic(ctx, a, true)?;
    ctx.out.int(done as i64);
    Ok(())
}

/// Parses a database index argument against the configured count.
pub(super) fn parse_db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, CmdError> {
    let n = args::int32(arg)?;
    if n < 0 || n as usize >= ctx.state.dbs.len() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    Ok(n as usize)
}

fn move_(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let target = parse_db_index(ctx, &a[2])?;
    let src_db = ctx.client.db;
    if target == src_db {
        return Err(CmdError::msg(
            "ERR source and destination objects are the same",
        ));
    }
    let now = ctx.now;
    let movable = ctx.state.dbs[src_db].get(&a[1], now).is_some()
        && !ctx.state.dbs[target].contains(&a[1], now);
    // An expired key the lookup found in the target goes out as DEL before the MOVE, not
    // with a later command of that database (after which it would delete the moved key).
    ctx.state.propagate_expired(target);
    if !movable {
        ctx.out.int(0);
        return Ok(());
    }
    let stamp = ctx.state.dbs[src_db].access_stamp(&a[1]);
    let entry = ctx.state.dbs[src_db].remove(&a[1]).expect("checked above");
    let expire = entry.expire_at().unwrap_or(0);
    ctx.state.dbs[target].insert(&a[1], entry.value, expire);
    if let Some(stamp) = stamp {
        ctx.state.dbs[target].set_access_stamp(&a[1], stamp);
    }
    ctx.modified(&a[1]);
    ctx.state.signal_modified(target, &a[1]);
    // Redis reports the key's creation in the target first.
    ctx.state.report_created(target);
    ctx.notify(class::GENERIC, "move_from", &a[1]);
    ctx.state.notify(class::GENERIC, "move_to", target, &a[1]);
    ctx.out.int(1);
    Ok(())
}

fn copy(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut target = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if is(&a[i], "REPLACE") {
            replace = true;
        } else if is(&a[i], "DB") && i + 1 < a.len() {
            target = parse_db_index(ctx, &a[i + 1])?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let src_db = ctx.client.db;
    if src_db == target && a[1] == a[2] {
        return Err(CmdError::msg(
            "ERR source and destination objects are the same",
        ));
    }
    let now = ctx.now;
    let Some(entry) = ctx.state.dbs[src_db].get(&a[1], now).cloned() else {
        ctx.missed(&a[1]);
        ctx.out.int(0);
        return Ok(());
    };
    // Looked up in any case, so an expired destination expires (and goes out as DEL,
    // before the COPY) as Redis's lookup makes it.
    let exists = ctx.state.dbs[target].contains(&a[2], now);
    ctx.state.propagate_expired(target);
    if !replace && exists {
        ctx.out.int(0);
        return Ok(());
    }
    // Collections are shared until written, so the copy is cheap until then. A new key:
    // a replaced one goes first, so the copy's access stamp starts afresh.
    let expire = entry.expire_at().unwrap_or(0);
    ctx.state.dbs[target].remove(&a[2]);
    ctx.state.dbs[target].insert(&a[2], entry.value, expire);
    ctx.state.signal_modified(target, &a[2]);
    ctx.modified += 1;
    ctx.state.notify(class::GENERIC, "copy_to", target, &a[2]);
    ctx.out.int(1);
    Ok(())
}

/// EXPIRE family: `unit_ms` for PEXPIRE*, `absolute` for *AT.
fn expire_generic(ctx: &mut Ctx, a: &[Bytes], unit_ms: bool, absolute: bool) -> CmdResult {
    let name = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
    let n = args::int(&a[2])?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &a[3..] {
        if is(opt, "NX") {
            nx = true;
        } else if is(opt, "XX") {
            xx = true;
        } else if is(opt, "GT") {
            gt = true;
        } else if is(opt, "LT") {
            lt = true;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{name}' command"));
    let ms = if unit_ms {
        n
    } else {
        n.checked_mul(1000).ok_or_else(invalid)?
    };
    let at = if absolute {
        ms
    } else {
        ms.checked_add(ctx.now as i64).ok_or_else(invalid)?
    };
    let key = a[1].clone();
    let now = ctx.now;
    let Some(current) = ctx.db().get(&key, now).map(|e| e.expire_at()) else {
        ctx.out.int(0);
        return Ok(());
    };
    let blocked = match current {
        Some(cur) => (nx) || (gt && at <= cur as i64) || (lt && at >= cur as i64),
        // No TTL counts as an infinite one.
        None => xx || gt,
    };
    if blocked {
        ctx.out.int(0);
        return Ok(());
    }
    // A time already past deletes the key, except on a replica applying its master's
    // stream: there the expiry is set and the master's DEL follows, as in Redis.
    if at <= now as i64 && !ctx.client.is_master {
        ctx.db().remove(&key);
        ctx.modified(&key);
        ctx.notify(class::GENERIC, "del", &key);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key]);
    } else {
        ctx.db().set_expire(&key, at as u64);
        ctx.modified(&key);
        ctx.notify(class::GENERIC, "expire", &key);
        ctx.propagate(vec![
            Bytes::from_static(b"PEXPIREAT"),
            key,
            args::int_bytes(at),
        ]);
    }
    ctx.out.int(1);
    Ok(())
}

fn expire(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, false, false)
}

fn pexpire(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, true, false)
}

fn expireat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, false, true)
}

fn pexpireat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, true, true)
}

/// TTL family: -2 absent, -1 no expiry, else the time left or the absolute time.
fn ttl_generic(ctx: &mut Ctx, key: &[u8], unit_ms: bool, absolute: bool) -> CmdResult {
    let now = ctx.now;
    let reply = match ctx.db().get_untouched(key, now) {
        None => {
            ctx.missed(key);
            -2
        }
        Some(e) => match e.expire_at() {
            None => -1,
            Some(at) => {
                let v = if absolute {
                    at as i64
                } else {
                    (at as i64 - now as i64).max(0)
                };
                if unit_ms {
                    v
                } else if absolute {
                    v / 1000
                } else {
                    (v + 500) / 1000
                }
            }
        },
    };
    ctx.out.int(reply);
    Ok(())
}

fn ttl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], false, false)
}

fn pttl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], true, false)
}

fn expiretime(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], false, true)
}

fn pexpiretime(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], true, true)
}

fn persist(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    let has_ttl = ctx
        .db()
        .get(&a[1], now)
        .and_then(|e| e.expire_at())
        .is_some();
    if has_ttl {
        ctx.db().set_expire(&a[1], 0);
        ctx.modified(&a[1]);
        ctx.notify(class::GENERIC, "persist", &a[1]);
    }
    ctx.out.int(has_ttl as i64);
    Ok(())
}

fn touch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    let mut n = 0;
    for key in &a[1..] {
        if ctx.db().get_mut(key, now).is_some() {
            n += 1;
        } else {
            ctx.missed(key);
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn object(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = &a[1];
    if is(sub, "HELP") {
        let lines = [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ];
        super::reply_help(ctx, &lines);
        return Ok(());
    }
    let Some(name) = ["encoding", "refcount", "idletime", "freq"]
        .into_iter()
        .find(|n| is(sub, n))
    else {
        return Err(super::unknown_subcommand("object", sub));
    };
    super::subcommand_arity(&format!("object|{name}"), 3, a.len())?;
    let policy_lfu = ctx.server.config().get("maxmemory-policy").contains("lfu");
    let Some(entry) = ctx.state.dbs[ctx.client.db]
        .peek(&a[2])
        .filter(|e| e.expire_at().is_none_or(|t| t > ctx.now))
    else {
        ctx.out.null();
        return Ok(());
    };
    if is(sub, "ENCODING") {
        let enc = entry.value.encoding();
        ctx.out.bulk(enc.as_bytes());
    } else if is(sub, "REFCOUNT") {
        let refcount = ctx.state.encoding.refcount(&entry.value);
        ctx.out.int(refcount);
    } else if is(sub, "IDLETIME") {
        if policy_lfu {
            return Err(CmdError::msg("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        let idle = ctx.state.dbs[ctx.client.db].idle_secs(&a[2]).unwrap_or(0);
        ctx.out.int(i64::from(idle));
    } else if is(sub, "FREQ") {
        if !policy_lfu {
            return Err(CmdError::msg("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        let freq = ctx.state.dbs[ctx.client.db].frequency(&a[2]).unwrap_or(0);
        ctx.out.int(i64::from(freq));
    } else {
        return Err(super::unknown_subcommand("object", sub));
    }
    Ok(())
}
