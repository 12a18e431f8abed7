//! `seclog._native`: the PyO3 module under the `seclog` Python package.
//!
//! The surface is deliberately narrow: structured values cross the boundary as JSON text
//! (`serde_json` on this side, `json` on the Python side), so every conversion is the engine's
//! own serde shape and the Python layer (`seclog/__init__.py`) builds dataclasses and enums on
//! top. Every call that touches the engine releases the GIL. Errors become Python exceptions:
//! `ValueError` for invalid input (the message names the field), `SeclogError` and its
//! subclasses for the rest. Nothing here panics on input.

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use seclog::core::{EventType, Resolution};
use seclog::{AlertStatus, EventStatus, LogError, Severity};

mod logger;

pyo3::create_exception!(seclog, SeclogError, PyException, "Base class of seclog's errors.");
pyo3::create_exception!(
    seclog,
    QueueFullError,
    SeclogError,
    "The event queue was full and the policy is 'drop': the event was dropped."
);
pyo3::create_exception!(seclog, LoggerClosedError, SeclogError, "The logger has been closed.");
pyo3::create_exception!(seclog, NotFoundError, SeclogError, "The thing asked for does not exist.");
pyo3::create_exception!(
    seclog,
    CommitTimeoutError,
    SeclogError,
    "A durable write was not committed in time."
);

/// Maps an engine error to the Python exception that describes it.
pub(crate) fn to_py(err: LogError) -> PyErr {
    let msg = err.to_string();
    match err {
        LogError::Invalid(_) | LogError::Config(_) => PyValueError::new_err(msg),
        LogError::QueueFull => QueueFullError::new_err(msg),
        LogError::Closed => LoggerClosedError::new_err(msg),
        LogError::NotFound(_) => NotFoundError::new_err(msg),
        LogError::CommitTimeout(_) => CommitTimeoutError::new_err(msg),
        _ => SeclogError::new_err(msg),
    }
}

/// A `ValueError` naming `field`.
pub(crate) fn invalid(field: &str, message: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{field}: {message}"))
}

/// Serialises a value for the Python side.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| SeclogError::new_err(format!("serialisation: {e}")))
}

fn pairs<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<(String, String)> {
    all.iter().map(|&v| (name(v).to_ascii_uppercase(), name(v).to_string())).collect()
}

/// The 49 event types as `(MEMBER_NAME, value)` pairs, in the engine's order.
#[pyfunction]
fn event_types() -> Vec<(String, String)> {
    pairs(EventType::ALL, EventType::as_str)
}

/// The severities as `(MEMBER_NAME, value)` pairs.
#[pyfunction]
fn severities() -> Vec<(String, String)> {
    pairs(Severity::ALL, Severity::as_str)
}

/// The event investigation statuses as `(MEMBER_NAME, value)` pairs.
#[pyfunction]
fn event_statuses() -> Vec<(String, String)> {
    pairs(EventStatus::ALL, EventStatus::as_str)
}

/// The alert statuses as `(MEMBER_NAME, value)` pairs.
#[pyfunction]
fn alert_statuses() -> Vec<(String, String)> {
    pairs(AlertStatus::ALL, AlertStatus::as_str)
}

/// The alert resolutions as `(MEMBER_NAME, value)` pairs.
#[pyfunction]
fn resolutions() -> Vec<(String, String)> {
    pairs(Resolution::ALL, Resolution::as_str)
}

/// The default severity of an event type.
#[pyfunction]
fn default_severity(event_type: &str) -> PyResult<String> {
    let t: EventType = event_type.parse().map_err(|e| invalid("event_type", e))?;
    Ok(t.default_severity().as_str().to_string())
}

/// Runs the attack detector on `text`: a JSON list of findings.
#[pyfunction]
fn detect(py: Python<'_>, text: &str) -> PyResult<String> {
    let findings = py.detach(|| seclog::core::detect::detect(text));
    let list: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "class": f.class.as_str(),
                "rule": f.rule,
                "confidence": f.confidence,
                "oversized": f.oversized,
            })
        })
        .collect();
    to_json(&list)
}

/// The `seclog._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<logger::Logger>()?;
    m.add_function(wrap_pyfunction!(event_types, m)?)?;
    m.add_function(wrap_pyfunction!(severities, m)?)?;
    m.add_function(wrap_pyfunction!(event_statuses, m)?)?;
    m.add_function(wrap_pyfunction!(alert_statuses, m)?)?;
    m.add_function(wrap_pyfunction!(resolutions, m)?)?;
    m.add_function(wrap_pyfunction!(default_severity, m)?)?;
    m.add_function(wrap_pyfunction!(detect, m)?)?;
    m.add("SeclogError", py.get_type::<SeclogError>())?;
    m.add("QueueFullError", py.get_type::<QueueFullError>())?;
    m.add("LoggerClosedError", py.get_type::<LoggerClosedError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("CommitTimeoutError", py.get_type::<CommitTimeoutError>())?;
    Ok(())
}
