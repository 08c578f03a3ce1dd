//! Value encodings: the compact forms Redis 7.0 keeps small collections in (a listpack
//! hash or sorted set, an intset set) and the thresholds at which a write converts them to
//! the big forms (hashtable, skiplist).
//!
//! tandem stores every collection the same way whatever its size, but OBJECT ENCODING, the
//! RDB type a value is saved as, and the reply order of hashes and sets follow the encoding
//! Redis would have, so the encoding is kept as state beside the value (see
//! [`super::Value::is_compact`]) and changes where Redis changes it: a write that crosses a
//! threshold converts one way only, a command that builds a new value (the *STORE family)
//! picks the encoding from the content, and a load (RDB file, RESTORE, full sync) settles it
//! as [`EncodingLimits::settle_loaded`] says.

use super::value::{parse_canonical_i64, Value, ValueRef};

/// The `*-max-listpack-*` and `set-max-intset-entries` thresholds, and the rule that small
/// integers are shared, as CONFIG has them now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingLimits {
    pub hash_max_entries: usize,
    pub hash_max_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_entries: usize,
    pub zset_max_value: usize,
    /// Whether strings holding 0..9999 are Redis's shared integer objects (OBJECT REFCOUNT
    /// INT_MAX): always, except under a `maxmemory` with an LRU or LFU policy.
    pub share_integers: bool,
}

impl Default for EncodingLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        EncodingLimits {
            hash_max_entries: 512,
            hash_max_value: 64,
            set_max_intset_entries: 512,
            zset_max_entries: 128,
            zset_max_value: 64,
            share_integers: true,
        }
    }
}

/// Redis clamps an intset's entry limit at 2^30 while commands run.
const INTSET_HARD_MAX: usize = 1 << 30;

/// The largest shared integer (OBJ_SHARED_INTEGERS - 1).
const SHARED_INTEGER_MAX: i64 = 9999;

impl EncodingLimits {
    /// The thresholds from the configuration.
    pub fn from_config(config: &crate::config::Config) -> EncodingLimits {
        let size = |name| config.get_u64(name) as usize;
        let policy = config.get("maxmemory-policy");
        EncodingLimits {
            hash_max_entries: size("hash-max-listpack-entries"),
            hash_max_value: size("hash-max-listpack-value"),
            set_max_intset_entries: size("set-max-intset-entries"),
            zset_max_entries: size("zset-max-listpack-entries"),
            zset_max_value: size("zset-max-listpack-value"),
            share_integers: config.get_u64("maxmemory") == 0
                || !(policy.ends_with("-lru") || policy.ends_with("-lfu")),
        }
    }

    fn intset_max(&self) -> usize {
        self.set_max_intset_entries.min(INTSET_HARD_MAX)
    }

    /// Whether a listpack hash stays one when written: `count` fields after the write, and
    /// `longest` the longest field or value the write brought (HSET checks all its
    /// arguments, even for fields that existed).
    pub fn hash_stays_compact(&self, count: usize, longest: usize) -> bool {
        count <= self.hash_max_entries && longest <= self.hash_max_value
    }

    /// Whether an intset stays one after adding `member` to reach `count` members.
    pub fn set_stays_compact(&self, count: usize, member: &[u8]) -> bool {
        count <= self.intset_max() && parse_canonical_i64(member).is_some()
    }

    /// Whether a listpack sorted set stays one when a new `member` makes it `count` long
    /// (a score update never converts).
    pub fn zset_stays_compact(&self, count: usize, member: &[u8]) -> bool {
        count <= self.zset_max_entries && member.len() <= self.zset_max_value
    }

    /// The encoding a value built afresh from its content gets (SINTERSTORE,
    /// ZUNIONSTORE...): compact when every member fits.
    pub fn fits_compact(&self, value: &Value) -> bool {
        match value.view() {
            ValueRef::Hash(h) => {
                h.len() <= self.hash_max_entries
                    && h.iter().all(|(f, v)| {
                        f.len() <= self.hash_max_value && v.len() <= self.hash_max_value
                    })
            }
            ValueRef::Set(s) => {
                s.len() <= self.intset_max() && s.iter().all(|m| parse_canonical_i64(m).is_some())
            }
            ValueRef::ZSet(z) => {
                z.len() <= self.zset_max_entries
                    && z.iter().all(|(m, _)| m.len() <= self.zset_max_value)
            }
            ValueRef::Str(_) | ValueRef::List(_) => true,
        }
    }

