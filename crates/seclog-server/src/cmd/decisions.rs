//! `seclog decisions`, `seclog ips`, `seclog rules`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use seclog::core::monitor::{Rule, Scope};

use crate::backend::{Backend, NewDecision, Params};
use crate::cli::{AddDecisionArgs, DecisionAction, DecisionsArgs, DeleteDecisionArgs, Format};
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

/// What `decisions add` blocks: `(scope, value)` from --ip, --range, --user or --value.
fn add_target(a: &AddDecisionArgs) -> (String, String) {
    match (&a.ip, &a.range, &a.user, &a.value) {
        (Some(ip), _, _, _) => ("ip".into(), ip.clone()),
        (_, Some(range), _, _) => ("range".into(), range.clone()),
        (_, _, Some(user), _) => ("user".into(), user.clone()),
        (_, _, _, value) => (a.scope.clone(), value.clone().unwrap_or_default()),
    }
}

/// What `decisions delete` lifts by value, as CrowdSec's query parameters (`ip`, `range`,
/// `scope`, `value`, `type`); empty when it lifts by id.
pub(crate) fn delete_selection(a: &DeleteDecisionArgs) -> Params {
    let mut p: Params = Vec::new();
    if let Some(ip) = &a.ip {
        p.push(("ip".into(), ip.clone()));
    }
    if let Some(range) = &a.range {
        p.push(("range".into(), range.clone()));
    }
    if let Some(user) = &a.user {
        p.push(("scope".into(), "user".into()));
        p.push(("value".into(), user.clone()));
    }
    if let Some(value) = &a.value {
        if let Some(scope) = &a.scope {
            p.push(("scope".into(), scope.clone()));
        }
        p.push(("value".into(), value.clone()));
    }
    if !p.is_empty() {
        if let Some(kind) = &a.kind {
            p.push(("type".into(), kind.clone()));
        }
    }
    p
}

pub(crate) fn run(backend: &dyn Backend, args: &DecisionsArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match &args.action {
        Some(DecisionAction::Add(a)) => {
            let (scope, value) = add_target(a);
            let d = backend.add_decision(&NewDecision {
                scope,
                value,
                duration: a.duration.clone(),
                reason: a.reason.clone(),
                by: a.by.clone(),
            })?;
            print_json(&mut out, &d)?;
        }
        Some(DecisionAction::Delete(a)) => match a.id.as_ref().or(a.id_flag.as_ref()) {
            Some(id) => match backend.delete_decision(id)? {
                Some(d) => print_json(&mut out, &d)?,
                None => bail!("no decision with id {id}"),
            },
            None => {
                let n = backend.lift_decisions(&delete_selection(a))?;
                let s = if n == 1 { "" } else { "s" };
                writeln!(out, "lifted {n} decision{s}")?;
            }
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
