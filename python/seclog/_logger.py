"""The Python face of the Rust engine: SecurityLogger and the spec's helper functions."""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import os
import sys
import weakref
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from seclog import _native
from seclog._types import (
    SecurityAlert,
    SecurityEvent,
    SecurityEventStatus,
    event_input,
)

Details = Optional[Mapping[str, Any]]


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default)


def _details(details: Details) -> Optional[str]:
    if details is None:
        return None
    if not isinstance(details, Mapping):
        raise ValueError(f"details: must be a dict, got {type(details).__name__}")
    return _dumps(dict(details))


def _config_json(config: Optional[Mapping[str, Any]]) -> Optional[str]:
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise TypeError(f"config: expected a dict, got {type(config).__name__}")
    cfg = dict(config)
    if "alert_rules" in cfg:  # the spec's name for the rule table
        if "rules" in cfg:
            raise ValueError("config: give either 'alert_rules' or 'rules', not both")
        cfg["rules"] = cfg.pop("alert_rules")
    return _dumps(cfg)


def _filter_value(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(_filter_value(v) for v in value)
    return str(value)


def _filters(filters: Optional[Mapping[str, Any]]) -> List[Tuple[str, str]]:
    if not filters:
        return []
    if not isinstance(filters, Mapping):
        raise TypeError(f"filters: expected a dict, got {type(filters).__name__}")
    return [(str(k), _filter_value(v)) for k, v in filters.items() if v is not None]


def _mark_request_logged() -> None:
    """Inside a Flask request, remember that this request already logged an event, so the
    Flask integration does not log its error response a second time."""
    flask = sys.modules.get("flask")
    if flask is not None and flask.has_request_context():
        flask.g._seclog_logged = True


def _seconds(duration: Union[None, int, float, _dt.timedelta]) -> Optional[int]:
    if duration is None:
        return None
    if isinstance(duration, _dt.timedelta):
        duration = duration.total_seconds()
    secs = int(duration)
    if secs <= 0:
        raise ValueError("duration: must be positive")
    return secs


# Loggers not closed yet: closed at interpreter exit, so that what they logged is committed
# and the database file alone holds it (objects alive at exit are not always finalized).
_open_loggers: "weakref.WeakSet[SecurityLogger]" = weakref.WeakSet()


@atexit.register
def _close_open_loggers() -> None:
    for logger in list(_open_loggers):
        logger.close()


def _after_fork_in_child() -> None:
    # A logger created before the fork works in the child through a client of the engine
    # the parent runs; told here, so that its block checks need no process id read.
    for logger in list(_open_loggers):
        logger._native.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SecurityLogger:
    """A security logger over the Rust engine. Safe to share between threads; every call
    releases the GIL while the engine works. Use as a context manager to close it; loggers
    still open at interpreter exit are closed then."""

    def __init__(self, config: Optional[Mapping[str, Any]] = None) -> None:
        self._native = _native.Logger(_config_json(config))
        _open_loggers.add(self)

    # -- logging -------------------------------------------------------------------------
    def log_event(self, event: Union[SecurityEvent, Mapping[str, Any]]) -> str:
        """Logs a SecurityEvent (or a dict of its fields); returns the event id. The engine
        validates, redacts and scores it (a given ``risk_score`` is ignored)."""
        event_id = self._native.log_event(_dumps(event_input(event)))
        _mark_request_logged()
        return event_id

    def log_event_checked(self, event: Union[SecurityEvent, Mapping[str, Any]]) -> Tuple[str, bool]:
        """Like log_event; also tells whether the event's IP or user was already blocked."""
        result = self._native.log_event_checked(_dumps(event_input(event)))
        _mark_request_logged()
        return result

    def flush(self) -> None:
        """Waits until everything logged before is committed."""
        self._native.flush()

    def close(self) -> None:
        """Commits what is queued, stops the writer and checkpoints the database: the
        database file alone then holds every event (no data left in its -wal file).
        Idempotent."""
        self._native.close()
        _open_loggers.discard(self)

    def backup(self, dest: Union[str, "os.PathLike[str]"]) -> None:
        """Writes a consistent copy of the database to the new file ``dest`` while logging
        goes on (SQLite's online backup); an existing file is refused."""
        self._native.backup(os.fspath(dest))

    def __enter__(self) -> "SecurityLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------------
    def get_events(
        self, filters: Optional[Mapping[str, Any]] = None, limit: int = 100
    ) -> List[SecurityEvent]:
        """Events newest first. ``filters`` keys: event_type (one, a list, or comma
        separated), min_severity, ip_address, cidr, user_id, session_id, correlation_id,
        status, parent_event_id, start_time, end_time (RFC 3339 text or datetime)."""
        rows = json.loads(self._native.get_events(_filters(filters), int(limit)))
        return [SecurityEvent.from_dict(r) for r in rows]

    def query(
        self,
        filters: Optional[Mapping[str, Any]] = None,
        cursor: Optional[str] = None,
        limit: int = 100,
    ) -> Tuple[List[SecurityEvent], Optional[str]]:
        """One page of events and the cursor of the next page (None at the end)."""
        page = json.loads(self._native.query(_filters(filters), cursor, int(limit)))
        return [SecurityEvent.from_dict(r) for r in page["events"]], page.get("next_cursor")

    def get_event(self, event_id: str) -> Optional[SecurityEvent]:
        """One event by id, or None."""
        raw = self._native.get_event(event_id)
        return None if raw is None else SecurityEvent.from_dict(json.loads(raw))

    def get_statistics(self) -> Dict[str, Any]:
        """total_events, recent_activity_24h, blocked_ips, events_by_type,
        events_by_severity, top_ips, alerts_by_status, suspicious_ips, events_dropped."""
        return json.loads(self._native.get_statistics())

    # -- blocking decisions --------------------------------------------------------------------
    def is_blocked(self, ip_address: str) -> bool:
        """Whether a decision in force blocks this client address (lock-free)."""
        return self._native.check_ip(ip_address) is not None

    def check_ip(self, ip_address: str) -> Optional[Dict[str, Any]]:
        """The decision blocking this address now, or None."""
        raw = self._native.check_ip(ip_address)
        return None if raw is None else json.loads(raw)

    def check_user(self, user_id: str) -> Optional[Dict[str, Any]]:
        """The decision locking this account now, or None."""
        raw = self._native.check_user(user_id)
        return None if raw is None else json.loads(raw)

    def get_decisions(self, all: bool = False, limit: int = 100) -> List[Dict[str, Any]]:
        """Decisions in force (or every decision with ``all=True``), newest first."""
        return json.loads(self._native.decisions(bool(all), int(limit)))

    def add_decision(
        self,
        value: str,
        scope: str = "ip",
        duration: Union[None, int, float, _dt.timedelta] = None,
        reason: str = "manual block",
        by: str = "python",
    ) -> Dict[str, Any]:
        """Blocks an IP, a network (``scope="range"``) or a user for ``duration`` (seconds or
        timedelta; None: permanently)."""
        return json.loads(self._native.add_decision(scope, value, _seconds(duration), reason, by))

    def delete_decision(self, decision_id: str) -> Optional[Dict[str, Any]]:
        """Lifts a decision; returns it, or None for an unknown id."""
        raw = self._native.delete_decision(decision_id)
        return None if raw is None else json.loads(raw)

    def get_suspicious_ips(self, blocked_only: bool = False, limit: int = 100) -> List[Dict[str, Any]]:
        """Rows of the suspicious IP table, most recently seen first."""
        return json.loads(self._native.suspicious_ips(bool(blocked_only), int(limit)))

    # -- alerts ------------------------------------------------------------------------------
    def get_alerts(self, status: Optional[str] = None, limit: int = 100) -> List[SecurityAlert]:
        """Alerts newest first, optionally of one status (active, acknowledged, resolved)."""
        st = None if status is None else str(getattr(status, "value", status))
        return [SecurityAlert.from_dict(a) for a in json.loads(self._native.alerts(st, int(limit)))]

    def get_alert(self, alert_id: str) -> Optional[SecurityAlert]:
        """One alert by id, or None."""
        raw = self._native.get_alert(alert_id)
        return None if raw is None else SecurityAlert.from_dict(json.loads(raw))

    def acknowledge_alert(self, alert_id: str, by: str, note: Optional[str] = None) -> SecurityAlert:
        """Marks an active alert acknowledged."""
        return SecurityAlert.from_dict(json.loads(self._native.acknowledge_alert(alert_id, by, note)))

    def resolve_alert(
        self,
        alert_id: str,
        by: str,
        resolution: str = "true_positive",
        note: Optional[str] = None,
    ) -> SecurityAlert:
        """Resolves an alert (resolution: true_positive, false_positive, benign, ...)."""
        raw = self._native.resolve_alert(alert_id, by, resolution, note)
        return SecurityAlert.from_dict(json.loads(raw))

    # -- investigation ---------------------------------------------------------------------------
    def set_event_status(
        self, event_id: str, status: Union[str, SecurityEventStatus], by: str, note: Optional[str] = None
    ) -> Dict[str, Any]:
        """Records an investigation status change (appended to the event's trail)."""
        st = str(getattr(status, "value", status))
        return json.loads(self._native.set_event_status(event_id, st, by, note))

    def add_investigation_note(self, event_id: str, note: str, by: str) -> Dict[str, Any]:
        """Adds a note to the event's investigation trail."""
        return json.loads(self._native.add_investigation_note(event_id, note, by))

    def add_remediation_action(self, event_id: str, action: str, by: str) -> Dict[str, Any]:
        """Records a remediation step taken for the event."""
        return json.loads(self._native.add_remediation_action(event_id, action, by))

    def escalate_event(self, event_id: str, reason: str, by: str) -> Dict[str, Any]:
        """Escalates the event (status escalated) with a reason."""
        return json.loads(self._native.escalate_event(event_id, reason, by))

    def get_event_trail(self, event_id: str) -> List[Dict[str, Any]]:
        """The event's investigation trail, oldest first."""
        return json.loads(self._native.event_trail(event_id))

    def get_event_status(self, event_id: str) -> Optional[SecurityEventStatus]:
        """The event's current investigation status, or None for an unknown event."""
        raw = self._native.event_status(event_id)
        return None if raw is None else SecurityEventStatus(raw)

    def get_related_events(self, event_id: str, limit: int = 100) -> Optional[Dict[str, Any]]:
        """{event, parents, children, correlated, trail} (events as SecurityEvent), or None."""
        raw = self._native.related_events(event_id, int(limit))
        if raw is None:
            return None
        rel = json.loads(raw)
        rel["event"] = SecurityEvent.from_dict(rel["event"])
        for k in ("parents", "children", "correlated"):
            rel[k] = [SecurityEvent.from_dict(e) for e in rel[k]]
        return rel

    # -- internals -----------------------------------------------------------------------------
    def queue_depth(self) -> int:
        """Events waiting for the writer."""
        return self._native.queue_depth()

    def writer_stats(self) -> Dict[str, int]:
        """committed, batches, dropped, failed."""
        committed, batches, dropped, failed = self._native.writer_stats()
        return {"committed": committed, "batches": batches, "dropped": dropped, "failed": failed}

    def get_rules(self) -> List[Dict[str, Any]]:
        """The rules in force."""
        return json.loads(self._native.rules())


def create_security_logger(config: Optional[Mapping[str, Any]] = None) -> SecurityLogger:
    """Creates a security logger. ``config`` keys: log_file, db_file (default
    ``security_events.db`` in the working directory), max_events, retention_days,
    enable_real_time_monitoring, enable_alerting, alert_rules (or rules), and every other key
    of the Rust ``Config``. An unknown key raises ValueError naming it."""
    return SecurityLogger(config)


def _done(event_id: str) -> str:
    _mark_request_logged()
    return event_id


def log_auth_attempt(
    security_logger: SecurityLogger,
    user_id: str,
    success: bool,
    ip_address: Optional[str] = None,
    user_agent: Optional[str] = None,
    details: Details = None,
) -> str:
    """Logs a login attempt (auth_success / auth_failure); returns the event id."""
    n = security_logger._native
    return _done(n.log_auth_attempt(user_id, bool(success), ip_address, user_agent, _details(details)))


def log_authorization_failure(
    security_logger: SecurityLogger,
    user_id: str,
    resource: str,
    ip_address: Optional[str] = None,
    user_agent: Optional[str] = None,
    details: Details = None,
) -> str:
    """Logs a denied access to ``resource``; returns the event id."""
    n = security_logger._native
    return _done(
        n.log_authorization_failure(user_id, resource, ip_address, user_agent, _details(details))
    )


def log_input_validation_violation(
    security_logger: SecurityLogger,
    input_data: str,
    violation_type: str,
    ip_address: Optional[str] = None,
    user_agent: Optional[str] = None,
    details: Details = None,
) -> str:
    """Logs rejected input; an attack type (xss_attempt, sql_injection_attempt...) named by
    ``violation_type`` or found by the detector becomes the event type."""
    n = security_logger._native
    vt = str(getattr(violation_type, "value", violation_type))
    return _done(
        n.log_input_validation_violation(str(input_data), vt, ip_address, user_agent, _details(details))
    )


def log_rate_limiting_trigger(
    security_logger: SecurityLogger,
    ip_address: str,
    endpoint: str,
    limit_type: str,
    details: Details = None,
) -> str:
    """Logs a tripped rate limit; returns the event id."""
    n = security_logger._native
    return _done(n.log_rate_limiting_trigger(ip_address, endpoint, limit_type, _details(details)))


def log_session_event(
    security_logger: SecurityLogger,
    kind: str,
    user_id: str,
    session_id: Optional[str] = None,
    ip_address: Optional[str] = None,
    details: Details = None,
) -> str:
    """Session events: ``kind`` is logout, expired or hijacked (the session id is stored
    only as a keyed hash)."""
    n = security_logger._native
    return _done(n.log_session_event(kind, user_id, session_id, ip_address, _details(details)))


def log_mfa_attempt(
    security_logger: SecurityLogger,
    user_id: str,
    success: bool,
    method: str,
    ip_address: Optional[str] = None,
    details: Details = None,
) -> str:
    """Second-factor checks (auth_mfa_success / auth_mfa_failure)."""
    n = security_logger._native
    return _done(n.log_mfa_attempt(user_id, bool(success), method, ip_address, _details(details)))


def log_password_event(
    security_logger: SecurityLogger,
    user_id: str,
    reset: bool = False,
    ip_address: Optional[str] = None,
    details: Details = None,
) -> str:
    """Password change (reset=False) or reset."""
    n = security_logger._native
    return _done(n.log_password_event(user_id, bool(reset), ip_address, _details(details)))


def log_account_lock(
    security_logger: SecurityLogger,
    user_id: str,
    locked: bool,
    reason: str,
    details: Details = None,
) -> str:
    """Account locked (locked=True) or unlocked."""
    n = security_logger._native
    return _done(n.log_account_lock(user_id, bool(locked), reason, _details(details)))


def log_file_upload(
    security_logger: SecurityLogger,
    user_id: Optional[str],
    filename: str,
    size_bytes: int,
    outcome: str = "accepted",
    ip_address: Optional[str] = None,
    details: Details = None,
) -> str:
    """File uploads: outcome is accepted, rejected or malicious."""
    n = security_logger._native
    return _done(
        n.log_file_upload(user_id, filename, int(size_bytes), outcome, ip_address, _details(details))
    )


def log_api_access(
    security_logger: SecurityLogger,
    client_id: str,
    endpoint: str,
    outcome: str = "granted",
    ip_address: Optional[str] = None,
    details: Details = None,
) -> str:
    """API calls: outcome is granted, denied, rate_limited or signature_invalid."""
    n = security_logger._native
    return _done(n.log_api_access(client_id, endpoint, outcome, ip_address, _details(details)))


def log_payment_event(
    security_logger: SecurityLogger,
    user_id: str,
    amount: Union[str, int, float],
    currency: str,
    outcome: str = "processed",
    ip_address: Optional[str] = None,
    details: Details = None,
) -> str:
    """Payments: outcome is processed, failed or fraud_detected (amount kept as text)."""
    n = security_logger._native
    return _done(
        n.log_payment_event(user_id, str(amount), currency, outcome, ip_address, _details(details))
    )


def log_data_access(
    security_logger: SecurityLogger,
    user_id: str,
    resource: str,
    action: str = "access",
    record_count: Optional[int] = None,
    ip_address: Optional[str] = None,
    details: Details = None,
) -> str:
    """Data events: action is access, modification, deletion, export or breach_attempt."""
    n = security_logger._native
    return _done(
        n.log_data_access(user_id, resource, action, record_count, ip_address, _details(details))
    )


def log_admin_action(
    security_logger: SecurityLogger,
    admin_id: str,
    action: str,
    kind: str = "action",
    target: Optional[str] = None,
    ip_address: Optional[str] = None,
    details: Details = None,
) -> str:
    """Admin events: kind is action, access or escalation."""
    n = security_logger._native
    return _done(n.log_admin_action(admin_id, kind, action, target, ip_address, _details(details)))


def log_config_change(
    security_logger: SecurityLogger,
    user_id: str,
    setting: str,
    security_relevant: bool = True,
    details: Details = None,
) -> str:
    """Configuration changes (security_ or system_configuration_change)."""
    n = security_logger._native
    return _done(n.log_config_change(user_id, setting, bool(security_relevant), _details(details)))
