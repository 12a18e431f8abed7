//! Benchmarks of one engine shared by several processes (docs/benchmarks.md, "One engine for
//! every process"). The example runs itself as the client processes.
//!
//! `cargo run --release -p seclog --example engine_bench -- [propagation|propagation-engine|cost|ingest|memory|all]`
//!
//! - propagation: one client logs the decisive (5th) failure of a fresh address, three other
//!   clients poll their block lists (every 20 us); the time from the call to the last of them
//!   seeing the ban, over 1,000 trials (wall clock of one machine);
//! - propagation-engine: the same with the decisive event logged in the engine's own process
//!   (the watch stream's part alone);
//! - cost: `log_event` of an event no rule counts, in a client and in a standalone logger;
//! - ingest: 4 client processes log 250,000 events each into one engine;
//! - memory: the resident memory a client logger adds to its process.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use seclog::{Config, EventInput, Role, SecurityLogger};

const ROLE_ENV: &str = "SECLOG_BENCH_ROLE";
const DB_ENV: &str = "SECLOG_BENCH_DB";
const TRIALS: usize = 1_000;
/// How often the watchers look at their block lists.
const POLL_US: u64 = 200;

fn now_us() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros()
}

fn config(db: &Path) -> Config {
    Config { db_file: db.to_path_buf(), ..Config::default() }
}

fn trial_ip(k: usize) -> String {
    format!("100.{}.{}.{}", 64 + k / 65_536 % 64, k / 256 % 256, k % 256)
}

fn failure(ip: &str) -> EventInput {
    EventInput { ip_address: Some(ip.into()), ..EventInput::of_type("auth_failure") }
}

