//! Fixed datasets and the naive oracle the checks compare a backend against.

use std::cmp::Reverse;
use std::net::IpAddr;

use ipnet::IpNet;
use seclog_core::{
    AlertStatus, EventFilter, EventStatus, EventType, SecurityAlert, SecurityEvent, Severity,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// The start of every dataset: 2026-11-20T00:00:00Z.
pub fn base_time() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_132_800).unwrap()
}

/// Event types used by the datasets.
pub const TYPES: &[EventType] = &[
    EventType::AuthFailure,
    EventType::AuthSuccess,
    EventType::SqlInjectionAttempt,
    EventType::XssAttempt,
    EventType::ApiAccess,
    EventType::PaymentFailure,
];

/// Addresses used by the datasets (IPv4 and IPv6).
pub const IPS: &[&str] =
    &["10.0.0.1", "10.0.0.2", "10.0.1.7", "192.168.5.5", "2001:db8::1", "2001:db8::ff"];
/// Networks used by filters.
pub const CIDRS: &[&str] = &[
    "10.0.0.0/24",
    "10.0.0.0/8",
    "192.168.0.0/16",
    "2001:db8::/120",
    "2001:db8::/32",
    "0.0.0.0/0",
];
/// Users used by the datasets.
pub const USERS: &[&str] = &["alice", "bob", "carol"];
/// Session hashes used by the datasets.
pub const SESSIONS: &[&str] = &["s1", "s2"];
/// Correlation ids used by the datasets.
pub const CORRELATIONS: &[&str] = &["c1", "c2", "c3"];

/// Parent event ids used by the datasets (children of these events).
pub const PARENTS: &[&str] = &["ev-parent-1", "ev-parent-2"];

/// A small deterministic generator (64-bit LCG) so datasets need no randomness crate.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }

    /// One of `items`, or `None` one time in `items.len() + 1`.
    pub fn maybe<'a>(&mut self, items: &[&'a str]) -> Option<&'a str> {
        let i = self.below(items.len() + 1);
        items.get(i).copied()
    }
}

/// `n` varied events: every filterable field varies, and many events share a timestamp (at
/// most 40 distinct seconds) so ties must be broken by id.
pub fn dataset(n: usize, seed: u64) -> Vec<SecurityEvent> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|i| {
            let ty = TYPES[rng.below(TYPES.len())];
            let secs = rng.below(40) as i64;
            let nanos = if rng.below(4) == 0 { rng.below(1000) as i64 } else { 0 };
            let ts = base_time() + Duration::seconds(secs) + Duration::nanoseconds(nanos);
            let id = format!("ev-{:04}-{i:05}", rng.below(10_000));
            let mut e = SecurityEvent::new(id, ty, ts);
            e.severity = Severity::ALL[rng.below(Severity::ALL.len())];
            e.ip_address = rng.maybe(IPS).map(|s| s.parse().unwrap());
            e.user_id = rng.maybe(USERS).map(String::from);
            e.session_id = rng.maybe(SESSIONS).map(String::from);
            e.correlation_id = rng.maybe(CORRELATIONS).map(String::from);
            e.status = EventStatus::ALL[rng.below(EventStatus::ALL.len())];
            e.parent_event_id = rng.maybe(PARENTS).map(String::from);
            e
        })
        .collect()
}

