#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Memory held by the monitoring structures with 1,000,000 distinct client IPs (one
//! `auth_failure` each, user ids cycling over 1,000 users, as `scripts/bench_memory.sh` sends).
//!
//! Run: `cargo run --release -p seclog-core --example rules_memory -- MODE` with MODE one of
//! `spec`, `default`, `all` (rule sets), `rule:NAME` (one default rule alone, enabled), `risk`
//! (the `IpRiskTracker` alone). Linux: reads VmRSS and VmHWM (peak).

use std::net::IpAddr;

use seclog_core::monitor::{default_rules, IpRiskConfig, IpRiskTracker, RuleEngine};
use seclog_core::{EventType, Rule, SecurityEvent};
use time::{Duration, OffsetDateTime};

const N: u32 = 1_000_000;

fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn events() -> impl Iterator<Item = SecurityEvent> {
    (0..N).map(|i| {
        let mut e = SecurityEvent::new(
            format!("0190a1b2-c3d4-7e5f-8a6b-{i:012x}"),
            EventType::AuthFailure,
            OffsetDateTime::UNIX_EPOCH + Duration::microseconds(i64::from(i) * 100),
        );
        e.user_id = Some(format!("u{}", i % 1000));
        e.ip_address = Some(IpAddr::from((0x0b00_0000u32 + i).to_be_bytes()));
        e
    })
}

fn report(label: &str, states: usize, before: (f64, f64)) {
    let (rss, hwm) = (status_mb("VmRSS:") - before.0, status_mb("VmHWM:") - before.1);
    println!(
        "{label}: {states} states for {N} distinct IPs, RSS +{rss:.1} MB ({:.0} B per IP), \
         peak +{hwm:.1} MB",
        rss * 1024.0 * 1024.0 / f64::from(N)
    );
}

fn measure_rules(label: &str, rules: Vec<Rule>) {
    let before = (status_mb("VmRSS:"), status_mb("VmHWM:"));
    let mut eng = RuleEngine::new(rules).unwrap();
    for e in events() {
        eng.observe(&e);
    }
    report(label, eng.key_count(), before);
}

fn measure_risk() {
    let before = (status_mb("VmRSS:"), status_mb("VmHWM:"));
    let mut tr = IpRiskTracker::new(IpRiskConfig::default());
    for e in events() {
        tr.observe(e.ip_address.unwrap(), 5.0, e.timestamp);
    }
    report("ip risk tracker", tr.len(), before);
}

fn main() {
    // One measurement per process: freed memory is not always returned to the OS.
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "spec" => measure_rules("spec rules (3)", default_rules().into_iter().take(3).collect()),
        "all" => {
            let mut rules = default_rules();
            rules.iter_mut().for_each(|r| r.enabled = true);
            measure_rules("all 5 rules enabled", rules)
        }
        "risk" => measure_risk(),
        m if m.starts_with("rule:") => {
            let name = &m["rule:".len()..];
            let mut rules: Vec<Rule> =
                default_rules().into_iter().filter(|r| r.name == name).collect();
            rules.iter_mut().for_each(|r| r.enabled = true);
            assert_eq!(rules.len(), 1, "no default rule named {name}");
            measure_rules(&format!("rule {name} alone"), rules)
        }
        _ => measure_rules("default rules (5)", default_rules()),
    }
}
