//! Tests of the block list (its layers, compaction and pruning).

use super::*;
use crate::monitor::decision::DecisionType;
use time::Duration;

const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

fn dec(id: &str, scope: Scope, value: &str, until: Option<i64>) -> Decision {
    Decision {
        id: id.into(),
        scope,
        value: value.into(),
        kind: DecisionType::Ban,
        origin: "manual".into(),
        reason: "test".into(),
        created_at: T0,
        until: until.map(|s| T0 + Duration::seconds(s)),
        deleted_at: None,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn ip_blocks_expire_and_mapped_addresses_match() {
    let bl = BlockList::new();
    bl.insert(dec("a", Scope::Ip, "203.0.113.9", Some(100))).unwrap();
    let at = |s| T0 + Duration::seconds(s);
    assert_eq!(bl.check_ip(ip("203.0.113.9"), at(10)).unwrap().decision.id, "a");
    assert!(bl.check_ip(ip("::ffff:203.0.113.9"), at(10)).is_some());
    assert!(bl.check_ip(ip("203.0.113.10"), at(10)).is_none());
    assert!(bl.check_ip(ip("203.0.113.9"), at(100)).is_none(), "ends at until");
    assert_eq!(bl.active(at(10)).len(), 1);
    assert_eq!(bl.active(at(100)).len(), 0);
    assert_eq!(bl.prune(at(100)), 1);
    assert!(bl.is_empty());
}

#[test]
fn allowlist_wins_and_ranges_block() {
    let bl = BlockList::with_allowlist(IpSet::parse(["10.0.0.0/8"]).unwrap());
    bl.apply(&[
        dec("r", Scope::Range, "2001:db8::/64", None),
        dec("r4", Scope::Range, "10.1.0.0/16", None),
        dec("x", Scope::Ip, "10.1.2.3", None),
    ])
    .unwrap();
    assert!(bl.check_ip(ip("10.1.2.3"), T0).is_none(), "allowlisted");
    assert!(bl.is_allowlisted(ip("10.9.9.9")));
    assert_eq!(bl.check_ip(ip("2001:db8::77"), T0).unwrap().decision.id, "r");
    assert!(bl.check_ip(ip("2001:db8:0:1::1"), T0).is_none());
}

#[test]
fn overlapping_ranges_take_the_longest() {
    let bl = BlockList::new();
    bl.apply(&[
        dec("short", Scope::Range, "192.0.2.0/24", Some(10)),
        dec("long", Scope::Range, "192.0.2.128/25", Some(1000)),
    ])
    .unwrap();
    let at = |s| T0 + Duration::seconds(s);
    assert_eq!(bl.check_ip(ip("192.0.2.1"), at(5)).unwrap().decision.id, "short");
    assert_eq!(bl.check_ip(ip("192.0.2.200"), at(5)).unwrap().decision.id, "long");
    assert!(bl.check_ip(ip("192.0.2.1"), at(20)).is_none());
    assert_eq!(bl.check_ip(ip("192.0.2.200"), at(20)).unwrap().decision.id, "long");
    assert_eq!(bl.remove("long").unwrap().id, "long");
    assert!(bl.check_ip(ip("192.0.2.200"), at(5)).is_some(), "short still covers it");
    assert!(bl.remove("nope").is_none());
}

#[test]
fn users_apply_replace_and_lift() {
    let bl = BlockList::new();
    bl.insert(dec("u", Scope::User, "alice", Some(50))).unwrap();
    assert!(bl.check_user("alice", T0).is_some());
    assert!(bl.check_user("bob", T0).is_none());
    bl.insert(dec("u", Scope::User, "alice", None)).unwrap();
    assert_eq!(bl.len(), 1, "same id replaces");
    assert_eq!(bl.check_user("alice", T0 + Duration::days(9)).unwrap().until(), None);
    let lift = Decision { deleted_at: Some(T0), ..dec("u", Scope::User, "alice", None) };
    bl.apply(&[lift]).unwrap();
    assert!(bl.check_user("alice", T0).is_none());
    let bad = bl.apply(&[dec("b", Scope::Range, "10.0.0.0/40", None)]).unwrap_err();
    assert!(bad.to_string().contains("10.0.0.0/40"));
    assert!(bl.is_empty(), "nothing applied on error");
}

#[test]
fn is_sync_and_shared_across_threads() {
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<BlockList>();
    let bl = Arc::new(BlockList::new());
    let w = bl.clone();
    std::thread::scope(|s| {
        s.spawn(move || {
            for i in 0..50 {
                w.insert(dec(&format!("d{i}"), Scope::Ip, &format!("198.51.100.{i}"), None))
                    .unwrap();
            }
        });
        s.spawn(|| {
            for _ in 0..1000 {
                let _ = bl.check_ip(ip("198.51.100.1"), T0);
            }
        });
    });
    assert_eq!(bl.len(), 50);
    assert!(bl.check_ip(ip("198.51.100.49"), T0).is_some());
}

#[test]
fn many_new_decisions_stay_visible_across_layer_merges() {
    let list = BlockList::new();
    for i in 0..(3 * RECENT_MAX + 7) {
        let ip = format!("10.{}.{}.1", i / 256, i % 256);
        list.insert_new(dec(&format!("d{i}"), Scope::Ip, &ip, Some(600))).unwrap();
    }
    assert_eq!(list.len(), 3 * RECENT_MAX + 7);
    for i in 0..(3 * RECENT_MAX + 7) {
        let ip: IpAddr = format!("10.{}.{}.1", i / 256, i % 256).parse().unwrap();
        assert!(list.check_ip(ip, T0).is_some(), "{ip}");
    }
    // A longer ban in the recent layer wins over a shorter one in the base.
    list.insert_new(dec("long", Scope::Ip, "10.0.0.1", Some(6000))).unwrap();
    let hit = list.check_ip("10.0.0.1".parse().unwrap(), T0 + Duration::seconds(1000));
    assert_eq!(hit.unwrap().decision.id, "long");
    assert!(list.remove("d5").is_some());
    assert!(list.check_ip("10.0.5.1".parse().unwrap(), T0).is_none());
    assert_eq!(list.prune(T0 + Duration::seconds(601)), 3 * RECENT_MAX + 6);
    assert_eq!(list.len(), 1);
}

fn ip_of(i: usize) -> IpAddr {
    format!("10.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256).parse().unwrap()
}

#[test]
fn frozen_layers_merge_in_compaction_and_inline_when_it_falls_behind() {
    let list = BlockList::new();
    let n = (MAX_FROZEN + 3) * RECENT_MAX + 5; // more than compaction-free capacity
    for i in 0..n {
        list.insert_new(dec(&format!("d{i}"), Scope::Ip, &ip_of(i).to_string(), None)).unwrap();
        if i == 3 * RECENT_MAX {
            assert!(list.needs_compaction(), "a full recent layer was frozen");
            assert!(list.compact());
            assert!(!list.needs_compaction());
            assert!(!list.compact(), "nothing left to merge");
        }
    }
    assert_eq!(list.len(), n);
    assert!(list.snap.load().frozen.len() <= MAX_FROZEN);
    for i in 0..n {
        assert!(list.check_ip(ip_of(i), T0).is_some(), "{}", ip_of(i));
    }
    list.compact();
    assert_eq!(list.len(), n);
    assert!((0..n).all(|i| list.check_ip(ip_of(i), T0).is_some()));
    assert!(list.check_ip(ip_of(n), T0).is_none());
}

#[test]
fn compaction_racing_inserts_loses_nothing() {
    let list = Arc::new(BlockList::new());
    let n = 12 * RECENT_MAX;
    let inserter = {
        let list = list.clone();
        std::thread::spawn(move || {
            for i in 0..n {
                let d = dec(&format!("d{i}"), Scope::User, &format!("u{i}"), None);
                list.insert_new(d).unwrap();
            }
        })
    };
    let mut merges = 0;
    while !inserter.is_finished() {
        merges += usize::from(list.compact());
    }
    inserter.join().unwrap();
    list.compact();
    assert_eq!(list.len(), n, "after {merges} concurrent merges");
    assert!((0..n).all(|i| list.check_user(&format!("u{i}"), T0).is_some()));
}

#[test]
fn requested_prune_happens_in_compaction() {
    let list = BlockList::new();
    list.insert_new(dec("a", Scope::Ip, "10.0.0.1", Some(60))).unwrap();
    list.insert_new(dec("b", Scope::Ip, "10.0.0.2", None)).unwrap();
    assert!(!list.needs_compaction());
    list.request_prune(T0 + Duration::seconds(30));
    assert!(list.needs_compaction());
    assert!(!list.compact(), "nothing had ended at 30 s");
    assert_eq!(list.len(), 2);
    list.request_prune(T0 + Duration::seconds(61));
    assert_eq!(list.len(), 2, "requesting costs nothing until compaction");
    assert!(list.compact());
    assert_eq!(list.len(), 1);
    assert!(!list.needs_compaction());
    assert!(list.check_ip("10.0.0.2".parse().unwrap(), T0).is_some());
}

/// The eager lookup `check_ip` had before the lazy clock (reads `now` up front), over every
/// layer.
fn check_ip_reference(bl: &BlockList, ip: IpAddr, now: OffsetDateTime) -> Option<BlockInfo> {
    let layers = bl.snap.load();
    let ip = ip.to_canonical();
    if layers.base.allow.contains(ip) {
        return None;
    }
    let lookup = |snap: &Snapshot| -> Option<Arc<Decision>> {
        let exact = snap.ips.get(&ip).filter(|d| d.is_active(now)).cloned();
        if exact.is_some() || snap.ranges.is_empty() {
            return exact;
        }
        snap.range_lookup(ip_to_u128(ip)).filter(|d| d.is_active(now)).cloned()
    };
    let mut best: Option<Arc<Decision>> = None;
    for snap in layers.layers() {
        let hit = lookup(snap);
        best = pick(best.as_ref(), hit.as_ref(), now);
    }
    best.map(|decision| BlockInfo { decision })
}

#[test]
fn a_miss_reads_no_clock() {
    let bl = BlockList::new();
    let never = || -> OffsetDateTime { panic!("clock read on a miss") };
    assert!(bl.check_ip_with(ip("192.0.2.1"), never).is_none());
    assert!(bl.check_user_with("alice", never).is_none());
    bl.insert(dec("a", Scope::Ip, "192.0.2.9", None)).unwrap();
    bl.insert_new(dec("u", Scope::User, "bob", None)).unwrap();
    assert!(bl.check_ip_with(ip("192.0.2.1"), never).is_none());
    assert!(bl.check_user_with("alice", never).is_none());
    assert!(bl.check_ip_with(ip("192.0.2.9"), || T0).is_some());
    assert!(bl.check_user_with("bob", || T0).is_some());
}

#[test]
fn the_empty_list_shortcut_follows_every_write() {
    let bl = BlockList::with_allowlist(IpSet::parse(["10.0.0.0/8"]).unwrap());
    assert!(!bl.may_hold(), "an allowlist is no decision");
    bl.insert_new(dec("a", Scope::Ip, "192.0.2.9", None)).unwrap();
    assert!(bl.may_hold());
    assert!(bl.check_ip(ip("192.0.2.9"), T0).is_some());
    assert!(bl.remove("a").is_some());
    assert!(!bl.may_hold());
    bl.insert(dec("u", Scope::User, "bob", Some(10))).unwrap();
    assert!(bl.check_user("bob", T0).is_some());
    assert_eq!(bl.prune(T0 + Duration::seconds(10)), 1);
    assert!(!bl.may_hold());
    bl.apply(&[dec("r", Scope::Range, "2001:db8::/64", None)]).unwrap();
    assert!(bl.check_ip(ip("2001:db8::1"), T0).is_some());
    let mut lifted = dec("r", Scope::Range, "2001:db8::/64", None);
    lifted.deleted_at = Some(T0);
    bl.apply(&[lifted]).unwrap();
    assert!(!bl.may_hold());
    bl.request_prune(T0);
    bl.insert_new(dec("e", Scope::Ip, "192.0.2.1", Some(5))).unwrap();
    bl.request_prune(T0 + Duration::seconds(5));
    assert!(bl.compact());
    assert!(!bl.may_hold(), "pruned in compaction");
}

#[test]
fn the_empty_list_shortcut_survives_racing_writers() {
    let list = Arc::new(BlockList::new());
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let list = list.clone();
            std::thread::spawn(move || {
                for i in 0..300 {
                    let id = format!("t{t}-{i}");
                    list.insert_new(dec(&id, Scope::Ip, &format!("192.0.2.{t}"), None)).unwrap();
                    if i % 3 != 0 {
                        list.remove(&id);
                    }
                }
            })
        })
        .collect();
    while writers.iter().any(|w| !w.is_finished()) {
        list.compact();
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(list.len(), 4 * 100);
    assert!(list.may_hold());
    assert!((0..4).all(|t| list.check_ip(ip(&format!("192.0.2.{t}")), T0).is_some()));
    for t in 0..4 {
        for i in (0..300).step_by(3) {
            list.remove(&format!("t{t}-{i}"));
        }
    }
    assert!(list.is_empty());
    assert!(!list.may_hold());
}

proptest::proptest! {
    /// The lazy lookup answers as the eager one, for decisions in the base, frozen and recent
    /// layers, exact and range, expired and active, with an allowlist.
    #[test]
    fn lazy_check_matches_the_eager_one(
        base in proptest::collection::vec((0u8..16, proptest::option::of(0u8..4), proptest::option::of(1i64..100)), 0..8),
        recent in proptest::collection::vec((0u8..16, proptest::option::of(0u8..4), proptest::option::of(1i64..100)), 0..8),
        filler in 0usize..(3 * RECENT_MAX),
        allow_last in proptest::bool::ANY,
        probe in 0u8..16,
        at in 0i64..120,
    ) {
        let allow = if allow_last { IpSet::parse(["192.0.2.15/32"]).unwrap() } else { IpSet::default() };
        let bl = BlockList::with_allowlist(allow);
        let to_dec = |(i, (host, prefix, until)): (usize, &(u8, Option<u8>, Option<i64>)), layer: &str| {
            let id = format!("{layer}{i}");
            match prefix {
                None => dec(&id, Scope::Ip, &format!("192.0.2.{host}"), *until),
                Some(p) => dec(&id, Scope::Range, &format!("192.0.2.{}/{}", host & !((1 << p) - 1), 32 - p), *until),
            }
        };
        let base: Vec<Decision> = base.iter().enumerate().map(|d| to_dec(d, "b")).collect();
        bl.apply(&base).unwrap();
        for d in recent.iter().enumerate() {
            bl.insert_new(to_dec(d, "r")).unwrap();
            // Other addresses in between, so the decisions spread over frozen layers.
            for j in 0..filler / 8 {
                let other = format!("10.9.{}.{}", (d.0 * 64 + j) / 256, (d.0 * 64 + j) % 256);
                bl.insert_new(dec(&format!("f{}-{j}", d.0), Scope::Ip, &other, None)).unwrap();
            }
        }
        let now = T0 + Duration::seconds(at);
        let addr = ip(&format!("192.0.2.{probe}"));
        proptest::prop_assert_eq!(bl.check_ip_with(addr, || now), check_ip_reference(&bl, addr, now));
    }
}

proptest::proptest! {
    /// `apply` matches the naive definition: for each given decision in turn, drop the held
    /// one with its id, then hold it unless it is a deletion.
    #[test]
    fn apply_matches_sequential_replace(
        held in proptest::collection::vec((0u8..12, 0u32..1000), 0..20),
        given in proptest::collection::vec((0u8..12, 0u32..1000, proptest::bool::ANY), 0..20),
    ) {
        let mk = |id: u8, until: u32, deleted: bool| Decision {
            deleted_at: deleted.then_some(T0),
            ..dec(&format!("d{id}"), Scope::Ip, &format!("192.0.2.{id}"), Some(i64::from(until)))
        };
        let bl = BlockList::new();
        let held: Vec<Decision> = held.iter().map(|&(i, u)| mk(i, u, false)).collect();
        bl.apply(&held).unwrap();
        let given: Vec<Decision> = given.iter().map(|&(i, u, del)| mk(i, u, del)).collect();
        let mut oracle: Vec<(String, Option<OffsetDateTime>)> =
            bl.snap.load().all().map(|d| (d.id.clone(), d.until)).collect();
        for d in &given {
            oracle.retain(|(id, _)| *id != d.id);
            if d.deleted_at.is_none() {
                oracle.push((d.id.clone(), d.until));
            }
        }
        bl.apply(&given).unwrap();
        let got: Vec<(String, Option<OffsetDateTime>)> =
            bl.snap.load().all().map(|d| (d.id.clone(), d.until)).collect();
        proptest::prop_assert_eq!(got, oracle);
    }
}
