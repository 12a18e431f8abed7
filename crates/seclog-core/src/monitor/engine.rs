//! The rule engine: exact sliding windows on event time, one state per rule and key.
//!
//! Semantics (see `docs/monitoring.md`):
//! - Time is the event's `timestamp`, in microseconds; a window of `w` seconds is inclusive: an
//!   event at `t` sees the key's events with times in `[t - w, t]`.
//! - A threshold rule fires at the event that makes `threshold` counted events of one key lie in
//!   that window.
//! - Suppression: after a rule fires for a key at `t_f`, the key does not fire again for events
//!   with `t <= t_f + w`; it can fire again from the first event after that (if the condition
//!   still holds then). A sustained attack thus gives one firing per window length.
//! - Keys: an IPv4 address is its own key; an IPv6 address counts as its network of the
//!   configured prefix ([`V6Prefix`], /64 by default, the network a ban covers), so rotating
//!   addresses within one network does not split the count.
//! - Out of order: events are inserted in time order into the key's ring of the newest
//!   `threshold` events and the condition is evaluated over that ring; an event older than every
//!   kept event of a full ring is ignored. For time-sorted input the results are exact.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use foldhash::quality::RandomState;

use time::OffsetDateTime;

use super::cidr::V6Prefix;
use super::decision::DEFAULT_V6_PREFIX;
use super::dense::{DenseMap, Slice};
use super::rules::{validate_rules, Action, DistinctField, GroupBy, Rule, RuleError, RuleKind};
use super::window::{micros, Entry, EventId, TimeRing};
use crate::event::SecurityEvent;
use crate::event_type::EventType;
use crate::severity::Severity;

const _: () = assert!(EventType::ALL.len() <= 128, "event type mask is a u128");

/// A rule that fired for a key at an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The rule's name.
    pub rule: String,
    /// The rule's action.
    pub action: Action,
    /// How the key was formed.
    pub group_by: GroupBy,
    /// The key: an IPv4 address or an IPv6 network (`2001:db8:1:2::/64`; the address with
    /// prefix 128), a user id, a session id, or `ip|user` (the IP part likewise).
    pub key: String,
    /// The event time of the decisive event.
    pub at: OffsetDateTime,
    /// The events that made the rule fire, oldest first; the decisive event is among them.
    pub event_ids: Vec<String>,
    /// The rule is in dry-run mode: report, take no action.
    pub dry_run: bool,
    /// The severity of the alert.
    pub severity: Severity,
}

/// The key a rule's state is partitioned by, borrowed from the event where possible. An IPv6
/// key is the address masked to the engine's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GroupKey<'a> {
    V4(u32),
    V6(u128),
    Text(Cow<'a, str>),
}

/// The address an IP rule counts `ip` under: IPv4 (and IPv4-mapped IPv6) as the address, IPv6
/// as its network's first address.
fn grouped(ip: IpAddr, v6: V6Prefix) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(a) => IpAddr::V4(a),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(v6.key(u128::from(a)))),
    }
}

impl<'a> GroupKey<'a> {
    fn of(group_by: GroupBy, ev: &'a SecurityEvent, v6: V6Prefix) -> Option<GroupKey<'a>> {
        match group_by {
            GroupBy::Ip => ev.ip_address.map(|ip| match ip.to_canonical() {
                IpAddr::V4(a) => GroupKey::V4(u32::from(a)),
                IpAddr::V6(a) => GroupKey::V6(v6.key(u128::from(a))),
            }),
            GroupBy::UserId => ev.user_id.as_deref().map(|u| GroupKey::Text(Cow::Borrowed(u))),
            GroupBy::SessionId => {
                ev.session_id.as_deref().map(|s| GroupKey::Text(Cow::Borrowed(s)))
            }
            GroupBy::IpAndUser => {
                let (ip, user) = (ev.ip_address?, ev.user_id.as_deref()?);
                let ip = match ip.to_canonical() {
                    IpAddr::V4(a) => a.to_string(),
                    IpAddr::V6(a) => v6.render(u128::from(a)),
                };
                Some(GroupKey::Text(Cow::Owned(format!("{ip}|{user}"))))
            }
        }
    }

    fn render(&self, v6: V6Prefix) -> String {
        match self {
            GroupKey::V4(a) => Ipv4Addr::from(*a).to_string(),
            GroupKey::V6(a) => v6.render(*a),
            GroupKey::Text(s) => s.to_string(),
        }
    }
}

/// Per-key states of one rule: IPv4 keys as `u32`, IPv6 keys as `u128`, text keys (users,
/// sessions, `ip|user`) as strings, each in a [`DenseMap`].
#[derive(Debug, Default)]
struct States {
    v4: DenseMap<u32, KeyState>,
    v6: DenseMap<u128, KeyState>,
    text: DenseMap<Box<str>, KeyState>,
}

impl States {
    fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.text.len()
    }

