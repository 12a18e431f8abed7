//! Path traversal and local file inclusion: normalised path analysis.

use super::normalize::Normalized;
use super::patterns::{KeywordScan, Kw, PatternSet};
use super::prefilter::{Features, BACKSLASH, COLON, DIGIT, DOT, SLASH};
use super::sql_lex::{find_seq, memchr};
use super::sqli::Hit;
use std::sync::LazyLock;

static SENSITIVE_SET: LazyLock<PatternSet> = LazyLock::new(|| PatternSet::new(SENSITIVE));

/// Files and directories whose mention in a request path is itself an attack signal.
pub(crate) const SENSITIVE: &[&[u8]] = &[
    b"etc/passwd",
    b"etc/shadow",
    b"etc/group",
    b"etc/hosts",
    b"etc/issue",
    b"etc/master.passwd",
    b"etc/sudoers",
    b"etc/crontab",
    b"etc/httpd/",
    b"etc/apache2/",
    b"etc/nginx/",
    b"etc/mysql/",
    b"etc/security/",
    b"etc/motd",
    b"etc/profile",
    b"etc/fstab",
    b"etc/resolv.conf",
    b"proc/self/",
    b"proc/version",
    b"proc/cpuinfo",
    b"proc/net/",
    b"proc/interrupts",
    b"proc/mounts",
    b"proc/meminfo",
    b"proc/mtrr",
    b"proc/acpi",
    b"proc/sched_debug",
    b"sys/class",
    b"sys/kernel",
    b"sys/devices",
    b"sys/firmware",
    b"sys/module",
    b"var/log/",
    b"win.ini",
    b"boot.ini",
    b"system.ini",
    b"windows/system32",
    b"winnt/system32",
    b"system32/drivers/etc",
    b"inetpub/",
    b".htaccess",
    b".htpasswd",
    b"web.config",
    b"wp-config.php",
    b".ssh/",
    b"id_rsa",
    b".bash_history",
    b".bashrc",
    b"/.git/",
    b"/.svn/",
    b"web-inf/",
    b"meta-inf/",
    b"/.env",
    b"/root/",
    b"autoexec.bat",
];

/// Judge `n` for path traversal; `raw` is the undecoded input (to spot encoded dots/slashes),
/// `f` the byte kinds of `n.bytes` (each rule runs only when the bytes it needs occur).
pub(crate) fn detect_path(
    n: &Normalized,
    raw: &str,
    f: Features,
    kw: &KeywordScan<'_>,
) -> Option<Hit> {
    // Dots and slashes spelled in hex are the only rule without a real dot or slash.
    if !f.any(DOT | SLASH) {
        return (f.any(DIGIT) && hex_path_chars(&n.bytes))
            .then_some(("path.hex_spelled_dot_slash", 0.8));
    }
    let s: std::borrow::Cow<'_, [u8]> = if f.any(BACKSLASH) && n.bytes.contains(&b'\\') {
        n.bytes.iter().map(|&c| if c == b'\\' { b'/' } else { c }).collect()
    } else {
        std::borrow::Cow::Borrowed(n.bytes.as_slice())
    };
    let mut best: Option<Hit> = None;
    let mut hit = |h: Hit| {
        if best.is_none_or(|b: Hit| h.1 > b.1) {
            best = Some(h);
        }
    };
    let climbs = if f.any(DOT) { count_climbs(&s) } else { 0 };
    let encoded = || {
        n.overlong || n.rounds >= 2 || {
            let r = raw.as_bytes();
            r.windows(3).any(|w| {
                w[0] == b'%'
                    && matches!(
                        [w[1].to_ascii_lowercase(), w[2].to_ascii_lowercase()],
                        [b'2', b'e'] | [b'2', b'f'] | [b'5', b'c'] | [b'c', b'0']
                    )
            }) || r.windows(2).any(|w| w[0] == b'%' && matches!(w[1], b'u' | b'U'))
        }
    };
    if climbs >= 2 {
        hit(("path.dot_dot_climb", 0.9));
    } else if climbs == 1 && (n.null_byte || encoded()) {
        hit(("path.encoded_dot_dot", 0.85));
    } else if climbs == 1 && leading_climb(&s) {
        // A value that starts by climbing out of its directory (`../x`, `..\x`).
        hit(("path.leading_climb", 0.75));
    }
    if f.any(SLASH) {
        if let Some(h) = system_path(&s) {
            hit(h);
        }
    }
    let check = |f: &[u8], p: usize| {
        let before_ok = p == 0
            || s.get(p - 1)
                .is_some_and(|&c| matches!(c, b'/' | b'.' | b'=' | b' ' | b':' | b'"' | b'\''));
        let after = s.get(p + f.len()).copied();
        let after_ok =
            f.ends_with(b"/") || after.is_none_or(|c| !c.is_ascii_alphanumeric() && c != b'_');
        // Bare file names (no slash) need a path context before them.
        let needs_slash = !f.contains(&b'/') && !f.starts_with(b".");
        let slash_before = p > 0 && s.get(p - 1) == Some(&b'/');
        before_ok && after_ok && (!needs_slash || slash_before)
    };
    // The shared keyword scan covers the normalised input; the backslash-folded copy needs
    // its own pass.
    // Without a slash only the dotted file names can match: skip the keyword scan unless a
    // dot starts one of their extensions.
    let sensitive =
        (f.is_all() || (f.any(SLASH) && slashed_name_possible(&s)) || dotted_name_possible(&s))
            && match &s {
                std::borrow::Cow::Borrowed(_) => kw.any(Kw::Sensitive, check),
                std::borrow::Cow::Owned(folded) => SENSITIVE_SET.any(folded, check),
            };
    if sensitive {
        hit(("path.sensitive_file", if climbs > 0 { 0.95 } else { 0.85 }));
    }
    if f.any(COLON) && f.any(SLASH) && find_seq(&s, 0, b"file:/").is_some() {
        hit(("path.file_scheme", 0.85));
    }
    if f.any(DIGIT) && hex_path_chars(&s) {
        hit(("path.hex_spelled_dot_slash", 0.8));
    }
    if n.null_byte && climbs > 0 {
        hit(("path.null_byte_truncation", 0.9));
    }
    best
}

