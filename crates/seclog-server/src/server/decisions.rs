//! CrowdSec local API compatible decisions: `GET /v1/decisions`, the bouncer stream, and
//! manual decisions (`POST`, `DELETE` by id, `DELETE` by value as CrowdSec's
//! `DELETE /v1/decisions?ip=|range=|scope=&value=`).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use parking_lot::Mutex;
use seclog::core::monitor::decision_match::parse_scope;
use seclog::core::monitor::{Decision, DecisionMatch, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::alerts::parse_bool;
use super::auth::{Admin, Bouncer, Read};
use super::error::{json_body, ApiError, ApiResult};
use super::openapi::{
    cidr, flag, ip_schema, json_schema, not_blank, object, query_params, required_text, trimmed,
    trimmed_one_of, BadQuery, Busy, JsonIn, Keyed, Missing,
};
use super::{blocking, params, AppState, BODY_LIMIT};

/// A decision in CrowdSec's shape (what bouncers parse).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CsDecision {
    /// Integer id (bouncers expect an int64): derived from the seclog id.
    id: i64,
    /// The seclog id (accepted by `DELETE /v1/decisions/{id}`).
    uuid: String,
    origin: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    scope: &'static str,
    value: String,
    duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    scenario: String,
    simulated: bool,
}

/// The integer id shown to bouncers for a seclog decision id.
pub(crate) fn int_id(id: &str) -> i64 {
    let h = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(h.get(..8).unwrap_or(&[0; 8]));
    i64::from_be_bytes(b) & i64::MAX
}

/// A Go-style duration (`3h59m50s`) of what remains at `now` (0s when over; permanent
/// decisions show ten years).
pub(crate) fn go_duration(until: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    let secs = until.map_or(10 * 365 * 86_400, |u| (u - now).whole_seconds().max(0));
    format!("{}h{}m{}s", secs / 3600, (secs % 3600) / 60, secs % 60)
}

fn cs(d: &Decision, now: OffsetDateTime) -> CsDecision {
    let scope = match d.scope {
        Scope::Ip => "Ip",
        Scope::Range => "Range",
        Scope::User => "User",
    };
    let remaining = if d.deleted_at.is_some() { Some(now) } else { d.until };
    CsDecision {
        id: int_id(&d.id),
        uuid: d.id.clone(),
        origin: if d.origin == "manual" { "cscli" } else { "crowdsec" },
        kind: "ban",
        scope,
        value: d.value.clone(),
        duration: go_duration(remaining, now),
        until: d.until.and_then(|u| u.format(&time::format_description::well_known::Rfc3339).ok()),
        scenario: d.origin.clone(),
        simulated: false,
    }
}

/// What each bouncer key saw last (`decisions/stream`).
#[derive(Default)]
pub(crate) struct StreamState {
    last: Mutex<HashMap<String, OffsetDateTime>>,
}

/// A key allowed to read decisions: `bouncer`, `read` or `admin`.
pub(crate) struct DecisionReader;

impl FromRequestParts<AppState> for DecisionReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Try the bouncer scope first; a read key is accepted too (without a second log).
        match Bouncer::from_request_parts(parts, state).await {
            Ok(_) => Ok(DecisionReader),
            Err(e) if e.status == StatusCode::FORBIDDEN => {
                Read::from_request_parts(parts, state).await.map(|_| DecisionReader)
            }
            Err(e) => Err(e),
        }
    }
}

query_params!(
    /// The parameters of `GET /v1/decisions` (CrowdSec's; those seclog does not use are
    /// accepted and ignored).
    DecisionsQuery,
    vec![
        ("ip", ip_schema(), "decisions applying to this address"),
        ("scope", json!({"type": "string"}), "Ip, Range or User (any case; others match none)"),
        ("value", json!({"type": "string"}), "exact value"),
        ("type", json!({"type": "string"}), "ignored"),
        ("range", json!({"type": "string"}), "ignored"),
        ("contains", json!({"type": "string"}), "ignored"),
        ("origins", json!({"type": "string"}), "ignored"),
        ("scenarios_containing", json!({"type": "string"}), "ignored"),
        ("scenarios_not_containing", json!({"type": "string"}), "ignored"),
    ]
);

