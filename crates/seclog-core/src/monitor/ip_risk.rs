//! Per-IP accumulated risk that decays over time.
//!
//! IPv4 addresses are tracked one by one; an IPv6 address is tracked as its network of the
//! configured prefix ([`V6Prefix`], /64 by default), the network a ban covers, so a host
//! rotating addresses within its network accumulates one risk.
//!
//! `risk(t) = risk(t0) * 0.5^((t - t0) / half_life) + score` at each observed event; between
//! events the risk only decays. An event older than the last update is added decayed to the
//! last update's time, so the result does not depend on arrival order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::cidr::V6Prefix;
use super::dense::DenseMap;
use super::window::micros;
use crate::severity::Severity;

/// Settings of an [`IpRiskTracker`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IpRiskConfig {
    /// Seconds for the risk to halve (default 3600: an hour).
    pub half_life_secs: f64,
    /// Decayed risk at or above which an IP is suspicious (default 20.0: e.g. two critical
    /// events, risk 10 each, or four medium ones at 5, within minutes).
    pub suspicious_threshold: f64,
    /// The most IPs tracked (default 1,000,000); beyond it the lowest-risk eighth is evicted.
    pub max_ips: usize,
    /// `expire_idle` forgets an IP whose decayed risk is below this (default 0.5).
    pub forget_below: f64,
}

impl Default for IpRiskConfig {
    fn default() -> Self {
        IpRiskConfig {
            half_life_secs: 3600.0,
            suspicious_threshold: 20.0,
            max_ips: 1_000_000,
            forget_below: 0.5,
        }
    }
}

/// What is known of one IP.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IpRiskState {
    /// The risk as of `updated_at` (already decayed to that time).
    pub risk: f64,
    /// The time `risk` refers to (the latest event time seen).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The earliest event time seen.
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    /// The latest event time seen.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    /// Events observed.
    pub event_count: u64,
}

fn decay(risk: f64, from: OffsetDateTime, to: OffsetDateTime, half_life: f64) -> f64 {
    decay_us(risk, micros(from), micros(to), half_life)
}

/// `risk` decayed from `from` to `to` (microseconds; never grown when `to < from`).
fn decay_us(risk: f64, from: i64, to: i64, half_life: f64) -> f64 {
    // Lossless for any gap under 2^53 µs (285 years).
    #[allow(clippy::cast_precision_loss)]
    let dt = (to.saturating_sub(from).max(0) as f64) / 1e6;
    risk * 0.5f64.powf(dt / half_life)
}

fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// What the tracker stores per IP: 40 bytes (times in microseconds since the epoch, UTC).
#[derive(Debug, Clone, Copy)]
struct Packed {
    risk: f64,
    updated_us: i64,
    first_us: i64,
    last_us: i64,
    count: u64,
}

impl Packed {
    fn risk_at(&self, at_us: i64, half_life: f64) -> f64 {
        decay_us(self.risk, self.updated_us, at_us, half_life)
    }

    fn state(&self) -> IpRiskState {
        IpRiskState {
            risk: self.risk,
            updated_at: from_micros(self.updated_us),
            first_seen: from_micros(self.first_us),
            last_seen: from_micros(self.last_us),
            event_count: self.count,
        }
    }
}

