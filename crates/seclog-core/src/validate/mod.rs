//! Validation at the boundary: turns an [`EventInput`] into a [`SecurityEvent`] or names what
//! is wrong.
//!
//! Rules (a limit that truncates counts UTF-8 bytes after neutralisation; a limit that refuses
//! counts characters of the value as given, as JSON Schema's `maxLength` does, so that the API
//! document can state it exactly):
//! - `event_type`, `severity` and `status` must be known names (the error lists them); severity
//!   defaults to the type's, status to `detected`.
//! - `timestamp` is RFC 3339 with any offset, stored in UTC; absent means `now`; more than
//!   [`Limits::max_future_skew_secs`] ahead of `now` is an error.
//! - `event_id`, when given, is 1..=128 characters of `[A-Za-z0-9._:-]`; absent, `new_id()` is used.
//! - `ip_address` is an IPv4 or IPv6 address; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes IPv4.
//! - `response_status` is 100..=599; `details` a JSON object (or null); `request_headers` a JSON
//!   object of strings (or null).
//! - Every stored string, including inside details, headers and lists, is neutralised against
//!   log injection (CWE-117, see [`neutralize`]).
//! - Too long: the fields an attacker controls in a request (`user_agent`, `request_url`,
//!   `request_method`, header values, `request_body`, `response_body`) are truncated and end with
//!   [`TRUNCATION_MARKER`], so an oversized attack is still recorded; a cut never ends inside a
//!   run of digits (no partial card number survives). Every other field (ids, `source`,
//!   list entries, details, header names and count) is an error naming the field and the limit.
//! - `risk_score` is ignored and left `None`: the logger computes it.

mod neutralize;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

pub use neutralize::{has_control, neutralize};

use crate::error::ValidationError;
use crate::event::{EventInput, SecurityEvent};
use crate::event_type::EventType;
use crate::severity::{EventStatus, Severity};

/// Appended to a value cut to its limit.
pub const TRUNCATION_MARKER: &str = "\u{2026}[truncated]";

/// Maximum sizes accepted by [`validate`]. Deserialisable from a TOML/JSON config section;
/// missing keys take the [`Default`] values.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// `user_id`, `session_id`, `correlation_id`, `parent_event_id`, `source`, `threat_level`
    /// (error when longer, in characters). Default 256.
    pub max_id_len: usize,
    /// `request_url` (truncated). Default 2048.
    pub max_url_len: usize,
    /// `user_agent` (truncated). Default 2048.
    pub max_user_agent_len: usize,
    /// `request_method` (truncated). Default 32.
    pub max_method_len: usize,
    /// `request_body` and `response_body` (truncated). Default 16 KiB.
    pub max_body_len: usize,
    /// `details`, serialised as JSON (error). Default 64 KiB.
    pub max_details_len: usize,
    /// Nesting depth of `details` (error). Default 32.
    pub max_details_depth: usize,
    /// Entries in each list field (`indicators`, `compliance_tags`, ...) (error). Default 64.
    pub max_list_entries: usize,
    /// Each list entry (error, in characters). Default 1024.
    pub max_list_entry_len: usize,
    /// Number of request headers (error). Default 64.
    pub max_headers: usize,
    /// Each header name (error, in characters). Default 256.
    pub max_header_name_len: usize,
    /// Each header value (truncated). Default 8 KiB.
    pub max_header_value_len: usize,
    /// How far past `now` a timestamp may be, in seconds (clock skew). Default 86400 (1 day).
    pub max_future_skew_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_id_len: 256,
            max_url_len: 2048,
            max_user_agent_len: 2048,
            max_method_len: 32,
            max_body_len: 16 * 1024,
            max_details_len: 64 * 1024,
            max_details_depth: 32,
            max_list_entries: 64,
            max_list_entry_len: 1024,
            max_headers: 64,
            max_header_name_len: 256,
            max_header_value_len: 8 * 1024,
            max_future_skew_secs: 86_400,
        }
    }
}

