//! Set commands.
//!
//! Replies list an integer-only set (what Redis keeps as an intset) in ascending numeric
//! order, as Redis does; other sets come in hash-table order, which Redis leaves
//! unspecified too.

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::generic::{parse_cursor, parse_scan_options, scan_collection};
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::value::parse_canonical_i64;
use crate::keyspace::{Collection, MemberSet, Value, ValueKind};
use crate::notify::class;
use crate::resp::ReplyWriter;

pub static COMMANDS: &[CommandSpec] = &[
    spec("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "set", sadd),
    spec("srem", -3, WRITE | FAST, (1, 1, 1), "set", srem),
    spec("smembers", 2, READONLY, (1, 1, 1), "set", smembers),
    spec("sismember", 3, READONLY | FAST, (1, 1, 1), "set", sismember),
    spec(
        "smismember",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        "set",
        smismember,
    ),
    spec("scard", 2, READONLY | FAST, (1, 1, 1), "set", scard),
    spec("spop", -2, WRITE | FAST, (1, 1, 1), "set", spop),
    spec("srandmember", -2, READONLY, (1, 1, 1), "set", srandmember),
    spec("smove", 4, WRITE | FAST, (1, 2, 1), "set", smove),
    spec("sinter", -2, READONLY, (1, -1, 1), "set", sinter),
    spec("sintercard", -3, READONLY, (0, 0, 0), "set", sintercard),
    spec(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        sinterstore,
    ),
    spec("sunion", -2, READONLY, (1, -1, 1), "set", sunion),
    spec(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        sunionstore,
    ),
    spec("sdiff", -2, READONLY, (1, -1, 1), "set", sdiff),
    spec(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        "set",
        sdiffstore,
    ),
    spec("sscan", -3, READONLY, (1, 1, 1), "set", sscan),
];

fn members_of(value: &mut Value) -> &mut MemberSet {
    match value.collection_mut() {
        Some(Collection::Set(s)) => s,
        _ => unreachable!("type checked by the caller"),
    }
}

fn read_set<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c MemberSet>, CmdError> {
    Ok(ctx.read_typed(key, ValueKind::Set)?.and_then(Value::as_set))
}

/// Members in Redis's reply order: ascending numbers for an intset-like set.
fn reply_order<'a>(members: impl Iterator<Item = &'a Bytes>) -> Vec<&'a Bytes> {
    let mut v: Vec<&Bytes> = members.collect();
    let ints: Option<Vec<i64>> = v.iter().map(|m| parse_canonical_i64(m)).collect();
    if let Some(mut ints) = ints.filter(|i| i.len() <= crate::keyspace::value::INTSET_MAX_ENTRIES) {
        let mut pairs: Vec<(i64, &Bytes)> = ints.drain(..).zip(v.iter().copied()).collect();
        pairs.sort_unstable_by_key(|(n, _)| *n);
        v = pairs.into_iter().map(|(_, m)| m).collect();
    }
    v
}

fn reply_members<'a>(out: &mut ReplyWriter, members: impl Iterator<Item = &'a Bytes>) {
    let ordered = reply_order(members);
    out.set(ordered.len());
    for m in ordered {
        out.bulk(m);
    }
}

