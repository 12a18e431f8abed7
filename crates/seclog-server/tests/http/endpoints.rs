//! Every endpoint and every error status.

use serde_json::{json, Value};

use crate::common::{client, error_code, ev, Server};

#[test]
fn events_investigation_alerts_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("t.db"));
    let key = s.key().to_string();

    // POST one event: 201 with its id, then readable.
    let r = s.post("/v1/events", &key, &ev("auth_failure", "198.51.100.1")).send().unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().unwrap()["event_id"].as_str().unwrap().to_string();
    let got: Value = s.get(&format!("/v1/events/{id}"), &key).send().unwrap().json().unwrap();
    assert_eq!(got["event_type"], "auth_failure");
    assert_eq!(got["ip_address"], "198.51.100.1");

    // A child event, then related.
    let child = json!({"event_type": "data_access", "parent_event_id": id, "user_id": "alice"});
    let r = s.post("/v1/events", &key, &child).send().unwrap();
    assert_eq!(r.status(), 201);
    let rel: Value =
        s.get(&format!("/v1/events/{id}/related"), &key).send().unwrap().json().unwrap();
    assert_eq!(rel["children"].as_array().unwrap().len(), 1);

    // Batch: JSON array with one bad item.
    let batch = json!([ev("api_access", "192.0.2.1"), {"event_type": "bogus"}, ev("api_access", "192.0.2.2")]);
    let r: Value = s.post("/v1/events/batch", &key, &batch).send().unwrap().json().unwrap();
    assert_eq!(r["accepted"].as_array().unwrap().len(), 2);
    assert_eq!(r["rejected"][0]["index"], 1);
    assert_eq!(r["rejected"][0]["error"]["field"], "event_type");
    // NDJSON.
    let nd = format!("{}\n{}\n", ev("api_access", "192.0.2.3"), ev("api_access", "192.0.2.4"));
    let r: Value = client()
        .post(s.url("/v1/events/batch"))
        .header("X-Api-Key", &key)
        .header("Content-Type", "application/x-ndjson")
        .body(nd)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(r["accepted"].as_array().unwrap().len(), 2);
    assert!(r["rejected"].as_array().unwrap().is_empty());

    // Query with filters and cursor pagination: the accepted batch items are visible.
    let page: Value =
        s.get("/v1/events?event_type=api_access&limit=3", &key).send().unwrap().json().unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page2: Value = s
        .get(&format!("/v1/events?event_type=api_access&limit=3&cursor={cursor}"), &key)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page2["events"].as_array().unwrap().len(), 1);
    let r = s.get("/v1/events?ip_address=nope", &key).send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["error"]["field"], "ip_address");
    let r = s.get("/v1/events?limit=5000", &key).send().unwrap();
    assert_eq!(r.json::<Value>().unwrap()["error"]["field"], "limit");

    // Investigation actions append to the trail.
    let p = |path: &str, body: Value| {
        s.post(&format!("/v1/events/{id}/{path}"), &key, &body).send().unwrap()
    };
    assert_eq!(p("status", json!({"status": "investigating", "by": "ann"})).status(), 201);
    assert_eq!(p("notes", json!({"note": "looked", "by": "ann"})).status(), 201);
    assert_eq!(p("remediations", json!({"action": "reset password", "by": "ann"})).status(), 201);
    assert_eq!(p("escalate", json!({"reason": "repeat", "by": "ann"})).status(), 201);
    let r = p("status", json!({"status": "nonsense", "by": "ann"}));
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["error"]["field"], "status");
    let trail: Value =
        s.get(&format!("/v1/events/{id}/trail"), &key).send().unwrap().json().unwrap();
    assert_eq!(trail.as_array().unwrap().len(), 4);

    // 404s.
    let r = s.get("/v1/events/does-not-exist", &key).send().unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(&r.json().unwrap()), "not_found");
    assert_eq!(s.get("/v1/nothing-here", &key).send().unwrap().status(), 404);
    let r = s.post("/v1/events/nope/notes", &key, &json!({"note": "x", "by": "a"})).send().unwrap();
    assert_eq!(r.status(), 404);

    // 400 malformed JSON, 415, 405, 413.
    let raw = |ct: &str, body: Vec<u8>, path: &str| {
        client()
            .post(s.url(path))
            .header("X-Api-Key", &key)
            .header("Content-Type", ct)
            .body(body)
            .send()
            .unwrap()
    };
    let r = raw("application/json", b"{not json".to_vec(), "/v1/events");
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(&r.json().unwrap()), "malformed_json");
    let r = raw("text/plain", b"{}".to_vec(), "/v1/events");
    assert_eq!(r.status(), 415);
    // 413: the server answers as soon as the declared length is over the limit and closes,
    // so a client still writing 2 MB may see a broken pipe before the answer. Declare the
    // length, send no body, and read what comes back.
    let (head, body) = oversized_post(&s.url("/v1/events"), &key, 2 * 1024 * 1024);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error_code(&v), "payload_too_large");
    let r = client().delete(s.url("/v1/events")).header("X-Api-Key", &key).send().unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(error_code(&r.json().unwrap()), "method_not_allowed");

    // Statistics, IPs.
    let st: Value = s.get("/v1/statistics", &key).send().unwrap().json().unwrap();
    assert!(st["total_events"].as_u64().unwrap() == 6);
    let r = s.get("/v1/ips?blocked=true", &key).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().unwrap().is_array());
    assert_eq!(s.get("/v1/ips?blocked=maybe", &key).send().unwrap().status(), 400);

    // Alerts: five failures from one IP raise one; acknowledge then resolve it.
    for _ in 0..5 {
        let r = s.post("/v1/events", &key, &ev("auth_failure", "203.0.113.50")).send().unwrap();
        assert_eq!(r.status(), 201);
    }
    let alerts: Value = s.get("/v1/alerts?status=active", &key).send().unwrap().json().unwrap();
    let alert_id = alerts[0]["alert_id"].as_str().unwrap().to_string();
    let r = s
        .post(&format!("/v1/alerts/{alert_id}/acknowledge"), &key, &json!({"by": "ann"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["status"], "acknowledged");
    let body = json!({"by": "ann", "reason": "true_positive", "note": "blocked"});
    let r = s.post(&format!("/v1/alerts/{alert_id}/resolve"), &key, &body).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["status"], "resolved");
    let r = s
        .post(&format!("/v1/alerts/{alert_id}/resolve"), &key, &json!({"by": "a", "reason": "bad"}))
        .send()
        .unwrap();
    assert_eq!(r.json::<Value>().unwrap()["error"]["field"], "reason");
    assert_eq!(s.get("/v1/alerts?status=zzz", &key).send().unwrap().status(), 400);
    let r = s.post("/v1/alerts/nope/acknowledge", &key, &json!({"by": "ann"})).send().unwrap();
    assert_eq!(r.status(), 404);

    // Health (no key), metrics.
    let h = client().get(s.url("/health")).send().unwrap();
    assert_eq!(h.status(), 200);
    assert_eq!(h.json::<Value>().unwrap()["status"], "ok");
    let m = s.get("/metrics", &key).send().unwrap().text().unwrap();
    for name in [
        "seclog_events_by_type{type=\"auth_failure\"}",
        "seclog_queue_depth",
        "seclog_events_dropped_total",
        "seclog_commit_last_seconds",
        "seclog_alerts{status=",
        "seclog_active_decisions",
        "seclog_http_request_duration_seconds_bucket",
    ] {
        assert!(m.contains(name), "metrics lack {name}:\n{m}");
    }

    // Graceful shutdown: SIGTERM exits 0.
    assert!(s.terminate().success());
}

