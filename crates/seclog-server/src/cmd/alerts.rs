//! `seclog alerts`.

use std::io::Write;
use std::process::ExitCode;

use crate::backend::Backend;
use anyhow::bail;

use crate::cli::{AlertAction, AlertsArgs, Format};
use crate::output::{print_json, rfc3339};

pub(crate) fn run(backend: &dyn Backend, args: &AlertsArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match &args.action {
        Some(AlertAction::Ack { id, by, note }) => {
            let a = backend.acknowledge_alert(id, by, note.as_deref())?;
            print_json(&mut out, &a)?;
        }
        Some(AlertAction::Resolve { id, by, reason, note }) => {
            let a = backend.resolve_alert(id, by, reason, note.as_deref())?;
            print_json(&mut out, &a)?;
        }
        Some(AlertAction::Show { id }) => match backend.get_alert(id)? {
            Some(a) => print_json(&mut out, &a)?,
            None => bail!("no alert with id {id}"),
        },
        None => {
            let alerts = backend.alerts(args.status.as_deref(), args.limit)?;
            match args.format {
                Format::Json => print_json(&mut out, &alerts)?,
                Format::Jsonl => {
                    for a in &alerts {
                        serde_json::to_writer(&mut out, a)?;
                        writeln!(out)?;
                    }
                }
                Format::Table => {
                    writeln!(
                        out,
                        "{:<36}  {:<20}  {:<8}  {:<12}  TITLE",
                        "ID", "TIME", "SEVERITY", "STATUS"
                    )?;
                    for a in &alerts {
                        writeln!(
                            out,
                            "{:<36}  {:<20}  {:<8}  {:<12}  {}",
                            a.alert_id,
                            rfc3339(a.timestamp),
                            a.severity,
                            a.status,
                            a.title
                        )?;
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
