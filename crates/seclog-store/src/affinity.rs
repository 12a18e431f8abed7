//! Which CPUs a thread may run on (Linux; elsewhere every call reports "unsupported").
//!
//! The logger's writer thread is the one serial step of ingest: every event passes through
//! its SQLite transaction. On a small machine the scheduler shares the writer's core with
//! request threads, the checkpoint thread and whatever else runs there, and each time the
//! writer waits for a core or finds its cache refilled by another thread, ingest slows down.
//! `writer_cpu` (seclog's configuration) gives the writer a core of its own: the writer pins
//! itself there and seclog's other threads keep off it (docs/benchmarks-server.md).

use std::io;

/// Restricts the calling thread to `cpu`.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    imp::pin(cpu)
}

/// Lets the calling thread run on every CPU it may use now except `cpu` (unchanged when
/// `cpu` is the only one). Threads it starts afterwards inherit the set.
pub fn avoid_cpu_current_thread(cpu: usize) -> io::Result<()> {
    imp::avoid(cpu)
}

/// The CPUs the calling thread may run on, in increasing order.
pub fn current_thread_cpus() -> io::Result<Vec<usize>> {
    imp::current()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;

    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;

    /// Pid 0: the calling thread.
    fn this() -> Pid {
        Pid::from_raw(0)
    }

    fn check(cpu: usize) -> io::Result<()> {
        if cpu >= CpuSet::count() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {cpu} is beyond the largest CPU number {}", CpuSet::count() - 1),
            ));
        }
        Ok(())
    }

    fn members(s: &CpuSet) -> Vec<usize> {
        (0..CpuSet::count()).filter(|&c| s.is_set(c).unwrap_or(false)).collect()
    }

    pub(super) fn current() -> io::Result<Vec<usize>> {
        Ok(members(&sched_getaffinity(this())?))
    }

    pub(super) fn pin(cpu: usize) -> io::Result<()> {
        check(cpu)?;
        let mut s = CpuSet::new();
        s.set(cpu)?;
        sched_setaffinity(this(), &s).map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("cannot run on CPU {cpu} (not one this process may use): {e}"),
            )
        })
    }

    pub(super) fn avoid(cpu: usize) -> io::Result<()> {
        check(cpu)?;
        let mut s = sched_getaffinity(this())?;
        if !s.is_set(cpu)? || members(&s).len() <= 1 {
            return Ok(());
        }
        s.unset(cpu)?;
        Ok(sched_setaffinity(this(), &s)?)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;

    fn unsupported() -> io::Error {
        io::Error::new(io::ErrorKind::Unsupported, "CPU affinity is only supported on Linux")
    }

    pub(super) fn current() -> io::Result<Vec<usize>> {
        Err(unsupported())
    }

    pub(super) fn pin(_cpu: usize) -> io::Result<()> {
        Err(unsupported())
    }

    pub(super) fn avoid(_cpu: usize) -> io::Result<()> {
        Err(unsupported())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn pinning_and_avoiding_change_the_calling_threads_cpus_only() {
        let all = current_thread_cpus().unwrap();
        assert!(!all.is_empty());
        let first = all[0];
        std::thread::spawn(move || {
            pin_current_thread(first).unwrap();
            assert_eq!(current_thread_cpus().unwrap(), vec![first]);
            // The only CPU left is kept rather than leaving the thread nowhere to run.
            avoid_cpu_current_thread(first).unwrap();
            assert_eq!(current_thread_cpus().unwrap(), vec![first]);
        })
        .join()
        .unwrap();
        // Another thread's pinning left this one alone.
        assert_eq!(current_thread_cpus().unwrap(), all);
        if all.len() > 1 {
            std::thread::spawn(move || {
                avoid_cpu_current_thread(first).unwrap();
                let now = current_thread_cpus().unwrap();
                assert_eq!(now, all[1..].to_vec());
                // A thread started now inherits the set.
                let child = std::thread::spawn(|| current_thread_cpus().unwrap()).join().unwrap();
                assert_eq!(child, now);
            })
            .join()
            .unwrap();
        }
    }

    #[test]
    fn a_cpu_that_does_not_exist_is_a_clear_error() {
        let e = std::thread::spawn(|| pin_current_thread(100_000).unwrap_err()).join().unwrap();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("100000"), "{e}");
        // A CPU number the kernel knows of but this process may not use.
        let offline = (0..1024).find(|c| !current_thread_cpus().unwrap().contains(c)).unwrap();
        let e =
            std::thread::spawn(move || pin_current_thread(offline).unwrap_err()).join().unwrap();
        assert!(e.to_string().contains(&format!("CPU {offline}")), "{e}");
    }
}
