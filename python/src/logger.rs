//! The `Logger` class: a `seclog::SecurityLogger` shared by Python threads.

use std::net::IpAddr;

use pyo3::prelude::*;
use seclog::core::monitor::Scope;
use seclog::core::Resolution;
use seclog::{
    AdminEvent, AlertStatus, ApiOutcome, Config, DataAction, EventFilter, EventInput, EventStatus,
    PaymentOutcome, SecurityLogger, SessionEvent, UploadOutcome,
};
use serde_json::{Map, Value};

use crate::{invalid, to_json, to_py};

/// Parses optional JSON `details`: must be an object.
fn details(json: Option<&str>) -> PyResult<Option<Map<String, Value>>> {
    let Some(text) = json else { return Ok(None) };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(Value::Null) => Ok(None),
        Ok(_) => Err(invalid("details", "must be a dict")),
        Err(e) => Err(invalid("details", e)),
    }
}

fn parse<T: std::str::FromStr>(field: &str, value: &str) -> PyResult<T>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| invalid(field, e))
}

fn choice<T: Copy>(field: &str, value: &str, options: &[(&str, T)]) -> PyResult<T> {
    options.iter().find(|(name, _)| *name == value).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        invalid(field, format!("unknown value {value:?}; expected one of {}", names.join(", ")))
    })
}

fn ip(field: &str, value: &str) -> PyResult<IpAddr> {
    seclog::core::parse_ip(field, value).map_err(|e| to_py(e.into()))
}

/// A security logger (`seclog::SecurityLogger`). Cheap to share between threads.
#[pyclass(frozen, module = "seclog._native")]
pub(crate) struct Logger {
    inner: SecurityLogger,
}

impl Logger {
    /// Runs `f` on the engine with the GIL released, mapping its error.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&SecurityLogger) -> seclog::Result<T> + Send,
    ) -> PyResult<T> {
        let inner = &self.inner;
        py.detach(|| f(inner)).map_err(to_py)
    }

    fn run_json<T: Send + serde::Serialize>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&SecurityLogger) -> seclog::Result<T> + Send,
    ) -> PyResult<String> {
        to_json(&self.run(py, f)?)
    }
}

#[pymethods]
impl Logger {
    /// Opens a logger from a JSON object of `seclog::Config` keys (`None`: defaults).
    #[new]
    #[pyo3(signature = (config_json=None))]
    fn new(py: Python<'_>, config_json: Option<&str>) -> PyResult<Self> {
        let config: Config = match config_json {
            None => Config::default(),
            Some(text) => serde_json::from_str(text).map_err(|e| invalid("config", e))?,
        };
        let inner = py.detach(|| SecurityLogger::new(config)).map_err(to_py)?;
        Ok(Logger { inner })
    }

    /// Logs an event given as a JSON object of `EventInput` fields; returns its id.
    fn log_event(&self, py: Python<'_>, event_json: &str) -> PyResult<String> {
        let input: EventInput =
            serde_json::from_str(event_json).map_err(|e| invalid("event", e))?;
        self.run(py, |l| l.log_event(input))
    }

    /// Like `log_event`, and also tells whether the event's IP or user was already blocked.
    fn log_event_checked(&self, py: Python<'_>, event_json: &str) -> PyResult<(String, bool)> {
        let input: EventInput =
            serde_json::from_str(event_json).map_err(|e| invalid("event", e))?;
        let r = self.run(py, |l| l.log_event_checked(input))?;
        Ok((r.event_id, r.blocked))
    }

