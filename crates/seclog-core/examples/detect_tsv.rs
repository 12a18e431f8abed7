//! Print the findings (class:rule) for the payload of every row of a corpus TSV such as
//! `testdata/corpora/dev/dev.tsv` (a development aid: diff two runs to see what a change moved).
//!
//! Usage: `detect_tsv <file.tsv>`; the payload is the last column, with `\\`, `\t`, `\r`, `\n`
//! escapes.
#![allow(missing_docs)]

use seclog_core::detect::detect;

#[path = "../tests/eval_support/tsv.rs"]
mod tsv;
use tsv::unescape;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: detect_tsv <file.tsv>");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    for (n, line) in text.lines().enumerate().skip(1) {
        let payload = unescape(line.rsplit('\t').next().unwrap_or_default());
        let found: Vec<String> =
            detect(&payload).iter().map(|f| format!("{}:{}", f.class, f.rule)).collect();
        println!("{n}\t{}", found.join(","));
    }
}
