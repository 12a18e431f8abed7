//! `seclog backup DEST`: an online copy of the local database.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::cli::Cli;

/// Copies the database named by `--db` (or the configuration) to the new file `dest`.
pub(crate) fn run(cli: &Cli, dest: &Path) -> anyhow::Result<ExitCode> {
    if super::remote(cli)?.is_some() {
        bail!("backup copies a local database file: run it beside the database, without --server");
    }
    let db = super::config(cli)?.db_file;
    if db.as_os_str() == ":memory:" || !db.is_file() {
        bail!("no database file at {}", db.display());
    }
    if dest.exists() {
        bail!("{} already exists; a backup is written to a new file", dest.display());
    }
    let logger = super::open(cli)?;
    logger
        .backup(dest)
        .with_context(|| format!("cannot back up {} to {}", db.display(), dest.display()))?;
    logger.close();
    eprintln!("seclog: {} backed up to {}", db.display(), dest.display());
    Ok(ExitCode::SUCCESS)
}
