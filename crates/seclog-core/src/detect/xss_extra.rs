//! XSS shapes outside ordinary tags: tag names spelled with blanks, attribute injection after a
//! quote with any `on*` handler, CSS `url(javascript`, XML external inclusion and server-side
//! include directives.

use super::sql_lex::find_seq;
use super::sqli::Hit;

/// Tag names that are worth spelling out with blanks (`<f o r m`, `<s c r i p t`).
const SPACED_TAGS: &[&[u8]] = &[
    b"script",
    b"iframe",
    b"object",
    b"embed",
    b"applet",
    b"svg",
    b"math",
    b"form",
    b"dialog",
    b"input",
    b"button",
    b"img",
    b"image",
    b"body",
    b"video",
    b"audio",
    b"details",
    b"marquee",
    b"textarea",
    b"select",
    b"style",
    b"link",
    b"meta",
    b"base",
    b"frame",
    b"frameset",
];

/// Attributes that run script or submit elsewhere, injected after a quote (`'formaction=`).
const QUOTED_ATTRS: &[&[u8]] = &[b"formaction", b"srcdoc", b"xlink:href", b"background"];

/// `<` followed by single letters separated by blanks that spell a tag name.
fn spaced_tag(s: &[u8]) -> Option<Hit> {
    let mut i = 0;
    while let Some(p) = s.get(i..).and_then(|r| r.iter().position(|&c| c == b'<')) {
        let mut j = i + p + 1;
        i = j;
        let mut name = [0u8; 12];
        let mut n = 0;
        while let Some(&c) = s.get(j) {
            if !c.is_ascii_alphabetic() || n == name.len() {
                break;
            }
            if let Some(slot) = name.get_mut(n) {
                *slot = c;
            }
            n += 1;
            j += 1;
            if s.get(j) != Some(&b' ') || !s.get(j + 1).is_some_and(u8::is_ascii_alphabetic) {
                break;
            }
            j += 1;
        }
        if n >= 3 && SPACED_TAGS.contains(&name.get(..n).unwrap_or_default()) {
            return Some(("xss.spaced_tag", 0.8));
        }
    }
    None
}

/// Lengths of event handler attribute names: the longest DOM event name
/// (`onwebkitplaybacktargetavailabilitychanged`) has 42 letters; a longer `on...=` word is not
/// a handler any browser runs.
const HANDLER_LEN: std::ops::RangeInclusive<usize> = 5..=48;

/// A quote (optionally after `<`) directly followed by `on<letters>=` or a script-capable
/// attribute and `=`: breaking out of an attribute value to add a handler.
fn quoted_attribute(s: &[u8]) -> Option<Hit> {
    for (p, &c) in s.iter().enumerate() {
        if c != b'"' && c != b'\'' {
            continue;
        }
        let rest = s.get(p + 1..).unwrap_or_default();
        let name_len = rest.iter().take_while(|c| c.is_ascii_alphabetic() || **c == b':').count();
        let name = rest.get(..name_len).unwrap_or_default();
        let after = rest.get(name_len..).unwrap_or_default().trim_ascii_start();
        if after.first() != Some(&b'=') {
            continue;
        }
        let handler = HANDLER_LEN.contains(&name.len()) && name.starts_with(b"on");
        if handler || QUOTED_ATTRS.contains(&name) {
            return Some(("xss.quoted_attribute_injection", 0.8));
        }
    }
    None
}

/// A value that opens with blanks and `on<letters>=`: breaking out of an unquoted attribute
/// value to add an event handler (`  onabc= `).
fn unquoted_attribute(s: &[u8]) -> Option<Hit> {
    if !s.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let rest = s.trim_ascii_start();
    let name_len = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let name = rest.get(..name_len).unwrap_or_default();
    let after = rest.get(name_len..).unwrap_or_default().trim_ascii_start();
    (HANDLER_LEN.contains(&name.len()) && name.starts_with(b"on") && after.first() == Some(&b'='))
        .then_some(("xss.unquoted_attribute_injection", 0.75))
}

/// An ECMAScript module import standing as a value: `import { a, b } from "./x.js"`,
/// `import * as m from 'x'`.
fn es_import(s: &[u8]) -> Option<Hit> {
    let rest = s.trim_ascii_start().strip_prefix(b"import")?.trim_ascii_start();
    if !matches!(rest.first(), Some(b'{' | b'*')) {
        return None;
    }
    let p = find_seq(rest, 0, b"from")?;
    let after = rest.get(p + 4..)?.trim_ascii_start();
    matches!(after.first(), Some(b'"' | b'\'')).then_some(("xss.es_module_import", 0.75))
}

/// CSS `url(javascript:` / `url('vbscript:`.
fn css_script_url(s: &[u8]) -> Option<Hit> {
    let mut from = 0;
    while let Some(p) = find_seq(s, from, b"url(") {
        from = p + 4;
        let rest = s.get(from..).unwrap_or_default();
        let rest = rest
            .iter()
            .position(|c| !matches!(c, b' ' | b'"' | b'\'' | b'\t'))
            .and_then(|k| rest.get(k..))
            .unwrap_or_default();
        if rest.starts_with(b"javascript") || rest.starts_with(b"vbscript") {
            return Some(("xss.css_script_url", 0.85));
        }
    }
    None
}

/// XML documents that pull in external resources (XInclude, schema locations, external
/// entities), and server-side include directives (`<!--#exec`, `<!--#include`).
fn xml_external(s: &[u8]) -> Option<Hit> {
    if find_seq(s, 0, b"xi:include").is_some() || find_seq(s, 0, b"xsi:schemalocation").is_some() {
        return Some(("xss.xml_external_resource", 0.8));
    }
    if let Some(p) = find_seq(s, 0, b"!entity") {
        let rest = s.get(p..).unwrap_or_default();
        if find_seq(rest, 0, b"system").is_some() || find_seq(rest, 0, b"public").is_some() {
            return Some(("xss.xml_external_resource", 0.8));
        }
    }
    let mut from = 0;
    while let Some(p) = find_seq(s, from, b"<!--#") {
        from = p + 5;
        let rest = s.get(from..).unwrap_or_default();
        const SSI: &[&[u8]] =
            &[b"exec", b"include", b"echo", b"set", b"config", b"printenv", b"fsize", b"flastmod"];
        if SSI.iter().any(|d| rest.starts_with(d)) {
            return Some(("xss.server_side_include", 0.85));
        }
    }
    None
}

/// All of the above; the flags tell whether the input holds `<`, a quote and `=`, `(`, and
/// `:` or other punctuation (`!`), so absent shapes are not searched.
pub(crate) fn xss_extras(s: &[u8], lt: bool, quote: bool, paren: bool, colon: bool) -> Option<Hit> {
    let mut found = unquoted_attribute(s);
    if found.is_none() && s.trim_ascii_start().starts_with(b"import") {
        found = es_import(s);
    }
    if found.is_none() && lt {
        found = spaced_tag(s);
    }
    if found.is_none() && quote {
        found = quoted_attribute(s);
    }
    if found.is_none() && paren {
        found = css_script_url(s);
    }
    if found.is_none() && (lt || colon) {
        found = xml_external(s);
    }
    found
}
