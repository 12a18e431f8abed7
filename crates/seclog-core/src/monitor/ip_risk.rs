//! Per-IP accumulated risk that decays over time.
//!
//! `risk(t) = risk(t0) * 0.5^((t - t0) / half_life) + score` at each observed event; between
//! events the risk only decays. An event older than the last update is added decayed to the
//! last update's time, so the result does not depend on arrival order.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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
    let dt = (to - from).as_seconds_f64().max(0.0);
    risk * 0.5f64.powf(dt / half_life)
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

/// Tracks decaying risk per IP, with bounded memory.
#[derive(Debug, Clone, Default)]
pub struct IpRiskTracker {
    config: IpRiskConfig,
    ips: HashMap<IpAddr, IpRiskState>,
}

impl IpRiskTracker {
    /// A tracker with these settings (a non-positive or non-finite half-life becomes an hour,
    /// `max_ips` at least 1).
    pub fn new(mut config: IpRiskConfig) -> Self {
        if !(config.half_life_secs.is_finite() && config.half_life_secs > 0.0) {
            config.half_life_secs = 3600.0;
        }
        config.max_ips = config.max_ips.max(1);
        IpRiskTracker { config, ips: HashMap::new() }
    }

    /// The settings.
    pub fn config(&self) -> &IpRiskConfig {
        &self.config
    }

    /// Adds an event of risk `score` (negative or non-finite counts as 0) from `ip` at `at`.
    pub fn observe(&mut self, ip: IpAddr, score: f64, at: OffsetDateTime) -> IpRiskState {
        let ip = ip.to_canonical();
        let score = if score.is_finite() { score.max(0.0) } else { 0.0 };
        let hl = self.config.half_life_secs;
        if !self.ips.contains_key(&ip) && self.ips.len() >= self.config.max_ips {
            self.evict(at);
        }
        let state = self.ips.entry(ip).or_insert(IpRiskState {
            risk: 0.0,
            updated_at: at,
            first_seen: at,
            last_seen: at,
            event_count: 0,
        });
        if at >= state.updated_at {
            state.risk = decay(state.risk, state.updated_at, at, hl) + score;
            state.updated_at = at;
        } else {
            state.risk += decay(score, at, state.updated_at, hl);
        }
        state.first_seen = state.first_seen.min(at);
        state.last_seen = state.last_seen.max(at);
        state.event_count += 1;
        *state
    }

    /// The state of `ip`, if tracked.
    pub fn get(&self, ip: IpAddr) -> Option<&IpRiskState> {
        self.ips.get(&ip.to_canonical())
    }

    /// The decayed risk of `ip` at `at` (0 when unknown).
    pub fn risk(&self, ip: IpAddr, at: OffsetDateTime) -> f64 {
        self.get(ip).map_or(0.0, |s| s.risk_at(at, self.config.half_life_secs))
    }

    /// Whether the decayed risk of `ip` at `at` reaches the suspicious threshold.
    pub fn is_suspicious(&self, ip: IpAddr, at: OffsetDateTime) -> bool {
        self.risk(ip, at) >= self.config.suspicious_threshold
    }

    /// The threat level of `ip` at `at`.
    pub fn threat_level(&self, ip: IpAddr, at: OffsetDateTime) -> Severity {
        threat_level(self.risk(ip, at))
    }

    /// Suspicious IPs at `at` with their decayed risk, riskiest first.
    pub fn suspicious(&self, at: OffsetDateTime) -> Vec<(IpAddr, f64, IpRiskState)> {
        let hl = self.config.half_life_secs;
        let mut v: Vec<_> = self
            .ips
            .iter()
            .map(|(ip, s)| (*ip, s.risk_at(at, hl), *s))
            .filter(|(_, r, _)| *r >= self.config.suspicious_threshold)
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Forgets IPs whose risk decayed below `forget_below` by `now`; returns how many.
    pub fn expire_idle(&mut self, now: OffsetDateTime) -> usize {
        let (hl, floor) = (self.config.half_life_secs, self.config.forget_below);
        let before = self.ips.len();
        self.ips.retain(|_, s| s.risk_at(now, hl) >= floor);
        before - self.ips.len()
    }

    /// Makes room: forgets idle IPs, and if still full the lowest-risk eighth.
    fn evict(&mut self, now: OffsetDateTime) {
        self.expire_idle(now);
        if self.ips.len() < self.config.max_ips {
            return;
        }
        let hl = self.config.half_life_secs;
        let mut risks: Vec<f64> = self.ips.values().map(|s| s.risk_at(now, hl)).collect();
        let k = (risks.len() / 8).max(1).min(risks.len().saturating_sub(1));
        let (_, cut, _) = risks.select_nth_unstable_by(k, f64::total_cmp);
        let cut = *cut;
        let mut to_drop = k;
        self.ips.retain(|_, s| {
            if to_drop > 0 && s.risk_at(now, hl) <= cut {
                to_drop -= 1;
                false
            } else {
                true
            }
        });
    }

    /// The number of IPs tracked.
    pub fn len(&self) -> usize {
        self.ips.len()
    }

    /// No IP tracked.
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty()
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
}
