#!/usr/bin/env bash
# The tests: unit tests and every numbered notebook executed on the `tiny` profile.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k ppo`. `--fast` (first argument) leaves out the
# tests that launch whole pipelines (e2e), execute notebooks or load the real embedded models (slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
# Two workers (pytest-xdist): much of the suite is single-threaded (interpreter and kernel starts, imports), so
# two cores finish it sooner side by side; the longest tests are collected first (tests/conftest.py: LONG_FIRST)
# and a worker that runs out of tests takes some from the other (--dist worksteal).
# GIRL_TEST_WORKERS=0 runs everything in this one process, in order.
workers=${GIRL_TEST_WORKERS:-2}
parallel=()
if [ "$workers" != "0" ]; then
    parallel=(-n "$workers" --dist worksteal)
    # one thread per process: two workers (and the processes they start) each spinning two threads on two cores
    # run slower than one thread each
    export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
fi
if [ "${1:-}" = "--fast" ]; then
    shift
    exec .venv/bin/python -m pytest tests -m "not e2e and not notebooks and not slow" "${parallel[@]}" "$@"
fi
exec .venv/bin/python -m pytest tests "${parallel[@]}" "$@"
