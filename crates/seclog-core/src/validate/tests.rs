use super::*;
use serde_json::json;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);

fn run(input: EventInput) -> Result<SecurityEvent, ValidationError> {
    let mut n = 0;
    let mut new_id = || {
        n += 1;
        format!("gen-{n}")
    };
    validate(input, NOW, &mut new_id, &Limits::default())
}

fn input(v: serde_json::Value) -> EventInput {
    serde_json::from_value(v).unwrap()
}

fn err_field(v: serde_json::Value) -> (String, String) {
    let e = run(input(v)).unwrap_err();
    (e.field.clone(), e.to_string())
}

#[test]
fn minimal_event_takes_defaults() {
    let ev = run(EventInput::of_type("auth_failure")).unwrap();
    assert_eq!(ev.event_id, "gen-1");
    assert_eq!(ev.severity, Severity::Medium);
    assert_eq!(ev.timestamp, NOW);
    assert_eq!(ev.status, EventStatus::Detected);
    assert_eq!(ev.risk_score, None);
    assert!(ev.details.is_empty());
}

#[test]
fn full_event_is_kept() {
    let ev = run(input(json!({
        "event_id": "evt-1:a.b_c",
        "event_type": "sql_injection_attempt",
        "severity": "high",
        "timestamp": "2025-06-01T14:00:00+02:00",
        "user_id": "u1",
        "ip_address": "10.0.0.1",
        "response_status": 403,
        "request_headers": {"Accept": "*/*"},
        "details": {"n": 1, "nested": {"ok": true}},
        "risk_score": 99.0,
        "status": "investigating",
        "compliance_tags": ["pci_dss"],
    })))
    .unwrap();
    assert_eq!(ev.event_id, "evt-1:a.b_c");
    assert_eq!(ev.severity, Severity::High);
    assert_eq!(ev.timestamp, datetime!(2025-06-01 12:00:00 UTC));
    assert_eq!(ev.timestamp.offset(), UtcOffset::UTC);
    assert_eq!(ev.response_status, Some(403));
    assert_eq!(ev.risk_score, None, "the caller's score is ignored");
    assert_eq!(ev.status, EventStatus::Investigating);
    assert_eq!(ev.request_headers.unwrap()["Accept"], "*/*");
    assert_eq!(ev.details["nested"]["ok"], true);
}

#[test]
fn unknown_names_list_accepted_values() {
    let (f, m) = err_field(json!({"event_type": "auth_fail"}));
    assert_eq!(f, "event_type");
    assert!(m.contains("auth_failure"), "{m}");
    let (f, m) = err_field(json!({"event_type": "auth_failure", "severity": "severe"}));
    assert_eq!(f, "severity");
    assert!(m.contains("critical"), "{m}");
    let (f, _) = err_field(json!({"event_type": "auth_failure", "status": "open"}));
    assert_eq!(f, "status");
}

#[test]
fn timestamps() {
    let (f, m) = err_field(json!({"event_type": "auth_failure", "timestamp": "yesterday"}));
    assert_eq!(f, "timestamp");
    assert!(m.contains("RFC 3339"), "{m}");
    let (f, m) =
        err_field(json!({"event_type": "auth_failure", "timestamp": "2025-06-03T12:00:00Z"}));
    assert_eq!(f, "timestamp");
    assert!(m.contains("future"), "{m}");
    // Within the skew and in the past are fine.
    let ok = run(input(json!({"event_type": "auth_failure", "timestamp": "2025-06-02T11:00:00Z"})));
    assert!(ok.is_ok());
    let old =
        run(input(json!({"event_type": "auth_failure", "timestamp": "2001-01-01T00:00:00-05:00"})))
            .unwrap();
    assert_eq!(old.timestamp, datetime!(2001-01-01 05:00:00 UTC));
}

