#!/usr/bin/env bash
# Builds and installs the Python package into python/.venv (created if missing) and runs its
# pytest suite. Used by .ci/run. Exit status: pytest's (5, "no tests collected", is a failure).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# --force-reinstall: always test the current sources (the version number does not change).
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$here"
"$venv/bin/python" -m pip install -q pytest flask gunicorn

cd "$here"
set +e
"$venv/bin/pytest" -q tests "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "run_tests.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
