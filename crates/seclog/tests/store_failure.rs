#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The writer facing a failing store: a store that keeps failing costs a bounded number of
//! attempts per batch (not one slow retry per event), every event is reported, and the writer
//! carries on once the store recovers; an event the store refuses as invalid fails alone.

mod common;

use std::sync::atomic::Ordering;

use common::gated::gated;
use seclog::*;

fn inputs(n: usize, id_prefix: &str) -> Vec<EventInput> {
    (0..n)
        .map(|i| EventInput {
            event_id: Some(format!("{id_prefix}-{i}")),
            ip_address: Some(format!("10.0.{}.{}", i / 250, i % 250 + 1)),
            ..EventInput::of_type("api_access")
        })
        .collect()
}

#[test]
fn a_store_that_keeps_failing_costs_bounded_attempts_and_every_event_is_reported() {
    let (logger, store) = gated(QueueFullPolicy::Wait);
    store.failing.store(true, Ordering::SeqCst);
    store.release();

    let results = logger.log_events_durable(inputs(500, "down")).unwrap();
    assert_eq!(results.len(), 500);
    assert!(results.iter().all(Result::is_err), "none of them was stored: {:?}", &results[..3]);
    // Five attempts at the batch, then one single-event attempt that fails the same way:
    // not 500 events x 3 attempts with sleeps in between.
    let calls = store.insert_calls.load(Ordering::SeqCst);
    assert_eq!(calls, 6, "insert attempts");
    assert_eq!(logger.writer_stats().failed.load(Ordering::Relaxed), 500);
    assert_eq!(logger.writer_stats().committed.load(Ordering::Relaxed), 0);

    // The store recovers: the writer goes on with the next batch.
    store.failing.store(false, Ordering::SeqCst);
    let results = logger.log_events_durable(inputs(20, "up")).unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(logger.get_statistics().unwrap().total_events, 20);
    assert_eq!(logger.writer_stats().committed.load(Ordering::Relaxed), 20);
}

#[test]
fn an_event_the_store_refuses_as_invalid_fails_alone() {
    let (logger, store) = gated(QueueFullPolicy::Wait);
    store.release();
    logger.log_events_durable(inputs(1, "dup")).unwrap().pop().unwrap().unwrap();
    let before = store.insert_calls.load(Ordering::SeqCst);

    // "dup-0" is already stored: the batch is refused as invalid and retried one by one,
    // at once (no backoff: the failure belongs to one event, not to the store).
    let results = logger.log_events_durable(inputs(10, "dup")).unwrap();
    assert!(results[0].is_err(), "the duplicate is refused");
    assert!(results[1..].iter().all(Result::is_ok), "{results:?}");
    assert_eq!(store.insert_calls.load(Ordering::SeqCst) - before, 1 + 10);
    assert_eq!(logger.writer_stats().failed.load(Ordering::Relaxed), 1);
    assert_eq!(logger.get_statistics().unwrap().total_events, 10);
}
