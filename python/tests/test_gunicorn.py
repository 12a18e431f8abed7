"""One engine for every gunicorn worker: real gunicorn, one SQLite database, one attacker.

The app is the specification's kind: a Flask app with ``integrate_with_flask`` and a ``/login``
view that answers 401. One client address (through a trusted proxy) sends 40 wrong logins one
after another, each on a new connection. Whatever the worker that answers, exactly the rule's
threshold (5) get 401 and every later request gets 403; the database holds exactly the events
of the requests that were answered 401, once each.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import seclog

pytest.importorskip("gunicorn")

APP = textwrap.dedent(
    """
    import os
    from flask import Flask
    from security.logging import create_security_logger, integrate_with_flask

    app = Flask(__name__)
    security_logger = create_security_logger({"db_file": os.environ["APP_DB"]})
    integrate_with_flask(app, security_logger, trusted_proxies=["127.0.0.1"])

    @app.post("/login")
    def login():
        return {"error": "wrong password"}, 401

    @app.get("/ready")
    def ready():
        return {"ok": True}

    @app.after_request
    def worker(response):
        response.headers["X-Worker"] = str(os.getpid())
        return response
    """
)

ATTACKER = "203.0.113.50"
THRESHOLD = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, forwarded_for: str = ATTACKER):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=b"user=alice&password=nope",
                     headers={"X-Forwarded-For": forwarded_for,
                              "Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Worker")
    finally:
        conn.close()


class Gunicorn:
    def __init__(self, tmp: Path, args):
        (tmp / "app.py").write_text(APP)
        self.db = tmp / "app.db"
        self.port = free_port()
        env = dict(os.environ, APP_DB=str(self.db), PYTHONPATH=str(tmp))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", *args, "app:app"],
            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while True:
            try:
                if request(self.port, "GET", "/ready", "127.0.0.1")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                pytest.fail(f"gunicorn did not start: {out}")
            time.sleep(0.05)
        # Every worker answers: give the others a moment to import the app.
        time.sleep(1.0)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return out.decode(errors="replace")


@pytest.mark.parametrize(
    "args",
    [["-w", "4"], ["-w", "4", "--preload"], ["-w", "4", "--max-requests", "10"]],
    ids=["w4", "w4-preload", "w4-max-requests-10"],
)
def test_sequential_attacker_gets_exactly_the_threshold_whatever_the_worker(tmp_path, args):
    from concurrent.futures import ThreadPoolExecutor

    server = Gunicorn(tmp_path, args)
    try:
        answers = [request(server.port, "POST", "/login") for _ in range(40)]
        # Sequential requests may all be taken by one worker: overlapping ones cannot, so
        # these show that the other workers refuse the address too.
        with ThreadPoolExecutor(8) as pool:
            probes = list(pool.map(lambda _: request(server.port, "POST", "/login"), range(32)))
    finally:
        log = server.stop()
    statuses = [s for s, _ in answers]
    assert statuses[:THRESHOLD] == [401] * THRESHOLD, (statuses, log[-3000:])
    assert statuses[THRESHOLD:] == [403] * (40 - THRESHOLD), (statuses, log[-3000:])
    assert [s for s, _ in probes] == [403] * 32, probes
    refusing = {w for s, w in answers + probes if s == 403}
    assert len(refusing) >= 2, f"403s came from one worker only: {refusing}"

    reader = seclog.create_security_logger({"db_file": str(server.db)})
    try:
        events = reader.get_events(limit=1000)
        assert len(events) == THRESHOLD, [(e.event_type, e.ip_address) for e in events]
        assert all(e.event_type.value == "auth_failure" and e.ip_address == ATTACKER for e in events)
        assert len({e.event_id for e in events}) == THRESHOLD
        assert reader.is_blocked(ATTACKER)
    finally:
        reader.close()


def test_eight_concurrent_connections_get_at_most_the_threshold_plus_those_in_flight(tmp_path):
    """40 wrong logins from one address over 8 concurrent connections (4 workers): the
    failures that get through are at most threshold + connections - 1 (the requests already in
    flight when the ban is decided), and each of them is stored once."""
    from concurrent.futures import ThreadPoolExecutor

    connections = 8
    server = Gunicorn(tmp_path, ["-w", "4"])
    try:
        with ThreadPoolExecutor(connections) as pool:
            answers = list(pool.map(lambda _: request(server.port, "POST", "/login"), range(40)))
    finally:
        log = server.stop()
    through = sum(1 for s, _ in answers if s == 401)
    assert THRESHOLD <= through <= THRESHOLD + connections - 1, (answers, log[-3000:])
    assert all(s in (401, 403) for s, _ in answers), answers

    reader = seclog.create_security_logger({"db_file": str(server.db)})
    try:
        assert len(reader.get_events(limit=1000)) == through
    finally:
        reader.close()
