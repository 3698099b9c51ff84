"""Evaluation metrics for the recommender (paper Sec. VI-D/E/F, Tables III-IV) and beyond.

- :func:`auc`, :func:`logloss`: the paper's two metrics (scikit-learn under the hood, with clear errors
  on inputs where they are undefined).
- :func:`gauc`: group AUC, the platform metric (AUC per seeker, averaged over seekers with both labels).
- :func:`relative_change`: the "(+2.0%)" numbers of Tables III-IV, improvement positive.
- :func:`mean_std`, :func:`bootstrap_ci`: spread over seeds and over resampled test rows.
- :func:`paired_group_bootstrap`: paired differences of AUC, GAUC and LogLoss between models scored on the
  same rows, with a 95% bootstrap interval that resamples whole groups (seekers).
- :func:`recall_at_k`, :func:`ndcg_at_k` (one query) and :func:`mean_recall_at_k`, :func:`mean_ndcg_at_k`
  (mean over queries): binary-relevance ranking metrics for the retrieval study (beyond the paper).
"""

from __future__ import annotations

import math
import re
from typing import Callable, Sequence

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from .runio import GirlError

PROB_EPS = 1e-7
"""Probabilities are clipped to [eps, 1 - eps] before LogLoss, so one confident mistake is finite."""


