//! The security event and the security alert, with the spec's field names.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::event_type::EventType;
use crate::severity::{AlertStatus, EventStatus, Resolution, Severity};

/// A validated, redacted security event: what is stored and written.
///
/// Serialises with the spec's 26 field names; `timestamp` is RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// Unique id (a UUIDv7 string when seclog assigns it).
    pub event_id: String,
    /// What happened.
    pub event_type: EventType,
    /// How serious it is.
    pub severity: Severity,
    /// When it happened (event time, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The user concerned.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The session concerned, stored only as a keyed hash.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The client address (IPv4-mapped IPv6 normalised to IPv4).
    #[serde(default)]
    pub ip_address: Option<IpAddr>,
    /// The client's user agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// HTTP method.
    #[serde(default)]
    pub request_method: Option<String>,
    /// Request URL (secret query parameters redacted).
    #[serde(default)]
    pub request_url: Option<String>,
    /// Request headers (credentials removed).
    #[serde(default)]
    pub request_headers: Option<BTreeMap<String, String>>,
    /// Request body (secrets redacted).
    #[serde(default)]
    pub request_body: Option<String>,
    /// HTTP status of the response.
    #[serde(default)]
    pub response_status: Option<u16>,
    /// Response body (secrets redacted).
    #[serde(default)]
    pub response_body: Option<String>,
    /// Free-form details (secrets redacted).
    #[serde(default)]
    pub details: Map<String, Value>,
    /// Threat level assessed for the event.
    #[serde(default)]
    pub threat_level: Option<String>,
    /// Risk score 0..=10 computed by seclog.
    #[serde(default)]
    pub risk_score: Option<f64>,
    /// Indicators of compromise or attack.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Investigation status.
    #[serde(default)]
    pub status: EventStatus,
    /// Notes added during investigation.
    #[serde(default)]
    pub investigation_notes: Vec<String>,
    /// Remediation steps taken.
    #[serde(default)]
    pub remediation_actions: Vec<String>,
    /// Compliance standards the event is relevant to (`pci_dss_10.2.1.4`, ...).
    #[serde(default)]
    pub compliance_tags: Vec<String>,
    /// Audit trail entries.
    #[serde(default)]
    pub audit_trail: Vec<String>,
    /// The component that reported the event.
    #[serde(default)]
    pub source: Option<String>,
    /// Links events across systems.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The event this one derives from.
    #[serde(default)]
    pub parent_event_id: Option<String>,
}

impl SecurityEvent {
    /// A minimal event of `event_type` with its default severity, at `timestamp`.
    pub fn new(
        event_id: impl Into<String>,
        event_type: EventType,
        timestamp: OffsetDateTime,
    ) -> Self {
        SecurityEvent {
            event_id: event_id.into(),
            event_type,
            severity: event_type.default_severity(),
            timestamp,
            user_id: None,
            session_id: None,
            ip_address: None,
            user_agent: None,
            request_method: None,
            request_url: None,
            request_headers: None,
            request_body: None,
            response_status: None,
            response_body: None,
            details: Map::new(),
            threat_level: None,
            risk_score: None,
            indicators: Vec::new(),
            status: EventStatus::Detected,
            investigation_notes: Vec::new(),
            remediation_actions: Vec::new(),
            compliance_tags: Vec::new(),
            audit_trail: Vec::new(),
            source: None,
            correlation_id: None,
            parent_event_id: None,
        }
    }
}

