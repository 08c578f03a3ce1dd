//! Hash commands.

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::generic::{parse_cursor, parse_scan_options, scan_collection};
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{remove_field, Collection, FieldMap, Value, ValueKind};
use crate::notify::class;

pub static COMMANDS: &[CommandSpec] = &[
    spec("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", hset),
    spec(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        hmset,
    ),
    spec(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        hsetnx,
    ),
    spec("hget", 3, READONLY | FAST, (1, 1, 1), "hash", hget),
    spec("hmget", -3, READONLY | FAST, (1, 1, 1), "hash", hmget),
    spec("hdel", -3, WRITE | FAST, (1, 1, 1), "hash", hdel),
    spec("hlen", 2, READONLY | FAST, (1, 1, 1), "hash", hlen),
    spec("hstrlen", 3, READONLY | FAST, (1, 1, 1), "hash", hstrlen),
    spec("hexists", 3, READONLY | FAST, (1, 1, 1), "hash", hexists),
    spec("hkeys", 2, READONLY, (1, 1, 1), "hash", hkeys),
    spec("hvals", 2, READONLY, (1, 1, 1), "hash", hvals),
    spec("hgetall", 2, READONLY, (1, 1, 1), "hash", hgetall),
    spec(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        hincrby,
    ),
    spec(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "hash",
        hincrbyfloat,
    ),
    spec("hrandfield", -2, READONLY, (1, 1, 1), "hash", hrandfield),
    spec("hscan", -3, READONLY, (1, 1, 1), "hash", hscan),
];

fn fields_of(value: &mut Value) -> &mut FieldMap {
    match value.collection_mut() {
        Some(Collection::Hash(h)) => h,
        _ => unreachable!("type checked by the caller"),
    }
}

/// The hash at `key` for a reply, with the reply writer.
fn read_hash<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<(Option<&'c FieldMap>, &'c mut crate::resp::ReplyWriter), CmdError> {
    let (value, out) = ctx.read_for_reply(key, ValueKind::Hash)?;
    Ok((value.and_then(Value::as_hash), out))
}

/// Sets field/value pairs; returns how many fields were new.
fn set_pairs(ctx: &mut Ctx, a: &[Bytes]) -> Result<i64, CmdError> {
    if !a.len().is_multiple_of(2) {
        return Err(CmdError::Arity(
            String::from_utf8_lossy(&a[0]).to_ascii_lowercase(),
        ));
    }
    let limits = ctx.state.encoding;
    let value = ctx.write_or_create(&a[1], ValueKind::Hash, Value::new_hash)?;
    // A listpack converts before the write when any argument is too long for it (even one
    // that only updates a field), and after it when it holds too many fields.
    let longest = a[2..].iter().map(|x| x.len()).max().unwrap_or(0);
    if value.is_compact() && !limits.hash_stays_compact(0, longest) {
        value.set_compact(false);
    }
    let map = fields_of(value);
    let mut added = 0;
    for pair in a[2..].chunks(2) {
        let value = Bytes::copy_from_slice(&pair[1]);
        match map.get_mut(&pair[0]) {
            Some(v) => *v = value,
            None => {
                map.insert(Bytes::copy_from_slice(&pair[0]), value);
                added += 1;
            }
        }
    }
    let count = map.len();
    settle_hash(ctx, &a[1], count, 0);
    ctx.modified(&a[1]);
    // Even when no field changed, as Redis reports it.
    ctx.notify(class::HASH, "hset", &a[1]);
    Ok(added)
}

fn hset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let added = set_pairs(ctx, a)?;
    ctx.out.int(added);
    Ok(())
}

fn hmset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    set_pairs(ctx, a)?;
    ctx.out.ok();
    Ok(())
}

