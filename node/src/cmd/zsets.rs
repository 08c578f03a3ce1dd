//! Sorted set commands: ZADD and friends, the ZRANGE family (by rank, score and lex, in
//! both directions, with LIMIT and the STORE form), pops including the blocking ones, and
//! the ZUNION/ZINTER/ZDIFF algebra (which accepts plain sets with score 1, as Redis does).

use std::collections::HashMap;
use std::ops::Bound;

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::generic::{parse_cursor, parse_scan_options, scan_collection};
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{
    is_negative_zero, Collection, EncodingLimits, SortedSet, Value, ValueKind, ValueRef,
};
use crate::notify::class;
use crate::resp::ReplyWriter;

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "sorted-set",
        zadd,
    ),
    spec(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "sorted-set",
        zincrby,
    ),
    spec("zcard", 2, READONLY | FAST, (1, 1, 1), "sorted-set", zcard),
    spec(
        "zcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        zcount,
    ),
    spec(
        "zlexcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        zlexcount,
    ),
    spec(
        "zscore",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        zscore,
    ),
    spec(
        "zmscore",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        zmscore,
    ),
    spec("zrank", 3, READONLY | FAST, (1, 1, 1), "sorted-set", zrank),
    spec(
        "zrevrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        "sorted-set",
        zrevrank,
    ),
    spec("zrange", -4, READONLY, (1, 1, 1), "sorted-set", zrange),
    spec(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        (1, 2, 1),
        "sorted-set",
        zrangestore,
    ),
    spec(
        "zrevrange",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        zrevrange,
    ),
    spec(
        "zrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        zrangebyscore,
    ),
    spec(
        "zrevrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        zrevrangebyscore,
    ),
    spec(
        "zrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        zrangebylex,
    ),
    spec(
        "zrevrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        zrevrangebylex,
    ),
    spec("zrem", -3, WRITE | FAST, (1, 1, 1), "sorted-set", zrem),
    spec(
        "zremrangebyrank",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        zremrangebyrank,
    ),
    spec(
        "zremrangebyscore",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        zremrangebyscore,
    ),
    spec(
        "zremrangebylex",
        4,
        WRITE,
        (1, 1, 1),
        "sorted-set",
        zremrangebylex,
    ),
    spec(
        "zpopmin",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "sorted-set",
        zpopmin,
    ),
    spec(
        "zpopmax",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        "sorted-set",
        zpopmax,
    ),
    spec("zmpop", -4, WRITE, (0, 0, 0), "sorted-set", zmpop),
    spec(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        (1, -2, 1),
        "sorted-set",
        bzpopmin,
    ),
    spec(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        (1, -2, 1),
        "sorted-set",
        bzpopmax,
    ),
    spec(
        "bzmpop",
        -5,
        WRITE | BLOCKING,
        (0, 0, 0),
        "sorted-set",
        bzmpop,
    ),
    spec(
        "zrandmember",
        -2,
        READONLY,
        (1, 1, 1),
        "sorted-set",
        zrandmember,
    ),
    spec("zunion", -3, READONLY, (0, 0, 0), "sorted-set", zunion),
    spec("zinter", -3, READONLY, (0, 0, 0), "sorted-set", zinter),
    spec("zdiff", -3, READONLY, (0, 0, 0), "sorted-set", zdiff),
    spec(
        "zunionstore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "sorted-set",
        zunionstore,
    ),
    spec(
        "zinterstore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "sorted-set",
        zinterstore,
    ),
    spec(
        "zdiffstore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "sorted-set",
        zdiffstore,
    ),
    spec(
        "zintercard",
        -3,
        READONLY,
        (0, 0, 0),
        "sorted-set",
        zintercard,
    ),
    spec("zscan", -3, READONLY, (1, 1, 1), "sorted-set", zscan),
];

const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";

fn zset_of(value: &mut Value) -> &mut SortedSet {
    match value.collection_mut() {
        Some(Collection::ZSet(z)) => z,
        _ => unreachable!("type checked by the caller"),
    }
}

/// The sorted set at `key` for a reply, with the reply writer.
fn read_zset<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<(Option<&'c SortedSet>, &'c mut ReplyWriter), CmdError> {
    let (value, out) = ctx.read_for_reply(key, ValueKind::ZSet)?;
    Ok((value.and_then(Value::as_zset), out))
}

