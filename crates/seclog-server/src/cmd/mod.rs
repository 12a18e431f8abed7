//! Subcommands.

use std::process::ExitCode;

use anyhow::Context;
use seclog::{Config, SecurityLogger};

use crate::backend::{Backend, Local, Remote};
use crate::cli::{Cli, Command};

mod alerts;
mod backup;
pub(crate) mod decisions;
mod detect;
mod export;
mod import;
pub(crate) mod purge;
mod query;
mod serve;
mod stats;
mod tail;

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Import { ref file, quiet } => import::run(&*backend(&cli)?, file, quiet),
        Command::Query(ref args) => query::run(&*backend(&cli)?, args),
        Command::Stats { format } => stats::run(&*backend(&cli)?, format),
        Command::Detect => detect::run(),
        Command::Decisions(ref args) => decisions::run(&*backend(&cli)?, args),
        Command::Ips { blocked, limit, format } => {
            decisions::ips(&*backend(&cli)?, blocked, limit, format)
        }
        Command::Alerts(ref args) => alerts::run(&*backend(&cli)?, args),
        Command::Export(ref args) => export::run(&*backend(&cli)?, args),
        Command::Tail(ref args) => tail::run(&*backend(&cli)?, args),
        Command::Purge { ref before } => purge::run(&*backend(&cli)?, before),
        Command::Serve(ref args) => serve::serve(open(&cli)?, args),
        Command::Keys { ref action } => serve::keys(&open(&cli)?, action),
        Command::Backup { ref dest } => backup::run(&cli, dest),
        Command::Rules { format } => match remote(&cli)? {
            Some(r) => decisions::rules(&r.rules()?, format),
            None => decisions::rules(&config(&cli)?.effective_rules()?, format),
        },
    }
}

/// The server named by `--server`, if any.
fn remote(cli: &Cli) -> anyhow::Result<Option<Remote>> {
    match &cli.server {
        Some(url) if !url.is_empty() => Ok(Some(Remote::new(
            url,
            cli.api_key.as_deref().unwrap_or_default(),
            cli.ca_cert.as_deref(),
        )?)),
        _ => Ok(None),
    }
}

/// The server (`--server`) or else the local database.
fn backend(cli: &Cli) -> anyhow::Result<Box<dyn Backend>> {
    Ok(match remote(cli)? {
        Some(r) => Box::new(r),
        None => Box::new(Local(open(cli)?)),
    })
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
