//! `seclog serve`: the HTTP API, a thin shell over the library.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use seclog::SecurityLogger;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) mod admin;
pub(crate) mod alerts;
pub(crate) mod auth;
pub(crate) mod auth_limit;
pub(crate) mod decisions;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod openapi;

use error::{ApiError, ApiResult};
use openapi::{ErrorBody, ErrorDetail, KeySchemes};

/// Largest single-event (and other JSON) body.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;
/// Largest batch body.
pub(crate) const BATCH_LIMIT: usize = 16 * 1024 * 1024;

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) logger: SecurityLogger,
    pub(crate) keys: Arc<auth::KeyCache>,
    pub(crate) auth_limit: Arc<auth_limit::FailedAuthLimiter>,
    pub(crate) streams: Arc<decisions::StreamState>,
    pub(crate) openapi: Arc<serde_json::Value>,
    pub(crate) stats: Arc<health::StatsCache>,
}

impl AppState {
    /// 503 with Retry-After when the ingest queue is full.
    pub(crate) fn check_queue(&self) -> ApiResult<()> {
        if self.logger.queue_depth() >= self.logger.config().queue_capacity {
            return Err(ApiError::unavailable("queue_full", "ingest queue full; retry later", 1));
        }
        Ok(())
    }
}

/// Runs a blocking library call off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&SecurityLogger) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let logger = st.logger.clone();
    tokio::task::spawn_blocking(move || f(&logger)).await?
}

/// Decodes a query string into pairs (400 when malformed).
pub(crate) fn params(q: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    match q {
        None | Some("") => Ok(Vec::new()),
        Some(q) => serde_urlencoded::from_str(q).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("malformed query string: {e}"),
            )
        }),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "seclog", description = "Security event logging and monitoring API"),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&KeySchemes)
)]
struct ApiDoc;

/// Every route of the server, registered once for both the router and the OpenAPI document.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(events::post_event, events::list_events))
        .routes(routes!(events::post_batch))
        .routes(routes!(events::feed))
        .routes(routes!(events::get_event))
        .routes(routes!(events::related))
        .routes(routes!(events::trail))
        .routes(routes!(events::set_status))
        .routes(routes!(events::add_note))
        .routes(routes!(events::add_remediation))
        .routes(routes!(events::escalate))
        .routes(routes!(alerts::statistics))
        .routes(routes!(alerts::ips))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(alerts::get_alert))
        .routes(routes!(alerts::acknowledge))
        .routes(routes!(alerts::resolve))
        .routes(routes!(decisions::list, decisions::add, decisions::delete_matching))
        .routes(routes!(decisions::stream))
        .routes(routes!(admin::list_decisions))
        .routes(routes!(admin::rules))
        .routes(routes!(admin::purge))
        .routes(routes!(decisions::delete))
        .routes(routes!(health::health))
        .routes(routes!(health::metrics))
        .routes(routes!(health::openapi))
}

/// The document as served: the schemas written as JSON put in place.
fn openapi_json(doc: &utoipa::openapi::OpenApi) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(doc)?;
    openapi::unwrap_raw(&mut v);
    Ok(v)
}

/// The routes served without an API key.
pub(crate) const KEYLESS_ROUTES: &[&str] = &["/health", "/openapi.json"];

/// States the 429 of the failed-key rate limit ([`auth_limit`]) on every route that takes a
/// key.
fn document_failed_key_limit(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{header::HeaderBuilder, ResponseBuilder};
    let response = ResponseBuilder::new()
        .description(
            "too many requests with a missing or invalid API key from this address (a valid \
             key is never refused)",
        )
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("seconds until the address may try another key"))
                .build(),
        )
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        if KEYLESS_ROUTES.contains(&path.as_str()) {
            continue;
        }
        let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            op.responses.responses.insert("429".into(), response.clone().into());
        }
    }
}

/// Builds the application for `logger`.
pub(crate) fn app(logger: SecurityLogger) -> anyhow::Result<Router> {
    let _ = health::prometheus();
    let (router, mut doc) = api().split_for_parts();
    // The event schema states the size limits in force, which the configuration may change.
    if let Some(c) = doc.components.as_mut() {
        let limits = &logger.config().limits;
        c.schemas.insert("EventInput".into(), openapi::EventIn::schema_for(limits));
    }
    document_failed_key_limit(&mut doc);
    let state = AppState {
        logger,
        keys: Arc::default(),
        auth_limit: Arc::default(),
        streams: Arc::default(),
        openapi: Arc::new(openapi_json(&doc)?),
        stats: Arc::default(),
    };
    Ok(router
        .fallback(health::not_found)
        .method_not_allowed_fallback(health::method_not_allowed)
        .layer(axum::middleware::from_fn(health::track))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state))
}

/// Serves `app` on `listener` until SIGTERM/SIGINT, then finishes in-flight requests.
pub(crate) async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
