#!/usr/bin/env python3
"""What each index of `security_events` costs per inserted row (docs/benchmarks-store.md).

Creates the schema of migration 0001 in fresh WAL databases under /tmp, once whole and once
without each of the main indexes (and once whole with each commit grouped by user), and
inserts the same server-shaped rows (`api_access`, 1,000 users and 1,000 IPv4 addresses, the
17 columns seclog fills for them) with Python's sqlite3 `executemany` in commits of 8,000.
Prints CPU and wall microseconds per row for each variant, twice, alternating.

    python3 scripts/index_cost.py [ROWS]
"""
import os
import re
import sqlite3
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = open(os.path.join(ROOT, "crates/seclog-store/src/sqlite/migrations/0001_initial.sql")).read()


def without(index):
    return re.sub(r"CREATE INDEX %s ON[^;]*;" % index, "", SCHEMA)


VARIANTS = {
    "all indexes": (SCHEMA, False),
    "no ts": (without("idx_events_ts"), False),
    "no (ip_bin, ts)": (without("idx_events_ip_ts"), False),
    "no (user_id, ts)": (without("idx_events_user_ts"), False),
    "no (event_type, ts)": (without("idx_events_type_ts"), False),
    "all, grouped by user": (SCHEMA, True),
}
COLS = ("event_id, event_type, severity, timestamp, user_id, ip_address, request_url, details, "
        "indicators, status, investigation_notes, remediation_actions, compliance_tags, "
        "audit_trail, ts, ip_bin, severity_rank")
INSERT = f"INSERT INTO security_events ({COLS}) VALUES ({','.join('?' * 17)})"


def rows(n):
    for k in range(n):
        i = k % 1000
        ts = 1795132800_000_000_000 + k * 10_000
        yield (f"{ts // 1_000_000:012x}-7000-8000-{k:012x}", "api_access", "info",
               f"2026-11-19T00:00:00.{k % 1000000:06d}Z", f"u{i}",
               f"10.{i % 7}.{i % 251}.{i % 199 + 1}", "/api/x", "{}", "[]", "new", "[]", "[]",
               "[]", "[]", ts, bytes([10, i % 7, i % 251, i % 199 + 1]), 0)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 240_000
    data = list(rows(n))
    for _ in range(2):
        for name, (schema, grouped) in VARIANTS.items():
            path = "/tmp/seclog_index_cost.db"
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            c = sqlite3.connect(path, isolation_level=None)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA wal_autocheckpoint=10000")
            c.executescript(schema)
            cpu, wall = time.process_time(), time.time()
            for b in range(0, n, 8000):
                chunk = data[b:b + 8000]
                if grouped:
                    chunk = sorted(chunk, key=lambda r: (r[4], r[5]))
                c.execute("BEGIN IMMEDIATE")
                c.executemany(INSERT, chunk)
                c.execute("COMMIT")
            print(f"{name:22s} cpu {1e6 * (time.process_time() - cpu) / n:6.2f} us/row  "
                  f"wall {1e6 * (time.time() - wall) / n:6.2f} us/row")
            c.close()


if __name__ == "__main__":
    main()
