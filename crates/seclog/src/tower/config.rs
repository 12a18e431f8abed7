//! [`SecurityLayerConfig`]: what the layer trusts, logs and refuses.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http::{Extensions, StatusCode};
use ipnet::IpNet;
use seclog_core::EventType;

use super::client_ip::Trusted;
use super::PeerAddr;

/// How a request from a blocked client is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockedResponse {
    /// `403 Forbidden`.
    #[default]
    Forbidden,
    /// `429 Too Many Requests` with `Retry-After` (seconds until the decision ends; absent for
    /// a permanent decision).
    TooManyRequests,
}

/// Reads the peer address from a request's extensions.
pub type PeerAddrFn = fn(&Extensions) -> Option<SocketAddr>;

/// The peer address from a [`PeerAddr`] or a bare [`SocketAddr`] extension.
pub fn default_peer_addr(ext: &Extensions) -> Option<SocketAddr> {
    ext.get::<PeerAddr>().map(|p| p.0).or_else(|| ext.get::<SocketAddr>().copied())
}

/// Settings of the [`SecurityLayer`](super::SecurityLayer). Built with chained setters:
///
/// ```
/// # #[cfg(feature = "tower")] {
/// use seclog::tower::{BlockedResponse, SecurityLayerConfig};
/// let config = SecurityLayerConfig::default()
///     .trusted_proxies(["10.0.0.0/8", "::1"])?
///     .blocked_response(BlockedResponse::TooManyRequests)
///     .map_status(404, Some(seclog::EventType::ApiAccessDenied));
/// # }
/// # Ok::<(), seclog::LogError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SecurityLayerConfig {
    pub(crate) trusted: Trusted,
    /// (status, event type), at most one entry per status.
    pub(crate) statuses: Vec<(u16, EventType)>,
    pub(crate) blocked: BlockedResponse,
    pub(crate) detect_attacks: bool,
    pub(crate) refuse_attacks: Option<StatusCode>,
    pub(crate) max_inspected_bytes: usize,
    pub(crate) blocked_log_interval: Duration,
    pub(crate) peer_addr: PeerAddrFn,
}

impl Default for SecurityLayerConfig {
    /// No trusted proxy; 401 -> `auth_failure`, 403 -> `authorization_failure`,
    /// 429 -> `rate_limiting_trigger`, 400 -> `input_validation_violation`; blocked clients get
    /// 403 and each blocked client's refusals logged at most once a second; attack detection
    /// off; 8 KiB inspected; peer from [`default_peer_addr`].
    fn default() -> Self {
        SecurityLayerConfig {
            trusted: Trusted::default(),
            statuses: vec![
                (401, EventType::AuthFailure),
                (403, EventType::AuthorizationFailure),
                (429, EventType::RateLimitingTrigger),
                (400, EventType::InputValidationViolation),
            ],
            blocked: BlockedResponse::Forbidden,
            detect_attacks: false,
            refuse_attacks: None,
            max_inspected_bytes: 8 * 1024,
            blocked_log_interval: Duration::from_secs(1),
            peer_addr: default_peer_addr,
        }
    }
}

