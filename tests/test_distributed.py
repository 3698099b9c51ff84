"""The heavy stages under ``accelerate launch`` with two CPU processes (gloo), against one process.

accelerate 1.15's ``--cpu`` launcher starts a single process whatever ``--num_processes`` says (it needs an MPI
hostfile for more), so two CPU processes are launched the way ``accelerate launch --multi_gpu`` does it
(torchrun), with no GPU visible: every stage then picks CPU and gloo by itself.

Tolerances: the data-parallel split changes only the order of float additions (padding of smaller
batches, all-reduce of gradients), so losses and scores agree to ~1e-7 here; we allow 1e-5 (a pairwise
accuracy may move by one flipped pair). Dropout is the one genuine difference (each process draws its
own masks), so the reward comparison runs with dropout off (``tests/distributed_driver.py``); SFT's tiny
generator has none.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from girl_lib.distributed import share
from girl_lib.runio import read_json, read_jsonl

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "distributed_driver.py"
TOL = 1e-5

pytest.importorskip("accelerate")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def launch(*args: str, processes: int = 2) -> str:
    """``accelerate launch`` (torchrun underneath) of ``args`` on ``processes`` CPU processes; its output."""
    cmd = [sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--multi_gpu",
           "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "--main_process_port", str(_free_port()), *args]
    out = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{(out.stdout + out.stderr)[-4000:]}"
    return out.stdout + out.stderr


def _driver():
    """tests/distributed_driver.py as a module: its one-process references run in this process (as run_sft's
    and run_generate's do below), not in a launch of their own."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("distributed_driver", DRIVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fresh_accelerate_state():
    """accelerate's process state, reset before and after: an ``Accelerator`` made here (one process, CPU)
    is not the one a later test's stage finds."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def _copy_data(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    shutil.copytree(src / "data", dst / "data")
    return dst


@pytest.fixture(scope="module")
def runs(tiny_data_dir, tmp_path_factory):
    """Two run dirs with the same tiny data: ``one`` (one process) and ``two`` (two processes)."""
    root = tmp_path_factory.mktemp("dist")
    return {"one": _copy_data(tiny_data_dir, root / "one"), "two": _copy_data(tiny_data_dir, root / "two")}


def _no_temporaries(run_dir: Path) -> None:
    left = [p for p in run_dir.rglob("*") if ".tmp-" in p.name or ".old-" in p.name or ".discard-" in p.name]
    assert not left, f"temporary files left behind: {left}"


# --------------------------------------------------------------------------- no launch needed
@pytest.mark.parametrize("n,world", [(8, 2), (7, 2), (1, 2), (10, 3), (2, 4)])
def test_shares_are_contiguous_blocks_that_cover_everything_once(n, world):
    blocks = [list(range(n))[share(n, r, world)] for r in range(world)]
    assert sum(blocks, []) == list(range(n))
    assert max(map(len, blocks)) - min(map(len, blocks)) <= 1


# --------------------------------------------------------------------------- generate
def test_generate_on_two_processes_writes_what_one_process_writes_and_resumes(tiny_cfg, runs):
    from girl_lib.config import get_profile
    from girl_lib.generate import generation_jobs, generations_path, model_jobs, run_generate
    from girl_lib.runio import build_fingerprint, mark_building

    # batch_size 2: the rec jobs fall into chunks of 8, so the 5 chunks make 3 rounds, the last one uneven
    sets = ["generate.models=base", "generate.batch_size=2"]
    cfg = get_profile("tiny", sets)
    run_generate(cfg, runs["one"], progress=False)
    launch("-m", "girl_lib.cli", "generate", "--profile", "tiny", "--run-dir", str(runs["two"]),
           *sum((["--set", s] for s in sets), []))
    one, two = generations_path(runs["one"], "base"), generations_path(runs["two"], "base")
    assert two.read_text() == one.read_text()  # same JDs, same order, each row once
    jobs = model_jobs(generation_jobs(runs["two"], cfg)[0], "base", cfg.generate)
    keys = [(r["subset"], r["cv_id"], r["sample"]) for r in read_jsonl(two)]
    assert sorted(keys) == sorted(jobs) and len(keys) == len(set(keys))
    stats = read_json(runs["two"] / "generate" / "metrics.json")["base"]
    n_judge = sum(j[0] == "judge_eval" for j in jobs)
    sizes = [n_judge] + [len(jobs[s:s + 8]) for s in range(n_judge, len(jobs), 8)]  # chunk i -> process i % 2
    assert len(sizes) == 5
    assert stats["num_processes"] == 2
    assert stats["rows_per_process"] == [sum(sizes[0::2]), sum(sizes[1::2])]
    assert read_json(runs["one"] / "generate" / "metrics.json")["base"]["rows_per_process"] == [len(jobs)]
    assert (runs["two"] / "generate" / "DONE").exists()
    _no_temporaries(runs["two"])

    # Killed mid-way (a third of the rows and a torn line, no DONE): two processes resume it identically.
    lines = two.read_text().splitlines()
    two.write_text("\n".join(lines[:len(lines) // 3]) + '\n{"subset": "rec", "cv')
    (runs["two"] / "generate" / "DONE").unlink()
    fp, config, _ = build_fingerprint(cfg, runs["two"], "generate")
    mark_building(runs["two"], "generate", fp, config, profile="tiny")
    launch("-m", "girl_lib.cli", "generate", "--profile", "tiny", "--run-dir", str(runs["two"]),
           *sum((["--set", s] for s in sets), []))
    assert two.read_text() == one.read_text()
    assert read_json(runs["two"] / "generate" / "metrics.json")["base"]["generated_now"] == len(jobs) - len(lines) // 3


# --------------------------------------------------------------------------- reward
def test_reward_on_two_processes_matches_one_process_with_the_same_global_batch(tiny_cfg, runs):
    launch(str(DRIVER), "reward-nodropout", str(runs["two"]))
    _driver().reward_nodropout(str(runs["one"]))
    a = read_json(runs["two"] / "reward" / "metrics.json")
    b = read_json(runs["one"] / "reward" / "metrics.json")
    r = tiny_cfg.reward
    assert (a["num_processes"], b["num_processes"]) == (2, 1)
    assert a["rows_per_process"] == [r.max_steps * r.batch_size // 2] * 2  # each half of every global batch
    assert b["rows_per_process"] == [r.max_steps * r.batch_size]
    assert sum(a["eval_rows_per_process"]) == a["n_eval"] == b["n_eval"] and min(a["eval_rows_per_process"]) > 0
    assert len(a["history"]) == len(b["history"]) > 1
    for x, y in zip(a["history"], b["history"]):
        assert abs(x["loss"] - y["loss"]) < TOL
        assert abs(x["train_accuracy"] - y["train_accuracy"]) <= 1 / (r.batch_size * r.logging_steps) + 1e-9
    # U(C, J) is trained on differences only: compare margins (a shared offset is not learnt by Eq. 2)
    margin = lambda m: np.subtract(m["eval_scores"]["chosen"], m["eval_scores"]["rejected"])  # noqa: E731
    assert np.abs(margin(a) - margin(b)).max() < TOL
    assert np.ptp(margin(b)) > 10 * TOL  # the comparison is not between constants
    assert a["pairwise_accuracy_before"] == b["pairwise_accuracy_before"]
    for key in ("pairwise_accuracy", "auc"):
        assert abs(a[key] - b[key]) <= 1 / a["n_eval"] + 1e-9
    assert (runs["two"] / "reward" / "DONE").exists()
    _no_temporaries(runs["two"])


# --------------------------------------------------------------------------- sft
def test_sft_on_two_processes_matches_one_process(tiny_cfg, runs):
    from girl_lib.sft import run_sft

    launch("-m", "girl_lib.cli", "sft", "--profile", "tiny", "--run-dir", str(runs["two"]))
    run_sft(tiny_cfg, runs["one"], progress=False)
    a = read_json(runs["two"] / "sft" / "metrics.json")
    b = read_json(runs["one"] / "sft" / "metrics.json")
    assert (a["num_processes"], a["per_device_batch_size"]) == (2, tiny_cfg.sft.batch_size // 2)
    assert (b["num_processes"], b["per_device_batch_size"]) == (1, tiny_cfg.sft.batch_size)
    curve_a, curve_b = [r["loss"] for r in a["train_loss_curve"]], [r["loss"] for r in b["train_loss_curve"]]
    assert len(curve_a) == len(curve_b) > 1 and curve_a[-1] < curve_a[0]  # it learns
    assert np.allclose(curve_a, curve_b, rtol=TOL, atol=0)
    assert a["jd_perplexity_after"] == pytest.approx(b["jd_perplexity_after"], rel=TOL)
    assert (runs["two"] / "sft" / "DONE").exists()
    _no_temporaries(runs["two"])


# --------------------------------------------------------------------------- ppo
def test_ppo_on_two_processes_keeps_the_rollouts_per_iteration(tiny_cfg, runs):
    # needs sft and reward in runs["two"]: the tests above make them with two processes; run alone (-k), it
    # makes them itself, so the outcome never depends on which tests ran before
    for stage in ("sft", "reward"):
        if not (runs["two"] / stage / "DONE").exists():
            launch("-m", "girl_lib.cli", stage, "--profile", "tiny", "--run-dir", str(runs["two"]))
    launch("-m", "girl_lib.cli", "ppo", "--profile", "tiny", "--run-dir", str(runs["two"]))
    p = tiny_cfg.ppo
    rows = read_jsonl(runs["two"] / "ppo" / "metrics.jsonl")
    assert [r["iteration"] for r in rows] == list(range(1, p.iterations + 1))  # one row per iteration, once
    per_iteration = p.rollout_batch_size * p.samples_per_cv
    for r in rows:
        assert r["rollouts"] == per_iteration and r["rollouts_per_process"] == [per_iteration // 2] * 2
        assert np.isfinite(r["reward"]) and np.isfinite(r["policy_loss"])
    m = read_json(runs["two"] / "ppo" / "metrics.json")
    assert m["num_processes"] == 2 and m["rows_per_process"] == [per_iteration // 2] * 2
    assert (runs["two"] / "ppo" / "DONE").exists() and (runs["two"] / "ppo" / "model" / "config.json").exists()
    _no_temporaries(runs["two"])


def test_ppo_processes_split_the_cvs_and_log_means_over_every_sample(tmp_path, fresh_accelerate_state):
    launch(str(DRIVER), "ppo-gather", str(tmp_path / "two.json"))
    _driver().ppo_gather(str(tmp_path / "one.json"))
    two, (one,) = json.loads((tmp_path / "two.json").read_text()), json.loads((tmp_path / "one.json").read_text())
    assert [r["world"] for r in two] == [2, 2] and one["world"] == 1
    # the same 6 CVs as one process samples, half on each process, none twice
    assert len(two[0]["cvs"]) == len(two[1]["cvs"]) == 3
    assert sorted(two[0]["cvs"] + two[1]["cvs"]) == sorted(one["cvs"]) and len(set(one["cvs"])) == 6
    # the logged mean / sum are over every process's samples, not the local ones
    everything = two[0]["local"] + two[1]["local"]
    for r in two:
        assert r["mean"] == pytest.approx(np.mean(everything)) and r["sum"] == pytest.approx(np.sum(everything))
        assert r["mean"] != pytest.approx(np.mean(r["local"]))
    assert one["mean"] == pytest.approx(np.mean(one["local"]))
