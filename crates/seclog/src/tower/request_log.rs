//! [`RequestLog`]: the per-request state the layer shares with the handler, in one allocation
//! that each worker thread reuses for its next request.

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use http::uri::PathAndQuery;
use http::{HeaderValue, Method};

/// Per-request state the layer puts into request extensions (cheap to clone). Once the
/// response is through the layer and nothing else holds it, its allocation is reused for the
/// thread's next request.
#[derive(Debug, Clone)]
pub struct RequestLog(Arc<RequestLogInner>);

#[derive(Debug, Default)]
struct RequestLogInner {
    ip: Option<IpAddr>,
    logged: AtomicBool,
    /// A valid `X-Request-Id` (non-empty, at most 128 visible ASCII characters).
    request_id: Option<HeaderValue>,
    generated: OnceLock<String>,
    /// What the layer logs of the request.
    meta: Meta,
}

/// What the layer keeps of a request to log its response.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    pub(crate) method: Method,
    /// Path and query: all that is logged of the URI (one shared-bytes clone).
    pub(crate) path_and_query: Option<PathAndQuery>,
    pub(crate) user_agent: Option<HeaderValue>,
    pub(crate) user: Option<String>,
}

impl Meta {
    pub(crate) fn query(&self) -> Option<&str> {
        self.path_and_query.as_ref().and_then(PathAndQuery::query)
    }
}

/// What [`RequestLog::new`] records of a request (borrowed from it).
pub(crate) struct Seen<'a> {
    pub(crate) ip: Option<IpAddr>,
    pub(crate) request_id: Option<&'a HeaderValue>,
    pub(crate) method: &'a Method,
    pub(crate) path_and_query: Option<&'a PathAndQuery>,
    pub(crate) user_agent: Option<&'a HeaderValue>,
    pub(crate) user: Option<&'a str>,
}

thread_local! {
    /// The allocation of this thread's last finished request, emptied, for its next one: a
    /// request served without awaiting (the common case) then allocates nothing here.
    static SPARE: Cell<Option<Arc<RequestLogInner>>> = const { Cell::new(None) };
}

impl RequestLogInner {
    #[inline(always)]
    fn fill(&mut self, seen: Seen<'_>) {
        self.ip = seen.ip;
        *self.logged.get_mut() = false;
        self.request_id = seen.request_id.cloned();
        self.meta.method = seen.method.clone();
        self.meta.path_and_query = seen.path_and_query.cloned();
        self.meta.user_agent = seen.user_agent.cloned();
        self.meta.user = seen.user.map(str::to_owned);
    }

    /// Drops what was kept of the request (its shared header and URI bytes included).
    #[inline]
    fn clear(&mut self) {
        self.request_id = None;
        self.generated.take();
        self.meta.path_and_query = None;
        self.meta.user_agent = None;
        self.meta.user = None;
    }
}

impl RequestLog {
    #[inline]
    pub(crate) fn new(seen: Seen<'_>) -> Self {
        let mut inner = SPARE.with(Cell::take).unwrap_or_default();
        match Arc::get_mut(&mut inner) {
            Some(slot) => slot.fill(seen),
            // Not reached: a spare is held by nothing else. Kept for safety's sake.
            None => {
                let mut fresh = RequestLogInner::default();
                fresh.fill(seen);
                inner = Arc::new(fresh);
            }
        }
        RequestLog(inner)
    }

    /// The layer is done with the request: when nothing else holds this state any more (the
    /// handler dropped the request), it is emptied and kept for the thread's next request.
    pub(crate) fn recycle(self) {
        let mut inner = self.0;
        if let Some(slot) = Arc::get_mut(&mut inner) {
            slot.clear();
            SPARE.with(|s| s.set(Some(inner)));
        }
    }

    pub(crate) fn meta(&self) -> &Meta {
        &self.0.meta
    }

    /// The client address the layer resolved (peer or trusted-proxy header).
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.0.ip
    }

    /// Tells the layer the handler logged this request's event itself: the layer will not
    /// log the response (one failed login is one event).
    pub fn mark_logged(&self) {
        self.0.logged.store(true, Ordering::Release);
    }

    /// Whether [`RequestLog::mark_logged`] was called.
    pub fn is_logged(&self) -> bool {
        self.0.logged.load(Ordering::Acquire)
    }

    /// The request's correlation id: its `X-Request-Id`, or an id generated once.
    pub fn correlation_id(&self) -> &str {
        match self.0.request_id.as_ref().and_then(|v| v.to_str().ok()) {
            Some(id) => id,
            None => self.0.generated.get_or_init(|| uuid::Uuid::now_v7().to_string()),
        }
    }

    pub(crate) fn generated_id(&self) -> Option<&str> {
        self.0.generated.get().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen<'a>(method: &'a Method, pq: &'a PathAndQuery, ua: &'a HeaderValue) -> Seen<'a> {
        Seen {
            ip: "192.0.2.1".parse().ok(),
            request_id: None,
            method,
            path_and_query: Some(pq),
            user_agent: Some(ua),
            user: Some("alice"),
        }
    }

    #[test]
    fn a_recycled_request_log_starts_empty() {
        let (m, pq, ua) =
            (Method::POST, PathAndQuery::from_static("/a?x=1"), HeaderValue::from_static("ua"));
        let first = RequestLog::new(seen(&m, &pq, &ua));
        first.mark_logged();
        let generated = first.correlation_id().to_owned();
        let ptr = Arc::as_ptr(&first.0);
        first.recycle();

        let get = Method::GET;
        let second = RequestLog::new(Seen {
            ip: None,
            request_id: None,
            method: &get,
            path_and_query: None,
            user_agent: None,
            user: None,
        });
        assert_eq!(Arc::as_ptr(&second.0), ptr, "the allocation was reused");
        assert!(!second.is_logged());
        assert_eq!(second.client_ip(), None);
        assert_eq!(second.generated_id(), None);
        assert_ne!(second.correlation_id(), generated);
        let meta = second.meta();
        assert_eq!(meta.method, Method::GET);
        assert!(meta.path_and_query.is_none() && meta.user_agent.is_none() && meta.user.is_none());
    }

    #[test]
    fn state_still_shared_is_not_recycled() {
        let (m, pq, ua) =
            (Method::GET, PathAndQuery::from_static("/b"), HeaderValue::from_static("ua"));
        let log = RequestLog::new(seen(&m, &pq, &ua));
        let held = log.clone(); // as by a handler that kept the extension
        let ptr = Arc::as_ptr(&log.0);
        log.recycle();
        let next = RequestLog::new(seen(&m, &pq, &ua));
        assert_ne!(Arc::as_ptr(&next.0), ptr);
        held.mark_logged();
        assert!(held.is_logged() && !next.is_logged());
        assert_eq!(held.meta().user.as_deref(), Some("alice"));
        assert_eq!(held.meta().query(), None);
    }
}
