//! validate + redact per event, for a typical auth_failure event and one carrying secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use seclog_core::{validate, EventInput, Limits, RedactionConfig, Redactor};
use time::macros::datetime;

fn typical() -> EventInput {
    serde_json::from_value(serde_json::json!({
        "event_type": "auth_failure",
        "user_id": "user123",
        "session_id": "a1b2c3d4e5f6",
        "ip_address": "192.168.1.100",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0",
        "request_method": "POST",
        "request_url": "/api/login",
        "request_headers": {"Content-Type": "application/json", "Accept": "*/*"},
        "response_status": 401,
        "details": {"failed_attempts": 3, "account_locked": false, "reason": "bad_password"},
        "compliance_tags": ["pci_dss"],
        "source": "web"
    }))
    .unwrap()
}

fn with_secrets() -> EventInput {
    let mut e = typical();
    e.request_body = Some(r#"{"username":"user123","password":"hunter2","remember":true}"#.into());
    e.request_headers = Some(serde_json::json!({
        "Content-Type": "application/json",
        "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        "Cookie": "sid=abc123"
    }));
    e.request_url = Some("/api/login?next=/home&api_key=abc123".into());
    e
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let redactor = Redactor::new(RedactionConfig::default(), [9u8; 32]);
    let now = datetime!(2025-06-01 12:00:00 UTC);
    for (name, input) in
        [("typical_auth_failure", typical()), ("auth_failure_with_secrets", with_secrets())]
    {
        c.bench_function(&format!("validate+redact/{name}"), |b| {
            b.iter_batched(
                || input.clone(),
                |input| {
                    let mut id = || "evt-1".to_string();
                    let mut ev = validate(input, now, &mut id, &limits).unwrap();
                    redactor.redact(&mut ev);
                    black_box(ev)
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    let input = typical();
    c.bench_function("validate/typical_auth_failure", |b| {
        b.iter_batched(
            || input.clone(),
            |input| {
                let mut id = || "evt-1".to_string();
                black_box(validate(input, now, &mut id, &limits).unwrap())
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let mut id = || "evt-1".to_string();
    let ev = validate(typical(), now, &mut id, &limits).unwrap();
    c.bench_function("redact/typical_auth_failure", |b| {
        b.iter_batched(
            || ev.clone(),
            |mut ev| {
                redactor.redact(&mut ev);
                black_box(ev)
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

fn parts(c: &mut Criterion) {
    let redactor = Redactor::new(RedactionConfig::default(), [9u8; 32]);
    c.bench_function("hash_session_id", |b| {
        b.iter(|| redactor.hash_session_id(black_box("a1b2c3d4e5f6")))
    });
    c.bench_function("redact_str/user_agent", |b| {
        b.iter(|| {
            redactor.redact_str(black_box(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0",
            ))
        })
    });
}

criterion_group!(benches, bench, parts);
criterion_main!(benches);
