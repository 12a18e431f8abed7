//! Command injection: shell token analysis (separators, substitutions, command words).

use super::patterns::{KeywordScan, Kw, PatternSet};
use super::prefilter::{
    Features, BACKSLASH, BACKTICK, BANG, BRACE, BRACKET, DASH, DOLLAR, GT, LPAREN, LT, PAREN, PCT,
    QUOTE, SEP, SLASH, TILDE,
};
use super::sql_lex::find_seq;
use super::sqli::Hit;
use std::sync::LazyLock;

use super::cmd_windows::{windows_for, windows_if};
use super::cmd_words::{STRONG_SET, TOOL_FAMILIES, WEAK_SET};

/// Judge `s` (normalised, lower-case) for command injection. `f` holds the byte kinds of `s`
/// (each rule below runs only when the bytes it needs occur; the shell view only drops bytes,
/// so a byte absent from `s` is absent from it too).
pub(crate) fn detect_cmdi(s: &[u8], f: Features, kw: &KeywordScan<'_>) -> Option<Hit> {
    let mut best: Option<Hit> = None;
    let mut hit = |h: Hit| {
        if best.is_none_or(|b: Hit| h.1 > b.1) {
            best = Some(h);
        }
    };
    // Shell view: drop quoting tricks (`c''at`, `c\at`, `w"h"o`) and empty `$@`; borrowed
    // when there is nothing to drop.
    let tricks = f.any(BACKSLASH | DOLLAR | QUOTE)
        && s.iter().any(|&c| matches!(c, b'\\' | b'$' | b'\'' | b'"'));
    let owned;
    let v: &[u8] = if tricks {
        owned = shell_view(s);
        &owned
    } else {
        s
    };
    // Shell syntax needs `$`, `(`, `<`, `>`, `%` or a back-quote, or a slash (`/dev/tcp/`,
    // glob-bracketed paths).
    if f.any(DOLLAR | PAREN | LT | GT | PCT | BACKTICK | SLASH) {
        if let Some(h) = shell_syntax(v, f, (!tricks).then_some(kw)) {
            hit(h);
        }
    }
    if let Some(h) = command_words(v, f.any(SEP)) {
        hit(h);
    }
    if f.any(PCT) {
        if let Some(h) = windows_for(v) {
            hit(h);
        }
    }
    let dash_c = if f.any(DASH | SLASH) { shell_dash_c(v) } else { None };
    let tilde = || if f.any(TILDE) { dir_stack(v) } else { None };
    let bang = || if f.any(BANG) { history_event(v) } else { None };
    if let Some(h) = dash_c.or_else(tilde).or_else(bang) {
        hit(h);
    }
    if f.any(BACKSLASH) {
        if let Some(h) = escaped_command(s) {
            hit(h);
        }
    }
    if f.any(BRACE) {
        if let Some(h) = brace_command(v) {
            hit(h);
        }
    }
    best
}

static SYNTAX_SET: LazyLock<PatternSet> = LazyLock::new(|| {
    static PATS: LazyLock<Vec<&'static [u8]>> =
        LazyLock::new(|| PATTERNS.iter().map(|p| p.0).collect());
    PatternSet::new(PATS.as_slice())
});
pub(crate) const PATTERNS: &[(&[u8], &str, f32)] = &[
    (b"${ifs", "cmdi.ifs_expansion", 0.95),
    (b"$ifs", "cmdi.ifs_expansion", 0.9),
    (b"/dev/tcp/", "cmdi.dev_tcp", 0.95),
    (b"/dev/udp/", "cmdi.dev_tcp", 0.95),
    (b"() {", "cmdi.shellshock", 0.95),
    (b"(){", "cmdi.shellshock", 0.95),
    (b"$((", "cmdi.arith_expansion", 0.85),
    (b"$[", "cmdi.arith_expansion", 0.8),
    (b"<<<", "cmdi.here_string", 0.8),
    (b"%comspec%", "cmdi.windows_env", 0.9),
    (b"%systemroot%", "cmdi.windows_env", 0.85),
];

