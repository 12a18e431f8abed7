//! The source of "now" for the library (the core never reads a clock).

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// Where the logger gets the current time. Tests substitute a [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// The current time in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to (whole seconds since the Unix epoch).
#[derive(Debug, Default)]
pub struct ManualClock {
    unix: AtomicI64,
}

impl ManualClock {
    /// A clock set to `unix` seconds.
    pub fn new(unix: i64) -> Self {
        ManualClock { unix: AtomicI64::new(unix) }
    }

    /// Sets the time.
    pub fn set(&self, unix: i64) {
        self.unix.store(unix, Ordering::SeqCst);
    }

    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.unix.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.unix.load(Ordering::SeqCst))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}
