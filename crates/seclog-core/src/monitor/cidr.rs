//! `IpSet`: a sorted, merged set of address ranges over IPv4 and IPv6.
//!
//! Every address is a `u128`: IPv6 as is, IPv4 as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`).
//! Consequently an IPv6 network that covers `::ffff:0:0/96` (such as `::/0`) also covers IPv4,
//! and an IPv4-mapped IPv6 address is looked up as the IPv4 address it maps.
//!
//! Also [`V6Prefix`]: how IPv6 addresses are grouped into one offender (their network of a
//! configured prefix length), shared by the rules, the IP risk tracker and the bans.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// A text that is neither an IP address nor a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid network {value:?}: expected an IP address or CIDR such as 10.0.0.0/8")]
pub struct CidrError {
    /// The rejected text (truncated to 64 characters).
    pub value: String,
}

/// The `u128` form of an address (IPv4 as IPv4-mapped IPv6).
pub fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The inclusive `u128` range of a network.
pub fn net_range(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => {
            (u128::from(n.network().to_ipv6_mapped()), u128::from(n.broadcast().to_ipv6_mapped()))
        }
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// Parses an address or a CIDR network (a bare address is a /32 or /128).
pub fn parse_net(s: &str) -> Result<IpNet, CidrError> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| CidrError { value: s.chars().take(64).collect() })
}

/// The grouping of IPv6 addresses into offenders: an address counts as its network of `len`
/// bits (one host usually owns a /64 and can rotate within it); 128 keeps each address apart.
///
/// The key of an address is the address with its host bits cleared: still a `u128`, so keying
/// by it costs one AND. IPv4 is never grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V6Prefix {
    len: u8,
    mask: u128,
}

impl V6Prefix {
    /// Groups by networks of `len` bits (a length above 128 is 128: each address apart).
    pub const fn new(len: u8) -> Self {
        let len = if len > 128 { 128 } else { len };
        let mask = if len == 0 { 0 } else { u128::MAX << (128 - len as u32) };
        V6Prefix { len, mask }
    }

    /// The prefix length (at most 128).
    pub const fn bits(self) -> u8 {
        self.len
    }

    /// Each address is its own key (`len` is 128).
    pub const fn is_exact(self) -> bool {
        self.len == 128
    }

    /// The key of `addr`: its network's first address.
    pub const fn key(self, addr: u128) -> u128 {
        addr & self.mask
    }

    /// The key as text: the network in CIDR form (`2001:db8:1:2::/64`), or the address when
    /// each address is its own key.
    pub fn render(self, key: u128) -> String {
        let net = Ipv6Addr::from(self.key(key));
        if self.is_exact() {
            net.to_string()
        } else {
            format!("{net}/{}", self.len)
        }
    }
}

impl Default for V6Prefix {
    /// Networks of 64 bits.
    fn default() -> Self {
        V6Prefix::new(64)
    }
}

/// A set of addresses as sorted, disjoint, non-adjacent inclusive ranges; lookups are a
/// binary search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSet {
    ranges: Vec<(u128, u128)>,
}

impl IpSet {
    /// The empty set.
    pub fn new() -> Self {
        IpSet::default()
    }

    /// The union of `nets`.
    pub fn from_nets(nets: impl IntoIterator<Item = IpNet>) -> Self {
        Self::from_ranges(nets.into_iter().map(|n| net_range(&n)))
    }

    /// The union of inclusive ranges (a range with `start > end` is ignored).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u128, u128)>) -> Self {
        let mut v: Vec<(u128, u128)> = ranges.into_iter().filter(|(a, b)| a <= b).collect();
        v.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        IpSet { ranges: merged }
    }

    /// Parses addresses and CIDR networks; the first bad entry is the error.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, CidrError> {
        let nets = items.into_iter().map(parse_net).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_nets(nets))
    }

    /// Whether `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_u128(ip_to_u128(ip))
    }

    /// Whether the `u128` address form is in the set.
    pub fn contains_u128(&self, x: u128) -> bool {
        let i = self.ranges.partition_point(|&(a, _)| a <= x);
        i > 0 && self.ranges.get(i - 1).is_some_and(|&(_, b)| x <= b)
    }

    /// No address at all.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The number of disjoint ranges.
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// The ranges as `(first, last)` addresses.
    pub fn ranges(&self) -> impl Iterator<Item = (IpAddr, IpAddr)> + '_ {
        self.ranges.iter().map(|&(a, b)| (u128_to_ip(a), u128_to_ip(b)))
    }
}

