//! The corpus TSV format (`testdata/corpora/dev/dev.tsv`), shared by the detection evaluation
//! and the `detect_tsv` example.

/// The TSV escapes backslash, tab, CR and LF as `\\`, `\t`, `\r`, `\n`.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}
