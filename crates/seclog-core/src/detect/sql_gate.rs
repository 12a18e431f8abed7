//! Necessary conditions for the SQL token judge, checked before lexing.
//!
//! The judge (`sqli::judge`) can only fire when the token stream holds one of a few token kinds
//! (a logical operator, UNION, a statement or clause keyword, a dangerous call, a comment, an
//! unbalanced `)`), or — in a quoted context — when the first token after the closing quote is
//! an operator, comparison, logical operator, comment, `;`, statement or clause. This module
//! finds out from one pass over the bytes whether that is possible, so that ordinary text is
//! not lexed at all. The conditions are supersets: a word is looked at whatever string or
//! comment it sits in, so a `false` is a proof and a `true` only means "lex and judge".
//! `tests.rs` checks by property test that the gate never hides a finding.

use super::prefilter::{Features, HASH, LPAREN};
use super::sql_lex::Ctx;

/// What one pass over the words of the input found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SqlWords {
    /// A word or byte pair that makes the token judge able to fire in any context.
    pub(crate) trigger: bool,
    /// A word the statement-shape pass (`sql_shapes::word_shapes`) reacts to.
    pub(crate) shape: bool,
    /// A word that starts a database catalogue name (`information_schema`, `sys` of
    /// `sys.tables`, `mysql` of `mysql.user`).
    pub(crate) catalog: bool,
    /// A metadata function name followed by `(` (`version (`, `database(`).
    pub(crate) meta: bool,
}

impl SqlWords {
    /// Every flag set: no gate.
    pub(crate) fn all() -> Self {
        Self { trigger: true, shape: true, catalog: true, meta: true }
    }
}

/// Word kinds (bits).
const TRIGGER: u8 = 1;
const SHAPE: u8 = 1 << 1;
/// A time/file/error function: fires only as a call, so only with a `(`.
const DANGER: u8 = 1 << 2;
const CATALOG: u8 = 1 << 3;
const META: u8 = 1 << 4;

/// Words the judge reacts to besides the lexer's statement keywords: logical operators,
/// UNION, clause keywords, `into outfile|dumpfile`, `exec master..`.
const TRIGGER_WORDS: &[&[u8]] = &[
    b"and",
    b"or",
    b"xor",
    b"div",
    b"union",
    b"having",
    b"order",
    b"group",
    b"limit",
    b"procedure",
    b"outfile",
    b"dumpfile",
    b"master",
];

/// Words the statement shapes start from (`alter table`, `insert into`, `case when`, `x as "y"
/// from`, ...).
const SHAPE_WORDS: &[&[u8]] = &[
    b"alter",
    b"create",
    b"drop",
    b"truncate",
    b"rename",
    b"exec",
    b"execute",
    b"procedure",
    b"update",
    b"insert",
    b"delete",
    b"case",
    b"group",
    b"as",
];

/// Bucket of a word in [`TABLE`]: its length, first and last byte.
fn bucket(w: &[u8]) -> usize {
    let first = usize::from(w.first().copied().unwrap_or(0));
    let last = usize::from(w.last().copied().unwrap_or(0));
    (w.len().wrapping_mul(31) ^ first.wrapping_mul(7) ^ last.wrapping_mul(13)) & 255
}

type Table = Vec<Vec<(&'static [u8], u8)>>;

/// Every word of the lists above and of the lexer's and probes' lists, with its kinds, hashed
/// by [`bucket`].
static TABLE: std::sync::LazyLock<Table> = std::sync::LazyLock::new(|| {
    let mut t: Table = vec![Vec::new(); 256];
    let mut add = |w: &'static [u8], bits: u8| {
        let b = &mut t[bucket(w)];
        match b.iter_mut().find(|(x, _)| *x == w) {
            Some(e) => e.1 |= bits,
            None => b.push((w, bits)),
        }
    };
    for w in TRIGGER_WORDS.iter().chain(super::sql_lex::STMT) {
        add(w, TRIGGER);
    }
    for w in SHAPE_WORDS {
        add(w, SHAPE);
    }
    // `dbms_lock.sleep(`: the word before `(` is the last dotted segment.
    for w in super::sql_lex::DANGER_FUNC {
        add(last_segment(w), DANGER);
    }
    // `mysql.user`, `sys.tables`, `master..sysdatabases`: the word that starts the name.
    for w in super::sqli::CATALOGS {
        add(w.split(|&c| c == b'.').next().unwrap_or(w), CATALOG);
    }
    for w in super::sqli::META_FUNCS {
        add(w.strip_prefix(b"@@").unwrap_or(w), META);
    }
    for w in super::sql_shapes::SQL_ONLY_WORDS {
        add(w, SHAPE);
    }
    t
});

