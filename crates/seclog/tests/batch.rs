#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `SecurityLogger::log_events_durable`: many events, one queue message, one commit.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::gated::gated;
use seclog::*;

fn ev(ty: &str, ip: &str) -> EventInput {
    EventInput { ip_address: Some(ip.into()), ..EventInput::of_type(ty) }
}

fn inputs(n: usize) -> Vec<EventInput> {
    (0..n).map(|i| ev("api_access", &format!("10.0.{}.{}", i / 250, i % 250 + 1))).collect()
}

#[test]
fn accepted_events_are_committed_in_one_transaction_before_the_return() {
    let dir = tempfile::tempdir().unwrap();
    let logger =
        SecurityLogger::new(Config { db_file: dir.path().join("b.db"), ..Config::default() })
            .unwrap();
    let mut batch = inputs(300);
    batch[7] = EventInput::of_type("no_such_type");
    let before = logger.writer_stats().batches.load(Ordering::Relaxed);
    let results = logger.log_events_durable(batch).unwrap();
    assert_eq!(results.len(), 300);
    match &results[7] {
        Err(LogError::Invalid(v)) => assert_eq!(v.field, "event_type"),
        other => panic!("index 7: {other:?}"),
    }
    let ids: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ids.len(), 299);
    assert_eq!(logger.writer_stats().batches.load(Ordering::Relaxed), before + 1, "one commit");
    // Read through the store, which does not wait for the writer: already committed.
    for id in ids {
        assert!(logger.store().get_event(id).unwrap().is_some(), "{id} committed");
    }
}

#[test]
fn an_event_the_store_refuses_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let logger =
        SecurityLogger::new(Config { db_file: dir.path().join("d.db"), ..Config::default() })
            .unwrap();
    let dup = || EventInput { event_id: Some("dup-1".into()), ..ev("api_access", "192.0.2.1") };
    logger.log_event_durable(dup()).unwrap();
    let mut batch = inputs(20);
    batch[4] = dup();
    let results = logger.log_events_durable(batch).unwrap();
    for (i, r) in results.iter().enumerate() {
        if i == 4 {
            assert!(matches!(r, Err(LogError::Store(_))), "index 4: {r:?}");
        } else {
            let id = r.as_ref().unwrap();
            assert!(logger.store().get_event(id).unwrap().is_some(), "index {i} committed");
        }
    }
    // A single durable write of a refused id fails too; one of a stored id does not.
    assert!(matches!(logger.log_event_durable(dup()), Err(LogError::Store(_))));
    assert!(logger.log_event_durable(ev("api_access", "192.0.2.2")).is_ok());
}

/// Logs one event and waits until the writer has taken it (and is blocked in the store).
fn block_writer(logger: &SecurityLogger) {
    logger.log_event(EventInput::of_type("auth_failure")).unwrap();
    wait_for(|| logger.queue_depth() == 0);
}

/// A logger with monitoring on (unlike `gated`) over a gated store, its writer held up.
fn monitoring_behind_a_blocked_writer(
) -> (SecurityLogger, std::sync::Arc<common::gated::GatedStore>) {
    let store = std::sync::Arc::new(common::gated::GatedStore::new());
    let cfg = Config { db_file: ":memory:".into(), ..Config::default() };
    let logger =
        SecurityLogger::with_store(cfg, store.clone(), std::sync::Arc::new(SystemClock)).unwrap();
    block_writer(&logger);
    (logger, store)
}

fn wait_for(cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "condition not reached");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn queue_depth_counts_the_events_of_a_queued_batch() {
    let (logger, store) = gated(QueueFullPolicy::Wait);
    block_writer(&logger);
    let producer = {
        let logger = logger.clone();
        std::thread::spawn(move || logger.log_events_durable(inputs(10)).unwrap())
    };
    wait_for(|| logger.queue_depth() == 10);
    assert!(!producer.is_finished(), "returns only after the commit");
    store.release();
    let results = producer.join().unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(logger.queue_depth(), 0);
    assert_eq!(logger.get_statistics().unwrap().total_events, 11);
}

