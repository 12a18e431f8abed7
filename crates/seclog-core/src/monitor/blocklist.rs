//! The block list read on every request: lock-free reads of an immutable snapshot
//! (`arc_swap::ArcSwap`), writers clone the decisions, rebuild the indexes and swap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
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

    /// The exact-address and the range decision covering `ip` (`key` is its number), active
    /// or not.
    fn ip_candidates(&self, ip: IpAddr, key: u128) -> [Option<&Arc<Decision>>; 2] {
        if self.decisions.is_empty() {
            return [None, None];
        }
        let range = if self.ranges.is_empty() { None } else { self.range_lookup(key) };
        [self.ips.get(&ip), range]
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

/// Layers: a large `base`, rebuilt rarely; `frozen` layers of at most `RECENT_MAX` decisions
/// each, waiting to be merged into the base; and a small `recent` layer that takes new
/// decisions. Adding a ban costs O(RECENT_MAX) whatever the number of bans held: when `recent`
/// is full it is frozen as it is and a new one started. [`BlockList::compact`] (run off the
/// decision path, by the logger's writer thread) merges the frozen layers into the base; only
/// when `MAX_FROZEN` layers wait does `insert_new` merge by itself.
#[derive(Debug, Default)]
struct Layers {
    base: Arc<Snapshot>,
    frozen: Vec<Arc<Snapshot>>,
    recent: Arc<Snapshot>,
}

/// Most decisions in the recent layer before it is frozen.
const RECENT_MAX: usize = 256;

/// Most frozen layers waiting for [`BlockList::compact`].
const MAX_FROZEN: usize = 16;

impl Layers {
    fn all(&self) -> impl Iterator<Item = &Arc<Decision>> {
        self.base
            .decisions
            .iter()
            .chain(self.frozen.iter().flat_map(|s| s.decisions.iter()))
            .chain(self.recent.decisions.iter())
    }

    /// The layers that hold decisions, newest first.
    fn layers(&self) -> impl Iterator<Item = &Snapshot> {
        std::iter::once(&*self.recent)
            .chain(self.frozen.iter().rev().map(|s| &**s))
            .chain(std::iter::once(&*self.base))
            .filter(|s| !s.decisions.is_empty())
    }

    /// Everything merged into one base layer.
    fn merged(&self) -> Layers {
        let all: Vec<Arc<Decision>> = self.all().cloned().collect();
        let allow = self.base.allow.clone();
        Layers {
            base: Arc::new(Snapshot::build(all, allow.clone())),
            frozen: Vec::new(),
            recent: Arc::new(Snapshot::build(Vec::new(), allow)),
        }
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
#[derive(Debug)]
pub struct BlockList {
    snap: ArcSwap<Layers>,
    /// Whether `snap` holds any decision, so that a check against an empty list returns
    /// without loading the snapshot (most requests of most services). Written after each
    /// swap, under `writing`: its last write always describes the last snapshot stored.
    held: AtomicBool,
    /// One writer at a time (writes are rare; readers never take it).
    writing: std::sync::Mutex<()>,
    /// One compaction at a time.
    compacting: std::sync::Mutex<()>,
    /// Unix nanoseconds of a prune asked for by [`BlockList::request_prune`], done by the
    /// next [`BlockList::compact`]; `i64::MIN` when none is pending.
    prune_at: std::sync::atomic::AtomicI64,
}

impl Default for BlockList {
    fn default() -> Self {
        BlockList {
            snap: ArcSwap::default(),
            held: AtomicBool::new(false),
            writing: std::sync::Mutex::new(()),
            compacting: std::sync::Mutex::new(()),
            prune_at: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }
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

    /// Stores `f(current layers)` and records whether the list now holds a decision.
    fn swap(&self, f: impl FnMut(&Arc<Layers>) -> Arc<Layers>) {
        let _one = self.writing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.snap.rcu(f);
        let held = self.snap.load().layers().next().is_some();
        self.held.store(held, Ordering::Release);
    }

    /// Whether the list may hold a decision: false means no check can match.
    #[inline]
    fn may_hold(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// Rebuilds everything into one base layer from `f(all decisions, allowlist)`.
    fn update(&self, mut f: impl FnMut(&[Arc<Decision>], &IpSet) -> (Vec<Arc<Decision>>, IpSet)) {
        self.swap(|cur| {
            let all: Vec<Arc<Decision>> = cur.all().cloned().collect();
            let (decisions, allow) = f(&all, &cur.base.allow);
            let recent = Snapshot::build(Vec::new(), allow.clone());
            Arc::new(Layers {
                base: Arc::new(Snapshot::build(decisions, allow)),
                frozen: Vec::new(),
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
        self.swap(|cur| {
            let allow = cur.base.allow.clone();
            if cur.recent.decisions.len() < RECENT_MAX {
                let mut recent = cur.recent.decisions.clone();
                recent.push(d.clone());
                Arc::new(Layers {
                    base: cur.base.clone(),
                    frozen: cur.frozen.clone(),
                    recent: Arc::new(Snapshot::build(recent, allow)),
                })
            } else if cur.frozen.len() < MAX_FROZEN {
                let mut frozen = cur.frozen.clone();
                frozen.push(cur.recent.clone());
                Arc::new(Layers {
                    base: cur.base.clone(),
                    frozen,
                    recent: Arc::new(Snapshot::build(vec![d.clone()], allow)),
                })
            } else {
                // Compaction fell behind: merge here rather than let lookups slow down.
                let mut merged = cur.merged();
                merged.recent = Arc::new(Snapshot::build(vec![d.clone()], allow));
                Arc::new(merged)
            }
        });
        Ok(())
    }

    /// Asks the next [`BlockList::compact`] to drop decisions that ended at or before `now`
    /// (cheap: the rebuild happens there, off the decision path).
    pub fn request_prune(&self, now: OffsetDateTime) {
        let at = i64::try_from(now.unix_timestamp_nanos()).unwrap_or(i64::MAX);
        self.prune_at.fetch_max(at, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether frozen layers or a requested prune wait for [`BlockList::compact`].
    pub fn needs_compaction(&self) -> bool {
        self.pending_prune().is_some() || !self.snap.load().frozen.is_empty()
    }

    fn pending_prune(&self) -> Option<OffsetDateTime> {
        let at = self.prune_at.load(std::sync::atomic::Ordering::Relaxed);
        if at == i64::MIN {
            return None;
        }
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(at)).ok()
    }

    /// Merges the frozen layers into the base, off the decision path: the merge is built
    /// without holding anything readers or `insert_new` wait for, then swapped in if the base
    /// has not been rebuilt meanwhile. Returns whether it merged.
    pub fn compact(&self) -> bool {
        let Ok(_one) = self.compacting.try_lock() else {
            return false;
        };
        if let Some(now) = self.pending_prune() {
            self.prune_at.store(i64::MIN, std::sync::atomic::Ordering::Relaxed);
            // Only rebuild when something ended: a scan is cheap, a rebuild is not.
            if self.snap.load().all().any(|d| !d.is_active(now)) {
                self.prune(now);
                return true;
            }
        }
        let start = self.snap.load_full();
        if start.frozen.is_empty() {
            return false;
        }
        let mut all: Vec<Arc<Decision>> = start.base.decisions.clone();
        all.extend(start.frozen.iter().flat_map(|s| s.decisions.iter().cloned()));
        let base = Arc::new(Snapshot::build(all, start.base.allow.clone()));
        let n = start.frozen.len();
        let mut merged = false;
        self.swap(|cur| {
            let same = Arc::ptr_eq(&cur.base, &start.base)
                && cur.frozen.len() >= n
                && cur.frozen.iter().zip(&start.frozen).all(|(a, b)| Arc::ptr_eq(a, b));
            merged = same;
            if !same {
                return Arc::clone(cur);
            }
            Arc::new(Layers {
                base: base.clone(),
                frozen: cur.frozen[n..].to_vec(),
                recent: cur.recent.clone(),
            })
        });
        merged
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
        self.check_ip_with(ip, || now)
    }

    /// [`BlockList::check_ip`] reading the time only when a decision matches `ip`: a miss
    /// (the common case on a request path) is one snapshot load and a hash lookup per layer,
    /// and no clock read; one atomic load when the list holds no decision at all.
    #[inline]
    pub fn check_ip_with(
        &self,
        ip: IpAddr,
        now: impl FnOnce() -> OffsetDateTime,
    ) -> Option<BlockInfo> {
        if !self.may_hold() {
            return None;
        }
        self.check_held_ip(ip, now)
    }

    fn check_held_ip(&self, ip: IpAddr, now: impl FnOnce() -> OffsetDateTime) -> Option<BlockInfo> {
        let layers = self.snap.load();
        let mut held = layers.layers().peekable();
        held.peek()?;
        let ip = ip.to_canonical();
        if layers.base.allow.contains(ip) {
            return None;
        }
        let key = ip_to_u128(ip);
        // Candidates per layer, newest layer first; the clock is read only if there is one.
        let mut found: [Option<[Option<&Arc<Decision>>; 2]>; 2 + MAX_FROZEN] =
            [None; 2 + MAX_FROZEN];
        let mut any = false;
        for (slot, snap) in found.iter_mut().zip(held) {
            let c = snap.ip_candidates(ip, key);
            any |= c[0].is_some() || c[1].is_some();
            *slot = Some(c);
        }
        if !any {
            return None;
        }
        let now = now();
        // Per layer an active exact-address decision wins over a range.
        let active = |d: &&Arc<Decision>| d.is_active(now);
        let mut best: Option<Arc<Decision>> = None;
        for [exact, range] in found.iter().flatten() {
            let hit = exact.filter(active).or_else(|| range.filter(active));
            best = pick(best.as_ref(), hit, now);
        }
        best.map(|decision| BlockInfo { decision })
    }

    /// Whether `user` is blocked at `now`.
    pub fn check_user(&self, user: &str, now: OffsetDateTime) -> Option<BlockInfo> {
        self.check_user_with(user, || now)
    }

    /// [`BlockList::check_user`] reading the time only when a decision names `user`.
    #[inline]
    pub fn check_user_with(
        &self,
        user: &str,
        now: impl FnOnce() -> OffsetDateTime,
    ) -> Option<BlockInfo> {
        if !self.may_hold() {
            return None;
        }
        self.check_held_user(user, now)
    }

    fn check_held_user(
        &self,
        user: &str,
        now: impl FnOnce() -> OffsetDateTime,
    ) -> Option<BlockInfo> {
        let layers = self.snap.load();
        let mut hits = layers.layers().filter_map(|s| s.users.get(user)).peekable();
        hits.peek()?;
        let now = now();
        let mut best: Option<Arc<Decision>> = None;
        for d in hits {
            best = pick(best.as_ref(), Some(d), now);
        }
        best.map(|decision| BlockInfo { decision })
    }

    /// Whether `ip` is allowlisted.
    pub fn is_allowlisted(&self, ip: IpAddr) -> bool {
        self.snap.load().base.allow.contains(ip)
    }

    /// The number of decisions held (active or expired, not yet pruned).
    pub fn len(&self) -> usize {
        let layers = self.snap.load();
        layers.layers().map(|s| s.decisions.len()).sum()
    }

    /// No decision held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[path = "blocklist_tests.rs"]
mod tests;
