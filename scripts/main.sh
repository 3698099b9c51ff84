#!/usr/bin/env bash
# The main job: the whole GIRL pipeline on the `cpu` profile (embedded data and models, no network).
# Extra arguments go to `girl run`, e.g. `bash scripts/main.sh --profile tiny`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
case " $* " in *" --profile "*) exec .venv/bin/girl run "$@" ;; esac
exec .venv/bin/girl run --profile cpu "$@"