/// An event as a caller submits it, before validation: every field is optional text or JSON
/// except `event_type`, so that validation can name exactly what is wrong.
///
/// A JSON event written per the spec (all 26 fields) deserialises into this type as is.
/// Unknown fields are rejected (a misspelt field is an error, not silently dropped).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Optional id; seclog assigns a UUIDv7 when absent.
    #[serde(default)]
    pub event_id: Option<String>,
    /// Wire name of the event type (required).
    pub event_type: String,
    /// Severity name; the type's default when absent.
    #[serde(default)]
    pub severity: Option<String>,
    /// RFC 3339 timestamp; the logger's clock when absent.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// See [`SecurityEvent::user_id`].
    #[serde(default)]
    pub user_id: Option<String>,
    /// See [`SecurityEvent::session_id`].
    #[serde(default)]
    pub session_id: Option<String>,
    /// IP address as text.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// See [`SecurityEvent::user_agent`].
    #[serde(default)]
    pub user_agent: Option<String>,
    /// See [`SecurityEvent::request_method`].
    #[serde(default)]
    pub request_method: Option<String>,
    /// See [`SecurityEvent::request_url`].
    #[serde(default)]
    pub request_url: Option<String>,
    /// Headers as a JSON object of strings.
    #[serde(default)]
    pub request_headers: Option<Value>,
    /// See [`SecurityEvent::request_body`].
    #[serde(default)]
    pub request_body: Option<String>,
    /// HTTP status (100..=599). JSON's integers include the integral floats (`404.0`).
    #[serde(default, deserialize_with = "integer")]
    pub response_status: Option<i64>,
    /// See [`SecurityEvent::response_body`].
    #[serde(default)]
    pub response_body: Option<String>,
    /// A JSON object.
    #[serde(default)]
    pub details: Option<Value>,
    /// See [`SecurityEvent::threat_level`].
    #[serde(default)]
    pub threat_level: Option<String>,
    /// Accepted for compatibility and ignored: seclog computes the score.
    #[serde(default)]
    pub risk_score: Option<f64>,
    /// See [`SecurityEvent::indicators`].
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Status name; `detected` when absent.
    #[serde(default)]
    pub status: Option<String>,
    /// See [`SecurityEvent::investigation_notes`].
    #[serde(default)]
    pub investigation_notes: Vec<String>,
    /// See [`SecurityEvent::remediation_actions`].
    #[serde(default)]
    pub remediation_actions: Vec<String>,
    /// See [`SecurityEvent::compliance_tags`].
    #[serde(default)]
    pub compliance_tags: Vec<String>,
    /// See [`SecurityEvent::audit_trail`].
    #[serde(default)]
    pub audit_trail: Vec<String>,
    /// See [`SecurityEvent::source`].
    #[serde(default)]
    pub source: Option<String>,
    /// See [`SecurityEvent::correlation_id`].
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// See [`SecurityEvent::parent_event_id`].
    #[serde(default)]
    pub parent_event_id: Option<String>,
}

/// An optional integer given as any JSON number without a fractional part (JSON Schema's
/// `integer`); one beyond `i64` saturates (validation then names it out of range).
fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    if n.as_u64().is_some() {
        return Ok(Some(i64::MAX));
    }
    match n.as_f64() {
        // `as` saturates at the ends of i64, which is what is wanted here.
        #[allow(clippy::cast_possible_truncation)]
        Some(f) if f.is_finite() && f.fract() == 0.0 => Ok(Some(f as i64)),
        _ => Err(serde::de::Error::custom(format!("expected an integer, got {n}"))),
    }
}

impl EventInput {
    /// An input of the given type with every other field empty.
    pub fn of_type(event_type: impl Into<String>) -> Self {
        EventInput { event_type: event_type.into(), ..Default::default() }
    }
}

/// What an investigator did to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventActionKind {
    /// The investigation status changed (see [`EventAction::status`]).
    StatusChange,
    /// An investigation note.
    Note,
    /// A remediation step taken.
    Remediation,
    /// The event was escalated.
    Escalation,
}

/// One entry of an event's investigation audit trail. Entries are appended, never changed;
/// the event's own recorded fields never change either.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventAction {
    /// Unique id of the entry.
    pub action_id: String,
    /// The event it concerns.
    pub event_id: String,
    /// What was done.
    pub kind: EventActionKind,
    /// The new status, for `status_change` and `escalation`.
    #[serde(default)]
    pub status: Option<EventStatus>,
    /// The note, the remediation step or the reason.
    #[serde(default)]
    pub text: Option<String>,
    /// Who did it.
    pub by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// One step in an alert's lifecycle, appended and never overwritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTransition {
    /// The status the alert moved to.
    pub status: AlertStatus,
    /// Who moved it (`seclog` for the engine itself).
    pub by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The resolution, for `resolved`.
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// Free text.
    #[serde(default)]
    pub note: Option<String>,
}

