#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `seclog export`, `seclog tail` and `seclog purge` on a local database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use seclog::{EventFilter, SecurityEvent};

fn seclog(db: &Path) -> Command {
    let mut c = Command::cargo_bin("seclog").unwrap();
    c.arg("--db").arg(db);
    for v in ["SECLOG_CONFIG", "SECLOG_DB", "SECLOG_SERVER", "SECLOG_API_KEY"] {
        c.env_remove(v);
    }
    c
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn import(db: &Path, dir: &Path, lines: &str) {
    let file = dir.join(format!("in-{}.jsonl", uuid_like()));
    std::fs::write(&file, lines).unwrap();
    let out = seclog(db).args(["import", "--quiet"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn parse_lines(bytes: &[u8]) -> Vec<SecurityEvent> {
    String::from_utf8_lossy(bytes).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn export_streams_exactly_the_stored_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let mut lines = String::new();
    for i in 0..53 {
        let ty = if i % 3 == 0 { "auth_failure" } else { "api_access" };
        lines.push_str(&format!(
            "{{\"event_type\":\"{ty}\",\"user_id\":\"u{i}\",\"ip_address\":\"10.0.{}.{}\"}}\n",
            i / 200,
            i % 200 + 1
        ));
    }
    import(&db, dir.path(), &lines);

    let file = dir.path().join("out.jsonl");
    let out = seclog(&db).args(["export", "--page-size", "7", "--output"]).arg(&file).output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported 53 events"));
    let exported = parse_lines(&std::fs::read(&file).unwrap());

    let stdout = seclog(&db).args(["export", "--page-size", "1000"]).output().unwrap();
    assert!(stdout.status.success());
    assert_eq!(parse_lines(&stdout.stdout), exported, "file and stdout exports agree");

    let logger = seclog::logger::open(&db).unwrap();
    let stored = logger.get_events(&EventFilter::default(), 10_000).unwrap();
    assert_eq!(exported.len(), 53);
    assert_eq!(exported, stored);

    let failures = seclog(&db).args(["export", "--type", "auth_failure"]).output().unwrap();
    let failures = parse_lines(&failures.stdout);
    assert_eq!(failures.len(), 18);
    assert!(failures.iter().all(|e| e.event_type.as_str() == "auth_failure"));
}

#[test]
fn tail_prints_an_event_logged_after_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    import(&db, dir.path(), "{\"event_type\":\"auth_failure\",\"user_id\":\"before\"}\n");
    let mut child = seclog(&db)
        .args(["tail", "--lines", "0", "--max", "1", "--timeout", "60", "--interval-ms", "100"])
        .args(["--type", "auth_failure", "--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("following") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "tail exited early");
    }
    std::thread::sleep(Duration::from_millis(300));
    import(
        &db,
        dir.path(),
        "{\"event_type\":\"api_access\",\"user_id\":\"other\"}\n\
         {\"event_type\":\"auth_failure\",\"user_id\":\"after\"}\n",
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let events = parse_lines(&out.stdout);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].user_id.as_deref(), Some("after"));

    let once = seclog(&db).args(["tail", "--once", "--format", "jsonl"]).output().unwrap();
    let users: Vec<_> = parse_lines(&once.stdout).into_iter().map(|e| e.user_id).collect();
    assert_eq!(users.len(), 3);
    assert_eq!(users[2].as_deref(), Some("after"), "oldest first, newest last");
}

/// Starts `seclog tail` with `extra` arguments and waits until it follows.
fn start_tail(db: &Path, extra: &[&str]) -> std::process::Child {
    let mut child = seclog(db)
        .args(["tail", "--lines", "0", "--interval-ms", "100", "--format", "jsonl"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("following") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "tail exited early");
    }
    child
}

/// Two events thirty and forty days old, imported in this order.
fn old_events() -> String {
    let now = time::OffsetDateTime::now_utc();
    let (a, b) = (rfc3339(now - time::Duration::days(30)), rfc3339(now - time::Duration::days(40)));
    format!(
        "{{\"event_type\":\"api_access\",\"user_id\":\"old-1\",\"timestamp\":\"{a}\"}}\n\
         {{\"event_type\":\"api_access\",\"user_id\":\"old-2\",\"timestamp\":\"{b}\"}}\n"
    )
}

#[test]
fn tail_shows_an_imported_batch_of_old_events_in_the_order_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    import(&db, dir.path(), "{\"event_type\":\"api_access\",\"user_id\":\"live\"}\n");
    let child = start_tail(&db, &["--max", "2", "--timeout", "60"]);
    import(&db, dir.path(), &old_events());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let users: Vec<_> = parse_lines(&out.stdout).into_iter().map(|e| e.user_id).collect();
    assert_eq!(users, [Some("old-1".to_string()), Some("old-2".to_string())]);
}

#[test]
fn tail_by_event_time_skips_events_older_than_the_newest_shown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    import(&db, dir.path(), "{\"event_type\":\"api_access\",\"user_id\":\"live\"}\n");
    let child = start_tail(&db, &["--by-event-time", "--timeout", "2"]);
    import(&db, dir.path(), &old_events());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let users: Vec<_> = parse_lines(&out.stdout).into_iter().map(|e| e.user_id).collect();
    assert!(users.is_empty(), "older than the newest event seen: {users:?}");
}

#[test]
fn purge_refuses_the_retention_period_and_deletes_older_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let now = time::OffsetDateTime::now_utc();
    let old = rfc3339(now - time::Duration::days(20));
    let recent = rfc3339(now - time::Duration::days(2));
    let _ = &recent;
    let run =
        |args: &[&str]| seclog(&db).env("SECLOG_RETENTION_DAYS", "10").args(args).output().unwrap();
    let file = dir.path().join("p.jsonl");
    std::fs::write(
        &file,
        format!(
            "{{\"event_type\":\"api_access\",\"timestamp\":\"{old}\"}}\n\
             {{\"event_type\":\"api_access\",\"timestamp\":\"{recent}\"}}\n"
        ),
    )
    .unwrap();
    assert!(run(&["import", "--quiet", file.to_str().unwrap()]).status.success());

    let cutoff = rfc3339(now - time::Duration::days(1));
    let refused = run(&["purge", "--before", &cutoff]);
    assert!(!refused.status.success());
    let msg = String::from_utf8_lossy(&refused.stderr);
    assert!(msg.contains("retention") && msg.contains("10 days"), "{msg}");
    let bad = run(&["purge", "--before", "last week"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));

    let day = (now - time::Duration::days(15)).date().to_string();
    let done = run(&["purge", "--before", &day]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).starts_with("deleted "));
    let left = parse_lines(&run(&["export"]).stdout);
    assert_eq!(left.len(), 1);
    let kept = left[0].timestamp - (now - time::Duration::days(2));
    assert!(kept.abs() < time::Duration::seconds(1), "the recent event is kept");
}
