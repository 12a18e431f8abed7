//! SQL injection: lex the input in three quoting contexts and judge the token sequences.

use super::patterns::{KeywordScan, Kw};
use super::prefilter::Features;
use super::sql_extra::{break_expression, sql_extras};
use super::sql_gate::{self, SqlWords};
use super::sql_lex::find_seq;
use super::sql_lex::{lex, Ctx, Tok, MAX_TOKENS};

/// A rule hit: rule id and confidence.
pub(crate) type Hit = (&'static str, f32);

fn is_value(t: Tok) -> bool {
    matches!(t, Tok::Num | Tok::Str { .. } | Tok::Word | Tok::Var | Tok::Func { .. } | Tok::Kw)
}

/// Judge `s` (normalised, lower-case) for SQL injection.
pub(crate) fn detect_sqli(s: &[u8], f: Features, kw: &KeywordScan<'_>) -> Option<Hit> {
    // One token (letters, digits, `. _ @ $`: `select@`, an e-mail address) is not judged by the
    // token rules: a rule of the detector, not only a gate, so it holds ungated too.
    let single = if f == Features::all() { Features::of(s) } else { f }.sql_single_token();
    // One pass over the words: may the token judge, the statement shapes or the catalogue and
    // metadata probes fire at all?
    let words = if f == Features::all() { SqlWords::all() } else { sql_gate::scan(s, f) };
    let mut best: Option<Hit> = metadata_probe(s, words, kw).or_else(|| sql_extras(s, f, words));
    if single {
        return best;
    }
    if best.is_none() {
        best = pg_cast(s);
    }
    let mut buf = Vec::with_capacity(MAX_TOKENS);
    for ctx in [Ctx::None, Ctx::Single, Ctx::Double] {
        let q = match ctx {
            Ctx::None => 0,
            Ctx::Single => b'\'',
            Ctx::Double => b'"',
        };
        if q != 0 && !s.contains(&q) {
            continue;
        }
        if f != Features::all() && !sql_gate::judge_possible(s, ctx, words) {
            continue;
        }
        lex(s, ctx, &mut buf);
        if let Some(h) = judge(&buf, ctx, s) {
            if best.is_none_or(|b| h.1 > b.1) {
                best = Some(h);
            }
            if h.1 >= 0.9 {
                break;
            }
        }
    }
    best
}

/// Tokens with comments removed (comments kept only as a flag at their position).
pub(crate) fn judge(t: &[Tok], ctx: Ctx, s: &[u8]) -> Option<Hit> {
    let at = |k: usize| t.get(k).copied();
    // Index of the next non-comment token at or after k.
    let skip_c = |mut k: usize| {
        while matches!(at(k), Some(Tok::Comment { .. })) {
            k += 1;
        }
        k
    };
    let mut best: Option<Hit> = None;
    let mut hit = |h: Hit| {
        if best.is_none_or(|b: Hit| h.1 > b.1) {
            best = Some(h);
        }
    };

    // Break-out of the assumed string context.
    if ctx != Ctx::None && at(0) == Some(Tok::Str { closed: true }) {
        let mut k = 1;
        // `'))` style closers.
        while at(k) == Some(Tok::RParen) {
            k += 1;
        }
        let op = k + 1;
        // `x'/* note */;`: the statement ended after a comment.
        let mut c = k;
        while matches!(at(c), Some(Tok::Comment { .. })) {
            c += 1;
        }
        if c > k && at(c) == Some(Tok::Semi) && at(c + 1).is_none() && !prose_before_quote(s, ctx) {
            hit(("sqli.string_break_terminator", 0.7));
        }
        if let Some(h) = break_expression(t, k, s, ctx) {
            hit(h);
        }
        match (at(k), at(op)) {
            // A re-opened string after the logical operator balances the query's closing quote:
            // it holds a short literal (`x' or '1`), not nothing (`select 'and'`) or text
            // (`.. calendar" and "disney:`).
            (Some(Tok::Logic), Some(Tok::Str { closed: false }))
                if at(op + 1).is_none() && !short_literal_tail(s) => {}
            (Some(Tok::Logic), Some(n))
                if operand_then_sql(t, op) || matches!(n, Tok::LParen | Tok::Stmt) =>
            {
                hit(("sqli.string_break_logic", 0.9));
            }
            (Some(Tok::Comment { empty: true }), _) if !prose_then_hash(s, ctx) => {
                hit(("sqli.string_break_comment", 0.85))
            }
            (Some(Tok::Semi), Some(Tok::Stmt | Tok::Comment { .. })) => {
                hit(("sqli.string_break_stacked", 0.9));
            }
            (Some(Tok::Clause), _) => hit(("sqli.string_break_clause", 0.9)),
            // `admin';` — a one-word value whose quote is closed and the statement ended.
            (Some(Tok::Semi), None) if k == 1 && !prose_before_quote(s, ctx) => {
                hit(("sqli.string_break_terminator", 0.7))
            }
            (Some(Tok::Stmt), Some(n))
                if !matches!(n, Tok::Word | Tok::Op | Tok::Str { closed: false }) =>
            {
                hit(("sqli.string_break_statement", 0.85));
            }
            (Some(Tok::Cmp), Some(n))
                if is_value(n)
                    && matches!(at(k + 2), Some(Tok::Logic | Tok::Comment { .. } | Tok::Semi)) =>
            {
                hit(("sqli.string_break_compare", 0.85));
            }
            (Some(Tok::Op), Some(Tok::LParen | Tok::Func { .. })) => {
                hit(("sqli.string_break_expr", 0.8))
            }
            _ => {}
        }
    }

    let mut depth: i32 = 0;
    for k in 0..t.len() {
        let Some(cur) = at(k) else { break };
        match cur {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                depth -= 1;
                if depth < 0 {
                    let n = skip_c(k + 1);
                    match at(n) {
                        Some(Tok::Logic) if operand_then_sql(t, n + 1) => {
                            hit(("sqli.paren_break", 0.85))
                        }
                        Some(Tok::Union | Tok::Clause) => hit(("sqli.paren_break", 0.85)),
                        // `1) from users where x=`: the select list closed, its source named.
                        Some(Tok::From)
                            if at(n + 1) == Some(Tok::Word)
                                && matches!(at(n + 2), Some(Tok::Clause | Tok::Kw)) =>
                        {
                            hit(("sqli.paren_break", 0.8))
                        }
                        Some(Tok::Semi) if matches!(at(n + 1), Some(Tok::Stmt)) => {
                            hit(("sqli.paren_break", 0.85))
                        }
                        // `) like (`, `) = 1`: closing an expression to compare it.
                        Some(Tok::Cmp)
                            if matches!(
                                at(n + 1),
                                Some(Tok::LParen | Tok::Num | Tok::Str { closed: true })
                            ) =>
                        {
                            hit(("sqli.paren_break", 0.75))
                        }
                        _ => {}
                    }
                }
            }
            Tok::Union => {
                let mut n = k + 1;
                while matches!(at(n), Some(Tok::Kw | Tok::LParen | Tok::Comment { .. })) {
                    n += 1;
                }
                if at(n) == Some(Tok::Stmt) {
                    hit(("sqli.union_select", 0.95));
                }
                // `-1 union`, `1/**/union#`, `-1 union 1,2,3--`: a value, then UNION with nothing
                // English after it.
                let mut p = k;
                while p > 0 && matches!(at(p - 1), Some(Tok::Comment { .. })) {
                    p -= 1;
                }
                let prev = p.checked_sub(1).and_then(at);
                if matches!(prev, Some(Tok::Num | Tok::RParen | Tok::Str { closed: true }))
                    && matches!(
                        at(skip_c(k + 1)),
                        None | Some(Tok::Num | Tok::LParen | Tok::Stmt | Tok::Var)
                    )
                {
                    hit(("sqli.union_value", 0.8));
                }
            }
            Tok::Semi => {
                let n = skip_c(k + 1);
                if at(n) == Some(Tok::Stmt)
                    && (select_from(t, n).is_some()
                        || matches!(
                            at(n + 1),
                            None | Some(
                                Tok::From
                                    | Tok::Var
                                    | Tok::Func { .. }
                                    | Tok::Op
                                    | Tok::Clause
                                    | Tok::Comment { .. }
                                    | Tok::Semi
                            )
                        ))
                {
                    hit(("sqli.stacked_query", 0.9));
                }
                // `; drop table x` after a short prefix (`1;`, `x';`); after prose
                // (`..., call when you ...`) a keyword is English.
                if at(n) == Some(Tok::Stmt) && k <= 2 && matches!(at(n + 1), Some(Tok::Kw)) {
                    hit(("sqli.stacked_query", 0.85));
                }
            }
            Tok::Logic => {
                let n = skip_c(k + 1);
                let v = at(n);
                let after = at(n + 1);
                if comparison_follows(t, n) {
                    hit(("sqli.tautology", 0.85));
                }
                match (v, after) {
                    (Some(Tok::Func { danger: true }), _) => hit(("sqli.blind_function", 0.9)),
                    (Some(Tok::LParen), Some(Tok::Stmt)) => hit(("sqli.subquery", 0.9)),
                    (
                        Some(Tok::Num | Tok::Str { closed: true }),
                        Some(Tok::Comment { empty: true }),
                    ) => {
                        hit(("sqli.logic_truncation", 0.8));
                    }
                    _ => {}
                }
            }
            Tok::Func { danger: true } => {
                let prev = k.checked_sub(1).and_then(at);
                if !matches!(prev, Some(Tok::Word | Tok::Kw)) {
                    hit(("sqli.dangerous_function", 0.8));
                }
            }
            Tok::Stmt => {
                let prev = k.checked_sub(1).and_then(at);
                if prev == Some(Tok::LParen)
                    && matches!(
                        at(k + 1),
                        Some(Tok::Num | Tok::Var | Tok::Func { .. } | Tok::Str { .. } | Tok::Op)
                    )
                {
                    hit(("sqli.subquery", 0.85));
                }
                if let Some(h) = select_from(t, k) {
                    hit(h);
                }
                // A value that opens with a statement applied to a call or variable:
                // `select if(x`, `SELECT CHAR(`, `DECLARE @x`, `select @@version`.
                if k == 0 && matches!(at(skip_c(k + 1)), Some(Tok::Func { .. } | Tok::Var)) {
                    hit(("sqli.statement_expression", 0.75));
                }
                // `declare @s`, `exec (@s)`, `set @s = ...` anywhere in the value.
                let n = skip_c(k + 1);
                let n = if at(n) == Some(Tok::LParen) { n + 1 } else { n };
                if at(n) == Some(Tok::Var) {
                    hit(("sqli.statement_variable", 0.8));
                }
            }
            Tok::Num | Tok::Str { closed: true }
                if matches!(at(k + 1), Some(Tok::Clause)) && k + 1 < t.len() =>
            {
                let tail = t.get(k + 2..).unwrap_or_default();
                if tail.iter().any(|x| matches!(x, Tok::Comment { .. } | Tok::Num)) {
                    hit(("sqli.clause_after_value", 0.75));
                }
            }
            _ => {}
        }
    }
    if let Some(h) = expression_truncation(t) {
        hit(h);
    }
    best
}

