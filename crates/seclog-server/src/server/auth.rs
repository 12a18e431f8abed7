//! API keys: generation, SHA-256 hashes, scopes, and the extractor that enforces them.
//! Every missing, invalid or insufficient key is logged as a security event; missing and
//! invalid keys are rate limited per address ([`super::auth_limit`]), and a valid key is
//! authorised whatever its address sent before.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use parking_lot::Mutex;
use seclog::SecurityLogger;
use seclog_store::ApiKeyRecord;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::auth_limit::{FailedAuthLimiter, Verdict};
use super::error::ApiError;
use super::AppState;

/// The scopes a key may carry (`admin` implies every other).
pub(crate) const SCOPES: &[&str] = &["ingest", "read", "admin", "bouncer"];

/// How long a successful key lookup is cached (a revocation takes effect within this).
const CACHE_TTL: Duration = Duration::from_secs(5);
/// `last_used_at` is recorded at most this often per key.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A new random key: `slk_` + 64 hex digits (32 random bytes).
pub(crate) fn generate_key() -> anyhow::Result<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("slk_{}", hex(&buf)))
}

/// Lower-case hex SHA-256 of a key: the only form stored.
pub(crate) fn hash_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Creates and stores a key; returns the record and the secret (shown once).
pub(crate) fn create_key(
    logger: &SecurityLogger,
    name: &str,
    scopes: &[String],
) -> anyhow::Result<(ApiKeyRecord, String)> {
    for s in scopes {
        if !SCOPES.contains(&s.as_str()) {
            anyhow::bail!("unknown scope {s:?}; accepted: {}", SCOPES.join(", "));
        }
    }
    if scopes.is_empty() {
        anyhow::bail!("give at least one --scope ({})", SCOPES.join(", "));
    }
    let key = generate_key()?;
    let rec = ApiKeyRecord {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_string(),
        scopes: scopes.to_vec(),
        key_hash: hash_key(&key),
        created_at: logger.now(),
        revoked_at: None,
        last_used_at: None,
    };
    logger.store().insert_api_key(&rec)?;
    Ok((rec, key))
}

/// Whether `rec` grants `scope`.
pub(crate) fn grants(rec: &ApiKeyRecord, scope: &str) -> bool {
    rec.scopes.iter().any(|s| s == scope || s == "admin")
}

/// Cache of recently verified keys by hash.
#[derive(Default)]
pub(crate) struct KeyCache {
    map: Mutex<HashMap<String, (ApiKeyRecord, Instant, Instant)>>,
}

impl KeyCache {
    /// The record of a key verified less than [`CACHE_TTL`] ago (no I/O: the request path
    /// needs no blocking thread for it).
    fn cached(&self, key: &str) -> Option<ApiKeyRecord> {
        let hash = hash_key(key);
        let map = self.map.lock();
        let (rec, at, _) = map.get(&hash)?;
        (at.elapsed() < CACHE_TTL).then(|| rec.clone())
    }

    /// Looks a key up (cache, then store); `None` when unknown or revoked.
    fn lookup(&self, logger: &SecurityLogger, key: &str) -> Result<Option<ApiKeyRecord>, ApiError> {
        let hash = hash_key(key);
        let now = Instant::now();
        if let Some((rec, at, _)) = self.map.lock().get(&hash) {
            if now.duration_since(*at) < CACHE_TTL {
                return Ok(Some(rec.clone()));
            }
        }
        let found =
            logger.store().find_api_key_by_hash(&hash).map_err(|e| ApiError::internal(&e))?;
        let Some(rec) = found else { return Ok(None) };
        // The store matched by hash; compare again in constant time before trusting it.
        if !bool::from(rec.key_hash.as_bytes().ct_eq(hash.as_bytes())) || !rec.is_active() {
            self.map.lock().remove(&hash);
            return Ok(None);
        }
        let mut map = self.map.lock();
        let touched = map.get(&hash).map(|e| e.2);
        if touched.is_none_or(|t| now.duration_since(t) >= TOUCH_EVERY) {
            if let Err(e) = logger.store().touch_api_key(&rec.id, logger.now()) {
                tracing::warn!(error = %e, "cannot record key use");
            }
            map.insert(hash, (rec.clone(), now, now));
        } else if let Some(t) = touched {
            map.insert(hash, (rec.clone(), now, t));
        }
        Ok(Some(rec))
    }
}

/// The key presented: `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
fn presented(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    let auth = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim().to_string())
}

