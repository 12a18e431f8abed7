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

/// Active blocks by IP, range and user, plus the allowlist. `Sync`; reads take no lock.
#[derive(Debug, Default)]
pub struct BlockList {
    snap: ArcSwap<Snapshot>,
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

    fn update(&self, mut f: impl FnMut(&Snapshot) -> (Vec<Arc<Decision>>, IpSet)) {
        self.snap.rcu(|cur| {
            let (decisions, allow) = f(cur);
            Arc::new(Snapshot::build(decisions, allow))
        });
    }

    /// Replaces the allowlist.
    pub fn set_allowlist(&self, allow: IpSet) {
        self.update(|cur| (cur.decisions.clone(), allow.clone()));
    }

    /// Applies decisions: each replaces any decision with its id; one with `deleted_at` set
    /// lifts it. All are validated first; on error nothing changes.
    pub fn apply(&self, decisions: &[Decision]) -> Result<(), DecisionError> {
        for d in decisions {
            d.validate()?;
        }
        self.update(|cur| {
            let mut list = cur.decisions.clone();
            for d in decisions {
                list.retain(|x| x.id != d.id);
                if d.deleted_at.is_none() {
                    list.push(Arc::new(d.clone()));
                }
            }
            (list, cur.allow.clone())
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
        self.update(|cur| {
            removed = cur.decisions.iter().find(|d| d.id == id).map(|d| Decision::clone(d));
            let list = cur.decisions.iter().filter(|d| d.id != id).cloned().collect();
            (list, cur.allow.clone())
        });
        removed
    }

    /// Drops decisions that ended at or before `now`; returns how many.
    pub fn prune(&self, now: OffsetDateTime) -> usize {
        let mut dropped = 0;
        self.update(|cur| {
            let list: Vec<_> = cur.decisions.iter().filter(|d| d.is_active(now)).cloned().collect();
            dropped = cur.decisions.len() - list.len();
            (list, cur.allow.clone())
        });
        dropped
    }

    /// The decisions in force at `now`.
    pub fn active(&self, now: OffsetDateTime) -> Vec<Decision> {
        let snap = self.snap.load();
        snap.decisions.iter().filter(|d| d.is_active(now)).map(|d| Decision::clone(d)).collect()
    }

    /// Whether `ip` is blocked at `now`: never when allowlisted; an IPv4-mapped IPv6 address is
    /// checked as its IPv4 address; exact-address decisions first, then ranges.
    pub fn check_ip(&self, ip: IpAddr, now: OffsetDateTime) -> Option<BlockInfo> {
        let snap = self.snap.load();
        let ip = ip.to_canonical();
        if snap.allow.contains(ip) {
            return None;
        }
        if let Some(d) = snap.ips.get(&ip) {
            if d.is_active(now) {
                return Some(BlockInfo { decision: d.clone() });
            }
        }
        if snap.ranges.is_empty() {
            return None;
        }
        let d = snap.range_lookup(ip_to_u128(ip))?;
        d.is_active(now).then(|| BlockInfo { decision: d.clone() })
    }

    /// Whether `user` is blocked at `now`.
    pub fn check_user(&self, user: &str, now: OffsetDateTime) -> Option<BlockInfo> {
        let snap = self.snap.load();
        let d = snap.users.get(user)?;
        d.is_active(now).then(|| BlockInfo { decision: d.clone() })
    }

    /// Whether `ip` is allowlisted.
    pub fn is_allowlisted(&self, ip: IpAddr) -> bool {
        self.snap.load().allow.contains(ip)
    }

    /// The number of decisions held (active or expired, not yet pruned).
    pub fn len(&self) -> usize {
        self.snap.load().decisions.len()
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
}
