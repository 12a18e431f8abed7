//! `seclog decisions`, `seclog ips`, `seclog rules`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use seclog::core::monitor::{Rule, Scope};

use crate::backend::{Backend, NewDecision};

use crate::cli::{DecisionAction, DecisionsArgs, Format};
use crate::output::{print_json, rfc3339};

/// Parses `30s`, `15m`, `4h`, `7d`, `2w` (a bare number is seconds).
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<time::Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        bail!("duration {text:?}: expected e.g. 30m, 4h, 7d");
    }
    // Only digits: a number too large for i64 is as good as forever.
    let n: i64 = num.parse().unwrap_or(i64::MAX);
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => bail!("duration {text:?}: unknown unit {unit:?} (use s, m, h, d or w)"),
    };
    if n <= 0 {
        bail!("duration {text:?} must be positive");
    }
    Ok(time::Duration::seconds(n.saturating_mul(secs)))
}

pub(crate) fn parse_scope(text: &str) -> anyhow::Result<Scope> {
    Ok(match text {
        "ip" => Scope::Ip,
        "range" => Scope::Range,
        "user" => Scope::User,
        other => bail!("scope {other:?}: expected ip, range or user"),
    })
}

pub(crate) fn run(backend: &dyn Backend, args: &DecisionsArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match &args.action {
        Some(DecisionAction::Add { scope, value, duration, reason, by }) => {
            let d = backend.add_decision(&NewDecision {
                scope: scope.clone(),
                value: value.clone(),
                duration: duration.clone(),
                reason: reason.clone(),
                by: by.clone(),
            })?;
            print_json(&mut out, &d)?;
        }
        Some(DecisionAction::Delete { id }) => match backend.delete_decision(id)? {
            Some(d) => print_json(&mut out, &d)?,
            None => bail!("no decision with id {id}"),
        },
        None => {
            let list = backend.decisions(args.all, args.limit)?;
            match args.format {
                Format::Json => print_json(&mut out, &list)?,
                Format::Jsonl => {
                    for d in &list {
                        serde_json::to_writer(&mut out, d)?;
                        writeln!(out)?;
                    }
                }
                Format::Table => {
                    writeln!(
                        out,
                        "{:<36}  {:<5}  {:<40}  {:<20}  {:<20}  {:<20}",
                        "ID", "SCOPE", "VALUE", "ORIGIN", "CREATED", "UNTIL"
                    )?;
                    for d in &list {
                        let scope = match d.scope {
                            Scope::Ip => "ip",
                            Scope::Range => "range",
                            Scope::User => "user",
                        };
                        let until = d.until.map_or_else(|| "permanent".to_string(), rfc3339);
                        writeln!(
                            out,
                            "{:<36}  {:<5}  {:<40}  {:<20}  {:<20}  {:<20}",
                            d.id,
                            scope,
                            d.value,
                            d.origin,
                            rfc3339(d.created_at),
                            until
                        )?;
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn ips(
    backend: &dyn Backend,
    blocked: bool,
    limit: usize,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let rows = backend.suspicious_ips(blocked, limit)?;
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => print_json(&mut out, &rows)?,
        Format::Jsonl => {
            for r in &rows {
                serde_json::to_writer(&mut out, r)?;
                writeln!(out)?;
            }
        }
        Format::Table => {
            writeln!(
                out,
                "{:<40}  {:<8}  {:>7}  {:<7}  {:<20}  {:<20}",
                "IP", "THREAT", "EVENTS", "BLOCKED", "FIRST SEEN", "LAST SEEN"
            )?;
            for r in &rows {
                writeln!(
                    out,
                    "{:<40}  {:<8}  {:>7}  {:<7}  {:<20}  {:<20}",
                    r.ip_address,
                    r.threat_level,
                    r.event_count,
                    r.blocked,
                    rfc3339(r.first_seen),
                    rfc3339(r.last_seen)
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn rules(rules: &[Rule], format: Format) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json | Format::Jsonl => print_json(&mut out, &rules)?,
        Format::Table => {
            writeln!(
                out,
                "{:<22}  {:<8}  {:>9}  {:>7}  {:<15}  {:<9}  EVENT TYPES",
                "NAME", "ENABLED", "THRESHOLD", "WINDOW", "ACTION", "GROUP BY"
            )?;
            for r in rules {
                let types: Vec<&str> = r.event_types.iter().map(|t| t.as_str()).collect();
                let group = serde_json::to_value(r.group_by)?.as_str().unwrap_or("").to_string();
                let enabled = if r.dry_run { "dry-run".to_string() } else { r.enabled.to_string() };
                writeln!(
                    out,
                    "{:<22}  {:<8}  {:>9}  {:>6}s  {:<15}  {:<9}  {}",
                    r.name,
                    enabled,
                    r.threshold,
                    r.window_secs,
                    r.action.as_str(),
                    group,
                    types.join(",")
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_too_large_for_i64_is_forever_not_an_error() {
        let d = parse_duration("99999999999999999999999w").unwrap();
        assert_eq!(d, time::Duration::seconds(i64::MAX));
        assert_eq!(parse_duration(" 2h ").unwrap(), time::Duration::hours(2));
        for bad in ["", "h", "0", "00s", "5y", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
