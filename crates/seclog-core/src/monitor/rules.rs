//! The alert rule model: what a rule counts, over which window, per which key, and what it does.
//!
//! Rules load from TOML or JSON. In TOML each rule is a table named after the rule:
//!
//! ```toml
//! [rules.high_failure_rate]
//! threshold = 5
//! window = 300            # seconds; `window_secs` is accepted too
//! event_types = ["auth_failure"]
//! action = "block_ip"
//! ```
//!
//! See [`RuleSet`] for loading such a map, and [`default_rules`] for the built-in set.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event_type::EventType;
use crate::severity::Severity;

/// The largest accepted threshold: per-key state keeps up to `threshold` events.
pub const MAX_THRESHOLD: u32 = 1000;
/// The largest accepted window (30 days).
pub const MAX_WINDOW_SECS: u64 = 30 * 24 * 3600;

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Raise an alert only.
    Alert,
    /// Raise an alert and block the client address (with escalating durations).
    BlockIp,
    /// Raise an alert and block the client address at once, for the longest duration.
    ImmediateBlock,
    /// Raise an alert and lock the user account.
    LockAccount,
}

impl Action {
    /// The wire name (`block_ip`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::BlockIp => "block_ip",
            Action::ImmediateBlock => "immediate_block",
            Action::LockAccount => "lock_account",
        }
    }

    /// The severity of an alert raised by this action when the rule does not state one.
    pub const fn default_severity(self) -> Severity {
        match self {
            Action::Alert => Severity::Medium,
            Action::BlockIp | Action::LockAccount => Severity::High,
            Action::ImmediateBlock => Severity::Critical,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event field whose value partitions a rule's state: one window per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The client address (`ip_address`).
    #[default]
    Ip,
    /// The user (`user_id`).
    UserId,
    /// The (hashed) session (`session_id`).
    SessionId,
    /// The pair of client address and user.
    IpAndUser,
}

/// The field counted by a [`RuleKind::DistinctCount`] rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistinctField {
    /// Distinct `user_id` values (one IP failing on many users: credential stuffing).
    UserId,
    /// Distinct `ip_address` values (one user failing from many addresses).
    Ip,
}

/// How a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleKind {
    /// `threshold` events of the rule's types for one key within `window_secs`.
    #[default]
    Threshold,
    /// `threshold` distinct values of `field` among the key's events within `window_secs`.
    DistinctCount {
        /// The field whose distinct values are counted.
        field: DistinctField,
    },
    /// `threshold` events of the rule's types followed by a `success_type` event for the same
    /// key, all within `window_secs` (failures before the key's previous success do not count).
    Sequence {
        /// The event type that completes the sequence (`auth_success`).
        success_type: EventType,
    },
}

/// Extra conditions an event must meet to count for a rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFilter {
    /// Only events whose `request_url` starts with this prefix.
    #[serde(default)]
    pub request_url_prefix: Option<String>,
}

fn default_true() -> bool {
    true
}

/// One alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The rule name (the TOML table name when loaded through [`RuleSet`]).
    #[serde(default)]
    pub name: String,
    /// How the rule counts.
    #[serde(default)]
    pub kind: RuleKind,
    /// How many events (or distinct values) make the rule fire; at least 1.
    pub threshold: u32,
    /// The window in seconds (inclusive: events `window_secs` apart are in one window).
    #[serde(alias = "window")]
    pub window_secs: u64,
    /// The event types counted.
    pub event_types: Vec<EventType>,
    /// What to do on firing.
    pub action: Action,
    /// The key the state is partitioned by.
    #[serde(default)]
    pub group_by: GroupBy,
    /// Extra conditions.
    #[serde(default)]
    pub filter: Option<RuleFilter>,
    /// Fire and report, but take no action (`Firing::dry_run`).
    #[serde(default)]
    pub dry_run: bool,
    /// Disabled rules are kept in the set but never evaluated.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The severity of the alert; [`Action::default_severity`] when absent.
    #[serde(default)]
    pub severity: Option<Severity>,
}

