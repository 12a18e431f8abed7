//! Block decisions: insert, lift (by id or by value), active/history listings, changes since a
//! time, counts.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row};
use seclog_core::monitor::decision_match::covering_values;
use seclog_core::monitor::{Decision, DecisionMatch, Scope};
use time::OffsetDateTime;

use super::codec::{
    from_rfc3339, from_serde_name, serde_name, to_nanos, to_nanos_clamped, to_rfc3339,
};
use super::error::{db_err, is_unique_violation};
use super::events::check_limit;
use crate::{Result, StoreError};

const COLS: &str = "id, scope, value, type, origin, reason, created_at, until, deleted_at";

fn decision_from_row(r: &Row<'_>) -> Result<Decision> {
    let g = |e| db_err("read decision", e);
    let req = |i: usize| -> Result<String> { r.get::<_, String>(i).map_err(g) };
    let time = |i: usize, f: &str| -> Result<Option<OffsetDateTime>> {
        r.get::<_, Option<String>>(i).map_err(g)?.map(|s| from_rfc3339(&s, f)).transpose()
    };
    Ok(Decision {
        id: req(0)?,
        scope: from_serde_name(&req(1)?, "scope")?,
        value: req(2)?,
        kind: from_serde_name(&req(3)?, "type")?,
        origin: req(4)?,
        reason: req(5)?,
        created_at: from_rfc3339(&req(6)?, "created_at")?,
        until: time(7, "until")?,
        deleted_at: time(8, "deleted_at")?,
    })
}

fn collect(conn: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Decision>> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| db_err("prepare list decisions", e))?;
    let mut rows = stmt.query(p).map_err(|e| db_err("list decisions", e))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| db_err("list decisions", e))? {
        out.push(decision_from_row(r)?);
    }
    Ok(out)
}

/// Stores a new decision; a duplicate id is [`StoreError::Invalid`].
pub(crate) fn insert_decision(conn: &Connection, d: &Decision) -> Result<()> {
    let until = d.until.map(|t| to_rfc3339(t, "until")).transpose()?;
    let deleted = d.deleted_at.map(|t| to_rfc3339(t, "deleted_at")).transpose()?;
    let deleted_ts = d.deleted_at.map(|t| to_nanos(t, "deleted_at")).transpose()?;
    let res = conn
        .prepare_cached(
            "INSERT INTO decisions (id, scope, value, type, origin, reason, created_at, until, \
             deleted_at, created_ts, until_ts, deleted_ts) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(|e| db_err("prepare insert decision", e))?
        .execute(params![
            d.id,
            serde_name(&d.scope, "scope")?,
            d.value,
            serde_name(&d.kind, "type")?,
            d.origin,
            d.reason,
            to_rfc3339(d.created_at, "created_at")?,
            until,
            deleted,
            to_nanos(d.created_at, "created_at")?,
            d.until.map(to_nanos_clamped),
            deleted_ts,
        ]);
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            let id: String = d.id.chars().take(64).collect();
            Err(StoreError::Invalid(format!("duplicate decision id {id:?}")))
        }
        Err(e) => Err(db_err("insert decision", e)),
    }
}

/// One decision by id.
fn get_decision(conn: &Connection, id: &str) -> Result<Option<Decision>> {
    let sql = format!("SELECT {COLS} FROM decisions WHERE id = ?1");
    Ok(collect(conn, &sql, &[&id])?.into_iter().next())
}

/// Lifts a decision (keeping an earlier lift time); `None` when the id is unknown.
pub(crate) fn delete_decision(
    conn: &Connection,
    id: &str,
    at: OffsetDateTime,
) -> Result<Option<Decision>> {
    let (text, ts) = (to_rfc3339(at, "at")?, to_nanos(at, "at")?);
    conn.prepare_cached(
        "UPDATE decisions SET deleted_at = ?2, deleted_ts = ?3 WHERE id = ?1 AND deleted_ts IS NULL",
    )
    .and_then(|mut s| s.execute(params![id, text, ts]))
    .map_err(|e| db_err("lift decision", e))?;
    get_decision(conn, id)
}

