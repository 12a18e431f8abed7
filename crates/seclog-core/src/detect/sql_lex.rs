//! A small SQL lexer in the manner of libinjection: it turns (normalised, lower-case) input into a
//! stream of coarse tokens, starting in one of three quoting contexts.

/// Coarse token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A quoted string; `closed` tells whether its closing quote was present.
    Str { closed: bool },
    /// A numeric literal (including hex `0x..`).
    Num,
    /// An identifier or other bare word that is not a keyword.
    Word,
    /// A `@var` / `@@var` variable.
    Var,
    /// A function call: a word directly followed by `(`. `danger` for time/file/error functions.
    Func { danger: bool },
    /// UNION.
    Union,
    /// A statement-starting keyword (SELECT, INSERT, DROP, EXEC, ...).
    Stmt,
    /// FROM.
    From,
    /// A clause keyword (ORDER BY, GROUP BY, HAVING, LIMIT, WHERE, INTO, PROCEDURE, ...).
    Clause,
    /// Any other SQL keyword.
    Kw,
    /// Logical operator: AND, OR, XOR, NOT, `&&`, `||`.
    Logic,
    /// Comparison: `=`, `<>`, `!=`, `<`, `>`, LIKE, RLIKE, REGEXP, BETWEEN, IN, IS, SOUNDS.
    Cmp,
    /// Arithmetic or other operator.
    Op,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `,`.
    Comma,
    /// `;`.
    Semi,
    /// A comment: `--`, `#`, `/* */`; `empty` when its body holds no letters or digits.
    Comment { empty: bool },
}

/// Starting quote context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// Plain input.
    None,
    /// Input is assumed to start inside a `'...'` string.
    Single,
    /// Input is assumed to start inside a `"..."` string.
    Double,
}

/// Upper bound of tokens examined per context (keeps work linear and bounded).
pub(crate) const MAX_TOKENS: usize = 64;

pub(crate) const STMT: &[&[u8]] = &[
    b"select",
    b"insert",
    b"update",
    b"delete",
    b"drop",
    b"create",
    b"alter",
    b"exec",
    b"execute",
    b"declare",
    b"truncate",
    b"shutdown",
    b"waitfor",
    b"replace",
    b"grant",
    b"revoke",
    b"rename",
    b"merge",
    b"call",
    b"handler",
    b"load",
    b"show",
    b"backup",
];
const CLAUSE: &[&[u8]] = &[
    b"where",
    b"having",
    b"limit",
    b"offset",
    b"into",
    b"procedure",
    b"order",
    b"group",
    b"values",
    b"outfile",
    b"dumpfile",
    b"top",
    b"join",
    b"fetch",
    b"rownum",
    b"collate",
    b"delay",
    b"then",
    b"else",
    b"end",
    b"when",
    b"case",
];
const KW: &[&[u8]] = &[
    b"all",
    b"distinct",
    b"by",
    b"null",
    b"true",
    b"false",
    b"asc",
    b"desc",
    b"table",
    b"set",
    b"database",
    b"exists",
    b"as",
    b"on",
    b"using",
    b"cast",
    b"convert",
    b"char",
    b"declare",
    b"begin",
    b"if",
    b"while",
    b"return",
    b"inner",
    b"outer",
    b"left",
    b"right",
    b"cross",
    b"natural",
    b"union",
    b"information_schema",
    b"sysobjects",
    b"syscolumns",
    b"dual",
    b"varchar",
    b"nvarchar",
    b"int",
    b"integer",
    b"binary",
    b"current_user",
    b"session_user",
    b"system_user",
    b"user",
    b"version",
    b"schema",
    b"escape",
    b"for",
    b"xml",
    b"path",
];
pub(crate) const DANGER_FUNC: &[&[u8]] = &[
    b"sleep",
    b"benchmark",
    b"pg_sleep",
    b"waitfor",
    b"load_file",
    b"extractvalue",
    b"updatexml",
    b"xp_cmdshell",
    b"sp_executesql",
    b"dbms_pipe.receive_message",
    b"utl_inaddr.get_host_address",
    b"utl_http.request",
    b"exp",
    b"geometrycollection",
    b"polygon",
    b"multipoint",
    b"name_const",
    b"randomblob",
    b"dbms_lock.sleep",
    b"get_lock",
    b"ctxsys.drithsx.sn",
    b"openrowset",
    b"opendatasource",
    b"xp_dirtree",
    b"lo_import",
    b"pg_read_file",
    b"sys_eval",
    b"sys_exec",
    b"make_set",
    b"elt",
];

use super::patterns::Fnv;
use std::hash::BuildHasherDefault;

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.' || b >= 0x80
}

