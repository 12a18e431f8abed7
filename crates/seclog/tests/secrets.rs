#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The secrets corpus must never reach the database file or the log file.

use seclog::{Config, EventInput, SecurityLogger};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    event: EventInput,
    secrets: Vec<String>,
}

fn corpus() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/secrets_corpus.jsonl");
    let text = std::fs::read_to_string(path).expect("testdata/secrets_corpus.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus line"))
        .collect()
}

/// Every file the logger wrote (database, WAL, log, rotated logs).
fn all_bytes(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".key"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn no_secret_reaches_the_database_or_the_log_file() {
    let cases = corpus();
    assert!(cases.len() >= 25, "the corpus must be substantial");
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        db_file: dir.path().join("events.db"),
        log_file: Some(dir.path().join("security.log")),
        ..Config::default()
    };
    let logger = SecurityLogger::new(cfg).unwrap();
    let mut stored = 0;
    for c in &cases {
        logger.log_event(c.event.clone()).unwrap();
        stored += 1;
    }
    logger.close();
    drop(logger);
    let files = all_bytes(dir.path());
    let log = files.iter().find(|(n, _)| n.ends_with("security.log")).expect("log file");
    assert_eq!(String::from_utf8_lossy(&log.1).lines().count(), stored);
    for c in &cases {
        for secret in &c.secrets {
            for (name, bytes) in &files {
                let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(!found, "secret {secret:?} found in {name}");
            }
        }
    }
}
