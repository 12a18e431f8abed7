#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The rule engine against naive oracles, and its documented semantics.

use std::collections::HashMap;
use std::net::IpAddr;

use proptest::prelude::*;
use seclog_core::monitor::{
    default_rules, Action, DistinctField, GroupBy, Rule, RuleEngine, RuleFilter, RuleKind,
};
use seclog_core::{EventType, SecurityEvent, Severity};
use time::OffsetDateTime;

const T0: i64 = 1_735_725_600; // 2025-01-01T10:00:00Z

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(T0 + secs).unwrap()
}

fn ev(id: &str, ty: EventType, secs: i64, ip: Option<&str>, user: Option<&str>) -> SecurityEvent {
    let mut e = SecurityEvent::new(id, ty, at(secs));
    e.ip_address = ip.map(|s| s.parse().unwrap());
    e.user_id = user.map(str::to_string);
    e
}

fn names(f: &[seclog_core::Firing]) -> Vec<&str> {
    f.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn spec_high_failure_rate_fires_on_the_fifth_failure_then_is_suppressed() {
    let mut eng = RuleEngine::new(default_rules()).unwrap();
    let ip = Some("203.0.113.7");
    for i in 0..4 {
        let f = eng.observe(&ev(&format!("e{i}"), EventType::AuthFailure, i * 60, ip, None));
        assert!(f.is_empty(), "event {i}: {f:?}");
    }
    // The fifth failure at 240 s: 5 within 300 s.
    let f = eng.observe(&ev("e4", EventType::AuthFailure, 240, ip, None));
    assert_eq!(names(&f), vec!["high_failure_rate"]);
    let f = &f[0];
    assert_eq!(f.action, Action::BlockIp);
    assert_eq!(f.key, "203.0.113.7");
    assert_eq!(f.at, at(240));
    assert_eq!(f.event_ids, vec!["e0", "e1", "e2", "e3", "e4"]);
    assert_eq!(f.severity, Severity::High);
    assert!(!f.dry_run);
    // Suppressed until 240 + 300 inclusive.
    for (i, t) in [(5, 300), (6, 540)] {
        assert!(eng.observe(&ev(&format!("e{i}"), EventType::AuthFailure, t, ip, None)).is_empty());
    }
    // At 541 s the last five failures (e.g. 300..541) still lie within 300 s: fires again.
    let f = eng.observe(&ev("e7", EventType::AuthFailure, 541, ip, None));
    assert!(f.is_empty(), "only 3 failures in [241, 541]: {f:?}");
    let f = eng.observe(&ev("e8", EventType::AuthFailure, 542, ip, None));
    assert!(f.is_empty(), "4 failures in [242, 542]");
    let f = eng.observe(&ev("e9", EventType::AuthFailure, 543, ip, None));
    assert_eq!(names(&f), vec!["high_failure_rate"]);
    assert_eq!(f[0].event_ids, vec!["e5", "e6", "e7", "e8", "e9"]);
}

#[test]
fn window_is_inclusive_and_other_keys_do_not_count() {
    let rule = Rule::threshold("r", 2, 10, vec![EventType::AuthFailure], Action::Alert);
    let mut eng = RuleEngine::new(vec![rule]).unwrap();
    eng.observe(&ev("a", EventType::AuthFailure, 0, Some("192.0.2.1"), None));
    assert!(eng.observe(&ev("b", EventType::AuthFailure, 5, Some("192.0.2.2"), None)).is_empty());
    assert!(eng.observe(&ev("c", EventType::AuthSuccess, 6, Some("192.0.2.1"), None)).is_empty());
    let f = eng.observe(&ev("d", EventType::AuthFailure, 10, Some("::ffff:192.0.2.1"), None));
    assert_eq!(f.len(), 1, "exactly 10 s apart is inside; mapped IPv6 is the IPv4 key");
    assert_eq!(f[0].key, "192.0.2.1");
    let mut eng = RuleEngine::new(eng.rules().to_vec()).unwrap();
    eng.observe(&ev("a", EventType::AuthFailure, 0, Some("192.0.2.1"), None));
    assert!(eng.observe(&ev("b", EventType::AuthFailure, 11, Some("192.0.2.1"), None)).is_empty());
}

#[test]
fn ipv6_addresses_of_one_64_count_as_one_key_named_by_the_network() {
    let mut eng = RuleEngine::new(default_rules()).unwrap();
    let mut fired = Vec::new();
    for i in 1..=5 {
        let ip = format!("2001:db8:1:2::{i}");
        fired.extend(eng.observe(&ev(
            &format!("e{i}"),
            EventType::AuthFailure,
            i,
            Some(&ip),
            None,
        )));
    }
    assert_eq!(names(&fired), vec!["high_failure_rate"], "five addresses, one /64");
    assert_eq!(fired[0].key, "2001:db8:1:2::/64");
    assert_eq!(fired[0].event_ids, vec!["e1", "e2", "e3", "e4", "e5"]);
    let f = eng.observe(&ev("x", EventType::AuthFailure, 6, Some("2001:db8:1:3::1"), None));
    assert!(f.is_empty(), "another /64 is another key: {f:?}");
}

#[test]
fn ipv6_prefix_128_counts_each_address() {
    let mut eng = RuleEngine::with_ipv6_prefix(default_rules(), 128).unwrap();
    for i in 1..=5 {
        let ip = format!("2001:db8:1:2::{i}");
        let f = eng.observe(&ev(&format!("e{i}"), EventType::AuthFailure, i, Some(&ip), None));
        assert!(f.is_empty(), "event {i}: {f:?}");
    }
    let mut fired = Vec::new();
    for i in 6..=9 {
        let e = ev(&format!("e{i}"), EventType::AuthFailure, i, Some("2001:db8:1:2::1"), None);
        fired.extend(eng.observe(&e));
    }
    assert_eq!(names(&fired), vec!["high_failure_rate"]);
    assert_eq!(fired[0].key, "2001:db8:1:2::1");
}

#[test]
fn ip_and_user_keys_and_distinct_ips_use_the_network() {
    let pair = Rule {
        group_by: GroupBy::IpAndUser,
        ..Rule::threshold("pair", 2, 60, vec![EventType::AuthFailure], Action::Alert)
    };
    let spread = Rule {
        kind: RuleKind::DistinctCount { field: DistinctField::Ip },
        group_by: GroupBy::UserId,
        ..Rule::threshold("spread", 2, 60, vec![EventType::AuthFailure], Action::Alert)
    };
    let mut eng = RuleEngine::new(vec![pair, spread]).unwrap();
    eng.observe(&ev("a", EventType::AuthFailure, 0, Some("2001:db8:1:2::1"), Some("ann")));
    let f = eng.observe(&ev("b", EventType::AuthFailure, 1, Some("2001:db8:1:2::2"), Some("ann")));
    assert_eq!(names(&f), vec!["pair"], "two addresses of one /64 are one distinct source");
    assert_eq!(f[0].key, "2001:db8:1:2::/64|ann");
    let f = eng.observe(&ev("c", EventType::AuthFailure, 2, Some("2001:db8:9::1"), Some("ann")));
    assert_eq!(names(&f), vec!["spread"], "a second /64 is a second source");
}

#[test]
fn critical_violations_fire_on_first_attack_event() {
    let mut eng = RuleEngine::new(default_rules()).unwrap();
    let f = eng.observe(&ev("x", EventType::XssAttempt, 0, Some("198.51.100.4"), None));
    assert_eq!(names(&f), vec!["critical_violations"]);
    assert_eq!(f[0].action, Action::ImmediateBlock);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].event_ids, vec!["x"]);
    // Same key within 60 s: suppressed; after: fires again.
    assert!(eng
        .observe(&ev("y", EventType::SqlInjectionAttempt, 60, Some("198.51.100.4"), None))
        .is_empty());
    assert_eq!(
        eng.observe(&ev("z", EventType::SqlInjectionAttempt, 61, Some("198.51.100.4"), None)).len(),
        1
    );
    // No IP: an IP-grouped rule cannot apply.
    assert!(eng.observe(&ev("n", EventType::XssAttempt, 0, None, Some("u"))).is_empty());
}

