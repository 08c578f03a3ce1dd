//! What a key's 24-bit access stamp records, by `maxmemory-policy`, as in Redis: the second
//! of its last access (LRU policies and those that do not evict), or (LFU policies) a
//! logarithmic access counter in the low 8 bits under the minute it was last decremented.
//!
//! The stamp is read by OBJECT IDLETIME / FREQ and by eviction, which removes the keys
//! with the largest idle time or the smallest counter among those it samples.

use super::segment::CLOCK_MASK;

/// The counter a new key starts with under LFU, so it is not evicted before it had a
/// chance to be read again (Redis's LFU_INIT_VAL).
pub const LFU_INIT_VAL: u32 = 5;

/// How accesses are stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessTracking {
    /// Seconds of the server clock.
    #[default]
    Lru,
    /// `lfu-log-factor`: how many accesses it takes to raise the counter as it grows;
    /// `lfu-decay-time`: minutes per point the counter loses while the key is not read.
    Lfu { log_factor: u32, decay_minutes: u32 },
}

/// The 16-bit minute clock an LFU stamp keeps, from the server's second clock.
fn minutes(clock_secs: u32) -> u32 {
    (clock_secs / 60) & 0xffff
}

impl AccessTracking {
    /// The stamp of a key created at `clock_secs`.
    pub fn created(self, clock_secs: u32) -> u32 {
        match self {
            AccessTracking::Lru => clock_secs & CLOCK_MASK,
            AccessTracking::Lfu { .. } => (minutes(clock_secs) << 8) | LFU_INIT_VAL,
        }
    }

    /// The stamp of a key with stamp `old` accessed at `clock_secs`: under LFU the counter
    /// first decays for the minutes since, then grows with probability
    /// 1 / ((counter - LFU_INIT_VAL) * log_factor + 1).
    pub fn accessed(self, old: u32, clock_secs: u32) -> u32 {
        match self {
            AccessTracking::Lru => clock_secs & CLOCK_MASK,
            AccessTracking::Lfu { log_factor, .. } => {
                let mut counter = self.frequency(old, clock_secs);
                if counter < 255 {
                    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
                    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
                    if rand::random::<f64>() < p {
                        counter += 1;
                    }
                }
                (minutes(clock_secs) << 8) | counter
            }
        }
    }

    /// OBJECT FREQ: the LFU counter of `stamp` as of `clock_secs`, after decay.
    pub fn frequency(self, stamp: u32, clock_secs: u32) -> u32 {
        let counter = stamp & 0xff;
        let AccessTracking::Lfu { decay_minutes, .. } = self else {
            return counter;
        };
        if decay_minutes == 0 {
            return counter;
        }
        let elapsed = minutes(clock_secs).wrapping_sub(stamp >> 8) & 0xffff;
        counter.saturating_sub(elapsed / decay_minutes)
    }

    /// A stamp with the LFU counter set to `freq` (RESTORE ... FREQ), as of `clock_secs`.
    pub fn with_frequency(clock_secs: u32, freq: u8) -> u32 {
        (minutes(clock_secs) << 8) | u32::from(freq)
    }

    /// The stamp of a key that comes with a recorded idle time or LFU counter (RDB IDLE /
    /// FREQ records, RESTORE's IDLETIME / FREQ), as Redis's objectSetLRUOrLFU applies them:
    /// the counter under LFU, the idle time otherwise. None when what this tracking keeps
    /// was not recorded (the key then counts as created now).
    pub fn restored(self, recorded: RecordedAccess, clock_secs: u32) -> Option<u32> {
        match self {
            AccessTracking::Lru => recorded
                .idle_secs
                .map(|secs| clock_secs.wrapping_sub(secs as u32) & CLOCK_MASK),
            AccessTracking::Lfu { .. } => recorded
                .freq
                .map(|freq| Self::with_frequency(clock_secs, freq)),
        }
    }

