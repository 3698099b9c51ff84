import json
import os

import pytest
import torch

from girl_lib.runio import (GirlError, NonFiniteError, append_jsonl, atomic_dir, atomic_write_json,
                            check_finite, done_record, is_done, mark_done, read_jsonl, recover_dir, require_stage,
                            save_stage)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_json(tmp_path / "a" / "m.json", {"x": 1.5})
    assert json.loads((tmp_path / "a" / "m.json").read_text()) == {"x": 1.5}
    assert os.listdir(tmp_path / "a") == ["m.json"]


def test_atomic_dir_keeps_old_folder_when_writer_fails(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "w.txt").write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "w.txt").write_text("half")
            raise RuntimeError("killed mid-write")
    assert (target / "w.txt").read_text() == "good"
    assert sorted(os.listdir(tmp_path)) == ["model"]


def _dead_pid() -> int:
    """The pid of a process that has ended (a child that exited and was reaped)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_atomic_dir_clears_what_a_killed_writer_left(tmp_path):
    """SIGKILL runs no ``except``: a killed writer's half-built ``.tmp-PID`` stays behind until the next build
    of the same folder (or a resume, through recover_dir) removes it; a live writer's is left alone."""
    target = tmp_path / "checkpoint"
    with atomic_dir(target) as tmp:
        (tmp / "w.txt").write_text("one")
    dead = tmp_path / f".checkpoint.tmp-{_dead_pid()}"
    (dead / "actor").mkdir(parents=True)
    live = tmp_path / f".checkpoint.tmp-{os.getppid()}"  # our parent: alive
    live.mkdir()
    other = tmp_path / ".checkpoint.json.tmp-1"  # another file's temporary: not this folder's
    other.write_text("{}")
    with atomic_dir(target) as tmp:
        (tmp / "w.txt").write_text("two")
    assert (target / "w.txt").read_text() == "two"
    assert sorted(os.listdir(tmp_path)) == sorted(["checkpoint", live.name, other.name])


def test_atomic_write_clears_a_killed_writers_temporary_file(tmp_path):
    (tmp_path / f".m.json.tmp-{_dead_pid()}").write_text('{"x": ')
    atomic_write_json(tmp_path / "m.json", {"x": 1})
    assert os.listdir(tmp_path) == ["m.json"]


def test_recover_dir_puts_back_a_folder_moved_aside_by_a_killed_writer(tmp_path):
    """Killed between atomic_dir's two renames: the folder is gone, its last complete version is under
    ``.old-PID`` and the next under ``.tmp-PID``; a reader then finds the last complete one back in place."""
    target, pid = tmp_path / "checkpoint", _dead_pid()
    (tmp_path / f".checkpoint.old-{pid}").mkdir()
    (tmp_path / f".checkpoint.old-{pid}" / "state.json").write_text('{"iteration": 3}')
    (tmp_path / f".checkpoint.tmp-{pid}").mkdir()
    recover_dir(target)
    assert (target / "state.json").read_text() == '{"iteration": 3}'
    assert os.listdir(tmp_path) == ["checkpoint"]
    recover_dir(tmp_path / "absent" / "checkpoint")  # no parent folder: nothing to do


def test_jsonl_drops_a_torn_last_line(tmp_path):
    path = tmp_path / "r.jsonl"
    append_jsonl(path, [{"i": 0}, {"i": 1}])
    with open(path, "a") as f:
        f.write('{"i": 2, "tru')
    assert [r["i"] for r in read_jsonl(path)] == [0, 1]


def test_stage_markers_and_require_stage_message(tmp_path):
    assert not is_done(tmp_path, "data")
    with pytest.raises(GirlError, match="girl data --run-dir"):
        require_stage(tmp_path, "data", "sft")
    mark_done(tmp_path, "data")
    assert is_done(tmp_path, "data")
    assert require_stage(tmp_path, "data", "sft") == tmp_path / "data"