/// Converts the listpack hash at `key` to a hashtable when it now holds `count` fields or
/// was just given a field or value `longest` bytes long, past the thresholds.
fn settle_hash(ctx: &mut Ctx, key: &[u8], count: usize, longest: usize) {
    let limits = ctx.state.encoding;
    if !limits.hash_stays_compact(count, longest) {
        if let Ok(Some(value)) = ctx.write_typed(key, ValueKind::Hash) {
            value.set_compact(false);
        }
    }
}

fn hsetnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let map = fields_of(ctx.write_or_create(&a[1], ValueKind::Hash, Value::new_hash)?);
    if map.contains_key(&a[2]) {
        ctx.out.int(0);
        return Ok(());
    }
    map.insert(Bytes::copy_from_slice(&a[2]), Bytes::copy_from_slice(&a[3]));
    let count = map.len();
    settle_hash(ctx, &a[1], count, a[2].len().max(a[3].len()));
    ctx.modified(&a[1]);
    ctx.notify(class::HASH, "hset", &a[1]);
    ctx.out.int(1);
    Ok(())
}

fn hget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match read_hash(ctx, &a[1])? {
        (Some(map), out) => match map.get(&a[2]) {
            Some(v) => out.bulk(v),
            None => out.null(),
        },
        (None, out) => out.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (map, out) = read_hash(ctx, &a[1])?;
    out.array(a.len() - 2);
    for field in &a[2..] {
        match map.and_then(|m| m.get(field)) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(value) = ctx.write_typed(&a[1], ValueKind::Hash)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let compact = value.is_compact();
    let map = fields_of(value);
    let removed = a[2..]
        .iter()
        .filter(|f| remove_field(map, f, compact).is_some())
        .count();
    if removed > 0 {
        ctx.modified(&a[1]);
        ctx.notify(class::HASH, "hdel", &a[1]);
        ctx.remove_if_empty(&a[1]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (map, out) = read_hash(ctx, &a[1])?;
    out.int(map.map_or(0, |m| m.len()) as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (map, out) = read_hash(ctx, &a[1])?;
    out.int(map.and_then(|m| m.get(&a[2])).map_or(0, |v| v.len()) as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (map, out) = read_hash(ctx, &a[1])?;
    out.int(map.is_some_and(|m| m.contains_key(&a[2])) as i64);
    Ok(())
}

/// Which parts of each field HKEYS, HVALS and HGETALL reply with.
#[derive(Clone, Copy)]
enum Parts {
    Keys,
    Values,
    Both,
}

fn reply_fields(ctx: &mut Ctx, key: &[u8], parts: Parts) -> CmdResult {
    let (map, out) = read_hash(ctx, key)?;
    let Some(map) = map else {
        match parts {
            Parts::Both => out.map(0),
            _ => out.array(0),
        }
        return Ok(());
    };
    match parts {
        Parts::Both => out.map(map.len()),
        _ => out.array(map.len()),
    }
    for (k, v) in map {
        match parts {
            Parts::Keys => out.bulk(k),
            Parts::Values => out.bulk(v),
            Parts::Both => {
                out.bulk(k);
                out.bulk(v);
            }
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    reply_fields(ctx, &a[1], Parts::Keys)
}

fn hvals(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    reply_fields(ctx, &a[1], Parts::Values)
}

fn hgetall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    reply_fields(ctx, &a[1], Parts::Both)
}

/// Replaces a field's value with `f(old)`; the hash is created when absent. `event` is
/// the keyspace event reported.
fn update_field(
    ctx: &mut Ctx,
    a: &[Bytes],
    event: &'static str,
    f: impl FnOnce(Option<&Bytes>) -> Result<Bytes, CmdError>,
) -> Result<Bytes, CmdError> {
    let map = fields_of(ctx.write_or_create(&a[1], ValueKind::Hash, Value::new_hash)?);
    let new = f(map.get(&a[2]));
    let new = match new {
        Ok(v) => v,
        Err(e) => {
            ctx.remove_if_empty(&a[1]);
            return Err(e);
        }
    };
    match map.get_mut(&a[2]) {
        Some(v) => *v = new.clone(),
        None => {
            map.insert(Bytes::copy_from_slice(&a[2]), new.clone());
        }
    }
    let count = map.len();
    settle_hash(ctx, &a[1], count, a[2].len().max(new.len()));
    ctx.modified(&a[1]);
    ctx.notify(class::HASH, event, &a[1]);
    Ok(new)
}

fn hincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let delta = args::int(&a[3])?;
    let mut result = 0;
    update_field(ctx, a, "hincrby", |old| {
        let current = match old {
            Some(v) => args::int_or(v, CmdError::msg("ERR hash value is not an integer"))?,
            None => 0,
        };
        result = current.checked_add(delta).ok_or(CmdError::Overflow)?;
        Ok(args::int_bytes(result))
    })?;
    ctx.out.int(result);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // Check the increment before touching the hash, as Redis does.
    if args::is_infinity(&a[3]) {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    super::long_double::incr_by_float(None, &a[3])?;
    let new = update_field(ctx, a, "hincrbyfloat", |old| {
        if let Some(v) = old {
            if let Err(CmdError::NotFloat) = super::long_double::incr_by_float(Some(v), b"0") {
                return Err(CmdError::msg("ERR hash value is not a float"));
            }
        }
        super::long_double::incr_by_float(old.map(|v| &v[..]), &a[3]).map(Bytes::from)
    })?;
    // Replicas get the result, not the increment (floats must not drift between nodes).
    ctx.propagate(vec![
        Bytes::from_static(b"HSET"),
        a[1].clone(),
        a[2].clone(),
        new.clone(),
    ]);
    ctx.out.bulk(&new);
    Ok(())
}

fn hrandfield(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let count = match a.get(2) {
        Some(c) => Some(args::int(c)?),
        None => None,
    };
    if count == Some(i64::MIN) {
        return Err(CmdError::msg("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    let with_values = match a.get(3) {
        Some(opt) if a.len() == 4 && is(opt, "WITHVALUES") => true,
        Some(_) => return Err(CmdError::Syntax),
        None => false,
    };
    if with_values && count.is_some_and(|c| c.unsigned_abs() > (i64::MAX / 2) as u64) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let (map, out) = read_hash(ctx, &a[1])?;
    let Some(map) = map else {
        match count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(count) = count else {
        let (k, _) = map
            .get_index(rand::random::<usize>() % map.len())
            .expect("non-empty hash");
        out.bulk(k);
        return Ok(());
    };
    // A negative count may repeat fields (picked one by one, never collected); a positive
    // one returns distinct fields.
    let n = if count < 0 {
        count.unsigned_abs() as usize
    } else {
        (count as usize).min(map.len())
    };
    let distinct = if count < 0 {
        Vec::new()
    } else {
        rand::seq::index::sample(&mut rand::thread_rng(), map.len(), n).into_vec()
    };
    let resp3 = out.is_resp3();
    out.array(if with_values && !resp3 { n * 2 } else { n });
    let mut repeated = std::iter::repeat_with(|| rand::random::<usize>() % map.len());
    let mut distinct = distinct.into_iter();
    for _ in 0..n {
        let i = if count < 0 {
            repeated.next()
        } else {
            distinct.next()
        }
        .expect("n picks available");
        let (k, v) = map.get_index(i).expect("index in range");
        if with_values && resp3 {
            out.array(2);
        }
        out.bulk(k);
        if with_values {
            out.bulk(v);
        }
    }
    Ok(())
}

fn hscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[2])?;
    let opts = parse_scan_options(&a[3..], false)?;
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::Hash)?;
    let Some(map) = value.and_then(Value::as_hash) else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let compact = value.is_some_and(Value::is_compact);
    let (next, found) =
        scan_collection(map.iter().map(|(k, v)| (&k[..], v)), compact, cursor, &opts);
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len() * 2);
    for (k, v) in found {
        out.bulk(k);
        out.bulk(v);
    }
    Ok(())
}
