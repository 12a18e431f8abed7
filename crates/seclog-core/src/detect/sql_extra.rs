//! SQL injection shapes judged on the bytes rather than the token stream (an opened call of a
//! SQL function, a call appended to a select list, MongoDB query operators) and the
//! quote-balancing break-out expression judged on tokens.

use super::prefilter::{Features, DOLLAR, PAREN};
use super::sql_gate::SqlWords;
use super::sql_lex::{Ctx, Tok};
use super::sqli::{prose_before_quote, Hit};

/// Functions whose names are SQL vocabulary (string, numeric, conversion, metadata functions).
pub(crate) const SQL_FUNCS: &[&[u8]] = &[
    b"ascii",
    b"benchmark",
    b"bin",
    b"cast",
    b"ceil",
    b"char",
    b"char_length",
    b"chr",
    b"coalesce",
    b"compress",
    b"concat",
    b"concat_ws",
    b"conv",
    b"convert",
    b"cos",
    b"count",
    b"current_user",
    b"database",
    b"db_name",
    b"decode",
    b"encode",
    b"find_in_set",
    b"floor",
    b"group_concat",
    b"hex",
    b"ifnull",
    b"iif",
    b"insert",
    b"instr",
    b"isnull",
    b"left",
    b"length",
    b"locate",
    b"lower",
    b"lpad",
    b"ltrim",
    b"md5",
    b"mid",
    b"nullif",
    b"oct",
    b"ord",
    b"pow",
    b"power",
    b"rand",
    b"reverse",
    b"right",
    b"round",
    b"rpad",
    b"rtrim",
    b"schema",
    b"sha1",
    b"sin",
    b"sleep",
    b"strcmp",
    b"substr",
    b"substring",
    b"substring_index",
    b"sysdate",
    b"system_user",
    b"tan",
    b"trim",
    b"uncompress",
    b"unhex",
    b"upper",
    b"user",
    b"version",
    b"xmltype",
];

/// MongoDB query operators, as they appear in injected keys (`{"$ne": 1}`, `u[$ne]=1`).
const MONGO_OPS: &[&[u8]] = &[
    b"all",
    b"and",
    b"elemmatch",
    b"eq",
    b"exists",
    b"expr",
    b"gt",
    b"gte",
    b"in",
    b"lt",
    b"lte",
    b"mod",
    b"ne",
    b"nin",
    b"nor",
    b"not",
    b"or",
    b"regex",
    b"size",
    b"text",
    b"type",
    b"where",
];

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The word ending just before `end` (blanks before `end` skipped), with its start.
fn word_before(s: &[u8], end: usize) -> Option<(&[u8], usize)> {
    let mut e = end;
    while e > 0 && s.get(e - 1).is_some_and(|c| *c == b' ' || *c == b'\t') {
        e -= 1;
    }
    let mut b = e;
    while b > 0 && s.get(b - 1).copied().is_some_and(is_word) {
        b -= 1;
    }
    (b < e).then(|| (s.get(b..e).unwrap_or_default(), b))
}

/// `hex(`, `concat (`, `select(user(`: a value that ends by opening a call of a SQL function
/// (an injection fragment; ordinary text does not end in an open call), and `, find_in_set(`:
/// a value that starts by appending a SQL function call to a list.
fn function_call(s: &[u8]) -> Option<Hit> {
    let trimmed = s.trim_ascii_end();
    if let Some(end) = trimmed.len().checked_sub(1) {
        if trimmed.get(end) == Some(&b'(') {
            if let Some((w, _)) = word_before(trimmed, end) {
                if SQL_FUNCS.contains(&w) {
                    return Some(("sqli.open_function_call", 0.7));
                }
            }
        }
    }
    let rest = s.trim_ascii_start().strip_prefix(b",")?.trim_ascii_start();
    let name_end = rest.iter().position(|c| !is_word(*c))?;
    let name = rest.get(..name_end)?;
    let after = rest.get(name_end..)?.trim_ascii_start();
    (after.first() == Some(&b'(') && SQL_FUNCS.contains(&name))
        .then_some(("sqli.list_function_call", 0.75))
}

