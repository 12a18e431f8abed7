//! Fuzz target: normalisation and detection must never panic, and stay bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seclog_core::detect::{detect, normalise, AttackDetector, Detector, MAX_ROUNDS};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let n = normalise(&s);
    assert!(n.bytes.len() <= s.len());
    assert!(n.rounds <= MAX_ROUNDS);
    for f in detect(&s) {
        assert!((0.0..=1.0).contains(&f.confidence));
    }
    let _ = Detector::new(64).detect(&s);
});
