//! The attack detector over request input: query parameters, form and JSON bodies.

use seclog_core::detect::{detect, Finding};

use super::query::percent_decode;

/// What the detector found in one request's input.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The most confident finding.
    pub(crate) best: Option<Finding>,
    /// `class:rule` of every finding (rule names only, never the input).
    pub(crate) indicators: Vec<String>,
}

/// The longest prefix of `s` of at most `limit` bytes that ends on a character boundary.
pub(crate) fn str_prefix(s: &str, limit: usize) -> &str {
    let mut end = s.len().min(limit);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

impl Scan {
    /// Runs the detector on one input.
    pub(crate) fn text(&mut self, input: &str) {
        if input.is_empty() {
            return;
        }
        for f in detect(input) {
            self.indicators.push(format!("{}:{}", f.class.as_str(), f.rule));
            if self.best.as_ref().is_none_or(|b| f.confidence > b.confidence) {
                self.best = Some(f);
            }
        }
    }

    /// Runs the detector on each decoded value of `a=1&b=2` (a query string or a form body).
    pub(crate) fn pairs(&mut self, encoded: &str) {
        for pair in encoded.split('&') {
            let value = pair.split_once('=').map_or(pair, |(_, v)| v);
            self.text(&percent_decode(value));
        }
    }

    /// Runs the detector on every string of a JSON document, keys included; on the raw text
    /// when it is not valid JSON (or was cut at the size limit: `complete` is false).
    pub(crate) fn json(&mut self, bytes: &[u8], complete: bool) {
        let parsed = if complete { serde_json::from_slice(bytes).ok() } else { None };
        match parsed {
            Some(value) => self.json_value(&value),
            None => self.text(&String::from_utf8_lossy(bytes)),
        }
    }

    fn json_value(&mut self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => self.text(s),
            Value::Array(items) => items.iter().for_each(|v| self.json_value(v)),
            Value::Object(map) => {
                for (k, v) in map {
                    self.text(k);
                    self.json_value(v);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_keys_and_raw_fallback() {
        let mut s = Scan::default();
        s.json(br#"{"name":"bob","tags":["a",{"x":"<script>alert(1)</script>"}],"n":1}"#, true);
        assert!(s.best.is_some(), "nested value");
        let mut s = Scan::default();
        s.json(br#"{"' OR '1'='1' --":true}"#, true);
        assert!(s.best.is_some(), "key");
        let mut s = Scan::default();
        s.json(br#"{"q": "1' UNION SELECT password FROM users --", "rest": "#, false);
        assert!(s.best.is_some(), "cut document: raw text");
        let mut s = Scan::default();
        s.json(br#"{"name":"bob","age":42,"ok":true,"tags":["blue","shoes"]}"#, true);
        assert!(s.best.is_none() && s.indicators.is_empty());
    }

    #[test]
    fn pairs_decode_values() {
        let mut s = Scan::default();
        s.pairs("a=1&q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
        assert!(s.best.is_some());
        let mut s = Scan::default();
        s.pairs("a=1&q=blue+shoes&");
        assert!(s.best.is_none());
    }

    #[test]
    fn prefixes_end_on_char_boundaries() {
        assert_eq!(str_prefix("aé", 2), "a");
        assert_eq!(str_prefix("aé", 3), "aé");
        assert_eq!(str_prefix("abc", 0), "");
    }
}