/// A rule that is not valid, naming the rule and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// A rule without a name.
    #[error("a rule has an empty name")]
    EmptyName,
    /// Two rules with one name.
    #[error("rule {0:?} is defined twice")]
    DuplicateName(String),
    /// A field with a value out of range.
    #[error("rule {rule:?}: invalid {field}: {message}")]
    Invalid {
        /// The rule.
        rule: String,
        /// The field (`threshold`, `window_secs`, `event_types`, ...).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Rule {
    /// A threshold rule grouped by IP, enabled, not dry-run, with no filter.
    pub fn threshold(
        name: impl Into<String>,
        threshold: u32,
        window_secs: u64,
        event_types: Vec<EventType>,
        action: Action,
    ) -> Self {
        Rule {
            name: name.into(),
            kind: RuleKind::Threshold,
            threshold,
            window_secs,
            event_types,
            action,
            group_by: GroupBy::Ip,
            filter: None,
            dry_run: false,
            enabled: true,
            severity: None,
        }
    }

    /// The severity of alerts raised by this rule.
    pub fn alert_severity(&self) -> Severity {
        self.severity.unwrap_or(self.action.default_severity())
    }

    /// Checks the rule: a name, `1 <= threshold <= 1000`, `1 <= window_secs <= 30 days`, at
    /// least one event type, and a sequence's success type not among its counted types.
    pub fn validate(&self) -> Result<(), RuleError> {
        let invalid = |field: &'static str, message: String| RuleError::Invalid {
            rule: self.name.clone(),
            field,
            message,
        };
        if self.name.trim().is_empty() {
            return Err(RuleError::EmptyName);
        }
        if self.threshold < 1 || self.threshold > MAX_THRESHOLD {
            return Err(invalid(
                "threshold",
                format!("{} is not between 1 and {MAX_THRESHOLD}", self.threshold),
            ));
        }
        if self.window_secs < 1 || self.window_secs > MAX_WINDOW_SECS {
            return Err(invalid(
                "window_secs",
                format!("{} is not between 1 and {MAX_WINDOW_SECS} seconds", self.window_secs),
            ));
        }
        if self.event_types.is_empty() {
            return Err(invalid("event_types", "at least one event type is needed".into()));
        }
        if let RuleKind::Sequence { success_type } = self.kind {
            if self.event_types.contains(&success_type) {
                return Err(invalid(
                    "kind.success_type",
                    format!("{success_type} is also one of the counted event_types"),
                ));
            }
        }
        if let Some(RuleFilter { request_url_prefix: Some(p) }) = &self.filter {
            if p.is_empty() {
                return Err(invalid("filter.request_url_prefix", "empty prefix".into()));
            }
        }
        Ok(())
    }
}

/// Validates a list of rules: each rule, and unique names.
pub fn validate_rules(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen = HashSet::new();
    for r in rules {
        r.validate()?;
        if !seen.insert(r.name.as_str()) {
            return Err(RuleError::DuplicateName(r.name.clone()));
        }
    }
    Ok(())
}

/// The `[rules.<name>]` tables of a configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Rules by name.
    #[serde(default)]
    pub rules: BTreeMap<String, Rule>,
}

impl RuleSet {
    /// The rules, each named after its table (a `name` inside the table must agree), validated.
    pub fn into_rules(self) -> Result<Vec<Rule>, RuleError> {
        let mut out = Vec::with_capacity(self.rules.len());
        for (name, mut rule) in self.rules {
            if !rule.name.is_empty() && rule.name != name {
                return Err(RuleError::Invalid {
                    rule: name,
                    field: "name",
                    message: format!("the table is named differently from name = {:?}", rule.name),
                });
            }
            rule.name = name;
            out.push(rule);
        }
        validate_rules(&out)?;
        Ok(out)
    }
}