#[test]
fn dry_run_filter_disabled_and_group_keys() {
    let base = Rule::threshold("login", 2, 60, vec![EventType::AuthFailure], Action::LockAccount);
    let rules = vec![
        Rule {
            dry_run: true,
            group_by: GroupBy::IpAndUser,
            filter: Some(RuleFilter { request_url_prefix: Some("/api/login".into()) }),
            ..base.clone()
        },
        Rule { name: "off".into(), enabled: false, threshold: 1, ..base.clone() },
        Rule { name: "session".into(), group_by: GroupBy::SessionId, threshold: 1, ..base },
    ];
    let mut eng = RuleEngine::new(rules).unwrap();
    let mk = |id: &str, url: &str, t| {
        let mut e = ev(id, EventType::AuthFailure, t, Some("192.0.2.9"), Some("alice"));
        e.request_url = Some(url.into());
        e
    };
    assert!(eng.observe(&mk("a", "/api/login?x=1", 0)).is_empty());
    assert!(eng.observe(&mk("b", "/other", 1)).is_empty(), "filtered out");
    let f = eng.observe(&mk("c", "/api/login", 2));
    assert_eq!(names(&f), vec!["login"]);
    assert!(f[0].dry_run);
    assert_eq!(f[0].key, "192.0.2.9|alice");
    assert_eq!(f[0].event_ids, vec!["a", "c"]);
    let mut s = mk("d", "/x", 3);
    s.session_id = Some("h(s1)".into());
    let f = eng.observe(&s);
    assert_eq!(names(&f), vec!["session"]);
    assert_eq!(f[0].key, "h(s1)");
    assert_eq!(eng.rules().len(), 3);
}

