//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted numerically or
//! (ALPHA) as strings, optionally by weights or fields looked up through a pattern (BY),
//! returning elements or looked-up values (GET), limited (LIMIT), or stored as a list
//! (STORE), with Redis 7.0's option parsing, tie-breaking and error texts.

use std::cmp::Ordering;

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{Value, ValueKind, ValueRef};

pub static COMMANDS: &[CommandSpec] = &[
    spec("sort", -2, WRITE | DENYOOM, (1, 1, 1), "generic", sort),
    spec("sort_ro", -2, READONLY, (1, 1, 1), "generic", sort_ro),
];

fn sort(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    sort_generic(ctx, a, false)
}

fn sort_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    sort_generic(ctx, a, true)
}

/// SORT's options.
#[derive(Debug, Default)]
struct SortOptions<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    store: Option<&'a Bytes>,
    by: Option<&'a [u8]>,
    gets: Vec<&'a [u8]>,
}

impl<'a> SortOptions<'a> {
    fn parse(a: &'a [Bytes], read_only: bool) -> Result<SortOptions<'a>, CmdError> {
        let mut opts = SortOptions::default();
        let mut j = 2;
        while j < a.len() {
            let rest = a.len() - j - 1;
            let opt = &a[j];
            if is(opt, "ASC") {
                opts.desc = false;
            } else if is(opt, "DESC") {
                opts.desc = true;
            } else if is(opt, "ALPHA") {
                opts.alpha = true;
            } else if is(opt, "LIMIT") && rest >= 2 {
                opts.limit = Some((args::int(&a[j + 1])?, args::int(&a[j + 2])?));
                j += 2;
            } else if !read_only && is(opt, "STORE") && rest >= 1 {
                opts.store = Some(&a[j + 1]);
                j += 1;
            } else if is(opt, "BY") && rest >= 1 {
                opts.by = Some(&a[j + 1]);
                j += 1;
            } else if is(opt, "GET") && rest >= 1 {
                opts.gets.push(&a[j + 1]);
                j += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(opts)
    }
}

/// What a pattern finds for `element` (Redis's lookupKeyByPattern): `#` is the element
/// itself; otherwise the first `*` is replaced by the element and the string key so named
/// is read, or with `->field` after the `*`, that field of the hash so named. None when
/// there is nothing (no `*`, no such key, another type).
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after = &pattern[star + 1..];
    let field = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&at| at + 2 < after.len());
    let suffix = field.map_or(after, |at| &after[..at]);
    let key = [&pattern[..star], element, suffix].concat();
    let value = &ctx.read(&key)?.value;
    match (field, value.view()) {
        (None, ValueRef::Str(s)) => Some(s.to_vec()),
        (Some(at), ValueRef::Hash(h)) => h.get(&after[at + 2..]).map(|v| v.to_vec()),
        _ => None,
    }
}

/// A weight as Redis reads it with strtod: the whole string must be a number (empty reads
/// 0), neither NaN nor out of a double's range.
fn weight(bytes: &[u8]) -> Option<f64> {
    if bytes.is_empty() {
        return Some(0.0);
    }
    let v = args::parse_f64(bytes.trim_ascii_start())?;
    // strtod flags a subnormal result as out of range too, and SORT refuses any range
    // error (parse_f64 refuses the others).
    (v == 0.0 || v.is_infinite() || v.abs() >= f64::MIN_POSITIVE).then_some(v)
}

/// An element with what it is sorted by.
struct Sortable {
    element: Bytes,
    score: f64,
    /// ALPHA BY: the looked-up value (None sorts first).
    by_value: Option<Vec<u8>>,
}

fn sort_generic(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> CmdResult {
    let opts = SortOptions::parse(a, read_only)?;
    // A BY pattern without `*` names no weights: nothing to sort by.
    let mut dont_sort = opts.by.is_some_and(|by| !by.contains(&b'*'));
    let mut alpha = opts.alpha;
    let mut by = opts.by;
    let value = match ctx.read(&a[1]) {
        None => None,
        Some(e) if matches!(e.value.kind(), ValueKind::Str | ValueKind::Hash) => {
            return Err(CmdError::WrongType)
        }
        Some(e) => Some(e.value.clone()),
    };
    let is_set = value.as_ref().is_some_and(|v| v.kind() == ValueKind::Set);
    if dont_sort && is_set && opts.store.is_some() {
        // A set stored unsorted would differ between master and replicas: sort it.
        dont_sort = false;
        alpha = true;
        by = None;
    }
    let len = value.as_ref().map_or(0, element_count);
    let (start, end) = limit_window(opts.limit, len);
    let elements: Vec<Bytes> = match value.as_ref().map(Value::view) {
        None => Vec::new(),
        Some(ValueRef::List(l)) if dont_sort => in_native_order(l.iter(), opts.desc),
        Some(ValueRef::ZSet(z)) if dont_sort => {
            in_native_order(z.iter().map(|(m, _)| m), opts.desc)
        }
        Some(ValueRef::List(l)) => l.iter().cloned().collect(),
        Some(ValueRef::Set(s)) => s.iter().cloned().collect(),
        Some(ValueRef::ZSet(z)) => z.iter().map(|(m, _)| m.clone()).collect(),
        Some(_) => unreachable!("checked above"),
    };
    let mut items: Vec<Sortable> = elements
        .into_iter()
        .map(|element| Sortable {
            element,
            score: 0.0,
            by_value: None,
        })
        .collect();
    if !dont_sort {
        let mut convertible = true;
        for item in items.iter_mut() {
            let by_value = match by {
                Some(pattern) => match lookup_by_pattern(ctx, pattern, &item.element) {
                    Some(v) => v,
                    None => continue,
                },
                None => item.element.to_vec(),
            };
            if alpha {
                if by.is_some() {
                    item.by_value = Some(by_value);
                }
            } else {
                match weight(&by_value) {
                    Some(w) => item.score = w,
                    None => convertible = false,
                }
            }
        }
        if !convertible {
            return Err(CmdError::msg(
                "ERR One or more scores can't be converted into double",
            ));
        }
        let compare = |x: &Sortable, y: &Sortable| {
            let order = if !alpha {
                // Equal weights fall back to the elements, so the order is total.
                x.score
                    .partial_cmp(&y.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.element.cmp(&y.element))
            } else if by.is_some() {
                x.by_value.cmp(&y.by_value)
            } else {
                x.element.cmp(&y.element)
            };
            if opts.desc {
                order.reverse()
            } else {
                order
            }
        };
        items.sort_unstable_by(compare);
    }
    let window: &[Sortable] = if start <= end {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let mut output: Vec<Option<Vec<u8>>> = Vec::new();
    for item in window {
        if opts.gets.is_empty() {
            output.push(Some(item.element.to_vec()));
        }
        for pattern in &opts.gets {
            output.push(lookup_by_pattern(ctx, pattern, &item.element));
        }
    }
    let Some(dst) = opts.store else {
        ctx.out.array(output.len());
        for v in output {
            match v {
                Some(v) => ctx.out.bulk(&v),
                None => ctx.out.null(),
            }
        }
        return Ok(());
    };
    let n = output.len();
    let list: std::collections::VecDeque<Bytes> = output
        .into_iter()
        .map(|v| Bytes::from(v.unwrap_or_default()))
        .collect();
    if n > 0 {
        ctx.db().insert(dst, Value::from_list(list), 0);
        ctx.modified(dst);
        // A list event, as Redis classes it.
        ctx.notify(crate::notify::class::LIST, "sortstore", dst);
    } else if ctx.db().remove(dst).is_some() {
        ctx.modified(dst);
        ctx.notify(crate::notify::class::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn element_count(value: &Value) -> usize {
    match value.view() {
        ValueRef::List(l) => l.len(),
        ValueRef::Set(s) => s.len(),
        ValueRef::ZSet(z) => z.len(),
        _ => 0,
    }
}

/// LIMIT resolved as Redis does: the first and last index (end < start: nothing).
fn limit_window(limit: Option<(i64, i64)>, len: usize) -> (i64, i64) {
    let len = len as i64;
    let (offset, count) = limit.unwrap_or((0, -1));
    let mut start = offset.max(0).min(len);
    let count = count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    (start, end.min(len - 1))
}

/// The elements of a list or sorted set in their own order, reversed for DESC (what SORT
/// returns when there is nothing to sort by).
fn in_native_order<'v>(
    elements: impl DoubleEndedIterator<Item = &'v Bytes>,
    desc: bool,
) -> Vec<Bytes> {
    if desc {
        elements.rev().cloned().collect()
    } else {
        elements.cloned().collect()
    }
}
