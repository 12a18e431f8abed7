//! Secrets inside free text: card numbers, `Bearer`/`Basic` credentials, JWTs, well-known API
//! key prefixes, PEM private keys, passwords in URL user info, and `key=value` / `key: value` /
//! `"key": "value"` pairs whose key names a secret (form bodies, query strings, JSON or
//! JSON-like text, even truncated, and log-style text).
//!
//! Every pass returns `None` when it changes nothing, so clean text is never copied.

use std::borrow::Cow;

use super::card::redact_cards;
use super::keys::KeyMatcher;

/// Which passes can possibly match, from one scan over the bytes.
#[derive(Default)]
struct Triggers {
    digits: usize,
    pair: bool,
    dash: bool,
    b: bool,
    jwt: bool,
    prefix: bool,
}

impl Triggers {
    fn scan(s: &str) -> Self {
        let mut t = Triggers::default();
        let mut prev_alnum = false;
        for &c in s.as_bytes() {
            match c {
                b'0'..=b'9' => t.digits += 1,
                b'=' | b':' => t.pair = true,
                b'-' => t.dash = true,
                b'b' | b'B' => t.b = true,
                b'J' => t.jwt = true,
                _ => {}
            }
            if !prev_alnum && matches!(c, b's' | b'r' | b'g' | b'x' | b'A') {
                t.prefix = true;
            }
            prev_alnum = c.is_ascii_alphanumeric();
        }
        t
    }
}

/// Runs every text pass over `s`; `None` when nothing was masked.
pub(crate) fn redact_text(s: &str, keys: &KeyMatcher, mask: &str) -> Option<String> {
    let t = Triggers::scan(s);
    let mut cur: Cow<'_, str> = Cow::Borrowed(s);
    let step = |cur: &mut Cow<'_, str>, f: &dyn Fn(&str) -> Option<String>| {
        if let Some(n) = f(cur) {
            *cur = Cow::Owned(n);
        }
    };
    if t.dash {
        step(&mut cur, &|x| redact_pem(x, mask));
    }
    if t.digits >= 13 {
        step(&mut cur, &redact_cards);
    }
    if t.b {
        step(&mut cur, &|x| redact_auth_schemes(x, mask));
    }
    if t.jwt {
        step(&mut cur, &|x| redact_jwts(x, mask));
    }
    if t.prefix {
        step(&mut cur, &|x| redact_key_prefixes(x, mask));
    }
    if t.pair {
        step(&mut cur, &|x| redact_userinfo(x, mask));
        step(&mut cur, &|x| redact_pairs(x, keys, mask));
    }
    match cur {
        Cow::Borrowed(_) => None,
        Cow::Owned(n) => Some(n),
    }
}

/// Replaces byte ranges (sorted, disjoint) of `s` by `mask`.
struct Splicer<'a> {
    s: &'a str,
    out: Option<String>,
    last: usize,
}

impl<'a> Splicer<'a> {
    fn new(s: &'a str) -> Self {
        Splicer { s, out: None, last: 0 }
    }

    fn replace(&mut self, start: usize, end: usize, with: &str) {
        let out = self.out.get_or_insert_with(|| String::with_capacity(self.s.len()));
        out.push_str(self.s.get(self.last..start).unwrap_or(""));
        out.push_str(with);
        self.last = end;
    }

    fn finish(self) -> Option<String> {
        let mut out = self.out?;
        out.push_str(self.s.get(self.last..).unwrap_or(""));
        Some(out)
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
}

fn token_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).copied().is_some_and(is_token_byte) {
        i += 1;
    }
    i
}

/// Whether `b[i..]` starts with `word`, ASCII case-insensitively.
fn starts_with_ci(b: &[u8], i: usize, word: &[u8]) -> bool {
    b.get(i..i + word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word))
}

/// PEM blocks whose label says PRIVATE (`-----BEGIN RSA PRIVATE KEY-----` ... `-----END ...-----`),
/// masked whole, up to the end of the text when the end line is missing.
fn redact_pem(s: &str, mask: &str) -> Option<String> {
    if memchr::memchr(b'-', s.as_bytes()).is_none() || !s.contains("-----BEGIN") {
        return None;
    }
    let mut sp = Splicer::new(s);
    let mut from = 0;
    while let Some(rel) = s.get(from..).and_then(|t| t.find("-----BEGIN")) {
        let start = from + rel;
        let label_end =
            s.get(start + 10..).and_then(|t| t.find("-----")).map_or(s.len(), |p| start + 10 + p);
        let label = s.get(start..label_end).unwrap_or("");
        if !label.contains("PRIVATE") {
            from = label_end.max(start + 10);
            continue;
        }
        let end = match s.get(label_end..).and_then(|t| t.find("-----END")) {
            Some(p) => {
                let e = label_end + p + 8;
                s.get(e..).and_then(|t| t.find("-----")).map_or(s.len(), |q| e + q + 5)
            }
            None => s.len(),
        };
        sp.replace(start, end, mask);
        from = end;
    }
    sp.finish()
}

