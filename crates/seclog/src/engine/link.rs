//! A client process's link to the engine: events out, decisions in, over the engine's socket.
//!
//! One thread of its own runs two tasks: the **sender** takes events from a bounded queue,
//! batches those nobody waits for, and posts them to `/v1/events/batch`; the **watcher**
//! follows `/v1/decisions/watch` into this process's [`BlockList`]. When the engine does not
//! answer, events wait in a buffer of at most `queue_capacity` (the oldest dropped and
//! counted beyond that), the sender retries, and when the engine's lock is free it takes the
//! role over ([`Shared::promote`]).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use parking_lot::{Condvar, Mutex};
use seclog_core::monitor::{BlockList, Decision};
use seclog_core::EventInput;
use tokio::sync::mpsc;

use super::lock::EngineLock;
use super::wire::{BatchAnswer, WatchMessage, BATCH_PATH, RESEND_PATH, WATCH_PATH};
use super::LinkStatus;
use crate::config::Config;
use crate::error::{LogError, Result};
use crate::logger::SecurityLogger;

/// Most jobs (events, mostly) waiting for the link's thread: when the engine is slower than the
/// application, `log_event` waits (or drops, with `queue_full_policy = drop`) beyond that,
/// rather than the client holding tens of megabytes of events the engine has queued anyway.
const MAX_QUEUED_JOBS: usize = 2_048;
/// Most events in one request.
const BATCH: usize = 5_000;
/// Longest wait between two attempts to reach the engine.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// How long a new client waits for the engine's first snapshot of its decisions.
const SYNC_WAIT: Duration = Duration::from_secs(1);
/// How long an event a rule counts waits for an engine when none answers.
const FAILOVER_WAIT: Duration = Duration::from_secs(2);
/// How long a judged event waits for its decisions to reach this process's block list.
const DECISION_WAIT: Duration = Duration::from_millis(100);

/// What the sender is asked to do.
enum Job {
    /// Send these events; answer on `reply` once the engine has judged them.
    Events { events: Vec<EventInput>, reply: Option<std::sync::mpsc::SyncSender<Sent>> },
    /// Answer once everything queued before is sent (or buffered: the engine is away).
    Flush(std::sync::mpsc::SyncSender<()>),
    /// One request of an operator action, after everything queued before.
    Call {
        method: Method,
        path: String,
        body: Bytes,
        reply: std::sync::mpsc::SyncSender<std::io::Result<(StatusCode, Bytes)>>,
    },
}

/// The outcome of a judged send.
pub(crate) enum Sent {
    /// The engine judged and stored (or refused) the events.
    Judged(BatchAnswer),
    /// The engine did not answer; the events are buffered and will be resent.
    Buffered,
}

/// State shared by the link's thread and the logger.
pub(crate) struct Shared {
    pub(crate) blocklist: Arc<BlockList>,
    config: Config,
    socket: PathBuf,
    lock: PathBuf,
    counted: ArcSwap<Vec<String>>,
    /// The decision sequence number the watch stream has applied, and whether a snapshot
    /// has arrived at all.
    applied: Mutex<(u64, bool)>,
    applied_cv: Condvar,
    connected: AtomicBool,
    buffered: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    promotions: AtomicU64,
    /// A send of buffered events failed: they may have reached an engine (stored, the answer
    /// lost), so they are resent marked as such until the buffer is empty.
    resending: AtomicBool,
    /// The engine this process started when the previous one went away.
    promoted: Mutex<Option<SecurityLogger>>,
}

/// The client side of the engine's socket.
pub(crate) struct Link {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    pub(crate) shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("socket", &self.shared.socket).finish()
    }
}

