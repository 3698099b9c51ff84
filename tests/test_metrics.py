"""Metrics of the recommender: AUC/LogLoss against scikit-learn and by hand, relative change as the
paper prints it, mean +- std, bootstrap CIs, GAUC by hand, the seeker-level paired bootstrap (exact,
known and null differences), Recall@k / NDCG@k on tiny rankings."""

import math

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from girl_lib.metrics import (_weighted_auc, auc, bootstrap_ci, gauc, logloss, mean_ndcg_at_k, mean_recall_at_k,
                              mean_std, ndcg_at_k, paired_group_bootstrap, recall_at_k, relative_change)
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
    assert relative_change(0.5, 0.0) is None  # an AUC of exactly 0 is legitimate: no relative change, no crash
    with pytest.raises(GirlError):
        relative_change(float("nan"), 0.4)


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


def test_gauc_by_hand():
    # Seeker a: pos 0.9 beats neg 0.5, loses to neg 0.95 -> 1/2. Seeker b: pos 0.3 beats neg 0.2, pos 0.2 ties
    # it -> (1 + 0.5) / 2. Seeker c: positives only -> left out. Seeker d: pos 0.2 beats 1 of 3 negatives -> 1/3.
    y = [1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0]
    s = [0.9, 0.5, 0.95, 0.3, 0.2, 0.2, 0.5, 0.5, 0.1, 0.2, 0.3, 0.4]
    g = list("aaabbbccdddd")
    expected = (1 / 2 + 3 / 4 + 1 / 3) / 3  # unweighted: d's 4 rows count as one seeker
    assert gauc(y, s, g) == pytest.approx(expected)
    assert gauc(y, s, g, return_n=True) == (pytest.approx(expected), 3)
    assert gauc(y, s, np.array(g)) != pytest.approx(auc(y, s))  # not the pooled AUC
    # One group: GAUC is that group's AUC.
    assert gauc([0, 1, 1, 0], [0.1, 0.4, 0.35, 0.8], ["x"] * 4) == pytest.approx(auc([0, 1, 1, 0], [0.1, 0.4, 0.35, 0.8]))
    with pytest.raises(GirlError, match="none of the 2 groups"):
        gauc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], ["a", "a", "b", "b"])
    with pytest.raises(GirlError, match="one group id"):
        gauc([1, 0], [0.1, 0.2], ["a"])


def test_weighted_auc_equals_repeating_rows():
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 60), np.round(rng.normal(size=60), 1)  # rounded: many ties
    w = rng.integers(0, 4, (5, 60))
    for row, weights in zip(_weighted_auc(y, s, w), w):
        assert row == pytest.approx(roc_auc_score(np.repeat(y, weights), np.repeat(s, weights)))
    assert np.isnan(_weighted_auc(y, s, (y == 1)[None, :].astype(float))[0])  # weights leave one class


def _seekers(n_seekers, rows, rng, effect=0.0):
    """Rows of ``n_seekers`` seekers (``rows`` each, both labels guaranteed) with a seeker effect on the
    scores (so rows of one seeker are correlated). Returns labels, group ids and a latent score."""
    g = np.repeat(np.arange(n_seekers), rows)
    y = rng.integers(0, 2, n_seekers * rows)
    y[::rows], y[1::rows] = 1, 0
    latent = y + effect * rng.normal(size=n_seekers)[g]
    return y, g, latent


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_paired_group_bootstrap_exact_differences():
    """A perfect ranker (0.8 / 0.2) against a constant 0.5: every resample gives ΔAUC = ΔGAUC = 0.5 and
    ΔLogLoss = -log 0.8 - log 2 = -log 1.6, so the interval collapses on those values."""
    y, g, _ = _seekers(12, 4, np.random.default_rng(0))
    out = paired_group_bootstrap(y, {"A": np.where(y == 1, 0.8, 0.2), "B": np.full(len(y), 0.5)}, [("A", "B")], g,
                                 n=200, seed=1)
    d = out["diff"]["A-B"]
    for key, value in (("auc", 0.5), ("gauc", 0.5), ("logloss", -math.log(1.6))):
        assert d[key]["mean"] == pytest.approx(value)
        assert d[key]["ci95"] == [pytest.approx(value), pytest.approx(value)]
    assert out["n_groups"] == out["n_gauc_groups"] == 12 and out["n_resamples"] + out["n_skipped"] == 200
    assert out["point"]["A"]["auc"] == 1.0 and out["point"]["B"]["logloss"] == pytest.approx(math.log(2))


