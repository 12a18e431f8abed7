"""Every Python example of the spec, verbatim, then checks of what it stored."""

import os
import shutil
from dataclasses import MISSING, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import seclog
from security.logging import (
    SecurityAlert,
    SecurityEvent,
    SecurityEventSeverity,
    SecurityEventStatus,
    SecurityEventType,
)

from spec_blocks import SPEC_PYTHON_BLOCKS

INIT = '''
from security.logging import create_security_logger

# Create security logger with default configuration
security_logger = create_security_logger()

# Or with custom configuration
config = {
    'log_file': '/var/log/mingus/security.log',
    'db_file': '/var/lib/mingus/security_events.db',
    'max_events': 100000,
    'retention_days': 90,
    'enable_real_time_monitoring': True,
    'enable_alerting': True
}
security_logger = create_security_logger(config)
'''

AUTH = '''
from security.logging import log_auth_attempt

# Log successful authentication
event_id = log_auth_attempt(
    security_logger,
    user_id="user123",
    success=True,
    ip_address="192.168.1.100",
    user_agent="Mozilla/5.0...",
    details={'login_method': 'password', 'mfa_used': True}
)

# Log failed authentication
event_id = log_auth_attempt(
    security_logger,
    user_id="user123",
    success=False,
    ip_address="192.168.1.100",
    user_agent="Mozilla/5.0...",
    details={'failed_attempts': 3, 'account_locked': True}
)
'''

AUTHZ = '''
from security.logging import log_authorization_failure

event_id = log_authorization_failure(
    security_logger,
    user_id="user123",
    resource="/admin/users",
    ip_address="192.168.1.100",
    user_agent="Mozilla/5.0...",
    details={'required_role': 'admin', 'user_role': 'user'}
)
'''

INPUT = '''
from security.logging import log_input_validation_violation

event_id = log_input_validation_violation(
    security_logger,
    input_data="<script>alert('xss')</script>",
    violation_type="xss_attempt",
    ip_address="192.168.1.100",
    user_agent="Mozilla/5.0...",
    details={'field': 'comment', 'validation_rule': 'no_html_tags'}
)
'''

RATE = '''
from security.logging import log_rate_limiting_trigger

event_id = log_rate_limiting_trigger(
    security_logger,
    ip_address="192.168.1.100",
    endpoint="/api/login",
    limit_type="authentication_attempts",
    details={'limit': 5, 'window': 300, 'current_count': 6}
)
'''

QUERY = '''
# Get recent security events
events = security_logger.get_events(limit=100)

# Get events with filters
filters = {
    'event_type': 'auth_failure',
    'ip_address': '192.168.1.100',
    'start_time': '2025-01-01T00:00:00Z',
    'end_time': '2025-01-02T00:00:00Z'
}
events = security_logger.get_events(filters=filters, limit=50)

# Get security statistics
stats = security_logger.get_statistics()
print(f"Total events: {stats['total_events']}")
print(f"Recent activity (24h): {stats['recent_activity_24h']}")
print(f"Blocked IPs: {stats['blocked_ips']}")
'''

FLASK = '''
from flask import Flask
from security.logging import integrate_with_flask, create_security_logger

app = Flask(__name__)
security_logger = create_security_logger()

# Integrate security logging with Flask
integrate_with_flask(app, security_logger)

# Flask will automatically log:
# - Authentication attempts (401 responses)
# - Authorization failures (403 responses)
# - Rate limiting triggers (429 responses)
# - Input validation violations (400 responses)
'''

ALERT_RULES = '''
alert_rules = {
    'high_failure_rate': {
        'threshold': 5,
        'window': 300,  # 5 minutes
        'event_types': [SecurityEventType.AUTH_FAILURE],
        'action': 'block_ip'
    },
    'suspicious_activity': {
        'threshold': 10,
        'window': 600,  # 10 minutes
        'event_types': [SecurityEventType.SUSPICIOUS_ACTIVITY],
        'action': 'alert'
    },
    'critical_violations': {
        'threshold': 1,
        'window': 60,  # 1 minute
        'event_types': [SecurityEventType.SQL_INJECTION_ATTEMPT, SecurityEventType.XSS_ATTEMPT],
        'action': 'immediate_block'
    }
}
'''

USAGE = [INIT, AUTH, AUTHZ, INPUT, RATE, QUERY, FLASK]


def spec_blocks():
    return SPEC_PYTHON_BLOCKS


def test_the_copies_are_verbatim():
    """Each block exec'd below is character for character a block of the spec."""
    blocks = [b.strip() for b in spec_blocks()]
    for copy in USAGE + [ALERT_RULES]:
        assert copy.strip() in blocks


@pytest.fixture
def mingus_dirs():
    """The config example writes under /var/log/mingus and /var/lib/mingus: remove what it
    creates (only directories that did not exist before)."""
    dirs = [Path("/var/log/mingus"), Path("/var/lib/mingus")]
    existed = {d: d.exists() for d in dirs}
    yield dirs
    for d in dirs:
        if not existed[d]:
            shutil.rmtree(d, ignore_errors=True)


