#!/usr/bin/env bash
# End-to-end ingest benchmark (docs/benchmarks.md): the 200,000-event brute-force workload
# (`seclog-workload`) imported by `seclog import` into a fresh database with everything on (validation,
# redaction, risk, real-time monitoring, storage with the default indexes), then the bare
# sqlite3 CLI inserting the same rows into the same schema, measured in the same run.
#
# Usage: scripts/bench_ingest.sh [N_EVENTS] [WORKDIR]
set -euo pipefail
N="${1:-200000}"
WORK="${2:-$(mktemp -d)}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
cargo build --release -p seclog-server -p seclog-workload >/dev/null
mkdir -p "$WORK/gen"
"$ROOT/target/release/seclog-workload" -n "$N" --seed 42 --out "$WORK/gen" >/dev/null
rm -f "$WORK"/seclog.db*
echo "+ seclog --db $WORK/seclog.db import $WORK/gen/events.jsonl"
start=$(date +%s.%N)
"$ROOT/target/release/seclog" --db "$WORK/seclog.db" import --quiet "$WORK/gen/events.jsonl"
end=$(date +%s.%N)
python3 -c "s=$end-$start; print(f'seclog import: $N events in {s:.2f} s = {$N/s:,.0f} events/s (wall, including start-up and the final commit)')"
"$ROOT/target/release/seclog" --db "$WORK/seclog.db" stats --format json | python3 -c "import json,sys; print('total_events', json.load(sys.stdin)['total_events'])"
echo "+ banned IPs: $("$ROOT/target/release/seclog" --db "$WORK/seclog.db" decisions --all --format json | python3 -c 'import json,sys; print(len({d["value"] for d in json.load(sys.stdin)}))') (expected $(wc -l < "$WORK/gen/expected_banned.txt"))"
bash "$ROOT/scripts/sqlite3_baseline.sh" "$N" "$WORK/baseline"
