//! seclog-store: where events, alerts, suspicious IPs, block decisions, event investigation
//! trails and API keys are kept.
//!
//! [`Store`] is the contract every backend meets; [`sqlite::SqliteStore`] is the embedded
//! default. The conformance suite (module `conformance`, behind the feature `conformance`)
//! runs the same checks against any backend.

use seclog_core::monitor::{Decision, DecisionMatch};
use seclog_core::{
    AlertStatus, Cursor, EventAction, EventFilter, EventPage, SecurityAlert, SecurityEvent,
    Statistics, StoredPage, SuspiciousIp,
};
use time::OffsetDateTime;

pub mod affinity;
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

/// An API key of the HTTP server as stored: only a hash of the secret is kept (hashing is the
/// caller's job; the store compares hashes as opaque text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Unique id (shown to operators; not secret).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Permissions granted, e.g. `events:write`, `decisions:read`.
    pub scopes: Vec<String>,
    /// Hash of the secret key; unique.
    pub key_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was revoked (`None`: usable).
    pub revoked_at: Option<OffsetDateTime>,
    /// When it was last used to authenticate, if recorded.
    pub last_used_at: Option<OffsetDateTime>,
}

impl ApiKeyRecord {
    /// Not revoked.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
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

    /// Events matching `filter` in the order they were stored. With `after = Some(p)`: those
    /// stored after position `p`, oldest first, at most `limit`; `position` is where to
    /// continue (the last event's when `limit` were returned, else the newest stored
    /// position). With `after = None`: the newest `limit` stored ones, oldest first, and the
    /// newest stored position. An event committed later is stored after `position`.
    fn events_in_stored_order(
        &self,
        filter: &EventFilter,
        after: Option<u64>,
        limit: usize,
    ) -> Result<StoredPage>;

    /// Number of events matching `filter`.
    fn count_events(&self, filter: &EventFilter) -> Result<u64>;

    /// Statistics as of `now`. `blocked_ips` counts suspicious IPs marked blocked;
    /// `events_dropped` is left at 0 (the logger knows it, the store does not).
    fn statistics(&self, now: OffsetDateTime) -> Result<Statistics>;

    /// Deletes events older than `older_than` and, beyond that, all but the newest `keep_max`
    /// events. Returns how many were deleted. Works in small chunks so writers are not stalled.
    /// The investigation trails ([`Store::event_actions`]) of deleted events go with them.
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

    /// Stores a new decision (a block), active or not.
    fn insert_decision(&self, decision: &Decision) -> Result<()>;

    /// Marks a decision lifted at `at` (sets `deleted_at`; the row stays as history). Lifting
    /// an already lifted decision keeps its first `deleted_at`. Returns the updated decision,
    /// or `None` when no such id exists. A duplicate id on insert is [`StoreError::Invalid`].
    fn delete_decision(&self, id: &str, at: OffsetDateTime) -> Result<Option<Decision>>;

    /// Lifts at `at` every decision in force at `at` that `selection` selects (sets
    /// `deleted_at` as [`Store::delete_decision`] does) and returns them, in one statement: a
    /// lookup by value, not a scan of the decisions. An empty selection is
    /// [`StoreError::Invalid`] (it would lift everything).
    fn lift_decisions(
        &self,
        selection: &DecisionMatch,
        at: OffsetDateTime,
    ) -> Result<Vec<Decision>>;

    /// Decisions, newest first. With `active_at = Some(now)`, only those in force at `now`
    /// (not lifted, permanent or ending after `now`); with `None`, all of them (history).
    /// `limit` must be at least 1; unlike event pages it is not capped at [`MAX_PAGE_LIMIT`].
    fn list_decisions(
        &self,
        active_at: Option<OffsetDateTime>,
        limit: usize,
    ) -> Result<Vec<Decision>>;

    /// Decisions created after `after` (exclusive) or lifted after `after`, oldest first:
    /// what changed since a bouncer last asked.
    fn decisions_changed_since(&self, after: OffsetDateTime) -> Result<Vec<Decision>>;

    /// How many decisions (any state) exist for this scope value: the offence count used to
    /// escalate ban durations for repeat offenders.
    fn count_decisions_for(&self, value: &str) -> Result<u64>;

    /// Appends an entry to an event's investigation audit trail. The event must exist
    /// ([`StoreError::NotFound`] otherwise); a duplicate `action_id` is [`StoreError::Invalid`].
    fn append_event_action(&self, action: &EventAction) -> Result<()>;

    /// An event's audit trail, oldest first (ties in insertion order); empty for an unknown
    /// event.
    fn event_actions(&self, event_id: &str) -> Result<Vec<EventAction>>;

    /// Stores a new API key. A duplicate `id` or `key_hash` is [`StoreError::Invalid`].
    fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<()>;

    /// The key with this hash, revoked or not (the caller checks [`ApiKeyRecord::is_active`]).
    fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>>;

    /// Every key, newest first.
    fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>>;

    /// Revokes a key at `at`; revoking an already revoked key keeps its first revocation
    /// time. Returns the updated key, or `None` when no such id exists.
    fn revoke_api_key(&self, id: &str, at: OffsetDateTime) -> Result<Option<ApiKeyRecord>>;

    /// Records that a key authenticated a request at `at` (sets `last_used_at`). An unknown
    /// id is [`StoreError::NotFound`].
    fn touch_api_key(&self, id: &str, at: OffsetDateTime) -> Result<()>;

    /// Number of keys not revoked.
    fn count_active_api_keys(&self) -> Result<u64>;

    /// The most events one [`Store::insert_events`] call should hold to keep the backend's
    /// log within its bound (SQLite: an eighth of `wal_max_bytes`), learnt from recent inserts;
    /// `None` when there is no such bound or it is not known yet. Callers that batch (the
    /// logger's writer) stay below it; a larger batch still works.
    fn insert_batch_hint(&self) -> Option<usize> {
        None
    }

    /// Makes the stored data complete in the backend's main file, as a clean close does
    /// (SQLite: copies the whole write-ahead log into the database file and truncates the
    /// log, so a copy of the database file alone holds every commit). Returns `false` when
    /// another user of the same files (another process) kept it from completing; that user's
    /// own close completes it. Backends without such a log return `true`.
    fn checkpoint(&self) -> Result<bool> {
        Ok(true)
    }

    /// Writes a consistent copy of everything stored (one snapshot: every commit before it
    /// started, none after) to the new file `dest`, while the store stays in use. An existing
    /// `dest` is [`StoreError::Invalid`]; so is a backend that cannot make backups.
    fn backup(&self, dest: &std::path::Path) -> Result<()> {
        let _ = dest;
        Err(StoreError::Invalid("this store cannot write backups".into()))
    }
}
