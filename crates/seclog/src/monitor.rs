//! Real-time monitoring inside the logger: the rule engine, per-IP risk, and the actions rules
//! take (alerts, IP blocks with escalating durations, account locks).
//!
//! The monitor runs in `log_event` on the caller's thread, under one lock, before the event is
//! queued: a block decided by an event is visible to [`crate::SecurityLogger::check_ip`] before
//! that `log_event` call returns, and concurrent callers cannot slip past a threshold.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use seclog_core::monitor::{
    block_key, Action, BlockList, Decision, DecisionType, EscalationPolicy, Firing, IpRiskTracker,
    RuleEngine, Scope,
};
use seclog_core::risk::{risk_score, threat_level};
use seclog_core::{AlertStatus, AlertTransition, SecurityAlert, SecurityEvent, SuspiciousIp};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::MonitoringConfig;

/// Side effects of one event, to be persisted by the writer.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The event's IP or user was already under a decision when the event was observed.
    pub(crate) was_blocked: bool,
    pub(crate) alerts: Vec<SecurityAlert>,
    pub(crate) decisions: Vec<Decision>,
    pub(crate) suspicious: Option<SuspiciousIp>,
}

pub(crate) struct Monitor {
    engine: RuleEngine,
    risk: IpRiskTracker,
    blocklist: Arc<BlockList>,
    escalation: EscalationPolicy,
    v6_prefix: u8,
    alerting: bool,
    /// Bans made so far per value (IP, range, user), for escalation; loaded from the store's
    /// decision history at start-up, so no I/O happens when a rule fires.
    offences: HashMap<String, u32>,
    observed: u64,
    latest: OffsetDateTime,
}

/// How many events between two slices of the sweep that forgets idle keys.
const EXPIRE_EVERY: u64 = 1 << 10;

/// Keys looked at per slice (per tracker): a few tens of microseconds of work, and 4 keys per
/// event on average, more than the at most one key per rule an event can add.
const EXPIRE_BUDGET: usize = 4096;

impl Monitor {
    pub(crate) fn new(
        engine: RuleEngine,
        cfg: &MonitoringConfig,
        alerting: bool,
        blocklist: Arc<BlockList>,
        offences: HashMap<String, u32>,
    ) -> Self {
        Monitor {
            engine,
            risk: IpRiskTracker::with_ipv6_prefix(cfg.ip_risk, cfg.ipv6_prefix),
            blocklist,
            escalation: cfg.escalation,
            v6_prefix: cfg.ipv6_prefix,
            alerting,
            offences,
            observed: 0,
            latest: OffsetDateTime::UNIX_EPOCH,
        }
    }

    pub(crate) fn rule_engine(&self) -> &RuleEngine {
        &self.engine
    }

    /// Runs a stored event through the rules and the IP risk without acting on what fires
    /// (an engine's start-up replay: those decisions and alerts are already stored).
    pub(crate) fn warm(&mut self, event: &SecurityEvent) {
        if let Some(ip) = event.ip_address {
            let score = event.risk_score.unwrap_or(0.0);
            self.risk.observe(ip, score, event.timestamp);
        }
        let _ = self.engine.observe(event);
        if event.timestamp > self.latest {
            self.latest = event.timestamp;
        }
    }

    /// Scores the event (x1.5 when its IP is already suspicious), runs the rules, and applies
    /// their actions to the block list at once. Returns what must be stored.
    pub(crate) fn observe(&mut self, event: &mut SecurityEvent) -> Outcome {
        let at = event.timestamp;
        let ip = event.ip_address;
        let suspicious = ip.is_some_and(|ip| self.risk.is_suspicious(ip, at));
        let score = risk_score(event.severity, event.event_type, suspicious);
        event.risk_score = Some(score);
        event.threat_level = Some(threat_level(score).to_string());
        if suspicious {
            event.indicators.push("suspicious_ip".to_string());
        }
        let mut out = Outcome {
            was_blocked: ip.is_some_and(|ip| self.blocklist.check_ip(ip, at).is_some())
                || event
                    .user_id
                    .as_deref()
                    .is_some_and(|u| self.blocklist.check_user(u, at).is_some()),
            ..Outcome::default()
        };
        let ip_state = ip.map(|ip| (ip, self.risk.observe(ip, score, at)));
        let firings = self.engine.observe(event);
        let mut blocked_now = false;
        for f in &firings {
            event.indicators.push(format!("rule:{}", f.rule));
            blocked_now |= self.act(f, event, &mut out);
        }
        if let Some((ip, state)) = ip_state {
            let risk = state.risk;
            let is_blocked = blocked_now || self.blocklist.check_ip(ip, at).is_some();
            if risk >= self.risk.config().suspicious_threshold || is_blocked {
                out.suspicious = Some(SuspiciousIp {
                    ip_address: ip,
                    threat_level: seclog_core::monitor::ip_risk::threat_level(risk)
                        .as_str()
                        .to_string(),
                    first_seen: state.first_seen,
                    last_seen: state.last_seen,
                    event_count: state.event_count,
                    blocked: is_blocked,
                });
            }
        }
        self.observed += 1;
        if at > self.latest {
            self.latest = at;
        }
        if self.observed % EXPIRE_EVERY == 0 {
            // A bounded slice per call (a full sweep would stall this event behind millions
            // of keys); the block list prunes in the writer thread's compaction.
            self.engine.expire_idle_some(self.latest, EXPIRE_BUDGET);
            self.risk.expire_idle_some(self.latest, EXPIRE_BUDGET);
            self.blocklist.request_prune(self.latest);
        }
        out
    }

