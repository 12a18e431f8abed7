//! XSS without HTML: JavaScript payloads injected into a script context.
//!
//! Works on a "JS view" of the normalised input with whitespace and `/* */` comments removed,
//! since JavaScript ignores both between tokens (`document /*x*/ . cookie`).

use super::patterns::PatternSet;
use super::sql_lex::find_seq;
use super::sqli::Hit;
use std::borrow::Cow;
use std::sync::LazyLock;

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

static CALL_SET: LazyLock<PatternSet> = LazyLock::new(|| PatternSet::new(CALLS));
static GLOBAL_SET: LazyLock<PatternSet> = LazyLock::new(|| PatternSet::new(GLOBALS));

fn ident(b: Option<&u8>) -> bool {
    b.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
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
    // `alert(1)`, `eval(...)`, `alert`1``, `new Function(...)`.
    let call = (paren || tick)
        && CALL_SET.any(v, |name, p| {
            let before = p.checked_sub(1).and_then(|i| v.get(i));
            let after = v.get(p + name.len());
            let prefixed_new = name == b"newfunction";
            (prefixed_new || !ident(before)) && matches!(after, Some(b'(' | b'`'))
        });
    if call {
        return Some(("xss.js_call", 0.85));
    }
    // `self["alert"]`, `(document)["cookie"]`, `window[...]`.
    let global = bracket
        && GLOBAL_SET.any(v, |name, p| {
            let before = p.checked_sub(1).and_then(|i| v.get(i));
            let mut j = p + name.len();
            while v.get(j) == Some(&b')') {
                j += 1;
            }
            !ident(before) && v.get(j) == Some(&b'[') && matches!(v.get(j + 1), Some(b'"' | b'\''))
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
