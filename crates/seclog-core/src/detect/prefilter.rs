//! One-scan prefilter: which bytes occur in the normalised input, so that each analyser (and each
//! keyword automaton) runs only when the bytes it needs to fire are present.
//!
//! Every gate mirrors a necessary condition of the analyser it guards; `tests.rs` checks by
//! property test that the gated detector reports exactly what the ungated one does.

/// Bit set of byte kinds present in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Features(u64);

pub(crate) const WS: u64 = 1;
pub(crate) const QUOTE: u64 = 1 << 1;
pub(crate) const LT: u64 = 1 << 2;
pub(crate) const GT: u64 = 1 << 3;
pub(crate) const EQ: u64 = 1 << 4;
pub(crate) const COLON: u64 = 1 << 5;
pub(crate) const DOT: u64 = 1 << 6;
pub(crate) const SLASH: u64 = 1 << 7;
pub(crate) const PAREN: u64 = 1 << 8;
pub(crate) const SEP: u64 = 1 << 9;
pub(crate) const DOLLAR: u64 = 1 << 10;
pub(crate) const DASH: u64 = 1 << 11;
pub(crate) const UNDERSCORE: u64 = 1 << 12;
pub(crate) const PCT: u64 = 1 << 13;
pub(crate) const SQL_PUNCT: u64 = 1 << 14;
pub(crate) const SHELL_ARG: u64 = 1 << 15;
pub(crate) const AT: u64 = 1 << 16;
pub(crate) const OTHER: u64 = 1 << 17;
// Single bytes (the classes above group several).
pub(crate) const BACKSLASH: u64 = 1 << 18;
pub(crate) const BRACE: u64 = 1 << 19;
pub(crate) const TILDE: u64 = 1 << 20;
pub(crate) const BANG: u64 = 1 << 21;
pub(crate) const HASH: u64 = 1 << 22;
pub(crate) const BACKTICK: u64 = 1 << 23;
pub(crate) const BRACKET: u64 = 1 << 24;
/// A byte >= 0x80.
pub(crate) const HIGH: u64 = 1 << 25;
pub(crate) const RPAREN: u64 = 1 << 26;
pub(crate) const CLOSE_BRACE: u64 = 1 << 27;
pub(crate) const LPAREN: u64 = 1 << 28;
/// A control byte other than the blanks (`\t`, `\n`, `\r`, VT, FF).
pub(crate) const CTRL: u64 = 1 << 29;
pub(crate) const DIGIT: u64 = 1 << 30;
pub(crate) const STAR: u64 = 1 << 31;

const fn kind(b: u8) -> u64 {
    match b {
        b'a'..=b'z' => 0,
        b'0'..=b'9' => DIGIT,
        b' ' | b'\t' | 0x0b | 0x0c => WS,
        b'\n' | b'\r' => WS | SEP,
        b'\'' | b'"' => QUOTE | SQL_PUNCT,
        b'`' => QUOTE | SEP | SQL_PUNCT | BACKTICK,
        b'<' => LT | SQL_PUNCT | SHELL_ARG,
        b'>' => GT | SQL_PUNCT | SHELL_ARG,
        b'=' => EQ | SQL_PUNCT,
        b':' => COLON | SQL_PUNCT,
        b'.' => DOT,
        b'/' => SLASH | SQL_PUNCT | SHELL_ARG,
        b'\\' => SLASH | SQL_PUNCT | SHELL_ARG | BACKSLASH,
        b'(' => PAREN | SEP | SQL_PUNCT | LPAREN,
        b')' => PAREN | SEP | SQL_PUNCT | RPAREN,
        b'{' => SEP | SQL_PUNCT | SHELL_ARG | BRACE,
        b'}' => SEP | SQL_PUNCT | SHELL_ARG | CLOSE_BRACE,
        b';' | b'|' | b'&' => SEP | SQL_PUNCT,
        b'$' => DOLLAR | SHELL_ARG,
        b'-' => DASH | SQL_PUNCT | SHELL_ARG,
        b'_' => UNDERSCORE,
        b'%' => PCT | SQL_PUNCT | SHELL_ARG,
        b'~' => SQL_PUNCT | SHELL_ARG | TILDE,
        b'*' => SQL_PUNCT | SHELL_ARG | STAR,
        b'@' => AT,
        b'!' => SQL_PUNCT | OTHER | BANG,
        b'#' => SQL_PUNCT | OTHER | HASH,
        b'[' | b']' => SQL_PUNCT | OTHER | BRACKET,
        b',' | b'+' | b'^' | b'?' => SQL_PUNCT | OTHER,
        0x80..=0xff => OTHER | SQL_PUNCT | HIGH,
        0..=0x1f | 0x7f => OTHER | SQL_PUNCT | CTRL,
        _ => OTHER | SQL_PUNCT,
    }
}

static TABLE: [u64; 256] = {
    let mut t = [0u64; 256];
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
        let mut m = 0u64;
        for &b in s {
            m |= TABLE[usize::from(b)];
        }
        Self(m)
    }

    /// Every feature set: disables all gates.
    pub(crate) fn all() -> Self {
        Self(u64::MAX)
    }

    /// No gate at all ([`Features::all`]): gates that look further than the byte kinds (a word
    /// before a slash, a pair of bytes) are skipped too, so that the property tests comparing
    /// gated and ungated analysis check them.
    pub(crate) fn is_all(self) -> bool {
        self.0 == u64::MAX
    }

    /// Any of the bits in `mask` present?
    pub(crate) fn any(self, mask: u64) -> bool {
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
}