#[test]
fn expire_idle_drops_only_states_that_cannot_matter() {
    let mut eng = RuleEngine::new(default_rules()).unwrap();
    for i in 0..100u32 {
        let ip = IpAddr::from((0xc000_0200u32 + i).to_be_bytes()).to_string();
        let e = ev(&format!("e{i}"), EventType::AuthFailure, i64::from(i), Some(&ip), Some("u"));
        eng.observe(&e);
    }
    // high_failure_rate keeps one state per IP, account_takeover one for the user.
    assert_eq!(eng.key_count(), 101);
    assert_eq!(eng.expire_idle(at(300)), 0, "all within 300 s still");
    // At 400 s the high_failure_rate states of IPs last seen before 100 s are idle.
    assert_eq!(eng.expire_idle(at(400)), 100);
    assert_eq!(eng.key_count(), 1, "account_takeover (600 s) remains");
    assert_eq!(eng.expire_idle(at(10_000)), 1);
    assert_eq!(eng.key_count(), 0);
}

#[test]
fn expire_idle_some_does_bounded_work_and_goes_on_where_it_stopped() {
    let mut eng = RuleEngine::new(default_rules()).unwrap();
    for i in 0..100u32 {
        let ip = IpAddr::from((0xc000_0200u32 + i).to_be_bytes()).to_string();
        let e = ev(&format!("e{i}"), EventType::AuthFailure, 0, Some(&ip), Some("u"));
        eng.observe(&e);
    }
    assert_eq!(eng.key_count(), 101);
    // Every high_failure_rate state is idle at 400 s; at most 30 keys are looked at per call.
    assert_eq!(eng.expire_idle_some(at(400), 30), 30);
    assert_eq!(eng.key_count(), 71);
    assert_eq!(eng.expire_idle_some(at(400), 30), 30);
    assert_eq!(eng.expire_idle_some(at(400), 30), 30);
    assert_eq!(eng.expire_idle_some(at(400), 30), 10, "then the user's state, still live");
    assert_eq!(eng.key_count(), 1);
    let mut forgotten = 0;
    for _ in 0..5 {
        forgotten += eng.expire_idle_some(at(10_000), 30);
    }
    assert_eq!((forgotten, eng.key_count()), (1, 0), "the sweep wrapped around");
}

#[test]
fn slightly_out_of_order_events_are_placed_by_time() {
    let rule = Rule::threshold("r", 3, 10, vec![EventType::AuthFailure], Action::Alert);
    let mut eng = RuleEngine::new(vec![rule]).unwrap();
    let ip = Some("192.0.2.1");
    eng.observe(&ev("a", EventType::AuthFailure, 100, ip, None));
    eng.observe(&ev("c", EventType::AuthFailure, 108, ip, None));
    let f = eng.observe(&ev("b", EventType::AuthFailure, 104, ip, None));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].event_ids, vec!["a", "b", "c"], "contributing events in time order");
}