/// Active decisions in CrowdSec's shape (`null` when none, like CrowdSec), optionally for
/// one `ip`, or one `scope` + `value`.
#[utoipa::path(get, path = "/v1/decisions", tag = "decisions",
    security(("api_key" = []), ("bearer" = [])), params(DecisionsQuery),
    responses((status = 200, description = "array of decisions, or null"), BadQuery, Keyed, Busy))]
pub(crate) async fn list(
    State(st): State<AppState>,
    _key: DecisionReader,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Option<Vec<CsDecision>>>> {
    let mut ip = None;
    let mut scope = None;
    let mut value = None;
    for (k, v) in params(q.as_deref())? {
        match k.as_str() {
            "ip" => {
                ip = Some(
                    v.parse::<std::net::IpAddr>()
                        .map_err(|_| ApiError::invalid("ip", "not an IP address"))?,
                )
            }
            "scope" => scope = Some(v.to_ascii_lowercase()),
            "value" => value = Some(v),
            "type"
            | "range"
            | "contains"
            | "origins"
            | "scenarios_containing"
            | "scenarios_not_containing" => {}
            other => return Err(ApiError::invalid(other.to_string(), "unknown query parameter")),
        }
    }
    let list = blocking(&st, move |l| {
        let now = l.now();
        let mut out: Vec<Decision> = match ip {
            Some(ip) => l.check_ip(ip).map(|b| (*b.decision).clone()).into_iter().collect(),
            None => l.decisions(false, 100_000)?,
        };
        out.retain(|d| {
            let s = match d.scope {
                Scope::Ip => "ip",
                Scope::Range => "range",
                Scope::User => "user",
            };
            scope.as_deref().is_none_or(|w| w == s) && value.as_deref().is_none_or(|v| v == d.value)
        });
        Ok(out.iter().map(|d| cs(d, now)).collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(if list.is_empty() { None } else { Some(list) }))
}

/// `{new, deleted}` of the CrowdSec bouncer stream.
#[derive(Serialize)]
pub(crate) struct Stream {
    new: Option<Vec<CsDecision>>,
    deleted: Option<Vec<CsDecision>>,
}

query_params!(
    /// The parameters of `GET /v1/decisions/stream` (CrowdSec's; those seclog does not use
    /// are accepted and ignored).
    StreamQuery,
    vec![
        ("startup", flag(), "first call of a bouncer: every active decision"),
        ("scopes", json!({"type": "string"}), "ignored"),
        ("origins", json!({"type": "string"}), "ignored"),
        ("scenarios_containing", json!({"type": "string"}), "ignored"),
        ("scenarios_not_containing", json!({"type": "string"}), "ignored"),
        ("community_pull", json!({"type": "string"}), "ignored"),
        ("additional_pull", json!({"type": "string"}), "ignored"),
    ]
);

/// The bouncer stream: `startup=true` returns every active decision; later calls by the
/// same key return what was created, lifted or expired since its previous call.
#[utoipa::path(get, path = "/v1/decisions/stream", tag = "decisions",
    security(("api_key" = []), ("bearer" = [])), params(StreamQuery),
    responses((status = 200, description = "{new, deleted}"), BadQuery, Keyed, Busy))]
pub(crate) async fn stream(
    State(st): State<AppState>,
    Bouncer(key): Bouncer,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Stream>> {
    let mut startup = false;
    for (k, v) in params(q.as_deref())? {
        match k.as_str() {
            "startup" => startup = parse_bool("startup", &v)?,
            "scopes"
            | "origins"
            | "scenarios_containing"
            | "scenarios_not_containing"
            | "community_pull"
            | "additional_pull" => {}
            other => return Err(ApiError::invalid(other.to_string(), "unknown query parameter")),
        }
    }
    let state = st.clone();
    let out = blocking(&st, move |l| {
        let now = l.now();
        let last = {
            let mut map = state.streams.last.lock();
            let prev = map.insert(key.id.clone(), now);
            if startup {
                None
            } else {
                prev
            }
        };
        let Some(last) = last else {
            let active = l.decisions(false, 100_000)?;
            return Ok(Stream {
                new: some(active.iter().map(|d| cs(d, now)).collect()),
                deleted: None,
            });
        };
        // Overlap the window a little: a decision observed just before the last call may have
        // been committed after it. Bouncers apply repeated news idempotently.
        let since = last - time::Duration::seconds(2);
        l.flush()?;
        let changed = l.store().decisions_changed_since(since).map_err(seclog::LogError::from)?;
        let mut new = Vec::new();
        let mut deleted = Vec::new();
        for d in &changed {
            if d.deleted_at.is_some_and(|t| t > since) {
                deleted.push(cs(d, now));
            } else if d.created_at > since && d.is_active(now) {
                new.push(cs(d, now));
            }
        }
        // Expiries between the last call and now.
        for d in l.decisions(true, 100_000)? {
            let expired = d.until.is_some_and(|u| u > since && u <= now);
            if expired
                && d.deleted_at.is_none_or(|t| t > now)
                && !deleted.iter().any(|x| x.uuid == d.id)
            {
                deleted.push(cs(&d, now));
            }
        }
        Ok(Stream { new: some(new), deleted: some(deleted) })
    })
    .await?;
    Ok(Json(out))
}

fn some<T>(v: Vec<T>) -> Option<Vec<T>> {
    if v.is_empty() {
        None
    } else {
        Some(v)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDecision {
    #[serde(default = "default_scope")]
    scope: String,
    value: String,
    duration: Option<String>,
    #[serde(default = "default_reason")]
    reason: String,
    #[serde(default = "default_by")]
    by: String,
}

json_schema!(NewDecision, "NewDecision", new_decision_schema());

/// `value` depends on `scope`: an address, a network, or a user id.
fn new_decision_schema() -> Value {
    let scope = |pattern: &str| json!({"type": "string", "pattern": pattern});
    let common = json!({
        "duration": {"type": ["string", "null"],
                     "pattern": trimmed("[0-9]*[1-9][0-9]*[smhdw]?"),
                     "description": "s, m, h, d or w; permanent when absent"},
        "reason": {"type": "string"},
        "by": required_text(seclog::MAX_ACTOR_LEN),
    });
    let variant = |required: &[&str], scope: Value, value: Value| {
        let mut props = common.clone();
        if let Some(p) = props.as_object_mut() {
            p.insert("scope".into(), scope);
            p.insert("value".into(), value);
        }
        object(required, props)
    };
    let mut ip = ip_schema();
    if let Some(o) = ip.as_object_mut() {
        o.insert("description".into(), "an IPv4 or IPv6 address".into());
    }
    let mut network = ip_schema();
    if let Some(branches) = network.get_mut("anyOf").and_then(Value::as_array_mut) {
        branches.insert(0, cidr());
    }
    if let Some(o) = network.as_object_mut() {
        o.insert(
            "description".into(),
            "a network in CIDR form (IPv4 or IPv6), or one address".into(),
        );
    }
    json!({"oneOf": [
        variant(&["value"], scope("^[iI][pP]$"), ip),
        variant(&["scope", "value"], scope("^[rR][aA][nN][gG][eE]$"), network),
        variant(&["scope", "value"], scope("^[uU][sS][eE][rR]$"),
                json!({"type": "string", "pattern": not_blank()})),
    ]})
}

fn default_scope() -> String {
    "ip".into()
}
fn default_reason() -> String {
    "manual block".into()
}
fn default_by() -> String {
    "api".into()
}

/// Adds a manual decision `{scope, value, duration?, reason?, by?}` (admin).
#[utoipa::path(post, path = "/v1/decisions", tag = "decisions",
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = NewDecision, content_type = "application/json"),
    responses((status = 201, description = "the decision (seclog shape)"), JsonIn, Keyed, Busy))]
pub(crate) async fn add(
    State(st): State<AppState>,
    Admin(key): Admin,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: NewDecision = json_body(&headers, body, BODY_LIMIT).await?;
    let scope = parse_scope("scope", &b.scope)
        .map_err(|v| ApiError::invalid(v.field.clone(), v.to_string()))?;
    let duration = b
        .duration
        .as_deref()
        .map(crate::cmd::decisions::parse_duration)
        .transpose()
        .map_err(|e| ApiError::invalid("duration", e.to_string()))?;
    // Who asked (`by`) is checked as given; the key that made the request goes with the reason.
    let reason = format!("{} (key {})", b.reason, key.name);
    let d = blocking(&st, move |l| Ok(l.add_decision(scope, &b.value, duration, &reason, &b.by)?))
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(d).map_err(|e| ApiError::internal(&e))?)))
}

