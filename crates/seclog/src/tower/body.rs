//! [`BodyInspectionLayer`]: the attack detector on form and JSON request bodies, bounded, with
//! the body handed on intact.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::layer::{error_response, Shared, REFUSED_BODY};
use super::scan::Scan;
use super::RequestLog;

/// Runs the attack detector on `application/x-www-form-urlencoded` and JSON
/// (`application/json`, `*/*+json`) request bodies, made by
/// [`SecurityLayer::body_inspection`](super::SecurityLayer::body_inspection).
///
/// Only with [`detect_attacks`](super::SecurityLayerConfig::detect_attacks) on, and only
/// bodies without `Content-Encoding`. The layer reads at most
/// [`max_inspected_bytes`](super::SecurityLayerConfig::max_inspected_bytes) of the body (a
/// longer body is inspected up to there), then calls the inner service with an
/// [`InspectedBody`] that gives back what was read, unchanged, followed by the rest of the
/// original body (trailers and errors included). Form values are decoded; in a JSON document
/// every string, keys included, is inspected (the raw text when it is invalid or cut at the
/// limit). Findings are logged as with the query string (`details.detected_in = "body"`) and,
/// with [`refuse_attacks`](super::SecurityLayerConfig::refuse_attacks), answered with that
/// status without calling the inner service (the request is then marked as logged, so a
/// [`SecurityLayer`](super::SecurityLayer) in front does not log the refusal again).
///
/// Place it inside the [`SecurityLayer`](super::SecurityLayer), so that blocked clients are
/// refused before their body is read, and around a service that takes any body type, such as
/// an axum `Router` (which accepts `Request<B>` for any `B: http_body::Body<Data = Bytes>`):
///
/// ```
/// # #[cfg(feature = "tower")] {
/// use seclog::tower::{SecurityLayer, SecurityLayerConfig};
/// # fn demo<R>(router: R, logger: seclog::SecurityLogger) {
/// let security = SecurityLayer::with_config(logger, SecurityLayerConfig::default().detect_attacks(true));
/// let app = tower::ServiceBuilder::new()
///     .layer(security.clone())
///     .layer(security.body_inspection())
///     .service(router);
/// # let _ = app;
/// # }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BodyInspectionLayer {
    shared: Arc<Shared>,
}

impl BodyInspectionLayer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        BodyInspectionLayer { shared }
    }
}

impl<S> Layer<S> for BodyInspectionLayer {
    type Service = BodyInspectionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyInspectionService { inner, shared: self.shared.clone() }
    }
}

/// The service made by [`BodyInspectionLayer`].
#[derive(Debug, Clone)]
pub struct BodyInspectionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// Which bodies are inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Form,
    Json,
}

fn kind_of(headers: &HeaderMap) -> Option<Kind> {
    if headers.get(CONTENT_ENCODING).is_some_and(|e| e.as_bytes() != b"identity") {
        return None; // compressed: the detector would see noise
    }
    let ct = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let mime = ct.split(';').next().unwrap_or_default().trim();
    if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(Kind::Form)
    } else if mime.eq_ignore_ascii_case("application/json")
        || mime.get(mime.len().saturating_sub(5)..).is_some_and(|s| s.eq_ignore_ascii_case("+json"))
    {
        Some(Kind::Json)
    } else {
        None
    }
}

impl<S, B, ResBody> Service<Request<B>> for BodyInspectionService<S>
where
    S: Service<Request<InspectedBody<B>>, Response = Response<ResBody>> + Clone,
    B: Body<Data = Bytes> + Unpin,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BodyFuture<S, B, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let config = &self.shared.config;
        let kind = kind_of(req.headers());
        let limit = config.max_inspected_bytes;
        match kind {
            Some(kind) if config.detect_attacks && limit > 0 && !req.body().is_end_stream() => {
                // The service that was polled ready reads the body and is called; a clone
                // stays here for the next request.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let (parts, body) = req.into_parts();
                let reading = Reading {
                    inner,
                    shared: self.shared.clone(),
                    parts,
                    kind,
                    limit,
                    body: Some(body),
                    chunks: VecDeque::new(),
                    len: 0,
                    tail: Tail::Open,
                };
                BodyFuture { state: State::Reading { reading: Some(Box::new(reading)) } }
            }
            _ => {
                let future = self.inner.call(req.map(InspectedBody::new));
                BodyFuture { state: State::Calling { future } }
            }
        }
    }
}