impl Link {
    /// Starts the link of a client of the engine of `config.db_file`.
    pub(crate) fn start(
        config: Config,
        blocklist: Arc<BlockList>,
        counted: Vec<String>,
    ) -> Result<Link> {
        let shared = Arc::new(Shared {
            blocklist,
            socket: super::socket_path(&config.db_file),
            lock: super::lock_path(&config.db_file),
            config,
            counted: ArcSwap::from_pointee(counted),
            applied: Mutex::new((0, false)),
            applied_cv: Condvar::new(),
            connected: AtomicBool::new(false),
            buffered: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            promotions: AtomicU64::new(0),
            resending: AtomicBool::new(false),
            promoted: Mutex::new(None),
        });
        let (tx, rx) = mpsc::channel(shared.config.queue_capacity.clamp(1, MAX_QUEUED_JOBS));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| LogError::Io(format!("cannot start the engine link: {e}")))?;
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("seclog-link".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let watcher = tokio::spawn(watch_forever(s.clone()));
                    send_loop(&s, rx).await;
                    watcher.abort();
                });
            })
            .map_err(|e| LogError::Io(format!("cannot start the engine link: {e}")))?;
        // Briefly: an engine that is starting or gone leaves the client with what is stored.
        shared.wait_synced(SYNC_WAIT);
        Ok(Link { jobs: Mutex::new(Some(tx)), shared, thread: Mutex::new(Some(thread)) })
    }

    /// Whether some rule of the engine counts events of this type.
    pub(crate) fn counts(&self, event_type: &str) -> bool {
        self.shared.counted.load().binary_search_by(|t| t.as_str().cmp(event_type)).is_ok()
    }

    fn send_job(&self, job: Job, wait_for_room: bool) -> Result<()> {
        let guard = self.jobs.lock();
        let tx = guard.as_ref().ok_or(LogError::Closed)?.clone();
        drop(guard);
        match tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(LogError::Closed),
            Err(mpsc::error::TrySendError::Full(job)) => {
                if !wait_for_room || tokio::runtime::Handle::try_current().is_ok() {
                    // Never block inside an async runtime: count and refuse.
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    return Err(LogError::QueueFull);
                }
                tx.blocking_send(job).map_err(|_| LogError::Closed)
            }
        }
    }

    /// Queues events that nobody waits for.
    pub(crate) fn submit_async(&self, events: Vec<EventInput>, wait_for_room: bool) -> Result<()> {
        let n = events.len() as u64;
        self.send_job(Job::Events { events, reply: None }, wait_for_room)?;
        self.shared.buffered.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }

    /// Sends events and waits until the engine has judged them and their decisions have
    /// reached this process's block list (or until the engine is found unreachable: then they
    /// are buffered and [`Sent::Buffered`] is returned).
    pub(crate) fn submit_judged(&self, events: Vec<EventInput>) -> Result<Sent> {
        let n = events.len() as u64;
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.send_job(Job::Events { events, reply: Some(reply) }, true)?;
        self.shared.buffered.fetch_add(n, Ordering::Relaxed);
        let timeout = Duration::from_millis(self.shared.config.durable_timeout_ms);
        let sent = answer
            .recv_timeout(timeout)
            .map_err(|_| LogError::CommitTimeout(self.shared.config.durable_timeout_ms))?;
        if let Sent::Judged(a) = &sent {
            self.shared.wait_applied(a.decision_seq, DECISION_WAIT);
        }
        Ok(sent)
    }

    /// Waits until everything queued before is sent, or buffered because the engine is away.
    pub(crate) fn flush(&self) -> Result<()> {
        let (reply, done) = std::sync::mpsc::sync_channel(1);
        self.send_job(Job::Flush(reply), true)?;
        let ms = self.shared.config.durable_timeout_ms;
        done.recv_timeout(Duration::from_millis(ms)).map_err(|_| LogError::CommitTimeout(ms))
    }

    /// Sends one request to the engine (an operator action: decisions by hand) after what is
    /// queued, and returns its status and body. An error when no engine answers.
    pub(crate) fn call(
        &self,
        method: Method,
        path: String,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes)> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.send_job(Job::Call { method, path, body: Bytes::from(body), reply }, true)?;
        let ms = self.shared.config.durable_timeout_ms;
        answer
            .recv_timeout(Duration::from_millis(ms))
            .map_err(|_| LogError::CommitTimeout(ms))?
            .map_err(|e| LogError::Io(format!("the engine did not answer: {e}")))
    }

    /// How the link stands.
    pub(crate) fn status(&self) -> LinkStatus {
        let s = &self.shared;
        LinkStatus {
            connected: s.connected.load(Ordering::Relaxed),
            buffered: s.buffered.load(Ordering::Relaxed),
            sent: s.sent.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            promotions: s.promotions.load(Ordering::Relaxed),
        }
    }

    /// Sends what is queued (as long as an engine answers), then stops the link's thread and
    /// closes the engine this process took over, if any.
    pub(crate) fn close(&self) {
        drop(self.jobs.lock().take());
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
        if let Some(engine) = self.shared.promoted.lock().take() {
            engine.close();
        }
    }

    /// In a child created by `fork`: forgets the link (its thread is the parent's).
    pub(crate) fn forget_in_child(&self) {
        if let Some(t) = self.thread.lock().take() {
            std::mem::forget(t);
        }
        if let Some(tx) = self.jobs.lock().take() {
            std::mem::forget(tx);
        }
        if let Some(engine) = self.shared.promoted.lock().take() {
            std::mem::forget(engine);
        }
    }
}