def test_check_finite():
    check_finite(torch.tensor([1.0, 2.0]), "ok")
    with pytest.raises(NonFiniteError, match="loss"):
        check_finite(torch.tensor([1.0, float("nan")]), "loss")
    with pytest.raises(NonFiniteError):
        check_finite(float("inf"), "reward")


def test_append_after_a_torn_line_repairs_the_file(tmp_path):
    path = tmp_path / "r.jsonl"
    append_jsonl(path, [{"i": 0}])
    with open(path, "a") as f:
        f.write('{"i": 1, "to')
    append_jsonl(path, [{"i": 2}])
    assert [r["i"] for r in read_jsonl(path)] == [0, 2]


def test_derive_seed_is_the_documented_stride_and_keeps_streams_apart():
    from girl_lib.runio import derive_seed

    assert derive_seed(0, 7) == 7 and derive_seed(2, 5) == 2 * 1_000_003 + 5
    streams = {derive_seed(s, k) for s in range(5) for k in range(1000)}
    assert len(streams) == 5 * 1000  # no two (seed, offset) pairs share a stream


class _FakeModel:
    """Stands in for a ``save_pretrained`` model: writes one file, or fails half-way like a full disk."""

    def __init__(self, fail: bool = False):
        self.fail = fail

    def save_pretrained(self, path, safe_serialization=True):
        assert safe_serialization  # safetensors only
        (path / "model.safetensors").write_text("weights")
        if self.fail:
            raise OSError("disk full")


class _FakeTokenizer:
    def save_pretrained(self, path):
        (path / "tokenizer.json").write_text("{}")


def test_save_stage_writes_model_then_metrics_then_done(tmp_path):
    save_stage(tmp_path, "sft", {"loss": 1.25}, {"jd_perplexity_after": 3.5}, None, model=(_FakeModel(), _FakeTokenizer()))
    assert sorted(os.listdir(tmp_path / "sft" / "model")) == ["model.safetensors", "tokenizer.json"]
    assert json.loads((tmp_path / "sft" / "metrics.json").read_text()) == {"loss": 1.25}
    assert done_record(tmp_path, "sft")["jd_perplexity_after"] == 3.5

    # a failure while saving the model: no metrics, no DONE, the old model folder untouched
    with pytest.raises(OSError, match="disk full"):
        save_stage(tmp_path, "reward", {"acc": 0.9}, {}, None, model=(_FakeModel(fail=True), None))
    assert not (tmp_path / "reward" / "metrics.json").exists() and not is_done(tmp_path, "reward")
    assert not (tmp_path / "reward" / "model").exists()

    # a side run (mark=False) in another folder: model and metrics there, no DONE anywhere
    save_stage(tmp_path, "ppo", {"r": 1}, {}, None, model=None, out_dir=tmp_path / "sweep", mark=False)
    assert json.loads((tmp_path / "sweep" / "metrics.json").read_text()) == {"r": 1}
    assert not (tmp_path / "sweep" / "model").exists() and not is_done(tmp_path, "ppo")


def test_cached_result_is_reused_only_for_the_same_inputs(tmp_path):
    from girl_lib.runio import cached_result

    calls = []

    def compute():
        calls.append(1)
        return {"rows": [len(calls)]}

    path = tmp_path / "study" / "rows.json"
    assert cached_result(path, {"sft": "a", "kl": (0.0, 0.5)}, None) is None  # nothing saved, nothing to compute with
    assert cached_result(path, {"sft": "a", "kl": (0.0, 0.5)}, compute) == {"rows": [1]}
    assert cached_result(path, {"sft": "a", "kl": [0.0, 0.5]}, compute) == {"rows": [1]} and len(calls) == 1  # reused
    assert cached_result(path, {"sft": "b", "kl": [0.0, 0.5]}, None) is None  # made from another sft: not returned
    assert cached_result(path, {"sft": "b", "kl": [0.0, 0.5]}, compute) == {"rows": [2]}  # recomputed, saved
    assert json.loads(path.read_text()) == {"made_from": {"sft": "b", "kl": [0.0, 0.5]}, "result": {"rows": [2]}}
