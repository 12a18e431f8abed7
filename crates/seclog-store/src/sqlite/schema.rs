//! Versioned schema migrations, tracked with `PRAGMA user_version`.
//!
//! Each migration runs once, inside its own transaction that also bumps `user_version` and
//! records the step in `schema_migrations`. Opening a database written by a newer seclog (a
//! higher version than [`MIGRATIONS`] knows) is refused rather than guessed at.

use rusqlite::{Connection, TransactionBehavior};

use super::error::db_err;
use crate::{Result, StoreError};

/// The migrations, in order; migration `i` brings the schema to version `i + 1`.
///
/// The three tables keep the specification's column names exactly (`security_events` has its 27
/// columns including `created_at`); the extra columns serve queries:
/// - `ts`: event time as unix nanoseconds (sortable; `timestamp` keeps the RFC 3339 text),
/// - `ip_bin`: the address as bytes (IPv4: 4, IPv6: 16; version 3) for exact and CIDR lookups,
/// - `severity_rank`: 0 (info) .. 4 (critical) for minimum-severity filters,
/// - alerts: `ts`, `rule`, `alert_key`, `resolution`, `history` (JSON),
/// - suspicious IPs: `last_seen_ts` for ordering.
///
/// Indexes are only those the queries use; each one costs insert speed. `user_id`,
/// `correlation_id`, `parent_event_id` and `ip_bin` indexes are partial (NULLs are not
/// indexed).
///
/// Version 2 adds `decisions`, `event_actions`, `api_keys` and the `parent_event_id` index;
/// version 3 keys IPv4 addresses in `ip_bin` by their 4 bytes; version 4 adds `event_counts`
/// (stored events by type and severity, kept by the store's inserts and purges).
/// Existing migrations are never edited: a schema change is a new file appended here.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_decisions_actions_api_keys.sql"),
    include_str!("migrations/0003_compact_ipv4_keys.sql"),
    include_str!("migrations/0004_event_counts.sql"),
];

/// The schema version this build writes.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The schema version recorded in the database.
pub(crate) fn current_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| db_err("read schema version", e))
}

/// Applies every pending migration; a no-op on an up-to-date database.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let latest = latest_version();
    let found = current_version(conn)?;
    if found > latest {
        return Err(StoreError::Corrupt(format!(
            "database schema version {found} is newer than this seclog supports ({latest}); \
             upgrade seclog"
        )));
    }
    for (version, sql) in (1_i64..).zip(MIGRATIONS.iter()).skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err("begin migration", e))?;
        // Re-check under the write lock: another process may have migrated meanwhile.
        if current_version(&tx)? >= version {
            continue;
        }
        if version == 1 {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
            )
            .map_err(|e| db_err("create schema_migrations", e))?;
        }
        tx.execute_batch(sql).map_err(|e| db_err("apply migration", e))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES (?1)", [version])
            .map_err(|e| db_err("record migration", e))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(|e| db_err("bump schema version", e))?;
        tx.commit().map_err(|e| db_err("commit migration", e))?;
    }
    Ok(())
}
