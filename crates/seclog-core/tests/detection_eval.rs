//! Detection quality on the labelled development corpus (`shared/corpora/dev/dev.tsv`).
//!
//! libinjection rows are single inputs. CRS rows are evaluated the way the detector is deployed:
//! each row is joined to its full request in `crs-regression/crs_930_932_941_942_tests.jsonl`
//! and a row counts as "detected as class C" when C is reported on ANY input of the request
//! (see `eval_support/request.rs`); benign CRS rows go through exactly the same method.
//!
//! Two tests share one evaluation:
//! - `detection_quality_on_dev_corpus` prints the confusion matrices and rates and asserts the
//!   REGRESSION FLOORS below (what the detector achieves today, rounded down);
//! - `issue_targets` (`#[ignore]`, run with `-- --ignored`) asserts the issue's quality targets:
//!   TPR >= 99% on libinjection's SQLi and XSS rows, TPR >= 95% on CRS paranoia-level-1 attack rows
//!   of each class, FPR <= 1% on benign rows.
//!
//! Both fail with a clear message when the corpus is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "eval_support/request.rs"]
mod request;

use seclog_core::detect::detect;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

// REGRESSION FLOORS, not the targets: the rates the detector achieves today, rounded down by about
// half a point. They may only go UP as the detector improves; never lower them to make a change
// pass. The issue's targets are asserted by the ignored `issue_targets` test.
/// Floor for the libinjection SQLi true-positive rate, in percent.
const FLOOR_LIB_SQLI: f64 = 98.7;
/// Floor for the libinjection XSS true-positive rate, in percent.
const FLOOR_LIB_XSS: f64 = 99.3;
/// Floor for the CRS paranoia-level-1 SQLi true-positive rate, in percent.
const FLOOR_CRS_SQLI: f64 = 97.6;
/// Floor for the CRS paranoia-level-1 XSS true-positive rate, in percent.
const FLOOR_CRS_XSS: f64 = 95.2;
/// Floor for the CRS paranoia-level-1 path traversal true-positive rate, in percent.
const FLOOR_CRS_PATH: f64 = 95.9;
/// Floor for the CRS paranoia-level-1 command injection true-positive rate, in percent.
const FLOOR_CRS_CMDI: f64 = 97.1;
/// Ceiling for the false-positive rate on all benign rows, in percent (may only go DOWN).
const CEILING_FPR: f64 = 6.2;

/// The issue's targets (asserted by `issue_targets`).
const TARGET_LIB_TPR: f64 = 99.0;
const TARGET_CRS_PL1_TPR: f64 = 95.0;
const TARGET_FPR: f64 = 1.0;

fn corpus_path() -> PathBuf {
    if let Ok(dir) = std::env::var("SECLOG_CORPUS_DIR") {
        let p = PathBuf::from(dir);
        return if p.is_dir() { p.join("dev").join("dev.tsv") } else { p };
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora/dev/dev.tsv"))
}

struct Row {
    source: String,
    file: String,
    line: String,
    cls: String,
    pl1: bool,
    /// CRS negative that the corpus notes as "negative for one rule only" (often still an attack).
    rule_only: bool,
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
            file: cols[1].to_string(),
            line: cols[2].to_string(),
            cls: cols[3].to_string(),
            pl1: cols[5].split_whitespace().any(|w| w == "PL1"),
            rule_only: cols[5].split_whitespace().any(|w| w == "negative_for_rule_only"),
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

/// CRS requests keyed by (file, test id), stages in order.
fn load_requests(tsv: &Path) -> HashMap<(String, String), Vec<Value>> {
    let path = tsv.parent().unwrap().join("crs-regression/crs_930_932_941_942_tests.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("CRS request file not found at {} ({e})", path.display()));
    let mut map: HashMap<(String, String), Vec<Value>> = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).expect("valid jsonl row");
        let key = (v["file"].as_str().unwrap().to_string(), v["test_id"].to_string());
        map.entry(key).or_default().push(v);
    }
    for stages in map.values_mut() {
        stages.sort_by_key(|v| v["stage"].as_u64().unwrap_or(0));
    }
    map
}

fn classes_of(inputs: &[String]) -> BTreeSet<&'static str> {
    inputs.iter().flat_map(|i| detect(i)).map(|f| f.class.as_str()).collect()
}

const CLASSES: [&str; 4] = ["sqli", "xss", "path_traversal", "cmdi"];

