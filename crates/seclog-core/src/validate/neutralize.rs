//! CWE-117: neutralising control characters in logged text.
//!
//! Every string seclog stores goes through [`neutralize`]. Line breaks and other control
//! characters are replaced by a visible escape, so a value can never start a new log line, forge
//! a record or hide text from a terminal:
//!
//! - `\n`, `\r`, `\t` become the two characters `\n`, `\r`, `\t`;
//! - every other C0 control (U+0000..U+001F), DEL (U+007F), C1 control (U+0080..U+009F), the
//!   Unicode line and paragraph separators (U+2028, U+2029) and the bidirectional overrides and
//!   isolates (U+202A..U+202E, U+2066..U+2069) become `\u{XXXX}` with four hex digits.
//!
//! A backslash is kept as is: a value holding the two characters `\n` is stored unchanged, which is
//! ambiguous to read but cannot break a line. Text without such characters is returned without
//! allocating.

use std::fmt::Write as _;

/// Whether `c` must be escaped (see the module docs).
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `s` holds a character [`neutralize`] would escape. A byte scan: ASCII controls are
/// found directly, the multi-byte ones start with `0xC2` (C1) or `0xE2` (U+2028..U+2069).
pub fn has_control(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xe2) {
        return false;
    }
    s.chars().any(needs_escape)
}

/// Replaces control characters in `s` by visible escapes (see the module docs). Returns `s`
/// itself, without allocating, when there is nothing to escape.
pub fn neutralize(s: String) -> String {
    if !has_control(&s) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:04X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn line_breaks_become_visible_escapes() {
        let forged = "alice\r\n2025-01-01 auth_success user=admin".to_string();
        assert_eq!(neutralize(forged), "alice\\r\\n2025-01-01 auth_success user=admin");
        assert_eq!(neutralize("a\tb".into()), "a\\tb");
    }

    #[test]
    fn other_controls_use_unicode_escapes() {
        assert_eq!(neutralize("x\u{1b}[31my".into()), "x\\u{001B}[31my");
        assert_eq!(neutralize("a\u{0}b\u{7f}".into()), "a\\u{0000}b\\u{007F}");
        assert_eq!(neutralize("nel\u{85}".into()), "nel\\u{0085}");
        assert_eq!(neutralize("ls\u{2028}ps\u{2029}".into()), "ls\\u{2028}ps\\u{2029}");
        assert_eq!(neutralize("\u{202e}gpj.exe".into()), "\\u{202E}gpj.exe");
    }

    #[test]
    fn clean_text_is_kept_including_non_ascii() {
        for s in ["plain", "caf\u{e9} \u{2014} \u{1F600}", "\u{2030} per mille", "\u{a0}nbsp"] {
            assert_eq!(neutralize(s.to_string()), s);
            assert!(!has_control(s));
        }
    }

    proptest! {
        #[test]
        fn output_never_holds_a_control(s in any::<String>()) {
            let out = neutralize(s.clone());
            prop_assert!(!out.chars().any(needs_escape), "{:?}", out);
            prop_assert!(!out.contains('\n') && !out.contains('\r'));
            if !s.chars().any(needs_escape) {
                prop_assert_eq!(out, s);
            }
        }
    }
}