/// `kw` is the shared keyword scan when `v` is the normalised input itself.
///
/// The gate before the keyword scan is unit-tested against [`PATTERNS`].
fn shell_syntax(v: &[u8], f: Features, kw: Option<&KeywordScan<'_>>) -> Option<Hit> {
    let mut found: Option<Hit> = None;
    // Every syntax pattern holds `$`, `()`, `<<<`, `%` or `/dev/`.
    let possible = f.is_all()
        || f.any(DOLLAR | PCT)
        || (f.any(LPAREN) && find_seq(v, 0, b"()").is_some())
        || (f.any(LT) && find_seq(v, 0, b"<<<").is_some())
        || (f.any(SLASH) && find_seq(v, 0, b"/dev/").is_some());
    let _ = possible && {
        let record = |p: &'static [u8], start: usize| {
            // Shellshock is a value opening with `() {`; `name() {` defines a function.
            let named = p.starts_with(b"()")
                && start
                    .checked_sub(1)
                    .and_then(|i| v.get(i))
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
            if named {
                return false;
            }
            found = PATTERNS.iter().find(|(q, _, _)| *q == p).map(|(_, r, c)| (*r, *c));
            true
        };
        match kw {
            Some(kw) => kw.any(Kw::Syntax, record),
            None => SYNTAX_SET.any(v, record),
        }
    };
    if found.is_some() {
        return found;
    }
    // `$(`, `${`, `<(`, `>(`, a back-quote, or `/` with a glob bracket.
    if !(f.any(BACKTICK)
        || (f.any(DOLLAR) && f.any(LPAREN | BRACE))
        || (f.any(LT | GT) && f.any(LPAREN))
        || (f.any(SLASH) && f.any(BRACKET)))
    {
        return None;
    }
    let mut i = 0;
    while let Some(&c) = v.get(i) {
        let n = v.get(i + 1).copied().unwrap_or(0);
        match (c, n) {
            // $(cmd), ${var}, <(cmd), >(cmd)
            (b'$', b'(') | (b'<', b'(') | (b'>', b'(') => {
                let inner = v.get(i + 2).copied().unwrap_or(0);
                if inner.is_ascii_alphabetic() || matches!(inner, b'(' | b'$' | b')' | b'/' | b'`')
                {
                    return Some(("cmdi.command_substitution", 0.9));
                }
            }
            (b'$', b'{') => {
                let inner = v.get(i + 2).copied().unwrap_or(0);
                if inner.is_ascii_alphabetic() || matches!(inner, b':' | b'#' | b'`' | b'!' | b'_')
                {
                    return Some(("cmdi.parameter_expansion", 0.85));
                }
            }
            (b'`', _) => {
                // `cmd ...` with a command word inside back-quotes.
                if let Some(end) = v.get(i + 1..).and_then(|r| r.iter().position(|&x| x == b'`')) {
                    let inner = v.get(i + 1..i + 1 + end).unwrap_or_default();
                    if first_command(inner).is_some() {
                        return Some(("cmdi.backtick_substitution", 0.9));
                    }
                }
            }
            (b'/', b'[') | (b'/', b'?') if glob_path(v, i + 1) => {
                return Some(("cmdi.glob_path", 0.85));
            }
            (b'/', x) if x.is_ascii_alphabetic() && glob_path(v, i + 1) => {
                return Some(("cmdi.glob_path", 0.85));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A path segment mixing letters and shell glob brackets, e.g. `/etc/pa[s]swd`, `/bi[n]`.
fn glob_path(v: &[u8], start: usize) -> bool {
    let mut j = start;
    let mut letters = false;
    let mut bracket = false;
    while let Some(&c) = v.get(j) {
        match c {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'!' | b'?' | b'*' => {
                letters |= c.is_ascii_alphabetic()
            }
            b'[' => {
                let close = v.get(j..).and_then(|r| r.iter().take(16).position(|&x| x == b']'));
                match close {
                    Some(p) => {
                        bracket = true;
                        j += p;
                    }
                    None => return false,
                }
            }
            _ => break,
        }
        j += 1;
    }
    letters
        && bracket
        && v.get(j).is_none_or(|&c| matches!(c, b'/' | b' ' | b';' | b'|' | b'&' | b'\n'))
}

pub(crate) fn is_sep(c: u8) -> bool {
    matches!(c, b';' | b'|' | b'&' | b'\n' | b'\r' | b'`' | b'(' | b'{' | b'}' | b')')
}

/// Parse the command word at the start of `seg` (after whitespace and an optional bin path);
/// returns (word, rest after word, had_path).
fn first_command(seg: &[u8]) -> Option<(&[u8], &[u8], bool)> {
    let mut j = 0;
    while seg.get(j).is_some_and(|c| matches!(c, b' ' | b'\t' | b'$' | b'@' | b'{' | b'(' | b'!')) {
        j += 1;
    }
    // `$u wget`: an unset variable before the command expands to nothing.
    if j > 0 && seg.get(j - 1) == Some(&b'$') {
        let name = seg.get(j..)?.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_');
        let e = j + name.count();
        let blanks = seg.get(e..)?.iter().take_while(|c| **c == b' ' || **c == b'\t').count();
        if blanks > 0 && seg.get(e + blanks).is_some_and(u8::is_ascii_alphabetic) {
            j = e + blanks;
        }
    }
    let rest = seg.get(j..)?;
    let mut had_path = false;
    let mut w_start = 0;
    // Strip a leading directory (`/usr/bin/`, `c:/windows/system32/`).
    let mut k = 0;
    while let Some(&c) = rest.get(k) {
        if c == b'/' || c == b'\\' {
            w_start = k + 1;
            had_path = true;
        } else if !(c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b':')) {
            break;
        }
        k += 1;
    }
    let word_full = rest.get(w_start..k)?;
    let after = rest.get(k..).unwrap_or_default();
    let mut w = word_full.strip_suffix(b".exe").unwrap_or(word_full);
    // python3.10 -> python, gcc10.1 -> gcc (unless the digits are part of the name: base64)
    if !STRONG_SET.contains(w) {
        while w.last().is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
            w = w.get(..w.len() - 1).unwrap_or_default();
        }
    }
    // Tool families named `<tool>-<subcommand>` (`ansible-playbook`, `chef-client`): the
    // hyphenated name is not English, so it counts as a strong command word itself.
    let family = || {
        let dash = w.iter().position(|&c| c == b'-')?;
        TOOL_FAMILIES.contains(&w.get(..dash)?).then_some(())
    };
    if w.is_empty() {
        return None;
    }
    if !STRONG_SET.contains(w) {
        family()?;
    }
    Some((w, after, had_path))
}

/// Does the text after a command word look like shell arguments?
fn shell_args(after: &[u8]) -> bool {
    let t = after.iter().position(|c| *c != b' ' && *c != b'\t');
    let Some(p) = t else { return true };
    let gap = p > 0;
    let c = after.get(p).copied().unwrap_or(0);
    if !gap {
        return matches!(c, b';' | b'|' | b'&' | b'<' | b'>' | b'\n' | b'`' | b'$');
    }
    matches!(
        c,
        b'-' | b'/'
            | b'\''
            | b'"'
            | b'.'
            | b'$'
            | b'~'
            | b'%'
            | b'<'
            | b'>'
            | b'|'
            | b';'
            | b'&'
            | b'`'
            | b'\n'
            | b'{'
            | b'*'
    ) || after
        .get(p..p + 3)
        .is_some_and(|x| x.len() == 3 && x[1] == b':' && matches!(x[2], b'/' | b'\\'))
        || after
            .get(p..)
            .and_then(|r| r.split(|c| *c == b' ').next())
            .is_some_and(|arg| find_seq(arg, 0, b"://").is_some())
}

/// Rules that can fire on a segment made of letters, digits, blanks and `=` only: cmd.exe `if`,
/// shell `alias name=...`, and a command prefix (`time`, `nohup`, ...) before a command word.
pub(crate) fn start_rules(seg: &[u8]) -> Option<Hit> {
    // Each rule opens with its word: `if`, `alias` or a prefix command (blanks and, for `if`,
    // slashes before it).
    let first = seg.iter().find(|c| !c.is_ascii_whitespace() && **c != b'/');
    if !first.is_some_and(|c| matches!(c, b'i' | b'a' | b't' | b'n' | b's' | b'd' | b'x' | b'e')) {
        return None;
    }
    windows_if(seg).or_else(|| alias_definition(seg)).or_else(|| prefixed_command(seg))
}

/// `alias [-opts|+opts] name=value`.
fn alias_definition(seg: &[u8]) -> Option<Hit> {
    let rest = seg.trim_ascii_start().strip_prefix(b"alias")?;
    if !rest.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let mut words = rest.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty());
    let mut w = words.next()?;
    // Options (`-p`, `+m`); after form decoding `+m` reads ` m`, so up to two short letter-only
    // words before the definition are read as options too.
    let mut bare_opts = 0;
    while w.first().is_some_and(|c| *c == b'-' || *c == b'+')
        || (bare_opts < 2 && w.len() <= 2 && w.iter().all(u8::is_ascii_alphabetic) && {
            bare_opts += 1;
            true
        })
    {
        w = words.next()?;
    }
    let eq = w.iter().position(|&c| c == b'=')?;
    (eq > 0).then_some(("cmdi.alias_definition", 0.85))
}

