//! Errors of the library.

use seclog_core::ValidationError;
use seclog_store::StoreError;

/// What can go wrong when logging or querying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The event (or query) is invalid; the error names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The queue was full and the policy is `drop`: the event was counted as dropped.
    #[error("event queue full: event dropped (policy 'drop')")]
    QueueFull,
    /// The logger has been closed.
    #[error("security logger is closed")]
    Closed,
    /// A durable write was not committed within the configured time.
    #[error("event not committed within {0} ms")]
    CommitTimeout(u64),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// A file (log file, key file) could not be used.
    #[error("{0}")]
    Io(String),
}

/// Result alias of this crate.
pub type Result<T, E = LogError> = std::result::Result<T, E>;
