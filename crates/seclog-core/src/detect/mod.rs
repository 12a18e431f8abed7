//! Attack-pattern detection: SQL injection, XSS, path traversal and command injection.
//!
//! Input is first normalised ([`normalise`]: repeated URL decoding, HTML entities, escapes,
//! overlong UTF-8, case folding), then each class has its own hand-written tokeniser/analyser:
//! a libinjection-style SQL lexer run in three quoting contexts, an HTML tag/attribute scanner,
//! path-segment analysis and a shell-token analyser. No backtracking regular expressions are used;
//! all passes are linear in the (bounded) input length.

mod cmd_windows;
mod cmd_words;
mod cmdi;
mod js;
mod normalize;
mod path;
mod patterns;
mod prefilter;
mod restricted;
mod sql_extra;
mod sql_gate;
mod sql_lex;
mod sql_shapes;
mod sqli;
mod xss;
mod xss_extra;

pub use normalize::{normalise, Normalized, MAX_ROUNDS};

use crate::event_type::EventType;

/// The class of attack a [`Finding`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttackClass {
    /// SQL injection.
    Sqli,
    /// Cross-site scripting.
    Xss,
    /// Path traversal / local file inclusion.
    PathTraversal,
    /// OS command injection.
    Cmdi,
}

impl AttackClass {
    /// All classes, in a stable order.
    pub const ALL: [AttackClass; 4] = [Self::Sqli, Self::Xss, Self::PathTraversal, Self::Cmdi];

    /// Stable lower-case name: `sqli`, `xss`, `path_traversal`, `cmdi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqli => "sqli",
            Self::Xss => "xss",
            Self::PathTraversal => "path_traversal",
            Self::Cmdi => "cmdi",
        }
    }

    /// The security event type to log for this class.
    pub fn event_type(self) -> EventType {
        match self {
            Self::Sqli => EventType::SqlInjectionAttempt,
            Self::Xss => EventType::XssAttempt,
            Self::PathTraversal => EventType::PathTraversalAttempt,
            Self::Cmdi => EventType::CommandInjectionAttempt,
        }
    }
}

impl std::fmt::Display for AttackClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One detected attack pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Attack class.
    pub class: AttackClass,
    /// Identifier of the rule that fired, e.g. `sqli.union_select`.
    pub rule: &'static str,
    /// Confidence in `0.0..=1.0`.
    pub confidence: f32,
    /// The input exceeded [`Detector::max_input_len`] and only a prefix was examined.
    pub oversized: bool,
}

/// Anything that can classify an input string into attack findings.
pub trait AttackDetector {
    /// Return the findings for `input` (empty when nothing suspicious was found).
    fn detect(&self, input: &str) -> Vec<Finding>;
}

/// Default [`Detector::max_input_len`]: 64 KiB.
pub const DEFAULT_MAX_INPUT_LEN: usize = 64 * 1024;

/// The built-in detector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detector {
    /// Inputs longer than this many bytes are classified on their prefix only, and every finding
    /// is flagged `oversized`.
    pub max_input_len: usize,
}

impl Default for Detector {
    fn default() -> Self {
        Self { max_input_len: DEFAULT_MAX_INPUT_LEN }
    }
}

impl Detector {
    /// A detector that examines at most `max_input_len` bytes of each input.
    pub fn new(max_input_len: usize) -> Self {
        Self { max_input_len }
    }

    /// Classify an already-normalised input. `raw` is the original text (for encoding evidence).
    pub fn detect_normalized(&self, n: &Normalized, raw: &str) -> Vec<Finding> {
        analyse(n, raw, true)
    }
}

type Hit = (&'static str, f32);

/// Run the four analysers; with `gated`, skip those whose necessary bytes are absent.
pub(crate) fn analyse(n: &Normalized, raw: &str, gated: bool) -> Vec<Finding> {
    let s = n.bytes.as_slice();
    let f = if gated { prefilter::Features::of(s) } else { prefilter::Features::all() };
    let mut out = Vec::new();
    let mut push = |class, hit: Option<(&'static str, f32)>| {
        if let Some((rule, confidence)) = hit {
            out.push(Finding { class, rule, confidence, oversized: false });
        }
    };
    let kw = patterns::KeywordScan::new(s);
    push(AttackClass::Sqli, sqli::detect_sqli(s, f, &kw));
    if f.may_be_xss() {
        push(AttackClass::Xss, xss::detect_xss(s, f, &kw));
    }
    // A restricted file name (configuration, key, backup, dump, log) is read through a path
    // and, when it is an executable configuration, overwritten by an upload.
    let restricted = if f.any(prefilter::DOT) { restricted::restricted_file(s) } else { None };
    let stronger = |a: Option<Hit>, b: Option<Hit>| match (a, b) {
        (Some(x), Some(y)) => Some(if y.1 > x.1 { y } else { x }),
        (x, y) => x.or(y),
    };
    let path_hit = path::detect_path(n, raw, f, &kw);
    push(AttackClass::PathTraversal, stronger(path_hit, restricted.map(|r| r.read)));
    let cmdi_hit = cmdi::detect_cmdi(s, f, &kw);
    push(AttackClass::Cmdi, stronger(cmdi_hit, restricted.and_then(|r| r.upload)));
    out
}

impl AttackDetector for Detector {
    fn detect(&self, input: &str) -> Vec<Finding> {
        let oversized = input.len() > self.max_input_len;
        let text = if oversized { prefix(input, self.max_input_len) } else { input };
        let n = normalise(text);
        let mut findings = self.detect_normalized(&n, text);
        if oversized {
            for f in &mut findings {
                f.oversized = true;
            }
        }
        findings
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Detect attack patterns in `input` with the default [`Detector`].
pub fn detect(input: &str) -> Vec<Finding> {
    Detector::default().detect(input)
}

#[cfg(test)]
mod tests;
