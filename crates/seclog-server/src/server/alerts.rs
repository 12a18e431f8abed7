//! `/v1/statistics`, `/v1/ips` and `/v1/alerts`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use seclog::core::{AlertStatus, Resolution};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{Admin, Read};
use super::error::{json_body, refused_on, ApiError, ApiResult};
use super::events::parse_limit;
use super::openapi::{
    alert_statuses, flag, json_schema, limit, object, one_of_json, optional_text, query_params,
    required_text, resolutions, BadQuery, Busy, JsonIn, Keyed, Missing, Refused,
};
use super::{blocking, params, AppState, BODY_LIMIT};

fn to_json(v: impl serde::Serialize) -> ApiResult<Json<Value>> {
    Ok(Json(serde_json::to_value(v).map_err(|e| ApiError::internal(&e))?))
}

/// Statistics (totals, last 24 h, by type and severity, top IPs, alerts, drops).
#[utoipa::path(get, path = "/v1/statistics", tag = "monitoring",
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "statistics"), Keyed, Busy))]
pub(crate) async fn statistics(State(st): State<AppState>, _key: Read) -> ApiResult<Json<Value>> {
    to_json(blocking(&st, |l| Ok(l.get_statistics()?)).await?)
}

query_params!(
    /// The parameters of `GET /v1/ips`.
    IpsQuery,
    vec![
        ("blocked", flag(), "only addresses under a block"),
        ("limit", limit(10_000), "most rows, default 1000"),
    ]
);

/// Suspicious IPs (`blocked=true`: only those under a block), most recent first.
#[utoipa::path(get, path = "/v1/ips", tag = "monitoring",
    security(("api_key" = []), ("bearer" = [])), params(IpsQuery),
    responses((status = 200, description = "array of suspicious IPs"), BadQuery, Keyed, Busy))]
pub(crate) async fn ips(
    State(st): State<AppState>,
    _key: Read,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut blocked = false;
    let mut limit = 1000;
    for (k, v) in params(q.as_deref())? {
        match k.as_str() {
            "blocked" => blocked = parse_bool("blocked", &v)?,
            "limit" => limit = parse_limit(&v, 10_000)?,
            other => return Err(ApiError::invalid(other.to_string(), "unknown query parameter")),
        }
    }
    to_json(blocking(&st, move |l| Ok(l.suspicious_ips(blocked, limit)?)).await?)
}

pub(crate) fn parse_bool(field: &str, v: &str) -> ApiResult<bool> {
    match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::invalid(field.to_string(), "expected true or false")),
    }
}

query_params!(
    /// The parameters of `GET /v1/alerts`.
    AlertsQuery,
    vec![
        ("status", one_of_json(alert_statuses()), "only alerts of this status"),
        ("limit", limit(10_000), "most alerts, default 100"),
    ]
);

/// Alerts, newest first (`status=active|acknowledged|resolved`).
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts",
    security(("api_key" = []), ("bearer" = [])), params(AlertsQuery),
    responses((status = 200, description = "array of alerts"), BadQuery, Keyed, Busy))]
pub(crate) async fn list_alerts(
    State(st): State<AppState>,
    _key: Read,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut status = None;
    let mut limit = 100;
    for (k, v) in params(q.as_deref())? {
        match k.as_str() {
            "status" => {
                status = Some(
                    v.parse::<AlertStatus>()
                        .map_err(|e| ApiError::invalid("status", e.to_string()))?,
                )
            }
            "limit" => limit = parse_limit(&v, 10_000)?,
            other => return Err(ApiError::invalid(other.to_string(), "unknown query parameter")),
        }
    }
    to_json(blocking(&st, move |l| Ok(l.alerts(status, limit)?)).await?)
}

/// One alert with its history.
#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "alert id")),
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "the alert"), Missing, Keyed, Busy))]
pub(crate) async fn get_alert(
    State(st): State<AppState>,
    _key: Read,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    to_json(
        blocking(&st, move |l| {
            l.get_alert(&id)?.ok_or_else(|| ApiError::not_found(format!("no alert {id}")))
        })
        .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    by: String,
    note: Option<String>,
}

json_schema!(
    AckBody,
    "Acknowledgement",
    object(
        &["by"],
        json!({"by": required_text(seclog::MAX_ACTOR_LEN), "note": optional_text(None)}),
    )
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    by: String,
    reason: String,
    note: Option<String>,
}

json_schema!(
    ResolveBody,
    "Resolution",
    object(
        &["by", "reason"],
        json!({"by": required_text(seclog::MAX_ACTOR_LEN), "reason": one_of_json(resolutions()),
               "note": optional_text(None)}),
    )
);

async fn ensure_alert(st: &AppState, id: &str) -> ApiResult<()> {
    let id = id.to_string();
    blocking(st, move |l| match l.get_alert(&id)? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!("no alert {id}"))),
    })
    .await
}

/// Acknowledges an active alert `{by, note?}`.
#[utoipa::path(post, path = "/v1/alerts/{id}/acknowledge", tag = "alerts",
    params(("id" = String, Path, description = "alert id")),
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = AckBody, content_type = "application/json"),
    responses((status = 200, description = "the updated alert"), JsonIn, Missing, Refused, Keyed,
        Busy))]
pub(crate) async fn acknowledge(
    State(st): State<AppState>,
    _key: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: AckBody = json_body(&headers, body, BODY_LIMIT).await?;
    ensure_alert(&st, &id).await?;
    let refused = refused_on("status");
    to_json(
        blocking(&st, move |l| l.acknowledge_alert(&id, &b.by, b.note.as_deref()).map_err(refused))
            .await?,
    )
}

/// Resolves an alert `{by, reason, note?}` (reason: true_positive, false_positive, ...).
#[utoipa::path(post, path = "/v1/alerts/{id}/resolve", tag = "alerts",
    params(("id" = String, Path, description = "alert id")),
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = ResolveBody, content_type = "application/json"),
    responses((status = 200, description = "the updated alert"), JsonIn, Missing, Refused, Keyed,
        Busy))]
pub(crate) async fn resolve(
    State(st): State<AppState>,
    _key: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: ResolveBody = json_body(&headers, body, BODY_LIMIT).await?;
    let resolution: Resolution = b
        .reason
        .parse()
        .map_err(|e: seclog::core::UnknownValue| ApiError::invalid("reason", e.to_string()))?;
    ensure_alert(&st, &id).await?;
    to_json(
        blocking(&st, move |l| {
            l.resolve_alert(&id, &b.by, resolution, b.note.as_deref()).map_err(refused_on("status"))
        })
        .await?,
    )
}
