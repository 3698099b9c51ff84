"""PPO from scratch on the tiny models with a toy reward (notebook 03): it learns, in seconds."""

from __future__ import annotations

import time

import pytest
import torch

from girl_lib import scratch_ppo


def test_toy_reward_counts_the_cv_tokens_of_each_jd():
    response = torch.tensor([[5, 6, 7, 0], [9, 9, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    prompt = torch.tensor([[0, 5, 7], [0, 5, 7]])
    prompt_mask = torch.tensor([[0, 1, 1], [1, 1, 1]])          # row 0: left padding (token 0) is not the CV
    assert scratch_ppo.toy_reward(response, mask, prompt, prompt_mask).tolist() == pytest.approx([2 / 3, 0.0])
    assert scratch_ppo.toy_reward(response[:, :0], mask[:, :0], prompt).tolist() == [0.0, 0.0]


def test_twenty_iterations_raise_the_reward_and_the_kl(tiny_data_dir):
    """The notebook's run: the actor starts as the reference (KL 0, rho = 1 asserted at every first epoch),
    the toy reward rises, the KL grows, the ratios stay sane, well inside 60 s."""
    from girl_lib.data import load_data

    cvs = list(load_data(tiny_data_dir)["rl"]["cv"][:2])
    t0 = time.perf_counter()
    rows = scratch_ppo.train(cvs, scratch_ppo.ToyPPOConfig(iterations=20))
    seconds = time.perf_counter() - t0
    print([(r["toy_reward"], round(r["kl"], 3), r["ratio_min"], r["ratio_max"]) for r in rows], f"{seconds:.1f} s")
    assert len(rows) == 20 and abs(rows[0]["kl"]) < 1e-6
    mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
    assert mean(rows[-5:], "toy_reward") > mean(rows[:5], "toy_reward") + 0.05
    assert mean(rows[-5:], "kl") > 0.5
    assert all(0.3 < r["ratio_min"] <= 1.0 <= r["ratio_max"] < 3.0 for r in rows)
    assert seconds < 60, f"{seconds:.0f} s (13 s on 2 idle cores)"
