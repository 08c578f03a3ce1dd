//! List commands, including the blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP).
//!
//! A blocking pop that finds nothing asks the connection to wait (`Ctx::block_on`) and is
//! run again when one of its keys is written or its timeout passes; once served it is
//! propagated as its non-blocking form, as Redis 7.0 does.

use std::collections::VecDeque;

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{Collection, Value, ValueKind};
use crate::notify::class;

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        lpush,
    ),
    spec(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        rpush,
    ),
    spec(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        lpushx,
    ),
    spec(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "list",
        rpushx,
    ),
    spec("lpop", -2, WRITE | FAST, (1, 1, 1), "list", lpop),
    spec("rpop", -2, WRITE | FAST, (1, 1, 1), "list", rpop),
    spec("llen", 2, READONLY | FAST, (1, 1, 1), "list", llen),
    spec("lrange", 4, READONLY, (1, 1, 1), "list", lrange),
    spec("lindex", 3, READONLY, (1, 1, 1), "list", lindex),
    spec("lset", 4, WRITE | DENYOOM, (1, 1, 1), "list", lset),
    spec("linsert", 5, WRITE | DENYOOM, (1, 1, 1), "list", linsert),
    spec("lrem", 4, WRITE, (1, 1, 1), "list", lrem),
    spec("ltrim", 4, WRITE, (1, 1, 1), "list", ltrim),
    spec("lpos", -3, READONLY, (1, 1, 1), "list", lpos),
    spec(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        (1, 2, 1),
        "list",
        rpoplpush,
    ),
    spec("lmove", 5, WRITE | DENYOOM, (1, 2, 1), "list", lmove),
    spec("lmpop", -4, WRITE, (0, 0, 0), "list", lmpop),
    spec(
        "blpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        (1, -2, 1),
        "list",
        blpop,
    ),
    spec(
        "brpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        (1, -2, 1),
        "list",
        brpop,
    ),
    spec(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        "list",
        brpoplpush,
    ),
    spec(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        "list",
        blmove,
    ),
    spec("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), "list", blmpop),
];

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Left,
    Right,
}

impl End {
    fn parse(arg: &[u8]) -> Result<End, CmdError> {
        if is(arg, "LEFT") {
            Ok(End::Left)
        } else if is(arg, "RIGHT") {
            Ok(End::Right)
        } else {
            Err(CmdError::Syntax)
        }
    }

    fn name(self) -> &'static [u8] {
        match self {
            End::Left => b"LEFT",
            End::Right => b"RIGHT",
        }
    }

    fn pop_command(self) -> Bytes {
        Bytes::from_static(match self {
            End::Left => b"LPOP",
            End::Right => b"RPOP",
        })
    }

    /// The keyspace event of a pop from this end.
    fn pop_event(self) -> &'static str {
        match self {
            End::Left => "lpop",
            End::Right => "rpop",
        }
    }

    /// The keyspace event of a push onto this end.
    fn push_event(self) -> &'static str {
        match self {
            End::Left => "lpush",
            End::Right => "rpush",
        }
    }
}

fn list_of(value: &mut Value) -> &mut VecDeque<Bytes> {
    match value.collection_mut() {
        Some(Collection::List(l)) => l,
        _ => unreachable!("type checked by the caller"),
    }
}

/// The list at `key` for reading: None when absent, WRONGTYPE for another type.
fn read_list<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c VecDeque<Bytes>>, CmdError> {
    Ok(ctx
        .read_typed(key, ValueKind::List)?
        .and_then(Value::as_list))
}

/// Checks that `key` is absent or a list.
fn check_list(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let now = ctx.now;
    match ctx.db().get(key, now) {
        Some(e) if e.value.kind() != ValueKind::List => Err(CmdError::WrongType),
        _ => Ok(()),
    }
}

fn push(ctx: &mut Ctx, a: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let key = &a[1];
    if only_existing && ctx.write_typed(key, ValueKind::List)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let list = list_of(ctx.write_or_create(key, ValueKind::List, Value::new_list)?);
    for elem in &a[2..] {
        let elem = Bytes::copy_from_slice(elem);
        match end {
            End::Left => list.push_front(elem),
            End::Right => list.push_back(elem),
        }
    }
    let len = list.len();
    ctx.modified(key);
    ctx.notify(class::LIST, end.push_event(), key);
    ctx.out.int(len as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    push(ctx, a, End::Left, false)
}

fn rpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    push(ctx, a, End::Right, false)
}

