//! Detection quality on the labelled development corpus (`shared/corpora/dev/dev.tsv`).
//!
//! Fails when the corpus is missing, or when a quality target is not met:
//! TPR >= 99% on libinjection's SQLi and XSS rows, TPR >= 95% on CRS paranoia-level-1 attack rows
//! of each class, FPR <= 1% on benign rows.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use seclog_core::detect::{detect, AttackClass};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn corpus_path() -> PathBuf {
    if let Ok(dir) = std::env::var("SECLOG_CORPUS_DIR") {
        let p = PathBuf::from(dir);
        return if p.is_dir() { p.join("dev").join("dev.tsv") } else { p };
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora/dev/dev.tsv"))
}

struct Row {
    source: String,
    cls: String,
    pl1: bool,
    payload: String,
}

fn load() -> Vec<Row> {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "detection corpus not found at {} ({e}); set SECLOG_CORPUS_DIR to the corpora directory or dev.tsv",
            path.display()
        )
    });
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 8, "malformed corpus row: {line}");
        rows.push(Row {
            source: cols[0].to_string(),
            cls: cols[3].to_string(),
            pl1: cols[5].split_whitespace().any(|w| w == "PL1"),
            payload: unescape(cols[7]),
        });
    }
    assert!(rows.len() > 20_000, "corpus looks truncated: {} rows", rows.len());
    rows
}

/// The TSV escapes backslash, tab, CR and LF as `\\`, `\t`, `\r`, `\n`.
fn unescape(s: &str) -> String {
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

#[derive(Default)]
struct Rate {
    hit: usize,
    total: usize,
}

impl Rate {
    fn pct(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.hit as f64 / self.total as f64
        }
    }
}

#[test]
fn detection_quality_on_dev_corpus() {
    let rows = load();
    let classes = ["sqli", "xss", "path_traversal", "cmdi"];
    // confusion[(source, label)][detected class] = count
    let mut confusion: BTreeMap<(String, String), BTreeMap<&str, usize>> = BTreeMap::new();
    let mut totals: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut lib = BTreeMap::<&str, Rate>::new();
    let mut crs_pl1 = BTreeMap::<&str, Rate>::new();
    let mut benign = Rate::default();
    let mut benign_by_src = BTreeMap::<String, Rate>::new();
    let show = std::env::var("SECLOG_EVAL_SHOW").ok();
    for r in &rows {
        let found: Vec<AttackClass> = detect(&r.payload).into_iter().map(|f| f.class).collect();
        let key = (r.source.clone(), r.cls.clone());
        *totals.entry(key.clone()).or_default() += 1;
        let m = confusion.entry(key).or_default();
        for c in &found {
            *m.entry(c.as_str()).or_default() += 1;
        }
        if found.is_empty() {
            *m.entry("none").or_default() += 1;
        }
        let detected_own = found.iter().any(|c| c.as_str() == r.cls);
        if r.cls == "benign" {
            benign.total += 1;
            let b = benign_by_src.entry(r.source.clone()).or_default();
            b.total += 1;
            if !found.is_empty() {
                benign.hit += 1;
                b.hit += 1;
                if show.as_deref() == Some("fp") {
                    eprintln!("FP {:?}\t{}", found, r.payload);
                }
            }
            continue;
        }
        let cls = classes.iter().copied().find(|c| *c == r.cls).unwrap();
        let bucket = if r.source == "libinjection" {
            Some(lib.entry(cls).or_default())
        } else if r.pl1 {
            Some(crs_pl1.entry(cls).or_default())
        } else {
            None
        };
        if let Some(b) = bucket {
            b.total += 1;
            if detected_own {
                b.hit += 1;
            } else if show.as_deref() == Some(cls) {
                eprintln!("FN {}\t{}\t{}", r.source, cls, r.payload);
            }
        }
    }

    println!(
        "\nConfusion (rows by source/label; columns = classes reported, a row may report several):"
    );
    println!(
        "{:<28} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
        "source/label", "rows", "sqli", "xss", "path", "cmdi", "none"
    );
    for ((src, cls), m) in &confusion {
        let g = |k: &str| m.get(k).copied().unwrap_or(0);
        println!(
            "{:<28} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
            format!("{src}/{cls}"),
            totals[&(src.clone(), cls.clone())],
            g("sqli"),
            g("xss"),
            g("path_traversal"),
            g("cmdi"),
            g("none")
        );
    }
    let mut failures = Vec::new();
    println!("\nTrue-positive rates:");
    for (cls, r) in &lib {
        println!("  libinjection {cls:<15} {:>6}/{:<6} {:>6.2}%", r.hit, r.total, r.pct());
        if r.pct() < 99.0 {
            failures.push(format!("libinjection {cls} TPR {:.2}% < 99%", r.pct()));
        }
    }
    for cls in classes {
        let r = crs_pl1.get(cls).unwrap();
        println!("  CRS PL1 {cls:<20} {:>6}/{:<6} {:>6.2}%", r.hit, r.total, r.pct());
        if r.pct() < 95.0 {
            failures.push(format!("CRS PL1 {cls} TPR {:.2}% < 95%", r.pct()));
        }
    }
    println!(
        "False-positive rate on benign rows: {}/{} = {:.2}%",
        benign.hit,
        benign.total,
        benign.pct()
    );
    for (src, r) in &benign_by_src {
        println!("  benign from {src:<14} {:>4}/{:<4} {:>6.2}%", r.hit, r.total, r.pct());
    }
    if benign.pct() > 1.0 {
        failures.push(format!("benign FPR {:.2}% > 1%", benign.pct()));
    }
    assert!(lib.contains_key("sqli") && lib.contains_key("xss"), "corpus lacks libinjection rows");
    assert!(failures.is_empty(), "detection targets missed: {failures:#?}");
}
