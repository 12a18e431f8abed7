"""Threads, enums against the Rust side, errors, alerts, decisions, investigation."""

import threading

import pytest

import seclog
from seclog import _native
from security.logging import (
    SecurityAlert,
    SecurityEvent,
    SecurityEventSeverity,
    SecurityEventStatus,
    SecurityEventType,
)


def test_enums_match_the_rust_side():
    assert [(m.name, m.value) for m in SecurityEventType] == _native.event_types()
    assert len(SecurityEventType) == 49
    assert [(m.name, m.value) for m in SecurityEventSeverity] == _native.severities()
    assert [(m.name, m.value) for m in SecurityEventStatus] == _native.event_statuses()
    assert [(m.name, m.value) for m in seclog.AlertStatus] == _native.alert_statuses()
    assert SecurityEventType.AUTH_FAILURE == "auth_failure"
    assert f"{SecurityEventType.XSS_ATTEMPT}" == "xss_attempt"


def test_eight_threads_lose_nothing(logger):
    per_thread = 500
    errors = []

    def work(n):
        try:
            for i in range(per_thread):
                seclog.log_api_access(logger, f"client{n}", f"/api/{i}", "granted")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    logger.flush()
    stats = logger.get_statistics()
    assert stats["total_events"] == 8 * per_thread
    assert stats["events_dropped"] == 0
    for n in range(8):
        assert len(logger.get_events({"user_id": f"client{n}"}, limit=1000)) == per_thread


def test_log_event_with_a_spec_dataclass(logger):
    import datetime
    import uuid

    ev = SecurityEvent(
        event_id=str(uuid.uuid4()),
        event_type=SecurityEventType.SQL_INJECTION_ATTEMPT,
        severity=SecurityEventSeverity.HIGH,
        timestamp=datetime.datetime.utcnow().isoformat(),
        ip_address="192.0.2.9",
        request_url="/search?q=1&api_key=s3cr3t",
        details={"password": "hunter2", "query": "' OR 1=1 --"},
        correlation_id="corr-1",
    )
    eid = logger.log_event(ev)
    assert eid == ev.event_id
    got = logger.get_event(eid)
    assert got.event_type == SecurityEventType.SQL_INJECTION_ATTEMPT
    assert got.severity == SecurityEventSeverity.HIGH
    assert "hunter2" not in str(got.details) and "s3cr3t" not in got.request_url
    assert got.correlation_id == "corr-1"
    assert logger.is_blocked("192.0.2.9")  # critical_violations: immediate block


def test_errors_are_python_exceptions(workdir):
    with pytest.raises(ValueError, match="bogus_key"):
        seclog.create_security_logger({"db_file": "x.db", "bogus_key": 1})
    with seclog.create_security_logger({"db_file": "x.db"}) as lg:
        with pytest.raises(ValueError, match="ip_address"):
            seclog.log_auth_attempt(lg, user_id="u", success=False, ip_address="not-an-ip")
        with pytest.raises(ValueError, match="event_type"):
            lg.log_event({"event_type": "nope"})
        with pytest.raises(ValueError, match="details"):
            seclog.log_auth_attempt(lg, user_id="u", success=True, details=["x"])
        with pytest.raises(ValueError, match="start_time"):
            lg.get_events(filters={"start_time": "yesterday"})
        with pytest.raises(seclog.NotFoundError):
            lg.acknowledge_alert("no-such-alert", by="ops")
    with pytest.raises(seclog.LoggerClosedError):
        lg.log_event({"event_type": "auth_success"})
    assert issubclass(seclog.LoggerClosedError, seclog.SeclogError)


