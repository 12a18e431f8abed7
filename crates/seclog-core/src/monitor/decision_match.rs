//! Which decisions an operator lifts by value: CrowdSec's `cscli decisions delete --ip|--range|
//! --scope/--value` and its local API's `DELETE /v1/decisions?ip=|range=|scope=&value=`.
//!
//! `ip` and `range` select, like CrowdSec's default (`contains=true`), the IP and range
//! decisions that *cover* the address or the whole network: once they are lifted, the address
//! is no longer blocked by any of them. Stores find those decisions by their values: the
//! values that can cover a network are the network truncated to each shorter prefix, and the
//! address itself ([`covering_values`]), so the lookup is an indexed `value IN (...)`.

use std::net::IpAddr;

use ipnet::IpNet;

use super::cidr::parse_net;
use super::decision::{Decision, Scope};
use crate::error::ValidationError;

/// A by-value selection of decisions; every set part must match (AND), and at least one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionMatch {
    /// Only decisions of this scope.
    pub scope: Option<Scope>,
    /// Only decisions with exactly this value (canonical text for the ip and range scopes:
    /// [`canonical_value`]).
    pub value: Option<String>,
    /// Only IP and range decisions whose network contains this whole network (an address is
    /// its /32 or /128).
    pub covering: Option<IpNet>,
}

/// The query keys [`DecisionMatch::from_params`] accepts.
const KEYS: &str = "ip, range, scope, value, type (ban), contains (true)";

impl DecisionMatch {
    /// Nothing set: it would select every decision.
    pub fn is_empty(&self) -> bool {
        self.scope.is_none() && self.value.is_none() && self.covering.is_none()
    }

    /// Builds a match from CrowdSec's query parameters: `ip`, `range`, `scope` (`ip`, `range`,
    /// `user`, any case), `value`, `type` (only `ban`: every seclog decision is a ban) and
    /// `contains` (only `true`, CrowdSec's default). An unknown key, a bad value, `ip` together
    /// with `range`, or no selection at all is an error naming the parameter.
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ValidationError> {
        let mut m = DecisionMatch::default();
        for (key, value) in params {
            let value = value.trim();
            match key {
                "ip" | "range" => {
                    if m.covering.is_some() {
                        return Err(ValidationError::new(key, "give one of ip and range"));
                    }
                    let net = if key == "ip" {
                        IpNet::from(crate::query::parse_ip(key, value)?)
                    } else {
                        parse_net(value).map_err(|e| ValidationError::new(key, e.to_string()))?
                    };
                    m.covering = Some(normalize_net(net));
                }
                "scope" => m.scope = Some(parse_scope(key, value)?),
                "value" => m.value = Some(value.to_string()),
                "type" if value.eq_ignore_ascii_case("ban") => {}
                "type" => {
                    return Err(ValidationError::new(
                        key,
                        format!("{value:?}: seclog's decisions are all of type ban"),
                    ))
                }
                "contains" if value.eq_ignore_ascii_case("true") => {}
                "contains" => {
                    return Err(ValidationError::new(
                        key,
                        "only contains=true (decisions covering ip or range) is supported",
                    ))
                }
                other => {
                    return Err(ValidationError::new(
                        other,
                        format!("unknown parameter; accepted: {KEYS}"),
                    ))
                }
            }
        }
        if let (Some(scope), Some(v)) = (m.scope, m.value.as_deref()) {
            m.value = Some(canonical_value(scope, v)?);
        }
        if m.is_empty() {
            return Err(ValidationError::new("ip", format!("give at least one of {KEYS}")));
        }
        Ok(m)
    }

    /// Whether `d` is selected (whatever its state: stores also require it to be in force).
    pub fn matches(&self, d: &Decision) -> bool {
        self.scope.is_none_or(|s| s == d.scope)
            && self.value.as_deref().is_none_or(|v| v == d.value)
            && self.covering.is_none_or(|net| covers(d, net))
    }
}

/// Whether an IP or range decision's network contains all of `net` (same address family).
fn covers(d: &Decision, net: IpNet) -> bool {
    if d.scope == Scope::User {
        return false;
    }
    parse_net(&d.value).is_ok_and(|own| own.contains(&normalize_net(net)))
}

/// An IPv4-mapped IPv6 network as the IPv4 network it maps; others truncated to their prefix.
fn normalize_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(|n| IpNet::V4(n.trunc()))
                .unwrap_or(net.trunc()),
            None => net.trunc(),
        },
        other => other.trunc(),
    }
}

/// Parses a scope name as CrowdSec and seclog write it (`Ip`, `range`, `USER`...).
pub fn parse_scope(field: &str, text: &str) -> Result<Scope, ValidationError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "ip" => Ok(Scope::Ip),
        "range" => Ok(Scope::Range),
        "user" => Ok(Scope::User),
        _ => Err(ValidationError::new(field, format!("{text:?}: expected ip, range or user"))),
    }
}

/// The text a decision value is stored as: an address in its normal form (IPv4-mapped IPv6 as
/// IPv4), a network truncated to its prefix (`203.0.113.7/24` is `203.0.113.0/24`), a user id
/// trimmed. An address is refused for the range scope only when it is not one.
pub fn canonical_value(scope: Scope, value: &str) -> Result<String, ValidationError> {
    match scope {
        Scope::Ip => Ok(crate::query::parse_ip("value", value)?.to_string()),
        Scope::Range => parse_net(value)
            .map(|n| normalize_net(n).to_string())
            .map_err(|e| ValidationError::new("value", e.to_string())),
        Scope::User => Ok(value.trim().to_string()),
    }
}