fn sadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let set = members_of(ctx.write_or_create(&a[1], ValueKind::Set, Value::new_set)?);
    let added = a[2..]
        .iter()
        .filter(|m| set.insert(Bytes::copy_from_slice(m)))
        .count();
    if added > 0 {
        ctx.modified(&a[1]);
        ctx.notify(class::SET, "sadd", &a[1]);
    }
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(value) = ctx.write_typed(&a[1], ValueKind::Set)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let set = members_of(value);
    let removed = a[2..]
        .iter()
        .filter(|m| set.remove(&m[..]).is_some())
        .count();
    if removed > 0 {
        ctx.modified(&a[1]);
        ctx.notify(class::SET, "srem", &a[1]);
        ctx.remove_if_empty(&a[1]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn smembers(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::Set)?;
    match value.and_then(Value::as_set) {
        Some(s) => reply_members(out, s.iter()),
        _ => out.set(0),
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let found = read_set(ctx, &a[1])?.is_some_and(|s| s.contains(&a[2][..]));
    ctx.out.int(found as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::Set)?;
    let set = value.and_then(Value::as_set);
    out.array(a.len() - 2);
    for m in &a[2..] {
        out.int(set.is_some_and(|s| s.contains(&m[..])) as i64);
    }
    Ok(())
}

fn scard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = read_set(ctx, &a[1])?.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// Picks up to `n` distinct random members.
fn random_members(set: &MemberSet, n: usize) -> Vec<Bytes> {
    set.random_distinct(n).into_iter().cloned().collect()
}

fn spop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = a.get(2).map(|c| args::positive_count(c)).transpose()?;
    let key = a[1].clone();
    let Some(value) = ctx.write_typed(&key, ValueKind::Set)? else {
        match count {
            Some(_) => ctx.out.set(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let set = members_of(value);
    let size = set.len();
    let Some(count) = count else {
        let member = set.random().expect("sets are never empty").clone();
        set.remove(&member);
        ctx.modified(&key);
        ctx.notify(class::SET, "spop", &key);
        ctx.remove_if_empty(&key);
        ctx.propagate(vec![Bytes::from_static(b"SREM"), key, member.clone()]);
        ctx.out.bulk(&member);
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    let popped = random_members(set, count);
    for m in &popped {
        set.remove(m);
    }
    ctx.modified(&key);
    ctx.notify(class::SET, "spop", &key);
    ctx.remove_if_empty(&key);
    if count >= size {
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key]);
    } else {
        let mut srem = vec![Bytes::from_static(b"SREM"), key];
        srem.extend(popped.iter().cloned());
        ctx.propagate(srem);
    }
    reply_members(ctx.out, popped.iter());
    Ok(())
}

fn srandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match a.get(2) {
        Some(c) => {
            let n = args::int(c)?;
            if n == i64::MIN {
                return Err(CmdError::msg("ERR value is out of range"));
            }
            Some(n)
        }
        None => None,
    };
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::Set)?;
    let Some(set) = value.and_then(Value::as_set) else {
        match count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(count) = count else {
        out.bulk(set.random().expect("sets are never empty"));
        return Ok(());
    };
    if count == 0 {
        out.array(0);
    } else if count < 0 || count == 1 {
        // Repeats allowed: each pick independent.
        let n = count.unsigned_abs() as usize;
        out.array(n);
        for _ in 0..n {
            out.bulk(set.random().expect("sets are never empty"));
        }
    } else if count as usize >= set.len() {
        let ordered = reply_order(set.iter());
        out.array(ordered.len());
        for m in ordered {
            out.bulk(m);
        }
    } else {
        let picked = random_members(set, count as usize);
        out.array(picked.len());
        for m in &picked {
            out.bulk(m);
        }
    }
    Ok(())
}

fn smove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&a[1], &a[2], &a[3]);
    // Write lookups, as Redis makes them (a missing key is not a keyspace miss).
    let Some(has) = ctx
        .write_typed(src, ValueKind::Set)?
        .map(|v| v.as_set().is_some_and(|s| s.contains(&member[..])))
    else {
        ctx.out.int(0);
        return Ok(());
    };
    ctx.write_typed(dst, ValueKind::Set)?;
    if src == dst {
        ctx.out.int(has as i64);
        return Ok(());
    }
    if !has {
        ctx.out.int(0);
        return Ok(());
    }
    let set = members_of(
        ctx.write_typed(src, ValueKind::Set)?
            .expect("checked above"),
    );
    set.remove(&member[..]);
    ctx.modified(src);
    ctx.notify(class::SET, "srem", src);
    ctx.remove_if_empty(src);
    let set = members_of(ctx.write_or_create(dst, ValueKind::Set, Value::new_set)?);
    if set.insert(Bytes::copy_from_slice(member)) {
        ctx.notify(class::SET, "sadd", dst);
    }
    ctx.modified(dst);
    ctx.out.int(1);
    Ok(())
}

/// Set algebra over several keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

