//! The secrets corpus (`testdata/secrets_corpus.jsonl`): each line's secrets show up after
//! validation alone (so the corpus is not vacuous) and none is left after validation + redaction.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use seclog_core::{validate, EventInput, Limits, RedactionConfig, Redactor, SecurityEvent};
use serde::Deserialize;
use time::macros::datetime;

#[derive(Deserialize)]
struct Case {
    event: EventInput,
    secrets: Vec<String>,
}

fn corpus() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/secrets_corpus.jsonl");
    let text = std::fs::read_to_string(path).expect("read the corpus");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {}: {e}", i + 1)))
        .collect()
}

fn validated(input: EventInput) -> SecurityEvent {
    let now = datetime!(2025-06-01 12:00:00 UTC);
    let mut id = || "evt-corpus".to_string();
    validate(input, now, &mut id, &Limits::default()).expect("corpus events are valid")
}

#[test]
fn no_secret_survives_validation_and_redaction() {
    let cases = corpus();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let redactor = Redactor::new(RedactionConfig::default(), [42u8; 32]);
    for (i, case) in cases.into_iter().enumerate() {
        assert!(!case.secrets.is_empty(), "line {}", i + 1);
        let mut ev = validated(case.event);
        let before = serde_json::to_string(&ev).unwrap();
        redactor.redact(&mut ev);
        let after = serde_json::to_string(&ev).unwrap();
        // Some secrets are alternative forms (a card's bare digits); at least one is as given.
        assert!(
            case.secrets.iter().any(|s| before.contains(s.as_str())),
            "line {}: no secret in the unredacted event",
            i + 1
        );
        for s in &case.secrets {
            assert!(!after.contains(s.as_str()), "line {}: {s:?} survived:\n{after}", i + 1);
        }
    }
}

#[test]
fn harmless_values_survive() {
    let input: EventInput = serde_json::from_value(serde_json::json!({
        "event_type": "payment_processing",
        "user_id": "alice",
        "ip_address": "192.168.1.100",
        "request_url": "/orders/1234567812345678?page=2&sort=desc",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        "request_body": "{\"order_number\":\"1234567812345678\",\"amount\":4999,\"token_count\":12}",
        "correlation_id": "0e4f9a6c-1111-4222-8333-944455556666",
        "details": {
            "order": 1234567812345678u64,
            "token_type": "bearer",
            "expires_in": 3600,
            "password_reset": true,
            "message": "Basic Authentication is disabled",
            "when": "2025-01-01T10:00:00Z",
            "phone": "+1 555 123 4567"
        },
        "compliance_tags": ["pci_dss_10.2.1.4"]
    }))
    .unwrap();
    let mut ev = validated(input);
    let before = ev.clone();
    Redactor::new(RedactionConfig::default(), [1u8; 32]).redact(&mut ev);
    assert_eq!(ev, before, "nothing here is secret");
}
