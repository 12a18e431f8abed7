//! `/v1/events`: ingest (one, batch), queries and investigation actions.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use seclog::core::{EventFilter, EventInput, EventStatus};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::{Ingest, Read};
use super::error::{
    content_type, json_body, json_error, read_body, unsupported, ApiError, ApiResult,
};
use super::openapi::{
    cidr, event_statuses, event_types, ip_schema, json_schema, limit, object, one_of_json,
    optional_text, query_params, required_text, severities, trimmed_list_of, trimmed_one_of,
    BadQuery, BatchIn, Busy, EventIn, JsonIn, Keyed, Missing, Refused,
};
use super::{blocking, params, AppState, BATCH_LIMIT, BODY_LIMIT};

/// Most characters of `by`.
const ACTOR_MAX: usize = seclog::MAX_ACTOR_LEN;
/// Most characters of a note, remediation or reason.
const TEXT_MAX: usize = seclog::MAX_ACTION_TEXT_LEN;

/// Most items in one batch.
const MAX_BATCH_ITEMS: usize = 100_000;

/// Logs one event; answers 201 only once it is committed.
#[utoipa::path(post, path = "/v1/events", tag = "events",
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = EventIn, content_type = "application/json"),
    responses((status = 201, description = "committed: {\"event_id\"}", body = Committed),
        JsonIn, Refused, Keyed, Busy))]
pub(crate) async fn post_event(
    State(st): State<AppState>,
    _key: Ingest,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    st.check_queue()?;
    let input: EventInput = json_body(&headers, body, BODY_LIMIT).await?;
    let id = blocking(&st, move |l| {
        l.log_event_durable(input).map_err(|e| match e {
            seclog::LogError::Store(_) => not_stored(),
            other => other.into(),
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "event_id": id }))))
}

/// Logs many events (JSON array or NDJSON); accepted ones are committed before the answer.
#[utoipa::path(post, path = "/v1/events/batch", tag = "events",
    security(("api_key" = []), ("bearer" = [])),
    request_body(description = "a JSON array of events, or one event per line (NDJSON)",
        content((BatchItems = "application/json"), (String = "application/x-ndjson"))),
    responses((status = 200, description = "what was committed, and what was rejected and why",
        body = BatchAnswer), BatchIn, Keyed, Busy))]
pub(crate) async fn post_batch(
    State(st): State<AppState>,
    _key: Ingest,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<BatchAnswer>> {
    let ct = content_type(&headers);
    let ndjson = match ct.as_str() {
        "application/json" => false,
        "application/x-ndjson" | "application/jsonl" => true,
        _ => return Err(unsupported("application/json or application/x-ndjson")),
    };
    st.check_queue()?;
    let bytes = read_body(&headers, body, BATCH_LIMIT).await?;
    // Parsing, the engine and the wait for the commit all run on one blocking thread.
    let out = blocking(&st, move |l| {
        let items = parse_batch(&bytes, ndjson)?;
        if items.len() > MAX_BATCH_ITEMS {
            return Err(ApiError::invalid("batch", format!("more than {MAX_BATCH_ITEMS} events")));
        }
        let mut answer = BatchAnswer::default();
        let mut indexes = Vec::with_capacity(items.len());
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match item {
                Ok(input) => {
                    indexes.push(index);
                    inputs.push(input);
                }
                Err(e) => answer.rejected.push(Rejected { index, error: e.to_json() }),
            }
        }
        // One queue message, committed in one transaction (with whatever else is queued).
        let results = l.log_events_durable(inputs)?;
        answer.accepted.reserve(results.len());
        for (index, result) in indexes.into_iter().zip(results) {
            match result {
                Ok(event_id) => answer.accepted.push(Accepted { index, event_id }),
                Err(e) => answer.rejected.push(Rejected { index, error: item_error(e) }),
            }
        }
        answer.rejected.sort_unstable_by_key(|r| r.index);
        Ok(answer)
    })
    .await?;
    Ok(Json(out))
}

/// The JSON body of `POST /v1/events/batch`: an array of anything, as an item that is not an
/// `EventInput` is rejected in its place (in the answer), not the batch.
pub(crate) struct BatchItems;

