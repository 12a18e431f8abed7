//! SQL injection: lex the input in three quoting contexts and judge the token sequences.

use super::sql_lex::{lex, Ctx, Tok};

/// A rule hit: rule id and confidence.
pub(crate) type Hit = (&'static str, f32);

fn is_value(t: Tok) -> bool {
    matches!(t, Tok::Num | Tok::Str { .. } | Tok::Word | Tok::Var | Tok::Func { .. } | Tok::Kw)
}

/// Judge `s` (normalised, lower-case) for SQL injection.
pub(crate) fn detect_sqli(s: &[u8], buf: &mut Vec<Tok>) -> Option<Hit> {
    let mut best: Option<Hit> = None;
    for ctx in [Ctx::None, Ctx::Single, Ctx::Double] {
        let q = match ctx {
            Ctx::None => 0,
            Ctx::Single => b'\'',
            Ctx::Double => b'"',
        };
        if q != 0 && !s.contains(&q) {
            continue;
        }
        lex(s, ctx, buf);
        if let Some(h) = judge(buf, ctx) {
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
fn judge(t: &[Tok], ctx: Ctx) -> Option<Hit> {
    let at = |k: usize| t.get(k).copied();
    // Index of the next non-comment token at or after k.
    let skip_c = |mut k: usize| {
        while at(k) == Some(Tok::Comment) {
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
        match (at(k), at(k + 1)) {
            (Some(Tok::Logic), Some(n))
                if is_value(n) || matches!(n, Tok::LParen | Tok::Stmt | Tok::Logic) =>
            {
                hit(("sqli.string_break_logic", 0.9));
            }
            (Some(Tok::Comment), _) => hit(("sqli.string_break_comment", 0.85)),
            (Some(Tok::Semi), _) => hit(("sqli.string_break_stacked", 0.9)),
            (Some(Tok::Union | Tok::Clause | Tok::From), _) => {
                hit(("sqli.string_break_clause", 0.9))
            }
            (Some(Tok::Cmp), Some(n))
                if is_value(n)
                    && matches!(at(k + 2), Some(Tok::Logic | Tok::Comment | Tok::Semi)) =>
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
                    let comment = n > k + 1;
                    match at(n) {
                        Some(Tok::Logic | Tok::Union | Tok::Semi | Tok::Clause) => {
                            hit(("sqli.paren_break", 0.85));
                        }
                        None if comment => hit(("sqli.paren_break", 0.8)),
                        _ => {}
                    }
                }
            }
            Tok::Union => {
                let mut n = k + 1;
                while matches!(at(n), Some(Tok::Kw | Tok::LParen | Tok::Comment)) {
                    n += 1;
                }
                if at(n) == Some(Tok::Stmt) {
                    hit(("sqli.union_select", 0.95));
                }
            }
            Tok::Semi => {
                let n = skip_c(k + 1);
                if at(n) == Some(Tok::Stmt) && at(n + 1).is_some() {
                    hit(("sqli.stacked_query", 0.9));
                }
            }
            Tok::Logic => {
                let n = skip_c(k + 1);
                let v = at(n);
                let after = at(n + 1);
                match (v, after) {
                    (Some(x), Some(Tok::Cmp)) if is_value(x) => {
                        if at(n + 2).is_some_and(|y| is_value(y) || y == Tok::LParen) {
                            hit(("sqli.tautology", 0.85));
                        }
                    }
                    (Some(Tok::Func { danger: true }), _) => hit(("sqli.blind_function", 0.9)),
                    (Some(Tok::LParen), Some(Tok::Stmt)) => hit(("sqli.subquery", 0.9)),
                    (Some(Tok::Num | Tok::Str { closed: true }), Some(Tok::Comment)) => {
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
                if matches!(at(k + 1), Some(Tok::Clause))
                    && matches!(at(k + 2), Some(Tok::Str { .. } | Tok::Num))
                {
                    // WAITFOR DELAY '0:0:5'
                    hit(("sqli.time_delay", 0.85));
                }
            }
            Tok::Num | Tok::Str { closed: true } => {
                if matches!(at(k + 1), Some(Tok::Clause)) && k + 1 < t.len() {
                    let tail = t.get(k + 2..).unwrap_or_default();
                    if tail.iter().any(|x| matches!(x, Tok::Comment | Tok::Num)) {
                        hit(("sqli.clause_after_value", 0.75));
                    }
                }
            }
            _ => {}
        }
    }
    best
}

/// `SELECT <list> FROM <source>` where the list is clearly SQL (not just English words).
fn select_from(t: &[Tok], k: usize) -> Option<Hit> {
    let mut sqlish = false;
    let mut j = k + 1;
    while let Some(&x) = t.get(j) {
        match x {
            Tok::From => {
                let src = t.get(j + 1)?;
                return (sqlish && matches!(src, Tok::Word | Tok::Kw | Tok::LParen | Tok::Var))
                    .then_some(("sqli.select_from", 0.75));
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
