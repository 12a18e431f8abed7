//! Detection quality on the labelled development corpus (`testdata/corpora/dev/dev.tsv`).
//!
//! libinjection rows are single inputs. CRS rows are evaluated the way the detector is deployed:
//! each row is joined to its full request in `crs-regression/crs_930_932_941_942_tests.jsonl`
//! and a row counts as "detected as class C" when C is reported on ANY input of the request
//! (see `eval_support/request.rs`); benign CRS rows go through exactly the same method.
//!
//! False positives (`docs/detection.md`, "Counting false positives"): a CRS negative only says
//! that one rule must not fire, so it counts as a false positive when the detector reports the
//! class of its rule group (930 path traversal, 932 command injection, 941 XSS, 942 SQLi); a
//! libinjection `false_positives.txt` row counts when any class is reported. A CRS negative
//! whose identical request (the same inputs) the CRS suite expects a rule of the same group to
//! flag is an attack by the suite's own labels and is not counted as benign. The rates of the
//! labels read literally (any class, every benign row) are printed beside it.
//!
//! Two tests share one evaluation:
//! - `issue_targets_per_class` (runs in CI) prints the confusion matrices and rates and fails
//!   when a class falls below the issue's target on the dev set — TPR >= 99% on libinjection's
//!   SQLi and XSS rows, >= 95% on the CRS paranoia-level-1 attack rows of each class — or below
//!   its regression floor, or when the false-positive rate rises above its ceiling;
//! - `benign_fpr_target` asserts the issue's false-positive target, FPR <= 1% on the benign
//!   rows.
//!
//! Both fail with a clear message when the corpus is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "eval_support/request.rs"]
mod request;

use seclog_core::detect::detect;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

// REGRESSION FLOORS: the rates the detector achieves today, rounded down by about half a point
// (never below the issue's target). They may only go UP as the detector improves; never lower
// them to make a change pass.
/// Floor for the libinjection SQLi true-positive rate, in percent.
const FLOOR_LIB_SQLI: f64 = 99.0;
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
/// Ceiling for the counted false-positive rate, in percent (may only go DOWN; the target is
/// [`TARGET_FPR`]).
const CEILING_FPR: f64 = 1.0;

/// The issue's targets.
const TARGET_LIB_TPR: f64 = 99.0;
const TARGET_CRS_PL1_TPR: f64 = 95.0;
const TARGET_FPR: f64 = 1.0;

fn corpus_path() -> PathBuf {
    if let Ok(dir) = std::env::var("SECLOG_CORPUS_DIR") {
        let p = PathBuf::from(dir);
        return if p.is_dir() { p.join("dev").join("dev.tsv") } else { p };
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/corpora/dev/dev.tsv"))
}

struct Row {
    source: String,
    file: String,
    line: String,
    cls: String,
    pl1: bool,
    /// CRS negative that the corpus notes as "negative for one rule only" (often still an attack).
    rule_only: bool,
    /// CRS negative that the corpus relabelled as an attack of its group's class (the CRS
    /// request file still says "benign": only the rule under test must not fire).
    relabelled: bool,
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
            relabelled: cols[5].split_whitespace().any(|w| w == "relabelled_attack"),
            payload: unescape(cols[7]),
        });
    }
    assert!(rows.len() > 20_000, "corpus looks truncated: {} rows", rows.len());
    rows
}

#[path = "eval_support/tsv.rs"]
mod tsv;
use tsv::unescape;

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

/// The class a CRS rule group tests: 930 path traversal, 932 command injection, 941 XSS,
/// 942 SQL injection (from the test file path `REQUEST-942-...`).
fn group_class(file: &str) -> &'static str {
    match file.get(8..11) {
        Some("930") => "path_traversal",
        Some("932") => "cmdi",
        Some("941") => "xss",
        Some("942") => "sqli",
        _ => panic!("unknown CRS rule group in {file}"),
    }
}

/// Rates computed over the whole corpus.
struct Eval {
    /// libinjection TPR per class (`sqli`, `xss`).
    lib: BTreeMap<&'static str, Rate>,
    /// CRS paranoia-level-1 TPR per class.
    crs_pl1: BTreeMap<&'static str, Rate>,
    /// Benign rows as defined in `docs/detection.md`: a CRS negative is a false positive when
    /// the class of its rule group is reported, a libinjection false-positive row when any
    /// class is; CRS negatives whose identical request the CRS suite expects a rule of the
    /// same group to flag are not counted (contradicted labels).
    benign: Rate,
}

