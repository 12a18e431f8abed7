//! Cross-site scripting: a small HTML tokeniser looking at tags, attributes and URL schemes.

use super::patterns::{KeywordScan, Kw, PatternSet};
use super::prefilter::{
    Features, BACKTICK, BANG, BRACKET, COLON, DASH, DOT, EQ, HIGH, LPAREN, LT, QUOTE, SLASH, STAR,
    WS,
};
use super::sql_lex::find_seq;
use super::sql_lex::memchr;
use super::sqli::Hit;
use std::sync::LazyLock;

/// Tags that execute script or load active content by themselves.
const DANGER_TAGS: &[&[u8]] = &[
    b"script",
    b"iframe",
    b"frame",
    b"frameset",
    b"object",
    b"embed",
    b"applet",
    b"base",
    b"meta",
    b"svg",
    b"math",
    b"xml",
    b"import",
    b"link",
    b"style",
    b"isindex",
    b"xss",
    b"template",
    b"portal",
    b"animate",
    b"set",
    b"handler",
    b"listener",
    b"vmlframe",
];

/// Attributes that run script or pull in active content whatever their value.
const DANGER_ATTRS: &[&[u8]] = &[
    b"style",
    b"datasrc",
    b"datafld",
    b"dataformatas",
    b"formaction",
    b"srcdoc",
    b"xlink:href",
    b"ev:event",
    b"ev:handler",
    b"behavior",
    b"behaviour",
    b"seeksegmenttime",
    b"dynsrc",
    b"lowsrc",
    b"background",
];

/// Well-known DOM event handler names (used outside a tag, where `on...=` is less certain).
pub(crate) const EVENTS: &[&[u8]] = &[
    b"onload",
    b"onerror",
    b"onclick",
    b"onmouseover",
    b"onmouseout",
    b"onmousemove",
    b"onmousedown",
    b"onmouseup",
    b"onfocus",
    b"onblur",
    b"onchange",
    b"onsubmit",
    b"onkeyup",
    b"onkeydown",
    b"onkeypress",
    b"oninput",
    b"onanimationstart",
    b"onanimationend",
    b"ontransitionend",
    b"onbeforeunload",
    b"onunload",
    b"onresize",
    b"onscroll",
    b"onpageshow",
    b"onhashchange",
    b"onmessage",
    b"onpointerover",
    b"onpointerdown",
    b"onpointerenter",
    b"ontoggle",
    b"onbegin",
    b"onend",
    b"onstart",
    b"onfinish",
    b"ondblclick",
    b"oncontextmenu",
    b"ondrag",
    b"ondrop",
    b"onwheel",
    b"oncopy",
    b"onpaste",
    b"oncut",
    b"onselect",
    b"onreadystatechange",
    b"onfocusin",
    b"onfocusout",
    b"onmouseenter",
    b"onmouseleave",
    b"onpopstate",
    b"onsearch",
    b"onplay",
    b"oncanplay",
    b"onloadstart",
    b"onprogress",
    b"ontimeupdate",
    b"onbounce",
];

/// Script-bearing URL schemes (matched with whitespace and control bytes removed).
const SCHEMES: &[&[u8]] = &[
    b"javascript:",
    b"vbscript:",
    b"livescript:",
    b"data:text/html",
    b"data:image/svg",
    b"data:application/x",
    b"data:text/xml",
    b"data:application/xhtml",
];

/// Script sinks that are rarely seen outside of script.
pub(crate) const SINKS: &[&[u8]] = &[
    b"document.cookie",
    b"document.write",
    b"document.location",
    b"window.location",
    b".innerhtml",
    b"fromcharcode(",
    b"-moz-binding",
    b"<!entity",
    b"settimeout(",
    b"setinterval(",
    b"document.domain",
    b"window.open(",
    b"<![cdata[",
    b"eval(atob(",
    b"document.createelement",
    b"document.queryselector",
    b"document.getelementby",
    b"document.body.",
    b".appendchild(",
];

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'/')
}

