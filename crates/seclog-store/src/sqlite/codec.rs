//! Conversions between model values and column values.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::{Result, StoreError};

/// Unix nanoseconds of `t`, the sortable `ts` column; `field` names the value in errors.
pub(crate) fn to_nanos(t: OffsetDateTime, field: &str) -> Result<i64> {
    i64::try_from(t.unix_timestamp_nanos())
        .map_err(|_| StoreError::Invalid(format!("{field} out of range (years 1678..2261)")))
}

/// Unix nanoseconds of `t` for a filter bound: out-of-range bounds clamp instead of failing.
pub(crate) fn to_nanos_clamped(t: OffsetDateTime) -> i64 {
    let n = t.unix_timestamp_nanos();
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

/// The time of a `ts` column.
pub(crate) fn from_nanos(n: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(n))
        .map_err(|_| StoreError::Corrupt(format!("stored time {n} out of range")))
}

/// RFC 3339 text in UTC, as in the specification's TEXT timestamp columns.
pub(crate) fn to_rfc3339(t: OffsetDateTime, field: &str) -> Result<String> {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|_| StoreError::Invalid(format!("{field} cannot be written as RFC 3339")))
}

/// Parses RFC 3339 text written by [`to_rfc3339`].
pub(crate) fn from_rfc3339(s: &str, field: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| StoreError::Corrupt(format!("stored {field} is not RFC 3339")))
}

/// The `ip_bin` key of an address: an IPv4 address as its 4 bytes, IPv6 as 16. Keys of one
/// family sort like the addresses; the families are told apart by length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IpBin {
    len: u8,
    buf: [u8; 16],
}

impl IpBin {
    /// The key's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// The `ip_bin` key of `ip` (IPv4-mapped IPv6 addresses are keyed as IPv4).
pub(crate) fn ip_bin(ip: IpAddr) -> IpBin {
    let mut buf = [0u8; 16];
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            buf[..4].copy_from_slice(&v4.octets());
            IpBin { len: 4, buf }
        }
        IpAddr::V6(v6) => IpBin { len: 16, buf: v6.octets() },
    }
}

/// Room for an address's text (the longest IPv6 form has 45 characters).
pub(crate) struct IpText {
    buf: [u8; 48],
    len: usize,
}

impl Default for IpText {
    fn default() -> Self {
        IpText { buf: [0; 48], len: 0 }
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `ip.to_string()` without an allocation, written into `out` (the writer formats one per
/// event; `Ipv4Addr`'s `Display` alone cost ~1,500 instructions per call).
pub(crate) fn ip_text(ip: IpAddr, out: &mut IpText) -> &str {
    out.len = 0;
    match ip {
        IpAddr::V4(v4) => {
            for (i, mut o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.buf[out.len] = b'.';
                    out.len += 1;
                }
                let digits = if o >= 100 {
                    3
                } else if o >= 10 {
                    2
                } else {
                    1
                };
                for k in (0..digits).rev() {
                    out.buf[out.len + k] = b'0' + o % 10;
                    o /= 10;
                }
                out.len += digits;
            }
        }
        IpAddr::V6(v6) => {
            // 45 characters at most: always fits.
            let _ = std::fmt::Write::write_fmt(out, format_args!("{v6}"));
        }
    }
    std::str::from_utf8(&out.buf[..out.len]).unwrap_or_default()
}

/// The address of a stored key: 4 bytes (IPv4) or 16 (IPv6; a mapped IPv4 comes back as IPv4).
pub(crate) fn ip_from_bin(b: &[u8]) -> Result<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Ok(IpAddr::from(v4));
    }
    let octets: [u8; 16] = b
        .try_into()
        .map_err(|_| StoreError::Corrupt("stored address is neither 4 nor 16 bytes".into()))?;
    Ok(Ipv6Addr::from(octets).to_canonical())
}