    /// The spec's `log_auth_attempt`.
    #[pyo3(signature = (user_id, success, ip_address=None, user_agent=None, details_json=None))]
    fn log_auth_attempt(
        &self,
        py: Python<'_>,
        user_id: &str,
        success: bool,
        ip_address: Option<&str>,
        user_agent: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_auth_attempt(l, user_id, success, ip_address, user_agent, d))
    }

    /// The spec's `log_authorization_failure`.
    #[pyo3(signature = (user_id, resource, ip_address=None, user_agent=None, details_json=None))]
    fn log_authorization_failure(
        &self,
        py: Python<'_>,
        user_id: &str,
        resource: &str,
        ip_address: Option<&str>,
        user_agent: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let d = details(details_json)?;
        self.run(py, |l| {
            seclog::log_authorization_failure(l, user_id, resource, ip_address, user_agent, d)
        })
    }

    /// The spec's `log_input_validation_violation`.
    #[pyo3(signature = (input_data, violation_type, ip_address=None, user_agent=None, details_json=None))]
    fn log_input_validation_violation(
        &self,
        py: Python<'_>,
        input_data: &str,
        violation_type: &str,
        ip_address: Option<&str>,
        user_agent: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let d = details(details_json)?;
        self.run(py, |l| {
            seclog::log_input_validation_violation(
                l,
                input_data,
                violation_type,
                ip_address,
                user_agent,
                d,
            )
        })
    }

    /// The spec's `log_rate_limiting_trigger`.
    #[pyo3(signature = (ip_address, endpoint, limit_type, details_json=None))]
    fn log_rate_limiting_trigger(
        &self,
        py: Python<'_>,
        ip_address: &str,
        endpoint: &str,
        limit_type: &str,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_rate_limiting_trigger(l, ip_address, endpoint, limit_type, d))
    }

    /// Session events: `kind` is `logout`, `expired` or `hijacked`.
    #[pyo3(signature = (kind, user_id, session_id=None, ip_address=None, details_json=None))]
    fn log_session_event(
        &self,
        py: Python<'_>,
        kind: &str,
        user_id: &str,
        session_id: Option<&str>,
        ip_address: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let k = choice(
            "kind",
            kind,
            &[
                ("logout", SessionEvent::Logout),
                ("expired", SessionEvent::Expired),
                ("hijacked", SessionEvent::Hijacked),
            ],
        )?;
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_session_event(l, k, user_id, session_id, ip_address, d))
    }

    /// MFA checks.
    #[pyo3(signature = (user_id, success, method, ip_address=None, details_json=None))]
    fn log_mfa_attempt(
        &self,
        py: Python<'_>,
        user_id: &str,
        success: bool,
        method: &str,
        ip_address: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_mfa_attempt(l, user_id, success, method, ip_address, d))
    }

    /// Password change (`reset=False`) or reset.
    #[pyo3(signature = (user_id, reset, ip_address=None, details_json=None))]
    fn log_password_event(
        &self,
        py: Python<'_>,
        user_id: &str,
        reset: bool,
        ip_address: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_password_event(l, user_id, reset, ip_address, d))
    }

    /// Account locked or unlocked.
    #[pyo3(signature = (user_id, locked, reason, details_json=None))]
    fn log_account_lock(
        &self,
        py: Python<'_>,
        user_id: &str,
        locked: bool,
        reason: &str,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_account_lock(l, user_id, locked, reason, d))
    }

    /// File uploads: `outcome` is `accepted`, `rejected` or `malicious`.
    #[pyo3(signature = (user_id, filename, size_bytes, outcome, ip_address=None, details_json=None))]
    #[allow(clippy::too_many_arguments)]
    fn log_file_upload(
        &self,
        py: Python<'_>,
        user_id: Option<&str>,
        filename: &str,
        size_bytes: u64,
        outcome: &str,
        ip_address: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let o = choice(
            "outcome",
            outcome,
            &[
                ("accepted", UploadOutcome::Accepted),
                ("rejected", UploadOutcome::Rejected),
                ("malicious", UploadOutcome::Malicious),
            ],
        )?;
        let d = details(details_json)?;
        self.run(py, |l| {
            seclog::log_file_upload(l, user_id, filename, size_bytes, o, ip_address, d)
        })
    }

    /// API calls: `outcome` is `granted`, `denied`, `rate_limited` or `signature_invalid`.
    #[pyo3(signature = (client_id, endpoint, outcome, ip_address=None, details_json=None))]
    fn log_api_access(
        &self,
        py: Python<'_>,
        client_id: &str,
        endpoint: &str,
        outcome: &str,
        ip_address: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let o = choice(
            "outcome",
            outcome,
            &[
                ("granted", ApiOutcome::Granted),
                ("denied", ApiOutcome::Denied),
                ("rate_limited", ApiOutcome::RateLimited),
                ("signature_invalid", ApiOutcome::SignatureInvalid),
            ],
        )?;
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_api_access(l, client_id, endpoint, o, ip_address, d))
    }

    /// Payments: `outcome` is `processed`, `failed` or `fraud_detected`.
    #[pyo3(signature = (user_id, amount, currency, outcome, ip_address=None, details_json=None))]
    #[allow(clippy::too_many_arguments)]
    fn log_payment_event(
        &self,
        py: Python<'_>,
        user_id: &str,
        amount: &str,
        currency: &str,
        outcome: &str,
        ip_address: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let o = choice(
            "outcome",
            outcome,
            &[
                ("processed", PaymentOutcome::Processed),
                ("failed", PaymentOutcome::Failed),
                ("fraud_detected", PaymentOutcome::FraudDetected),
            ],
        )?;
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_payment_event(l, user_id, amount, currency, o, ip_address, d))
    }

    /// Data access: `action` is `access`, `modification`, `deletion`, `export` or
    /// `breach_attempt`.
    #[pyo3(signature = (user_id, resource, action, record_count=None, ip_address=None, details_json=None))]
    #[allow(clippy::too_many_arguments)]
    fn log_data_access(
        &self,
        py: Python<'_>,
        user_id: &str,
        resource: &str,
        action: &str,
        record_count: Option<u64>,
        ip_address: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let a = choice(
            "action",
            action,
            &[
                ("access", DataAction::Access),
                ("modification", DataAction::Modification),
                ("deletion", DataAction::Deletion),
                ("export", DataAction::Export),
                ("breach_attempt", DataAction::BreachAttempt),
            ],
        )?;
        let d = details(details_json)?;
        self.run(py, |l| {
            seclog::log_data_access(l, user_id, resource, a, record_count, ip_address, d)
        })
    }

    /// Admin events: `kind` is `action`, `access` or `escalation`.
    #[pyo3(signature = (admin_id, kind, action, target=None, ip_address=None, details_json=None))]
    #[allow(clippy::too_many_arguments)]
    fn log_admin_action(
        &self,
        py: Python<'_>,
        admin_id: &str,
        kind: &str,
        action: &str,
        target: Option<&str>,
        ip_address: Option<&str>,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let k = choice(
            "kind",
            kind,
            &[
                ("action", AdminEvent::Action),
                ("access", AdminEvent::Access),
                ("escalation", AdminEvent::Escalation),
            ],
        )?;
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_admin_action(l, admin_id, k, action, target, ip_address, d))
    }

    /// Configuration changes.
    #[pyo3(signature = (user_id, setting, security_relevant, details_json=None))]
    fn log_config_change(
        &self,
        py: Python<'_>,
        user_id: &str,
        setting: &str,
        security_relevant: bool,
        details_json: Option<&str>,
    ) -> PyResult<String> {
        let d = details(details_json)?;
        self.run(py, |l| seclog::log_config_change(l, user_id, setting, security_relevant, d))
    }

    /// In a child made by `fork`: the logger works through one of its own from now on (a
    /// client of the engine the parent runs). Called from `os.register_at_fork`.
    fn after_fork_in_child(&self, py: Python<'_>) {
        let inner = &self.inner;
        py.detach(|| inner.after_fork_in_child());
    }

    /// Waits until everything logged before is committed.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |l| l.flush())
    }

    /// Drains the queue, stops the writer and checkpoints the database (the database file
    /// alone then holds everything). Idempotent.
    fn close(&self, py: Python<'_>) {
        let inner = &self.inner;
        py.detach(|| inner.close());
    }

    /// Writes a consistent copy of the database to the new file `dest` (online backup).
    fn backup(&self, py: Python<'_>, dest: std::path::PathBuf) -> PyResult<()> {
        self.run(py, |l| l.backup(&dest))
    }

    /// Events newest first as a JSON list; `filters` are textual `(key, value)` pairs.
    fn get_events(
        &self,
        py: Python<'_>,
        filters: Vec<(String, String)>,
        limit: usize,
    ) -> PyResult<String> {
        let f = EventFilter::from_params(filters.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| to_py(e.into()))?;
        self.run_json(py, |l| l.get_events(&f, limit))
    }

    /// One page of events: JSON `{events, next_cursor}`.
    #[pyo3(signature = (filters, cursor=None, limit=100))]
    fn query(
        &self,
        py: Python<'_>,
        filters: Vec<(String, String)>,
        cursor: Option<&str>,
        limit: usize,
    ) -> PyResult<String> {
        let f = EventFilter::from_params(filters.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| to_py(e.into()))?;
        self.run_json(py, |l| l.query(&f, cursor, limit))
    }

    /// One event as JSON, or `None`.
    fn get_event(&self, py: Python<'_>, event_id: &str) -> PyResult<Option<String>> {
        self.run(py, |l| l.get_event(event_id))?.map(|e| to_json(&e)).transpose()
    }

    /// Statistics as a JSON object.
    fn get_statistics(&self, py: Python<'_>) -> PyResult<String> {
        self.run_json(py, |l| l.get_statistics())
    }

    /// The decision blocking `ip` now, as JSON, or `None` (lock-free).
    fn check_ip(&self, ip_address: &str) -> PyResult<Option<String>> {
        let addr = ip("ip_address", ip_address)?;
        self.inner.check_ip(addr).map(|b| to_json(&*b.decision)).transpose()
    }

    /// The decision locking the account `user_id` now, as JSON, or `None`.
    fn check_user(&self, user_id: &str) -> PyResult<Option<String>> {
        self.inner.check_user(user_id).map(|b| to_json(&*b.decision)).transpose()
    }

    /// Decisions in force (or all with `all=True`) as a JSON list.
    fn decisions(&self, py: Python<'_>, all: bool, limit: usize) -> PyResult<String> {
        self.run_json(py, |l| l.decisions(all, limit))
    }

    /// Adds a manual decision; `scope` is `ip`, `range` or `user`; `duration_secs` `None`
    /// means permanent.
    #[pyo3(signature = (scope, value, duration_secs, reason, by))]
    fn add_decision(
        &self,
        py: Python<'_>,
        scope: &str,
        value: &str,
        duration_secs: Option<i64>,
        reason: &str,
        by: &str,
    ) -> PyResult<String> {
        let s = choice(
            "scope",
            scope,
            &[("ip", Scope::Ip), ("range", Scope::Range), ("user", Scope::User)],
        )?;
        let d = duration_secs.map(time::Duration::seconds);
        self.run_json(py, |l| l.add_decision(s, value, d, reason, by))
    }

    /// Lifts a decision; JSON of it, or `None` for an unknown id.
    fn delete_decision(&self, py: Python<'_>, decision_id: &str) -> PyResult<Option<String>> {
        self.run(py, |l| l.delete_decision(decision_id))?.map(|d| to_json(&d)).transpose()
    }

    /// Suspicious IPs as a JSON list.
    fn suspicious_ips(&self, py: Python<'_>, blocked_only: bool, limit: usize) -> PyResult<String> {
        self.run_json(py, |l| l.suspicious_ips(blocked_only, limit))
    }

    /// Alerts newest first as a JSON list, optionally of one status.
    #[pyo3(signature = (status, limit))]
    fn alerts(&self, py: Python<'_>, status: Option<&str>, limit: usize) -> PyResult<String> {
        let s: Option<AlertStatus> = status.map(|s| parse("status", s)).transpose()?;
        self.run_json(py, |l| l.alerts(s, limit))
    }

    /// One alert as JSON, or `None`.
    fn get_alert(&self, py: Python<'_>, alert_id: &str) -> PyResult<Option<String>> {
        self.run(py, |l| l.get_alert(alert_id))?.map(|a| to_json(&a)).transpose()
    }

    /// Acknowledges an alert; the updated alert as JSON.
    #[pyo3(signature = (alert_id, by, note=None))]
    fn acknowledge_alert(
        &self,
        py: Python<'_>,
        alert_id: &str,
        by: &str,
        note: Option<&str>,
    ) -> PyResult<String> {
        self.run_json(py, |l| l.acknowledge_alert(alert_id, by, note))
    }

    /// Resolves an alert (`resolution`: `true_positive`, `false_positive`, `benign`, ...).
    #[pyo3(signature = (alert_id, by, resolution, note=None))]
    fn resolve_alert(
        &self,
        py: Python<'_>,
        alert_id: &str,
        by: &str,
        resolution: &str,
        note: Option<&str>,
    ) -> PyResult<String> {
        let r: Resolution = parse("resolution", resolution)?;
        self.run_json(py, |l| l.resolve_alert(alert_id, by, r, note))
    }

    /// Records an investigation status change; the trail entry as JSON.
    #[pyo3(signature = (event_id, status, by, note=None))]
    fn set_event_status(
        &self,
        py: Python<'_>,
        event_id: &str,
        status: &str,
        by: &str,
        note: Option<&str>,
    ) -> PyResult<String> {
        let s: EventStatus = parse("status", status)?;
        self.run_json(py, |l| l.set_event_status(event_id, s, by, note))
    }

    /// Adds an investigation note; the trail entry as JSON.
    fn add_investigation_note(
        &self,
        py: Python<'_>,
        event_id: &str,
        note: &str,
        by: &str,
    ) -> PyResult<String> {
        self.run_json(py, |l| l.add_investigation_note(event_id, note, by))
    }

    /// Records a remediation step; the trail entry as JSON.
    fn add_remediation_action(
        &self,
        py: Python<'_>,
        event_id: &str,
        action: &str,
        by: &str,
    ) -> PyResult<String> {
        self.run_json(py, |l| l.add_remediation_action(event_id, action, by))
    }

    /// Escalates an event; the trail entry as JSON.
    fn escalate_event(
        &self,
        py: Python<'_>,
        event_id: &str,
        reason: &str,
        by: &str,
    ) -> PyResult<String> {
        self.run_json(py, |l| l.escalate_event(event_id, reason, by))
    }

    /// An event's investigation trail as a JSON list.
    fn event_trail(&self, py: Python<'_>, event_id: &str) -> PyResult<String> {
        self.run_json(py, |l| l.event_trail(event_id))
    }

    /// An event's current investigation status, or `None` for an unknown event.
    fn event_status(&self, py: Python<'_>, event_id: &str) -> PyResult<Option<String>> {
        Ok(self.run(py, |l| l.event_status(event_id))?.map(|s| s.as_str().to_string()))
    }

    /// The event with parents, children, correlated events and trail, as JSON, or `None`.
    fn related_events(
        &self,
        py: Python<'_>,
        event_id: &str,
        limit: usize,
    ) -> PyResult<Option<String>> {
        self.run(py, |l| l.related_events(event_id, limit))?.map(|r| to_json(&r)).transpose()
    }

    /// Events waiting in the queue.
    fn queue_depth(&self) -> usize {
        self.inner.queue_depth()
    }

    /// Writer counters: `(committed, batches, dropped, failed)`.
    fn writer_stats(&self) -> (u64, u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let s = self.inner.writer_stats();
        (
            s.committed.load(Relaxed),
            s.batches.load(Relaxed),
            s.dropped.load(Relaxed),
            s.failed.load(Relaxed),
        )
    }

    /// The event types the rules in force watch, with each rule's name (JSON list).
    fn rules(&self) -> PyResult<String> {
        to_json(&self.inner.rules())
    }
}
