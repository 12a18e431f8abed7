//! The rate limit on failed authentication (a missing or wrong API key), per client address.
//!
//! Guessing keys is answered with `429 Too Many Requests` and `Retry-After`, never with a ban:
//! a request with a valid key is authorised whatever the same address sent before (an
//! operator who mistyped the key five times is not locked out). Each address may fail
//! [`BURST`] times at once, then once more every [`REFILL`] (a token bucket, kept as the
//! time its bucket is full again: the generic cell rate algorithm). IPv6 clients count per
//! network of the monitoring's `ipv6_prefix`, as the rules do.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Failed authentications an address may make at once.
pub(crate) const BURST: u32 = 5;
/// One more failed authentication is allowed every this often.
pub(crate) const REFILL: Duration = Duration::from_secs(12);
/// Addresses tracked before the full (idle) buckets are forgotten.
const PRUNE_AT: usize = 100_000;

/// What to answer a failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 401, logged as a failed authentication.
    Allowed,
    /// 429: retry after this many seconds (at least 1). `first` is set on the first refusal
    /// since the address was last allowed (the one worth an event).
    Limited { retry_after_secs: u32, first: bool },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// When the bucket is full again (no failure then counts against the address).
    full_at: Instant,
    /// A refusal was reported since the last allowed failure.
    refused: bool,
}

/// Failed authentications by client (address, or IPv6 network).
#[derive(Debug, Default)]
pub(crate) struct FailedAuthLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl FailedAuthLimiter {
    /// Counts a failed authentication of `client` at `now`.
    pub(crate) fn fail(&self, client: &str, now: Instant) -> Verdict {
        let mut map = self.buckets.lock();
        if map.len() >= PRUNE_AT {
            map.retain(|_, b| b.full_at > now);
        }
        let bucket =
            map.entry(client.to_string()).or_insert(Bucket { full_at: now, refused: false });
        let full_at = bucket.full_at.max(now);
        // The bucket holds BURST failures; each one moves `full_at` REFILL later.
        let capacity = REFILL * BURST;
        let after = full_at + REFILL;
        if after.duration_since(now) <= capacity {
            *bucket = Bucket { full_at: after, refused: false };
            return Verdict::Allowed;
        }
        // Room for one more failure once `after` is within the capacity again.
        let wait = after.duration_since(now) - capacity;
        let secs = u32::try_from(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
            .unwrap_or(u32::MAX)
            .max(1);
        let first = !bucket.refused;
        bucket.refused = true;
        Verdict::Limited { retry_after_secs: secs, first }
    }

    /// The key of `ip` (IPv6: its network of `v6_prefix` bits).
    pub(crate) fn client(ip: IpAddr, v6_prefix: u8) -> String {
        seclog::core::monitor::decision::block_key(ip, v6_prefix).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_the_wait() {
        let l = FailedAuthLimiter::default();
        let t0 = Instant::now();
        for _ in 0..BURST {
            assert_eq!(l.fail("a", t0), Verdict::Allowed);
        }
        assert_eq!(
            l.fail("a", t0),
            Verdict::Limited { retry_after_secs: REFILL.as_secs() as u32, first: true }
        );
        assert!(matches!(l.fail("a", t0), Verdict::Limited { first: false, .. }));
        // Other clients are not affected.
        assert_eq!(l.fail("b", t0), Verdict::Allowed);
    }

    #[test]
    fn one_more_failure_per_refill_after_the_burst() {
        let l = FailedAuthLimiter::default();
        let t0 = Instant::now();
        for _ in 0..BURST {
            l.fail("a", t0);
        }
        let t1 = t0 + REFILL - Duration::from_millis(1);
        assert_eq!(l.fail("a", t1), Verdict::Limited { retry_after_secs: 1, first: true });
        let t2 = t0 + REFILL;
        assert_eq!(l.fail("a", t2), Verdict::Allowed);
        assert!(matches!(l.fail("a", t2), Verdict::Limited { first: true, .. }));
        // A long pause refills the whole burst.
        let t3 = t2 + REFILL * (BURST + 1);
        for _ in 0..BURST {
            assert_eq!(l.fail("a", t3), Verdict::Allowed);
        }
    }

    #[test]
    fn ipv6_clients_count_per_network() {
        let a = FailedAuthLimiter::client("2001:db8:1:2::1".parse().unwrap(), 64);
        let b = FailedAuthLimiter::client("2001:db8:1:2::ffff".parse().unwrap(), 64);
        let c = FailedAuthLimiter::client("2001:db8:1:3::1".parse().unwrap(), 64);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(FailedAuthLimiter::client("192.0.2.1".parse().unwrap(), 64), "192.0.2.1");
    }
}