/// Writes `(member, score)` pairs: flat in RESP2, `[member, score]` pairs in RESP3 when
/// `pairs_in_resp3` (the ZRANGE WITHSCORES convention), flat otherwise.
fn reply_scored(
    out: &mut ReplyWriter,
    items: &[(&Bytes, f64)],
    with_scores: bool,
    pairs_in_resp3: bool,
) {
    let nested = with_scores && pairs_in_resp3 && out.is_resp3();
    out.array(if with_scores && !nested {
        items.len() * 2
    } else {
        items.len()
    });
    for (m, s) in items {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        if with_scores {
            out.double(*s);
        }
    }
}

/// ZADD flags.
#[derive(Debug, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

fn zadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < a.len() {
        let opt = &a[i];
        if is(opt, "NX") {
            f.nx = true;
        } else if is(opt, "XX") {
            f.xx = true;
        } else if is(opt, "GT") {
            f.gt = true;
        } else if is(opt, "LT") {
            f.lt = true;
        } else if is(opt, "CH") {
            f.ch = true;
        } else if is(opt, "INCR") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &a[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    // All scores are checked before anything changes: the command applies fully or not.
    let scores: Vec<f64> = pairs
        .chunks(2)
        .map(|p| args::float(&p[0]))
        .collect::<Result<_, _>>()?;
    let key = &a[1];
    if ctx.write_typed(key, ValueKind::ZSet)?.is_none() && f.xx {
        if f.incr {
            ctx.out.null();
        } else {
            ctx.out.int(0);
        }
        return Ok(());
    }
    let limits = ctx.state.encoding;
    let value = ctx.write_or_create(key, ValueKind::ZSet, Value::new_zset)?;
    let (mut added, mut updated, mut last) = (0, 0, None);
    for (pair, &score) in pairs.chunks(2).zip(&scores) {
        let member = &pair[1];
        let current = zset_of(value).score(member);
        // A new member takes the increment itself (so -0 stays -0 in the reply).
        let new = match current {
            Some(cur) if f.incr => cur + score,
            _ => score,
        };
        if new.is_nan() {
            ctx.remove_if_empty(key);
            return Err(CmdError::msg(NAN_SCORE));
        }
        match current {
            Some(_) if f.nx => continue,
            None if f.xx => continue,
            Some(cur) => {
                if (f.gt && new <= cur) || (f.lt && new >= cur) {
                    continue;
                }
                if new != cur {
                    insert_member(value, member, new, &limits);
                    updated += 1;
                }
            }
            None => {
                insert_member(value, member, new, &limits);
                added += 1;
            }
        }
        last = Some(new);
    }
    if added + updated > 0 {
        ctx.modified(key);
        ctx.notify(class::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
    ctx.remove_if_empty(key);
    if f.incr {
        match last {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(if f.ch { added + updated } else { added });
    }
    Ok(())
}

fn zincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let delta = args::float(&a[2])?;
    let limits = ctx.state.encoding;
    let value = ctx.write_or_create(&a[1], ValueKind::ZSet, Value::new_zset)?;
    let current = zset_of(value).score(&a[3]);
    let new = current.map_or(delta, |cur| cur + delta);
    if new.is_nan() {
        ctx.remove_if_empty(&a[1]);
        return Err(CmdError::msg(NAN_SCORE));
    }
    insert_member(value, &a[3], new, &limits);
    ctx.modified(&a[1]);
    if current != Some(new) {
        ctx.notify(class::ZSET, "zincr", &a[1]);
    }
    ctx.out.double(new);
    Ok(())
}

fn zcard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (z, out) = read_zset(ctx, &a[1])?;
    out.int(z.map_or(0, |z| z.len()) as i64);
    Ok(())
}

/// A score bound: `(1.5` is exclusive, `-inf`/`+inf` allowed.
fn parse_score_bound(arg: &[u8]) -> Option<Bound<f64>> {
    match arg.strip_prefix(b"(") {
        Some(rest) => args::parse_f64_bound(rest).map(Bound::Excluded),
        None => args::parse_f64_bound(arg).map(Bound::Included),
    }
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<(Bound<f64>, Bound<f64>), CmdError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(CmdError::msg("ERR min or max is not a float")),
    }
}

/// A lex bound: `[a` inclusive, `(a` exclusive, `-` and `+` the ends.
#[derive(Debug, Clone)]
enum Lex {
    Min,
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

fn parse_lex_bound(arg: &Bytes) -> Option<Lex> {
    match arg.first()? {
        b'-' if arg.len() == 1 => Some(Lex::Min),
        b'+' if arg.len() == 1 => Some(Lex::Max),
        b'[' => Some(Lex::Incl(arg.slice(1..))),
        b'(' => Some(Lex::Excl(arg.slice(1..))),
        _ => None,
    }
}

fn parse_lex_range(min: &Bytes, max: &Bytes) -> Result<(Lex, Lex), CmdError> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(CmdError::msg("ERR min or max not valid string range item")),
    }
}