/// What follows the dot in every [`SENSITIVE`] name without a slash (`win.ini`, `.htaccess`,
/// `web.config`, `wp-config.php`, `.bashrc`, `autoexec.bat`).
const DOTTED: &[&[u8]] = &[b"ini", b"ht", b"config", b"php", b"bash", b"bat"];

/// Could a slash-less [`SENSITIVE`] name occur in `s` (a dot followed by one of [`DOTTED`])?
fn dotted_name_possible(s: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = s.get(from..).and_then(|r| memchr(b'.', r)) {
        let rest = s.get(from + p + 1..).unwrap_or_default();
        if DOTTED.iter().any(|d| rest.starts_with(d)) {
            return true;
        }
        from += p + 1;
    }
    false
}

/// The word right before the first slash of every [`SENSITIVE`] name with a slash inside it
/// (`etc/passwd`, `web-inf/`), and what follows the slash of those that start with one
/// (`/.git/`, `/root/`).
const BEFORE_SLASH: &[&[u8]] = &[
    b"etc",
    b"proc",
    b"sys",
    b"var",
    b"windows",
    b"winnt",
    b"system32",
    b"inetpub",
    b"inf",
    b"ssh",
];
const AFTER_SLASH: &[&[u8]] = &[b".git/", b".svn/", b".env", b"root/"];

/// Could a [`SENSITIVE`] name with a slash occur in `s`: is a slash preceded by one of
/// [`BEFORE_SLASH`] or followed by one of [`AFTER_SLASH`]?
fn slashed_name_possible(s: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = s.get(from..).and_then(|r| memchr(b'/', r)) {
        let i = from + p;
        if slash_anchor(s, i) {
            return true;
        }
        from = i + 1;
    }
    false
}

#[inline(never)]
fn slash_anchor(s: &[u8], i: usize) -> bool {
    let head = s.get(..i).unwrap_or_default();
    let len = head.iter().rev().take_while(|c| c.is_ascii_alphanumeric()).count();
    let word = head.get(i - len..).unwrap_or_default();
    let tail = s.get(i + 1..).unwrap_or_default();
    BEFORE_SLASH.contains(&word) || AFTER_SLASH.iter().any(|a| tail.starts_with(a))
}

/// Does the value start with dots that climb (`../x`, `....//x`, `..;/x`), not an ellipsis?
fn leading_climb(s: &[u8]) -> bool {
    let e = s.iter().position(|c| !matches!(c, b'.' | b';')).unwrap_or(s.len());
    s.starts_with(b"..") && s.get(e) == Some(&b'/')
}

