//! `seclog query`.

use std::io::Write;
use std::process::ExitCode;

use seclog::SecurityEvent;

use crate::backend::{Backend, Params};
use crate::cli::{FilterArgs, Format, QueryArgs};
use crate::output;

/// The filter flags as the library's `(key, value)` pairs; checked by parsing them once.
pub(crate) fn filter_params(args: &FilterArgs) -> anyhow::Result<Params> {
    let mut params: Params = Vec::new();
    for t in &args.types {
        params.push(("event_type".into(), t.clone()));
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
            params.push((k.into(), v.clone()));
        }
    }
    crate::backend::filter(&params)?;
    Ok(params)
}

pub(crate) fn run(backend: &dyn Backend, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let params = filter_params(&args.filter)?;
    let mut events: Vec<SecurityEvent> = Vec::new();
    let mut cursor = args.cursor.clone();
    let out = std::io::stdout();
    let mut out = out.lock();
    loop {
        let page = backend.query(&params, cursor.as_deref(), args.limit)?;
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