#[test]
fn credential_stuffing_and_account_takeover_defaults() {
    let mut rules = default_rules();
    for r in &mut rules {
        r.enabled = true; // credential_stuffing is off by default
    }
    let mut eng = RuleEngine::new(rules).unwrap();
    let ip = Some("203.0.113.50");
    let mut fired = Vec::new();
    for i in 0..10 {
        let user = format!("user{i}");
        // Spread over 10 minutes so that high_failure_rate (5 in 300 s) fires too.
        fired.extend(eng.observe(&ev(
            &format!("s{i}"),
            EventType::AuthFailure,
            i * 60,
            ip,
            Some(&user),
        )));
    }
    let cs: Vec<_> = fired.iter().filter(|f| f.rule == "credential_stuffing").collect();
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].at, at(540));
    assert_eq!(cs[0].event_ids.len(), 10);

    let mut eng = RuleEngine::new(default_rules()).unwrap();
    for i in 0..5 {
        let ip = format!("198.51.100.{i}");
        eng.observe(&ev(&format!("f{i}"), EventType::AuthFailure, i * 10, Some(&ip), Some("bob")));
    }
    let f = eng.observe(&ev("ok", EventType::AuthSuccess, 100, Some("198.51.100.99"), Some("bob")));
    assert_eq!(names(&f), vec!["account_takeover"]);
    assert_eq!(f[0].key, "bob");
    assert_eq!(f[0].event_ids, vec!["f0", "f1", "f2", "f3", "f4", "ok"]);
}

// ---- property tests against naive oracles ----

#[derive(Debug, Clone)]
struct Ev {
    t: i64,
    key: u8,
    user: u8,
    counted: bool,
}

fn arb_stream() -> impl Strategy<Value = Vec<Ev>> {
    prop::collection::vec((0i64..120, 0u8..3, 0u8..5, prop::bool::weighted(0.8)), 0..80).prop_map(
        |v| {
            let mut t = 0;
            v.into_iter()
                .map(|(dt, key, user, counted)| {
                    // Many ties and short gaps, some long gaps.
                    t += if dt > 100 { dt * 5 } else { dt / 4 };
                    Ev { t, key, user, counted }
                })
                .collect()
        },
    )
}

fn id(i: usize) -> String {
    if i % 2 == 0 {
        format!("{:08x}-0000-4000-8000-{:012x}", i, i * 7)
    } else {
        format!("ev-{i}")
    }
}

fn to_event(i: usize, e: &Ev, success: EventType) -> SecurityEvent {
    let ty = if e.counted { EventType::AuthFailure } else { success };
    ev(&id(i), ty, e.t, Some(&format!("10.0.0.{}", e.key)), Some(&format!("u{}", e.user)))
}

type Fired = Vec<(usize, String, Vec<String>)>;

fn run_engine(rule: Rule, stream: &[Ev], success: EventType) -> Fired {
    let mut eng = RuleEngine::new(vec![rule]).unwrap();
    let mut out = Vec::new();
    for (i, e) in stream.iter().enumerate() {
        for f in eng.observe(&to_event(i, e, success)) {
            out.push((i, f.key, f.event_ids));
        }
    }
    out
}

/// Suppression shared by the oracles: no firing for a key within `w` after its last one.
fn suppressed(last: &HashMap<u8, i64>, key: u8, t: i64, w: i64) -> bool {
    last.get(&key).is_some_and(|&f| t <= f + w)
}

fn threshold_oracle(stream: &[Ev], n: usize, w: i64) -> Fired {
    let mut last = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in stream.iter().enumerate() {
        if !e.counted {
            continue;
        }
        let in_window: Vec<usize> = (0..=i)
            .filter(|&j| stream[j].counted && stream[j].key == e.key && stream[j].t >= e.t - w)
            .collect();
        if in_window.len() >= n && !suppressed(&last, e.key, e.t, w) {
            last.insert(e.key, e.t);
            let ids = in_window[in_window.len() - n..].iter().map(|&j| id(j)).collect();
            out.push((i, format!("10.0.0.{}", e.key), ids));
        }
    }
    out
}

