"""Tables III-IV's numbers: each model's mean +- std beside Base (:func:`_summarise`) and the paired
differences GIRL - Base, GIRL - GIRL-SFT, ... with 95% seeker-level bootstrap intervals (:func:`paired_diffs`)."""

from __future__ import annotations

import numpy as np

from .. import names
from ..metrics import paired_group_bootstrap, relative_change
from ..names import REC_MODEL_ORDER as MODEL_ORDER
from ..runio import GirlError
from .features import Features
from .train import _has_both_classes


DIFF_PAIRS = names.REC_DIFF_PAIRS
"""The paired differences ``a - b`` of Tables III-IV's rows that get a bootstrap interval."""


def paired_diffs(results: dict, test: Features, subsets: dict, n_boot: int, seed: int,
                 notes: list | None = None) -> tuple[dict, dict]:
    """Paired differences of AUC, GAUC and LogLoss (``DIFF_PAIRS``) with 95% seeker-level bootstrap intervals.

    Each model's test probabilities are first averaged over its seeds (the seeds' ensemble); then whole
    seekers are resampled, the same resample for every model (:func:`girl_lib.metrics.paired_group_bootstrap`,
    seed ``seed``, ``n_boot`` resamples, one-class resamples skipped and counted). Where the seekers have more
    generated JDs than ``n_generated`` (``test_probs_alt``, :func:`generation_alternatives`), each resample
    also draws which of the disjoint draws of JDs each seeker brings, so the interval covers generation
    noise as well as the draw of test seekers (the point values then average the draws); with one JD per
    seeker it covers the seekers only. Through the ensemble it does not cover the seeds.

    Returns ``({subset: {pred: {"a-b": {metric: {"mean", "ci95"}}}}}, bootstrap facts per subset)``.
    """
    diffs: dict = {}
    boot: dict = {"n_boot": n_boot, "seed": seed, "unit": "seeker", "predictions": "mean over seeds",
                  "subsets": {}}
    for subset, mask in subsets.items():
        if not _has_both_classes(test.y[mask]):
            continue
        for pred, by_model in results.items():
            probs = {m: (r["test_probs_alt"].mean(axis=0)[:, mask] if "test_probs_alt" in r
                         else r["test_probs"].mean(axis=0)[mask]) for m, r in by_model.items() if subset in r}
            boot.setdefault("generated_draws", {}).setdefault(pred, {m: int(np.atleast_2d(p).shape[0])
                                                                     for m, p in probs.items()})
            pairs = [(a, b) for a, b in DIFF_PAIRS if a in probs and b in probs]
            if not pairs:
                continue
            try:
                out = paired_group_bootstrap(test.y[mask], probs, pairs, test.seeker_ids[mask], n=n_boot, seed=seed)
            except GirlError as err:
                if notes is not None:
                    notes.append(f"no paired intervals on '{subset}' ({pred}): {err}")
                continue
            diffs.setdefault(subset, {})[pred] = out["diff"]
            facts = boot["subsets"].setdefault(subset, {k: out[k] for k in ("n_groups", "n_gauc_groups",
                                                                            "n_resamples", "n_skipped")})
            facts.setdefault("ensemble", {})[pred] = out["point"]
    return diffs, boot


def _summarise(results: dict, subset: str) -> dict:
    """{pred: {model: {auc, logloss, gauc, stds, rels vs Base, per_seed}}} for one test subset (the paired
    differences, ``diff``, are added by :func:`run_recommend`)."""
    out = {}
    for pred, by_model in results.items():
        if subset not in by_model["Base"]:
            return {}
        base = by_model["Base"][subset]
        out[pred] = {}
        for name in MODEL_ORDER:
            if name not in by_model or subset not in by_model[name]:
                continue
            r = by_model[name][subset]
            out[pred][name] = {"auc": r["auc"], "logloss": r["logloss"], "auc_std": r["auc_std"],
                               "logloss_std": r["logloss_std"],
                               "auc_rel": relative_change(r["auc"], base["auc"]),
                               "logloss_rel": relative_change(r["logloss"], base["logloss"], lower_is_better=True),
                               "gauc": r.get("gauc"), "gauc_std": r.get("gauc_std"),
                               "auc_within_occupation": r.get("auc_within_occupation"),
                               "auc_within_occupation_std": r.get("auc_within_occupation_std"),
                               "n_gauc_seekers": r.get("n_gauc_seekers"), "n": r["n"], "per_seed": r["per_seed"]}
    return out