/// Cheap membership filter over all keyword lists: bit `first letter` of entry `length`.
static KW_FILTER: std::sync::LazyLock<[u32; 32]> = std::sync::LazyLock::new(|| {
    let mut f = [0u32; 32];
    for w in STMT.iter().chain(CLAUSE).chain(KW).chain(DANGER_FUNC) {
        if let (Some(slot), Some(&c)) = (f.get_mut(w.len()), w.first()) {
            *slot |= 1 << (c & 31);
        }
    }
    f
});

/// Keyword category of a word: statement, other keyword, or dangerous function name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cat {
    Stmt,
    Kw,
    Danger,
}

/// Every listed keyword with its categories (a word may be both a keyword and a dangerous
/// function name: `waitfor`), looked up once per word.
static KW_MAP: std::sync::LazyLock<
    std::collections::HashMap<&'static [u8], [bool; 3], BuildHasherDefault<Fnv>>,
> = std::sync::LazyLock::new(|| {
    let mut m: std::collections::HashMap<&'static [u8], [bool; 3], BuildHasherDefault<Fnv>> =
        std::collections::HashMap::default();
    for (list, cat) in
        [(STMT, Cat::Stmt), (CLAUSE, Cat::Kw), (KW, Cat::Kw), (DANGER_FUNC, Cat::Danger)]
    {
        for w in list {
            let e = m.entry(*w).or_default();
            match cat {
                Cat::Stmt => e[0] = true,
                Cat::Kw => e[1] = true,
                Cat::Danger => e[2] = true,
            }
        }
    }
    m
});

/// Is `w` listed in category `cat`? (length/first-letter filter, then one hash lookup)
fn is_cat(w: &[u8], cat: Cat) -> bool {
    let maybe = match (KW_FILTER.get(w.len()), w.first()) {
        (Some(bits), Some(&c)) => bits & (1 << (c & 31)) != 0,
        _ => false,
    };
    let idx = match cat {
        Cat::Stmt => 0,
        Cat::Kw => 1,
        Cat::Danger => 2,
    };
    maybe && KW_MAP.get(w).and_then(|e| e.get(idx)).copied().unwrap_or(false)
}

#[cfg(test)]
fn in_list(list: &[&[u8]], w: &[u8]) -> bool {
    let maybe = match (KW_FILTER.get(w.len()), w.first()) {
        (Some(bits), Some(&c)) => bits & (1 << (c & 31)) != 0,
        _ => false,
    };
    maybe && list.contains(&w)
}

