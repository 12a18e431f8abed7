//! Which address the request comes from: the peer, or what a trusted proxy says.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// Maps IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) to IPv4.
pub fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The trusted proxies: requests from these peers may name the client in `Forwarded`,
/// `X-Forwarded-For` or `X-Real-IP`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trusted {
    nets: Vec<IpNet>,
}

impl Trusted {
    pub(crate) fn new(nets: Vec<IpNet>) -> Self {
        Trusted { nets }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = normalize_ip(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// The client address of a request from `peer` carrying `headers`.
///
/// Forwarding headers count only when the peer is a trusted proxy. Then the first of
/// `Forwarded`, `X-Forwarded-For`, `X-Real-IP` that is present decides: in a list the
/// right-most address that is not itself a trusted proxy is the client (addresses further left
/// were written by the client and can be forged); when every listed address is trusted the
/// left-most is taken. An unparsable header falls back to the peer.
#[inline]
pub(crate) fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &Trusted,
) -> Option<IpAddr> {
    let peer = normalize_ip(peer?);
    if trusted.is_empty() {
        return Some(peer);
    }
    Some(forwarded_client(peer, headers, trusted))
}

/// The client named by the forwarding headers when `peer` is a trusted proxy, else `peer`.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &Trusted) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    let from_headers = if let Some(v) = joined(headers, "forwarded") {
        pick(forwarded_for(&v), trusted)
    } else if let Some(v) = joined(headers, "x-forwarded-for") {
        pick(v.split(',').map(parse_node).collect(), trusted)
    } else if let Some(v) = headers.get("x-real-ip").and_then(|v| v.to_str().ok()) {
        parse_node(v)
    } else {
        None
    };
    from_headers.map_or(peer, normalize_ip)
}

/// All values of a header joined with commas (repeated headers form one list), or `None`
/// when absent or not text.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for v in headers.get_all(name) {
        let s = v.to_str().ok()?;
        match &mut out {
            Some(o) => {
                o.push(',');
                o.push_str(s);
            }
            None => out = Some(s.to_string()),
        }
    }
    out
}

/// The `for=` node of each element of a `Forwarded` header (RFC 7239).
fn forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    value
        .split(',')
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| parse_node(v)).flatten()
            })
        })
        .collect()
}

/// Right-most untrusted address; `None` when an unparsable entry is reached first (we
/// cannot tell who wrote what is left of it); the left-most when all are trusted.
fn pick(list: Vec<Option<IpAddr>>, trusted: &Trusted) -> Option<IpAddr> {
    let mut last = None;
    for entry in list.into_iter().rev() {
        let ip = normalize_ip(entry?);
        if !trusted.contains(ip) {
            return Some(ip);
        }
        last = Some(ip);
    }
    last
}

/// An address as a forwarding header writes it: `1.2.3.4`, `1.2.3.4:80`, `"[::1]:80"`, `::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"').trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    // `[v6]` without a port.
    s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).and_then(|r| r.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_static(v));
        }
        m
    }

    fn trusted(nets: &[&str]) -> Trusted {
        Trusted::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let hs = h(&[("x-forwarded-for", "1.1.1.1"), ("x-real-ip", "2.2.2.2")]);
        assert_eq!(client_ip(Some(ip("9.9.9.9")), &hs, &Trusted::default()), Some(ip("9.9.9.9")));
        let t = trusted(&["10.0.0.0/8"]);
        assert_eq!(client_ip(Some(ip("9.9.9.9")), &hs, &t), Some(ip("9.9.9.9")));
    }

    #[test]
    fn rightmost_untrusted_forwarded_for() {
        let t = trusted(&["10.0.0.0/8"]);
        let hs = h(&[("x-forwarded-for", "6.6.6.6, 1.1.1.1, 10.0.0.2")]);
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &hs, &t), Some(ip("1.1.1.1")));
        let hs = h(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]);
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &hs, &t), Some(ip("10.0.0.3")));
        let hs = h(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &hs, &t), Some(ip("1.1.1.1")));
        let hs = h(&[("x-forwarded-for", "6.6.6.6, garbage")]);
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &hs, &t), Some(ip("10.0.0.1")));
    }

    #[test]
    fn forwarded_header_wins_and_parses_ports_and_v6() {
        let t = trusted(&["10.0.0.0/8"]);
        let hs = h(&[
            ("forwarded", "for=6.6.6.6, for=\"[2001:db8::1]:4711\";proto=https"),
            ("x-forwarded-for", "7.7.7.7"),
        ]);
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &hs, &t), Some(ip("2001:db8::1")));
        let hs = h(&[("x-real-ip", "3.3.3.3")]);
        assert_eq!(client_ip(Some(ip("10.0.0.1")), &hs, &t), Some(ip("3.3.3.3")));
    }

    #[test]
    fn mapped_addresses_are_normalised() {
        let t = trusted(&["10.0.0.0/8"]);
        let hs = h(&[("x-forwarded-for", "::ffff:1.2.3.4")]);
        assert_eq!(client_ip(Some(ip("::ffff:10.0.0.1")), &hs, &t), Some(ip("1.2.3.4")));
        assert_eq!(
            client_ip(Some(ip("::ffff:5.6.7.8")), &HeaderMap::new(), &t),
            Some(ip("5.6.7.8"))
        );
        assert_eq!(client_ip(None, &hs, &t), None);
    }
}
