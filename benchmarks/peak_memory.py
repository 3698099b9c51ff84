"""Peak memory of each pipeline stage: resident set size (RSS) on the CPU, and, when a CUDA GPU is present,
peak GPU memory of the ``colab`` profile (goal: it fits a 16 GB T4).

Each stage function (``girl_lib.pipeline.run_stage``, the same call ``girl <stage>`` makes) runs in its
own child process; the parent reads that child's ``ru_maxrss`` from ``os.wait4`` (the child's own peak,
not the maximum over all children). A ``baseline`` row is a child that only imports torch, transformers
and girl_lib, so a stage's own share is ``peak - baseline``. On a GPU the child also reports
``torch.cuda.max_memory_allocated`` / ``max_memory_reserved`` after the stage.

Stages need their inputs: ``reward`` needs ``data``, ``ppo`` needs ``sft`` and ``reward``, and so on.
Stages listed are run in order in ``--run-dir`` (a temporary dir unless given), so list every stage
you need, or point ``--run-dir`` at a run that has them done already.

Default (cheap, ~1-3 min on 2 cores): ``--profile cpu --stages data,reward`` with small overrides
(``reward.max_steps=5``). The full measurement (hours on 2 cores; the overrides keep each stage short
but still load the same models and run the same code):

    .venv/bin/python benchmarks/peak_memory.py --stages data,sft,reward,ppo,generate,judge,recommend \\
        --run-dir runs/mem-cpu --no-default-overrides \\
        --set sft.max_steps=5 --set reward.max_steps=5 --set ppo.iterations=1 \\
        --set generate.n_judge=8 --set generate.n_samples=1

    # or measure an existing finished run's stages again, in place (they are redone):
    .venv/bin/python benchmarks/peak_memory.py --run-dir runs/cpu --stages generate --no-default-overrides

On a CUDA machine the same command also runs ``--gpu-profile colab`` (hub models by name: they must
be in the local Hugging Face cache) and reports GPU peaks; ``--no-gpu`` skips that.
Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, emit, loadavg, machine_info  # noqa: E402

DEFAULT_OVERRIDES = {
    "cpu": ["reward.max_steps=5", "reward.n_eval=16", "sft.max_steps=5", "ppo.iterations=1",
            "ppo.n_eval=4", "generate.n_judge=8", "generate.n_samples=1"],
    "tiny": [],
    "colab": ["reward.max_steps=5", "sft.max_steps=5", "ppo.iterations=1", "ppo.n_eval=4",
              "generate.n_judge=8", "generate.n_samples=1"],
}

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, {root!r})
for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(k, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import torch, transformers  # noqa: F401
from girl_lib.config import get_profile
stage, profile, run_dir, overrides = {stage!r}, {profile!r}, {run_dir!r}, {overrides!r}
cuda = torch.cuda.is_available()
if cuda:
    torch.cuda.reset_peak_memory_stats()
t0 = time.time()
if stage != "baseline":
    from girl_lib.pipeline import run_stage
    from girl_lib.runio import clear_done
    clear_done(run_dir, stage)
    run_stage(stage, get_profile(profile, overrides), run_dir, progress=False)
out = {{"seconds": time.time() - t0}}
if cuda:
    out["cuda_max_allocated"] = torch.cuda.max_memory_allocated()
    out["cuda_max_reserved"] = torch.cuda.max_memory_reserved()
    out["cuda_total"] = torch.cuda.get_device_properties(0).total_memory
    out["cuda_name"] = torch.cuda.get_device_name(0)
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            out["vmhwm_kb"] = int(line.split()[1])
print("__GIRL_MEM__" + json.dumps(out), flush=True)
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="cpu", choices=["tiny", "cpu", "colab"])
    p.add_argument("--stages", default="data,reward",
                   help="comma-separated stages, run in this order (default data,reward)")
    p.add_argument("--run-dir", default=None, help="run dir to use (default: a temporary one, deleted)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="profile override, repeatable (added to the default overrides)")
    p.add_argument("--no-default-overrides", action="store_true",
                   help=f"do not apply the cheap default overrides ({DEFAULT_OVERRIDES['cpu']} for cpu)")
    p.add_argument("--no-baseline", action="store_true", help="skip the import-only baseline child")
    p.add_argument("--gpu-profile", default="colab", help="profile measured on the GPU when one is present")
    p.add_argument("--no-gpu", action="store_true", help="never measure the GPU")
    p.add_argument("--gpu-only", action="store_true", help="skip the CPU measurement of --profile")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per stage before it is killed")
    return p.parse_args(argv)


def run_child(stage: str, profile: str, run_dir: str, overrides: list[str], timeout: float) -> dict:
    """Run one stage in a child process; return its peak RSS (from wait4) and what it reported."""
    code = CHILD.format(root=str(ROOT), stage=stage, profile=profile, run_dir=run_dir, overrides=overrides)
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=str(ROOT))
    lines = []
    deadline = t0 + timeout
    for line in proc.stdout:  # stream (and keep) the child's output
        lines.append(line)
        if not line.startswith("__GIRL_MEM__"):
            print(f"    [{stage}] {line.rstrip()}", flush=True)
        if time.time() > deadline:
            proc.kill()
            break
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    report = {}
    for line in lines:
        if line.startswith("__GIRL_MEM__"):
            report = json.loads(line[len("__GIRL_MEM__"):])
    row = {"stage": stage, "profile": profile, "exit_code": proc.returncode,
           "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: ru_maxrss in KiB
           "wall_s": round(time.time() - t0, 1), "load1": loadavg()[0]}
    if "vmhwm_kb" in report:
        row["vmhwm_mb"] = round(report["vmhwm_kb"] / 1024, 1)
    for k in ("cuda_max_allocated", "cuda_max_reserved", "cuda_total"):
        if k in report:
            row[k.replace("cuda_", "gpu_") + "_gb"] = round(report[k] / 2**30, 3)
    if "cuda_name" in report:
        row["gpu_name"] = report["cuda_name"]
    if proc.returncode != 0:
        row["error_tail"] = "".join(lines[-15:])
    return row


def measure(profile: str, stages: list[str], run_dir: str, overrides: list[str], args) -> list[dict]:
    rows = []
    if not args.no_baseline:
        rows.append(run_child("baseline", profile, run_dir, overrides, args.timeout))
        print(f"  baseline (imports only): peak RSS {rows[-1]['peak_rss_mb']} MB", flush=True)
    for stage in stages:
        print(f"  running {stage} ({profile}) ...", flush=True)
        row = run_child(stage, profile, run_dir, overrides, args.timeout)
        rows.append(row)
        gpu = f", GPU max allocated {row['gpu_max_allocated_gb']} GB" if "gpu_max_allocated_gb" in row else ""
        print(f"  {stage}: peak RSS {row['peak_rss_mb']} MB{gpu} in {row['wall_s']}s "
              f"(exit {row['exit_code']}, load1 {row['load1']})", flush=True)
        if row["exit_code"] != 0:
            print(f"  {stage} failed; later stages that need it are skipped\n{row.get('error_tail', '')}")
            break
    return rows


def main(argv=None):
    args = parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    info = machine_info()
    print(f"machine: {info}", flush=True)
    overrides = ([] if args.no_default_overrides else list(DEFAULT_OVERRIDES.get(args.profile, []))) + args.set
    print(f"profile={args.profile} stages={stages} overrides={overrides}", flush=True)
    tmp = None
    run_dir = args.run_dir
    if run_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="girl_mem_")
        run_dir = tmp.name
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    result = {"profile": args.profile, "stages": stages, "overrides": overrides}
    try:
        rows = [] if args.gpu_only else measure(args.profile, stages, str(Path(run_dir).resolve()), overrides,
                                                 args)
        result["cpu"] = rows
        ok = [r for r in rows if r["stage"] != "baseline" and r["exit_code"] == 0]
        if ok:
            top = max(ok, key=lambda r: r["peak_rss_mb"])
            result["max_stage"], result["max_peak_rss_mb"] = top["stage"], top["peak_rss_mb"]

        import torch

        if torch.cuda.is_available() and not args.no_gpu:
            gpu_dir = Path(run_dir) / f"gpu-{args.gpu_profile}"
            gpu_over = ([] if args.no_default_overrides else list(DEFAULT_OVERRIDES.get(args.gpu_profile, [])))
            gpu_rows = measure(args.gpu_profile, stages, str(gpu_dir.resolve()), gpu_over + args.set, args)
            peaks = [r.get("gpu_max_reserved_gb", 0) for r in gpu_rows if r["exit_code"] == 0]
            result["gpu"] = {"present": True, "name": torch.cuda.get_device_name(0), "profile": args.gpu_profile,
                             "rows": gpu_rows, "max_reserved_gb": max(peaks) if peaks else None,
                             "fits_16gb_t4": (max(peaks) < 15.0) if peaks else None,
                             "note": "T4: 16 GB nominal, ~15 GiB usable; reserved (allocator cache) is the "
                                     "figure that must fit"}
        else:
            result["gpu"] = {"present": False,
                             "note": "no CUDA GPU on this machine: the colab profile's GPU peak was not measured"}
    finally:
        if tmp is not None:
            tmp.cleanup()
    result["machine"] = info
    emit(result)


if __name__ == "__main__":
    main()