fn lex_gte_min(m: &[u8], min: &Lex) -> bool {
    match min {
        Lex::Min => true,
        Lex::Max => false,
        Lex::Incl(b) => m >= &b[..],
        Lex::Excl(b) => m > &b[..],
    }
}

fn lex_lte_max(m: &[u8], max: &Lex) -> bool {
    match max {
        Lex::Min => false,
        Lex::Max => true,
        Lex::Incl(b) => m <= &b[..],
        Lex::Excl(b) => m < &b[..],
    }
}

fn zcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (min, max) = parse_score_range(&a[2], &a[3])?;
    let (z, out) = read_zset(ctx, &a[1])?;
    out.int(z.map_or(0, |z| z.range_by_score(min, max).count()) as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (min, max) = parse_lex_range(&a[2], &a[3])?;
    let (z, out) = read_zset(ctx, &a[1])?;
    let n = z.map_or(0, |z| {
        z.iter()
            .skip_while(|(m, _)| !lex_gte_min(m, &min))
            .take_while(|(m, _)| lex_lte_max(m, &max))
            .count()
    });
    out.int(n as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (z, out) = read_zset(ctx, &a[1])?;
    match z.and_then(|z| z.score(&a[2])) {
        Some(s) => out.double(s),
        None => out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (z, out) = read_zset(ctx, &a[1])?;
    out.array(a.len() - 2);
    for m in &a[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => out.double(s),
            None => out.null(),
        }
    }
    Ok(())
}

fn rank_generic(ctx: &mut Ctx, a: &[Bytes], reverse: bool) -> CmdResult {
    let (z, out) = read_zset(ctx, &a[1])?;
    match z.and_then(|z| {
        z.rank(&a[2])
            .map(|r| if reverse { z.len() - 1 - r } else { r })
    }) {
        Some(r) => out.int(r as i64),
        None => out.null(),
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    rank_generic(ctx, a, false)
}

fn zrevrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    rank_generic(ctx, a, true)
}

/// How a range command selects members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeBy {
    Rank,
    Score,
    Lex,
}

/// A parsed ZRANGE-family request.
#[derive(Debug)]
struct RangeRequest {
    by: RangeBy,
    reverse: bool,
    with_scores: bool,
    /// LIMIT offset count (count < 0 = no limit).
    limit: Option<(i64, i64)>,
}