/// Commands that run another command: `time sh -c ...`, `nohup ifconfig`, `strace id`.
const PREFIX_CMDS: &[&[u8]] =
    &[b"time", b"nohup", b"strace", b"nice", b"timeout", b"sudo", b"doas", b"xargs", b"env"];

fn prefixed_command(seg: &[u8]) -> Option<Hit> {
    let seg = seg.trim_ascii_start();
    let sp = seg.iter().position(u8::is_ascii_whitespace)?;
    let first = seg.get(..sp)?;
    if !PREFIX_CMDS.contains(&first) {
        return None;
    }
    let (w, after, _) = first_command(seg.get(sp..)?)?;
    (!WEAK_SET.contains(w) || shell_args(after)).then_some(("cmdi.prefixed_command", 0.8))
}

/// Directories holding system binaries: naming one at the start of a command segment runs it.
const BIN_DIRS: &[&[u8]] =
    &[b"/bin/", b"/sbin/", b"/usr/bin/", b"/usr/sbin/", b"/usr/local/bin/", b"bin/", b"sbin/"];

fn binary_path(seg: &[u8]) -> Option<Hit> {
    let seg = seg.trim_ascii_start();
    let hit = BIN_DIRS.iter().any(|d| {
        seg.strip_prefix(*d).is_some_and(|r| r.first().is_some_and(u8::is_ascii_alphabetic))
    });
    hit.then_some(("cmdi.binary_path", 0.8))
}

