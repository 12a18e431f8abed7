//! One engine for every process: real processes on one database. The test binary runs itself
//! as the other process (`child_process`, driven by commands on its standard input).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use seclog::core::monitor::{DecisionMatch, Scope};
use seclog::{Config, EventFilter, EventInput, Role, SecurityLogger};

const CHILD_ENV: &str = "SECLOG_TEST_ENGINE_CHILD_DB";

fn config(db: &Path) -> Config {
    Config { db_file: db.to_path_buf(), ..Config::default() }
}

fn failure(ip: &str) -> EventInput {
    EventInput {
        ip_address: Some(ip.to_string()),
        user_id: Some("alice".into()),
        ..EventInput::of_type("auth_failure")
    }
}

/// The other process: opens the database and carries out one command per line of its
/// standard input, answering each on a line starting with `@@`.
#[test]
fn child_process() {
    let Ok(db) = std::env::var(CHILD_ENV) else { return };
    let logger = SecurityLogger::new(config(Path::new(&db))).unwrap();
    let out = std::io::stdout();
    let answer = |s: String| {
        let mut o = out.lock();
        writeln!(o, "@@{s}").unwrap();
        o.flush().unwrap();
    };
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["role"] => answer(format!("{:?}", logger.role())),
            ["fail", ip] => {
                logger.log_event(failure(ip)).unwrap();
                let ip: IpAddr = ip.parse().unwrap();
                answer(format!("{}", logger.check_ip(ip).is_some()));
            }
            ["wait", ip, ms] => {
                let ip: IpAddr = ip.parse().unwrap();
                let start = Instant::now();
                let deadline = start + Duration::from_millis(ms.parse().unwrap());
                while logger.check_ip(ip).is_none() && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
                answer(format!(
                    "{} {}",
                    logger.check_ip(ip).is_some(),
                    start.elapsed().as_micros()
                ));
            }
            ["add", ip] => {
                let d = logger.add_decision(Scope::Ip, ip, None, "by hand", "ops").unwrap();
                answer(d.id);
            }
            ["lift", ip] => {
                let m = DecisionMatch::from_params([("ip", *ip)]).unwrap();
                answer(logger.lift_decisions(&m).unwrap().len().to_string());
            }
            ["load", c] => {
                // 40 addresses of this client reach the threshold, among 500 events no rule
                // counts; returns once everything is sent.
                let c: u8 = c.parse().unwrap();
                for i in 0..700u32 {
                    let input = if i % 7 < 2 {
                        let k = i / 7 * 2 + i % 7;
                        failure(&format!("100.{c}.{}.1", k / 5))
                    } else {
                        EventInput {
                            ip_address: Some(format!("198.18.{c}.{}", i % 200)),
                            ..EventInput::of_type("data_access")
                        }
                    };
                    logger.log_event(input).unwrap();
                }
                logger.flush().unwrap();
                answer(format!("{:?}", logger.link_status()));
            }
            ["status"] => answer(format!("{:?}", logger.link_status())),
            ["flush"] => {
                logger.flush().unwrap();
                answer("ok".into());
            }
            ["quit"] => break,
            other => panic!("unknown command {other:?}"),
        }
    }
    logger.close();
}

/// The other process, started on `db`.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn start(db: &Path) -> Peer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_process", "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Peer { child, stdin, stdout }
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "the peer ended on {command}");
            // libtest's "test child_process ... " may precede the first answer on its line.
            if let Some(at) = line.find("@@") {
                return line[at + 2..].trim_end().to_string();
            }
        }
    }

    fn quit(mut self) {
        let _ = writeln!(self.stdin, "quit");
        drop(self.stdin);
        assert!(self.child.wait().unwrap().success());
    }
}

fn stored_from(logger: &SecurityLogger, ip: &str) -> usize {
    let filter = EventFilter { ip_address: Some(ip.parse().unwrap()), ..EventFilter::default() };
    logger.get_events(&filter, 1000).unwrap().len()
}

#[test]
fn a_second_process_is_a_client_and_the_threshold_counts_across_both() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    assert_eq!(engine.role(), Role::Engine);
    let mut peer = Peer::start(&db);
    assert_eq!(peer.ask("role"), "Client");
    let ip = "198.51.100.7";
    for _ in 0..3 {
        engine.log_event(failure(ip)).unwrap();
    }
    assert_eq!(peer.ask(&format!("fail {ip}")), "false", "4th failure: not yet blocked");
    assert_eq!(peer.ask(&format!("fail {ip}")), "true", "5th failure: blocked in the client");
    assert!(engine.check_ip(ip.parse().unwrap()).is_some(), "blocked in the engine");
    assert_eq!(stored_from(&engine, ip), 5);
    peer.quit();
    engine.close();
}

#[test]
fn a_decision_made_in_the_engine_reaches_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("watch.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    let mut peer = Peer::start(&db);
    assert_eq!(peer.ask("role"), "Client");
    peer.ask("flush");
    let ip = "198.51.100.9";
    engine.add_decision(seclog::core::monitor::Scope::Ip, ip, None, "by hand", "alice").unwrap();
    let answer = peer.ask(&format!("wait {ip} 2000"));
    assert!(answer.starts_with("true "), "{answer}");
    peer.quit();
    engine.close();
}

