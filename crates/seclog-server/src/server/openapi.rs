//! The parts of the OpenAPI document that the routes share: the key schemes, the error answers
//! each kind of route can give, and the schemas built from the library's vocabularies.
//!
//! The document is the API's contract: every status a route answers is declared on it, every
//! body it needs is marked required, and every constraint the server enforces on a field is
//! stated in its schema (`scripts/contract_test.sh` checks this against a running server).

use std::collections::BTreeMap;

use seclog::core::validate::Limits;
use serde_json::{json, Value};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Required};
use utoipa::{IntoResponses, Modify, PartialSchema, ToSchema};

/// Declares the two ways of presenting a key (`X-Api-Key` and `Authorization: Bearer`).
pub(crate) struct KeySchemes;

impl Modify for KeySchemes {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `{"error": {"code", "message", "field"?}}`: every error answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ErrorDetail {
    /// A stable machine-readable code (`invalid_field`, `unauthorized`, ...).
    code: String,
    /// A sentence for people.
    message: String,
    /// The field at fault, when one is.
    #[schema(required = false, nullable = false)]
    field: Option<String>,
}

fn error_answer(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
        .build()
        .into()
}

macro_rules! error_answers {
    ($($(#[$doc:meta])* $name:ident { $($status:literal => $desc:literal),+ $(,)? })*) => {$(
        $(#[$doc])*
        pub(crate) struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($status, $desc)),+]
                    .into_iter()
                    .map(|(s, d)| (s.to_string(), error_answer(d)))
                    .collect()
            }
        }
    )*};
}

error_answers! {
    /// A route that needs a key.
    Keyed {
        "401" => "missing or invalid API key",
        "403" => "the key lacks the route's scope, or the client's address is blocked",
        "429" => "too many wrong keys from this address; retry after Retry-After seconds",
    }
    /// A route without a key (every one but `/health` refuses blocked addresses).
    Open {
        "403" => "the client's address is blocked",
    }
    /// A route that goes through the library (its queue or its store).
    Busy {
        "503" => "the server is overloaded or shutting down; retry after Retry-After seconds",
    }
    /// A route with a JSON body.
    JsonIn {
        "400" => "malformed JSON or an invalid field (named in `field`)",
        "413" => "body larger than the limit",
        "415" => "Content-Type is not application/json",
    }
    /// A route with query parameters.
    BadQuery {
        "400" => "a malformed, unknown or invalid query parameter (named in `field`)",
    }
    /// A route naming a resource in its path.
    Missing {
        "404" => "no such resource",
    }
    /// A request the current state refuses (named in `field`).
    Refused {
        "409" => "the request is well formed but the current state refuses it",
    }
}

/// A body of the batch route: a JSON array of events, or NDJSON.
pub(crate) struct BatchIn;

impl IntoResponses for BatchIn {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("400", "a body that is neither a JSON array nor NDJSON, or too many events"),
            ("413", "body larger than the limit"),
            ("415", "Content-Type is neither application/json nor application/x-ndjson"),
        ]
        .into_iter()
        .map(|(s, d)| (s.to_string(), error_answer(d)))
        .collect()
    }
}

/// Characters Rust's `str::trim` removes (Unicode `White_Space`), for "not blank" patterns.
const WHITE_SPACE: &str =
    r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A pattern matching text with at least one character that is not white space.
pub(crate) fn not_blank() -> String {
    format!("[^{WHITE_SPACE}]")
}

pub(crate) fn schema(v: Value) -> RefOr<Schema> {
    let raw = ExtensionsBuilder::new().add(RAW, v).build();
    RefOr::T(Schema::Object(ObjectBuilder::new().extensions(Some(raw)).build()))
}

/// The extension that carries a schema written as JSON through utoipa's typed model (which
/// would drop what it does not model, such as `anyOf` beside `type`) into the document.
const RAW: &str = "x-seclog-raw-schema";

/// Replaces every schema that carries [`RAW`] by the JSON it carries.
pub(crate) fn unwrap_raw(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(raw) = map.remove(RAW) {
                *v = raw;
                unwrap_raw(v);
                return;
            }
            map.values_mut().for_each(unwrap_raw);
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_raw),
        _ => {}
    }
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The event types' wire names.
pub(crate) fn event_types() -> Vec<&'static str> {
    names(seclog::core::EventType::ALL, seclog::core::EventType::as_str)
}

