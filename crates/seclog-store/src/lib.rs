//! seclog-store: where events, alerts and suspicious IPs are kept.
//!
//! [`Store`] is the contract every backend meets; [`sqlite::SqliteStore`] is the embedded
//! default. The conformance suite (module `conformance`, behind the feature `conformance`)
//! runs the same checks against any backend.

use seclog_core::{
    AlertStatus, Cursor, EventFilter, EventPage, SecurityAlert, SecurityEvent, Statistics,
    SuspiciousIp,
};
use time::OffsetDateTime;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod sqlite;

pub use sqlite::{SqliteOptions, SqliteStore};

/// The largest page a listing returns (`limit` must be in `1..=MAX_PAGE_LIMIT`); larger
/// exports page through with cursors.
pub const MAX_PAGE_LIMIT: usize = 10_000;

/// Errors of a storage backend. Messages never include SQL or file paths meant for clients;
/// the server maps them to opaque 500s.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// Stored data could not be decoded (corruption or a newer schema).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request itself is wrong (bad cursor, bad limit...).
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A storage backend. Implementations are shared between threads: one writer thread calls
/// the `insert_*` methods while readers query concurrently.
pub trait Store: Send + Sync {
    /// Inserts a batch of events in one transaction (all or nothing). Inserting an event whose
    /// `event_id` already exists is an error and rolls the batch back.
    fn insert_events(&self, events: &[SecurityEvent]) -> Result<()>;

    /// One event by id.
    fn get_event(&self, event_id: &str) -> Result<Option<SecurityEvent>>;

    /// Events matching `filter`, newest first (timestamp, then event_id, descending), starting
    /// after `cursor`, at most `limit`. `next_cursor` is set when more may follow.
    fn query_events(
        &self,
        filter: &EventFilter,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<EventPage>;

    /// Number of events matching `filter`.
    fn count_events(&self, filter: &EventFilter) -> Result<u64>;

    /// Statistics as of `now`. `blocked_ips` counts suspicious IPs marked blocked;
    /// `events_dropped` is left at 0 (the logger knows it, the store does not).
    fn statistics(&self, now: OffsetDateTime) -> Result<Statistics>;

    /// Deletes events older than `older_than` and, beyond that, all but the newest `keep_max`
    /// events. Returns how many were deleted. Works in small chunks so writers are not stalled.
    fn purge_events(
        &self,
        older_than: Option<OffsetDateTime>,
        keep_max: Option<u64>,
    ) -> Result<u64>;

    /// Stores a new alert.
    fn insert_alert(&self, alert: &SecurityAlert) -> Result<()>;

    /// Replaces the mutable part of an alert (status, acknowledged/resolved fields, resolution,
    /// history). The alert must exist.
    fn update_alert(&self, alert: &SecurityAlert) -> Result<()>;

    /// One alert by id.
    fn get_alert(&self, alert_id: &str) -> Result<Option<SecurityAlert>>;

    /// Alerts, newest first, optionally of one status.
    fn list_alerts(&self, status: Option<AlertStatus>, limit: usize) -> Result<Vec<SecurityAlert>>;

    /// Inserts or replaces rows of the `suspicious_ips` table.
    fn upsert_suspicious_ips(&self, rows: &[SuspiciousIp]) -> Result<()>;

    /// Suspicious IPs, most recently seen first; only blocked ones when `blocked_only`.
    fn list_suspicious_ips(&self, blocked_only: bool, limit: usize) -> Result<Vec<SuspiciousIp>>;
}
