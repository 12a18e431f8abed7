#!/usr/bin/env bash
# Baseline for the store insert benchmark: the bare sqlite3 CLI inserting the brute-force workload
# into seclog's schema (same tables, columns and indexes) in ONE transaction, WAL,
# synchronous=NORMAL, 32 MiB page cache (as SqliteStore).
# Compare with `cargo bench -p seclog-store --bench insert`.
#
# Usage: scripts/sqlite3_baseline.sh [N_EVENTS] [WORKDIR]
#   N_EVENTS defaults to 200000, WORKDIR to a new temporary directory.
# Steps (each printed):
#   1. seclog-workload -n N --seed 42 --out WORKDIR/gen   (cargo run --release -p seclog-workload)
#   2. convert WORKDIR/gen/events.jsonl into WORKDIR/inserts.sql (BEGIN; N INSERTs; COMMIT;)
#      with the columns seclog writes (event_id, severity, status, ts, ip_bin, ...)
#   3. sqlite3 WORKDIR/baseline.db < crates/seclog-store/src/sqlite/migrations/0001_initial.sql
#   4. time sqlite3 WORKDIR/baseline.db < WORKDIR/inserts.sql   (the measured step)
set -euo pipefail

N="${1:-200000}"
WORK="${2:-$(mktemp -d)}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SCHEMA_DIR="$ROOT/crates/seclog-store/src/sqlite/migrations"
mkdir -p "$WORK/gen"

echo "+ seclog-workload -n $N --seed 42 --out $WORK/gen"
(cd "$ROOT" && cargo run -q --release -p seclog-workload -- -n "$N" --seed 42 --out "$WORK/gen" >/dev/null)

echo "+ convert $WORK/gen/events.jsonl -> $WORK/inserts.sql"
python3 - "$WORK/gen/events.jsonl" "$WORK/inserts.sql" <<'PY'
import calendar, ipaddress, json, sys, time

def q(s):
    return "NULL" if s is None else "'" + str(s).replace("'", "''") + "'"

src, dst = sys.argv[1], sys.argv[2]
with open(src) as f, open(dst, "w") as out:
    out.write("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n"
              "PRAGMA cache_size=-32768;\nPRAGMA temp_store=MEMORY;\nBEGIN;\n")
    for n, line in enumerate(f):
        e = json.loads(line)
        secs = calendar.timegm(time.strptime(e["timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        ts = secs * 1_000_000_000
        ms = secs * 1000
        eid = "%012x-7%03x-8000-%012x" % (ms, n & 0xFFF, n)
        ip = e.get("ip_address")
        ip_bin = "NULL" if ip is None else "X'" + ipaddress.IPv6Address(
            "::ffff:" + ip if ":" not in ip else ip).packed.hex() + "'"
        out.write(
            "INSERT INTO security_events (event_id, event_type, severity, timestamp, user_id, "
            "session_id, ip_address, user_agent, request_method, request_url, request_headers, "
            "request_body, response_status, response_body, details, threat_level, risk_score, "
            "indicators, status, investigation_notes, remediation_actions, compliance_tags, "
            "audit_trail, source, correlation_id, parent_event_id, ts, ip_bin, severity_rank) "
            f"VALUES ({q(eid)}, {q(e['event_type'])}, 'medium', {q(e['timestamp'])}, "
            f"{q(e.get('user_id'))}, NULL, {q(ip)}, NULL, {q(e.get('request_method'))}, "
            f"{q(e.get('request_url'))}, NULL, NULL, {e.get('response_status', 'NULL')}, NULL, "
            "'{}', NULL, 4.0, '[]', 'detected', '[]', '[]', '[]', '[]', NULL, NULL, NULL, "
            f"{ts}, {ip_bin}, 2);\n")
    out.write("COMMIT;\n")
PY

rm -f "$WORK/baseline.db" "$WORK/baseline.db-wal" "$WORK/baseline.db-shm"
echo "+ sqlite3 $WORK/baseline.db < $SCHEMA_DIR/*.sql"
cat "$SCHEMA_DIR"/*.sql | sqlite3 "$WORK/baseline.db"
echo "+ time sqlite3 $WORK/baseline.db < $WORK/inserts.sql"
start=$(date +%s.%N)
sqlite3 "$WORK/baseline.db" < "$WORK/inserts.sql" >/dev/null
end=$(date +%s.%N)
rows=$(sqlite3 "$WORK/baseline.db" "SELECT COUNT(*) FROM security_events")
python3 -c "import sys; s=$end-$start; print(f'sqlite3 $(sqlite3 --version | cut -d" " -f1): {int(\"$rows\")} rows in {s:.2f} s = {int(\"$rows\")/s:,.0f} events/s')"