/// An arithmetic/parenthesised expression cut off by an empty trailing comment: `1 * 1 --`,
/// `( (select ( 1)) ) --`, `1*1/*`. Bare words are not allowed (prose ending in `--`).
fn expression_truncation(t: &[Tok]) -> Option<Hit> {
    let (last, body) = t.split_last()?;
    if *last != (Tok::Comment { empty: true }) || body.is_empty() {
        return None;
    }
    // `1--`, `@@version/*`: a lone number or variable cut off.
    if let [Tok::Num | Tok::Var] = body {
        return Some(("sqli.expression_truncation", 0.7));
    }
    if body.len() < 2 {
        return None;
    }
    // Parenthesised logic (`( 1 or @a ) --`, `( binary cos ( 'b') ) --`) as well as arithmetic.
    let logic = body.first() == Some(&Tok::LParen)
        && body.iter().all(|x| {
            matches!(
                x,
                Tok::Num
                    | Tok::Op
                    | Tok::LParen
                    | Tok::RParen
                    | Tok::Var
                    | Tok::Func { .. }
                    | Tok::Stmt
                    | Tok::Comma
                    | Tok::Str { closed: true }
                    | Tok::Logic
                    | Tok::Cmp
                    | Tok::Kw
            )
        });
    let sqlish = logic
        || body.iter().all(|x| {
            matches!(
                x,
                Tok::Num
                    | Tok::Op
                    | Tok::LParen
                    | Tok::RParen
                    | Tok::Var
                    | Tok::Func { .. }
                    | Tok::Stmt
                    | Tok::Comma
                    | Tok::Str { closed: true }
            )
        });
    // Two operands side by side (`'x'@email`, `1 2`) do not parse; adjacent strings do
    // (`'a' 'b'` is one literal in MySQL).
    let adjacent = body.windows(2).any(|w| {
        let value = |x: &Tok| matches!(x, Tok::Num | Tok::Var | Tok::Str { .. } | Tok::Func { .. });
        value(&w[0]) && value(&w[1]) && !matches!(w, [Tok::Str { .. }, Tok::Str { .. }])
    });
    if adjacent {
        return None;
    }
    let operator = body.iter().any(|x| matches!(x, Tok::Op | Tok::LParen | Tok::Stmt | Tok::Var));
    // A real operand, so symbol strings such as passwords (`!@#$%`) do not qualify.
    let operand =
        body.iter().any(|x| matches!(x, Tok::Num | Tok::Func { .. } | Tok::Stmt | Tok::Str { .. }));
    (sqlish && operator && operand).then_some(("sqli.expression_truncation", 0.7))
}

