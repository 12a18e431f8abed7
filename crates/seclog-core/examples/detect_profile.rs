//! Rough per-stage timing of the detector on a few inputs (a development aid).
#![allow(missing_docs)]

use seclog_core::detect::{detect, normalise};
use std::time::Instant;

fn main() {
    let inputs = [
        "john.smith@example.com",
        "1 UNION SELECT username, password FROM users--",
        "<img src=x onerror=alert(document.cookie)>",
    ];
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
