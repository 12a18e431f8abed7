#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Attack detection on request bodies (`SecurityLayer::body_inspection`): form and JSON only,
//! bounded, and the body always handed on intact (data, trailers, errors).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ::tower::{service_fn, Layer, ServiceExt};
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use proptest::prelude::*;
use seclog::tower::{InspectedBody, PeerAddr, SecurityLayer, SecurityLayerConfig};
use seclog::*;

/// A body made of given frames (data, trailers, errors), in order.
struct Frames(VecDeque<Result<Frame<Bytes>, std::io::Error>>);

impl Frames {
    fn data(chunks: &[&[u8]]) -> Self {
        Frames(chunks.iter().map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect())
    }

    fn with_trailers(mut self, t: HeaderMap) -> Self {
        self.0.push_back(Ok(Frame::trailers(t)));
        self
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(self.0.pop_front())
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the handler received: the body's data, its trailers, or its error.
#[derive(Debug, Default, Clone, PartialEq)]
struct Received {
    data: Vec<u8>,
    trailers: Option<HeaderMap>,
    error: Option<String>,
}

type Seen = Arc<Mutex<Vec<Received>>>;

/// A handler that reads the whole body and answers `status`.
fn reader(
    status: StatusCode,
    seen: Seen,
) -> impl ::tower::Service<
    Request<InspectedBody<Frames>>,
    Response = Response<String>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |req: Request<InspectedBody<Frames>>| {
        let seen = seen.clone();
        async move {
            let mut got = Received::default();
            let mut body = req.into_body();
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => match f.into_data() {
                        Ok(d) => got.data.extend_from_slice(&d),
                        Err(f) => got.trailers = f.into_trailers().ok(),
                    },
                    Err(e) => {
                        got.error = Some(e.to_string());
                        break;
                    }
                }
            }
            seen.lock().unwrap().push(got);
            let mut res = Response::new(String::from("ok"));
            *res.status_mut() = status;
            Ok::<_, Infallible>(res)
        }
    })
}

/// Monitoring off: an attack would otherwise ban the test client (the default rules) and the
/// next request would be refused before its body is read.
fn logger() -> SecurityLogger {
    SecurityLogger::new(Config {
        db_file: ":memory:".into(),
        queue_full_policy: QueueFullPolicy::Drop,
        enable_real_time_monitoring: false,
        ..Config::default()
    })
    .unwrap()
}

fn post(content_type: &str, body: Frames) -> Request<Frames> {
    let mut req = Request::post("/submit").header("content-type", content_type).body(body).unwrap();
    req.extensions_mut().insert(PeerAddr("192.0.2.30:4000".parse::<SocketAddr>().unwrap()));
    req
}

fn events(logger: &SecurityLogger) -> Vec<SecurityEvent> {
    logger.get_events(&EventFilter::default(), 100).unwrap()
}

const SQLI_JSON: &[u8] = br#"{"username":"admin' OR '1'='1' --","password":"x"}"#;
const XSS_FORM: &[u8] = b"name=bob&comment=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E";

#[tokio::test]
async fn json_and_form_bodies_are_inspected_and_handed_on_intact() {
    let logger = logger();
    let security = SecurityLayer::with_config(
        logger.clone(),
        SecurityLayerConfig::default().detect_attacks(true),
    );
    let seen = Seen::default();
    let svc =
        security.layer(security.body_inspection().layer(reader(StatusCode::OK, seen.clone())));
    // Split across frames: the detector sees the whole document.
    let (a, b) = SQLI_JSON.split_at(20);
    let res = svc.clone().oneshot(post("application/json; charset=utf-8", Frames::data(&[a, b])));
    assert_eq!(res.await.unwrap().status(), StatusCode::OK);
    let res =
        svc.clone().oneshot(post("application/x-www-form-urlencoded", Frames::data(&[XSS_FORM])));
    assert_eq!(res.await.unwrap().status(), StatusCode::OK);
    let benign = br#"{"username":"bob","tags":["blue","shoes"],"age":3}"#;
    let res = svc.clone().oneshot(post("application/vnd.api+json", Frames::data(&[benign])));
    assert_eq!(res.await.unwrap().status(), StatusCode::OK);

    let seen = seen.lock().unwrap().clone();
    let datas: Vec<&[u8]> = seen.iter().map(|r| r.data.as_slice()).collect();
    assert_eq!(datas, [SQLI_JSON, XSS_FORM, &benign[..]]);
    let evs = events(&logger);
    assert_eq!(evs.len(), 2, "{evs:?}");
    let of = |t: EventType| evs.iter().find(|e| e.event_type == t).expect("event");
    let sqli = of(EventType::SqlInjectionAttempt);
    assert_eq!(sqli.ip_address, Some("192.0.2.30".parse().unwrap()));
    assert_eq!(sqli.request_url.as_deref(), Some("/submit"));
    let details = serde_json::to_string(&sqli.details).unwrap();
    assert!(details.contains(r#""detected_in":"body""#), "{details}");
    assert!(!details.contains("admin'"), "the input itself is not logged: {details}");
    of(EventType::XssAttempt);
    assert_eq!(security.stats().bodies_inspected.load(Ordering::Relaxed), 3);
    assert_eq!(security.stats().attacks.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_refused_body_is_one_event_and_the_handler_does_not_run() {
    let logger = logger();
    let config = SecurityLayerConfig::default()
        .detect_attacks(true)
        .refuse_attacks(Some(StatusCode::BAD_REQUEST));
    let security = SecurityLayer::with_config(logger.clone(), config);
    let seen = Seen::default();
    let svc =
        security.layer(security.body_inspection().layer(reader(StatusCode::OK, seen.clone())));
    let res = svc.oneshot(post("application/json", Frames::data(&[SQLI_JSON]))).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(seen.lock().unwrap().is_empty(), "handler not called");
    // The attack event only: the layer in front does not log the 400 a second time.
    let evs = events(&logger);
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0].event_type, EventType::SqlInjectionAttempt);
    assert_eq!(evs[0].response_status, Some(400));
}

#[tokio::test]
async fn other_types_compressed_bodies_and_detection_off_are_not_read() {
    let logger = logger();
    let seen = Seen::default();
    let on = SecurityLayer::with_config(
        logger.clone(),
        SecurityLayerConfig::default().detect_attacks(true),
    );
    let svc = on.layer(on.body_inspection().layer(reader(StatusCode::OK, seen.clone())));
    svc.clone().oneshot(post("text/plain", Frames::data(&[SQLI_JSON]))).await.unwrap();
    let mut gz = post("application/json", Frames::data(&[SQLI_JSON]));
    gz.headers_mut().insert("content-encoding", "gzip".parse().unwrap());
    svc.clone().oneshot(gz).await.unwrap();
    let off = SecurityLayer::new(logger.clone());
    let svc = off.layer(off.body_inspection().layer(reader(StatusCode::OK, seen.clone())));
    svc.oneshot(post("application/json", Frames::data(&[SQLI_JSON]))).await.unwrap();
    assert_eq!(on.stats().bodies_inspected.load(Ordering::Relaxed), 0);
    assert_eq!(off.stats().bodies_inspected.load(Ordering::Relaxed), 0);
    assert!(events(&logger).is_empty());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|r| r.data == SQLI_JSON));
}