/// After a logical operator at `k - 1`: a short arithmetic/function expression, a comparison,
/// and an operand (`or 1=1`, `and -8=3`, `and cos(pi())=-1`). Bare `word cmp word` is prose.
fn comparison_follows(t: &[Tok], k: usize) -> bool {
    let mut j = k;
    let mut words_only = true;
    let mut seen_value = false;
    // A tautology's left side is one operand or call; several bare words are prose.
    let mut depth = 0i32;
    let mut top_words = 0;
    while let Some(&x) = t.get(j) {
        if j > k + 12 {
            return false;
        }
        match x {
            Tok::Cmp => break,
            Tok::Word | Tok::Kw => {
                seen_value = true;
                if depth <= 0 {
                    top_words += 1;
                    if top_words > 1 {
                        return false;
                    }
                }
            }
            Tok::Num | Tok::Str { closed: true } | Tok::Var | Tok::Func { .. } => {
                seen_value = true;
                words_only = false;
            }
            Tok::LParen => {
                depth += 1;
                words_only = false;
            }
            Tok::RParen => {
                depth -= 1;
                words_only = false;
            }
            Tok::Op | Tok::Comma => words_only = false,
            _ => return false,
        }
        j += 1;
    }
    if !seen_value || t.get(j) != Some(&Tok::Cmp) {
        return false;
    }
    let rhs = t.get(j + 1).copied();
    match rhs {
        Some(Tok::Word | Tok::Kw) => !words_only,
        Some(Tok::Num | Tok::Str { .. } | Tok::Var | Tok::Func { .. } | Tok::Op | Tok::LParen) => {
            true
        }
        _ => false,
    }
}