#[test]
fn scopes_are_enforced_and_failures_logged() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("t.db"));
    let admin = s.key().to_string();
    let ingest = s.create_key(&["ingest"]);
    let read = s.create_key(&["read"]);

    assert_eq!(
        s.post("/v1/events", &ingest, &ev("api_access", "192.0.2.9")).send().unwrap().status(),
        201
    );
    // 403: ingest cannot read, read cannot ingest.
    let r = s.get("/v1/events", &ingest).send().unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(&r.json().unwrap()), "forbidden");
    assert_eq!(
        s.post("/v1/events", &read, &ev("api_access", "192.0.2.9")).send().unwrap().status(),
        403
    );
    // 401: missing and wrong keys.
    let r = client().get(s.url("/v1/statistics")).send().unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(&r.json().unwrap()), "unauthorized");
    assert_eq!(s.get("/v1/statistics", "slk_wrong").send().unwrap().status(), 401);

    // Each failure is a security event from the caller's IP. Queries show committed events
    // without waiting for the writer, and the server logs these without waiting for the
    // commit: they appear within milliseconds.
    let count = |path: &str, key: &str| {
        let page: Value = s.get(path, key).send().unwrap().json().unwrap();
        page["events"].as_array().unwrap().len()
    };
    let start = std::time::Instant::now();
    let fails = "/v1/events?event_type=auth_failure&ip_address=127.0.0.1";
    let denied = "/v1/events?event_type=authorization_failure&ip_address=127.0.0.1";
    while (count(fails, &read), count(denied, &admin)) != (2, 2) {
        assert!(start.elapsed().as_secs() < 10, "failed keys not logged as events");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    // Keys are listed without secrets; a revoked key stops working.
    let keys = std::process::Command::new(crate::common::bin())
        .arg("--db")
        .arg(&s.db)
        .args(["keys", "list", "--format", "json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&keys.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(!String::from_utf8_lossy(&keys.stdout).contains(&ingest), "secrets are never listed");
    let spare = s.create_key(&["read"]);
    let list: Value = serde_json::from_slice(
        &std::process::Command::new(crate::common::bin())
            .arg("--db")
            .arg(&s.db)
            .args(["keys", "list", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let newest = list[0]["id"].as_str().unwrap();
    let st = std::process::Command::new(crate::common::bin())
        .arg("--db")
        .arg(&s.db)
        .args(["keys", "revoke", newest])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(s.get("/v1/statistics", &spare).send().unwrap().status(), 401);
}

#[test]
fn openapi_lists_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("t.db"));
    let doc: Value = client().get(s.url("/openapi.json")).send().unwrap().json().unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("post", "/v1/events"),
        ("get", "/v1/events"),
        ("post", "/v1/events/batch"),
        ("get", "/v1/events/{id}"),
        ("get", "/v1/events/{id}/related"),
        ("get", "/v1/events/{id}/trail"),
        ("post", "/v1/events/{id}/status"),
        ("post", "/v1/events/{id}/notes"),
        ("post", "/v1/events/{id}/remediations"),
        ("post", "/v1/events/{id}/escalate"),
        ("get", "/v1/statistics"),
        ("get", "/v1/ips"),
        ("get", "/v1/alerts"),
        ("post", "/v1/alerts/{id}/acknowledge"),
        ("post", "/v1/alerts/{id}/resolve"),
        ("get", "/v1/decisions"),
        ("post", "/v1/decisions"),
        ("delete", "/v1/decisions/{id}"),
        ("get", "/v1/decisions/stream"),
        ("get", "/v1/decisions/list"),
        ("get", "/v1/rules"),
        ("post", "/v1/purge"),
        ("get", "/health"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ];
    for (m, p) in expected {
        assert!(
            paths.get(p).and_then(|v| v.get(m)).is_some(),
            "{m} {p} missing from /openapi.json"
        );
    }
    // Every documented operation is served (not the 404/405 fallbacks).
    for (p, ops) in paths {
        for m in ops.as_object().unwrap().keys() {
            let url = s.url(&p.replace("{id}", "x"));
            let method = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let r = client().request(method, url).header("X-Api-Key", s.key()).send().unwrap();
            let status = r.status().as_u16();
            let body = r.text().unwrap();
            assert!(status != 405 && !body.contains("no such route"), "{m} {p}: {status} {body}");
        }
    }
}

#[test]
fn batch_answers_every_item_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("b.db"));
    let key = s.key().to_string();
    let dup = json!({"event_type": "api_access", "event_id": "dup-1"});
    assert_eq!(s.post("/v1/events", &key, &dup).send().unwrap().status(), 201);
    let batch = json!([
        ev("api_access", "192.0.2.1"),
        {"event_type": "bogus"},
        dup,
        {"event_type": "api_access", "bogus_field": 1},
        ev("api_access", "192.0.2.2"),
    ]);
    let r: Value = s.post("/v1/events/batch", &key, &batch).send().unwrap().json().unwrap();
    let accepted: Vec<u64> =
        r["accepted"].as_array().unwrap().iter().map(|a| a["index"].as_u64().unwrap()).collect();
    assert_eq!(accepted, [0, 4]);
    let rejected = r["rejected"].as_array().unwrap();
    let idx: Vec<u64> = rejected.iter().map(|x| x["index"].as_u64().unwrap()).collect();
    assert_eq!(idx, [1, 2, 3], "{r}");
    assert_eq!(rejected[0]["error"]["field"], "event_type");
    assert_eq!(rejected[1]["error"]["code"], "not_stored", "the store refused the duplicate id");
    assert_eq!(rejected[2]["error"]["field"], "bogus_field");
    for a in r["accepted"].as_array().unwrap() {
        let id = a["event_id"].as_str().unwrap();
        assert_eq!(s.get(&format!("/v1/events/{id}"), &key).send().unwrap().status(), 200);
    }
    // A body that is not an array of items is refused as a whole.
    let r = s.post("/v1/events/batch", &key, &json!({"event_type": "api_access"})).send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(&r.json().unwrap()), "malformed_json");
}