/// The canonical values of every IP or range decision that covers `net`: the network
/// truncated to each prefix from 0 to its own, and the bare address when `net` is one host.
/// At most 130 values (IPv6 /128).
pub fn covering_values(net: IpNet) -> Vec<String> {
    let net = normalize_net(net);
    let len = net.prefix_len();
    let mut out: Vec<String> = (0..=len)
        .filter_map(|p| IpNet::new(net.addr(), p).ok())
        .map(|n| n.trunc().to_string())
        .collect();
    if len == net.max_prefix_len() {
        out.push(IpAddr::to_string(&net.addr()));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::monitor::decision::DecisionType;
    use proptest::prelude::*;
    use time::OffsetDateTime;

    fn decision(scope: Scope, value: &str) -> Decision {
        Decision {
            id: "d".into(),
            scope,
            value: value.into(),
            kind: DecisionType::Ban,
            origin: "manual".into(),
            reason: "test".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            until: None,
            deleted_at: None,
        }
    }

    fn params(q: &[(&str, &str)]) -> Result<DecisionMatch, ValidationError> {
        DecisionMatch::from_params(q.iter().copied())
    }

    #[test]
    fn params_name_what_is_wrong() {
        assert_eq!(params(&[]).unwrap_err().field, "ip");
        assert_eq!(params(&[("ip", "1.2.3")]).unwrap_err().field, "ip");
        assert_eq!(params(&[("range", "10.0.0.0/33")]).unwrap_err().field, "range");
        assert_eq!(
            params(&[("ip", "1.2.3.4"), ("range", "1.2.3.0/24")]).unwrap_err().field,
            "range"
        );
        assert_eq!(params(&[("scope", "country")]).unwrap_err().field, "scope");
        assert_eq!(params(&[("ip", "1.2.3.4"), ("type", "captcha")]).unwrap_err().field, "type");
        assert_eq!(
            params(&[("ip", "1.2.3.4"), ("contains", "false")]).unwrap_err().field,
            "contains"
        );
        assert_eq!(params(&[("colour", "red")]).unwrap_err().field, "colour");
        assert_eq!(params(&[("scope", "Ip"), ("value", "1.2.3")]).unwrap_err().field, "value");
    }

    #[test]
    fn params_are_normalised() {
        let m = params(&[("ip", "::ffff:1.2.3.4"), ("type", "ban"), ("contains", "true")]).unwrap();
        assert_eq!(m.covering, Some("1.2.3.4/32".parse().unwrap()));
        let m = params(&[("scope", "Range"), ("value", "203.0.113.7/24")]).unwrap();
        assert_eq!((m.scope, m.value.as_deref()), (Some(Scope::Range), Some("203.0.113.0/24")));
        let m = params(&[("value", " alice ")]).unwrap();
        assert_eq!((m.scope, m.value.as_deref()), (None, Some("alice")));
    }

    #[test]
    fn an_address_is_covered_by_its_ip_and_range_decisions_only() {
        let m = params(&[("ip", "2001:db8::7")]).unwrap();
        assert!(m.matches(&decision(Scope::Ip, "2001:db8::7")));
        assert!(m.matches(&decision(Scope::Range, "2001:db8::/64")));
        assert!(!m.matches(&decision(Scope::Range, "2001:db8:1::/64")));
        assert!(!m.matches(&decision(Scope::Ip, "2001:db8::8")));
        assert!(!m.matches(&decision(Scope::User, "2001:db8::7")));
        let m = params(&[("range", "10.0.0.0/16")]).unwrap();
        assert!(m.matches(&decision(Scope::Range, "10.0.0.0/8")));
        assert!(!m.matches(&decision(Scope::Range, "10.0.0.0/24")), "contained, not covering");
        assert!(!m.matches(&decision(Scope::Ip, "10.0.0.1")));
    }

    fn net_in_small_space() -> impl Strategy<Value = IpNet> {
        // Few distinct addresses, so containment happens often.
        (0u8..4, 0u8..4, 20u8..=32).prop_map(|(a, b, p)| {
            IpNet::V4(ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(10, 0, a, b), p).unwrap())
        })
    }

    proptest! {
        /// The indexed lookup's values select exactly the decisions whose network contains the
        /// queried one (the oracle: `IpNet::contains` over the decision's parsed value).
        #[test]
        fn covering_values_are_exactly_the_covering_decisions(
            query in net_in_small_space(),
            own in net_in_small_space(),
            as_ip in any::<bool>(),
        ) {
            let d = if as_ip {
                decision(Scope::Ip, &own.addr().to_string())
            } else {
                decision(Scope::Range, &canonical_value(Scope::Range, &own.to_string()).unwrap())
            };
            let own_net = parse_net(&d.value).unwrap();
            let oracle = own_net.contains(&query.trunc());
            prop_assert_eq!(covering_values(query).contains(&d.value), oracle);
            let m = DecisionMatch { covering: Some(query), ..DecisionMatch::default() };
            prop_assert_eq!(m.matches(&d), oracle);
        }
    }
}
