//! Values stored under keys, and the glob matcher KEYS/SCAN/PSUBSCRIBE share.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::zset::SortedSet;

/// A hash's fields in insertion order, which is the order Redis replies in while a hash
/// is small (listpack-encoded); removals keep the order while it is small (see
/// [`remove_field`]).
pub type FieldMap = indexmap::IndexMap<Bytes, Bytes, foldhash::fast::RandomState>;
pub use super::keyed_table::MemberSet;

/// A value. Collections are shared on clone and copied on first write while shared.
///
/// A string is a boxed slice and is copied on clone. The four collections sit behind one
/// `Arc<Collection>`, so that a value is 16 bytes (the collection pointer takes the place
/// of the string's length, tagged by the string pointer's null niche) rather than 24,
/// which keeps a key's slot in mimalloc's 48-byte class (see `Slot`).
/// Match on [`Value::view`] to see the collection's kind. Bytes stored in collections
/// (elements, fields, members) must be fresh copies (`Bytes::copy_from_slice(&arg)`), not
/// clones of request arguments: cloning a `Bytes` that owns a plain allocation gives it a
/// shared header, which the stored value would then carry for life, and reading a stored
/// value should borrow it rather than clone it for the same reason (see
/// `Ctx::read_for_reply`).
#[derive(Debug, Clone)]
pub enum Value {
    Str(Box<[u8]>),
    Coll(Arc<Stored>),
}

/// A collection with its encoding state.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Whether Redis would keep it in its compact encoding (a listpack hash or sorted set,
    /// an intset set); see [`super::encoding`].
    compact: bool,
    data: Collection,
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);

/// The content of a collection value, or of a string changed in place.
#[derive(Debug, Clone)]
pub enum Collection {
    List(VecDeque<Bytes>),
    Hash(FieldMap),
    Set(MemberSet),
    ZSet(SortedSet),
    /// A string that APPEND, SETRANGE or a bit command changed (Redis's `raw` encoding):
    /// it keeps spare room as Redis's sds does, so that growing it a little at a time
    /// costs amortised O(1) rather than a copy of the whole string per command.
    Raw(Vec<u8>),
}

/// A borrowed view of a [`Value`], with the collection's kind visible to `match`.
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    List(&'a VecDeque<Bytes>),
    Hash(&'a FieldMap),
    Set(&'a MemberSet),
    ZSet(&'a SortedSet),
}

impl From<Collection> for Value {
    /// A collection in its compact encoding, which every new collection starts in.
    fn from(collection: Collection) -> Value {
        Value::Coll(Arc::new(Stored {
            compact: true,
            data: collection,
        }))
    }
}

/// The type of a value, as TYPE names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Str,
    List,
    Hash,
    Set,
    ZSet,
}

impl ValueKind {
    /// The name TYPE replies with.
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Str => "string",
            ValueKind::List => "list",
            ValueKind::Hash => "hash",
            ValueKind::Set => "set",
            ValueKind::ZSet => "zset",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<ValueKind> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"string" => ValueKind::Str,
            b"list" => ValueKind::List,
            b"hash" => ValueKind::Hash,
            b"set" => ValueKind::Set,
            b"zset" => ValueKind::ZSet,
            _ => return None,
        })
    }
}

/// Removes a field, keeping the insertion order of the others while the hash is a
/// listpack (`compact`; O(n), like Redis's listpack delete), and swapping in the last field
/// otherwise (O(1); Redis's hashtable order is unspecified).
pub fn remove_field(map: &mut FieldMap, field: &[u8], compact: bool) -> Option<Bytes> {
    if compact {
        map.shift_remove(field)
    } else {
        map.swap_remove(field)
    }
}

impl Value {
    pub fn kind(&self) -> ValueKind {
        match self.view() {
            ValueRef::Str(_) => ValueKind::Str,
            ValueRef::List(_) => ValueKind::List,
            ValueRef::Hash(_) => ValueKind::Hash,
            ValueRef::Set(_) => ValueKind::Set,
            ValueRef::ZSet(_) => ValueKind::ZSet,
        }
    }