impl SecurityLayerConfig {
    /// Trusts forwarding headers (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`) from these
    /// networks or addresses (CIDR or plain IP). Replaces the list. Never trust a network a
    /// client can send from: it could then choose its own address.
    pub fn trusted_proxies<I, S>(mut self, nets: I) -> crate::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Vec::new();
        for n in nets {
            let n = n.as_ref().trim();
            let net = match n.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => n.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    crate::LogError::Config(format!(
                        "trusted_proxies: {n:?} is not an IP address or CIDR network"
                    ))
                })?,
            };
            out.push(net);
        }
        self.trusted = Trusted::new(out);
        Ok(self)
    }

    /// Logs responses with `status` as `event_type` (`None`: does not log that status).
    pub fn map_status(mut self, status: u16, event_type: Option<EventType>) -> Self {
        self.statuses.retain(|(s, _)| *s != status);
        if let Some(t) = event_type {
            self.statuses.push((status, t));
        }
        self
    }

    /// Logs no status at all (then add the wanted ones with [`Self::map_status`]).
    pub fn clear_status_map(mut self) -> Self {
        self.statuses.clear();
        self
    }

    /// How blocked clients are answered (403 by default).
    pub fn blocked_response(mut self, r: BlockedResponse) -> Self {
        self.blocked = r;
        self
    }

    /// Every refusal of a blocked client is counted ([`LayerStats::blocked`]) but its
    /// `rate_limiting_blocked` / `api_access_denied` event is logged at most once per client
    /// (IP, or user for an account lock) and `interval` (1 s by default, whole seconds); the
    /// next logged event counts the others in `details.refusals_not_logged`, and
    /// [`LayerStats::blocked_not_logged`] counts them all. A blocked client's flood thus costs
    /// the logger one event a second instead of one per request. `Duration::ZERO` logs every
    /// refusal.
    ///
    /// [`LayerStats::blocked`]: super::LayerStats::blocked
    /// [`LayerStats::blocked_not_logged`]: super::LayerStats::blocked_not_logged
    pub fn blocked_log_interval(mut self, interval: Duration) -> Self {
        self.blocked_log_interval = interval;
        self
    }

    /// Runs the attack-pattern detector on the query string's parameters, and on form and
    /// JSON bodies where [`SecurityLayer::body_inspection`] is in the stack (off by default).
    /// A finding is logged as the specific attack type (`sql_injection_attempt`,
    /// `xss_attempt`, ...); the request still reaches the handler unless
    /// [`Self::refuse_attacks`] is set. The handler's own event, if it marks the request
    /// as logged, replaces the layer's response event but not the attack event.
    ///
    /// [`SecurityLayer::body_inspection`]: super::SecurityLayer::body_inspection
    pub fn detect_attacks(mut self, on: bool) -> Self {
        self.detect_attacks = on;
        self
    }

    /// With attack detection on, answers a request with a finding with `status` (400 or 403
    /// are sensible) without calling the handler.
    pub fn refuse_attacks(mut self, status: Option<StatusCode>) -> Self {
        self.refuse_attacks = status;
        self
    }

    /// At most this many bytes of the query string, and of a request body, are inspected by
    /// the detector (8 KiB by default); longer input is inspected up to there (a body is
    /// still handed on whole).
    pub fn max_inspected_bytes(mut self, n: usize) -> Self {
        self.max_inspected_bytes = n;
        self
    }

    /// How the peer address is found in request extensions. The default reads [`PeerAddr`]
    /// or a bare `SocketAddr`; with axum's `into_make_service_with_connect_info::<SocketAddr>()`
    /// pass `|e| e.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0)`.
    pub fn peer_addr(mut self, f: PeerAddrFn) -> Self {
        self.peer_addr = f;
        self
    }

    /// The status map as a table indexed by status code (one load per response).
    pub(crate) fn status_table(&self) -> StatusTable {
        let mut table = StatusTable([None; STATUS_CODES]);
        for &(status, ty) in &self.statuses {
            if let Some(slot) = table.0.get_mut(usize::from(status)) {
                *slot = Some(ty);
            }
        }
        table
    }
}

/// Status codes are 100..=999 (`http::StatusCode`).
const STATUS_CODES: usize = 1000;

/// The event type logged for each status code (`None`: not logged).
#[derive(Debug)]
pub(crate) struct StatusTable([Option<EventType>; STATUS_CODES]);

impl StatusTable {
    pub(crate) fn event_for(&self, status: StatusCode) -> Option<EventType> {
        self.0.get(usize::from(status.as_u16())).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_table_follows_the_status_map() {
        let config = SecurityLayerConfig::default()
            .map_status(404, Some(EventType::ApiAccessDenied))
            .map_status(403, None)
            .map_status(999, Some(EventType::AuthFailure))
            .map_status(401, Some(EventType::AuthorizationFailure));
        let table = config.status_table();
        let at = |code: u16| StatusCode::from_u16(code).ok().and_then(|s| table.event_for(s));
        assert_eq!(at(401), Some(EventType::AuthorizationFailure), "the last mapping wins");
        assert_eq!(at(403), None, "unmapped");
        assert_eq!(at(404), Some(EventType::ApiAccessDenied));
        assert_eq!(at(429), Some(EventType::RateLimitingTrigger));
        assert_eq!(at(400), Some(EventType::InputValidationViolation));
        assert_eq!(at(999), Some(EventType::AuthFailure));
        assert_eq!(at(100), None);
        assert_eq!(at(200), None);
        let none = SecurityLayerConfig::default().clear_status_map().status_table();
        assert!((100..=999)
            .all(|c| StatusCode::from_u16(c).map_or(true, |s| none.event_for(s).is_none())));
    }
}
