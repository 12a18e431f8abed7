//! `seclog tail`: follow new events live.
//!
//! By default events are shown as they are stored: each poll asks for what was stored after
//! the position reached ([`Backend::stored`]), so an imported batch of old events shows up
//! like live ones, in the order of storage.
//!
//! With `--by-event-time`, events follow their timestamps: polls use `start_time` = the newest
//! timestamp seen (inclusive) and skip the ids already printed at that timestamp; an event
//! logged later with a timestamp older than the newest one seen is not shown.

use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use seclog::SecurityEvent;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::backend::{Backend, Params};
use crate::cli::{Format, TailArgs};
use crate::cmd::query::filter_params;
use crate::output;

/// Most events fetched in one poll before printing (later ones come on the next poll).
const MAX_PER_POLL: usize = 100_000;

/// The position reached: newest timestamp and the ids printed at it.
#[derive(Default)]
struct Position {
    last: Option<OffsetDateTime>,
    at_last: HashSet<String>,
}

impl Position {
    /// Keeps the events not yet printed (oldest first) and advances.
    fn advance(&mut self, mut newest_first: Vec<SecurityEvent>) -> Vec<SecurityEvent> {
        newest_first.reverse();
        let fresh: Vec<SecurityEvent> = newest_first
            .into_iter()
            .filter(|e| {
                self.last.is_none_or(|l| {
                    e.timestamp > l || (e.timestamp == l && !self.at_last.contains(&e.event_id))
                })
            })
            .collect();
        for e in &fresh {
            if self.last.is_none_or(|l| e.timestamp > l) {
                self.last = Some(e.timestamp);
                self.at_last.clear();
            }
            if Some(e.timestamp) == self.last {
                self.at_last.insert(e.event_id.clone());
            }
        }
        fresh
    }
}

fn print(out: &mut impl Write, format: Format, events: &[SecurityEvent]) -> anyhow::Result<()> {
    for e in events {
        match format {
            Format::Table => output::event_row(out, e)?,
            _ => {
                serde_json::to_writer(&mut *out, e)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Events per page when following the order of storage.
const PAGE: usize = 1000;

/// Whether `--max` or `--timeout` says to stop.
fn done(args: &TailArgs, printed: u64, started: Instant) -> bool {
    args.max.is_some_and(|m| printed >= m)
        || args.timeout.is_some_and(|t| started.elapsed() >= Duration::from_secs(t))
}

/// At most what `--max` still allows of `events`.
fn within_max(args: &TailArgs, printed: u64, mut events: Vec<SecurityEvent>) -> Vec<SecurityEvent> {
    if let Some(m) = args.max {
        events.truncate(usize::try_from(m.saturating_sub(printed)).unwrap_or(usize::MAX));
    }
    events
}

pub(crate) fn run(backend: &dyn Backend, args: &TailArgs) -> anyhow::Result<ExitCode> {
    if args.by_event_time {
        return by_event_time(backend, args);
    }
    let base = filter_params(&args.filter)?;
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    if args.format == Format::Table {
        output::events_header(&mut out)?;
    }
    let recent = backend.stored(&base, None, args.lines.clamp(1, 1000))?;
    let skip = recent.events.len().saturating_sub(args.lines);
    print(&mut out, args.format, recent.events.get(skip..).unwrap_or_default())?;
    if args.once {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("seclog: following new events");
    let mut position = recent.position;
    let mut printed = 0u64;
    let interval = Duration::from_millis(args.interval_ms.max(10));
    loop {
        if done(args, printed, started) {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(interval);
        // Everything stored since the last poll, a page at a time.
        loop {
            let page = backend.stored(&base, Some(position), PAGE)?;
            position = page.position;
            let full = page.events.len() == PAGE;
            let fresh = within_max(args, printed, page.events);
            printed += fresh.len() as u64;
            print(&mut out, args.format, &fresh)?;
            if !full || args.max.is_some_and(|m| printed >= m) {
                break;
            }
        }
    }
}

/// `--by-event-time`: follows event timestamps.
fn by_event_time(backend: &dyn Backend, args: &TailArgs) -> anyhow::Result<ExitCode> {
    let base = filter_params(&args.filter)?;
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    if args.format == Format::Table {
        output::events_header(&mut out)?;
    }
    let mut pos = Position::default();
    let recent = backend.query(&base, None, args.lines.clamp(1, 1000))?.events;
    let recent = pos.advance(recent);
    let skip = recent.len().saturating_sub(args.lines);
    print(&mut out, args.format, recent.get(skip..).unwrap_or_default())?;
    if args.once {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("seclog: following new events");
    let mut printed = 0u64;
    let interval = Duration::from_millis(args.interval_ms.max(10));
    loop {
        if done(args, printed, started) {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(interval);
        let mut params: Params = base.iter().filter(|(k, _)| k != "start_time").cloned().collect();
        match pos.last {
            Some(l) => params.push(("start_time".into(), l.format(&Rfc3339)?)),
            None => params.extend(base.iter().filter(|(k, _)| k == "start_time").cloned()),
        }
        let mut batch = Vec::new();
        let mut cursor = None;
        loop {
            let page = backend.query(&params, cursor.as_deref(), 1000)?;
            batch.extend(page.events);
            cursor = page.next_cursor;
            if cursor.is_none() || batch.len() >= MAX_PER_POLL {
                break;
            }
        }
        let fresh = within_max(args, printed, pos.advance(batch));
        printed += fresh.len() as u64;
        print(&mut out, args.format, &fresh)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, t: i64) -> SecurityEvent {
        let v = serde_json::json!({"event_id": id, "event_type": "api_access",
            "timestamp": OffsetDateTime::from_unix_timestamp(t).unwrap().format(&Rfc3339).unwrap(),
            "severity": "info"});
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn advances_without_repeating_events_at_the_same_timestamp() {
        let mut pos = Position::default();
        let got = pos.advance(vec![ev("b", 10), ev("a", 5)]);
        assert_eq!(got.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        // The poll starts at t=10 inclusive: b again, plus c at the same second and d later.
        let got = pos.advance(vec![ev("d", 11), ev("c", 10), ev("b", 10)]);
        assert_eq!(got.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(), ["c", "d"]);
        assert!(pos.advance(vec![ev("d", 11)]).is_empty());
    }
}
