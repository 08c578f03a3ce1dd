//! A command latency histogram with the layout of Redis 7.0's (an HdrHistogram tracking
//! 1 ns to 1 s at two significant figures), so `LATENCY HISTOGRAM` and `INFO
//! latencystats` report the same bucket boundaries and percentiles a Redis would for the
//! same durations.
//!
//! Values fall in slots: 256 slots one nanosecond wide below 256 ns, then for every
//! power of two 128 slots of width 2^k. A slot is reported by its highest value.

/// log2 of half the slots per power of two.
const HALF_MAGNITUDE: u32 = 7;
const HALF_COUNT: usize = 1 << HALF_MAGNITUDE;
/// Values below this share the first, unit-width range.
const SUB_BUCKET_MASK: u64 = (2 << HALF_MAGNITUDE) - 1;
const MIN_VALUE: u64 = 1;
const MAX_VALUE: u64 = 1_000_000_000;
/// Ranges needed to cover MAX_VALUE: 256 << 22 is the first power of two above it.
const BUCKETS: usize = 23;
const SLOTS: usize = (BUCKETS + 1) * HALF_COUNT;

/// Durations in nanoseconds, clamped to [1 ns, 1 s].
#[derive(Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
    total: u64,
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("total", &self.total)
            .finish()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; SLOTS].into_boxed_slice(),
            total: 0,
        }
    }
}

/// Which power-of-two range `value` is in (0 for the unit-width values below 256).
fn bucket_of(value: u64) -> u32 {
    64 - (value | SUB_BUCKET_MASK).leading_zeros() - (HALF_MAGNITUDE + 1)
}

fn slot_of(value: u64) -> usize {
    let bucket = bucket_of(value);
    let sub = (value >> bucket) as usize;
    ((bucket as usize + 1) << HALF_MAGNITUDE) + sub - HALF_COUNT
}

/// The lowest value of slot `slot`.
fn slot_start(slot: usize) -> u64 {
    let bucket = (slot >> HALF_MAGNITUDE) as i64 - 1;
    let sub = (slot & (HALF_COUNT - 1)) + HALF_COUNT;
    if bucket < 0 {
        (sub - HALF_COUNT) as u64
    } else {
        (sub as u64) << bucket
    }
}

/// The highest value that shares `value`'s slot.
fn highest_equivalent(value: u64) -> u64 {
    let bucket = bucket_of(value);
    ((value >> bucket) << bucket) + (1 << bucket) - 1
}

/// The lowest value that shares `value`'s slot.
fn lowest_equivalent(value: u64) -> u64 {
    let bucket = bucket_of(value);
    (value >> bucket) << bucket
}

impl LatencyHistogram {
    pub fn record(&mut self, nanos: u64) {
        self.counts[slot_of(nanos.clamp(MIN_VALUE, MAX_VALUE))] += 1;
        self.total += 1;
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value below which `percentile` percent of the recorded values fall, as the
    /// highest value of its slot (the lowest for the 0th percentile).
    pub fn percentile(&self, percentile: f64) -> u64 {
        let p = percentile.min(100.0);
        let wanted = (((p / 100.0) * self.total as f64 + 0.5) as u64).max(1);
        let mut seen = 0;
        for (slot, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                let value = slot_start(slot);
                return if percentile == 0.0 {
                    lowest_equivalent(value)
                } else {
                    highest_equivalent(value)
                };
            }
        }
        0
    }

    /// The cumulative distribution `LATENCY HISTOGRAM` replies with: for each power of
    /// two from 1024 ns, the highest value of its slot in microseconds and how many
    /// values were at most that, listing only the steps where the count grew.
    pub fn cumulative_usec(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut level: u64 = 1024;
        let mut next_slot = 0;
        let mut seen = 0;
        let mut reported = 0;
        while seen < self.total {
            let level_slot = slot_of(level);
            let last = level_slot.min(SLOTS - 1);
            while next_slot <= last {
                seen += self.counts[next_slot];
                next_slot += 1;
            }
            if seen > reported {
                out.push((highest_equivalent(slot_start(last)) / 1000, seen));
                reported = seen;
            }
            if level_slot >= SLOTS {
                break;
            }
            level *= 2;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_hdr_layout() {
        // Unit width below 256, then 128 slots per power of two.
        assert_eq!(highest_equivalent(255), 255);
        assert_eq!(highest_equivalent(256), 257);
        assert_eq!(highest_equivalent(1000), 1003);
        assert_eq!(highest_equivalent(5000), 5023);
        assert_eq!(highest_equivalent(1024), 1031);
        for v in [
            1,
            200,
            256,
            999,
            1000,
            4096,
            123_456,
            999_999_999,
            MAX_VALUE,
        ] {
            let slot = slot_of(v);
            assert!(slot < SLOTS, "{v}");
            assert_eq!(slot_start(slot), lowest_equivalent(v), "{v}");
        }
    }

    /// The figures Redis 7.0 prints for one microsecond, `p50=1.003`, and for five,
    /// `5.023`, come from these slots.
    #[test]
    fn percentiles_are_reported_as_redis_reports_them() {
        let mut h = LatencyHistogram::default();
        for _ in 0..98 {
            h.record(1000);
        }
        h.record(5000);
        h.record(23_000);
        assert_eq!(h.percentile(50.0), 1003);
        assert_eq!(h.percentile(99.0), 5023);
        assert_eq!(h.percentile(99.9), 23039);
        assert_eq!(h.percentile(0.0), 1000);
        assert_eq!(LatencyHistogram::default().percentile(50.0), 0);
    }

    #[test]
    fn cumulative_distribution_steps_by_powers_of_two() {
        let mut h = LatencyHistogram::default();
        h.record(1); // a command under a microsecond is recorded as 1 ns
        h.record(1000);
        h.record(3000);
        h.record(40_000);
        h.record(2_000_000_000); // clamped to 1 s
        assert_eq!(
            h.cumulative_usec(),
            vec![(1, 2), (4, 3), (66, 4), (1_073_741, 5)]
        );
        assert!(LatencyHistogram::default().cumulative_usec().is_empty());
    }
}
