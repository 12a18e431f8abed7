//! JSON errors: `{"error": {"code", "message", "field"?}}` with the right status.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use seclog::LogError;
use seclog_store::StoreError;
use serde::Serialize;

/// An error answer of the API.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) field: Option<String>,
    pub(crate) retry_after: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, retry_after: None }
    }

    /// 400 naming the field at fault.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "invalid_field", message);
        e.field = Some(field.into());
        e
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid API key")
    }

    /// 429 for an address that failed authentication too often: retry after `retry` seconds
    /// (a valid key is never refused).
    pub(crate) fn too_many_failures(retry: u32) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_failed_keys",
            "too many requests with a missing or invalid API key from this address; retry later",
        );
        e.retry_after = Some(retry);
        e
    }

    pub(crate) fn forbidden(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this API key lacks the scope {scope}"),
        )
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body larger than {limit} bytes"),
        )
    }

    pub(crate) fn unavailable(code: &'static str, message: impl Into<String>, retry: u32) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        e.retry_after = Some(retry);
        e
    }

    /// 500 with an opaque message; the details go to the server's log only.
    pub(crate) fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }

    /// The JSON document of this error (also used for per-item batch rejections).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut inner = serde_json::json!({"code": self.code, "message": self.message});
        if let (Some(f), Some(obj)) = (&self.field, inner.as_object_mut()) {
            obj.insert("field".into(), f.clone().into());
        }
        inner
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Invalid(v) => ApiError::invalid(v.field.clone(), v.to_string()),
            LogError::QueueFull => {
                ApiError::unavailable("queue_full", "ingest queue full; retry later", 1)
            }
            LogError::Closed => {
                ApiError::unavailable("shutting_down", "server is shutting down", 5)
            }
            LogError::CommitTimeout(ms) => ApiError::unavailable(
                "commit_timeout",
                format!("event not committed within {ms} ms; retry later"),
                5,
            ),
            LogError::NotFound(what) => ApiError::not_found(format!("not found: {what}")),
            LogError::Store(StoreError::NotFound(what)) => {
                ApiError::not_found(format!("not found: {what}"))
            }
            LogError::Store(StoreError::Invalid(m)) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m)
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner { code: self.code, message: &self.message, field: self.field.as_deref() },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// For a library call whose invalid `field` means the current state refuses a well-formed
/// request (an alert that cannot make this transition, a purge into the retention period): 409
/// naming the field; any other error as usual.
pub(crate) fn refused_on(field: &'static str) -> impl Fn(LogError) -> ApiError {
    move |e| match e {
        LogError::Invalid(v) if v.field == field => {
            let mut e = ApiError::new(StatusCode::CONFLICT, "refused", v.to_string());
            e.field = Some(v.field.clone());
            e
        }
        other => other.into(),
    }
}

/// Result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Maps a serde_json error to a 400 naming the field when serde names one.
pub(crate) fn json_error(e: &serde_json::Error) -> ApiError {
    let msg = e.to_string();
    let field = msg
        .split('`')
        .nth(1)
        .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"));
    match field {
        Some(f) => ApiError::invalid(f.to_string(), format!("malformed JSON: {msg}")),
        None => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {msg}"),
        ),
    }
}

/// Reads a body of at most `limit` bytes (413 otherwise, also for a declared length).
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: usize,
) -> ApiResult<axum::body::Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::too_large(limit))
}

/// The media type of the request without parameters, lower case.
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Parses a JSON body (415 unless `application/json`).
pub(crate) async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: usize,
) -> ApiResult<T> {
    if content_type(headers) != "application/json" {
        return Err(unsupported("application/json"));
    }
    let bytes = read_body(headers, body, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| json_error(&e))
}

/// 415 naming the accepted media types.
pub(crate) fn unsupported(accepted: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("Content-Type must be {accepted}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_named() {
        let e = serde_json::from_str::<seclog::core::EventInput>(r#"{"event_type":"x","bogus":1}"#)
            .unwrap_err();
        let api = json_error(&e);
        assert_eq!(api.field.as_deref(), Some("bogus"));
        assert_eq!(api.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn store_errors_are_opaque() {
        let e: ApiError =
            LogError::Store(StoreError::Database("near \"SELECT\": /var/db".into())).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message.contains("SELECT") && !e.message.contains("/var"));
    }

    #[test]
    fn queue_full_says_retry_after() {
        let e: ApiError = LogError::QueueFull.into();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.retry_after, Some(1));
    }
}
