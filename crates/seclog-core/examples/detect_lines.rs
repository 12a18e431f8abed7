//! Print the findings for each line read from standard input (a development aid).
#![allow(missing_docs)]

use seclog_core::detect::{detect, normalise};
use std::io::BufRead;

fn main() {
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let n = normalise(&line);
        println!("{line}\n  normalised: {}\n  findings: {:?}", n.text(), detect(&line));
    }
}