/// `Bearer <token>` (token of 6+ characters) and `Basic <base64>` (8+ characters holding a
/// digit, `+/=`, or a capital after the first letter, so `Basic Authentication` is kept).
fn redact_auth_schemes(s: &str, mask: &str) -> Option<String> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == b'b' || c == b'B') {
        return None;
    }
    let mut sp = Splicer::new(s);
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        let at_word = i == 0 || !b.get(i - 1).is_some_and(u8::is_ascii_alphanumeric);
        if !(c == b'b' || c == b'B') || !at_word {
            i += 1;
            continue;
        }
        let scheme_len = if starts_with_ci(b, i, b"bearer") {
            6
        } else if starts_with_ci(b, i, b"basic") {
            5
        } else {
            i += 1;
            continue;
        };
        let mut t = i + scheme_len;
        let spaces_start = t;
        while matches!(b.get(t), Some(b' ') | Some(b'+')) || starts_with_ci(b, t, b"%20") {
            t += if b.get(t) == Some(&b'%') { 3 } else { 1 };
        }
        let end = token_end(b, t);
        let token = b.get(t..end).unwrap_or(&[]);
        let credential = if t == spaces_start {
            false
        } else if scheme_len == 6 {
            token.len() >= 6
        } else {
            token.len() >= 8
                && token.iter().enumerate().any(|(k, &c)| {
                    c.is_ascii_digit()
                        || matches!(c, b'+' | b'/' | b'=')
                        || (k > 0 && c.is_ascii_uppercase())
                })
        };
        if credential && s.get(t..end) != Some(mask) {
            sp.replace(t, end, mask);
            i = end;
        } else {
            i += scheme_len;
        }
    }
    sp.finish()
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// JSON Web Tokens: `eyJ<header>.<payload>[.<signature>]`.
fn redact_jwts(s: &str, mask: &str) -> Option<String> {
    if memchr::memchr(b'J', s.as_bytes()).is_none() || !s.contains("eyJ") {
        return None;
    }
    let b = s.as_bytes();
    let mut sp = Splicer::new(s);
    let mut from = 0;
    while let Some(rel) = s.get(from..).and_then(|t| t.find("eyJ")) {
        let start = from + rel;
        let mut i = start;
        let mut parts = 0;
        loop {
            let part_start = i;
            while b.get(i).copied().is_some_and(is_b64url) {
                i += 1;
            }
            if i > part_start {
                parts += 1;
            }
            if b.get(i) == Some(&b'.') && b.get(i + 1).copied().is_some_and(is_b64url) && parts < 3
            {
                i += 1;
                continue;
            }
            break;
        }
        let prev_ok = start == 0 || !b.get(start - 1).copied().is_some_and(is_b64url);
        if parts >= 2 && prev_ok {
            sp.replace(start, i, mask);
        }
        from = i.max(start + 3);
    }
    sp.finish()
}

/// Well-known secret key prefixes (Stripe, GitHub, Slack, AWS), followed by 10+ token bytes.
const KEY_PREFIXES: &[&str] = &[
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "AKIA",
    "ASIA",
];

fn redact_key_prefixes(s: &str, mask: &str) -> Option<String> {
    // The shortest prefix (4) plus 10 token bytes.
    if s.len() < 14 {
        return None;
    }
    let b = s.as_bytes();
    let mut sp = Splicer::new(s);
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !b.get(i - 1).is_some_and(u8::is_ascii_alphanumeric);
        if !at_word || !matches!(b.get(i), Some(b's' | b'r' | b'g' | b'x' | b'A')) {
            i += 1;
            continue;
        }
        let rest = b.get(i..).unwrap_or(&[]);
        let Some(p) = KEY_PREFIXES.iter().find(|p| rest.starts_with(p.as_bytes())) else {
            i += 1;
            continue;
        };
        let mut end = i + p.len();
        while b.get(end).copied().is_some_and(is_b64url) {
            end += 1;
        }
        if end - i - p.len() >= 10 {
            sp.replace(i, end, mask);
        }
        i = end;
    }
    sp.finish()
}