/// Brace expansion yielding a command word: `{,ifconfig}`, `{id,}`, `c{a,oun}t`.
fn brace_command(v: &[u8]) -> Option<Hit> {
    let mut from = 0;
    while let Some(o) = v.get(from..).and_then(|r| r.iter().position(|&c| c == b'{')) {
        let open = from + o;
        from = open + 1;
        let Some(len) = v.get(open + 1..).and_then(|r| r.iter().take(64).position(|&c| c == b'}'))
        else {
            continue;
        };
        let inner = v.get(open + 1..open + 1 + len).unwrap_or_default();
        if !inner.contains(&b',')
            || !inner.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b',' | b'-' | b'_'))
        {
            continue;
        }
        let word = |b: &u8| b.is_ascii_alphanumeric();
        let pre_start =
            v.get(..open).and_then(|r| r.iter().rposition(|c| !word(c))).map_or(0, |p| p + 1);
        let prefix = v.get(pre_start..open).unwrap_or_default();
        let after = open + 1 + len + 1;
        let suf_len = v.get(after..).map_or(0, |r| r.iter().take_while(|c| word(c)).count());
        let suffix = v.get(after..after + suf_len).unwrap_or_default();
        for alt in inner.split(|&c| c == b',') {
            let mut cand = Vec::with_capacity(prefix.len() + alt.len() + suffix.len());
            cand.extend_from_slice(prefix);
            cand.extend_from_slice(alt);
            cand.extend_from_slice(suffix);
            if STRONG_SET.contains(cand.as_slice()) && !cand.is_empty() {
                return Some(("cmdi.brace_expansion", 0.85));
            }
        }
    }
    None
}