/// Judge `s` (normalised, lower-case) for XSS.
pub(crate) fn detect_xss(s: &[u8], f: Features, kw: &KeywordScan<'_>) -> Option<Hit> {
    let mut best: Option<Hit> = None;
    let mut hit = |h: Hit| {
        if best.is_none_or(|b: Hit| h.1 > b.1) {
            best = Some(h);
        }
    };
    let mut i = 0;
    while let Some(p) = s.get(i..).filter(|_| f.any(LT)).and_then(|r| memchr(b'<', r)) {
        let lt = i + p;
        i = lt + 1;
        if let Some(h) = judge_tag(s, lt + 1) {
            hit(h);
            if h.1 >= 0.9 {
                return best;
            }
        }
    }
    // Attribute injection outside a tag: a quote or whitespace then a known handler and `=`.
    if f.any(EQ) && (f.is_all() || handler_before_eq(s)) {
        if let Some(h) = attribute_injection(s, kw) {
            hit(h);
        }
    }
    if f.any(COLON) {
        if let Some(h) = scheme(s) {
            hit(h);
        }
    }
    // Every sink holds `<` or `-`, or a `.` / `(` next to one of its words (unit-tested).
    let sink_bytes = f.any(LT | DASH);
    let anchors = f.any(DOT | LPAREN);
    if (sink_bytes || (anchors && sink_anchor(s, false)))
        && kw.any(Kw::Sink, |_, p| {
            // A path segment named after a sink (`/manual/document.cookie`) is not script.
            p == 0 || s.get(p - 1) != Some(&b'/')
        })
    {
        hit(("xss.script_sink", 0.8));
    }
    // JavaScript rules need a call `(`, a back-quote, `[` (computed access, JSFuck), `-`
    // (UTF-7) or a high byte (high-bit ASCII). Sinks split by blanks or comments are searched
    // on the view without them: needed for a comment, or a blank next to a sink word.
    let js_rules = f.any(LPAREN | BACKTICK | BRACKET | DASH | HIGH);
    let comment = f.any(SLASH) && f.any(STAR) && find_seq(s, 0, b"/*").is_some();
    let compact_sinks = comment || (f.any(WS) && (sink_bytes || (anchors && sink_anchor(s, true))));
    // The view is built only when a comment must be dropped, for tagged templates, or for the
    // sinks; otherwise the JavaScript rules skip blanks on the text itself.
    let view = (compact_sinks || (js_rules && f.any(BACKTICK))).then(|| super::js::js_view(s));
    if js_rules {
        if let Some(h) = super::js::detect_js(s, view.as_deref(), f) {
            hit(h);
        }
    }
    if let Some(v) = view.as_deref().filter(|v| compact_sinks && v.len() != s.len()) {
        if SINK_SET.any(v, |_, p| p == 0 || v.get(p - 1) != Some(&b'/')) {
            hit(("xss.script_sink", 0.8));
        }
    }
    let extra = super::xss_extra::xss_extras(
        s,
        f.any(LT),
        f.any(QUOTE) && f.any(EQ),
        f.any(LPAREN),
        f.any(COLON | BANG),
    );
    if let Some(h) = extra {
        hit(h);
    }
    // CSS `: expression(`.
    if f.any(COLON) && f.any(LPAREN) {
        if let Some(p) = find_seq(s, 0, b"expression") {
            let before = s.get(..p).unwrap_or_default();
            let after = s.get(p + 10..).unwrap_or_default();
            let colon = before.iter().rev().find(|c| !c.is_ascii_whitespace()) == Some(&b':');
            let paren = after.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'(');
            if colon && paren {
                hit(("xss.css_expression", 0.85));
            }
        }
    }
    best
}

