//! Where CLI commands run: on the local database through the library, or against a running
//! `seclog serve` over HTTP. Commands only see the [`Backend`] trait.

use anyhow::bail;
use seclog::core::monitor::{Decision, DecisionMatch, Rule};
use seclog::core::{
    AlertStatus, EventPage, Resolution, SecurityAlert, Statistics, StoredPage, SuspiciousIp,
};
use seclog::{EventFilter, EventInput, LogError, SecurityLogger};

pub(crate) mod remote;

pub(crate) use remote::Remote;

/// Query filters as `(key, value)` pairs with the library's keys (`event_type`, `ip_address`,
/// `start_time`, ...), the form both [`EventFilter::from_params`] and the HTTP API take.
pub(crate) type Params = Vec<(String, String)>;

/// A manual decision to add.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct NewDecision {
    /// ip, range or user.
    pub(crate) scope: String,
    /// The IP, CIDR or user id.
    pub(crate) value: String,
    /// e.g. 30m, 4h, 7d; `None` is permanent.
    pub(crate) duration: Option<String>,
    /// Why.
    pub(crate) reason: String,
    /// Who.
    pub(crate) by: String,
}

/// The operations the CLI needs, local or remote.
pub(crate) trait Backend {
    /// Logs events given as JSON text, one per item; returns per item `None` when accepted or
    /// the reason it was rejected. Accepted events are committed by [`Backend::finish_ingest`]
    /// at the latest (remote: before returning).
    fn ingest(&self, items: &[&str]) -> anyhow::Result<Vec<Option<String>>>;
    /// Waits until every event accepted by [`Backend::ingest`] is committed; returns how many
    /// of them the store refused after accepting them (for example a duplicate `event_id`).
    fn finish_ingest(&self) -> anyhow::Result<u64>;
    /// One page of events matching `params`, newest first.
    fn query(
        &self,
        params: &Params,
        cursor: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<EventPage>;
    /// Events matching `params` in the order they were stored: the newest `limit` (`after`
    /// `None`), or those stored after a previous page's `position`, oldest first.
    fn stored(
        &self,
        params: &Params,
        after: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<StoredPage>;
    /// Statistics.
    fn statistics(&self) -> anyhow::Result<Statistics>;
    /// Active decisions (`all`: with expired and lifted ones).
    fn decisions(&self, all: bool, limit: usize) -> anyhow::Result<Vec<Decision>>;
    /// Adds a manual decision.
    fn add_decision(&self, d: &NewDecision) -> anyhow::Result<Decision>;
    /// Lifts a decision; `None` when unknown.
    fn delete_decision(&self, id: &str) -> anyhow::Result<Option<Decision>>;
    /// Lifts the decisions in force that `selection` (CrowdSec's `ip`, `range`, `scope`,
    /// `value`, `type` parameters) selects; returns how many.
    fn lift_decisions(&self, selection: &Params) -> anyhow::Result<u64>;
    /// Suspicious IPs.
    fn suspicious_ips(&self, blocked: bool, limit: usize) -> anyhow::Result<Vec<SuspiciousIp>>;
    /// Alerts, optionally of one status (`active`, `acknowledged`, `resolved`).
    fn alerts(&self, status: Option<&str>, limit: usize) -> anyhow::Result<Vec<SecurityAlert>>;
    /// One alert.
    fn get_alert(&self, id: &str) -> anyhow::Result<Option<SecurityAlert>>;
    /// Acknowledges an alert.
    fn acknowledge_alert(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
    ) -> anyhow::Result<SecurityAlert>;
    /// Resolves an alert with a reason (`true_positive`, ...).
    fn resolve_alert(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        note: Option<&str>,
    ) -> anyhow::Result<SecurityAlert>;
    /// The rules in force.
    fn rules(&self) -> anyhow::Result<Vec<Rule>>;
    /// Deletes events older than `cutoff`; refuses inside the retention period.
    fn purge_before(&self, cutoff: time::OffsetDateTime) -> anyhow::Result<u64>;
}

/// The local database, through the library.
pub(crate) struct Local(pub(crate) SecurityLogger);

/// Parses textual filter pairs (errors name the field).
pub(crate) fn filter(params: &Params) -> anyhow::Result<EventFilter> {
    Ok(EventFilter::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))?)
}