/// Computes the algebra over `keys` (missing keys are empty sets; a key of another
/// type is WRONGTYPE, checked for every key first as Redis does).
fn combine(ctx: &mut Ctx, keys: &[Bytes], op: Algebra) -> Result<MemberSet, CmdError> {
    // Each read borrows `ctx`, so keep clones of the values (the sets are shared, not copied).
    let mut values: Vec<Option<Value>> = Vec::with_capacity(keys.len());
    for key in keys {
        values.push(ctx.read_typed(key, ValueKind::Set)?.cloned());
    }
    let sets: Vec<Option<&MemberSet>> = values
        .iter()
        .map(|v| v.as_ref().and_then(Value::as_set))
        .collect();
    let mut result = MemberSet::default();
    match op {
        Algebra::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return Ok(result);
            }
            let mut all: Vec<&MemberSet> = sets.iter().flatten().copied().collect();
            all.sort_by_key(|s| s.len());
            for m in all[0] {
                if all[1..].iter().all(|s| s.contains(m)) {
                    result.insert(m.clone());
                }
            }
        }
        Algebra::Union => {
            for s in sets.iter().flatten() {
                result.extend(s.iter().cloned());
            }
        }
        Algebra::Diff => {
            if let Some(Some(first)) = sets.first() {
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                        result.insert(m.clone());
                    }
                }
            }
        }
    }
    Ok(result)
}

fn algebra_reply(ctx: &mut Ctx, a: &[Bytes], op: Algebra) -> CmdResult {
    let result = combine(ctx, &a[1..], op)?;
    reply_members(ctx.out, result.iter());
    Ok(())
}

/// Stores the result in `a[1]` (replacing it, deleting it when empty).
fn algebra_store(ctx: &mut Ctx, a: &[Bytes], op: Algebra) -> CmdResult {
    let result = combine(ctx, &a[2..], op)?;
    let len = result.len();
    let event = match op {
        Algebra::Inter => "sinterstore",
        Algebra::Union => "sunionstore",
        Algebra::Diff => "sdiffstore",
    };
    ctx.store_collection(&a[1], Value::from_set(result), class::SET, event);
    ctx.out.int(len as i64);
    Ok(())
}

fn sinter(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, a, Algebra::Inter)
}

fn sunion(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, a, Algebra::Union)
}

fn sdiff(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, a, Algebra::Diff)
}

fn sinterstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_store(ctx, a, Algebra::Inter)
}

fn sunionstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_store(ctx, a, Algebra::Union)
}

fn sdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_store(ctx, a, Algebra::Diff)
}

/// `numkeys key... [LIMIT n]` of SINTERCARD and ZINTERCARD: the keys and the limit (0 =
/// none), with Redis's errors.
pub(super) fn parse_intercard(a: &[Bytes]) -> Result<(Vec<Bytes>, usize), CmdError> {
    let numkeys = args::int_or(&a[1], CmdError::msg("ERR numkeys should be greater than 0"))?;
    if numkeys <= 0 {
        return Err(CmdError::msg("ERR numkeys should be greater than 0"));
    }
    if numkeys as usize > a.len() - 2 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut j = 2 + numkeys as usize;
    while j < a.len() {
        if is(&a[j], "LIMIT") && j + 1 < a.len() {
            let n = args::int_or(&a[j + 1], CmdError::msg("ERR LIMIT can't be negative"))?;
            if n < 0 {
                return Err(CmdError::msg("ERR LIMIT can't be negative"));
            }
            limit = n as usize;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((a[2..2 + numkeys as usize].to_vec(), limit))
}

fn sintercard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (keys, limit) = parse_intercard(a)?;
    let n = combine(ctx, &keys, Algebra::Inter)?.len();
    ctx.out.int(if limit > 0 { n.min(limit) } else { n } as i64);
    Ok(())
}

fn sscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[2])?;
    let opts = parse_scan_options(&a[3..], false)?;
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::Set)?;
    let Some(set) = value.and_then(Value::as_set) else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let compact = value.is_some_and(|v| v.encoding() == "intset");
    let items: Vec<(&[u8], ())> = if compact {
        reply_order(set.iter())
            .into_iter()
            .map(|m| (&m[..], ()))
            .collect()
    } else {
        set.iter().map(|m| (&m[..], ())).collect()
    };
    let (next, found) = scan_collection(items.into_iter(), compact, cursor, &opts);
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len());
    for (m, _) in found {
        out.bulk(m);
    }
    Ok(())
}
