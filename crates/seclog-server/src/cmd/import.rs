//! `seclog import`: JSON-lines events through the full engine.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::backend::Backend;

/// How many rejected lines are listed one by one before only counting.
const MAX_LISTED: u64 = 50;

/// Lines sent to the backend at once (one HTTP batch in remote mode).
const CHUNK: usize = 1000;

pub(crate) fn run(backend: &dyn Backend, file: &Path, quiet: bool) -> anyhow::Result<ExitCode> {
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
    let mut counts = Counts::default();
    let mut line_no = 0u64;
    let mut chunk: Vec<(u64, String)> = Vec::with_capacity(CHUNK);
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).context("reading input")?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bar.inc(n as u64);
        if line.trim().is_empty() {
            continue;
        }
        chunk.push((line_no, line));
        if chunk.len() >= CHUNK {
            send(backend, &mut chunk, &mut counts, &bar)?;
        }
    }
    send(backend, &mut chunk, &mut counts, &bar)?;
    let refused = backend.finish_ingest().context("committing the imported events")?;
    counts.imported = counts.imported.saturating_sub(refused);
    counts.rejected += refused;
    if refused > 0 {
        eprintln!("{refused} accepted events were refused by the store (duplicate event_id?)");
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let Counts { imported, rejected } = counts;
    if rejected > MAX_LISTED {
        eprintln!("... and {} more rejected lines", rejected - MAX_LISTED);
    }
    eprintln!(
        "imported {imported} events, rejected {rejected} lines, in {secs:.2} s ({:.0} events/s)",
        imported as f64 / secs.max(1e-9)
    );
    Ok(if rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[derive(Default)]
struct Counts {
    imported: u64,
    rejected: u64,
}

/// Sends the chunk and reports its rejected lines.
fn send(
    backend: &dyn Backend,
    chunk: &mut Vec<(u64, String)>,
    counts: &mut Counts,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let items: Vec<&str> = chunk.iter().map(|(_, l)| l.trim()).collect();
    let results = backend.ingest(&items).context("importing events")?;
    for ((line_no, _), result) in chunk.iter().zip(results) {
        match result {
            None => counts.imported += 1,
            Some(reason) => {
                counts.rejected += 1;
                if counts.rejected <= MAX_LISTED {
                    bar.suspend(|| eprintln!("line {line_no}: {reason}"));
                }
            }
        }
    }
    chunk.clear();
    Ok(())
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