    /// Settles the encoding of a value just loaded (RDB file, RESTORE, full sync), whose
    /// compact flag says whether it was saved compact. As Redis's loader: a value saved
    /// compact stays compact unless it has too many entries (lengths are not checked); a
    /// value saved big becomes compact again when its whole content fits.
    pub fn settle_loaded(&self, value: &mut Value) {
        let compact = if value.is_compact() {
            match value.view() {
                ValueRef::Hash(h) => h.len() <= self.hash_max_entries,
                ValueRef::Set(s) => s.len() <= self.set_max_intset_entries,
                ValueRef::ZSet(z) => z.len() <= self.zset_max_entries,
                ValueRef::Str(_) | ValueRef::List(_) => true,
            }
        } else {
            self.fits_compact(value)
        };
        value.set_compact(compact);
    }

    /// OBJECT REFCOUNT of a value: INT_MAX for a shared small integer, 1 otherwise.
    pub fn refcount(&self, value: &Value) -> i64 {
        let shared = self.share_integers
            && matches!(value, Value::Str(_))
            && value
                .as_str()
                .and_then(parse_canonical_i64)
                .is_some_and(|n| (0..=SHARED_INTEGER_MAX).contains(&n));
        if shared {
            i32::MAX as i64
        } else {
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{FieldMap, MemberSet};
    use bytes::Bytes;

    fn hash(pairs: &[(&str, &str)]) -> Value {
        let mut map = FieldMap::default();
        for (f, v) in pairs {
            map.insert(Bytes::from(f.to_string()), Bytes::from(v.to_string()));
        }
        Value::from_hash(map)
    }

    #[test]
    fn loaded_values_settle_as_redis_loads_them() {
        let limits = EncodingLimits {
            hash_max_entries: 2,
            hash_max_value: 4,
            ..EncodingLimits::default()
        };
        // Saved compact with a long value: stays compact (lengths are not checked).
        let mut v = hash(&[("a", "longvalue")]);
        v.set_compact(true);
        limits.settle_loaded(&mut v);
        assert!(v.is_compact());
        // Saved compact with too many entries: big.
        let mut v = hash(&[("a", "1"), ("b", "2"), ("c", "3")]);
        limits.settle_loaded(&mut v);
        assert!(!v.is_compact());
        // Saved big and fitting: compact again; with a long value: big.
        let mut v = hash(&[("a", "1")]);
        v.set_compact(false);
        limits.settle_loaded(&mut v);
        assert!(v.is_compact());
        let mut v = hash(&[("a", "longvalue")]);
        v.set_compact(false);
        limits.settle_loaded(&mut v);
        assert!(!v.is_compact());
    }

    #[test]
    fn sets_are_intsets_while_every_member_is_an_integer() {
        let limits = EncodingLimits::default();
        let mut s = MemberSet::default();
        for m in ["1", "-5", "300"] {
            s.insert(Bytes::from(m));
        }
        let mut v = Value::from_set(s);
        v.set_compact(false);
        assert!(limits.fits_compact(&v));
        assert!(!limits.set_stays_compact(4, b"a"));
        assert!(!limits.set_stays_compact(4, b"007"));
        assert!(limits.set_stays_compact(512, b"7"));
        assert!(!limits.set_stays_compact(513, b"7"));
    }

    #[test]
    fn small_integers_are_shared_unless_lru_or_lfu_evicts() {
        let shared = EncodingLimits::default();
        assert_eq!(shared.refcount(&Value::string(b"9999")), i32::MAX as i64);
        assert_eq!(shared.refcount(&Value::string(b"10000")), 1);
        assert_eq!(shared.refcount(&Value::string(b"-1")), 1);
        assert_eq!(shared.refcount(&Value::string(b"01")), 1);
        let private = EncodingLimits {
            share_integers: false,
            ..shared
        };
        assert_eq!(private.refcount(&Value::string(b"1")), 1);
    }
}
