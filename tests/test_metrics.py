"""Metrics of the recommender: AUC/LogLoss against scikit-learn and by hand, relative change as the
paper prints it, mean +- std, bootstrap CIs, Recall@k / NDCG@k on tiny rankings."""

import math

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from girl_lib.metrics import (auc, bootstrap_ci, logloss, mean_ndcg_at_k, mean_recall_at_k, mean_std,
                              ndcg_at_k, recall_at_k, relative_change)
from girl_lib.runio import GirlError


def test_auc_matches_sklearn_and_hand_count():
    y = [0, 0, 1, 1, 0, 1]
    s = [0.1, 0.4, 0.35, 0.8, 0.7, 0.9]
    # Hand count: positive-negative pairs ranked right, 9 pairs: (0.35 beats 0.1 only) + 3 + 3 = 7.
    assert auc(y, s) == pytest.approx(7 / 9)
    rng = np.random.default_rng(0)
    y2, s2 = rng.integers(0, 2, 200), rng.normal(size=200)
    assert auc(y2, s2) == pytest.approx(roc_auc_score(y2, s2))


def test_logloss_matches_sklearn_and_hand_value():
    y, p = [1, 0], [0.8, 0.4]
    assert logloss(y, p) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    rng = np.random.default_rng(1)
    y2, p2 = rng.integers(0, 2, 100), rng.uniform(0.01, 0.99, 100)
    assert logloss(y2, p2) == pytest.approx(log_loss(y2, p2))
    assert math.isfinite(logloss([1, 0], [0.0, 1.0]))  # clipped, not infinite


@pytest.mark.parametrize("fn", [auc, logloss])
def test_bad_inputs_raise_clear_errors(fn):
    with pytest.raises(GirlError, match="single class"):
        fn([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(GirlError, match="NaN"):
        fn([0, 1], [0.2, float("nan")])
    with pytest.raises(GirlError, match="labels"):
        fn([0, 1], [0.2])
    with pytest.raises(GirlError, match="0/1"):
        fn([0, 2], [0.2, 0.3])
    with pytest.raises(GirlError, match="in \\[0, 1\\]"):
        logloss([0, 1], [0.2, 1.5])


def test_relative_change_reproduces_paper_table_iii():
    # Table III, MLP: GIRL-SFT AUC 0.6438 vs Base 0.6349 (+1.4%), LogLoss 0.3973 vs 0.4043 (+1.7%).
    assert round(relative_change(0.6438, 0.6349), 1) == 1.4
    assert round(relative_change(0.3973, 0.4043, lower_is_better=True), 1) == 1.7
    # Dot GIRL LogLoss 0.3567 vs 0.4964 (+28.1%).
    assert round(relative_change(0.3567, 0.4964, lower_is_better=True), 1) == 28.1
    assert relative_change(0.5, 0.4) == pytest.approx(25.0)
    assert relative_change(0.5, 0.4, lower_is_better=True) == pytest.approx(-25.0)  # worse LogLoss
    with pytest.raises(GirlError):
        relative_change(0.5, 0.0)


def test_mean_std():
    m, s = mean_std([0.6, 0.7, 0.8])
    assert m == pytest.approx(0.7) and s == pytest.approx(0.1)  # sample std, ddof=1
    assert mean_std([0.5]) == (0.5, 0.0)
    with pytest.raises(GirlError):
        mean_std([])


def test_bootstrap_ci_single_array_and_pairs():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=3.0, size=400)
    ci = bootstrap_ci(x, np.mean, n=300, seed=0)
    assert ci["low"] < 3.0 < ci["high"] and ci["low"] < ci["estimate"] < ci["high"]
    assert bootstrap_ci(x, np.mean, n=300, seed=0) == ci  # seeded
    y = rng.integers(0, 2, 300)
    s = y + rng.normal(size=300)
    ci_auc = bootstrap_ci((y, s), auc, n=200)
    assert ci_auc["estimate"] == pytest.approx(auc(y, s))
    assert 0.5 < ci_auc["low"] < ci_auc["estimate"] < ci_auc["high"]
    # Resamples with a single class are skipped and counted, not fatal.
    tiny = bootstrap_ci((np.array([0, 1]), np.array([0.1, 0.9])), auc, n=50)
    assert tiny["n_skipped"] > 0 and tiny["n_resamples"] + tiny["n_skipped"] == 50
    with pytest.raises(GirlError):
        bootstrap_ci((np.zeros(3), np.zeros(4)), auc)


def test_recall_and_ndcg_on_a_tiny_ranking():
    ranked = ["a", "b", "c", "d", "e"]
    relevant = {"b", "e"}
    assert recall_at_k(ranked, relevant, 1) == 0.0
    assert recall_at_k(ranked, relevant, 2) == 0.5
    assert recall_at_k(ranked, relevant, 5) == 1.0
    # DCG@5 = 1/log2(3) + 1/log2(6); ideal = 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(ranked, relevant, 5) == pytest.approx(expected)
    assert ndcg_at_k(ranked, relevant, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["b", "e", "a"], relevant, 2) == pytest.approx(1.0)
    assert mean_recall_at_k([ranked, ["e", "a"]], [relevant, {"e"}], 1) == pytest.approx(0.5)
    assert mean_ndcg_at_k([ranked, ["e", "a"]], [relevant, {"e"}], 1) == pytest.approx(0.5)
    with pytest.raises(GirlError):
        recall_at_k(ranked, set(), 3)
    with pytest.raises(GirlError):
        ndcg_at_k(ranked, relevant, 0)
