//! Errors of the core crate.

use std::fmt;

/// A textual value that is not one of the accepted names (event type, severity, status...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The field the value was given for (`event_type`, `severity`, ...).
    pub field: &'static str,
    /// The value that was given (truncated to 64 characters).
    pub value: String,
    /// The accepted values, comma separated.
    pub accepted: String,
}

impl UnknownValue {
    /// Builds the error from the field, the rejected value and the accepted names.
    pub fn new<'a>(
        field: &'static str,
        value: &str,
        accepted: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let value: String = value.chars().take(64).collect();
        let accepted = accepted.into_iter().collect::<Vec<_>>().join(", ");
        UnknownValue { field, value, accepted }
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?}; accepted: {}",
            self.field,
            self.value.escape_debug().to_string(),
            self.accepted
        )
    }
}

impl std::error::Error for UnknownValue {}

/// An event (or query) that failed validation: names the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ValidationError {
    /// The field at fault, with the spec's name (`ip_address`, `details.card`, ...).
    pub field: String,
    /// What is wrong, in words a caller can act on.
    pub message: String,
}

impl ValidationError {
    /// Builds a validation error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError { field: field.into(), message: message.into() }
    }
}

impl From<UnknownValue> for ValidationError {
    fn from(e: UnknownValue) -> Self {
        ValidationError { field: e.field.to_string(), message: e.to_string() }
    }
}
