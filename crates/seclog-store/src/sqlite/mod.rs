//! The embedded SQLite backend.
//!
//! # Durability
//!
//! The database runs in WAL mode. With the default `synchronous=NORMAL`, a committed
//! transaction survives a crash of the process (it is in the WAL file), but the last
//! transactions before a power loss or OS crash may be lost (the WAL is not fsynced on every
//! commit; the database never becomes corrupt). [`SqliteOptions::synchronous_full`] syncs the
//! WAL on every commit for power-loss durability, at a cost in commit latency.
//!
//! # Concurrency
//!
//! One write connection behind a mutex takes every write; a small pool of read-only
//! connections serves queries, so readers never wait for the writer (WAL snapshots). An
//! in-memory store has no separate readers: its single connection serves both.

mod actions;
mod alerts;
mod backup;
mod bind;
mod checkpoint;
mod codec;
mod decisions;
mod error;
mod events;
mod schema;
mod stats;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use seclog_core::monitor::{Decision, DecisionMatch};
use seclog_core::{
    AlertStatus, Cursor, EventAction, EventFilter, EventPage, SecurityAlert, SecurityEvent,
    Statistics, StoredPage, SuspiciousIp,
};
use time::OffsetDateTime;

use self::error::db_err;
use crate::{ApiKeyRecord, Result, Store};

/// Tuning of a [`SqliteStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// `synchronous=FULL` (fsync the WAL on every commit: survives power loss) instead of the
    /// default `NORMAL` (survives a process crash).
    pub synchronous_full: bool,
    /// Read-only connections for queries (file databases only); at least 1.
    pub read_connections: usize,
    /// How long a connection waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// Page cache per connection, in KiB.
    pub cache_kib: u32,
    /// Bound of the WAL file, in bytes. Checkpoints start when the WAL holds a quarter of it;
    /// at half of it the write connection checkpoints itself, and after each restart of the
    /// WAL the file is truncated back to it (`journal_size_limit`). The file stays below the
    /// bound while a transaction is smaller than half of it (one transaction cannot be
    /// split): [`Store::insert_batch_hint`] says how many events keep a transaction within
    /// an eighth of it, from the WAL growth of the last insert (with background checkpoints). A clean close empties the WAL
    /// entirely ([`Store::checkpoint`]).
    pub wal_max_bytes: u64,
    /// Run the checkpoints in a background thread with its own connection instead of inside
    /// the `COMMIT` of the write connection (file databases only). The writer then never
    /// copies most pages to the database file nor waits for most `fsync`s; at half of
    /// [`SqliteOptions::wal_max_bytes`] it checkpoints the rest itself.
    pub background_checkpoint: bool,
    /// Checkpoint and truncate the WAL when the store is dropped, so that the database file
    /// alone holds everything (default). Off for a process that only reads beside another
    /// one that writes (its checkpoint would hold that writer up).
    pub checkpoint_on_close: bool,
    /// Keep the background checkpoint thread off this CPU (the one the logger's writer
    /// thread is pinned to; see [`crate::affinity`]).
    pub avoid_cpu: Option<usize>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous_full: false,
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            cache_kib: 32 * 1024,
            wal_max_bytes: DEFAULT_WAL_MAX_BYTES,
            background_checkpoint: true,
            checkpoint_on_close: true,
            avoid_cpu: None,
        }
    }
}

/// The default of [`SqliteOptions::wal_max_bytes`]: 128 MiB (the trade between WAL size and
/// import speed is measured in docs/benchmarks.md, "WAL bound").
pub const DEFAULT_WAL_MAX_BYTES: u64 = 128 * 1024 * 1024;

/// A [`Store`] in one SQLite database file (or in memory).
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    checkpointer: Option<checkpoint::Checkpointer>,
    busy_timeout: Duration,
    /// A file database (in WAL mode), not an in-memory one.
    file: bool,
    /// [`SqliteOptions::checkpoint_on_close`].
    checkpoint_on_close: bool,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(c) = self.checkpointer.take() {
            checkpoint::stop(self.writer.get_mut(), c);
        }
        if self.file && self.checkpoint_on_close {
            // A failure leaves the WAL beside the database file: nothing is lost, the next
            // open reads it.
            let _ = checkpoint::truncate(self.writer.get_mut(), self.busy_timeout);
        }
        // The write connection closes last: when no other process has the database open,
        // SQLite then removes the (empty) WAL and shared-memory files too.
        self.readers.clear();
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("readers", &self.readers.len()).finish()
    }
}

