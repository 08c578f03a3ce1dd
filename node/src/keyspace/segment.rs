//! One segment of a database's key table: a few dozen items in two parallel arrays, found
//! by a one-byte tag of their hash, with each item's access clock packed beside its tag.
//!
//! Why not a hash table: a segment holds about 32 keys, so scanning its tags costs about
//! what a probe does, while a table kept at most 7/8 full and grown by doubling spent
//! about 19 bytes per key on buckets (measured, with the allocator's rounding). Two arrays
//! grown a quarter at a time spend 12 bytes per key and some slack. Keeping the access
//! clock here, not in the slot, is what lets a slot fit the allocator's 48-byte class.

/// Low bits of a meta word: the item's tag. The high 24 bits: its access clock.
const TAG_MASK: u32 = 0xff;
const CLOCK_SHIFT: u32 = 8;

/// The access clock keeps 24 bits of seconds, as Redis's LRU clock does: an idle time
/// wraps after 194 days.
pub const CLOCK_MASK: u32 = (1 << 24) - 1;

#[derive(Debug, Clone)]
pub struct Segment<T> {
    /// Per item: tag in the low byte, access clock above it.
    meta: Vec<u32>,
    items: Vec<T>,
}

impl<T> Default for Segment<T> {
    fn default() -> Self {
        Segment::with_capacity(0)
    }
}

/// The tag of a hash: its top byte (the database picks segments with the middle bits).
fn tag(hash: u64) -> u32 {
    (hash >> 56) as u32
}

fn meta(hash: u64, clock: u32) -> u32 {
    tag(hash) | ((clock & CLOCK_MASK) << CLOCK_SHIFT)
}

