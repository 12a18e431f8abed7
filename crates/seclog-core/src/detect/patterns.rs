//! Multi-pattern literal search (Aho-Corasick: one linear pass for a whole keyword list).
//!
//! The automaton is the `aho-corasick` crate's DFA, driven by a plain loop over the bytes
//! (`Automaton::next_state`): for these short inputs the crate's overlapping-match iterator
//! spends more on its bookkeeping than on the transitions.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::Anchored;

/// A DFA over `pats` (standard semantics: every occurrence is reported, overlapping ones too).
fn build_dfa(pats: &[&[u8]]) -> Option<DFA> {
    DFA::builder().prefilter(false).build(pats).ok()
}

/// Call `f(pattern index, start)` for every (overlapping) occurrence in `hay`, in order of
/// their end, until it returns `true`; returns whether it did. Without an automaton (it could
/// not be built) every pattern is searched on its own.
fn scan(
    dfa: Option<&DFA>,
    pats: &[&[u8]],
    hay: &[u8],
    mut f: impl FnMut(usize, usize) -> bool,
) -> bool {
    let Some(dfa) = dfa else {
        for (k, p) in pats.iter().enumerate() {
            let mut from = 0;
            while let Some(i) = super::sql_lex::find_seq(hay, from, p) {
                if f(k, i) {
                    return true;
                }
                from = i + 1;
            }
        }
        return false;
    };
    let Ok(mut sid) = dfa.start_state(Anchored::No) else { return false };
    for (i, &b) in hay.iter().enumerate() {
        sid = dfa.next_state(Anchored::No, sid, b);
        if dfa.is_special(sid) && dfa.is_match(sid) {
            for m in 0..dfa.match_len(sid) {
                let k = dfa.match_pattern(sid, m).as_usize();
                let len = pats.get(k).map_or(0, |p| p.len());
                if f(k, (i + 1).saturating_sub(len)) {
                    return true;
                }
            }
        }
    }
    false
}

/// A set of literal byte patterns searched together.
pub(crate) struct PatternSet {
    pats: &'static [&'static [u8]],
    dfa: Option<DFA>,
}

impl PatternSet {
    /// Build the automaton (falls back to a naive scan if it cannot be built).
    pub(crate) fn new(pats: &'static [&'static [u8]]) -> Self {
        Self { pats, dfa: build_dfa(pats) }
    }

    /// Call `f(pattern, start)` for every (overlapping) occurrence until it returns `true`;
    /// returns whether it did.
    pub(crate) fn any(&self, hay: &[u8], mut f: impl FnMut(&'static [u8], usize) -> bool) -> bool {
        let pats = self.pats;
        scan(self.dfa.as_ref(), pats, hay, |k, start| {
            f(pats.get(k).copied().unwrap_or_default(), start)
        })
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
    dfa: Option<DFA>,
    pats: Vec<(Kw, &'static [u8])>,
    bytes: Vec<&'static [u8]>,
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
    let bytes: Vec<&'static [u8]> = pats.iter().map(|p| p.1).collect();
    Combined { dfa: build_dfa(&bytes), pats, bytes }
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
            scan(c.dfa.as_ref(), &c.bytes, self.hay, |k, start| {
                if let Some(&(kw, p)) = c.pats.get(k) {
                    out.push((kw, p, start));
                }
                false
            });
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
