//! `seclog query`.

use std::io::Write;
use std::process::ExitCode;

use seclog::{EventFilter, SecurityEvent, SecurityLogger};

use crate::cli::{Format, QueryArgs};
use crate::output;

pub(crate) fn filter_from(args: &QueryArgs) -> anyhow::Result<EventFilter> {
    let mut params: Vec<(&str, &str)> = Vec::new();
    for t in &args.types {
        params.push(("event_type", t));
    }
    let singles = [
        ("min_severity", &args.min_severity),
        ("ip_address", &args.ip),
        ("cidr", &args.cidr),
        ("user_id", &args.user),
        ("session_id", &args.session),
        ("correlation_id", &args.correlation_id),
        ("status", &args.status),
        ("start_time", &args.since),
        ("end_time", &args.until),
    ];
    for (k, v) in singles {
        if let Some(v) = v {
            params.push((k, v));
        }
    }
    Ok(EventFilter::from_params(params)?)
}

pub(crate) fn run(logger: &SecurityLogger, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let filter = filter_from(args)?;
    let mut events: Vec<SecurityEvent> = Vec::new();
    let mut cursor = args.cursor.clone();
    let out = std::io::stdout();
    let mut out = out.lock();
    loop {
        let page = logger.query(&filter, cursor.as_deref(), args.limit)?;
        if args.format == Format::Jsonl {
            for e in &page.events {
                serde_json::to_writer(&mut out, e)?;
                out.write_all(b"\n")?;
            }
        } else {
            events.extend(page.events);
        }
        cursor = page.next_cursor;
        if !args.all || cursor.is_none() {
            break;
        }
    }
    match args.format {
        Format::Jsonl => {}
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &events)?;
            out.write_all(b"\n")?;
        }
        Format::Table => output::events_table(&mut out, &events)?,
    }
    out.flush()?;
    if let Some(c) = cursor {
        eprintln!("more events follow: --cursor {c}");
    }
    Ok(ExitCode::SUCCESS)
}