/// How the part of the body the layer read ended.
#[derive(Debug)]
enum Tail<E> {
    /// Not ended: the original body continues.
    Open,
    /// The body ended (with these trailers, if any).
    End(Option<HeaderMap>),
    /// Reading failed with this error (handed on after the data read before it).
    Error(E),
}

pin_project! {
    /// The request body behind [`BodyInspectionLayer`]: the data the layer read, unchanged,
    /// then the rest of the original body. Without inspection, the original body as it is.
    pub struct InspectedBody<B>
    where
        B: Body,
    {
        chunks: VecDeque<B::Data>,
        tail: Tail<B::Error>,
        #[pin]
        rest: Option<B>,
    }
}

impl<B: Body> std::fmt::Debug for InspectedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectedBody")
            .field("buffered_chunks", &self.chunks.len())
            .field("rest", &self.rest.is_some())
            .finish()
    }
}

impl<B: Body> InspectedBody<B> {
    /// `body` as it is (nothing read).
    pub fn new(body: B) -> Self {
        InspectedBody { chunks: VecDeque::new(), tail: Tail::Open, rest: Some(body) }
    }
}

impl<B> Body for InspectedBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        if let Some(chunk) = this.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match std::mem::replace(this.tail, Tail::End(None)) {
            Tail::Open => {
                *this.tail = Tail::Open;
                match this.rest.as_mut().as_pin_mut() {
                    Some(rest) => rest.poll_frame(cx),
                    None => Poll::Ready(None),
                }
            }
            Tail::End(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Tail::End(None) => Poll::Ready(None),
            Tail::Error(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
            && match &self.tail {
                Tail::Open => self.rest.as_ref().is_none_or(B::is_end_stream),
                Tail::End(trailers) => trailers.is_none(),
                Tail::Error(_) => false,
            }
    }

    fn size_hint(&self) -> SizeHint {
        let buffered: u64 = self.chunks.iter().map(|c| c.len() as u64).sum();
        match (&self.tail, &self.rest) {
            (Tail::Open, Some(rest)) => {
                let h = rest.size_hint();
                let mut out = SizeHint::new();
                out.set_lower(h.lower().saturating_add(buffered));
                if let Some(upper) = h.upper() {
                    out.set_upper(upper.saturating_add(buffered));
                }
                out
            }
            _ => SizeHint::with_exact(buffered),
        }
    }
}

/// A request whose body is being read for inspection.
struct Reading<S, B: Body> {
    inner: S,
    shared: Arc<Shared>,
    parts: Parts,
    kind: Kind,
    limit: usize,
    body: Option<B>,
    chunks: VecDeque<Bytes>,
    len: usize,
    tail: Tail<B::Error>,
}

impl<S, B: Body<Data = Bytes> + Unpin> Reading<S, B> {
    /// Reads frames until `limit` bytes, the end, trailers or an error.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.len < self.limit {
            let Some(body) = self.body.as_mut() else { return Poll::Ready(()) };
            match ready!(Pin::new(body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        self.len = self.len.saturating_add(data.len());
                        if !data.is_empty() {
                            self.chunks.push_back(data);
                        }
                    }
                    Err(frame) => {
                        self.tail = Tail::End(frame.into_trailers().ok());
                        self.body = None;
                    }
                },
                Some(Err(e)) => {
                    self.tail = Tail::Error(e);
                    self.body = None;
                }
                None => {
                    self.tail = Tail::End(None);
                    self.body = None;
                }
            }
        }
        if self.body.as_ref().is_some_and(B::is_end_stream) {
            self.tail = Tail::End(None);
            self.body = None;
        }
        Poll::Ready(())
    }

    /// Runs the detector on what was read; `Some(status)` when the request is refused.
    fn inspect(&self) -> Option<http::StatusCode> {
        let shared = &self.shared;
        shared.stats.bodies_inspected.fetch_add(1, Ordering::Relaxed);
        let complete = matches!(self.tail, Tail::End(_)) && self.len <= self.limit;
        let joined: Vec<u8>;
        let bytes: &[u8] = match self.chunks.front() {
            Some(first) if self.chunks.len() == 1 => first,
            Some(_) => {
                joined =
                    self.chunks.iter().flat_map(|c| c.iter().copied()).take(self.limit).collect();
                &joined
            }
            None => return None,
        };
        let bytes = bytes.get(..self.limit.min(bytes.len())).unwrap_or_default();
        let mut scan = Scan::default();
        match self.kind {
            Kind::Form => scan.pairs(&String::from_utf8_lossy(bytes)),
            Kind::Json => scan.json(bytes, complete),
        }
        scan.best.as_ref()?;
        let p = &self.parts;
        let log = match p.extensions.get::<RequestLog>() {
            Some(log) => log.clone(),
            // No SecurityLayer in front: resolve the client here.
            None => shared.request_log(&p.method, &p.uri, &p.headers, &p.extensions),
        };
        let refuse = shared.report(scan, "body", &log);
        if refuse.is_some() {
            log.mark_logged();
        }
        refuse
    }
}