json_schema!(
    BatchItems,
    "BatchItems",
    json!({"type": "array", "maxItems": MAX_BATCH_ITEMS,
           "items": {"description": "an EventInput; anything else is rejected in the answer"}})
);

/// The answer of `POST /v1/events`.
pub(crate) struct Committed;

json_schema!(
    Committed,
    "Committed",
    json!({"type": "object", "required": ["event_id"],
           "properties": {"event_id": {"type": "string"}}})
);

/// The answer of `POST /v1/events/batch`.
#[derive(Default, Serialize, utoipa::ToSchema)]
pub(crate) struct BatchAnswer {
    accepted: Vec<Accepted>,
    rejected: Vec<Rejected>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Accepted {
    index: usize,
    event_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Rejected {
    index: usize,
    #[schema(value_type = super::openapi::ErrorDetail)]
    error: Value,
}

/// The items of a batch body: a JSON array, or one JSON object per line. A body that is not
/// one of those is an error; an item that is not a valid event is an error in its place.
fn parse_batch(bytes: &[u8], ndjson: bool) -> ApiResult<Vec<ApiResult<EventInput>>> {
    if ndjson {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "body is not UTF-8")
        })?;
        return Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| json_error(&e)))
            .collect());
    }
    // Usually every item is valid: one pass. Otherwise split the array into its items and
    // parse each on its own, so that one bad item does not reject the others.
    if let Ok(all) = serde_json::from_slice::<Vec<EventInput>>(bytes) {
        return Ok(all.into_iter().map(Ok).collect());
    }
    let values: Vec<&serde_json::value::RawValue> =
        serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
    Ok(values.iter().map(|v| serde_json::from_str(v.get()).map_err(|e| json_error(&e))).collect())
}

/// How an item the engine did not store is reported (no internals).
fn item_error(e: seclog::LogError) -> Value {
    match e {
        seclog::LogError::Store(_) => not_stored().to_json(),
        other => ApiError::from(other).to_json(),
    }
}

/// 409 for an event the store refused at commit (a duplicate `event_id`).
fn not_stored() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "not_stored",
        "the store refused the event (a duplicate event_id?)",
    )
}

/// The event filters (`seclog_core::EventFilter::from_params`), as query parameters.
fn filter_params() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "event_type",
            trimmed_list_of(&event_types()),
            "comma-separated event types (also `event_types`, `type`)",
        ),
        (
            "min_severity",
            trimmed_one_of(&severities()),
            "this severity and above (also `severity`)",
        ),
        ("ip_address", ip_schema(), "events from this address (also `ip`)"),
        ("cidr", cidr(), "events from this network (IPv4 or IPv6 CIDR)"),
        ("user_id", json!({"type": "string"}), "exact user id"),
        ("session_id", json!({"type": "string"}), "exact session id"),
        ("correlation_id", json!({"type": "string"}), "exact correlation id"),
        ("status", trimmed_one_of(&event_statuses()), "events logged with this status"),
        ("parent_event_id", json!({"type": "string"}), "children of this event"),
        (
            "start_time",
            json!({"type": "string", "format": "date-time"}),
            "at or after this time, RFC 3339 (also `since`); not after end_time (400)",
        ),
        (
            "end_time",
            json!({"type": "string", "format": "date-time"}),
            "at or before this time, RFC 3339 (also `until`)",
        ),
    ]
}

query_params!(
    /// The filters of `GET /v1/events` and paging.
    EventQuery,
    {
        let mut v = filter_params();
        v.push(("limit", limit(1000), "page size, default 100"));
        v.push((
            "cursor",
            json!({"type": "string", "pattern": "^[+-]?[0-9]{1,18}\\.[\\s\\S]+$"}),
            "the `next_cursor` of the previous page, unchanged",
        ));
        v
    }
);

query_params!(
    /// The filters of `GET /v1/events/feed` and its position.
    FeedQuery,
    {
        let mut v = filter_params();
        v.push(("limit", limit(1000), "page size, default 100"));
        v.push((
            "after",
            json!({"type": "integer", "minimum": 0}),
            "the `position` of the previous answer",
        ));
        v
    }
);

/// Events matching the filters (the library's filter keys), newest first, with a cursor.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    security(("api_key" = []), ("bearer" = [])),
    params(EventQuery),
    responses((status = 200, description = "{events, next_cursor}"), BadQuery, Keyed, Busy))]