#[test]
fn ip_addresses() {
    let ip = |s: &str| run(input(json!({"event_type": "auth_failure", "ip_address": s})));
    assert_eq!(ip("::ffff:1.2.3.4").unwrap().ip_address, Some("1.2.3.4".parse().unwrap()));
    assert_eq!(ip("2001:db8::1").unwrap().ip_address, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(ip("192.168.1.100").unwrap().ip_address, Some("192.168.1.100".parse().unwrap()));
    for bad in ["999.1.1.1", "1.2.3.4\n", "localhost", ""] {
        assert_eq!(ip(bad).unwrap_err().field, "ip_address", "{bad:?}");
    }
}

#[test]
fn response_status_range() {
    for (code, ok) in [(99, false), (100, true), (599, true), (600, false), (-1, false)] {
        let r = run(input(json!({"event_type": "auth_failure", "response_status": code})));
        assert_eq!(r.is_ok(), ok, "{code}");
        if let Err(e) = r {
            assert_eq!(e.field, "response_status");
        }
    }
}

#[test]
fn event_ids() {
    for bad in ["", "a b", "x/y", "é", &"a".repeat(129)] {
        let (f, _) = err_field(json!({"event_type": "auth_failure", "event_id": bad}));
        assert_eq!(f, "event_id", "{bad:?}");
    }
    let (f, _) = err_field(json!({"event_type": "auth_failure", "parent_event_id": "a\nb"}));
    assert_eq!(f, "parent_event_id");
    assert!(run(input(json!({"event_type": "auth_failure", "event_id": "a".repeat(128)}))).is_ok());
}

#[test]
fn details_and_headers_shapes() {
    let (f, m) = err_field(json!({"event_type": "auth_failure", "details": [1, 2]}));
    assert_eq!(f, "details");
    assert!(m.contains("object"), "{m}");
    let (f, _) = err_field(json!({"event_type": "auth_failure", "request_headers": {"X-N": 5}}));
    assert_eq!(f, "request_headers.X-N");
    let (f, _) = err_field(json!({"event_type": "auth_failure", "request_headers": "a: b"}));
    assert_eq!(f, "request_headers");
    let ev = run(input(json!({"event_type": "auth_failure", "details": null}))).unwrap();
    assert!(ev.details.is_empty());
}

#[test]
fn too_long_ids_error_with_field_and_limit() {
    let (f, m) = err_field(json!({"event_type": "auth_failure", "user_id": "u".repeat(257)}));
    assert_eq!(f, "user_id");
    assert!(m.contains("257") && m.contains("256"), "{m}");
    let (f, _) = err_field(json!({"event_type": "auth_failure", "session_id": "s".repeat(300)}));
    assert_eq!(f, "session_id");
    let (f, _) = err_field(json!({"event_type": "auth_failure", "indicators": vec!["x"; 65]}));
    assert_eq!(f, "indicators");
    let (f, _) =
        err_field(json!({"event_type": "auth_failure", "audit_trail": ["ok", "y".repeat(2000)]}));
    assert_eq!(f, "audit_trail[1]");
    let big = "z".repeat(70 * 1024);
    let (f, m) = err_field(json!({"event_type": "auth_failure", "details": {"blob": big}}));
    assert_eq!(f, "details");
    assert!(m.contains("65536"), "{m}");
}

#[test]
fn refusing_limits_count_characters_as_given_not_bytes_after_neutralising() {
    // 256 characters are within `max_id_len` whatever their UTF-8 length or escapes.
    for c in ["\u{20ac}", "\u{1F600}", "\n", "\u{1b}"] {
        let ok = json!({"event_type": "auth_failure", "user_id": c.repeat(256),
                        "indicators": [c.repeat(1024)], "request_headers": {c.repeat(256): "v"}});
        let ev = run(input(ok)).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert!(ev.user_id.is_some_and(|u| !u.contains('\n')));
    }
    let (f, m) =
        err_field(json!({"event_type": "auth_failure", "user_id": "\u{20ac}".repeat(257)}));
    assert_eq!(f, "user_id");
    assert!(m.contains("257 characters"), "{m}");
    let (f, _) = err_field(json!({"event_type": "auth_failure", "indicators": ["é".repeat(1025)]}));
    assert_eq!(f, "indicators[0]");
}

#[test]
fn details_depth_is_bounded() {
    let mut v = json!(1);
    for _ in 0..40 {
        v = json!({ "a": v });
    }
    let (f, m) = err_field(json!({"event_type": "auth_failure", "details": v}));
    assert_eq!(f, "details");
    assert!(m.contains("deeper"), "{m}");
}

#[test]
fn attacker_controlled_fields_are_truncated_with_marker() {
    let ev = run(input(json!({
        "event_type": "xss_attempt",
        "user_agent": "A".repeat(5000),
        "request_body": "b".repeat(20_000),
        "request_url": format!("/x?q={}", "c".repeat(3000)),
    })))
    .unwrap();
    let ua = ev.user_agent.unwrap();
    assert!(ua.len() <= 2048 && ua.ends_with(TRUNCATION_MARKER), "{}", ua.len());
    let body = ev.request_body.unwrap();
    assert!(body.len() <= 16 * 1024 && body.ends_with(TRUNCATION_MARKER));
    assert!(ev.request_url.unwrap().ends_with(TRUNCATION_MARKER));
}

#[test]
fn truncation_never_splits_a_digit_run_or_a_char() {
    let s = format!("{}4111 1111 1111 1111 tail", "x".repeat(10));
    let max = 10 + 7 + TRUNCATION_MARKER.len();
    let t = truncate(s, max);
    assert_eq!(t, format!("{}{TRUNCATION_MARKER}", "x".repeat(10)));
    let t = truncate("é".repeat(100), 21);
    assert!(t.len() <= 21 && t.ends_with(TRUNCATION_MARKER));
    assert_eq!(truncate("short".into(), 100), "short");
}

#[test]
fn control_characters_are_neutralised_everywhere() {
    let ev = run(input(json!({
        "event_type": "auth_failure",
        "user_id": "bob\r\nFAKE auth_success",
        "user_agent": "ua\u{1b}[2J",
        "request_url": "/a\nb",
        "request_headers": {"X-Evil\n": "v\r\n"},
        "details": {"k\n": ["x\ny", {"deep\r": "z\u{0}"}]},
        "indicators": ["i\n"],
        "source": "s\t",
    })))
    .unwrap();
    let json = serde_json::to_string(&ev).unwrap();
    // serde_json escapes a raw control as \n / \u0000: none may remain to be escaped.
    for bad in ["\\n", "\\r", "\\t", "\\u0000", "\\u001b"] {
        let raw_escaped_by_serde = json.contains(bad) && !json.contains(&format!("\\{bad}"));
        assert!(!raw_escaped_by_serde, "{bad} in {json}");
    }
    assert_eq!(ev.user_id.as_deref(), Some("bob\\r\\nFAKE auth_success"));
    assert_eq!(ev.details["k\\n"][1]["deep\\r"], "z\\u{0000}");
    assert_eq!(ev.request_headers.unwrap()["X-Evil\\n"], "v\\r\\n");
    assert_eq!(ev.indicators, vec!["i\\n".to_string()]);
}

#[test]
fn limits_deserialise_with_defaults() {
    let l: Limits = serde_json::from_value(json!({"max_body_len": 10})).unwrap();
    assert_eq!(l.max_body_len, 10);
    assert_eq!(l.max_id_len, Limits::default().max_id_len);
    assert!(serde_json::from_value::<Limits>(json!({"max_bdy": 1})).is_err());
}
