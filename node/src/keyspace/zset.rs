//! Sorted sets: members with scores, ordered by (score, member).
//!
//! A hash map answers ZSCORE in O(1); an ordered set gives ranges by score, by lex and by
//! rank. Rank lookups walk the ordered set, so they cost O(rank) rather than Redis's
//! O(log n): fine for the sizes clients page through, noted here for whoever needs more.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use bytes::Bytes;

use super::keyed_table::KeyedTable;

/// A score with the total order Redis uses (scores are never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// Whether `score` is -0 (which `==` does not tell from 0).
pub fn is_negative_zero(score: f64) -> bool {
    score == 0.0 && score.is_sign_negative()
}

#[derive(Debug, Clone, Default)]
pub struct SortedSet {
    scores: KeyedTable<(Bytes, f64)>,
    order: BTreeSet<(Score, Bytes)>,
}

impl SortedSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).map(|(_, s)| *s)
    }

    /// Sets `member`'s score; returns true when the member is new.
    pub fn insert(&mut self, member: Bytes, score: f64) -> bool {
        match self.scores.get_mut(&member) {
            Some((_, old)) => {
                if *old != score {
                    self.order.remove(&(Score(*old), member.clone()));
                    *old = score;
                    self.order.insert((Score(score), member));
                }
                false
            }
            None => {
                self.scores.insert((member.clone(), score));
                self.order.insert((Score(score), member));
                true
            }
        }
    }

    /// Turns -0 scores into 0, as a listpack-encoded set does (Redis stores an integral
    /// score there as an integer, so the sign of zero does not survive). O(n): for a set
    /// built whole (the *STORE commands, a load) or just made compact.
    pub fn normalize_negative_zero(&mut self) {
        for (member, score) in self.scores.iter_mut() {
            if is_negative_zero(*score) {
                // -0 and 0 compare equal, so the ordered entry is the same one.
                self.order.remove(&(Score(*score), member.clone()));
                *score = 0.0;
                self.order.insert((Score(0.0), member.clone()));
            }
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.remove(member) {
            Some((m, s)) => {
                self.order.remove(&(Score(s), m));
                true
            }
            None => false,
        }
    }

    /// Members in ascending (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> + '_ {
        self.order.iter().map(|(s, m)| (m, s.0))
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(
            self.order
                .range(..(Score(score), Bytes::copy_from_slice(member)))
                .count(),
        )
    }

    /// Members with scores within the bounds, ascending.
    pub fn range_by_score(
        &self,
        min: Bound<f64>,
        max: Bound<f64>,
    ) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> + '_ {
        // An empty member sorts first among equal scores, so (score, "") bounds a score.
        let lo = match min {
            Bound::Included(s) => Bound::Included((Score(s), Bytes::new())),
            Bound::Excluded(s) if s == f64::INFINITY => Bound::Excluded((Score(s), Bytes::new())),
            Bound::Excluded(s) => Bound::Included((Score(s.next_up()), Bytes::new())),
            Bound::Unbounded => Bound::Unbounded,
        };
        let hi = match max {
            Bound::Included(s) if s == f64::INFINITY => Bound::Unbounded,
            Bound::Included(s) => Bound::Excluded((Score(s.next_up()), Bytes::new())),
            Bound::Excluded(s) => Bound::Excluded((Score(s), Bytes::new())),
            Bound::Unbounded => Bound::Unbounded,
        };
        let empty = match (&lo, &hi) {
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                a >= b
            }
            _ => false,
        } || matches!(min, Bound::Excluded(s) if s == f64::INFINITY);
        let range = if empty {
            None
        } else {
            Some(self.order.range((lo, hi)))
        };
        range.into_iter().flatten().map(|(s, m)| (m, s.0))
    }

    pub fn pop_first(&mut self) -> Option<(Bytes, f64)> {
        let (s, m) = self.order.pop_first()?;
        self.scores.remove(&m);
        Some((m, s.0))
    }

    pub fn pop_last(&mut self) -> Option<(Bytes, f64)> {
        let (s, m) = self.order.pop_last()?;
        self.scores.remove(&m);
        Some((m, s.0))
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.scores.contains(member)
    }

    /// A member with its score, chosen at random (see [`KeyedTable::random`]).
    pub fn random(&self) -> Option<(&Bytes, f64)> {
        self.scores.random().map(|(m, s)| (m, *s))
    }

    /// Up to `n` distinct members with their scores, chosen at random.
    pub fn random_distinct(&self, n: usize) -> Vec<(&Bytes, f64)> {
        let picked = self.scores.random_distinct(n);
        picked.into_iter().map(|(m, s)| (m, *s)).collect()
    }

    /// Members by rank, `start..=end` (already clamped), ascending or from the top.
    pub fn range_by_rank(
        &self,
        start: usize,
        end: usize,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = (&Bytes, f64)> + '_> {
        let n = end + 1 - start;
        if reverse {
            Box::new(self.iter().rev().skip(start).take(n))
        } else {
            Box::new(self.iter().skip(start).take(n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_rank() {
        let mut z = SortedSet::default();
        assert!(z.insert(Bytes::from("b"), 2.0));
        assert!(z.insert(Bytes::from("a"), 2.0));
        assert!(z.insert(Bytes::from("c"), 1.0));
        assert!(!z.insert(Bytes::from("c"), 3.0));
        let order: Vec<_> = z.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(order, vec!["a", "b", "c"]);
        assert_eq!(z.rank(b"c"), Some(2));
        assert_eq!(z.rank(b"a"), Some(0));
        let r: Vec<_> = z
            .range_by_score(Bound::Excluded(2.0), Bound::Included(3.0))
            .map(|(m, _)| m.clone())
            .collect();
        assert_eq!(r, vec!["c"]);
        assert!(z.remove(b"a"));
        assert_eq!(z.len(), 2);
        assert_eq!(z.pop_first().unwrap().0, "b");
    }
}
