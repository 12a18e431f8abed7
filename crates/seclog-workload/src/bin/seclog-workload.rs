//! `seclog-workload`: writes the seeded brute-force workload into a folder (see the library's
//! docs for what each file holds) and prints a one-line JSON summary.
//!
//! `cargo run --release -p seclog-workload -- -n 200000 --seed 42 --out /tmp/w`
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use seclog_workload::{generate, parse_start, write_to, Params};

/// Generate the brute-force workload: events.jsonl, auth.log, access.log and the exact set of
/// addresses that must be banned.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Total number of events.
    #[arg(short = 'n', long, default_value_t = 200_000)]
    events: usize,
    /// Distinct source addresses.
    #[arg(long, default_value_t = 20_000)]
    ips: usize,
    /// Fraction of the addresses that attack (exceed the threshold).
    #[arg(long, default_value_t = 0.05)]
    attacker_frac: f64,
    /// Seed of the random sequence.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Length of the time range, in seconds.
    #[arg(long, default_value_t = 21_600)]
    duration: i64,
    /// Start of the time range: RFC 3339 (UTC) or Unix seconds.
    #[arg(long, default_value = "2026-11-20T00:00:00Z")]
    start: String,
    /// The rule's threshold (failures).
    #[arg(long, default_value_t = 5)]
    threshold: usize,
    /// The rule's window, in seconds.
    #[arg(long, default_value_t = 300)]
    window: i64,
    /// Host name in auth.log.
    #[arg(long, default_value = "bastion")]
    host: String,
    /// Output folder (created if missing).
    #[arg(short, long)]
    out: PathBuf,
}

/// Keys of `meta.json` printed as the summary line.
const SUMMARY: [&str; 7] = [
    "events",
    "distinct_ips",
    "attacker_ips",
    "attack_events",
    "expected_banned",
    "start_epoch",
    "end_epoch",
];

fn run(a: &Args) -> Result<serde_json::Value, String> {
    let params = Params {
        events: a.events,
        ips: a.ips,
        attacker_frac: a.attacker_frac,
        seed: a.seed,
        duration: a.duration,
        start: parse_start(&a.start).map_err(|e| e.to_string())?,
        threshold: a.threshold,
        window: a.window,
        host: a.host.clone(),
    };
    let w = generate(&params).map_err(|e| e.to_string())?;
    let meta = write_to(&w, &a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    if w.expected.len() != w.attackers.len() {
        eprintln!(
            "seclog-workload: warning: the expected set ({}) differs from the constructed \
             attackers ({})",
            w.expected.len(),
            w.attackers.len()
        );
    }
    Ok(meta)
}

fn main() -> ExitCode {
    let a = Args::parse();
    match run(&a) {
        Ok(meta) => {
            let summary: serde_json::Map<String, serde_json::Value> =
                SUMMARY.iter().map(|k| (k.to_string(), meta[*k].clone())).collect();
            println!("{}", serde_json::Value::Object(summary));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seclog-workload: error: {e}");
            ExitCode::from(2)
        }
    }
}
