//! The statistics object.

use std::collections::BTreeMap;

use rusqlite::Connection;
use seclog_core::{NamedCount, Statistics};
use time::{Duration, OffsetDateTime};

use super::codec::{ip_from_bin, to_nanos_clamped};
use super::error::db_err;
use crate::Result;

fn count(conn: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(sql)
        .and_then(|mut s| s.query_row(p, |r| r.get(0)))
        .map_err(|e| db_err("statistics", e))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn grouped(conn: &Connection, sql: &str) -> Result<BTreeMap<String, u64>> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| db_err("statistics", e))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(|e| db_err("statistics", e))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (k, n) = row.map_err(|e| db_err("statistics", e))?;
        out.insert(k, u64::try_from(n).unwrap_or(0));
    }
    Ok(out)
}

/// Computes the statistics inside one read transaction (a consistent snapshot).
pub(crate) fn statistics(conn: &Connection, now: OffsetDateTime) -> Result<Statistics> {
    let tx = conn.unchecked_transaction().map_err(|e| db_err("statistics", e))?;
    let now_ns = to_nanos_clamped(now);
    let from_ns = to_nanos_clamped(now - Duration::hours(24));
    // Counts by type and severity come from `event_counts`, kept by inserts and purges.
    let total_events = count(&tx, "SELECT COALESCE(SUM(n), 0) FROM event_counts", &[])?;
    let recent_activity_24h = count(
        &tx,
        "SELECT COUNT(*) FROM security_events WHERE ts BETWEEN ?1 AND ?2",
        &[&from_ns, &now_ns],
    )?;
    let blocked_ips = count(&tx, "SELECT COUNT(*) FROM suspicious_ips WHERE blocked", &[])?;
    let suspicious_ips = count(&tx, "SELECT COUNT(*) FROM suspicious_ips", &[])?;
    let events_by_type =
        grouped(&tx, "SELECT event_type, SUM(n) FROM event_counts GROUP BY event_type")?;
    let events_by_severity =
        grouped(&tx, "SELECT severity, SUM(n) FROM event_counts GROUP BY severity")?;
    let alerts_by_status =
        grouped(&tx, "SELECT status, COUNT(*) FROM security_alerts GROUP BY status")?;
    let mut top_ips = Vec::new();
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT ip_bin, COUNT(*) AS n FROM security_events WHERE ip_bin IS NOT NULL \
                 GROUP BY ip_bin ORDER BY n DESC, ip_bin LIMIT 10",
            )
            .map_err(|e| db_err("statistics", e))?;
        let mut rows = stmt.query([]).map_err(|e| db_err("statistics", e))?;
        while let Some(r) = rows.next().map_err(|e| db_err("statistics", e))? {
            let bin: Vec<u8> = r.get(0).map_err(|e| db_err("statistics", e))?;
            let n: i64 = r.get(1).map_err(|e| db_err("statistics", e))?;
            top_ips.push(NamedCount {
                name: ip_from_bin(&bin)?.to_string(),
                count: u64::try_from(n).unwrap_or(0),
            });
        }
    }
    tx.commit().map_err(|e| db_err("statistics", e))?;
    Ok(Statistics {
        total_events,
        recent_activity_24h,
        blocked_ips,
        events_by_type,
        events_by_severity,
        top_ips,
        alerts_by_status,
        suspicious_ips,
        events_dropped: 0,
    })
}