/// `seps`: whether `v` holds a separator at all (else only the start of the value is a segment).
fn command_words(v: &[u8], seps: bool) -> Option<Hit> {
    // Start of input, then after every separator (a segment may be empty: `;;`).
    let mut best: Option<Hit> = None;
    let mut p = 0;
    while p < v.len() {
        segment(v, p, &mut best);
        if !seps {
            break;
        }
        match v.get(p..).and_then(|r| r.iter().position(|&c| is_sep(c))) {
            Some(q) => p += q + 1,
            None => break,
        }
    }
    best
}

/// The rules for the command segment starting at `p`, updating `best` (out of line, so the
/// separator search in [`command_words`] stays a tight loop).
#[inline(never)]
fn segment(v: &[u8], p: usize, best: &mut Option<Hit>) {
    let seg = v.get(p..).unwrap_or_default();
    let after_sep = p > 0;
    if let Some((w, after, had_path)) = first_command(seg) {
        let weak = WEAK_SET.contains(w);
        let args = shell_args(after);
        let blank = after.iter().all(u8::is_ascii_whitespace);
        // `;base64,` (data URL), `;charset=`: a parameter, not a command.
        if matches!(after.first(), Some(b',' | b'=')) {
            return;
        }
        // A strong command at the start of the value with an option later (`ansible all
        // -m ping`), or a hyphenated tool name with any argument.
        let option = after.split(u8::is_ascii_whitespace).any(|a| a.len() > 1 && a[0] == b'-');
        let tool = w.contains(&b'-') && !blank;
        let args = args || (!weak && (option || tool));
        // A value that is one command line ending in a newline (`visudo\n`, `cscli alerts
        // list\n`): submitted to be run as a line.
        let line = !after_sep
            && !weak
            && after.last() == Some(&b'\n')
            && after.iter().filter(|&&c| c == b'\n').count() == 1;
        let conf = match (after_sep, weak, args || had_path) {
            (false, false, _) if line => Some(0.75),
            (true, false, _) => Some(0.9),
            (true, true, true) => Some(0.85),
            // At the very start a command needs a real argument, not just a word.
            (false, _, _) if blank => None,
            (false, _, true) if had_path => Some(0.85),
            (false, false, true) => Some(0.75),
            (false, true, true) => Some(0.7),
            _ => None,
        };
        if let Some(c) = conf {
            let rule = if after_sep { "cmdi.chained_command" } else { "cmdi.command_invocation" };
            if best.is_none_or(|b: Hit| c > b.1) {
                *best = Some((rule, c));
            }
        }
    }
    if let Some(h) = binary_path(seg) {
        *best = Some(h);
    }
    if let Some(h) = start_rules(seg) {
        *best = Some(h);
    }
}

/// Shells and interpreters that run their `-c` / `/c` argument as a command line.
const SHELLS: &[&[u8]] =
    &[b"sh", b"bash", b"zsh", b"dash", b"ksh", b"csh", b"tcsh", b"$shell", b"cmd", b"powershell"];

