#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Monitoring through the logger: the cost of `log_event` with the default rules, and the time
//! from the decisive event's `log_event` call to the block being visible to `check_ip`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use seclog::{Config, EventInput, QueueFullPolicy, SecurityLogger};

fn logger() -> SecurityLogger {
    let cfg = Config {
        db_file: ":memory:".into(),
        queue_capacity: 1 << 20,
        queue_full_policy: QueueFullPolicy::Drop,
        ..Config::default()
    };
    SecurityLogger::new(cfg).unwrap()
}

fn failure(ip: IpAddr) -> EventInput {
    EventInput {
        ip_address: Some(ip.to_string()),
        user_id: Some("alice".into()),
        // No timestamp: the logger's clock, so the block (15 minutes from the event) is
        // in force when checked.
        ..EventInput::of_type("auth_failure")
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0x0B00_0001);

fn fresh_ip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(NEXT.fetch_add(1, Ordering::Relaxed)))
}

fn bench(c: &mut Criterion) {
    let log = logger();
    c.bench_function("log_event auth_failure (default rules, new IP each)", |b| {
        b.iter(|| {
            let _ = black_box(log.log_event(failure(fresh_ip())));
        })
    });
    c.bench_function("check_ip (miss)", |b| {
        let ip = fresh_ip();
        b.iter(|| black_box(log.check_ip(black_box(ip))))
    });
    // The decisive event: four failures are logged in setup, the measured routine logs the
    // fifth and checks the block.
    c.bench_function("decisive event to block visible", |b| {
        b.iter_batched(
            || {
                let ip = fresh_ip();
                for _ in 0..4 {
                    log.log_event(failure(ip)).unwrap();
                }
                ip
            },
            |ip| {
                log.log_event(failure(ip)).unwrap();
                assert!(log.check_ip(ip).is_some());
            },
            BatchSize::SmallInput,
        )
    });
    // Wall-clock percentile of the same path, printed for docs/benchmarks.md.
    let mut samples: Vec<Duration> = (0..2000)
        .map(|_| {
            let ip = fresh_ip();
            for _ in 0..4 {
                log.log_event(failure(ip)).unwrap();
            }
            let t = Instant::now();
            log.log_event(failure(ip)).unwrap();
            let visible = log.check_ip(ip).is_some();
            let d = t.elapsed();
            assert!(visible);
            d
        })
        .collect();
    samples.sort();
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "decisive event to block visible: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?} (2000 samples)",
        p(0.5),
        p(0.99),
        p(0.999),
        samples[samples.len() - 1]
    );
    log.close();
}

criterion_group!(benches, bench);
criterion_main!(benches);
