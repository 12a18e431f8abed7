#!/usr/bin/env python3
"""How many wrong logins get through, side by side: seclog's shared engine against what a
Flask user would pick instead (Flask-Limiter with Redis storage, and with its default
in-memory storage), each behind real gunicorn with 4 workers (docs/deployment.md).

One client address (X-Forwarded-For through a trusted proxy) sends 40 wrong logins to a
/login view that answers 401: one after another, then over 8 concurrent connections. The
limit is 5 failures in 5 minutes in every setup. Printed: the 401s that got through, per run.

Needs, in the Python that runs it: the seclog package (python/run_tests.sh builds it into
python/.venv), gunicorn, flask-limiter and redis (pip), and Redis on 127.0.0.1:6379.

    python/.venv/bin/pip install flask-limiter redis
    python/.venv/bin/python scripts/bench_gunicorn_limits.py [RUNS]
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SECLOG_APP = """
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
"""

LIMITER_APP = """
import os
from flask import Flask, request
from flask_limiter import Limiter

def client():
    return request.headers.get("X-Forwarded-For", request.remote_addr)

app = Flask(__name__)
limiter = Limiter(client, app=app, storage_uri=os.environ["LIMITER_STORAGE"],
                  key_prefix=os.environ["LIMITER_PREFIX"])

@app.post("/login")
@limiter.limit("5 per 5 minutes", deduct_when=lambda response: response.status_code == 401)
def login():
    return {"error": "wrong password"}, 401

@app.get("/ready")
@limiter.exempt
def ready():
    return {"ok": True}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, ip):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=b"user=alice&password=nope",
                     headers={"X-Forwarded-For": ip,
                              "Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def run(app_text, env, ip, concurrent):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "app.py").write_text(textwrap.dedent(app_text))
        port = free_port()
        env = dict(os.environ, PYTHONPATH=tmp, APP_DB=str(Path(tmp) / "app.db"), **env)
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}", "app:app"],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    if request(port, "GET", "/ready", "127.0.0.1") == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise SystemExit("gunicorn did not start")
                time.sleep(0.05)
            time.sleep(1.0)
            if concurrent:
                with ThreadPoolExecutor(8) as pool:
                    statuses = list(pool.map(lambda _: request(port, "POST", "/login", ip), range(40)))
            else:
                statuses = [request(port, "POST", "/login", ip) for _ in range(40)]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    return statuses.count(401)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    setups = [
        ("seclog (shared engine, no Redis)", SECLOG_APP, {}),
        ("Flask-Limiter, Redis storage", LIMITER_APP, {"LIMITER_STORAGE": "redis://127.0.0.1:6379"}),
        ("Flask-Limiter, in-memory storage (default)", LIMITER_APP, {"LIMITER_STORAGE": "memory://"}),
    ]
    for name, app, env in setups:
        for concurrent in (False, True):
            through = []
            for r in range(runs):
                # Counts of earlier runs stay in Redis: each run has a key prefix of its own.
                run_env = dict(env, LIMITER_PREFIX=f"bench-{os.getpid()}-{time.time_ns()}")
                through.append(run(app, run_env, "203.0.113.50", concurrent))
            how = "8 concurrent connections" if concurrent else "sequential"
            print(f"{name:45} {how:26} 401s through: {through}", flush=True)


if __name__ == "__main__":
    main()
