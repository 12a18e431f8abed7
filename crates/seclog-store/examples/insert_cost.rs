//! The writer's cost per event: inserts events shaped like the server load generator's
//! batches (`api_access`, 1,000 users, 1,000 IPv4 addresses, as
//! crates/seclog-server/examples/load.rs sends them) into a fresh on-disk database, in
//! commits of a given size, on one thread (like the logger's writer thread), with the
//! background checkpoint thread on. Prints wall time, the inserting thread's CPU time and
//! the whole process's CPU time per event (from /proc), and the files' sizes.
//!
//! ```sh
//! cargo run --release -p seclog-store --example insert_cost -- DIR [EVENTS] [COMMIT]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use seclog_core::{EventType, SecurityEvent};
use seclog_store::{SqliteOptions, SqliteStore, Store};
use time::{Duration, OffsetDateTime};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// CPU seconds (user + system) of `/proc/<path>/stat`.
fn cpu(path: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{path}/stat")).unwrap_or_default();
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: insert_cost DIR [EVENTS] [COMMIT]";
    let dir = std::path::PathBuf::from(args.get(1).expect(usage));
    let n: usize = arg(&args, 2, 1_000_000);
    let commit: usize = arg(&args, 3, 8_000);
    let opts = SqliteOptions::default();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("insert_cost.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = SqliteStore::open_with(&path, opts.clone()).unwrap();
    let base = OffsetDateTime::from_unix_timestamp(1_795_132_800).unwrap();
    let (mut made, mut batch) = (0usize, Vec::with_capacity(commit));
    let (thread0, proc0, t0) = (cpu("thread-self"), cpu("self"), Instant::now());
    let mut max_wal = 0u64;
    let wal = format!("{}-wal", path.display());
    while made < n {
        batch.clear();
        for _ in 0..commit.min(n - made) {
            let i = made % 1000;
            let ts = base + Duration::microseconds(made as i64 * 10);
            let ms = ts.unix_timestamp_nanos() / 1_000_000;
            let mut e = SecurityEvent::new(
                format!("{ms:012x}-7000-8000-{made:012x}"),
                EventType::ApiAccess,
                ts,
            );
            e.user_id = Some(format!("u{i}"));
            let ip = Ipv4Addr::new(10, (i % 7) as u8, (i % 251) as u8, (i % 199 + 1) as u8);
            e.ip_address = Some(IpAddr::V4(ip));
            e.request_url = Some("/api/x".into());
            e.risk_score = Some(0.0);
            batch.push(e);
            made += 1;
        }
        store.insert_events(&batch).unwrap();
        max_wal = max_wal.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    let (wall, thread, process) =
        (t0.elapsed().as_secs_f64(), cpu("thread-self") - thread0, cpu("self") - proc0);
    let db = std::fs::metadata(&path).map_or(0, |m| m.len());
    let us = |s: f64| s * 1e6 / n as f64;
    println!(
        "events={n} commit={commit}: wall {wall:.2} s = {:.0} events/s; \
         writer thread {:.2} us/event, process {:.2} us/event; db {:.0} MB, max wal {:.0} MB",
        n as f64 / wall,
        us(thread),
        us(process),
        db as f64 / 1e6,
        max_wal as f64 / 1e6
    );
}