/// Parses the options after `key min max` (from `a[opts..]`). `by`/`reverse` preset by
/// the legacy commands cannot be changed by options, as in Redis.
fn parse_range_options(
    a: &[Bytes],
    opts: usize,
    preset: Option<(RangeBy, bool)>,
    store: bool,
) -> Result<RangeRequest, CmdError> {
    let mut by = preset.map(|p| p.0);
    let mut reverse = preset.map(|p| p.1);
    let mut with_scores = false;
    let mut limit = None;
    let mut j = opts;
    while j < a.len() {
        let left = a.len() - j - 1;
        if !store && is(&a[j], "WITHSCORES") {
            with_scores = true;
        } else if is(&a[j], "LIMIT") && left >= 2 {
            limit = Some((args::int(&a[j + 1])?, args::int(&a[j + 2])?));
            j += 2;
        } else if reverse.is_none() && is(&a[j], "REV") {
            reverse = Some(true);
        } else if by.is_none() && is(&a[j], "BYLEX") {
            by = Some(RangeBy::Lex);
        } else if by.is_none() && is(&a[j], "BYSCORE") {
            by = Some(RangeBy::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let by = by.unwrap_or(RangeBy::Rank);
    if limit.is_some() && by == RangeBy::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && by == RangeBy::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(RangeRequest {
        by,
        reverse: reverse.unwrap_or(false),
        with_scores,
        limit,
    })
}

/// Selects the members of a range request (`lo`, `hi` as given, swapped for reverse
/// score/lex ranges as Redis reads them: max first).
fn select_range<'z>(
    z: &'z SortedSet,
    req: &RangeRequest,
    lo: &Bytes,
    hi: &Bytes,
) -> Result<Vec<(&'z Bytes, f64)>, CmdError> {
    let (min_arg, max_arg) = if req.reverse && req.by != RangeBy::Rank {
        (hi, lo)
    } else {
        (lo, hi)
    };
    let (offset, count) = req.limit.unwrap_or((0, -1));
    let window = |it: Box<dyn Iterator<Item = (&'z Bytes, f64)> + 'z>| -> Vec<(&'z Bytes, f64)> {
        if offset < 0 {
            return Vec::new();
        }
        let it = it.skip(offset as usize);
        if count < 0 {
            it.collect()
        } else {
            it.take(count as usize).collect()
        }
    };
    Ok(match req.by {
        RangeBy::Rank => {
            let start = args::int(min_arg)?;
            let end = args::int(max_arg)?;
            match args::resolve_range(start, end, z.len()) {
                Some((s, e)) => z.range_by_rank(s, e, req.reverse).collect(),
                None => Vec::new(),
            }
        }
        RangeBy::Score => {
            let (min, max) = parse_score_range(min_arg, max_arg)?;
            if req.reverse {
                window(Box::new(z.range_by_score(min, max).rev()))
            } else {
                window(Box::new(z.range_by_score(min, max)))
            }
        }
        RangeBy::Lex => {
            let (min, max) = parse_lex_range(min_arg, max_arg)?;
            let fwd = z
                .iter()
                .skip_while(move |(m, _)| !lex_gte_min(m, &min))
                .take_while(move |(m, _)| lex_lte_max(m, &max));
            if req.reverse {
                let mut all: Vec<_> = fwd.collect();
                all.reverse();
                window(Box::new(all.into_iter()))
            } else {
                window(Box::new(fwd))
            }
        }
    })
}

/// Parses the range bounds up front (their errors come before the type check, as in
/// Redis) and returns nothing.
fn check_bounds(req: &RangeRequest, lo: &Bytes, hi: &Bytes) -> CmdResult {
    match req.by {
        RangeBy::Rank => {
            args::int(lo)?;
            args::int(hi)?;
        }
        RangeBy::Score => {
            parse_score_range(lo, hi)?;
        }
        RangeBy::Lex => {
            parse_lex_range(lo, hi)?;
        }
    }
    Ok(())
}

fn range_reply(ctx: &mut Ctx, a: &[Bytes], preset: Option<(RangeBy, bool)>) -> CmdResult {
    let req = parse_range_options(a, 4, preset, false)?;
    check_bounds(&req, &a[2], &a[3])?;
    let (z, out) = read_zset(ctx, &a[1])?;
    let Some(z) = z else {
        out.array(0);
        return Ok(());
    };
    let items = select_range(z, &req, &a[2], &a[3])?;
    reply_scored(out, &items, req.with_scores, true);
    Ok(())
}

fn zrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    range_reply(ctx, a, None)
}

fn zrevrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    range_reply(ctx, a, Some((RangeBy::Rank, true)))
}

fn zrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    range_reply(ctx, a, Some((RangeBy::Score, false)))
}

fn zrevrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    range_reply(ctx, a, Some((RangeBy::Score, true)))
}

fn zrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    range_reply(ctx, a, Some((RangeBy::Lex, false)))
}

fn zrevrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    range_reply(ctx, a, Some((RangeBy::Lex, true)))
}

