//! Real-time monitoring: alert rules over exact sliding windows, CIDR sets, block decisions, the
//! lock-free block list and per-IP decaying risk. Pure: every time is passed in.

pub mod blocklist;
pub mod cidr;
pub mod decision;
pub mod decision_match;
mod dense;
pub mod engine;
pub mod ip_risk;
pub mod rules;
mod window;

pub use blocklist::{BlockInfo, BlockList};
pub use cidr::{CidrError, IpSet, V6Prefix};
pub use decision::{block_key, Decision, DecisionError, DecisionType, EscalationPolicy, Scope};
pub use decision_match::DecisionMatch;
pub use engine::{Firing, RuleEngine};
pub use ip_risk::{IpRiskConfig, IpRiskState, IpRiskTracker};
pub use rules::{
    default_rules, validate_rules, Action, DistinctField, GroupBy, Rule, RuleError, RuleFilter,
    RuleKind, RuleSet,
};
