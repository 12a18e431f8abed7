//! [`SecurityLayer`] and the [`SecurityService`] it wraps around an inner service.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderValue, RETRY_AFTER, USER_AGENT};
use http::{Method, Request, Response, StatusCode, Uri};
use seclog_core::detect::detect;
use seclog_core::monitor::BlockInfo;
use seclog_core::{EventInput, EventType};
use serde_json::{json, Value};
use tower_layer::Layer;
use tower_service::Service;

use super::client_ip::client_ip;
use super::config::{BlockedResponse, SecurityLayerConfig};
use super::future::{Pending, ResponseFuture};
use super::query::{percent_decode, redact_query};
use super::{RequestLog, UserId};
use crate::logger::SecurityLogger;

/// Counters of a [`SecurityLayer`] (shared by every service it made).
#[derive(Debug, Default)]
pub struct LayerStats {
    /// Requests refused because the client IP or user was under a decision.
    pub blocked: AtomicU64,
    /// Events the layer handed to the logger.
    pub logged: AtomicU64,
    /// Events the layer could not hand over (full queue, closed logger, invalid input).
    pub dropped: AtomicU64,
    /// Requests in which the attack detector found something.
    pub attacks: AtomicU64,
    /// Responses not logged because the handler marked the request as logged.
    pub handler_logged: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) logger: SecurityLogger,
    pub(crate) config: SecurityLayerConfig,
    pub(crate) stats: LayerStats,
}

/// The tower layer: `.layer(SecurityLayer::new(logger))`. Cheap to clone; every clone and
/// every service it makes share one configuration and one [`LayerStats`].
#[derive(Debug, Clone)]
pub struct SecurityLayer {
    shared: Arc<Shared>,
}

impl SecurityLayer {
    /// A layer with the default [`SecurityLayerConfig`].
    pub fn new(logger: SecurityLogger) -> Self {
        Self::with_config(logger, SecurityLayerConfig::default())
    }

    /// A layer with `config`.
    pub fn with_config(logger: SecurityLogger, config: SecurityLayerConfig) -> Self {
        SecurityLayer { shared: Arc::new(Shared { logger, config, stats: LayerStats::default() }) }
    }

    /// The layer's counters.
    pub fn stats(&self) -> &LayerStats {
        &self.shared.stats
    }
}

impl<S> Layer<S> for SecurityLayer {
    type Service = SecurityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityService { inner, shared: self.shared.clone() }
    }
}

/// The service made by [`SecurityLayer`].
#[derive(Debug, Clone)]
pub struct SecurityService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> SecurityService<S> {
    /// The layer's counters.
    pub fn stats(&self) -> &LayerStats {
        &self.shared.stats
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SecurityService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        let config = &shared.config;
        let peer = (config.peer_addr)(req.extensions()).map(|a| a.ip());
        let ip = client_ip(peer, req.headers(), &config.trusted);
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_string);
        let log = RequestLog::new(ip, request_id);
        let meta = Meta {
            method: req.method().clone(),
            uri: req.uri().clone(),
            user_agent: req.headers().get(USER_AGENT).cloned(),
            user: req.extensions().get::<UserId>().map(|u| u.0.clone()),
        };

        let block = match ip.and_then(|ip| shared.logger.check_ip(ip)) {
            Some(b) => Some((b, EventType::RateLimitingBlocked)),
            None => meta
                .user
                .as_deref()
                .and_then(|u| shared.logger.check_user(u))
                .map(|b| (b, EventType::ApiAccessDenied)),
        };
        if let Some((info, ty)) = block {
            shared.stats.blocked.fetch_add(1, Ordering::Relaxed);
            let res = blocked_response::<ResBody>(shared, &info);
            let details = json!({"decision_id": info.decision.id, "origin": info.decision.origin});
            shared.log(ty, &meta, &log, res.status(), meta.user.clone(), Some(details));
            return ResponseFuture::ready(res);
        }