fn lpushx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    push(ctx, a, End::Left, true)
}

fn rpushx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    push(ctx, a, End::Right, true)
}

/// Pops up to `count` elements from `end` of the list at `key` (which must exist and be a
/// list), deleting the key when it empties.
fn pop_n(ctx: &mut Ctx, key: &Bytes, end: End, count: usize) -> Vec<Bytes> {
    let popped = take_n(ctx, key, end, count);
    if !popped.is_empty() {
        ctx.notify(class::LIST, end.pop_event(), key);
    }
    ctx.remove_if_empty(key);
    popped
}

/// [`pop_n`] without the events and leaving an emptied list in place.
fn take_n(ctx: &mut Ctx, key: &Bytes, end: End, count: usize) -> Vec<Bytes> {
    let now = ctx.now;
    let entry = ctx.db().get_mut(key, now).expect("caller checked the key");
    let list = list_of(&mut entry.value);
    let n = count.min(list.len());
    let popped: Vec<Bytes> = match end {
        End::Left => list.drain(..n).collect(),
        End::Right => (0..n).filter_map(|_| list.pop_back()).collect(),
    };
    if !popped.is_empty() {
        ctx.modified(key);
    }
    popped
}

/// Whether `key` holds a non-empty list to pop from (see [`Ctx::pop_source`]).
fn has_elements(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CmdError> {
    Ok(ctx
        .pop_source(key, ValueKind::List)?
        .is_some_and(|v| v.as_list().is_some_and(|l| !l.is_empty())))
}

fn pop(ctx: &mut Ctx, a: &[Bytes], end: End) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Arity(
            String::from_utf8_lossy(&a[0]).to_ascii_lowercase(),
        ));
    }
    let count = a.get(2).map(|c| args::positive_count(c)).transpose()?;
    let key = &a[1];
    if !has_elements(ctx, key)? {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    match count {
        Some(0) => ctx.out.array(0),
        Some(n) => {
            let popped = pop_n(ctx, key, end, n);
            ctx.out.array(popped.len());
            for e in &popped {
                ctx.out.bulk(e);
            }
        }
        None => {
            let popped = pop_n(ctx, key, end, 1);
            ctx.out.bulk(&popped[0]);
        }
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    pop(ctx, a, End::Left)
}

fn rpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    pop(ctx, a, End::Right)
}

fn llen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = read_list(ctx, &a[1])?.map_or(0, |l| l.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn lrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = args::int(&a[2])?;
    let stop = args::int(&a[3])?;
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::List)?;
    let Some(list) = value.and_then(Value::as_list) else {
        out.array(0);
        return Ok(());
    };
    match args::resolve_range(start, stop, list.len()) {
        Some((s, e)) => {
            out.array(e - s + 1);
            for item in list.range(s..=e) {
                out.bulk(item);
            }
        }
        None => out.array(0),
    }
    Ok(())
}