    fn get_mut(&mut self, key: &GroupKey<'_>) -> Option<&mut KeyState> {
        match key {
            GroupKey::V4(a) => self.v4.get_mut(a),
            GroupKey::V6(a) => self.v6.get_mut(a),
            GroupKey::Text(s) => self.text.get_mut(s.as_ref()),
        }
    }

    /// The key's state, created empty when absent (`None` only past `u32::MAX` keys).
    fn entry(&mut self, key: &GroupKey<'_>) -> Option<&mut KeyState> {
        match key {
            GroupKey::V4(a) => self.v4.get_or_insert_with(a, || *a, KeyState::default),
            GroupKey::V6(a) => self.v6.get_or_insert_with(a, || *a, KeyState::default),
            GroupKey::Text(s) => {
                self.text.get_or_insert_with(s.as_ref(), || s.as_ref().into(), KeyState::default)
            }
        }
    }

    /// One slice of a sweep over the three maps; `at` is (map, position), `None` when done.
    fn retain_some(
        &mut self,
        at: (usize, usize),
        budget: usize,
        keep: impl Fn(&KeyState) -> bool,
    ) -> (Slice, Option<(usize, usize)>) {
        let (map, pos) = at;
        let slice = match map {
            0 => self.v4.retain_some(pos, budget, |_, s| keep(s)),
            1 => self.v6.retain_some(pos, budget, |_, s| keep(s)),
            _ => self.text.retain_some(pos, budget, |_, s| keep(s)),
        };
        let next = match slice.next {
            Some(p) => Some((map, p)),
            None if map < 2 => Some((map + 1, 0)),
            None => None,
        };
        (slice, next)
    }

    fn retain(&mut self, mut keep: impl FnMut(&KeyState) -> bool) -> usize {
        self.v4.retain(|_, s| keep(s))
            + self.v6.retain(|_, s| keep(s))
            + self.text.retain(|_, s| keep(s))
    }
}

/// The state of one key for one rule.
#[derive(Debug)]
struct KeyState {
    ring: TimeRing,
    /// Event time (µs) of the last firing; `i64::MIN` when it never fired.
    last_fire: i64,
}

impl Default for KeyState {
    fn default() -> Self {
        KeyState { ring: TimeRing::default(), last_fire: i64::MIN }
    }
}

/// A rule, prepared for evaluation, with its per-key states.
#[derive(Debug)]
struct Compiled {
    index: usize,
    types: u128,
    success: u128,
    window: i64,
    cap: usize,
    states: States,
}

fn type_bit(t: EventType) -> u128 {
    1u128.checked_shl(t as u32).unwrap_or(0)
}

fn mask(types: &[EventType]) -> u128 {
    types.iter().fold(0, |m, t| m | type_bit(*t))
}

/// Evaluates rules over a stream of events. Pure: no clock, no I/O.
#[derive(Debug)]
pub struct RuleEngine {
    rules: Vec<Rule>,
    compiled: Vec<Compiled>,
    hasher: RandomState,
    /// How IPv6 addresses are grouped into keys.
    v6: V6Prefix,
    /// Where [`RuleEngine::expire_idle_some`] goes on: (rule, (map, position)).
    sweep: (usize, (usize, usize)),
}