    /// The value with its collection's kind visible, for matching.
    pub fn view(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s) => ValueRef::Str(s),
            Value::Coll(c) => match &c.data {
                Collection::List(l) => ValueRef::List(l),
                Collection::Hash(h) => ValueRef::Hash(h),
                Collection::Set(s) => ValueRef::Set(s),
                Collection::ZSet(z) => ValueRef::ZSet(z),
                Collection::Raw(s) => ValueRef::Str(s),
            },
        }
    }

    /// The bytes of a string value; None for a collection.
    pub fn as_str(&self) -> Option<&[u8]> {
        match self.view() {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string value's bytes for changing in place (in the form that keeps spare room,
    /// copied first if a snapshot shares them); None for a collection.
    pub fn str_mut(&mut self) -> Option<&mut Vec<u8>> {
        if let Value::Str(s) = self {
            let bytes = std::mem::take(s).into_vec();
            *self = Value::raw(bytes);
        }
        match self.collection_mut() {
            Some(Collection::Raw(s)) => Some(s),
            _ => None,
        }
    }

    /// A string value in the form that keeps spare room (see [`Collection::Raw`]).
    pub fn raw(bytes: Vec<u8>) -> Value {
        Collection::Raw(bytes).into()
    }

    /// The collection for writing, copied first if a snapshot or another value shares it;
    /// None for a compact string.
    pub fn collection_mut(&mut self) -> Option<&mut Collection> {
        match self {
            Value::Str(_) => None,
            Value::Coll(c) => Some(&mut Arc::make_mut(c).data),
        }
    }

    /// Whether a collection is in its compact encoding (listpack or intset); true for
    /// strings and lists, whose encodings follow from their content.
    pub fn is_compact(&self) -> bool {
        match self {
            Value::Str(_) => true,
            Value::Coll(c) => c.compact,
        }
    }

    /// Sets a collection's encoding (see [`super::encoding`]); a change to a collection a
    /// snapshot shares copies it first.
    pub fn set_compact(&mut self, compact: bool) {
        if let Value::Coll(c) = self {
            if c.compact != compact {
                Arc::make_mut(c).compact = compact;
            }
        }
    }

    pub fn as_list(&self) -> Option<&VecDeque<Bytes>> {
        match self.view() {
            ValueRef::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_hash(&self) -> Option<&FieldMap> {
        match self.view() {
            ValueRef::Hash(h) => Some(h),
            _ => None,
        }
    }

    pub fn as_set(&self) -> Option<&MemberSet> {
        match self.view() {
            ValueRef::Set(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_zset(&self) -> Option<&SortedSet> {
        match self.view() {
            ValueRef::ZSet(z) => Some(z),
            _ => None,
        }
    }

    pub fn from_list(list: VecDeque<Bytes>) -> Value {
        Collection::List(list).into()
    }

    pub fn from_hash(hash: FieldMap) -> Value {
        Collection::Hash(hash).into()
    }

    pub fn from_set(set: MemberSet) -> Value {
        Collection::Set(set).into()
    }

    pub fn from_zset(zset: SortedSet) -> Value {
        Collection::ZSet(zset).into()
    }

    pub fn new_list() -> Value {
        Value::from_list(VecDeque::new())
    }

    pub fn new_hash() -> Value {
        Value::from_hash(FieldMap::default())
    }

    /// A string value holding a copy of `bytes`.
    pub fn string(bytes: &[u8]) -> Value {
        Value::Str(Box::from(bytes))
    }

    pub fn new_set() -> Value {
        Value::from_set(MemberSet::default())
    }

    pub fn new_zset() -> Value {
        Value::from_zset(SortedSet::default())
    }

    /// Asks for the value's memory ahead of use (see `SnapshotPart::iter`): a string's
    /// bytes, or a collection's header.
    pub fn prefetch(&self) {
        match self {
            Value::Str(s) => super::db::prefetch_bytes(s),
            Value::Coll(c) => mem_prefetch::prefetch_read_data::<_, 3>(&c.data),
        }
    }

    /// Whether a collection has become empty (and so its key must go).
    pub fn is_empty_collection(&self) -> bool {
        match self.view() {
            ValueRef::Str(_) => false,
            ValueRef::List(l) => l.is_empty(),
            ValueRef::Hash(h) => h.is_empty(),
            ValueRef::Set(s) => s.is_empty(),
            ValueRef::ZSet(z) => z.is_empty(),
        }
    }

    /// The encoding OBJECT ENCODING reports: a string's follows from its content (Redis
    /// leaves one changed in place `raw`); a collection's is its state.
    pub fn encoding(&self) -> &'static str {
        if let Value::Coll(c) = self {
            if let Collection::Raw(_) = c.data {
                // Redis too leaves a string it changed in place `raw`, short or numeric.
                return "raw";
            }
        }
        match (self.view(), self.is_compact()) {
            (ValueRef::Str(s), _) => {
                if s.len() <= 20 && parse_canonical_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            // Redis 7.0 keeps every list as a quicklist (listpack lists came in 7.2).
            (ValueRef::List(_), _) => "quicklist",
            (ValueRef::Hash(_) | ValueRef::ZSet(_), true) => "listpack",
            (ValueRef::Hash(_), false) | (ValueRef::Set(_), false) => "hashtable",
            (ValueRef::Set(_), true) => "intset",
            (ValueRef::ZSet(_), false) => "skiplist",
        }
    }

    /// An estimate of the bytes this value occupies, for MEMORY USAGE and used_memory.
    pub fn approx_memory(&self) -> usize {
        const BYTES_OVERHEAD: usize = 32;
        if let Value::Coll(c) = self {
            if let Collection::Raw(s) = &c.data {
                return s.capacity();
            }
        }
        match self.view() {
            ValueRef::Str(s) => s.len(),
            ValueRef::List(l) => l.iter().map(|e| e.len() + BYTES_OVERHEAD).sum::<usize>() + 48,
            ValueRef::Hash(h) => {
                h.iter()
                    .map(|(k, v)| k.len() + v.len() + 2 * BYTES_OVERHEAD + 8)
                    .sum::<usize>()
                    + 48
            }
            ValueRef::Set(s) => {
                s.iter()
                    .map(|m| m.len() + BYTES_OVERHEAD + 8)
                    .sum::<usize>()
                    + 48
            }
            ValueRef::ZSet(z) => {
                z.iter()
                    .map(|(m, _)| 2 * (m.len() + BYTES_OVERHEAD) + 40)
                    .sum::<usize>()
                    + 96
            }
        }
    }
}

/// Makes room in `s` for `additional` more bytes as Redis's sdsMakeRoomFor does: twice
/// the new length up to 1 MB, then 1 MB beyond it.
pub fn reserve_greedy(s: &mut Vec<u8>, additional: usize) {
    const MAX_PREALLOC: usize = 1024 * 1024;
    let needed = s.len() + additional;
    if needed <= s.capacity() {
        return;
    }
    let target = if needed < MAX_PREALLOC {
        needed * 2
    } else {
        needed + MAX_PREALLOC
    };
    s.reserve_exact(target - s.len());
}

/// Parses a string as Redis's `string2ll` does: optional `-`, no `+`, no leading zeros,
/// no spaces, fits in i64.
pub fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = (d - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// Glob-style matching as Redis's `stringmatchlen`: `*`, `?`, `[...]` with ranges and `^`,
/// and `\` escapes. `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    glob_match_depth(pattern, string, nocase, 0, &mut false)
}

/// `give_up` is set when the pattern after a `*` matched nowhere in the rest of the
/// string: then no earlier `*` can help by matching more (the rest would have to match
/// even later), so every caller stops at once. This keeps `a*a*a*...b` polynomial
/// instead of exponential, as Redis's skipLongerMatches does.
fn glob_match_depth(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    depth: u32,
    give_up: &mut bool,
) -> bool {
    // Bound recursion on pathological patterns like `*a*a*a*...`, as Redis 7.0 does.
    if depth > 1000 {
        return false;
    }
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..s.len() {
                    if glob_match_depth(&p[1..], &s[i..], nocase, depth + 1, give_up) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                }
                *give_up = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
                p = &p[1..];
                continue;
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if eq(p[0], s[0]) {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (p[0], p[2]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let c = if nocase {
                            s[0].to_ascii_lowercase()
                        } else {
                            s[0]
                        };
                        let (start, end) = if nocase {
                            (start.to_ascii_lowercase(), end.to_ascii_lowercase())
                        } else {
                            (start, end)
                        };
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if eq(p[0], s[0]) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if p.is_empty() {
                    // Unterminated class: Redis treats the end of pattern as `]`.
                    p = b"]";
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                p = &p[1..];
                continue;
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if !eq(p[0], s[0]) {
                    return false;
                }
            }
            c => {
                if !eq(c, s[0]) {
                    return false;
                }
            }
        }
        s = &s[1..];
        p = &p[1..];
    }
    if s.is_empty() {
        while p.first() == Some(&b'*') {
            p = &p[1..];
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_stars_that_cannot_match_give_up_quickly() {
        let key = [b'a'; 40];
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(pattern, &key, false));
        assert!(glob_match(b"a*a*a*b", b"aaaaaab", false));
        assert!(glob_match(b"*b*c", b"abxxbc", false));
        assert!(!glob_match(b"a*b", b"a", false));
        let long = vec![b'a'; 50000];
        assert!(!glob_match(
            b"*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?b",
            &long,
            false
        ));
    }

    #[test]
    fn strings_change_in_place_without_touching_a_sharer() {
        let mut v = Value::string(b"abc");
        v.str_mut().unwrap().extend_from_slice(b"def");
        assert_eq!(v.as_str(), Some(&b"abcdef"[..]));
        assert_eq!(v.kind(), ValueKind::Str);
        assert_eq!(v.encoding(), "raw");
        // A snapshot's clone shares the bytes; the next change copies them first.
        let snapshot = v.clone();
        v.str_mut().unwrap().push(b'!');
        assert_eq!(snapshot.as_str(), Some(&b"abcdef"[..]));
        assert_eq!(v.as_str(), Some(&b"abcdef!"[..]));
        assert!(Value::new_list().str_mut().is_none());
    }

    #[test]
    fn strings_grow_as_redis_sds_does() {
        let mut s = b"x".to_vec();
        reserve_greedy(&mut s, 9);
        assert_eq!(s.capacity(), 20);
        // Room already there: no change.
        reserve_greedy(&mut s, 19);
        assert_eq!(s.capacity(), 20);
        let mut big = vec![0u8; 2 << 20];
        reserve_greedy(&mut big, 1);
        assert_eq!(big.capacity(), (2 << 20) + 1 + (1 << 20));
    }

    #[test]
    fn glob() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h*llo", b"heeeello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"key:\\*", b"key:*", false));
        assert!(!glob_match(b"key:\\*", b"key:a", false));
        assert!(glob_match(b"HELLO", b"hello", true));
        assert!(!glob_match(b"a*b", b"acd", false));
        assert!(glob_match(b"user:*", b"user:", false));
    }

    #[test]
    fn canonical_ints() {
        assert_eq!(parse_canonical_i64(b"123"), Some(123));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"0123"), None);
        assert_eq!(parse_canonical_i64(b"+1"), None);
        assert_eq!(parse_canonical_i64(b" 1"), None);
        assert_eq!(parse_canonical_i64(b"-0"), None);
        assert_eq!(parse_canonical_i64(b"9223372036854775808"), None);
    }
}
