"""Evaluation metrics for the recommender (paper Sec. VI-D/E/F, Tables III-IV) and beyond.

- :func:`auc`, :func:`logloss`: the paper's two metrics (scikit-learn under the hood, with clear errors
  on inputs where they are undefined).
- :func:`relative_change`: the "(+2.0%)" numbers of Tables III-IV, improvement positive.
- :func:`mean_std`, :func:`bootstrap_ci`: spread over seeds and over resampled test rows.
- :func:`recall_at_k`, :func:`ndcg_at_k` (one query) and :func:`mean_recall_at_k`, :func:`mean_ndcg_at_k`
  (mean over queries): binary-relevance ranking metrics for the retrieval study (beyond the paper).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

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
    from sklearn.metrics import roc_auc_score

    y, s = _binary_inputs(labels, scores, "AUC")
    return float(roc_auc_score(y, s))


def logloss(labels, probs) -> float:
    """Mean binary cross-entropy of probabilities ``probs`` (clipped to [1e-7, 1 - 1e-7])."""
    from sklearn.metrics import log_loss

    y, p = _binary_inputs(labels, probs, "LogLoss")
    if (p < 0).any() or (p > 1).any():
        raise GirlError("LogLoss needs probabilities in [0, 1]; apply a sigmoid to logits first")
    p = np.clip(p, PROB_EPS, 1 - PROB_EPS)
    return float(log_loss(y, p, labels=[0, 1]))


def relative_change(new: float, base: float, lower_is_better: bool = False) -> float:
    """Relative improvement of ``new`` over ``base`` in %, as Tables III-IV print it.

    Higher-is-better metrics (AUC): ``100 * (new - base) / base``. Lower-is-better (LogLoss):
    ``100 * (base - new) / base``. Either way a positive number means ``new`` is better.
    """
    new, base = float(new), float(base)
    if not (math.isfinite(new) and math.isfinite(base)):
        raise GirlError(f"relative_change of non-finite values ({new}, {base})")
    if base == 0:
        raise GirlError("relative_change: the base value is 0, the relative change is undefined")
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
