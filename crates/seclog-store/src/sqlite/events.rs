//! Events: insert, lookup, filtered listing with keyset pagination, count and purge.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use seclog_core::{Cursor, EventFilter, EventPage, SecurityEvent, StoredPage};
use time::OffsetDateTime;

use super::bind::RowBinder;
use super::codec::{
    cidr_range, from_json, from_nanos, ip_bin, ip_text, parse_ip, parse_name, to_json, to_nanos,
    to_nanos_clamped, to_rfc3339, IpBin, IpText,
};
use super::error::{db_err, is_unique_violation};
use crate::{Result, StoreError, MAX_PAGE_LIMIT};

/// Rows deleted per purge transaction, so the writer lock is released between chunks.
pub(crate) const PURGE_CHUNK: i64 = 5_000;

const INSERT_SQL: &str = "INSERT INTO security_events (event_id, event_type, severity, \
    timestamp, user_id, session_id, ip_address, user_agent, request_method, request_url, \
    request_headers, request_body, response_status, response_body, details, threat_level, \
    risk_score, indicators, status, investigation_notes, remediation_actions, compliance_tags, \
    audit_trail, source, correlation_id, parent_event_id, ts, ip_bin, severity_rank) VALUES \
    (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, coalesce(?15, '{}'), ?16, ?17, \
    coalesce(?18, '[]'), ?19, coalesce(?20, '[]'), coalesce(?21, '[]'), coalesce(?22, '[]'), \
    coalesce(?23, '[]'), ?24, ?25, ?26, ?27, ?28, ?29)";

/// Columns read back, in the order [`event_from_row`] expects.
const SELECT_COLS: &str = "event_id, event_type, severity, ts, user_id, session_id, ip_address, \
    user_agent, request_method, request_url, request_headers, request_body, response_status, \
    response_body, details, threat_level, risk_score, indicators, status, investigation_notes, \
    remediation_actions, compliance_tags, audit_trail, source, correlation_id, parent_event_id";

/// A list column's JSON, or NULL for an empty list: the insert stores `'[]'` for NULL
/// (`coalesce`), which spares SQLite copying a bound text for each empty list of a row.
fn list_json(v: &[String], field: &str) -> Result<Option<String>> {
    if v.is_empty() {
        Ok(None)
    } else {
        to_json(v, field).map(Some)
    }
}