pin_project! {
    /// The response future of [`BodyInspectionService`]: reads the body when it is to be
    /// inspected, then calls the inner service (or answers a refused request).
    pub struct BodyFuture<S, B, ResBody>
    where
        S: Service<Request<InspectedBody<B>>>,
        B: Body,
    {
        #[pin]
        state: State<S, B, ResBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B, ResBody>
    where
        S: Service<Request<InspectedBody<B>>>,
        B: Body,
    {
        Reading { reading: Option<Box<Reading<S, B>>> },
        Calling { #[pin] future: S::Future },
        Refused { response: Option<Response<ResBody>> },
    }
}

impl<S, B, ResBody> std::fmt::Debug for BodyFuture<S, B, ResBody>
where
    S: Service<Request<InspectedBody<B>>>,
    B: Body,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Reading { .. } => "reading",
            State::Calling { .. } => "calling",
            State::Refused { .. } => "refused",
        };
        f.debug_struct("BodyFuture").field("state", &state).finish()
    }
}

impl<S, B, ResBody> Future for BodyFuture<S, B, ResBody>
where
    S: Service<Request<InspectedBody<B>>, Response = Response<ResBody>>,
    B: Body<Data = Bytes> + Unpin,
    ResBody: From<String>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            let next = match state.as_mut().project() {
                StateProj::Calling { future } => return future.poll(cx),
                StateProj::Refused { response } => {
                    return match response.take() {
                        Some(r) => Poll::Ready(Ok(r)),
                        None => Poll::Pending, // polled after completion
                    };
                }
                StateProj::Reading { reading } => {
                    let Some(r) = reading.as_mut() else { return Poll::Pending };
                    ready!(r.poll_read(cx));
                    let Some(r) = reading.take() else { return Poll::Pending };
                    let mut r = *r;
                    match r.inspect() {
                        Some(status) => {
                            State::Refused { response: Some(error_response(status, REFUSED_BODY)) }
                        }
                        None => {
                            let body =
                                InspectedBody { chunks: r.chunks, tail: r.tail, rest: r.body };
                            let future = r.inner.call(Request::from_parts(r.parts, body));
                            State::Calling { future }
                        }
                    }
                }
            };
            state.set(next);
        }
    }
}
