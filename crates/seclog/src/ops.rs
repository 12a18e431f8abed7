//! Operator actions on the logger: decisions (blocks) by hand, the alert lifecycle, event
//! investigation and correlation.

use std::collections::HashSet;

use seclog_core::monitor::decision_match::canonical_value;
use seclog_core::monitor::{Decision, DecisionMatch, DecisionType, Scope};
use seclog_core::{
    AlertStatus, AlertTransition, EventAction, EventActionKind, EventFilter, EventStatus,
    Resolution, SecurityAlert, SecurityEvent, SuspiciousIp, ValidationError,
};
use serde::Serialize;
use time::Duration;
use uuid::Uuid;

use crate::error::{LogError, Result};
use crate::logger::SecurityLogger;

/// An event with everything linked to it.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedEvents {
    /// The event itself.
    pub event: SecurityEvent,
    /// Its ancestors through `parent_event_id`, nearest first.
    pub parents: Vec<SecurityEvent>,
    /// Events whose `parent_event_id` is this event.
    pub children: Vec<SecurityEvent>,
    /// Other events with the same `correlation_id`, newest first.
    pub correlated: Vec<SecurityEvent>,
    /// The event's investigation trail, oldest first.
    pub trail: Vec<EventAction>,
}

/// Most characters of who did an operator action (`by`) and of a note, action or reason
/// that must not be blank.
pub const MAX_ACTOR_LEN: usize = 256;
/// Most characters of the text of an investigation action (a note, a remediation, the reason
/// of an escalation or the note of a status change).
pub const MAX_ACTION_TEXT_LEN: usize = 8192;

/// Characters, as an API contract counts them (JSON Schema `maxLength`), not bytes.
fn chars_over(value: &str, max: usize) -> bool {
    value.len() > max && value.chars().count() > max
}

/// The last time `OffsetDateTime` represents.
const LAST_TIME: time::OffsetDateTime = time::PrimitiveDateTime::MAX.assume_utc();

fn required(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty").into());
    }
    if chars_over(value, MAX_ACTOR_LEN) {
        return Err(
            ValidationError::new(field, format!("longer than {MAX_ACTOR_LEN} characters")).into()
        );
    }
    Ok(())
}

fn neutral(text: &str) -> String {
    seclog_core::validate::neutralize(text.to_string())
}

impl SecurityLogger {
    /// Deletes the events older than `cutoff` (and their investigation trails); returns how
    /// many were deleted. Refuses, naming the retention period, when `cutoff` is later than
    /// `now - retention_days`: events inside the retention period are protected and cannot
    /// be deleted by hand. Queued events are committed first.
    pub fn purge_before(&self, cutoff: time::OffsetDateTime) -> Result<u64> {
        let days = self.config().retention_days;
        let protected_from = self.now() - Duration::days(i64::from(days));
        if cutoff > protected_from {
            let from = protected_from
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            return Err(ValidationError::new(
                "before",
                format!(
                    "events newer than {from} are protected by the retention period of {days} \
                     days (retention_days); choose a date on or before it"
                ),
            )
            .into());
        }
        self.flush()?;
        Ok(self.store().purge_events(Some(cutoff), None)?)
    }

    /// Blocks an IP, a network or a user by hand for `duration` (`None`: permanently).
    pub fn add_decision(
        &self,
        scope: Scope,
        value: &str,
        duration: Option<Duration>,
        reason: &str,
        by: &str,
    ) -> Result<Decision> {
        required("by", by)?;
        if let Some(link) = &self.inner.link {
            return crate::engine::ops::add_decision(link, scope, value, duration, reason, by);
        }
        let now = self.now();
        // Stored in canonical form, so lifting by value finds it (`lift_decisions`).
        let value = canonical_value(scope, value)?;
        if let Some(d) = duration {
            if d <= Duration::ZERO {
                return Err(ValidationError::new("duration", "must be positive").into());
            }
        }
        let decision = Decision {
            id: Uuid::now_v7().to_string(),
            scope,
            value,
            kind: DecisionType::Ban,
            origin: "manual".to_string(),
            reason: neutral(&format!("{reason} (by {by})")),
            created_at: now,
            // A duration past the last representable time is as good as permanent.
            until: duration.map(|d| now.checked_add(d).unwrap_or(LAST_TIME)),
            deleted_at: None,
        };
        decision.validate().map_err(|e| ValidationError::new("value", e.message))?;
        self.inner.store.insert_decision(&decision)?;
        self.inner
            .blocklist
            .insert(decision.clone())
            .map_err(|e| ValidationError::new("value", e.message))?;
        self.inner.feed.publish_new(&decision);
        Ok(decision)
    }

