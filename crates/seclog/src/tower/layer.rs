//! [`SecurityLayer`] and the [`SecurityService`] it wraps around an inner service.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use http::uri::PathAndQuery;
use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode, Uri};
use seclog_core::monitor::BlockInfo;
use seclog_core::{EventInput, EventType};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tower_layer::Layer;
use tower_service::Service;

use super::body::BodyInspectionLayer;
use super::client_ip::client_ip;
use super::config::{BlockedResponse, SecurityLayerConfig, StatusTable};
use super::future::{Pending, ResponseFuture};
use super::query::redact_query;
use super::request_log::Seen;
use super::scan::{str_prefix, Scan};
use super::throttle::{Throttle, Verdict};
use super::{RequestLog, UserId};
use crate::logger::SecurityLogger;

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
    /// Refusals counted in `blocked` but not logged: the client's refusal was already logged
    /// within [`SecurityLayerConfig::blocked_log_interval`].
    pub blocked_not_logged: AtomicU64,
    /// Request bodies the attack detector looked at ([`SecurityLayer::body_inspection`]).
    pub bodies_inspected: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) logger: SecurityLogger,
    pub(crate) config: SecurityLayerConfig,
    pub(crate) stats: LayerStats,
    /// `config`'s status map as a table.
    pub(crate) statuses: StatusTable,
    throttle: Throttle,
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
        let throttle = Throttle::new(config.blocked_log_interval);
        let stats = LayerStats::default();
        let statuses = config.status_table();
        SecurityLayer { shared: Arc::new(Shared { logger, config, stats, statuses, throttle }) }
    }

    /// The layer's counters.
    pub fn stats(&self) -> &LayerStats {
        &self.shared.stats
    }

    /// The layer that runs the attack detector on form and JSON request bodies, sharing this
    /// layer's logger, configuration and counters (see [`BodyInspectionLayer`]). It inspects
    /// only with [`SecurityLayerConfig::detect_attacks`] on.
    pub fn body_inspection(&self) -> BodyInspectionLayer {
        BodyInspectionLayer::new(self.shared.clone())
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
        let log = shared.request_log(req.method(), req.uri(), req.headers(), req.extensions());
        let meta = log.meta();

        // One snapshot load and one hash lookup when nothing matches; the clock is read only
        // when a decision does.
        let blocklist = shared.logger.blocklist();
        let now = || shared.logger.now();
        let block = match log.client_ip().and_then(|ip| blocklist.check_ip_with(ip, now)) {
            Some(b) => Some((b, EventType::RateLimitingBlocked)),
            None => meta
                .user
                .as_deref()
                .and_then(|u| blocklist.check_user_with(u, now))
                .map(|b| (b, EventType::ApiAccessDenied)),
        };
        if let Some((info, ty)) = block {
            let res = shared.refuse_blocked(info, ty, &log);
            log.recycle();
            return ResponseFuture::ready(res);
        }

        if shared.config.detect_attacks {
            if let Some(query) = meta.query().filter(|q| !q.is_empty()) {
                let mut scan = Scan::default();
                scan.pairs(str_prefix(query, shared.config.max_inspected_bytes));
                if let Some(status) = shared.report(scan, "query", &log) {
                    log.recycle();
                    return ResponseFuture::ready(error_response(status, REFUSED_BODY));
                }
            }
        }

        req.extensions_mut().insert(log.clone());
        let future = self.inner.call(req);
        // The future stays small (two pointers besides the inner future): it is moved a few
        // times on its way to the connection task.
        ResponseFuture::pending(future, Pending { shared: shared.clone(), log })
    }
}

/// The `X-Request-Id` (when valid: non-empty, at most 128 visible ASCII characters) and the
/// `User-Agent` of a request, in one pass over its few headers instead of two hashed lookups.
pub(crate) fn scan_headers(headers: &HeaderMap) -> (Option<&HeaderValue>, Option<&HeaderValue>) {
    let (mut request_id, mut user_agent) = (None, None);
    for (name, value) in headers {
        if name == USER_AGENT {
            user_agent = user_agent.or(Some(value));
        } else if name == X_REQUEST_ID {
            request_id = request_id.or(Some(value));
        }
    }
    let valid = |v: &&HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty() && b.len() <= 128 && b.iter().all(u8::is_ascii_graphic)
    };
    (request_id.filter(valid), user_agent)
}

