//! Block decisions (CrowdSec's shape: scope, value, type, origin, duration) and the escalation
//! of durations for repeat offenders.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::cidr::{parse_net, V6Prefix};

/// What a decision applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One address (`value` is an IP).
    Ip,
    /// A network (`value` is a CIDR such as `2001:db8::/64`).
    Range,
    /// A user account (`value` is a user id).
    User,
}

/// What a decision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionType {
    /// Refuse requests.
    #[default]
    Ban,
}

/// A block decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Unique id.
    pub id: String,
    /// What it applies to.
    pub scope: Scope,
    /// The IP, CIDR or user id.
    pub value: String,
    /// What it does (`ban`).
    #[serde(rename = "type", default)]
    pub kind: DecisionType,
    /// The rule that made it, or `manual`.
    pub origin: String,
    /// Why.
    pub reason: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it ends (`None`: permanent).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
    /// When it was lifted (`None`: not lifted).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
}

/// A decision whose value does not fit its scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("decision {id:?}: invalid value {value:?} for scope {scope:?}: {message}")]
pub struct DecisionError {
    /// The decision id.
    pub id: String,
    /// Its scope.
    pub scope: Scope,
    /// The value (truncated to 64 characters).
    pub value: String,
    /// What is wrong.
    pub message: String,
}

impl Decision {
    /// In force at `now`: not lifted, and permanent or ending after `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.deleted_at.is_none() && self.until.is_none_or(|u| u > now)
    }

    /// Checks that `value` fits `scope` (an address, a network, a non-empty user id).
    pub fn validate(&self) -> Result<(), DecisionError> {
        let err = |message: &str| DecisionError {
            id: self.id.clone(),
            scope: self.scope,
            value: self.value.chars().take(64).collect(),
            message: message.to_string(),
        };
        match self.scope {
            Scope::Ip => self
                .value
                .trim()
                .parse::<IpAddr>()
                .map(|_| ())
                .map_err(|_| err("not an IP address")),
            Scope::Range => {
                parse_net(&self.value).map(|_| ()).map_err(|_| err("not a CIDR network"))
            }
            Scope::User if self.value.is_empty() => Err(err("empty user id")),
            Scope::User => Ok(()),
        }
    }
}

/// The key an address is banned under: IPv4 (and IPv4-mapped IPv6) as the address, IPv6 as its
/// `/v6_prefix` network (64 by default, as one host usually owns a /64). A prefix of 128 or more
/// bans the single IPv6 address. The rules and the IP risk tracker count an IPv6 address under
/// the same network ([`V6Prefix`]), so the network they name is the one banned.
pub fn block_key(ip: IpAddr, v6_prefix: u8) -> (Scope, String) {
    let prefix = V6Prefix::new(v6_prefix);
    match ip.to_canonical() {
        IpAddr::V4(v4) => (Scope::Ip, v4.to_string()),
        IpAddr::V6(v6) if prefix.is_exact() => (Scope::Ip, v6.to_string()),
        IpAddr::V6(v6) => (Scope::Range, prefix.render(u128::from(v6))),
    }
}

/// The default IPv6 grouping prefix for [`block_key`].
pub const DEFAULT_V6_PREFIX: u8 = 64;

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.whole_seconds())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let n = u64::deserialize(d)?;
        let n = i64::try_from(n).map_err(|_| serde::de::Error::custom("duration too large"))?;
        Ok(Duration::seconds(n))
    }
}

/// How long a ban lasts, by how many times the offender was banned before.
///
/// Offence `n` (1 for the first) gets `base_duration * factor^(n-1)`, capped at `max_duration`;
/// from offence `permanent_after` on (when set) the ban is permanent. Durations are whole seconds
/// in serde.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EscalationPolicy {
    /// The first ban's duration (seconds in serde).
    #[serde(with = "secs")]
    pub base_duration: Duration,
    /// The multiplier per repeat offence (at least 1).
    pub factor: f64,
    /// The longest temporary ban (seconds in serde).
    #[serde(with = "secs")]
    pub max_duration: Duration,
    /// The offence count from which bans are permanent; `None`: never permanent.
    #[serde(default)]
    pub permanent_after: Option<u32>,
}

