//! One numbered database: keys, values, expiry times, lazy and active expiry, SCAN.

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::sync::Arc;

use bytes::Bytes;
use hashbrown::HashTable;

use super::value::Value;

/// Number of copy-on-write segments per database (a power of two).
const SEGMENT_BITS: u32 = 10;
const SEGMENTS: usize = 1 << SEGMENT_BITS;

/// What a key holds: its value, its expiry time, and when it was last touched.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 means the key never expires.
    expire_at: u64,
    /// Seconds (server clock) of the last access, for OBJECT IDLETIME.
    last_access: u32,
}

impl Entry {
    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }

    pub fn last_access(&self) -> u32 {
        self.last_access
    }
}

#[derive(Debug, Clone)]
struct Slot {
    /// The key, in its own exact-size allocation (16 bytes here rather than a `Bytes`'s 32).
    key: Box<[u8]>,
    entry: Entry,
}

/// Slots live out of line: the table holds 8-byte pointers, so the buckets a power-of-two
/// table keeps empty cost 9 bytes each instead of a whole slot.
type Segment = HashTable<Box<Slot>>;

/// A position in a SCAN: the index of the next segment to visit; 0 starts and ends a scan.
pub type ScanCursor = u64;

/// A point-in-time view of a database, cheap to take, for serialising while writes go on.
#[derive(Debug, Clone)]
pub struct DbSnapshot {
    segments: Box<[Arc<Segment>]>,
    len: usize,
    expires: usize,
}

impl DbSnapshot {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn expires_len(&self) -> usize {
        self.expires
    }

    /// Every key with its entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> + '_ {
        self.segments
            .iter()
            .flat_map(|seg| seg.iter().map(|slot| (&slot.key[..], &slot.entry)))
    }
}

/// A database. Lookups take `&mut self` because reading an expired key deletes it.
#[derive(Debug)]
pub struct Db {
    segments: Box<[Arc<Segment>]>,
    hasher: foldhash::fast::FixedState,
    len: usize,
    /// Keys with an expiry time, ordered by that time, for the active expiry cycle.
    expiry_index: BTreeSet<(u64, Bytes)>,
    /// Keys found expired (lazily or actively) since the last drain; the engine propagates
    /// them as DEL to replicas and the AOF.
    expired: Vec<Bytes>,
    /// When false (a replica), expired keys read as missing but are not deleted: the master
    /// sends the DEL.
    pub delete_expired: bool,
    /// Server clock in seconds, stamped on entries as they are accessed.
    pub clock_secs: u32,
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

impl Db {
    pub fn new() -> Db {
        Db {
            segments: (0..SEGMENTS).map(|_| Arc::new(HashTable::new())).collect(),
            hasher: foldhash::fast::FixedState::with_seed(rand::random()),
            len: 0,
            expiry_index: BTreeSet::new(),
            expired: Vec::new(),
            delete_expired: true,
            clock_secs: 0,
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn segment_of(hash: u64) -> usize {
        // Middle bits: hashbrown uses the low bits for buckets and the top 7 for tags.
        ((hash >> 32) as usize) & (SEGMENTS - 1)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of keys that have an expiry time.
    pub fn expires_len(&self) -> usize {
        self.expiry_index.len()
    }

    pub fn snapshot(&self) -> DbSnapshot {
        DbSnapshot {
            segments: self.segments.clone(),
            len: self.len,
            expires: self.expiry_index.len(),
        }
    }

    /// Takes the keys that expired since the last call.
    pub fn drain_expired(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.expired)
    }

    fn find_slot(&self, hash: u64, key: &[u8]) -> Option<&Slot> {
        self.segments[Self::segment_of(hash)]
            .find(hash, |s| *s.key == *key)
            .map(|s| &**s)
    }

    fn find_slot_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Slot> {
        let seg = Arc::make_mut(&mut self.segments[Self::segment_of(hash)]);
        seg.find_mut(hash, |s| *s.key == *key).map(|s| &mut **s)
    }

    /// Deletes `key` if its time has passed; returns whether it is (logically) expired.
    fn expire_if_due(&mut self, hash: u64, key: &[u8], now: u64) -> bool {
        let expire_at = match self.find_slot(hash, key) {
            Some(slot) => slot.entry.expire_at,
            None => return false,
        };
        if expire_at == 0 || expire_at > now {
            return false;
        }
        if self.delete_expired {
            if let Some(entry) = self.remove_hashed(hash, key) {
                let _ = entry;
                self.expired.push(Bytes::copy_from_slice(key));
            }
        }
        true
    }

    /// Whether `key` exists (and has not expired).
    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Reads an entry, expiring it first if due.
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        let hash = self.hash(key);
        let idx = Self::segment_of(hash);
        if Arc::strong_count(&self.segments[idx]) == 1 {
            return self.find_live_unique(idx, hash, key, now).map(|s| &s.entry);
        }
        // A snapshot shares this segment: look without copying it.
        if self.expire_if_due(hash, key, now) {
            return None;
        }
        self.find_slot(hash, key).map(|s| &s.entry)
    }

    /// One-lookup read of a live entry in a segment nobody else shares, deleting it
    /// instead when its time has passed.
    fn find_live_unique(
        &mut self,
        idx: usize,
        hash: u64,
        key: &[u8],
        now: u64,
    ) -> Option<&mut Slot> {
        let seg =
            Arc::get_mut(&mut self.segments[idx]).expect("caller checked the segment is unique");
        let occupied = seg.find_entry(hash, |s| *s.key == *key).ok()?;
        let expire_at = occupied.get().entry.expire_at;
        if expire_at == 0 || expire_at > now {
            return Some(&mut **occupied.into_mut());
        }
        if self.delete_expired {
            let slot = *occupied.remove().0;
            self.len -= 1;
            let key = Bytes::from(slot.key);
            self.expiry_index.remove(&(expire_at, key.clone()));
            self.expired.push(key);
        }
        None
    }

    /// Reads an entry for modification (copying its segment if a snapshot shares it), and
    /// stamps its access time.
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let hash = self.hash(key);
        let idx = Self::segment_of(hash);
        if Arc::strong_count(&self.segments[idx]) == 1 {
            let clock = self.clock_secs;
            return self.find_live_unique(idx, hash, key, now).map(|s| {
                s.entry.last_access = clock;
                &mut s.entry
            });
        }
        if self.expire_if_due(hash, key, now) {
            return None;
        }
        let clock = self.clock_secs;
        self.find_slot_mut(hash, key).map(|s| {
            s.entry.last_access = clock;
            &mut s.entry
        })
    }