/// Is `t[k]` an operand followed by SQL continuing the injected expression (or by the end)?
fn operand_then_sql(t: &[Tok], k: usize) -> bool {
    let Some(&v) = t.get(k) else { return false };
    let next = t.get(k + 1).copied();
    match v {
        Tok::Str { closed: false } => next.is_none(),
        Tok::Str { closed: true } => next.is_some_and(continues_sql),
        Tok::Num | Tok::Var => next.is_none_or(continues_sql),
        // A bare word ending the input (`x" and white`) is prose, not an operand.
        Tok::Word | Tok::Kw => next.is_some_and(continues_sql),
        Tok::Func { .. } => true,
        _ => false,
    }
}

fn continues_sql(t: Tok) -> bool {
    matches!(
        t,
        Tok::Cmp
            | Tok::Op
            | Tok::Logic
            | Tok::Semi
            | Tok::RParen
            | Tok::Union
            | Tok::Clause
            | Tok::Comment { .. }
    )
}

/// `SELECT <list> FROM <source>` where the list is clearly SQL (not just English words).
fn select_from(t: &[Tok], k: usize) -> Option<Hit> {
    let mut sqlish = false;
    let mut j = k + 1;
    while let Some(&x) = t.get(j) {
        match x {
            Tok::From => {
                let src = t.get(j + 1)?;
                let source = matches!(src, Tok::Word | Tok::Kw | Tok::LParen | Tok::Var);
                // `(select id from users limit 1`: a parenthesised query with a clause.
                let nested = k > 0
                    && t.get(k - 1) == Some(&Tok::LParen)
                    && matches!(t.get(j + 2), Some(Tok::Clause | Tok::Kw | Tok::RParen));
                return ((sqlish || nested) && source).then_some(("sqli.select_from", 0.75));
            }
            Tok::Word | Tok::Kw => {}
            Tok::Func { .. }
            | Tok::Var
            | Tok::Num
            | Tok::Comma
            | Tok::Op
            | Tok::Str { .. }
            | Tok::LParen
            | Tok::RParen => {
                sqlish = true;
            }
            _ => return None,
        }
        j += 1;
    }
    None
}

