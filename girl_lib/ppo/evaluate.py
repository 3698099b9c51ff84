"""GIRL against GIRL-SFT after training (paired samples, bootstrap intervals over CVs, the oracle's split
by term group, the reward model's agreement with the recruiter), and Eq. 5 against RLOO on the same samples."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .. import losses
from ..data import oracle_for
from ..metrics import bootstrap_ci
from ..models import load_generator, load_sequence_scorer
from ..report import direction
from ..reward import score_batch
from ..runio import derive_seed
from ..sampling import Sampling, batch_generator, length_batches, sample_batch
from .advantages import compute_advantages, group_advantages, within_group_share
from .baselines import critic_values
from .policy import Models, reference_policy
from .trainer import OracleFn, ScoreFn, _as_tensor, _group_slices, policy_pair_agreement, rollout_sampling


def _default_score_fn(run_dir: Path, cfg, device) -> ScoreFn:
    """U(C, J) from the frozen reward model at ``run_dir/reward/model``, in chunks."""
    rm, rtok = load_sequence_scorer(str(run_dir / "reward" / "model"), cfg)
    rm = rm.to(device).eval().requires_grad_(False)

    def score(cvs, jds):
        chunks = [score_batch(rm, rtok, cvs[i:i + 16], jds[i:i + 16], cfg.reward.max_length)
                  for i in range(0, len(cvs), 16)]
        return torch.cat(chunks) if chunks else torch.zeros(0)

    return score


def _mean(x) -> float | None:
    x = [v for v in x if v is not None]
    return float(np.mean(x)) if x else None


def paired_difference(before: Sequence[float], after: Sequence[float], n_boot: int = 2000,
                      seed: int = 0) -> dict:
    """``{"mean", "ci95": [lo, hi], "n"}`` of the paired differences ``after - before`` (one per CV): the
    mean and its 95% percentile-bootstrap interval over CVs (rows resampled with replacement)."""
    d = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    if len(d) == 0:
        return {"mean": None, "ci95": [None, None], "n": 0}
    ci = bootstrap_ci(d, np.mean, n=n_boot, seed=seed)
    return {"mean": float(d.mean()), "ci95": [ci["low"], ci["high"]], "n": int(len(d))}


def _sign_agreement(u_a, u_b, fit_a, fit_b) -> tuple[float | None, int]:
    """(share of pairs where ``u_b - u_a`` and ``fit_b - fit_a`` have the same sign, number of pairs it is
    taken over): only pairs whose fits differ count, a tie in ``u`` counts as disagreement; the share is
    ``None`` when no fits differ."""
    du, df = np.asarray(u_b, float) - np.asarray(u_a, float), np.asarray(fit_b, float) - np.asarray(fit_a, float)
    decided = df != 0
    share = float((np.sign(du) == np.sign(df))[decided].mean()) if decided.any() else None
    return share, int(decided.sum())


@torch.no_grad()
def sample_girl_and_sft(models: Models, actor_unwrapped, cvs: list[str], cfg,
                        sampling: Sampling | None = None) -> tuple[dict, list[float], Sampling]:
    """One JD per CV from GIRL (the actor) and GIRL-SFT (the reference), same settings and the same random
    streams, and GIRL's KL to the reference on its own tokens (Eq. 3, the configured estimator and
    reduction). Returns ``(rows, kls, sampling)`` with ``rows[model][i] = (text, n_tokens, finished)``.

    ``sampling`` samples exactly as :func:`girl_lib.sampling.generate_jds` does with those settings
    (length-sorted batches, one seeded stream per batch); the stage passes the generate stage's judge
    settings, so the judge later compares these very JDs. The KL is then between the policies at that
    temperature. Without it: PPO's own temperature / top-p and one stream, in batches of
    ``ppo.rollout_batch_size`` CVs."""
    p = cfg.ppo
    device = next(actor_unwrapped.parameters()).device
    if sampling is None:
        sampling = replace(rollout_sampling(cfg), batch_size=max(1, p.rollout_batch_size),
                           seed=derive_seed(p.seed, 99_991))
        bs = sampling.batch_size
        batches = [list(range(s, min(s + bs, len(cvs)))) for s in range(0, len(cvs), bs)]
        shared = {"girl": torch.Generator(device=device).manual_seed(sampling.seed),
                  "sft": torch.Generator(device=device).manual_seed(sampling.seed)}
        streams = lambda idx: (shared["girl"], shared["sft"])  # noqa: E731
    else:
        batches = length_batches(list(cvs), sampling.batch_size)
        streams = lambda idx: (batch_generator(sampling.seed, idx[0], device),  # noqa: E731
                               batch_generator(sampling.seed, idx[0], device))
    rows = {"girl": [None] * len(cvs), "sft": [None] * len(cvs)}
    kls = [0.0] * len(cvs)
    for idx in batches:
        chunk = [cvs[i] for i in idx]
        gen_girl, gen_sft = streams(idx)
        out = sample_batch(actor_unwrapped, models.tokenizer, chunk, sampling, gen_girl)
        ids, attn, P, mask = out["input_ids"], out["attention_mask"], out["prompt_len"], out["response_mask"]
        # log-probs in minibatches: [B, R, vocab] logits of a whole generation batch can be GBs
        parts = _group_slices(len(chunk), 1, p.minibatch_size)
        t = sampling.temperature
        logp = torch.cat([losses.logprobs_of(actor_unwrapped, ids[q], attn[q], P, t) for q in parts])
        with reference_policy(models, actor_unwrapped) as ref:
            ref_logp = torch.cat([losses.logprobs_of(ref, ids[q], attn[q], P, t) for q in parts])
            sft_out = sample_batch(ref, models.tokenizer, chunk, sampling, gen_sft)
        kl = losses.kl_penalty(logp, ref_logp, mask.float(), p.kl_estimator, p.kl_reduction).tolist()
        for j, i in enumerate(idx):
            kls[i] = kl[j]
            for key, o in (("girl", out), ("sft", sft_out)):
                rows[key][i] = (o["texts"][j], int(o["n_tokens"][j]), bool(o["finished"][j]))
    return rows, kls, sampling


@torch.no_grad()
def extra_samples(models: Models, actor_unwrapped, cvs: list[str], sampling: Sampling, k: int, seed: int,
                  batch_size: int = 8) -> dict:
    """``k`` more JDs per CV from GIRL and from GIRL-SFT (same settings as ``sampling``; paired random streams,
    one prompt forward per CV, ``batch_size`` CVs at a time):
    ``{"girl": [[(text, n_tokens, finished), ...] per CV], "sft": [...]}``."""
    out = {"girl": [], "sft": []}
    if k < 1:
        return {key: [[] for _ in cvs] for key in out}
    device = next(actor_unwrapped.parameters()).device
    for s in range(0, len(cvs), batch_size):
        chunk = cvs[s:s + batch_size]
        for key in out:
            gen = torch.Generator(device=device).manual_seed(derive_seed(seed, 7_777 + s))
            with (reference_policy(models, actor_unwrapped) if key == "sft" else contextlib.nullcontext(actor_unwrapped)) as m:
                o = sample_batch(m, models.tokenizer, chunk, sampling, gen, repeats=k)
            rows = list(zip(o["texts"], o["n_tokens"].tolist(), o["finished"].tolist()))
            out[key] += [rows[j * k:(j + 1) * k] for j in range(len(chunk))]
    return out


def compare_with_sft(cvs: list[str], rows: dict, kls: list[float], score_fn: ScoreFn,
                     oracle_fn: OracleFn | None, cfg, extra: dict | None = None) -> dict:
    """The numbers of GIRL vs GIRL-SFT on the same CVs: mean RM reward ``U``, KL, oracle fit, lengths,
    finished rates; the paired differences GIRL - GIRL-SFT of ``U`` and of the oracle's fit with 95%
    bootstrap intervals over CVs (``reward_diff``, ``oracle_fit_diff``; per CV the mean over its JDs when
    ``extra`` (:func:`extra_samples`) adds more); how often ``U`` orders the first two JDs of a CV as the
    recruiter does (``rm_oracle_agreement``); and the reward-hacking flag: ``U`` shown to rise while the
    oracle's fit is shown to fall (each "shown" = its interval excludes 0)."""
    extra = extra or {key: [[] for _ in cvs] for key in rows}
    every = {key: [[rows[key][i]] + list(extra[key][i]) for i in range(len(cvs))] for key in rows}  # per CV
    flat_cvs = {key: [c for c, r in zip(cvs, every[key]) for _ in r] for key in rows}
    flat = {key: [x for r in every[key] for x in r] for key in rows}

    starts = {key: np.cumsum([0] + [len(r) for r in every[key]])[:-1].tolist() for key in rows}  # each CV's 1st

    def per_cv(values, key):  # flat values back to per-CV means
        return [float(np.mean(values[s:s + len(r)])) for s, r in zip(starts[key], every[key])]

    scores = {key: _as_tensor(score_fn(flat_cvs[key], [x[0] for x in flat[key]]), "cpu").tolist() if cvs else []
              for key in rows}
    oracle = ({key: [float(oracle_fn(c, x[0])) for c, x in zip(flat_cvs[key], flat[key])] for key in rows}
              if oracle_fn else None)
    cv_scores = {key: per_cv(scores[key], key) for key in rows}
    first = {key: [scores[key][s] for s in starts[key]] for key in rows}
    seed = cfg.ppo.seed
    res = {
        "n_eval": len(cvs), "eval_samples": len(every["girl"][0]) if cvs else 0,
        "reward_sft": _mean(scores["sft"]), "reward_girl": _mean(scores["girl"]),
        "kl_girl": _mean(kls), "kl_estimator": cfg.ppo.kl_estimator, "kl_reduction": cfg.ppo.kl_reduction,
        "oracle_fit_sft": _mean(oracle["sft"]) if oracle else None,
        "oracle_fit_girl": _mean(oracle["girl"]) if oracle else None,
        "response_len_sft": _mean([x[1] for x in flat["sft"]]), "response_len_girl": _mean([x[1] for x in flat["girl"]]),
        "finished_rate_sft": _mean([float(x[2]) for x in flat["sft"]]),
        "finished_rate_girl": _mean([float(x[2]) for x in flat["girl"]]),
        "reward_diff": paired_difference(cv_scores["sft"], cv_scores["girl"], seed=seed),
        "examples": [{"cv": c, "jd_sft": s[0], "jd_girl": g[0]} for c, s, g in zip(cvs[:3], rows["sft"], rows["girl"])],
    }
    res["reward_hacking_warning"] = False
    res["rm_oracle_agreement"], res["rm_oracle_n"] = None, 0
    if oracle:
        res["oracle_fit_diff"] = paired_difference(per_cv(oracle["sft"], "sft"), per_cv(oracle["girl"], "girl"),
                                                   seed=seed + 1)
        oracle_first = {key: [oracle[key][s] for s in starts[key]] for key in rows}
        # Does U rank the policy's two JDs of a CV as the recruiter does? Both are for the CV's occupation,
        # where U can be far less reliable than on held-out pairs, and PPO can only climb what U sees.
        res["rm_oracle_agreement"], res["rm_oracle_n"] = _sign_agreement(first["sft"], first["girl"],
                                                                         oracle_first["sft"], oracle_first["girl"])
        res["reward_hacking_warning"] = bool(direction(res["reward_diff"]) > 0 and direction(res["oracle_fit_diff"]) < 0)
        if hasattr(oracle_fn, "contributions"):
            res["oracle_fit_terms"] = fit_term_split(cvs, every, oracle_fn, seed + 2)
    res["_per_jd"] = {key: {"reward": scores[key], "oracle_fit": oracle[key] if oracle else None} for key in rows}
    return res


