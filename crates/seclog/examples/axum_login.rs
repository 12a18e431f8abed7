//! A small axum application protected by the seclog tower layer.
//!
//! ```text
//! cargo run -p seclog --example axum_login --features tower -- --listen 127.0.0.1:3000 --db /tmp/app.db
//! ```
//!
//! - `POST /login` with JSON `{"username", "password"}`: 200 for demo/demo, 401 otherwise. The
//!   handler logs the attempt itself (`log_auth_attempt`, with the user id) and marks the
//!   request as logged, so the layer does not log the 401 a second time.
//! - `GET /admin`: 200 with `Authorization: Bearer demo-admin`, 403 otherwise (logged by the
//!   layer as `authorization_failure`; with `Bearer demo-user` the user id is `demo`).
//! - `GET /search?q=`: 400 when `q` is longer than 100 characters (logged by the layer as
//!   `input_validation_violation`).
//!
//! With the default rules, five failed logins from one IP within 300 s block it: the sixth
//! request is answered 403 by the layer before the handler runs. The server prints
//! `listening on ADDR` once it accepts connections (`--listen 127.0.0.1:0` picks a free port).
//!
//! The layer wraps the whole router (`SecurityLayer::layer(router)`), so a blocked client is
//! refused before routing and a request costs one extra service call. Options, for overhead
//! measurements (`GET /ping` is a trivial handler; scripts/bench_tower.sh,
//! docs/benchmarks-tower.md):
//!
//! - `--no-layer`: the same router without the layer (then `POST /login` logs nothing itself);
//! - `--router-layer`: the layer added with axum's `Router::layer`, which wraps every route
//!   (axum then clones and boxes the layered route service on each request);
//! - `--detect-attacks`: the attack detector on query strings and, through
//!   `SecurityLayer::body_inspection`, on form and JSON bodies (8 KiB at most; with
//!   `--router-layer` on query strings only).

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use seclog::tower::{RequestLog, SecurityLayer, SecurityLayerConfig, UserId};
use seclog::{log_auth_attempt, Config, QueueFullPolicy, SecurityLogger};
use serde::Deserialize;
use serde_json::{json, Value};
use tower::{Layer, Service};

/// The login form.
#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// The search parameters.
#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
}

/// The routes.
fn routes(logger: SecurityLogger) -> Router {
    Router::new()
        .route("/ping", get(ping))
        .route("/login", post(login))
        .route("/admin", get(admin))
        .route("/search", get(search))
        .with_state(logger)
}

/// The security layer, reading the peer address where axum's `ConnectInfo` puts it.
fn security(logger: &SecurityLogger, detect_attacks: bool) -> SecurityLayer {
    let config = SecurityLayerConfig::default()
        .peer_addr(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0))
        .detect_attacks(detect_attacks);
    SecurityLayer::with_config(logger.clone(), config)
}

/// A trivial handler, for measuring the layer's overhead.
async fn ping() -> &'static str {
    "pong"
}

async fn login(
    State(logger): State<SecurityLogger>,
    request: Option<Extension<RequestLog>>,
    headers: HeaderMap,
    Json(form): Json<Login>,
) -> (StatusCode, Json<Value>) {
    let ok = form.username == "demo" && form.password == "demo";
    // Without the layer in front (`--no-layer`) there is no RequestLog: nothing is logged.
    if let Some(Extension(request)) = request {
        let ip = request.client_ip().map(|ip| ip.to_string());
        let ua = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
        let mut details = serde_json::Map::new();
        details.insert("correlation_id".into(), Value::from(request.correlation_id()));
        // One failed login is one event: ours, with the user id; the layer skips the 401.
        if log_auth_attempt(&logger, &form.username, ok, ip.as_deref(), ua, Some(details)).is_ok() {
            request.mark_logged();
        }
    }
    if ok {
        (StatusCode::OK, Json(json!({"token": "demo-user"})))
    } else {
        (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid credentials"})))
    }
}

async fn admin(headers: HeaderMap) -> (StatusCode, Option<Extension<UserId>>, Json<Value>) {
    match headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some("Bearer demo-admin") => (StatusCode::OK, None, Json(json!({"admin": true}))),
        // A known user without the role: the layer logs the 403 with this user id.
        Some("Bearer demo-user") => (
            StatusCode::FORBIDDEN,
            Some(Extension(UserId("demo".into()))),
            Json(json!({"error": "forbidden"})),
        ),
        _ => (StatusCode::FORBIDDEN, None, Json(json!({"error": "forbidden"}))),
    }
}

async fn search(Query(params): Query<Search>) -> (StatusCode, Json<Value>) {
    if params.q.chars().count() > 100 {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "q is longer than 100 characters"})),
        );
    }
    (StatusCode::OK, Json(json!({"query": params.q, "results": []})))
}

/// How the router is served.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The security layer around the router.
    Layer,
    /// No layer.
    NoLayer,
    /// The layer through `Router::layer`.
    RouterLayer,
}

struct Args {
    listen: SocketAddr,
    db: String,
    mode: Mode,
    detect_attacks: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut out = Args {
        listen: ([127, 0, 0, 1], 3000).into(),
        db: String::from("axum_login.db"),
        mode: Mode::Layer,
        detect_attacks: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => {
                let v = args.next().ok_or("--listen needs ADDR:PORT")?;
                out.listen = v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?;
            }
            "--db" => out.db = args.next().ok_or("--db needs a path")?,
            "--no-layer" => out.mode = Mode::NoLayer,
            "--router-layer" => out.mode = Mode::RouterLayer,
            "--detect-attacks" => out.detect_attacks = true,
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --listen, --db, --no-layer, \
                     --router-layer, --detect-attacks)"
                ))
            }
        }
    }
    Ok(out)
}

/// Serves `app` with the peer address in `ConnectInfo`, until Ctrl-C.
async fn serve<S>(listener: tokio::net::TcpListener, app: S) -> std::io::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
{
    let make = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app);
    axum::serve(listener, make)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Args { listen, db, mode, detect_attacks } = parse_args()?;
    let config = Config {
        db_file: db.into(),
        // The layer never waits for the queue; the handler's own events should not either.
        queue_full_policy: QueueFullPolicy::Drop,
        ..Config::default()
    };
    let logger = SecurityLogger::new(config)?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on {}", listener.local_addr()?);
    let router = routes(logger.clone());
    let layer = security(&logger, detect_attacks);
    match (mode, detect_attacks) {
        (Mode::NoLayer, _) => serve(listener, router).await?,
        (Mode::RouterLayer, _) => serve(listener, router.layer(layer)).await?,
        // The body layer inside the security layer: blocked clients are refused unread.
        (Mode::Layer, true) => {
            serve(listener, layer.layer(layer.body_inspection().layer(router))).await?
        }
        (Mode::Layer, false) => serve(listener, layer.layer(router)).await?,
    }
    logger.close();
    Ok(())
}
