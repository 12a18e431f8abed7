#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! A standard output closed early (`seclog query --all | head`) ends the command quietly with
//! exit status 0, whatever the command and the output format.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

fn seclog(db: &Path) -> Command {
    let mut c = Command::cargo_bin("seclog").unwrap();
    c.arg("--db").arg(db);
    for v in ["SECLOG_CONFIG", "SECLOG_DB", "SECLOG_SERVER", "SECLOG_API_KEY"] {
        c.env_remove(v);
    }
    c
}

/// A database whose listings are far longer than a pipe's buffer.
fn populated(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("pipe.db");
    let file = dir.join("events.jsonl");
    let mut lines = String::new();
    for i in 0..3000 {
        lines.push_str(&format!(
            "{{\"event_type\":\"api_access\",\"user_id\":\"user{i}\",\"ip_address\":\"10.1.{}.{}\"}}\n",
            i / 250,
            i % 250 + 1
        ));
    }
    std::fs::write(&file, lines).unwrap();
    let out = seclog(&db).args(["import", "--quiet"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    db
}

#[test]
fn a_closed_standard_output_ends_every_listing_quietly_with_success() {
    let dir = tempfile::tempdir().unwrap();
    let db = populated(dir.path());
    let commands: &[&[&str]] = &[
        &["query", "--all", "--format", "json"],
        &["query", "--all", "--format", "jsonl"],
        &["query", "--all", "--format", "table"],
        &["export"],
        &["tail", "--once", "--lines", "1000", "--format", "jsonl"],
    ];
    for args in commands {
        let mut child =
            seclog(&db).args(*args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut head = [0u8; 300];
        stdout.read_exact(&mut head).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} wrote on stderr: {stderr}");
    }
}
