#!/usr/bin/env bash
# Throughput of the axum_login example over HTTP with and without the seclog tower layer.
#
#   cargo build --release -p seclog --features tower --example axum_login
#   scripts/bench_tower.sh [BINARY]
#
# One server of the same binary per case (same routes, same state), all GET /ping:
#   base     --no-layer: the router without the security layer
#   allowed  the layer around the router; an allowed client (200, nothing logged)
#   blocked  the same, but 127.0.0.1 is blocked first (five wrong logins and the default
#            rules), so GET /ping is refused 403 by the layer before routing
#   router   (optional) the layer added with axum's Router::layer instead (--router-layer)
#   detect   (optional) the layer with attack detection and body inspection (--detect-attacks)
# Each round runs wrk once against each case, RUNS rounds, the order of the cases reversed
# every other round (base-allowed-blocked, then blocked-allowed-base, ...). The loss of a
# round is 1 - rps(case) / rps(base of the same round); the script prints every run, then the
# median and the range of the requests/s and of the per-round loss.
#
# Requests/s depend on everything else running on the machine. The script also reads the
# server process's CPU time (user + system, all threads, /proc/PID/stat) around each run and
# reports CPU microseconds per request: far less sensitive to other load, and for a server
# that saturates its core the throughput loss is 1 - cpu(base) / cpu(case).
#
# PIN=1 (default) pins the servers to CPU 0 and wrk to CPU 1 (taskset), so the load generator
# and the server never compete for one core; tokio then starts one worker thread (it follows
# the CPU affinity). PIN=0 lets the scheduler place everything.
#
# On a machine shared with other work, more and shorter rounds (RUNS=25 DURATION=2s) compare
# better than few long ones: a burst of other load then hits all cases of a round alike.
#
# Environment: CASES ("base allowed blocked"; base is always run), RUNS (5), DURATION (10s),
# CONNS (32), THREADS (wrk threads, 1), PIN (1), PORT (first port, 3200; one per case),
# OUT (directory for wrk outputs, a temp dir).
set -euo pipefail

BIN=${1:-${CARGO_TARGET_DIR:-target}/release/examples/axum_login}
CASES=${CASES:-base allowed blocked}
case " $CASES " in *" base "*) ;; *) CASES="base $CASES" ;; esac
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
PIN=${PIN:-1}
PORT=${PORT:-3200}
OUT=${OUT:-$(mktemp -d /tmp/bench_tower.XXXXXX)}

command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no binary $BIN (cargo build --release -p seclog --features tower --example axum_login)" >&2; exit 1; }
mkdir -p "$OUT"

srv_cpu=() wrk_cpu=()
if [ "$PIN" = 1 ]; then
    srv_cpu=(taskset -c 0)
    wrk_cpu=(taskset -c 1)
fi

pids=()
declare -A pid_of
# cpu_ticks PID: user + system clock ticks of a process, all threads.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# start NAME PORT ARGS...: starts a server and waits until it accepts connections.
start() {
    local name=$1 port=$2
    shift 2
    rm -f "$OUT/$name.db"*
    "${srv_cpu[@]}" "$BIN" --listen "127.0.0.1:$port" --db "$OUT/$name.db" "$@" >"$OUT/$name.log" 2>&1 &
    pids+=($!)
    pid_of[$name]=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/ping" && return 0
        sleep 0.1
    done
    echo "server $name did not start" >&2
    exit 1
}

declare -A port_of
p=$PORT
for case in $CASES; do
    port_of[$case]=$p
    case $case in
        base) start base "$p" --no-layer ;;
        allowed | blocked) start "$case" "$p" ;;
        router) start router "$p" --router-layer ;;
        detect) start detect "$p" --detect-attacks ;;
        *) echo "unknown case $case" >&2; exit 1 ;;
    esac
    expect=200
    if [ "$case" = blocked ]; then
        # Five failed logins; then the default rules block 127.0.0.1 on this server.
        for _ in 1 2 3 4 5; do
            curl -s -o /dev/null -H 'content-type: application/json' \
                -d '{"username":"bench","password":"wrong"}' "http://127.0.0.1:$p/login"
        done
        expect=403
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/ping")
    [ "$code" = "$expect" ] || { echo "case $case answered $code, not $expect" >&2; exit 1; }
    p=$((p + 1))
done

echo "binary $BIN; wrk -t$THREADS -c$CONNS -d$DURATION, $RUNS rounds, PIN=$PIN; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$RUNS"); do
    if [ $((round % 2)) = 1 ]; then order=$CASES; else order=$(echo "$CASES" | tr ' ' '\n' | tac | tr '\n' ' '); fi
    for case in $order; do
        f="$OUT/r$round.$case.txt"
        t0=$(cpu_ticks "${pid_of[$case]}")
        "${wrk_cpu[@]}" wrk "-t$THREADS" "-c$CONNS" "-d$DURATION" --latency \
            "http://127.0.0.1:${port_of[$case]}/ping" >"$f"
        t1=$(cpu_ticks "${pid_of[$case]}")
        rps=$(awk '/^Requests\/sec/ {print $2}' "$f")
        n=$(awk '/requests in/ {print $1}' "$f")
        non2xx=$(awk '/Non-2xx/ {print $5}' "$f")
        p50=$(awk '$1 == "50%" {print $2}' "$f")
        cpu=$(python3 -c "print(f'{($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / $n:.2f}')")
        echo "round $round $case rps $rps p50 $p50 non2xx ${non2xx:-0} server-cpu-us/req $cpu"
        echo "$round $case $rps $cpu" >>"$OUT/results.txt"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT/results.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
rps, cpu = {}, {}
for r, case, v, c in rows:
    rps.setdefault(case, {})[int(r)] = float(v)
    cpu.setdefault(case, {})[int(r)] = float(c)
def show(name, xs, fmt):
    xs = sorted(xs)
    print(f"{name:<16} median {fmt(statistics.median(xs))}  range {fmt(xs[0])} .. {fmt(xs[-1])}")
cases = list(rps)
for case in cases:
    show(f"{case} req/s", rps[case].values(), lambda x: f"{x:,.0f}")
for case in [c for c in cases if c != "base"]:
    losses = [100 * (1 - rps[case][r] / rps["base"][r]) for r in rps["base"]]
    show(f"{case} loss %", losses, lambda x: f"{x:+.1f}")
    med = 100 * (1 - statistics.median(rps[case].values()) / statistics.median(rps["base"].values()))
    print(f"{case} loss of the medians: {med:+.1f} %")
for case in cases:
    show(f"{case} cpu us/req", cpu[case].values(), lambda x: f"{x:.2f}")
for case in [c for c in cases if c != "base"]:
    ratio = [100 * (1 - cpu["base"][r] / cpu[case][r]) for r in cpu["base"]]
    show(f"{case} cpu loss %", ratio, lambda x: f"{x:+.1f}")
EOF
echo "wrk outputs in $OUT"