/// The threat level of a decayed risk: `< 10` low, `< 20` medium, `< 40` high, else critical.
pub fn threat_level(risk: f64) -> Severity {
    if risk >= 40.0 {
        Severity::Critical
    } else if risk >= 20.0 {
        Severity::High
    } else if risk >= 10.0 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

impl IpRiskState {
    /// The risk decayed to `at` (not grown for `at` before `updated_at`).
    pub fn risk_at(&self, at: OffsetDateTime, half_life_secs: f64) -> f64 {
        decay(self.risk, self.updated_at, at, half_life_secs)
    }
}

/// Tracks decaying risk per IP, with bounded memory (IPv4 addresses keyed as `u32`, IPv6
/// networks as `u128`, 40 bytes of state each).
#[derive(Debug, Clone, Default)]
pub struct IpRiskTracker {
    config: IpRiskConfig,
    /// How IPv6 addresses are grouped.
    ipv6_prefix: V6Prefix,
    v4: DenseMap<u32, Packed>,
    v6: DenseMap<u128, Packed>,
    /// Where [`IpRiskTracker::expire_idle_some`] goes on: (IPv6 map?, position).
    sweep: (bool, usize),
}

/// The map key of an address (IPv4-mapped IPv6 is the IPv4 address, IPv6 its network).
enum IpKey {
    V4(u32),
    V6(u128),
}

fn ip_key(ip: IpAddr, v6: V6Prefix) -> IpKey {
    match ip.to_canonical() {
        IpAddr::V4(a) => IpKey::V4(u32::from(a)),
        IpAddr::V6(a) => IpKey::V6(v6.key(u128::from(a))),
    }
}

impl IpRiskTracker {
    /// A tracker with these settings (a non-positive or non-finite half-life becomes an hour,
    /// `max_ips` at least 1) that tracks an IPv6 address as its /64.
    pub fn new(config: IpRiskConfig) -> Self {
        Self::with_ipv6_prefix(config, super::decision::DEFAULT_V6_PREFIX)
    }

    /// Like [`IpRiskTracker::new`], tracking an IPv6 address as its network of `ipv6_prefix`
    /// bits (the prefix bans use); 128 or more tracks each address apart.
    pub fn with_ipv6_prefix(mut config: IpRiskConfig, ipv6_prefix: u8) -> Self {
        if !(config.half_life_secs.is_finite() && config.half_life_secs > 0.0) {
            config.half_life_secs = 3600.0;
        }
        config.max_ips = config.max_ips.max(1);
        IpRiskTracker {
            config,
            ipv6_prefix: V6Prefix::new(ipv6_prefix),
            v4: DenseMap::default(),
            v6: DenseMap::default(),
            sweep: (false, 0),
        }
    }

    /// The settings.
    pub fn config(&self) -> &IpRiskConfig {
        &self.config
    }

    /// Adds an event of risk `score` (negative or non-finite counts as 0) from `ip` at `at`.
    /// Times are kept in microseconds (UTC).
    pub fn observe(&mut self, ip: IpAddr, score: f64, at: OffsetDateTime) -> IpRiskState {
        let key = ip_key(ip, self.ipv6_prefix);
        let score = if score.is_finite() { score.max(0.0) } else { 0.0 };
        let hl = self.config.half_life_secs;
        let at_us = micros(at);
        if self.lookup(&key).is_none() && self.len() >= self.config.max_ips {
            self.evict(at_us);
        }
        let fresh =
            || Packed { risk: 0.0, updated_us: at_us, first_us: at_us, last_us: at_us, count: 0 };
        let slot = match key {
            IpKey::V4(a) => self.v4.get_or_insert_with(&a, || a, fresh),
            IpKey::V6(a) => self.v6.get_or_insert_with(&a, || a, fresh),
        };
        let Some(p) = slot else {
            // Only past u32::MAX addresses (max_ips prevents it): report without storing.
            let mut p = fresh();
            p.risk = score;
            p.count = 1;
            return p.state();
        };
        if at_us >= p.updated_us {
            p.risk = decay_us(p.risk, p.updated_us, at_us, hl) + score;
            p.updated_us = at_us;
        } else {
            p.risk += decay_us(score, at_us, p.updated_us, hl);
        }
        p.first_us = p.first_us.min(at_us);
        p.last_us = p.last_us.max(at_us);
        p.count = p.count.saturating_add(1);
        p.state()
    }

    fn lookup(&self, key: &IpKey) -> Option<&Packed> {
        match key {
            IpKey::V4(a) => self.v4.get(a),
            IpKey::V6(a) => self.v6.get(a),
        }
    }

    /// The state of `ip` (for IPv6: of its network), if tracked.
    pub fn get(&self, ip: IpAddr) -> Option<IpRiskState> {
        self.lookup(&ip_key(ip, self.ipv6_prefix)).map(Packed::state)
    }

    /// The decayed risk of `ip` (for IPv6: of its network) at `at` (0 when unknown).
    pub fn risk(&self, ip: IpAddr, at: OffsetDateTime) -> f64 {
        self.lookup(&ip_key(ip, self.ipv6_prefix))
            .map_or(0.0, |p| p.risk_at(micros(at), self.config.half_life_secs))
    }

    /// Whether the decayed risk of `ip` at `at` reaches the suspicious threshold.
    pub fn is_suspicious(&self, ip: IpAddr, at: OffsetDateTime) -> bool {
        self.risk(ip, at) >= self.config.suspicious_threshold
    }

    /// The threat level of `ip` at `at`.
    pub fn threat_level(&self, ip: IpAddr, at: OffsetDateTime) -> Severity {
        threat_level(self.risk(ip, at))
    }

    /// Suspicious IPs at `at` with their decayed risk, riskiest first (an IPv6 network as its
    /// first address).
    pub fn suspicious(&self, at: OffsetDateTime) -> Vec<(IpAddr, f64, IpRiskState)> {
        let (hl, at) = (self.config.half_life_secs, micros(at));
        let v4 = self.v4.iter().map(|(a, p)| (IpAddr::V4(Ipv4Addr::from(*a)), p));
        let v6 = self.v6.iter().map(|(a, p)| (IpAddr::V6(Ipv6Addr::from(*a)), p));
        let mut v: Vec<_> = v4
            .chain(v6)
            .map(|(ip, p)| (ip, p.risk_at(at, hl), p))
            .filter(|(_, r, _)| *r >= self.config.suspicious_threshold)
            .map(|(ip, r, p)| (ip, r, p.state()))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Forgets IPs whose risk decayed below `forget_below` by `now`; returns how many.
    pub fn expire_idle(&mut self, now: OffsetDateTime) -> usize {
        self.expire_idle_us(micros(now))
    }

    /// Like [`IpRiskTracker::expire_idle`] over at most about `budget` addresses, going on where
    /// the last call stopped (bounded work per call). Returns how many it forgot.
    pub fn expire_idle_some(&mut self, now: OffsetDateTime, budget: usize) -> usize {
        let now = micros(now);
        let (hl, floor) = (self.config.half_life_secs, self.config.forget_below);
        let keep = |p: &mut Packed| p.risk_at(now, hl) >= floor;
        let (v6, cursor) = self.sweep;
        let slice = if v6 {
            self.v6.retain_some(cursor, budget.max(1), |_, p| keep(p))
        } else {
            self.v4.retain_some(cursor, budget.max(1), |_, p| keep(p))
        };
        self.sweep = match slice.next {
            Some(next) => (v6, next),
            None => (!v6, 0),
        };
        slice.removed
    }

    fn expire_idle_us(&mut self, now: i64) -> usize {
        let (hl, floor) = (self.config.half_life_secs, self.config.forget_below);
        self.v4.retain(|_, p| p.risk_at(now, hl) >= floor)
            + self.v6.retain(|_, p| p.risk_at(now, hl) >= floor)
    }

    /// Makes room: forgets idle IPs, and if still full the lowest-risk eighth.
    fn evict(&mut self, now: i64) {
        self.expire_idle_us(now);
        if self.len() < self.config.max_ips {
            return;
        }
        let hl = self.config.half_life_secs;
        let mut risks: Vec<f64> = self
            .v4
            .iter()
            .map(|(_, p)| p.risk_at(now, hl))
            .chain(self.v6.iter().map(|(_, p)| p.risk_at(now, hl)))
            .collect();
        let k = (risks.len() / 8).max(1).min(risks.len().saturating_sub(1));
        let (_, cut, _) = risks.select_nth_unstable_by(k, f64::total_cmp);
        let cut = *cut;
        drop(risks);
        let mut to_drop = k;
        let mut keep = |p: &mut Packed| {
            if to_drop > 0 && p.risk_at(now, hl) <= cut {
                to_drop -= 1;
                false
            } else {
                true
            }
        };
        self.v4.retain(|_, p| keep(p));
        self.v6.retain(|_, p| keep(p));
    }

    /// The number of IPs tracked.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// No IP tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn risk_halves_per_half_life_and_accumulates() {
        let mut tr = IpRiskTracker::new(IpRiskConfig::default());
        let a = ip("203.0.113.1");
        tr.observe(a, 8.0, T0);
        let s = tr.observe(a, 8.0, T0 + Duration::hours(1));
        assert!((s.risk - 12.0).abs() < 1e-9, "8/2 + 8 = {}", s.risk);
        assert!((tr.risk(a, T0 + Duration::hours(2)) - 6.0).abs() < 1e-9);
        assert_eq!(s.event_count, 2);
        assert_eq!((s.first_seen, s.last_seen), (T0, T0 + Duration::hours(1)));
        assert_eq!(tr.risk(ip("198.51.100.1"), T0), 0.0);
    }

    #[test]
    fn suspicious_at_threshold_and_threat_levels() {
        let mut tr = IpRiskTracker::new(IpRiskConfig::default());
        let a = ip("::ffff:203.0.113.2");
        for _ in 0..2 {
            tr.observe(a, 10.0, T0);
        }
        assert!(tr.is_suspicious(ip("203.0.113.2"), T0), "mapped address is the IPv4 one");
        assert_eq!(tr.threat_level(a, T0), Severity::High);
        assert!(!tr.is_suspicious(a, T0 + Duration::minutes(1)), "decays below 20");
        assert_eq!(threat_level(45.0), Severity::Critical);
        assert_eq!(threat_level(12.0), Severity::Medium);
        assert_eq!(threat_level(0.0), Severity::Low);
        assert_eq!(tr.suspicious(T0).len(), 1);
    }

    #[test]
    fn ipv6_risk_accumulates_per_network_of_the_prefix() {
        let mut tr = IpRiskTracker::new(IpRiskConfig::default());
        for i in 1..=4 {
            tr.observe(ip(&format!("2001:db8:1:2::{i}")), 5.0, T0);
        }
        assert!(tr.is_suspicious(ip("2001:db8:1:2::77"), T0), "four 5s from one /64 make 20");
        assert_eq!(tr.get(ip("2001:db8:1:2::1")).unwrap().event_count, 4);
        assert!(!tr.is_suspicious(ip("2001:db8:1:3::1"), T0), "another /64 is apart");
        assert_eq!(tr.len(), 1);
        let mut exact = IpRiskTracker::with_ipv6_prefix(IpRiskConfig::default(), 128);
        for i in 1..=4 {
            exact.observe(ip(&format!("2001:db8:1:2::{i}")), 5.0, T0);
        }
        assert!(!exact.is_suspicious(ip("2001:db8:1:2::1"), T0), "prefix 128: per address");
        assert_eq!(exact.len(), 4);
        let mut v4 = IpRiskTracker::new(IpRiskConfig::default());
        for i in 1..=4 {
            v4.observe(ip(&format!("192.0.2.{i}")), 5.0, T0);
        }
        assert_eq!(v4.len(), 4, "IPv4 is tracked per address");
    }

    #[test]
    fn arrival_order_does_not_matter() {
        let cfg = IpRiskConfig::default();
        let a = ip("192.0.2.1");
        let events = [(0, 3.0), (600, 5.0), (1800, 2.0), (4000, 7.0)];
        let mut sorted = IpRiskTracker::new(cfg);
        for (s, r) in events {
            sorted.observe(a, r, T0 + Duration::seconds(s));
        }
        let mut shuffled = IpRiskTracker::new(cfg);
        for i in [2, 0, 3, 1] {
            let (s, r) = events[i];
            shuffled.observe(a, r, T0 + Duration::seconds(s));
        }
        let at = T0 + Duration::seconds(5000);
        assert!((sorted.risk(a, at) - shuffled.risk(a, at)).abs() < 1e-9);
        assert_eq!(sorted.get(a).unwrap().first_seen, shuffled.get(a).unwrap().first_seen);
    }

    #[test]
    fn memory_is_bounded() {
        let cfg = IpRiskConfig { max_ips: 64, ..IpRiskConfig::default() };
        let mut tr = IpRiskTracker::new(cfg);
        let hot = ip("10.0.0.1");
        tr.observe(hot, 100.0, T0);
        for i in 0..1000u32 {
            tr.observe(IpAddr::from((0x0b00_0000 + i).to_be_bytes()), 1.0, T0);
        }
        assert!(tr.len() <= 64);
        assert!(tr.get(hot).is_some(), "the riskiest IP survives eviction");
        let n = tr.len();
        assert_eq!(tr.expire_idle(T0 + Duration::days(30)), n);
        assert!(tr.is_empty());
    }

    #[test]
    fn sliced_expiry_forgets_idle_addresses_of_both_families() {
        let mut tr = IpRiskTracker::new(IpRiskConfig::default());
        for i in 0..50u32 {
            tr.observe(IpAddr::from((0x0b00_0000 + i).to_be_bytes()), 1.0, T0);
            let v6 = std::net::Ipv6Addr::from((0x2001_0db8_u128 << 96) + (u128::from(i) << 64));
            tr.observe(IpAddr::V6(v6), 1.0, T0);
        }
        let hot = ip("10.0.0.1");
        tr.observe(hot, 1.0, T0 + Duration::days(30));
        let later = T0 + Duration::days(30);
        let mut forgotten = 0;
        for _ in 0..20 {
            let n = tr.expire_idle_some(later, 16);
            assert!(n <= 16, "bounded work per call");
            forgotten += n;
        }
        assert_eq!(forgotten, 100);
        assert_eq!(tr.len(), 1);
        assert!(tr.get(hot).is_some(), "a fresh address is kept");
    }
}
