//! One-scan prefilter: which bytes occur in the normalised input, so that each analyser (and each
//! keyword automaton) runs only when the bytes it needs to fire are present.
//!
//! Every gate mirrors a necessary condition of the analyser it guards; `tests.rs` checks by
//! property test that the gated detector reports exactly what the ungated one does.

/// Bit set of byte kinds present in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Features(u32);

pub(crate) const WS: u32 = 1;
pub(crate) const QUOTE: u32 = 1 << 1;
pub(crate) const LT: u32 = 1 << 2;
pub(crate) const GT: u32 = 1 << 3;
pub(crate) const EQ: u32 = 1 << 4;
pub(crate) const COLON: u32 = 1 << 5;
pub(crate) const DOT: u32 = 1 << 6;
pub(crate) const SLASH: u32 = 1 << 7;
pub(crate) const PAREN: u32 = 1 << 8;
pub(crate) const SEP: u32 = 1 << 9;
pub(crate) const DOLLAR: u32 = 1 << 10;
pub(crate) const DASH: u32 = 1 << 11;
pub(crate) const UNDERSCORE: u32 = 1 << 12;
pub(crate) const PCT: u32 = 1 << 13;
pub(crate) const SQL_PUNCT: u32 = 1 << 14;
pub(crate) const SHELL_ARG: u32 = 1 << 15;
pub(crate) const AT: u32 = 1 << 16;
pub(crate) const OTHER: u32 = 1 << 17;

const fn kind(b: u8) -> u32 {
    match b {
        b'a'..=b'z' | b'0'..=b'9' => 0,
        b' ' | b'\t' | 0x0b | 0x0c => WS,
        b'\n' | b'\r' => WS | SEP,
        b'\'' | b'"' => QUOTE | SQL_PUNCT,
        b'`' => QUOTE | SEP | SQL_PUNCT,
        b'<' => LT | SQL_PUNCT | SHELL_ARG,
        b'>' => GT | SQL_PUNCT | SHELL_ARG,
        b'=' => EQ | SQL_PUNCT,
        b':' => COLON | SQL_PUNCT,
        b'.' => DOT,
        b'/' | b'\\' => SLASH | SQL_PUNCT | SHELL_ARG,
        b'(' | b')' => PAREN | SEP | SQL_PUNCT,
        b'{' | b'}' => SEP | SQL_PUNCT | SHELL_ARG,
        b';' | b'|' | b'&' => SEP | SQL_PUNCT,
        b'$' => DOLLAR | SHELL_ARG,
        b'-' => DASH | SQL_PUNCT | SHELL_ARG,
        b'_' => UNDERSCORE,
        b'%' => PCT | SQL_PUNCT | SHELL_ARG,
        b'~' | b'*' => SQL_PUNCT | SHELL_ARG,
        b'@' => AT,
        b'#' | b'!' | b',' | b'+' | b'^' | b'[' | b']' | b'?' => SQL_PUNCT | OTHER,
        _ => OTHER | SQL_PUNCT,
    }
}

static TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = kind(i as u8);
        i += 1;
    }
    t
};

impl Features {
    /// Scan `s` once.
    pub(crate) fn of(s: &[u8]) -> Self {
        let mut m = 0u32;
        for &b in s {
            m |= TABLE[usize::from(b)];
        }
        Self(m)
    }

    /// Every feature set: disables all gates.
    pub(crate) fn all() -> Self {
        Self(u32::MAX)
    }

    /// Any of the bits in `mask` present?
    pub(crate) fn any(self, mask: u32) -> bool {
        self.0 & mask != 0
    }

    /// Every byte is a letter, digit or one of `. _ @ $` (one SQL token: no SQL rule can fire
    /// except the catalogue keyword probe).
    pub(crate) fn sql_single_token(self) -> bool {
        !self.any(WS | SQL_PUNCT | OTHER)
    }

    /// The XSS analyser needs `<` (tags), `=` (attributes), `:` (URL schemes), `.`/`(`/`-`
    /// (script sinks, CSS expressions, UTF-7), a back-quote (tagged templates), `[`/`!` or a
    /// high byte (JSFuck, computed access, high-bit ASCII, all classed `OTHER`).
    pub(crate) fn may_be_xss(self) -> bool {
        self.any(LT | EQ | COLON | DOT | PAREN | DASH | QUOTE | OTHER)
    }

    /// Path traversal needs a dot or a slash.
    pub(crate) fn may_be_path(self) -> bool {
        self.any(DOT | SLASH | OTHER)
    }

    /// Command injection beyond a cmd.exe `if` at the start needs a separator, a substitution
    /// or a shell-like argument.
    pub(crate) fn may_be_cmdi(self) -> bool {
        self.any(SEP | DOLLAR | SHELL_ARG | DOT | SLASH | QUOTE | OTHER)
    }
}
