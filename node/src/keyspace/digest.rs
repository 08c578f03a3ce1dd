//! DEBUG DIGEST and DEBUG DIGEST-VALUE: Redis 7.0's SHA-1 signature of a dataset or of
//! values, so a tandem digest equals a redis-server digest of the same data (Redis's test
//! suite compares masters with replicas, and datasets before and after a reload, this way).
//!
//! Two ways of folding bytes into a 20-byte digest: `xor_in` XORs in their SHA-1, so the
//! order of what is folded does not matter (members of a set, keys of a database);
//! `mix_in` XORs in their SHA-1 and then hashes the digest itself, so order matters
//! (elements of a list, a key and then its value). Nothing but the data counts: not the
//! encoding, not access times, not the time left to live (only whether there is one).

use sha1::{Digest as _, Sha1};

use super::db::{Db, Entry};
use super::value::ValueRef;

/// A 20-byte digest.
pub type Digest = [u8; 20];

fn sha1(bytes: &[u8]) -> Digest {
    Sha1::digest(bytes).into()
}

fn xor_in(digest: &mut Digest, bytes: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(bytes)) {
        *d ^= h;
    }
}

fn mix_in(digest: &mut Digest, bytes: &[u8]) {
    xor_in(digest, bytes);
    *digest = sha1(digest);
}

/// Redis's type codes, as the digest mixes them in.
fn type_code(value: &ValueRef) -> u32 {
    match value {
        ValueRef::Str(_) => 0,
        ValueRef::List(_) => 1,
        ValueRef::Set(_) => 2,
        ValueRef::ZSet(_) => 3,
        ValueRef::Hash(_) => 4,
    }
}

/// Folds an entry's type, value and whether it expires into `digest`.
fn fold_entry(digest: &mut Digest, entry: &Entry) {
    let value = entry.value.view();
    mix_in(digest, &type_code(&value).to_be_bytes());
    match value {
        ValueRef::Str(s) => mix_in(digest, s),
        ValueRef::List(list) => {
            for element in list {
                mix_in(digest, element);
            }
        }
        ValueRef::Set(set) => {
            for member in set.iter() {
                xor_in(digest, member);
            }
        }
        ValueRef::ZSet(zset) => {
            for (member, score) in zset.iter() {
                let mut pair = Digest::default();
                mix_in(&mut pair, member);
                mix_in(&mut pair, crate::resp::format_double(score).as_bytes());
                xor_in(digest, &pair);
            }
        }
        ValueRef::Hash(hash) => {
            for (field, value) in hash {
                let mut pair = Digest::default();
                mix_in(&mut pair, field);
                mix_in(&mut pair, value);
                xor_in(digest, &pair);
            }
        }
    }
    if entry.expire_at().is_some() {
        xor_in(digest, b"!!expire!!");
    }
}

/// DEBUG DIGEST-VALUE of one entry (all zeros for a missing key): the value alone, not
/// its key.
pub fn value_digest(entry: Option<&Entry>) -> Digest {
    let mut digest = Digest::default();
    if let Some(entry) = entry {
        fold_entry(&mut digest, entry);
    }
    digest
}

/// DEBUG DIGEST of the whole dataset: all zeros when it is empty. Keys whose time has
/// passed but which are still stored count, as in Redis (nothing is expired by looking).
pub fn dataset_digest(dbs: &[Db]) -> Digest {
    let mut digest = Digest::default();
    for (index, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_in(&mut digest, &(index as u32).to_be_bytes());
        for (key, entry) in db.entries() {
            let mut key_digest = Digest::default();
            mix_in(&mut key_digest, key);
            fold_entry(&mut key_digest, entry);
            xor_in(&mut digest, &key_digest);
        }
    }
    digest
}

/// The 40 lowercase hex characters DEBUG replies with.
pub fn hex(digest: &Digest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{MemberSet, SortedSet, Value};
    use bytes::Bytes;

    fn db_with(entries: &[(&str, Value, u64)]) -> Db {
        let mut db = Db::new();
        for (k, v, at) in entries {
            db.insert(k.as_bytes(), v.clone(), *at);
        }
        db
    }

    // Vectors produced by redis-server 7.0.15.
    #[test]
    fn digests_equal_redis_digests() {
        let empty: Vec<Db> = (0..16).map(|_| Db::new()).collect();
        assert_eq!(hex(&dataset_digest(&empty)), "0".repeat(40));

        let mut dbs: Vec<Db> = (0..16).map(|_| Db::new()).collect();
        dbs[0] = db_with(&[("foo", Value::string(b"bar"), 0)]);
        assert_eq!(
            hex(&dataset_digest(&dbs)),
            "d2ab4820c1be0580ea28efbfe8bfa1dc05bb802a"
        );
        dbs[1] = db_with(&[("foo", Value::string(b"bar"), 0)]);
        assert_eq!(
            hex(&dataset_digest(&dbs)),
            "7e443c2bc3bfcaf4ef6f488ab938c507dfb85eb8"
        );

        let one = |v: Value, at: u64| {
            let db = db_with(&[("k", v, at)]);
            hex(&value_digest(db.peek(b"k")))
        };
        assert_eq!(
            one(Value::string(b"bar"), 0),
            "68467c70ae30376e7ce005bcc8827f5ba7fd67dc"
        );
        assert_eq!(
            one(Value::string(b"bar"), u64::MAX / 2),
            "8ec3828f7209dd3abdf6ee448de8b0c0bd53265f"
        );
        let list = Value::from_list(["a", "b", "c"].iter().map(|s| Bytes::from(*s)).collect());
        assert_eq!(one(list, 0), "8bf72d812571eea9b927f3c11beb0c4165a6ff89");
        let mut set = MemberSet::default();
        set.extend(["a", "b", "c"].iter().map(|s| Bytes::from(*s)));
        assert_eq!(
            one(Value::from_set(set), 0),
            "593c2414786d75446e97f4ea5d4b731f3313da72"
        );
        let mut zset = SortedSet::default();
        for (m, s) in [("a", 1.0), ("b", 2.5), ("c", 0.1)] {
            zset.insert(Bytes::from(m), s);
        }
        assert_eq!(
            one(Value::from_zset(zset), 0),
            "ac3f88f74ce0703ae2c86046b8b8e8180f672692"
        );
        let mut hash = crate::keyspace::FieldMap::default();
        hash.insert(Bytes::from("f1"), Bytes::from("v1"));
        hash.insert(Bytes::from("f2"), Bytes::from("v2"));
        assert_eq!(
            one(Value::from_hash(hash), 0),
            "047cc60ea73a34cde6d08a2721a4a26d19ee6570"
        );
        assert_eq!(hex(&value_digest(None)), "0".repeat(40));
    }
}