fn uncounted(i: usize) -> EventInput {
    EventInput {
        ip_address: Some(format!("198.18.{}.{}", i / 256 % 256, i % 256)),
        user_id: Some(format!("user{}", i % 1000)),
        request_url: Some("/api/orders".into()),
        ..EventInput::of_type("data_access")
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn spawn(role: &str, db: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env(ROLE_ENV, role)
        .env(DB_ENV, db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn read_line(c: &mut BufReader<std::process::ChildStdout>) -> String {
    let mut s = String::new();
    c.read_line(&mut s).unwrap();
    s.trim().to_string()
}

/// The client processes.
fn child(role: &str, db: &Path) {
    let before = rss_kib();
    let logger = SecurityLogger::new(config(db)).unwrap();
    assert_eq!(logger.role(), Role::Client);
    let mut out = std::io::stdout();
    match role {
        "attacker" => {
            writeln!(out, "ready").unwrap();
            out.flush().unwrap();
            for line in std::io::stdin().lock().lines() {
                let k: usize = line.unwrap().parse().unwrap();
                let ip = trial_ip(k);
                for _ in 0..4 {
                    logger.log_event(failure(&ip)).unwrap();
                }
                let t0 = now_us();
                logger.log_event(failure(&ip)).unwrap();
                let own = now_us() - t0;
                writeln!(out, "{t0} {own}").unwrap();
                out.flush().unwrap();
            }
        }
        "watcher" => {
            writeln!(out, "ready").unwrap();
            out.flush().unwrap();
            for k in 0..TRIALS {
                let ip = trial_ip(k).parse().unwrap();
                while logger.check_ip(ip).is_none() {
                    std::thread::sleep(Duration::from_micros(POLL_US));
                }
                writeln!(out, "{}", now_us()).unwrap();
            }
            out.flush().unwrap();
        }
        "ingest" => {
            writeln!(out, "ready").unwrap();
            out.flush().unwrap();
            let mut go = String::new();
            std::io::stdin().read_line(&mut go).unwrap();
            for i in 0..250_000 {
                logger.log_event(uncounted(i)).unwrap();
            }
            logger.flush().unwrap();
            writeln!(out, "done").unwrap();
        }
        "cost" => {
            let n = 200_000;
            let start = Instant::now();
            for i in 0..n {
                logger.log_event(uncounted(i)).unwrap();
            }
            let per = start.elapsed().as_nanos() / n as u128;
            logger.flush().unwrap();
            writeln!(out, "{per}").unwrap();
        }
        "memory" => {
            for i in 0..100_000 {
                logger.log_event(uncounted(i)).unwrap();
            }
            logger.flush().unwrap();
            writeln!(out, "{before} {}", rss_kib()).unwrap();
        }
        other => panic!("unknown role {other}"),
    }
    logger.close();
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

type Watchers = Vec<(Child, BufReader<std::process::ChildStdout>)>;

/// Three client processes polling their block lists for the trials' bans.
fn start_watchers(db: &Path) -> Watchers {
    (0..3)
        .map(|_| {
            let mut c = spawn("watcher", db);
            let mut o = BufReader::new(c.stdout.take().unwrap());
            assert_eq!(read_line(&mut o), "ready");
            (c, o)
        })
        .collect()
}

/// Per trial, when the last watcher saw its ban.
fn last_seen(watchers: &mut Watchers) -> Vec<u128> {
    let mut latest = vec![0u128; TRIALS];
    for (c, o) in watchers {
        for l in latest.iter_mut() {
            *l = (*l).max(read_line(o).parse().unwrap());
        }
        c.wait().unwrap();
    }
    latest
}

fn propagation(dir: &Path) {
    let db = dir.join("prop.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    let mut attacker = spawn("attacker", &db);
    let mut a_out = BufReader::new(attacker.stdout.take().unwrap());
    assert_eq!(read_line(&mut a_out), "ready");
    let mut watchers = start_watchers(&db);
    std::thread::sleep(Duration::from_millis(200));
    let a_in = attacker.stdin.as_mut().unwrap();
    let mut starts = Vec::with_capacity(TRIALS);
    let mut owns: Vec<u128> = Vec::with_capacity(TRIALS);
    for k in 0..TRIALS {
        writeln!(a_in, "{k}").unwrap();
        a_in.flush().unwrap();
        let line = read_line(&mut a_out);
        let (t0, own) = line.split_once(' ').unwrap();
        starts.push(t0.parse::<u128>().unwrap());
        owns.push(own.parse::<u128>().unwrap());
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(attacker.stdin.take());
    let latest = last_seen(&mut watchers);
    attacker.wait().unwrap();
    let mut lat: Vec<u128> =
        latest.iter().zip(&starts).map(|(l, s)| l.saturating_sub(*s)).collect();
    lat.sort_unstable();
    println!(
        "propagation (decisive event in one client -> ban in 3 other clients, {TRIALS} trials): \
         p50 {} us, p99 {} us, max {} us",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );
    owns.sort_unstable();
    println!(
        "  the decisive log_event itself in the client (judged by the engine, its own block list \
         updated): p50 {} us, p99 {} us",
        percentile(&owns, 0.5),
        percentile(&owns, 0.99)
    );
    engine.close();
}

/// The same ban decided in the engine's own process: the watch stream's part alone.
fn propagation_from_engine(dir: &Path) {
    let db = dir.join("prop-engine.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    let mut watchers = start_watchers(&db);
    std::thread::sleep(Duration::from_millis(200));
    let mut starts = Vec::with_capacity(TRIALS);
    for k in 0..TRIALS {
        let ip = trial_ip(k);
        for _ in 0..4 {
            engine.log_event(failure(&ip)).unwrap();
        }
        starts.push(now_us());
        engine.log_event(failure(&ip)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let latest = last_seen(&mut watchers);
    let mut lat: Vec<u128> =
        latest.iter().zip(&starts).map(|(l, s)| l.saturating_sub(*s)).collect();
    lat.sort_unstable();
    println!(
        "propagation (decisive event in the engine's process -> ban in 3 client processes, \
         {TRIALS} trials): p50 {} us, p99 {} us, max {} us",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );
    engine.close();
}

fn cost(dir: &Path) {
    let db = dir.join("cost.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    let mut c = spawn("cost", &db);
    let mut o = BufReader::new(c.stdout.take().unwrap());
    let client_ns: u128 = read_line(&mut o).parse().unwrap();
    c.wait().unwrap();
    engine.close();
    let standalone = SecurityLogger::new(Config {
        db_file: dir.join("alone.db"),
        shared_engine: false,
        ..Config::default()
    })
    .unwrap();
    let n = 200_000;
    let start = Instant::now();
    for i in 0..n {
        standalone.log_event(uncounted(i)).unwrap();
    }
    let alone_ns = start.elapsed().as_nanos() / n as u128;
    standalone.close();
    println!(
        "log_event of an event no rule counts: client {client_ns} ns, standalone {alone_ns} ns \
         ({:.2}x)",
        client_ns as f64 / alone_ns.max(1) as f64
    );
}

fn ingest(dir: &Path) {
    let db = dir.join("ingest.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    let mut clients: Vec<(Child, BufReader<std::process::ChildStdout>)> = (0..4)
        .map(|_| {
            let mut c = spawn("ingest", &db);
            let mut o = BufReader::new(c.stdout.take().unwrap());
            assert_eq!(read_line(&mut o), "ready");
            (c, o)
        })
        .collect();
    let start = Instant::now();
    for (c, _) in &mut clients {
        writeln!(c.stdin.as_mut().unwrap(), "go").unwrap();
    }
    for (c, o) in &mut clients {
        assert_eq!(read_line(o), "done");
        c.wait().unwrap();
    }
    engine.flush().unwrap();
    let secs = start.elapsed().as_secs_f64();
    let stored = engine.store().count_events(&Default::default()).unwrap();
    println!(
        "ingest from 4 client processes: {stored} events in {secs:.2} s = {:.0} events/s",
        stored as f64 / secs
    );
    engine.close();
}

fn memory(dir: &Path) {
    let db = dir.join("mem.db");
    let engine = SecurityLogger::new(config(&db)).unwrap();
    let mut c = spawn("memory", &db);
    let mut o = BufReader::new(c.stdout.take().unwrap());
    let line = read_line(&mut o);
    c.wait().unwrap();
    let (before, after) = line.split_once(' ').unwrap();
    let (before, after): (u64, u64) = (before.parse().unwrap(), after.parse().unwrap());
    println!(
        "client process RSS: {before} KiB before its logger, {after} KiB after 100,000 events: \
         +{} KiB",
        after - before
    );
    engine.close();
}

fn main() {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        let db = PathBuf::from(std::env::var(DB_ENV).unwrap());
        child(&role, &db);
        return;
    }
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let dir = tempfile::tempdir().unwrap();
    let all = what == "all";
    if all || what == "propagation" {
        propagation(dir.path());
    }
    if all || what == "propagation-engine" {
        propagation_from_engine(dir.path());
    }
    if all || what == "cost" {
        cost(dir.path());
    }
    if all || what == "ingest" {
        ingest(dir.path());
    }
    if all || what == "memory" {
        memory(dir.path());
    }
}
