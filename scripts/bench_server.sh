#!/usr/bin/env bash
# Load benchmark of `seclog serve` on loopback (docs/benchmarks-server.md): starts the server
# on a fresh database, runs the load generator (crates/seclog-server/examples/load.rs) against
# it, and prints the generator's line, the server's CPU seconds per thread during the run and
# the load average before and after. Expects a release build:
#   cargo build --release -p seclog-server --bin seclog --examples
#
# Usage: scripts/bench_server.sh MODE CONNECTIONS SECONDS [DB]
#   MODE single | batch (query modes need a large database: see benchmarks-server.md)
#   DB   default /tmp/seclog-bench/bench.db (deleted first; keep it off the repository)
# PIN=1: the server runs with writer_cpu = 0 (its writer thread pinned to CPU 0, its other
# threads kept off it) and the generator runs on the other CPUs (the 2-core benchmark
# machine; the writer thread is the bound of batch ingest).
set -euo pipefail
MODE="$1"; CONN="$2"; SECS="$3"
DB="${4:-/tmp/seclog-bench/bench.db}"
PORT="${PORT:-8470}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
mkdir -p "$(dirname "$DB")"
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.key"
LOG="$(dirname "$DB")/serve.log"
rm -f "$LOG"
# exec: in a background subshell, so that $! is the program itself
if [ "${PIN:-0}" = 1 ]; then export SECLOG_WRITER_CPU=0; fi
OTHERS="$(python3 -c 'import os; print(",".join(str(c) for c in sorted(os.sched_getaffinity(0)) if c))')"
pin_cpu() { if [ "${PIN:-0}" = 1 ]; then exec taskset -c "$OTHERS" "$@"; else exec "$@"; fi; }
"$BIN/seclog" --db "$DB" serve --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$LOG" && break; sleep 0.1; done
KEY="$(awk '/admin key:/ {print $4}' "$LOG")"
echo "before: $(uptime)"
pin_cpu "$BIN/examples/load" "http://127.0.0.1:$PORT" "$KEY" "$MODE" "$CONN" "$SECS" &
LOAD=$!
sleep 0.3
# CPU seconds per server thread (by name) over the run, from /proc.
python3 - "$SERVER" "$((SECS - 1))" <<'EOF'
import collections, os, sys, time
pid, secs = sys.argv[1], float(sys.argv[2])
def snap():
    d = collections.Counter()
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            s = open(f"/proc/{pid}/task/{t}/stat").read()
        except FileNotFoundError:
            continue
        f = s[s.rindex(")") + 2:].split()
        d[s[s.index("(") + 1:s.rindex(")")]] += int(f[11]) + int(f[12])
    return d
a = snap(); time.sleep(secs); b = snap()
hz = os.sysconf("SC_CLK_TCK")
print("server CPU s:", ", ".join(f"{k} {(b[k] - a[k]) / hz:.2f}" for k in sorted(b) if b[k] > a[k]))
EOF
wait $LOAD
echo "after: $(uptime)"
