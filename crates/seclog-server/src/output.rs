//! Human-readable output.

use std::io::Write;

use seclog::SecurityEvent;

/// Writes events as aligned columns.
pub(crate) fn events_table(out: &mut impl Write, events: &[SecurityEvent]) -> std::io::Result<()> {
    events_header(out)?;
    for e in events {
        event_row(out, e)?;
    }
    Ok(())
}

/// The header line of [`events_table`].
pub(crate) fn events_header(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<20}  {:<28}  {:<8}  {:<39}  {:<20}  {:>4}",
        "TIMESTAMP", "TYPE", "SEVERITY", "IP", "USER", "RISK"
    )
}

/// One line of [`events_table`].
pub(crate) fn event_row(out: &mut impl Write, e: &SecurityEvent) -> std::io::Result<()> {
    {
        let ts =
            e.timestamp.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        writeln!(
            out,
            "{:<20}  {:<28}  {:<8}  {:<39}  {:<20}  {:>4.1}",
            ts,
            e.event_type.as_str(),
            e.severity.as_str(),
            e.ip_address.map(|i| i.to_string()).unwrap_or_default(),
            e.user_id.as_deref().unwrap_or(""),
            e.risk_score.unwrap_or(0.0)
        )?;
    }
    Ok(())
}

/// RFC 3339 text of a timestamp.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Pretty JSON followed by a newline.
pub(crate) fn print_json(
    out: &mut impl Write,
    value: &impl serde::Serialize,
) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}
