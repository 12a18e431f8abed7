//! Alerts and suspicious IPs.

use rusqlite::{params, Connection, Row, TransactionBehavior};
use seclog_core::{AlertStatus, SecurityAlert, SuspiciousIp};

use super::codec::{from_json, from_rfc3339, parse_ip, parse_name, to_json, to_nanos, to_rfc3339};
use super::error::{db_err, is_unique_violation};
use super::events::check_limit;
use crate::{Result, StoreError};

const ALERT_COLS: &str = "alert_id, title, description, severity, timestamp, event_ids, \
    threat_indicators, recommended_actions, status, acknowledged_by, acknowledged_at, \
    resolved_by, resolved_at, rule, alert_key, resolution, history";

fn opt_time(t: Option<time::OffsetDateTime>, field: &str) -> Result<Option<String>> {
    t.map(|t| to_rfc3339(t, field)).transpose()
}

/// Stores a new alert; a duplicate id is [`StoreError::Invalid`].
pub(crate) fn insert_alert(conn: &Connection, a: &SecurityAlert) -> Result<()> {
    let res = conn
        .prepare_cached(
            "INSERT INTO security_alerts (alert_id, title, description, severity, timestamp, \
             event_ids, threat_indicators, recommended_actions, status, acknowledged_by, \
             acknowledged_at, resolved_by, resolved_at, rule, alert_key, resolution, history, ts) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18)",
        )
        .and_then(|mut s| {
            s.execute(params![
                a.alert_id,
                a.title,
                a.description,
                a.severity.as_str(),
                to_rfc3339(a.timestamp, "timestamp").map_err(to_sql_err)?,
                to_json(&a.event_ids, "event_ids").map_err(to_sql_err)?,
                to_json(&a.threat_indicators, "threat_indicators").map_err(to_sql_err)?,
                to_json(&a.recommended_actions, "recommended_actions").map_err(to_sql_err)?,
                a.status.as_str(),
                a.acknowledged_by,
                opt_time(a.acknowledged_at, "acknowledged_at").map_err(to_sql_err)?,
                a.resolved_by,
                opt_time(a.resolved_at, "resolved_at").map_err(to_sql_err)?,
                a.rule,
                a.key,
                a.resolution.map(|r| r.as_str()),
                to_json(&a.history, "history").map_err(to_sql_err)?,
                to_nanos(a.timestamp, "timestamp").map_err(to_sql_err)?,
            ])
        });
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::Invalid(format!("duplicate alert_id {:?}", a.alert_id)))
        }
        Err(e) => Err(from_sql_err("insert alert", e)),
    }
}

/// Carries a [`StoreError`] through a rusqlite closure.
fn to_sql_err(e: StoreError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn from_sql_err(context: &str, e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::ToSqlConversionFailure(inner) => match inner.downcast::<StoreError>() {
            Ok(se) => *se,
            Err(_) => StoreError::Invalid(format!("{context}: value could not be stored")),
        },
        other => db_err(context, other),
    }
}

/// Replaces the mutable part of an existing alert.
pub(crate) fn update_alert(conn: &Connection, a: &SecurityAlert) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE security_alerts SET status = ?2, acknowledged_by = ?3, acknowledged_at = ?4, \
             resolved_by = ?5, resolved_at = ?6, resolution = ?7, history = ?8 \
             WHERE alert_id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                a.alert_id,
                a.status.as_str(),
                a.acknowledged_by,
                opt_time(a.acknowledged_at, "acknowledged_at").map_err(to_sql_err)?,
                a.resolved_by,
                opt_time(a.resolved_at, "resolved_at").map_err(to_sql_err)?,
                a.resolution.map(|r| r.as_str()),
                to_json(&a.history, "history").map_err(to_sql_err)?,
            ])
        })
        .map_err(|e| from_sql_err("update alert", e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("alert {:?}", a.alert_id)));
    }
    Ok(())
}

fn alert_from_row(r: &Row<'_>) -> Result<SecurityAlert> {
    let g = |e| db_err("read alert", e);
    let text = |i: usize| -> Result<Option<String>> { r.get::<_, Option<String>>(i).map_err(g) };
    let req = |i: usize| -> Result<String> { r.get::<_, String>(i).map_err(g) };
    let time = |i: usize, f: &str| -> Result<Option<time::OffsetDateTime>> {
        text(i)?.map(|s| from_rfc3339(&s, f)).transpose()
    };
    Ok(SecurityAlert {
        alert_id: req(0)?,
        title: req(1)?,
        description: req(2)?,
        severity: parse_name(&req(3)?, "severity")?,
        timestamp: from_rfc3339(&req(4)?, "timestamp")?,
        event_ids: from_json(text(5)?.as_deref(), "event_ids")?,
        threat_indicators: from_json(text(6)?.as_deref(), "threat_indicators")?,
        recommended_actions: from_json(text(7)?.as_deref(), "recommended_actions")?,
        status: parse_name(&req(8)?, "status")?,
        acknowledged_by: text(9)?,
        acknowledged_at: time(10, "acknowledged_at")?,
        resolved_by: text(11)?,
        resolved_at: time(12, "resolved_at")?,
        rule: text(13)?,
        key: text(14)?,
        resolution: text(15)?.map(|s| parse_name(&s, "resolution")).transpose()?,
        history: from_json(text(16)?.as_deref(), "history")?,
    })
}

