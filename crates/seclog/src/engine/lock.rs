//! The election lock: an exclusive `flock` on `<db>-engine.lock`, held for as long as the
//! engine runs. The kernel releases it when its process ends, however it ends, so a lock file
//! left behind by a dead process is never a reason to fail: the next process takes it.
//!
//! `flock` locks belong to the open file, not the process: a second open of the file in the
//! same process conflicts too (a second logger in one process becomes a client of the first),
//! and a child created by `fork` shares the parent's. A forked child must therefore close its
//! copy without unlocking ([`EngineLock::forget_in_child`]), or the lock would outlive the
//! parent.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The held election lock.
pub(crate) struct EngineLock {
    lock: Flock<File>,
    path: PathBuf,
}

impl std::fmt::Debug for EngineLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineLock").field("path", &self.path).finish()
    }
}

impl EngineLock {
    /// Takes the lock if no other open file holds it; `Ok(None)` when one does.
    pub(crate) fn try_acquire(path: &Path) -> std::io::Result<Option<Self>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => {
                // The holder's pid, for people looking at the file (never read back).
                let mut f: &File = &lock;
                let _ = f.set_len(0);
                let _ = writeln!(f, "{}", std::process::id());
                Ok(Some(EngineLock { lock, path: path.to_path_buf() }))
            }
            Err((_, Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(std::io::Error::from(e)),
        }
    }

    /// In a child created by `fork`: closes the child's copy of the lock file without
    /// unlocking it (an unlock would release the parent's lock too).
    pub(crate) fn forget_in_child(self) {
        let fd = self.lock.as_raw_fd();
        std::mem::forget(self);
        let _ = nix::unistd::close(fd);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db-engine.lock");
        let first = EngineLock::try_acquire(&path).unwrap().unwrap();
        assert!(EngineLock::try_acquire(&path).unwrap().is_none(), "a second open conflicts");
        drop(first);
        assert!(EngineLock::try_acquire(&path).unwrap().is_some(), "released on drop");
    }

    #[test]
    fn an_unusable_path_is_an_error_naming_the_cause() {
        let err = EngineLock::try_acquire(Path::new("/nonexistent-dir/x.lock")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