/// Validates and normalises `input` (see the module docs for the rules). `now` is the logger's
/// clock, used when the input has no timestamp and to reject far-future timestamps; `new_id` is
/// called for an id only when the input has none. The returned event has `risk_score` `None`.
pub fn validate(
    input: EventInput,
    now: OffsetDateTime,
    new_id: &mut dyn FnMut() -> String,
    limits: &Limits,
) -> Result<SecurityEvent, ValidationError> {
    let event_type: EventType = input.event_type.parse()?;
    let severity = match input.severity.as_deref() {
        Some(s) => s.parse::<Severity>()?,
        None => event_type.default_severity(),
    };
    let status = match input.status.as_deref() {
        Some(s) => s.parse::<EventStatus>()?,
        None => EventStatus::Detected,
    };
    let timestamp = match input.timestamp.as_deref() {
        Some(t) => parse_timestamp(t, now, limits)?,
        None => now.to_offset(UtcOffset::UTC),
    };
    let event_id = match input.event_id {
        Some(id) => {
            check_event_id("event_id", &id)?;
            id
        }
        None => new_id(),
    };
    let parent_event_id = match input.parent_event_id {
        Some(id) => {
            check_event_id("parent_event_id", &id)?;
            Some(id)
        }
        None => None,
    };
    let ip_address = match input.ip_address.as_deref() {
        Some(s) => Some(parse_ip(s)?),
        None => None,
    };
    let response_status = match input.response_status {
        Some(code) => {
            Some(u16::try_from(code).ok().filter(|c| (100..=599).contains(c)).ok_or_else(|| {
                ValidationError::new("response_status", format!("{code} is not in 100..=599"))
            })?)
        }
        None => None,
    };
    let id = |field: &'static str, v: Option<String>| bounded(field, v, limits.max_id_len);
    let cut = |v: Option<String>, max: usize| v.map(|s| truncate(neutralize(s), max));
    let mut details = match input.details {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ValidationError::new(
                "details",
                format!("must be a JSON object, got {}", json_kind(&other)),
            ))
        }
    };
    if !details.is_empty() {
        details = clean_object(details, 1, limits.max_details_depth)?;
        let len = json_len(&details);
        if len > limits.max_details_len {
            return Err(ValidationError::new(
                "details",
                format!("is {len} bytes as JSON; the limit is {}", limits.max_details_len),
            ));
        }
    }
    Ok(SecurityEvent {
        event_id,
        event_type,
        severity,
        timestamp,
        user_id: id("user_id", input.user_id)?,
        session_id: id("session_id", input.session_id)?,
        ip_address,
        user_agent: cut(input.user_agent, limits.max_user_agent_len),
        request_method: cut(input.request_method, limits.max_method_len),
        request_url: cut(input.request_url, limits.max_url_len),
        request_headers: headers(input.request_headers, limits)?,
        request_body: cut(input.request_body, limits.max_body_len),
        response_status,
        response_body: cut(input.response_body, limits.max_body_len),
        details,
        threat_level: id("threat_level", input.threat_level)?,
        risk_score: None,
        indicators: list("indicators", input.indicators, limits)?,
        status,
        investigation_notes: list("investigation_notes", input.investigation_notes, limits)?,
        remediation_actions: list("remediation_actions", input.remediation_actions, limits)?,
        compliance_tags: list("compliance_tags", input.compliance_tags, limits)?,
        audit_trail: list("audit_trail", input.audit_trail, limits)?,
        source: id("source", input.source)?,
        correlation_id: id("correlation_id", input.correlation_id)?,
        parent_event_id,
    })
}

fn parse_timestamp(
    t: &str,
    now: OffsetDateTime,
    limits: &Limits,
) -> Result<OffsetDateTime, ValidationError> {
    let ts = OffsetDateTime::parse(t, &Rfc3339).map_err(|e| {
        ValidationError::new(
            "timestamp",
            format!("{:?} is not RFC 3339 (e.g. 2025-01-01T10:00:00Z): {e}", clip(t)),
        )
    })?;
    let ts = ts.to_offset(UtcOffset::UTC);
    if ts > now + Duration::seconds(limits.max_future_skew_secs) {
        return Err(ValidationError::new(
            "timestamp",
            format!("{t:?} is more than {}s in the future", limits.max_future_skew_secs),
        ));
    }
    Ok(ts)
}

fn check_event_id(field: &'static str, id: &str) -> Result<(), ValidationError> {
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    if id.is_empty() || id.len() > 128 || !id.bytes().all(ok_char) {
        return Err(ValidationError::new(
            field,
            format!("{:?} must be 1..=128 characters of [A-Za-z0-9._:-]", clip(id)),
        ));
    }
    Ok(())
}

fn parse_ip(s: &str) -> Result<IpAddr, ValidationError> {
    s.parse::<IpAddr>().map(|ip| ip.to_canonical()).map_err(|_| {
        ValidationError::new("ip_address", format!("{:?} is not an IPv4 or IPv6 address", clip(s)))
    })
}

/// Neutralises `v` and errors when it is longer than `max`.
fn bounded(field: &str, v: Option<String>, max: usize) -> Result<Option<String>, ValidationError> {
    match v {
        None => Ok(None),
        Some(s) => {
            check_chars(field, &s, max)?;
            Ok(Some(neutralize(s)))
        }
    }
}

