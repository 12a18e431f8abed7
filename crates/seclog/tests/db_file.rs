#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The database file alone holds every event after a clean close (the last clone dropped, or
//! `close`), and `backup` copies what was logged before it.

use std::path::{Path, PathBuf};

use seclog::{log_auth_attempt, Config, SecurityLogger};

fn logger(db: &Path) -> SecurityLogger {
    SecurityLogger::new(Config { db_file: db.to_path_buf(), ..Config::default() }).unwrap()
}

fn log_many(logger: &SecurityLogger, n: usize) {
    for i in 0..n {
        let ip = format!("198.51.100.{}", i % 200);
        log_auth_attempt(logger, &format!("user{i}"), true, Some(&ip), None, None).unwrap();
    }
}

/// Copies the database file alone (not its `-wal` / `-shm`) into `dir`.
fn copy_alone(db: &Path, dir: &tempfile::TempDir) -> PathBuf {
    let copy = dir.path().join("copy.db");
    std::fs::copy(db, &copy).unwrap();
    copy
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
fn dropping_the_last_logger_leaves_every_event_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let first = logger(&db);
    let second = first.clone();
    log_many(&first, 2000);
    drop(first);
    log_many(&second, 500);
    drop(second);
    let out = tempfile::tempdir().unwrap();
    assert_eq!(events_in(&copy_alone(&db, &out)), 2500);
}

#[test]
fn close_leaves_every_event_in_the_database_file_while_the_logger_lives() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let logger = logger(&db);
    log_many(&logger, 1500);
    logger.close();
    let out = tempfile::tempdir().unwrap();
    assert_eq!(events_in(&copy_alone(&db, &out)), 1500);
}

#[test]
fn a_backup_holds_what_was_logged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let logger = logger(&dir.path().join("events.db"));
    log_many(&logger, 700);
    let dest = dir.path().join("backup.db");
    logger.backup(&dest).unwrap();
    assert_eq!(events_in(&dest), 700);
    assert!(logger.backup(&dest).is_err(), "an existing file is never overwritten");
}