impl Shared {
    /// Waits until the engine's first snapshot is applied (at most `timeout`), so that a new
    /// client's block checks start from the engine's decisions, not only the stored ones.
    pub(crate) fn wait_synced(&self, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        let mut applied = self.applied.lock();
        while !applied.1 {
            if self.applied_cv.wait_until(&mut applied, deadline).timed_out() {
                return;
            }
        }
    }

    /// Waits until the watch stream has applied decision `seq` (at most `timeout`).
    fn wait_applied(&self, seq: u64, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        let mut applied = self.applied.lock();
        while applied.0 < seq {
            if self.applied_cv.wait_until(&mut applied, deadline).timed_out() {
                return;
            }
        }
    }

    fn set_applied(&self, seq: u64) {
        *self.applied.lock() = (seq, true);
        self.applied_cv.notify_all();
    }

    fn apply(&self, message: WatchMessage) {
        let seq = message.seq();
        match message {
            WatchMessage::Snapshot { decisions, mut counted_types, .. } => {
                let keep: std::collections::HashSet<&str> =
                    decisions.iter().map(|d| d.id.as_str()).collect();
                let now = time::OffsetDateTime::now_utc();
                for d in self.blocklist.active(now) {
                    if !keep.contains(d.id.as_str()) {
                        self.blocklist.remove(&d.id);
                    }
                }
                self.apply_decisions(&decisions);
                counted_types.sort();
                self.counted.store(Arc::new(counted_types));
            }
            WatchMessage::New { decision, .. } => self.apply_decisions(&[decision]),
            WatchMessage::Deleted { id, .. } => {
                self.blocklist.remove(&id);
            }
        }
        self.set_applied(seq);
    }

    fn apply_decisions(&self, decisions: &[Decision]) {
        if let Err(e) = self.blocklist.apply(decisions) {
            tracing::warn!(error = %e, "the engine sent a decision this process cannot apply");
        }
    }

    /// Takes the engine role over when its lock is free (the engine's process ended):
    /// starts an engine in this process behind the socket. Returns whether it did.
    fn promote(&self) -> bool {
        if self.promoted.lock().is_some() {
            return false;
        }
        let lock = match EngineLock::try_acquire(&self.lock) {
            Ok(Some(lock)) => lock,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "engine lock unusable");
                return false;
            }
        };
        match SecurityLogger::new_engine(self.config.clone(), lock) {
            Ok(engine) => {
                tracing::warn!(
                    pid = std::process::id(),
                    "the engine went away: this process took it over"
                );
                *self.promoted.lock() = Some(engine);
                self.promotions.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "could not take the engine over");
                false
            }
        }
    }
}

type Conn = SendRequest<Full<Bytes>>;

async fn connect(path: &std::path::Path) -> std::io::Result<Conn> {
    let stream = tokio::net::UnixStream::connect(path).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn request(method: Method, path: &str, body: Bytes) -> std::io::Result<Request<Full<Bytes>>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, "seclog-engine")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .map_err(std::io::Error::other)
}