def fit_term_split(cvs: list[str], every: dict, recruiter, seed: int) -> dict:
    """Where GIRL - GIRL-SFT's oracle fit comes from: per term group (:data:`girl_lib.world.recruiter.TERM_GROUPS`)
    its Shapley contribution (``recruiter.contributions``), JD m of GIRL against JD m of GIRL-SFT for the same
    CV, averaged per CV, with a 95% bootstrap interval over CVs. The groups sum to ``oracle_fit_diff``'s mean."""
    per_cv: dict = {}
    for i, cv in enumerate(cvs):
        pairs = list(zip(every["sft"][i], every["girl"][i]))
        parts = [recruiter.contributions(cv, a[0], b[0]) for a, b in pairs]
        for group in parts[0] if parts else ():
            per_cv.setdefault(group, []).append(float(np.mean([x[group] for x in parts])))
    return {group: paired_difference([0.0] * len(v), v, seed=seed) for group, v in per_cv.items()}


def evaluate_against_sft(models: Models, actor_unwrapped, cvs: list[str], score_fn: ScoreFn,
                         oracle_fn: OracleFn | None, cfg, sampling: Sampling | None = None) -> dict:
    """:func:`sample_girl_and_sft` (and :func:`extra_samples` with ``ppo.eval_samples`` > 1) then
    :func:`compare_with_sft`; the first JD of each CV is returned under ``"generations"`` and the settings
    they were sampled with under ``"sampler"``."""
    rows, kls, sampling = sample_girl_and_sft(models, actor_unwrapped, cvs, cfg, sampling)
    extra = extra_samples(models, actor_unwrapped, cvs, sampling, cfg.ppo.eval_samples - 1, cfg.ppo.seed)
    res = compare_with_sft(cvs, rows, kls, score_fn, oracle_fn, cfg, extra)
    res["sampler"] = sampling.record()
    per_jd = res.pop("_per_jd")
    scored = {}  # each JD with its reward-model score and oracle fit, in compare_with_sft's order (per CV: 1st, extras)
    for key in rows:
        it = iter(range(len(per_jd[key]["reward"])))
        scored[key] = [[_scored_row(x, per_jd[key], next(it)) for x in [rows[key][i]] + list(extra[key][i])]
                       for i in range(len(cvs))]
    res["generations"] = {k: [r[0] for r in v] for k, v in scored.items()}
    res["extra_generations"] = {k: [r[1:] for r in v] for k, v in scored.items()}
    return res