impl Shared {
    /// The per-request state of `req`: client IP (peer or trusted proxy header), request id,
    /// and what is kept to log its response (cheap: the URI and header value clones share
    /// their bytes).
    pub(crate) fn request_log(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        ext: &Extensions,
    ) -> RequestLog {
        let (request_id, user_agent) = scan_headers(headers);
        let peer = (self.config.peer_addr)(ext).map(|a| a.ip());
        let ip = client_ip(peer, headers, &self.config.trusted);
        RequestLog::new(Seen {
            ip,
            request_id,
            method,
            path_and_query: uri.path_and_query(),
            user_agent,
            user: ext.get::<UserId>().map(|u| u.0.as_str()),
        })
    }

    /// The answer to a blocked client; the refusal is counted, and logged unless this client's
    /// refusal was already logged within the throttle interval.
    fn refuse_blocked<B: From<String>>(
        &self,
        info: BlockInfo,
        ty: EventType,
        log: &RequestLog,
    ) -> Response<B> {
        let meta = log.meta();
        self.stats.blocked.fetch_add(1, Ordering::Relaxed);
        let now = self.logger.now();
        let res = blocked_response::<B>(self.config.blocked, &info, now);
        let verdict = match (ty, log.client_ip(), meta.user.as_deref()) {
            (EventType::RateLimitingBlocked, Some(ip), _) => {
                self.throttle.check(&ip, now.unix_timestamp())
            }
            (_, _, Some(user)) => self.throttle.check(user, now.unix_timestamp()),
            _ => Verdict::Log { unlogged: 0 },
        };
        match verdict {
            Verdict::Skip => {
                self.stats.blocked_not_logged.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::Log { unlogged } => {
                let mut details =
                    json!({"decision_id": info.decision.id, "origin": info.decision.origin});
                if unlogged > 0 {
                    details["refusals_not_logged"] = Value::from(unlogged);
                }
                self.log(ty, log, res.status(), meta.user.clone(), Some(details));
            }
        }
        res
    }

    /// Builds and hands over an event without waiting; counts the outcome.
    pub(crate) fn log(
        &self,
        ty: EventType,
        log: &RequestLog,
        status: StatusCode,
        user: Option<String>,
        details: Option<Value>,
    ) {
        let meta = log.meta();
        let path = meta.path_and_query.as_ref().map_or("", PathAndQuery::path);
        let url = match meta.query() {
            Some(q) => format!("{path}?{}", redact_query(q)),
            None => path.to_string(),
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

    /// Logs the most confident finding of `scan` as its attack type (`detected_in`: "query"
    /// or "body"). Returns the refusal status when the request is to be refused.
    pub(crate) fn report(
        &self,
        scan: Scan,
        detected_in: &str,
        log: &RequestLog,
    ) -> Option<StatusCode> {
        let best = scan.best?;
        self.stats.attacks.fetch_add(1, Ordering::Relaxed);
        let status = self.config.refuse_attacks.unwrap_or(StatusCode::OK);
        let details = json!({"detected_in": detected_in, "indicators": scan.indicators});
        let user = log.meta().user.clone();
        self.log(best.class.event_type(), log, status, user, Some(details));
        self.config.refuse_attacks
    }
}

/// The body of the answer to a blocked client.
const BLOCKED_BODY: &str =
    r#"{"error":{"code":"blocked","message":"access from this client is blocked"}}"#;
/// The body of the 429 answer to a blocked client.
const RETRY_BODY: &str =
    r#"{"error":{"code":"blocked","message":"too many requests; retry later"}}"#;
/// The body of the answer to a request refused for an attack pattern.
pub(crate) const REFUSED_BODY: &str =
    r#"{"error":{"code":"rejected","message":"request refused"}}"#;

fn blocked_response<B: From<String>>(
    how: BlockedResponse,
    info: &BlockInfo,
    now: OffsetDateTime,
) -> Response<B> {
    match how {
        BlockedResponse::Forbidden => error_response(StatusCode::FORBIDDEN, BLOCKED_BODY),
        BlockedResponse::TooManyRequests => {
            let mut res = error_response(StatusCode::TOO_MANY_REQUESTS, RETRY_BODY);
            if let Some(until) = info.until() {
                let secs = (until - now).as_seconds_f64().ceil().max(1.0);
                // Saturating float-to-int conversion: an absurd `until` cannot panic.
                let secs = secs as u64;
                res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            res
        }
    }
}

/// A JSON error answer with a fixed body.
pub(crate) fn error_response<B: From<String>>(status: StatusCode, body: &str) -> Response<B> {
    let mut res = Response::new(B::from(body.to_owned()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}
