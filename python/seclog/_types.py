"""Enums and dataclasses of the spec: SecurityEventType, SecurityEventSeverity,
SecurityEventStatus, SecurityEvent, SecurityAlert.

The enums mix in ``str`` so that a member equals its value (``SecurityEventType.AUTH_FAILURE ==
"auth_failure"``) and serialises to JSON as its value; ``.value`` and ``.name`` work as in the
spec. The member lists mirror the Rust engine (a test checks they match).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional


class _StrEnum(str, Enum):
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class SecurityEventType(_StrEnum):
    """Types of security events (the spec's 49)."""

    AUTH_SUCCESS = "auth_success"
    AUTH_FAILURE = "auth_failure"
    AUTH_LOGOUT = "auth_logout"
    AUTH_SESSION_EXPIRED = "auth_session_expired"
    AUTH_SESSION_HIJACKED = "auth_session_hijacked"
    AUTH_MFA_SUCCESS = "auth_mfa_success"
    AUTH_MFA_FAILURE = "auth_mfa_failure"
    AUTH_PASSWORD_CHANGE = "auth_password_change"
    AUTH_PASSWORD_RESET = "auth_password_reset"
    AUTH_ACCOUNT_LOCKED = "auth_account_locked"
    AUTH_ACCOUNT_UNLOCKED = "auth_account_unlocked"
    AUTHORIZATION_FAILURE = "authorization_failure"
    AUTHORIZATION_GRANTED = "authorization_granted"
    AUTHORIZATION_REVOKED = "authorization_revoked"
    AUTHORIZATION_ESCALATION = "authorization_escalation"
    INPUT_VALIDATION_VIOLATION = "input_validation_violation"
    INPUT_SANITIZATION = "input_sanitization"
    INPUT_REJECTED = "input_rejected"
    RATE_LIMITING_TRIGGER = "rate_limiting_trigger"
    RATE_LIMITING_BLOCKED = "rate_limiting_blocked"
    RATE_LIMITING_RESET = "rate_limiting_reset"
    SQL_INJECTION_ATTEMPT = "sql_injection_attempt"
    XSS_ATTEMPT = "xss_attempt"
    CSRF_ATTEMPT = "csrf_attempt"
    PATH_TRAVERSAL_ATTEMPT = "path_traversal_attempt"
    COMMAND_INJECTION_ATTEMPT = "command_injection_attempt"
    FILE_UPLOAD_ATTEMPT = "file_upload_attempt"
    FILE_UPLOAD_REJECTED = "file_upload_rejected"
    FILE_UPLOAD_MALICIOUS = "file_upload_malicious"
    API_ACCESS = "api_access"
    API_ACCESS_DENIED = "api_access_denied"
    API_RATE_LIMITED = "api_rate_limited"
    API_SIGNATURE_INVALID = "api_signature_invalid"
    PAYMENT_PROCESSING = "payment_processing"
    PAYMENT_FAILURE = "payment_failure"
    PAYMENT_FRAUD_DETECTED = "payment_fraud_detected"
    DATA_ACCESS = "data_access"
    DATA_MODIFICATION = "data_modification"
    DATA_DELETION = "data_deletion"
    DATA_EXPORT = "data_export"
    DATA_BREACH_ATTEMPT = "data_breach_attempt"
    ADMIN_ACTION = "admin_action"
    ADMIN_ACCESS = "admin_access"
    ADMIN_ESCALATION = "admin_escalation"
    SYSTEM_CONFIGURATION_CHANGE = "system_configuration_change"
    SECURITY_CONFIGURATION_CHANGE = "security_configuration_change"
    SUSPICIOUS_ACTIVITY = "suspicious_activity"
    THREAT_DETECTED = "threat_detected"
    INCIDENT_REPORTED = "incident_reported"


class SecurityEventSeverity(_StrEnum):
    """How serious an event is."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class SecurityEventStatus(_StrEnum):
    """Where an event stands in an investigation."""

    DETECTED = "detected"
    INVESTIGATING = "investigating"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"


class AlertStatus(_StrEnum):
    """Where an alert stands: active -> acknowledged -> resolved."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


def _enum(cls: Any, value: Any) -> Any:
    if value is None or isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        return value  # a value this version does not know: kept as text


@dataclass
class SecurityEvent:
    """Security event data structure (the spec's fields and defaults)."""

    event_id: str
    event_type: SecurityEventType
    severity: SecurityEventSeverity
    timestamp: str
    user_id: Optional[str] = None
    session_id: Optional[str] = None
    ip_address: Optional[str] = None
    user_agent: Optional[str] = None
    request_method: Optional[str] = None
    request_url: Optional[str] = None
    request_headers: Optional[Dict[str, str]] = None
    request_body: Optional[str] = None
    response_status: Optional[int] = None
    response_body: Optional[str] = None
    details: Dict[str, Any] = field(default_factory=dict)
    threat_level: Optional[str] = None
    risk_score: Optional[float] = None
    indicators: List[str] = field(default_factory=list)
    status: SecurityEventStatus = SecurityEventStatus.DETECTED
    investigation_notes: List[str] = field(default_factory=list)
    remediation_actions: List[str] = field(default_factory=list)
    compliance_tags: List[str] = field(default_factory=list)
    audit_trail: List[str] = field(default_factory=list)
    source: Optional[str] = None
    correlation_id: Optional[str] = None
    parent_event_id: Optional[str] = None

    def __getitem__(self, key: str) -> Any:
        """``event["field"]`` works like ``event.field`` (for code written against dict rows)."""
        if key not in _EVENT_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """Like ``dict.get``."""
        return getattr(self, key, default) if key in _EVENT_FIELDS else default

    def to_dict(self) -> Dict[str, Any]:
        """The event as a plain dict with enum values as text."""
        out = dataclasses.asdict(self)
        for k in ("event_type", "severity", "status"):
            v = out[k]
            out[k] = v.value if isinstance(v, Enum) else v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SecurityEvent":
        """Builds an event from the engine's JSON shape (unknown keys are ignored)."""
        kw = {k: data[k] for k in _EVENT_FIELDS if k in data}
        kw.setdefault("event_id", "")
        kw.setdefault("timestamp", "")
        kw["event_type"] = _enum(SecurityEventType, kw.get("event_type"))
        kw["severity"] = _enum(SecurityEventSeverity, kw.get("severity"))
        if kw.get("status") is None:
            kw.pop("status", None)
        else:
            kw["status"] = _enum(SecurityEventStatus, kw["status"])
        for k in ("details",):
            if kw.get(k) is None:
                kw[k] = {}
        for k in ("indicators", "investigation_notes", "remediation_actions", "compliance_tags",
                  "audit_trail"):
            if kw.get(k) is None:
                kw[k] = []
        return cls(**kw)


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(SecurityEvent))


