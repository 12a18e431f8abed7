//! The block list read on every request: lock-free reads of an immutable snapshot
//! (`arc_swap::ArcSwap`), writers clone the decisions, rebuild the indexes and swap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use time::OffsetDateTime;

use super::cidr::{ip_to_u128, net_range, parse_net, IpSet};
use super::decision::{Decision, DecisionError, Scope};

/// Why a check matched: the decision in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// The decision that blocks.
    pub decision: Arc<Decision>,
}

impl BlockInfo {
    /// When the block ends (`None`: permanent).
    pub fn until(&self) -> Option<OffsetDateTime> {
        self.decision.until
    }
}

/// Orders decisions by how long they last: permanent is the longest.
fn end_key(d: &Decision) -> i128 {
    d.until.map_or(i128::MAX, |u| u.unix_timestamp_nanos())
}

fn longer(a: &Arc<Decision>, b: &Arc<Decision>) -> bool {
    end_key(a) > end_key(b)
}

#[derive(Debug, Default)]
struct Snapshot {
    /// Every decision not lifted (expired ones stay until `prune`).
    decisions: Vec<Arc<Decision>>,
    /// Per address, the longest decision.
    ips: HashMap<IpAddr, Arc<Decision>>,
    /// Disjoint sorted segments, each with the longest decision covering it.
    ranges: Vec<(u128, u128, Arc<Decision>)>,
    /// Per user, the longest decision.
    users: HashMap<String, Arc<Decision>>,
    /// Never blocked.
    allow: IpSet,
}

impl Snapshot {
    /// Builds the indexes. Decisions are validated before they get here; an unparsable value
    /// is skipped.
    fn build(decisions: Vec<Arc<Decision>>, allow: IpSet) -> Snapshot {
        let mut ips: HashMap<IpAddr, Arc<Decision>> = HashMap::new();
        let mut users: HashMap<String, Arc<Decision>> = HashMap::new();
        let mut spans: Vec<(u128, u128, Arc<Decision>)> = Vec::new();
        for d in &decisions {
            match d.scope {
                Scope::Ip => {
                    if let Ok(ip) = d.value.trim().parse::<IpAddr>() {
                        let slot = ips.entry(ip.to_canonical()).or_insert_with(|| d.clone());
                        if longer(d, slot) {
                            *slot = d.clone();
                        }
                    }
                }
                Scope::Range => {
                    if let Ok(net) = parse_net(&d.value) {
                        let (a, b) = net_range(&net);
                        spans.push((a, b, d.clone()));
                    }
                }
                Scope::User => {
                    let slot = users.entry(d.value.clone()).or_insert_with(|| d.clone());
                    if longer(d, slot) {
                        *slot = d.clone();
                    }
                }
            }
        }
        Snapshot { decisions, ips, ranges: segments(&spans), users, allow }
    }

    fn range_lookup(&self, x: u128) -> Option<&Arc<Decision>> {
        let i = self.ranges.partition_point(|(a, _, _)| *a <= x);
        let (_, b, d) = self.ranges.get(i.checked_sub(1)?)?;
        (x <= *b).then_some(d)
    }
}

/// Splits possibly overlapping spans into disjoint segments, each carrying the longest decision
/// that covers it. Quadratic in the number of range decisions, which are few and rarely written.
fn segments(spans: &[(u128, u128, Arc<Decision>)]) -> Vec<(u128, u128, Arc<Decision>)> {
    let mut points: Vec<u128> = Vec::with_capacity(spans.len() * 2);
    for (a, b, _) in spans {
        points.push(*a);
        if let Some(next) = b.checked_add(1) {
            points.push(next);
        }
    }
    points.sort_unstable();
    points.dedup();
    let mut out: Vec<(u128, u128, Arc<Decision>)> = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        let end = points.get(i + 1).map_or(u128::MAX, |n| n - 1);
        let best = spans.iter().filter(|(a, b, _)| *a <= p && p <= *b).map(|(_, _, d)| d).fold(
            None::<&Arc<Decision>>,
            |acc, d| match acc {
                Some(cur) if !longer(d, cur) => Some(cur),
                _ => Some(d),
            },
        );
        if let Some(d) = best {
            match out.last_mut() {
                Some(last) if last.1.checked_add(1) == Some(p) && Arc::ptr_eq(&last.2, d) => {
                    last.1 = end;
                }
                _ => out.push((p, end, d.clone())),
            }
        }
    }
    out
}

