//! A [tower] layer that logs security-relevant responses and turns away blocked clients
//! before any handler runs (feature `tower`; the spec's "Flask integration" for Rust services).
//!
//! [`SecurityLayer`] wraps any `Service<http::Request<B>>` whose response body can be made
//! from a `String` (axum's `Body`, `http_body_util::Full`, `String`...). For each request it:
//!
//! 1. resolves the client IP: the peer address, or what `Forwarded` / `X-Forwarded-For` /
//!    `X-Real-IP` say when the peer is a configured trusted proxy (none by default);
//! 2. checks the IP, and the user when a [`UserId`] request extension is present, against the
//!    logger's block list (a lock-free read, no I/O). A blocked client gets 403, or 429 with
//!    `Retry-After` ([`BlockedResponse`]), and `{"error":{"code":"blocked",...}}`; the
//!    rejection is counted in [`LayerStats::blocked`] and logged as `rate_limiting_blocked`
//!    (IP) or `api_access_denied` (user), at most once per client and second
//!    ([`SecurityLayerConfig::blocked_log_interval`]). The inner service is not called;
//! 3. optionally runs the attack detector on the query parameters
//!    ([`SecurityLayerConfig::detect_attacks`]), and with [`BodyInspectionLayer`]
//!    ([`SecurityLayer::body_inspection`]) on form and JSON bodies;
//! 4. after the inner service, logs responses whose status is mapped (401 `auth_failure`,
//!    403 `authorization_failure`, 429 `rate_limiting_trigger`, 400
//!    `input_validation_violation` by default) with method, URL (secret-looking query
//!    parameters masked), user agent, status, IP, the user id of a [`UserId`] response or
//!    request extension, and `X-Request-Id` (or a generated id, then set on the response) as
//!    correlation id.
//!
//! **One failed login is one event.** The layer puts a [`RequestLog`] into the request
//! extensions. A handler that logs its own event for the request (say through
//! [`log_auth_attempt`](crate::log_auth_attempt)) calls [`RequestLog::mark_logged`] (or
//! returns a [`LoggedEvent`] response extension) and the layer does not log the response.
//! `RequestLog::client_ip` gives the handler the resolved client address to log.
//!
//! **Logging never waits**: events go through [`SecurityLogger::try_log_event`]; a full queue
//! drops the event and counts it (`writer_stats().dropped`, [`LayerStats::dropped`]) and the
//! request is served as usual.
//!
//! **Peer address.** The layer reads it from request extensions: a [`PeerAddr`] or a bare
//! `SocketAddr` by default. With axum, serve with
//! `into_make_service_with_connect_info::<SocketAddr>()` and tell the layer where axum puts it:
//! `SecurityLayerConfig::default().peer_addr(|e| e.get::<ConnectInfo<SocketAddr>>().map(|c| c.0))`
//! (see `examples/axum_login.rs`). Without a peer address no IP is checked or logged.
//!
//! **With axum**, wrap the whole router (`layer.layer(router)`, served through
//! `axum::ServiceExt::into_make_service_with_connect_info`): blocked clients are refused
//! before routing and each request costs one service call. `Router::layer(layer)` works too,
//! but axum then wraps every route and clones and boxes the layered route on each request,
//! which about doubles the layer's cost (docs/benchmarks-tower.md).
//!
//! ```
//! use std::net::SocketAddr;
//! use http::{Request, Response, StatusCode};
//! use seclog::tower::{PeerAddr, SecurityLayer};
//! use seclog::{Config, SecurityLogger};
//! use tower::{service_fn, Layer, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let logger = SecurityLogger::new(Config { db_file: ":memory:".into(), ..Config::default() })?;
//! let layer = SecurityLayer::new(logger.clone());
//! let svc = layer.layer(service_fn(|_req: Request<String>| async {
//!     let mut res = Response::new(String::from("who are you?"));
//!     *res.status_mut() = StatusCode::UNAUTHORIZED;
//!     Ok::<_, std::convert::Infallible>(res)
//! }));
//! let mut req = Request::get("/account?token=abc").body(String::new()).unwrap();
//! req.extensions_mut().insert(PeerAddr("203.0.113.7:5000".parse::<SocketAddr>().unwrap()));
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! let events = logger.get_events(&Default::default(), 10)?;
//! assert_eq!(events[0].event_type.as_str(), "auth_failure");
//! assert!(!events[0].request_url.as_deref().unwrap_or("").contains("abc"));
//! # Ok::<(), seclog::LogError>(())
//! # }).unwrap();
//! ```
//!
//! [tower]: https://docs.rs/tower
//! [`SecurityLogger::try_log_event`]: crate::SecurityLogger::try_log_event

mod body;
mod client_ip;
mod config;
mod future;
mod layer;
mod query;
mod request_log;
mod scan;
mod throttle;

use std::net::SocketAddr;

use http::Extensions;

pub use body::{BodyFuture, BodyInspectionLayer, BodyInspectionService, InspectedBody};
pub use client_ip::normalize_ip;
pub use config::{default_peer_addr, BlockedResponse, PeerAddrFn, SecurityLayerConfig};
pub use future::ResponseFuture;
pub use layer::{LayerStats, SecurityLayer, SecurityService};
pub use query::redact_query;
pub use request_log::RequestLog;

/// The peer address of a connection, as a request extension (for servers other than axum's
/// `ConnectInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The authenticated user: as a request extension it is checked against account locks and
/// logged; as a response extension it names the user of the logged event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserId(pub String);

/// A response extension telling the layer the handler already logged this request's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoggedEvent;

/// Marks the request whose extensions are `ext` as logged by the handler (see
/// [`RequestLog::mark_logged`]). Returns false when the layer is not in front (no
/// [`RequestLog`]).
pub fn mark_logged(ext: &Extensions) -> bool {
    ext.get::<RequestLog>().map(RequestLog::mark_logged).is_some()
}