/// Parse a tag starting right after `<`.
fn judge_tag(s: &[u8], start: usize) -> Option<Hit> {
    let mut j = start;
    // XML processing instructions and declarations: `<?xml-stylesheet`, `<?import`, `<!ATTLIST`.
    match s.get(j) {
        Some(b'?') => {
            let rest = s.get(j + 1..).unwrap_or_default();
            if rest.starts_with(b"xml-stylesheet") || rest.starts_with(b"import") {
                return Some(("xss.xml_instruction", 0.9));
            }
        }
        Some(b'!') => {
            let rest = s.get(j + 1..).unwrap_or_default();
            if rest.starts_with(b"attlist") || rest.starts_with(b"entity") {
                return Some(("xss.xml_instruction", 0.9));
            }
        }
        _ => {}
    }
    while s.get(j) == Some(&b'/') {
        j += 1;
    }
    let name_start = j;
    while s
        .get(j)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b':' || *c == b'_')
    {
        j += 1;
    }
    let name = s.get(name_start..j)?;
    // `<:vmlframe`: an empty namespace prefix still names the local tag.
    if name.is_empty() || !(name.first()?.is_ascii_alphabetic() || name.first() == Some(&b':')) {
        return None;
    }
    // Namespaced tags like `svg:svg` behave as their local name; an `svg:`/`xsl:` prefix is
    // itself active content.
    let local = name.rsplit(|&c| c == b':').next().unwrap_or(name);
    let prefix = name.split(|&c| c == b':').next().unwrap_or(name);
    let mut best: Option<Hit> = None;
    if DANGER_TAGS.contains(&local)
        || (prefix != name && (DANGER_TAGS.contains(&prefix) || prefix == b"xsl"))
    {
        let closing = s.get(j).is_none_or(|&c| is_space(c) || c == b'>');
        if closing {
            best = Some(("xss.dangerous_tag", 0.9));
        }
    }
    // Attributes up to `>` (or end of input).
    let end = s.get(j..).and_then(|r| r.iter().position(|&c| c == b'>')).map_or(s.len(), |p| j + p);
    let attrs = s.get(j..end).unwrap_or_default();
    let mut k = 0;
    while k < attrs.len() {
        let c = attrs.get(k).copied().unwrap_or(0);
        let boundary =
            k == 0 || attrs.get(k - 1).is_some_and(|&p| is_space(p) || p == b'"' || p == b'\'');
        if boundary && c == b'o' && attrs.get(k + 1) == Some(&b'n') {
            let mut e = k + 2;
            while attrs.get(e).is_some_and(u8::is_ascii_alphabetic) {
                e += 1;
            }
            let mut q = e;
            while attrs.get(q).is_some_and(|c| c.is_ascii_whitespace()) {
                q += 1;
            }
            if e > k + 3 && attrs.get(q) == Some(&b'=') {
                return Some(("xss.event_handler", 0.95));
            }
            k = e;
            continue;
        }
        if boundary && c.is_ascii_alphabetic() {
            let mut e = k;
            while attrs
                .get(e)
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b':' | b'-'))
            {
                e += 1;
            }
            let name = attrs.get(k..e).unwrap_or_default();
            let mut q = e;
            while attrs.get(q).is_some_and(|c| c.is_ascii_whitespace()) {
                q += 1;
            }
            if attrs.get(q) == Some(&b'=') && DANGER_ATTRS.contains(&name) {
                return Some(("xss.dangerous_attribute", 0.85));
            }
            k = e.max(k + 1);
            continue;
        }
        k += 1;
    }
    if scheme(attrs).is_some() {
        return Some(("xss.script_url_attribute", 0.95));
    }
    if find_seq(attrs, 0, b"style").is_some() && find_seq(attrs, 0, b"expression(").is_some() {
        return Some(("xss.css_expression", 0.9));
    }
    best
}

static SINK_SET: LazyLock<PatternSet> = LazyLock::new(|| PatternSet::new(SINKS));
static SCHEME_SET: LazyLock<PatternSet> = LazyLock::new(|| PatternSet::new(SCHEMES));

/// Words of the sinks that stand next to a `.` or `(` in them.
const SINK_BEFORE_DOT: &[&[u8]] = &[b"document", b"window"];
const SINK_AFTER_DOT: &[&[u8]] = &[b"innerhtml", b"appendchild"];
const SINK_BEFORE_PAREN: &[&[u8]] = &[b"fromcharcode", b"settimeout", b"setinterval", b"eval"];

/// Could a sink without `<` or `-` occur in `s`: is a `.` preceded by `document`/`window` or
/// followed by `innerhtml`/`appendchild`, or a `(` preceded by `fromcharcode`, `settimeout`,
/// `setinterval` or `eval`? With `blanks`, whitespace is skipped as the JavaScript view
/// drops it.
fn sink_anchor(s: &[u8], blanks: bool) -> bool {
    let mut from = 0;
    while let Some(p) = s.get(from..).and_then(|r| r.iter().position(|&c| c == b'.' || c == b'(')) {
        let i = from + p;
        if sink_anchor_at(s, i, blanks) {
            return true;
        }
        from = i + 1;
    }
    false
}

