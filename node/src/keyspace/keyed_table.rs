//! The hash table of sets (members) and sorted sets (members with their scores): one that
//! can also pick a random item in constant expected time (SPOP, SRANDMEMBER, ZRANDMEMBER),
//! by probing random buckets as Redis's dictGetRandomKey does; a `HashSet` or `HashMap`
//! can only be walked, which made each pick cost a walk of the whole collection.

use std::hash::BuildHasher;

use bytes::Bytes;
use foldhash::fast::RandomState;
use hashbrown::hash_table::{Entry, HashTable};
use rand::Rng;

/// An item of a [`KeyedTable`], found by its bytes.
pub trait Keyed {
    fn key(&self) -> &[u8];
}

impl Keyed for Bytes {
    fn key(&self) -> &[u8] {
        self
    }
}

/// A sorted set's member with its score.
impl Keyed for (Bytes, f64) {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// Items with distinct keys.
#[derive(Debug, Clone, Default)]
pub struct KeyedTable<T> {
    table: HashTable<T>,
    hasher: RandomState,
}

/// A set's members.
pub type MemberSet = KeyedTable<Bytes>;

/// The table shrinks once no more than one bucket in this many is in use (Redis resizes
/// its dicts below 10%), which bounds the probes of a random pick.
const SHRINK_BELOW: usize = 8;

impl<T: Keyed> KeyedTable<T> {
    pub fn with_capacity(n: usize) -> Self {
        KeyedTable {
            table: HashTable::with_capacity(n),
            hasher: RandomState::default(),
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.table.find(self.hash(key), |t| t.key() == key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        let hash = self.hash(key);
        self.table.find_mut(hash, |t| t.key() == key)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Adds `item` unless an item with its key is there (which stays); true when added.
    pub fn insert(&mut self, item: T) -> bool {
        let hash = self.hash(item.key());
        let hasher = &self.hasher;
        match self.table.entry(
            hash,
            |t| t.key() == item.key(),
            |t| hasher.hash_one(t.key()),
        ) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(item);
                true
            }
        }
    }

    /// Removes and returns the item with `key`.
    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        let hash = self.hash(key);
        let (item, _) = self
            .table
            .find_entry(hash, |t| t.key() == key)
            .ok()?
            .remove();
        if self.table.len() * SHRINK_BELOW < self.table.num_buckets() {
            let hasher = &self.hasher;
            self.table.shrink_to(0, |t| hasher.hash_one(t.key()));
        }
        Some(item)
    }

    pub fn iter(&self) -> hashbrown::hash_table::Iter<'_, T> {
        self.table.iter()
    }

    pub fn iter_mut(&mut self) -> hashbrown::hash_table::IterMut<'_, T> {
        self.table.iter_mut()
    }

    /// An item chosen at random (not quite uniformly: as in Redis, an item alone in its
    /// stretch of buckets is picked as often as any other); None when empty.
    pub fn random(&self) -> Option<&T> {
        if self.is_empty() {
            return None;
        }
        let mut rng = rand::thread_rng();
        loop {
            let bucket = rng.gen_range(0..self.table.num_buckets());
            if let Some(item) = self.table.get_bucket(bucket) {
                return Some(item);
            }
        }
    }

    /// Up to `n` distinct items chosen at random: while `n` is small against the table,
    /// one [`random`](Self::random) pick at a time (as Redis's SPOP and SRANDMEMBER with a
    /// count do); otherwise in one walk of the table, at `n` random positions.
    pub fn random_distinct(&self, n: usize) -> Vec<&T> {
        let n = n.min(self.len());
        if n * 3 <= self.len() {
            let mut seen = hashbrown::HashSet::with_capacity_and_hasher(n, RandomState::default());
            let mut picked = Vec::with_capacity(n);
            while picked.len() < n {
                let item = self.random().expect("not empty");
                if seen.insert(item as *const T) {
                    picked.push(item);
                }
            }
            return picked;
        }
        let mut positions =
            rand::seq::index::sample(&mut rand::thread_rng(), self.len(), n).into_vec();
        positions.sort_unstable();
        let mut positions = positions.into_iter().peekable();
        let mut picked = Vec::with_capacity(n);
        for (i, item) in self.iter().enumerate() {
            if positions.peek() == Some(&i) {
                picked.push(item);
                positions.next();
            }
        }
        picked
    }
}

impl<T: Keyed> Extend<T> for KeyedTable<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for item in items {
            self.insert(item);
        }
    }
}

impl<T: Keyed> FromIterator<T> for KeyedTable<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut table = KeyedTable::with_capacity(0);
        table.extend(items);
        table
    }
}

impl<'a, T> IntoIterator for &'a KeyedTable<T> {
    type Item = &'a T;
    type IntoIter = hashbrown::hash_table::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.table.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_of_members() {
        let mut set = MemberSet::default();
        assert!(set.random().is_none());
        assert!(set.insert(Bytes::from_static(b"a")));
        assert!(!set.insert(Bytes::from_static(b"a")));
        assert!(set.contains(b"a") && !set.contains(b"b"));
        assert_eq!(set.random().map(|m| &m[..]), Some(&b"a"[..]));
        assert!(set.remove(b"a").is_some() && set.remove(b"a").is_none());
        assert!(set.is_empty());
    }

    #[test]
    fn random_picks_reach_every_item_and_stay_cheap_as_the_table_empties() {
        let mut set: MemberSet = (0..10_000).map(|i| Bytes::from(i.to_string())).collect();
        for i in 0..9_990 {
            set.remove(i.to_string().as_bytes());
        }
        // Shrunk along the way: a pick probes a few buckets, not thousands.
        assert!(set.table.num_buckets() <= set.len() * SHRINK_BELOW);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            seen.insert(set.random().unwrap().clone());
        }
        assert_eq!(seen.len(), 10);
        // Distinct picks, by random probes (few) or by a walk (many).
        for n in [3, 9, 10, 50] {
            let picked = set.random_distinct(n);
            assert_eq!(picked.len(), n.min(10));
            let distinct: std::collections::HashSet<_> = picked.iter().collect();
            assert_eq!(distinct.len(), picked.len());
        }
    }

    #[test]
    fn scored_items_are_found_by_their_member() {
        let mut scores = KeyedTable::default();
        assert!(scores.insert((Bytes::from_static(b"m"), 1.5)));
        assert!(!scores.insert((Bytes::from_static(b"m"), 9.0)));
        scores.get_mut(b"m").unwrap().1 = 2.5;
        assert_eq!(scores.get(b"m").map(|t| t.1), Some(2.5));
        assert_eq!(scores.remove(b"m").map(|t| t.1), Some(2.5));
    }
}
