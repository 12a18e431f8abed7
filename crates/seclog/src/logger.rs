//! [`SecurityLogger`]: validate, redact, score, monitor, queue; one writer thread stores.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use parking_lot::{Mutex, RwLock};
use seclog_core::redact::Redactor;
use seclog_core::validate::validate;
use seclog_core::{
    Cursor, EventFilter, EventInput, EventPage, SecurityEvent, Statistics, StoredPage,
    ValidationError,
};
use seclog_store::sqlite::{SqliteOptions, SqliteStore};
use seclog_store::Store;
use uuid::Uuid;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, QueueFullPolicy};
use crate::engine::feed::DecisionFeed;
use crate::engine::host::EngineHost;
use crate::engine::link::{Link, Sent};
use crate::engine::lock::EngineLock;
use crate::engine::{LinkStatus, Role};
use crate::error::{LogError, Result};
use crate::filelog::RotatingLog;
use crate::keyfile::session_key;
use crate::monitor::{Monitor, Outcome};
use crate::writer::{Msg, Writer, WriterStats};
use seclog_core::monitor::{BlockInfo, BlockList, IpSet, Rule, RuleEngine};

/// The embeddable security logger. Cheap to clone (all clones share one engine) and safe to
/// share between threads. Dropping the last clone closes it (drains and commits the queue).
#[derive(Clone)]
pub struct SecurityLogger {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    monitor: Option<Mutex<Monitor>>,
    rules: Vec<Rule>,
    pub(crate) blocklist: Arc<BlockList>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    redactor: Redactor,
    tx: RwLock<Option<Sender<Msg>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    retention: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
    stats: Arc<WriterStats>,
    /// Suspicious-IP rows of single events, waiting for the writer.
    pending_ips: crate::writer::PendingIps,
    /// The process that created the logger (a different one is a child made by `fork`).
    pid: u32,
    role: Role,
    /// Decision changes, for the watch streams of client processes.
    pub(crate) feed: Arc<DecisionFeed>,
    /// The engine's socket server (role `Engine`).
    host: Mutex<Option<EngineHost>>,
    /// The election lock (role `Engine`).
    lock: Mutex<Option<EngineLock>>,
    /// The link to another process's engine (role `Client`).
    pub(crate) link: Option<Link>,
    /// In a child made by `fork`: the logger the child uses instead of this one.
    child: Mutex<Option<SecurityLogger>>,
    /// Set in a child made by `fork` once that is known ([`SecurityLogger::after_fork_in_child`],
    /// or the first call that reads the process id): the block checks look at this flag only,
    /// since reading the process id is a system call.
    forked: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for SecurityLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityLogger").field("db_file", &self.inner.config.db_file).finish()
    }
}

/// What [`SecurityLogger::log_event_checked`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReceipt {
    /// The event's id.
    pub event_id: String,
    /// The event's IP or user was already under a decision when the event was observed.
    pub blocked: bool,
}

/// How an event is handed to the writer.
#[derive(Clone, Copy)]
enum Handoff {
    /// As `queue_full_policy` says.
    Policy,
    /// Wait for room and for the commit.
    Durable,
    /// Never wait: drop and count when full.
    Try,
}

/// Creates a logger from the spec's configuration (`create_security_logger(config)`).
pub fn create_security_logger(config: Config) -> Result<SecurityLogger> {
    SecurityLogger::new(config)
}

