#!/usr/bin/env bash
# The tests: unit tests, then every numbered notebook executed on the `tiny` profile.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k ppo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec .venv/bin/python -m pytest tests "$@"