@dataclass
class SecurityAlert:
    """Security alert data structure: the spec's fields, then the rule that raised it, the
    key (IP, user...) it was raised for, the resolution and the lifecycle history."""

    alert_id: str
    title: str
    description: str
    severity: SecurityEventSeverity
    timestamp: str
    event_ids: List[str] = field(default_factory=list)
    threat_indicators: List[str] = field(default_factory=list)
    recommended_actions: List[str] = field(default_factory=list)
    status: str = "active"
    acknowledged_by: Optional[str] = None
    acknowledged_at: Optional[str] = None
    resolved_by: Optional[str] = None
    resolved_at: Optional[str] = None
    rule: Optional[str] = None
    key: Optional[str] = None
    resolution: Optional[str] = None
    history: List[Dict[str, Any]] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        """``alert["field"]`` works like ``alert.field``."""
        if key not in _ALERT_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> Dict[str, Any]:
        """The alert as a plain dict with enum values as text."""
        out = dataclasses.asdict(self)
        sev = out["severity"]
        out["severity"] = sev.value if isinstance(sev, Enum) else sev
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SecurityAlert":
        """Builds an alert from the engine's JSON shape (unknown keys are ignored)."""
        kw = {k: data[k] for k in _ALERT_FIELDS if k in data and data[k] is not None}
        kw["severity"] = _enum(SecurityEventSeverity, kw.get("severity"))
        return cls(**kw)


_ALERT_FIELDS = tuple(f.name for f in dataclasses.fields(SecurityAlert))


def _timestamp(value: Any) -> Optional[str]:
    """RFC 3339 text for a timestamp given as datetime or text; naive times are UTC
    (``datetime.utcnow().isoformat()`` is what code written for the spec passes)."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.isoformat()
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # the engine names the field in its error
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=_dt.timezone.utc).isoformat()
        return value
    raise TypeError(f"timestamp: expected str or datetime, got {type(value).__name__}")


def event_input(event: Any) -> Dict[str, Any]:
    """The engine's input shape for a SecurityEvent or a dict of its fields."""
    if isinstance(event, SecurityEvent):
        data = event.to_dict()
    elif isinstance(event, Mapping):
        data = dict(event)
    else:
        raise TypeError(f"event: expected SecurityEvent or dict, got {type(event).__name__}")
    for k in ("event_type", "severity", "status"):
        if isinstance(data.get(k), Enum):
            data[k] = data[k].value
    if not data.get("event_id"):
        data.pop("event_id", None)
    if "timestamp" in data:
        data["timestamp"] = _timestamp(data["timestamp"])
    return {k: v for k, v in data.items() if v is not None}
