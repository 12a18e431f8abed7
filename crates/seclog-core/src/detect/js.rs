//! XSS without HTML: JavaScript payloads injected into a script context.
//!
//! Works on a "JS view" of the normalised input with whitespace and `/* */` comments removed,
//! since JavaScript ignores both between tokens (`document /*x*/ . cookie`).

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

/// Judge the JS view `v` (and the normalised text `s`) for script-context XSS.
pub(crate) fn detect_js(s: &[u8], v: &[u8]) -> Option<Hit> {
    // One pass for the three bytes the rules below need.
    let (mut paren, mut tick, mut bracket) = (false, false, false);
    for &c in v {
        match c {
            b'(' => paren = true,
            b'`' => tick = true,
            b'[' => bracket = true,
            _ => {}
        }
    }
    // `alert(1)`, `eval(...)`, `alert`1``, `new Function(...)`: the identifier before a `(` or
    // back-quote is a listed call (`newfunction` may have anything before it).
    let call = (paren || tick)
        && v.iter().enumerate().any(|(p, c)| {
            matches!(c, b'(' | b'`') && {
                let name = ident_before(v, p);
                CALLS.contains(&name) || name.ends_with(b"newfunction")
            }
        });
    if call {
        return Some(("xss.js_call", 0.85));
    }
    // `self["alert"]`, `(document)["cookie"]`, `window[...]`: a listed global, closing
    // parentheses, then `[` and a quote.
    let global = bracket
        && v.iter().enumerate().any(|(p, c)| {
            *c == b'[' && matches!(v.get(p + 1), Some(b'"' | b'\'')) && {
                let close =
                    v.get(..p).map_or(0, |r| r.iter().rev().take_while(|c| **c == b')').count());
                GLOBALS.contains(&ident_before(v, p - close))
            }
        });
    if global {
        return Some(("xss.js_computed_global", 0.85));
    }
    // Tagged-template calls: `[].sort.call`${alert}``, `Reflect.apply.call``.
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
    let utf7 = s.contains(&b'-')
        && [b"+adw-".as_slice(), b" adw-"].iter().any(|pat| {
            find_seq(s, 0, pat).is_some_and(|p| {
                s.get(p + 5).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'/')
            })
        });
    if utf7 {
        return Some(("xss.utf7_tag", 0.85));
    }
    // US-ASCII with the high bit set (`\xbcscript\xbe` = `<script>` | 0x80).
    if let Some(p) = s.iter().position(|&c| c == 0xbc) {
        let rest = s.get(p + 1..).unwrap_or_default();
        let name = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        if name > 0 && rest.get(name) == Some(&0xbe) {
            return Some(("xss.high_bit_tag", 0.8));
        }
    }
    None
}
