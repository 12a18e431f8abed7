#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The tower layer through `tower::ServiceExt::oneshot`: status mapping, client IP and proxy
//! headers, blocking, redaction, a full queue, one event per failed login, attack detection.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ::tower::{service_fn, Layer, ServiceExt};
use http::{Request, Response, StatusCode};
use seclog::core::monitor::Scope;
use seclog::tower::{
    mark_logged, BlockedResponse, LoggedEvent, PeerAddr, RequestLog, SecurityLayer,
    SecurityLayerConfig, UserId,
};
use seclog::*;

fn logger() -> SecurityLogger {
    SecurityLogger::new(Config {
        db_file: ":memory:".into(),
        queue_full_policy: QueueFullPolicy::Drop,
        ..Config::default()
    })
    .unwrap()
}

fn request(uri: &str, peer: &str) -> Request<String> {
    let mut req = Request::get(uri).body(String::new()).unwrap();
    let ip: std::net::IpAddr = peer.parse().unwrap();
    req.extensions_mut().insert(PeerAddr(SocketAddr::new(ip, 40000)));
    req
}

/// A handler answering `status` and counting its calls.
fn answering(
    status: u16,
    calls: Arc<AtomicUsize>,
) -> impl ::tower::Service<
    Request<String>,
    Response = Response<String>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |_req: Request<String>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut res = Response::new(String::from("body"));
            *res.status_mut() = StatusCode::from_u16(status).unwrap();
            Ok::<_, Infallible>(res)
        }
    })
}

fn events(logger: &SecurityLogger) -> Vec<SecurityEvent> {
    logger.get_events(&EventFilter::default(), 100).unwrap()
}

#[tokio::test]
async fn each_default_status_is_logged_as_its_type() {
    let logger = logger();
    let layer = SecurityLayer::new(logger.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let cases = [
        (401, "auth_failure"),
        (403, "authorization_failure"),
        (429, "rate_limiting_trigger"),
        (400, "input_validation_violation"),
    ];
    for (status, ty) in cases {
        let mut req = request(&format!("/r{status}?page=2"), "198.51.100.1");
        req.headers_mut().insert("user-agent", "test-agent/1".parse().unwrap());
        req.headers_mut().insert("x-request-id", format!("req-{status}").parse().unwrap());
        let res = layer.layer(answering(status, calls.clone())).oneshot(req).await.unwrap();
        assert_eq!(res.status().as_u16(), status);
        let ev = logger
            .get_events(
                &EventFilter {
                    correlation_id: Some(format!("req-{status}")),
                    ..Default::default()
                },
                10,
            )
            .unwrap();
        assert_eq!(ev.len(), 1, "{status}");
        let ev = &ev[0];
        assert_eq!(ev.event_type.as_str(), ty);
        assert_eq!(ev.response_status, Some(status));
        assert_eq!(ev.request_method.as_deref(), Some("GET"));
        assert_eq!(ev.request_url.as_deref(), Some(format!("/r{status}?page=2").as_str()));
        assert_eq!(ev.user_agent.as_deref(), Some("test-agent/1"));
        assert_eq!(ev.ip_address, Some("198.51.100.1".parse().unwrap()));
    }
    for status in [200, 404, 500] {
        let req = request("/ok", "198.51.100.1");
        let res = layer.layer(answering(status, calls.clone())).oneshot(req).await.unwrap();
        assert_eq!(res.status().as_u16(), status);
    }
    assert_eq!(events(&logger).len(), 4);
    assert_eq!(layer.stats().logged.load(Ordering::Relaxed), 4);
}

#[tokio::test]
async fn mapping_is_configurable_and_a_generated_id_is_returned() {
    let logger = logger();
    let config = SecurityLayerConfig::default()
        .map_status(404, Some(EventType::ApiAccessDenied))
        .map_status(401, None);
    let layer = SecurityLayer::with_config(logger.clone(), config);
    let calls = Arc::new(AtomicUsize::new(0));
    let res = layer.layer(answering(401, calls.clone())).oneshot(request("/a", "192.0.2.1")).await;
    assert!(res.unwrap().headers().get("x-request-id").is_none());
    let res = layer.layer(answering(404, calls)).oneshot(request("/b", "192.0.2.1")).await.unwrap();
    let id = res.headers().get("x-request-id").expect("generated id").to_str().unwrap().to_string();
    let evs = events(&logger);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event_type, EventType::ApiAccessDenied);
    assert_eq!(evs[0].correlation_id.as_deref(), Some(id.as_str()));
}