/// The severities' names.
pub(crate) fn severities() -> Vec<&'static str> {
    names(seclog::core::Severity::ALL, seclog::core::Severity::as_str)
}

/// The event statuses' names.
pub(crate) fn event_statuses() -> Vec<&'static str> {
    names(seclog::core::EventStatus::ALL, seclog::core::EventStatus::as_str)
}

/// The alert statuses' names.
pub(crate) fn alert_statuses() -> Vec<&'static str> {
    names(seclog::core::AlertStatus::ALL, seclog::core::AlertStatus::as_str)
}

/// The resolutions' names.
pub(crate) fn resolutions() -> Vec<&'static str> {
    names(seclog::core::Resolution::ALL, seclog::core::Resolution::as_str)
}

/// Gives `$ty` the JSON schema `$schema` under the name `$name` in the document.
macro_rules! json_schema {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::server::openapi::schema($schema)
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
        }
    };
}
pub(crate) use json_schema;

/// A JSON object with exactly these `properties` (`required` among them), as the body
/// structs with `deny_unknown_fields` parse.
pub(crate) fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "additionalProperties": false,
           "properties": properties})
}

/// Text of at most `max` characters with a character that is not white space.
pub(crate) fn required_text(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": not_blank()})
}

/// Optional text (`null` allowed) of at most `max` characters.
pub(crate) fn optional_text(max: Option<usize>) -> Value {
    match max {
        Some(m) => json!({"type": ["string", "null"], "maxLength": m}),
        None => json!({"type": ["string", "null"]}),
    }
}

/// Declares query parameters for `#[utoipa::path(params(...))]`: `$name` lists
/// `(name, schema, description)`.
macro_rules! query_params {
    ($(#[$doc:meta])* $name:ident, $list:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl utoipa::IntoParams for $name {
            fn into_params(
                _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
            ) -> Vec<utoipa::openapi::path::Parameter> {
                $crate::server::openapi::query($list)
            }
        }
    };
}
pub(crate) use query_params;

/// Optional query parameters from `(name, schema, description)`.
pub(crate) fn query(list: Vec<(&str, Value, &str)>) -> Vec<Parameter> {
    list.into_iter()
        .map(|(name, s, description)| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema(s)))
                .build()
        })
        .collect()
}

/// An integer in `1..=max`.
pub(crate) fn limit(max: usize) -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": max})
}