/// The peer address of the connection.
pub(crate) fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// Checks the request's key for `scope`, logging failures as security events.
async fn authorize(
    parts: &Parts,
    state: &AppState,
    scope: &'static str,
) -> Result<ApiKeyRecord, ApiError> {
    let key = presented(parts);
    // A key verified moments ago that grants the scope: nothing to look up or log.
    if let Some(rec) = key.as_deref().and_then(|k| state.keys.cached(k)) {
        if grants(&rec, scope) {
            return Ok(rec);
        }
    }
    let peer_ip = peer(parts).map(|p| p.ip());
    let ip = peer_ip.map(|p| p.to_string());
    let ua =
        parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    let resource = format!("{} {}", parts.method, parts.uri.path());
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let logger = &st.logger;
        let rec = match &key {
            Some(k) if !k.is_empty() => st.keys.lookup(logger, k)?,
            _ => None,
        };
        let mut details = serde_json::Map::new();
        details.insert("resource".into(), resource.clone().into());
        details.insert("source".into(), "seclog-server".into());
        match rec {
            None => {
                let reason = if key.is_some() { "invalid API key" } else { "missing API key" };
                details.insert("reason".into(), reason.into());
                // Allowlisted networks (the operators' own) are not rate limited; their
                // failures are still logged and counted.
                let verdict = peer_ip.filter(|p| !logger.blocklist().is_allowlisted(*p)).map_or(
                    Verdict::Allowed,
                    |p| {
                        let prefix = logger.config().monitoring.ipv6_prefix;
                        st.auth_limit.fail(&FailedAuthLimiter::client(p, prefix), Instant::now())
                    },
                );
                match verdict {
                    Verdict::Allowed => {
                        let r = seclog::log_auth_attempt(
                            logger,
                            "api_key",
                            false,
                            ip.as_deref(),
                            ua.as_deref(),
                            Some(details),
                        );
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "cannot log an authentication failure");
                        }
                        Err(ApiError::unauthorized())
                    }
                    Verdict::Limited { retry_after_secs, first } => {
                        // One event per episode: the refused attempts themselves are not
                        // logged one by one (a flood of guesses is not a flood of rows).
                        if let (true, Some(ip)) = (first, ip.as_deref()) {
                            let r = seclog::log_rate_limiting_trigger(
                                logger,
                                ip,
                                &resource,
                                "failed_api_key",
                                Some(details),
                            );
                            if let Err(e) = r {
                                tracing::warn!(error = %e, "cannot log a rate limit");
                            }
                        }
                        Err(ApiError::too_many_failures(retry_after_secs))
                    }
                }
            }
            Some(rec) if !grants(&rec, scope) => {
                details.insert("required_scope".into(), scope.into());
                details.insert("key_id".into(), rec.id.clone().into());
                let r = seclog::log_authorization_failure(
                    logger,
                    &format!("api_key:{}", rec.name),
                    &resource,
                    ip.as_deref(),
                    ua.as_deref(),
                    Some(details),
                );
                if let Err(e) = r {
                    tracing::warn!(error = %e, "cannot log an authorization failure");
                }
                Err(ApiError::forbidden(scope))
            }
            Some(rec) => Ok(rec),
        }
    })
    .await?
}

macro_rules! scope_extractor {
    ($name:ident, $scope:literal, $doc:literal) => {
        #[doc = $doc]
        #[allow(dead_code)]
        pub(crate) struct $name(pub(crate) ApiKeyRecord);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                authorize(parts, state, $scope).await.map($name)
            }
        }
    };
}

scope_extractor!(Ingest, "ingest", "A key with the `ingest` scope.");
scope_extractor!(Read, "read", "A key with the `read` scope.");
scope_extractor!(Admin, "admin", "A key with the `admin` scope.");
scope_extractor!(Bouncer, "bouncer", "A key with the `bouncer` scope (CrowdSec bouncers).");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hashes_stable() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("slk_") && a.len() == 68);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_eq!(hash_key(&a).len(), 64);
        assert_ne!(hash_key(&a), hash_key(&b));
    }

    #[test]
    fn admin_implies_every_scope() {
        let rec = ApiKeyRecord {
            id: "1".into(),
            name: "n".into(),
            scopes: vec!["admin".into()],
            key_hash: "h".into(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            revoked_at: None,
            last_used_at: None,
        };
        assert!(SCOPES.iter().all(|s| grants(&rec, s)));
        let ingest = ApiKeyRecord { scopes: vec!["ingest".into()], ..rec };
        assert!(grants(&ingest, "ingest") && !grants(&ingest, "read"));
    }
}
