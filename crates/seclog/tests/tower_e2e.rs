#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! End to end: the `axum_login` example over real HTTP. Five wrong logins from one IP, then
//! the sixth request is refused 403 by the layer, and the events are in the store.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use seclog::{EventFilter, EventType, SecurityEvent};
use seclog_store::Store;

/// The example binary, built next to this test (cargo test builds examples); built on demand
/// otherwise.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap(); // target/debug
    let bin = dir.join("examples").join(format!("axum_login{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "seclog", "--example", "axum_login", "--features", "tower"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    bin
}

/// Kills the server when the test ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request; returns the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    req.push_str("User-Agent: e2e-test/1\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn login(addr: SocketAddr, user: &str, password: &str) -> u16 {
    let body = format!(r#"{{"username":"{user}","password":"{password}"}}"#);
    http(addr, "POST", "/login", &["Content-Type: application/json"], &body).0
}

/// Starts the example with `args`; returns the server guard and its address.
fn start(db: &std::path::Path, args: &[&str]) -> (Server, SocketAddr) {
    let mut child = Command::new(example_binary())
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr: SocketAddr = line.trim().strip_prefix("listening on ").unwrap().parse().unwrap();
    (server, addr)
}

/// The store's events once at least `n` are there (the writer commits in batches), or after
/// 15 s.
fn wait_for_events(db: &std::path::Path, n: usize) -> Vec<SecurityEvent> {
    let store = seclog_store::sqlite::SqliteStore::open(db).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = store.query_events(&EventFilter::default(), None, 100).unwrap();
        if page.events.len() >= n || Instant::now() > deadline {
            return page.events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sixth_wrong_login_is_refused_and_events_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let (server, addr) = start(&db, &[]);

    // The other routes, mapped by the layer.
    assert_eq!(login(addr, "demo", "demo"), 200);
    let long = "a".repeat(101);
    assert_eq!(http(addr, "GET", &format!("/search?q={long}"), &[], "").0, 400);
    assert_eq!(http(addr, "GET", "/search?q=shoes", &[], "").0, 200);
    assert_eq!(http(addr, "GET", "/admin", &["Authorization: Bearer demo-user"], "").0, 403);
    assert_eq!(http(addr, "GET", "/admin", &["Authorization: Bearer demo-admin"], "").0, 200);

    for i in 0..5 {
        assert_eq!(login(addr, "bob", "wrong"), 401, "attempt {}", i + 1);
    }
    let (status, body) = http(
        addr,
        "POST",
        "/login",
        &["Content-Type: application/json"],
        r#"{"username":"demo","password":"demo"}"#,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("\"blocked\""), "{body}");

    let events = wait_for_events(&db, 9);
    drop(server);
    let of = |t: EventType| events.iter().filter(|e| e.event_type == t).collect::<Vec<_>>();
    let local = Some("127.0.0.1".parse().unwrap());
    let failures = of(EventType::AuthFailure);
    assert_eq!(failures.len(), 5, "one event per failed login: {events:#?}");
    assert!(failures.iter().all(|e| e.user_id.as_deref() == Some("bob") && e.ip_address == local));
    let blocked = of(EventType::RateLimitingBlocked);
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0].ip_address, local);
    assert_eq!(blocked[0].response_status, Some(403));
    assert_eq!(blocked[0].request_url.as_deref(), Some("/login"));
    assert_eq!(of(EventType::AuthSuccess).len(), 1);
    let denied = of(EventType::AuthorizationFailure);
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].user_id.as_deref(), Some("demo"));
    let invalid = of(EventType::InputValidationViolation);
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].response_status, Some(400));
    assert_eq!(events.len(), 9, "{events:#?}");
}

#[test]
fn with_detection_an_attack_in_a_json_body_is_logged_and_the_handler_still_parses_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let (server, addr) = start(&db, &["--detect-attacks"]);
    // The body reaches the login handler intact: it parses the JSON and answers 401.
    assert_eq!(login(addr, "admin' OR '1'='1' --", "x"), 401);
    // The default rules ban an injection attempt's client at once.
    assert_eq!(http(addr, "GET", "/ping", &[], "").0, 403);
    let events = wait_for_events(&db, 2);
    drop(server);
    let types: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
    assert!(types.contains(&EventType::SqlInjectionAttempt), "{events:#?}");
    assert!(types.contains(&EventType::AuthFailure), "{events:#?}");
    let sqli = events.iter().find(|e| e.event_type == EventType::SqlInjectionAttempt).unwrap();
    assert_eq!(sqli.details.get("detected_in"), Some(&serde_json::json!("body")));
    assert_eq!(sqli.request_url.as_deref(), Some("/login"));
}