query_params!(
    /// The parameters of `DELETE /v1/decisions` (CrowdSec's). At least one of `ip`, `range`,
    /// `scope`, `value` is needed, `ip` and `range` not together, and with `scope` ip or
    /// range, `value` must be an address or network (400 otherwise).
    LiftQuery,
    vec![
        ("ip", ip_schema(), "lift the decisions covering this address"),
        ("range", json!({"type": "string"}), "lift the decisions covering this network (CIDR)"),
        ("scope", trimmed_one_of(&["[Ii][Pp]", "[Rr][Aa][Nn][Gg][Ee]", "[Uu][Ss][Ee][Rr]"]),
         "ip, range or user, any case"),
        ("value", json!({"type": "string"}), "exact value"),
        ("type", trimmed_one_of(&["[Bb][Aa][Nn]"]), "ban (every seclog decision is one)"),
        ("contains", trimmed_one_of(&["[Tt][Rr][Uu][Ee]"]), "true (the only mode)"),
    ]
);

/// CrowdSec's answer to a deletion: how many decisions were lifted, as a decimal string.
#[derive(Serialize)]
pub(crate) struct Deleted {
    #[serde(rename = "nbDeleted")]
    nb_deleted: String,
}

/// Lifts the decisions in force that cover `ip` or `range` (an IP decision on the address, a
/// range containing it), or that have `scope` and/or `value`; CrowdSec's `DELETE
/// /v1/decisions` (admin: in CrowdSec a machine's action, never a bouncer's). Lifted decisions
/// stop blocking at once and are reported in the bouncer stream's `deleted`.
#[utoipa::path(delete, path = "/v1/decisions", tag = "decisions",
    security(("api_key" = []), ("bearer" = [])), params(LiftQuery),
    responses((status = 200, description = "{\"nbDeleted\": \"N\"}"), BadQuery, Keyed, Busy))]
