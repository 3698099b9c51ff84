#!/usr/bin/env bash
# Peak GPU memory of every stage of the `colab` profile, on a CUDA machine that cannot reach the hub.
#
#   bash benchmarks/colab_gpu_memory.sh OUT_DIR [GEN_TOKENIZER ENC_TOKENIZER]
#
# 1. benchmarks/shape_alike.py writes random models with the colab profile's shapes (Qwen2.5-0.5B-Instruct,
#    bert-base-uncased) into $GIRL_SHAPE_ALIKE_DIR (default /tmp/girl-shape-alike; ~2.3 GB);
# 2. benchmarks/peak_memory.py runs data, sft, reward, ppo, generate, judge and recommend of the colab
#    profile on the GPU, each in its own process, with those models and its cheap default overrides
#    (few steps, but the colab batch sizes, sequence lengths and max_new_tokens), and prints the peaks.
# With hub access (Colab itself), run peak_memory.py with --profile colab and no model overrides instead.
# The log and the JSON land in OUT_DIR.
set -euo pipefail
out=${1:?usage: colab_gpu_memory.sh OUT_DIR [GEN_TOKENIZER ENC_TOKENIZER]}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
tok_args=()
if [ $# -ge 3 ]; then tok_args=(--generator-tokenizer "$2" --encoder-tokenizer "$3"); fi
models=${GIRL_SHAPE_ALIKE_DIR:-/tmp/girl-shape-alike}
"$py" "$here/shape_alike.py" --out "$models" "${tok_args[@]}" | tail -1 > "$out/shape_alike.json"
export PYTHONUNBUFFERED=1
"$py" "$here/peak_memory.py" --profile colab --gpu-only --no-baseline \
    --stages data,sft,reward,ppo,generate,judge,recommend --run-dir /tmp/girl-colab-mem \
    --set models.generator="$models/generator" --set models.reward_backbone="$models/encoder" \
    --set models.encoder="$models/encoder" --set data.scale=0.05 2>&1 | tee "$out/peak_memory.log"
tail -1 "$out/peak_memory.log" > "$out/peak_memory.json"