/// The address of a `u128` form (IPv4-mapped forms give IPv4).
pub fn u128_to_ip(x: u128) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(x)).to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn basic_membership_and_merging() {
        let set =
            IpSet::parse(["10.0.0.0/8", "192.168.1.7", "10.255.0.0/16", "2001:db8::/32"]).unwrap();
        assert_eq!(set.range_count(), 3);
        assert!(set.contains(ip("10.1.2.3")));
        assert!(set.contains(ip("::ffff:10.1.2.3")), "mapped form is the IPv4 address");
        assert!(set.contains(ip("192.168.1.7")));
        assert!(!set.contains(ip("192.168.1.8")));
        assert!(set.contains(ip("2001:db8:ffff::1")));
        assert!(!set.contains(ip("2001:db9::1")));
        assert!(!set.contains(ip("11.0.0.0")));
        let adjacent = IpSet::parse(["10.0.0.0/25", "10.0.0.128/25"]).unwrap();
        assert_eq!(adjacent.range_count(), 1);
        assert_eq!(adjacent.ranges().next(), Some((ip("10.0.0.0"), ip("10.0.0.255"))));
    }

    #[test]
    fn v6_prefix_keys_an_address_by_its_network() {
        let a = u128::from("2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse::<Ipv6Addr>().unwrap());
        let p64 = V6Prefix::new(64);
        assert_eq!(p64.render(p64.key(a)), "2001:db8:1:2::/64");
        let b = u128::from("2001:db8:1:2::77".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p64.key(a), p64.key(b));
        let p48 = V6Prefix::new(48);
        assert_eq!(p48.render(a), "2001:db8:1::/48");
        let exact = V6Prefix::new(128);
        assert_eq!((exact.key(a), exact.render(a)), (a, "2001:db8:1:2:aaaa:bbbb:cccc:dddd".into()));
        assert_eq!(V6Prefix::new(200), exact, "above 128 is 128");
        assert_eq!(V6Prefix::new(0).render(a), "::/0");
        assert_eq!(V6Prefix::default(), p64);
    }

    #[test]
    fn bad_entries_are_named() {
        let e = IpSet::parse(["10.0.0.0/8", "10.0.0.0/33"]).unwrap_err();
        assert_eq!(e.value, "10.0.0.0/33");
        assert!(e.to_string().contains("10.0.0.0/33"));
    }

    fn oracle(nets: &[IpNet], x: IpAddr) -> bool {
        nets.iter().any(|n| match (n, x.to_canonical()) {
            (IpNet::V4(n), IpAddr::V4(a)) => n.contains(&a),
            (IpNet::V6(n), IpAddr::V6(a)) => n.contains(&a),
            (IpNet::V6(n), IpAddr::V4(a)) => n.contains(&a.to_ipv6_mapped()),
            (IpNet::V4(_), IpAddr::V6(_)) => false,
        })
    }

    fn arb_net() -> impl Strategy<Value = IpNet> {
        prop_oneof![
            (any::<[u8; 4]>(), 0u8..=32)
                .prop_map(|(a, p)| { IpNet::new(IpAddr::from(a), p).unwrap().trunc() }),
            (any::<[u8; 16]>(), 0u8..=128)
                .prop_map(|(a, p)| { IpNet::new(IpAddr::from(a), p).unwrap().trunc() }),
            // Small nets inside a narrow space so that overlaps and adjacency happen.
            (0u8..4, any::<u8>(), 24u8..=32).prop_map(|(b, c, p)| {
                IpNet::new(IpAddr::from([10, 0, b, c]), p).unwrap().trunc()
            }),
        ]
    }

    fn arb_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
            (0u8..4, any::<u8>()).prop_map(|(b, c)| IpAddr::from([10, 0, b, c])),
            (0u8..4, any::<u8>()).prop_map(|(b, c)| IpAddr::V6(
                std::net::Ipv4Addr::new(10, 0, b, c).to_ipv6_mapped()
            )),
        ]
    }

    proptest! {
        #[test]
        fn matches_linear_scan(nets in prop::collection::vec(arb_net(), 0..12),
                               probes in prop::collection::vec(arb_ip(), 1..40)) {
            let set = IpSet::from_nets(nets.clone());
            for p in probes {
                prop_assert_eq!(set.contains(p), oracle(&nets, p), "probe {}", p);
            }
            // Network edges are the interesting probes.
            for n in &nets {
                for p in [n.network(), n.broadcast()] {
                    prop_assert!(set.contains(p));
                }
            }
            let r: Vec<_> = set.ranges.clone();
            for w in r.windows(2) {
                prop_assert!(w[0].1.saturating_add(1) < w[1].0, "ranges disjoint, non-adjacent");
            }
        }
    }
}
