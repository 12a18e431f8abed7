//! How often a refused client's `rate_limiting_blocked` / `api_access_denied` event is logged.
//!
//! A blocked client that keeps sending would otherwise cost one full event (validation,
//! redaction, rules, a database row) per refused request: the layer would turn its flood into
//! work for the logger and rows in the store. The throttle logs the first refusal of a client
//! in each interval and counts the others; the next logged event carries the count.
//!
//! Lock-free and fixed-size: a table of [`SLOTS`] atomic slots indexed by a hash of the client
//! (IP or user). Each slot holds a fingerprint of the client and the interval number of its
//! last logged event. Two clients hashing to the same slot take turns in it: each then logs
//! at least once per interval (more events, never fewer), and the count of unlogged
//! refusals may be reported with the other client's event.

use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Number of slots (a power of two).
pub(crate) const SLOTS: usize = 1024;

#[derive(Debug)]
struct Slot {
    /// `fingerprint << 32 | interval number` of the last logged refusal.
    last: AtomicU64,
    /// Refusals not logged since.
    unlogged: AtomicU64,
}

/// At most one logged refusal per client and interval (see the module docs).
#[derive(Debug)]
pub(crate) struct Throttle {
    interval_secs: u64,
    hasher: RandomState,
    slots: Box<[Slot]>,
}

/// What to do with one refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Log it; `unlogged` refusals were counted and not logged before it.
    Log { unlogged: u64 },
    /// Counted, not logged.
    Skip,
}

impl Throttle {
    /// `interval` rounded down to whole seconds; zero logs every refusal.
    pub(crate) fn new(interval: Duration) -> Self {
        let slots = if interval.as_secs() == 0 { 0 } else { SLOTS };
        Throttle {
            interval_secs: interval.as_secs(),
            hasher: RandomState::new(),
            slots: (0..slots)
                .map(|_| Slot { last: AtomicU64::new(0), unlogged: AtomicU64::new(0) })
                .collect(),
        }
    }

    /// Whether the refusal of `client` at `unix_secs` is to be logged.
    pub(crate) fn check<K: Hash + ?Sized>(&self, client: &K, unix_secs: i64) -> Verdict {
        if self.interval_secs == 0 || self.slots.is_empty() {
            return Verdict::Log { unlogged: 0 };
        }
        let hash = self.hasher.hash_one(client);
        let Some(slot) = self.slots.get((hash as usize) & (self.slots.len() - 1)) else {
            return Verdict::Log { unlogged: 0 };
        };
        // Interval numbers wrap after 2^32 intervals; a wrap can only cause one extra event.
        let interval = (u64::try_from(unix_secs).unwrap_or(0) / self.interval_secs) as u32;
        // The fingerprint's low bit is forced to 1 so that no state equals the initial 0.
        let fingerprint = (hash >> 32) as u32 | 1;
        let want = (u64::from(fingerprint) << 32) | u64::from(interval);
        let cur = slot.last.load(Ordering::Acquire);
        if cur == want {
            slot.unlogged.fetch_add(1, Ordering::Relaxed);
            return Verdict::Skip;
        }
        match slot.last.compare_exchange(cur, want, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Verdict::Log { unlogged: slot.unlogged.swap(0, Ordering::Relaxed) },
            // Another refusal took the slot at the same moment: most likely the same client
            // in the same interval, whose event is being logged.
            Err(_) => {
                slot.unlogged.fetch_add(1, Ordering::Relaxed);
                Verdict::Skip
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_event_per_client_and_interval() {
        let t = Throttle::new(Duration::from_secs(1));
        assert_eq!(t.check("1.2.3.4", 100), Verdict::Log { unlogged: 0 });
        assert_eq!(t.check("1.2.3.4", 100), Verdict::Skip);
        assert_eq!(t.check("1.2.3.4", 100), Verdict::Skip);
        assert_eq!(t.check("5.6.7.8", 100), Verdict::Log { unlogged: 0 });
        assert_eq!(t.check("1.2.3.4", 101), Verdict::Log { unlogged: 2 });
        assert_eq!(t.check("1.2.3.4", 101), Verdict::Skip);
        let every = Throttle::new(Duration::ZERO);
        for _ in 0..3 {
            assert_eq!(every.check("1.2.3.4", 100), Verdict::Log { unlogged: 0 });
        }
        let ten = Throttle::new(Duration::from_secs(10));
        assert_eq!(ten.check(&7u32, 100), Verdict::Log { unlogged: 0 });
        assert_eq!(ten.check(&7u32, 109), Verdict::Skip);
        assert_eq!(ten.check(&7u32, 110), Verdict::Log { unlogged: 1 });
    }

    proptest! {
        /// Against a naive set of (client, interval) pairs, whatever the hashing: no refusal is
        /// lost (logged + skipped = total, and no more is reported than skipped), each client
        /// logs its first refusal of every interval, and a refusal is skipped only after one
        /// of the same client in the same interval was logged.
        #[test]
        fn nothing_is_lost_and_each_interval_logs(
            seq in proptest::collection::vec((0u8..20, 0i64..5), 1..300),
        ) {
            let t = Throttle::new(Duration::from_secs(1));
            let mut seen = std::collections::HashSet::new();
            let mut logged = 0u64;
            let mut reported = 0u64;
            let mut skipped = 0u64;
            let mut sorted = seq;
            sorted.sort_by_key(|(_, s)| *s); // time only moves forward
            for (client, secs) in &sorted {
                match t.check(client, *secs) {
                    Verdict::Log { unlogged } => {
                        logged += 1;
                        reported += unlogged;
                        seen.insert((*client, *secs));
                    }
                    Verdict::Skip => {
                        skipped += 1;
                        prop_assert!(seen.contains(&(*client, *secs)));
                    }
                }
            }
            let pairs: std::collections::HashSet<_> = sorted.iter().copied().collect();
            prop_assert!(pairs.iter().all(|p| seen.contains(p)));
            prop_assert_eq!(logged + skipped, sorted.len() as u64);
            prop_assert!(reported <= skipped);
        }
    }
}