/// Tokenise `s` starting in context `ctx`, appending at most [`MAX_TOKENS`] tokens to `out`.
pub(crate) fn lex(s: &[u8], ctx: Ctx, out: &mut Vec<Tok>) {
    out.clear();
    let mut i = 0;
    match ctx {
        Ctx::None => {}
        Ctx::Single | Ctx::Double => {
            let q = if ctx == Ctx::Single { b'\'' } else { b'"' };
            let (end, closed) = scan_string(s, 0, q);
            out.push(Tok::Str { closed });
            i = end;
        }
    }
    while out.len() < MAX_TOKENS {
        let Some(&b) = s.get(i) else { break };
        let next = s.get(i + 1).copied().unwrap_or(0);
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0 => {
                i += 1;
            }
            b'\'' | b'"' | b'`' => {
                let (end, closed) = scan_string(s, i + 1, b);
                // MySQL back-quoted identifiers behave as words.
                out.push(if b == b'`' { Tok::Word } else { Tok::Str { closed } });
                i = end;
            }
            b'-' if next == b'-' => {
                let end = skip_line(s, i);
                out.push(Tok::Comment { empty: body_empty(s.get(i + 2..end).unwrap_or_default()) });
                i = end;
            }
            b'#' => {
                let end = skip_line(s, i);
                out.push(Tok::Comment { empty: body_empty(s.get(i + 1..end).unwrap_or_default()) });
                i = end;
            }
            b'/' if next == b'*' => {
                // MySQL executable comments `/*!50000 ... */` are code: skip the marker only.
                if s.get(i + 2) == Some(&b'!') {
                    i += 3;
                    while s.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                } else {
                    let end = find_seq(s, i + 2, b"*/").map_or(s.len(), |p| p + 2);
                    out.push(Tok::Comment {
                        empty: body_empty(s.get(i + 2..end).unwrap_or_default()),
                    });
                    i = end;
                }
            }
            b'*' if next == b'/' => {
                i += 2;
            }
            b'(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            b',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            b';' => {
                out.push(Tok::Semi);
                i += 1;
            }
            b'@' => {
                let mut j = i + 1;
                while s.get(j) == Some(&b'@') {
                    j += 1;
                }
                while s.get(j).is_some_and(|&c| is_word_byte(c)) {
                    j += 1;
                }
                out.push(Tok::Var);
                i = j;
            }
            b'=' => {
                out.push(Tok::Cmp);
                i += if next == b'=' { 2 } else { 1 };
            }
            b'<' | b'>' | b'!' => {
                let two = matches!(next, b'=' | b'>' | b'<');
                if b == b'!' && !two {
                    out.push(Tok::Op);
                    i += 1;
                } else {
                    out.push(Tok::Cmp);
                    i += if two { 2 } else { 1 };
                    if two && s.get(i) == Some(&b'>') {
                        i += 1; // <=>
                    }
                }
            }
            b'&' if next == b'&' => {
                out.push(Tok::Logic);
                i += 2;
            }
            b'|' if next == b'|' => {
                // Standard SQL string concatenation (MySQL's OR alias is rare in the wild and
                // `a||b` is common in ordinary text): an operator, not a logical connective —
                // except after a number (`1 || 1=1`), where concatenation makes no sense.
                let spaced = matches!(s.get(i + 2), Some(b' ' | b'(' | b'\t' | b'\n' | 0x0b));
                let logic = spaced && out.last() == Some(&Tok::Num);
                out.push(if logic { Tok::Logic } else { Tok::Op });
                i += 2;
            }
            b'0'..=b'9' => {
                let mut j = i + 1;
                while s.get(j).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'.') {
                    j += 1;
                }
                let tok = s.get(i..j).unwrap_or_default();
                let numeric = tok.iter().all(|c| c.is_ascii_digit() || *c == b'.' || *c == b'e')
                    || (tok.len() > 2
                        && tok.starts_with(b"0x")
                        && tok.get(2..).unwrap_or_default().iter().all(u8::is_ascii_hexdigit))
                    || (tok.len() > 2 && tok.starts_with(b"0b"));
                if numeric {
                    out.push(Tok::Num);
                    i = j;
                } else if let Some(end) = number_glued_to_keyword(tok) {
                    // `1e0union`, `3.2union`, `1and`: MySQL ends the number at the keyword.
                    out.push(Tok::Num);
                    i += end;
                } else {
                    out.push(Tok::Word);
                    i = j;
                }
            }
            b'.' if next.is_ascii_digit() => {
                let mut j = i + 1;
                while s.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
                out.push(Tok::Num);
                i = j;
            }
            c if is_word_byte(c) => {
                let mut j = i + 1;
                while s.get(j).is_some_and(|&c| is_word_byte(c)) {
                    j += 1;
                }
                let w = s.get(i..j).unwrap_or_default();
                let w = w.strip_suffix(b".").unwrap_or(w);
                let mut k = j;
                while s.get(k).is_some_and(|c| *c == b' ' || *c == b'\t') {
                    k += 1;
                }
                let call = s.get(k) == Some(&b'(');
                let (tok, end) = classify_word(s, w, call, j);
                out.push(tok);
                i = end;
            }
            _ => {
                out.push(Tok::Op);
                i += 1;
            }
        }
    }
}

/// Length of a decimal number (`1`, `1.`, `3.2`, `1e0`) at the start of `tok` when the rest of
/// `tok` is a keyword that joins SQL (UNION, AND, OR, XOR, FROM, SELECT, ...).
fn number_glued_to_keyword(tok: &[u8]) -> Option<usize> {
    let mut n = tok.iter().position(|c| !c.is_ascii_digit())?;
    if tok.get(n) == Some(&b'.') {
        n += 1;
        while tok.get(n).is_some_and(u8::is_ascii_digit) {
            n += 1;
        }
    }
    if tok.get(n) == Some(&b'e') && tok.get(n + 1).is_some_and(u8::is_ascii_digit) {
        n += 1;
        while tok.get(n).is_some_and(u8::is_ascii_digit) {
            n += 1;
        }
    }
    let rest = tok.get(n..)?;
    matches!(
        rest,
        b"union" | b"and" | b"or" | b"xor" | b"from" | b"select" | b"order" | b"limit" | b"having"
    )
    .then_some(n)
}

fn body_empty(b: &[u8]) -> bool {
    !b.iter().any(u8::is_ascii_alphanumeric)
}

