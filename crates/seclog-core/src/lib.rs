//! seclog-core: the pure heart of seclog.
//!
//! The event model (49 event types with OWASP names, severities, statuses, the spec's
//! `SecurityEvent` and `SecurityAlert`), query types, and the pure engines built on them.
//! No I/O, no threads, no clock reads: where time matters, `now` is passed in.

pub mod detect;
pub mod error;
pub mod event;
pub mod event_type;
pub mod monitor;
pub mod query;
pub mod redact;
pub mod risk;
pub mod severity;
pub mod validate;

pub use error::{UnknownValue, ValidationError};
pub use event::{
    AlertTransition, EventAction, EventActionKind, EventInput, SecurityAlert, SecurityEvent,
};
pub use event_type::{Category, EventType};
pub use monitor::{
    default_rules, Action, BlockInfo, BlockList, Decision, EscalationPolicy, Firing, GroupBy,
    IpRiskTracker, IpSet, Rule, RuleEngine, RuleError, RuleKind, Scope,
};
pub use query::{
    normalize_ip, parse_ip, parse_time, Cursor, EventFilter, EventPage, NamedCount, Statistics,
    StoredPage, SuspiciousIp,
};
pub use redact::{RedactionConfig, Redactor};
pub use risk::{risk_score, threat_level};
pub use severity::{AlertStatus, EventStatus, Resolution, Severity};
pub use validate::{validate, Limits};