def test_paired_group_bootstrap_is_paired_and_resamples_seekers():
    rng = np.random.default_rng(3)
    y, g, latent = _seekers(30, 4, rng, effect=1.0)
    a = _sigmoid(latent + rng.normal(size=len(y)))
    # b is a monotone transform of a: same ranking on every resample, so a paired ΔAUC / ΔGAUC is exactly 0
    # (an unpaired interval would be wide).
    out = paired_group_bootstrap(y, {"a": a, "b": a ** 2}, [("a", "b")], g, n=300, seed=0)
    assert out["diff"]["a-b"]["auc"]["ci95"] == [0.0, 0.0] and out["diff"]["a-b"]["gauc"]["ci95"] == [0.0, 0.0]
    assert out["diff"]["a-b"]["logloss"]["ci95"][0] != out["diff"]["a-b"]["logloss"]["ci95"][1]
    # Whole seekers are resampled: repeating every row of every seeker 4 times changes nothing (a row-level
    # bootstrap would give an interval twice as narrow).
    c = _sigmoid(latent + rng.normal(size=len(y)))
    once = paired_group_bootstrap(y, {"a": a, "c": c}, [("a", "c")], g, n=300, seed=0)
    rep = np.repeat(np.arange(len(y)), 4)
    four = paired_group_bootstrap(y[rep], {"a": a[rep], "c": c[rep]}, [("a", "c")], g[rep], n=300, seed=0)
    for key in ("auc", "gauc", "logloss"):
        assert four["diff"]["a-c"][key]["ci95"] == pytest.approx(once["diff"]["a-c"][key]["ci95"])


def test_paired_group_bootstrap_recovers_a_known_difference():
    """The true ΔAUC is measured on a population of 20,000 seekers; a sample of 150 seekers' interval
    covers it and excludes 0."""
    def draw(n_seekers, seed):
        rng = np.random.default_rng(seed)
        y, g, latent = _seekers(n_seekers, 5, rng, effect=0.5)
        strong = _sigmoid(1.5 * latent + rng.normal(size=len(y)))
        weak = _sigmoid(0.5 * latent + rng.normal(size=len(y)))
        return y, g, strong, weak

    y, _, strong, weak = draw(20000, 0)
    true = auc(y, strong) - auc(y, weak)
    assert true > 0.05
    y, g, strong, weak = draw(150, 1)
    d = paired_group_bootstrap(y, {"strong": strong, "weak": weak}, [("strong", "weak")], g, n=400, seed=0)
    lo, hi = d["diff"]["strong-weak"]["auc"]["ci95"]
    assert lo < true < hi and lo > 0
    assert d["diff"]["strong-weak"]["logloss"]["ci95"][1] < 0  # lower LogLoss: the strong model is better


def test_paired_group_bootstrap_covers_a_null_difference():
    """Two exchangeable models (the same signal, independent noise): the interval of ΔAUC covers 0 in at
    least 90% of 40 seeded repeats."""
    covered = 0
    for rep in range(40):
        rng = np.random.default_rng(100 + rep)
        y, g, latent = _seekers(40, 6, rng, effect=0.5)
        a, b = (_sigmoid(latent + rng.normal(size=len(y))) for _ in range(2))
        lo, hi = paired_group_bootstrap(y, {"a": a, "b": b}, [("a", "b")], g, n=200, seed=rep)["diff"]["a-b"]["auc"]["ci95"]
        covered += lo <= 0 <= hi
    assert covered >= 36, covered