/// The built-in rules.
///
/// The specification's three, grouped by IP:
/// - `high_failure_rate`: 5 `auth_failure` in 300 s -> `block_ip`;
/// - `suspicious_activity`: 10 `suspicious_activity` in 600 s -> `alert`;
/// - `critical_violations`: 1 `sql_injection_attempt` or `xss_attempt` in 60 s ->
///   `immediate_block`;
///
/// and two more, alerting only (they can misfire on shared addresses, so they do not block):
/// - `credential_stuffing` (disabled by default): one IP failing `auth_failure` on 10 distinct
///   users in 600 s. Disabled because it doubles the per-IP state (about 160 MB more per
///   million active IPs) and flags shared egress addresses; enable it in the configuration;
/// - `account_takeover` (enabled): 5 `auth_failure` for one user then an `auth_success`,
///   within 600 s.
pub fn default_rules() -> Vec<Rule> {
    use EventType::*;
    vec![
        Rule::threshold("high_failure_rate", 5, 300, vec![AuthFailure], Action::BlockIp),
        Rule::threshold("suspicious_activity", 10, 600, vec![SuspiciousActivity], Action::Alert),
        Rule::threshold(
            "critical_violations",
            1,
            60,
            vec![SqlInjectionAttempt, XssAttempt],
            Action::ImmediateBlock,
        ),
        Rule {
            kind: RuleKind::DistinctCount { field: DistinctField::UserId },
            severity: Some(Severity::High),
            enabled: false,
            ..Rule::threshold("credential_stuffing", 10, 600, vec![AuthFailure], Action::Alert)
        },
        Rule {
            kind: RuleKind::Sequence { success_type: AuthSuccess },
            group_by: GroupBy::UserId,
            severity: Some(Severity::High),
            ..Rule::threshold("account_takeover", 5, 600, vec![AuthFailure], Action::Alert)
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_rules_and_valid() {
        let rules = default_rules();
        validate_rules(&rules).unwrap();
        let hfr = &rules[0];
        assert_eq!(hfr.name, "high_failure_rate");
        assert_eq!((hfr.threshold, hfr.window_secs), (5, 300));
        assert_eq!(hfr.event_types, vec![EventType::AuthFailure]);
        assert_eq!(hfr.action, Action::BlockIp);
        assert_eq!(rules[1].name, "suspicious_activity");
        assert_eq!(
            (rules[1].threshold, rules[1].window_secs, rules[1].action),
            (10, 600, Action::Alert)
        );
        assert_eq!(rules[2].name, "critical_violations");
        assert_eq!(
            rules[2].event_types,
            vec![EventType::SqlInjectionAttempt, EventType::XssAttempt]
        );
        assert_eq!(rules[2].action, Action::ImmediateBlock);
        let enabled: Vec<_> = rules.iter().filter(|r| r.enabled).map(|r| r.name.as_str()).collect();
        assert_eq!(
            enabled,
            vec![
                "high_failure_rate",
                "suspicious_activity",
                "critical_violations",
                "account_takeover"
            ]
        );
    }

    #[test]
    fn loads_from_toml_tables() {
        let text = r#"
            [rules.high_failure_rate]
            threshold = 5
            window = 300
            event_types = ["auth_failure"]
            action = "block_ip"

            [rules.stuffing]
            kind = { type = "distinct_count", field = "user_id" }
            threshold = 3
            window_secs = 60
            event_types = ["auth_failure"]
            action = "alert"
            group_by = "ip"
            dry_run = true
            filter = { request_url_prefix = "/api/login" }
        "#;
        let set: RuleSet = toml::from_str(text).unwrap();
        let rules = set.into_rules().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].name, "high_failure_rate");
        assert_eq!(rules[0].window_secs, 300);
        assert!(rules[0].enabled);
        assert_eq!(rules[1].kind, RuleKind::DistinctCount { field: DistinctField::UserId });
        assert!(rules[1].dry_run);
        assert_eq!(
            rules[1].filter.as_ref().and_then(|f| f.request_url_prefix.as_deref()),
            Some("/api/login")
        );
    }

    #[test]
    fn round_trips_through_json() {
        for r in default_rules() {
            let s = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Rule>(&s).unwrap(), r);
        }
        assert_eq!(serde_json::to_string(&Action::ImmediateBlock).unwrap(), "\"immediate_block\"");
        assert_eq!(serde_json::to_string(&Action::LockAccount).unwrap(), "\"lock_account\"");
    }

    #[test]
    fn invalid_rules_name_the_field() {
        let base = Rule::threshold("r", 5, 300, vec![EventType::AuthFailure], Action::Alert);
        let e = Rule { threshold: 0, ..base.clone() }.validate().unwrap_err().to_string();
        assert!(e.contains("\"r\"") && e.contains("threshold"), "{e}");
        let e = Rule { window_secs: 0, ..base.clone() }.validate().unwrap_err().to_string();
        assert!(e.contains("window_secs"), "{e}");
        let e = Rule { event_types: vec![], ..base.clone() }.validate().unwrap_err().to_string();
        assert!(e.contains("event_types"), "{e}");
        let e = Rule {
            kind: RuleKind::Sequence { success_type: EventType::AuthFailure },
            ..base.clone()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("success_type"), "{e}");
        let dup = validate_rules(&[base.clone(), base.clone()]).unwrap_err();
        assert_eq!(dup, RuleError::DuplicateName("r".into()));
        let unknown = toml::from_str::<RuleSet>(
            "[rules.x]\nthreshold = 1\nwindow = 1\nevent_types = [\"auth_failure\"]\naction = \"ban\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("ban"), "{unknown}");
    }
}
