//! The database file on its own: complete after a clean close or a checkpoint (no committed
//! data left only in the WAL), and online backups that are consistent snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};
use seclog_core::EventFilter;
use seclog_store::conformance::data;
use seclog_store::{SqliteStore, Store, StoreError};
use tempfile::TempDir;

/// Copies the database file alone (not its `-wal` / `-shm`) into a new directory.
fn copy_db_file_alone(db: &Path) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new().unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(db, &copy).unwrap();
    (dir, copy)
}

/// Events in the `security_events` table of the file at `path`, read with plain SQLite.
fn events_in(path: &Path) -> Result<i64, rusqlite::Error> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.query_row("SELECT count(*) FROM security_events", [], |r| r.get(0))
}

#[test]
fn dropping_the_store_leaves_every_event_in_the_database_file() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("seclog.db");
    {
        let store = SqliteStore::open(&db).unwrap();
        for chunk in data::dataset(3000, 11).chunks(500) {
            store.insert_events(chunk).unwrap();
        }
    }
    let wal = dir.path().join("seclog.db-wal");
    assert!(std::fs::metadata(&wal).map_or(true, |m| m.len() == 0), "WAL left with data");
    let (_keep, copy) = copy_db_file_alone(&db);
    assert_eq!(events_in(&copy).unwrap(), 3000);
}

#[test]
fn checkpoint_completes_the_database_file_while_the_store_stays_open() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("seclog.db");
    let store = SqliteStore::open(&db).unwrap();
    store.insert_events(&data::dataset(1000, 12)).unwrap();
    // A reader that has queried before (its connection stays open) does not stop it.
    assert_eq!(store.count_events(&EventFilter::default()).unwrap(), 1000);
    assert!(store.checkpoint().unwrap(), "the checkpoint completes");
    assert_eq!(std::fs::metadata(dir.path().join("seclog.db-wal")).unwrap().len(), 0);
    let (_keep, copy) = copy_db_file_alone(&db);
    assert_eq!(events_in(&copy).unwrap(), 1000);
    // The store goes on working after it.
    store.insert_events(&data::dataset(10, 13)).unwrap();
    assert_eq!(store.count_events(&EventFilter::default()).unwrap(), 1010);
}

#[test]
fn a_backup_taken_during_inserts_is_one_consistent_snapshot() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("seclog.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let events = data::dataset(20_000, 14);
    store.insert_events(&events[..2000]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        let rest = events[2000..].to_vec();
        std::thread::spawn(move || {
            for chunk in rest.chunks(100) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                store.insert_events(chunk).unwrap();
            }
        })
    };
    let dest = dir.path().join("backup.db");
    store.backup(&dest).unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    // Whole transactions only (2000, then batches of 100), at least those before the backup.
    let n = events_in(&dest).unwrap();
    assert!(n >= 2000 && n % 100 == 0, "{n} events in the backup");
    assert!(!dir.path().join("backup.db.partial").exists());
    // The backup is a complete database on its own: seclog opens it.
    let restored = SqliteStore::open(&dest).unwrap();
    assert_eq!(restored.count_events(&EventFilter::default()).unwrap(), n as u64);
}

#[test]
fn a_backup_never_overwrites_a_file() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(dir.path().join("seclog.db")).unwrap();
    let dest = dir.path().join("existing.db");
    std::fs::write(&dest, b"keep me").unwrap();
    assert!(matches!(store.backup(&dest), Err(StoreError::Invalid(_))));
    assert_eq!(std::fs::read(&dest).unwrap(), b"keep me");
}

#[test]
fn an_in_memory_store_backs_up_too() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open_in_memory().unwrap();
    store.insert_events(&data::dataset(50, 15)).unwrap();
    let dest = dir.path().join("mem.db");
    store.backup(&dest).unwrap();
    assert_eq!(events_in(&dest).unwrap(), 50);
}