/// `sh -c whoami`, `c89 -wrapper sh,-c,id`, `$SHELL -c "..."`, `cmd /c dir`: a shell given a
/// command string anywhere in the value.
fn shell_dash_c(v: &[u8]) -> Option<Hit> {
    let mut from = 0;
    // Each `c` after a `-` or `/` (searched by the flag byte, rarer than `c` in text).
    while let Some(q) = v.get(from..).and_then(|r| r.iter().position(|&c| c == b'-' || c == b'/')) {
        let p = from + q + 1;
        from = p;
        if v.get(p) != Some(&b'c') {
            continue;
        }
        if !v.get(p + 1).is_some_and(|c| matches!(c, b' ' | b',' | b'\t' | b'"' | b'\'')) {
            continue;
        }
        let mut e = p - 1;
        let mut gap = false;
        while e > 0 && v.get(e - 1).is_some_and(|c| matches!(c, b' ' | b',' | b'\t')) {
            e -= 1;
            gap = true;
        }
        let mut b = e;
        while b > 0 && v.get(b - 1).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'$') {
            b -= 1;
        }
        let word = v.get(b..e).unwrap_or_default();
        if gap && SHELLS.contains(&word) {
            return Some(("cmdi.shell_command_string", 0.85));
        }
    }
    None
}

/// A value that is a shell directory-stack reference: `~+`, `~-`, `~+2`, `~-1`; the `+` may
/// arrive as a blank after form decoding (`~+` sent unencoded reads `~ `).
fn dir_stack(v: &[u8]) -> Option<Hit> {
    let t = v.trim_ascii_start();
    let rest = t.strip_prefix(b"~")?;
    let (sign, digits) = rest.split_first()?;
    let digits = digits.trim_ascii_end();
    (matches!(sign, b'+' | b'-' | b' ') && digits.iter().all(u8::is_ascii_digit))
        .then_some(("cmdi.dir_stack_expansion", 0.7))
}

/// A value opening with a history event designator: `!-1`, `!!`, `!-2!-1` (re-runs earlier
/// commands in an interactive shell).
fn history_event(v: &[u8]) -> Option<Hit> {
    let t = v.trim_ascii_start();
    let hit = t.starts_with(b"!!")
        || t.strip_prefix(b"!-").is_some_and(|r| r.first().is_some_and(u8::is_ascii_digit));
    hit.then_some(("cmdi.history_expansion", 0.7))
}

/// `\ls`: a command word escaped with a backslash at the start of the value, which bypasses
/// shell aliases and word filters.
fn escaped_command(s: &[u8]) -> Option<Hit> {
    let rest = s.trim_ascii_start().strip_prefix(b"\\")?;
    let len = rest.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    let w = rest.get(..len)?;
    let end = rest.get(len..).unwrap_or_default();
    let ends = end.first().is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b';' | b'|'));
    (len > 0 && ends && (STRONG_SET.contains(w) || WEAK_SET.contains(w)))
        .then_some(("cmdi.escaped_command", 0.75))
}

/// The shell view of `s`: quoting tricks (`c''at`, `c\at`, `w"h"o`) and empty `$@` dropped.
fn shell_view(s: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        match c {
            b'\\' if s.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'/') => {}
            b'$' if s.get(i + 1) == Some(&b'@') => i += 1,
            b'\'' | b'"'
                if (i > 0 && s.get(i - 1).is_some_and(u8::is_ascii_alphanumeric))
                    || s.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric() || *n == c) => {}
            _ => v.push(c),
        }
        i += 1;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::PATTERNS;

    /// The first-letter gate of `start_rules` holds for every prefix command.
    #[test]
    fn start_rules_gate_covers_the_prefix_commands() {
        for w in super::PREFIX_CMDS.iter().chain([&b"if"[..], b"alias"].iter()) {
            assert!(b"iatnsdxe".contains(&w[0]), "{w:?}");
        }
    }

    /// The gate before the shell-syntax keyword scan holds for every pattern.
    #[test]
    fn syntax_gate_covers_every_pattern() {
        for (p, _, _) in PATTERNS {
            let has = |x: &[u8]| p.windows(x.len()).any(|w| w == x);
            let ok = p.contains(&b'$')
                || p.contains(&b'%')
                || has(b"()")
                || has(b"<<<")
                || has(b"/dev/");
            assert!(ok, "{p:?}");
        }
    }
}