/// Lifts the decisions in force at `at` that `m` selects; returns them, oldest first.
///
/// One `UPDATE ... RETURNING`: `value = ?` or `value IN (the values that can cover the
/// network)` goes through the `value` index, whatever the number of decisions.
pub(crate) fn lift_matching(
    conn: &Connection,
    m: &DecisionMatch,
    at: OffsetDateTime,
) -> Result<Vec<Decision>> {
    if m.is_empty() {
        return Err(StoreError::Invalid(
            "an empty decision selection would lift every decision".into(),
        ));
    }
    let (text, ts) = (to_rfc3339(at, "at")?, to_nanos(at, "at")?);
    let mut clauses =
        vec!["deleted_ts IS NULL AND (until_ts IS NULL OR until_ts > ?3)".to_string()];
    let mut p: Vec<Value> = vec![Value::Text(text), Value::Integer(ts), Value::Integer(ts)];
    if let Some(scope) = m.scope {
        clauses.push(format!("scope = ?{}", p.len() + 1));
        p.push(Value::Text(serde_name(&scope, "scope")?));
    }
    if let Some(v) = &m.value {
        clauses.push(format!("value = ?{}", p.len() + 1));
        p.push(Value::Text(v.clone()));
    }
    if let Some(net) = m.covering {
        let first = p.len() + 1;
        let values = covering_values(net);
        let slots: Vec<String> = (first..first + values.len()).map(|i| format!("?{i}")).collect();
        p.extend(values.into_iter().map(Value::Text));
        clauses.push(format!(
            "scope IN (?{a}, ?{b}) AND value IN ({})",
            slots.join(", "),
            a = p.len() + 1,
            b = p.len() + 2
        ));
        p.push(Value::Text(serde_name(&Scope::Ip, "scope")?));
        p.push(Value::Text(serde_name(&Scope::Range, "scope")?));
    }
    let sql = format!(
        "UPDATE decisions SET deleted_at = ?1, deleted_ts = ?2 WHERE {} RETURNING {COLS}",
        clauses.join(" AND ")
    );
    let mut stmt = conn.prepare(&sql).map_err(|e| db_err("prepare lift decisions", e))?;
    let mut rows =
        stmt.query(params_from_iter(p.iter())).map_err(|e| db_err("lift decisions", e))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| db_err("lift decisions", e))? {
        out.push(decision_from_row(r)?);
    }
    out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(out)
}

/// Decisions newest first: those active at `active_at`, or all.
pub(crate) fn list_decisions(
    conn: &Connection,
    active_at: Option<OffsetDateTime>,
    limit: usize,
) -> Result<Vec<Decision>> {
    // Decisions are listed whole (restored at start-up, streamed to bouncers), so the page
    // limit of event queries does not apply; only an empty request is refused.
    let limit = check_limit(limit.min(crate::MAX_PAGE_LIMIT)).map(|_| limit as i64)?;
    match active_at {
        Some(now) => collect(
            conn,
            &format!(
                "SELECT {COLS} FROM decisions \
                 WHERE deleted_ts IS NULL AND (until_ts IS NULL OR until_ts > ?1) \
                 ORDER BY created_ts DESC, id DESC LIMIT ?2"
            ),
            &[&to_nanos_clamped(now), &limit],
        ),
        None => collect(
            conn,
            &format!("SELECT {COLS} FROM decisions ORDER BY created_ts DESC, id DESC LIMIT ?1"),
            &[&limit],
        ),
    }
}

/// Decisions created or lifted after `after`, in order of that change.
pub(crate) fn changed_since(conn: &Connection, after: OffsetDateTime) -> Result<Vec<Decision>> {
    collect(
        conn,
        &format!(
            "SELECT {COLS} FROM decisions WHERE created_ts > ?1 OR deleted_ts > ?1 \
             ORDER BY MAX(created_ts, COALESCE(deleted_ts, created_ts)), id"
        ),
        &[&to_nanos_clamped(after)],
    )
}

/// Number of decisions (any state) for `value`.
pub(crate) fn count_for(conn: &Connection, value: &str) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM decisions WHERE value = ?1")
        .and_then(|mut s| s.query_row([value], |r| r.get(0)))
        .map_err(|e| db_err("count decisions", e))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
