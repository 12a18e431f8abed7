#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Memory held by the rule engine with 1,000,000 distinct client IPs (one `auth_failure` each).
//!
//! Run: `cargo run --release -p seclog-core --example rules_memory [spec|default|all]`
//! (Linux: reads VmRSS).

use std::net::IpAddr;

use seclog_core::monitor::{default_rules, RuleEngine};
use seclog_core::{EventType, Rule, SecurityEvent};
use time::{Duration, OffsetDateTime};

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn measure(label: &str, rules: Vec<Rule>) {
    const N: u32 = 1_000_000;
    let before = rss_mb();
    let mut eng = RuleEngine::new(rules).unwrap();
    let mut e = SecurityEvent::new("", EventType::AuthFailure, OffsetDateTime::UNIX_EPOCH);
    e.user_id = Some("alice".into());
    for i in 0..N {
        e.event_id = format!("0190a1b2-c3d4-7e5f-8a6b-{i:012x}");
        e.timestamp = OffsetDateTime::UNIX_EPOCH + Duration::microseconds(i64::from(i) * 100);
        e.ip_address = Some(IpAddr::from((0x0b00_0000u32 + i).to_be_bytes()));
        eng.observe(&e);
    }
    let after = rss_mb();
    println!(
        "{label}: {} rule/key states for {N} distinct IPs, RSS +{:.1} MB ({:.0} bytes per IP)",
        eng.key_count(),
        after - before,
        (after - before) * 1024.0 * 1024.0 / f64::from(N)
    );
}

fn main() {
    // One measurement per process: freed memory is not always returned to the OS.
    match std::env::args().nth(1).as_deref() {
        Some("spec") => measure("spec rules (3)", default_rules().into_iter().take(3).collect()),
        Some("all") => {
            let mut rules = default_rules();
            rules.iter_mut().for_each(|r| r.enabled = true);
            measure("all 5 rules enabled", rules)
        }
        _ => measure("default rules (5)", default_rules()),
    }
}