fn distinct_oracle(stream: &[Ev], n: usize, w: i64) -> Fired {
    let mut last = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in stream.iter().enumerate() {
        if !e.counted {
            continue;
        }
        // Latest event per distinct user of this key within the window.
        let mut latest: HashMap<u8, usize> = HashMap::new();
        for (j, o) in stream.iter().enumerate().take(i + 1) {
            if o.counted && o.key == e.key && o.t >= e.t - w {
                latest.insert(o.user, j);
            }
        }
        if latest.len() >= n && !suppressed(&last, e.key, e.t, w) {
            last.insert(e.key, e.t);
            let mut js: Vec<usize> = latest.into_values().collect();
            js.sort_unstable();
            let ids = js[js.len() - n..].iter().map(|&j| id(j)).collect();
            out.push((i, format!("10.0.0.{}", e.key), ids));
        }
    }
    out
}

fn sequence_oracle(stream: &[Ev], n: usize, w: i64) -> Fired {
    let mut last = HashMap::new();
    let mut prev_success: HashMap<u8, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in stream.iter().enumerate() {
        if e.counted {
            continue;
        }
        let from = prev_success.get(&e.key).map_or(0, |&p| p + 1);
        let fails: Vec<usize> = (from..i)
            .filter(|&j| stream[j].counted && stream[j].key == e.key && stream[j].t >= e.t - w)
            .collect();
        prev_success.insert(e.key, i);
        if fails.len() >= n && !suppressed(&last, e.key, e.t, w) {
            last.insert(e.key, e.t);
            let mut ids: Vec<String> = fails[fails.len() - n..].iter().map(|&j| id(j)).collect();
            ids.push(id(i));
            out.push((i, format!("10.0.0.{}", e.key), ids));
        }
    }
    out
}

/// An event of the mixed-family stream: IPv6 addresses from a few /64s, and IPv4 addresses.
#[derive(Debug, Clone)]
struct IpEv {
    t: i64,
    ip: IpAddr,
    counted: bool,
}

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    // Three /64s, two of them in one /48, with few and many hosts; and three IPv4 addresses.
    let nets = ["2001:db8:a:0", "2001:db8:a:1", "2001:db8:b:7"];
    prop_oneof![
        (0usize..3, 0u64..4).prop_map(move |(n, h)| format!("{}::{h}", nets[n])),
        (0usize..3, any::<u64>()).prop_map(move |(n, h)| {
            let h = h.to_be_bytes();
            let g = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
            format!("{}:{:x}:{:x}:{:x}:{:x}", nets[n], g(0), g(2), g(4), g(6))
        }),
        (0u8..3).prop_map(|k| format!("10.0.0.{k}")),
    ]
    .prop_map(|s| s.parse().unwrap())
}

fn arb_ip_stream() -> impl Strategy<Value = Vec<IpEv>> {
    prop::collection::vec((0i64..120, arb_ip(), prop::bool::weighted(0.8)), 0..80).prop_map(|v| {
        let mut t = 0;
        v.into_iter()
            .map(|(dt, ip, counted)| {
                t += if dt > 100 { dt * 5 } else { dt / 4 };
                IpEv { t, ip, counted }
            })
            .collect()
    })
}

/// The naive key: IPv4 as the address; IPv6 as its `/prefix` network in CIDR form, or the
/// address at 128.
fn prefix_key(ip: IpAddr, prefix: u8) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) if prefix >= 128 => a.to_string(),
        IpAddr::V6(a) => ipnet::Ipv6Net::new(a, prefix).unwrap().trunc().to_string(),
    }
}

