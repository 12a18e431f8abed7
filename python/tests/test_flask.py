"""integrate_with_flask with app.test_client()."""

import pytest

flask = pytest.importorskip("flask")
from flask import Flask, abort, g, jsonify  # noqa: E402

from security.logging import (  # noqa: E402
    SecurityEventType,
    integrate_with_flask,
    log_auth_attempt,
)

IP = "203.0.113.7"


def make_app(logger, **kw):
    app = Flask("seclog_test")
    calls = {"login": 0}

    @app.route("/login", methods=["POST"])
    def login():
        calls["login"] += 1
        return jsonify(error="bad credentials"), 401

    @app.route("/login-logged", methods=["POST"])
    def login_logged():
        log_auth_attempt(logger, user_id="alice", success=False, ip_address=IP)
        return jsonify(error="bad credentials"), 401

    @app.route("/admin")
    def admin():
        g.user_id = "bob"
        abort(403)

    @app.route("/api")
    def api():
        return "slow down", 429

    @app.route("/form", methods=["POST"])
    def form():
        return "bad input", 400

    @app.route("/ok")
    def ok():
        return "fine"

    integrate_with_flask(app, logger, **kw)
    return app, calls


def only_event(logger):
    events = logger.get_events(limit=10)
    assert len(events) == 1
    return events[0]


@pytest.mark.parametrize(
    "method,path,status,etype",
    [
        ("post", "/form", 400, SecurityEventType.INPUT_VALIDATION_VIOLATION),
        ("post", "/login", 401, SecurityEventType.AUTH_FAILURE),
        ("get", "/admin", 403, SecurityEventType.AUTHORIZATION_FAILURE),
        ("get", "/api", 429, SecurityEventType.RATE_LIMITING_TRIGGER),
    ],
)
def test_error_responses_are_logged(logger, method, path, status, etype):
    app, _ = make_app(logger)
    client = app.test_client()
    resp = getattr(client, method)(
        path + "?q=1&password=hunter2&token=abc",
        environ_base={"REMOTE_ADDR": IP},
        headers={"User-Agent": "TestAgent/1.0"},
    )
    assert resp.status_code == status
    e = only_event(logger)
    assert e.event_type == etype
    assert e.ip_address == IP
    assert e.user_agent == "TestAgent/1.0"
    assert e.request_method == method.upper()
    assert e.response_status == status
    assert e.request_url.startswith("http://localhost" + path)
    assert "hunter2" not in e.request_url and "abc" not in e.request_url
    assert "q=1" in e.request_url
    assert e.source == "flask"
    if path == "/admin":
        assert e.user_id == "bob"


def test_success_is_not_logged(logger):
    app, _ = make_app(logger)
    assert app.test_client().get("/ok", environ_base={"REMOTE_ADDR": IP}).status_code == 200
    assert logger.get_statistics()["total_events"] == 0


def test_five_wrong_logins_then_blocked_before_the_view(logger):
    app, calls = make_app(logger)
    client = app.test_client()
    for _ in range(5):
        assert client.post("/login", environ_base={"REMOTE_ADDR": IP}).status_code == 401
    assert calls["login"] == 5
    resp = client.post("/login", environ_base={"REMOTE_ADDR": IP})
    assert resp.status_code == 403
    assert resp.get_json()["error"] == "forbidden"
    assert calls["login"] == 5, "the view must not run for a blocked client"
    # another client is not affected
    assert client.post("/login", environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 401
    assert calls["login"] == 6
    stats = logger.get_statistics()
    assert stats["events_by_type"]["auth_failure"] == 6
    assert stats["blocked_ips"] == 1
    assert logger.is_blocked(IP)


def test_one_failed_login_is_one_event(logger):
    app, _ = make_app(logger)
    resp = app.test_client().post("/login-logged", environ_base={"REMOTE_ADDR": IP})
    assert resp.status_code == 401
    e = only_event(logger)
    assert e.user_id == "alice" and e.event_type == SecurityEventType.AUTH_FAILURE


def test_forwarded_for_only_from_trusted_proxies(logger):
    app, _ = make_app(logger, trusted_proxies=["10.0.0.0/8"])
    client = app.test_client()
    client.post("/login", environ_base={"REMOTE_ADDR": "10.1.2.3"},
                headers={"X-Forwarded-For": "1.1.1.1, 192.0.2.44, 10.9.9.9"})
    client.post("/login", environ_base={"REMOTE_ADDR": "192.0.2.200"},
                headers={"X-Forwarded-For": "192.0.2.55"})
    ips = sorted(e.ip_address for e in logger.get_events(limit=10))
    assert ips == ["192.0.2.200", "192.0.2.44"]


def test_manual_block_answers_403(logger):
    app, calls = make_app(logger)
    logger.add_decision("198.51.100.0/24", scope="range", duration=600, reason="test", by="ops")
    resp = app.test_client().post("/login", environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert resp.status_code == 403 and calls["login"] == 0