/// [`sink_anchor`] at the `.` or `(` at `i` (kept out of line so the search loop stays tight).
#[inline(never)]
fn sink_anchor_at(s: &[u8], i: usize, blanks: bool) -> bool {
    let skip = |c: u8| blanks && c.is_ascii_whitespace();
    // Does `w` end at `end` (exclusive) / start at `from`, blanks skipped?
    let ends = |end: usize, w: &[u8]| {
        let (mut i, mut k) = (end, w.len());
        while k > 0 {
            let Some(&c) = i.checked_sub(1).and_then(|j| s.get(j)) else { return false };
            i -= 1;
            if skip(c) {
                continue;
            }
            if w.get(k - 1) != Some(&c) {
                return false;
            }
            k -= 1;
        }
        true
    };
    let starts = |from: usize, w: &[u8]| {
        let (mut i, mut k) = (from, 0);
        while k < w.len() {
            let Some(&c) = s.get(i) else { return false };
            i += 1;
            if skip(c) {
                continue;
            }
            if w.get(k) != Some(&c) {
                return false;
            }
            k += 1;
        }
        true
    };
    if s.get(i) == Some(&b'.') {
        SINK_BEFORE_DOT.iter().any(|w| ends(i, w))
            || SINK_AFTER_DOT.iter().any(|w| starts(i + 1, w))
    } else {
        SINK_BEFORE_PAREN.iter().any(|w| ends(i, w))
    }
}

/// Is some `=` preceded (blanks skipped) by a run of letters starting with `on`? Every event
/// handler name is such a run, and [`attribute_injection`] needs one right before `=`.
fn handler_before_eq(s: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = s.get(from..).and_then(|r| memchr(b'=', r)) {
        let i = from + p;
        if handler_at(s, i) {
            return true;
        }
        from = i + 1;
    }
    false
}

#[inline(never)]
fn handler_at(s: &[u8], eq: usize) -> bool {
    let head = s.get(..eq).unwrap_or_default().trim_ascii_end();
    let len = head.iter().rev().take_while(|c| c.is_ascii_alphabetic()).count();
    head.get(head.len() - len..).is_some_and(|w| w.starts_with(b"on"))
}

fn attribute_injection(s: &[u8], kw: &KeywordScan<'_>) -> Option<Hit> {
    let found = kw.any(Kw::Event, |ev, p| {
        let prev_ok = p == 0
            || s.get(p - 1).is_some_and(|&c| is_space(c) || c == b'"' || c == b'\'' || c == b';');
        let mut q = p + ev.len();
        while s.get(q).is_some_and(|c| c.is_ascii_whitespace()) {
            q += 1;
        }
        prev_ok && s.get(q) == Some(&b'=')
    });
    found.then_some(("xss.event_handler_attribute", 0.85))
}

/// A script URL scheme, ignoring whitespace/control bytes inside it (browsers do too).
fn scheme(s: &[u8]) -> Option<Hit> {
    if !s.contains(&b':') {
        return None;
    }
    let compact: Vec<u8> = s.iter().copied().filter(|&c| c > b' ').collect();
    // Control bytes inside the scheme name (`ja&tab;vascript:`) are obfuscation by themselves.
    let hidden = s.iter().any(|&c| c < b' ') && {
        let no_ctl: Vec<u8> = s.iter().copied().filter(|&c| c >= b' ').collect();
        SCHEME_SET.any(&no_ctl, |sch, _| find_seq(s, 0, sch).is_none())
    };
    if hidden {
        return Some(("xss.script_url", 0.85));
    }
    let found = SCHEME_SET.any(&compact, |sch, p| {
        let rest = compact.get(p + sch.len()..).unwrap_or_default();
        // `javascript:` followed by code-like content, not prose such as "JavaScript: The Good Parts".
        sch.starts_with(b"data:")
            || rest
                .iter()
                .take(64)
                .any(|c| matches!(c, b'(' | b'`' | b'=' | b'/' | b'%' | b'\\' | b'[' | b'.'))
    });
    found.then_some(("xss.script_url", 0.9))
}

#[cfg(test)]
mod tests {
    use super::{handler_before_eq, sink_anchor, EVENTS, SINKS};

    /// The gates before the sink and handler scans hold for every listed name.
    #[test]
    fn gates_cover_every_sink_and_handler() {
        for w in SINKS {
            let lt_dash = w.contains(&b'<') || w.contains(&b'-');
            assert!(lt_dash || sink_anchor(w, false), "{w:?}");
            let spaced: Vec<u8> = w.iter().flat_map(|c| [*c, b' ']).collect();
            assert!(lt_dash || sink_anchor(&spaced, true), "{w:?}");
        }
        for w in EVENTS {
            let attr = [&w[..], b" ="].concat();
            assert!(handler_before_eq(&attr), "{w:?}");
        }
        assert!(!sink_anchor(b"john.smith@example.com", true));
        assert!(!handler_before_eq(b"page=2&sort=desc"));
    }
}