fn last_segment(w: &'static [u8]) -> &'static [u8] {
    w.rsplit(|&c| c == b'.').next().unwrap_or(w)
}

/// The kinds of one word (a run of `[a-z0-9_]`).
fn class(w: &[u8]) -> u8 {
    let Some(&first) = w.first() else { return 0 };
    if w.len() < 2 {
        return 0;
    }
    if first.is_ascii_digit() {
        return if glued_keyword(w) { TRIGGER } else { 0 };
    }
    // `xp_cmdshell`, `sp_executesql`: system procedures are calls without `(`.
    if w.starts_with(b"xp_") || w.starts_with(b"sp_") {
        return TRIGGER | SHAPE;
    }
    TABLE.get(bucket(w)).and_then(|b| b.iter().find(|(x, _)| *x == w)).map_or(0, |e| e.1)
}

/// A number glued to a joining keyword (`1union`, `2and`, `1e0select`): the lexer splits it.
fn glued_keyword(w: &[u8]) -> bool {
    const GLUED: &[&[u8]] =
        &[b"union", b"and", b"or", b"xor", b"from", b"select", b"order", b"limit", b"having"];
    GLUED.iter().any(|k| w.len() > k.len() && w.ends_with(k))
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

const OTHER_BYTE: u8 = 0;
const WORD_BYTE: u8 = 1;
/// `-`, `/`, `&`, `|`, `(`, `)`: the bytes [`scan`] looks at besides words.
const MARK_BYTE: u8 = 2;

static BYTE: [u8; 256] = {
    let mut t = [OTHER_BYTE; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'_' {
            t[b] = WORD_BYTE;
        }
        b += 1;
    }
    t[b'-' as usize] = MARK_BYTE;
    t[b'/' as usize] = MARK_BYTE;
    t[b'&' as usize] = MARK_BYTE;
    t[b'|' as usize] = MARK_BYTE;
    t[b'(' as usize] = MARK_BYTE;
    t[b')' as usize] = MARK_BYTE;
    t
};

/// One pass over `s`: its words, comment openers (`--`, `/*`, `#`), `&&`, `||` and whether a
/// `)` closes more than was opened.
pub(crate) fn scan(s: &[u8], f: Features) -> SqlWords {
    let mut out = SqlWords { trigger: f.any(HASH), ..SqlWords::default() };
    let paren = f.any(LPAREN);
    let mut depth: i64 = 0;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        let kind = BYTE[usize::from(b)];
        if kind == OTHER_BYTE {
            i += 1;
            continue;
        }
        if kind == WORD_BYTE {
            let start = i;
            while s.get(i).is_some_and(|&c| BYTE[usize::from(c)] == WORD_BYTE) {
                i += 1;
            }
            let bits = class(s.get(start..i).unwrap_or_default());
            if bits != 0 {
                out.trigger |= bits & TRIGGER != 0 || (paren && bits & DANGER != 0);
                out.shape |= bits & SHAPE != 0;
                out.catalog |= bits & CATALOG != 0;
                if paren && bits & META != 0 {
                    let rest = s.get(i..).unwrap_or_default();
                    out.meta |= rest.iter().find(|c| **c != b' ') == Some(&b'(');
                }
            }
            continue;
        }
        let next = s.get(i + 1).copied().unwrap_or(0);
        match (b, next) {
            (b'-', b'-') | (b'/', b'*') | (b'&', b'&') | (b'|', b'|') => out.trigger = true,
            (b'(', _) => depth += 1,
            (b')', _) => {
                depth -= 1;
                out.trigger |= depth < 0;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Could the judge fire on `s` lexed in context `ctx`? `w` is [`scan`] of `s`.
pub(crate) fn judge_possible(s: &[u8], ctx: Ctx, w: SqlWords) -> bool {
    if w.trigger {
        return true;
    }
    match ctx {
        Ctx::None => false,
        Ctx::Single => breakout_possible(s, b'\''),
        Ctx::Double => breakout_possible(s, b'"'),
    }
}

/// In a quoted context: is the first token after the closing quote (and any `)` closers) one
/// the break-out rules react to? A word (not a logical, comparison, statement or clause
/// keyword and not `mod`), a number, a string, a variable, `(`, `,` or the end are not.
fn breakout_possible(s: &[u8], q: u8) -> bool {
    let (end, closed) = super::sql_lex::scan_string(s, 0, q);
    if !closed {
        return false;
    }
    let mut i = end;
    while let Some(&b) = s.get(i) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0 | b')' => i += 1,
            _ => break,
        }
    }
    let Some(&b) = s.get(i) else { return false };
    match b {
        b'0'..=b'9' | b'\'' | b'"' | b'`' | b'@' | b'(' | b',' | b'$' => false,
        b'.' => false,
        b'a'..=b'z' | b'_' => {
            let len = s.get(i..).map_or(0, |r| r.iter().take_while(|c| is_word(**c)).count());
            let w = s.get(i..i + len).unwrap_or_default();
            breakout_word(w)
        }
        0x80..=0xff => false,
        _ => true,
    }
}

/// Words that, right after the closing quote, make a break-out rule able to fire: logical,
/// comparison, statement and clause keywords and the `mod` operator.
fn breakout_word(w: &[u8]) -> bool {
    matches!(
        w,
        b"like" | b"rlike" | b"regexp" | b"between" | b"in" | b"is" | b"sounds" | b"glob" | b"mod"
    ) || class(w) & TRIGGER != 0
}

#[cfg(test)]
mod tests {
    use super::{class, scan, DANGER, META, SHAPE, TRIGGER};
    use crate::detect::prefilter::Features;

    /// Every statement keyword and dangerous function of the lexer is known to the gate.
    #[test]
    fn gate_knows_the_lexer_keywords() {
        for w in super::super::sql_lex::STMT {
            assert!(class(w) & TRIGGER != 0, "{w:?}");
        }
        for w in super::super::sql_lex::DANGER_FUNC {
            assert!(class(super::last_segment(w)) & (DANGER | TRIGGER) != 0, "{w:?}");
        }
        assert_eq!(class(b"version"), META);
        assert_eq!(class(b"xp_dirtree") & (TRIGGER | SHAPE), TRIGGER | SHAPE);
        assert_eq!(class(b"hello"), 0);
    }

    /// Catalogue names and metadata calls are found as words.
    #[test]
    fn scan_finds_catalogues_and_metadata_calls() {
        let w = |s: &str| scan(s.as_bytes(), Features::of(s.as_bytes()));
        for s in super::super::sqli::CATALOGS {
            let s = std::str::from_utf8(s).unwrap_or_default();
            assert!(w(s).catalog, "{s}");
        }
        assert!(w("select @@version ()").meta);
        assert!(!w("the version is 2").meta);
        assert!(!w("john.smith@example.com").catalog);
    }
}
