//! One engine per database, whatever the number of processes that open it.
//!
//! Of all the processes that open one SQLite database with `shared_engine` on (the default),
//! exactly one is the **engine**: it holds an exclusive lock on `<db>-engine.lock` ([`lock`]),
//! runs the writer, the rules and the decisions, and answers on a Unix socket
//! `<db>-engine.sock` (owner-only) that speaks the server's own HTTP API ([`host`]): `POST
//! /v1/events/batch` and the decisions watch stream `GET /v1/decisions/watch` ([`wire`]).
//! Every other process is a **client** ([`link`]): it validates each event, sends it to the
//! engine, and keeps its own in-process block list fed by the watch stream, so a block check
//! stays a local read.
//!
//! Exactness across processes: an event of a type some rule counts is judged by the engine
//! before the client's `log_event` returns, and the client then waits (briefly) until the
//! decisions that judgement made have reached its block list. Other events are sent in the
//! background, in batches.
//!
//! When the engine's process ends, a client whose requests fail takes the lock over and
//! becomes the engine itself (in the background, behind its own socket), after replaying the
//! last longest rule window of stored events into its rules, so the windows are what they
//! would have been. Events handed to a client while no engine answers wait in a bounded
//! buffer and are resent; an event keeps the id the client gave it, so a resend is stored
//! once.
//!
//! A logger created before a `fork` notices in the child that its process changed and
//! becomes a client there; the parent keeps writing what was queued before the fork.

pub(crate) mod feed;
pub(crate) mod host;
pub(crate) mod link;
pub(crate) mod lock;
pub(crate) mod ops;
pub(crate) mod replay;
pub(crate) mod wire;

use std::path::{Path, PathBuf};

/// The role this process has for its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// This process runs the engine, and no other process can reach it (an in-memory store,
    /// a store given by the caller, or `shared_engine = false`).
    Standalone,
    /// This process runs the engine and answers the other processes on its socket.
    Engine,
    /// Another process runs the engine; this one sends it events.
    Client,
}

/// How the link of a client process stands (all zero for the engine's own process).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkStatus {
    /// The engine answered the last request.
    pub connected: bool,
    /// Events waiting to be sent (the engine was unreachable, or they are in flight).
    pub buffered: u64,
    /// Events sent and acknowledged.
    pub sent: u64,
    /// Events dropped because the buffer was full while the engine was unreachable.
    pub dropped: u64,
    /// Times this process took the engine role over from an engine that went away.
    pub promotions: u64,
}

/// The lock file that elects the engine of `db`.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    with_suffix(db, "-engine.lock")
}

/// The engine's socket for `db`.
pub(crate) fn socket_path(db: &Path) -> PathBuf {
    with_suffix(db, "-engine.sock")
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// The event types that some enabled rule counts (a sequence rule's success type too): a
/// client judges these synchronously.
pub(crate) fn counted_types(rules: &[seclog_core::monitor::Rule]) -> Vec<String> {
    use seclog_core::monitor::RuleKind;
    let mut out: Vec<String> = Vec::new();
    for r in rules.iter().filter(|r| r.enabled) {
        for t in &r.event_types {
            out.push(t.as_str().to_string());
        }
        if let RuleKind::Sequence { success_type } = r.kind {
            out.push(success_type.as_str().to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}
