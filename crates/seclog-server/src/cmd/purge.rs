//! `seclog purge --before DATE`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::backend::Backend;

/// Parses an RFC 3339 time or a `YYYY-MM-DD` date (midnight UTC).
pub(crate) fn parse_date(text: &str) -> anyhow::Result<OffsetDateTime> {
    let t = text.trim();
    if let Ok(ts) = OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(ts);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(t, &fmt) {
        Ok(d) => Ok(d.midnight().assume_utc()),
        Err(_) => bail!("{text:?}: expected an RFC 3339 time or a YYYY-MM-DD date"),
    }
}

pub(crate) fn run(backend: &dyn Backend, before: &str) -> anyhow::Result<ExitCode> {
    let cutoff = parse_date(before).context("--before")?;
    let deleted = backend.purge_before(cutoff)?;
    // writeln!, not println!: a closed standard output is an error to return, not a panic.
    writeln!(
        std::io::stdout(),
        "deleted {deleted} events older than {}",
        cutoff.format(&Rfc3339)?
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(parse_date("2024-03-01").unwrap().unix_timestamp(), 1_709_251_200);
        assert_eq!(
            parse_date("2024-03-01T00:00:10+00:00").unwrap().unix_timestamp(),
            1_709_251_210
        );
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("yesterday").unwrap_err().to_string().contains("YYYY-MM-DD"));
    }
}
