"""Reward hacking, measured: the same GIRL and GIRL-SFT JDs read by both hidden recruiters.

Under the ``lenient`` recruiter (:mod:`girl_lib.world.recruiter`) what a JD leaves out is free, and PPO
learnt to ask for less. :func:`recruiter_comparison` reads one run's final-evaluation JDs
(``ppo/eval_generations.json``) under each recruiter: GIRL - GIRL-SFT fit with its interval, its split
into term groups, and the requirements the JDs name. Notebook 03 runs it on the shipped lenient run
(``reference/cpu_lenient``) and on the current one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .ppo import fit_term_split, paired_difference, policy_pair_agreement
from .runio import GirlError, read_json
from .world import Recruiter, parse_jd
from .world.recruiter import RECRUITERS

LENIENT_RUN = Path(__file__).resolve().parent.parent / "reference" / "cpu_lenient"
"""The shipped run made under the lenient recruiter."""


def eval_cvs(path, cv_ids: list[str]) -> list[str]:
    """The CVs of a run's evaluation JDs, in ``cv_ids`` order, from the ``cvs.json`` (``cv_id -> CV``) shipped
    beside its ``eval_generations.json`` (a shipped run's CVs, whatever today's world draws)."""
    path = Path(path)
    cvs_path = (path if path.is_dir() else path.parent) / "cvs.json"
    if not cvs_path.exists():
        raise GirlError(f"no {cvs_path}: the CVs of this run's evaluation JDs are not stored beside them")
    cvs = read_json(cvs_path)
    missing = [i for i in cv_ids if i not in cvs]
    if missing:
        raise GirlError(f"{cvs_path} lacks the CVs {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
    return [cvs[i] for i in cv_ids]


def eval_jds(path) -> tuple[list[str], dict]:
    """``(cv_ids, {"sft": [[jd, ...] per CV], "girl": [...]})`` from an ``eval_generations.json`` (each CV's
    first JD and its extra samples)."""
    path = Path(path)
    if path.is_dir():
        path = path / "eval_generations.json"
    if not path.exists():
        raise GirlError(f"no {path}: run `girl ppo` (or read the shipped reference/cpu_lenient)")
    saved = read_json(path)
    extra = saved.get("extra", {})
    jds = {key: [[saved[key][i]["jd"]] + [x["jd"] for x in (extra.get(key) or [[]] * len(saved[key]))[i]]
                 for i in range(len(saved[key]))] for key in ("sft", "girl")}
    return list(saved["cv_ids"]), jds


def requirements_named(jds: list[str]) -> dict:
    """Parsed required skills per JD: mean, share naming 3-5 (the real range), share naming <= 2."""
    n = np.array([len(parse_jd(j)["required"]) for j in jds], dtype=float)
    if not len(n):
        return {"mean": None, "share_3_5": None, "share_le_2": None, "n": 0}
    return {"mean": float(n.mean()), "share_3_5": float(((n >= 3) & (n <= 5)).mean()),
            "share_le_2": float((n <= 2).mean()), "n": int(len(n))}


def level_shares(jds: list[str]) -> dict:
    """Share of JDs read at each level (0 junior .. 3 lead, ``None``: not stated)."""
    levels = [parse_jd(j)["level"] for j in jds]
    return {str(k): levels.count(k) / max(1, len(levels)) for k in (0, 1, 2, 3, None)}


def recruiter_comparison(cvs: list[str], jds: dict, seed: int = 0) -> dict:
    """For each recruiter kind: mean fit of GIRL-SFT and GIRL, the paired difference GIRL - GIRL-SFT over CVs
    (per CV the mean over its JDs) with its 95% interval, and its split by term group; plus what the JDs
    name (:func:`requirements_named`, :func:`level_shares`). ``jds`` as :func:`eval_jds` returns."""
    if len(cvs) != len(jds["sft"]) or len(cvs) != len(jds["girl"]):
        raise GirlError(f"recruiter_comparison got {len(cvs)} CVs for {len(jds['sft'])} / {len(jds['girl'])} "
                        "lists of JDs: pass one list of JDs per CV for each model")
    out: dict = {"n_cvs": len(cvs)}
    for kind in RECRUITERS:
        fit = Recruiter(kind)
        per_cv = {key: [float(np.mean([fit(cv, j) for j in jds[key][i]])) for i, cv in enumerate(cvs)]
                  for key in ("sft", "girl")}
        every = {key: [[(j,) for j in jds[key][i]] for i in range(len(cvs))] for key in ("sft", "girl")}
        out[kind] = {"fit_sft": float(np.mean(per_cv["sft"])), "fit_girl": float(np.mean(per_cv["girl"])),
                     "diff": paired_difference(per_cv["sft"], per_cv["girl"], seed=seed),
                     "terms": fit_term_split(cvs, every, fit, seed + 1)}
    for key in ("sft", "girl"):
        flat = [j for per_cv in jds[key] for j in per_cv]
        out[f"requirements_{key}"] = requirements_named(flat)
        out[f"levels_{key}"] = level_shares(flat)
    return out


def rm_policy_agreement(score_fn, cvs: list[str], jds: dict, recruiter=None) -> dict:
    """How often a reward model orders *the policy's own* JDs of one CV as the hidden recruiter does: per CV the
    group of every GIRL-SFT and GIRL JD (``jds`` as :func:`eval_jds` returns), every pair whose fits differ by at
    least :data:`girl_lib.ppo.POLICY_PAIR_MIN_GAP` (:func:`girl_lib.ppo.policy_pair_agreement`). ``score_fn(cvs,
    jds) -> scores``; ``recruiter``: ``fn(cv, jd) -> fit`` (default: the posting recruiter).
    Returns ``{"value", "n"}`` (``value`` ``None`` without a decided pair)."""
    fit = recruiter or Recruiter("posting")
    groups = [jds["sft"][i] + jds["girl"][i] for i in range(len(cvs))]
    size = len(groups[0]) if groups else 0
    if any(len(g) != size for g in groups):
        raise GirlError("rm_policy_agreement needs the same number of JDs for every CV")
    flat_cvs = [cv for cv, g in zip(cvs, groups) for _ in g]
    flat_jds = [j for g in groups for j in g]
    scores = [float(x) for x in score_fn(flat_cvs, flat_jds)]
    fits = [fit(c, j) for c, j in zip(flat_cvs, flat_jds)]
    agree, pairs = policy_pair_agreement(scores, fits, size)
    return {"value": agree / pairs if pairs else None, "n": pairs}