/// An event with every field set, including awkward values.
pub fn full_event(id: &str) -> SecurityEvent {
    let mut e = SecurityEvent::new(
        id,
        EventType::SqlInjectionAttempt,
        OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_123_456_789).unwrap(),
    );
    e.severity = Severity::Low;
    e.user_id = Some("usér-42 😀".into());
    e.session_id = Some("9f86d081884c7d659a2feaa0c55ad015".into());
    e.ip_address = Some("2001:db8::dead:beef".parse().unwrap());
    e.user_agent = Some("Mozilla/5.0 'quoted' \"double\"".into());
    e.request_method = Some("POST".into());
    e.request_url = Some("/api/login?user=x&password=[REDACTED]".into());
    e.request_headers =
        Some([("Content-Type".to_string(), "application/json".to_string())].into_iter().collect());
    e.request_body = Some("{\"q\":\"' OR 1=1 --\"}".into());
    e.response_status = Some(403);
    e.response_body = Some(String::new());
    e.details =
        json!({"n": 3, "f": 0.1, "big": -12345678901_i64, "nested": {"a": [1, "x", null, true]}})
            .as_object()
            .unwrap()
            .clone();
    e.threat_level = Some("high".into());
    e.risk_score = Some(7.35);
    e.indicators = vec!["sqli".into(), "tautology".into()];
    e.status = EventStatus::Escalated;
    e.investigation_notes = vec!["looked; bad".into()];
    e.remediation_actions = vec!["blocked ip".into()];
    e.compliance_tags = vec!["pci_dss_10.2.1.4".into()];
    e.audit_trail = vec!["created".into(), "escalated".into()];
    e.source = Some("web".into());
    e.correlation_id = Some("req-1".into());
    e.parent_event_id = Some("ev-parent".into());
    e
}

/// An active alert raised at `base_time() + secs`.
pub fn alert(id: &str, secs: i64) -> SecurityAlert {
    SecurityAlert {
        alert_id: id.into(),
        title: format!("alert {id}"),
        description: "5 failures in 300 s".into(),
        severity: Severity::High,
        timestamp: base_time() + Duration::seconds(secs) + Duration::nanoseconds(5),
        event_ids: vec!["e1".into(), "e2".into()],
        threat_indicators: vec!["brute force".into()],
        recommended_actions: vec!["block".into()],
        status: AlertStatus::Active,
        acknowledged_by: None,
        acknowledged_at: None,
        resolved_by: None,
        resolved_at: None,
        rule: Some("high_failure_rate".into()),
        key: Some("10.0.0.1".into()),
        resolution: None,
        history: vec![],
    }
}

/// Whether `net` contains `ip` (IPv4 networks hold IPv4 addresses, IPv6 networks IPv6 ones).
fn net_contains(net: &IpNet, ip: IpAddr) -> bool {
    net.contains(&ip)
}

/// The naive meaning of a filter.
pub fn matches(f: &EventFilter, e: &SecurityEvent) -> bool {
    (f.event_types.is_empty() || f.event_types.contains(&e.event_type))
        && f.min_severity.is_none_or(|s| e.severity >= s)
        && f.ip_address.is_none_or(|ip| e.ip_address == Some(ip))
        && f.cidr.as_ref().is_none_or(|n| e.ip_address.is_some_and(|ip| net_contains(n, ip)))
        && f.user_id.as_ref().is_none_or(|u| e.user_id.as_ref() == Some(u))
        && f.session_id.as_ref().is_none_or(|s| e.session_id.as_ref() == Some(s))
        && f.correlation_id.as_ref().is_none_or(|c| e.correlation_id.as_ref() == Some(c))
        && f.status.is_none_or(|s| e.status == s)
        && f.parent_event_id.as_ref().is_none_or(|p| e.parent_event_id.as_ref() == Some(p))
        && f.start_time.is_none_or(|t| e.timestamp >= t)
        && f.end_time.is_none_or(|t| e.timestamp <= t)
}

/// `events` newest first, ties broken by id descending.
pub fn sorted_newest_first(mut events: Vec<SecurityEvent>) -> Vec<SecurityEvent> {
    events.sort_by_key(|e| Reverse((e.timestamp, e.event_id.clone())));
    events
}

/// The oracle's answer for `f` over `events`.
pub fn expected(f: &EventFilter, events: &[SecurityEvent]) -> Vec<SecurityEvent> {
    sorted_newest_first(events.iter().filter(|e| matches(f, e)).cloned().collect())
}