/// The next word after `j` (skipping blanks and comments), with its end offset.
fn next_word(s: &[u8], mut j: usize) -> (&[u8], usize) {
    loop {
        while s.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
            j += 1;
        }
        if s.get(j) == Some(&b'/') && s.get(j + 1) == Some(&b'*') {
            j = find_seq(s, j + 2, b"*/").map_or(s.len(), |p| p + 2);
            continue;
        }
        break;
    }
    let start = j;
    while s.get(j).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_') {
        j += 1;
    }
    (s.get(start..j).unwrap_or_default(), j)
}

/// Classify a word ending at `j`; multi-word keywords (`order by`, `into outfile`,
/// `waitfor delay`) are merged, so the returned end offset may lie past `j`.
fn classify_word(s: &[u8], w: &[u8], call: bool, j: usize) -> (Tok, usize) {
    let tok = match w {
        b"and" | b"or" | b"xor" | b"div" => Tok::Logic,
        b"like" | b"rlike" | b"regexp" | b"between" | b"in" | b"is" | b"sounds" | b"glob" => {
            Tok::Cmp
        }
        b"union" => Tok::Union,
        b"from" => Tok::From,
        b"mod" if !call => Tok::Op,
        b"order" | b"group" => {
            let (n, e) = next_word(s, j);
            return if n == b"by" { (Tok::Clause, e) } else { (Tok::Kw, j) };
        }
        b"into" => {
            let (n, e) = next_word(s, j);
            // Writing query results to a file is an attack on its own.
            return if n == b"outfile" || n == b"dumpfile" {
                (Tok::Func { danger: true }, e)
            } else {
                (Tok::Kw, j)
            };
        }
        b"waitfor" => {
            let (n, e) = next_word(s, j);
            return if n == b"delay" || n == b"time" {
                (Tok::Func { danger: true }, e)
            } else {
                (Tok::Stmt, j)
            };
        }
        b"limit" => {
            let (_, e) = next_word(s, j);
            let digit = s.get(e.saturating_sub(1)).is_some_and(u8::is_ascii_digit);
            if digit {
                Tok::Clause
            } else {
                Tok::Kw
            }
        }
        b"having" | b"procedure" => Tok::Clause,
        // Statements stay statements before `(`: `select(1)`, `exec(@s)`, `union(select`.
        b"select" | b"insert" | b"update" | b"delete" | b"drop" | b"exec" | b"execute"
        | b"declare" => Tok::Stmt,
        _ if call => Tok::Func { danger: is_cat(w, Cat::Danger) },
        _ if w.starts_with(b"xp_") || w.starts_with(b"sp_") || w.starts_with(b"master..") => {
            Tok::Func { danger: true }
        }
        _ if is_cat(w, Cat::Stmt) => Tok::Stmt,
        _ if is_cat(w, Cat::Kw) => Tok::Kw,
        _ => Tok::Word,
    };
    (tok, j)
}

pub(crate) fn scan_string(s: &[u8], start: usize, q: u8) -> (usize, bool) {
    let mut i = start;
    while let Some(&b) = s.get(i) {
        if b == b'\\' {
            i += 2;
            continue;
        }
        if b == q {
            if s.get(i + 1) == Some(&q) {
                i += 2; // doubled quote escapes itself
                continue;
            }
            return (i + 1, true);
        }
        i += 1;
    }
    (s.len(), false)
}

fn skip_line(s: &[u8], i: usize) -> usize {
    s.get(i..).and_then(|r| r.iter().position(|&c| c == b'\n')).map_or(s.len(), |p| i + p + 1)
}

/// Position of the first `b` in `hay`.
#[inline]
pub(crate) fn memchr(b: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == b)
}

pub(crate) fn find_seq(s: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    let hay = s.get(from..)?;
    let (&first, rest) = pat.split_first()?;
    if hay.len() < pat.len() {
        return None;
    }
    let last_start = hay.len() - pat.len();
    let mut i = 0;
    while i <= last_start {
        let p = hay.get(i..=last_start)?.iter().position(|&c| c == first)?;
        let at = i + p;
        if hay.get(at + 1..at + pat.len()) == Some(rest) {
            return Some(at + from);
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hashed keyword categories agree with the plain lists.
    #[test]
    fn keyword_map_matches_lists() {
        let words = STMT.iter().chain(CLAUSE).chain(KW).chain(DANGER_FUNC);
        for w in words.chain([&b"hello"[..], b"selec", b"x", b""].iter()) {
            assert_eq!(is_cat(w, Cat::Stmt), in_list(STMT, w), "{w:?}");
            assert_eq!(is_cat(w, Cat::Kw), in_list(CLAUSE, w) || in_list(KW, w), "{w:?}");
            assert_eq!(is_cat(w, Cat::Danger), in_list(DANGER_FUNC, w), "{w:?}");
        }
    }
}