/// First and last keys of `net` (both of its family: compare with `length(ip_bin)` too, as
/// keys of the other family can sort between them).
pub(crate) fn cidr_range(net: &IpNet) -> (IpBin, IpBin) {
    (ip_bin(net.network()), ip_bin(net.broadcast()))
}

/// Parses a stored address.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr> {
    s.parse().map_err(|_| StoreError::Corrupt("stored ip_address is not an address".into()))
}

/// JSON text of a value.
pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T, field: &str) -> Result<String> {
    serde_json::to_string(v).map_err(|_| StoreError::Invalid(format!("{field} is not JSON")))
}

/// Decodes JSON text; NULL gives the type's default.
pub(crate) fn from_json<T: DeserializeOwned + Default>(s: Option<&str>, field: &str) -> Result<T> {
    match s {
        None => Ok(T::default()),
        Some(s) => serde_json::from_str(s)
            .map_err(|_| StoreError::Corrupt(format!("stored {field} is not valid JSON"))),
    }
}

/// Parses a stored enum name (`event_type`, `severity`, ...).
pub(crate) fn parse_name<T: std::str::FromStr>(s: &str, field: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("stored {field} {s:?} is unknown")))
}

/// The serde name of a unit enum variant (`ip`, `ban`, `status_change`...).
pub(crate) fn serde_name<T: Serialize>(v: &T, field: &str) -> Result<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StoreError::Invalid(format!("{field} has no name"))),
    }
}

/// Parses a stored serde name written by [`serde_name`].
pub(crate) fn from_serde_name<T: DeserializeOwned>(s: &str, field: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| StoreError::Corrupt(format!("stored {field} {s:?} is unknown")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ip_text_is_the_display_form(v4 in any::<u32>(), v6 in any::<u128>(), mapped in any::<u32>()) {
            let mut out = IpText::default();
            for ip in [
                IpAddr::from(std::net::Ipv4Addr::from(v4)),
                IpAddr::from(Ipv6Addr::from(v6)),
                IpAddr::from(std::net::Ipv4Addr::from(mapped).to_ipv6_mapped()),
            ] {
                prop_assert_eq!(ip_text(ip, &mut out), ip.to_string());
            }
        }
    }

    #[test]
    fn ip_text_edges() {
        let mut out = IpText::default();
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "::",
            "::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255",
        ] {
            let ip: IpAddr = s.parse().unwrap();
            assert_eq!(ip_text(ip, &mut out), s);
        }
    }

    #[test]
    fn ip_bin_orders_and_round_trips() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.1.0".parse().unwrap();
        assert!(ip_bin(a).as_bytes() < ip_bin(b).as_bytes());
        assert_eq!(ip_bin(a).as_bytes(), &[10, 0, 0, 1]);
        assert_eq!(ip_from_bin(ip_bin(a).as_bytes()).unwrap(), a);
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(ip_bin(mapped), ip_bin(a), "mapped IPv4 is keyed as IPv4");
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(ip_bin(v6).as_bytes().len(), 16);
        assert_eq!(ip_from_bin(ip_bin(v6).as_bytes()).unwrap(), v6);
        let (lo, hi) = cidr_range(&"10.0.0.0/24".parse().unwrap());
        let key = ip_bin(a);
        assert!(lo.as_bytes() <= key.as_bytes() && key.as_bytes() <= hi.as_bytes());
        assert!(ip_bin(b).as_bytes() > hi.as_bytes());
        assert!(ip_from_bin(&[1, 2]).is_err());
    }

    #[test]
    fn times_round_trip_exactly() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(from_nanos(to_nanos(t, "t").unwrap()).unwrap(), t);
        assert_eq!(from_rfc3339(&to_rfc3339(t, "t").unwrap(), "t").unwrap(), t);
        let far = OffsetDateTime::from_unix_timestamp(i64::from(i32::MAX) * 10).unwrap();
        assert!(matches!(to_nanos(far, "timestamp"), Err(StoreError::Invalid(_))));
        assert_eq!(to_nanos_clamped(far), i64::MAX);
    }
}