/// Adds or updates `member` with `score` in the sorted set `value`. A new member that
/// does not fit a listpack converts the set (a score update never does), and a listpack
/// keeps a -0 score as 0, as Redis stores an integral score there as an integer.
fn insert_member(value: &mut Value, member: &[u8], score: f64, limits: &EncodingLimits) {
    let z = zset_of(value);
    let is_new = z.score(member).is_none();
    let count = z.len() + usize::from(is_new);
    if is_new && value.is_compact() && !limits.zset_stays_compact(count, member) {
        value.set_compact(false);
    }
    let score = if value.is_compact() && is_negative_zero(score) {
        0.0
    } else {
        score
    };
    zset_of(value).insert(Bytes::copy_from_slice(member), score);
}

/// Replaces `dst` with `result` (deleting it when empty) and replies with the size. The
/// new set is a listpack when its content fits one.
fn store_result(ctx: &mut Ctx, dst: &Bytes, result: SortedSet, event: &'static str) {
    let len = result.len();
    let mut value = Value::from_zset(result);
    let compact = ctx.state.encoding.fits_compact(&value);
    value.set_compact(compact);
    if compact {
        zset_of(&mut value).normalize_negative_zero();
    }
    ctx.store_collection(dst, value, class::ZSET, event);
    ctx.out.int(len as i64);
}

fn zrangestore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let req = parse_range_options(a, 5, None, true)?;
    check_bounds(&req, &a[3], &a[4])?;
    let mut result = SortedSet::default();
    if let Some(value) = ctx.read_typed(&a[2], ValueKind::ZSet)?.cloned() {
        let z = value.as_zset().expect("type checked");
        for (m, s) in select_range(z, &req, &a[3], &a[4])? {
            result.insert(m.clone(), s);
        }
    }
    store_result(ctx, &a[1], result, "zrangestore");
    Ok(())
}

fn zrem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(value) = ctx.write_typed(&a[1], ValueKind::ZSet)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let z = zset_of(value);
    let removed = a[2..].iter().filter(|m| z.remove(m)).count();
    if removed > 0 {
        ctx.modified(&a[1]);
        ctx.notify(class::ZSET, "zrem", &a[1]);
        ctx.remove_if_empty(&a[1]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// Removes the members a range selects; replies with how many.
fn remove_range(ctx: &mut Ctx, a: &[Bytes], by: RangeBy) -> CmdResult {
    let req = RangeRequest {
        by,
        reverse: false,
        with_scores: false,
        limit: None,
    };
    check_bounds(&req, &a[2], &a[3])?;
    let Some(value) = ctx.write_typed(&a[1], ValueKind::ZSet)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let z = zset_of(value);
    let doomed: Vec<Bytes> = select_range(z, &req, &a[2], &a[3])?
        .into_iter()
        .map(|(m, _)| m.clone())
        .collect();
    for m in &doomed {
        z.remove(m);
    }
    if !doomed.is_empty() {
        ctx.modified(&a[1]);
        let event = match by {
            RangeBy::Rank => "zremrangebyrank",
            RangeBy::Score => "zremrangebyscore",
            RangeBy::Lex => "zremrangebylex",
        };
        ctx.notify(class::ZSET, event, &a[1]);
        ctx.remove_if_empty(&a[1]);
    }
    ctx.out.int(doomed.len() as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    remove_range(ctx, a, RangeBy::Rank)
}

fn zremrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    remove_range(ctx, a, RangeBy::Score)
}

fn zremrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    remove_range(ctx, a, RangeBy::Lex)
}

/// Which end ZPOP* takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Min,
    Max,
}

impl Side {
    fn command(self) -> Bytes {
        Bytes::from_static(match self {
            Side::Min => b"ZPOPMIN",
            Side::Max => b"ZPOPMAX",
        })
    }
}

