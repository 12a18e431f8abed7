//! Checkpoints: in a background thread while writing, and a complete one at close.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that grows the WAL past the
//! threshold, on the committing connection: the writer thread would copy pages into the
//! database file and wait for its `fsync`. Here a WAL hook on the write connection only
//! signals (never waits) a thread with its own connection, which runs a `PASSIVE` checkpoint
//! while the writer goes on committing (a checkpoint never blocks the writer in WAL mode).
//! The WAL restarts from its beginning only after a checkpoint that copied all of it, which a
//! background checkpoint racing a busy writer seldom achieves; so at [`WalLimits::writer`]
//! pages the writer checkpoints itself, copying only what the thread has not copied yet, and
//! the WAL stays bounded.
//!
//! [`truncate`] is the checkpoint of a clean close: it copies the whole WAL into the database
//! file and truncates the WAL to zero bytes, so the database file alone holds every commit.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::Connection;
use std::sync::mpsc::{sync_channel, Receiver};

use super::error::db_err;
use super::{configure, SqliteOptions};
use crate::Result;

/// The WAL sizes, in frames (pages), at which checkpoints run, from
/// [`SqliteOptions::wal_max_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WalLimits {
    /// The background thread (or, without it, SQLite's automatic checkpoint) starts here: a
    /// quarter of the limit.
    pub(super) background: u32,
    /// The writer checkpoints itself here: half of the limit, so that the WAL file stays
    /// below the limit while a transaction is smaller than the other half.
    pub(super) writer: u32,
}

impl WalLimits {
    /// The limits for a WAL of at most `max_bytes` with pages of `page_size` bytes.
    pub(super) fn new(max_bytes: u64, page_size: u64) -> Self {
        // A frame is a 24-byte header and a page.
        let frames = max_bytes / (page_size.max(512) + 24);
        let frames = u32::try_from(frames).unwrap_or(u32::MAX).max(8);
        WalLimits { background: frames / 4, writer: frames / 2 }
    }
}

/// Frames per event assumed before the first insert: a row and its index entries, each on a
/// page of its own.
const FIRST_GUESS_FRAMES: usize = 8;

/// The background checkpoint thread, the lock that keeps the close-time checkpoint from
/// racing it, and what the WAL hook learns of each commit.
pub(super) struct Checkpointer {
    handle: JoinHandle<()>,
    /// Held by the thread while it checkpoints, by the writer's own checkpoint in the hook and by
    /// [`truncate`]'s caller; always taken after the writer connection's lock, never before.
    pub(super) running: Arc<Mutex<()>>,
    track: Arc<WalTrack>,
    limits: WalLimits,
    /// Most events per insert transaction that keep it within an eighth of the bound
    /// ([`Checkpointer::budget`]), from the last insert (0: not known yet).
    hint: AtomicUsize,
}

/// What the WAL hook learns of each commit.
#[derive(Default)]
struct WalTrack {
    /// Frames the last commit appended (more when the WAL may have restarted before it:
    /// then all the frames in the WAL).
    last_commit_frames: AtomicU32,
    /// A checkpoint copied the whole WAL since the last commit (the next one may have
    /// restarted the WAL).
    completed: AtomicBool,
}

impl Checkpointer {
    /// Frames an insert transaction should append at most: an eighth of the bound. The WAL
    /// crosses the writer's checkpoint at half of it with one transaction; the rest is room
    /// for transactions that cost several times more per event than the one they were sized
    /// on (B-tree pages split in bursts) and for one that follows a checkpoint which could
    /// not restart the WAL.
    fn budget(&self) -> usize {
        (self.limits.writer as usize / 4).max(1)
    }

    /// Learns from an insert transaction of `events` events that just committed.
    pub(super) fn learn(&self, events: usize) {
        let frames = self.track.last_commit_frames.load(Ordering::Relaxed) as usize;
        if frames > 0 && events > 0 {
            let hint = (self.budget().saturating_mul(events) / frames).max(1);
            self.hint.store(hint, Ordering::Relaxed);
        }
    }

    /// The most events an insert transaction should hold: from the last insert, and before
    /// any, as if each event appended [`FIRST_GUESS_FRAMES`] frames (the hint then grows with
    /// what the inserts show).
    pub(super) fn batch_hint(&self) -> usize {
        match self.hint.load(Ordering::Relaxed) {
            0 => (self.budget() / FIRST_GUESS_FRAMES).max(1),
            n => n,
        }
    }

    /// Records a checkpoint that copied the whole WAL.
    pub(super) fn completed(&self) {
        self.track.completed.store(true, Ordering::Relaxed);
    }
}