def test_usage_examples_run_unchanged_and_store_what_they_say(workdir, mingus_dirs, capsys):
    ns: Dict[str, Any] = {"__name__": "spec_example"}
    exec(INIT, ns)
    first_default = Path("security_events.db")
    assert first_default.exists(), "default logger creates security_events.db in the cwd"
    logger = ns["security_logger"]
    for code in (AUTH, AUTHZ, INPUT, RATE):
        exec(code, ns)
        assert isinstance(ns["event_id"], str) and len(ns["event_id"]) == 36
    exec(QUERY, ns)
    out = capsys.readouterr().out
    assert "Total events: 5" in out
    assert "Recent activity (24h): 5" in out
    # the xss attempt from 192.168.1.100 triggered critical_violations -> immediate block
    assert "Blocked IPs: 1" in out
    assert ns["events"] == []  # the filter's window is January 2025

    events = logger.get_events(limit=100)
    types = [e.event_type for e in events]
    assert sorted(t.value for t in types) == sorted(
        ["auth_success", "auth_failure", "authorization_failure", "xss_attempt", "rate_limiting_trigger"]
    )
    by_type = {e.event_type: e for e in events}
    ok = by_type[SecurityEventType.AUTH_SUCCESS]
    assert ok.user_id == "user123" and ok.ip_address == "192.168.1.100"
    assert ok.user_agent == "Mozilla/5.0..."
    assert ok.details == {"login_method": "password", "mfa_used": True}
    fail = by_type[SecurityEventType.AUTH_FAILURE]
    assert fail.details["failed_attempts"] == 3 and fail["severity"] == SecurityEventSeverity.MEDIUM
    authz = by_type[SecurityEventType.AUTHORIZATION_FAILURE]
    assert authz.details["resource"] == "/admin/users" and authz.details["required_role"] == "admin"
    xss = by_type[SecurityEventType.XSS_ATTEMPT]
    assert xss.details["field"] == "comment" and xss.details["violation_type"] == "xss_attempt"
    rate = by_type[SecurityEventType.RATE_LIMITING_TRIGGER]
    assert rate.details["endpoint"] == "/api/login" and rate.details["current_count"] == 6
    for e in events:
        assert e.status == SecurityEventStatus.DETECTED
        assert 0 < e.risk_score <= 10

    stats = logger.get_statistics()
    assert stats["events_by_type"]["auth_failure"] == 1
    assert logger.is_blocked("192.168.1.100")
    assert any(a.rule == "critical_violations" for a in logger.get_alerts())
    logger.flush()
    assert Path("/var/lib/mingus/security_events.db").exists()
    assert Path("/var/log/mingus/security.log").stat().st_size > 0

    # the filter example with a window that contains the events finds the failure
    found = logger.get_events(
        filters={"event_type": "auth_failure", "ip_address": "192.168.1.100"}, limit=50
    )
    assert [e.event_id for e in found] == [fail.event_id]
    logger.close()

    exec(FLASK, ns)
    app = ns["app"]
    assert app.extensions["seclog"] is ns["security_logger"]
    ns["security_logger"].close()


def test_alert_rules_example_configures_the_engine(workdir):
    ns: Dict[str, Any] = {"SecurityEventType": SecurityEventType}
    exec(ALERT_RULES, ns)
    lg = seclog.create_security_logger({"db_file": "r.db", "alert_rules": ns["alert_rules"]})
    rules = {r["name"]: r for r in lg.get_rules()}
    assert rules["high_failure_rate"]["threshold"] == 5
    assert rules["high_failure_rate"]["window_secs"] == 300
    assert rules["critical_violations"]["action"] == "immediate_block"
    assert rules["critical_violations"]["event_types"] == ["sql_injection_attempt", "xss_attempt"]
    lg.close()


def _spec_block(start: str) -> str:
    return next(b for b in spec_blocks() if b.lstrip().startswith(start))


def test_enum_and_dataclass_definitions_match_the_spec():
    ns: Dict[str, Any] = {
        "Enum": Enum, "dataclass": dataclass, "field": field, "Optional": Optional,
        "Dict": Dict, "List": List, "Any": Any,
        "SecurityEventType": SecurityEventType, "SecurityEventSeverity": SecurityEventSeverity,
        "SecurityEventStatus": SecurityEventStatus,
    }
    exec(_spec_block("class SecurityEventType"), ns)
    spec_type = ns["SecurityEventType"]
    assert [(m.name, m.value) for m in spec_type] == [(m.name, m.value) for m in SecurityEventType]
    ns["SecurityEventType"] = SecurityEventType
    for start, ours in (("@dataclass\nclass SecurityEvent:", SecurityEvent),
                        ("@dataclass\nclass SecurityAlert:", SecurityAlert)):
        exec(_spec_block(start), ns)
        theirs = ns[ours.__name__]
        spec_fields = [(f.name, f.default, f.default_factory) for f in fields(theirs)]
        our_fields = [(f.name, f.default, f.default_factory) for f in fields(ours)][: len(spec_fields)]
        assert spec_fields == our_fields


def test_risk_scores_follow_the_spec_algorithm(logger):
    ns: Dict[str, Any] = {"SecurityEvent": SecurityEvent, "SecurityEventSeverity": SecurityEventSeverity,
                          "SecurityEventType": SecurityEventType}
    exec(_spec_block("def _calculate_risk_score"), ns)
    calc = ns["_calculate_risk_score"]

    class Me:
        suspicious_ips: set = set()

    for t in SecurityEventType:
        logger.log_event({"event_type": t.value})
    events = logger.get_events(limit=100)
    assert len(events) == 49
    for e in events:
        assert e.risk_score == pytest.approx(calc(Me(), e)), e.event_type
