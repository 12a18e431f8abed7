#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! End-to-end tests of the embedded logger over a real SQLite file.

mod common;

use std::collections::HashSet;

use seclog::*;
use serde_json::{json, Map, Value};

fn details(v: Value) -> Option<Map<String, Value>> {
    v.as_object().cloned()
}

fn logger_in(dir: &tempfile::TempDir) -> SecurityLogger {
    let cfg = Config {
        db_file: dir.path().join("events.db"),
        log_file: Some(dir.path().join("security.log")),
        ..Config::default()
    };
    SecurityLogger::new(cfg).unwrap()
}

fn only(logger: &SecurityLogger, id: &str) -> SecurityEvent {
    logger.get_event(id).unwrap().expect("event stored")
}

#[test]
fn spec_helpers_store_the_right_type_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let logger = logger_in(&dir);
    let ok = log_auth_attempt(
        &logger,
        "user123",
        true,
        Some("192.168.1.100"),
        Some("Mozilla/5.0..."),
        details(json!({"login_method": "password", "mfa_used": true})),
    )
    .unwrap();
    let fail = log_auth_attempt(
        &logger,
        "user123",
        false,
        Some("192.168.1.100"),
        Some("Mozilla/5.0..."),
        details(json!({"failed_attempts": 3, "account_locked": true})),
    )
    .unwrap();
    let authz = log_authorization_failure(
        &logger,
        "user123",
        "/admin/users",
        Some("192.168.1.100"),
        Some("Mozilla/5.0..."),
        details(json!({"required_role": "admin", "user_role": "user"})),
    )
    .unwrap();
    let input = log_input_validation_violation(
        &logger,
        "<script>alert('xss')</script>",
        "xss_attempt",
        Some("192.168.1.100"),
        Some("Mozilla/5.0..."),
        details(json!({"field": "comment", "validation_rule": "no_html_tags"})),
    )
    .unwrap();
    let rate = log_rate_limiting_trigger(
        &logger,
        "192.168.1.100",
        "/api/login",
        "authentication_attempts",
        details(json!({"limit": 5, "window": 300, "current_count": 6})),
    )
    .unwrap();
    logger.flush().unwrap();

    let e = only(&logger, &ok);
    assert_eq!(e.event_type, EventType::AuthSuccess);
    assert_eq!(e.user_id.as_deref(), Some("user123"));
    assert_eq!(e.ip_address.unwrap().to_string(), "192.168.1.100");
    assert_eq!(e.user_agent.as_deref(), Some("Mozilla/5.0..."));
    assert_eq!(e.details["mfa_used"], true);

    let e = only(&logger, &fail);
    assert_eq!(e.event_type, EventType::AuthFailure);
    assert_eq!(e.severity, Severity::Medium);
    assert_eq!(e.risk_score, Some(6.0), "spec: medium 4.0 x auth_failure 1.5");
    assert_eq!(e.details["failed_attempts"], 3);

    let e = only(&logger, &authz);
    assert_eq!(e.event_type, EventType::AuthorizationFailure);
    assert_eq!(e.details["resource"], "/admin/users");
    assert_eq!(e.details["required_role"], "admin");

    let e = only(&logger, &input);
    assert_eq!(e.event_type, EventType::XssAttempt);
    assert_eq!(e.details["field"], "comment");
    assert_eq!(e.details["violation_type"], "xss_attempt");

    let e = only(&logger, &rate);
    assert_eq!(e.event_type, EventType::RateLimitingTrigger);
    assert_eq!(e.details["endpoint"], "/api/login");
    assert_eq!(e.details["limit_type"], "authentication_attempts");
    assert_eq!(e.details["current_count"], 6);
}

#[test]
fn category_helpers_store_their_types() {
    let dir = tempfile::tempdir().unwrap();
    let logger = logger_in(&dir);
    let ip = Some("10.0.0.7");
    let cases: Vec<(String, EventType)> = vec![
        (
            log_session_event(&logger, SessionEvent::Hijacked, "u", Some("sess-abc"), ip, None)
                .unwrap(),
            EventType::AuthSessionHijacked,
        ),
        (
            log_mfa_attempt(&logger, "u", false, "totp", ip, None).unwrap(),
            EventType::AuthMfaFailure,
        ),
        (log_password_event(&logger, "u", true, ip, None).unwrap(), EventType::AuthPasswordReset),
        (
            log_account_lock(&logger, "u", true, "too many failures", None).unwrap(),
            EventType::AuthAccountLocked,
        ),
        (
            log_file_upload(&logger, Some("u"), "x.php", 10, UploadOutcome::Malicious, ip, None)
                .unwrap(),
            EventType::FileUploadMalicious,
        ),
        (
            log_api_access(&logger, "client-1", "/v1/pay", ApiOutcome::SignatureInvalid, ip, None)
                .unwrap(),
            EventType::ApiSignatureInvalid,
        ),
        (
            log_payment_event(
                &logger,
                "u",
                "12.50",
                "EUR",
                PaymentOutcome::FraudDetected,
                ip,
                None,
            )
            .unwrap(),
            EventType::PaymentFraudDetected,
        ),
        (
            log_data_access(&logger, "u", "customers", DataAction::Export, Some(5000), ip, None)
                .unwrap(),
            EventType::DataExport,
        ),
        (
            log_admin_action(
                &logger,
                "root",
                AdminEvent::Action,
                "delete_user",
                Some("u"),
                ip,
                None,
            )
            .unwrap(),
            EventType::AdminAction,
        ),
        (
            log_config_change(&logger, "root", "mfa_required", true, None).unwrap(),
            EventType::SecurityConfigurationChange,
        ),
    ];
    logger.flush().unwrap();
    for (id, ty) in cases {
        assert_eq!(only(&logger, &id).event_type, ty);
    }
    let hijack = logger
        .get_events(
            &EventFilter {
                event_types: vec![EventType::AuthSessionHijacked],
                ..Default::default()
            },
            10,
        )
        .unwrap();
    let sid = hijack[0].session_id.as_deref().unwrap();
    assert_ne!(sid, "sess-abc", "session ids are stored hashed");
    // Querying by the raw session id finds it (the logger hashes the filter value).
    let by_session = logger
        .get_events(&EventFilter { session_id: Some("sess-abc".into()), ..Default::default() }, 10)
        .unwrap();
    assert_eq!(by_session.len(), 1);
    let export = logger
        .get_events(
            &EventFilter { event_types: vec![EventType::DataExport], ..Default::default() },
            10,
        )
        .unwrap();
    assert_eq!(export[0].details["record_count"], 5000);
}

