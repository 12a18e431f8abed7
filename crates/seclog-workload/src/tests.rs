#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;

fn small(seed: u64) -> Params {
    Params { events: 20_000, ips: 2_000, seed, ..Params::default() }
}

#[test]
fn default_start_is_the_documented_instant() {
    assert_eq!(parse_start("2026-11-20T00:00:00Z").unwrap(), Params::default().start);
    assert_eq!(parse_start("1795132800").unwrap(), 1_795_132_800);
    assert!(parse_start("20 Nov 2026").unwrap_err().to_string().contains("20 Nov 2026"));
}

#[test]
fn exact_counts_and_the_attackers_are_exactly_the_expected_set() {
    for seed in [1, 42, 2026] {
        let w = generate(&small(seed)).unwrap();
        assert_eq!(w.events.len(), 20_000, "seed {seed}");
        assert_eq!(w.attackers.len(), 100);
        let mut expected: Vec<Ipv4Addr> = w.expected.iter().map(|b| b.ip).collect();
        let mut attackers = w.attackers.clone();
        expected.sort();
        attackers.sort();
        assert_eq!(expected, attackers, "seed {seed}");
        let distinct: std::collections::HashSet<_> = w.events.iter().map(|e| e.ip).collect();
        assert_eq!(distinct.len(), 2_000);
    }
}

#[test]
fn events_are_sorted_in_range_and_public() {
    let p = small(7);
    let w = generate(&p).unwrap();
    assert!(w.events.windows(2).all(|e| e[0].ts <= e[1].ts));
    assert!(w.events.iter().all(|e| e.ts >= p.start && e.ts < p.start + p.duration));
    for e in &w.events {
        let v = u32::from(e.ip);
        assert!(!is_reserved(v) && !matches!(v & 0xFF, 0 | 255), "{}", e.ip);
    }
}

#[test]
fn the_same_seed_gives_the_same_files_and_another_seed_does_not() {
    let write = |seed| {
        let dir = tempfile::tempdir().unwrap();
        write_to(&generate(&small(seed)).unwrap(), dir.path()).unwrap();
        let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
        (read("events.jsonl"), read("auth.log"), read("expected_banned.txt"))
    };
    let a = write(5);
    assert_eq!(a, write(5));
    assert_ne!(a.0, write(6).0);
}

#[test]
fn the_three_forms_hold_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let w = generate(&small(3)).unwrap();
    let meta = write_to(&w, dir.path()).unwrap();
    assert_eq!(meta["expected_banned"], 100);
    let text = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    let (jsonl, auth, access) = (text("events.jsonl"), text("auth.log"), text("access.log"));
    assert_eq!(jsonl.lines().count(), w.events.len());
    for (((e, j), a), x) in w.events.iter().zip(jsonl.lines()).zip(auth.lines()).zip(access.lines())
    {
        let v: serde_json::Value = serde_json::from_str(j).unwrap();
        assert_eq!(v["ip_address"], e.ip.to_string());
        assert_eq!(v["user_id"], e.user.as_str());
        let ts = OffsetDateTime::parse(v["timestamp"].as_str().unwrap(), &Rfc3339).unwrap();
        assert_eq!(ts.unix_timestamp(), e.ts);
        assert!(a.contains(&format!("invalid user {} from {} port", e.user, e.ip)), "{a}");
        assert!(x.starts_with(&format!("{} - {} [", e.ip, e.user)), "{x}");
    }
    assert!(auth.starts_with("Nov 20 "), "{}", &auth[..40]);
    let banned = text("expected_banned.txt");
    assert_eq!(banned.lines().count(), 100);
    assert_eq!(text("expected_bans.tsv").lines().count(), 101);
}

#[test]
fn impossible_parameters_are_refused_with_a_reason() {
    let too_few = Params { events: 100, ..small(1) };
    assert!(generate(&too_few).unwrap_err().to_string().contains("not enough events"));
    let short = Params { duration: 600, ..small(1) };
    assert!(generate(&short).unwrap_err().to_string().contains("time range too short"));
    let thr = Params { threshold: 1, ..small(1) };
    assert!(generate(&thr).unwrap_err().to_string().contains("threshold"));
}

/// The naive oracle: an address is banned when some closed interval of `window` seconds holds
/// `threshold` of its failures, found by looking at every pair.
fn naive(events: &[Event], threshold: usize, window: i64) -> Vec<(Ipv4Addr, i64)> {
    let mut out = Vec::new();
    let mut ips: Vec<Ipv4Addr> = events.iter().map(|e| e.ip).collect();
    ips.sort();
    ips.dedup();
    for ip in ips {
        let ts: Vec<i64> = events.iter().filter(|e| e.ip == ip).map(|e| e.ts).collect();
        let first = ts.iter().enumerate().find_map(|(j, &end)| {
            let inside = ts[..=j].iter().filter(|&&t| end - t <= window).count();
            (inside >= threshold).then_some(end)
        });
        if let Some(t) = first {
            out.push((ip, t));
        }
    }
    out.sort_by_key(|&(ip, t)| (t, ip));
    out
}

proptest! {
    #[test]
    fn expected_bans_equal_the_naive_oracle(
        mut raw in proptest::collection::vec((0u8..6, 0i64..2_000), 0..120),
        threshold in 2usize..7,
        window in 1i64..400,
    ) {
        raw.sort_by_key(|&(_, t)| t);
        let events: Vec<Event> = raw
            .iter()
            .map(|&(ip, ts)| Event { ts, ip: Ipv4Addr::new(1, 2, 3, ip), user: String::new() })
            .collect();
        let got: Vec<(Ipv4Addr, i64)> = expected_bans(&events, threshold, window)
            .into_iter()
            .map(|b| (b.ip, b.first_trigger))
            .collect();
        prop_assert_eq!(got, naive(&events, threshold, window));
    }
}
