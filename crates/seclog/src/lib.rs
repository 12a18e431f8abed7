//! seclog: security event logging and real-time monitoring for web applications.
//!
//! An application creates one [`SecurityLogger`] and calls it whenever something
//! security-relevant happens. Each event is validated, redacted (no passwords, tokens, cookies,
//! card numbers or session ids reach storage), scored, checked against the rules, and queued to
//! a writer thread that commits in batches to SQLite (WAL). `log_event` returns the event's id
//! without waiting for the disk; [`SecurityLogger::flush`] waits for what was sent and
//! [`SecurityLogger::close`] drains everything.
//!
//! ```no_run
//! use seclog::{create_security_logger, log_auth_attempt, Config};
//!
//! let logger = create_security_logger(Config::default())?;
//! let id = log_auth_attempt(&logger, "user123", false, Some("192.168.1.100"), None, None)?;
//! logger.flush()?;
//! # Ok::<(), seclog::LogError>(())
//! ```

mod classify;
pub mod clock;
pub mod config;
pub mod engine;
pub mod error;
pub mod filelog;
pub mod helpers;
mod keyfile;
pub mod logger;
mod monitor;
mod ops;
#[cfg(feature = "tower")]
pub mod tower;
mod writer;

pub use classify::{classify_violation, Classified};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, MonitoringConfig, QueueFullPolicy};
pub use engine::{LinkStatus, Role};
pub use error::{LogError, Result};
pub use helpers::*;
pub use logger::{create_security_logger, LogReceipt, SecurityLogger};
pub use ops::{RelatedEvents, MAX_ACTION_TEXT_LEN, MAX_ACTOR_LEN};
pub use writer::WriterStats;

pub use seclog_core as core;
pub use seclog_core::{
    AlertStatus, EventFilter, EventInput, EventPage, EventStatus, EventType, SecurityAlert,
    SecurityEvent, Severity, Statistics, StoredPage,
};