/// Names of database catalogues that ordinary input never mentions.
pub(crate) const CATALOGS: &[&[u8]] = &[
    b"information_schema",
    b"pg_catalog",
    b"sysobjects",
    b"syscolumns",
    b"mysql.user",
    b"msysaccessobjects",
    b"msysobjects",
    b"sqlite_master",
    b"all_tables",
    b"user_tables",
    b"pg_shadow",
    b"sys.tables",
    b"sys.objects",
    b"master..sysdatabases",
    b"tempdb",
    b"msdb",
    b"northwind",
    b"mysql.db",
    b"schema_name",
];

/// Metadata functions probed by injection: `database()`, `db_name()`, `version()`, ...
pub(crate) const META_FUNCS: &[&[u8]] = &[
    b"database",
    b"db_name",
    b"schema_name",
    b"schema",
    b"current_user",
    b"version",
    b"user",
    b"system_user",
    b"session_user",
    b"sqlite_version",
    b"current_database",
    b"@@version",
    b"connection_id",
    b"last_insert_id",
    b"row_count",
];

fn metadata_probe(s: &[u8], words: SqlWords, kw: &KeywordScan<'_>) -> Option<Hit> {
    // The word pass found a word that starts a catalogue name, or a metadata function name
    // before `(`.
    let catalog_possible = words.catalog;
    if !catalog_possible && !words.meta {
        return None;
    }
    let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let catalog = catalog_possible
        && kw.any(Kw::Catalog, |c, p| {
            let before = p.checked_sub(1).and_then(|i| s.get(i)).copied();
            let after = s.get(p + c.len()).copied();
            !word(before) && !word(after)
        });
    if catalog {
        return Some(("sqli.catalog_probe", 0.75));
    }
    let meta = words.meta
        && kw.any(Kw::Meta, |f, p| {
            let before = p.checked_sub(1).and_then(|i| s.get(i)).copied();
            if word(before) || before == Some(b'.') {
                return false;
            }
            let mut j = p + f.len();
            while s.get(j).is_some_and(|c| *c == b' ') {
                j += 1;
            }
            if s.get(j) != Some(&b'(') {
                return false;
            }
            j += 1;
            while s.get(j).is_some_and(|c| *c == b' ') {
                j += 1;
            }
            s.get(j).is_none_or(|c| *c == b')')
        });
    meta.then_some(("sqli.metadata_function", 0.75))
}

/// The text after the last quote of `s` (an unterminated string at the end) is a short
/// literal: 1 to 6 letters or digits (blanks around it aside), as in `1' or '1`, `A 'AND' B`.
pub(crate) fn short_literal_tail(s: &[u8]) -> bool {
    let Some(p) = s.iter().rposition(|&c| c == b'\'' || c == b'"') else { return false };
    let tail = s.get(p + 1..).unwrap_or_default().trim_ascii();
    (1..=6).contains(&tail.len()) && tail.iter().all(u8::is_ascii_alphanumeric)
}

/// Does text with a blank in it precede the first quote of the context?
pub(crate) fn prose_before_quote(s: &[u8], ctx: Ctx) -> bool {
    let q = if ctx == Ctx::Double { b'"' } else { b'\'' };
    let p = s.iter().position(|&c| c == q).unwrap_or(s.len());
    s.get(..p).unwrap_or_default().trim_ascii().contains(&b' ')
}

/// PostgreSQL cast of a literal or parenthesised expression: `')::int`, `'x'::jsonb`.
fn pg_cast(s: &[u8]) -> Option<Hit> {
    let mut from = 0;
    while let Some(p) = find_seq(s, from, b"::") {
        from = p + 2;
        let before = p.checked_sub(1).and_then(|i| s.get(i));
        let after = s.get(p + 2);
        if matches!(before, Some(b')' | b'\'')) && after.is_some_and(u8::is_ascii_alphabetic) {
            return Some(("sqli.pg_cast", 0.75));
        }
    }
    None
}

/// `several words '#`: a `#` after a quote that closes multi-word text is prose (a product
/// name, a note), unlike `admin'#` or `x' --`.
fn prose_then_hash(s: &[u8], ctx: Ctx) -> bool {
    let q = if ctx == Ctx::Double { b'"' } else { b'\'' };
    let Some(p) = s.iter().position(|&c| c == q) else { return false };
    let before = s.get(..p).unwrap_or_default();
    let after = s.get(p + 1..).unwrap_or_default();
    let hash = after.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'#');
    hash && before.trim_ascii().contains(&b' ')
}
