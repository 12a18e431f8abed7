#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Overhead of the tower layer: a trivial handler with and without it, for an allowed request
//! (200, nothing logged), a blocked one (refused and logged), and a logged 401.
//!
//! `cargo bench -p seclog --features tower --bench tower_layer -- --warm-up-time 1 --measurement-time 3`
//!
//! For instruction counts, `TOWER_LAYER_CALLS=CASE:N` makes the binary call one case N times
//! and exit without criterion (CASE: `baseline`, `allowed`, `blocked`, `logged`); run it
//! under `valgrind --tool=callgrind` with two values of N and divide the difference of the
//! totals by the difference of N (scripts/bench_tower.sh does this).

use std::convert::Infallible;
use std::future::{ready, Future};
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response, StatusCode};
use seclog::core::monitor::Scope;
use seclog::tower::{PeerAddr, SecurityLayer};
use seclog::{Config, MonitoringConfig, QueueFullPolicy, SecurityLogger};
use tower::{service_fn, Layer, Service};

/// Polls a future that is ready at once (every future here is).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the benchmarked service is synchronous"),
    }
}

fn request(peer: SocketAddr) -> Request<String> {
    let mut req = Request::get("/api/items?page=2")
        .header("user-agent", "bench/1")
        .body(String::new())
        .unwrap();
    req.extensions_mut().insert(PeerAddr(peer));
    req
}

fn handler(
    status: StatusCode,
) -> impl Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone {
    service_fn(move |_req: Request<String>| {
        let mut res = Response::new(String::from("ok"));
        *res.status_mut() = status;
        ready(Ok::<_, Infallible>(res))
    })
}

/// The logger and layer every case uses: one IP under a decision, one allowlisted IP whose
/// 401s are logged without ever blocking it.
fn setup() -> (SecurityLogger, SecurityLayer) {
    let logger = SecurityLogger::new(Config {
        db_file: ":memory:".into(),
        queue_full_policy: QueueFullPolicy::Drop,
        // The logged-401 client keeps failing: the rules still run but never block it.
        monitoring: MonitoringConfig {
            allowlist: vec!["192.0.2.11".into()],
            ..MonitoringConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    logger.add_decision(Scope::Ip, "198.51.100.66", None, "bench", "bench").unwrap();
    let layer = SecurityLayer::new(logger.clone());
    (logger, layer)
}

const ALLOWED: &str = "192.0.2.10:5000";
const BLOCKED: &str = "198.51.100.66:5000";
const LOGGED: &str = "192.0.2.11:5000";

/// `TOWER_LAYER_CALLS=CASE:N`: N calls of one case, for callgrind.
fn fixed_calls(spec: &str) {
    let (case, n) = spec.split_once(':').expect("TOWER_LAYER_CALLS=CASE:N");
    let n: u64 = n.parse().expect("N");
    let (logger, layer) = setup();
    let (status, peer, layered) = match case {
        "baseline" => (StatusCode::OK, ALLOWED, false),
        "allowed" => (StatusCode::OK, ALLOWED, true),
        "blocked" => (StatusCode::OK, BLOCKED, true),
        "logged" => (StatusCode::UNAUTHORIZED, LOGGED, true),
        other => panic!("unknown case {other}"),
    };
    let peer: SocketAddr = peer.parse().unwrap();
    if layered {
        let mut svc = layer.layer(handler(status));
        for _ in 0..n {
            std::hint::black_box(now(svc.call(request(peer))).unwrap());
        }
    } else {
        let mut svc = handler(status);
        for _ in 0..n {
            std::hint::black_box(now(svc.call(request(peer))).unwrap());
        }
    }
    logger.close();
}

fn bench(c: &mut Criterion) {
    if let Ok(spec) = std::env::var("TOWER_LAYER_CALLS") {
        fixed_calls(&spec);
        return;
    }
    let (logger, layer) = setup();
    let allowed: SocketAddr = ALLOWED.parse().unwrap();
    let blocked: SocketAddr = BLOCKED.parse().unwrap();

    let mut g = c.benchmark_group("tower_layer");
    let mut bare = handler(StatusCode::OK);
    g.bench_function("baseline_200", |b| b.iter(|| now(bare.call(request(allowed))).unwrap()));
    let mut with = layer.layer(handler(StatusCode::OK));
    g.bench_function("layer_allowed_200", |b| b.iter(|| now(with.call(request(allowed))).unwrap()));
    g.bench_function("layer_blocked_403", |b| b.iter(|| now(with.call(request(blocked))).unwrap()));
    let mut bare401 = handler(StatusCode::UNAUTHORIZED);
    g.bench_function("baseline_401", |b| b.iter(|| now(bare401.call(request(allowed))).unwrap()));
    let mut with401 = layer.layer(handler(StatusCode::UNAUTHORIZED));
    // Every iteration logs an event (validate, redact, score, rules, queue or drop).
    g.bench_function("layer_logged_401", |b| {
        b.iter(|| now(with401.call(request(LOGGED.parse().unwrap()))).unwrap())
    });
    g.finish();
    let s = layer.stats();
    eprintln!(
        "layer stats: blocked {} logged {} dropped {}",
        s.blocked.load(std::sync::atomic::Ordering::Relaxed),
        s.logged.load(std::sync::atomic::Ordering::Relaxed),
        s.dropped.load(std::sync::atomic::Ordering::Relaxed)
    );
    logger.close();
}

criterion_group!(benches, bench);
criterion_main!(benches);