/// Two layers: a large `base`, rebuilt rarely, and a small `recent` layer that takes new
/// decisions, so that adding a ban costs O(recent) instead of O(all bans); when `recent` is
/// full both are merged into a new base (amortised O(all / RECENT_MAX) per ban).
#[derive(Debug, Default)]
struct Layers {
    base: Arc<Snapshot>,
    recent: Arc<Snapshot>,
}

/// Most decisions in the recent layer before it is merged into the base.
const RECENT_MAX: usize = 256;

impl Layers {
    fn all(&self) -> impl Iterator<Item = &Arc<Decision>> {
        self.base.decisions.iter().chain(self.recent.decisions.iter())
    }
}

/// The active one of two candidate decisions that lasts longest.
fn pick(
    a: Option<&Arc<Decision>>,
    b: Option<&Arc<Decision>>,
    now: OffsetDateTime,
) -> Option<Arc<Decision>> {
    let a = a.filter(|d| d.is_active(now));
    let b = b.filter(|d| d.is_active(now));
    match (a, b) {
        (Some(x), Some(y)) => Some(if longer(y, x) { y.clone() } else { x.clone() }),
        (x, y) => x.or(y).cloned(),
    }
}

/// Active blocks by IP, range and user, plus the allowlist. `Sync`; reads take no lock.
#[derive(Debug, Default)]
pub struct BlockList {
    snap: ArcSwap<Layers>,
}

impl BlockList {
    /// An empty list with no allowlist.
    pub fn new() -> Self {
        BlockList::default()
    }

    /// An empty list with an allowlist (addresses never blocked).
    pub fn with_allowlist(allow: IpSet) -> Self {
        let list = BlockList::new();
        list.set_allowlist(allow);
        list
    }

    /// Rebuilds everything into one base layer from `f(all decisions, allowlist)`.
    fn update(&self, mut f: impl FnMut(&[Arc<Decision>], &IpSet) -> (Vec<Arc<Decision>>, IpSet)) {
        self.snap.rcu(|cur| {
            let all: Vec<Arc<Decision>> = cur.all().cloned().collect();
            let (decisions, allow) = f(&all, &cur.base.allow);
            let recent = Snapshot::build(Vec::new(), allow.clone());
            Arc::new(Layers {
                base: Arc::new(Snapshot::build(decisions, allow)),
                recent: Arc::new(recent),
            })
        });
    }

    /// Replaces the allowlist.
    pub fn set_allowlist(&self, allow: IpSet) {
        self.update(|all, _| (all.to_vec(), allow.clone()));
    }

    /// Adds a decision whose id is new (as the rule engine's are): only the small recent layer
    /// is rebuilt, so the block is visible within microseconds however many bans are held.
    pub fn insert_new(&self, decision: Decision) -> Result<(), DecisionError> {
        decision.validate()?;
        let d = Arc::new(decision);
        self.snap.rcu(|cur| {
            if cur.recent.decisions.len() < RECENT_MAX {
                let mut recent = cur.recent.decisions.clone();
                recent.push(d.clone());
                Arc::new(Layers {
                    base: cur.base.clone(),
                    recent: Arc::new(Snapshot::build(recent, cur.base.allow.clone())),
                })
            } else {
                let mut all: Vec<Arc<Decision>> = cur.all().cloned().collect();
                all.push(d.clone());
                let allow = cur.base.allow.clone();
                Arc::new(Layers {
                    base: Arc::new(Snapshot::build(all, allow.clone())),
                    recent: Arc::new(Snapshot::build(Vec::new(), allow)),
                })
            }
        });
        Ok(())
    }