/// Count `..` segments that climb a directory: `..` bounded by start/`/` and `/`/end.
fn count_climbs(s: &[u8]) -> usize {
    let mut count = 0;
    let mut from = 0;
    while let Some(p) = find_seq(s, from, b"..") {
        let mut e = p + 2;
        // `....//` and `..;/` style variants
        while matches!(s.get(e), Some(b'.' | b';')) {
            e += 1;
        }
        let before_ok = p == 0
            || s.get(p - 1).is_some_and(|&c| matches!(c, b'/' | b'=' | b' ' | b'\'' | b'"' | b':'));
        let after_ok = s.get(e).is_none_or(|&c| c == b'/');
        if before_ok && after_ok && (s.get(e) == Some(&b'/') || p > 0) {
            count += 1;
        }
        from = e.max(p + 1);
    }
    count
}

/// Roots of operating-system trees that application input never names as absolute paths.
const SYSTEM_ROOTS: &[&[u8]] = &[b"etc/", b"proc/", b"sys/", b"root/", b"var/log/", b"boot/"];

/// Absolute paths into system trees (`/etc/...`, `/proc/...`) standing as a value or argument,
/// and hidden (dot-prefixed) path segments other than `.well-known` (`/.env`, `/.git/`,
/// `/.docker/secrets`): web applications do not serve either.
fn system_path(s: &[u8]) -> Option<Hit> {
    let mut best = None;
    for (p, _) in s.iter().enumerate().filter(|(_, &c)| c == b'/') {
        let rest = s.get(p + 1..).unwrap_or_default();
        let before = p.checked_sub(1).and_then(|i| s.get(i)).copied();
        let standalone = before.is_none_or(|c| {
            matches!(c, b' ' | b'\t' | b'=' | b'"' | b'\'' | b'<' | b'>' | b'(' | b':')
        });
        if standalone && SYSTEM_ROOTS.iter().any(|r| rest.starts_with(r) && rest.len() > r.len()) {
            return Some(("path.system_path", 0.8));
        }
        if rest.first() == Some(&b'.')
            && rest.get(1).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            && !rest.starts_with(b".well-known")
        {
            best = Some(("path.hidden_file", 0.75));
        }
    }
    best
}

/// Dots and slashes spelled as `0x2e`, `0x2f`, `0x5c` next to each other or to a real dot or
/// slash (`0x5c0x2e./`, `0x2e0x2e/`): an attempt to smuggle `../` past a filter.
fn hex_path_chars(s: &[u8]) -> bool {
    let is_hex_char =
        |p: usize| s.get(p..p + 4).is_some_and(|w| matches!(w, b"0x2e" | b"0x2f" | b"0x5c"));
    // Searched by the `x`, rarer than the `0` in text with numbers.
    let mut from = 1;
    while let Some(q) = s.get(from..).and_then(|r| memchr(b'x', r)) {
        let p = from + q - 1;
        from = p + 3;
        if !is_hex_char(p) {
            continue;
        }
        let next = p + 4;
        if is_hex_char(next) || matches!(s.get(next), Some(b'.' | b'/')) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{dotted_name_possible, hex_path_chars, slashed_name_possible, SENSITIVE};

    /// The gates before the keyword scan hold for every sensitive name: a slash in it is
    /// anchored, it needs one before it (`id_rsa`), or a dot starts a listed extension.
    #[test]
    fn gates_cover_every_sensitive_name() {
        for p in SENSITIVE {
            let needs_slash = !p.contains(&b'/') && !p.starts_with(b".");
            let bare_word = needs_slash && !p.contains(&b'.');
            let slashed = p.contains(&b'/') && slashed_name_possible(p);
            assert!(slashed || bare_word || dotted_name_possible(p), "{p:?}");
        }
        assert!(!slashed_name_possible(b"/account/statements/2024/03?page=2"));
    }

    #[test]
    fn hex_spelled_dots_and_slashes() {
        for s in ["0x2e0x2e0x2f", "x0x5c0x2e./", "0x2e/", "..0x2f0x2f"] {
            assert!(hex_path_chars(s.as_bytes()), "{s}");
        }
        for s in ["0x2e is a dot", "x", "0x", "0xff0x2e", "100x200"] {
            assert!(!hex_path_chars(s.as_bytes()), "{s}");
        }
    }
}