pub(crate) async fn list_events(
    State(st): State<AppState>,
    _key: Read,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let (filter, limit, cursor) = filter_and_paging(q.as_deref(), "cursor")?;
    // What is committed now: every event this server acknowledged is (201 after the commit),
    // and a query must not wait behind a busy writer. Events the server logs itself (failed
    // keys) show up once the writer commits them, within milliseconds.
    let page =
        blocking(&st, move |l| Ok(l.query_committed(&filter, cursor.as_deref(), limit)?)).await?;
    Ok(Json(json!({"events": page.events, "next_cursor": page.next_cursor})))
}

/// Events matching the filters in the order they were stored, to follow what arrives
/// (`seclog tail`): `after` = the `position` of the previous answer (none: the newest
/// `limit`), oldest first. An event stored later comes after `position`, whatever its
/// timestamp (an imported batch of old events too).
#[utoipa::path(get, path = "/v1/events/feed", tag = "events",
    security(("api_key" = []), ("bearer" = [])),
    params(FeedQuery),
    responses((status = 200, description = "{events, position}"), BadQuery, Keyed, Busy))]
pub(crate) async fn feed(
    State(st): State<AppState>,
    _key: Read,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let (filter, limit, after) = filter_and_paging(q.as_deref(), "after")?;
    let after = after
        .map(|v| v.trim().parse::<u64>())
        .transpose()
        .map_err(|_| ApiError::invalid("after", "must be the position of a previous answer"))?;
    let page = blocking(&st, move |l| Ok(l.events_in_stored_order(&filter, after, limit)?)).await?;
    Ok(Json(json!({"events": page.events, "position": page.position})))
}

/// The event filters of a query string, its `limit` (1..=1000, default 100) and the value of
/// its paging parameter `position_key` (`cursor`, `after`).
fn filter_and_paging(
    q: Option<&str>,
    position_key: &str,
) -> ApiResult<(EventFilter, usize, Option<String>)> {
    let mut limit = 100usize;
    let mut position = None;
    let mut rest = Vec::new();
    for (k, v) in params(q)? {
        match k.as_str() {
            "limit" => limit = parse_limit(&v, 1000)?,
            key if key == position_key => position = Some(v),
            _ => rest.push((k, v)),
        }
    }
    let filter = EventFilter::from_params(rest.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| ApiError::invalid(e.field.clone(), e.to_string()))?;
    Ok((filter, limit, position))
}

/// Parses `limit` in `1..=max`.
pub(crate) fn parse_limit(v: &str, max: usize) -> ApiResult<usize> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid("limit", format!("must be an integer between 1 and {max}"))),
    }
}

/// One event.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events",
    params(("id" = String, Path, description = "event id")),
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "the event"), Missing, Keyed, Busy))]
pub(crate) async fn get_event(
    State(st): State<AppState>,
    _key: Read,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let ev = blocking(&st, move |l| {
        // Committed events only, without waiting for the queue (see `list_events`).
        l.store()
            .get_event(&id)
            .map_err(seclog::LogError::from)?
            .ok_or_else(|| ApiError::not_found(format!("no event {id}")))
    })
    .await?;
    Ok(Json(serde_json::to_value(ev).map_err(|e| ApiError::internal(&e))?))
}

/// The event with its parents, children, correlated events and trail.
#[utoipa::path(get, path = "/v1/events/{id}/related", tag = "events",
    params(("id" = String, Path, description = "event id")),
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "{event, parents, children, correlated, trail}"),
        Missing, Keyed, Busy))]
pub(crate) async fn related(
    State(st): State<AppState>,
    _key: Read,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = blocking(&st, move |l| {
        l.related_events(&id, 100)?.ok_or_else(|| ApiError::not_found(format!("no event {id}")))
    })
    .await?;
    Ok(Json(serde_json::to_value(r).map_err(|e| ApiError::internal(&e))?))
}