type Matrix = BTreeMap<String, (usize, BTreeMap<&'static str, usize>)>;

fn print_matrix(title: &str, m: &Matrix) {
    println!(
        "\n{title} (rows = true class, columns = classes reported; a row may report several):"
    );
    println!(
        "{:<28} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
        "source/label", "rows", "sqli", "xss", "path", "cmdi", "none"
    );
    for (k, (n, cols)) in m {
        let g = |c: &str| cols.get(c).copied().unwrap_or(0);
        println!(
            "{:<28} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
            k,
            n,
            g("sqli"),
            g("xss"),
            g("path_traversal"),
            g("cmdi"),
            g("none")
        );
    }
}

fn count(m: &mut Matrix, key: String, found: &BTreeSet<&'static str>) {
    let e = m.entry(key).or_default();
    e.0 += 1;
    for c in found {
        *e.1.entry(c).or_default() += 1;
    }
    if found.is_empty() {
        *e.1.entry("none").or_default() += 1;
    }
}

/// Rates computed over the whole corpus.
struct Eval {
    /// libinjection TPR per class (`sqli`, `xss`).
    lib: BTreeMap<&'static str, Rate>,
    /// CRS paranoia-level-1 TPR per class.
    crs_pl1: BTreeMap<&'static str, Rate>,
    /// All benign rows.
    benign: Rate,
}

/// Runs the detector over the corpus, prints the matrices and rates, and returns the rates.
fn evaluate() -> Eval {
    let rows = load();
    let requests = load_requests(&corpus_path());
    let uas =
        request::yaml_user_agents(&corpus_path().parent().unwrap().join("crs-regression/tests"));
    assert!(
        uas.len() > 2000,
        "CRS YAML tests not found beside the jsonl ({} User-Agents)",
        uas.len()
    );
    let mut matrix = Matrix::new();
    let mut matrix_pl1 = Matrix::new();
    let mut lib = BTreeMap::<&str, Rate>::new();
    let mut crs_pl1 = BTreeMap::<&str, Rate>::new();
    let mut crs_pl1_payload_only = BTreeMap::<&str, Rate>::new();
    let mut benign = Rate::default();
    let mut benign_rule_only = Rate::default();
    let mut benign_by_src = BTreeMap::<String, Rate>::new();
    let mut stage_seen: HashMap<(String, String), usize> = HashMap::new();
    let mut crs_rows = 0;
    let mut joined = 0;
    let show = std::env::var("SECLOG_EVAL_SHOW").ok();
    for r in &rows {
        let inputs: Vec<String> = if r.source == "crs" {
            crs_rows += 1;
            let key = (r.file.clone(), r.line.clone());
            let stage = stage_seen.entry(key.clone()).or_default();
            let req = requests
                .get(&key)
                .and_then(|s| s.get(*stage))
                .unwrap_or_else(|| panic!("CRS row {}:{} has no request", r.file, r.line));
            let ua = uas.get(&(r.file.clone(), r.line.clone(), *stage)).map(String::as_str);
            *stage += 1;
            let expected_benign = req["expected"].as_str() == Some("benign");
            assert_eq!(expected_benign, r.cls == "benign", "label mismatch {}:{}", r.file, r.line);
            joined += 1;
            request::request_inputs(req, ua)
        } else {
            vec![r.payload.clone()]
        };
        let found = classes_of(&inputs);
        count(&mut matrix, format!("{}/{}", r.source, r.cls), &found);
        if r.source == "crs" && r.pl1 {
            count(&mut matrix_pl1, format!("crs-pl1/{}", r.cls), &found);
        }
        if r.cls == "benign" {
            benign.total += 1;
            benign_rule_only.total += usize::from(r.rule_only);
            let b = benign_by_src.entry(r.source.clone()).or_default();
            b.total += 1;
            if !found.is_empty() {
                benign.hit += 1;
                b.hit += 1;
                benign_rule_only.hit += usize::from(r.rule_only);
                if matches!(show.as_deref(), Some("fp" | "all")) {
                    let tag = if r.rule_only { "rule-only" } else { "fp" };
                    eprintln!("FP {tag} {found:?}\t{}:{}\t{inputs:?}", r.file, r.line);
                }
            }
            continue;
        }
        let cls = CLASSES.iter().copied().find(|c| *c == r.cls).unwrap();
        let detected_own = found.contains(cls);
        if r.source == "libinjection" {
            let b = lib.entry(cls).or_default();
            b.total += 1;
            b.hit += usize::from(detected_own);
        } else if r.pl1 {
            let b = crs_pl1.entry(cls).or_default();
            b.total += 1;
            b.hit += usize::from(detected_own);
            let p = crs_pl1_payload_only.entry(cls).or_default();
            p.total += 1;
            p.hit += usize::from(classes_of(std::slice::from_ref(&r.payload)).contains(cls));
        } else {
            continue;
        }
        if !detected_own && (show.as_deref() == Some(cls) || show.as_deref() == Some("all")) {
            eprintln!("FN {}\t{}:{}\t{inputs:?}", r.source, r.file, r.line);
        }
    }
    assert!(crs_rows > 2000, "corpus lacks CRS rows");
    assert_eq!(joined, crs_rows, "every CRS row must join to its request");
    let jsonl_rows: usize = requests.values().map(Vec::len).sum();
    // The two jsonl tests whose expectation is neither attack nor benign are not in dev.tsv.
    assert_eq!(jsonl_rows - crs_rows, 2, "unexpected number of unjoined CRS requests");

    print_matrix("Confusion, all rows", &matrix);
    print_matrix("Confusion, CRS paranoia level 1", &matrix_pl1);
    println!("\nTrue-positive rates:");
    for (cls, r) in &lib {
        println!("  libinjection {cls:<15} {:>6}/{:<6} {:>6.2}%", r.hit, r.total, r.pct());
    }
    for cls in CLASSES {
        let r = crs_pl1.get(cls).unwrap();
        let p = crs_pl1_payload_only.get(cls).unwrap();
        println!(
            "  CRS PL1 {cls:<20} {:>6}/{:<6} {:>6.2}%   (payload column only: {:.2}%)",
            r.hit,
            r.total,
            r.pct(),
            p.pct()
        );
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
    println!(
        "  of which CRS `negative_for_rule_only` rows (negatives for one rule, often attacks): \
         {}/{} fire",
        benign_rule_only.hit, benign_rule_only.total
    );
    assert!(lib.contains_key("sqli") && lib.contains_key("xss"), "corpus lacks libinjection rows");
    for cls in CLASSES {
        assert!(crs_pl1.contains_key(cls), "corpus lacks CRS PL1 {cls} rows");
    }
    Eval { lib, crs_pl1, benign }
}

/// One checked rate: name, achieved percent, bound, and whether a higher value is better.
struct Check {
    name: String,
    pct: f64,
    bound: f64,
    higher_is_better: bool,
}

impl Check {
    fn met(&self) -> bool {
        if self.higher_is_better {
            self.pct >= self.bound
        } else {
            self.pct <= self.bound
        }
    }
}

/// The seven measured rates against the given bounds (lib sqli, lib xss, CRS sqli, xss, path,
/// cmdi, FPR).
fn checks(e: &Eval, bounds: [f64; 7]) -> Vec<Check> {
    let tpr =
        |name: String, r: &Rate, bound| Check { name, pct: r.pct(), bound, higher_is_better: true };
    let mut v = vec![
        tpr("libinjection sqli TPR".into(), &e.lib["sqli"], bounds[0]),
        tpr("libinjection xss TPR".into(), &e.lib["xss"], bounds[1]),
    ];
    for (i, cls) in CLASSES.iter().enumerate() {
        v.push(tpr(format!("CRS PL1 {cls} TPR"), &e.crs_pl1[cls], bounds[2 + i]));
    }
    v.push(Check {
        name: "benign FPR".into(),
        pct: e.benign.pct(),
        bound: bounds[6],
        higher_is_better: false,
    });
    v
}

fn report(title: &str, checks: &[Check]) -> Vec<String> {
    println!("\n{title}:");
    let mut failures = Vec::new();
    for c in checks {
        let op = if c.higher_is_better { ">=" } else { "<=" };
        let status = if c.met() { "met" } else { "NOT met" };
        println!("  {:<28} {:>6.2}% {op} {:>5.2}%  {status}", c.name, c.pct, c.bound);
        if !c.met() {
            failures.push(format!("{} {:.2}% (must be {op} {:.2}%)", c.name, c.pct, c.bound));
        }
    }
    failures
}

/// Computes the matrix and asserts the regression floors (not the issue's targets).
#[test]
fn detection_quality_on_dev_corpus() {
    let e = evaluate();
    let floors = [
        FLOOR_LIB_SQLI,
        FLOOR_LIB_XSS,
        FLOOR_CRS_SQLI,
        FLOOR_CRS_XSS,
        FLOOR_CRS_PATH,
        FLOOR_CRS_CMDI,
        CEILING_FPR,
    ];
    let failures = report("Regression floors (must only go up)", &checks(&e, floors));
    assert!(failures.is_empty(), "detection quality regressed below its floors: {failures:#?}");
}

/// The issue's targets; ignored until they are met (`cargo test ... -- --ignored`).
#[test]
#[ignore = "the issue's quality targets are not all met yet; run with -- --ignored"]
fn issue_targets() {
    let e = evaluate();
    let targets = [
        TARGET_LIB_TPR,
        TARGET_LIB_TPR,
        TARGET_CRS_PL1_TPR,
        TARGET_CRS_PL1_TPR,
        TARGET_CRS_PL1_TPR,
        TARGET_CRS_PL1_TPR,
        TARGET_FPR,
    ];
    let failures = report("Issue targets", &checks(&e, targets));
    assert!(failures.is_empty(), "detection targets missed: {failures:#?}");
}
