#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `purge_before`: deletes old events, refuses what the retention period protects.

use std::sync::Arc;

use seclog::*;

const T0: i64 = 1_795_132_800; // 2026-11-20T00:00:00Z
const DAY: i64 = 86_400;

fn at(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

#[test]
fn purge_before_deletes_old_events_and_refuses_protected_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let cfg = Config { db_file: path.clone(), retention_days: 30, ..Config::default() };
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(seclog_store::sqlite::SqliteStore::open(&path).unwrap());
    let logger = SecurityLogger::with_store(cfg, store, clock.clone()).unwrap();
    for offset in [-10 * DAY, -5 * DAY, 0] {
        let ts = at(T0 + offset).format(&time::format_description::well_known::Rfc3339).unwrap();
        let input: EventInput = serde_json::from_value(serde_json::json!({
            "event_type": "api_access", "timestamp": ts, "user_id": "u"
        }))
        .unwrap();
        logger.log_event(input).unwrap();
    }
    logger.flush().unwrap();
    let all = EventFilter::default();
    assert_eq!(logger.get_events(&all, 10).unwrap().len(), 3);
    // The background retention pass at start-up must be over before the clock moves (the
    // next one is 300 s away), or it would purge what this test purges by hand.
    let started = std::time::Instant::now();
    while logger.writer_stats().retention_passes.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "no retention pass");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }

    // Now = T0 + 37 days: everything newer than T0 + 7 days is protected.
    clock.set(T0 + 37 * DAY);
    let err = logger.purge_before(at(T0 + 8 * DAY)).unwrap_err();
    match &err {
        LogError::Invalid(v) => {
            assert_eq!(v.field, "before");
            assert!(v.message.contains("30 days"), "{}", v.message);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(logger.get_events(&all, 10).unwrap().len(), 3, "nothing deleted on refusal");

    assert_eq!(logger.purge_before(at(T0 - 7 * DAY)).unwrap(), 1);
    assert_eq!(logger.get_events(&all, 10).unwrap().len(), 2);
    assert_eq!(logger.purge_before(at(T0 + 1)).unwrap(), 2);
    assert!(logger.get_events(&all, 10).unwrap().is_empty());
    // The boundary itself is allowed.
    assert_eq!(logger.purge_before(at(T0 + 7 * DAY)).unwrap(), 0);
}