/// Posts one batch; `Err` when the engine did not answer with a batch answer. `resend`: the
/// events may have been stored by an engine whose answer was lost (the engine then skips
/// those it has, instead of judging them twice).
async fn post(
    conn: &mut Option<Conn>,
    shared: &Shared,
    events: &[EventInput],
    resend: bool,
) -> std::io::Result<BatchAnswer> {
    let body = Bytes::from(serde_json::to_vec(events).map_err(std::io::Error::other)?);
    let path = if resend { RESEND_PATH } else { BATCH_PATH };
    let (status, bytes) = call(conn, shared, Method::POST, path, body).await?;
    if status != StatusCode::OK {
        return Err(std::io::Error::other(format!(
            "engine answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        )));
    }
    serde_json::from_slice::<BatchAnswer>(&bytes).map_err(std::io::Error::other)
}

/// One request and its whole answer.
async fn call(
    conn: &mut Option<Conn>,
    shared: &Shared,
    method: Method,
    path: &str,
    body: Bytes,
) -> std::io::Result<(StatusCode, Bytes)> {
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        *conn = Some(connect(&shared.socket).await?);
    }
    let Some(c) = conn.as_mut() else { return Err(std::io::Error::other("no connection")) };
    let result = async {
        c.ready().await.map_err(std::io::Error::other)?;
        let resp =
            c.send_request(request(method, path, body)?).await.map_err(std::io::Error::other)?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
        Ok((status, bytes))
    }
    .await;
    if result.is_err() {
        *conn = None;
    }
    result
}

/// The sender: in order, batches of the events nobody waits for, each judged send alone.
async fn send_loop(shared: &Shared, mut jobs: mpsc::Receiver<Job>) {
    let mut conn: Option<Conn> = None;
    let mut pending: VecDeque<EventInput> = VecDeque::new();
    let mut carry: Option<Job> = None;
    let mut backoff = Duration::from_millis(10);
    loop {
        let job = match carry.take() {
            Some(j) => Some(j),
            None if pending.is_empty() => jobs.recv().await,
            None => tokio::select! {
                j = jobs.recv() => j,
                _ = tokio::time::sleep(backoff) => {
                    if drain(&mut conn, shared, &mut pending).await {
                        backoff = Duration::from_millis(10);
                    } else {
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                    continue;
                }
            },
        };
        let Some(job) = job else { break };
        match job {
            Job::Flush(reply) => {
                drain(&mut conn, shared, &mut pending).await;
                let _ = reply.send(());
            }
            Job::Call { method, path, body, reply } => {
                let answer = if drain(&mut conn, shared, &mut pending).await {
                    call(&mut conn, shared, method, &path, body).await
                } else {
                    Err(std::io::Error::other("the engine is unreachable"))
                };
                let _ = reply.send(answer);
            }
            Job::Events { events, reply: None } => {
                push(shared, &mut pending, events);
                while pending.len() < BATCH {
                    match jobs.try_recv() {
                        Ok(Job::Events { events, reply: None }) => {
                            push(shared, &mut pending, events)
                        }
                        Ok(other) => {
                            carry = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                drain(&mut conn, shared, &mut pending).await;
            }
            Job::Events { events, reply: Some(reply) } => {
                // What was queued before goes first: the engine sees events in order.
                let sent = match judge(&mut conn, shared, &mut pending, &events).await {
                    Some(answer) => {
                        sent_ok(shared, events.len());
                        reached(shared, true);
                        Sent::Judged(answer)
                    }
                    None => {
                        push(shared, &mut pending, events);
                        reached(shared, false);
                        Sent::Buffered
                    }
                };
                let _ = reply.send(sent);
            }
        }
    }
    // Closing: what is left goes out if an engine answers (a few tries), else it is lost
    // and counted.
    for _ in 0..3 {
        if drain(&mut conn, shared, &mut pending).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !pending.is_empty() {
        let n = pending.len() as u64;
        shared.dropped.fetch_add(n, Ordering::Relaxed);
        shared
            .buffered
            .fetch_sub(n.min(shared.buffered.load(Ordering::Relaxed)), Ordering::Relaxed);
        tracing::error!(events = n, "closing with events the engine never took: they are lost");
    }
}

/// Sends events a rule counts, after what is buffered. While no engine answers it keeps
/// trying (taking the engine over when its lock is free) for up to [`FAILOVER_WAIT`]: an
/// engine that exits or dies is replaced within that, and an event judged by the new engine
/// counts as exactly as before. `None`: still no engine (the caller buffers the events).
/// When the link was already down, it tries once.
async fn judge(
    conn: &mut Option<Conn>,
    shared: &Shared,
    pending: &mut VecDeque<EventInput>,
    events: &[EventInput],
) -> Option<BatchAnswer> {
    // Patient only when the engine was there a moment ago (a failover is under way); a link
    // already known to be down tries once, so that the caller is not held up each time.
    let patient = shared.connected.load(Ordering::Relaxed);
    let deadline =
        tokio::time::Instant::now() + if patient { FAILOVER_WAIT } else { Duration::ZERO };
    let mut pause = Duration::from_millis(2);
    let mut resend = false;
    loop {
        // What was queued before goes first: the engine sees events in order.
        if drain(conn, shared, pending).await {
            if let Ok(answer) = post(conn, shared, events, resend).await {
                return Some(answer);
            }
            resend = true;
            if shared.promote() {
                continue;
            }
        }
        if tokio::time::Instant::now() + pause > deadline {
            return None;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn push(shared: &Shared, pending: &mut VecDeque<EventInput>, events: Vec<EventInput>) {
    pending.extend(events);
    let cap = shared.config.queue_capacity.max(1);
    while pending.len() > cap {
        pending.pop_front();
        shared.dropped.fetch_add(1, Ordering::Relaxed);
        shared.buffered.fetch_sub(1, Ordering::Relaxed);
    }
}

fn sent_ok(shared: &Shared, n: usize) {
    shared.sent.fetch_add(n as u64, Ordering::Relaxed);
    shared.buffered.fetch_sub(n as u64, Ordering::Relaxed);
}

fn reached(shared: &Shared, ok: bool) {
    shared.connected.store(ok, Ordering::Relaxed);
}

/// Sends the buffered events in batches; false when the engine did not answer (they stay
/// buffered, in order). Tries to take the engine over when it is gone.
async fn drain(
    conn: &mut Option<Conn>,
    shared: &Shared,
    pending: &mut VecDeque<EventInput>,
) -> bool {
    while !pending.is_empty() {
        let n = pending.len().min(BATCH);
        let batch: Vec<EventInput> = pending.iter().take(n).cloned().collect();
        let resend = shared.resending.load(Ordering::Relaxed);
        match post(conn, shared, &batch, resend).await {
            Ok(answer) => {
                for r in &answer.rejected {
                    // A resend of an event stored before its answer was lost is refused as
                    // a duplicate: it is stored. Anything else is logged.
                    if r.error.code != "refused" {
                        tracing::warn!(code = %r.error.code, message = %r.error.message, "the engine rejected an event");
                    }
                }
                pending.drain(..n);
                sent_ok(shared, n);
                reached(shared, true);
                if pending.is_empty() {
                    shared.resending.store(false, Ordering::Relaxed);
                }
            }
            Err(e) => {
                reached(shared, false);
                shared.resending.store(true, Ordering::Relaxed);
                tracing::debug!(error = %e, "engine unreachable");
                if shared.promote() {
                    continue;
                }
                return false;
            }
        }
    }
    true
}

/// Follows the watch stream, reconnecting (and, when the engine is gone, taking it over).
async fn watch_forever(shared: Arc<Shared>) {
    let mut backoff = Duration::from_millis(5);
    loop {
        match watch_once(&shared).await {
            Ok(()) => backoff = Duration::from_millis(5),
            Err(e) => tracing::debug!(error = %e, "decisions watch interrupted"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if tokio::net::UnixStream::connect(&shared.socket).await.is_err() {
            shared.promote();
        }
    }
}

async fn watch_once(shared: &Shared) -> std::io::Result<()> {
    let mut c = connect(&shared.socket).await?;
    let resp = c
        .send_request(request(Method::GET, WATCH_PATH, Bytes::new())?)
        .await
        .map_err(std::io::Error::other)?;
    if resp.status() != StatusCode::OK {
        return Err(std::io::Error::other(format!("watch answered {}", resp.status())));
    }
    let mut body = resp.into_body();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(std::io::Error::other)?;
        let Some(data) = frame.data_ref() else { continue };
        buf.extend_from_slice(data);
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            match serde_json::from_slice::<WatchMessage>(&line) {
                Ok(m) => shared.apply(m),
                Err(e) => {
                    return Err(std::io::Error::other(format!(
                        "the engine sent a bad watch line: {e}"
                    )));
                }
            }
        }
    }
    Ok(())
}
