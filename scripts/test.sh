#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the linter and the test suite. Extra arguments go to pytest.
# Two pytest workers (pytest-xdist, a test file per worker at a time): most of the suite's time is XLA compiling,
# one core per program, so two cores finish it sooner. PIANOJAX_TEST_WORKERS=0 runs it in one process. The 25
# slowest tests are listed at the end (what to trim when the suite nears its 15 minutes). A worker that crashes
# (a segfault) is not replaced: the run ends with the test it crashed in named as failed. pytest-xdist 3.8.0 replaces
# it by default, and under --dist loadfile then waits forever (CI ran out its 90 minutes that way once).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
workers=${PIANOJAX_TEST_WORKERS:-2}
# Each test process writes Python's fault dump (a crash's stacks) to a file here; a failed run prints the crashing
# thread's stack (and the other threads' top frames) last, where CI's tail of the output keeps it (tests/conftest.py).
PIANOJAX_CRASH_DIR=$(mktemp -d)
export PIANOJAX_CRASH_DIR
trap 'rm -rf "$PIANOJAX_CRASH_DIR"' EXIT
status=0
if [ "$workers" = 0 ]; then
  .venv/bin/python -m pytest --durations=25 "$@" || status=$?
else
  .venv/bin/python -m pytest -n "$workers" --dist loadfile --max-worker-restart=0 --durations=25 "$@" || status=$?
fi
for dump in "$PIANOJAX_CRASH_DIR"/*.txt; do
  if [ -s "$dump" ]; then
    echo "== test process $(basename "$dump" .txt) crashed: its fault dump (the crashing thread whole, the others' top frames)"
    awk '/^(Thread|Current thread) 0x/ { current = ($1 == "Current"); n = 0 }
         { if (current ? n < 20 : n < 3) print; n++ }' "$dump"
  fi
done
exit "$status"