/// The event's investigation trail, oldest first.
#[utoipa::path(get, path = "/v1/events/{id}/trail", tag = "investigation",
    params(("id" = String, Path, description = "event id")),
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "array of actions"), Missing, Keyed, Busy))]
pub(crate) async fn trail(
    State(st): State<AppState>,
    _key: Read,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let t = blocking(&st, move |l| {
        if l.get_event(&id)?.is_none() {
            return Err(ApiError::not_found(format!("no event {id}")));
        }
        Ok(l.event_trail(&id)?)
    })
    .await?;
    Ok(Json(serde_json::to_value(t).map_err(|e| ApiError::internal(&e))?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
    by: String,
    note: Option<String>,
}

json_schema!(
    StatusBody,
    "StatusChange",
    object(
        &["status", "by"],
        json!({"status": one_of_json(event_statuses()), "by": required_text(ACTOR_MAX),
               "note": optional_text(Some(TEXT_MAX))}),
    )
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: String,
    by: String,
}

json_schema!(
    NoteBody,
    "Note",
    object(
        &["note", "by"],
        json!({"note": required_text(TEXT_MAX), "by": required_text(ACTOR_MAX)}),
    )
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    action: String,
    by: String,
}

json_schema!(
    ActionBody,
    "Remediation",
    object(
        &["action", "by"],
        json!({"action": required_text(TEXT_MAX), "by": required_text(ACTOR_MAX)}),
    )
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalateBody {
    reason: String,
    by: String,
}

json_schema!(
    EscalateBody,
    "Escalation",
    object(
        &["reason", "by"],
        json!({"reason": {"type": "string", "maxLength": TEXT_MAX},
               "by": required_text(ACTOR_MAX)}),
    )
);

/// Records a status change `{status, by, note?}` in the trail.
#[utoipa::path(post, path = "/v1/events/{id}/status", tag = "investigation",
    params(("id" = String, Path, description = "event id")),
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = StatusBody, content_type = "application/json"),
    responses((status = 201, description = "the trail entry"), JsonIn, Missing, Keyed, Busy))]
pub(crate) async fn set_status(
    State(st): State<AppState>,
    _key: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: StatusBody = json_body(&headers, body, BODY_LIMIT).await?;
    let status: EventStatus = b
        .status
        .parse()
        .map_err(|e: seclog::core::UnknownValue| ApiError::invalid("status", e.to_string()))?;
    action(&st, move |l| Ok(l.set_event_status(&id, status, &b.by, b.note.as_deref())?)).await
}

/// Adds a note `{note, by}` to the trail.
#[utoipa::path(post, path = "/v1/events/{id}/notes", tag = "investigation",
    params(("id" = String, Path, description = "event id")),
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = NoteBody, content_type = "application/json"),
    responses((status = 201, description = "the trail entry"), JsonIn, Missing, Keyed, Busy))]
pub(crate) async fn add_note(
    State(st): State<AppState>,
    _key: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: NoteBody = json_body(&headers, body, BODY_LIMIT).await?;
    action(&st, move |l| Ok(l.add_investigation_note(&id, &b.note, &b.by)?)).await
}

/// Records a remediation `{action, by}` in the trail.
#[utoipa::path(post, path = "/v1/events/{id}/remediations", tag = "investigation",
    params(("id" = String, Path, description = "event id")),
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = ActionBody, content_type = "application/json"),
    responses((status = 201, description = "the trail entry"), JsonIn, Missing, Keyed, Busy))]
pub(crate) async fn add_remediation(
    State(st): State<AppState>,
    _key: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: ActionBody = json_body(&headers, body, BODY_LIMIT).await?;
    action(&st, move |l| Ok(l.add_remediation_action(&id, &b.action, &b.by)?)).await
}

/// Escalates the event `{reason, by}`.
#[utoipa::path(post, path = "/v1/events/{id}/escalate", tag = "investigation",
    params(("id" = String, Path, description = "event id")),
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = EscalateBody, content_type = "application/json"),
    responses((status = 201, description = "the trail entry"), JsonIn, Missing, Keyed, Busy))]
pub(crate) async fn escalate(
    State(st): State<AppState>,
    _key: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: EscalateBody = json_body(&headers, body, BODY_LIMIT).await?;
    action(&st, move |l| Ok(l.escalate_event(&id, &b.reason, &b.by)?)).await
}

use super::auth::Admin;

async fn action(
    st: &AppState,
    f: impl FnOnce(&seclog::SecurityLogger) -> ApiResult<seclog::core::EventAction> + Send + 'static,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let a = blocking(st, f).await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(a).map_err(|e| ApiError::internal(&e))?)))
}