pub(crate) async fn delete_matching(
    State(st): State<AppState>,
    _key: Admin,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Deleted>> {
    let pairs = params(q.as_deref())?;
    let selection = DecisionMatch::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|v| ApiError::invalid(v.field.clone(), v.to_string()))?;
    let n = blocking(&st, move |l| Ok(l.lift_decisions(&selection)?.len())).await?;
    Ok(Json(Deleted { nb_deleted: n.to_string() }))
}

/// Lifts a decision by its seclog id (or the integer id shown to bouncers) (admin).
#[utoipa::path(delete, path = "/v1/decisions/{id}", tag = "decisions",
    params(("id" = String, Path, description = "decision id")),
    security(("api_key" = []), ("bearer" = [])),
    responses((status = 200, description = "the lifted decision"), Missing, Keyed, Busy))]
pub(crate) async fn delete(
    State(st): State<AppState>,
    _key: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = blocking(&st, move |l| {
        let real = match id.parse::<i64>() {
            Ok(n) => {
                l.decisions(true, 100_000)?.into_iter().find(|d| int_id(&d.id) == n).map(|d| d.id)
            }
            Err(_) => Some(id.clone()),
        };
        let found = match real {
            Some(r) => l.delete_decision(&r)?,
            None => None,
        };
        found.ok_or(ApiError::not_found(format!("no decision {id}")))
    })
    .await?;
    Ok(Json(serde_json::to_value(d).map_err(|e| ApiError::internal(&e))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(go_duration(Some(now + time::Duration::seconds(14_390)), now), "3h59m50s");
        assert_eq!(go_duration(Some(now - time::Duration::seconds(5)), now), "0h0m0s");
    }

    #[test]
    fn int_ids_are_stable_and_positive() {
        let a = int_id("0190-abc");
        assert_eq!(a, int_id("0190-abc"));
        assert!(a >= 0);
        assert_ne!(a, int_id("0190-abd"));
    }
}