/// Inserts `events` in one IMMEDIATE transaction; any failure rolls the whole batch back.
pub(crate) fn insert_events(conn: &mut Connection, events: &[SecurityEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db_err("begin insert", e))?;
    let mut counts = Counts::new();
    {
        let mut stmt = tx.prepare_cached(INSERT_SQL).map_err(|e| db_err("prepare insert", e))?;
        let mut ip_buf = IpText::default();
        let mut binder = RowBinder::new(29);
        for ev in index_order(events) {
            *counts.entry((ev.event_type.as_str(), ev.severity.as_str())).or_default() += 1;
            let ts = to_nanos(ev.timestamp, "timestamp")?;
            let timestamp = to_rfc3339(ev.timestamp, "timestamp")?;
            let headers =
                ev.request_headers.as_ref().map(|h| to_json(h, "request_headers")).transpose()?;
            // NULL for no details: the insert stores '{}' (see `list_json`).
            let details =
                if ev.details.is_empty() { None } else { Some(to_json(&ev.details, "details")?) };
            let ip_text = ev.ip_address.map(|ip| ip_text(ip, &mut ip_buf));
            let ip_blob = ev.ip_address.map(ip_bin);
            let indicators = list_json(&ev.indicators, "indicators")?;
            let investigation_notes = list_json(&ev.investigation_notes, "investigation_notes")?;
            let remediation_actions = list_json(&ev.remediation_actions, "remediation_actions")?;
            let compliance_tags = list_json(&ev.compliance_tags, "compliance_tags")?;
            let audit_trail = list_json(&ev.audit_trail, "audit_trail")?;
            // Parameters as in INSERT_SQL; the binder skips what the statement still holds.
            let res = (|| -> rusqlite::Result<usize> {
                let (b, st) = (&mut binder, &mut *stmt);
                b.value(st, 1, &ev.event_id)?;
                b.fixed(st, 2, ev.event_type.as_str())?;
                b.fixed(st, 3, ev.severity.as_str())?;
                b.value(st, 4, &timestamp)?;
                b.option(st, 5, ev.user_id.as_deref())?;
                b.option(st, 6, ev.session_id.as_deref())?;
                b.option(st, 7, ip_text)?;
                b.option(st, 8, ev.user_agent.as_deref())?;
                b.option(st, 9, ev.request_method.as_deref())?;
                b.option(st, 10, ev.request_url.as_deref())?;
                b.option(st, 11, headers.as_deref())?;
                b.option(st, 12, ev.request_body.as_deref())?;
                b.option(st, 13, ev.response_status)?;
                b.option(st, 14, ev.response_body.as_deref())?;
                b.option(st, 15, details.as_deref())?;
                b.option(st, 16, ev.threat_level.as_deref())?;
                b.option(st, 17, ev.risk_score)?;
                b.option(st, 18, indicators.as_deref())?;
                b.fixed(st, 19, ev.status.as_str())?;
                b.option(st, 20, investigation_notes.as_deref())?;
                b.option(st, 21, remediation_actions.as_deref())?;
                b.option(st, 22, compliance_tags.as_deref())?;
                b.option(st, 23, audit_trail.as_deref())?;
                b.option(st, 24, ev.source.as_deref())?;
                b.option(st, 25, ev.correlation_id.as_deref())?;
                b.option(st, 26, ev.parent_event_id.as_deref())?;
                b.value(st, 27, ts)?;
                b.option(st, 28, ip_blob.as_ref().map(IpBin::as_bytes))?;
                b.value(st, 29, ev.severity.rank())?;
                st.raw_execute()
            })();
            match res {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    let id: String = ev.event_id.chars().take(64).collect();
                    return Err(StoreError::Invalid(format!(
                        "duplicate event_id {id:?}; batch rolled back"
                    )));
                }
                Err(e) => return Err(db_err("insert event", e)),
            }
        }
    }
    add_counts(&tx, counts.iter().map(|(&(t, s), &n)| (t, s, n)))?;
    tx.commit().map_err(|e| db_err("commit events", e))
}

/// Fewest distinct users in a batch for [`index_order`] to group it: about as many 4 KiB leaf
/// pages as a 1 MiB CPU cache holds (fewer hot pages stay cached in arrival order anyway).
const GROUP_MIN_USERS: usize = 256;
/// Fewest events per distinct user, on average, for [`index_order`] to group a batch.
const GROUP_MIN_EVENTS_PER_USER: usize = 4;

/// The batch in the order its rows are inserted. Arrival order appends to the `event_id` and
/// `ts` indexes, and puts each row of the `(user_id, ts)` and `(ip_bin, ts)` indexes on the
/// leaf page of its user or address. When a batch holds many users (too many leaf pages to
/// stay in the CPU cache) with several events each, it is grouped by user, then address
/// (stable: a group keeps its arrival order): consecutive rows then share those leaf pages,
/// which pays more than the appends lose (server-shaped batches of 1,000 users: writer CPU
/// per event -15 to -20 %; the brute-force workload's batches, 137 users over 20,000
/// addresses, stay in arrival order: grouping them cost ~10 %; docs/benchmarks-store.md).
/// Nothing depends on rowid order.
fn index_order(events: &[SecurityEvent]) -> Vec<&SecurityEvent> {
    let mut order: Vec<&SecurityEvent> = events.iter().collect();
    let mut users: std::collections::HashSet<&str> = Default::default();
    for e in events {
        if let Some(u) = e.user_id.as_deref() {
            users.insert(u);
        }
    }
    let n = users.len();
    if n >= GROUP_MIN_USERS && events.len() >= n * GROUP_MIN_EVENTS_PER_USER {
        order.sort_by(|a, b| {
            (a.user_id.as_deref(), a.ip_address).cmp(&(b.user_id.as_deref(), b.ip_address))
        });
    }
    order
}