#[tokio::test]
async fn a_long_body_is_inspected_up_to_the_limit_and_handed_on_whole() {
    let logger = logger();
    let config = SecurityLayerConfig::default().detect_attacks(true).max_inspected_bytes(64);
    let security = SecurityLayer::with_config(logger.clone(), config);
    let seen = Seen::default();
    let svc =
        security.layer(security.body_inspection().layer(reader(StatusCode::OK, seen.clone())));
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", "abc".parse().unwrap());
    let filler = [b'a'; 300];
    // An attack within the first 64 bytes is found; one after them is not.
    let early: Vec<&[u8]> =
        vec![b"comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E&x=", &filler, &filler];
    let late: Vec<&[u8]> = vec![b"x=", &filler, b"&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E"];
    for chunks in [&early, &late] {
        let body = Frames::data(chunks).with_trailers(trailers.clone());
        let res = svc.clone().oneshot(post("application/x-www-form-urlencoded", body)).await;
        assert_eq!(res.unwrap().status(), StatusCode::OK);
    }
    let evs = events(&logger);
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0].event_type, EventType::XssAttempt);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].data, early.concat());
    assert_eq!(seen[1].data, late.concat());
    assert!(seen.iter().all(|r| r.trailers.as_ref() == Some(&trailers) && r.error.is_none()));
}

#[tokio::test]
async fn a_body_error_reaches_the_handler_after_the_data_read_before_it() {
    let logger = logger();
    let security = SecurityLayer::with_config(
        logger.clone(),
        SecurityLayerConfig::default().detect_attacks(true),
    );
    let seen = Seen::default();
    let svc =
        security.layer(security.body_inspection().layer(reader(StatusCode::OK, seen.clone())));
    let mut body = Frames::data(&[b"a=1&b="]);
    body.0.push_back(Err(std::io::Error::other("connection reset")));
    svc.oneshot(post("application/x-www-form-urlencoded", body)).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].data, b"a=1&b=");
    assert_eq!(seen[0].error.as_deref(), Some("connection reset"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the body, its framing and the limit, the handler gets exactly the frames'
    /// data concatenated (the naive oracle) and the trailers.
    #[test]
    fn the_handler_always_gets_the_body_unchanged(
        data in proptest::collection::vec(any::<u8>(), 0..1500),
        cuts in proptest::collection::vec(0usize..1500, 0..6),
        limit in 0usize..400,
        json in any::<bool>(),
        trailer in any::<bool>(),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &data[w[0]..w[1]]).collect();
        let mut body = Frames::data(&chunks);
        let mut trailers = None;
        if trailer {
            let mut t = HeaderMap::new();
            t.insert("x-t", "1".parse().unwrap());
            body = body.with_trailers(t.clone());
            trailers = Some(t);
        }
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let seen = Seen::default();
        let logger = logger();
        let config = SecurityLayerConfig::default().detect_attacks(true).max_inspected_bytes(limit);
        let security = SecurityLayer::with_config(logger.clone(), config);
        let svc = security.body_inspection().layer(reader(StatusCode::OK, seen.clone()));
        let ct = if json { "application/json" } else { "application/x-www-form-urlencoded" };
        rt.block_on(svc.oneshot(post(ct, body))).unwrap();
        let got = seen.lock().unwrap()[0].clone();
        prop_assert_eq!(got.data, data);
        prop_assert_eq!(got.trailers, trailers);
        prop_assert_eq!(got.error, None);
        logger.close();
    }
}

#[tokio::test]
async fn without_the_security_layer_in_front_the_client_is_still_resolved() {
    let logger = logger();
    let security = SecurityLayer::with_config(
        logger.clone(),
        SecurityLayerConfig::default().detect_attacks(true),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Seen::default();
    let c = calls.clone();
    let handler = reader(StatusCode::OK, seen.clone());
    let counted = service_fn(move |req| {
        c.fetch_add(1, Ordering::SeqCst);
        handler.clone().oneshot(req)
    });
    let svc = security.body_inspection().layer(counted);
    svc.oneshot(post("application/json", Frames::data(&[SQLI_JSON]))).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let evs = events(&logger);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].ip_address, Some("192.0.2.30".parse().unwrap()));
}