impl RuleEngine {
    /// Validates the rules and prepares an engine (disabled rules are kept but not evaluated)
    /// that counts IPv6 addresses by their /64 ([`DEFAULT_V6_PREFIX`]).
    pub fn new(rules: Vec<Rule>) -> Result<Self, RuleError> {
        Self::with_ipv6_prefix(rules, DEFAULT_V6_PREFIX)
    }

    /// Like [`RuleEngine::new`], counting an IPv6 address as its network of `ipv6_prefix` bits
    /// (the prefix bans use, see [`super::block_key`]); 128 or more counts each address apart.
    pub fn with_ipv6_prefix(rules: Vec<Rule>, ipv6_prefix: u8) -> Result<Self, RuleError> {
        validate_rules(&rules)?;
        let compiled = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.enabled)
            .map(|(index, r)| Compiled {
                index,
                types: mask(&r.event_types),
                success: match r.kind {
                    RuleKind::Sequence { success_type } => type_bit(success_type),
                    _ => 0,
                },
                window: i64::try_from(r.window_secs).unwrap_or(i64::MAX).saturating_mul(1_000_000),
                cap: usize::try_from(r.threshold).unwrap_or(usize::MAX),
                states: States::default(),
            })
            .collect();
        Ok(RuleEngine {
            rules,
            compiled,
            hasher: RandomState::default(),
            v6: V6Prefix::new(ipv6_prefix),
            sweep: (0, (0, 0)),
        })
    }

    /// The rules, as given.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How IPv6 addresses are grouped into keys.
    pub fn ipv6_prefix(&self) -> V6Prefix {
        self.v6
    }

    /// The number of (rule, key) states held.
    pub fn key_count(&self) -> usize {
        self.compiled.iter().map(|c| c.states.len()).sum()
    }

    /// Drops the state of keys that can no longer fire or suppress for events at or after
    /// `now`: no kept event and no firing within the rule's window before `now`. Returns how
    /// many states were dropped.
    pub fn expire_idle(&mut self, now: OffsetDateTime) -> usize {
        let now = micros(now);
        let mut dropped = 0;
        for c in &mut self.compiled {
            let horizon = now.saturating_sub(c.window);
            dropped += c.states.retain(|s| {
                s.ring.last_t().is_some_and(|t| t >= horizon) || s.last_fire >= horizon
            });
        }
        dropped
    }

    /// Like [`RuleEngine::expire_idle`] over at most `budget` keys, going on where the last call
    /// stopped, so the work per call is bounded however many keys are tracked (call it
    /// regularly; a full sweep takes `key_count() / budget` calls). Returns how many it forgot.
    pub fn expire_idle_some(&mut self, now: OffsetDateTime, budget: usize) -> usize {
        let now = micros(now);
        let (mut rule, mut at) = self.sweep;
        let mut left = budget.max(1);
        let mut dropped = 0;
        // Each step either examines entries or moves to the next map or rule: bounded.
        for _ in 0..(3 * self.compiled.len() + budget.max(1) + 3) {
            if left == 0 {
                break;
            }
            let Some(c) = self.compiled.get_mut(rule) else {
                (rule, at) = (0, (0, 0));
                if self.compiled.is_empty() {
                    break;
                }
                continue;
            };
            let horizon = now.saturating_sub(c.window);
            let (slice, next) = c.states.retain_some(at, left, |s| {
                s.ring.last_t().is_some_and(|t| t >= horizon) || s.last_fire >= horizon
            });
            dropped += slice.removed;
            left -= slice.examined.min(left);
            match next {
                Some(n) => at = n,
                None => (rule, at) = (rule + 1, (0, 0)),
            }
        }
        self.sweep = (rule, at);
        dropped
    }

    /// Feeds one event to every enabled rule; returns the rules that fired at it.
    pub fn observe(&mut self, event: &SecurityEvent) -> Vec<Firing> {
        let bit = type_bit(event.event_type);
        let t = micros(event.timestamp);
        let mut out = Vec::new();
        // Parsed once, on the first rule that counts the event.
        let mut parsed: Option<EventId> = None;
        for c in &mut self.compiled {
            if (c.types | c.success) & bit == 0 {
                continue;
            }
            let Some(rule) = self.rules.get(c.index) else { continue };
            if let Some(f) = &rule.filter {
                if let Some(prefix) = &f.request_url_prefix {
                    if !event.request_url.as_deref().is_some_and(|u| u.starts_with(prefix.as_str()))
                    {
                        continue;
                    }
                }
            }
            let Some(key) = GroupKey::of(rule.group_by, event, self.v6) else { continue };
            let id = parsed.get_or_insert_with(|| EventId::new(&event.event_id));
            let fired = match rule.kind {
                RuleKind::Threshold => observe_threshold(c, &key, t, id),
                RuleKind::DistinctCount { field } => {
                    let tag = match field {
                        DistinctField::UserId => {
                            event.user_id.as_deref().map(|u| self.hasher.hash_one(u))
                        }
                        DistinctField::Ip => {
                            event.ip_address.map(|ip| self.hasher.hash_one(grouped(ip, self.v6)))
                        }
                    };
                    match tag {
                        Some(tag) => observe_distinct(c, &key, t, tag, id),
                        None => None,
                    }
                }
                RuleKind::Sequence { .. } => observe_sequence(c, &key, t, bit & c.success != 0, id),
            };
            if let Some(event_ids) = fired {
                let key = key.render(self.v6);
                out.push(Firing {
                    rule: rule.name.clone(),
                    action: rule.action,
                    group_by: rule.group_by,
                    key,
                    at: event.timestamp,
                    event_ids,
                    dry_run: rule.dry_run,
                    severity: rule.alert_severity(),
                });
            }
        }
        out
    }
}

