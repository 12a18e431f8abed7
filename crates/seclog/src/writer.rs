//! The writer thread: owns the write side of the store, commits in batches (group commit),
//! appends committed events to the log file, and answers flushes and durable writes.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use seclog_core::{SecurityAlert, SecurityEvent, SuspiciousIp};
use seclog_store::{Store, StoreError};

use crate::filelog::RotatingLog;

/// A message to the writer.
pub(crate) enum Msg {
    /// An accepted event; the sender, when present, is told once it is committed.
    Event(Box<SecurityEvent>, Option<Ack>),
    /// Accepted events sent together (one queue slot, committed in one transaction); the
    /// sender, when present, is told once they are committed.
    Events(Vec<SecurityEvent>, Option<Ack>),
    /// A new alert.
    NewAlert(Box<SecurityAlert>),
    /// A new decision (block) to persist.
    NewDecision(Box<seclog_core::monitor::Decision>),
    /// Suspicious-IP rows wait in [`PendingIps`]: wakes the writer, which takes them at
    /// every pass anyway.
    PendingIps,
    /// Answered once everything sent before it is committed.
    Flush(Sender<()>),
}

/// The newest suspicious-IP row per address that logging produced and the writer has not
/// stored yet. The writer takes them all at each pass; a logger sends [`Msg::PendingIps`]
/// only when it finds the map empty, so a stream of events (or batches) from suspicious
/// addresses, as in an attack, costs one queue slot per writer pass, not one per event.
pub(crate) type PendingIps =
    Arc<parking_lot::Mutex<std::collections::HashMap<std::net::IpAddr, SuspiciousIp>>>;

/// Counters shared between the writer and the logger (for statistics and metrics).
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Events committed to the store.
    pub committed: AtomicU64,
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Events refused because the queue was full.
    pub dropped: AtomicU64,
    /// Events the store refused even one by one (for example a duplicate event_id).
    pub failed: AtomicU64,
    /// Log file write errors.
    pub file_errors: AtomicU64,
    /// Duration of the last commit, in microseconds.
    pub last_commit_micros: AtomicU64,
    /// Sum of commit durations, in microseconds.
    pub commit_micros_total: AtomicU64,
    /// Retention passes completed by the background thread (the first runs at start-up).
    pub retention_passes: AtomicU64,
    /// Events queued in [`Msg::Events`] messages beyond the first of each (the queue counts
    /// messages; this makes its depth count events).
    pub(crate) queued_extra: AtomicUsize,
}

pub(crate) struct Writer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) rx: Receiver<Msg>,
    pub(crate) batch_size: usize,
    pub(crate) file: Option<RotatingLog>,
    pub(crate) stats: Arc<WriterStats>,
    /// Its frozen layers are merged here, off the path that makes blocks visible.
    pub(crate) blocklist: Arc<seclog_core::monitor::BlockList>,
    pub(crate) pending_ips: PendingIps,
}

/// Attempts at committing a batch before the writer gives up on the store for it.
const BATCH_ATTEMPTS: u32 = 5;

/// Told once the events of its message are committed: `Err` holds the ids of those of them
/// the store refused.
pub(crate) type Ack = Sender<Result<(), Vec<String>>>;

impl Writer {
    /// Runs until every sender is gone and the queue is drained.
    pub(crate) fn run(mut self) {
        let mut events: Vec<SecurityEvent> = Vec::with_capacity(self.batch_size);
        let mut acks: Vec<(Ack, Range<usize>)> = Vec::new();
        let mut flushes: Vec<Sender<()>> = Vec::new();
        let mut alerts: Vec<SecurityAlert> = Vec::new();
        let mut ips: Vec<SuspiciousIp> = Vec::new();
        let mut decisions: Vec<seclog_core::monitor::Decision> = Vec::new();
        while let Ok(first) = self.rx.recv() {
            // The store may ask for smaller transactions (SQLite: to keep the WAL bounded).
            let limit =
                self.store.insert_batch_hint().map_or(self.batch_size, |h| h.min(self.batch_size));
            let mut next = Some(first);
            let mut taken = 0usize;
            while let Some(msg) = next.take() {
                taken += 1;
                match msg {
                    Msg::Event(ev, ack) => {
                        events.push(*ev);
                        if let Some(a) = ack {
                            acks.push((a, events.len() - 1..events.len()));
                        }
                    }
                    Msg::Events(evs, ack) => {
                        let n = evs.len();
                        self.stats.queued_extra.fetch_sub(n.saturating_sub(1), Ordering::Relaxed);
                        taken += n.saturating_sub(1);
                        let start = events.len();
                        events.extend(evs);
                        if let Some(a) = ack {
                            acks.push((a, start..events.len()));
                        }
                    }
                    Msg::NewAlert(a) => alerts.push(*a),
                    Msg::NewDecision(d) => decisions.push(*d),
                    Msg::PendingIps => {}
                    Msg::Flush(done) => flushes.push(done),
                }
                if taken < limit {
                    next = self.rx.try_recv().ok();
                }
            }
            self.commit(&mut events, &mut acks);
            // After the events; a flush sent after a row was put in the pending map finds it
            // stored (side_tables takes the map).
            self.side_tables(&mut alerts, &mut ips, &mut decisions);
            if self.blocklist.needs_compaction() {
                self.blocklist.compact();
            }
            for f in flushes.drain(..) {
                let _ = f.send(());
            }
        }
        // Closed: rows put in the pending map since the last pass.
        self.side_tables(&mut alerts, &mut ips, &mut decisions);
    }

