//! Operator actions of a client process, carried out by the engine over its socket: a
//! decision added or lifted anywhere is in the engine's block list and reaches every process
//! through the watch streams.

use http::{Method, StatusCode};
use seclog_core::monitor::{Decision, DecisionMatch, Scope};
use seclog_core::ValidationError;

use super::link::Link;
use super::wire::{encode_query_value, Lifted, NewDecision, DECISIONS_PATH};
use crate::error::{LogError, Result};

/// The engine's error answer as this crate's error.
fn refused(status: StatusCode, body: &[u8]) -> LogError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = v["message"].as_str().unwrap_or("").to_string();
    match (status, v["field"].as_str()) {
        (StatusCode::BAD_REQUEST, Some(field)) => ValidationError::new(field, message).into(),
        _ => LogError::Io(format!("the engine answered {status}: {message}")),
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| LogError::Io(format!("the engine's answer: {e}")))
}

/// `add_decision` through the engine.
pub(crate) fn add_decision(
    link: &Link,
    scope: Scope,
    value: &str,
    duration: Option<time::Duration>,
    reason: &str,
    by: &str,
) -> Result<Decision> {
    if let Some(d) = duration {
        if d <= time::Duration::ZERO {
            return Err(ValidationError::new("duration", "must be positive").into());
        }
    }
    let body = NewDecision {
        scope,
        value: value.to_string(),
        duration: duration.map(|d| format!("{}s", d.whole_seconds().max(1))),
        reason: reason.to_string(),
        by: by.to_string(),
    };
    let body = serde_json::to_vec(&body).map_err(|e| LogError::Io(e.to_string()))?;
    let (status, answer) = link.call(Method::POST, DECISIONS_PATH.to_string(), body)?;
    if status != StatusCode::CREATED {
        return Err(refused(status, &answer));
    }
    decode(&answer)
}

/// `delete_decision` through the engine.
pub(crate) fn delete_decision(link: &Link, id: &str) -> Result<Option<Decision>> {
    let path = format!("{DECISIONS_PATH}/{}", encode_query_value(id));
    let (status, answer) = link.call(Method::DELETE, path, Vec::new())?;
    match status {
        StatusCode::OK => decode(&answer).map(Some),
        StatusCode::NOT_FOUND => Ok(None),
        _ => Err(refused(status, &answer)),
    }
}

/// `lift_decisions` through the engine.
pub(crate) fn lift_decisions(link: &Link, selection: &DecisionMatch) -> Result<Vec<Decision>> {
    let mut params: Vec<String> = Vec::new();
    if let Some(s) = selection.scope {
        let name = serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string));
        params.push(format!("scope={}", encode_query_value(&name.unwrap_or_default())));
    }
    if let Some(v) = &selection.value {
        params.push(format!("value={}", encode_query_value(v)));
    }
    if let Some(net) = selection.covering {
        params.push(format!("range={}", encode_query_value(&net.to_string())));
    }
    let path = format!("{DECISIONS_PATH}?{}", params.join("&"));
    let (status, answer) = link.call(Method::DELETE, path, Vec::new())?;
    if status != StatusCode::OK {
        return Err(refused(status, &answer));
    }
    Ok(decode::<Lifted>(&answer)?.decisions)
}