/// [`threshold_oracle`] over the keys `prefix_key` gives.
fn prefix_threshold_oracle(stream: &[IpEv], prefix: u8, n: usize, w: i64) -> Fired {
    let keys: Vec<String> = stream.iter().map(|e| prefix_key(e.ip, prefix)).collect();
    let mut last: HashMap<&str, i64> = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in stream.iter().enumerate() {
        if !e.counted {
            continue;
        }
        let key = keys[i].as_str();
        let in_window: Vec<usize> = (0..=i)
            .filter(|&j| stream[j].counted && keys[j] == key && stream[j].t >= e.t - w)
            .collect();
        let suppressed = last.get(key).is_some_and(|&f| e.t <= f + w);
        if in_window.len() >= n && !suppressed {
            last.insert(key, e.t);
            let ids = in_window[in_window.len() - n..].iter().map(|&j| id(j)).collect();
            out.push((i, key.to_string(), ids));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// IPv6 addresses count as their network of the engine's prefix, IPv4 per address.
    #[test]
    fn threshold_by_ipv6_prefix_matches_oracle(
        stream in arb_ip_stream(),
        prefix in prop::sample::select(vec![0u8, 48, 56, 64, 100, 128]),
        n in 1u32..8,
        w in 1u64..600,
    ) {
        let rule = Rule::threshold("r", n, w, vec![EventType::AuthFailure], Action::Alert);
        let mut eng = RuleEngine::with_ipv6_prefix(vec![rule], prefix).unwrap();
        let mut got = Vec::new();
        for (i, e) in stream.iter().enumerate() {
            let ty = if e.counted { EventType::AuthFailure } else { EventType::AuthSuccess };
            let mut x = SecurityEvent::new(id(i), ty, at(e.t));
            x.ip_address = Some(e.ip);
            for f in eng.observe(&x) {
                got.push((i, f.key, f.event_ids));
            }
        }
        prop_assert_eq!(got, prefix_threshold_oracle(&stream, prefix, n as usize, w as i64));
    }

    #[test]
    fn threshold_matches_oracle(stream in arb_stream(), n in 1u32..8, w in 1u64..600) {
        let rule = Rule::threshold("r", n, w, vec![EventType::AuthFailure], Action::Alert);
        let got = run_engine(rule, &stream, EventType::AuthSuccess);
        prop_assert_eq!(got, threshold_oracle(&stream, n as usize, w as i64));
    }

    #[test]
    fn distinct_count_matches_oracle(stream in arb_stream(), n in 1u32..6, w in 1u64..600) {
        let rule = Rule {
            kind: RuleKind::DistinctCount { field: DistinctField::UserId },
            ..Rule::threshold("d", n, w, vec![EventType::AuthFailure], Action::Alert)
        };
        let got = run_engine(rule, &stream, EventType::AuthSuccess);
        prop_assert_eq!(got, distinct_oracle(&stream, n as usize, w as i64));
    }

    #[test]
    fn sequence_matches_oracle(stream in arb_stream(), n in 1u32..8, w in 1u64..600) {
        let rule = Rule {
            kind: RuleKind::Sequence { success_type: EventType::AuthSuccess },
            ..Rule::threshold("s", n, w, vec![EventType::AuthFailure], Action::Alert)
        };
        let got = run_engine(rule, &stream, EventType::AuthSuccess);
        prop_assert_eq!(got, sequence_oracle(&stream, n as usize, w as i64));
    }

    #[test]
    fn expiry_never_changes_firings(stream in arb_stream(), n in 1u32..8, w in 1u64..600) {
        let rule = Rule::threshold("r", n, w, vec![EventType::AuthFailure], Action::Alert);
        let mut a = RuleEngine::new(vec![rule.clone()]).unwrap();
        let mut b = RuleEngine::new(vec![rule]).unwrap();
        for (i, e) in stream.iter().enumerate() {
            let x = to_event(i, e, EventType::AuthSuccess);
            b.expire_idle(x.timestamp);
            prop_assert_eq!(a.observe(&x), b.observe(&x));
        }
        prop_assert!(b.key_count() <= a.key_count());
    }

    /// Expiring a slice at a time never changes what fires, and once the slices have swept
    /// every key the engine tracks exactly what one full `expire_idle` leaves.
    #[test]
    fn sliced_expiry_never_changes_firings(
        stream in arb_stream(), n in 1u32..8, w in 1u64..600, budget in 1usize..16,
    ) {
        let rule = Rule::threshold("r", n, w, vec![EventType::AuthFailure], Action::Alert);
        let user = Rule { group_by: GroupBy::UserId, ..Rule::threshold("u", n, w, vec![EventType::AuthFailure], Action::Alert) };
        let mut a = RuleEngine::new(vec![rule.clone(), user.clone()]).unwrap();
        let mut b = RuleEngine::new(vec![rule, user]).unwrap();
        let mut last = None;
        for (i, e) in stream.iter().enumerate() {
            let x = to_event(i, e, EventType::AuthSuccess);
            b.expire_idle_some(x.timestamp, budget);
            prop_assert_eq!(a.observe(&x), b.observe(&x));
            last = Some(x.timestamp);
        }
        if let Some(t) = last {
            let later = t + time::Duration::seconds(3 * w as i64);
            let sweeps = (b.key_count() / budget + 4) * 2;
            for _ in 0..sweeps {
                b.expire_idle_some(later, budget);
            }
            a.expire_idle(later);
            prop_assert_eq!(b.key_count(), a.key_count());
        }
    }
}