    /// Lifts a decision (it stays in the history). Returns it, or `None` for an unknown id.
    pub fn delete_decision(&self, id: &str) -> Result<Option<Decision>> {
        if let Some(link) = &self.inner.link {
            return crate::engine::ops::delete_decision(link, id);
        }
        self.flush()?;
        let lifted = self.inner.store.delete_decision(id, self.now())?;
        self.inner.blocklist.remove(id);
        self.inner.feed.publish_deleted(id);
        Ok(lifted)
    }

    /// Lifts every decision in force that `selection` selects (by scope and value, or the IP
    /// and range decisions covering an address or network: CrowdSec's `cscli decisions delete
    /// --ip|--range|--scope/--value`); they stay in the history. Returns the lifted decisions;
    /// they no longer block from the moment this returns. An empty selection is refused.
    pub fn lift_decisions(&self, selection: &DecisionMatch) -> Result<Vec<Decision>> {
        if selection.is_empty() {
            return Err(ValidationError::new(
                "ip",
                "select decisions by ip, range, scope or value",
            )
            .into());
        }
        if let Some(link) = &self.inner.link {
            return crate::engine::ops::lift_decisions(link, selection);
        }
        // Decisions made by events still queued are stored first, so they are lifted too.
        self.flush()?;
        let lifted = self.inner.store.lift_decisions(selection, self.now())?;
        for d in &lifted {
            self.inner.blocklist.remove(&d.id);
            self.inner.feed.publish_deleted(&d.id);
        }
        Ok(lifted)
    }

    /// Decisions in force now, or with `all` every decision ever made (newest first).
    pub fn decisions(&self, all: bool, limit: usize) -> Result<Vec<Decision>> {
        self.flush()?;
        let active_at = if all { None } else { Some(self.now()) };
        Ok(self.inner.store.list_decisions(active_at, limit)?)
    }

    /// Rows of the `suspicious_ips` table, most recently seen first.
    pub fn suspicious_ips(&self, blocked_only: bool, limit: usize) -> Result<Vec<SuspiciousIp>> {
        self.flush()?;
        let mut rows = self.inner.store.list_suspicious_ips(blocked_only, limit)?;
        // `blocked` reflects decisions in force now (a ban may have expired or been lifted).
        for r in &mut rows {
            r.blocked = self.check_ip(r.ip_address).is_some();
        }
        if blocked_only {
            rows.retain(|r| r.blocked);
        }
        Ok(rows)
    }

    /// Alerts, newest first, optionally of one status.
    pub fn alerts(&self, status: Option<AlertStatus>, limit: usize) -> Result<Vec<SecurityAlert>> {
        self.flush()?;
        Ok(self.inner.store.list_alerts(status, limit)?)
    }

    /// One alert by id.
    pub fn get_alert(&self, alert_id: &str) -> Result<Option<SecurityAlert>> {
        self.flush()?;
        Ok(self.inner.store.get_alert(alert_id)?)
    }

    /// Marks an active alert acknowledged by `by`.
    pub fn acknowledge_alert(
        &self,
        alert_id: &str,
        by: &str,
        note: Option<&str>,
    ) -> Result<SecurityAlert> {
        required("by", by)?;
        self.transition(alert_id, by, AlertStatus::Acknowledged, None, note)
    }

    /// Resolves an active or acknowledged alert with a reason.
    pub fn resolve_alert(
        &self,
        alert_id: &str,
        by: &str,
        resolution: Resolution,
        note: Option<&str>,
    ) -> Result<SecurityAlert> {
        required("by", by)?;
        self.transition(alert_id, by, AlertStatus::Resolved, Some(resolution), note)
    }

    fn transition(
        &self,
        alert_id: &str,
        by: &str,
        to: AlertStatus,
        resolution: Option<Resolution>,
        note: Option<&str>,
    ) -> Result<SecurityAlert> {
        self.flush()?;
        let mut alert = self
            .inner
            .store
            .get_alert(alert_id)?
            .ok_or_else(|| LogError::NotFound(format!("alert {alert_id}")))?;
        let allowed = matches!(
            (alert.status, to),
            (AlertStatus::Active, AlertStatus::Acknowledged)
                | (AlertStatus::Active, AlertStatus::Resolved)
                | (AlertStatus::Acknowledged, AlertStatus::Resolved)
        );
        if !allowed {
            return Err(ValidationError::new(
                "status",
                format!("alert {alert_id} is {}; it cannot become {}", alert.status, to),
            )
            .into());
        }
        let now = self.now();
        let by = neutral(by);
        match to {
            AlertStatus::Acknowledged => {
                alert.acknowledged_by = Some(by.clone());
                alert.acknowledged_at = Some(now);
            }
            AlertStatus::Resolved => {
                alert.resolved_by = Some(by.clone());
                alert.resolved_at = Some(now);
                alert.resolution = resolution;
            }
            AlertStatus::Active => {}
        }
        alert.status = to;
        alert.history.push(AlertTransition {
            status: to,
            by,
            at: now,
            resolution,
            note: note.map(neutral),
        });
        self.inner.store.update_alert(&alert)?;
        Ok(alert)
    }

