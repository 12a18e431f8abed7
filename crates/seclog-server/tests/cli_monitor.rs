#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Monitoring from the CLI: decisions, suspicious IPs, the alert lifecycle, rules.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

fn seclog(db: &Path) -> Command {
    let mut c = Command::cargo_bin("seclog").unwrap();
    c.arg("--db").arg(db).env_remove("SECLOG_CONFIG").env_remove("SECLOG_DB");
    c
}

fn json(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn block_alert_lifecycle_and_manual_decisions_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
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
    let file = dir.path().join("e.jsonl");
    std::fs::write(&file, lines).unwrap();
    assert!(seclog(&db).args(["import", "--quiet"]).arg(&file).status().unwrap().success());

    let decisions = json(seclog(&db).args(["decisions", "--format", "json"]));
    let decisions = decisions.as_array().unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["value"], "198.51.100.23");
    assert_eq!(decisions[0]["origin"], "high_failure_rate");

    let ips = json(seclog(&db).args(["ips", "--blocked", "--format", "json"]));
    assert_eq!(ips[0]["ip_address"], "198.51.100.23");
    assert_eq!(ips[0]["blocked"], true);

    let alerts = json(seclog(&db).args(["alerts", "--status", "active", "--format", "json"]));
    let id = alerts[0]["alert_id"].as_str().unwrap().to_string();
    let acked = json(seclog(&db).args(["alerts", "ack", &id, "--by", "alice"]));
    assert_eq!(acked["status"], "acknowledged");
    let out = seclog(&db)
        .args(["alerts", "resolve", &id, "--by", "bob", "--reason", "bogus"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("true_positive"),
        "lists accepted reasons"
    );
    let resolved = json(seclog(&db).args([
        "alerts",
        "resolve",
        &id,
        "--by",
        "bob",
        "--reason",
        "true_positive",
        "--note",
        "blocked attacker",
    ]));
    assert_eq!(resolved["status"], "resolved");
    let shown = json(seclog(&db).args(["alerts", "show", &id]));
    let steps: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["active", "acknowledged", "resolved"]);
    assert_eq!(shown["history"][1]["by"], "alice");
    assert_eq!(shown["history"][2]["resolution"], "true_positive");
    assert!(json(seclog(&db).args(["alerts", "--status", "active", "--format", "json"]))
        .as_array()
        .unwrap()
        .is_empty());

    let added = json(seclog(&db).args([
        "decisions",
        "add",
        "--scope",
        "range",
        "--value",
        "203.0.113.0/24",
        "--duration",
        "1h",
        "--by",
        "ops",
    ]));
    let added_id = added["id"].as_str().unwrap().to_string();
    assert_eq!(added["origin"], "manual");
    assert_eq!(
        json(seclog(&db).args(["decisions", "--format", "json"])).as_array().unwrap().len(),
        2
    );
    json(seclog(&db).args(["decisions", "delete", &added_id]));
    assert_eq!(
        json(seclog(&db).args(["decisions", "--format", "json"])).as_array().unwrap().len(),
        1
    );
    assert_eq!(
        json(seclog(&db).args(["decisions", "--all", "--format", "json"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let out = seclog(&db).args(["decisions", "add", "--value", "not-an-ip"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-an-ip"));
}

#[test]
fn rules_lists_the_spec_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = json(seclog(&dir.path().join("r.db")).args(["rules", "--format", "json"]));
    let names: Vec<&str> =
        rules.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(&names[..3], ["high_failure_rate", "suspicious_activity", "critical_violations"]);
    assert_eq!(rules[0]["threshold"], 5);
    assert_eq!(rules[0]["action"], "block_ip");
}
