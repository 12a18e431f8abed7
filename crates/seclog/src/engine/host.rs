//! The engine's side of the local socket: an HTTP/1.1 server on `<db>-engine.sock` (mode
//! 0600) with the routes of [`super::wire`], run by one thread of its own.
//!
//! A peer that does not speak HTTP gets hyper's 400 and its connection closed; every
//! connection error is logged (never trusted, never fatal to the engine).

use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use seclog_core::EventInput;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::feed::DecisionFeed;
use super::wire::{
    parse_secs, Accepted, BatchAnswer, ItemError, Lifted, NewDecision, Rejected, WatchMessage,
    BATCH_PATH, DECISIONS_PATH, HEALTH_PATH, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, WATCH_PATH,
};
use crate::error::LogError;
use crate::logger::{Inner, SecurityLogger};

/// The running socket server; dropping it stops the server and removes the socket.
pub(crate) struct EngineHost {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl std::fmt::Debug for EngineHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHost").field("path", &self.path).finish()
    }
}

/// What every request handler needs.
struct Ctx {
    logger: Weak<Inner>,
    feed: Arc<DecisionFeed>,
}

impl EngineHost {
    /// Binds `path` (a socket file left there by a dead engine is replaced: the caller holds
    /// the election lock, so nobody else can be answering on it) and starts serving.
    pub(crate) fn start(
        logger: Weak<Inner>,
        feed: Arc<DecisionFeed>,
        path: &Path,
    ) -> std::io::Result<EngineHost> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = std::os::unix::net::UnixListener::bind(path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot bind {}: {e}", path.display()))
        })?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let ctx = Arc::new(Ctx { logger, feed });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::Builder::new().name("seclog-engine".into()).spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::UnixListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "engine socket unusable");
                        return;
                    }
                };
                serve(listener, ctx, stop_rx).await;
            });
        })?;
        Ok(EngineHost { stop: Some(stop_tx), thread: Some(thread), path: path.to_path_buf() })
    }

    /// In a child created by `fork`: forgets the server (its thread is the parent's) without
    /// touching the parent's socket.
    pub(crate) fn forget_in_child(mut self) {
        if let Some(t) = self.thread.take() {
            std::mem::forget(t);
        }
        if let Some(s) = self.stop.take() {
            std::mem::forget(s);
        }
        std::mem::forget(self);
    }
}

impl Drop for EngineHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve(listener: tokio::net::UnixListener, ctx: Arc<Ctx>, mut stop: oneshot::Receiver<()>) {
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "engine socket: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, ctx.clone()));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::warn!(error = %e, "engine socket: a peer's connection failed");
            }
        });
    }
}

/// The body of every answer: a whole JSON document, or the watch stream.
enum Answer {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Answer::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Answer::Stream(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Answer::Full(Some(b)) => http_body::SizeHint::with_exact(b.len() as u64),
            Answer::Full(None) => http_body::SizeHint::with_exact(0),
            Answer::Stream(_) => http_body::SizeHint::default(),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Answer::Full(None))
    }
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Answer> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Answer::Full(Some(Bytes::from(body))));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response<Answer> {
    json(status, &serde_json::json!({ "error": code, "message": message.into() }))
}

async fn handle(req: Request<Incoming>, ctx: Arc<Ctx>) -> Result<Response<Answer>, Infallible> {
    let path = req.uri().path().to_string();
    Ok(match (req.method().clone(), path.as_str()) {
        (Method::POST, BATCH_PATH) => ingest(req, &ctx).await,
        (Method::GET, WATCH_PATH) => watch(&ctx),
        (Method::POST, DECISIONS_PATH) | (Method::DELETE, _)
            if path == DECISIONS_PATH || path.starts_with("/v1/decisions/") =>
        {
            decisions(req, &ctx).await
        }
        (Method::GET, HEALTH_PATH) => json(
            StatusCode::OK,
            &serde_json::json!({ "status": "ok", "role": "engine", "pid": std::process::id() }),
        ),
        (_, BATCH_PATH | WATCH_PATH | HEALTH_PATH) => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed")
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", format!("no route {path}")),
    })
}

