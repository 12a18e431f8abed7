use super::*;
use crate::event_type::EventType;
use serde_json::json;
use std::collections::BTreeMap;
use time::OffsetDateTime;

const KEY: [u8; 32] = [7u8; 32];

fn event() -> SecurityEvent {
    SecurityEvent::new("e1", EventType::AuthFailure, OffsetDateTime::UNIX_EPOCH)
}

fn redactor() -> Redactor {
    Redactor::new(RedactionConfig::default(), KEY)
}

#[test]
fn session_hash_is_keyed_hex_and_idempotent() {
    let r = redactor();
    let h = r.hash_session_id("sess-abc");
    assert!(h.starts_with("hmac:") && h.len() == 5 + 64, "{h}");
    assert_eq!(r.hash_session_id(&h), h);
    assert_eq!(r.hash_session_id("sess-abc"), h, "deterministic");
    assert_ne!(r.hash_session_id("sess-abd"), h);
    let other = Redactor::new(RedactionConfig::default(), [8u8; 32]);
    assert_ne!(other.hash_session_id("sess-abc"), h, "keyed");
    // Known HMAC-SHA256 vector (RFC 4231 case 2: key "Jefe", zero-padded here to 32 bytes).
    let mut k = [0u8; 32];
    k[..4].copy_from_slice(b"Jefe");
    let jefe = Redactor::new(RedactionConfig::default(), k);
    assert_eq!(
        jefe.hash_session_id("what do ya want for nothing?"),
        "hmac:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn headers_are_masked_case_insensitively() {
    let mut ev = event();
    let mut h = BTreeMap::new();
    for (k, v) in [
        ("authorization", "Bearer abcdef123"),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
        ("COOKIE", "sid=abc"),
        ("Set-Cookie", "sid=abc; HttpOnly"),
        ("X-API-KEY", "k-123"),
        ("X-Auth-Token", "t-123"),
        ("Accept", "application/json"),
        ("Referer", "https://shop/cb?token=zzz999"),
    ] {
        h.insert(k.to_string(), v.to_string());
    }
    ev.request_headers = Some(h);
    redactor().redact(&mut ev);
    let h = ev.request_headers.unwrap();
    for k in [
        "authorization",
        "Proxy-Authorization",
        "COOKIE",
        "Set-Cookie",
        "X-API-KEY",
        "X-Auth-Token",
    ] {
        assert_eq!(h[k], "[REDACTED]", "{k}");
    }
    assert_eq!(h["Accept"], "application/json");
    assert_eq!(h["Referer"], "https://shop/cb?token=[REDACTED]");
}

#[test]
fn details_at_any_depth() {
    let mut ev = event();
    ev.details = json!({
        "username": "alice",
        "password": "hunter2",
        "token_count": 3,
        "password_reset": true,
        "nested": {"list": [{"api_key": "k1"}, {"card": 4111111111111111u64}], "pin": 1234},
        "credentials": {"user": "bob", "pw": "x"},
        "note": "tried password=hunter3 with card 5555 5555 5555 4444",
        "4111111111111111": "as a key",
    })
    .as_object()
    .unwrap()
    .clone();
    redactor().redact(&mut ev);
    let d = serde_json::Value::Object(ev.details);
    assert_eq!(d["username"], "alice");
    assert_eq!(d["password"], "[REDACTED]");
    assert_eq!(d["token_count"], 3);
    assert_eq!(d["password_reset"], true);
    assert_eq!(d["nested"]["list"][0]["api_key"], "[REDACTED]");
    assert_eq!(d["nested"]["list"][1]["card"], "411111******1111");
    assert_eq!(d["nested"]["pin"], "[REDACTED]");
    assert_eq!(d["credentials"], "[REDACTED]");
    assert_eq!(d["note"], "tried password=[REDACTED] with card 555555******4444");
    assert_eq!(d["411111******1111"], "as a key");
}

#[test]
fn strings_everywhere() {
    let mut ev = event();
    ev.session_id = Some("raw-session".into());
    ev.request_url = Some("/cb?code=1&access_token=abc123&state=x".into());
    ev.request_body = Some("username=bob&password=s3cret&remember=1".into());
    ev.response_body = Some(r#"{"ok":true,"refresh_token":"rt-999"}"#.into());
    ev.user_agent = Some("curl/8 (Authorization: Bearer abcdefgh)".into());
    ev.indicators = vec!["card 4111111111111111 seen".into()];
    redactor().redact(&mut ev);
    assert_eq!(ev.session_id.as_deref(), Some(redactor().hash_session_id("raw-session").as_str()));
    assert_eq!(ev.request_url.as_deref(), Some("/cb?code=1&access_token=[REDACTED]&state=x"));
    assert_eq!(ev.request_body.as_deref(), Some("username=bob&password=[REDACTED]&remember=1"));
    assert_eq!(ev.response_body.as_deref(), Some(r#"{"ok":true,"refresh_token":"[REDACTED]"}"#));
    assert_eq!(ev.user_agent.as_deref(), Some("curl/8 (Authorization: [REDACTED])"));
    assert_eq!(ev.indicators, vec!["card 411111******1111 seen".to_string()]);
}

#[test]
fn disabled_only_hashes_sessions() {
    let cfg = RedactionConfig { enabled: false, ..Default::default() };
    let r = Redactor::new(cfg, KEY);
    let mut ev = event();
    ev.session_id = Some("raw".into());
    ev.request_body = Some("password=x".into());
    r.redact(&mut ev);
    assert!(ev.session_id.unwrap().starts_with("hmac:"));
    assert_eq!(ev.request_body.as_deref(), Some("password=x"));
}

#[test]
fn custom_mask_and_extra_keys() {
    let cfg = RedactionConfig {
        mask: "***".into(),
        extra_secret_keys: vec!["iban".into()],
        extra_secret_headers: vec!["X-Signature".into()],
        ..Default::default()
    };
    let r = Redactor::new(cfg, KEY);
    let mut ev = event();
    ev.details =
        json!({"IBAN": "DE89370400440532013000", "password": "x"}).as_object().unwrap().clone();
    ev.request_headers = Some(BTreeMap::from([("x-signature".to_string(), "sig".to_string())]));
    r.redact(&mut ev);
    assert_eq!(ev.details["IBAN"], "***");
    assert_eq!(ev.details["password"], "***");
    assert_eq!(ev.request_headers.unwrap()["x-signature"], "***");
    let cfg: RedactionConfig = serde_json::from_value(json!({"mask": "#"})).unwrap();
    assert!(cfg.enabled);
    assert!(format!("{r:?}").contains("Redactor"));
}

#[test]
fn redacting_twice_changes_nothing() {
    let r = redactor();
    let mut ev = event();
    ev.session_id = Some("s".into());
    ev.request_body = Some(r#"{"password":"x","card":"4111 1111 1111 1111"}"#.into());
    ev.details = json!({"token": "t", "n": 4111111111111111u64}).as_object().unwrap().clone();
    r.redact(&mut ev);
    let once = ev.clone();
    r.redact(&mut ev);
    assert_eq!(ev, once);
}
