#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The brute-force workload (`seclog-workload`) through `seclog import`, `stats` and `query`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// Generates the workload with `seed` into `dir` (the project's own generator,
/// `crates/seclog-workload`).
pub fn generate(dir: &Path, events: usize, seed: u64) {
    let params = seclog_workload::Params { events, seed, ..Default::default() };
    let workload = seclog_workload::generate(&params).expect("valid workload parameters");
    seclog_workload::write_to(&workload, dir).expect("workload written");
}

fn seclog(db: &Path) -> Command {
    let mut c = Command::cargo_bin("seclog").unwrap();
    c.arg("--db").arg(db).env_remove("SECLOG_CONFIG").env_remove("SECLOG_DB");
    c
}

#[test]
fn import_200k_then_stats_and_query_by_ip() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 200_000, 42);
    let db = dir.path().join("w.db");
    let out = seclog(&db)
        .args(["import", "--quiet"])
        .arg(dir.path().join("events.jsonl"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("imported 200000 events, rejected 0 lines"), "{stderr}");

    let out = seclog(&db).args(["stats", "--format", "json"]).output().unwrap();
    assert!(out.status.success());
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["total_events"], 200_000);
    assert_eq!(stats["events_by_type"]["auth_failure"], 200_000);

    // Count each IP's events in the source and compare with `query --ip X` for a few IPs.
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let mut per_ip: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        per_ip
            .entry(v["ip_address"].as_str().unwrap().to_string())
            .or_default()
            .push(v["timestamp"].as_str().unwrap().to_string());
    }
    let mut by_count: Vec<(&String, &Vec<String>)> = per_ip.iter().collect();
    by_count.sort_by_key(|(ip, ts)| (std::cmp::Reverse(ts.len()), (*ip).clone()));
    for (ip, stamps) in by_count.iter().take(3).chain(by_count.iter().rev().take(2)) {
        let out = seclog(&db)
            .args(["query", "--ip", ip, "--all", "--limit", "7", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(events.len(), stamps.len(), "events of {ip}");
        assert!(events.iter().all(|e| e["ip_address"] == ip.as_str()));
        let mut got: Vec<String> =
            events.iter().map(|e| e["timestamp"].as_str().unwrap().to_string()).collect();
        got.sort();
        let mut want = (*stamps).clone();
        want.sort();
        assert_eq!(got, want);
    }
}

#[test]
fn import_reports_bad_lines_with_their_number() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"event_type":"auth_failure","ip_address":"1.2.3.4","timestamp":"2026-11-20T00:00:00Z"}"#, "\n",
            "not json\n",
            r#"{"event_type":"auth_fail","ip_address":"1.2.3.4"}"#, "\n",
            r#"{"event_type":"auth_success","ip_address":"300.1.1.1"}"#, "\n",
            r#"{"event_type":"auth_success","ip_address":"::ffff:1.2.3.4","timestamp":"2026-11-20T01:00:00+01:00"}"#, "\n",
        ),
    )
    .unwrap();
    let db = dir.path().join("m.db");
    let out = seclog(&db).args(["import"]).arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 2:"), "{stderr}");
    assert!(stderr.contains("line 3:") && stderr.contains("auth_fail"), "{stderr}");
    assert!(stderr.contains("line 4:") && stderr.contains("ip_address"), "{stderr}");
    assert!(!stderr.contains("line 1:") && !stderr.contains("line 5:"), "{stderr}");
    assert!(stderr.contains("imported 2 events, rejected 3 lines"), "{stderr}");
    let out = seclog(&db).args(["query", "--ip", "1.2.3.4", "--format", "json"]).output().unwrap();
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events.len(), 2, "the mapped IPv6 address was normalised to 1.2.3.4");
    assert_eq!(events[0]["timestamp"], "2026-11-20T00:00:00Z");
}

#[test]
fn import_counts_events_the_store_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dup.jsonl");
    let line = r#"{"event_id":"dup-1","event_type":"auth_failure","ip_address":"1.2.3.4"}"#;
    let other = r#"{"event_id":"uniq-2","event_type":"auth_failure","ip_address":"1.2.3.4"}"#;
    std::fs::write(&file, format!("{line}\n{other}\n{line}\n")).unwrap();
    let db = dir.path().join("d.db");
    let out = seclog(&db).args(["import"]).arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("1 accepted events were refused by the store"), "{stderr}");
    assert!(stderr.contains("imported 2 events, rejected 1 lines"), "{stderr}");
    let out = seclog(&db).args(["stats", "--format", "json"]).output().unwrap();
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["total_events"], 2);
}

#[test]
fn query_rejects_bad_filters_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let out = seclog(&db).args(["query", "--ip", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ip_address") && stderr.contains("nope"), "{stderr}");
}

/// Imports a workload and returns the set of IPs with a ban decision (any state).
fn banned_after_import(
    events: usize,
    seed: u64,
) -> (std::collections::BTreeSet<String>, std::collections::BTreeSet<String>) {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), events, seed);
    let db = dir.path().join("b.db");
    let out = seclog(&db)
        .args(["import", "--quiet"])
        .arg(dir.path().join("events.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = seclog(&db).args(["decisions", "--all", "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let decisions: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(decisions.iter().all(|d| d["origin"] == "high_failure_rate" && d["type"] == "ban"));
    let got = decisions.iter().map(|d| d["value"].as_str().unwrap().to_string()).collect();
    let expected = std::fs::read_to_string(dir.path().join("expected_banned.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    (got, expected)
}

#[test]
fn import_bans_exactly_the_expected_ips() {
    let (got, expected) = banned_after_import(200_000, 42);
    assert_eq!(expected.len(), 1000);
    let missing: Vec<_> = expected.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&expected).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
}

#[test]
fn import_bans_exactly_the_expected_ips_with_other_seeds() {
    for seed in [7, 2026] {
        let (got, expected) = banned_after_import(50_000, seed);
        assert!(!expected.is_empty());
        assert_eq!(got, expected, "seed {seed}");
    }
}