async fn ingest(req: Request<Incoming>, ctx: &Ctx) -> Response<Answer> {
    let resend = req.uri().query().is_some_and(|q| q.split('&').any(|p| p == "resend=true"));
    let body = match Limited::new(req.into_body(), MAX_BATCH_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "body", format!("batch body: {e}"));
        }
    };
    let Some(inner) = ctx.logger.upgrade() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "closed", "the engine is closing");
    };
    let feed = ctx.feed.clone();
    let logger = SecurityLogger { inner };
    let answer = tokio::task::spawn_blocking(move || judge(&logger, &feed, &body, resend)).await;
    match answer {
        Ok(Ok(a)) => json(StatusCode::OK, &a),
        Ok(Err(r)) => error(r.status, r.code, r.message),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// Why a whole batch was refused.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// Parses, judges and stores one batch; answers once the accepted events are committed.
fn judge(
    logger: &SecurityLogger,
    feed: &DecisionFeed,
    body: &[u8],
    resend: bool,
) -> Result<BatchAnswer, Refusal> {
    // Usually every item is an event: one pass. Otherwise item by item, so that each bad one
    // is refused in its place.
    if let Ok(inputs) = serde_json::from_slice::<Vec<EventInput>>(body) {
        if inputs.len() <= MAX_BATCH_ITEMS {
            let indexes = (0..inputs.len()).collect();
            return judge_inputs(logger, feed, BatchAnswer::default(), indexes, inputs, resend);
        }
    }
    let items: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "malformed_json",
        message: format!("not a JSON array: {e}"),
    })?;
    if items.len() > MAX_BATCH_ITEMS {
        return Err(Refusal {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "batch",
            message: format!("more than {MAX_BATCH_ITEMS} events"),
        });
    }
    let mut answer = BatchAnswer::default();
    let mut indexes = Vec::with_capacity(items.len());
    let mut inputs = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<EventInput>(item) {
            Ok(input) => {
                indexes.push(index);
                inputs.push(input);
            }
            Err(e) => answer.rejected.push(Rejected {
                index,
                error: ItemError { code: "malformed".into(), message: e.to_string(), field: None },
            }),
        }
    }
    judge_inputs(logger, feed, answer, indexes, inputs, resend)
}