#[test]
fn metrics_reuse_the_store_counts_between_scrapes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("m.db"));
    let key = s.key().to_string();
    let stored = |m: &str| -> f64 {
        let line = m.lines().find(|l| l.starts_with("seclog_events_stored ")).unwrap();
        line.split(' ').nth(1).unwrap().parse().unwrap()
    };
    let committed = |m: &str| -> f64 {
        let line = m.lines().find(|l| l.starts_with("seclog_events_committed_total ")).unwrap();
        line.split(' ').nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(
        s.post("/v1/events", &key, &ev("api_access", "192.0.2.1")).send().unwrap().status(),
        201
    );
    let first = s.get("/metrics", &key).send().unwrap().text().unwrap();
    assert_eq!(stored(&first), 1.0);
    assert_eq!(
        s.post("/v1/events", &key, &ev("api_access", "192.0.2.2")).send().unwrap().status(),
        201
    );
    let second = s.get("/metrics", &key).send().unwrap().text().unwrap();
    // Whole-table counts are a snapshot (at most a minute old); the writer's counters are live.
    assert_eq!(stored(&second), 1.0);
    assert_eq!(committed(&second), committed(&first) + 1.0);
}

/// Sends a POST head declaring `len` body bytes (and no body) over a raw connection; returns
/// the answer's head and body.
fn oversized_post(url: &str, key: &str, len: usize) -> (String, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(
        conn,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-Api-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_string(), body.to_string())
}

