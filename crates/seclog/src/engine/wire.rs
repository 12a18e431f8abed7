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
/// Batch ingest of events that may already be stored (a resend after a lost answer): the
/// engine skips those whose id it has instead of judging them again.
pub(crate) const RESEND_PATH: &str = "/v1/events/batch?resend=true";
/// The route of the decisions watch stream.
pub(crate) const WATCH_PATH: &str = "/v1/decisions/watch";
/// The routes of decisions by hand (`POST`; `DELETE` with CrowdSec's `ip`, `range`, `scope`,
/// `value` parameters; `DELETE {DECISIONS_PATH}/{id}`).
pub(crate) const DECISIONS_PATH: &str = "/v1/decisions";
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

/// The body of `POST /v1/decisions` (the server's shape; `duration` in seconds as `"<n>s"`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewDecision {
    pub(crate) scope: seclog_core::monitor::Scope,
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration: Option<String>,
    pub(crate) reason: String,
    pub(crate) by: String,
}

/// The answer of `DELETE /v1/decisions?...`: CrowdSec's count, and the decisions lifted.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Lifted {
    #[serde(rename = "nbDeleted")]
    pub(crate) nb_deleted: String,
    #[serde(default)]
    pub(crate) decisions: Vec<Decision>,
}

/// `"<n>s"` as seconds.
pub(crate) fn parse_secs(text: &str) -> Option<i64> {
    text.strip_suffix('s')?.parse().ok().filter(|s: &i64| *s > 0)
}

/// Percent-encodes a query value (every byte but the unreserved ones).
pub(crate) fn encode_query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a percent-encoded query value (`+` is a space); `None` when it is not valid
/// percent-encoding of UTF-8.
pub(crate) fn decode_query_value(v: &str) -> Option<String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn query_values_round_trip(v in ".{0,40}") {
            prop_assert_eq!(decode_query_value(&encode_query_value(&v)), Some(v));
        }
    }

    #[test]
    fn bad_percent_encoding_is_refused() {
        assert_eq!(decode_query_value("%zz"), None);
        assert_eq!(decode_query_value("%4"), None);
        assert_eq!(decode_query_value("2001%3Adb8%3A%3A%2F64").unwrap(), "2001:db8::/64");
    }
}