#[test]
fn invalid_input_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let logger = logger_in(&dir);
    let err = log_auth_attempt(&logger, "u", false, Some("999.1.1.1"), None, None).unwrap_err();
    assert!(matches!(err, LogError::Invalid(ref v) if v.field == "ip_address"), "{err}");
    let err = logger.log_event(EventInput::of_type("auth_fail")).unwrap_err().to_string();
    assert!(err.contains("auth_fail") && err.contains("auth_failure"), "{err}");
    logger.flush().unwrap();
    assert_eq!(logger.get_statistics().unwrap().total_events, 0);
}

#[test]
fn close_loses_nothing_that_was_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let mut ids = HashSet::new();
    {
        let cfg = Config {
            db_file: path.clone(),
            queue_capacity: 64,
            batch_size: 16,
            ..Config::default()
        };
        let logger = SecurityLogger::new(cfg).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let logger = logger.clone();
                std::thread::spawn(move || {
                    (0..500)
                        .map(|i| {
                            let ip = format!("10.{t}.{}.{}", i / 250, i % 250 + 1);
                            log_auth_attempt(&logger, "u", i % 2 == 0, Some(&ip), None, None)
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for t in threads {
            ids.extend(t.join().unwrap());
        }
        logger.close();
        assert!(matches!(
            logger.log_event(EventInput::of_type("auth_success")),
            Err(LogError::Closed)
        ));
    }
    assert_eq!(ids.len(), 4000);
    let logger = seclog::logger::open(&path).unwrap();
    assert_eq!(logger.get_statistics().unwrap().total_events, 4000);
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = logger.query(&EventFilter::default(), cursor.as_deref(), 1000).unwrap();
        seen.extend(page.events.into_iter().map(|e| e.event_id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids);
}

use common::gated::gated;

#[test]
fn full_queue_with_drop_policy_refuses_and_counts() {
    let (logger, store) = gated(QueueFullPolicy::Drop);
    let mut accepted = 0;
    let mut dropped = 0;
    for _ in 0..100 {
        match logger.log_event(EventInput::of_type("auth_failure")) {
            Ok(_) => accepted += 1,
            Err(LogError::QueueFull) => dropped += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    // The writer holds at most one batch (4) while blocked; the queue holds 8.
    assert!(dropped >= 100 - 12, "dropped {dropped}");
    assert!(accepted >= 8, "accepted {accepted}");
    store.release();
    logger.flush().unwrap();
    let stats = logger.get_statistics().unwrap();
    assert_eq!(stats.events_dropped, dropped);
    assert_eq!(stats.total_events, accepted);
}

#[test]
fn full_queue_with_wait_policy_blocks_and_loses_nothing() {
    let (logger, store) = gated(QueueFullPolicy::Wait);
    let producer = {
        let logger = logger.clone();
        std::thread::spawn(move || {
            for _ in 0..100 {
                logger.log_event(EventInput::of_type("auth_failure")).unwrap();
            }
        })
    };
    // While the store is blocked the producer cannot finish: the queue is bounded.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!producer.is_finished(), "producer must wait for room");
    assert!(logger.queue_depth() <= 8);
    store.release();
    producer.join().unwrap();
    logger.flush().unwrap();
    let stats = logger.get_statistics().unwrap();
    assert_eq!(stats.total_events, 100);
    assert_eq!(stats.events_dropped, 0);
}

#[test]
fn durable_mode_returns_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config { db_file: dir.path().join("d.db"), durable: true, ..Config::default() };
    let logger = SecurityLogger::new(cfg).unwrap();
    let id = logger.log_event(EventInput::of_type("admin_action")).unwrap();
    // No flush: the event must already be readable.
    assert!(logger.get_event(&id).unwrap().is_some());
}

#[test]
fn file_log_holds_one_line_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let logger = logger_in(&dir);
    let a = log_auth_attempt(&logger, "alice", false, Some("1.2.3.4"), None, None).unwrap();
    let b = log_auth_attempt(&logger, "bob", true, Some("1.2.3.5"), None, None).unwrap();
    logger.close();
    let text = std::fs::read_to_string(dir.path().join("security.log")).unwrap();
    let ids: Vec<String> =
        text.lines().map(|l| serde_json::from_str::<SecurityEvent>(l).unwrap().event_id).collect();
    assert_eq!(ids, vec![a, b]);
}