#[test]
fn full_queue_with_drop_policy_refuses_the_whole_batch_and_counts_it() {
    let (logger, store) = gated(QueueFullPolicy::Drop);
    block_writer(&logger);
    for _ in 0..8 {
        logger.log_event(EventInput::of_type("auth_failure")).unwrap();
    }
    assert!(matches!(logger.log_events_durable(inputs(5)), Err(LogError::QueueFull)));
    assert_eq!(logger.queue_depth(), 8, "the refused batch is not counted as queued");
    assert_eq!(logger.writer_stats().dropped.load(Ordering::Relaxed), 5);
    store.release();
    logger.flush().unwrap();
    let stats = logger.get_statistics().unwrap();
    assert_eq!(stats.total_events, 9);
    assert_eq!(stats.events_dropped, 5);
    // Invalid items alone never reach the queue.
    let r = logger.log_events_durable(vec![EventInput::of_type("bogus")]).unwrap();
    assert!(matches!(r.as_slice(), [Err(LogError::Invalid(_))]));
}

#[test]
fn query_committed_does_not_wait_for_the_queue() {
    let (logger, store) = gated(QueueFullPolicy::Wait);
    block_writer(&logger);
    logger.log_event(EventInput::of_type("auth_failure")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let logger = logger.clone();
        std::thread::spawn(move || {
            let _ = tx.send(logger.query_committed(&EventFilter::default(), None, 10));
        });
    }
    let page = rx.recv_timeout(Duration::from_secs(5)).expect("returns while the writer is busy");
    assert!(page.unwrap().events.is_empty(), "nothing is committed yet");
    store.release();
    // `query` waits for what was logged before it.
    assert_eq!(logger.query(&EventFilter::default(), None, 10).unwrap().events.len(), 2);
}

#[test]
fn a_batch_from_a_suspicious_address_takes_one_queue_slot_for_its_ip_rows() {
    let (logger, store) = monitoring_behind_a_blocked_writer();
    // SQL injection attempts from one address: high risk, so every event makes its address a
    // suspicious-IP row.
    let batch: Vec<EventInput> =
        (0..200).map(|_| ev("sql_injection_attempt", "198.51.100.7")).collect();
    let producer = {
        let logger = logger.clone();
        std::thread::spawn(move || logger.log_events_durable(batch).unwrap())
    };
    wait_for(|| logger.queue_depth() >= 200);
    std::thread::sleep(Duration::from_millis(50));
    // 200 events, plus at most a few alert and decision messages and one suspicious-IP
    // message (was one such message per event: 400 and more).
    let depth = logger.queue_depth();
    store.release();
    assert!((200..=210).contains(&depth), "queue depth {depth}");
    assert!(producer.join().unwrap().iter().all(Result::is_ok));
    // The acknowledgement covers the events; side rows are written right after that commit,
    // so read them through the logger, which waits for what was queued before.
    let ips = logger.suspicious_ips(false, 10).unwrap();
    assert_eq!(ips.len(), 1, "{ips:?}");
    assert_eq!(ips[0].ip_address.to_string(), "198.51.100.7");
}

#[test]
fn single_events_from_a_suspicious_address_take_one_queue_slot_each() {
    let (logger, store) = monitoring_behind_a_blocked_writer();
    // High-risk events one at a time, from two addresses: each makes its address a
    // suspicious-IP row. Was one extra message per event (400 and more in the queue).
    for i in 0..200 {
        let ip = if i % 2 == 0 { "198.51.100.7" } else { "198.51.100.8" };
        logger.log_event(ev("sql_injection_attempt", ip)).unwrap();
    }
    let depth = logger.queue_depth();
    // Released first: a failed assertion must not leave the writer blocked at drop.
    store.release();
    assert!((200..=210).contains(&depth), "queue depth {depth}");
    let mut ips: Vec<String> = logger
        .suspicious_ips(false, 10)
        .unwrap()
        .iter()
        .map(|r| r.ip_address.to_string())
        .collect();
    ips.sort();
    assert_eq!(ips, ["198.51.100.7", "198.51.100.8"]);
    // A row put in the map while the writer is idle wakes it (no other message follows).
    logger.log_event(ev("sql_injection_attempt", "198.51.100.9")).unwrap();
    wait_for(|| logger.store().list_suspicious_ips(false, 10).unwrap().len() == 3);
}

#[test]
fn suspicious_ip_rows_waiting_at_close_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let logger =
        SecurityLogger::new(Config { db_file: path.clone(), ..Config::default() }).unwrap();
    for _ in 0..50 {
        logger.log_event(ev("sql_injection_attempt", "198.51.100.7")).unwrap();
    }
    logger.close();
    let store = seclog_store::SqliteStore::open(&path).unwrap();
    use seclog_store::Store;
    let rows = store.list_suspicious_ips(false, 10).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(store.count_events(&Default::default()).unwrap(), 50);
}
