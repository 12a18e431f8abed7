//! XSS without HTML: JavaScript payloads injected into a script context.
//!
//! Works on a "JS view" of the normalised input with whitespace and `/* */` comments removed,
//! since JavaScript ignores both between tokens (`document /*x*/ . cookie`).

use super::prefilter::{Features, BACKTICK, BRACKET, DASH, HIGH, LPAREN};
use super::sql_lex::find_seq;
use super::sqli::Hit;
use std::borrow::Cow;

/// Functions that run code or open dialogs, called directly or as a tagged template.
const CALLS: &[&[u8]] = &[
    b"alert",
    b"prompt",
    b"confirm",
    b"eval",
    b"settimeout",
    b"setinterval",
    b"execscript",
    b"newfunction",
    b"atob",
    b"btoa",
];

/// Global objects whose computed-property access (`self["alert"]`) hides a sink name.
const GLOBALS: &[&[u8]] =
    &[b"document", b"window", b"self", b"top", b"parent", b"frames", b"globalthis", b"this"];

fn ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// The identifier (`[a-z0-9_$]` run) that ends just before `end` in `v`.
fn ident_before(v: &[u8], end: usize) -> &[u8] {
    let head = v.get(..end).unwrap_or_default();
    let len = head.iter().rev().take_while(|c| ident(**c)).count();
    head.get(end - len..).unwrap_or_default()
}

/// `s` without whitespace and `/* ... */` comments (borrowed when there are none).
pub(crate) fn js_view(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.iter().any(|c| c.is_ascii_whitespace()) && find_seq(s, 0, b"/*").is_none() {
        return Cow::Borrowed(s);
    }
    let mut v = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'/' && s.get(i + 1) == Some(&b'*') {
            i = find_seq(s, i + 2, b"*/").map_or(s.len(), |p| p + 2);
            continue;
        }
        if !c.is_ascii_whitespace() {
            v.push(c);
        }
        i += 1;
    }
    Cow::Owned(v)
}

/// The identifier before `end` in `s` with whitespace skipped (as the JS view reads it): its
/// last 12 bytes, and whether it is longer.
fn ident_before_blanks(s: &[u8], end: usize) -> ([u8; 12], usize, bool) {
    let mut buf = [0u8; 12];
    let mut n = 0;
    let mut i = end;
    while let Some(&c) = i.checked_sub(1).and_then(|j| s.get(j)) {
        i -= 1;
        if c.is_ascii_whitespace() {
            continue;
        }
        if !ident(c) {
            break;
        }
        if n == buf.len() {
            return (buf, n, true);
        }
        n += 1;
        if let Some(slot) = buf.get_mut(12 - n) {
            *slot = c;
        }
    }
    (buf, n, false)
}

/// A listed call (`alert`, ..., any identifier ending in `newfunction`) before a `(` or
/// back-quote: on the JS view `v`, or on `s` with whitespace skipped when `v` is `None` (no
/// comments to drop).
fn listed_call(s: &[u8], v: Option<&[u8]>) -> bool {
    let t = v.unwrap_or(s);
    let mut from = 0;
    while let Some(q) = t.get(from..).and_then(|r| r.iter().position(|&c| c == b'(' || c == b'`')) {
        let p = from + q;
        from = p + 1;
        let hit = match v {
            Some(v) => {
                let name = ident_before(v, p);
                CALLS.contains(&name) || name.ends_with(b"newfunction")
            }
            None => {
                let (buf, n, long) = ident_before_blanks(s, p);
                let name = buf.get(buf.len() - n..).unwrap_or_default();
                (!long && CALLS.contains(&name)) || name.ends_with(b"newfunction")
            }
        };
        if hit {
            return true;
        }
    }
    false
}

/// A listed global, closing parentheses, then `[` and a quote (`self["alert"]`,
/// `(document)["cookie"]`): on the JS view `v`, or on `s` with whitespace skipped.
fn computed_global(s: &[u8], v: Option<&[u8]>) -> bool {
    let t = v.unwrap_or(s);
    let blank = |c: &&u8| v.is_none() && c.is_ascii_whitespace();
    let mut from = 0;
    while let Some(q) = t.get(from..).and_then(|r| r.iter().position(|&c| c == b'[')) {
        let p = from + q;
        from = p + 1;
        let after = t.get(p + 1..).unwrap_or_default().iter().find(|c| !blank(c));
        if !matches!(after, Some(b'"' | b'\'')) {
            continue;
        }
        // Back over blanks and `)`.
        let head = t.get(..p).unwrap_or_default();
        let skip = head.iter().rev().take_while(|c| blank(c) || **c == b')').count();
        let end = p - skip;
        let hit = match v {
            Some(v) => GLOBALS.contains(&ident_before(v, end)),
            None => {
                let (buf, n, long) = ident_before_blanks(s, end);
                !long && GLOBALS.contains(&buf.get(buf.len() - n..).unwrap_or_default())
            }
        };
        if hit {
            return true;
        }
    }
    false
}

/// Judge the normalised text `s` for script-context XSS. `v` is the JS view (whitespace and
/// comments dropped) when it was built — needed when `s` has comments or a back-quote —
/// and `f` the byte kinds of `s`.
pub(crate) fn detect_js(s: &[u8], v: Option<&[u8]>, f: Features) -> Option<Hit> {
    let (paren, tick, bracket) = (f.any(LPAREN), f.any(BACKTICK), f.any(BRACKET));
    // `alert(1)`, `eval(...)`, `alert`1``, `new Function(...)`: the identifier before a `(` or
    // back-quote is a listed call (`newfunction` may have anything before it).
    if (paren || tick) && listed_call(s, v) {
        return Some(("xss.js_call", 0.85));
    }
    // `self["alert"]`, `(document)["cookie"]`, `window[...]`.
    if bracket && computed_global(s, v) {
        return Some(("xss.js_computed_global", 0.85));
    }
    // Tagged-template calls: `[].sort.call`${alert}``, `Reflect.apply.call``.
    let v = v.unwrap_or(s);
    if tick && (find_seq(v, 0, b".call`").is_some() || find_seq(v, 0, b".apply`").is_some()) {
        return Some(("xss.js_template_call", 0.85));
    }
    // JSFuck: code written only with `[]()!+` (`+` may already be decoded to a blank).
    let t = s.trim_ascii();
    if bracket
        && t.len() >= 4
        && find_seq(t, 0, b"![]").is_some()
        && t.iter().all(|c| matches!(c, b'[' | b']' | b'(' | b')' | b'!' | b'+' | b' '))
    {
        return Some(("xss.jsfuck", 0.85));
    }
    // UTF-7 encoded tag: `+ADw-script+AD4-` (the `+` may be decoded to a blank).
    let utf7 = f.any(DASH)
        && [b"+adw-".as_slice(), b" adw-"].iter().any(|pat| {
            find_seq(s, 0, pat).is_some_and(|p| {
                s.get(p + 5).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'/')
            })
        });
    if utf7 {
        return Some(("xss.utf7_tag", 0.85));
    }
    // US-ASCII with the high bit set (`\xbcscript\xbe` = `<script>` | 0x80).
    if let Some(p) = s.iter().position(|&c| c == 0xbc).filter(|_| f.any(HIGH)) {
        let rest = s.get(p + 1..).unwrap_or_default();
        let name = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        if name > 0 && rest.get(name) == Some(&0xbe) {
            return Some(("xss.high_bit_tag", 0.8));
        }
    }
    None
}
