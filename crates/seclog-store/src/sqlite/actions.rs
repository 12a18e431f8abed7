//! Event investigation trails (append-only) and API keys.

use rusqlite::{params, Connection, Row};
use seclog_core::EventAction;
use time::OffsetDateTime;

use super::codec::{from_json, from_rfc3339, from_serde_name, parse_name, serde_name, to_json};
use super::codec::{to_nanos, to_rfc3339};
use super::error::{db_err, is_unique_violation};
use crate::{ApiKeyRecord, Result, StoreError};

fn short(id: &str) -> String {
    id.chars().take(64).collect()
}

/// Appends `a` if its event exists (checked in the same statement, so atomically).
pub(crate) fn append_event_action(conn: &Connection, a: &EventAction) -> Result<()> {
    let res = conn
        .prepare_cached(
            "INSERT INTO event_actions (action_id, event_id, kind, status, text, actor, at, at_ts) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
             WHERE EXISTS (SELECT 1 FROM security_events WHERE event_id = ?2)",
        )
        .map_err(|e| db_err("prepare append event action", e))?
        .execute(params![
            a.action_id,
            a.event_id,
            serde_name(&a.kind, "kind")?,
            a.status.map(|s| s.as_str()),
            a.text,
            a.by,
            to_rfc3339(a.at, "at")?,
            to_nanos(a.at, "at")?,
        ]);
    match res {
        Ok(0) => Err(StoreError::NotFound(format!("event {:?}", short(&a.event_id)))),
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::Invalid(format!("duplicate action_id {:?}", short(&a.action_id))))
        }
        Err(e) => Err(db_err("append event action", e)),
    }
}

/// The trail of `event_id`, oldest first, ties in insertion order.
pub(crate) fn event_actions(conn: &Connection, event_id: &str) -> Result<Vec<EventAction>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT action_id, event_id, kind, status, text, actor, at FROM event_actions \
             WHERE event_id = ?1 ORDER BY at_ts, rowid",
        )
        .map_err(|e| db_err("prepare event actions", e))?;
    let mut rows = stmt.query([event_id]).map_err(|e| db_err("event actions", e))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| db_err("event actions", e))? {
        let g = |e| db_err("read event action", e);
        let kind: String = r.get(2).map_err(g)?;
        let status: Option<String> = r.get(3).map_err(g)?;
        let at: String = r.get(6).map_err(g)?;
        out.push(EventAction {
            action_id: r.get(0).map_err(g)?,
            event_id: r.get(1).map_err(g)?,
            kind: from_serde_name(&kind, "kind")?,
            status: status.map(|s| parse_name(&s, "status")).transpose()?,
            text: r.get(4).map_err(g)?,
            by: r.get(5).map_err(g)?,
            at: from_rfc3339(&at, "at")?,
        });
    }
    Ok(out)
}

/// Deletes the trails of events that no longer exist (after a purge); returns rows deleted.
pub(crate) fn purge_orphan_actions(conn: &Connection) -> Result<u64> {
    let n = conn
        .prepare_cached(
            "DELETE FROM event_actions WHERE NOT EXISTS \
             (SELECT 1 FROM security_events e WHERE e.event_id = event_actions.event_id)",
        )
        .and_then(|mut s| s.execute([]))
        .map_err(|e| db_err("purge event actions", e))?;
    Ok(n as u64)
}

const KEY_COLS: &str = "id, name, scopes, key_hash, created_at, revoked_at, last_used_at";

fn key_from_row(r: &Row<'_>) -> Result<ApiKeyRecord> {
    let g = |e| db_err("read api key", e);
    let time = |i: usize, f: &str| -> Result<Option<OffsetDateTime>> {
        r.get::<_, Option<String>>(i).map_err(g)?.map(|s| from_rfc3339(&s, f)).transpose()
    };
    let scopes: Option<String> = r.get(2).map_err(g)?;
    let created: String = r.get(4).map_err(g)?;
    Ok(ApiKeyRecord {
        id: r.get(0).map_err(g)?,
        name: r.get(1).map_err(g)?,
        scopes: from_json(scopes.as_deref(), "scopes")?,
        key_hash: r.get(3).map_err(g)?,
        created_at: from_rfc3339(&created, "created_at")?,
        revoked_at: time(5, "revoked_at")?,
        last_used_at: time(6, "last_used_at")?,
    })
}

fn query_keys(
    conn: &Connection,
    sql: &str,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Vec<ApiKeyRecord>> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| db_err("prepare api keys", e))?;
    let mut rows = stmt.query(p).map_err(|e| db_err("api keys", e))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| db_err("api keys", e))? {
        out.push(key_from_row(r)?);
    }
    Ok(out)
}

/// Stores a new key; a duplicate id or hash is [`StoreError::Invalid`] (naming the id only).
pub(crate) fn insert_api_key(conn: &Connection, k: &ApiKeyRecord) -> Result<()> {
    let opt = |t: Option<OffsetDateTime>, f: &str| t.map(|t| to_rfc3339(t, f)).transpose();
    let res = conn
        .prepare_cached(
            "INSERT INTO api_keys (id, name, scopes, key_hash, created_at, revoked_at, \
             last_used_at, created_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(|e| db_err("prepare insert api key", e))?
        .execute(params![
            k.id,
            k.name,
            to_json(&k.scopes, "scopes")?,
            k.key_hash,
            to_rfc3339(k.created_at, "created_at")?,
            opt(k.revoked_at, "revoked_at")?,
            opt(k.last_used_at, "last_used_at")?,
            to_nanos(k.created_at, "created_at")?,
        ]);
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Invalid(format!(
            "api key {:?}: duplicate id or key hash",
            short(&k.id)
        ))),
        Err(e) => Err(db_err("insert api key", e)),
    }
}

/// The key with this hash, revoked or not.
pub(crate) fn find_by_hash(conn: &Connection, key_hash: &str) -> Result<Option<ApiKeyRecord>> {
    let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE key_hash = ?1");
    Ok(query_keys(conn, &sql, &[&key_hash])?.into_iter().next())
}

/// Every key, newest first.
pub(crate) fn list_api_keys(conn: &Connection) -> Result<Vec<ApiKeyRecord>> {
    let sql = format!("SELECT {KEY_COLS} FROM api_keys ORDER BY created_ts DESC, id DESC");
    query_keys(conn, &sql, &[])
}

/// Revokes a key (keeping an earlier revocation); `None` when the id is unknown.
pub(crate) fn revoke_api_key(
    conn: &Connection,
    id: &str,
    at: OffsetDateTime,
) -> Result<Option<ApiKeyRecord>> {
    let at = to_rfc3339(at, "at")?;
    conn.prepare_cached("UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")
        .and_then(|mut s| s.execute(params![id, at]))
        .map_err(|e| db_err("revoke api key", e))?;
    let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE id = ?1");
    Ok(query_keys(conn, &sql, &[&id])?.into_iter().next())
}

/// Sets `last_used_at`; an unknown id is [`StoreError::NotFound`].
pub(crate) fn touch_api_key(conn: &Connection, id: &str, at: OffsetDateTime) -> Result<()> {
    let at = to_rfc3339(at, "at")?;
    let n = conn
        .prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id, at]))
        .map_err(|e| db_err("touch api key", e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("api key {:?}", short(id))));
    }
    Ok(())
}

/// Number of keys not revoked.
pub(crate) fn count_active(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(|e| db_err("count api keys", e))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