/// Judges and stores the parsed items (`indexes`: their places in the request).
fn judge_inputs(
    logger: &SecurityLogger,
    feed: &DecisionFeed,
    mut answer: BatchAnswer,
    mut indexes: Vec<usize>,
    mut inputs: Vec<EventInput>,
    resend: bool,
) -> Result<BatchAnswer, Refusal> {
    if resend {
        // Events stored before their answer was lost are not judged a second time.
        let mut keep = Vec::with_capacity(inputs.len());
        for (index, input) in indexes.drain(..).zip(inputs.drain(..)) {
            let stored = input
                .event_id
                .as_deref()
                .is_some_and(|id| logger.store().get_event(id).is_ok_and(|e| e.is_some()));
            match (&input.event_id, stored) {
                (Some(id), true) => answer.accepted.push(Accepted { index, event_id: id.clone() }),
                _ => keep.push((index, input)),
            }
        }
        (indexes, inputs) = keep.into_iter().unzip();
    }
    let results = logger.log_events_durable(inputs).map_err(|e| {
        let status = match e {
            LogError::QueueFull | LogError::CommitTimeout(_) | LogError::Closed => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Refusal { status, code: "unavailable", message: e.to_string() }
    })?;
    for (index, result) in indexes.into_iter().zip(results) {
        match result {
            Ok(event_id) => answer.accepted.push(Accepted { index, event_id }),
            Err(LogError::Invalid(v)) => answer.rejected.push(Rejected {
                index,
                error: ItemError {
                    code: "invalid".into(),
                    message: v.message,
                    field: Some(v.field),
                },
            }),
            Err(e) => answer.rejected.push(Rejected {
                index,
                error: ItemError { code: "refused".into(), message: e.to_string(), field: None },
            }),
        }
    }
    answer.rejected.sort_unstable_by_key(|r| r.index);
    answer.decision_seq = feed.seq();
    Ok(answer)
}

/// Decisions by hand from a client process, carried out by the engine (so that its block
/// list and every watch stream see them).
async fn decisions(req: Request<Incoming>, ctx: &Ctx) -> Response<Answer> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error(StatusCode::PAYLOAD_TOO_LARGE, "body", e.to_string()),
    };
    let Some(inner) = ctx.logger.upgrade() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "closed", "the engine is closing");
    };
    let logger = SecurityLogger { inner };
    let done = tokio::task::spawn_blocking(move || -> Result<Response<Answer>, LogError> {
        if method == Method::POST {
            let d: NewDecision = serde_json::from_slice(&body).map_err(|e| {
                seclog_core::ValidationError::new("body", format!("not a decision: {e}"))
            })?;
            let duration = match d.duration.as_deref() {
                None => None,
                Some(t) => Some(time::Duration::seconds(parse_secs(t).ok_or_else(|| {
                    seclog_core::ValidationError::new(
                        "duration",
                        format!("{t:?} is not <seconds>s"),
                    )
                })?)),
            };
            let made = logger.add_decision(d.scope, &d.value, duration, &d.reason, &d.by)?;
            return Ok(json(StatusCode::CREATED, &made));
        }
        if let Some(id) = path.strip_prefix("/v1/decisions/") {
            return Ok(match logger.delete_decision(id)? {
                Some(d) => json(StatusCode::OK, &d),
                None => error(StatusCode::NOT_FOUND, "not_found", format!("no decision {id}")),
            });
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for p in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let v = super::wire::decode_query_value(v).ok_or_else(|| {
                seclog_core::ValidationError::new(k, "not valid percent-encoding")
            })?;
            pairs.push((k.to_string(), v));
        }
        let selection = seclog_core::monitor::DecisionMatch::from_params(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        let lifted = logger.lift_decisions(&selection)?;
        Ok(json(
            StatusCode::OK,
            &Lifted { nb_deleted: lifted.len().to_string(), decisions: lifted },
        ))
    })
    .await;
    match done {
        Ok(Ok(r)) => r,
        Ok(Err(LogError::Invalid(v))) => json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "error": "invalid", "field": v.field, "message": v.message }),
        ),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

fn line(message: &WatchMessage) -> Bytes {
    let mut v = serde_json::to_vec(message).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// The watch stream: a snapshot, then every change; a fresh snapshot when it fell behind.
fn watch(ctx: &Ctx) -> Response<Answer> {
    let Some(inner) = ctx.logger.upgrade() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "closed", "the engine is closing");
    };
    let weak = Arc::downgrade(&inner);
    drop(inner);
    let feed = ctx.feed.clone();
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let (mut changes, mut seq) = feed.subscribe();
        let Some(first) = snapshot(&weak, seq) else { return };
        if tx.send(first).await.is_err() {
            return;
        }
        loop {
            let message = tokio::select! {
                _ = tx.closed() => return,
                m = changes.recv() => m,
            };
            let bytes = match message {
                Ok(m) if m.seq() <= seq => continue,
                Ok(m) => {
                    seq = m.seq();
                    line(&m)
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    seq = feed.seq();
                    match snapshot(&weak, seq) {
                        Some(s) => s,
                        None => return,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if tx.send(bytes).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(Answer::Stream(rx));
    r.headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-ndjson"));
    r
}

fn snapshot(logger: &Weak<Inner>, seq: u64) -> Option<Bytes> {
    let inner = logger.upgrade()?;
    let logger = SecurityLogger { inner };
    let decisions = logger.blocklist().active(logger.now());
    Some(line(&WatchMessage::Snapshot {
        seq,
        decisions,
        counted_types: super::counted_types(logger.rules()),
        engine_pid: std::process::id(),
    }))
}