impl<T> Segment<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Segment {
            meta: Vec::with_capacity(capacity),
            items: Vec::with_capacity(capacity),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// The position of the item with this hash for which `eq` holds.
    pub fn find(&self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<usize> {
        let tag = tag(hash);
        self.meta
            .iter()
            .zip(&self.items)
            .position(|(m, item)| m & TAG_MASK == tag && eq(item))
    }

    pub fn get(&self, index: usize) -> &T {
        &self.items[index]
    }

    pub fn get_mut(&mut self, index: usize) -> &mut T {
        &mut self.items[index]
    }

    /// The access clock of the item at `index` (24 bits, see [`CLOCK_MASK`]).
    pub fn access_clock(&self, index: usize) -> u32 {
        self.meta[index] >> CLOCK_SHIFT
    }

    /// Records an access to the item at `index` at `clock` (seconds).
    pub fn touch(&mut self, index: usize, clock: u32) {
        let m = &mut self.meta[index];
        *m = (*m & TAG_MASK) | ((clock & CLOCK_MASK) << CLOCK_SHIFT);
    }

    /// Adds an item (the caller knows it is absent), accessed at `clock`.
    pub fn push(&mut self, hash: u64, item: T, clock: u32) {
        self.push_with_meta(meta(hash, clock), item);
    }

    /// Adds an item with the meta word it had in another segment (a split).
    fn push_with_meta(&mut self, meta: u32, item: T) {
        if self.items.len() == self.items.capacity() {
            // A quarter more, not double: the arrays are the per-key cost of the table.
            self.reserve((self.items.len() / 4).max(4));
        }
        self.meta.push(meta);
        self.items.push(item);
    }

    /// Room for `additional` more items, exactly.
    pub fn reserve(&mut self, additional: usize) {
        self.meta.reserve_exact(additional);
        self.items.reserve_exact(additional);
    }

    /// Removes the item at `index`; the last item takes its place.
    pub fn swap_remove(&mut self, index: usize) -> T {
        self.meta.swap_remove(index);
        let item = self.items.swap_remove(index);
        // Give back room that mass deletion left behind.
        if self.items.capacity() > 2 * self.items.len() + 8 {
            let keep = self.items.len() + self.items.len() / 4;
            self.meta.shrink_to(keep);
            self.items.shrink_to(keep);
        }
        item
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// Moves every item into `moved` where `to_moved(item)`, else into `stay`, keeping
    /// tags and access clocks.
    pub fn split_into(self, stay: &mut Self, moved: &mut Self, to_moved: impl Fn(&T) -> bool) {
        distribute(self.meta.into_iter().zip(self.items), stay, moved, to_moved);
    }
}

impl<T: Clone> Segment<T> {
    /// [`split_into`](Self::split_into) of a segment someone else still holds: the items
    /// are cloned.
    pub fn split_cloned_into(
        &self,
        stay: &mut Self,
        moved: &mut Self,
        to_moved: impl Fn(&T) -> bool,
    ) {
        let pairs = self.meta.iter().copied().zip(self.items.iter().cloned());
        distribute(pairs, stay, moved, to_moved);
    }
}

/// Pushes each (meta, item) pair onto `moved` or `stay` as `to_moved` says.
fn distribute<T>(
    pairs: impl Iterator<Item = (u32, T)>,
    stay: &mut Segment<T>,
    moved: &mut Segment<T>,
    to_moved: impl Fn(&T) -> bool,
) {
    for (m, item) in pairs {
        let target = if to_moved(&item) {
            &mut *moved
        } else {
            &mut *stay
        };
        target.push_with_meta(m, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_tag_and_equality_and_keeps_clocks() {
        let mut seg = Segment::default();
        // Same tag (top byte), different items: equality decides.
        seg.push(0xab00_0000_0000_0001, "a", 5);
        seg.push(0xab00_0000_0000_0002, "b", 7);
        seg.push(0x1200_0000_0000_0003, "c", CLOCK_MASK + 9);
        assert_eq!(seg.find(0xab00_0000_0000_0002, |s| *s == "b"), Some(1));
        assert_eq!(seg.find(0xab00_0000_0000_0002, |s| *s == "c"), None);
        assert_eq!(seg.access_clock(1), 7);
        // The clock wraps at 24 bits, as Redis's LRU clock does.
        assert_eq!(seg.access_clock(2), 8);
        seg.touch(0, 100);
        assert_eq!(seg.access_clock(0), 100);
        assert_eq!(seg.find(0xab00_0000_0000_0001, |s| *s == "a"), Some(0));
        assert_eq!(seg.swap_remove(0), "a");
        assert_eq!(seg.find(0x1200_0000_0000_0003, |s| *s == "c"), Some(0));
        assert_eq!(seg.access_clock(0), 8);
    }

    #[test]
    fn grows_by_a_quarter_and_shrinks_after_mass_deletion() {
        let mut seg = Segment::default();
        for i in 0..100u64 {
            seg.push(i << 56, i, 0);
            assert!(seg.capacity() <= (seg.len() + seg.len() / 4).max(4) + 4);
        }
        while seg.len() > 10 {
            seg.swap_remove(0);
        }
        assert!(seg.capacity() <= 2 * seg.len() + 8);
    }

    #[test]
    fn splitting_keeps_tags_and_clocks() {
        let mut seg = Segment::default();
        for i in 0..20u64 {
            seg.push(i << 56, i, i as u32);
        }
        let (mut stay, mut moved) = (Segment::default(), Segment::default());
        seg.split_cloned_into(&mut stay, &mut moved, |i| i % 2 == 1);
        let (mut stay2, mut moved2) = (Segment::default(), Segment::default());
        seg.split_into(&mut stay2, &mut moved2, |i| i % 2 == 1);
        for (s, m) in [(&stay, &moved), (&stay2, &moved2)] {
            assert_eq!((s.len(), m.len()), (10, 10));
            let i = m.find(7 << 56, |x| *x == 7).expect("moved");
            assert_eq!(m.access_clock(i), 7);
            assert!(s.find(7 << 56, |x| *x == 7).is_none());
        }
    }
}