        if config.detect_attacks {
            if let Some(status) = shared.inspect_query(&meta, &log) {
                return ResponseFuture::ready(error_response(
                    status,
                    "rejected",
                    "request refused",
                ));
            }
        }

        req.extensions_mut().insert(log.clone());
        let future = self.inner.call(req);
        ResponseFuture::pending(future, Pending { shared: shared.clone(), log, meta })
    }
}

/// What the layer keeps of a request to log its response.
#[derive(Debug)]
pub(crate) struct Meta {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) user_agent: Option<HeaderValue>,
    pub(crate) user: Option<String>,
}

impl Shared {
    /// Builds and hands over an event without waiting; counts the outcome.
    pub(crate) fn log(
        &self,
        ty: EventType,
        meta: &Meta,
        log: &RequestLog,
        status: StatusCode,
        user: Option<String>,
        details: Option<Value>,
    ) {
        let url = match meta.uri.query() {
            Some(q) => format!("{}?{}", meta.uri.path(), redact_query(q)),
            None => meta.uri.path().to_string(),
        };
        let input = EventInput {
            event_type: ty.as_str().to_string(),
            user_id: user,
            ip_address: log.client_ip().map(|ip: IpAddr| ip.to_string()),
            user_agent: meta.user_agent.as_ref().and_then(|v| v.to_str().ok()).map(str::to_string),
            request_method: Some(meta.method.as_str().to_string()),
            request_url: Some(url),
            response_status: Some(i64::from(status.as_u16())),
            correlation_id: Some(log.correlation_id().to_string()),
            details,
            ..EventInput::default()
        };
        match self.logger.try_log_event(input) {
            Ok(_) => self.stats.logged.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tracing::debug!(error = %e, "security event not logged");
                self.stats.dropped.fetch_add(1, Ordering::Relaxed)
            }
        };
    }

    /// Runs the detector on each query parameter; logs the most confident finding as its
    /// attack type. Returns the refusal status when the request is to be refused.
    fn inspect_query(&self, meta: &Meta, log: &RequestLog) -> Option<StatusCode> {
        let query = meta.uri.query()?;
        let limit = self.config.max_inspected_bytes;
        let mut end = query.len().min(limit);
        while !query.is_char_boundary(end) {
            end -= 1;
        }
        let query = query.get(..end)?;
        let mut best: Option<seclog_core::detect::Finding> = None;
        let mut rules = Vec::new();
        for pair in query.split('&') {
            let value = pair.split_once('=').map_or(pair, |(_, v)| v);
            for f in detect(&percent_decode(value)) {
                rules.push(format!("{}:{}", f.class.as_str(), f.rule));
                if best.as_ref().is_none_or(|b| f.confidence > b.confidence) {
                    best = Some(f);
                }
            }
        }
        let best = best?;
        self.stats.attacks.fetch_add(1, Ordering::Relaxed);
        let status = self.config.refuse_attacks.unwrap_or(StatusCode::OK);
        let details = json!({"detected_in": "query", "indicators": rules});
        self.log(best.class.event_type(), meta, log, status, meta.user.clone(), Some(details));
        self.config.refuse_attacks
    }
}

fn blocked_response<B: From<String>>(shared: &Shared, info: &BlockInfo) -> Response<B> {
    match shared.config.blocked {
        BlockedResponse::Forbidden => {
            error_response(StatusCode::FORBIDDEN, "blocked", "access from this client is blocked")
        }
        BlockedResponse::TooManyRequests => {
            let mut res = error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "blocked",
                "too many requests; retry later",
            );
            if let Some(until) = info.until() {
                let secs = (until - shared.logger.now()).as_seconds_f64().ceil().max(1.0);
                // Saturating float-to-int conversion: an absurd `until` cannot panic.
                let secs = secs as u64;
                res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            res
        }
    }
}

fn error_response<B: From<String>>(status: StatusCode, code: &str, message: &str) -> Response<B> {
    let body = json!({"error": {"code": code, "message": message}}).to_string();
    let mut res = Response::new(B::from(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}
