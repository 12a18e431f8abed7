#!/usr/bin/env bash
# Server CPU per HTTP request, in instructions, with and without the seclog tower layer:
# unlike requests/s, unaffected by other load on the machine.
#
#   cargo build --release -p seclog --features tower --example axum_login
#   scripts/bench_tower_ir.sh [BINARY]
#
# For each case (as in scripts/bench_tower.sh: base = --no-layer, allowed, blocked, and the
# optional router = --router-layer, detect = --detect-attacks) the example server runs under
# `valgrind --tool=callgrind` (all threads counted) twice, serving N1 and then N2 keep-alive
# `GET /ping` requests from one connection (a small Python client), and is stopped with
# SIGINT (graceful shutdown). Instructions per request = (Ir(N2) - Ir(N1)) / (N2 - N1): the
# start-up, the blocking logins and the shutdown cancel out.
#
# The server runs with TOKIO_WORKER_THREADS=1 (WORKERS): with one worker the scheduling, and
# so the count, varies less from run to run.
#
# Environment: CASES ("base allowed blocked"), N1 (500), N2 (2500), WORKERS (1), PORT (3250),
# OUT (a temp dir).
set -euo pipefail

BIN=${1:-${CARGO_TARGET_DIR:-target}/release/examples/axum_login}
CASES=${CASES:-base allowed blocked}
N1=${N1:-500}
N2=${N2:-2500}
WORKERS=${WORKERS:-1}
PORT=${PORT:-3250}
OUT=${OUT:-$(mktemp -d /tmp/bench_tower_ir.XXXXXX)}
command -v valgrind >/dev/null || { echo "valgrind not found" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no binary $BIN" >&2; exit 1; }

# client PORT N [login]: optionally five failed logins, then N GET /ping on one connection;
# prints the status codes seen.
client() {
    python3 - "$@" <<'EOF'
import collections, http.client, json, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
if len(sys.argv) > 3:
    for _ in range(5):
        c.request("POST", "/login", json.dumps({"username": "bench", "password": "wrong"}),
                  {"content-type": "application/json"})
        c.getresponse().read()
seen = collections.Counter()
for _ in range(n):
    c.request("GET", "/ping")
    r = c.getresponse()
    r.read()
    seen[r.status] += 1
print(dict(seen))
EOF
}

# run CASE N: Ir of a server that answered N pings.
run() {
    local case=$1 n=$2 args=()
    case $case in
        base) args=(--no-layer) ;;
        router) args=(--router-layer) ;;
        detect) args=(--detect-attacks) ;;
    esac
    rm -f "$OUT/$case.db"*
    TOKIO_WORKER_THREADS=$WORKERS valgrind --tool=callgrind --callgrind-out-file="$OUT/$case.$n.cg" \
        "$BIN" --listen "127.0.0.1:$PORT" --db "$OUT/$case.db" "${args[@]}" \
        >"$OUT/$case.$n.log" 2>&1 &
    local pid=$!
    for _ in $(seq 600); do
        grep -q "listening on" "$OUT/$case.$n.log" 2>/dev/null && break
        sleep 0.1
    done
    local login=()
    [ "$case" = blocked ] && login=(login)
    local seen
    seen=$(client "$PORT" "$n" "${login[@]}")
    kill -INT "$pid"
    wait "$pid" || true
    local ir
    ir=$(grep -o 'Collected : [0-9]*' "$OUT/$case.$n.log" | awk '{s += $3} END {print s}')
    echo "$case N=$n statuses $seen Ir $ir" >&2
    echo "$ir"
}

echo "binary $BIN; N1=$N1 N2=$N2 WORKERS=$WORKERS; load: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A per
for case in $CASES; do
    a=$(run "$case" "$N1")
    b=$(run "$case" "$N2")
    per[$case]=$(( (b - a) / (N2 - N1) ))
    echo "$case: ${per[$case]} instructions per request"
done
if [ -n "${per[base]:-}" ]; then
    for case in $CASES; do
        [ "$case" = base ] && continue
        echo "$case: +$(( per[$case] - per[base] )) instructions per request over base" \
            "($(python3 -c "print(f'{100 * (${per[$case]} / ${per[base]} - 1):+.1f}')") %)"
    done
fi
echo "callgrind outputs in $OUT"