/// The password in `scheme://user:password@host`.
fn redact_userinfo(s: &str, mask: &str) -> Option<String> {
    if memchr::memchr(b':', s.as_bytes()).is_none() || !s.contains("://") {
        return None;
    }
    let b = s.as_bytes();
    let mut sp = Splicer::new(s);
    let mut from = 0;
    while let Some(rel) = s.get(from..).and_then(|t| t.find("://")) {
        let auth_start = from + rel + 3;
        let mut i = auth_start;
        while b
            .get(i)
            .is_some_and(|&c| !matches!(c, b'/' | b'?' | b'#' | b' ' | b'"' | b'\'' | b'<' | b'>'))
        {
            i += 1;
        }
        let authority = s.get(auth_start..i).unwrap_or("");
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority.get(..at).and_then(|u| u.find(':')) {
                let (ps, pe) = (auth_start + colon + 1, auth_start + at);
                if pe > ps && s.get(ps..pe) != Some(mask) {
                    sp.replace(ps, pe, mask);
                }
            }
        }
        from = i.max(auth_start);
    }
    sp.finish()
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%')
}

/// Authorization schemes whose credential is the next word.
const SCHEMES: &[&[u8]] = &[b"bearer", b"basic", b"token", b"digest", b"negotiate", b"apikey"];

/// `key=value`, `key: value`, `"key": "value"` and `\"key\":\"value\"` where the key names a
/// secret: the value is masked (quotes kept; a bare JSON value after a quoted key becomes a
/// quoted mask so JSON stays JSON). Values that are objects or arrays are left to their own keys.
fn redact_pairs(s: &str, keys: &KeyMatcher, mask: &str) -> Option<String> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == b'=' || c == b':') {
        return None;
    }
    let mut sp = Splicer::new(s);
    let mut i = 0;
    while i < b.len() {
        let sep = b.get(i).copied().unwrap_or(0);
        if sep != b'=' && sep != b':' {
            i += 1;
            continue;
        }
        // The key, looking back over spaces, a closing quote (maybe escaped) or bracket.
        let mut k_end = i;
        while k_end > 0 && b.get(k_end - 1) == Some(&b' ') {
            k_end -= 1;
        }
        let mut key_quoted = false;
        if k_end > 0 && matches!(b.get(k_end - 1), Some(b'"' | b'\'')) {
            key_quoted = true;
            k_end -= 1;
            if k_end > 0 && b.get(k_end - 1) == Some(&b'\\') {
                k_end -= 1;
            }
        } else if k_end > 0 && b.get(k_end - 1) == Some(&b']') {
            k_end -= 1;
        }
        let mut k_start = k_end;
        while k_start > 0 && b.get(k_start - 1).copied().is_some_and(is_key_byte) {
            k_start -= 1;
        }
        let key = s.get(k_start..k_end).unwrap_or("");
        if key.is_empty() || !keys.is_secret_key(key) {
            i += 1;
            continue;
        }
        // The value.
        let mut v = i + 1;
        while b.get(v) == Some(&b' ') {
            v += 1;
        }
        let (vs, ve, quote_mask) = match b.get(v).copied() {
            Some(q @ (b'"' | b'\'')) => {
                let close = find_unescaped(b, v + 1, q);
                (v + 1, close, false)
            }
            Some(b'\\') if matches!(b.get(v + 1), Some(b'"' | b'\'')) => {
                let close = s
                    .get(v + 2..)
                    .and_then(|t| t.find(if b.get(v + 1) == Some(&b'"') { "\\\"" } else { "\\'" }))
                    .map_or(s.len(), |p| v + 2 + p);
                (v + 2, close, false)
            }
            Some(b'{' | b'[') | None => {
                i = v.max(i + 1);
                continue;
            }
            Some(_) => {
                let stop: &[u8] = if sep == b'=' { b"&; \t\"'<>\\" } else { b"&;, \t\"'<>\\}])" };
                let mut e = v;
                while b.get(e).is_some_and(|c| !stop.contains(c)) {
                    e += 1;
                }
                // `Authorization: Bearer xyz`: the credential is the next word.
                let word = b.get(v..e).unwrap_or(&[]);
                if SCHEMES.iter().any(|w| word.eq_ignore_ascii_case(w)) && b.get(e) == Some(&b' ') {
                    let mut n = e;
                    while b.get(n) == Some(&b' ') {
                        n += 1;
                    }
                    if s.get(n..).is_some_and(|t| t.starts_with(mask)) {
                        n += mask.len();
                    } else {
                        while b.get(n).is_some_and(|c| !stop.contains(c)) {
                            n += 1;
                        }
                    }
                    e = n;
                }
                (v, e, key_quoted && sep == b':')
            }
        };
        let value = s.get(vs..ve).unwrap_or("");
        if !value.is_empty() && value != mask {
            if quote_mask {
                sp.replace(vs, ve, &format!("\"{mask}\""));
            } else {
                sp.replace(vs, ve, mask);
            }
        }
        i = ve.max(i + 1);
    }
    sp.finish()
}

/// Index of the next `q` at or after `from` not preceded by a backslash, or the end of `b`.
fn find_unescaped(b: &[u8], from: usize, q: u8) -> usize {
    let mut i = from;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            i += 2;
            continue;
        }
        if c == q {
            return i;
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests;
