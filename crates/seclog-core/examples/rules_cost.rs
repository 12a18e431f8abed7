#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Feeds N `auth_failure` events (10,000 IPs, 1,000 users, 1 ms apart: the stream of the `rules`
//! bench) to the default rules, for instruction counting under callgrind:
//!
//! `valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/rules_cost N`
//! for two values of N; the difference of the totals over the difference of N is the cost of
//! one event.

use std::hint::black_box;
use std::net::IpAddr;

use seclog_core::monitor::{default_rules, RuleEngine};
use seclog_core::{EventType, SecurityEvent};
use time::{Duration, OffsetDateTime};

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let mut eng = RuleEngine::new(default_rules()).unwrap();
    let mut events: Vec<SecurityEvent> = (0..1000)
        .map(|u| {
            let mut e = SecurityEvent::new(
                format!("0190a1b2-c3d4-7e5f-8a6b-{u:012x}"),
                EventType::AuthFailure,
                OffsetDateTime::UNIX_EPOCH,
            );
            e.user_id = Some(format!("user{u}"));
            e
        })
        .collect();
    let mut t = OffsetDateTime::UNIX_EPOCH;
    let mut fired = 0usize;
    for i in 1..=n {
        t += Duration::milliseconds(1);
        let e = &mut events[(i % 1000) as usize];
        e.timestamp = t;
        e.ip_address = Some(IpAddr::from((0x0a00_0000u32 + i % 10_000).to_be_bytes()));
        fired += black_box(eng.observe(black_box(e))).len();
    }
    println!("{n} events, {fired} firings, {} states", eng.key_count());
}
