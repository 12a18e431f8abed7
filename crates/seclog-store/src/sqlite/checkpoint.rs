//! Checkpoints in a background thread.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that grows the WAL past the
//! threshold, on the committing connection: the writer thread would copy pages into the
//! database file and wait for its `fsync`. Here a WAL hook on the write connection only
//! signals (never waits) a thread with its own connection, which runs a `PASSIVE` checkpoint
//! while the writer goes on committing (a checkpoint never blocks the writer in WAL mode).
//! The WAL restarts from its beginning only after a checkpoint that copied all of it, which a
//! background checkpoint racing a busy writer seldom achieves; so at [`BACKSTOP`] times the
//! threshold the writer checkpoints itself, copying only what the thread has not copied yet.

use std::path::Path;
use std::thread::JoinHandle;

use rusqlite::Connection;
use std::sync::mpsc::{sync_channel, Receiver};

use super::error::db_err;
use super::{configure, SqliteOptions};
use crate::Result;

/// Starts the checkpoint thread for the database at `path` and installs the hook on
/// `writer` that wakes it whenever the WAL holds at least `opts.wal_autocheckpoint_pages`
/// pages after a commit. The thread ends once the hook is removed (or the writer closed).
pub(super) fn start(
    writer: &mut Connection,
    path: &Path,
    opts: &SqliteOptions,
) -> Result<JoinHandle<()>> {
    let conn = Connection::open(path).map_err(|e| db_err("open checkpoint connection", e))?;
    configure(&conn, opts)?;
    let (tx, rx) = sync_channel::<()>(1);
    let avoid = opts.avoid_cpu;
    let handle = std::thread::Builder::new()
        .name("seclog-checkpoint".into())
        .spawn(move || {
            if let Some(cpu) = avoid {
                // Best effort: the thread works either way.
                let _ = crate::affinity::avoid_cpu_current_thread(cpu);
            }
            run(&conn, &rx)
        })
        .map_err(|e| crate::StoreError::Database(format!("start checkpoint thread: {e}")))?;
    let threshold = i32::try_from(opts.wal_autocheckpoint_pages.max(1)).unwrap_or(i32::MAX);
    let backstop = threshold.saturating_mul(BACKSTOP);
    writer
        .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
            if pages >= backstop {
                // Under sustained writes the background checkpoint seldom catches up with the
                // end of the WAL, and only a complete checkpoint lets the next transaction
                // restart the WAL from its beginning. This one copies what the thread has not
                // copied yet, so the WAL stays bounded. Its failure (the thread holds the
                // checkpoint lock) must not fail the commit, which is done: the next commit
                // tries again.
                let _ = wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE);
            } else if pages >= threshold {
                // A wake-up already pending is enough: never wait here.
                let _ = tx.try_send(());
            }
            Ok(())
        }))
        .map_err(|e| db_err("install WAL hook", e))?;
    Ok(handle)
}

/// The writer checkpoints itself when the WAL reaches this many times the threshold.
const BACKSTOP: i32 = 16;

/// Removes the hook from `writer`, which ends the thread, and waits for it.
pub(super) fn stop(writer: &mut Connection, handle: JoinHandle<()>) {
    let none: Option<fn(&mut rusqlite::hooks::Wal, i32) -> rusqlite::Result<()>> = None;
    if writer.wal_hook(none).is_ok() {
        let _ = handle.join();
    } // else the thread ends when the writer closes
}

fn run(conn: &Connection, rx: &Receiver<()>) {
    while rx.recv().is_ok() {
        // A failure (the database busy) is retried at the next wake-up; the backstop in the
        // hook bounds the WAL meanwhile.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}