/// The spellings of a boolean query parameter the server accepts.
pub(crate) fn flag() -> Value {
    json!({"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]})
}

/// A pattern matching all of a text that matches `pattern` once trimmed of white space.
pub(crate) fn trimmed(pattern: &str) -> String {
    format!("^[{WHITE_SPACE}]*(?:{pattern})[{WHITE_SPACE}]*$")
}

/// A string that is one of `values` once white space around it is trimmed.
pub(crate) fn trimmed_one_of(values: &[&str]) -> Value {
    json!({"type": "string", "pattern": trimmed(&values.join("|"))})
}

/// A comma-separated list of `values` (white space around each, and empty items, ignored).
pub(crate) fn trimmed_list_of(values: &[&str]) -> Value {
    let item = format!("[{WHITE_SPACE}]*(?:{})?[{WHITE_SPACE}]*", values.join("|"));
    json!({"type": "string", "pattern": format!("^{item}(?:,{item})*$")})
}

/// An IPv4 network in CIDR form (IPv6 networks are accepted too; their syntax is left to the
/// description).
pub(crate) fn cidr() -> Value {
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    json!({"type": "string",
           "pattern": format!("^(?:{octet}\\.){{3}}{octet}/(?:3[0-2]|[12]?[0-9])$")})
}

/// A string of one of `values`.
pub(crate) fn one_of_json(values: Vec<&'static str>) -> Value {
    json!({"type": "string", "enum": values})
}

/// An IPv4 or IPv6 address.
pub(crate) fn ip_schema() -> Value {
    json!({"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]})
}

/// An event as a caller submits it (`seclog::core::EventInput`; see the validation rules in
/// `seclog_core::validate`).
pub(crate) struct EventIn;

impl EventIn {
    /// The schema under the size limits `limits` (the server's configured ones).
    pub(crate) fn schema_for(limits: &Limits) -> RefOr<Schema> {
        schema(json!({
            "type": "object",
            "required": ["event_type"],
            "additionalProperties": false,
            "properties": EventIn::properties(limits),
        }))
    }

    /// The schema's properties, in the order of `EventInput`.
    fn properties(limits: &Limits) -> Value {
        let text = || json!({"type": ["string", "null"]});
        let id_text = || json!({"type": ["string", "null"], "maxLength": limits.max_id_len});
        let event_id = || {
            json!({"type": ["string", "null"], "pattern": "^[A-Za-z0-9._:-]{1,128}$",
                   "description": "1..=128 characters of [A-Za-z0-9._:-]"})
        };
        let list = || {
            json!({"type": "array", "maxItems": limits.max_list_entries,
                   "items": {"type": "string", "maxLength": limits.max_list_entry_len}})
        };
        let ip = json!({"anyOf": [{"type": "null"}, {"type": "string", "format": "ipv4"},
                                  {"type": "string", "format": "ipv6"}]});
        json!({
            "event_id": event_id(),
            "event_type": {"type": "string", "enum": event_types()},
            "severity": {"type": ["string", "null"], "enum": nullable(severities())},
            "timestamp": {"type": ["string", "null"], "format": "date-time",
                          "description": format!("RFC 3339; at most {}s ahead of the server's \
                                                  clock", limits.max_future_skew_secs)},
            "user_id": id_text(),
            "session_id": id_text(),
            "ip_address": ip,
            "user_agent": text(),
            "request_method": text(),
            "request_url": text(),
            "request_headers": {"type": ["object", "null"], "maxProperties": limits.max_headers,
                                "propertyNames": {"maxLength": limits.max_header_name_len},
                                "additionalProperties": {"type": "string"}},
            "request_body": text(),
            "response_status": {"type": ["integer", "null"], "minimum": 100, "maximum": 599},
            "response_body": text(),
            "details": {"type": ["object", "null"],
                        "description": format!("at most {} bytes as JSON, nested at most {} \
                                                levels", limits.max_details_len,
                                                limits.max_details_depth)},
            "threat_level": id_text(),
            "risk_score": {"type": ["number", "null"],
                           "description": "accepted and ignored: seclog computes the score"},
            "indicators": list(),
            "status": {"type": ["string", "null"], "enum": nullable(event_statuses())},
            "investigation_notes": list(),
            "remediation_actions": list(),
            "compliance_tags": list(),
            "audit_trail": list(),
            "source": id_text(),
            "correlation_id": id_text(),
            "parent_event_id": event_id(),
        })
    }
}

fn nullable(values: Vec<&'static str>) -> Vec<Value> {
    let mut out: Vec<Value> = values.into_iter().map(Value::from).collect();
    out.push(Value::Null);
    out
}

impl PartialSchema for EventIn {
    /// Under the default limits; `app` replaces it with the configured ones.
    fn schema() -> RefOr<Schema> {
        EventIn::schema_for(&Limits::default())
    }
}

impl ToSchema for EventIn {
    fn name() -> std::borrow::Cow<'static, str> {
        "EventInput".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_schema_names_every_field_of_event_input() {
        let fields: Vec<String> = match serde_json::to_value(seclog::core::EventInput::default()) {
            Ok(Value::Object(m)) => m.keys().cloned().collect(),
            other => panic!("EventInput serialises to an object: {other:?}"),
        };
        let props = EventIn::properties(&Limits::default());
        let mut documented: Vec<String> =
            props.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let mut fields = fields;
        fields.sort();
        documented.sort();
        assert_eq!(documented, fields);
    }

    #[test]
    fn a_json_schema_reaches_the_document_unchanged() {
        let written = json!({"anyOf": [{"type": "null"}, {"type": "string", "format": "ipv4"}],
                             "description": "x"});
        let mut doc = json!({"a": [serde_json::to_value(schema(written.clone())).unwrap()]});
        unwrap_raw(&mut doc);
        assert_eq!(doc, json!({"a": [written]}));
    }
}
