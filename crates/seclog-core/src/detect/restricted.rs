//! Restricted file names: configuration, credential, key, backup, dump and log files that a web
//! application never serves or accepts as an upload. Naming one in a value is a read attempt
//! (path traversal / file disclosure); uploading an executable configuration (`wp-config.php`,
//! `.htaccess`, `settings.php`) over the application's own is a code-execution attempt.

use super::sqli::Hit;

/// Configuration and credential files: reading them discloses secrets, writing them runs code.
/// Compared with `-` and `_` read as `.` (`wp-config_php` is a renamed `wp-config.php`).
const CONFIG_FILES: &[&[u8]] = &[
    b"wp.config.php",
    b"settings.php",
    b"settings.local.php",
    b"configuration.php",
    b"config.php",
    b"config.inc.php",
    b"localsettings.php",
    b"config.yml",
    b"config.yaml",
    b"database.yml",
    b"secrets.yml",
    b"parameters.yml",
    b"local.xml",
    b"web.config",
    b"php.ini",
    b".user.ini",
    b".htaccess",
    b".htpasswd",
    b".env",
    b".boto",
    b".npmrc",
    b".pypirc",
    b".netrc",
    b".pgpass",
    b".my.cnf",
    b".git.credentials",
    b".dockercfg",
    b".bash.history",
    b".bashrc",
    b".profile",
    b"id.rsa",
    b"id.dsa",
    b"id.ecdsa",
    b"id.ed25519",
    b"authorized.keys",
];

/// Suffixes of editor and backup copies of a file.
const BACKUP_SUFFIXES: &[&[u8]] =
    &[b"", b".bak", b".old", b".orig", b".save", b".swp", b".txt", b".backup", b"~", b".1"];

/// Extensions of database dumps, backups and private keys (a read attempt wherever they appear
/// as a file name).
const DATA_EXTS: &[&[u8]] = &[
    b".sql",
    b".sql.gz",
    b".sql.zip",
    b".sql.bz2",
    b".sql.tar.gz",
    b".bak",
    b".dump",
    b".mdb",
    b".pem",
    b".ppk",
    b".p12",
    b".pfx",
];

/// What a restricted file name in a value means.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Restricted {
    /// The read (disclosure) finding.
    pub(crate) read: Hit,
    /// The upload (configuration overwrite) finding, for executable configuration files.
    pub(crate) upload: Option<Hit>,
}

/// Longest file name examined.
const MAX_NAME: usize = 64;

/// The last path segment of `s` (blanks removed, `-`/`_` read as `.`) judged against the
/// restricted lists. `s` is normalised (lower-case).
pub(crate) fn restricted_file(s: &[u8]) -> Option<Restricted> {
    let t = s.trim_ascii();
    // Every listed name and suffix ends in a letter, digit or `~` (unit-tested).
    if !t.last().is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'~') {
        return None;
    }
    // The last segment, walked backwards: it ends at `/`, `\` or `=`, and any other byte
    // than a name byte or a blank rules it out.
    let mut start = t.len();
    while let Some(&c) = start.checked_sub(1).and_then(|i| t.get(i)) {
        if matches!(c, b'/' | b'\\' | b'=') {
            break;
        }
        let name_byte = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'~');
        if !(name_byte || c == b' ' || c == b'\t') || t.len() - start >= MAX_NAME {
            return None;
        }
        start -= 1;
    }
    let seg = t.get(start..)?;
    if !seg.contains(&b'.') {
        return None;
    }
    let mut name = [0u8; MAX_NAME];
    let mut n = 0;
    for &c in seg {
        if c == b' ' || c == b'\t' {
            continue;
        }
        if let Some(slot) = name.get_mut(n) {
            *slot = if matches!(c, b'-' | b'_') { b'.' } else { c };
            n += 1;
        }
    }
    let name = name.get(..n)?;
    let config = CONFIG_FILES
        .iter()
        .any(|f| name.strip_prefix(*f).is_some_and(|rest| BACKUP_SUFFIXES.contains(&rest)));
    if config {
        return Some(Restricted {
            read: ("path.restricted_file", 0.8),
            upload: Some(("cmdi.restricted_file_upload", 0.75)),
        });
    }
    let in_path = start > 0 && t.get(start - 1) == Some(&b'/');
    let data = DATA_EXTS.iter().any(|e| name.ends_with(e) && name.len() > e.len())
        || (in_path && name.ends_with(b".log") && name.len() > 4);
    data.then_some(Restricted { read: ("path.restricted_file", 0.75), upload: None })
}

#[cfg(test)]
mod tests {
    use super::restricted_file;

    #[test]
    fn restricted_names_fire() {
        for s in [
            "wp-config.php",
            "wp-config-php.bak",
            "wp-config_php.txt",
            "settings. php",
            "config.yml ",
            ".boto",
            "/var/www/.env",
            "backup.sql.zip",
            "/wp-content/debug.log",
            "/home/u/.ssh/id_rsa.bak",
        ] {
            assert!(restricted_file(s.as_bytes()).is_some(), "{s}");
        }
        assert!(restricted_file(b"wp-config.php").is_some_and(|r| r.upload.is_some()));
        assert!(restricted_file(b"backup.sql").is_some_and(|r| r.upload.is_none()));
    }

    /// The early exit on the last byte holds for every listed name, suffix and extension.
    #[test]
    fn every_name_ends_in_a_name_byte() {
        let ok = |w: &[u8]| w.last().is_none_or(|c| c.is_ascii_alphanumeric() || *c == b'~');
        for w in super::CONFIG_FILES.iter().chain(super::BACKUP_SUFFIXES).chain(super::DATA_EXTS) {
            assert!(ok(w), "{w:?}");
        }
    }

    #[test]
    fn ordinary_names_do_not() {
        for s in ["test.png", "report.pdf", "my.config.file", "server.log", "a.sql.txt", "readme"] {
            assert!(restricted_file(s.as_bytes()).is_none(), "{s}");
        }
    }
}
