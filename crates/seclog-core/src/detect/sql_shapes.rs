//! Byte-level SQL shapes that need no token stream: whole DDL/DML statements in a value,
//! JSON-operator queries on a quoted JSON literal, quoted-identifier break-outs, `x AS "y" FROM`
//! alias fragments and numeric-boundary probes.

use super::prefilter::{
    Features, BACKTICK, CLOSE_BRACE, COLON, DOT, LPAREN, QUOTE, UNDERSCORE, WS,
};
use super::sql_lex::find_seq;
use super::sqli::Hit;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Positions of `w` in `s` bounded by non-word bytes on both sides.
fn word_at(s: &[u8], w: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = find_seq(s, i, w) {
        let before = p.checked_sub(1).and_then(|k| s.get(k)).is_none_or(|c| !is_word(*c));
        let after = s.get(p + w.len()).is_none_or(|c| !is_word(*c));
        if before && after {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// The word starting at `p` after skipping blanks, and the index after it.
fn next_word(s: &[u8], p: usize) -> Option<(&[u8], usize)> {
    let start = p + s.get(p..)?.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let len = s.get(start..)?.iter().take_while(|c| is_word(**c)).count();
    (len > 0).then(|| (s.get(start..start + len).unwrap_or_default(), start + len))
}

/// Word classes the statement shapes look at (one `match` per word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum W {
    Other,
    Verb,
    Object,
    Procedure,
    Insert,
    Into,
    Values,
    Delete,
    From,
    Where,
    Case,
    When,
    Then,
    Group,
    By,
    Having,
    Execute,
    Immediate,
    Analyse,
    Update,
    Set,
    As,
    Master,
    Underscored,
}

fn classify(w: &[u8]) -> W {
    match w {
        b"alter" | b"create" | b"drop" | b"truncate" | b"rename" => W::Verb,
        b"table" | b"database" | b"schema" | b"function" | b"view" | b"trigger" | b"index"
        | b"user" | b"login" | b"event" | b"sequence" => W::Object,
        b"procedure" => W::Procedure,
        b"insert" => W::Insert,
        b"into" => W::Into,
        b"values" => W::Values,
        b"delete" => W::Delete,
        b"from" => W::From,
        b"where" => W::Where,
        b"case" => W::Case,
        b"when" => W::When,
        b"then" => W::Then,
        b"group" => W::Group,
        b"by" => W::By,
        b"having" => W::Having,
        b"exec" | b"execute" => W::Execute,
        b"immediate" => W::Immediate,
        b"analyse" => W::Analyse,
        b"update" => W::Update,
        b"set" => W::Set,
        b"as" => W::As,
        b"master" => W::Master,
        _ if w.contains(&b'_') => W::Underscored,
        _ => W::Other,
    }
}

/// One pass over the words of `s`: a SQL statement standing whole in a value (`ALTER TABLE x`,
/// `CREATE FUNCTION f`, `DROP TABLE t`, `INSERT INTO t ... VALUES`, `UPDATE t SET c =`,
/// `DELETE FROM t WHERE`, `EXECUTE IMMEDIATE`, `PROCEDURE ANALYSE`, `CASE WHEN .. THEN`,
/// `GROUP BY .. HAVING`), a SQL-only identifier ([`SQL_ONLY_WORDS`]), `EXEC master.` /
/// `EXEC xp_..` system procedures, and `x AS "y" FROM` alias fragments.
fn word_shapes(s: &[u8], seen: &mut Seen) -> Option<Hit> {
    // (class, end) of the previous two words, and whether only blanks preceded each.
    let (mut prev, mut prev_adj) = (W::Other, false);
    let mut prev2 = W::Other;
    let mut last_end: Option<usize> = None;
    // Opened `INSERT INTO`, `DELETE FROM`, `CASE WHEN`, `GROUP BY` awaiting their closing word.
    let mut open = [false; 4];
    let mut i = 0;
    while i < s.len() {
        let b = s.get(i).copied().unwrap_or(0);
        if !is_word(b) {
            match b {
                b'}' => seen.brace = true,
                b'`' => seen.backquote = true,
                b'(' => seen.paren = true,
                b':' | b'.' => seen.colon_dot = true,
                _ => {}
            }
            i += 1;
            continue;
        }
        let st = i;
        while s.get(i).copied().is_some_and(is_word) {
            i += 1;
        }
        let cur = s.get(st..i).unwrap_or_default();
        let adj = last_end.is_some_and(|e| {
            s.get(e..st).is_some_and(|g| !g.is_empty() && g.iter().all(u8::is_ascii_whitespace))
        });
        last_end = Some(i);
        let c = classify(cur);
        let p = if adj { prev } else { W::Other };
        let rest = s.get(i..).unwrap_or_default();
        let hit = match c {
            W::Object | W::Procedure
                if p == W::Verb && rest.iter().any(|b| !b.is_ascii_whitespace()) =>
            {
                Some(("sqli.ddl_statement", 0.85))
            }
            W::Immediate if p == W::Execute => Some(("sqli.dynamic_statement", 0.8)),
            W::Analyse if p == W::Procedure => Some(("sqli.dynamic_statement", 0.8)),
            W::Master if p == W::Execute && rest.first() == Some(&b'.') => {
                Some(("sqli.system_procedure", 0.8))
            }
            W::Underscored
                if p == W::Execute && (cur.starts_with(b"xp_") || cur.starts_with(b"sp_")) =>
            {
                Some(("sqli.system_procedure", 0.8))
            }
            W::Underscored if SQL_ONLY_WORDS.contains(&cur) => Some(("sqli.dialect_function", 0.8)),
            W::Set if adj && prev_adj && prev2 == W::Update && rest.contains(&b'=') => {
                Some(("sqli.dml_statement", 0.8))
            }
            W::Values if open[0] => Some(("sqli.dml_statement", 0.8)),
            W::Where if open[1] => Some(("sqli.dml_statement", 0.8)),
            W::Then if open[2] => Some(("sqli.dml_statement", 0.8)),
            W::Having if open[3] => Some(("sqli.dml_statement", 0.8)),
            W::As => alias_from(s, st),
            _ => None,
        };
        if hit.is_some() {
            return hit;
        }
        match (p, c) {
            (W::Insert, W::Into) => open[0] = true,
            (W::Delete, W::From) => open[1] = true,
            (W::Case, W::When) => open[2] = true,
            (W::Group, W::By) => open[3] = true,
            _ => {}
        }
        prev2 = if adj { prev } else { W::Other };
        prev_adj = adj;
        prev = c;
    }
    None
}

/// A quoted JSON literal queried with a JSON operator: `'{"a":1}' ? 'a'`, `?|`, `?&`, `@>`,
/// `->>`, or compared with a JSON path (`'{..}' < '$.c'`).
fn json_operator(s: &[u8]) -> Option<Hit> {
    let mut from = 0;
    while let Some(p) = find_seq(s, from, b"}'") {
        from = p + 2;
        if !s.get(..p).is_some_and(|b| b.windows(2).any(|w| w == b"'{" || w == b"'[")) {
            continue;
        }
        let rest = s.get(p + 2..).unwrap_or_default().trim_ascii_start();
        let op_len = rest.iter().take_while(|c| b"?|&@<>-#=!".contains(c)).count();
        if op_len == 0 {
            continue;
        }
        let after = rest.get(op_len..).unwrap_or_default().trim_ascii_start();
        if after.first().is_some_and(|c| *c == b'\'' || c.is_ascii_alphanumeric()) {
            return Some(("sqli.json_operator", 0.8));
        }
    }
    None
}

/// Keywords that may follow a closed quoted identifier in an injected fragment.
const AFTER_IDENT: &[&[u8]] =
    &[b"as", b"regexp", b"rlike", b"like", b"from", b"where", b"and", b"or", b"union"];

/// A value that opens by closing a backquoted identifier: `` ` AS `x` from ``, `` ` REGEXP ``,
/// and a value that ends by closing one and terminating the statement (`` x`; ``).
fn backquote_breakout(s: &[u8]) -> Option<Hit> {
    let t = s.trim_ascii();
    if let Some(rest) = t.strip_prefix(b"`") {
        if let Some((w, _)) = next_word(rest, 0) {
            if rest.first().is_some_and(u8::is_ascii_whitespace) && AFTER_IDENT.contains(&w) {
                return Some(("sqli.identifier_breakout", 0.75));
            }
        }
    }
    let end = t.strip_suffix(b";")?.trim_ascii_end();
    let body = end.strip_suffix(b"`")?;
    (!body.contains(&b'`') && !body.is_empty() && !body.contains(&b' '))
        .then_some(("sqli.identifier_breakout", 0.75))
}

/// `1234 AS "foobar" FROM t`, `6 As" from`: a column alias (quoted identifier, or a number or
/// closing quote before `AS` at `p`) followed by `FROM` — a select-list fragment.
fn alias_from(s: &[u8], p: usize) -> Option<Hit> {
    let before = s.get(..p).unwrap_or_default().trim_ascii_end();
    let prev = before.last().copied();
    let after = s.get(p + 2..).unwrap_or_default().trim_ascii_start();
    let quoted_after = after.first().is_some_and(|c| matches!(c, b'"' | b'`'));
    let sql_before = prev.is_some_and(|c| c.is_ascii_digit() || matches!(c, b'"' | b'`' | b')'));
    if !(quoted_after || sql_before) {
        return None;
    }
    let tail = s.get(p + 2..).unwrap_or_default();
    word_at(tail.get(..tail.len().min(48)).unwrap_or_default(), b"from", 0)
        .map(|_| ("sqli.alias_from", 0.75))
}

/// Numbers at the limits of machine types, sent whole to provoke overflows or the
/// floating-point parser bug (2^31, 2^32, 2^63, 2^64 and neighbours; DBL_MIN spelt in full).
const BOUNDARY_NUMBERS: &[&[u8]] = &[
    b"2147483648",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"2.2250738585072011e-308",
    b"2.2250738585072012e-308",
];

fn boundary_number(s: &[u8]) -> Option<Hit> {
    let t = s.trim_ascii();
    let t = t.strip_prefix(b"-").unwrap_or(t);
    BOUNDARY_NUMBERS.contains(&t).then_some(("sqli.numeric_boundary", 0.7))
}

/// Identifiers that exist only in SQL dialects (time-delay, large-object, file, network and
/// introspection functions and procedures): their mention anywhere is an injection probe.
pub(crate) const SQL_ONLY_WORDS: &[&[u8]] = &[
    b"pg_sleep",
    b"pg_read_file",
    b"pg_ls_dir",
    b"lo_get",
    b"lo_import",
    b"lo_export",
    b"sqlite_compileoption_get",
    b"sqlite_version",
    b"sqlite_master",
    b"json_extract",
    b"dbms_pipe",
    b"dbms_lock",
    b"dbms_ldap",
    b"utl_http",
    b"utl_inaddr",
    b"xp_cmdshell",
    b"xp_dirtree",
    b"sp_executesql",
    b"sp_oacreate",
    b"sp_configure",
];

/// Skip blanks and `/* .. */` comments from `p`.
fn skip_blanks_comments(s: &[u8], mut p: usize) -> usize {
    loop {
        while s.get(p).is_some_and(u8::is_ascii_whitespace) {
            p += 1;
        }
        if s.get(p..p + 2) == Some(b"/*") {
            p = find_seq(s, p + 2, b"*/").map_or(s.len(), |e| e + 2);
        } else {
            return p;
        }
    }
}

/// `9999 or true`, `1 and /*hint*/ false`, `9999 or {if ...`: a number joined by a logical
/// operator to a boolean literal or an ODBC escape brace.
fn number_logic_literal(s: &[u8]) -> Option<Hit> {
    let t = s.trim_ascii_start();
    let digits = t.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let (op, after_op) = next_word(t, digits)?;
    if !matches!(op, b"or" | b"and" | b"xor") {
        return None;
    }
    let p = skip_blanks_comments(t, after_op);
    let rest = t.get(p..).unwrap_or_default();
    let (w, _) = next_word(rest, 0).unwrap_or_default();
    (rest.first() == Some(&b'{') || matches!(w, b"true" | b"false" | b"null"))
        .then_some(("sqli.boolean_tautology", 0.8))
}

/// Functions on numbers that SQL dialects provide (beyond the shared SQL function list).
const NUMERIC_FUNCS: &[&[u8]] = &[b"div", b"mod", b"abs", b"power", b"sqrt", b"round", b"sign"];

/// `if(2=`, `if (a>1`: a value opening a SQL conditional on a comparison; `div(23,-2)`: a value
/// that is one call of a SQL function on numbers only.
fn sql_call_value(s: &[u8]) -> Option<Hit> {
    let t = s.trim_ascii();
    let name_len = t.iter().take_while(|c| is_word(**c)).count();
    let name = t.get(..name_len)?;
    let rest = t.get(name_len..)?.trim_ascii_start().strip_prefix(b"(")?;
    if name == b"if" {
        let operand = rest.iter().take_while(|c| is_word(**c) || **c == b'.').count();
        let after = rest.get(operand..).unwrap_or_default().trim_ascii_start();
        return (operand > 0 && matches!(after.first(), Some(b'=' | b'<' | b'>')))
            .then_some(("sqli.conditional_call", 0.7));
    }
    let args = rest.strip_suffix(b")")?;
    let numeric = !args.trim_ascii().is_empty()
        && args.iter().all(|c| c.is_ascii_digit() || b" ,.-+".contains(c));
    (numeric && (NUMERIC_FUNCS.contains(&name) || super::sql_extra::SQL_FUNCS.contains(&name)))
        .then_some(("sqli.numeric_function_call", 0.7))
}

/// SQL type names a PostgreSQL `::` cast converts to.
const PG_TYPES: &[&[u8]] = &[
    b"int",
    b"integer",
    b"int4",
    b"int8",
    b"bigint",
    b"smallint",
    b"numeric",
    b"text",
    b"varchar",
    b"char",
    b"bool",
    b"boolean",
    b"json",
    b"jsonb",
    b"regclass",
    b"oid",
    b"bytea",
    b"date",
    b"float",
    b"real",
];

/// `password::int`: an identifier cast to a SQL type (error-based probing); `exec master.`,
/// `exec xp_x`: executing a SQL Server system procedure; `1.e(`, `1.e.tables`: MySQL's
/// `<number>.e` spelling that glues a number to the next token.
fn misc_sql(s: &[u8]) -> Option<Hit> {
    let mut from = 0;
    while let Some(p) = find_seq(s, from, b"::") {
        from = p + 2;
        let (ty, _) = next_word(s, p + 2).unwrap_or_default();
        let ident = p > 0 && s.get(p - 1).copied().is_some_and(is_word);
        if ident && s.get(p + 2).copied().is_some_and(is_word) && PG_TYPES.contains(&ty) {
            return Some(("sqli.pg_cast", 0.75));
        }
    }
    let mut from = 0;
    while let Some(p) = find_seq(s, from, b".e") {
        from = p + 2;
        let digit_before = p > 0 && s.get(p - 1).is_some_and(u8::is_ascii_digit);
        let word_start = p
            .checked_sub(1)
            .map(|q| s.get(..=q).unwrap_or_default().iter().rev().take_while(|c| is_word(**c)))
            .is_some_and(|mut it| it.all(u8::is_ascii_digit));
        let glued = match s.get(p + 2) {
            Some(b'(') => true,
            Some(b'.') => next_word(s, p + 3).is_some_and(|(w, _)| w.len() >= 3),
            _ => false,
        };
        if digit_before && word_start && glued {
            return Some(("sqli.glued_number", 0.75));
        }
    }
    None
}

/// Punctuation seen by the word pass.
#[derive(Debug, Default)]
struct Seen {
    brace: bool,
    backquote: bool,
    paren: bool,
    colon_dot: bool,
}

/// The byte-level shapes of this module, strongest first.
/// `shape_words`: the input holds a word the statement shapes react to (or `_`).
pub(crate) fn sql_shapes(s: &[u8], f: Features, shape_words: bool) -> Option<Hit> {
    let first = s.iter().position(|c| !c.is_ascii_whitespace())?;
    if s.get(first).is_some_and(u8::is_ascii_digit) && s.len() <= 24 {
        if let Some(h) = boundary_number(s) {
            return Some(h);
        }
    }
    // The word pass records which punctuation occurs (no separate byte searches). It stops at
    // its first hit, and then the flags are not needed.
    // Without blanks, `_` or quotes no statement, dialect word or alias shape can fire; the
    // punctuation flags then come from the prefilter.
    // Every statement, dialect word and alias shape needs one of the words the SQL gate
    // records (`alter`, `insert`, `as`, ... or a word with `_`).
    let mut seen = Seen::default();
    let words = if shape_words && f.any(WS | UNDERSCORE | QUOTE) {
        word_shapes(s, &mut seen)
    } else {
        seen = Seen {
            brace: f.any(CLOSE_BRACE),
            backquote: f.any(BACKTICK),
            paren: f.any(LPAREN),
            colon_dot: f.any(COLON | DOT),
        };
        None
    };
    words
        .or_else(|| number_logic_literal(s))
        .or_else(|| if seen.paren { sql_call_value(s) } else { None })
        .or_else(|| if seen.colon_dot { misc_sql(s) } else { None })
        .or_else(|| if seen.brace { json_operator(s) } else { None })
        .or_else(|| if seen.backquote { backquote_breakout(s) } else { None })
}

#[cfg(test)]
mod tests {
    use super::sql_shapes;
    use crate::detect::prefilter::Features;

    #[test]
    fn shapes_fire_on_statements_and_fragments() {
        for s in [
            "alter table `t` add `c` text",
            "/create table persons",
            "drop table users",
            "insert into users (a) values (1)",
            "update users set admin = 1",
            "execute immediate \"",
            "procedure analyse (",
            " case when c then r",
            "select x group by y having count(id) >= 9",
            "or '{\"a\":\"b\"}' ? 'a'",
            "'{\"a\":2}' < '$.c[2].f' = 7",
            "` as `x` from",
            "` regexp ",
            "admin@example.com`;",
            "1234 as \"foobar\" from tablevar2=whatever",
            "4294967296",
            "2.2250738585072011e-308",
            "select pg_sleep",
            "9999 or /*+optimizer hint */ true",
            "9999 or {if length((",
            "if(2=",
            "div (23.23 , 2)",
            "password::int",
            "exec master.",
            "1.e(ascii)",
            "1.e.tables",
        ] {
            assert!(sql_shapes(s.as_bytes(), Features::of(s.as_bytes()), true).is_some(), "{s}");
        }
    }

    #[test]
    fn shapes_ignore_prose() {
        for s in [
            "please create a table for six",
            "we drop by later",
            "update your settings",
            "known as the best from here",
            "in case you want it, then call",
            "4294967",
            "{\"a\": \"b\"}",
            "use `code` here",
            "1 or 2 apples",
            "if (you can)",
            "round(the corner)",
            "see item 1.e.g. this",
            "fe80::1",
            "std::string",
            "execute the plan",
        ] {
            assert!(sql_shapes(s.as_bytes(), Features::of(s.as_bytes()), true).is_none(), "{s}");
        }
    }
}
