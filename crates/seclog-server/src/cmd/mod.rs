//! Subcommands.

use std::process::ExitCode;

use anyhow::Context;
use seclog::{Config, SecurityLogger};

use crate::cli::{Cli, Command};

mod alerts;
pub(crate) mod decisions;
mod detect;
mod import;
mod query;
mod serve;
mod stats;

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Import { ref file, quiet } => import::run(&open(&cli)?, file, quiet),
        Command::Query(ref args) => query::run(&open(&cli)?, args),
        Command::Stats { format } => stats::run(&open(&cli)?, format),
        Command::Detect => detect::run(),
        Command::Decisions(ref args) => decisions::run(&open(&cli)?, args),
        Command::Ips { blocked, limit, format } => {
            decisions::ips(&open(&cli)?, blocked, limit, format)
        }
        Command::Alerts(ref args) => alerts::run(&open(&cli)?, args),
        Command::Serve(ref args) => serve::serve(open(&cli)?, args),
        Command::Keys { ref action } => serve::keys(&open(&cli)?, action),
        Command::Rules { format } => decisions::rules(&config(&cli)?, format),
    }
}

/// Loads the configuration (file, then environment) with `--db` applied.
pub(crate) fn config(cli: &Cli) -> anyhow::Result<Config> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    // --db (or SECLOG_DB) names the database unless the config file set one and --db was
    // left at its default.
    if cli.config.is_none() || cli.db.as_os_str() != "seclog.db" {
        cfg.db_file = cli.db.clone();
    }
    Ok(cfg)
}

/// Opens the logger on the configured database.
pub(crate) fn open(cli: &Cli) -> anyhow::Result<SecurityLogger> {
    let cfg = config(cli)?;
    let db = cfg.db_file.display().to_string();
    SecurityLogger::new(cfg).with_context(|| format!("cannot open the database {db}"))
}
