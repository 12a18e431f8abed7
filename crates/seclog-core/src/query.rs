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
    /// This investigation status (as recorded with the event).
    #[serde(default)]
    pub status: Option<EventStatus>,
    /// Children of this event (events whose `parent_event_id` is this id).
    #[serde(default)]
    pub parent_event_id: Option<String>,
    /// At or after this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_time: Option<OffsetDateTime>,
    /// At or before this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end_time: Option<OffsetDateTime>,
}

impl EventFilter {
    /// Builds a filter from textual key/value pairs, as query strings, CLI flags and the
    /// spec's Python `filters` dict give them. Keys: `event_type` (repeatable, or comma
    /// separated), `event_types`, `min_severity`, `ip_address`, `cidr`, `user_id`,
    /// `session_id`, `correlation_id`, `status`, `start_time`, `end_time` (RFC 3339).
    /// An unknown key or a bad value is an error naming it.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ValidationError> {
        let mut f = EventFilter::default();
        for (key, value) in params {
            let value = value.trim();
            match key {
                "event_type" | "event_types" | "type" => {
                    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        let t: EventType = part.parse()?;
                        if !f.event_types.contains(&t) {
                            f.event_types.push(t);
                        }
                    }
                }
                "min_severity" | "severity" => f.min_severity = Some(value.parse()?),
                "ip_address" | "ip" => f.ip_address = Some(parse_ip(key, value)?),
                "cidr" => {
                    f.cidr = Some(value.parse::<IpNet>().map_err(|_| {
                        ValidationError::new(key, format!("not a network in CIDR form: {value:?}"))
                    })?)
                }
                "user_id" => f.user_id = Some(value.to_string()),
                "session_id" => f.session_id = Some(value.to_string()),
                "correlation_id" => f.correlation_id = Some(value.to_string()),
                "status" => f.status = Some(value.parse()?),
                "parent_event_id" => f.parent_event_id = Some(value.to_string()),
                "start_time" | "since" => f.start_time = Some(parse_time(key, value)?),
                "end_time" | "until" => f.end_time = Some(parse_time(key, value)?),
                other => {
                    return Err(ValidationError::new(
                        other,
                        "unknown filter; accepted: event_type, min_severity, ip_address, cidr, \
                         user_id, session_id, correlation_id, status, parent_event_id, start_time, \
                         end_time",
                    ))
                }
            }
        }
        if let (Some(s), Some(e)) = (f.start_time, f.end_time) {
            if s > e {
                return Err(ValidationError::new("start_time", "is after end_time"));
            }
        }
        Ok(f)
    }
}

/// Parses an IP address, normalising IPv4-mapped IPv6 to IPv4.
pub fn parse_ip(field: &str, value: &str) -> Result<IpAddr, ValidationError> {
    let ip: IpAddr = value.trim().parse().map_err(|_| {
        ValidationError::new(field, format!("not an IPv4 or IPv6 address: {value:?}"))
    })?;
    Ok(normalize_ip(ip))
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes the IPv4 address; others are unchanged.
pub fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Parses an RFC 3339 timestamp into UTC.
pub fn parse_time(field: &str, value: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| ValidationError::new(field, format!("not an RFC 3339 timestamp: {value:?}")))
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

/// Events in the order they were stored (commit order), and how far that listing reached.
///
/// Positions are opaque, growing numbers: an event committed after a listing is stored at a
/// position beyond the listing's `position`, whatever its timestamp. That is what lets `seclog
/// tail` show an imported batch of old events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPage {
    /// The events, oldest stored first.
    pub events: Vec<SecurityEvent>,
    /// Where to continue: pass it back as `after` to get what was stored since.
    pub position: u64,
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
    fn filter_from_spec_params() {
        let f = EventFilter::from_params([
            ("event_type", "auth_failure"),
            ("ip_address", "::ffff:192.168.1.100"),
            ("start_time", "2025-01-01T01:00:00+01:00"),
            ("end_time", "2025-01-02T00:00:00Z"),
        ])
        .unwrap();
        assert_eq!(f.event_types, vec![EventType::AuthFailure]);
        assert_eq!(f.ip_address, Some("192.168.1.100".parse().unwrap()));
        assert_eq!(f.start_time.unwrap().unix_timestamp(), 1_735_689_600);
        let e = EventFilter::from_params([("ip_address", "1.2.3")]).unwrap_err();
        assert_eq!(e.field, "ip_address");
        let e = EventFilter::from_params([("colour", "red")]).unwrap_err();
        assert_eq!(e.field, "colour");
        let e = EventFilter::from_params([("event_type", "auth_failure,bogus")]).unwrap_err();
        assert!(e.message.contains("bogus"));
        let e = EventFilter::from_params([
            ("start_time", "2025-02-01T00:00:00Z"),
            ("end_time", "2025-01-01T00:00:00Z"),
        ])
        .unwrap_err();
        assert_eq!(e.field, "start_time");
    }

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