fn configure(conn: &Connection, opts: &SqliteOptions) -> Result<()> {
    let c = |e| db_err("configure connection", e);
    conn.busy_timeout(opts.busy_timeout).map_err(c)?;
    conn.pragma_update(None, "synchronous", if opts.synchronous_full { "FULL" } else { "NORMAL" })
        .map_err(c)?;
    conn.pragma_update(None, "cache_size", -i64::from(opts.cache_kib)).map_err(c)?;
    conn.pragma_update(None, "temp_store", "MEMORY").map_err(c)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with default options and migrates
    /// it to the current schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the database at `path` with `opts`.
    pub fn open_with(path: impl AsRef<Path>, opts: SqliteOptions) -> Result<Self> {
        let path = path.as_ref();
        let c_err = |e| db_err("configure connection", e);
        let mut writer = Connection::open(path).map_err(|e| db_err("open database", e))?;
        configure(&writer, &opts)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| db_err("enable WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(crate::StoreError::Database(format!(
                "enable WAL: the database stays in {mode} mode"
            )));
        }
        schema::migrate(&mut writer)?;
        let page_size: i64 =
            writer.pragma_query_value(None, "page_size", |r| r.get(0)).map_err(c_err)?;
        let page_size = u64::try_from(page_size).unwrap_or(4096);
        let limits = checkpoint::WalLimits::new(opts.wal_max_bytes, page_size);
        // Before the checkpoint thread's hook is installed: this pragma installs SQLite's own.
        writer.pragma_update(None, "wal_autocheckpoint", limits.background).map_err(c_err)?;
        let limit = i64::try_from(opts.wal_max_bytes).unwrap_or(i64::MAX);
        writer.pragma_update(None, "journal_size_limit", limit).map_err(c_err)?;
        let mut readers = Vec::new();
        for _ in 0..opts.read_connections.max(1) {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(|e| db_err("open read connection", e))?;
            configure(&r, &opts)?;
            readers.push(Mutex::new(r));
        }
        let checkpointer = if opts.background_checkpoint {
            Some(checkpoint::start(&mut writer, path, &opts, limits)?)
        } else {
            None
        };
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            checkpointer,
            busy_timeout: opts.busy_timeout,
            file: true,
            checkpoint_on_close: opts.checkpoint_on_close,
        })
    }

    /// A private in-memory database (lost when dropped); one connection serves all calls.
    pub fn open_in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory().map_err(|e| db_err("open database", e))?;
        configure(&conn, &SqliteOptions::default())?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStore {
            writer: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            checkpointer: None,
            busy_timeout: SqliteOptions::default().busy_timeout,
            file: false,
            checkpoint_on_close: false,
        })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        schema::current_version(&self.writer.lock())
    }

    /// The schema version this build creates and migrates to.
    pub fn latest_schema_version() -> i64 {
        schema::latest_version()
    }

    /// Runs `f` on a free read connection (or the writer for in-memory stores).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let n = self.readers.len();
        if n == 0 {
            return f(&self.writer.lock());
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Some(guard) = self.readers.get((start + i) % n).and_then(|m| m.try_lock()) {
                return f(&guard);
            }
        }
        match self.readers.get(start % n) {
            Some(m) => f(&m.lock()),
            None => f(&self.writer.lock()),
        }
    }
}

impl Store for SqliteStore {
    fn insert_events(&self, events: &[SecurityEvent]) -> Result<()> {
        events::insert_events(&mut self.writer.lock(), events)?;
        if let Some(c) = &self.checkpointer {
            c.learn(events.len());
        }
        Ok(())
    }

    fn insert_batch_hint(&self) -> Option<usize> {
        self.checkpointer.as_ref().map(checkpoint::Checkpointer::batch_hint)
    }

    fn get_event(&self, event_id: &str) -> Result<Option<SecurityEvent>> {
        self.read(|c| events::get_event(c, event_id))
    }

