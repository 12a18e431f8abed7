"""seclog: security event logging and real-time monitoring, on a Rust engine.

The spec's API (also importable as ``security.logging``)::

    from seclog import create_security_logger, log_auth_attempt
    security_logger = create_security_logger({"db_file": "security_events.db"})
    log_auth_attempt(security_logger, user_id="u1", success=False, ip_address="192.0.2.1")
"""

from seclog._native import (
    CommitTimeoutError,
    LoggerClosedError,
    NotFoundError,
    QueueFullError,
    SeclogError,
)
from seclog._native import detect as _detect
from seclog._logger import (
    SecurityLogger,
    create_security_logger,
    log_account_lock,
    log_admin_action,
    log_api_access,
    log_auth_attempt,
    log_authorization_failure,
    log_config_change,
    log_data_access,
    log_file_upload,
    log_input_validation_violation,
    log_mfa_attempt,
    log_password_event,
    log_payment_event,
    log_rate_limiting_trigger,
    log_session_event,
)
from seclog._types import (
    AlertStatus,
    SecurityAlert,
    SecurityEvent,
    SecurityEventSeverity,
    SecurityEventStatus,
    SecurityEventType,
)
from seclog.flask_integration import integrate_with_flask

#: The spec's class name for the logger.
SecurityEventLogger = SecurityLogger


def detect(text: str) -> list:
    """Runs the attack detector: a list of {class, rule, confidence, oversized}."""
    import json

    return json.loads(_detect(text))


__all__ = [
    "AlertStatus",
    "CommitTimeoutError",
    "LoggerClosedError",
    "NotFoundError",
    "QueueFullError",
    "SeclogError",
    "SecurityAlert",
    "SecurityEvent",
    "SecurityEventLogger",
    "SecurityEventSeverity",
    "SecurityEventStatus",
    "SecurityEventType",
    "SecurityLogger",
    "create_security_logger",
    "detect",
    "integrate_with_flask",
    "log_account_lock",
    "log_admin_action",
    "log_api_access",
    "log_auth_attempt",
    "log_authorization_failure",
    "log_config_change",
    "log_data_access",
    "log_file_upload",
    "log_input_validation_violation",
    "log_mfa_attempt",
    "log_password_event",
    "log_payment_event",
    "log_rate_limiting_trigger",
    "log_session_event",
]