    /// What a snapshot records of a key with `stamp` when `saved` is what the policy saves.
    pub fn recorded(self, saved: SavedAccess, stamp: u32, clock_secs: u32) -> RecordedAccess {
        match saved {
            SavedAccess::Nothing => RecordedAccess::default(),
            SavedAccess::IdleTime => RecordedAccess {
                idle_secs: Some(u64::from(idle_secs(stamp, clock_secs))),
                freq: None,
            },
            SavedAccess::Frequency => RecordedAccess {
                idle_secs: None,
                freq: Some(self.frequency(stamp, clock_secs) as u8),
            },
        }
    }

    /// How strongly eviction prefers the key with `stamp`: seconds idle under LRU,
    /// 255 minus the counter under LFU; larger goes first.
    pub fn eviction_score(self, stamp: u32, clock_secs: u32) -> u64 {
        match self {
            AccessTracking::Lru => u64::from(idle_secs(stamp, clock_secs)),
            AccessTracking::Lfu { .. } => u64::from(255 - self.frequency(stamp, clock_secs)),
        }
    }
}

/// A key's access as an RDB or a RESTORE states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordedAccess {
    /// Seconds since the last access (RDB IDLE, RESTORE IDLETIME).
    pub idle_secs: Option<u64>,
    /// The LFU counter (RDB FREQ, RESTORE FREQ).
    pub freq: Option<u8>,
}

/// What a snapshot records of each key's access, by `maxmemory-policy`, as Redis's
/// rdbSaveKeyValuePair does: the idle time under the LRU policies, the counter under the
/// LFU ones, nothing under the others (whose stamps no eviction reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SavedAccess {
    #[default]
    Nothing,
    IdleTime,
    Frequency,
}

/// Seconds since an LRU stamp, on the 24-bit clock (wraps after 194 days, as in Redis).
pub fn idle_secs(stamp: u32, clock_secs: u32) -> u32 {
    clock_secs.wrapping_sub(stamp) & CLOCK_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_stamps_the_clock() {
        let lru = AccessTracking::Lru;
        assert_eq!(lru.created(100), 100);
        assert_eq!(lru.accessed(3, 200), 200);
        assert_eq!(idle_secs(lru.created(100), 130), 30);
        assert_eq!(lru.eviction_score(100, 130), 30);
        // Wraps at 24 bits.
        assert_eq!(idle_secs(CLOCK_MASK, 4), 5);
    }

    #[test]
    fn lfu_counts_every_access_with_log_factor_zero_and_decays_per_period() {
        let lfu = AccessTracking::Lfu {
            log_factor: 0,
            decay_minutes: 1,
        };
        let mut stamp = lfu.created(0);
        assert_eq!(lfu.frequency(stamp, 0), LFU_INIT_VAL);
        for _ in 0..10 {
            stamp = lfu.accessed(stamp, 30);
        }
        assert_eq!(lfu.frequency(stamp, 30), 15);
        // Three minutes later, three points lower; reading does not change the stamp.
        assert_eq!(lfu.frequency(stamp, 30 + 180), 12);
        assert_eq!(lfu.eviction_score(stamp, 30 + 180), 255 - 12);
        // An access decays first, then counts.
        assert_eq!(lfu.frequency(lfu.accessed(stamp, 30 + 180), 30 + 180), 13);
        // The counter stops at 255 and decays to 0, not below.
        let full = AccessTracking::with_frequency(0, 255);
        assert_eq!(lfu.frequency(lfu.accessed(full, 0), 0), 255);
        assert_eq!(lfu.frequency(full, 60 * 1000), 0);
    }

    #[test]
    fn lfu_counter_grows_logarithmically() {
        let lfu = AccessTracking::Lfu {
            log_factor: 10,
            decay_minutes: 0,
        };
        let mut stamp = lfu.created(0);
        for _ in 0..1000 {
            stamp = lfu.accessed(stamp, 0);
        }
        // Redis's table for factor 10: 1K hits reach about 18 (from 5); never 1000.
        let counter = lfu.frequency(stamp, 0);
        assert!((10..40).contains(&counter), "counter {counter}");
    }
}