/// Events by (event_type, severity) name.
type Counts<'a> = std::collections::HashMap<(&'a str, &'a str), i64>;

/// Adds each `(event_type, severity, delta)` to `event_counts`, in the caller's transaction;
/// rows that reach zero are removed.
fn add_counts<'a>(
    conn: &Connection,
    deltas: impl IntoIterator<Item = (&'a str, &'a str, i64)>,
) -> Result<()> {
    let mut upsert = conn
        .prepare_cached(
            "INSERT INTO event_counts (event_type, severity, n) VALUES (?1, ?2, ?3) \
             ON CONFLICT (event_type, severity) DO UPDATE SET n = n + excluded.n",
        )
        .map_err(|e| db_err("count events", e))?;
    let mut any_negative = false;
    for (ty, sev, n) in deltas {
        any_negative |= n < 0;
        upsert.execute(params![ty, sev, n]).map_err(|e| db_err("count events", e))?;
    }
    if any_negative {
        conn.prepare_cached("DELETE FROM event_counts WHERE n <= 0")
            .and_then(|mut s| s.execute([]))
            .map_err(|e| db_err("count events", e))?;
    }
    Ok(())
}

/// Runs `delete` (a `DELETE ... RETURNING event_type, severity` with `params`) in its own
/// transaction together with the matching decrements of `event_counts`; returns rows deleted.
fn delete_counted(conn: &Connection, delete: &str, params: &[&dyn rusqlite::ToSql]) -> Result<u64> {
    let e = |e| db_err("purge events", e);
    let tx =
        rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(e)?;
    let mut gone: std::collections::HashMap<(String, String), i64> = Default::default();
    let mut deleted = 0u64;
    {
        let mut stmt = tx.prepare_cached(delete).map_err(e)?;
        let mut rows = stmt.query(params).map_err(e)?;
        while let Some(r) = rows.next().map_err(e)? {
            *gone.entry((r.get(0).map_err(e)?, r.get(1).map_err(e)?)).or_default() -= 1;
            deleted += 1;
        }
    }
    add_counts(&tx, gone.iter().map(|((t, s), &n)| (t.as_str(), s.as_str(), n)))?;
    tx.commit().map_err(e)?;
    Ok(deleted)
}

/// Decodes a row selected with [`SELECT_COLS`].
fn event_from_row(r: &Row<'_>) -> Result<SecurityEvent> {
    let g = |e| db_err("read event", e);
    let text = |i: usize| -> Result<Option<String>> { r.get::<_, Option<String>>(i).map_err(g) };
    let list = |i: usize, field: &str| -> Result<Vec<String>> {
        from_json(r.get_ref(i).map_err(g)?.as_str_or_null().map_err(|_| bad(field))?, field)
    };
    let event_type: String = r.get(1).map_err(g)?;
    let severity: String = r.get(2).map_err(g)?;
    let status: String = r.get(18).map_err(g)?;
    let response_status: Option<i64> = r.get(12).map_err(g)?;
    Ok(SecurityEvent {
        event_id: r.get(0).map_err(g)?,
        event_type: parse_name(&event_type, "event_type")?,
        severity: parse_name(&severity, "severity")?,
        timestamp: from_nanos(r.get(3).map_err(g)?)?,
        user_id: text(4)?,
        session_id: text(5)?,
        ip_address: text(6)?.as_deref().map(parse_ip).transpose()?,
        user_agent: text(7)?,
        request_method: text(8)?,
        request_url: text(9)?,
        request_headers: match text(10)? {
            None => None,
            Some(s) => Some(from_json(Some(&s), "request_headers")?),
        },
        request_body: text(11)?,
        response_status: response_status
            .map(|s| u16::try_from(s).map_err(|_| bad("response_status")))
            .transpose()?,
        response_body: text(13)?,
        details: from_json(text(14)?.as_deref(), "details")?,
        threat_level: text(15)?,
        risk_score: r.get(16).map_err(g)?,
        indicators: list(17, "indicators")?,
        status: parse_name(&status, "status")?,
        investigation_notes: list(19, "investigation_notes")?,
        remediation_actions: list(20, "remediation_actions")?,
        compliance_tags: list(21, "compliance_tags")?,
        audit_trail: list(22, "audit_trail")?,
        source: text(23)?,
        correlation_id: text(24)?,
        parent_event_id: text(25)?,
    })
}