/// An alert raised by a rule, with the spec's fields plus the rule, key and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityAlert {
    /// Unique id.
    pub alert_id: String,
    /// Short title.
    pub title: String,
    /// What happened.
    pub description: String,
    /// How serious it is.
    pub severity: Severity,
    /// When it was raised (event time of the decisive event).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The events that made the rule fire.
    #[serde(default)]
    pub event_ids: Vec<String>,
    /// What points to a threat.
    #[serde(default)]
    pub threat_indicators: Vec<String>,
    /// What a responder should do.
    #[serde(default)]
    pub recommended_actions: Vec<String>,
    /// Lifecycle status.
    #[serde(default)]
    pub status: AlertStatus,
    /// Who acknowledged it.
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    /// Who resolved it.
    #[serde(default)]
    pub resolved_by: Option<String>,
    /// When it was resolved.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// The rule that raised it.
    #[serde(default)]
    pub rule: Option<String>,
    /// The group key (an IP, a user...) it was raised for.
    #[serde(default)]
    pub key: Option<String>,
    /// Why it was resolved.
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// Every transition, oldest first.
    #[serde(default)]
    pub history: Vec<AlertTransition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EVENT: &str = r#"{
        "event_id": "0e4f9a6c-1111-4222-8333-944455556666",
        "event_type": "auth_failure",
        "severity": "medium",
        "timestamp": "2025-01-01T10:00:00Z",
        "user_id": "user123",
        "session_id": null,
        "ip_address": "192.168.1.100",
        "user_agent": "Mozilla/5.0...",
        "request_method": "POST",
        "request_url": "/api/login",
        "request_headers": {"Content-Type": "application/json"},
        "request_body": null,
        "response_status": 401,
        "response_body": null,
        "details": {"failed_attempts": 3, "account_locked": true},
        "threat_level": "medium",
        "risk_score": 6.0,
        "indicators": [],
        "status": "detected",
        "investigation_notes": [],
        "remediation_actions": [],
        "compliance_tags": ["pci_dss"],
        "audit_trail": [],
        "source": "web",
        "correlation_id": "req-1",
        "parent_event_id": null
    }"#;

    #[test]
    fn spec_json_event_deserialises_into_both_forms() {
        let input: EventInput = serde_json::from_str(SPEC_EVENT).unwrap();
        assert_eq!(input.event_type, "auth_failure");
        assert_eq!(input.ip_address.as_deref(), Some("192.168.1.100"));
        let ev: SecurityEvent = serde_json::from_str(SPEC_EVENT).unwrap();
        assert_eq!(ev.event_type, EventType::AuthFailure);
        assert_eq!(ev.response_status, Some(401));
        assert_eq!(ev.details["failed_attempts"], 3);
        assert_eq!(ev.status, EventStatus::Detected);
        assert_eq!(ev.timestamp.unix_timestamp(), 1_735_725_600);
    }

    #[test]
    fn event_serialises_all_26_spec_fields() {
        let ev: SecurityEvent = serde_json::from_str(SPEC_EVENT).unwrap();
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 26);
        assert_eq!(v["timestamp"], "2025-01-01T10:00:00Z");
    }

    #[test]
    fn an_integral_float_is_an_integer_status() {
        let parse = |v: &str| {
            serde_json::from_str::<EventInput>(&format!(
                r#"{{"event_type":"api_access","response_status":{v}}}"#
            ))
            .map(|i| i.response_status)
        };
        assert_eq!(parse("404").unwrap(), Some(404));
        assert_eq!(parse("404.0").unwrap(), Some(404));
        assert_eq!(parse("4e2").unwrap(), Some(400));
        assert_eq!(parse("null").unwrap(), None);
        assert_eq!(parse("18446744073709551615").unwrap(), Some(i64::MAX));
        let err = parse("404.5").unwrap_err().to_string();
        assert!(err.contains("expected an integer"), "{err}");
        assert!(parse("\"404\"").is_err());
    }

    #[test]
    fn misspelt_field_is_rejected_by_name() {
        let err = serde_json::from_str::<EventInput>(
            r#"{"event_type":"auth_failure","ip_adress":"1.2.3.4"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("ip_adress"), "{err}");
    }

    #[test]
    fn alert_round_trips() {
        let a = SecurityAlert {
            alert_id: "a1".into(),
            title: "t".into(),
            description: "d".into(),
            severity: Severity::High,
            timestamp: OffsetDateTime::UNIX_EPOCH,
            event_ids: vec!["e1".into()],
            threat_indicators: vec![],
            recommended_actions: vec![],
            status: AlertStatus::Active,
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: None,
            resolved_at: None,
            rule: Some("high_failure_rate".into()),
            key: Some("1.2.3.4".into()),
            resolution: None,
            history: vec![],
        };
        let s = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<SecurityAlert>(&s).unwrap(), a);
    }
}