/// One alert by id.
pub(crate) fn get_alert(conn: &Connection, alert_id: &str) -> Result<Option<SecurityAlert>> {
    let sql = format!("SELECT {ALERT_COLS} FROM security_alerts WHERE alert_id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| db_err("prepare get alert", e))?;
    let mut rows = stmt.query([alert_id]).map_err(|e| db_err("get alert", e))?;
    match rows.next().map_err(|e| db_err("get alert", e))? {
        Some(r) => alert_from_row(r).map(Some),
        None => Ok(None),
    }
}

/// Alerts newest first, optionally of one status.
pub(crate) fn list_alerts(
    conn: &Connection,
    status: Option<AlertStatus>,
    limit: usize,
) -> Result<Vec<SecurityAlert>> {
    let limit = check_limit(limit)?;
    let sql = format!(
        "SELECT {ALERT_COLS} FROM security_alerts WHERE (?1 IS NULL OR status = ?1) \
         ORDER BY ts DESC, alert_id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(|e| db_err("prepare list alerts", e))?;
    let mut rows = stmt
        .query(params![status.map(|s| s.as_str()), limit])
        .map_err(|e| db_err("list alerts", e))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| db_err("list alerts", e))? {
        out.push(alert_from_row(r)?);
    }
    Ok(out)
}

/// Inserts or replaces suspicious-IP rows in one transaction.
pub(crate) fn upsert_suspicious_ips(conn: &mut Connection, rows: &[SuspiciousIp]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db_err("begin upsert", e))?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO suspicious_ips (ip_address, threat_level, first_seen, last_seen, \
                 event_count, blocked, last_seen_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (ip_address) DO UPDATE SET threat_level = excluded.threat_level, \
                 first_seen = excluded.first_seen, last_seen = excluded.last_seen, \
                 event_count = excluded.event_count, blocked = excluded.blocked, \
                 last_seen_ts = excluded.last_seen_ts",
            )
            .map_err(|e| db_err("prepare upsert", e))?;
        for row in rows {
            let count = i64::try_from(row.event_count)
                .map_err(|_| StoreError::Invalid("event_count too large".into()))?;
            stmt.execute(params![
                row.ip_address.to_string(),
                row.threat_level,
                to_rfc3339(row.first_seen, "first_seen")?,
                to_rfc3339(row.last_seen, "last_seen")?,
                count,
                row.blocked,
                to_nanos(row.last_seen, "last_seen")?,
            ])
            .map_err(|e| db_err("upsert suspicious ip", e))?;
        }
    }
    tx.commit().map_err(|e| db_err("commit upsert", e))
}

/// Suspicious IPs, most recently seen first.
pub(crate) fn list_suspicious_ips(
    conn: &Connection,
    blocked_only: bool,
    limit: usize,
) -> Result<Vec<SuspiciousIp>> {
    let limit = check_limit(limit)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT ip_address, threat_level, first_seen, last_seen, event_count, blocked \
             FROM suspicious_ips WHERE (?1 = 0 OR blocked) \
             ORDER BY last_seen_ts DESC, ip_address LIMIT ?2",
        )
        .map_err(|e| db_err("prepare list ips", e))?;
    let mut rows =
        stmt.query(params![blocked_only, limit]).map_err(|e| db_err("list suspicious ips", e))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| db_err("list suspicious ips", e))? {
        let g = |e| db_err("read suspicious ip", e);
        let ip: String = r.get(0).map_err(g)?;
        let first: String = r.get(2).map_err(g)?;
        let last: String = r.get(3).map_err(g)?;
        let count: i64 = r.get(4).map_err(g)?;
        out.push(SuspiciousIp {
            ip_address: parse_ip(&ip)?,
            threat_level: r.get(1).map_err(g)?,
            first_seen: from_rfc3339(&first, "first_seen")?,
            last_seen: from_rfc3339(&last, "last_seen")?,
            event_count: u64::try_from(count)
                .map_err(|_| StoreError::Corrupt("negative event_count".into()))?,
            blocked: r.get(5).map_err(g)?,
        });
    }
    Ok(out)
}
