#!/usr/bin/env bash
# The API contract test: runs schemathesis (every check) against a real `seclog serve` and its
# own /openapi.json, and exits non-zero on any failure.
#
#   scripts/contract_test.sh            # builds the binary, installs schemathesis, runs
#   SECLOG_BIN=path scripts/contract_test.sh   # with an already built binary
#   CONTRACT_EXAMPLES=N / CONTRACT_SEED=N      # bound and seed of the generation
#
# Schemathesis is installed into target/contract-venv (git-ignored), pinned below.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/target/contract-venv"
EXAMPLES="${CONTRACT_EXAMPLES:-50}"
SEED="${CONTRACT_SEED:-1}"

if [[ ! -x "$VENV/bin/schemathesis" ]] \
    || [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [[ -z "${SECLOG_BIN:-}" ]]; then
    cargo build --quiet -p seclog-server --bin seclog --manifest-path "$ROOT/Cargo.toml"
    SECLOG_BIN="$ROOT/target/debug/seclog"
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The test client's own address is allowlisted: schemathesis adds block decisions (and, with
# invalid keys, triggers the brute-force rule), which would otherwise block the client itself
# and turn every later answer into 403.
cat > "$WORK/seclog.toml" <<TOML
[monitoring]
allowlist = ["127.0.0.0/8", "::1/128"]
TOML

unset SECLOG_SERVER SECLOG_API_KEY SECLOG_DB SECLOG_LISTEN
export SECLOG_CONFIG="$WORK/seclog.toml"
DB="$WORK/contract.db"
KEY="$("$SECLOG_BIN" --db "$DB" keys create --name contract --scope admin --format json \
    | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["key"])')"

"$SECLOG_BIN" --db "$DB" serve --listen 127.0.0.1:0 2> "$WORK/server.log" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 300); do
    BASE="$(sed -n 's/^seclog: listening on //p' "$WORK/server.log" | head -n 1)"
    [[ -n "$BASE" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done
if [[ -z "$BASE" ]]; then
    echo "contract_test: the server did not start" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
echo "contract_test: seclog serve at $BASE, schemathesis $SCHEMATHESIS_VERSION, $EXAMPLES examples, seed $SEED"

status=0
# scripts/contract_hooks.py keeps requests within the two rules OpenAPI cannot state.
(cd "$WORK" && PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=contract_hooks \
    "$VENV/bin/schemathesis" run "$BASE/openapi.json" \
    --checks all \
    --header "X-Api-Key: $KEY" \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --generation-database none \
    --workers 1 \
    --request-timeout 30 \
    --no-color \
    ${CONTRACT_ARGS:-}) || status=$?

kill -TERM "$SERVER_PID"
if ! wait "$SERVER_PID"; then
    echo "contract_test: seclog serve did not exit cleanly" >&2
    tail -n 20 "$WORK/server.log" >&2
    status=1
fi
SERVER_PID=""
if [[ $status -ne 0 ]]; then
    echo "contract_test: FAILED (schemathesis exit $status)" >&2
else
    echo "contract_test: passed"
fi
exit "$status"