/// The first sorted set among `keys` to pop from (see [`Ctx::pop_source`]).
fn first_existing(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Option<Bytes>, CmdError> {
    for key in keys {
        if ctx.pop_source(key, ValueKind::ZSet)?.is_some() {
            return Ok(Some(key.clone()));
        }
    }
    Ok(None)
}

/// Pops up to `count` members from `key` (which exists), deleting it when it empties.
fn pop_members(ctx: &mut Ctx, key: &Bytes, side: Side, count: usize) -> Vec<(Bytes, f64)> {
    let z = zset_of(
        ctx.write_typed(key, ValueKind::ZSet)
            .ok()
            .flatten()
            .expect("caller checked"),
    );
    let mut popped = Vec::new();
    while popped.len() < count {
        let next = match side {
            Side::Min => z.pop_first(),
            Side::Max => z.pop_last(),
        };
        match next {
            Some(p) => popped.push(p),
            None => break,
        }
    }
    if !popped.is_empty() {
        ctx.modified(key);
        let event = match side {
            Side::Min => "zpopmin",
            Side::Max => "zpopmax",
        };
        ctx.notify(class::ZSET, event, key);
    }
    ctx.remove_if_empty(key);
    popped
}

fn zpop(ctx: &mut Ctx, a: &[Bytes], side: Side) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = a.get(2).map(|c| args::positive_count(c)).transpose()?;
    let Some(key) = first_existing(ctx, &a[1..2])? else {
        ctx.out.array(0);
        return Ok(());
    };
    if count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let popped = pop_members(ctx, &key, side, count.unwrap_or(1));
    let items: Vec<(&Bytes, f64)> = popped.iter().map(|(m, s)| (m, *s)).collect();
    reply_scored(ctx.out, &items, true, count.is_some());
    Ok(())
}

fn zpopmin(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zpop(ctx, a, Side::Min)
}

fn zpopmax(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zpop(ctx, a, Side::Max)
}

/// `numkeys key... MIN|MAX [COUNT n]` from `a[start..]`.
fn parse_zmpop(a: &[Bytes], start: usize) -> Result<(Vec<Bytes>, Side, usize), CmdError> {
    let (keys, min, count) = args::mpop(a, start, ["MIN", "MAX"])?;
    Ok((keys, if min { Side::Min } else { Side::Max }, count))
}

/// Serves ZMPOP/BZMPOP from the first existing key: `[key, [[member, score]...]]`.
fn zmpop_first(ctx: &mut Ctx, keys: &[Bytes], side: Side, count: usize) -> Result<bool, CmdError> {
    let Some(key) = first_existing(ctx, keys)? else {
        return Ok(false);
    };
    let popped = pop_members(ctx, &key, side, count);
    ctx.out.array(2);
    ctx.out.bulk(&key);
    ctx.out.array(popped.len());
    for (m, s) in &popped {
        ctx.out.array(2);
        ctx.out.bulk(m);
        ctx.out.double(*s);
    }
    ctx.propagate(vec![
        side.command(),
        key,
        args::int_bytes(popped.len() as i64),
    ]);
    Ok(true)
}

fn zmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (keys, side, count) = parse_zmpop(a, 1)?;
    if !zmpop_first(ctx, &keys, side, count)? {
        ctx.out.null_array();
    }
    Ok(())
}

fn bzpop(ctx: &mut Ctx, a: &[Bytes], side: Side) -> CmdResult {
    let timeout = args::timeout(&a[a.len() - 1])?;
    let keys = &a[1..a.len() - 1];
    if let Some(key) = first_existing(ctx, keys)? {
        let (m, s) = pop_members(ctx, &key, side, 1).remove(0);
        ctx.out.array(3);
        ctx.out.bulk(&key);
        ctx.out.bulk(&m);
        ctx.out.double(s);
        ctx.propagate(vec![side.command(), key]);
    } else if ctx.must_not_block() {
        ctx.out.null_array();
    } else {
        ctx.block_on(keys.to_vec(), timeout);
    }
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bzpop(ctx, a, Side::Min)
}

fn bzpopmax(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bzpop(ctx, a, Side::Max)
}

fn bzmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let timeout = args::timeout(&a[1])?;
    let (keys, side, count) = parse_zmpop(a, 2)?;
    if zmpop_first(ctx, &keys, side, count)? {
        return Ok(());
    }
    if ctx.must_not_block() {
        ctx.out.null_array();
    } else {
        ctx.block_on(keys, timeout);
    }
    Ok(())
}