def _binary_inputs(labels, values, what: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    v = np.asarray(values, dtype=np.float64)
    if y.ndim != 1 or v.ndim != 1:
        raise GirlError(f"{what}: labels and {what} inputs must be 1-D, got shapes {y.shape} and {v.shape}")
    if len(y) != len(v):
        raise GirlError(f"{what}: {len(y)} labels but {len(v)} predictions")
    if len(y) == 0:
        raise GirlError(f"{what}: no rows to evaluate")
    if not np.isfinite(v).all():
        raise GirlError(f"{what}: {int((~np.isfinite(v)).sum())} predictions are NaN or infinite")
    try:
        y_float = y.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise GirlError(f"{what}: labels must be 0/1, got {y[:5]!r}") from err
    if not np.isin(y_float, (0.0, 1.0)).all():
        raise GirlError(f"{what}: labels must be 0/1, got values {sorted(set(y_float.tolist()))[:5]}")
    y_int = y_float.astype(np.int64)
    if len(np.unique(y_int)) < 2:
        raise GirlError(f"{what} is undefined on a single class: all {len(y_int)} labels are {int(y_int[0])}. "
                        f"Evaluate on a subset that holds both positives and negatives.")
    return y_int, v


def auc(labels, scores) -> float:
    """ROC AUC of ``scores`` (any real numbers, higher = more likely positive) against 0/1 ``labels``."""
    y, s = _binary_inputs(labels, scores, "AUC")
    return float(roc_auc_score(y, s))


def logloss(labels, probs) -> float:
    """Mean binary cross-entropy of probabilities ``probs`` (clipped to [1e-7, 1 - 1e-7])."""
    y, p = _binary_inputs(labels, probs, "LogLoss")
    if (p < 0).any() or (p > 1).any():
        raise GirlError("LogLoss needs probabilities in [0, 1]; apply a sigmoid to logits first")
    p = np.clip(p, PROB_EPS, 1 - PROB_EPS)
    return float(log_loss(y, p, labels=[0, 1]))


def relative_change(new: float, base: float, lower_is_better: bool = False) -> float | None:
    """Relative improvement of ``new`` over ``base`` in %, as Tables III-IV print it.

    Higher-is-better metrics (AUC): ``100 * (new - base) / base``. Lower-is-better (LogLoss):
    ``100 * (base - new) / base``. Either way a positive number means ``new`` is better. ``None`` when
    ``base`` is 0 (an AUC of exactly 0 is a legitimate result; no relative change is defined from it).
    """
    new, base = float(new), float(base)
    if not (math.isfinite(new) and math.isfinite(base)):
        raise GirlError(f"relative_change of non-finite values ({new}, {base})")
    if base == 0:
        return None
    diff = (base - new) if lower_is_better else (new - base)
    return 100.0 * diff / abs(base)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of per-seed results; std is 0.0 for one value."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        raise GirlError("mean_std of an empty list")
    if not np.isfinite(v).all():
        raise GirlError(f"mean_std: non-finite values in {v.tolist()}")
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return float(v.mean()), std


def bootstrap_ci(values_or_pairs, statistic: Callable = np.mean, n: int = 1000, seed: int = 0,
                 alpha: float = 0.05) -> dict:
    """Percentile bootstrap confidence interval of ``statistic`` over resampled rows.

    ``values_or_pairs`` is either one array (rows along axis 0; ``statistic(array)``) or a *tuple* of
    equal-length arrays resampled together (``statistic(*arrays)``), e.g.
    ``bootstrap_ci((labels, scores), auc)``. Resamples on which the statistic is undefined (a
    :class:`GirlError`, e.g. AUC on one class) are skipped and counted.

    Returns ``{"estimate", "low", "high", "alpha", "n_resamples", "n_skipped"}``.
    """
    if not 0 < alpha < 1:
        raise GirlError(f"bootstrap_ci: alpha must be in (0, 1), got {alpha}")
    if n < 1:
        raise GirlError(f"bootstrap_ci: n must be >= 1, got {n}")
    if isinstance(values_or_pairs, tuple):
        arrays = [np.asarray(a) for a in values_or_pairs]
        if not arrays or len({len(a) for a in arrays}) != 1:
            raise GirlError("bootstrap_ci: the arrays of a tuple must all have the same length")
        stat = lambda idx: statistic(*(a[idx] for a in arrays))  # noqa: E731
    else:
        arrays = [np.asarray(values_or_pairs)]
        stat = lambda idx: statistic(arrays[0][idx])  # noqa: E731
    size = len(arrays[0])
    if size == 0:
        raise GirlError("bootstrap_ci: no rows")
    estimate = float(stat(np.arange(size)))
    rng = np.random.default_rng(seed)
    samples, skipped = [], 0
    for _ in range(n):
        try:
            samples.append(float(stat(rng.integers(0, size, size))))
        except GirlError:
            skipped += 1
    if not samples:
        raise GirlError(f"bootstrap_ci: the statistic was undefined on all {n} resamples")
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return {"estimate": estimate, "low": float(low), "high": float(high), "alpha": alpha,
            "n_resamples": len(samples), "n_skipped": skipped}


# --------------------------------------------------------------------------- grouped metrics (seekers)
BOOT_METRICS = ("auc", "gauc", "logloss")
"""The metrics :func:`paired_group_bootstrap` compares."""


def _weighted_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUC of scores ``s`` against 0/1 labels ``y`` under row weights ``w`` [B, R]: one AUC per row of ``w``,
    NaN where the weights leave a single class. Integer weights give exactly the AUC of the rows repeated
    that many times (ties count one half, as in scikit-learn)."""
    order = np.argsort(s, kind="stable")
    s_sorted, y_sorted = s[order], y[order].astype(np.float64)
    w = np.asarray(w, dtype=np.float64)[:, order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])  # runs of tied scores
    pos = np.add.reduceat(w * y_sorted, starts, axis=1)
    neg = np.add.reduceat(w * (1.0 - y_sorted), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg  # negative weight strictly below each run
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    return np.divide(num, den, out=np.full(len(den), np.nan), where=den > 0)


def _group_index(groups, n_rows: int, what: str) -> tuple[np.ndarray, int]:
    """Row -> group number (0..G-1) and G."""
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != n_rows:
        raise GirlError(f"{what}: group ids of shape {g.shape} for {n_rows} rows; give one group id (the "
                        f"seeker) per row")
    _, inv = np.unique(g, return_inverse=True)
    return inv.ravel(), int(inv.max()) + 1


def _group_aucs(y: np.ndarray, s: np.ndarray, inv: np.ndarray, n_groups: int) -> np.ndarray:
    """The AUC of each group's rows, [n_groups]; NaN for a group whose rows hold one class."""
    out = np.full(n_groups, np.nan)
    order = np.argsort(inv, kind="stable")
    bounds = np.flatnonzero(np.r_[True, inv[order][1:] != inv[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        rows = order[a:b]
        out[inv[rows[0]]] = _weighted_auc(y[rows], s[rows], np.ones((1, b - a)))[0]
    return out


def gauc(labels, scores, groups, return_n: bool = False):
    """Group AUC, the platform metric: the AUC of each group's rows (one seeker's test rows), averaged over
    the groups that hold both labels, unweighted (each seeker counts once, whatever its number of rows).

    Groups with one class only are left out; ``return_n=True`` returns ``(gauc, groups counted)``.
    """
    y, s = _binary_inputs(labels, scores, "GAUC")
    inv, n_groups = _group_index(groups, len(y), "GAUC")
    per_group = _group_aucs(y, s, inv, n_groups)
    ok = ~np.isnan(per_group)
    if not ok.any():
        raise GirlError(f"GAUC is undefined: none of the {n_groups} groups (seekers) holds both a positive and "
                        f"a negative row")
    value = float(per_group[ok].mean())
    return (value, int(ok.sum())) if return_n else value


def _resampled_metrics(y, p, inv, n_groups, counts, chunk: int, choice=None) -> tuple[dict, dict]:
    """One model's AUC, GAUC and LogLoss on the rows themselves and on each resample (``counts`` [B, G]:
    how often each group is drawn; a group's rows carry its count as their weight).

    ``p`` is [R] or [K, R]: K alternative predictions of the same rows (e.g. made with K different generated
    JDs). With K > 1, ``choice`` [B, G] says which alternative each drawn group brings into a resample (the
    rows of the K alternatives are stacked; a row's weight is its group's count where its block is the
    chosen one, else 0), and the point values are the means over the K alternatives."""
    p = np.atleast_2d(p)
    k = len(p)
    choice = np.zeros((len(counts), n_groups), dtype=np.int64) if choice is None else choice
    per_group = np.stack([_group_aucs(y, pk, inv, n_groups) for pk in p])  # [K, G]
    ok = ~np.isnan(per_group[0])  # a group's labels decide, not its predictions
    pc = np.clip(p, PROB_EPS, 1 - PROB_EPS)
    loss_g = np.stack([np.bincount(inv, weights=-(y * np.log(c) + (1 - y) * np.log(1 - c)), minlength=n_groups)
                       for c in pc])  # [K, G]
    rows_g = np.bincount(inv, minlength=n_groups)
    y_all, p_all, inv_all = np.tile(y, k), p.reshape(-1), np.tile(inv, k)
    block = np.repeat(np.arange(k), len(y))  # which alternative each stacked row belongs to
    auc_b = np.concatenate([_weighted_auc(y_all, p_all, counts[i:i + chunk][:, inv_all]
                                          * (choice[i:i + chunk][:, inv_all] == block))
                            for i in range(0, len(counts), chunk)])
    groups = np.arange(n_groups)
    chosen_auc = per_group[choice, groups]  # [B, G]: the AUC of each group under its chosen alternative
    n_ok = counts[:, ok].sum(axis=1)
    gauc_b = np.divide((counts[:, ok] * chosen_auc[:, ok]).sum(axis=1), n_ok, out=np.full(len(counts), np.nan),
                       where=n_ok > 0)
    loss_b = (counts * loss_g[choice, groups]).sum(axis=1) / (counts @ rows_g)
    point = {"auc": float(np.mean([auc(y, pk) for pk in p])),
             "gauc": float(per_group[:, ok].mean()) if ok.any() else math.nan,
             "logloss": float(np.mean([logloss(y, pk) for pk in p]))}
    return {"auc": auc_b, "gauc": gauc_b, "logloss": loss_b}, point


def paired_group_bootstrap(labels, probs: dict, pairs: Sequence[tuple[str, str]], groups, n: int = 1000,
                           seed: int = 0, chunk: int = 250) -> dict:
    """Paired differences ``a - b`` of AUC, GAUC and LogLoss for each ``(a, b)`` in ``pairs``, with a 95%
    percentile bootstrap interval that resamples *groups* (seekers).

    ``probs[name]`` holds model ``name``'s probabilities on the same rows as ``labels`` ([R]), or K alternative
    predictions of them ([K, R], e.g. one per generated JD): each resample then also draws, for every
    drawn group, which alternative it brings, so the interval covers that draw too (generation noise), and
    the point values average the alternatives. ``groups`` gives each row's group id. A resample draws as many groups as there are, with replacement; every row of a
    drawn group comes along (a group drawn twice counts twice), and the *same* resample scores every model,
    so the differences are paired. All three are signed ``a - b``: a positive AUC / GAUC difference and a
    *negative* LogLoss difference favour ``a``. Resamples on which AUC or GAUC is undefined (one class; no
    group with both labels) are skipped and counted, as in :func:`bootstrap_ci`.

    Returns ``{"diff": {"a-b": {metric: {"mean", "ci95": [lo, hi]}}}, "point": {name: {metric: value}},
    "n_groups", "n_gauc_groups", "n_resamples", "n_skipped"}``; ``mean`` is the difference on the rows
    themselves (not resampled), ``n_gauc_groups`` the groups with both labels.
    """
    if n < 1:
        raise GirlError(f"paired_group_bootstrap: n must be >= 1, got {n}")
    if not pairs or any(len(pair) != 2 or pair[0] == pair[1] for pair in pairs):
        raise GirlError(f"paired_group_bootstrap: give pairs of two different model names, got {pairs!r}")
    names = list(dict.fromkeys(m for pair in pairs for m in pair))
    missing = [m for m in names if m not in probs]
    if missing:
        raise GirlError(f"paired_group_bootstrap: no predictions for {missing}; have {sorted(probs)}")
    checked = {}
    for m in names:
        alts = np.asarray(probs[m], dtype=np.float64)
        if alts.ndim not in (1, 2) or alts.size == 0:
            raise GirlError(f"paired_group_bootstrap ({m}): probabilities must be [rows] or [alternatives, rows], "
                            f"got shape {alts.shape}")
        checked[m] = np.stack([_binary_inputs(labels, a, f"paired_group_bootstrap ({m})")[1]
                               for a in np.atleast_2d(alts)])
        if (checked[m] < 0).any() or (checked[m] > 1).any():
            raise GirlError(f"paired_group_bootstrap ({m}) needs probabilities in [0, 1]; apply a sigmoid first")
    y = _binary_inputs(labels, checked[names[0]][0], "paired_group_bootstrap")[0]
    inv, n_groups = _group_index(groups, len(y), "paired_group_bootstrap")
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
                       for _ in range(n)]).astype(np.float64)
    samples, point = {}, {}
    for i, (m, p) in enumerate(checked.items()):  # each model draws its own alternatives (its own generator)
        choice = (np.random.default_rng([seed, i + 1]).integers(0, len(p), size=counts.shape) if len(p) > 1
                  else None)
        samples[m], point[m] = _resampled_metrics(y, p, inv, n_groups, counts, chunk, choice)
    pos_g, rows_g = np.bincount(inv, weights=y, minlength=n_groups), np.bincount(inv, minlength=n_groups)
    n_gauc = int(((pos_g > 0) & (pos_g < rows_g)).sum())
    if n_gauc == 0:
        raise GirlError(f"paired_group_bootstrap: GAUC is undefined, none of the {n_groups} groups holds both labels")
    valid = np.logical_and.reduce([np.isfinite(v) for s in samples.values() for v in s.values()])
    if not valid.any():
        raise GirlError(f"paired_group_bootstrap: AUC or GAUC was undefined on all {n} resamples")
    diff = {f"{a}-{b}": {k: {"mean": float(point[a][k] - point[b][k]),
                             "ci95": [float(q) for q in np.quantile(samples[a][k][valid] - samples[b][k][valid],
                                                                    [0.025, 0.975])]}
                         for k in BOOT_METRICS} for a, b in pairs}
    return {"diff": diff, "point": point, "n_groups": n_groups, "n_gauc_groups": n_gauc,
            "n_resamples": int(valid.sum()), "n_skipped": int(n - valid.sum())}


# --------------------------------------------------------------------------- ranking (binary relevance)
def _check_query(ranked: Sequence, relevant, k: int) -> set:
    if k < 1:
        raise GirlError(f"k must be >= 1, got {k}")
    relevant = set(relevant)
    if not relevant:
        raise GirlError("a query needs at least one relevant item for Recall@k / NDCG@k")
    if len(set(ranked)) != len(ranked):
        raise GirlError("the ranked list holds duplicate items")
    return relevant


def recall_at_k(ranked: Sequence, relevant, k: int) -> float:
    """Share of the ``relevant`` items found in the first ``k`` of ``ranked`` (best first)."""
    relevant = _check_query(ranked, relevant, k)
    hits = sum(1 for item in list(ranked)[:k] if item in relevant)
    return hits / len(relevant)


def ndcg_at_k(ranked: Sequence, relevant, k: int) -> float:
    """Binary-relevance NDCG@k: ``DCG = sum_{i<=k, hit} 1 / log2(i + 1)`` over the ideal DCG."""
    relevant = _check_query(ranked, relevant, k)
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(list(ranked)[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal


def mean_recall_at_k(rankings: Sequence[Sequence], relevants: Sequence, k: int) -> float:
    """Mean :func:`recall_at_k` over queries (``rankings[q]`` against ``relevants[q]``)."""
    return _mean_over_queries(recall_at_k, rankings, relevants, k)


def mean_ndcg_at_k(rankings: Sequence[Sequence], relevants: Sequence, k: int) -> float:
    """Mean :func:`ndcg_at_k` over queries."""
    return _mean_over_queries(ndcg_at_k, rankings, relevants, k)


def _mean_over_queries(fn, rankings, relevants, k) -> float:
    if len(rankings) != len(relevants):
        raise GirlError(f"{len(rankings)} rankings but {len(relevants)} relevant sets")
    if len(rankings) == 0:
        raise GirlError("no queries to evaluate")
    return float(np.mean([fn(r, rel, k) for r, rel in zip(rankings, relevants)]))


# --------------------------------------------------------------------------- text (generated JDs)
_WORD = re.compile(r"[a-z0-9+#]+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits, ``+`` and ``#``, so "c++" and "c#" stay words)."""
    return _WORD.findall(str(text).lower())


def distinct_ngram_ratio(text: str, n: int = 3) -> float:
    """Distinct word n-grams / all word n-grams of one text (1 = no repetition); 1.0 below n words."""
    w = words(text)
    grams = [tuple(w[i:i + n]) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def distinct_n(texts, n: int = 2) -> float:
    """Distinct word n-grams / all word n-grams over a set of texts pooled (1 = no n-gram repeats); NaN when
    no text has n words."""
    grams = [tuple(w[i:i + n]) for t in texts for w in [words(t)] for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def pairwise_overlap(samples) -> float:
    """Mean word-set Jaccard similarity over all pairs of ``samples`` (texts for the same CV): 1 = the
    samples use the same words, 0 = no word in common. NaN with fewer than two samples."""
    sets = [set(words(t)) for t in samples]
    sims = [len(a & b) / len(a | b) if a | b else 1.0 for i, a in enumerate(sets) for b in sets[i + 1:]]
    return float(np.mean(sims)) if sims else float("nan")