impl Default for EscalationPolicy {
    /// 15 minutes, x4 per repeat (15 min, 1 h, 4 h, 16 h, ...), at most 7 days, never permanent:
    /// addresses get reassigned, so a permanent IP ban is an operator's call.
    fn default() -> Self {
        EscalationPolicy {
            base_duration: Duration::minutes(15),
            factor: 4.0,
            max_duration: Duration::days(7),
            permanent_after: None,
        }
    }
}

impl EscalationPolicy {
    /// The duration of the ban for the `offence_count`-th offence (0 is treated as 1);
    /// `None` means permanent.
    pub fn duration_for(&self, offence_count: u32) -> Option<Duration> {
        let n = offence_count.max(1);
        if self.permanent_after.is_some_and(|p| n >= p) {
            return None;
        }
        let base = self.base_duration.as_seconds_f64().max(0.0);
        let max = self.max_duration.as_seconds_f64().max(0.0);
        let exp = i32::try_from(n - 1).unwrap_or(i32::MAX);
        let secs = (base * self.factor.max(1.0).powi(exp)).min(max);
        Some(Duration::checked_seconds_f64(secs).unwrap_or(self.max_duration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_grows_caps_and_becomes_permanent() {
        let p = EscalationPolicy::default();
        assert_eq!(p.duration_for(0), Some(Duration::minutes(15)));
        assert_eq!(p.duration_for(1), Some(Duration::minutes(15)));
        assert_eq!(p.duration_for(2), Some(Duration::hours(1)));
        assert_eq!(p.duration_for(3), Some(Duration::hours(4)));
        assert_eq!(p.duration_for(10), Some(Duration::days(7)));
        assert_eq!(p.duration_for(u32::MAX), Some(Duration::days(7)));
        let perm = EscalationPolicy { permanent_after: Some(3), ..p };
        assert_eq!(perm.duration_for(2), Some(Duration::hours(1)));
        assert_eq!(perm.duration_for(3), None);
        let mut last = Duration::ZERO;
        for n in 1..40 {
            let d = p.duration_for(n).unwrap();
            assert!(d >= last, "non-decreasing");
            last = d;
        }
    }

    #[test]
    fn escalation_serde_in_seconds() {
        let p: EscalationPolicy = serde_json::from_str(
            r#"{"base_duration":60,"factor":2.0,"max_duration":3600,"permanent_after":5}"#,
        )
        .unwrap();
        assert_eq!(p.base_duration, Duration::minutes(1));
        assert_eq!(p.duration_for(3), Some(Duration::minutes(4)));
        assert_eq!(p.duration_for(5), None);
        assert_eq!(serde_json::to_value(p).unwrap()["max_duration"], 3600);
    }

    #[test]
    fn ipv6_is_banned_as_its_64() {
        assert_eq!(
            block_key("203.0.113.9".parse().unwrap(), 64),
            (Scope::Ip, "203.0.113.9".into())
        );
        assert_eq!(
            block_key("::ffff:203.0.113.9".parse().unwrap(), 64),
            (Scope::Ip, "203.0.113.9".into())
        );
        assert_eq!(
            block_key("2001:db8:1:2:3:4:5:6".parse().unwrap(), DEFAULT_V6_PREFIX),
            (Scope::Range, "2001:db8:1:2::/64".into())
        );
        assert_eq!(
            block_key("2001:db8::1".parse().unwrap(), 128),
            (Scope::Ip, "2001:db8::1".into())
        );
    }

    #[test]
    fn decision_serde_has_type_field_and_validates() {
        let d = Decision {
            id: "d1".into(),
            scope: Scope::Range,
            value: "2001:db8::/64".into(),
            kind: DecisionType::Ban,
            origin: "high_failure_rate".into(),
            reason: "5 auth_failure in 300s".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            until: None,
            deleted_at: None,
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["type"], "ban");
        assert_eq!(v["scope"], "range");
        assert_eq!(serde_json::from_value::<Decision>(v).unwrap(), d);
        d.validate().unwrap();
        let bad = Decision { scope: Scope::Ip, value: "nope".into(), ..d.clone() };
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("d1"), "{e}");
        assert!(d.is_active(OffsetDateTime::UNIX_EPOCH));
        let lifted = Decision { deleted_at: Some(OffsetDateTime::UNIX_EPOCH), ..d };
        assert!(!lifted.is_active(OffsetDateTime::UNIX_EPOCH));
    }
}
