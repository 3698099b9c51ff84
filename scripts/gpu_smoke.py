"""GPU smoke run: every stage of the pipeline on one CUDA device, through the ``colab`` profile's code paths,
with the embedded models at a small scale, no network. Writes ``runs/gpu_smoke/results.json`` (device, stage
times, peak memory per stage against the profile's budget) and exits 1 when a stage fails or goes over it.

    bash scripts/gpu_smoke.sh            # ~5-8 min on one GPU; refuses without CUDA

What is the ``colab`` profile here: its precision choice (bf16 where native, else fp16), its batch sizes
and RL recipe, the judge's ``hf`` backend (batched, greedy) with the embedded generator standing in for the
judge model. What is not: the hub models (none can be fetched offline) and the sizes (a few steps each).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_GB = 15.0
"""A 16 GB T4's usable memory: every stage's peak must stay below it (the ``colab`` profile's promise)."""
SMOKE = [
    "models.generator=smollm2", "models.reward_backbone=minilm", "models.encoder=minilm",
    "data.scale=0.002", "data.min_rows=48", "data.n_judge_eval=16", "data.rec_test_seekers=12",
    "data.rec_valid_seekers=8", "data.rec_eval_rows_per_seeker=6",
    "sft.max_steps=8", "sft.n_eval=8", "sft.n_format=4",
    "reward.max_steps=8", "reward.n_eval=32",
    "ppo.iterations=2", "ppo.n_eval=8", "ppo.checkpoint_every=1",
    "generate.n_judge=8", "generate.n_samples=2", "generate.judge_samples=1",
    "judge.backend=hf", "judge.model=smollm2", "judge.max_new_tokens=64",
    "recommend.epochs=2", "recommend.seeds=(0,)",
]
"""``--set`` overrides that shrink the ``colab`` profile to a smoke run on the embedded models."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default=str(ROOT / "runs" / "gpu_smoke"))
    parser.add_argument("--budget-gb", type=float, default=BUDGET_GB)
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device is visible (torch.cuda.is_available() is False). This script checks the "
              "GPU code paths and needs one GPU; on a CPU use `bash scripts/main.sh` or `--profile tiny`.",
              file=sys.stderr)
        return 2

    from girl_lib.config import get_profile
    from girl_lib.models import native_bf16, resolve_dtype
    from girl_lib.pipeline import run_stage
    from girl_lib.report import write_report
    from girl_lib.runio import STAGES, atomic_write_json

    cfg = get_profile("colab", SMOKE)
    run_dir = Path(args.run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    props = torch.cuda.get_device_properties(0)
    out = {"device": props.name, "memory_gb": round(props.total_memory / 1e9, 1),
           "capability": f"{props.major}.{props.minor}", "native_bf16": native_bf16(),
           "dtype": str(resolve_dtype(cfg)), "torch": torch.__version__, "budget_gb": args.budget_gb,
           "overrides": SMOKE, "stages": {}}
    ok = True
    for stage in STAGES:
        torch.cuda.reset_peak_memory_stats()
        t0 = time.time()
        row: dict = {}
        try:
            run_stage(stage, cfg, run_dir, progress=False)
        except Exception as err:  # noqa: BLE001 - a smoke run reports every failure, then stops
            row["error"] = f"{type(err).__name__}: {err}"
            ok = False
        row["seconds"] = round(time.time() - t0, 1)
        row["peak_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
        row["within_budget"] = row["peak_gb"] <= args.budget_gb
        ok = ok and row["within_budget"]
        out["stages"][stage] = row
        print(f"{stage:<9} {row['seconds']:>7.1f} s  peak {row['peak_gb']:.2f} GB"
              + (f"  FAILED: {row['error']}" if "error" in row else ""), flush=True)
        if "error" in row:
            break
    out["total_seconds"] = round(sum(r["seconds"] for r in out["stages"].values()), 1)
    out["ok"] = ok
    results = write_report(cfg, run_dir) if ok else {}  # the pipeline's results.json, then the smoke figures in it
    atomic_write_json(run_dir / "results.json", {**results, "gpu_smoke": out})
    print(json.dumps({k: out[k] for k in ("device", "dtype", "total_seconds", "ok")}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
