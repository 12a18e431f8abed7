#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]
//! Every CLI command against a running `seclog serve` (`--server URL --api-key KEY`), over
//! plain HTTP and over TLS with a self-signed certificate.

#[allow(dead_code)]
#[path = "http/common.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use common::Server;
use serde_json::Value;

/// The CLI pointed at `server` with `key`; `--db` names a file that must never be created.
fn remote(server: &str, key: &str, unused_db: &Path) -> Command {
    let mut c = Command::cargo_bin("seclog").unwrap();
    c.arg("--db").arg(unused_db).args(["--server", server, "--api-key", key]);
    for v in ["SECLOG_CONFIG", "SECLOG_DB", "SECLOG_SERVER", "SECLOG_API_KEY", "SECLOG_CA_CERT"] {
        c.env_remove(v);
    }
    c
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn json(cmd: &mut Command) -> Value {
    serde_json::from_slice(&ok(cmd.output().unwrap()).stdout).unwrap()
}

#[test]
fn every_command_works_against_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("srv.db"));
    let key = s.create_key(&["admin"]);
    let unused = dir.path().join("never.db");
    let cli = || remote(&s.base, &key, &unused);

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut lines = String::new();
    for i in 0..5 {
        let ts = time::OffsetDateTime::from_unix_timestamp(now - 60 + i * 10)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        lines.push_str(&format!(
            "{{\"event_type\":\"auth_failure\",\"timestamp\":\"{ts}\",\"ip_address\":\"198.51.100.23\",\"user_id\":\"root\"}}\n"
        ));
    }
    lines.push_str("{\"event_type\":\"no_such_type\"}\n");
    let file = dir.path().join("e.jsonl");
    std::fs::write(&file, lines).unwrap();
    let out = cli().args(["import", "--quiet"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "one line rejected");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 6") && err.contains("imported 5 events"), "{err}");

    let events = json(cli().args(["query", "--ip", "198.51.100.23", "--format", "json"]));
    assert_eq!(events.as_array().unwrap().len(), 5);
    let stats = json(cli().args(["stats", "--format", "json"]));
    assert!(stats["total_events"].as_u64().unwrap() >= 5);

    let decisions = json(cli().args(["decisions", "--format", "json"]));
    assert_eq!(decisions[0]["value"], "198.51.100.23");
    let ips = json(cli().args(["ips", "--blocked", "--format", "json"]));
    assert_eq!(ips[0]["ip_address"], "198.51.100.23");
    let added =
        json(cli().args(["decisions", "add", "--value", "203.0.113.9", "--duration", "1h"]));
    let added_id = added["id"].as_str().unwrap().to_string();
    assert_eq!(json(cli().args(["decisions", "--format", "json"])).as_array().unwrap().len(), 2);
    json(cli().args(["decisions", "delete", &added_id]));
    assert_eq!(json(cli().args(["decisions", "--format", "json"])).as_array().unwrap().len(), 1);
    assert_eq!(
        json(cli().args(["decisions", "--all", "--format", "json"])).as_array().unwrap().len(),
        2
    );
    let missing = cli().args(["decisions", "delete", "nope"]).output().unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no decision"));

    let alerts = json(cli().args(["alerts", "--status", "active", "--format", "json"]));
    let id = alerts[0]["alert_id"].as_str().unwrap().to_string();
    assert_eq!(json(cli().args(["alerts", "ack", &id, "--by", "alice"]))["status"], "acknowledged");
    let resolved =
        json(cli().args(["alerts", "resolve", &id, "--by", "bob", "--reason", "benign"]));
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(json(cli().args(["alerts", "show", &id]))["history"].as_array().unwrap().len(), 3);

    let rules = json(cli().args(["rules", "--format", "json"]));
    assert_eq!(rules[0]["name"], "high_failure_rate");

    let exported =
        ok(cli().args(["export", "--page-size", "2", "--ip", "198.51.100.23"]).output().unwrap());
    let exported: Vec<Value> = String::from_utf8_lossy(&exported.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(exported), events);
    let tail =
        ok(cli().args(["tail", "--once", "--lines", "3", "--format", "jsonl"]).output().unwrap());
    assert_eq!(String::from_utf8_lossy(&tail.stdout).lines().count(), 3);

    let purged = ok(cli().args(["purge", "--before", "2000-01-01"]).output().unwrap());
    assert!(String::from_utf8_lossy(&purged.stdout).starts_with("deleted 0 events"));
    let refused = cli().args(["purge", "--before", "2999-01-01"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("retention"));

    // A read-only key cannot act; the server's 403 reaches the operator.
    let reader = s.create_key(&["read"]);
    let denied =
        remote(&s.base, &reader, &unused).args(["purge", "--before", "2000-01-01"]).output();
    let denied = denied.unwrap();
    assert!(!denied.status.success());
    assert!(String::from_utf8_lossy(&denied.stderr).contains("403"));
    assert!(!unused.exists(), "remote mode never opens the local database");
}

/// cscli's flags: add with --ip, --range, --user, --scope/--value; delete by value lifts
/// every decision in force covering the IP, then the user's, then one by exact value.
fn decisions_by_value(cli: &dyn Fn() -> Command) {
    let stdout = |args: &[&str]| -> String {
        String::from_utf8_lossy(&ok(cli().args(args).output().unwrap()).stdout).into_owned()
    };
    stdout(&["decisions", "add", "--ip", "192.0.2.1"]);
    stdout(&["decisions", "add", "-r", "192.0.2.7/24", "-d", "1h", "-R", "scanner"]);
    stdout(&["decisions", "add", "--user", "mallory", "--type", "ban"]);
    stdout(&["decisions", "add", "--scope", "range", "--value", "10.0.0.0/8"]);
    let active = || -> Vec<String> {
        let list = json(cli().args(["decisions", "--format", "json"]));
        let mut v: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["value"].as_str().unwrap().to_string())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(active(), ["10.0.0.0/8", "192.0.2.0/24", "192.0.2.1", "mallory"]);
    assert_eq!(stdout(&["decisions", "delete", "--ip", "192.0.2.1"]), "lifted 2 decisions\n");
    assert_eq!(active(), ["10.0.0.0/8", "mallory"]);
    assert_eq!(stdout(&["decisions", "delete", "--user", "mallory"]), "lifted 1 decision\n");
    assert_eq!(stdout(&["decisions", "delete", "-v", "10.0.0.0/8"]), "lifted 1 decision\n");
    assert!(active().is_empty());
    assert_eq!(stdout(&["decisions", "delete", "--ip", "192.0.2.1"]), "lifted 0 decisions\n");
    let bad = cli().args(["decisions", "delete", "--ip", "192.0.2"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ip"));
}

#[test]
fn decisions_add_and_delete_by_value_with_cscli_flags_locally() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("local.db");
    decisions_by_value(&|| {
        let mut c = Command::cargo_bin("seclog").unwrap();
        c.arg("--db").arg(&db);
        for v in ["SECLOG_CONFIG", "SECLOG_DB", "SECLOG_SERVER", "SECLOG_API_KEY"] {
            c.env_remove(v);
        }
        c
    });
}

#[test]
fn decisions_add_and_delete_by_value_with_cscli_flags_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("srv.db"));
    let unused = dir.path().join("never.db");
    decisions_by_value(&|| remote(&s.base, s.key(), &unused));
    assert!(!unused.exists(), "remote mode never opens the local database");
}

