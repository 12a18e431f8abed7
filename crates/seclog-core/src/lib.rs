//! seclog-core: the pure heart of seclog.
//!
//! The event model (49 event types with OWASP names, severities, statuses, the spec's
//! `SecurityEvent` and `SecurityAlert`), query types, and the pure engines built on them.
//! No I/O, no threads, no clock reads: where time matters, `now` is passed in.

pub mod detect;
pub mod error;
pub mod event;
pub mod event_type;
pub mod query;
pub mod severity;

pub use error::{UnknownValue, ValidationError};
pub use event::{AlertTransition, EventInput, SecurityAlert, SecurityEvent};
pub use event_type::{Category, EventType};
pub use query::{Cursor, EventFilter, EventPage, NamedCount, Statistics, SuspiciousIp};
pub use severity::{AlertStatus, EventStatus, Resolution, Severity};