def test_alert_lifecycle_and_decisions(logger):
    for _ in range(5):
        seclog.log_auth_attempt(logger, user_id="u", success=False, ip_address="192.0.2.1")
    alerts = logger.get_alerts(status="active")
    hfr = [a for a in alerts if a.rule == "high_failure_rate"]
    assert len(hfr) == 1 and isinstance(hfr[0], SecurityAlert)
    assert len(hfr[0].event_ids) == 5
    acked = logger.acknowledge_alert(hfr[0].alert_id, by="ops", note="looking")
    assert acked.status == "acknowledged" and acked.acknowledged_by == "ops"
    resolved = logger.resolve_alert(hfr[0].alert_id, by="ops", resolution="true_positive")
    assert resolved.status == "resolved" and resolved.resolution == "true_positive"
    with pytest.raises(ValueError, match="status"):
        logger.acknowledge_alert(hfr[0].alert_id, by="ops")

    decisions = logger.get_decisions()
    assert [d["value"] for d in decisions] == ["192.0.2.1"]
    assert logger.is_blocked("192.0.2.1")
    assert logger.delete_decision(decisions[0]["id"])["id"] == decisions[0]["id"]
    assert not logger.is_blocked("192.0.2.1")
    assert logger.get_decisions() == []
    assert len(logger.get_decisions(all=True)) == 1


def test_investigation_calls(logger):
    parent = seclog.log_auth_attempt(logger, user_id="u", success=True)
    child = logger.log_event({"event_type": "suspicious_activity", "parent_event_id": parent})
    logger.set_event_status(child, SecurityEventStatus.INVESTIGATING, by="ana")
    logger.add_investigation_note(child, "odd hour", by="ana")
    logger.add_remediation_action(child, "reset password", by="ana")
    logger.escalate_event(child, "looks real", by="ana")
    trail = logger.get_event_trail(child)
    assert [a["kind"] for a in trail] == ["status_change", "note", "remediation", "escalation"]
    assert logger.get_event_status(child) == SecurityEventStatus.ESCALATED
    rel = logger.get_related_events(child)
    assert [p.event_id for p in rel["parents"]] == [parent]
    assert logger.get_related_events(parent)["children"][0].event_id == child
    assert logger.get_event_status("missing") is None


def test_other_helpers_log_their_types(logger):
    seclog.log_session_event(logger, "hijacked", "u", session_id="sess-secret")
    seclog.log_mfa_attempt(logger, "u", False, "totp")
    seclog.log_password_event(logger, "u", reset=True)
    seclog.log_account_lock(logger, "u", True, "too many failures")
    seclog.log_file_upload(logger, "u", "x.exe", 10, "malicious")
    seclog.log_payment_event(logger, "u", "12.50", "EUR", "fraud_detected")
    seclog.log_data_access(logger, "u", "customers", "export", record_count=10)
    seclog.log_admin_action(logger, "root", "delete user", kind="escalation")
    seclog.log_config_change(logger, "root", "mfa_required", security_relevant=True)
    types = {e.event_type.value for e in logger.get_events(limit=20)}
    assert types == {
        "auth_session_hijacked", "auth_mfa_failure", "auth_password_reset", "auth_account_locked",
        "file_upload_malicious", "payment_fraud_detected", "data_export", "admin_escalation",
        "security_configuration_change",
    }
    hijack = logger.get_events({"event_type": "auth_session_hijacked"})[0]
    assert hijack.session_id != "sess-secret"
    with pytest.raises(ValueError, match="outcome"):
        seclog.log_file_upload(logger, "u", "x", 1, "weird")


def test_detect():
    classes = {f["class"] for f in seclog.detect("1' UNION SELECT password FROM users --")}
    assert classes  # the SQL injection detector finds it


def test_a_logger_made_before_fork_works_in_the_child_and_blocks_there(tmp_path):
    """The child of a fork logs through the parent's engine (nothing lost) and its block
    checks see the engine's decisions, before and after it logs anything."""
    import os

    lg = seclog.create_security_logger({"db_file": str(tmp_path / "fork.db")})
    lg.log_event({"event_type": "auth_failure", "ip_address": "198.51.100.40"})
    for _ in range(5):
        lg.log_event({"event_type": "auth_failure", "ip_address": "198.51.100.41"})
    assert lg.is_blocked("198.51.100.41")
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if every check holds
        ok = lg.is_blocked("198.51.100.41") and not lg.is_blocked("198.51.100.42")
        for _ in range(5):
            lg.log_event({"event_type": "auth_failure", "ip_address": "198.51.100.42"})
        ok = ok and lg.is_blocked("198.51.100.42")
        lg.flush()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert lg.is_blocked("198.51.100.42"), "the child's events were judged by the parent's engine"
    assert len(lg.get_events(filters={"ip_address": "198.51.100.42"}, limit=10)) == 5
    assert len(lg.get_events(limit=100)) == 11
    lg.close()
