"""scripts/gpu_smoke.py: refuses clearly without CUDA; its overrides make a valid colab profile on the
embedded models with the judge's hf backend (the GPU run itself needs a GPU)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from girl_lib.config import get_profile

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gpu_smoke.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_smoke", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_refuses_without_cuda(monkeypatch, tmp_path, capsys):
    smoke = _load()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert smoke.main(["--run-dir", str(tmp_path / "smoke")]) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "smoke").exists()  # nothing is written before the check


def test_overrides_make_a_small_colab_profile_on_the_embedded_models():
    smoke = _load()
    cfg = get_profile("colab", smoke.SMOKE)
    assert cfg.name == "colab" and cfg.models.generator == "smollm2" and cfg.judge.backend == "hf"
    assert cfg.ppo.baseline == get_profile("colab").ppo.baseline  # the colab RL recipe, only smaller
    assert cfg.ppo.iterations <= 2 and cfg.sft.max_steps <= 8 and cfg.data.n_judge_eval <= 16