    fn append_action(
        &self,
        event_id: &str,
        kind: EventActionKind,
        status: Option<EventStatus>,
        text: Option<&str>,
        by: &str,
    ) -> Result<EventAction> {
        required("by", by)?;
        if let Some(t) = text {
            if chars_over(t, MAX_ACTION_TEXT_LEN) {
                return Err(ValidationError::new(
                    "text",
                    format!("longer than {MAX_ACTION_TEXT_LEN} characters"),
                )
                .into());
            }
        }
        self.flush()?;
        let action = EventAction {
            action_id: Uuid::now_v7().to_string(),
            event_id: event_id.to_string(),
            kind,
            status,
            text: text.map(neutral),
            by: neutral(by),
            at: self.now(),
        };
        self.inner.store.append_event_action(&action)?;
        Ok(action)
    }

    /// Records a change of an event's investigation status (the event itself is not changed).
    pub fn set_event_status(
        &self,
        event_id: &str,
        status: EventStatus,
        by: &str,
        note: Option<&str>,
    ) -> Result<EventAction> {
        self.append_action(event_id, EventActionKind::StatusChange, Some(status), note, by)
    }

    /// Adds an investigation note to an event's trail.
    pub fn add_investigation_note(
        &self,
        event_id: &str,
        note: &str,
        by: &str,
    ) -> Result<EventAction> {
        required("note", note)?;
        self.append_action(event_id, EventActionKind::Note, None, Some(note), by)
    }

    /// Records a remediation step taken for an event.
    pub fn add_remediation_action(
        &self,
        event_id: &str,
        action: &str,
        by: &str,
    ) -> Result<EventAction> {
        required("action", action)?;
        self.append_action(event_id, EventActionKind::Remediation, None, Some(action), by)
    }

    /// Escalates an event (status `escalated`) with a reason.
    pub fn escalate_event(&self, event_id: &str, reason: &str, by: &str) -> Result<EventAction> {
        self.append_action(
            event_id,
            EventActionKind::Escalation,
            Some(EventStatus::Escalated),
            Some(reason),
            by,
        )
    }

    /// An event's investigation trail, oldest first.
    pub fn event_trail(&self, event_id: &str) -> Result<Vec<EventAction>> {
        self.flush()?;
        Ok(self.inner.store.event_actions(event_id)?)
    }

    /// The event's current investigation status: the last status recorded in its trail, or the
    /// status it was logged with.
    pub fn event_status(&self, event_id: &str) -> Result<Option<EventStatus>> {
        let Some(ev) = self.get_event(event_id)? else { return Ok(None) };
        let trail = self.event_trail(event_id)?;
        Ok(Some(trail.iter().rev().find_map(|a| a.status).unwrap_or(ev.status)))
    }

    /// The event with its parents, children, correlated events and trail, in one call.
    pub fn related_events(&self, event_id: &str, limit: usize) -> Result<Option<RelatedEvents>> {
        self.flush()?;
        let store = &self.inner.store;
        let Some(event) = store.get_event(event_id)? else { return Ok(None) };
        let mut parents = Vec::new();
        let mut seen: HashSet<String> = HashSet::from([event.event_id.clone()]);
        let mut next = event.parent_event_id.clone();
        while let Some(pid) = next.take() {
            if parents.len() >= limit || !seen.insert(pid.clone()) {
                break; // depth limit, or a cycle in caller-supplied ids
            }
            if let Some(p) = store.get_event(&pid)? {
                next = p.parent_event_id.clone();
                parents.push(p);
            }
        }
        let children = store
            .query_events(
                &EventFilter {
                    parent_event_id: Some(event.event_id.clone()),
                    ..Default::default()
                },
                None,
                limit,
            )?
            .events;
        let correlated = match &event.correlation_id {
            Some(c) => store
                .query_events(
                    &EventFilter { correlation_id: Some(c.clone()), ..Default::default() },
                    None,
                    limit,
                )?
                .events
                .into_iter()
                .filter(|e| e.event_id != event.event_id)
                .collect(),
            None => Vec::new(),
        };
        let trail = store.event_actions(event_id)?;
        Ok(Some(RelatedEvents { event, parents, children, correlated, trail }))
    }
}
