//! What the engine and its clients say to each other: the server's HTTP API shapes.
//!
//! - `POST /v1/events/batch` takes a JSON array of events and answers [`BatchAnswer`] (the
//!   server's answer, plus `decision_seq`: the engine's decision sequence number once the
//!   batch was judged, so that the client can wait until its block list has caught up).
//! - `GET /v1/decisions/watch` answers a stream of [`WatchMessage`]s, one JSON object per
//!   line: first a snapshot of the decisions in force, then every change as it happens.

use seclog_core::monitor::Decision;
use serde::{Deserialize, Serialize};

/// The route of batch ingest.
pub(crate) const BATCH_PATH: &str = "/v1/events/batch";
/// The route of the decisions watch stream.
pub(crate) const WATCH_PATH: &str = "/v1/decisions/watch";
/// The route that tells who answers.
pub(crate) const HEALTH_PATH: &str = "/health";
/// Most events in one batch request.
pub(crate) const MAX_BATCH_ITEMS: usize = 10_000;
/// Largest batch request body.
pub(crate) const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// The answer of `POST /v1/events/batch`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct BatchAnswer {
    /// Items stored, by their index in the request.
    pub(crate) accepted: Vec<Accepted>,
    /// Items not stored, by index, with why.
    pub(crate) rejected: Vec<Rejected>,
    /// The engine's decision sequence number after the batch was judged.
    #[serde(default)]
    pub(crate) decision_seq: u64,
}

/// An item stored.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Accepted {
    pub(crate) index: usize,
    pub(crate) event_id: String,
}

/// An item not stored.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Rejected {
    pub(crate) index: usize,
    pub(crate) error: ItemError,
}

/// Why an item was not stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ItemError {
    /// `invalid` (the event names what is wrong), `refused` (the store refused it at
    /// commit: an event id that is already stored), `malformed` (not an event at all).
    pub(crate) code: String,
    /// Human-readable detail.
    pub(crate) message: String,
    /// The field at fault, for `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<String>,
}

/// One line of the decisions watch stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum WatchMessage {
    /// Every decision in force, and the event types the engine's rules count.
    Snapshot { seq: u64, decisions: Vec<Decision>, counted_types: Vec<String>, engine_pid: u32 },
    /// A decision made or replaced.
    New { seq: u64, decision: Decision },
    /// A decision lifted.
    Deleted { seq: u64, id: String },
}

impl WatchMessage {
    /// The sequence number the message brings the receiver to.
    pub(crate) fn seq(&self) -> u64 {
        match self {
            WatchMessage::Snapshot { seq, .. }
            | WatchMessage::New { seq, .. }
            | WatchMessage::Deleted { seq, .. } => *seq,
        }
    }
}
