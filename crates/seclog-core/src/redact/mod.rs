//! Redaction by default: secrets never reach the store or the log file.
//!
//! [`Redactor::redact`] masks, in a validated event:
//! - request headers carrying credentials (`Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie`, `X-Api-Key`, `X-Auth-Token`, any name that looks secret: see the rules below);
//! - values under secret-looking keys at any depth of `details` (booleans and nulls are kept:
//!   they cannot hold a secret, and `"password_reset": true` stays readable);
//! - in every string of the event (bodies, URL, user agent, header values, details strings and
//!   keys, lists, ids): `key=value` / `"key": "value"` pairs with a secret key (form bodies, query
//!   strings, JSON bodies, even truncated), Luhn-valid card numbers (to first 6 + last 4,
//!   `411111******1111`, also as JSON numbers), `Bearer`/`Basic` credentials, JWTs, well-known API
//!   key prefixes (`sk_live_`, `ghp_`, `AKIA`...), PEM private keys and URL passwords;
//! - `session_id`, replaced by its keyed hash ([`Redactor::hash_session_id`]).
//!
//! Bodies are scanned as text rather than parsed, so JSON, form-encoded, truncated and
//! malformed bodies are all covered, and formatting is kept.
//!
//! Key names are normalised (lowercase; `-`, `_`, `.` and spaces removed) and matched: strong
//! words anywhere in the name (`password`, `secret`, `token`, `apikey`, `cvv`, `cardnumber`,
//! `sessionid`...) unless the name ends with a harmless suffix (`token_count`, `token_type`,
//! `password_policy`, `expires_in` are kept); names ending in `cookie`, `authorization` or
//! `session`; exact short names (`pwd`, `pin`, `pan`, `ssn`, `otp`...); the configured extra names.
//!
//! When [`RedactionConfig::enabled`] is false, only the session id is hashed: a raw session id is
//! a bearer credential and is never stored.

mod card;
mod keys;
mod text;

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::event::SecurityEvent;
use keys::KeyMatcher;

/// Prefix of a hashed session id.
pub const SESSION_HASH_PREFIX: &str = "hmac:";

/// How events are redacted. Deserialisable from a config section; missing keys take defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactionConfig {
    /// Redact secrets (default true). When false only session ids are hashed.
    pub enabled: bool,
    /// What replaces a secret (default `[REDACTED]`).
    pub mask: String,
    /// More key names to treat as secret (matched exactly after normalisation).
    pub extra_secret_keys: Vec<String>,
    /// More header names to mask (matched exactly after normalisation).
    pub extra_secret_headers: Vec<String>,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            enabled: true,
            mask: "[REDACTED]".to_string(),
            extra_secret_keys: Vec::new(),
            extra_secret_headers: Vec::new(),
        }
    }
}

/// Masks secrets in events and hashes session ids with a keyed HMAC-SHA256.
#[derive(Clone)]
pub struct Redactor {
    config: RedactionConfig,
    keys: KeyMatcher,
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor for `config`, hashing session ids with `key` (keep it secret and stable: the
    /// same session must hash the same way across restarts to be queryable).
    pub fn new(config: RedactionConfig, key: [u8; 32]) -> Self {
        // HMAC zero-pads keys shorter than the 64-byte block: padding here is the same key.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&key);
        let mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
        let keys = KeyMatcher::new(&config.extra_secret_keys, &config.extra_secret_headers);
        Redactor { config, keys, mac }
    }

    /// The configuration in use.
    pub fn config(&self) -> &RedactionConfig {
        &self.config
    }

    /// `hmac:` + the hex HMAC-SHA256 of `raw`. A value that is already such a hash is returned
    /// unchanged, so hashing twice is harmless.
    pub fn hash_session_id(&self, raw: &str) -> String {
        if is_session_hash(raw) {
            return raw.to_string();
        }
        let mut mac = self.mac.clone();
        mac.update(raw.as_bytes());
        let digest = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(SESSION_HASH_PREFIX.len() + 64);
        out.push_str(SESSION_HASH_PREFIX);
        for b in digest {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }

    /// Masks every secret in `event` in place (see the module docs).
    pub fn redact(&self, event: &mut SecurityEvent) {
        if let Some(sid) = &mut event.session_id {
            if !is_session_hash(sid) {
                *sid = self.hash_session_id(sid);
            }
        }
        if !self.config.enabled {
            return;
        }
        self.text(&mut event.event_id);
        for s in [
            &mut event.user_id,
            &mut event.user_agent,
            &mut event.request_method,
            &mut event.request_url,
            &mut event.request_body,
            &mut event.response_body,
            &mut event.threat_level,
            &mut event.source,
            &mut event.correlation_id,
            &mut event.parent_event_id,
        ]
        .into_iter()
        .flatten()
        {
            self.text(s);
        }
        for list in [
            &mut event.indicators,
            &mut event.investigation_notes,
            &mut event.remediation_actions,
            &mut event.compliance_tags,
            &mut event.audit_trail,
        ] {
            for s in list {
                self.text(s);
            }
        }
        if let Some(headers) = &mut event.request_headers {
            for (name, value) in headers.iter_mut() {
                if self.keys.is_secret_header(name) {
                    if *value != self.config.mask {
                        value.clone_from(&self.config.mask);
                    }
                } else {
                    self.text(value);
                }
            }
        }
        if !event.details.is_empty() {
            self.map(&mut event.details);
        }
    }

    /// Masks secrets in free text; `None` when there is nothing to mask.
    pub fn redact_str(&self, s: &str) -> Option<String> {
        text::redact_text(s, &self.keys, &self.config.mask)
    }

    fn text(&self, s: &mut String) {
        if let Some(n) = self.redact_str(s) {
            *s = n;
        }
    }

    fn map(&self, map: &mut Map<String, Value>) {
        let mut renamed: Vec<(String, String)> = Vec::new();
        for (k, v) in map.iter_mut() {
            if self.keys.is_secret_key(k) {
                let keep = match v {
                    Value::Null | Value::Bool(_) => true,
                    Value::String(s) => *s == self.config.mask,
                    _ => false,
                };
                if !keep {
                    *v = Value::String(self.config.mask.clone());
                }
            } else {
                self.value(v);
            }
            if let Some(n) = self.redact_str(k) {
                renamed.push((k.clone(), n));
            }
        }
        for (old, new) in renamed {
            if let Some(v) = map.remove(&old) {
                map.insert(new, v);
            }
        }
    }

    fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => self.text(s),
            Value::Number(n) => {
                if let Some(masked) = card::mask_number(n) {
                    *v = Value::String(masked);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            Value::Object(map) => self.map(map),
            Value::Null | Value::Bool(_) => {}
        }
    }
}

/// Whether `s` is `hmac:` followed by 64 lowercase hex digits.
fn is_session_hash(s: &str) -> bool {
    s.strip_prefix(SESSION_HASH_PREFIX).is_some_and(|h| {
        h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests;