/// Resolves a possibly negative list index.
fn list_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn lindex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let index = args::int(&a[2])?;
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::List)?;
    match value.and_then(Value::as_list) {
        Some(l) => match list_index(index, l.len()) {
            Some(i) => out.bulk(&l[i]),
            None => out.null(),
        },
        _ => out.null(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let index = args::int(&a[2])?;
    let Some(value) = ctx.write_typed(&a[1], ValueKind::List)? else {
        return Err(CmdError::NoSuchKey);
    };
    let list = list_of(value);
    let i = list_index(index, list.len()).ok_or(CmdError::IndexOutOfRange)?;
    list[i] = Bytes::copy_from_slice(&a[3]);
    ctx.modified(&a[1]);
    ctx.notify(class::LIST, "lset", &a[1]);
    ctx.out.ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let after = if is(&a[2], "AFTER") {
        true
    } else if is(&a[2], "BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let Some(value) = ctx.write_typed(&a[1], ValueKind::List)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let list = list_of(value);
    let Some(pos) = list.iter().position(|e| *e == a[3]) else {
        ctx.out.int(-1);
        return Ok(());
    };
    list.insert(
        if after { pos + 1 } else { pos },
        Bytes::copy_from_slice(&a[4]),
    );
    let len = list.len();
    ctx.modified(&a[1]);
    ctx.notify(class::LIST, "linsert", &a[1]);
    ctx.out.int(len as i64);
    Ok(())
}

fn lrem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let count = args::int(&a[2])?;
    let Some(value) = ctx.write_typed(&a[1], ValueKind::List)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let list = list_of(value);
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0;
    if count >= 0 {
        let mut i = 0;
        while i < list.len() && removed < limit {
            if list[i] == a[3] {
                list.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = list.len();
        while i > 0 && removed < limit {
            i -= 1;
            if list[i] == a[3] {
                list.remove(i);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        ctx.modified(&a[1]);
        ctx.notify(class::LIST, "lrem", &a[1]);
        ctx.remove_if_empty(&a[1]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = args::int(&a[2])?;
    let stop = args::int(&a[3])?;
    let Some(value) = ctx.write_typed(&a[1], ValueKind::List)? else {
        ctx.out.ok();
        return Ok(());
    };
    let list = list_of(value);
    match args::resolve_range(start, stop, list.len()) {
        Some((s, e)) => {
            list.truncate(e + 1);
            list.drain(..s);
        }
        None => list.clear(),
    }
    ctx.modified(&a[1]);
    ctx.notify(class::LIST, "ltrim", &a[1]);
    ctx.remove_if_empty(&a[1]);
    ctx.out.ok();
    Ok(())
}

fn lpos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen: usize = 0;
    let mut i = 3;
    while i < a.len() {
        if i + 1 >= a.len() {
            return Err(CmdError::Syntax);
        }
        let v = &a[i + 1];
        if is(&a[i], "RANK") {
            rank = args::int(v)?;
            if rank == 0 {
                return Err(CmdError::msg("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
            if rank == i64::MIN {
                return Err(CmdError::msg("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
            }
        } else if is(&a[i], "COUNT") {
            let n = args::int(v)?;
            if n < 0 {
                return Err(CmdError::msg("ERR COUNT can't be negative"));
            }
            count = Some(n as usize);
        } else if is(&a[i], "MAXLEN") {
            let n = args::int(v)?;
            if n < 0 {
                return Err(CmdError::msg("ERR MAXLEN can't be negative"));
            }
            maxlen = n as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::List)?;
    let list = match value.and_then(Value::as_list) {
        Some(l) => l,
        _ => {
            match count {
                Some(_) => out.array(0),
                None => out.null(),
            }
            return Ok(());
        }
    };
    let wanted = match count {
        Some(0) => usize::MAX,
        Some(n) => n,
        None => 1,
    };
    let scan_len = if maxlen == 0 {
        list.len()
    } else {
        maxlen.min(list.len())
    };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    let indexes: Box<dyn Iterator<Item = usize>> = if rank > 0 {
        Box::new(0..scan_len)
    } else {
        Box::new((list.len() - scan_len..list.len()).rev())
    };
    for idx in indexes {
        if list[idx] == a[2] {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(idx);
            if found.len() >= wanted {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            out.array(found.len());
            for idx in found {
                out.int(idx as i64);
            }
        }
        None => match found.first() {
            Some(&idx) => out.int(idx as i64),
            None => out.null(),
        },
    }
    Ok(())
}

/// Moves one element from `from` of `src` to `to` of `dst`; None when `src` is empty.
/// Checks both types first, as Redis does.
fn move_one(
    ctx: &mut Ctx,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> Result<Option<Bytes>, CmdError> {
    if !has_elements(ctx, src)? {
        return Ok(None);
    }
    check_list(ctx, dst)?;
    // The source is deleted if emptied only after the push, so moving a list's last
    // element onto itself keeps it, and the events come in Redis's order: the push, the
    // pop, then the source's deletion.
    let elem = take_n(ctx, src, from, 1).remove(0);
    let list = list_of(ctx.write_or_create(dst, ValueKind::List, Value::new_list)?);
    match to {
        End::Left => list.push_front(elem.clone()),
        End::Right => list.push_back(elem.clone()),
    }
    ctx.modified(dst);
    ctx.notify(class::LIST, to.push_event(), dst);
    ctx.notify(class::LIST, from.pop_event(), src);
    ctx.remove_if_empty(src);
    Ok(Some(elem))
}

fn reply_moved(ctx: &mut Ctx, moved: Option<Bytes>) {
    match moved {
        Some(e) => ctx.out.bulk(&e),
        None => ctx.out.null(),
    }
}

fn rpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let moved = move_one(ctx, &a[1], &a[2], End::Right, End::Left)?;
    reply_moved(ctx, moved);
    Ok(())
}

fn lmove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let from = End::parse(&a[3])?;
    let to = End::parse(&a[4])?;
    let moved = move_one(ctx, &a[1], &a[2], from, to)?;
    reply_moved(ctx, moved);
    Ok(())
}

/// `numkeys key... LEFT|RIGHT [COUNT n]` from `a[start..]`.
fn parse_mpop(a: &[Bytes], start: usize) -> Result<(Vec<Bytes>, End, usize), CmdError> {
    let (keys, left, count) = args::mpop(a, start, ["LEFT", "RIGHT"])?;
    Ok((keys, if left { End::Left } else { End::Right }, count))
}

/// Pops from the first non-empty list among `keys`: replies `[key, [elements]]` and
/// propagates `LPOP|RPOP key count`. Returns false when all are empty.
fn mpop_first(ctx: &mut Ctx, keys: &[Bytes], end: End, count: usize) -> Result<bool, CmdError> {
    for key in keys {
        if has_elements(ctx, key)? {
            let popped = pop_n(ctx, key, end, count);
            ctx.out.array(2);
            ctx.out.bulk(key);
            ctx.out.array(popped.len());
            for e in &popped {
                ctx.out.bulk(e);
            }
            ctx.propagate(vec![
                end.pop_command(),
                key.clone(),
                args::int_bytes(popped.len() as i64),
            ]);
            return Ok(true);
        }
    }
    Ok(false)
}

fn lmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (keys, end, count) = parse_mpop(a, 1)?;
    if !mpop_first(ctx, &keys, end, count)? {
        ctx.out.null_array();
    }
    Ok(())
}

fn blocking_pop(ctx: &mut Ctx, a: &[Bytes], end: End) -> CmdResult {
    let timeout = args::timeout(&a[a.len() - 1])?;
    let keys = &a[1..a.len() - 1];
    for key in keys {
        if has_elements(ctx, key)? {
            let popped = pop_n(ctx, key, end, 1);
            ctx.out.array(2);
            ctx.out.bulk(key);
            ctx.out.bulk(&popped[0]);
            ctx.propagate(vec![end.pop_command(), key.clone()]);
            return Ok(());
        }
    }
    if ctx.must_not_block() {
        ctx.out.null_array();
    } else {
        ctx.block_on(keys.to_vec(), timeout);
    }
    Ok(())
}

fn blpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    blocking_pop(ctx, a, End::Left)
}

fn brpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    blocking_pop(ctx, a, End::Right)
}

fn blocking_move(
    ctx: &mut Ctx,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
    timeout: &[u8],
) -> Result<Option<Bytes>, CmdError> {
    let timeout = args::timeout(timeout)?;
    let moved = move_one(ctx, src, dst, from, to)?;
    if moved.is_none() && !ctx.must_not_block() {
        ctx.block_on(vec![src.clone()], timeout);
    }
    Ok(moved)
}

/// BLMOVE / BRPOPLPUSH's reply: the element; after a timeout a null array (what Redis 7.0
/// replies to any timed-out blocked client); inside MULTI a null bulk, as LMOVE's.
fn reply_blocking_move(ctx: &mut Ctx, moved: Option<Bytes>) {
    match moved {
        None if ctx.timed_out => ctx.out.null_array(),
        moved => reply_moved(ctx, moved),
    }
}

fn brpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let moved = blocking_move(ctx, &a[1], &a[2], End::Right, End::Left, &a[3])?;
    if moved.is_some() {
        ctx.propagate(vec![
            Bytes::from_static(b"RPOPLPUSH"),
            a[1].clone(),
            a[2].clone(),
        ]);
    }
    if moved.is_some() || ctx.block.is_none() {
        reply_blocking_move(ctx, moved);
    }
    Ok(())
}

fn blmove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let from = End::parse(&a[3])?;
    let to = End::parse(&a[4])?;
    let moved = blocking_move(ctx, &a[1], &a[2], from, to, &a[5])?;
    if moved.is_some() {
        ctx.propagate(vec![
            Bytes::from_static(b"LMOVE"),
            a[1].clone(),
            a[2].clone(),
            Bytes::from_static(from.name()),
            Bytes::from_static(to.name()),
        ]);
    }
    if moved.is_some() || ctx.block.is_none() {
        reply_blocking_move(ctx, moved);
    }
    Ok(())
}

fn blmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let timeout = args::timeout(&a[1])?;
    let (keys, end, count) = parse_mpop(a, 2)?;
    if mpop_first(ctx, &keys, end, count)? {
        return Ok(());
    }
    if ctx.must_not_block() {
        ctx.out.null_array();
    } else {
        ctx.block_on(keys, timeout);
    }
    Ok(())
}
