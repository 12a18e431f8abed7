//! Insert throughput of the SQLite store: batches of 1,000 `auth_failure` events shaped like
//! the brute-force workload (`crates/seclog-workload`), into an on-disk
//! database in a temporary directory, with the default indexes.
//!
//! Also: query latency (filter by IP / by type, limit 100) on a database of ~1M rows.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use seclog_core::{EventFilter, EventType, SecurityEvent};
use seclog_store::{SqliteStore, Store};
use time::{Duration, OffsetDateTime};

const BATCH: usize = 1_000;
const USERS: &[&str] = &["root", "admin", "test", "alice", "bob", "frank_ops", "dave", "oracle"];

/// A deterministic generator of workload-shaped events (20,000 source IPs).
struct Workload {
    n: u64,
    rng: u64,
    ips: Vec<IpAddr>,
}

impl Workload {
    fn new() -> Self {
        let mut rng = 42_u64;
        let ips = (0..20_000)
            .map(|_| {
                rng = next(rng);
                IpAddr::V4(Ipv4Addr::from(((rng >> 32) as u32) | 0x0100_0000))
            })
            .collect();
        Workload { n: 0, rng, ips }
    }

    fn event(&mut self) -> SecurityEvent {
        self.n += 1;
        self.rng = next(self.rng);
        let base = OffsetDateTime::from_unix_timestamp(1_795_132_800).unwrap();
        let ts = base + Duration::milliseconds((self.n * 43) as i64);
        // A UUIDv7-shaped id: millisecond prefix, then a counter.
        let id = format!(
            "{:012x}-7{:03x}-8{:03x}-{:012x}",
            ts.unix_timestamp_nanos() / 1_000_000,
            self.n & 0xfff,
            (self.rng >> 20) & 0xfff,
            self.n
        );
        let mut e = SecurityEvent::new(id, EventType::AuthFailure, ts);
        e.ip_address = Some(self.ips[(self.rng >> 33) as usize % self.ips.len()]);
        e.user_id = Some(USERS[(self.rng >> 13) as usize % USERS.len()].to_string());
        e.request_method = Some("POST".into());
        e.request_url = Some("/api/login".into());
        e.response_status = Some(401);
        e.risk_score = Some(4.0);
        e
    }

    fn batch(&mut self, n: usize) -> Vec<SecurityEvent> {
        (0..n).map(|_| self.event()).collect()
    }
}

fn next(x: u64) -> u64 {
    x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407)
}

fn insert(c: &mut Criterion) {
    let mut g = c.benchmark_group("sqlite_insert");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("batch_1000_auth_failure_on_disk", |b| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("bench.db")).unwrap();
        let mut w = Workload::new();
        b.iter_batched(
            || w.batch(BATCH),
            |events| store.insert_events(&events).unwrap(),
            BatchSize::LargeInput,
        );
    });
    g.finish();

    let mut g = c.benchmark_group("sqlite_insert_fresh");
    g.sample_size(10);
    const TOTAL: usize = 200_000;
    g.throughput(Throughput::Elements(TOTAL as u64));
    g.bench_function("200k_in_batches_of_1000_fresh_db", |b| {
        let mut w = Workload::new();
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let store = SqliteStore::open(dir.path().join("bench.db")).unwrap();
                (dir, store, w.batch(TOTAL))
            },
            |(dir, store, events)| {
                for chunk in events.chunks(BATCH) {
                    store.insert_events(chunk).unwrap();
                }
                (dir, store)
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

fn query(c: &mut Criterion) {
    let rows: usize = std::env::var("SECLOG_BENCH_QUERY_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("query.db")).unwrap();
    let mut w = Workload::new();
    let mut done = 0;
    while done < rows {
        let mut batch = w.batch(BATCH.min(rows - done));
        for (i, e) in batch.iter_mut().enumerate() {
            if i % 10 == 0 {
                e.event_type = EventType::SqlInjectionAttempt;
            }
        }
        store.insert_events(&batch).unwrap();
        done += batch.len();
    }
    let ip = w.ips[7];
    let mut g = c.benchmark_group(format!("sqlite_query_{rows}_rows"));
    let by_ip = EventFilter { ip_address: Some(ip), ..Default::default() };
    g.bench_function("by_ip_limit_100", |b| {
        b.iter(|| black_box(store.query_events(&by_ip, None, 100).unwrap()))
    });
    let by_type =
        EventFilter { event_types: vec![EventType::SqlInjectionAttempt], ..Default::default() };
    g.bench_function("by_type_limit_100", |b| {
        b.iter(|| black_box(store.query_events(&by_type, None, 100).unwrap()))
    });
    let cidr = EventFilter { cidr: Some("1.0.0.0/8".parse().unwrap()), ..Default::default() };
    g.bench_function("by_cidr_limit_100", |b| {
        b.iter(|| black_box(store.query_events(&cidr, None, 100).unwrap()))
    });
    g.bench_function("newest_limit_100", |b| {
        b.iter(|| black_box(store.query_events(&EventFilter::default(), None, 100).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, insert, query);
criterion_main!(benches);
