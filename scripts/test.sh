#!/usr/bin/env bash
# The tests: unit tests, then every numbered notebook executed on the `tiny` profile.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k ppo`. `--fast` (first argument) leaves out the
# tests that launch whole pipelines (e2e), execute notebooks or load the real embedded models (slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
if [ "${1:-}" = "--fast" ]; then
    shift
    exec .venv/bin/python -m pytest tests -m "not e2e and not notebooks and not slow" "$@"
fi
exec .venv/bin/python -m pytest tests "$@"
