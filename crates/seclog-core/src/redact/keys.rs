//! Which key and header names hold secrets.
//!
//! A name is normalised first: ASCII lowercase, with `-`, `_`, `.` and spaces removed
//! (`X-Api-Key`, `api_key` and `apiKey` all become `apikey`). It is secret when:
//! - it **contains** a strong word: `password`, `passwd`, `passphrase`, `secret`, `token`,
//!   `passcode`, `apikey`, `accesskey`, `privatekey`, `signingkey`, `credential`, `cvv`, `cvc`, `cardnumber`,
//!   `creditcard`, `sessionid`, `sessid` — unless it **ends** with a harmless suffix (`count`,
//!   `type`, `length`, `len`, `ttl`, `expiry`, `expires`, `expiresin`, `expiresat`, `expiration`,
//!   `expired`, `limit`, `policy`, `strength`, `age`, `attempts`, `changed`): `token_count`,
//!   `token_type` and `password_policy` are kept, `count_token` is not;
//! - it **ends** with `cookie`, `cookies`, `authorization`, `session` or `pwd`;
//! - it **is** one of `pwd`, `pass`, `pin`, `pincode`, `pan`, `ssn`, `sid`, `auth`, `otp`, `totp`,
//!   `mfacode`, `cvn`, `ccn`, or one of the configured extra names (normalised, exact match).
//!
//! Headers: every secret name above, plus `authorization`, `proxyauthorization`, `cookie`,
//! `setcookie`, `xauth` and the configured extra header names (exact, normalised).

const STRONG: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"passphrase",
    b"passcode",
    b"secret",
    b"token",
    b"apikey",
    b"accesskey",
    b"privatekey",
    b"signingkey",
    b"credential",
    b"cvv",
    b"cvc",
    b"cardnumber",
    b"creditcard",
    b"sessionid",
    b"sessid",
];

const HARMLESS_SUFFIXES: &[&[u8]] = &[
    b"count",
    b"type",
    b"length",
    b"len",
    b"ttl",
    b"expiry",
    b"expires",
    b"expiresin",
    b"expiresat",
    b"expiration",
    b"expired",
    b"limit",
    b"policy",
    b"strength",
    b"age",
    b"attempts",
    b"changed",
];

const SECRET_SUFFIXES: &[&[u8]] = &[b"cookie", b"cookies", b"authorization", b"session", b"pwd"];

const EXACT: &[&[u8]] = &[
    b"pwd", b"pass", b"pin", b"pincode", b"pan", b"ssn", b"sid", b"auth", b"otp", b"totp",
    b"mfacode", b"cvn", b"ccn",
];

const HEADERS: &[&[u8]] =
    &[b"authorization", b"proxyauthorization", b"cookie", b"setcookie", b"xauth"];

/// Longest normalised name examined; longer names are judged on their first 128 bytes.
const MAX_KEY: usize = 128;

/// Normalises `key` into `buf` and returns the used part.
fn normalise<'a>(key: &str, buf: &'a mut [u8; MAX_KEY]) -> &'a [u8] {
    let mut n = 0;
    for &b in key.as_bytes() {
        if matches!(b, b'-' | b'_' | b'.' | b' ') {
            continue;
        }
        if let Some(slot) = buf.get_mut(n) {
            *slot = b.to_ascii_lowercase();
            n += 1;
        } else {
            break;
        }
    }
    buf.get(..n).unwrap_or(&[])
}

/// Byte equality without a `memcmp` call (the names are short).
fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn ends_with(hay: &[u8], suffix: &[u8]) -> bool {
    hay.len() >= suffix.len() && eq(hay.get(hay.len() - suffix.len()..).unwrap_or(&[]), suffix)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else { return true };
    hay.len() >= needle.len()
        && (0..=hay.len() - needle.len()).any(|i| {
            hay.get(i) == Some(&first) && eq(hay.get(i..i + needle.len()).unwrap_or(&[]), needle)
        })
}

