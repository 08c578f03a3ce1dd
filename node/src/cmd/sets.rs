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
use crate::keyspace::{Collection, EncodingLimits, MemberSet, Value, ValueKind};
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

/// Members in Redis's reply order: ascending numbers for an intset (`intset`), hash-table
/// order otherwise.
fn reply_order<'a>(members: impl Iterator<Item = &'a Bytes>, intset: bool) -> Vec<&'a Bytes> {
    let mut v: Vec<&Bytes> = members.collect();
    if intset {
        v.sort_unstable_by_key(|m| parse_canonical_i64(m).unwrap_or(0));
    }
    v
}

fn reply_members<'a>(
    out: &mut ReplyWriter,
    members: impl Iterator<Item = &'a Bytes>,
    intset: bool,
) {
    let ordered = reply_order(members, intset);
    out.set(ordered.len());
    for m in ordered {
        out.bulk(m);
    }
}

/// Adds `member` to the set `value`; an intset that cannot hold it (not an integer, or one
/// too many) converts first, as Redis's setTypeAdd. Returns whether it was new.
fn add_member(value: &mut Value, member: &[u8], limits: &EncodingLimits) -> bool {
    let set = members_of(value);
    if set.contains(member) {
        return false;
    }
    let count = set.len() + 1;
    if value.is_compact() && !limits.set_stays_compact(count, member) {
        value.set_compact(false);
    }
    members_of(value).insert(Bytes::copy_from_slice(member))
}

fn sadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let limits = ctx.state.encoding;
    let value = ctx.write_or_create(&a[1], ValueKind::Set, Value::new_set)?;
    let added = a[2..]
        .iter()
        .filter(|m| add_member(value, m, &limits))
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
    match value {
        Some(v) => reply_members(out, v.as_set().expect("a set").iter(), v.is_compact()),
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
    // Redis builds a new set of the survivors when few remain (and picks its encoding
    // afresh), instead of removing the popped ones one by one.
    if size > count && (size - count) * 5 <= count {
        let limits = ctx.state.encoding;
        if let Some(value) = ctx.write_typed(&key, ValueKind::Set)? {
            let compact = limits.fits_compact(value);
            value.set_compact(compact);
        }
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
    reply_members(ctx.out, popped.iter(), false);
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
    let intset = value.is_some_and(Value::is_compact);
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
        let ordered = reply_order(set.iter(), intset);
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
    let limits = ctx.state.encoding;
    let value = ctx.write_or_create(dst, ValueKind::Set, Value::new_set)?;
    // A member the destination already had leaves it untouched (no WATCH, no event).
    if add_member(value, member, &limits) {
        ctx.modified(dst);
        ctx.notify(class::SET, "sadd", dst);
    }
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

/// The result of a set algebra, and whether Redis lists it as an intset (in ascending
/// order): SINTER walks its smallest input, so its order is that input's; SUNION and SDIFF
/// build a new set, an intset when the result fits one.
struct Combined {
    members: MemberSet,
    intset_order: bool,
}

fn combine(ctx: &mut Ctx, keys: &[Bytes], op: Algebra) -> Result<MemberSet, CmdError> {
    combine_ordered(ctx, keys, op).map(|c| c.members)
}

/// Computes the algebra over `keys` (missing keys are empty sets; a key of another
/// type is WRONGTYPE, checked for every key first as Redis does).
fn combine_ordered(ctx: &mut Ctx, keys: &[Bytes], op: Algebra) -> Result<Combined, CmdError> {
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
    let mut smallest_intset = false;
    match op {
        Algebra::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return Ok(Combined {
                    members: result,
                    intset_order: false,
                });
            }
            let mut all: Vec<(&MemberSet, bool)> = sets
                .iter()
                .zip(&values)
                .map(|(s, v)| {
                    (
                        s.expect("checked above"),
                        v.as_ref().is_some_and(Value::is_compact),
                    )
                })
                .collect();
            all.sort_by_key(|(s, _)| s.len());
            smallest_intset = all[0].1;
            for m in all[0].0 {
                if all[1..].iter().all(|(s, _)| s.contains(m)) {
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
    let intset_order = match op {
        Algebra::Inter => smallest_intset,
        Algebra::Union | Algebra::Diff => {
            let limits = ctx.state.encoding;
            result.len() <= limits.set_max_intset_entries
                && result.iter().all(|m| parse_canonical_i64(m).is_some())
        }
    };
    Ok(Combined {
        members: result,
        intset_order,
    })
}

fn algebra_reply(ctx: &mut Ctx, a: &[Bytes], op: Algebra) -> CmdResult {
    let result = combine_ordered(ctx, &a[1..], op)?;
    reply_members(ctx.out, result.members.iter(), result.intset_order);
    Ok(())
}

/// Whether SDIFFSTORE builds its result as Redis's second algorithm does: the whole
/// first set added, then the others' members removed, so the result is an intset only
/// when the first set could be one. Redis picks it when that costs less than looking every
/// member of the first set up in each other set.
fn diff_copies_first_set(ctx: &mut Ctx, keys: &[Bytes]) -> bool {
    let now = ctx.now;
    let db = &ctx.state.dbs[ctx.client.db];
    let size = |k: &Bytes| {
        db.peek(k)
            .filter(|e| e.expire_at().is_none_or(|t| t > now))
            .and_then(|e| e.value.as_set().map(|s| s.len()))
    };
    let Some(first) = size(&keys[0]) else {
        return false;
    };
    if keys[1..].contains(&keys[0]) {
        return false;
    }
    let sizes: Vec<usize> = keys.iter().filter_map(size).collect();
    let lookups = first * sizes.len() / 2;
    let copies: usize = sizes.iter().sum();
    lookups > copies
}

/// Stores the result in `a[1]` (replacing it, deleting it when empty), as an intset when
/// its content fits one.
fn algebra_store(ctx: &mut Ctx, a: &[Bytes], op: Algebra) -> CmdResult {
    let keys = &a[2..];
    let via_first_set = op == Algebra::Diff && diff_copies_first_set(ctx, keys);
    let result = combine(ctx, keys, op)?;
    let len = result.len();
    let event = match op {
        Algebra::Inter => "sinterstore",
        Algebra::Union => "sunionstore",
        Algebra::Diff => "sdiffstore",
    };
    let limits = ctx.state.encoding;
    let mut value = Value::from_set(result);
    let compact = if via_first_set {
        let now = ctx.now;
        ctx.db()
            .get_untouched(&keys[0], now)
            .is_some_and(|e| limits.fits_compact(&e.value))
    } else {
        limits.fits_compact(&value)
    };
    value.set_compact(compact);
    ctx.store_collection(&a[1], value, class::SET, event);
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
    let compact = value.is_some_and(Value::is_compact);
    let items: Vec<(&[u8], ())> = if compact {
        reply_order(set.iter(), true)
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