/// The layer reuses a finished request's state for the thread's next request: nothing of the
/// first request (user agent, request id, user, generated id, handler's mark) reaches the next.
#[tokio::test]
async fn nothing_of_one_request_reaches_the_next() {
    let logger = logger();
    let layer = SecurityLayer::new(logger.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let mut first = request("/a?token=abc", "192.0.2.1");
    *first.method_mut() = http::Method::POST;
    first.headers_mut().insert("user-agent", "agent-1".parse().unwrap());
    first.headers_mut().insert("x-request-id", "req-1".parse().unwrap());
    first.extensions_mut().insert(UserId("alice".into()));
    layer.layer(answering(401, calls.clone())).oneshot(first).await.unwrap();
    let marking = layer.layer(service_fn(|req: Request<String>| async move {
        let log = req.extensions().get::<RequestLog>().unwrap();
        log.mark_logged();
        let mut res = Response::new(log.correlation_id().to_string());
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        Ok::<_, Infallible>(res)
    }));
    let res = marking.oneshot(request("/marked", "192.0.2.2")).await.unwrap();
    let marked_id = res.into_body();
    let res = layer.layer(answering(403, calls)).oneshot(request("/b", "192.0.2.3")).await.unwrap();
    let id = res.headers().get("x-request-id").expect("generated id").to_str().unwrap().to_string();
    assert_ne!(id, marked_id, "a new id for each request");

    let evs = events(&logger);
    assert_eq!(evs.len(), 2, "the marked request is not logged by the layer");
    let first = evs.iter().find(|e| e.response_status == Some(401)).unwrap();
    assert_eq!(first.request_method.as_deref(), Some("POST"));
    assert_eq!(first.user_agent.as_deref(), Some("agent-1"));
    assert_eq!(first.user_id.as_deref(), Some("alice"));
    assert_eq!(first.correlation_id.as_deref(), Some("req-1"));
    assert!(!first.request_url.as_deref().unwrap().contains("abc"));
    let last = evs.iter().find(|e| e.response_status == Some(403)).unwrap();
    assert_eq!(last.request_method.as_deref(), Some("GET"));
    assert_eq!(last.request_url.as_deref(), Some("/b"));
    assert_eq!(last.user_agent, None);
    assert_eq!(last.user_id, None);
    assert_eq!(last.correlation_id.as_deref(), Some(id.as_str()));
    assert_eq!(last.ip_address, Some("192.0.2.3".parse().unwrap()));
    assert_eq!(layer.stats().handler_logged.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn forwarding_headers_only_from_trusted_proxies() {
    let logger = logger();
    let calls = Arc::new(AtomicUsize::new(0));
    // Default: nothing trusted, a spoofed header is ignored.
    let layer = SecurityLayer::new(logger.clone());
    let mut req = request("/u", "203.0.113.9");
    req.headers_mut().insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
    req.headers_mut().insert("x-real-ip", "1.2.3.5".parse().unwrap());
    req.headers_mut().insert("x-request-id", "untrusted".parse().unwrap());
    layer.layer(answering(401, calls.clone())).oneshot(req).await.unwrap();
    // Trusted proxy: the right-most untrusted address of the chain.
    let config = SecurityLayerConfig::default().trusted_proxies(["10.0.0.0/8"]).unwrap();
    let layer = SecurityLayer::with_config(logger.clone(), config);
    let mut req = request("/t", "::ffff:10.0.0.5");
    req.headers_mut().insert("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1".parse().unwrap());
    req.headers_mut().insert("x-request-id", "trusted".parse().unwrap());
    layer.layer(answering(401, calls.clone())).oneshot(req).await.unwrap();
    // A peer outside the trusted network is not believed either.
    let mut req = request("/t2", "192.0.2.50");
    req.headers_mut().insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
    req.headers_mut().insert("x-request-id", "outside".parse().unwrap());
    layer.layer(answering(401, calls)).oneshot(req).await.unwrap();
    let ip_of = |id: &str| {
        let f = EventFilter { correlation_id: Some(id.into()), ..Default::default() };
        logger.get_events(&f, 1).unwrap()[0].ip_address.unwrap().to_string()
    };
    assert_eq!(ip_of("untrusted"), "203.0.113.9");
    assert_eq!(ip_of("trusted"), "198.51.100.7");
    assert_eq!(ip_of("outside"), "192.0.2.50");
    assert!(SecurityLayerConfig::default().trusted_proxies(["not-a-net"]).is_err());
}

#[tokio::test]
async fn blocked_ip_is_refused_before_the_handler() {
    let logger = logger();
    logger
        .add_decision(Scope::Ip, "198.51.100.20", Some(time::Duration::hours(1)), "test", "tester")
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = SecurityLayer::new(logger.clone());
    // A spoofed X-Forwarded-For does not get a blocked client through.
    let mut req = request("/x", "198.51.100.20");
    req.headers_mut().insert("x-forwarded-for", "1.1.1.1".parse().unwrap());
    let res = layer.layer(answering(200, calls.clone())).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = serde_json::from_str(res.body()).unwrap();
    assert_eq!(body["error"]["code"], "blocked");
    // 429 with Retry-After.
    let config = SecurityLayerConfig::default().blocked_response(BlockedResponse::TooManyRequests);
    let layer429 = SecurityLayer::with_config(logger.clone(), config);
    let res = layer429
        .layer(answering(200, calls.clone()))
        .oneshot(request("/x", "198.51.100.20"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    // Another client still gets through.
    let res =
        layer.layer(answering(200, calls.clone())).oneshot(request("/x", "198.51.100.21")).await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(layer.stats().blocked.load(Ordering::Relaxed), 1);
    assert_eq!(layer429.stats().blocked.load(Ordering::Relaxed), 1);
    let evs = events(&logger);
    assert_eq!(evs.len(), 2);
    assert!(evs.iter().all(|e| e.event_type == EventType::RateLimitingBlocked
        && e.ip_address == Some("198.51.100.20".parse().unwrap())));
}

#[tokio::test]
async fn a_blocked_flood_is_counted_and_logged_once_per_interval() {
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let store = Arc::new(seclog_store::sqlite::SqliteStore::open_in_memory().unwrap());
    let cfg = Config { db_file: ":memory:".into(), ..Config::default() };
    let logger = SecurityLogger::with_store(cfg, store, clock.clone()).unwrap();
    logger.add_decision(Scope::Ip, "198.51.100.40", None, "test", "tester").unwrap();
    logger.add_decision(Scope::User, "mallory", None, "locked", "tester").unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = SecurityLayer::new(logger.clone());
    let svc = layer.layer(answering(200, calls.clone()));
    for _ in 0..5 {
        let res = svc.clone().oneshot(request("/x", "198.51.100.40")).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let mut req = request("/y", "192.0.2.41");
        req.extensions_mut().insert(UserId("mallory".into()));
        assert_eq!(svc.clone().oneshot(req).await.unwrap().status(), StatusCode::FORBIDDEN);
    }
    clock.advance(1);
    svc.clone().oneshot(request("/x", "198.51.100.40")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(layer.stats().blocked.load(Ordering::Relaxed), 11);
    assert_eq!(layer.stats().blocked_not_logged.load(Ordering::Relaxed), 8);
    logger.flush().unwrap();
    let evs = events(&logger);
    let by_ip: Vec<_> =
        evs.iter().filter(|e| e.event_type == EventType::RateLimitingBlocked).collect();
    assert_eq!(by_ip.len(), 2, "{evs:#?}");
    let not_logged: Vec<_> =
        by_ip.iter().map(|e| e.details.get("refusals_not_logged").cloned()).collect();
    assert!(not_logged.contains(&Some(serde_json::json!(4))), "{not_logged:?}");
    assert_eq!(evs.iter().filter(|e| e.event_type == EventType::ApiAccessDenied).count(), 1);
    // Interval zero: every refusal is logged.
    let every = SecurityLayerConfig::default().blocked_log_interval(std::time::Duration::ZERO);
    let layer = SecurityLayer::with_config(logger.clone(), every);
    for _ in 0..3 {
        layer
            .layer(answering(200, calls.clone()))
            .oneshot(request("/z", "198.51.100.40"))
            .await
            .unwrap();
    }
    logger.flush().unwrap();
    assert_eq!(events(&logger).len(), evs.len() + 3);
}

#[tokio::test]
async fn locked_user_is_refused_and_logged_as_api_access_denied() {
    let logger = logger();
    logger.add_decision(Scope::User, "mallory", None, "locked", "tester").unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = SecurityLayer::new(logger.clone());
    let mut req = request("/account", "192.0.2.8");
    req.extensions_mut().insert(UserId("mallory".into()));
    let res = layer.layer(answering(200, calls.clone())).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let mut req = request("/account", "192.0.2.8");
    req.extensions_mut().insert(UserId("alice".into()));
    let res = layer.layer(answering(200, calls.clone())).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let evs = events(&logger);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event_type, EventType::ApiAccessDenied);
    assert_eq!(evs[0].user_id.as_deref(), Some("mallory"));
}

#[tokio::test]
async fn query_secrets_never_reach_the_store() {
    let logger = logger();
    let layer = SecurityLayer::new(logger.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let req = request("/login?token=abc&password=x&q=ok&api_key=k3y", "192.0.2.3");
    layer.layer(answering(401, calls)).oneshot(req).await.unwrap();
    let evs = events(&logger);
    let url = evs[0].request_url.clone().unwrap();
    assert!(url.starts_with("/login?"), "{url}");
    assert!(url.contains("q=ok"), "{url}");
    for secret in ["abc", "=x", "k3y"] {
        assert!(!url.contains(secret), "{url}");
    }
    let stored = serde_json::to_string(&evs[0]).unwrap();
    assert!(!stored.contains("abc") && !stored.contains("k3y"), "{stored}");
}

#[tokio::test]
async fn a_full_queue_drops_and_still_serves() {
    let store = Arc::new(common::gated::GatedStore::new());
    let cfg = Config {
        db_file: ":memory:".into(),
        queue_capacity: 4,
        batch_size: 2,
        // Even with the waiting policy the layer never waits.
        queue_full_policy: QueueFullPolicy::Wait,
        enable_real_time_monitoring: false,
        ..Config::default()
    };
    let logger = SecurityLogger::with_store(cfg, store.clone(), Arc::new(SystemClock)).unwrap();
    let layer = SecurityLayer::new(logger.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..40 {
        let req = request(&format!("/f{i}"), "192.0.2.4");
        let res = layer.layer(answering(401, calls.clone())).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 40);
    let dropped = layer.stats().dropped.load(Ordering::Relaxed);
    let logged = layer.stats().logged.load(Ordering::Relaxed);
    assert!(dropped >= 30, "dropped {dropped}");
    assert_eq!(dropped + logged, 40);
    assert_eq!(logger.writer_stats().dropped.load(Ordering::Relaxed), dropped);
    store.release();
    logger.flush().unwrap();
    assert_eq!(events(&logger).len() as u64, logged);
}

#[tokio::test]
async fn one_failed_login_is_one_event() {
    let logger = logger();
    let layer = SecurityLayer::new(logger.clone());
    // The handler logs the attempt itself and marks the request.
    let l = logger.clone();
    let login = service_fn(move |req: Request<String>| {
        let ip = req.extensions().get::<RequestLog>().and_then(RequestLog::client_ip);
        let ip = ip.map(|i| i.to_string());
        log_auth_attempt(&l, "bob", false, ip.as_deref(), None, None).unwrap();
        assert!(mark_logged(req.extensions()));
        async {
            let mut res = Response::new(String::new());
            *res.status_mut() = StatusCode::UNAUTHORIZED;
            Ok::<_, Infallible>(res)
        }
    });
    layer.layer(login).oneshot(request("/login", "192.0.2.5")).await.unwrap();
    // The same through a response extension.
    let l = logger.clone();
    let login2 = service_fn(move |_req: Request<String>| {
        log_auth_attempt(&l, "carol", false, Some("192.0.2.5"), None, None).unwrap();
        async {
            let mut res = Response::new(String::new());
            *res.status_mut() = StatusCode::UNAUTHORIZED;
            res.extensions_mut().insert(LoggedEvent);
            Ok::<_, Infallible>(res)
        }
    });
    layer.layer(login2).oneshot(request("/login", "192.0.2.5")).await.unwrap();
    let evs = events(&logger);
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert!(evs.iter().all(|e| e.event_type == EventType::AuthFailure
        && e.ip_address == Some("192.0.2.5".parse().unwrap())));
    assert_eq!(layer.stats().handler_logged.load(Ordering::Relaxed), 2);
    // Unmarked: the layer logs the response too (with the user from the response).
    let unmarked = service_fn(|_req: Request<String>| async {
        let mut res = Response::new(String::new());
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        res.extensions_mut().insert(UserId("dave".into()));
        Ok::<_, Infallible>(res)
    });
    layer.layer(unmarked).oneshot(request("/login", "192.0.2.5")).await.unwrap();
    let evs = events(&logger);
    assert_eq!(evs.len(), 3);
    assert!(evs.iter().any(|e| e.user_id.as_deref() == Some("dave")));
}

#[tokio::test]
async fn attack_detection_logs_the_attack_type_and_may_refuse() {
    let logger = logger();
    let calls = Arc::new(AtomicUsize::new(0));
    let uri = "/search?q=1%27%20OR%20%271%27%3D%271%27%20--";
    // Off by default.
    let layer = SecurityLayer::new(logger.clone());
    layer.layer(answering(200, calls.clone())).oneshot(request(uri, "192.0.2.6")).await.unwrap();
    assert!(events(&logger).is_empty());
    let on = SecurityLayerConfig::default().detect_attacks(true);
    let layer = SecurityLayer::with_config(logger.clone(), on.clone());
    let res = layer.layer(answering(200, calls.clone())).oneshot(request(uri, "192.0.2.6")).await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
    let evs = events(&logger);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event_type, EventType::SqlInjectionAttempt);
    let refusing = SecurityLayer::with_config(
        logger.clone(),
        on.refuse_attacks(Some(StatusCode::BAD_REQUEST)),
    );
    let res =
        refusing.layer(answering(200, calls.clone())).oneshot(request(uri, "192.0.2.7")).await;
    assert_eq!(res.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let evs = events(&logger);
    assert_eq!(evs.len(), 2);
    assert!(evs.iter().all(|e| e.event_type == EventType::SqlInjectionAttempt));
    // A benign query is not an attack.
    let res = layer
        .layer(answering(200, calls.clone()))
        .oneshot(request("/search?q=blue+shoes", "192.0.2.8"))
        .await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
    assert_eq!(events(&logger).len(), 2);
}