def test_paired_group_bootstrap_with_alternative_predictions_covers_generation_noise():
    """[K, R] predictions (one per generated JD): K identical alternatives give exactly the one-prediction
    result; alternatives that differ average into the point values and widen the interval, since each
    resample also draws which alternative every seeker brings."""
    rng = np.random.default_rng(5)
    y, g, latent = _seekers(40, 6, rng, effect=0.5)
    base = _sigmoid(latent + rng.normal(size=len(y)))
    a = _sigmoid(latent + 0.5 * rng.normal(size=len(y)))
    one = paired_group_bootstrap(y, {"a": a, "base": base}, [("a", "base")], g, n=300, seed=0)
    same = paired_group_bootstrap(y, {"a": np.stack([a, a, a]), "base": base}, [("a", "base")], g, n=300, seed=0)
    for key in ("auc", "gauc", "logloss"):
        assert same["diff"]["a-base"][key]["mean"] == pytest.approx(one["diff"]["a-base"][key]["mean"])
        assert same["diff"]["a-base"][key]["ci95"] == pytest.approx(one["diff"]["a-base"][key]["ci95"])
    # alternative 1 is pure noise: the point AUC is the mean of the two alternatives' AUCs ...
    noise = rng.random(len(y))
    mixed = paired_group_bootstrap(y, {"a": np.stack([a, noise]), "base": base}, [("a", "base")], g, n=300, seed=0)
    assert mixed["point"]["a"]["auc"] == pytest.approx((auc(y, a) + auc(y, noise)) / 2)
    assert mixed["point"]["a"]["logloss"] == pytest.approx((logloss(y, a) + logloss(y, noise)) / 2)
    # ... and the interval is wider than with either alternative fixed for every seeker
    width = lambda out: np.diff(out["diff"]["a-base"]["auc"]["ci95"])[0]  # noqa: E731
    fixed = [paired_group_bootstrap(y, {"a": p, "base": base}, [("a", "base")], g, n=300, seed=0) for p in (a, noise)]
    assert width(mixed) > max(width(f) for f in fixed)
    lo, hi = mixed["diff"]["a-base"]["auc"]["ci95"]
    assert lo < mixed["diff"]["a-base"]["auc"]["mean"] < hi
    with pytest.raises(GirlError, match="alternatives, rows"):
        paired_group_bootstrap(y, {"a": np.zeros((2, 2, len(y))), "base": base}, [("a", "base")], g)


def test_paired_group_bootstrap_bad_inputs():
    y, g = np.array([1, 0, 1, 0]), np.array(["a", "a", "b", "b"])
    p = np.array([0.9, 0.1, 0.8, 0.3])
    with pytest.raises(GirlError, match="no predictions for \\['B'\\]"):
        paired_group_bootstrap(y, {"A": p}, [("A", "B")], g)
    with pytest.raises(GirlError, match="two different"):
        paired_group_bootstrap(y, {"A": p}, [("A", "A")], g)
    with pytest.raises(GirlError, match="probabilities"):
        paired_group_bootstrap(y, {"A": p, "B": p + 1}, [("A", "B")], g)
    with pytest.raises(GirlError, match="one group id"):
        paired_group_bootstrap(y, {"A": p, "B": p}, [("A", "B")], g[:3])
    with pytest.raises(GirlError, match="none of the 2 groups"):
        paired_group_bootstrap(np.array([1, 1, 0, 0]), {"A": p, "B": p}, [("A", "B")], g)
    # Resamples without seeker a (the only one with both labels: GAUC undefined) are skipped and counted.
    out = paired_group_bootstrap(y, {"A": p, "B": p[::-1]}, [("A", "B")], np.array(["a", "a", "b", "c"]), n=100, seed=0)
    assert out["n_skipped"] > 0 and out["n_resamples"] + out["n_skipped"] == 100


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