fn suppressed(s: &KeyState, t: i64, window: i64) -> bool {
    s.last_fire != i64::MIN && t <= s.last_fire.saturating_add(window)
}

/// Common tail: the ring holds `cap` entries within the window and the key is not suppressed.
fn complete(s: &mut KeyState, t: i64, window: i64, cap: usize) -> Option<Vec<String>> {
    let full = s.ring.len() >= cap;
    let span_ok = match (s.ring.first_t(), s.ring.last_t()) {
        (Some(a), Some(b)) => b.saturating_sub(a) <= window,
        _ => false,
    };
    if full && span_ok && !suppressed(s, t, window) {
        s.last_fire = s.last_fire.max(t);
        Some(s.ring.ids())
    } else {
        None
    }
}

fn observe_threshold(
    c: &mut Compiled,
    key: &GroupKey<'_>,
    t: i64,
    id: &EventId,
) -> Option<Vec<String>> {
    let (window, cap) = (c.window, c.cap);
    let s = c.states.entry(key)?;
    if !s.ring.insert(Entry { t, tag: 0, id: id.clone() }, cap) {
        return None;
    }
    complete(s, t, window, cap)
}

fn observe_distinct(
    c: &mut Compiled,
    key: &GroupKey<'_>,
    t: i64,
    tag: u64,
    id: &EventId,
) -> Option<Vec<String>> {
    let (window, cap) = (c.window, c.cap);
    let s = c.states.entry(key)?;
    if !s.ring.insert_distinct(Entry { t, tag, id: id.clone() }, cap) {
        return None;
    }
    complete(s, t, window, cap)
}

fn observe_sequence(
    c: &mut Compiled,
    key: &GroupKey<'_>,
    t: i64,
    is_success: bool,
    id: &EventId,
) -> Option<Vec<String>> {
    let (window, cap) = (c.window, c.cap);
    if !is_success {
        let s = c.states.entry(key)?;
        s.ring.insert(Entry { t, tag: 0, id: id.clone() }, cap);
        return None;
    }
    // A success for a key without failures needs no state.
    let s = c.states.get_mut(key)?;
    let full = s.ring.len() >= cap;
    let in_window = s.ring.first_t().is_some_and(|a| t.saturating_sub(a) <= window);
    let fired = if full && in_window && !suppressed(s, t, window) {
        s.last_fire = s.last_fire.max(t);
        let mut ids = s.ring.ids();
        ids.push(id.to_string());
        Some(ids)
    } else {
        None
    };
    s.ring.clear();
    fired
}
