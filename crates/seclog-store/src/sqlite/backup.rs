//! Online backups with SQLite's backup API.
//!
//! The copy is made in one step inside one read transaction of the source, so it is one
//! consistent snapshot of the database (every transaction committed before it started, none
//! after) while writers go on committing (WAL mode: readers never block writers). It is
//! written to a file beside the destination and renamed onto it once complete, so the
//! destination never holds a partial copy.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::Connection;

use super::error::db_err;
use crate::{Result, StoreError};

/// Copies the database of `src` into the new file `dest`, waiting at most `busy_timeout` for
/// locks held by other connections.
pub(super) fn to_file(src: &Connection, dest: &Path, busy_timeout: Duration) -> Result<()> {
    if dest.exists() {
        return Err(StoreError::Invalid("the backup destination already exists".into()));
    }
    let partial = partial_path(dest)?;
    remove_if_present(&partial)?;
    let result = copy(src, &partial, busy_timeout).and_then(|()| {
        std::fs::rename(&partial, dest)
            .map_err(|e| StoreError::Database(format!("move the backup into place: {e}")))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Best effort: makes the rename itself durable.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn copy(src: &Connection, path: &Path, busy_timeout: Duration) -> Result<()> {
    let mut dst = Connection::open(path).map_err(|e| db_err("open the backup file", e))?;
    {
        let backup = Backup::new(src, &mut dst).map_err(|e| db_err("start the backup", e))?;
        let deadline = Instant::now() + busy_timeout;
        loop {
            // -1: every page in one step, hence one read transaction and one snapshot.
            match backup.step(-1).map_err(|e| db_err("copy the database", e))? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    if Instant::now() >= deadline {
                        return Err(StoreError::Database(
                            "copy the database: the database stays locked".into(),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    return Err(StoreError::Database("copy the database: unexpected state".into()))
                }
            }
        }
    }
    dst.close().map_err(|(_, e)| db_err("close the backup file", e))
}

/// `dest` with `.partial` appended to its file name.
fn partial_path(dest: &Path) -> Result<PathBuf> {
    let name = dest
        .file_name()
        .ok_or_else(|| StoreError::Invalid("the backup destination names no file".into()))?;
    let mut partial = name.to_os_string();
    partial.push(".partial");
    Ok(dest.with_file_name(partial))
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Database(format!("remove a partial backup: {e}"))),
    }
}