    fn commit(&mut self, events: &mut Vec<SecurityEvent>, acks: &mut Vec<(Ack, Range<usize>)>) {
        if events.is_empty() {
            return;
        }
        let started = Instant::now();
        let result = self.insert_with_retry(events);
        let micros = started.elapsed().as_micros() as u64;
        self.stats.last_commit_micros.store(micros, Ordering::Relaxed);
        self.stats.commit_micros_total.fetch_add(micros, Ordering::Relaxed);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let failed: HashSet<&str> = match &result {
            Ok(()) => HashSet::new(),
            Err(ids) => ids.iter().map(String::as_str).collect(),
        };
        let committed = events.len() - result.as_ref().err().map_or(0, Vec::len);
        self.stats.committed.fetch_add(committed as u64, Ordering::Relaxed);
        if let Some(file) = self.file.as_mut() {
            // The file gets every accepted event, even one the store refused, so nothing
            // accepted is lost from the record.
            if let Err(e) = file.append(events) {
                self.stats.file_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "writing the security log file failed");
            }
        }
        for (a, range) in acks.drain(..) {
            if failed.is_empty() {
                let _ = a.send(Ok(()));
                continue;
            }
            let mine: Vec<String> = events
                .get(range)
                .unwrap_or_default()
                .iter()
                .filter(|e| failed.contains(e.event_id.as_str()))
                .map(|e| e.event_id.clone())
                .collect();
            let answer = if mine.is_empty() { Ok(()) } else { Err(mine) };
            let _ = a.send(answer);
        }
        events.clear();
    }

    /// Inserts the batch. A batch the store refuses as invalid (an event-specific error such
    /// as a duplicate `event_id`) is retried one event at a time, so one bad event cannot sink
    /// the others. Any other error (busy, I/O, disk full) is retried as a whole with backoff,
    /// [`BATCH_ATTEMPTS`] times; if it persists, the events are tried one by one only until
    /// the first of them fails the same way, and the rest are reported failed at once. The
    /// time a failing store costs is therefore bounded by the backoff (~1.5 s) plus one
    /// single-event attempt, whatever the batch's size. Returns the ids that failed.
    fn insert_with_retry(&self, events: &[SecurityEvent]) -> Result<(), Vec<String>> {
        let mut delay = Duration::from_millis(10);
        for attempt in 1..=BATCH_ATTEMPTS {
            match self.store.insert_events(events) {
                Ok(()) => return Ok(()),
                Err(StoreError::Invalid(e)) => {
                    tracing::warn!(error = %e, n = events.len(), "batch refused; inserting one by one");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, n = events.len(), attempt, "batch insert failed");
                    if attempt < BATCH_ATTEMPTS {
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(1));
                    }
                }
            }
        }
        let mut failed = Vec::new();
        let mut store_down = false;
        for ev in events {
            if !store_down {
                match self.store.insert_events(std::slice::from_ref(ev)) {
                    Ok(()) => continue,
                    Err(e @ StoreError::Invalid(_)) => {
                        tracing::error!(event_id = %ev.event_id, error = %e, "event refused by the store");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the store keeps failing");
                        store_down = true;
                    }
                }
            }
            failed.push(ev.event_id.clone());
        }
        self.stats.failed.fetch_add(failed.len() as u64, Ordering::Relaxed);
        if store_down {
            tracing::error!(
                n = failed.len(),
                "events not stored (they are in the log file when one is configured)"
            );
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed)
        }
    }

    fn side_tables(
        &self,
        alerts: &mut Vec<SecurityAlert>,
        ips: &mut Vec<SuspiciousIp>,
        decisions: &mut Vec<seclog_core::monitor::Decision>,
    ) {
        for d in decisions.drain(..) {
            if let Err(e) = self.store.insert_decision(&d) {
                tracing::error!(error = %e, decision_id = %d.id, "storing a decision failed");
            }
        }
        for a in alerts.drain(..) {
            if let Err(e) = self.store.insert_alert(&a) {
                tracing::error!(error = %e, alert_id = %a.alert_id, "storing an alert failed");
            }
        }
        // One row per address: they come from the pending map (`ips` is a reused buffer).
        ips.extend(self.pending_ips.lock().drain().map(|(_, row)| row));
        if !ips.is_empty() {
            if let Err(e) = self.store.upsert_suspicious_ips(ips) {
                tracing::error!(error = %e, "storing suspicious IPs failed");
            }
            ips.clear();
        }
    }
}
