#!/usr/bin/env bash
# Peak memory of `seclog import` with real-time monitoring on, for N events from N distinct
# IPs (default 1,000,000): every rule key and every IP risk entry is distinct, all inside one
# window, so nothing expires. Prints the peak resident set size.
#
# Usage: scripts/bench_memory.sh [N] [WORKDIR]
set -euo pipefail
N="${1:-1000000}"
WORK="${2:-$(mktemp -d)}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
mkdir -p "$WORK"
cargo build --release -p seclog-server >/dev/null
python3 - "$N" "$WORK/distinct.jsonl" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        ip = "%d.%d.%d.%d" % (11 + (i >> 24), (i >> 16) & 255, (i >> 8) & 255, i & 255)
        f.write('{"event_type":"auth_failure","timestamp":"2026-11-20T00:%02d:%02dZ","ip_address":"%s","user_id":"u%d"}\n'
                % ((i // 60) % 5, i % 60, ip, i % 1000))
PY
rm -f "$WORK"/mem.db*
/usr/bin/time -f "peak RSS %M KiB, %e s" "${CARGO_TARGET_DIR:-$ROOT/target}/release/seclog" --db "$WORK/mem.db" import --quiet "$WORK/distinct.jsonl"
