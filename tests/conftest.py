"""Shared fixtures. Tests run on the `tiny` profile, offline, with models cached once per session."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


ROOT = Path(__file__).resolve().parents[1]

E2E_MODULES = frozenset({"test_pipeline.py", "test_provenance.py", "test_distributed.py"})
"""Modules whose tests launch whole `girl run` pipelines or several processes (marked ``e2e``; the fast tier,
``bash scripts/test.sh --fast``, leaves them out together with ``notebooks`` and ``slow``)."""


LONG_FIRST = ("notebook_run_dir", "tiny_run", "runs", "reference_run_dir")
"""The session (or module) fixtures of the longest tests: the notebooks on ``tiny``, the users of the finished
``tiny`` run, ``test_distributed``'s launches, the notebooks in reference mode. Their tests are collected first,
in this order, so that under ``bash scripts/test.sh`` (two pytest-xdist workers, ``--dist worksteal``) no worker
is left with a long one at the end.

Each xdist worker is a process of its own and builds the session fixtures its tests ask for, so every test
ensures its own prerequisites and none may rely on another having run (the suite passes in any split). The
tests are not pinned to one worker: pytest-xdist 3.8's ``--dist loadgroup`` renames ``item._nodeid``, which
pytest 9.2 no longer reads, so its groups would silently not hold."""


def _rank(item) -> int:
    names = getattr(item, "fixturenames", ())
    return next((i for i, fixture in enumerate(LONG_FIRST) if fixture in names), len(LONG_FIRST))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)
    items.sort(key=_rank)  # stable: pytest's order within each rank


@pytest.fixture(scope="session")
def tiny_cfg():
    from girl_lib.config import get_profile

    return get_profile("tiny")


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory, tiny_cfg):
    """A run dir holding only the `data` stage of the tiny profile (shared, read-only for tests)."""
    from girl_lib.data import run_data

    run_dir = tmp_path_factory.mktemp("tiny_data_run")
    run_data(tiny_cfg, run_dir)
    return run_dir


class TinyRun:
    """A finished ``girl run --profile tiny``: its run dir and what the command printed."""

    def __init__(self, run_dir: Path, output: str):
        self.dir, self.output = run_dir, output


def _manifest(run_dir: Path) -> dict:
    return {str(p.relative_to(run_dir)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(run_dir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One complete tiny run for the session, made by a real ``girl run --profile tiny`` process (~30 s alone).

    Shared and read-only: a test that writes into a run takes :func:`tiny_run_copy`. That nothing wrote into it
    is checked when the session ends (a test that did would make the others depend on the order)."""
    run_dir = tmp_path_factory.mktemp("tiny_run") / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "girl_lib.cli", "run", "--profile", "tiny", "--run-dir", str(run_dir)],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:]
    before = _manifest(run_dir)
    yield TinyRun(run_dir, proc.stdout)
    assert _manifest(run_dir) == before, f"a test wrote into the shared tiny run {run_dir}: use tiny_run_copy"


@pytest.fixture
def tiny_run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the session's finished tiny run (:func:`tiny_run`), for a test to change."""
    return Path(shutil.copytree(tiny_run.dir, tmp_path / "tiny_run"))


@pytest.fixture(scope="session")
def tiny_generator():
    from girl_lib.models import load_generator

    return load_generator("tiny")


class FakeStages:
    """Stands in for the stage functions: writes ``<stage>/out.json`` (what it was built from) and, for
    generate, one JSONL per model; ``fail`` makes a stage raise part-way (after writing a partial file)."""

    def __init__(self):
        self.calls, self.fail, self.saw_partial, self.resumed = [], set(), {}, {}

    def __call__(self, stage, cfg, run_dir, progress, resume):
        from girl_lib.runio import GirlError, mark_done, stage_config

        self.calls.append(stage)
        out = Path(run_dir) / stage
        self.resumed[stage] = resume
        if resume and (out / "checkpoint" / "damaged").exists():  # as ppo._resume_state says it
            raise GirlError(f"the PPO checkpoint in {out / 'checkpoint'} is unreadable or incomplete; delete it "
                            f"or run without `--resume`")
        self.saw_partial[stage] = (out / "partial.txt").exists()
        (out / "partial.txt").write_text("half")
        if stage in self.fail:
            raise KeyboardInterrupt
        if stage == "generate":
            for key in cfg.generate.models:
                path = out / f"{key}.jsonl"
                if not path.exists():
                    path.write_text(json.dumps({"made_by_call": len(self.calls)}) + "\n")
        (out / "out.json").write_text(json.dumps(stage_config(cfg, stage), default=str))
        mark_done(run_dir, stage, {"call": len(self.calls)}, cfg=cfg)
        return {"stage": stage}


@pytest.fixture
def fake(monkeypatch):
    """``pipeline._dispatch`` replaced by :class:`FakeStages` (and no report): the pipeline's bookkeeping alone."""
    import girl_lib.report
    from girl_lib import pipeline

    stages = FakeStages()
    monkeypatch.setattr(pipeline, "_dispatch", stages)
    monkeypatch.setattr(girl_lib.report, "write_report", lambda cfg, run_dir: {"profile": cfg.name})
    return stages