fn zrandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let count = a.get(2).map(|c| args::int(c)).transpose()?;
    let with_scores = match a.get(3) {
        Some(opt) if a.len() == 4 && is(opt, "WITHSCORES") => true,
        Some(_) => return Err(CmdError::Syntax),
        None => false,
    };
    if count
        .is_some_and(|c| c == i64::MIN || (with_scores && c.unsigned_abs() > (i64::MAX / 2) as u64))
    {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let (z, out) = read_zset(ctx, &a[1])?;
    let Some(z) = z else {
        match count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let random = || z.random().expect("sorted sets are never empty");
    let Some(count) = count else {
        out.bulk(random().0);
        return Ok(());
    };
    let items: Vec<(&Bytes, f64)> = if count < 0 {
        (0..count.unsigned_abs()).map(|_| random()).collect()
    } else if count as usize >= z.len() {
        // The whole set, in the order Redis walks it: from the highest score.
        z.iter().rev().collect()
    } else {
        z.random_distinct(count as usize)
    };
    reply_scored(out, &items, with_scores, true);
    Ok(())
}

/// ZUNION / ZINTER / ZDIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Multiplies like Redis: 0 * inf is 0, not NaN.
fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn aggregate(acc: f64, v: f64, how: Aggregate) -> f64 {
    match how {
        Aggregate::Sum => {
            let s = acc + v;
            // inf + -inf is NaN; Redis makes it 0.
            if s.is_nan() {
                0.0
            } else {
                s
            }
        }
        Aggregate::Min => acc.min(v),
        Aggregate::Max => acc.max(v),
    }
}

/// A parsed ZUNION-family request.
struct AlgebraRequest {
    keys: Vec<Bytes>,
    weights: Vec<f64>,
    how: Aggregate,
    with_scores: bool,
}

fn parse_algebra(
    a: &[Bytes],
    numkeys_idx: usize,
    op: Op,
    store: bool,
) -> Result<AlgebraRequest, CmdError> {
    let name = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
    let n = args::int(&a[numkeys_idx])?;
    if n < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let n = n as usize;
    if n > a.len() - numkeys_idx - 1 {
        return Err(CmdError::Syntax);
    }
    let keys = a[numkeys_idx + 1..numkeys_idx + 1 + n].to_vec();
    let mut req = AlgebraRequest {
        keys,
        weights: vec![1.0; n],
        how: Aggregate::Sum,
        with_scores: false,
    };
    let mut j = numkeys_idx + 1 + n;
    while j < a.len() {
        let remaining = a.len() - j;
        if op != Op::Diff && remaining > n && is(&a[j], "WEIGHTS") {
            for i in 0..n {
                req.weights[i] = args::parse_f64(&a[j + 1 + i])
                    .ok_or_else(|| CmdError::msg("ERR weight value is not a float"))?;
            }
            j += 1 + n;
        } else if op != Op::Diff && remaining >= 2 && is(&a[j], "AGGREGATE") {
            req.how = if is(&a[j + 1], "SUM") {
                Aggregate::Sum
            } else if is(&a[j + 1], "MIN") {
                Aggregate::Min
            } else if is(&a[j + 1], "MAX") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && is(&a[j], "WITHSCORES") {
            req.with_scores = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(req)
}

/// Reads one input of the algebra: a sorted set, a set (scores 1), or nothing. A read
/// lookup (a keyspace hit or miss), for the *STORE forms too, as in Redis.
fn algebra_input(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<(Bytes, f64)>>, CmdError> {
    match ctx.read(key).map(|e| e.value.view()) {
        None => Ok(None),
        Some(ValueRef::ZSet(z)) => Ok(Some(z.iter().map(|(m, s)| (m.clone(), s)).collect())),
        Some(ValueRef::Set(s)) => Ok(Some(s.iter().map(|m| (m.clone(), 1.0)).collect())),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn compute_algebra(ctx: &mut Ctx, req: &AlgebraRequest, op: Op) -> Result<SortedSet, CmdError> {
    let mut inputs = Vec::with_capacity(req.keys.len());
    for key in &req.keys {
        inputs.push(algebra_input(ctx, key)?);
    }
    let mut acc: HashMap<Bytes, f64> = HashMap::new();
    match op {
        Op::Union => {
            for (input, &w) in inputs.iter().zip(&req.weights) {
                for (m, s) in input.iter().flatten() {
                    let v = weighted(*s, w);
                    acc.entry(m.clone())
                        .and_modify(|a| *a = aggregate(*a, v, req.how))
                        .or_insert(v);
                }
            }
        }
        Op::Inter => {
            if inputs.iter().all(|i| i.is_some()) {
                let maps: Vec<HashMap<&Bytes, f64>> = inputs
                    .iter()
                    .map(|i| i.iter().flatten().map(|(m, s)| (m, *s)).collect())
                    .collect();
                for (m, s) in inputs[0].iter().flatten() {
                    let mut v = weighted(*s, req.weights[0]);
                    let mut everywhere = true;
                    for (map, &w) in maps.iter().zip(&req.weights).skip(1) {
                        match map.get(m) {
                            Some(&other) => v = aggregate(v, weighted(other, w), req.how),
                            None => {
                                everywhere = false;
                                break;
                            }
                        }
                    }
                    if everywhere {
                        acc.insert(m.clone(), v);
                    }
                }
            }
        }
        Op::Diff => {
            if let Some(Some(first)) = inputs.first() {
                let others: Vec<std::collections::HashSet<&Bytes>> = inputs[1..]
                    .iter()
                    .map(|i| i.iter().flatten().map(|(m, _)| m).collect())
                    .collect();
                for (m, s) in first {
                    if !others.iter().any(|o| o.contains(m)) {
                        acc.insert(m.clone(), *s);
                    }
                }
            }
        }
    }
    let mut result = SortedSet::default();
    for (m, s) in acc {
        result.insert(m, s);
    }
    Ok(result)
}

fn algebra_reply(ctx: &mut Ctx, a: &[Bytes], op: Op) -> CmdResult {
    let req = parse_algebra(a, 1, op, false)?;
    let result = compute_algebra(ctx, &req, op)?;
    let items: Vec<(&Bytes, f64)> = result.iter().collect();
    reply_scored(ctx.out, &items, req.with_scores, true);
    Ok(())
}

fn algebra_store(ctx: &mut Ctx, a: &[Bytes], op: Op) -> CmdResult {
    let req = parse_algebra(a, 2, op, true)?;
    let result = compute_algebra(ctx, &req, op)?;
    let event = match op {
        Op::Union => "zunionstore",
        Op::Inter => "zinterstore",
        Op::Diff => "zdiffstore",
    };
    store_result(ctx, &a[1], result, event);
    Ok(())
}

fn zunion(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, a, Op::Union)
}

fn zinter(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, a, Op::Inter)
}

fn zdiff(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_reply(ctx, a, Op::Diff)
}

fn zunionstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_store(ctx, a, Op::Union)
}

fn zinterstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_store(ctx, a, Op::Inter)
}

fn zdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    algebra_store(ctx, a, Op::Diff)
}

fn zintercard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = args::int(&a[1])?;
    if n < 1 {
        return Err(CmdError::msg(
            "ERR at least 1 input key is needed for 'zintercard' command",
        ));
    }
    if n as usize > a.len() - 2 {
        return Err(CmdError::Syntax);
    }
    let keys = a[2..2 + n as usize].to_vec();
    let mut limit = 0usize;
    let mut j = 2 + n as usize;
    while j < a.len() {
        if is(&a[j], "LIMIT") && j + 1 < a.len() {
            let l = args::int_or(&a[j + 1], CmdError::msg("ERR LIMIT can't be negative"))?;
            if l < 0 {
                return Err(CmdError::msg("ERR LIMIT can't be negative"));
            }
            limit = l as usize;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let req = AlgebraRequest {
        weights: vec![1.0; keys.len()],
        keys,
        how: Aggregate::Sum,
        with_scores: false,
    };
    let n = compute_algebra(ctx, &req, Op::Inter)?.len();
    ctx.out.int(if limit > 0 { n.min(limit) } else { n } as i64);
    Ok(())
}

fn zscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[2])?;
    let opts = parse_scan_options(&a[3..], false)?;
    let (value, out) = ctx.read_for_reply(&a[1], ValueKind::ZSet)?;
    let Some(z) = value.and_then(Value::as_zset) else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let compact = value.is_some_and(Value::is_compact);
    let (next, found) = scan_collection(z.iter().map(|(m, s)| (&m[..], s)), compact, cursor, &opts);
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len() * 2);
    // SCAN replies are bulk strings, scores included, in every protocol version.
    for (m, s) in found {
        out.bulk(m);
        out.bulk(crate::resp::format_double(s).as_bytes());
    }
    Ok(())
}