/// Decides which names are secret (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyMatcher {
    extra_keys: Vec<Vec<u8>>,
    extra_headers: Vec<Vec<u8>>,
}

impl KeyMatcher {
    pub(crate) fn new(extra_keys: &[String], extra_headers: &[String]) -> Self {
        let norm = |names: &[String]| {
            names
                .iter()
                .map(|k| {
                    let mut buf = [0u8; MAX_KEY];
                    normalise(k, &mut buf).to_vec()
                })
                .filter(|k| !k.is_empty())
                .collect()
        };
        KeyMatcher { extra_keys: norm(extra_keys), extra_headers: norm(extra_headers) }
    }

    /// Whether a key (in details, a body, a query string or free text) names a secret.
    pub(crate) fn is_secret_key(&self, key: &str) -> bool {
        let mut buf = [0u8; MAX_KEY];
        let k = normalise(key, &mut buf);
        self.is_secret_normalised(k)
    }

    fn is_secret_normalised(&self, k: &[u8]) -> bool {
        if k.len() < 3 {
            return false;
        }
        if EXACT.iter().any(|e| eq(e, k)) || self.extra_keys.iter().any(|e| eq(e, k)) {
            return true;
        }
        if SECRET_SUFFIXES.iter().any(|s| ends_with(k, s)) {
            return true;
        }
        STRONG.iter().any(|w| contains(k, w)) && !HARMLESS_SUFFIXES.iter().any(|s| ends_with(k, s))
    }

    /// Whether a request header carries credentials.
    pub(crate) fn is_secret_header(&self, name: &str) -> bool {
        let mut buf = [0u8; MAX_KEY];
        let k = normalise(name, &mut buf);
        HEADERS.iter().any(|h| eq(h, k))
            || self.extra_headers.iter().any(|e| eq(e, k))
            || self.is_secret_normalised(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        let m = KeyMatcher::default();
        for k in [
            "password",
            "Password",
            "user_password",
            "passwd",
            "pwd",
            "secret",
            "client_secret",
            "token",
            "access_token",
            "refresh_token",
            "csrfToken",
            "api_key",
            "apiKey",
            "X-Api-Key",
            "private_key",
            "PRIVATE-KEY",
            "cvv",
            "cvv2",
            "cvc",
            "card_number",
            "cardNumber",
            "pan",
            "pin",
            "ssn",
            "session",
            "session_id",
            "JSESSIONID",
            "PHPSESSID",
            "authorization",
            "cookie",
            "set-cookie",
            "auth",
            "otp",
            "aws_secret_access_key",
            "credentials",
            "user.password",
            "new_password_confirmation",
        ] {
            assert!(m.is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn harmless_keys() {
        let m = KeyMatcher::default();
        for k in [
            "token_count",
            "token_type",
            "expires_in",
            "password_policy",
            "password_length",
            "username",
            "user_id",
            "failed_attempts",
            "shipping",
            "spin",
            "pancake",
            "author",
            "authorization_result",
            "keyboard",
            "method",
            "https",
            "10",
            "id",
            "ip",
            "pa",
            "session_count",
            "token_expires_at",
        ] {
            assert!(!m.is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn headers_and_extras() {
        let m = KeyMatcher::new(&["account_no".into()], &["X-Tenant-Signature".into()]);
        for h in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Set-Cookie",
            "X-Api-Key",
            "Api-Key",
            "X-Auth-Token",
            "X-CSRF-Token",
            "X-Amz-Security-Token",
            "x-tenant-signature",
            "X-Auth",
        ] {
            assert!(m.is_secret_header(h), "{h}");
        }
        for h in ["Accept", "Content-Type", "User-Agent", "X-Forwarded-For", "Referer"] {
            assert!(!m.is_secret_header(h), "{h}");
        }
        assert!(m.is_secret_key("accountNo"));
        assert!(!m.is_secret_key("account_number_hint"));
    }
}
