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

use super::prefilter::{Features, HASH, LPAREN, UNDERSCORE};
use super::sql_lex::Ctx;

/// What one pass over the words of the input found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SqlWords {
    /// A word or byte pair that makes the token judge able to fire in any context.
    pub(crate) trigger: bool,
    /// A word the statement-shape pass (`sql_shapes::word_shapes`) reacts to.
    pub(crate) shape: bool,
}

/// Word kinds for the gate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum G {
    /// Not a word the judge or the shapes react to.
    None,
    /// Logical operator, UNION, statement, clause, `into outfile`, `exec master..`.
    Trigger,
    /// A statement the shape pass reacts to as well.
    TriggerShape,
    /// Only the shape pass reacts (`case`, `as`).
    Shape,
    /// A time/file/error function: fires only as a call, so only with a `(`.
    Danger,
}

/// Classify one word (a run of `[a-z0-9_]`).
fn class(w: &[u8]) -> G {
    match w {
        b"and" | b"or" | b"xor" | b"div" | b"union" | b"having" | b"order" | b"limit"
        | b"outfile" | b"dumpfile" | b"master" | b"declare" | b"shutdown" | b"waitfor"
        | b"replace" | b"grant" | b"revoke" | b"merge" | b"call" | b"handler" | b"load"
        | b"show" | b"backup" | b"select" => G::Trigger,
        b"insert" | b"update" | b"delete" | b"drop" | b"create" | b"alter" | b"exec"
        | b"execute" | b"truncate" | b"rename" | b"procedure" | b"group" => G::TriggerShape,
        b"case" | b"as" => G::Shape,
        b"sleep"
        | b"benchmark"
        | b"pg_sleep"
        | b"load_file"
        | b"extractvalue"
        | b"updatexml"
        | b"xp_cmdshell"
        | b"sp_executesql"
        | b"receive_message"
        | b"get_host_address"
        | b"request"
        | b"exp"
        | b"geometrycollection"
        | b"polygon"
        | b"multipoint"
        | b"name_const"
        | b"randomblob"
        | b"get_lock"
        | b"sn"
        | b"openrowset"
        | b"opendatasource"
        | b"xp_dirtree"
        | b"lo_import"
        | b"pg_read_file"
        | b"sys_eval"
        | b"sys_exec"
        | b"make_set"
        | b"elt" => G::Danger,
        _ if w.starts_with(b"xp_") || w.starts_with(b"sp_") => G::Trigger,
        _ if w.first().is_some_and(u8::is_ascii_digit) && glued_keyword(w) => G::Trigger,
        _ => G::None,
    }
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

/// One pass over `s`: its words, comment openers (`--`, `/*`, `#`), `&&`, `||` and whether a
/// `)` closes more than was opened.
pub(crate) fn scan(s: &[u8], f: Features) -> SqlWords {
    let mut out = SqlWords { trigger: f.any(HASH), shape: f.any(UNDERSCORE) };
    let paren = f.any(LPAREN);
    let mut depth: i64 = 0;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if is_word(b) {
            let start = i;
            while s.get(i).copied().is_some_and(is_word) {
                i += 1;
            }
            match class(s.get(start..i).unwrap_or_default()) {
                G::None => {}
                G::Trigger => out.trigger = true,
                G::TriggerShape => {
                    out.trigger = true;
                    out.shape = true;
                }
                G::Shape => out.shape = true,
                G::Danger => out.trigger |= paren,
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
    ) || !matches!(class(w), G::None | G::Shape | G::Danger)
}

#[cfg(test)]
mod tests {
    use super::{class, G};

    /// Every statement keyword and dangerous function of the lexer is known to the gate.
    #[test]
    fn gate_knows_the_lexer_keywords() {
        for w in super::super::sql_lex::STMT {
            assert!(matches!(class(w), G::Trigger | G::TriggerShape), "{w:?}");
        }
        for w in super::super::sql_lex::DANGER_FUNC {
            let last = w.rsplit(|&c| c == b'.').next().unwrap_or(w);
            assert!(!matches!(class(last), G::None | G::Shape), "{w:?}");
        }
    }
}
