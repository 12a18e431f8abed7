#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The stored counts behind statistics (`event_counts`) stay exact under any sequence of
//! batch inserts (some refused for a duplicate id), purges by age and purges by count: checked
//! against a plain list of the events that should be stored.

use std::collections::BTreeMap;

use proptest::prelude::*;
use seclog_core::SecurityEvent;
use seclog_store::conformance::data;
use seclog_store::{SqliteStore, Store};
use time::Duration;

#[derive(Debug, Clone)]
enum Op {
    /// Insert the next `n` events of the pool; with `dup`, the batch also repeats a stored id
    /// (the store refuses it whole).
    Insert { n: usize, dup: bool },
    /// Purge events older than base time + `secs`.
    PurgeOlder { secs: i64 },
    /// Keep only the newest `keep`.
    KeepMax { keep: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..120, prop::bool::weighted(0.2)).prop_map(|(n, dup)| Op::Insert { n, dup }),
        1 => (0i64..40).prop_map(|secs| Op::PurgeOlder { secs }),
        1 => (0u64..300).prop_map(|keep| Op::KeepMax { keep }),
    ]
}

fn by(
    events: &[SecurityEvent],
    key: impl Fn(&SecurityEvent) -> &'static str,
) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for e in events {
        *m.entry(key(e).to_string()).or_insert(0) += 1;
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn statistics_counts_equal_the_stored_events(ops in prop::collection::vec(op(), 1..14), seed in 0u64..1000) {
        let store = SqliteStore::open_in_memory().unwrap();
        let pool = data::dataset(2_000, seed);
        let mut next = 0;
        let mut stored: Vec<SecurityEvent> = Vec::new();
        for op in ops {
            match op {
                Op::Insert { n, dup } => {
                    let end = (next + n).min(pool.len());
                    let mut batch = pool[next..end].to_vec();
                    next = end;
                    if dup && !stored.is_empty() {
                        batch.push(stored[0].clone());
                        prop_assert!(store.insert_events(&batch).is_err());
                    } else if !batch.is_empty() {
                        store.insert_events(&batch).unwrap();
                        stored.extend(batch);
                    }
                }
                Op::PurgeOlder { secs } => {
                    let cutoff = data::base_time() + Duration::seconds(secs);
                    let n = store.purge_events(Some(cutoff), None).unwrap();
                    let before = stored.len();
                    stored.retain(|e| e.timestamp >= cutoff);
                    prop_assert_eq!(n as usize, before - stored.len());
                }
                Op::KeepMax { keep } => {
                    let n = store.purge_events(None, Some(keep)).unwrap();
                    let before = stored.len();
                    stored = data::sorted_newest_first(stored);
                    stored.truncate(usize::try_from(keep).unwrap());
                    prop_assert_eq!(n as usize, before - stored.len());
                }
            }
            let stats = store.statistics(data::base_time()).unwrap();
            prop_assert_eq!(stats.total_events, stored.len() as u64);
            prop_assert_eq!(stats.events_by_type, by(&stored, |e| e.event_type.as_str()));
            prop_assert_eq!(stats.events_by_severity, by(&stored, |e| e.severity.as_str()));
        }
        // The purge by count kept exactly the newest events (ties broken by id).
        let all = store.query_events(&Default::default(), None, 2_000).unwrap().events;
        prop_assert_eq!(all, data::sorted_newest_first(stored));
    }
}
