//! The engine's feed of decision changes, which every watch stream follows.
//!
//! Each change gets the next sequence number. Publishing never blocks the caller (the rule
//! that fired runs on a request path): a watcher that falls more than the channel's capacity
//! behind is sent a fresh snapshot instead of the changes it missed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use seclog_core::monitor::Decision;
use tokio::sync::broadcast;

use super::wire::WatchMessage;

/// Changes a slow watcher may fall behind before it is re-sent a snapshot.
const CAPACITY: usize = 4096;

/// The feed of decision changes.
pub(crate) struct DecisionFeed {
    seq: AtomicU64,
    tx: broadcast::Sender<Arc<WatchMessage>>,
    /// Serialises publishers, so that sequence numbers reach the channel in order.
    order: parking_lot::Mutex<()>,
}

impl Default for DecisionFeed {
    fn default() -> Self {
        DecisionFeed {
            seq: AtomicU64::new(0),
            tx: broadcast::channel(CAPACITY).0,
            order: parking_lot::Mutex::new(()),
        }
    }
}

impl DecisionFeed {
    /// The sequence number of the last change published.
    pub(crate) fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Publishes a decision made (or replaced).
    pub(crate) fn publish_new(&self, decision: &Decision) {
        self.publish(|seq| WatchMessage::New { seq, decision: decision.clone() });
    }

    /// Publishes a decision lifted.
    pub(crate) fn publish_deleted(&self, id: &str) {
        self.publish(|seq| WatchMessage::Deleted { seq, id: id.to_string() });
    }

    fn publish(&self, message: impl FnOnce(u64) -> WatchMessage) {
        let _order = self.order.lock();
        let seq = self.seq.load(Ordering::Relaxed) + 1;
        if self.tx.receiver_count() > 0 {
            // An error means every watcher has gone since the count: nothing to do.
            let _ = self.tx.send(Arc::new(message(seq)));
        }
        self.seq.store(seq, Ordering::Release);
    }

    /// A receiver of every change published from now on, and the sequence number before
    /// the first of them (a snapshot taken after this call is at least that recent).
    pub(crate) fn subscribe(&self) -> (broadcast::Receiver<Arc<WatchMessage>>, u64) {
        let _order = self.order.lock();
        (self.tx.subscribe(), self.seq.load(Ordering::Relaxed))
    }
}
