#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Rule evaluation per event and block list lookups.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use seclog_core::monitor::{
    default_rules, BlockList, Decision, DecisionType, IpSet, RuleEngine, Scope,
};
use seclog_core::{EventType, SecurityEvent};
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

fn ip(i: u32) -> IpAddr {
    IpAddr::from((0x0a00_0000u32 + i).to_be_bytes())
}

/// Feeds `ty` events from 10,000 IPs (1,000 users) one millisecond apart.
fn bench_observe(c: &mut Criterion, name: &str, rules: Vec<seclog_core::Rule>, ty: EventType) {
    let mut eng = RuleEngine::new(rules).unwrap();
    let mut events: Vec<SecurityEvent> = (0..1000)
        .map(|u| {
            let mut e = SecurityEvent::new(format!("0190a1b2-c3d4-7e5f-8a6b-{u:012x}"), ty, T0);
            e.user_id = Some(format!("user{u}"));
            e
        })
        .collect();
    let mut n: u32 = 0;
    let mut t = T0;
    c.bench_function(name, |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            t += Duration::milliseconds(1);
            let e = &mut events[(n % 1000) as usize];
            e.timestamp = t;
            e.ip_address = Some(ip(n % 10_000));
            black_box(eng.observe(black_box(e)))
        })
    });
}

fn observe(c: &mut Criterion) {
    bench_observe(c, "observe/auth_failure/default_rules", default_rules(), EventType::AuthFailure);
    let spec: Vec<_> = default_rules().into_iter().take(3).collect();
    bench_observe(c, "observe/auth_failure/spec_rules", spec, EventType::AuthFailure);
    bench_observe(
        c,
        "observe/unmatched_type/default_rules",
        default_rules(),
        EventType::DataAccess,
    );
}

fn check_ip(c: &mut Criterion) {
    let allow = IpSet::parse(["192.168.0.0/16", "172.16.0.0/12", "::1"]).unwrap();
    let bl = BlockList::with_allowlist(allow);
    let mut decisions: Vec<Decision> = (0..10_000u32)
        .map(|i| Decision {
            id: format!("d{i}"),
            scope: Scope::Ip,
            value: ip(i * 3).to_string(),
            kind: DecisionType::Ban,
            origin: "high_failure_rate".into(),
            reason: "bench".into(),
            created_at: T0,
            until: Some(T0 + Duration::hours(1)),
            deleted_at: None,
        })
        .collect();
    for i in 0..100u32 {
        decisions.push(Decision {
            id: format!("r{i}"),
            scope: Scope::Range,
            value: format!("2001:db8:{i:x}::/64"),
            kind: DecisionType::Ban,
            origin: "manual".into(),
            reason: "bench".into(),
            created_at: T0,
            until: None,
            deleted_at: None,
        });
    }
    bl.apply(&decisions).unwrap();
    let now = T0 + Duration::minutes(1);
    let hit = ip(300);
    let miss = ip(301);
    let v6_hit: IpAddr = "2001:db8:5::1".parse().unwrap();
    assert!(bl.check_ip(hit, now).is_some());
    assert!(bl.check_ip(miss, now).is_none());
    assert!(bl.check_ip(v6_hit, now).is_some());
    c.bench_function("check_ip/miss_10k_ips_100_ranges", |b| {
        b.iter(|| black_box(bl.check_ip(black_box(miss), now)))
    });
    c.bench_function("check_ip/hit_ip", |b| b.iter(|| black_box(bl.check_ip(black_box(hit), now))));
    c.bench_function("check_ip/hit_v6_range", |b| {
        b.iter(|| black_box(bl.check_ip(black_box(v6_hit), now)))
    });
}

criterion_group!(benches, observe, check_ip);
criterion_main!(benches);
