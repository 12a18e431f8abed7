//! Query filters, pages and statistics shared by the store, the library and the server.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ValidationError;
use crate::event::SecurityEvent;
use crate::event_type::EventType;
use crate::severity::{EventStatus, Severity};

/// Which events a query returns. Every set field must match (AND); an empty `event_types`
/// matches every type. Results are newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Any of these types.
    #[serde(default)]
    pub event_types: Vec<EventType>,
    /// At least this severity.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Exactly this address.
    #[serde(default)]
    pub ip_address: Option<IpAddr>,
    /// Any address inside this network.
    #[serde(default)]
    pub cidr: Option<IpNet>,
    /// This user.
    #[serde(default)]
    pub user_id: Option<String>,
    /// This session (the stored keyed hash; the library hashes what the caller gives).
    #[serde(default)]
    pub session_id: Option<String>,
    /// This correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// This investigation status.
    #[serde(default)]
    pub status: Option<EventStatus>,
    /// At or after this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_time: Option<OffsetDateTime>,
    /// At or before this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end_time: Option<OffsetDateTime>,
}

/// A position in a newest-first listing: the last event of the previous page.
///
/// Its text form (`Cursor::encode`) is opaque to callers: `<unix nanos>.<event_id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Timestamp of the last event returned.
    pub timestamp: OffsetDateTime,
    /// Id of the last event returned (ties on timestamp are broken by id, descending).
    pub event_id: String,
}

impl Cursor {
    /// The cursor just after `event`.
    pub fn after(event: &SecurityEvent) -> Self {
        Cursor { timestamp: event.timestamp, event_id: event.event_id.clone() }
    }

    /// Text form for APIs.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.timestamp.unix_timestamp_nanos(), self.event_id)
    }

    /// Parses [`Cursor::encode`]'s output.
    pub fn decode(s: &str) -> Result<Self, ValidationError> {
        let bad =
            || ValidationError::new("cursor", "malformed cursor; pass back next_cursor unchanged");
        let (nanos, id) = s.split_once('.').ok_or_else(bad)?;
        let nanos: i128 = nanos.parse().map_err(|_| bad())?;
        let timestamp = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?;
        if id.is_empty() {
            return Err(bad());
        }
        Ok(Cursor { timestamp, event_id: id.to_string() })
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// The events, newest first.
    pub events: Vec<SecurityEvent>,
    /// Pass to the next query to continue; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A count under a name, for top-N lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCount {
    /// The name (an IP, a type...).
    pub name: String,
    /// How many.
    pub count: u64,
}

/// The statistics object (`get_statistics()`): the spec's keys plus breakdowns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Events stored.
    pub total_events: u64,
    /// Events whose timestamp lies in the 24 hours before `now`.
    pub recent_activity_24h: u64,
    /// IPs under an active block.
    pub blocked_ips: u64,
    /// Events by type name.
    pub events_by_type: BTreeMap<String, u64>,
    /// Events by severity name.
    pub events_by_severity: BTreeMap<String, u64>,
    /// The IPs with the most events, most first (at most 10).
    pub top_ips: Vec<NamedCount>,
    /// Alerts by status.
    pub alerts_by_status: BTreeMap<String, u64>,
    /// Suspicious IPs tracked.
    pub suspicious_ips: u64,
    /// Events refused because the queue was full (this process's lifetime).
    pub events_dropped: u64,
}

/// A row of the spec's `suspicious_ips` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuspiciousIp {
    /// The address.
    pub ip_address: IpAddr,
    /// low, medium, high or critical.
    pub threat_level: String,
    /// First event seen from it.
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    /// Last event seen from it.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    /// Events seen from it.
    pub event_count: u64,
    /// Under an active block.
    pub blocked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            timestamp: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)
                .unwrap(),
            event_id: "01930000-aaaa-7bbb-8ccc-dddddddddddd".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert_eq!(Cursor::decode("x.y").unwrap_err().field, "cursor");
        assert!(Cursor::decode("123").is_err());
        assert!(Cursor::decode("123.").is_err());
    }
}
