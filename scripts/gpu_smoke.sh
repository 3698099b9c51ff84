#!/usr/bin/env bash
# GPU smoke run: every stage on one CUDA device through the colab profile's code paths, embedded models,
# small scale, no network (scripts/gpu_smoke.py). Writes runs/gpu_smoke/results.json; refuses without CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec .venv/bin/python scripts/gpu_smoke.py "$@"
