//! Path traversal and local file inclusion: normalised path analysis.

use super::normalize::Normalized;
use super::patterns::PatternSet;
use super::sql_lex::find_seq;
use super::sqli::Hit;
use std::sync::LazyLock;

static SENSITIVE_SET: LazyLock<PatternSet> = LazyLock::new(|| PatternSet::new(SENSITIVE));

/// Files and directories whose mention in a request path is itself an attack signal.
const SENSITIVE: &[&[u8]] = &[
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

/// Judge `n` for path traversal; `raw` is the undecoded input (to spot encoded dots/slashes).
pub(crate) fn detect_path(n: &Normalized, raw: &str) -> Option<Hit> {
    let s: Vec<u8> = n.bytes.iter().map(|&c| if c == b'\\' { b'/' } else { c }).collect();
    let mut best: Option<Hit> = None;
    let mut hit = |h: Hit| {
        if best.is_none_or(|b: Hit| h.1 > b.1) {
            best = Some(h);
        }
    };
    let climbs = count_climbs(&s);
    let encoded = n.overlong || n.rounds >= 2 || {
        let r = raw.to_ascii_lowercase();
        r.contains("%2e")
            || r.contains("%2f")
            || r.contains("%5c")
            || r.contains("%c0")
            || r.contains("%u")
    };
    if climbs >= 2 {
        hit(("path.dot_dot_climb", 0.9));
    } else if climbs == 1 && (encoded || n.null_byte) {
        hit(("path.encoded_dot_dot", 0.85));
    }
    let mut sensitive = false;
    SENSITIVE_SET.any(&s, |f, p| {
        let before_ok = p == 0
            || s.get(p - 1)
                .is_some_and(|&c| matches!(c, b'/' | b'.' | b'=' | b' ' | b':' | b'"' | b'\''));
        let after = s.get(p + f.len()).copied();
        let after_ok =
            f.ends_with(b"/") || after.is_none_or(|c| !c.is_ascii_alphanumeric() && c != b'_');
        // Bare file names (no slash) need a path context before them.
        let needs_slash = !f.contains(&b'/') && !f.starts_with(b".");
        let slash_before = p > 0 && s.get(p - 1) == Some(&b'/');
        sensitive = before_ok && after_ok && (!needs_slash || slash_before);
        sensitive
    });
    if sensitive {
        hit(("path.sensitive_file", if climbs > 0 { 0.95 } else { 0.85 }));
    }
    if let Some(p) = find_seq(&s, 0, b"file:/") {
        let _ = p;
        hit(("path.file_scheme", 0.85));
    }
    if n.null_byte && climbs > 0 {
        hit(("path.null_byte_truncation", 0.9));
    }
    best
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