/// A MongoDB operator as a quoted key or bracketed parameter: `"$where"`, `[$ne]`.
fn mongo_operator(s: &[u8]) -> Option<Hit> {
    let mut i = 0;
    while let Some(p) = s.get(i..).and_then(|r| r.iter().position(|&c| c == b'$')) {
        let at = i + p;
        i = at + 1;
        let open = at.checked_sub(1).and_then(|k| s.get(k)).copied();
        let close = match open {
            Some(b'"') => b'"',
            Some(b'\'') => b'\'',
            Some(b'[') => b']',
            _ => continue,
        };
        let name_len = s.get(at + 1..).map_or(0, |r| r.iter().take_while(|c| is_word(**c)).count());
        let name = s.get(at + 1..at + 1 + name_len).unwrap_or_default();
        if s.get(at + 1 + name_len) == Some(&close) && MONGO_OPS.contains(&name) {
            return Some(("sqli.nosql_operator", 0.8));
        }
    }
    None
}

/// Byte-level SQL injection shapes (run even on single-token values).
pub(crate) fn sql_extras(s: &[u8], f: Features, words: SqlWords) -> Option<Hit> {
    let call = if f.any(PAREN) { function_call(s) } else { None };
    call.or_else(|| if f.any(DOLLAR) { mongo_operator(s) } else { None })
        .or_else(|| super::sql_shapes::sql_shapes(s, f, words.shape))
}

/// After the assumed string closes (`t[k]` is the first token after it and its closers): an
/// operator, a short SQL expression without prose, and then a re-opened string or a comment —
/// the quote-balancing injection `x' = 'x`, `aa'like-'aa`, `1' -1 or '1`, `x' in (0)#`.
pub(crate) fn break_expression(t: &[Tok], k: usize, s: &[u8], ctx: Ctx) -> Option<Hit> {
    if !matches!(t.get(k), Some(Tok::Op | Tok::Cmp | Tok::Logic)) {
        return None;
    }
    let rest = t.get(k..)?;
    let (last, mid) = rest.split_last()?;
    if mid.len() > 12 {
        return None;
    }
    let words = mid.iter().any(|x| matches!(x, Tok::Word));
    match last {
        // The re-opened string is the context's quote and holds a short operand (`'1`, `'aa`),
        // not the rest of a sentence; prose may not mix strings and bare words.
        Tok::Str { closed: false } => {
            let q = if ctx == Ctx::Double { b'"' } else { b'\'' };
            let p = s.iter().rposition(|&c| c == q)?;
            let tail = s.get(p + 1..)?.trim_ascii_end();
            let doubled = p.checked_sub(1).and_then(|i| s.get(i)) == Some(&q);
            let short = tail.len() <= 6
                && !doubled
                && !prose_before_quote(s, ctx)
                && tail.iter().all(|c| c.is_ascii_alphanumeric())
                && !(words && mid.iter().any(|x| matches!(x, Tok::Str { closed: true })));
            if !short {
                return None;
            }
        }
        // Cut off by a comment: no bare words at all.
        Tok::Comment { .. } if !words => {}
        _ => return None,
    }
    let mut prev_word = false;
    for x in mid {
        let word = matches!(x, Tok::Word);
        if word && prev_word {
            return None;
        }
        prev_word = word;
        if !matches!(
            x,
            Tok::Num
                | Tok::Str { closed: true }
                | Tok::Word
                | Tok::Var
                | Tok::Func { .. }
                | Tok::Kw
                | Tok::Logic
                | Tok::Cmp
                | Tok::Op
                | Tok::LParen
                | Tok::RParen
                | Tok::Comma
        ) {
            return None;
        }
    }
    Some(("sqli.string_break_expression", 0.75))
}
