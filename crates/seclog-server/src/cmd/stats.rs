//! `seclog stats`.

use std::io::Write;
use std::process::ExitCode;

use crate::backend::Backend;

use crate::cli::Format;

pub(crate) fn run(backend: &dyn Backend, format: Format) -> anyhow::Result<ExitCode> {
    let stats = backend.statistics()?;
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json | Format::Jsonl => {
            serde_json::to_writer_pretty(&mut out, &stats)?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(out, "total_events         {}", stats.total_events)?;
            writeln!(out, "recent_activity_24h  {}", stats.recent_activity_24h)?;
            writeln!(out, "blocked_ips          {}", stats.blocked_ips)?;
            writeln!(out, "suspicious_ips       {}", stats.suspicious_ips)?;
            writeln!(out, "events_dropped       {}", stats.events_dropped)?;
            writeln!(out, "\nby severity:")?;
            for (k, v) in &stats.events_by_severity {
                writeln!(out, "  {k:<28} {v}")?;
            }
            writeln!(out, "\nby type:")?;
            for (k, v) in &stats.events_by_type {
                writeln!(out, "  {k:<28} {v}")?;
            }
            writeln!(out, "\ntop IPs:")?;
            for c in &stats.top_ips {
                writeln!(out, "  {:<40} {}", c.name, c.count)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
