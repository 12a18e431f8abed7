//! Query strings: masking secret-looking parameters, decoding values for the detector.

use std::borrow::Cow;

/// The mask put in place of a secret parameter's value.
pub(crate) const MASK: &str = "[REDACTED]";

const SECRET_PARTS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "auth",
    "session",
    "cookie",
    "credential",
    "signature",
    "private",
];
const SECRET_NAMES: &[&str] =
    &["key", "pin", "sid", "sig", "otp", "cvv", "cvc", "code", "jwt", "ssn", "card"];

fn is_secret(name: &str) -> bool {
    let n = percent_decode(name).to_ascii_lowercase();
    SECRET_NAMES.contains(&n.as_str()) || SECRET_PARTS.iter().any(|p| n.contains(p))
}

/// `query` with the value of every secret-looking parameter (`password`, `token`,
/// `api_key`, `session`, `code`, ...) replaced by `[REDACTED]`; borrowed when nothing is.
pub fn redact_query(query: &str) -> Cow<'_, str> {
    if !query.split('&').any(|p| p.split_once('=').is_some_and(|(k, _)| is_secret(k))) {
        return Cow::Borrowed(query);
    }
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if is_secret(k) => format!("{k}={MASK}"),
            _ => p.to_string(),
        })
        .collect();
    Cow::Owned(parts.join("&"))
}

/// Decodes `%XX` and `+` (form encoding); invalid escapes are kept as they are. Borrowed
/// when there is nothing to decode.
pub(crate) fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(c),
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            redact_query("token=abc&password=x&q=ok&API%5FKEY=k"),
            "token=[REDACTED]&password=[REDACTED]&q=ok&API%5FKEY=[REDACTED]"
        );
        assert!(matches!(redact_query("q=hello&page=2"), Cow::Borrowed(_)));
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a+b%20c%3Cd%zz%"), "a b c<d%zz%");
        assert!(matches!(percent_decode("plain"), Cow::Borrowed("plain")));
        assert_eq!(percent_decode("%E2%82%AC%FF"), "\u{20ac}\u{fffd}");
    }

    proptest! {
        #[test]
        fn secret_values_never_survive(v in "[a-z0-9]{6,12}", other in "[a-z]{1,8}") {
            let q = format!("{other}=1&access_token={v}&x=2");
            let r = redact_query(&q);
            let needle = format!("={v}");
            prop_assert!(!r.contains(&needle));
            prop_assert_eq!(r.matches('&').count(), 2);
        }
    }
}