#[test]
fn tail_through_the_server_shows_an_imported_batch_of_old_events() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("tail.db"));
    let unused = dir.path().join("never.db");
    let cli = || remote(&s.base, s.key(), &unused);
    let mut child = cli()
        .args(["tail", "--lines", "0", "--max", "2", "--timeout", "60", "--interval-ms", "100"])
        .args(["--format", "jsonl"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("following") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "tail exited early");
    }
    let file = dir.path().join("old.jsonl");
    let days_ago = |d: i64| {
        (time::OffsetDateTime::now_utc() - time::Duration::days(d))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let lines: String = [("old-1", 30), ("old-2", 40)]
        .iter()
        .map(|(u, d)| {
            format!(
                "{{\"event_type\":\"api_access\",\"user_id\":\"{u}\",\"timestamp\":\"{}\"}}\n",
                days_ago(*d)
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    ok(cli().args(["import", "--quiet"]).arg(&file).output().unwrap());
    let out = ok(child.wait_with_output().unwrap());
    let users: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["user_id"].as_str().unwrap().into())
        .collect();
    assert_eq!(users, ["old-1", "old-2"]);
}

#[test]
fn tls_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let s = Server::start_full(
        &dir.path().join("tls.db"),
        &[],
        &["--tls-cert", cert_path.to_str().unwrap(), "--tls-key", key_path.to_str().unwrap()],
    );
    assert!(s.base.starts_with("https://"), "{}", s.base);
    let unused = dir.path().join("never.db");

    let trusted = json(
        remote(&s.base, s.key(), &unused)
            .arg("--ca-cert")
            .arg(&cert_path)
            .args(["stats", "--format", "json"]),
    );
    assert!(trusted["total_events"].is_u64());
    let untrusted = remote(&s.base, s.key(), &unused).args(["stats"]).output().unwrap();
    assert!(!untrusted.status.success(), "an unknown certificate is refused");

    // A plain-HTTP request to the TLS port gets no answer.
    let plain = s.base.replacen("https://", "http://", 1);
    assert!(common::client().get(format!("{plain}/health")).send().is_err());
}
