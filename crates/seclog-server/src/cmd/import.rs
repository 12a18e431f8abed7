//! `seclog import`: JSON-lines events through the full engine.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use seclog::{EventInput, LogError, SecurityLogger};

/// How many rejected lines are listed one by one before only counting.
const MAX_LISTED: u64 = 50;

pub(crate) fn run(logger: &SecurityLogger, file: &Path, quiet: bool) -> anyhow::Result<ExitCode> {
    let (reader, total_bytes): (Box<dyn Read>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        let f = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let bar = progress(quiet, total_bytes);
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let (mut imported, mut rejected, mut line_no) = (0u64, 0u64, 0u64);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).context("reading input")?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bar.inc(n as u64);
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let outcome =
            serde_json::from_str::<EventInput>(text).map_err(|e| e.to_string()).and_then(|input| {
                match logger.log_event(input) {
                    Ok(_) => Ok(()),
                    Err(LogError::Invalid(v)) => Err(v.to_string()),
                    Err(other) => Err(format!("not stored: {other}")),
                }
            });
        match outcome {
            Ok(()) => imported += 1,
            Err(reason) => {
                rejected += 1;
                if rejected <= MAX_LISTED {
                    bar.suspend(|| eprintln!("line {line_no}: {reason}"));
                }
            }
        }
    }
    logger.flush().context("committing the imported events")?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if rejected > MAX_LISTED {
        eprintln!("... and {} more rejected lines", rejected - MAX_LISTED);
    }
    eprintln!(
        "imported {imported} events, rejected {rejected} lines, in {secs:.2} s ({:.0} events/s)",
        imported as f64 / secs.max(1e-9)
    );
    Ok(if rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn progress(quiet: bool, total: Option<u64>) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total.unwrap_or(0));
    let style = if total.is_some() {
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})")
    } else {
        ProgressStyle::with_template("{spinner} {bytes} read ({bytes_per_sec})")
    };
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar
}