/// Errors when `s` has more than `max` characters.
fn check_chars(field: &str, s: &str, max: usize) -> Result<(), ValidationError> {
    // At most one character per byte: only a long text needs counting.
    if s.len() > max {
        let n = s.chars().count();
        if n > max {
            return Err(ValidationError::new(
                field,
                format!("is {n} characters; the limit is {max}"),
            ));
        }
    }
    Ok(())
}

/// Cuts `s` to at most `max` bytes including [`TRUNCATION_MARKER`], on a character boundary and
/// never inside a run of digits (possibly separated by single spaces or dashes).
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut cut = max.saturating_sub(TRUNCATION_MARKER.len());
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let b = s.as_bytes();
    if b.get(cut).is_some_and(u8::is_ascii_digit)
        || b.get(cut).is_some_and(|c| matches!(c, b' ' | b'-'))
    {
        // Back off over the digit group so a card number is never half kept.
        while cut > 0 {
            let prev = b.get(cut - 1).copied().unwrap_or(b'x');
            let sep_between_digits = matches!(prev, b' ' | b'-')
                && cut >= 2
                && b.get(cut - 2).is_some_and(u8::is_ascii_digit);
            if prev.is_ascii_digit() || sep_between_digits {
                cut -= 1;
            } else {
                break;
            }
        }
    }
    s.truncate(cut);
    s.push_str(TRUNCATION_MARKER);
    s
}

fn list(field: &str, items: Vec<String>, limits: &Limits) -> Result<Vec<String>, ValidationError> {
    if items.len() > limits.max_list_entries {
        return Err(ValidationError::new(
            field,
            format!("has {} entries; the limit is {}", items.len(), limits.max_list_entries),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            check_chars(&format!("{field}[{i}]"), &s, limits.max_list_entry_len)?;
            Ok(neutralize(s))
        })
        .collect()
}

fn headers(
    v: Option<Value>,
    limits: &Limits,
) -> Result<Option<BTreeMap<String, String>>, ValidationError> {
    let map = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ValidationError::new(
                "request_headers",
                format!("must be a JSON object of strings, got {}", json_kind(&other)),
            ))
        }
    };
    if map.len() > limits.max_headers {
        return Err(ValidationError::new(
            "request_headers",
            format!("has {} headers; the limit is {}", map.len(), limits.max_headers),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, value) in map {
        check_chars("request_headers (a name)", &name, limits.max_header_name_len)?;
        let name = neutralize(name);
        let value = match value {
            Value::String(s) => truncate(neutralize(s), limits.max_header_value_len),
            other => {
                return Err(ValidationError::new(
                    format!("request_headers.{}", clip(&name)),
                    format!("must be a string, got {}", json_kind(&other)),
                ))
            }
        };
        out.insert(name, value);
    }
    Ok(Some(out))
}

/// Neutralises every key and string of a details object, checking the depth.
fn clean_object(
    map: Map<String, Value>,
    depth: usize,
    max_depth: usize,
) -> Result<Map<String, Value>, ValidationError> {
    if depth > max_depth {
        return Err(ValidationError::new(
            "details",
            format!("is nested deeper than {max_depth} levels"),
        ));
    }
    let dirty_keys = map.keys().any(|k| has_control(k));
    if !dirty_keys {
        let mut map = map;
        for v in map.values_mut() {
            clean_value(v, depth, max_depth)?;
        }
        return Ok(map);
    }
    let mut out = Map::new();
    for (k, mut v) in map {
        clean_value(&mut v, depth, max_depth)?;
        out.insert(neutralize(k), v);
    }
    Ok(out)
}

fn clean_value(v: &mut Value, depth: usize, max_depth: usize) -> Result<(), ValidationError> {
    match v {
        Value::String(s) => {
            if has_control(s) {
                *s = neutralize(std::mem::take(s));
            }
        }
        Value::Array(items) => {
            if depth + 1 > max_depth {
                return Err(ValidationError::new(
                    "details",
                    format!("is nested deeper than {max_depth} levels"),
                ));
            }
            for item in items {
                clean_value(item, depth + 1, max_depth)?;
            }
        }
        Value::Object(map) => {
            *map = clean_object(std::mem::take(map), depth + 1, max_depth)?;
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Serialised JSON length of `map`, without building the string.
fn json_len(map: &Map<String, Value>) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    match serde_json::to_writer(&mut c, map) {
        Ok(()) => c.0,
        Err(_) => usize::MAX,
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first 64 characters of `s`, for error messages.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests;