    /// Carries out one firing; returns whether it blocked the event's IP.
    fn act(&mut self, f: &Firing, event: &SecurityEvent, out: &mut Outcome) -> bool {
        let mut notes: Vec<String> = Vec::new();
        let mut blocked = false;
        let target = match f.action {
            Action::Alert => None,
            Action::BlockIp | Action::ImmediateBlock => event.ip_address.map(|ip| {
                let (scope, value) = block_key(ip, self.v6_prefix);
                (scope, value, Some(ip))
            }),
            Action::LockAccount => event.user_id.clone().map(|u| (Scope::User, u, None)),
        };
        let block_target = match (f.action, &target) {
            (Action::BlockIp | Action::ImmediateBlock, Some((_, value, _))) => Some(value.clone()),
            _ => None,
        };
        if let Some((scope, value, ip)) = target {
            let allowlisted = ip.is_some_and(|ip| self.blocklist.is_allowlisted(ip));
            if f.dry_run {
                notes.push(format!("dry run: would {} {value}", f.action.as_str()));
            } else if allowlisted {
                notes.push(format!("{value} is allowlisted: not blocked"));
            } else {
                let d = self.decide(f, scope, &value);
                notes.push(match d.until {
                    Some(u) => format!("{} {value} until {}", verb(scope), rfc3339(u)),
                    None => format!("{} {value} permanently", verb(scope)),
                });
                if let Err(e) = self.blocklist.insert_new(d.clone()) {
                    tracing::error!(error = %e, "decision refused by the block list");
                } else {
                    blocked = ip.is_some();
                    out.decisions.push(d);
                }
            }
        }
        if self.alerting || f.dry_run {
            out.alerts.push(alert_for(f, event, &notes, block_target.as_deref()));
        }
        blocked
    }

    fn decide(&mut self, f: &Firing, scope: Scope, value: &str) -> Decision {
        let count = self.offences.entry(value.to_string()).or_insert(0);
        *count += 1;
        let until = if f.action == Action::ImmediateBlock {
            // At once for the longest temporary duration (or permanently once the policy says so).
            let permanent = self.escalation.permanent_after.is_some_and(|p| *count >= p);
            (!permanent).then(|| f.at + self.escalation.max_duration)
        } else {
            self.escalation.duration_for(*count).map(|d| f.at + d)
        };
        Decision {
            id: Uuid::now_v7().to_string(),
            scope,
            value: value.to_string(),
            kind: DecisionType::Ban,
            origin: f.rule.clone(),
            reason: format!(
                "{}: {} event(s) within the rule window (offence {})",
                f.rule,
                f.event_ids.len(),
                count
            ),
            created_at: f.at,
            until,
            deleted_at: None,
        }
    }
}

fn verb(scope: Scope) -> &'static str {
    match scope {
        Scope::User => "locked account",
        _ => "blocked",
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The alert of a firing; `block_target` is the address or network a block rule bans.
fn alert_for(
    f: &Firing,
    event: &SecurityEvent,
    notes: &[String],
    block_target: Option<&str>,
) -> SecurityAlert {
    let dry = if f.dry_run { "[dry-run] " } else { "" };
    let title = format!("{dry}{}: {}", f.rule, f.key);
    let mut description = format!(
        "Rule {} ({}) fired for {} on {} event(s), the last a {} at {}.",
        f.rule,
        f.action.as_str(),
        f.key,
        f.event_ids.len(),
        event.event_type,
        rfc3339(f.at)
    );
    for n in notes {
        description.push(' ');
        description.push_str(n);
        description.push('.');
    }
    let mut indicators =
        vec![format!("rule:{}", f.rule), format!("event_type:{}", event.event_type)];
    if let Some(ip) = event.ip_address {
        indicators.push(format!("ip:{ip}"));
    }
    if let Some(u) = &event.user_id {
        indicators.push(format!("user:{u}"));
    }
    SecurityAlert {
        alert_id: Uuid::now_v7().to_string(),
        title,
        description,
        severity: f.severity,
        timestamp: f.at,
        event_ids: f.event_ids.clone(),
        threat_indicators: indicators,
        recommended_actions: recommended(f.action, event.ip_address, block_target),
        status: AlertStatus::Active,
        acknowledged_by: None,
        acknowledged_at: None,
        resolved_by: None,
        resolved_at: None,
        rule: Some(f.rule.clone()),
        key: Some(f.key.clone()),
        resolution: None,
        history: vec![AlertTransition {
            status: AlertStatus::Active,
            by: "seclog".to_string(),
            at: f.at,
            resolution: None,
            note: None,
        }],
    }
}

fn recommended(action: Action, ip: Option<IpAddr>, block_target: Option<&str>) -> Vec<String> {
    let who = match (block_target, ip) {
        (Some(t), _) => t.to_string(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => "the source".to_string(),
    };
    let mut v = match action {
        Action::BlockIp | Action::ImmediateBlock => vec![
            format!("Confirm the block of {who} is warranted; lift it if the source is legitimate"),
            "Review the targeted accounts for successful logins from the same source".to_string(),
        ],
        Action::LockAccount => vec![
            "Contact the account owner through a verified channel before unlocking".to_string(),
            "Force a password reset and review recent sessions".to_string(),
        ],
        Action::Alert => vec![format!("Investigate recent activity from {who}")],
    };
    v.push("Acknowledge this alert, then resolve it with a reason".to_string());
    v
}