impl Backend for Local {
    fn ingest(&self, items: &[&str]) -> anyhow::Result<Vec<Option<String>>> {
        let out = items
            .iter()
            .map(|text| match serde_json::from_str::<EventInput>(text) {
                Err(e) => Some(e.to_string()),
                Ok(input) => match self.0.log_event(input) {
                    Ok(_) => None,
                    Err(LogError::Invalid(v)) => Some(v.to_string()),
                    Err(other) => Some(format!("not stored: {other}")),
                },
            })
            .collect();
        Ok(out)
    }

    fn finish_ingest(&self) -> anyhow::Result<u64> {
        // Not flushing per chunk keeps the writer's batches full (one transaction per
        // `batch_size` events) and lets parsing run while the writer commits.
        self.0.flush()?;
        let failed = self.0.writer_stats().failed.load(std::sync::atomic::Ordering::Relaxed);
        Ok(failed)
    }

    fn query(
        &self,
        params: &Params,
        cursor: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<EventPage> {
        Ok(self.0.query(&filter(params)?, cursor, limit)?)
    }

    fn stored(
        &self,
        params: &Params,
        after: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<StoredPage> {
        Ok(self.0.events_in_stored_order(&filter(params)?, after, limit)?)
    }

    fn statistics(&self) -> anyhow::Result<Statistics> {
        Ok(self.0.get_statistics()?)
    }

    fn decisions(&self, all: bool, limit: usize) -> anyhow::Result<Vec<Decision>> {
        Ok(self.0.decisions(all, limit)?)
    }

    fn add_decision(&self, d: &NewDecision) -> anyhow::Result<Decision> {
        let duration =
            d.duration.as_deref().map(crate::cmd::decisions::parse_duration).transpose()?;
        let scope = seclog::core::monitor::decision_match::parse_scope("scope", &d.scope)?;
        Ok(self.0.add_decision(scope, &d.value, duration, &d.reason, &d.by)?)
    }

    fn delete_decision(&self, id: &str) -> anyhow::Result<Option<Decision>> {
        Ok(self.0.delete_decision(id)?)
    }

    fn lift_decisions(&self, selection: &Params) -> anyhow::Result<u64> {
        let selection =
            DecisionMatch::from_params(selection.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        Ok(self.0.lift_decisions(&selection)?.len() as u64)
    }

    fn suspicious_ips(&self, blocked: bool, limit: usize) -> anyhow::Result<Vec<SuspiciousIp>> {
        Ok(self.0.suspicious_ips(blocked, limit)?)
    }

    fn alerts(&self, status: Option<&str>, limit: usize) -> anyhow::Result<Vec<SecurityAlert>> {
        let status = status.map(str::parse::<AlertStatus>).transpose()?;
        Ok(self.0.alerts(status, limit)?)
    }

    fn get_alert(&self, id: &str) -> anyhow::Result<Option<SecurityAlert>> {
        Ok(self.0.get_alert(id)?)
    }

    fn acknowledge_alert(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
    ) -> anyhow::Result<SecurityAlert> {
        Ok(self.0.acknowledge_alert(id, by, note)?)
    }

    fn resolve_alert(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        note: Option<&str>,
    ) -> anyhow::Result<SecurityAlert> {
        let resolution: Resolution = reason.parse()?;
        Ok(self.0.resolve_alert(id, by, resolution, note)?)
    }

    fn rules(&self) -> anyhow::Result<Vec<Rule>> {
        Ok(self.0.rules().to_vec())
    }

    fn purge_before(&self, cutoff: time::OffsetDateTime) -> anyhow::Result<u64> {
        match self.0.purge_before(cutoff) {
            Ok(n) => Ok(n),
            Err(LogError::Invalid(v)) => bail!("{}", v.message),
            Err(e) => Err(e.into()),
        }
    }
}
