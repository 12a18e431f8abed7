//! The database file on its own: after every kind of clean close (the end of a CLI command,
//! SIGTERM or SIGINT of `seclog serve`) a copy of the `.db` file alone, without its `-wal`
//! and `-shm`, holds every event; the WAL stays below `wal_max_bytes` during an import; and
//! `seclog backup` copies a database that `seclog serve` is writing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::common::{bin, client, Server};

fn seclog(db: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("--db").arg(db);
    for v in ["SECLOG_CONFIG", "SECLOG_DB", "SECLOG_SERVER", "SECLOG_API_KEY"] {
        c.env_remove(v);
    }
    c
}

/// `n` events as JSON lines in `dir/events.jsonl` (distinct users and addresses; no rule
/// fires on `api_access`).
fn events_file(dir: &Path, n: usize) -> PathBuf {
    let mut text = String::with_capacity(n * 160);
    for i in 0..n {
        let line = json!({
            "event_type": "api_access",
            "user_id": format!("user{}", i % 5000),
            "ip_address": format!("10.{}.{}.{}", i % 7, (i / 7) % 250, i % 250),
            "request_url": format!("/api/items/{i}"),
            "details": {"n": i},
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let path = dir.join("events.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

/// Copies the database file alone (not its `-wal` / `-shm`) into a new directory.
fn copy_alone(db: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(db, &copy).unwrap();
    (dir, copy)
}

/// Events in the `security_events` table of the file at `path`, read with plain SQLite.
fn events_in(path: &Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row("SELECT count(*) FROM security_events", [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("the database file alone: {e}"))
}

#[test]
fn after_an_import_the_database_file_alone_holds_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let file = events_file(dir.path(), 20_000);
    let out = seclog(&db).args(["import", "--quiet"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_keep, copy) = copy_alone(&db);
    assert_eq!(events_in(&copy), 20_000);
}

/// Posts `n` events in batches of 500 to a fresh server, stops it with `signal`, and
/// returns the database.
fn serve_ingest_then_stop(dir: &Path, n: usize, signal: &str) -> PathBuf {
    let db = dir.join("s.db");
    let s = Server::start(&db);
    let c = client();
    let mut i = 0;
    while i < n {
        let batch: Vec<_> = (i..(i + 500).min(n))
            .map(|k| json!({"event_type": "api_access", "user_id": format!("u{k}")}))
            .collect();
        let r = c
            .post(s.url("/v1/events/batch"))
            .header("X-Api-Key", s.key())
            .json(&batch)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().unwrap());
        i += batch.len();
    }
    assert!(s.signal(signal).success(), "seclog serve exits 0 on {signal}");
    db
}

#[test]
fn after_sigterm_of_serve_the_database_file_alone_holds_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = serve_ingest_then_stop(dir.path(), 3000, "-TERM");
    let (_keep, copy) = copy_alone(&db);
    assert_eq!(events_in(&copy), 3000);
}

#[test]
fn after_sigint_of_serve_the_database_file_alone_holds_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = serve_ingest_then_stop(dir.path(), 3000, "-INT");
    let (_keep, copy) = copy_alone(&db);
    assert_eq!(events_in(&copy), 3000);
}

#[test]
fn the_wal_stays_below_its_bound_during_an_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let wal = dir.path().join("w.db-wal");
    let file = events_file(dir.path(), 80_000);
    let bound: u64 = 2 << 20;
    let mut child = seclog(&db)
        .env("SECLOG_WAL_MAX_BYTES", bound.to_string())
        .args(["import", "--quiet"])
        .arg(&file)
        .spawn()
        .unwrap();
    let mut largest = 0;
    let status = loop {
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(status.success());
    assert_eq!(events_in(&db), 80_000);
    assert!(largest > 0, "the WAL was never seen");
    assert!(largest < bound, "the WAL grew to {largest} bytes, over its bound of {bound}");
}

#[test]
fn a_backup_taken_while_serve_ingests_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let s = Server::start(&db);
    let committed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ingest = {
        let (url, key) = (s.url("/v1/events/batch"), s.key().to_string());
        let (committed, stop) = (committed.clone(), stop.clone());
        std::thread::spawn(move || {
            let c = client();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<_> = (0..200)
                    .map(|k| json!({"event_type": "api_access", "user_id": format!("u{n}-{k}")}))
                    .collect();
                let r = c.post(&url).header("X-Api-Key", &key).json(&batch).send().unwrap();
                assert!(r.status().is_success());
                n += 1;
                committed.store(n * 200, Ordering::SeqCst);
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 4000 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = committed.load(Ordering::SeqCst);
    let dest = dir.path().join("backup.db");
    let out = seclog(&db).arg("backup").arg(&dest).output().unwrap();
    let after = committed.load(Ordering::SeqCst);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(after > before, "the server kept ingesting during the backup");
    stop.store(true, Ordering::Relaxed);
    ingest.join().unwrap();

    // The backup alone is a sound database holding whole batches, at least those committed
    // before it started.
    let (_keep, copy) = copy_alone(&dest);
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let n = events_in(&copy);
    assert!(n as u64 >= before && n % 200 == 0, "{n} events; {before} committed before");
    // And seclog reads it.
    let out = seclog(&copy).args(["stats", "--format", "json"]).output().unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["total_events"], n);
}

#[test]
fn backup_refuses_an_existing_destination_and_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let out = seclog(&db).arg("backup").arg(dir.path().join("b.db")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database file"));
    assert!(!db.exists(), "no database is created for a backup");
    let file = events_file(dir.path(), 10);
    assert!(seclog(&db).args(["import", "--quiet"]).arg(&file).status().unwrap().success());
    let dest = dir.path().join("taken.db");
    std::fs::write(&dest, "keep").unwrap();
    let out = seclog(&db).arg("backup").arg(&dest).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "keep");
}