#[test]
fn the_feed_lists_events_in_the_order_stored_after_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("f.db"));
    let key = s.key().to_string();
    let feed = |q: &str| -> Value {
        let r = s.get(&format!("/v1/events/feed{q}"), &key).send().unwrap();
        assert_eq!(r.status(), 200, "{q}");
        r.json().unwrap()
    };
    assert_eq!(
        s.post("/v1/events", &key, &ev("api_access", "192.0.2.1")).send().unwrap().status(),
        201
    );
    let first = feed("?limit=10");
    assert_eq!(first["events"].as_array().unwrap().len(), 1);
    let position = first["position"].as_u64().unwrap();
    // Old timestamps, stored later: after the position, in the order sent.
    let old = |user: &str, ts: &str| json!({"event_type": "auth_failure", "user_id": user, "timestamp": ts});
    let days_ago = |d: i64| {
        (time::OffsetDateTime::now_utc() - time::Duration::days(d))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let batch = json!([old("u1", &days_ago(30)), old("u2", &days_ago(40))]);
    let r = s.post("/v1/events/batch", &key, &batch).send().unwrap();
    assert_eq!(r.status(), 200);
    let next = feed(&format!("?after={position}&event_type=auth_failure"));
    let users: Vec<&str> =
        next["events"].as_array().unwrap().iter().map(|e| e["user_id"].as_str().unwrap()).collect();
    assert_eq!(users, ["u1", "u2"]);
    let end = next["position"].as_u64().unwrap();
    assert!(end > position);
    assert_eq!(feed(&format!("?after={end}"))["events"], json!([]));
    for q in ["?after=soon", "?limit=0", "?colour=red"] {
        let r = s.get(&format!("/v1/events/feed{q}"), &key).send().unwrap();
        assert_eq!(r.status(), 400, "{q}");
        let body: Value = r.json().unwrap();
        error_code(&body);
    }
}