    /// Applies decisions: each replaces any decision with its id; one with `deleted_at` set
    /// lifts it. All are validated first; on error nothing changes.
    pub fn apply(&self, decisions: &[Decision]) -> Result<(), DecisionError> {
        for d in decisions {
            d.validate()?;
        }
        // Linear in held + given decisions (restoring 100,000+ bans at start-up must not be
        // quadratic): every id given replaces the held one; of several given with one id the
        // last wins, in the order of those last occurrences.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(decisions.len());
        for (i, d) in decisions.iter().enumerate() {
            last.insert(d.id.as_str(), i);
        }
        self.update(|all, allow| {
            let mut list: Vec<Arc<Decision>> = Vec::with_capacity(all.len() + decisions.len());
            list.extend(all.iter().filter(|x| !last.contains_key(x.id.as_str())).cloned());
            for (i, d) in decisions.iter().enumerate() {
                if last.get(d.id.as_str()) == Some(&i) && d.deleted_at.is_none() {
                    list.push(Arc::new(d.clone()));
                }
            }
            (list, allow.clone())
        });
        Ok(())
    }

    /// Adds (or replaces by id) one decision.
    pub fn insert(&self, decision: Decision) -> Result<(), DecisionError> {
        self.apply(std::slice::from_ref(&decision))
    }

    /// Lifts the decision with this id; returns it if it was there.
    pub fn remove(&self, id: &str) -> Option<Decision> {
        let mut removed = None;
        self.update(|all, allow| {
            removed = all.iter().find(|d| d.id == id).map(|d| Decision::clone(d));
            let list = all.iter().filter(|d| d.id != id).cloned().collect();
            (list, allow.clone())
        });
        removed
    }

    /// Drops decisions that ended at or before `now`; returns how many.
    pub fn prune(&self, now: OffsetDateTime) -> usize {
        let mut dropped = 0;
        self.update(|all, allow| {
            let list: Vec<_> = all.iter().filter(|d| d.is_active(now)).cloned().collect();
            dropped = all.len() - list.len();
            (list, allow.clone())
        });
        dropped
    }

    /// The decisions in force at `now`.
    pub fn active(&self, now: OffsetDateTime) -> Vec<Decision> {
        let snap = self.snap.load();
        snap.all().filter(|d| d.is_active(now)).map(|d| Decision::clone(d)).collect()
    }

    /// Whether `ip` is blocked at `now`: never when allowlisted; an IPv4-mapped IPv6 address is
    /// checked as its IPv4 address; exact-address decisions first, then ranges.
    pub fn check_ip(&self, ip: IpAddr, now: OffsetDateTime) -> Option<BlockInfo> {
        let layers = self.snap.load();
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
        let recent = if layers.recent.decisions.is_empty() { None } else { lookup(&layers.recent) };
        let base = lookup(&layers.base);
        pick(recent.as_ref(), base.as_ref(), now).map(|decision| BlockInfo { decision })
    }

    /// Whether `user` is blocked at `now`.
    pub fn check_user(&self, user: &str, now: OffsetDateTime) -> Option<BlockInfo> {
        let layers = self.snap.load();
        pick(layers.recent.users.get(user), layers.base.users.get(user), now)
            .map(|decision| BlockInfo { decision })
    }

    /// Whether `ip` is allowlisted.
    pub fn is_allowlisted(&self, ip: IpAddr) -> bool {
        self.snap.load().base.allow.contains(ip)
    }

    /// The number of decisions held (active or expired, not yet pruned).
    pub fn len(&self) -> usize {
        let layers = self.snap.load();
        layers.base.decisions.len() + layers.recent.decisions.len()
    }

    /// No decision held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
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
}
