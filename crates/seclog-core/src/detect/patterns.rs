//! Multi-pattern literal search (Aho-Corasick: one linear pass for a whole keyword list).

use aho_corasick::{AhoCorasick, AhoCorasickKind};

/// A set of literal byte patterns searched together.
pub(crate) struct PatternSet {
    pats: &'static [&'static [u8]],
    ac: Option<AhoCorasick>,
}

impl PatternSet {
    /// Build the automaton (falls back to a naive scan if it cannot be built).
    pub(crate) fn new(pats: &'static [&'static [u8]]) -> Self {
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .build(pats)
            .or_else(|_| AhoCorasick::new(pats))
            .ok();
        Self { pats, ac }
    }

    /// Call `f(pattern, start)` for every (overlapping) occurrence until it returns `true`;
    /// returns whether it did.
    pub(crate) fn any(&self, hay: &[u8], mut f: impl FnMut(&'static [u8], usize) -> bool) -> bool {
        match &self.ac {
            Some(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    let p = self.pats.get(m.pattern().as_usize()).copied().unwrap_or_default();
                    if f(p, m.start()) {
                        return true;
                    }
                }
                false
            }
            None => {
                for p in self.pats {
                    let mut from = 0;
                    while let Some(i) = super::sql_lex::find_seq(hay, from, p) {
                        if f(p, i) {
                            return true;
                        }
                        from = i + 1;
                    }
                }
                false
            }
        }
    }
}

/// The keyword lists searched on the normalised input, merged into one automaton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    /// Database catalogue names (SQLi).
    Catalog,
    /// Metadata functions (SQLi).
    Meta,
    /// Script sinks (XSS).
    Sink,
    /// Event handler names (XSS).
    Event,
    /// Sensitive files (path traversal).
    Sensitive,
    /// Shell syntax (command injection).
    Syntax,
}

/// One automaton over every list of [`Kw`], with the list each pattern came from.
struct Combined {
    ac: Option<AhoCorasick>,
    pats: Vec<(Kw, &'static [u8])>,
}

static COMBINED: std::sync::LazyLock<Combined> = std::sync::LazyLock::new(|| {
    let lists: [(Kw, &[&'static [u8]]); 5] = [
        (Kw::Catalog, super::sqli::CATALOGS),
        (Kw::Meta, super::sqli::META_FUNCS),
        (Kw::Sink, super::xss::SINKS),
        (Kw::Event, super::xss::EVENTS),
        (Kw::Sensitive, super::path::SENSITIVE),
    ];
    let mut pats: Vec<(Kw, &'static [u8])> =
        lists.iter().flat_map(|(k, l)| l.iter().map(move |p| (*k, *p))).collect();
    pats.extend(super::cmdi::PATTERNS.iter().map(|p| (Kw::Syntax, p.0)));
    let ac = AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .build(pats.iter().map(|p| p.1))
        .or_else(|_| AhoCorasick::new(pats.iter().map(|p| p.1)))
        .ok();
    Combined { ac, pats }
});

/// The keyword occurrences of one input, found by a single automaton pass on first use and
/// shared by every analyser.
pub(crate) struct KeywordScan<'a> {
    hay: &'a [u8],
    hits: std::cell::OnceCell<Vec<(Kw, &'static [u8], usize)>>,
}

impl<'a> KeywordScan<'a> {
    /// A scan of `hay` (nothing is searched until the first query).
    pub(crate) fn new(hay: &'a [u8]) -> Self {
        Self { hay, hits: std::cell::OnceCell::new() }
    }

    fn hits(&self) -> &[(Kw, &'static [u8], usize)] {
        self.hits.get_or_init(|| {
            let c = &*COMBINED;
            let mut out = Vec::new();
            match &c.ac {
                Some(ac) => {
                    for m in ac.find_overlapping_iter(self.hay) {
                        if let Some(&(k, p)) = c.pats.get(m.pattern().as_usize()) {
                            out.push((k, p, m.start()));
                        }
                    }
                }
                None => {
                    for &(k, p) in &c.pats {
                        let mut from = 0;
                        while let Some(i) = super::sql_lex::find_seq(self.hay, from, p) {
                            out.push((k, p, i));
                            from = i + 1;
                        }
                    }
                }
            }
            out
        })
    }

    /// Like [`PatternSet::any`] for the patterns of list `kw`.
    pub(crate) fn any(&self, kw: Kw, mut f: impl FnMut(&'static [u8], usize) -> bool) -> bool {
        self.hits().iter().any(|&(k, p, start)| k == kw && f(p, start))
    }
}

/// FNV-1a hasher.
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
