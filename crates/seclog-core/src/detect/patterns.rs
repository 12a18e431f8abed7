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