def _scored_row(x: tuple, per_jd: dict, i: int) -> dict:
    """One generated JD as saved in ``eval_generations.json``: text, length, finished, U and the oracle's fit."""
    fit = per_jd["oracle_fit"][i] if per_jd["oracle_fit"] is not None else None
    return {"jd": x[0], "n_tokens": x[1], "finished": x[2], "reward": per_jd["reward"][i], "oracle_fit": fit}


@torch.no_grad()
def compare_baselines(cfg, run_dir, cvs: Sequence[str], k: int = 4, seed: int = 0, score_fn: ScoreFn | None = None,
                      oracle_fn: OracleFn | None = None) -> dict:
    """Eq. 5 against a group baseline *on the same samples*: k JDs per CV from GIRL-SFT (PPO's first
    rollout: the actor still equals the reference, so the KL is 0 and r = U), their advantages under the
    paper's critic (``U^c(C, _)``, the untrained copy of U that PPO starts from) and under RLOO.

    Returns per-row lists (``cv``, ``jd``, ``reward``, ``value``, ``adv_eq5``, ``adv_rloo``, ``oracle_fit``)
    and the summaries: ``within_share_eq5`` / ``within_share_rloo`` (:func:`within_group_share`: how much
    of each advantage tells one CV's JDs apart), ``value_vs_cv_mean_corr`` (does the critic's value track
    the CV's mean reward?) and ``rm_oracle`` (:func:`policy_pair_agreement` on these JDs)."""

    run_dir = Path(run_dir)
    model, tok = load_generator(str(run_dir / "sft" / "model"), cfg)
    device = next(model.parameters()).device
    out = sample_batch(model, tok, list(cvs), rollout_sampling(cfg), torch.Generator(device=device).manual_seed(seed),
                       repeats=k)
    rows = [c for c in cvs for _ in range(k)]
    reward = _as_tensor((score_fn or _default_score_fn(run_dir, cfg, device))(rows, out["texts"]), "cpu")
    critic, ctok = load_sequence_scorer(str(run_dir / "reward" / "model"), cfg)
    value = critic_values(critic.eval(), ctok, rows, cfg.reward.max_length).float().cpu()
    adv_eq5, adv_rloo = compute_advantages(reward, value), group_advantages(reward, k, "rloo")
    oracle_fn = oracle_fn or oracle_for(cfg)
    fits = [float(oracle_fn(c, j)) for c, j in zip(rows, out["texts"])]
    cv_mean, cv_value = reward.reshape(-1, k).mean(-1).numpy(), value.reshape(-1, k)[:, 0].numpy()
    corr = float(np.corrcoef(cv_mean, cv_value)[0, 1]) if len(cvs) > 2 and cv_value.std() > 0 else None
    agree, pairs = policy_pair_agreement(reward.tolist(), fits, k)
    return {"cv": rows, "jd": list(out["texts"]), "reward": reward.tolist(), "value": value.tolist(),
            "adv_eq5": adv_eq5.tolist(), "adv_rloo": adv_rloo.tolist(), "oracle_fit": fits, "k": k,
            "within_share_eq5": within_group_share(adv_eq5, k), "within_share_rloo": within_group_share(adv_rloo, k),
            "value_vs_cv_mean_corr": corr, "rm_oracle": {"agree": agree, "pairs": pairs}}

