//! Wrong API keys are rate limited (429 with Retry-After), never a ban of the address: a
//! valid key from the same address keeps working, and the wrong keys stay security events.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{bin, client, error_code, Server};

/// Sends `n` requests with a wrong key; each must get 401.
fn wrong_keys(s: &Server, n: usize) {
    for i in 0..n {
        let r = s.get("/v1/statistics", &format!("slk_wrong{i}")).send().unwrap();
        assert_eq!(r.status(), 401, "wrong key {}", i + 1);
    }
}

/// Sends `n` requests with a wrong key, whatever they get.
fn guess(s: &Server, n: usize) {
    for i in 0..n {
        s.get("/v1/statistics", &format!("slk_guess{i}")).send().unwrap();
    }
}

#[test]
fn after_five_wrong_keys_the_next_one_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("t.db"));
    wrong_keys(&s, 5);
    let r = s.get("/v1/statistics", "slk_wrong_again").send().unwrap();
    assert_eq!(r.status(), 429);
    let retry: u32 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(error_code(&r.json().unwrap()), "too_many_failed_keys");
    // A missing key counts the same.
    assert_eq!(client().get(s.url("/v1/events")).send().unwrap().status(), 429);
}

#[test]
fn a_valid_key_works_right_after_wrong_keys_from_the_same_address() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("t.db"));
    guess(&s, 8);
    assert_eq!(s.get("/v1/statistics", s.key()).send().unwrap().status(), 200);
    let ingest = serde_json::json!({"event_type": "api_access", "user_id": "alice"});
    assert_eq!(s.post("/v1/events", s.key(), &ingest).send().unwrap().status(), 201);
    // And the CLI's --server mode.
    let out = Command::new(bin())
        .arg("--db")
        .arg(dir.path().join("unused.db"))
        .args(["--server", &s.base, "--api-key", s.key(), "stats", "--format", "json"])
        .env_remove("SECLOG_CONFIG")
        .env_remove("SECLOG_SERVER")
        .env_remove("SECLOG_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn wrong_keys_are_stored_as_events_and_count_toward_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("t.db"));
    guess(&s, 8);
    let count = |path: &str| {
        let page: Value = s.get(path, s.key()).send().unwrap().json().unwrap();
        page["events"].as_array().unwrap().len()
    };
    let failures = "/v1/events?event_type=auth_failure&ip_address=127.0.0.1";
    let limited = "/v1/events?event_type=rate_limiting_trigger&ip_address=127.0.0.1";
    let start = Instant::now();
    // The five allowed wrong keys, and one event for the three refused ones.
    while (count(failures), count(limited)) != (5, 1) {
        assert!(start.elapsed() < Duration::from_secs(10), "wrong keys not stored as events");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The rules saw them (high_failure_rate blocks the address for the applications and
    // bouncers), yet the server itself still answers the address's valid key.
    let decisions: Value =
        s.get("/v1/decisions?ip=127.0.0.1", s.key()).send().unwrap().json().unwrap();
    assert!(decisions.as_array().is_some_and(|d| !d.is_empty()), "{decisions}");
}

#[test]
fn openapi_states_the_429_on_every_route_that_takes_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("t.db"));
    let doc: Value = client().get(s.url("/openapi.json")).send().unwrap().json().unwrap();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let url = s.url(&path.replace("{id}", "x"));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Without a key: 401, or 429 once the address has failed often enough.
            let status = client().request(m, url).send().unwrap().status().as_u16();
            let takes_key = status == 401 || status == 429;
            let documented = &op["responses"]["429"];
            assert_eq!(documented.is_object(), takes_key, "{method} {path}: {status}");
            if takes_key {
                assert!(documented["headers"]["Retry-After"].is_object(), "{method} {path}");
            }
        }
    }
}