#[test]
fn a_client_takes_the_engine_over_when_the_engine_dies_and_keeps_its_windows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("failover.db");
    let mut peer = Peer::start(&db);
    assert_eq!(peer.ask("role"), "Engine");
    let ip = "198.51.100.11";
    for _ in 0..3 {
        assert_eq!(peer.ask(&format!("fail {ip}")), "false");
    }
    assert_eq!(peer.ask("flush"), "ok");
    let client = SecurityLogger::new(config(&db)).unwrap();
    assert_eq!(client.role(), Role::Client);
    peer.child.kill().unwrap();
    peer.child.wait().unwrap();
    // Two more failures: the engine's three are in the store, replayed by the new engine.
    client.log_event(failure(ip)).unwrap();
    client.log_event(failure(ip)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.check_ip(ip.parse().unwrap()).is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(client.check_ip(ip.parse().unwrap()).is_some(), "{:?}", client.link_status());
    assert_eq!(client.link_status().promotions, 1);
    client.flush().unwrap();
    assert_eq!(stored_from(&client, ip), 5, "{:?}", client.link_status());
    client.close();
}

#[test]
fn a_decision_added_in_a_client_is_enforced_by_the_engine_and_the_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ops.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    let (mut a, mut b) = (Peer::start(&db), Peer::start(&db));
    assert_eq!((a.ask("role"), b.ask("role")), ("Client".to_string(), "Client".to_string()));
    b.ask("flush");
    let ip = "198.51.100.21";
    let id = a.ask(&format!("add {ip}"));
    let held = engine.check_ip(ip.parse().unwrap()).expect("the engine enforces it at once");
    assert_eq!(held.decision.id, id);
    let seen = b.ask(&format!("wait {ip} 50"));
    assert!(seen.starts_with("true "), "another client within 50 ms: {seen}");
    assert_eq!(engine.decisions(false, 10).unwrap().len(), 1, "stored once, by the engine");
    assert_eq!(a.ask(&format!("lift {ip}")), "1");
    assert!(engine.check_ip(ip.parse().unwrap()).is_none(), "lifted in the engine at once");
    a.quit();
    b.quit();
    engine.close();
}

#[test]
fn killing_the_engine_under_load_loses_no_event_stores_none_twice_and_bans_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    let mut engine = Peer::start(&db);
    assert_eq!(engine.ask("role"), "Engine");
    let mut clients: Vec<Peer> = (0..3).map(|_| Peer::start(&db)).collect();
    for c in &mut clients {
        assert_eq!(c.ask("role"), "Client");
    }
    for (n, c) in clients.iter_mut().enumerate() {
        writeln!(c.stdin, "load {}", n + 1).unwrap();
        c.stdin.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(150));
    engine.child.kill().unwrap();
    engine.child.wait().unwrap();
    let mut statuses = Vec::new();
    for c in &mut clients {
        let mut line = String::new();
        while !line.contains("@@") {
            line.clear();
            assert!(c.stdout.read_line(&mut line).unwrap() > 0, "a client ended");
        }
        statuses.push(line);
    }
    let promotions = statuses.iter().filter(|s| s.contains("promotions: 1")).count();
    assert_eq!(promotions, 1, "exactly one client took the engine over: {statuses:?}");
    for c in clients {
        c.quit();
    }
    let reader = SecurityLogger::new(config(&db)).unwrap();
    let total = reader.store().count_events(&EventFilter::default()).unwrap();
    assert_eq!(total, 3 * 700, "every event once: {statuses:?}");
    let mut banned: Vec<String> =
        reader.decisions(true, 1000).unwrap().into_iter().map(|d| d.value).collect();
    banned.sort();
    let mut expected: Vec<String> =
        (1..=3).flat_map(|c| (0..40).map(move |k| format!("100.{c}.{k}.1"))).collect();
    expected.sort();
    assert_eq!(banned, expected, "{statuses:?}");
    reader.close();
}

#[test]
fn when_the_engine_closes_first_the_last_client_to_close_leaves_the_database_file_complete() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("last.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    let mut peer = Peer::start(&db);
    assert_eq!(peer.ask("role"), "Client");
    for _ in 0..3 {
        engine.log_event(failure("198.51.100.31")).unwrap();
        peer.ask("fail 198.51.100.32");
    }
    engine.close();
    // The client takes over for this one, then closes last.
    peer.ask("fail 198.51.100.32");
    assert!(peer.ask("status").contains("promotions: 1"));
    peer.quit();
    let wal = dir.path().join("last.db-wal");
    assert!(std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0, "the WAL is empty");
    let copy = dir.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let alone = SecurityLogger::new(Config { shared_engine: false, ..config(&copy) }).unwrap();
    assert_eq!(alone.store().count_events(&EventFilter::default()).unwrap(), 7);
    alone.close();
}
