"""`girl run` end to end on `tiny`: every stage, the outputs, and resuming after kills.

The finished run is the session's (``tiny_run`` in conftest.py: one real `girl run --profile tiny` process,
shared with test_provenance.py); a test that changes a run works on its own copy (``tiny_run_copy``)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from girl_lib.pipeline import STAGES, dependents, upstream
from girl_lib.runio import read_jsonl

ROOT = Path(__file__).resolve().parents[1]


def test_stage_graph():
    assert upstream("ppo") == ["data", "sft", "reward"]
    assert upstream("recommend") == ["data", "sft", "reward", "ppo", "generate"]
    assert dependents("reward") == ["reward", "ppo", "generate", "judge", "recommend"]
    assert dependents("judge") == ["judge"]


def _girl(run_dir, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "girl_lib.cli", "run", "--profile", "tiny", "--run-dir",
                             str(run_dir), *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(proc, timeout=1200):
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def _drop_timings(obj):
    """Wall-clock fields differ between any two runs; everything else must match."""
    if isinstance(obj, dict):
        return {k: _drop_timings(v) for k, v in obj.items() if "seconds" not in k and k != "timing_s"}
    if isinstance(obj, list):
        return [_drop_timings(v) for v in obj]
    return obj


def test_girl_run_writes_every_stage_and_the_report(tiny_run, tiny_run_copy, capsys):
    """The session's `girl run --profile tiny` (a real process, conftest.tiny_run): every stage, the report."""
    from girl_lib.cli import main

    run_dir, out = tiny_run.dir, tiny_run.output
    for stage in STAGES:
        assert (run_dir / stage / "DONE").exists(), stage
        assert f"] {stage}" in out
    res = json.loads((run_dir / "results.json").read_text())
    assert res["profile"] == "tiny"
    assert 0 <= res["reward_model"]["pairwise_accuracy"] <= 1
    for key in ("reward_sft", "reward_girl", "kl_girl"):
        assert isinstance(res["ppo"][key], float)
    assert set(res["judge"]) == {"GIRL_vs_GIRL-SFT", "GIRL-SFT_vs_base", "GIRL_vs_base"}
    for pair in res["judge"].values():
        assert abs(pair["win"] + pair["tie"] + pair["lose"] - 1) < 1e-5  # rounded to 6 places
        assert pair["adv"] == pytest.approx(pair["win"] - pair["lose"], abs=1e-5)  # reports round to 6 places
    for table in ("recommend", "recommend_cold_start"):
        for pred in ("MLP", "Dot"):
            for model in ("Base", "GIRL-SFT", "GIRL"):
                assert 0 <= res[table][pred][model]["auc"] <= 1
    assert res["generation_number"]
    assert set(res["timing_s"]) >= set(STAGES) | {"total"}
    report = (run_dir / "report.md").read_text()
    for title in ("Table I analogue", "Table II analogue", "Table III analogue", "Table IV analogue"):
        assert title in report
    assert list((run_dir / "plots").glob("*.png"))
    # a rerun skips everything (in this process, through the same entry point; on a copy: a rerun rewrites
    # the report)
    capsys.readouterr()
    assert main(["run", "--profile", "tiny", "--run-dir", str(tiny_run_copy)]) == 0
    assert capsys.readouterr().out.count("done already (skipped)") == len(STAGES)


def _wait_for(proc, predicate, timeout=900):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if predicate() or proc.poll() is not None:
            return
        time.sleep(0.2)


def _stage_outputs(run_dir: Path, stages) -> dict:
    """Every file the stages wrote, timings dropped; what a build needs along the way, not what it makes, left
    out: checkpoints and the datasets library's caches. A killed writer's temporaries (``.NAME.tmp-PID``) are
    not left out: the resumed build must have removed them (``runio.recover_dir``)."""
    out = {}
    for stage in stages:
        for path in sorted((run_dir / stage).rglob("*")):
            rel = path.relative_to(run_dir)
            if not path.is_file() or {"checkpoint", ".trainer"} & set(rel.parts) or path.name.startswith("cache-"):
                continue
            if path.suffix == ".json" or path.name == "DONE":
                out[str(rel)] = _drop_timings(json.loads(path.read_text()))
            elif path.suffix == ".jsonl":
                out[str(rel)] = _drop_timings(read_jsonl(path))
            else:
                out[str(rel)] = path.read_bytes()  # model weights: the same bytes
    return out


