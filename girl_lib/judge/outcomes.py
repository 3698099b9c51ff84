"""From verdicts in both orders to win/tie/lose, Adv. and the flip rate (:func:`aggregate`), with a 95%
bootstrap interval of Adv. over CVs (:func:`bootstrap_adv_ci`). Pure: no backend, no files."""

from __future__ import annotations

import numpy as np

from ..runio import GirlError
from .verdicts import ASPECTS, VERDICT_KEYS


_FROM_XY = {"A": "win", "B": "lose", "C": "tie"}  # A=x, B=y: outcome for x
_FROM_YX = {"A": "lose", "B": "win", "C": "tie"}  # A=y, B=x: outcome for x


def _check_verdict(v, where: str):
    if v is None:
        return None
    if not isinstance(v, dict) or any(v.get(a) not in ("A", "B", "C") for a in VERDICT_KEYS):
        raise GirlError(f"{where}: a verdict must map each of {', '.join(VERDICT_KEYS)} to 'A', 'B' or 'C' "
                        f"(or be None for a parse error), got {v!r}")
    return v


def bootstrap_adv_ci(win: np.ndarray, lose: np.ndarray, groups: list, n_bootstrap: int,
                     seed: int) -> list[float] | None:
    """95% percentile bootstrap interval of ``mean(win) - mean(lose)``, resampling whole groups (CVs)."""
    if n_bootstrap <= 0 or len(win) == 0:
        return None
    keys = sorted(set(groups), key=str)
    index = {k: i for i, k in enumerate(keys)}
    g = np.array([index[k] for k in groups])
    w_sum = np.bincount(g, weights=win, minlength=len(keys))
    l_sum = np.bincount(g, weights=lose, minlength=len(keys))
    count = np.bincount(g, minlength=len(keys)).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(keys), size=(n_bootstrap, len(keys)))
    adv = (w_sum[draws].sum(1) - l_sum[draws].sum(1)) / count[draws].sum(1)
    lo, hi = np.percentile(adv, [2.5, 97.5])
    return [round(float(lo), 6), round(float(hi), 6)]


def _rates(outcomes: list[str], flips: list[bool], groups: list, parse_errors: int, n_bootstrap: int,
           seed: int) -> dict:
    n = len(outcomes)
    if n == 0:
        return {"win": None, "tie": None, "lose": None, "adv": None, "adv_ci": None, "flip_rate": None,
                "parse_errors": parse_errors, "n": 0}
    win = np.array([o == "win" for o in outcomes], dtype=float)
    lose = np.array([o == "lose" for o in outcomes], dtype=float)
    r = lambda x: round(float(x), 6)  # noqa: E731
    return {"win": r(win.mean()), "tie": r(1 - win.mean() - lose.mean()), "lose": r(lose.mean()),
            "adv": r(win.mean() - lose.mean()), "adv_ci": bootstrap_adv_ci(win, lose, groups, n_bootstrap, seed),
            "flip_rate": r(np.mean(flips)), "parse_errors": parse_errors, "n": n}


def aggregate(verdict_pairs, n_bootstrap: int = 1000, seed: int = 0, backend: str | None = None) -> dict:
    """Win/tie/lose of x against y from verdicts in both orders.

    ``verdict_pairs``: one item per pair, either a dict ``{"xy": v, "yx": v, "cv_id": ...}`` or a tuple
    ``(v_xy, v_yx)``, where ``v_xy`` is the judge's verdict with A=x, B=y, ``v_yx`` the one with A=y,
    B=x, and ``v`` is a parsed verdict dict or ``None`` (parse error). Per aspect, x wins when both orders
    prefer x, loses when both prefer y, and ties otherwise; ``flip_rate`` is the share of pairs whose two
    orders disagree. Pairs with a parse error in either order are counted in ``parse_errors`` and left
    out of every rate. ``adv_ci`` is a 95% bootstrap interval of ``adv`` over CVs (items sharing a
    ``cv_id`` are resampled together), ``n_bootstrap`` resamples drawn from ``seed``.

    Returns the overall verdict's ``win, tie, lose, adv, adv_ci, flip_rate, parse_errors, n`` (pairs), ``n_cvs``
    (distinct CVs among them), ``backend`` and ``aspects: {aspect: {win, ..., n}}``.
    """
    valid, parse_errors = [], 0
    for i, item in enumerate(verdict_pairs):
        if isinstance(item, dict):
            xy, yx, cv_id = item.get("xy"), item.get("yx"), item.get("cv_id", i)
        else:
            (xy, yx), cv_id = item, i
        xy, yx = _check_verdict(xy, f"verdict pair {i} (xy)"), _check_verdict(yx, f"verdict pair {i} (yx)")
        if xy is None or yx is None:
            parse_errors += 1
        else:
            valid.append((xy, yx, i if cv_id is None else cv_id))
    groups = [cv for _, _, cv in valid]
    per = {}
    for aspect in VERDICT_KEYS:
        outcomes, flips = [], []
        for xy, yx, _ in valid:
            o1, o2 = _FROM_XY[xy[aspect]], _FROM_YX[yx[aspect]]
            outcomes.append(o1 if o1 == o2 else "tie")
            flips.append(o1 != o2)
        per[aspect] = _rates(outcomes, flips, groups, parse_errors, n_bootstrap, seed)
    report = dict(per["overall"])
    report["n_cvs"] = len(set(groups))
    report["backend"] = backend
    report["aspects"] = {a: per[a] for a in ASPECTS}
    return report
