//! cmd.exe command shapes: `if [/i] [not] exist|defined|errorlevel|a==b ...` and
//! `for [/d|/r|/l|/f ...] %v in (...) do cmd`.

use super::cmdi::is_sep;
use super::sql_lex::find_seq;
use super::sqli::Hit;

/// cmd.exe conditionals: `if [/i] [not] exist|defined|errorlevel|cmdextversion ...`,
/// `if a geq b ...`, `if [/i] [not] a==b`.
pub(crate) fn windows_if(seg: &[u8]) -> Option<Hit> {
    let seg = seg.trim_ascii_start();
    let mut words =
        seg.split(|c| c.is_ascii_whitespace() || *c == b'/').filter(|w| !w.is_empty()).take(6);
    if words.next()? != b"if" {
        return None;
    }
    let mut w = words.next()?;
    if w == b"i" {
        w = words.next()?;
    }
    if w == b"not" {
        w = words.next()?;
    }
    let kw = |x: &[u8]| matches!(x, b"exist" | b"defined" | b"errorlevel" | b"cmdextversion");
    let cmp = |x: &[u8]| matches!(x, b"equ" | b"neq" | b"lss" | b"leq" | b"gtr" | b"geq");
    // `if [/i] [not] a==b command`: cmd.exe string comparison (no spaces needed around `==`).
    let window = seg.get(..seg.len().min(80)).unwrap_or_default();
    let string_cmp = find_seq(window, 0, b"==").is_some_and(|p| {
        window.get(p + 2..).is_some_and(|r| r.iter().any(|c| !c.is_ascii_whitespace()))
    });
    if kw(w) || string_cmp || words.next().is_some_and(cmp) {
        Some(("cmdi.windows_if", 0.85))
    } else {
        None
    }
}

/// Windows `for [/d|/r|/l|/f ...] %v in (...) do cmd`.
pub(crate) fn windows_for(v: &[u8]) -> Option<Hit> {
    let mut from = 0;
    while let Some(p) = find_seq(v, from, b"for") {
        from = p + 1;
        let start_ok = p == 0 || v.get(p - 1).is_some_and(|&c| is_sep(c) || c == b' ' || c == b'"');
        if !start_ok || !v.get(p + 3).is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let window = v.get(p + 3..(p + 400).min(v.len())).unwrap_or_default();
        let Some(pct) = window.iter().position(|&c| c == b'%') else { continue };
        let Some(inp) = find_seq(window, pct, b" in") else { continue };
        let Some(lp) = find_seq(window, inp, b"(") else { continue };
        let Some(rp) = find_seq(window, lp, b")") else { continue };
        if find_seq(window, rp, b"do").is_some() {
            return Some(("cmdi.windows_for_loop", 0.9));
        }
    }
    None
}