    fn query_events(
        &self,
        filter: &EventFilter,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<EventPage> {
        self.read(|c| events::query_events(c, filter, cursor, limit))
    }

    fn events_in_stored_order(
        &self,
        filter: &EventFilter,
        after: Option<u64>,
        limit: usize,
    ) -> Result<StoredPage> {
        self.read(|c| events::in_stored_order(c, filter, after, limit))
    }

    fn count_events(&self, filter: &EventFilter) -> Result<u64> {
        self.read(|c| events::count_events(c, filter))
    }

    fn statistics(&self, now: OffsetDateTime) -> Result<Statistics> {
        self.read(|c| stats::statistics(c, now))
    }

    fn purge_events(
        &self,
        older_than: Option<OffsetDateTime>,
        keep_max: Option<u64>,
    ) -> Result<u64> {
        let mut deleted = 0;
        if let Some(t) = older_than {
            let cutoff = events::cutoff(t);
            loop {
                // The writer lock is taken per chunk so inserts interleave with a long purge.
                let n = events::purge_older_chunk(&self.writer.lock(), cutoff)?;
                deleted += n;
                if n == 0 {
                    break;
                }
            }
        }
        if let Some(keep) = keep_max {
            let boundary = events::keep_max_boundary(&self.writer.lock(), keep)?;
            if let Some((ts, id)) = boundary {
                loop {
                    let n = events::purge_upto_chunk(&self.writer.lock(), ts, &id)?;
                    deleted += n;
                    if n == 0 {
                        break;
                    }
                }
            }
        }
        if deleted > 0 {
            actions::purge_orphan_actions(&self.writer.lock())?;
        }
        Ok(deleted)
    }

    fn insert_alert(&self, alert: &SecurityAlert) -> Result<()> {
        alerts::insert_alert(&self.writer.lock(), alert)
    }

    fn update_alert(&self, alert: &SecurityAlert) -> Result<()> {
        alerts::update_alert(&self.writer.lock(), alert)
    }

    fn get_alert(&self, alert_id: &str) -> Result<Option<SecurityAlert>> {
        self.read(|c| alerts::get_alert(c, alert_id))
    }

    fn list_alerts(&self, status: Option<AlertStatus>, limit: usize) -> Result<Vec<SecurityAlert>> {
        self.read(|c| alerts::list_alerts(c, status, limit))
    }

    fn upsert_suspicious_ips(&self, rows: &[SuspiciousIp]) -> Result<()> {
        alerts::upsert_suspicious_ips(&mut self.writer.lock(), rows)
    }

    fn list_suspicious_ips(&self, blocked_only: bool, limit: usize) -> Result<Vec<SuspiciousIp>> {
        self.read(|c| alerts::list_suspicious_ips(c, blocked_only, limit))
    }

    fn insert_decision(&self, decision: &Decision) -> Result<()> {
        decisions::insert_decision(&self.writer.lock(), decision)
    }

    fn delete_decision(&self, id: &str, at: OffsetDateTime) -> Result<Option<Decision>> {
        decisions::delete_decision(&self.writer.lock(), id, at)
    }

    fn lift_decisions(
        &self,
        selection: &DecisionMatch,
        at: OffsetDateTime,
    ) -> Result<Vec<Decision>> {
        decisions::lift_matching(&self.writer.lock(), selection, at)
    }

    fn list_decisions(
        &self,
        active_at: Option<OffsetDateTime>,
        limit: usize,
    ) -> Result<Vec<Decision>> {
        self.read(|c| decisions::list_decisions(c, active_at, limit))
    }

    fn decisions_changed_since(&self, after: OffsetDateTime) -> Result<Vec<Decision>> {
        self.read(|c| decisions::changed_since(c, after))
    }

    fn count_decisions_for(&self, value: &str) -> Result<u64> {
        self.read(|c| decisions::count_for(c, value))
    }

    fn append_event_action(&self, action: &EventAction) -> Result<()> {
        actions::append_event_action(&self.writer.lock(), action)
    }

    fn event_actions(&self, event_id: &str) -> Result<Vec<EventAction>> {
        self.read(|c| actions::event_actions(c, event_id))
    }

    fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
        actions::insert_api_key(&self.writer.lock(), key)
    }

    fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>> {
        self.read(|c| actions::find_by_hash(c, key_hash))
    }

    fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        self.read(actions::list_api_keys)
    }

    fn revoke_api_key(&self, id: &str, at: OffsetDateTime) -> Result<Option<ApiKeyRecord>> {
        actions::revoke_api_key(&self.writer.lock(), id, at)
    }

    fn touch_api_key(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        actions::touch_api_key(&self.writer.lock(), id, at)
    }

    fn count_active_api_keys(&self) -> Result<u64> {
        self.read(actions::count_active)
    }

    fn checkpoint(&self) -> Result<bool> {
        if !self.file {
            return Ok(true);
        }
        // The writer first, then the background thread's lock, in the order of the WAL hook
        // (which runs under the writer's lock). The thread waits meanwhile: its PASSIVE
        // checkpoint would make this one fail at once (one checkpoint at a time).
        let writer = self.writer.lock();
        let _running = self.checkpointer.as_ref().map(|c| c.running.lock());
        let done = checkpoint::truncate(&writer, self.busy_timeout)?;
        if let (true, Some(c)) = (done, &self.checkpointer) {
            c.completed();
        }
        Ok(done)
    }

    fn backup(&self, dest: &Path) -> Result<()> {
        self.read(|c| backup::to_file(c, dest, self.busy_timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SqliteStore>();
    }
}
