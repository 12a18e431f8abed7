//! Rules, decisions in seclog's own shape, and the retention-checked purge.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::alerts::parse_bool;
use super::auth::{Admin, Read};
use super::error::{json_body, refused_on, ApiError, ApiResult};
use super::events::parse_limit;
use super::openapi::{
    flag, json_schema, limit, object, query_params, BadQuery, Busy, JsonIn, Keyed, Refused,
};
use super::{blocking, params, AppState, BODY_LIMIT};

/// The alert rules in force.
#[utoipa::path(get, path = "/v1/rules", tag = "monitoring",
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "array of rules"), Keyed, Busy))]
pub(crate) async fn rules(State(st): State<AppState>, _key: Read) -> ApiResult<Json<Value>> {
    let rules = st.logger.rules().to_vec();
    Ok(Json(serde_json::to_value(rules).map_err(|e| ApiError::internal(&e))?))
}

query_params!(
    /// The parameters of `GET /v1/decisions/list`.
    ListQuery,
    vec![
        ("all", flag(), "with expired and lifted decisions"),
        ("limit", limit(100_000), "most decisions, default 100000"),
    ]
);

/// Decisions in seclog's shape (`all=true`: with expired and lifted ones), newest first.
#[utoipa::path(get, path = "/v1/decisions/list", tag = "decisions",
    security(("api_key" = []), ("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "array of decisions (seclog shape)"), BadQuery, Keyed,
        Busy))]
pub(crate) async fn list_decisions(
    State(st): State<AppState>,
    _key: Read,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut all = false;
    let mut limit = 100_000;
    for (k, v) in params(q.as_deref())? {
        match k.as_str() {
            "all" => all = parse_bool("all", &v)?,
            "limit" => limit = parse_limit(&v, 100_000)?,
            other => return Err(ApiError::invalid(other.to_string(), "unknown query parameter")),
        }
    }
    let list = blocking(&st, move |l| Ok(l.decisions(all, limit)?)).await?;
    Ok(Json(serde_json::to_value(list).map_err(|e| ApiError::internal(&e))?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeBody {
    before: String,
}

json_schema!(
    PurgeBody,
    "Purge",
    object(
        &["before"],
        json!({"before": {"anyOf": [{"type": "string", "format": "date-time"},
                                    {"type": "string", "format": "date"}],
                          "description": "RFC 3339 time or YYYY-MM-DD date, on or before now \
                                          minus retention_days (409 otherwise)"}}),
    )
);

/// Deletes events older than `{before}` (RFC 3339 or YYYY-MM-DD); 400 naming the retention
/// period when that reaches into it (admin).
#[utoipa::path(post, path = "/v1/purge", tag = "monitoring",
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = PurgeBody, content_type = "application/json"),
    responses((status = 200, description = "{deleted}"), JsonIn, Refused, Keyed, Busy))]
pub(crate) async fn purge(
    State(st): State<AppState>,
    _key: Admin,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let b: PurgeBody = json_body(&headers, body, BODY_LIMIT).await?;
    let cutoff = crate::cmd::purge::parse_date(&b.before)
        .map_err(|e| ApiError::invalid("before", e.to_string()))?;
    let deleted =
        blocking(&st, move |l| l.purge_before(cutoff).map_err(refused_on("before"))).await?;
    Ok(Json(json!({ "deleted": deleted })))
}