/// One corpus row with the inputs the detector examines for it.
struct Case<'a> {
    row: &'a Row,
    inputs: Vec<String>,
}

/// The inputs of every row: libinjection rows are one input, CRS rows their whole request.
fn cases<'a>(
    rows: &'a [Row],
    requests: &HashMap<(String, String), Vec<Value>>,
    uas: &HashMap<(String, String, usize), String>,
) -> Vec<Case<'a>> {
    let mut stage_seen: HashMap<(String, String), usize> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let inputs: Vec<String> = if r.source == "crs" {
            let key = (r.file.clone(), r.line.clone());
            let stage = stage_seen.entry(key.clone()).or_default();
            let req = requests
                .get(&key)
                .and_then(|s| s.get(*stage))
                .unwrap_or_else(|| panic!("CRS row {}:{} has no request", r.file, r.line));
            let ua = uas.get(&(r.file.clone(), r.line.clone(), *stage)).map(String::as_str);
            *stage += 1;
            let expected_benign = req["expected"].as_str() == Some("benign");
            let benign_in_crs = r.cls == "benign" || r.relabelled;
            assert_eq!(expected_benign, benign_in_crs, "label mismatch {}:{}", r.file, r.line);
            request::request_inputs(req, ua)
        } else {
            vec![r.payload.clone()]
        };
        out.push(Case { row: r, inputs });
    }
    out
}