def test_killed_runs_resume_to_the_same_results(tiny_run, tmp_path):
    """`girl run` killed (SIGKILL) during SFT, then during PPO, then once PPO is done: every rerun resumes, no
    finished stage is redone, and what the killed stages made is what an uninterrupted run made
    (conftest.tiny_run), byte for byte.

    - during SFT: a stage without a checkpoint of its own restarts over the leftovers of the killed build
      (``sft/.trainer``, BUILDING of the same fingerprint) and makes the same model;
    - during PPO: `girl run` resumes PPO from ``ppo/checkpoint`` by itself (``run_stage``'s auto-resume) and
      ends where PPO without a stop ends (per-iteration log, evaluation samples, weights);
    - once PPO is done (between stages): the rerun gets past every finished stage without redoing it.

    The stages after PPO are not run to the end here: they read only data, sft, reward and ppo, which are
    compared whole, and the uninterrupted run checks what they make. Kills during generation and judging were
    dropped (issue #29): resuming a generation file after a kill (torn last line, BUILDING of the same
    fingerprint, through the CLI) is guarded by test_generate.py::test_run_generate_writes_and_resumes_identically
    and test_distributed.py::test_generate_on_two_processes_writes_what_one_process_writes_and_resumes; resuming
    the judge from its reply cache (torn last line, nothing asked twice, same verdicts) by
    test_judge.py::test_openai_5xx_exhausts_retries_keeps_cache_and_resumes_for_free and
    test_judge.py::test_run_judge_writes_table_ii_analogue; that a build of the same fingerprint keeps its
    partial outputs, by test_provenance.py's fake-stage tests."""
    run_dir = tmp_path / "killed"
    kills = {
        "during SFT": lambda: (run_dir / "sft" / ".trainer").exists(),
        "during PPO": lambda: len(read_jsonl(run_dir / "ppo" / "metrics.jsonl")) >= 1,
        "once PPO is done": lambda: (run_dir / "ppo" / "DONE").exists(),
    }
    kept = {}
    for when, marker in kills.items():
        proc = _girl(run_dir)
        _wait_for(proc, marker)
        assert proc.poll() is None, f"the run ended before it could be killed {when}:\n" + proc.communicate()[0][-3000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        # whatever a finished stage wrote is never redone
        for stage in STAGES:
            done = run_dir / stage / "DONE"
            if done.exists():
                kept.setdefault(stage, done.stat().st_mtime_ns)
    assert {"data", "sft", "reward"} <= set(kept)
    for stage, mtime in kept.items():
        assert (run_dir / stage / "DONE").stat().st_mtime_ns == mtime, f"{stage} was redone"
    made = ("data", "sft", "reward", "ppo")
    left = [str(p.relative_to(run_dir)) for s in made for p in (run_dir / s).rglob(".*-*")
            if ".tmp-" in p.name or ".old-" in p.name]
    assert not left, f"a killed writer's temporaries outlived the resume: {left}"
    assert _stage_outputs(run_dir, made) == _stage_outputs(tiny_run.dir, made)


def test_force_redoes_a_stage_and_its_dependents(tiny_run_copy):
    run_dir = tiny_run_copy
    before = {s: (run_dir / s / "DONE").stat().st_mtime_ns for s in STAGES}
    out = _finish(_girl(run_dir, "--force", "judge"))
    assert "judge     running" in out
    after = {s: (run_dir / s / "DONE").stat().st_mtime_ns for s in STAGES}
    assert [s for s in STAGES if after[s] != before[s]] == ["judge"]
