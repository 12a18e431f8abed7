//! Input normalisation: undo the encodings attackers use to slip past pattern matching.
//!
//! Every pass is a single left-to-right scan whose output is never longer than its input, and the
//! number of decoding rounds is bounded by [`MAX_ROUNDS`], so normalisation is linear in the input.

/// Maximum number of full decoding rounds (URL, HTML entities, backslash escapes).
pub const MAX_ROUNDS: u8 = 4;

/// The result of [`normalise`]: lower-cased, decoded bytes plus what the decoding revealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    /// Decoded, ASCII-lower-cased bytes with NUL bytes removed. Never longer than the input.
    pub bytes: Vec<u8>,
    /// The input (after decoding) contained a NUL byte.
    pub null_byte: bool,
    /// Overlong UTF-8 sequences (e.g. `%c0%ae`) were decoded.
    pub overlong: bool,
    /// Number of decoding rounds that changed the text (2 or more means double encoding).
    pub rounds: u8,
}

impl Normalized {
    /// The normalised text, with any invalid UTF-8 replaced by U+FFFD.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// Normalise `input`: repeated URL decoding (`%XX`, `%uXXXX`, `+` as space), HTML entities
/// (named and numeric), `\uXXXX` / `\xHH` escapes, overlong UTF-8, full-width forms, NUL removal
/// and ASCII case folding.
pub fn normalise(input: &str) -> Normalized {
    let mut out = Normalized::default();
    let bytes = input.as_bytes();
    // Fast path: nothing decodes, no NUL and no full-width lead byte — one lower-casing copy.
    if !bytes.iter().any(|&b| SPECIAL[usize::from(b)])
        || (!bytes.iter().any(|&b| b == 0 || b == 0xef) && !decodes(bytes, true))
    {
        let mut v = bytes.to_vec();
        v.make_ascii_lowercase();
        out.bytes = v;
        return out;
    }
    let mut cur: Vec<u8> = bytes.to_vec();
    let mut plus_as_space = true;
    for _ in 0..MAX_ROUNDS {
        if !decodes(&cur, plus_as_space) {
            break;
        }
        let mut next = url_decode(&cur, plus_as_space);
        plus_as_space = false;
        next = entity_decode(&next);
        next = escape_decode(&next);
        if fix_overlong(&mut next) {
            out.overlong = true;
        }
        if next == cur {
            break;
        }
        out.rounds = out.rounds.saturating_add(1);
        cur = next;
    }
    finish(&mut cur, &mut out);
    out.bytes = cur;
    out
}

/// Bytes that start a decoding (`%`, `+`, `&`, `\\`, overlong UTF-8 lead bytes).
static DECODE_START: [bool; 256] = {
    let mut t = [false; 256];
    t[b'%' as usize] = true;
    t[b'+' as usize] = true;
    t[b'&' as usize] = true;
    t[b'\\' as usize] = true;
    t[0xc0] = true;
    t[0xc1] = true;
    t[0xe0] = true;
    t
};

/// [`DECODE_START`] plus NUL and the full-width lead byte (the bytes the fast path excludes).
static SPECIAL: [bool; 256] = {
    let mut t = DECODE_START;
    t[0] = true;
    t[0xef] = true;
    t
};

/// Would a decoding round change `s`? True when it holds a `%XX` / `%uXXXX` escape, a `+`
/// (first round only), an HTML entity, a `\uXXXX` / `\xHH` escape or an overlong UTF-8 lead
/// byte. (A `&` that starts no entity, as in a query string, decodes nothing.) Every byte that
/// can start a decoding is checked, so a `false` means the round would return `s` unchanged.
fn decodes(s: &[u8], plus_as_space: bool) -> bool {
    let mut i = 0;
    while let Some(p) =
        s.get(i..).and_then(|r| r.iter().position(|&b| DECODE_START[usize::from(b)]))
    {
        i += p;
        let b = s.get(i).copied().unwrap_or(0);
        let hit = match b {
            b'%' => {
                hex_n(s, i + 1, 2).is_some()
                    || (matches!(s.get(i + 1), Some(b'u' | b'U')) && hex_n(s, i + 2, 4).is_some())
            }
            b'+' => plus_as_space,
            b'&' => parse_entity(s, i + 1).is_some(),
            b'\\' => match s.get(i + 1) {
                Some(b'u' | b'U') => hex_n(s, i + 2, 4).is_some(),
                Some(b'x' | b'X') => hex_n(s, i + 2, 2).is_some(),
                _ => false,
            },
            0xc0 | 0xc1 | 0xe0 => true,
            _ => false,
        };
        if hit {
            return true;
        }
        i += 1;
    }
    false
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parse `n` hex digits at `s[at..]`.
fn hex_n(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let digits = s.get(at..at.checked_add(n)?)?;
    let mut v: u32 = 0;
    for &d in digits {
        v = (v << 4) | u32::from(hex_val(d)?);
    }
    Some(v)
}

fn push_char(out: &mut Vec<u8>, cp: u32) {
    let c = char::from_u32(cp).unwrap_or('\u{fffd}');
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn url_decode(s: &[u8], plus_as_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            if let Some(v) = hex_n(s, i + 1, 2) {
                out.push(v as u8);
                i += 3;
                continue;
            }
            if matches!(s.get(i + 1), Some(b'u' | b'U')) {
                if let Some(v) = hex_n(s, i + 2, 4) {
                    push_char(&mut out, v);
                    i += 6;
                    continue;
                }
            }
        } else if b == b'+' && plus_as_space {
            out.push(b' ');
            i += 1;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

const NAMED_ENTITIES: &[(&[u8], u8)] = &[
    (b"lt", b'<'),
    (b"gt", b'>'),
    (b"quot", b'"'),
    (b"apos", b'\''),
    (b"amp", b'&'),
    (b"nbsp", b' '),
    (b"colon", b':'),
    (b"tab", b'\t'),
    (b"newline", b'\n'),
    (b"lpar", b'('),
    (b"rpar", b')'),
    (b"sol", b'/'),
    (b"bsol", b'\\'),
    (b"period", b'.'),
    (b"semi", b';'),
    (b"equals", b'='),
    (b"grave", b'`'),
    (b"num", b'#'),
    (b"excl", b'!'),
    (b"plus", b'+'),
    (b"comma", b','),
    (b"dollar", b'$'),
    (b"lsqb", b'['),
    (b"rsqb", b']'),
    (b"lcub", b'{'),
    (b"rcub", b'}'),
    (b"vert", b'|'),
];

fn entity_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'&' {
            if let Some((bytes_used, cp)) = parse_entity(s, i + 1) {
                push_char(&mut out, cp);
                i += 1 + bytes_used;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Parse an entity body after `&`; returns (bytes consumed, code point).
fn parse_entity(s: &[u8], start: usize) -> Option<(usize, u32)> {
    let rest = s.get(start..)?;
    if rest.first() == Some(&b'#') {
        let (radix, mut j) = match rest.get(1) {
            Some(b'x' | b'X') => (16u32, 2),
            _ => (10u32, 1),
        };
        let digits_start = j;
        let mut v: u32 = 0;
        while let Some(&d) = rest.get(j) {
            let dv = match radix {
                16 => hex_val(d).map(u32::from),
                _ => d.is_ascii_digit().then(|| u32::from(d - b'0')),
            };
            let Some(dv) = dv else { break };
            v = v.saturating_mul(radix).saturating_add(dv).min(0x11_0000);
            j += 1;
            if j - digits_start > 10 {
                break;
            }
        }
        if j == digits_start {
            return None;
        }
        if rest.get(j) == Some(&b';') {
            j += 1;
        }
        return Some((j, v));
    }
    let first = rest.first()?.to_ascii_lowercase();
    for (name, val) in NAMED_ENTITIES {
        if name.first() != Some(&first) {
            continue;
        }
        if rest.len() >= name.len() && rest.get(..name.len())?.eq_ignore_ascii_case(name) {
            let mut used = name.len();
            if rest.get(used) == Some(&b';') {
                used += 1;
            } else if rest.get(used).is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            return Some((used, u32::from(*val)));
        }
    }
    None
}

fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'\\' {
            match s.get(i + 1) {
                Some(b'u' | b'U') => {
                    if let Some(v) = hex_n(s, i + 2, 4) {
                        push_char(&mut out, v);
                        i += 6;
                        continue;
                    }
                }
                Some(b'x' | b'X') => {
                    if let Some(v) = hex_n(s, i + 2, 2) {
                        out.push(v as u8);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Decode overlong UTF-8 encodings of ASCII (`C0 AE` -> `.`); returns whether any was found.
fn fix_overlong(s: &mut Vec<u8>) -> bool {
    if !s.iter().any(|&b| b == 0xc0 || b == 0xc1 || b == 0xe0) {
        return false;
    }
    let mut found = false;
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        let b1 = s.get(i + 1).copied().unwrap_or(0);
        if (b == 0xc0 || b == 0xc1) && (0x80..0xc0).contains(&b1) {
            out.push(((b & 0x1f) << 6) | (b1 & 0x3f));
            found = true;
            i += 2;
            continue;
        }
        let b2 = s.get(i + 2).copied().unwrap_or(0);
        if b == 0xe0 && (0x80..0xa0).contains(&b1) && (0x80..0xc0).contains(&b2) {
            let cp = (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f);
            push_char(&mut out, cp);
            found = true;
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    *s = out;
    found
}

/// Final pass: drop NUL bytes, fold full-width ASCII forms (U+FF01..U+FF5E), lower-case ASCII.
fn finish(s: &mut Vec<u8>, out: &mut Normalized) {
    // Fast path: plain ASCII without NUL is lower-cased in place.
    if !s.iter().any(|&b| b == 0 || b == 0xef) {
        s.make_ascii_lowercase();
        return;
    }
    let mut w = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == 0 {
            out.null_byte = true;
            i += 1;
            continue;
        }
        // Full-width forms: EF BC 81..BF = U+FF01..U+FF3F, EF BD 80..9E = U+FF40..U+FF5E.
        if b == 0xef {
            let b1 = s.get(i + 1).copied().unwrap_or(0);
            let b2 = s.get(i + 2).copied().unwrap_or(0);
            let ascii = match (b1, b2) {
                (0xbc, 0x81..=0xbf) => Some(b2 - 0x80 + 0x20),
                (0xbd, 0x80..=0x9e) => Some(b2 - 0x80 + 0x60),
                _ => None,
            };
            if let Some(a) = ascii {
                w.push(a.to_ascii_lowercase());
                i += 3;
                continue;
            }
        }
        w.push(b.to_ascii_lowercase());
        i += 1;
    }
    *s = w;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalise(s).text().into_owned()
    }

    #[test]
    fn decodes_common_encodings() {
        assert_eq!(n("%3Cscript%3E"), "<script>");
        assert_eq!(n("%253Cscript%253E"), "<script>");
        assert_eq!(n("%u003cscript"), "<script");
        assert_eq!(n("a+b"), "a b");
        assert_eq!(n("&lt;img&gt;&#60;&#x3C;&#0000060"), "<img><<<");
        assert_eq!(n("\\u003c\\x3c"), "<<");
        assert_eq!(n("%c0%ae%c0%ae%c0%af"), "../");
        assert_eq!(n("UNION"), "union");
        assert_eq!(n("\u{ff1c}script\u{ff1e}"), "<script>");
    }

    #[test]
    fn flags_null_and_overlong() {
        let r = normalise("a%00b");
        assert!(r.null_byte);
        assert_eq!(r.text(), "ab");
        assert!(normalise("%c0%ae").overlong);
        assert_eq!(normalise("%2527").rounds, 2);
    }

    /// The normaliser as it was before rounds were skipped: every round runs until the text
    /// stops changing.
    fn reference(input: &str) -> Normalized {
        let mut out = Normalized::default();
        let mut cur: Vec<u8> = input.as_bytes().to_vec();
        let mut plus_as_space = true;
        for _ in 0..MAX_ROUNDS {
            let mut next = url_decode(&cur, plus_as_space);
            plus_as_space = false;
            next = entity_decode(&next);
            next = escape_decode(&next);
            if fix_overlong(&mut next) {
                out.overlong = true;
            }
            if next == cur {
                break;
            }
            out.rounds = out.rounds.saturating_add(1);
            cur = next;
        }
        finish(&mut cur, &mut out);
        out.bytes = cur;
        out
    }

    proptest::proptest! {
        /// Skipping a round that decodes nothing changes no result.
        #[test]
        fn skipping_rounds_changes_nothing(s in "([%&#;+\\\\ux0-9a-fA-FltgqouamsNLT]|\\PC){0,40}") {
            proptest::prop_assert_eq!(normalise(&s), reference(&s));
        }
    }

    #[test]
    fn leaves_plain_text_alone() {
        assert_eq!(n("hello world 100%"), "hello world 100%");
        assert_eq!(n("AT&T"), "at&t");
    }
}
