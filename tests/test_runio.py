import json
import os

import pytest
import torch

from girl_lib.runio import (GirlError, NonFiniteError, append_jsonl, atomic_dir, atomic_write_json,
                            check_finite, is_done, mark_done, read_jsonl, require_stage)


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
