//! `/health`, `/metrics` (Prometheus) and `/openapi.json`, plus the request metrics layer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::openapi::{Busy, Keyed, Open};
use super::{blocking, AppState};

const HTTP_HIST: &str = "seclog_http_request_duration_seconds";

/// The process-wide Prometheus recorder.
pub(crate) fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = || {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HTTP_HIST.into()),
                    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new())
        };
        builder().install_recorder().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "metrics recorder not installed");
            builder().build_recorder().handle()
        })
    })
}

/// Records request latency by route and status.
///
/// Block decisions are not enforced here: they are for the applications and bouncers seclog
/// serves. The API answers by key, so a valid key works from any address; guessing keys is
/// rate limited instead ([`super::auth_limit`]).
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::histogram!(HTTP_HIST, "route" => route, "method" => method, "status" => status)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// Liveness, and whether the writer keeps up (queue below 90% of capacity).
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "healthy"), (status = 503, description = "writer falling behind")))]
pub(crate) async fn health(State(st): State<AppState>) -> (StatusCode, Json<Value>) {
    let l = &st.logger;
    let depth = l.queue_depth();
    let cap = l.config().queue_capacity;
    let s = l.writer_stats();
    let ok = depth.saturating_mul(10) < cap.saturating_mul(9);
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "queue_depth": depth,
        "queue_capacity": cap,
        "events_committed": s.committed.load(Ordering::Relaxed),
        "events_dropped": s.dropped.load(Ordering::Relaxed),
        "events_failed": s.failed.load(Ordering::Relaxed),
    });
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

/// Prometheus metrics: events by type, queue, drops, commit latency, alerts, decisions, HTTP.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain",
        body = String), Keyed, Busy))]
pub(crate) async fn metrics(
    State(st): State<AppState>,
    _key: super::auth::Read,
) -> ApiResult<Response> {
    let stats = st.stats.get(&st).await?;
    let l = &st.logger;
    // Decisions in force: the in-memory block list that enforces them (no store read).
    let active = l.blocklist().active(l.now()).len();
    let w = l.writer_stats();
    metrics::gauge!("seclog_queue_depth").set(l.queue_depth() as f64);
    metrics::gauge!("seclog_queue_capacity").set(l.config().queue_capacity as f64);
    metrics::counter!("seclog_events_committed_total")
        .absolute(w.committed.load(Ordering::Relaxed));
    metrics::counter!("seclog_events_dropped_total").absolute(w.dropped.load(Ordering::Relaxed));
    metrics::counter!("seclog_events_failed_total").absolute(w.failed.load(Ordering::Relaxed));
    metrics::counter!("seclog_commit_batches_total").absolute(w.batches.load(Ordering::Relaxed));
    metrics::gauge!("seclog_commit_last_seconds")
        .set(w.last_commit_micros.load(Ordering::Relaxed) as f64 / 1e6);
    metrics::counter!("seclog_commit_seconds_total_micros")
        .absolute(w.commit_micros_total.load(Ordering::Relaxed));
    metrics::gauge!("seclog_active_decisions").set(active as f64);
    metrics::gauge!("seclog_events_stored").set(stats.total_events as f64);
    let v = serde_json::to_value(&*stats).map_err(|e| ApiError::internal(&e))?;
    for (field, metric, label) in [
        ("events_by_type", "seclog_events_by_type", "type"),
        ("events_by_severity", "seclog_events_by_severity", "severity"),
        ("alerts_by_status", "seclog_alerts", "status"),
    ] {
        if let Some(map) = v.get(field).and_then(Value::as_object) {
            for (k, n) in map {
                metrics::gauge!(metric, label => k.clone()).set(n.as_f64().unwrap_or(0.0));
            }
        }
    }
    let text = prometheus().render();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// How old the store statistics behind /metrics may be.
const STATS_MAX_AGE: Duration = Duration::from_secs(60);

/// The store statistics behind /metrics (stored events by type and severity, alerts by
/// status). They count whole tables, which takes seconds on 10,000,000 events, so a scrape
/// uses a snapshot at most [`STATS_MAX_AGE`] old; an older one is served while a single
/// background task computes the next. Only the first scrape waits for the count.
#[derive(Default)]
pub(crate) struct StatsCache {
    snapshot: parking_lot::Mutex<Option<(Instant, Arc<seclog::core::Statistics>)>>,
    refreshing: AtomicBool,
}

impl StatsCache {
    async fn get(&self, st: &AppState) -> ApiResult<Arc<seclog::core::Statistics>> {
        let current = self.snapshot.lock().clone();
        match current {
            Some((at, stats)) => {
                if at.elapsed() >= STATS_MAX_AGE && !self.refreshing.swap(true, Ordering::AcqRel) {
                    let st2 = st.clone();
                    tokio::spawn(async move {
                        let cache = &st2.stats;
                        if let Err(e) = cache.refresh(&st2).await {
                            tracing::warn!(error = %e.message, "refreshing statistics failed");
                        }
                        cache.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(stats)
            }
            None => self.refresh(st).await,
        }
    }

    async fn refresh(&self, st: &AppState) -> ApiResult<Arc<seclog::core::Statistics>> {
        let stats = Arc::new(blocking(st, |l| Ok(l.get_statistics()?)).await?);
        *self.snapshot.lock() = Some((Instant::now(), stats.clone()));
        Ok(stats)
    }
}

/// The OpenAPI document of this server, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object), Open))]
pub(crate) async fn openapi(State(st): State<AppState>) -> Json<Value> {
    Json(st.openapi.as_ref().clone())
}

/// 404 for unknown routes, in JSON.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// 405 for a known route with another method, in JSON.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}