    /// Reads an entry without expiring or stamping it (OBJECT, DEBUG, snapshots).
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.find_slot(self.hash(key), key).map(|s| &s.entry)
    }

    /// The entry under `key`, created with `make()` when absent.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now: u64,
        make: impl FnOnce() -> Value,
    ) -> &mut Entry {
        if self.get(key, now).is_none() {
            self.insert(key, make(), 0);
        }
        self.get_mut(key, now).expect("just inserted")
    }

    /// Sets `key` to `value` with the given expiry (0 = none), replacing any old entry.
    /// Returns the old entry. A new key is copied into an allocation of its own (see
    /// [`Value`] on why stored bytes are copies, not clones, of request arguments).
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Entry> {
        let hash = self.hash(key);
        let entry = Entry {
            value,
            expire_at,
            last_access: self.clock_secs,
        };
        let old_expire;
        let old = match self.find_slot_mut(hash, key) {
            // Replace in place: one lookup on the common overwrite path.
            Some(slot) => {
                let old = std::mem::replace(&mut slot.entry, entry);
                old_expire = old.expire_at;
                Some(old)
            }
            None => {
                let hasher = self.hasher;
                let seg = Arc::make_mut(&mut self.segments[Self::segment_of(hash)]);
                seg.insert_unique(
                    hash,
                    Box::new(Slot {
                        key: Box::from(key),
                        entry,
                    }),
                    |s| hasher.hash_one(&s.key[..]),
                );
                self.len += 1;
                old_expire = 0;
                None
            }
        };
        if old_expire != expire_at {
            let owned = Bytes::copy_from_slice(key);
            if old_expire != 0 {
                self.expiry_index.remove(&(old_expire, owned.clone()));
            }
            if expire_at != 0 {
                self.expiry_index.insert((expire_at, owned));
            }
        }
        old
    }

    /// Replaces the value of an existing key, keeping its expiry time. Returns false when
    /// the key is absent.
    pub fn replace_value(&mut self, key: &[u8], value: Value) -> bool {
        let hash = self.hash(key);
        match self.find_slot_mut(hash, key) {
            Some(slot) => {
                slot.entry.value = value;
                true
            }
            None => false,
        }
    }

    /// Deletes `key`, returning its entry. Does not consider expiry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let hash = self.hash(key);
        self.remove_hashed(hash, key)
    }

    fn remove_hashed(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        let seg = &mut self.segments[Self::segment_of(hash)];
        // Avoid copying a shared segment just to learn the key is absent.
        seg.find(hash, |s| *s.key == *key)?;
        let seg = Arc::make_mut(seg);
        let slot = match seg.find_entry(hash, |s| *s.key == *key) {
            Ok(occupied) => *occupied.remove().0,
            Err(_) => return None,
        };
        self.len -= 1;
        if slot.entry.expire_at != 0 {
            self.expiry_index
                .remove(&(slot.entry.expire_at, Bytes::from(slot.key)));
        }
        Some(slot.entry)
    }

    /// Sets or clears (`0`) the expiry of an existing key. Returns false when absent.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64) -> bool {
        let hash = self.hash(key);
        let Some(slot) = self.find_slot_mut(hash, key) else {
            return false;
        };
        let old = std::mem::replace(&mut slot.entry.expire_at, expire_at);
        let owned = Bytes::copy_from_slice(&slot.key);
        if old != 0 {
            self.expiry_index.remove(&(old, owned.clone()));
        }
        if expire_at != 0 {
            self.expiry_index.insert((expire_at, owned));
        }
        true
    }

    /// Deletes every key.
    pub fn clear(&mut self) {
        for seg in self.segments.iter_mut() {
            if !seg.is_empty() {
                *seg = Arc::new(HashTable::new());
            }
        }
        self.len = 0;
        self.expiry_index.clear();
    }

    /// Deletes up to `budget` keys whose time has passed; returns how many were deleted.
    /// Deleted keys are recorded for [`Db::drain_expired`].
    pub fn expire_cycle(&mut self, now: u64, budget: usize) -> usize {
        let mut n = 0;
        while n < budget {
            let Some((at, key)) = self.expiry_index.first().cloned() else {
                break;
            };
            if at > now {
                break;
            }
            self.remove(&key);
            self.expired.push(key);
            n += 1;
        }
        n
    }

    /// Keys of live entries, in no particular order.
    pub fn keys(&self, now: u64) -> impl Iterator<Item = &[u8]> + '_ {
        self.segments.iter().flat_map(move |seg| {
            seg.iter()
                .filter(move |s| s.entry.expire_at == 0 || s.entry.expire_at > now)
                .map(|s| &s.key[..])
        })
    }

    /// One SCAN step: visits whole segments from `cursor` until at least `count` keys were
    /// seen, calling `visit` for each live key. Returns the next cursor (0 when done).
    /// Keys never move between segments, so a key present for the whole scan is returned.
    pub fn scan(
        &self,
        cursor: ScanCursor,
        count: usize,
        now: u64,
        mut visit: impl FnMut(&[u8], &Entry),
    ) -> ScanCursor {
        let mut seg = cursor as usize;
        let mut seen = 0;
        while seg < SEGMENTS && seen < count.max(1) {
            for slot in self.segments[seg].iter() {
                if slot.entry.expire_at == 0 || slot.entry.expire_at > now {
                    visit(&slot.key, &slot.entry);
                    seen += 1;
                }
            }
            seg += 1;
        }
        if seg >= SEGMENTS {
            0
        } else {
            seg as u64
        }
    }

    /// A random live key, or None when the database is empty.
    pub fn random_key(&mut self, now: u64) -> Option<Bytes> {
        for _ in 0..100 {
            if self.len == 0 {
                return None;
            }
            let start = rand::random::<usize>() % SEGMENTS;
            let found = (0..SEGMENTS)
                .map(|i| &self.segments[(start + i) % SEGMENTS])
                .find(|s| !s.is_empty())
                .and_then(|seg| {
                    let idx = rand::random::<usize>() % seg.len();
                    seg.iter().nth(idx).map(|s| Bytes::copy_from_slice(&s.key))
                })?;
            if self.get(&found, now).is_some() {
                return Some(found);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(Bytes::copy_from_slice(v.as_bytes()))
    }

    #[test]
    fn insert_get_remove() {
        let mut db = Db::new();
        db.insert("a".as_bytes(), s("1"), 0);
        db.insert("a".as_bytes(), s("2"), 0);
        assert_eq!(db.len(), 1);
        assert!(matches!(&db.get(b"a", 0).unwrap().value, Value::Str(v) if v == "2"));
        assert!(db.remove(b"a").is_some());
        assert!(db.get(b"a", 0).is_none());
        assert_eq!(db.len(), 0);
    }

    #[test]
    fn lazy_and_active_expiry() {
        let mut db = Db::new();
        db.insert("a".as_bytes(), s("1"), 100);
        db.insert("b".as_bytes(), s("1"), 200);
        db.insert("c".as_bytes(), s("1"), 0);
        assert_eq!(db.expires_len(), 2);
        assert!(db.get(b"a", 99).is_some());
        assert!(db.get(b"a", 100).is_none());
        assert_eq!(db.drain_expired(), vec![Bytes::from("a")]);
        assert_eq!(db.expire_cycle(500, 10), 1);
        assert_eq!(db.drain_expired(), vec![Bytes::from("b")]);
        assert_eq!(db.len(), 1);
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn snapshot_is_isolated_from_later_writes() {
        let mut db = Db::new();
        for i in 0..2000 {
            db.insert(format!("k{i}").as_bytes(), s("old"), 0);
        }
        let snap = db.snapshot();
        db.insert(b"k1", s("new"), 0);
        db.remove(b"k2");
        let v: Vec<_> = snap.iter().filter(|(k, _)| *k == b"k1").collect();
        assert!(matches!(&v[0].1.value, Value::Str(x) if x == "old"));
        assert_eq!(snap.iter().count(), 2000);
        assert_eq!(db.len(), 1999);
    }

    #[test]
    fn scan_visits_every_key_once() {
        let mut db = Db::new();
        for i in 0..5000 {
            db.insert(format!("k{i}").as_bytes(), s("v"), 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 10, 0, |k, _| {
                assert!(seen.insert(k.to_vec()));
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 5000);
    }
}