/// Starts the checkpoint thread for the database at `path` and installs the hook on
/// `writer` that wakes it whenever the WAL holds at least `limits.background` pages after a
/// commit. The thread ends once the hook is removed (or the writer closed).
pub(super) fn start(
    writer: &mut Connection,
    path: &Path,
    opts: &SqliteOptions,
    limits: WalLimits,
) -> Result<Checkpointer> {
    let conn = Connection::open(path).map_err(|e| db_err("open checkpoint connection", e))?;
    configure(&conn, opts)?;
    let (tx, rx) = sync_channel::<()>(1);
    let avoid = opts.avoid_cpu;
    let running = Arc::new(Mutex::new(()));
    let lock = running.clone();
    let track = Arc::new(WalTrack::default());
    let thread_track = track.clone();
    let handle = std::thread::Builder::new()
        .name("seclog-checkpoint".into())
        .spawn(move || {
            if let Some(cpu) = avoid {
                // Best effort: the thread works either way.
                let _ = crate::affinity::avoid_cpu_current_thread(cpu);
            }
            run(&conn, &rx, &lock, &thread_track)
        })
        .map_err(|e| crate::StoreError::Database(format!("start checkpoint thread: {e}")))?;
    let threshold = i32::try_from(limits.background.max(1)).unwrap_or(i32::MAX);
    let backstop = i32::try_from(limits.writer.max(1)).unwrap_or(i32::MAX).max(threshold);
    let thread_running = running.clone();
    let hook_track = track.clone();
    let mut previous = 0i32;
    writer
        .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
            let restarted = hook_track.completed.swap(false, Ordering::Relaxed) || pages < previous;
            let appended = if restarted { pages } else { pages - previous };
            hook_track.last_commit_frames.store(appended.max(0).unsigned_abs(), Ordering::Relaxed);
            previous = pages;
            if pages >= backstop {
                // Under sustained writes the background checkpoint seldom catches up with the
                // end of the WAL, and only a complete checkpoint lets the next transaction
                // restart the WAL from its beginning. This one copies what the thread has not
                // copied yet, so the WAL stays bounded; it waits for a pass of the thread in
                // progress (which copies pages this one would otherwise copy), since two
                // checkpoints cannot run at once. Its failure must not fail the commit, which
                // is done: the next commit tries again.
                let _guard = thread_running.lock();
                if let Ok((log, copied)) = wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE)
                {
                    if log == copied {
                        hook_track.completed.store(true, Ordering::Relaxed);
                    }
                }
            } else if pages >= threshold {
                // A wake-up already pending is enough: never wait here.
                let _ = tx.try_send(());
            }
            Ok(())
        }))
        .map_err(|e| db_err("install WAL hook", e))?;
    Ok(Checkpointer { handle, running, track, limits, hint: AtomicUsize::new(0) })
}

/// Removes the hook from `writer`, which ends the thread, and waits for it.
pub(super) fn stop(writer: &mut Connection, checkpointer: Checkpointer) {
    let none: Option<fn(&mut rusqlite::hooks::Wal, i32) -> rusqlite::Result<()>> = None;
    if writer.wal_hook(none).is_ok() {
        let _ = checkpointer.handle.join();
    } // else the thread ends when the writer closes
}

fn run(conn: &Connection, rx: &Receiver<()>, running: &Mutex<()>, track: &WalTrack) {
    while rx.recv().is_ok() {
        if track.completed.load(Ordering::Relaxed) {
            // Nothing to copy since a complete checkpoint (a wake-up from before it). Keeping
            // off matters: a checkpoint in progress while the next transaction begins keeps
            // that transaction from restarting the WAL, which then grows on.
            continue;
        }
        let _guard = running.lock();
        // A failure (the database busy) is retried at the next wake-up; the backstop in the
        // hook bounds the WAL meanwhile.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok(r.get::<_, i64>(0)? == 0 && r.get::<_, i64>(1)? == r.get::<_, i64>(2)?)
        });
        if done.unwrap_or(false) {
            track.completed.store(true, Ordering::Relaxed);
        }
    }
}

/// How long the close-time checkpoint waits for other connections (another process's writer
/// or readers) before settling for what it could copy. Short: while it waits for readers it
/// holds the WAL's write lock, so another process's writer (a running `seclog serve` while a
/// CLI command ends) waits too.
pub(super) const CLOSE_WAIT: Duration = Duration::from_millis(250);

/// Copies the whole WAL into the database file and truncates the WAL to zero bytes
/// (`PRAGMA wal_checkpoint(TRUNCATE)`), waiting at most [`CLOSE_WAIT`] for other connections.
/// Returns whether it completed: `false` when another connection (another process) kept
/// using the WAL; the database file then holds what could be copied, and that connection's
/// own close completes it. The caller keeps the background thread from running meanwhile.
pub(super) fn truncate(conn: &Connection, busy_timeout: Duration) -> Result<bool> {
    conn.busy_timeout(CLOSE_WAIT.min(busy_timeout)).map_err(|e| db_err("checkpoint", e))?;
    let result = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
    conn.busy_timeout(busy_timeout).map_err(|e| db_err("checkpoint", e))?;
    match result {
        // The first column is 1 when the checkpoint could not finish (SQLITE_BUSY).
        Ok(busy) => Ok(busy == 0),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Ok(false)
        }
        Err(e) => Err(db_err("checkpoint", e)),
    }
}