fn bad(field: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {field} has the wrong type"))
}

/// One event by id.
pub(crate) fn get_event(conn: &Connection, event_id: &str) -> Result<Option<SecurityEvent>> {
    let sql = format!("SELECT {SELECT_COLS} FROM security_events WHERE event_id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| db_err("prepare get event", e))?;
    let mut rows = stmt.query([event_id]).map_err(|e| db_err("get event", e))?;
    match rows.next().map_err(|e| db_err("get event", e))? {
        Some(r) => event_from_row(r).map(Some),
        None => Ok(None),
    }
}

/// A WHERE clause (with `?` placeholders only) and its bound values.
struct Where {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Where {
    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

fn build_where(filter: &EventFilter) -> Where {
    let mut w = Where { clauses: Vec::new(), params: Vec::new() };
    let mut types: Vec<&str> = filter.event_types.iter().map(|t| t.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    if !types.is_empty() {
        w.clauses.push(format!("event_type IN ({})", vec!["?"; types.len()].join(", ")));
        w.params.extend(types.into_iter().map(|t| Value::Text(t.to_string())));
    }
    if let Some(s) = filter.min_severity {
        w.clauses.push("severity_rank >= ?".into());
        w.params.push(Value::Integer(i64::from(s.rank())));
    }
    if let Some(ip) = filter.ip_address {
        w.clauses.push("ip_bin = ?".into());
        w.params.push(Value::Blob(ip_bin(ip).as_bytes().to_vec()));
    }
    if let Some(net) = &filter.cidr {
        let (lo, hi) = cidr_range(net);
        // Keys of the other family can sort between the bounds: the length tells them apart.
        w.clauses.push("ip_bin BETWEEN ? AND ? AND length(ip_bin) = ?".into());
        w.params.push(Value::Blob(lo.as_bytes().to_vec()));
        w.params.push(Value::Blob(hi.as_bytes().to_vec()));
        w.params.push(Value::Integer(lo.as_bytes().len() as i64));
    }
    for (col, v) in [
        ("user_id", &filter.user_id),
        ("session_id", &filter.session_id),
        ("correlation_id", &filter.correlation_id),
        ("parent_event_id", &filter.parent_event_id),
    ] {
        if let Some(v) = v {
            w.clauses.push(format!("{col} = ?"));
            w.params.push(Value::Text(v.clone()));
        }
    }
    if let Some(s) = filter.status {
        w.clauses.push("status = ?".into());
        w.params.push(Value::Text(s.as_str().to_string()));
    }
    if let Some(t) = filter.start_time {
        w.clauses.push("ts >= ?".into());
        w.params.push(Value::Integer(to_nanos_clamped(t)));
    }
    if let Some(t) = filter.end_time {
        w.clauses.push("ts <= ?".into());
        w.params.push(Value::Integer(to_nanos_clamped(t)));
    }
    w
}

/// Checks a page size against `1..=MAX_PAGE_LIMIT`.
pub(crate) fn check_limit(limit: usize) -> Result<i64> {
    if limit == 0 || limit > MAX_PAGE_LIMIT {
        return Err(StoreError::Invalid(format!(
            "limit must be between 1 and {MAX_PAGE_LIMIT}, got {limit}"
        )));
    }
    i64::try_from(limit).map_err(|_| StoreError::Invalid("limit too large".into()))
}

/// Events matching `filter`, newest first, after `cursor`.
pub(crate) fn query_events(
    conn: &Connection,
    filter: &EventFilter,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<EventPage> {
    let limit_i = check_limit(limit)?;
    let mut w = build_where(filter);
    if let Some(c) = cursor {
        let ts = to_nanos_clamped(c.timestamp);
        w.clauses.push("ts <= ? AND (ts < ? OR event_id < ?)".into());
        w.params.push(Value::Integer(ts));
        w.params.push(Value::Integer(ts));
        w.params.push(Value::Text(c.event_id.clone()));
    }
    w.params.push(Value::Integer(limit_i + 1));
    let sql = format!(
        "SELECT {SELECT_COLS} FROM security_events{} ORDER BY ts DESC, event_id DESC LIMIT ?",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| db_err("prepare query", e))?;
    let mut rows =
        stmt.query(params_from_iter(w.params.iter())).map_err(|e| db_err("query events", e))?;
    let mut events = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    while let Some(r) = rows.next().map_err(|e| db_err("query events", e))? {
        if events.len() == limit {
            more = true;
            break;
        }
        events.push(event_from_row(r)?);
    }
    let next_cursor = if more { events.last().map(|e| Cursor::after(e).encode()) } else { None };
    Ok(EventPage { events, next_cursor })
}

/// Events matching `filter` in rowid order: the order of their commits, as each insert takes
/// a rowid above every committed one (see [`crate::Store::events_in_stored_order`]).
///
/// The newest rowid is read first and bounds the listing, so the position returned is exact
/// even though the two statements may see different snapshots: rows committed in between get
/// higher rowids and are left for the next call. SQLite reuses the highest rowid when its row
/// is deleted; only a purge of the newest-stored events can therefore hide an event stored
/// right after it from a follower.
pub(crate) fn in_stored_order(
    conn: &Connection,
    filter: &EventFilter,
    after: Option<u64>,
    limit: usize,
) -> Result<StoredPage> {
    let limit_i = check_limit(limit)?;
    let top: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(rowid), 0) FROM security_events")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(|e| db_err("read the newest position", e))?;
    let mut w = build_where(filter);
    w.clauses.push("rowid <= ?".into());
    w.params.push(Value::Integer(top));
    if let Some(a) = after {
        w.clauses.push("rowid > ?".into());
        w.params.push(Value::Integer(i64::try_from(a).unwrap_or(i64::MAX)));
    }
    w.params.push(Value::Integer(limit_i));
    let order = if after.is_some() { "ASC" } else { "DESC" };
    let sql = format!(
        "SELECT {SELECT_COLS}, rowid FROM security_events{} ORDER BY rowid {order} LIMIT ?",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| db_err("prepare stored order", e))?;
    let mut rows =
        stmt.query(params_from_iter(w.params.iter())).map_err(|e| db_err("query events", e))?;
    let mut events = Vec::with_capacity(limit.min(1024));
    let mut last = top;
    while let Some(r) = rows.next().map_err(|e| db_err("query events", e))? {
        // The rowid follows the SELECT_COLS columns.
        last = r.get(26).map_err(|e| db_err("read event", e))?;
        events.push(event_from_row(r)?);
    }
    let position = match after {
        Some(_) if events.len() == limit => last,
        Some(_) => top,
        None => {
            events.reverse();
            top
        }
    };
    Ok(StoredPage { events, position: u64::try_from(position).unwrap_or(0) })
}

/// Number of events matching `filter`.
pub(crate) fn count_events(conn: &Connection, filter: &EventFilter) -> Result<u64> {
    let w = build_where(filter);
    let sql = format!("SELECT COUNT(*) FROM security_events{}", w.sql());
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| db_err("prepare count", e))?;
    let n: i64 = stmt
        .query_row(params_from_iter(w.params.iter()), |r| r.get(0))
        .map_err(|e| db_err("count events", e))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes one chunk of events older than `cutoff_ns`; returns rows deleted.
pub(crate) fn purge_older_chunk(conn: &Connection, cutoff_ns: i64) -> Result<u64> {
    delete_counted(
        conn,
        "DELETE FROM security_events WHERE rowid IN \
         (SELECT rowid FROM security_events WHERE ts < ?1 ORDER BY ts LIMIT ?2) \
         RETURNING event_type, severity",
        params![cutoff_ns, PURGE_CHUNK],
    )
}

/// The newest event beyond the first `keep_max` (newest first), if any: everything at or
/// before it in (ts, event_id) order is to be deleted.
///
/// Never sorts the table (`ORDER BY ts DESC, event_id DESC ... OFFSET` did, on every
/// retention pass: seconds and a temporary B-tree of every row on millions of events): the
/// stored count answers "nothing to do", the `ts` index finds the boundary's timestamp, and
/// only the events sharing that timestamp are ordered by id.
pub(crate) fn keep_max_boundary(conn: &Connection, keep_max: u64) -> Result<Option<(i64, String)>> {
    let e = |e| db_err("purge events", e);
    let total: i64 = conn
        .query_row("SELECT COALESCE(SUM(n), 0) FROM event_counts", [], |r| r.get(0))
        .map_err(e)?;
    if u64::try_from(total).unwrap_or(0) <= keep_max {
        return Ok(None);
    }
    let offset = i64::try_from(keep_max).unwrap_or(i64::MAX);
    let ts: Option<i64> = conn
        .prepare_cached("SELECT ts FROM security_events ORDER BY ts DESC LIMIT 1 OFFSET ?1")
        .and_then(|mut s| s.query_row([offset], |r| r.get(0)).optional())
        .map_err(e)?;
    let Some(ts) = ts else { return Ok(None) };
    let newer: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM security_events WHERE ts > ?1")
        .and_then(|mut s| s.query_row([ts], |r| r.get(0)))
        .map_err(e)?;
    let id: Option<String> = conn
        .prepare_cached(
            "SELECT event_id FROM security_events WHERE ts = ?1 \
             ORDER BY event_id DESC LIMIT 1 OFFSET ?2",
        )
        .and_then(|mut s| s.query_row(params![ts, offset - newer], |r| r.get(0)).optional())
        .map_err(e)?;
    Ok(id.map(|id| (ts, id)))
}

/// Deletes one chunk of events at or before `(ts, event_id)`; returns rows deleted.
pub(crate) fn purge_upto_chunk(conn: &Connection, ts: i64, event_id: &str) -> Result<u64> {
    delete_counted(
        conn,
        "DELETE FROM security_events WHERE rowid IN \
         (SELECT rowid FROM security_events WHERE ts <= ?1 AND (ts < ?1 OR event_id <= ?2) \
          ORDER BY ts LIMIT ?3) RETURNING event_type, severity",
        params![ts, event_id, PURGE_CHUNK],
    )
}

/// Converts a purge cutoff.
pub(crate) fn cutoff(older_than: OffsetDateTime) -> i64 {
    to_nanos_clamped(older_than)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use seclog_core::EventType;

    fn batch(users: usize, per_user: usize) -> Vec<SecurityEvent> {
        let t = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        (0..users * per_user)
            .map(|i| {
                let mut e = SecurityEvent::new(format!("e{i:06}"), EventType::ApiAccess, t);
                e.user_id = Some(format!("u{}", (i * 7919) % users));
                e.ip_address = Some(std::net::IpAddr::from([10, 0, (i % 3) as u8, 1]));
                e
            })
            .collect()
    }

    fn ids(order: &[&SecurityEvent]) -> Vec<String> {
        order.iter().map(|e| e.event_id.clone()).collect()
    }

    #[test]
    fn many_users_with_several_events_each_are_grouped_keeping_arrival_order_inside() {
        let events = batch(GROUP_MIN_USERS, GROUP_MIN_EVENTS_PER_USER);
        let order = index_order(&events);
        assert_eq!(order.len(), events.len());
        let keys: Vec<_> = order.iter().map(|e| (e.user_id.clone(), e.ip_address)).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "grouped by user, then address");
        for w in order.windows(2) {
            if (&w[0].user_id, w[0].ip_address) == (&w[1].user_id, w[1].ip_address) {
                assert!(w[0].event_id < w[1].event_id, "arrival order inside a group");
            }
        }
    }

    #[test]
    fn few_users_or_few_events_per_user_keep_arrival_order() {
        for events in [
            batch(GROUP_MIN_USERS - 1, 50),
            batch(GROUP_MIN_USERS * 2, GROUP_MIN_EVENTS_PER_USER - 1),
        ] {
            let arrival: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
            assert_eq!(ids(&index_order(&events)), arrival);
        }
    }
}