/// The request as the detector sees it: its inputs, sorted.
fn request_key(inputs: &[String]) -> Vec<String> {
    let mut k = inputs.to_vec();
    k.sort();
    k.dedup();
    k
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
    let cases = cases(&rows, &requests, &uas);
    let crs_rows = cases.iter().filter(|c| c.row.source == "crs").count();
    assert!(crs_rows > 2000, "corpus lacks CRS rows");
    let jsonl_rows: usize = requests.values().map(Vec::len).sum();
    // The two jsonl tests whose expectation is neither attack nor benign are not in dev.tsv.
    assert_eq!(jsonl_rows - crs_rows, 2, "unexpected number of unjoined CRS requests");
    // Classes the CRS suite expects on each request (from its attack tests).
    let mut attack_classes: HashMap<Vec<String>, BTreeSet<&'static str>> = HashMap::new();
    let mut negative_classes: HashMap<Vec<String>, BTreeSet<&'static str>> = HashMap::new();
    for c in cases.iter().filter(|c| c.row.source == "crs") {
        let map = if c.row.cls == "benign" { &mut negative_classes } else { &mut attack_classes };
        map.entry(request_key(&c.inputs)).or_default().insert(group_class(&c.row.file));
    }
    // The same contradiction seen from the attack side: attack rows whose identical request is
    // a negative of the same group. They stay attacks (a rule of the group must fire); the
    // count is printed to show which measured rows take part.
    let twins = |pl1: bool| {
        cases
            .iter()
            .filter(|c| c.row.source == "crs" && c.row.cls != "benign" && c.row.pl1 == pl1)
            .filter(|c| {
                negative_classes
                    .get(&request_key(&c.inputs))
                    .is_some_and(|n| n.contains(group_class(&c.row.file)))
            })
            .count()
    };
    let (twins_pl1, twins_other) = (twins(true), twins(false));

    let mut matrix = Matrix::new();
    let mut matrix_pl1 = Matrix::new();
    let mut lib = BTreeMap::<&str, Rate>::new();
    let mut crs_pl1 = BTreeMap::<&str, Rate>::new();
    let mut crs_pl1_payload_only = BTreeMap::<&str, Rate>::new();
    // Benign rows: any class reported (the labels read literally), the class of the rule group
    // reported (all negatives), and the counted measure (contradicted negatives left out).
    let mut benign_any = Rate::default();
    let mut benign_class = Rate::default();
    let mut benign = Rate::default();
    let mut contradicted = Rate::default();
    let mut benign_by_src = BTreeMap::<String, Rate>::new();
    let show = std::env::var("SECLOG_EVAL_SHOW").ok();
    for c in &cases {
        let (r, inputs) = (c.row, &c.inputs);
        let found = classes_of(inputs);
        count(&mut matrix, format!("{}/{}", r.source, r.cls), &found);
        if r.source == "crs" && r.pl1 {
            count(&mut matrix_pl1, format!("crs-pl1/{}", r.cls), &found);
        }
        if r.cls == "benign" {
            let own = (r.source == "crs").then(|| group_class(&r.file));
            let fp = match own {
                Some(cls) => found.contains(cls),
                None => !found.is_empty(),
            };
            let contra = own.is_some_and(|cls| {
                attack_classes.get(&request_key(inputs)).is_some_and(|a| a.contains(cls))
            });
            benign_any.total += 1;
            benign_any.hit += usize::from(!found.is_empty());
            benign_class.total += 1;
            benign_class.hit += usize::from(fp);
            if contra {
                contradicted.total += 1;
                contradicted.hit += usize::from(fp);
            } else {
                benign.total += 1;
                benign.hit += usize::from(fp);
                let b = benign_by_src.entry(r.source.clone()).or_default();
                b.total += 1;
                b.hit += usize::from(fp);
            }
            let listed = match show.as_deref() {
                Some("fp" | "all") => fp && !contra,
                Some("fp-all") => !found.is_empty(),
                Some("contradicted") => contra,
                _ => false,
            };
            if listed {
                let tag = if contra {
                    "contradicted"
                } else if fp {
                    "fp"
                } else {
                    "other-class"
                };
                let rule = if r.rule_only { " rule-only" } else { "" };
                // The rules that fired, with the input they fired on.
                let rules: Vec<String> = inputs
                    .iter()
                    .flat_map(|i| detect(i).into_iter().map(move |f| (i, f)))
                    .filter(|(_, f)| own.is_none_or(|c| c == f.class.as_str()))
                    .map(|(i, f)| format!("{} on {i:?}", f.rule))
                    .collect();
                eprintln!("FP {tag}{rule} {found:?}\t{}:{}\t{rules:?}", r.file, r.line);
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
        "False-positive rate on benign rows (counted: CRS negatives by their group's class, \
         contradicted ones left out): {}/{} = {:.2}%",
        benign.hit,
        benign.total,
        benign.pct()
    );
    for (src, r) in &benign_by_src {
        println!("  benign from {src:<14} {:>4}/{:<4} {:>6.2}%", r.hit, r.total, r.pct());
    }
    println!(
        "  CRS negatives whose identical request the suite expects a same-group rule to flag \
         (not counted): {} rows, {} reported as that class",
        contradicted.total, contradicted.hit
    );
    println!(
        "  attack rows with a same-group negative twin: {twins_pl1} at PL1, {twins_other} at PL2-4"
    );
    println!(
        "  all benign rows, group class: {}/{} = {:.2}%; all benign rows, any class: {}/{} = \
         {:.2}%",
        benign_class.hit,
        benign_class.total,
        benign_class.pct(),
        benign_any.hit,
        benign_any.total,
        benign_any.pct()
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

/// The issue's target for every class (and the regression floors above them, and the FPR
/// ceiling): fails in CI when a class falls below its target on the dev set.
#[test]
fn issue_targets_per_class() {
    let e = evaluate();
    let targets = [
        TARGET_LIB_TPR,
        TARGET_LIB_TPR,
        TARGET_CRS_PL1_TPR,
        TARGET_CRS_PL1_TPR,
        TARGET_CRS_PL1_TPR,
        TARGET_CRS_PL1_TPR,
        CEILING_FPR,
    ];
    let floors = [
        FLOOR_LIB_SQLI,
        FLOOR_LIB_XSS,
        FLOOR_CRS_SQLI,
        FLOOR_CRS_XSS,
        FLOOR_CRS_PATH,
        FLOOR_CRS_CMDI,
        CEILING_FPR,
    ];
    let mut failures = report("Issue targets per class (FPR: ceiling)", &checks(&e, targets));
    failures.extend(report("Regression floors (must only go up)", &checks(&e, floors)));
    assert!(failures.is_empty(), "detection quality below target or floor: {failures:#?}");
}

/// The issue's false-positive target (`docs/detection.md` lists every remaining false positive).
#[test]
fn benign_fpr_target() {
    let e = evaluate();
    let fpr = Check {
        name: "benign FPR".into(),
        pct: e.benign.pct(),
        bound: TARGET_FPR,
        higher_is_better: false,
    };
    let failures = report("Issue target for benign rows", &[fpr]);
    assert!(failures.is_empty(), "false-positive target missed: {failures:#?}");
}