impl SecurityLogger {
    /// Opens the store named by `config.db_file` and starts the writer.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        if let Some(cpu) = config.writer_cpu {
            // Refused before anything is opened or started (the writer pins itself later).
            let cpus = seclog_store::affinity::current_thread_cpus()
                .map_err(|e| LogError::Config(format!("writer_cpu {cpu}: {e}")))?;
            if !cpus.contains(&cpu) {
                return Err(LogError::Config(format!(
                    "writer_cpu {cpu}: not a CPU this process may use ({cpus:?})"
                )));
            }
        }
        let store: Arc<dyn Store> = if config.db_file.as_os_str() == ":memory:" {
            Arc::new(SqliteStore::open_in_memory()?)
        } else {
            if let Some(dir) = config.db_file.parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        LogError::Io(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
            if config.shared_engine {
                let path = crate::engine::lock_path(&config.db_file);
                let lock = EngineLock::try_acquire(&path).map_err(|e| {
                    LogError::Io(format!("cannot use the engine lock {}: {e}", path.display()))
                })?;
                return match lock {
                    Some(lock) => Self::new_engine(config, lock),
                    None => Self::new_client(config),
                };
            }
            Self::open_store(&config)?
        };
        Self::with_store(config, store, Arc::new(SystemClock))
    }

    fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
        let opts = SqliteOptions {
            avoid_cpu: config.writer_cpu,
            wal_max_bytes: config.wal_max_bytes,
            ..SqliteOptions::default()
        };
        Ok(Arc::new(SqliteStore::open_with(&config.db_file, opts)?))
    }

    /// The engine of `config.db_file`, holding its election lock: the usual logger, its rule
    /// windows rebuilt from the stored events, answering other processes on its socket.
    pub(crate) fn new_engine(config: Config, lock: EngineLock) -> Result<Self> {
        let store = Self::open_store(&config)?;
        let mut logger = Self::with_store(config, store, Arc::new(SystemClock))?;
        logger.replay()?;
        if let Some(inner) = Arc::get_mut(&mut logger.inner) {
            inner.role = Role::Engine;
        }
        let socket = crate::engine::socket_path(&logger.inner.config.db_file);
        let host =
            EngineHost::start(Arc::downgrade(&logger.inner), logger.inner.feed.clone(), &socket)
                .map_err(|e| {
                    LogError::Io(format!(
                "cannot open the engine socket {} ({e}); a Unix socket path must be shorter \
                 than 108 bytes; shared_engine = false runs without one",
                socket.display()
            ))
                })?;
        *logger.inner.host.lock() = Some(host);
        *logger.inner.lock.lock() = Some(lock);
        Ok(logger)
    }

    /// A client of the engine another process runs on `config.db_file`: events go to it over
    /// its socket, decisions come back into this process's block list, and queries read the
    /// database directly.
    fn new_client(config: Config) -> Result<Self> {
        // Reads and the rare operator write only: one reader, a small page cache, and no
        // checkpoints (those are the engine's).
        let opts = SqliteOptions {
            read_connections: 1,
            cache_kib: 2048,
            background_checkpoint: false,
            checkpoint_on_close: false,
            wal_max_bytes: config.wal_max_bytes,
            ..SqliteOptions::default()
        };
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_with(&config.db_file, opts)?);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let key = session_key(&config)?;
        let redactor = Redactor::new(config.redaction.clone(), key);
        let allow = IpSet::parse(config.monitoring.allowlist.iter().map(String::as_str))
            .map_err(|e| LogError::Config(format!("monitoring.allowlist: {e}")))?;
        let blocklist = Arc::new(BlockList::with_allowlist(allow));
        // Until the engine's snapshot arrives, what is stored is in force.
        let active = store.list_decisions(Some(clock.now()), 1_000_000)?;
        if let Err(e) = blocklist.apply(&active) {
            tracing::error!(error = %e, "a stored decision could not be restored");
        }
        let rules = config.effective_rules()?;
        let link =
            Link::start(config.clone(), blocklist.clone(), crate::engine::counted_types(&rules))?;
        Ok(SecurityLogger {
            inner: Arc::new(Inner {
                monitor: None,
                rules,
                blocklist,
                config,
                store,
                clock,
                redactor,
                tx: RwLock::new(None),
                writer: Mutex::new(None),
                retention: Mutex::new(None),
                stats: Arc::new(WriterStats::default()),
                pending_ips: crate::writer::PendingIps::default(),
                pid: std::process::id(),
                role: Role::Client,
                feed: Arc::new(DecisionFeed::default()),
                host: Mutex::new(None),
                lock: Mutex::new(None),
                link: Some(link),
                child: Mutex::new(None),
                forked: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// Runs the stored events of the last longest rule window through the rules without
    /// acting, so that the windows are those of the engine that stored them.
    fn replay(&mut self) -> Result<()> {
        let Some(monitor) = self.inner.monitor.as_ref() else { return Ok(()) };
        let window = self.inner.rules.iter().filter(|r| r.enabled).map(|r| r.window_secs).max();
        let Some(window) = window else { return Ok(()) };
        let events = crate::engine::replay::events_to_replay(self.inner.store.as_ref(), window)?;
        let mut m = monitor.lock();
        for e in &events {
            m.warm(e);
        }
        Ok(())
    }

    /// This process's role for its database.
    pub fn role(&self) -> Role {
        self.here().as_ref().map_or(self.inner.role, |c| c.inner.role)
    }

    /// How a client's link to the engine stands (all zero where this process is the engine).
    pub fn link_status(&self) -> LinkStatus {
        let this = self.here();
        let this = this.as_ref().unwrap_or(self);
        this.inner.link.as_ref().map(Link::status).unwrap_or_default()
    }

    /// In a child made by `fork`, the logger the child uses instead (created on first use: a
    /// client of the engine, which the parent still runs); `None` in the creating process.
    fn here(&self) -> Option<SecurityLogger> {
        if !self.inner.forked.load(Ordering::Relaxed) && std::process::id() == self.inner.pid {
            return None;
        }
        self.child_logger()
    }

    /// Like [`SecurityLogger::here`] for the nanosecond paths (`check_ip`, `check_user`): it
    /// trusts the flag set once the fork is known, and reads no process id. A Rust program
    /// that forks and checks an address before anything else in the child calls
    /// [`SecurityLogger::after_fork_in_child`] first (the Python package does, from
    /// `os.register_at_fork`).
    fn here_if_known(&self) -> Option<SecurityLogger> {
        if !self.inner.forked.load(Ordering::Relaxed) {
            return None;
        }
        self.child_logger()
    }

    /// Tells the logger that this process is a child made by `fork`: from now on it works
    /// through a logger of its own (a client of the engine the parent runs), created here.
    pub fn after_fork_in_child(&self) {
        if std::process::id() != self.inner.pid {
            let _ = self.child_logger();
        }
    }

    /// The child's logger, created on first use.
    fn child_logger(&self) -> Option<SecurityLogger> {
        self.inner.forked.store(true, Ordering::Relaxed);
        let mut child = self.inner.child.lock();
        if let Some(c) = child.as_ref() {
            return Some(c.clone());
        }
        self.inner.forget_in_child();
        match SecurityLogger::new(self.inner.config.clone()) {
            Ok(c) => {
                *child = Some(c.clone());
                Some(c)
            }
            Err(e) => {
                tracing::error!(error = %e, "the logger could not be re-created after fork");
                None
            }
        }
    }

    /// A logger over any store and clock (tests, other backends).
    pub fn with_store(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        config.validate()?;
        let key = session_key(&config)?;
        let redactor = Redactor::new(config.redaction.clone(), key);
        let file = match &config.log_file {
            Some(p) => Some(
                RotatingLog::open(p, config.log_file_max_bytes, config.log_file_max_files)
                    .map_err(|e| {
                        LogError::Io(format!("cannot open log file {}: {e}", p.display()))
                    })?,
            ),
            None => None,
        };
        let allow = IpSet::parse(config.monitoring.allowlist.iter().map(String::as_str))
            .map_err(|e| LogError::Config(format!("monitoring.allowlist: {e}")))?;
        let blocklist = Arc::new(BlockList::with_allowlist(allow));
        let (tx, rx) = bounded(config.queue_capacity);
        let stats = Arc::new(WriterStats::default());
        let pending_ips = crate::writer::PendingIps::default();
        let writer = Writer {
            pending_ips: pending_ips.clone(),
            store: store.clone(),
            rx,
            batch_size: config.batch_size,
            file,
            stats: stats.clone(),
            blocklist: blocklist.clone(),
        };
        // The writer pins itself first when asked to, and reports whether it could.
        let pin = config.writer_cpu;
        let (pinned_tx, pinned_rx) = bounded::<std::io::Result<()>>(1);
        let handle = std::thread::Builder::new()
            .name("seclog-writer".into())
            .spawn(move || {
                let pinned = pin.map_or(Ok(()), seclog_store::affinity::pin_current_thread);
                let ok = pinned.is_ok();
                let _ = pinned_tx.send(pinned);
                if ok {
                    writer.run();
                }
            })
            .map_err(|e| LogError::Io(format!("cannot start the writer thread: {e}")))?;
        match pinned_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = handle.join();
                return Err(LogError::Config(format!(
                    "writer_cpu {}: {e}",
                    pin.map_or_else(String::new, |c| c.to_string())
                )));
            }
            Err(_) => return Err(LogError::Io("the writer thread ended at start".into())),
        }
        let retention = start_retention(&config, store.clone(), clock.clone(), stats.clone())?;
        let rules = config.effective_rules()?;
        // Decisions survive a restart: load those still in force.
        let active = store.list_decisions(Some(clock.now()), 1_000_000)?;
        if let Err(e) = blocklist.apply(&active) {
            tracing::error!(error = %e, "a stored decision could not be restored");
        }
        let monitor = if config.enable_real_time_monitoring {
            let engine = RuleEngine::with_ipv6_prefix(rules.clone(), config.monitoring.ipv6_prefix)
                .map_err(|e| LogError::Config(format!("rules: {e}")))?;
            // Offence counts for escalation come from the whole decision history, read once
            // here so that a firing rule never waits on the database.
            let mut offences: std::collections::HashMap<String, u32> =
                std::collections::HashMap::new();
            for d in store.list_decisions(None, 10_000_000)? {
                *offences.entry(d.value).or_insert(0) += 1;
            }
            Some(Mutex::new(Monitor::new(
                engine,
                &config.monitoring,
                config.enable_alerting,
                blocklist.clone(),
                offences,
            )))
        } else {
            None
        };
        Ok(SecurityLogger {
            inner: Arc::new(Inner {
                monitor,
                rules,
                blocklist,
                config,
                store,
                clock,
                redactor,
                tx: RwLock::new(Some(tx)),
                writer: Mutex::new(Some(handle)),
                retention: Mutex::new(Some(retention)),
                stats,
                pending_ips,
                pid: std::process::id(),
                role: Role::Standalone,
                feed: Arc::new(DecisionFeed::default()),
                host: Mutex::new(None),
                lock: Mutex::new(None),
                link: None,
                child: Mutex::new(None),
                forked: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store (for queries beyond the logger's own methods).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Counters of the writer (committed, dropped, failed, commit latency).
    pub fn writer_stats(&self) -> &WriterStats {
        &self.inner.stats
    }

    /// Events (and alert/decision records) waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        let messages = self.inner.tx.read().as_ref().map_or(0, |t| t.len());
        messages + self.inner.stats.queued_extra.load(Ordering::Relaxed)
    }

    /// Validates, redacts and scores an event, runs the rules, and queues it for storage.
    /// Returns its id without waiting for the disk (unless the logger is durable).
    pub fn log_event(&self, input: EventInput) -> Result<String> {
        let durable = self.inner.config.durable;
        self.submit(input, durable)
    }

    /// Like [`SecurityLogger::log_event`] but returns only once the event is committed.
    pub fn log_event_durable(&self, input: EventInput) -> Result<String> {
        self.submit(input, true)
    }

    /// Validates and redacts without storing: what would be stored for `input`.
    pub fn prepare(&self, input: EventInput) -> Result<SecurityEvent> {
        let mut event = self.validate_and_redact(input)?;
        let score = seclog_core::risk::risk_score(event.severity, event.event_type, false);
        event.risk_score = Some(score);
        event.threat_level = Some(seclog_core::risk::threat_level(score).to_string());
        Ok(event)
    }

    /// Validation, redaction and the default source; the score is left to the caller (the
    /// monitor scores with the IP's reputation, [`SecurityLogger::prepare`] without).
    fn validate_and_redact(&self, input: EventInput) -> Result<SecurityEvent> {
        let now = self.inner.clock.now();
        let mut new_id = || Uuid::now_v7().to_string();
        let mut event = validate(input, now, &mut new_id, &self.inner.config.limits)?;
        self.inner.redactor.redact(&mut event);
        if event.source.is_none() {
            event.source.clone_from(&self.inner.config.source);
        }
        Ok(event)
    }

    /// Like [`SecurityLogger::log_event`], and tells whether the event's IP or user was already
    /// blocked when the rules saw it. The check and the rule evaluation happen atomically, so
    /// of many concurrent attempts exactly `threshold` are seen unblocked.
    pub fn log_event_checked(&self, input: EventInput) -> Result<LogReceipt> {
        let durable = self.inner.config.durable;
        self.submit_checked(input, durable)
    }

    /// Like [`SecurityLogger::log_event`] but never waits, whatever `queue_full_policy` says:
    /// when the queue is full the event is dropped, counted in `writer_stats().dropped`, and
    /// [`LogError::QueueFull`] is returned. Alerts and decisions the event triggers are sent
    /// without waiting too (a decision still takes effect in memory when its message is
    /// dropped). For request paths (the tower layer) that must never slow down.
    pub fn try_log_event(&self, input: EventInput) -> Result<String> {
        self.submit_with(input, Handoff::Try).map(|r| r.event_id)
    }

    fn submit(&self, input: EventInput, durable: bool) -> Result<String> {
        self.submit_checked(input, durable).map(|r| r.event_id)
    }

    fn submit_checked(&self, input: EventInput, durable: bool) -> Result<LogReceipt> {
        self.submit_with(input, if durable { Handoff::Durable } else { Handoff::Policy })
    }

    fn submit_with(&self, input: EventInput, how: Handoff) -> Result<LogReceipt> {
        if let Some(child) = self.here() {
            return child.submit_with(input, how);
        }
        if let Some(link) = &self.inner.link {
            return self.submit_to_engine(link, input, how);
        }
        let (event, outcome) = self.admit(input)?;
        let mut receipt = LogReceipt { event_id: event.event_id.clone(), blocked: false };
        self.enqueue(event, how)?;
        if let Some(out) = outcome {
            receipt.blocked = out.was_blocked;
            self.side_effects(out, !matches!(how, Handoff::Try));
        }
        Ok(receipt)
    }

    /// A client's `log_event`: validated here (errors are the caller's at once), given its id
    /// and time, then sent to the engine: judged before returning when a rule counts its type
    /// (or when durable), in the background otherwise.
    fn submit_to_engine(
        &self,
        link: &Link,
        mut input: EventInput,
        how: Handoff,
    ) -> Result<LogReceipt> {
        let now = self.inner.clock.now();
        let event = self.stamp_and_validate(&mut input, now)?;
        let blocked =
            event.ip_address.is_some_and(|ip| self.inner.blocklist.check_ip(ip, now).is_some())
                || event
                    .user_id
                    .as_deref()
                    .is_some_and(|u| self.inner.blocklist.check_user(u, now).is_some());
        let receipt = LogReceipt { event_id: event.event_id, blocked };
        let judged = matches!(how, Handoff::Durable) || link.counts(&input.event_type);
        if !judged {
            let wait = !matches!(how, Handoff::Try)
                && self.inner.config.queue_full_policy == QueueFullPolicy::Wait;
            link.submit_async(vec![input], wait)?;
            return Ok(receipt);
        }
        match link.submit_judged(vec![input])? {
            Sent::Judged(answer) => match answer.rejected.into_iter().next() {
                Some(r) => Err(engine_refusal(r.error)),
                None => Ok(receipt),
            },
            // Kept for the engine's return, counted in the link's status.
            Sent::Buffered => Ok(receipt),
        }
    }

    /// A client's part before sending: the event gets its id and time here (so that a resend
    /// is the same event, timed when it happened), and is validated for the caller's errors.
    fn stamp_and_validate(
        &self,
        input: &mut EventInput,
        now: time::OffsetDateTime,
    ) -> Result<SecurityEvent> {
        if input.event_id.is_none() {
            input.event_id = Some(Uuid::now_v7().to_string());
        }
        if input.timestamp.is_none() {
            input.timestamp = now.format(&time::format_description::well_known::Rfc3339).ok();
        }
        Ok(validate(input.clone(), now, &mut String::new, &self.inner.config.limits)?)
    }

    /// Validates, redacts and scores the event and runs the rules on it (the block decisions
    /// take effect here); what the writer must store besides the event is returned.
    fn admit(&self, input: EventInput) -> Result<(SecurityEvent, Option<Outcome>)> {
        // With monitoring on, the monitor scores the event (it knows the IP's reputation).
        let mut event = if self.inner.monitor.is_some() {
            self.validate_and_redact(input)?
        } else {
            self.prepare(input)?
        };
        let outcome = self.inner.monitor.as_ref().map(|m| m.lock().observe(&mut event));
        Ok((event, outcome))
    }

    /// Queues the alerts, decisions and suspicious-IP rows of one observed event.
    fn side_effects(&self, out: Outcome, wait: bool) {
        for d in &out.decisions {
            self.inner.feed.publish_new(d);
        }
        for d in out.decisions {
            self.send_side(Msg::NewDecision(Box::new(d)), wait);
        }
        for a in out.alerts {
            self.send_side(Msg::NewAlert(Box::new(a)), wait);
        }
        if let Some(ip) = out.suspicious {
            // The newest row per address waits in the map; only the row that finds it empty
            // sends a message (the writer takes the map at every pass).
            let was_empty = {
                let mut pending = self.inner.pending_ips.lock();
                let was_empty = pending.is_empty();
                pending.insert(ip.ip_address, ip);
                was_empty
            };
            if was_empty {
                self.send_side(Msg::PendingIps, wait);
            }
        }
    }

    /// Logs many events and returns once the accepted ones are committed. Each input goes
    /// through what [`SecurityLogger::log_event`] does (validation, redaction, score, rules);
    /// the accepted events then go to the writer as one message, so they are committed in one
    /// transaction (together with whatever else is queued) and take one slot of the queue.
    ///
    /// Returns, per input and in order, its event id or why it was not stored: invalid, or
    /// refused by the store at commit (for example a duplicate `event_id`). The outer error
    /// means no accepted event of the call can be assumed stored: the queue is full (with
    /// `queue_full_policy = drop`; they are counted in `writer_stats().dropped`), the logger
    /// is closed, or the commit did not happen within `durable_timeout_ms`.
    pub fn log_events_durable(
        &self,
        inputs: impl IntoIterator<Item = EventInput>,
    ) -> Result<Vec<Result<String>>> {
        if let Some(child) = self.here() {
            return child.log_events_durable(inputs);
        }
        if let Some(link) = &self.inner.link {
            return self.durable_batch_to_engine(link, inputs.into_iter().collect());
        }
        let inputs = inputs.into_iter();
        let mut results: Vec<Result<String>> = Vec::with_capacity(inputs.size_hint().0);
        let mut events = Vec::with_capacity(inputs.size_hint().0);
        let mut outcomes = Vec::new();
        for input in inputs {
            match self.admit(input) {
                Ok((event, outcome)) => {
                    results.push(Ok(event.event_id.clone()));
                    events.push(event);
                    outcomes.extend(outcome);
                }
                Err(e) => results.push(Err(e)),
            }
        }
        if events.is_empty() {
            return Ok(results);
        }
        let (ack_tx, ack_rx) = bounded(1);
        {
            let guard = self.inner.tx.read();
            let tx = guard.as_ref().ok_or(LogError::Closed)?;
            let n = events.len();
            let extra = n - 1;
            // Counted before sending: the writer subtracts when it takes the message.
            self.inner.stats.queued_extra.fetch_add(extra, Ordering::Relaxed);
            let msg = Msg::Events(events, Some(ack_tx));
            let sent = if self.inner.config.queue_full_policy == QueueFullPolicy::Wait {
                tx.send(msg).map_err(|_| LogError::Closed)
            } else {
                tx.try_send(msg).map_err(|e| match e {
                    TrySendError::Full(_) => {
                        self.inner.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                        LogError::QueueFull
                    }
                    TrySendError::Disconnected(_) => LogError::Closed,
                })
            };
            if let Err(e) = sent {
                self.inner.stats.queued_extra.fetch_sub(extra, Ordering::Relaxed);
                return Err(e);
            }
        }
        // Suspicious-IP rows go through the pending map: at most one queue message for the
        // whole batch, however many of its events come from blocked or high-risk addresses.
        for out in outcomes {
            self.side_effects(out, true);
        }
        match self.wait_ack(&ack_rx)? {
            Ok(()) => {}
            Err(refused) => {
                let refused: std::collections::HashSet<String> = refused.into_iter().collect();
                for r in &mut results {
                    if matches!(r, Ok(id) if refused.contains(id)) {
                        *r = Err(refused_error());
                    }
                }
            }
        }
        Ok(results)
    }

    /// A client's durable batch: each input validated here, the valid ones judged and stored
    /// by the engine before this returns.
    fn durable_batch_to_engine(
        &self,
        link: &Link,
        inputs: Vec<EventInput>,
    ) -> Result<Vec<Result<String>>> {
        let now = self.inner.clock.now();
        let mut results: Vec<Result<String>> = Vec::with_capacity(inputs.len());
        let mut send = Vec::with_capacity(inputs.len());
        let mut slots = Vec::with_capacity(inputs.len());
        for mut input in inputs {
            match self.stamp_and_validate(&mut input, now) {
                Ok(e) => {
                    slots.push(results.len());
                    results.push(Ok(e.event_id));
                    send.push(input);
                }
                Err(e) => results.push(Err(e)),
            }
        }
        if send.is_empty() {
            return Ok(results);
        }
        match link.submit_judged(send)? {
            Sent::Judged(answer) => {
                for r in answer.rejected {
                    if let Some(&slot) = slots.get(r.index) {
                        results[slot] = Err(engine_refusal(r.error));
                    }
                }
                Ok(results)
            }
            Sent::Buffered => Err(LogError::Io(
                "the engine is unreachable: the events are buffered and will be sent when it is back".into(),
            )),
        }
    }

    /// The decision in force against `ip` now, if any (a lock-free read; allowlisted addresses
    /// are never blocked).
    pub fn check_ip(&self, ip: std::net::IpAddr) -> Option<BlockInfo> {
        if let Some(child) = self.here_if_known() {
            return child.check_ip(ip);
        }
        self.inner.blocklist.check_ip(ip, self.inner.clock.now())
    }

    /// The decision in force against the account `user_id` now (an account lock), if any.
    pub fn check_user(&self, user_id: &str) -> Option<BlockInfo> {
        if let Some(child) = self.here_if_known() {
            return child.check_user(user_id);
        }
        self.inner.blocklist.check_user(user_id, self.inner.clock.now())
    }

    /// The in-memory block list (for middleware that checks every request).
    pub fn blocklist(&self) -> &Arc<BlockList> {
        &self.inner.blocklist
    }

    /// The rules in force.
    pub fn rules(&self) -> &[Rule] {
        &self.inner.rules
    }

    /// Distinct keys the rule engine currently tracks (0 when monitoring is off).
    pub fn tracked_keys(&self) -> usize {
        self.inner.monitor.as_ref().map_or(0, |m| m.lock().rule_engine().key_count())
    }

    fn enqueue(&self, event: SecurityEvent, how: Handoff) -> Result<()> {
        let (ack_tx, ack_rx) = if matches!(how, Handoff::Durable) {
            let (a, b) = bounded(1);
            (Some(a), Some(b))
        } else {
            (None, None)
        };
        {
            let guard = self.inner.tx.read();
            let tx = guard.as_ref().ok_or(LogError::Closed)?;
            let msg = Msg::Event(Box::new(event), ack_tx);
            let wait = match how {
                Handoff::Try => false,
                Handoff::Durable | Handoff::Policy => {
                    self.inner.config.queue_full_policy == QueueFullPolicy::Wait
                }
            };
            if wait {
                tx.send(msg).map_err(|_| LogError::Closed)?;
            } else {
                match tx.try_send(msg) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        self.inner.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        return Err(LogError::QueueFull);
                    }
                    Err(TrySendError::Disconnected(_)) => return Err(LogError::Closed),
                }
            }
        }
        if let Some(rx) = ack_rx {
            if self.wait_ack(&rx)?.is_err() {
                return Err(refused_error());
            }
        }
        Ok(())
    }

    /// Waits for the writer's answer: `Ok(Err(ids))` names the events the store refused.
    fn wait_ack(
        &self,
        rx: &Receiver<std::result::Result<(), Vec<String>>>,
    ) -> Result<std::result::Result<(), Vec<String>>> {
        let ms = self.inner.config.durable_timeout_ms;
        rx.recv_timeout(Duration::from_millis(ms)).map_err(|_| LogError::CommitTimeout(ms))
    }

    /// Sends a message to the writer (alerts, decisions, suspicious IPs), waiting for room
    /// unless `wait` is false (then a full queue drops it with a warning).
    pub(crate) fn send_side(&self, msg: Msg, wait: bool) {
        if let Some(tx) = self.inner.tx.read().as_ref() {
            if wait {
                let _ = tx.send(msg);
            } else if let Err(TrySendError::Full(_)) = tx.try_send(msg) {
                tracing::warn!("queue full: an alert or decision record was not persisted");
            }
        }
    }

    /// Waits until everything sent before this call is committed.
    pub fn flush(&self) -> Result<()> {
        if let Some(child) = self.here() {
            return child.flush();
        }
        if let Some(link) = &self.inner.link {
            return link.flush();
        }
        let (done_tx, done_rx) = bounded(1);
        {
            let guard = self.inner.tx.read();
            let tx = guard.as_ref().ok_or(LogError::Closed)?;
            tx.send(Msg::Flush(done_tx)).map_err(|_| LogError::Closed)?;
        }
        done_rx.recv().map_err(|_| LogError::Closed)
    }

    /// Stops accepting events, drains and commits the queue, stops the threads, and
    /// checkpoints the store (SQLite: the whole WAL is copied into the database file and
    /// truncated, so the database file alone holds everything). Further calls to `log_event`
    /// return [`LogError::Closed`]; queries still work. Idempotent. Dropping the last clone
    /// does the same.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Writes a consistent copy of the whole database to the new file `dest` while logging
    /// goes on (SQLite's online backup API: one snapshot holding every event committed
    /// before it started, including what this logger had queued before the call). An
    /// existing `dest` is refused.
    pub fn backup(&self, dest: &Path) -> Result<()> {
        if self.inner.tx.read().is_some() {
            self.flush()?;
        }
        Ok(self.inner.store.backup(dest)?)
    }

    /// Events matching `filter`, newest first, at most `limit` (the spec's `get_events`).
    /// Like every query of the logger it first waits for what was logged before it.
    pub fn get_events(&self, filter: &EventFilter, limit: usize) -> Result<Vec<SecurityEvent>> {
        Ok(self.query(filter, None, limit)?.events)
    }

    /// A page of events matching `filter`, newest first, continuing after `cursor`
    /// (the `next_cursor` of the previous page).
    pub fn query(
        &self,
        filter: &EventFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<EventPage> {
        self.flush()?; // read your writes: what this process logged is visible
        self.query_committed(filter, cursor, limit)
    }

    /// Like [`SecurityLogger::query`] but without waiting for the queue: the page shows what
    /// is committed now. For callers that acknowledge writes only once committed (the HTTP
    /// server answers 201 after the commit), so that a query never waits behind a busy writer.
    pub fn query_committed(
        &self,
        filter: &EventFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<EventPage> {
        if limit == 0 || limit > 10_000 {
            return Err(ValidationError::new("limit", "must be between 1 and 10000").into());
        }
        let cursor = cursor.map(Cursor::decode).transpose()?;
        Ok(self.inner.store.query_events(&self.stored_filter(filter), cursor.as_ref(), limit)?)
    }

    /// Events matching `filter` in the order they were stored, for following what arrives
    /// (`seclog tail`): with `after = None` the newest `limit`, else those stored after the
    /// `position` of a previous page, oldest first (an imported batch of old events comes
    /// after it too). What is committed now, without waiting for the queue.
    pub fn events_in_stored_order(
        &self,
        filter: &EventFilter,
        after: Option<u64>,
        limit: usize,
    ) -> Result<StoredPage> {
        if limit == 0 || limit > 10_000 {
            return Err(ValidationError::new("limit", "must be between 1 and 10000").into());
        }
        Ok(self.inner.store.events_in_stored_order(&self.stored_filter(filter), after, limit)?)
    }

    /// `filter` as the store matches it: the session id hashed as it is stored.
    fn stored_filter(&self, filter: &EventFilter) -> EventFilter {
        let mut filter = filter.clone();
        if let Some(s) = filter.session_id.take() {
            filter.session_id = Some(self.inner.redactor.hash_session_id(&s));
        }
        filter
    }

    /// One event by id.
    pub fn get_event(&self, event_id: &str) -> Result<Option<SecurityEvent>> {
        self.flush()?;
        Ok(self.inner.store.get_event(event_id)?)
    }

    /// Statistics: the spec's `total_events`, `recent_activity_24h`, `blocked_ips` and more.
    pub fn get_statistics(&self) -> Result<Statistics> {
        self.flush()?;
        let now = self.inner.clock.now();
        let mut s = self.inner.store.statistics(now)?;
        s.events_dropped = self.inner.stats.dropped.load(Ordering::Relaxed);
        s.blocked_ips = self
            .inner
            .blocklist
            .active(now)
            .iter()
            .filter(|d| d.scope != seclog_core::monitor::Scope::User)
            .count() as u64;
        Ok(s)
    }

    /// The current time of the logger's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }
}

impl Inner {
    fn close(&self) {
        if std::process::id() != self.pid {
            // A child made by `fork`: the threads are the parent's.
            self.forget_in_child();
            if let Some(c) = self.child.lock().take() {
                c.close();
            }
            return;
        }
        if let Some(link) = &self.link {
            link.close();
        }
        // No more requests from other processes, then the queue drains as usual.
        drop(self.host.lock().take());
        // Taking the write lock waits for senders in flight, then no new sender can start.
        drop(self.tx.write().take());
        if let Some(h) = self.writer.lock().take() {
            let _ = h.join();
        }
        if let Some((stop, h)) = self.retention.lock().take() {
            drop(stop);
            let _ = h.join();
        }
        // Every commit is in: the database file alone is to hold them all. Incomplete when
        // another process uses the database (its own close completes it).
        // A client leaves that to the engine, whose writer it must not hold up, unless no
        // engine runs any more (the engine's own close found the database in use).
        let free = self
            .link
            .is_some()
            .then(|| EngineLock::try_acquire(&crate::engine::lock_path(&self.config.db_file)));
        if matches!(free, Some(Ok(None) | Err(_))) {
            return;
        }
        match self.store.checkpoint() {
            Ok(true) => {}
            Ok(false) => tracing::debug!("final checkpoint incomplete: the database is in use"),
            Err(e) => tracing::warn!(error = %e, "final checkpoint failed"),
        }
        drop(self.lock.lock().take());
    }

    /// In a child made by `fork`: lets go of the parent's threads, socket and lock without
    /// stopping, joining or unlocking them (they are the parent's). Idempotent.
    fn forget_in_child(&self) {
        if let Some(h) = self.writer.lock().take() {
            std::mem::forget(h);
        }
        if let Some(r) = self.retention.lock().take() {
            std::mem::forget(r);
        }
        if let Some(tx) = self.tx.write().take() {
            std::mem::forget(tx);
        }
        if let Some(host) = self.host.lock().take() {
            host.forget_in_child();
        }
        if let Some(lock) = self.lock.lock().take() {
            lock.forget_in_child();
        }
        if let Some(link) = &self.link {
            link.forget_in_child();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

fn start_retention(
    config: &Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    stats: Arc<WriterStats>,
) -> Result<(Sender<()>, JoinHandle<()>)> {
    let (stop_tx, stop_rx) = bounded::<()>(0);
    let every = Duration::from_secs(config.retention_interval_secs.max(1));
    let days = i64::from(config.retention_days);
    let max = config.max_events;
    let avoid = config.writer_cpu;
    let handle = std::thread::Builder::new()
        .name("seclog-retention".into())
        .spawn(move || {
            if let Some(cpu) = avoid {
                // Best effort, like the checkpoint thread's (the pass works either way).
                let _ = seclog_store::affinity::avoid_cpu_current_thread(cpu);
            }
            loop {
                let cutoff = clock.now() - time::Duration::days(days);
                if let Err(e) = store.purge_events(Some(cutoff), Some(max)) {
                    tracing::error!(error = %e, "retention purge failed");
                }
                stats.retention_passes.fetch_add(1, Ordering::Relaxed);
                match stop_rx.recv_timeout(every) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                    _ => break,
                }
            }
        })
        .map_err(|e| LogError::Io(format!("cannot start the retention thread: {e}")))?;
    Ok((stop_tx, handle))
}

/// Why the engine did not store an event a client sent: the event's own mistake (it names the
/// field), or a refusal at commit.
fn engine_refusal(e: crate::engine::wire::ItemError) -> LogError {
    match e.field {
        Some(field) if e.code == "invalid" => ValidationError::new(field, e.message).into(),
        _ => refused_error(),
    }
}

/// What a durable write answers for an event the store refused after accepting it.
fn refused_error() -> LogError {
    LogError::Store(seclog_store::StoreError::Database(
        "the event was refused by the store (a duplicate event_id?)".into(),
    ))
}

/// Opens a logger on the database at `path` with otherwise default settings.
pub fn open(path: &Path) -> Result<SecurityLogger> {
    SecurityLogger::new(Config { db_file: path.to_path_buf(), ..Config::default() })
}
