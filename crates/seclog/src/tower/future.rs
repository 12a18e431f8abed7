//! The response future of [`SecurityService`](super::SecurityService).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Response};
use pin_project_lite::pin_project;
use seclog_core::EventType;

use super::layer::{Shared, X_REQUEST_ID};
use super::{LoggedEvent, RequestLog, UserId};

/// What is needed to log the response once the inner service answers.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) shared: Arc<Shared>,
    pub(crate) log: RequestLog,
}

pin_project! {
    /// The response future of [`SecurityService`](super::SecurityService): either an
    /// immediate answer (blocked, refused) or the inner service's future, whose response is
    /// logged when its status is mapped.
    #[derive(Debug)]
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F, B> {
        Ready { response: Option<Response<B>> },
        Inner { #[pin] future: F, pending: Option<Pending> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn ready(response: Response<B>) -> Self {
        ResponseFuture { kind: Kind::Ready { response: Some(response) } }
    }

    pub(crate) fn pending(future: F, pending: Pending) -> Self {
        ResponseFuture { kind: Kind::Inner { future, pending: Some(pending) } }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending, // polled after completion: never resolves again
            },
            KindProj::Inner { future, pending } => poll_inner(future, pending, cx),
        }
    }
}

/// Polls the inner future and sees its response, which stays where the inner future wrote it
/// (fewer copies of the ~130-byte response than unwrapping and rewrapping it).
#[inline]
fn poll_inner<F, B, E>(
    future: Pin<&mut F>,
    pending: &mut Option<Pending>,
    cx: &mut Context<'_>,
) -> Poll<Result<Response<B>, E>>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    let mut out = future.poll(cx);
    if let Poll::Ready(Ok(res)) = &mut out {
        if let Some(p) = pending.take() {
            after(p, res);
        }
    }
    out
}

/// Logs the response when its status is mapped and the handler did not log it.
#[inline]
fn after<B>(p: Pending, res: &mut Response<B>) {
    let Pending { shared, log } = p;
    if let Some(ty) = shared.statuses.event_for(res.status()) {
        log_response(&shared, ty, &log, res);
    }
    log.recycle();
}

#[inline(never)]
fn log_response<B>(shared: &Shared, ty: EventType, log: &RequestLog, res: &mut Response<B>) {
    if log.is_logged() || res.extensions().get::<LoggedEvent>().is_some() {
        shared.stats.handler_logged.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let user = res.extensions().get::<UserId>().map(|u| u.0.clone());
    let user = user.or_else(|| log.meta().user.clone());
    shared.log(ty, log, res.status(), user, None);
    if let Some(id) = log.generated_id() {
        if !res.headers().contains_key(X_REQUEST_ID) {
            if let Ok(v) = HeaderValue::from_str(id) {
                res.headers_mut().insert(X_REQUEST_ID, v);
            }
        }
    }
}
