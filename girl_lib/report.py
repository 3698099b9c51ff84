"""``results.json`` and ``report.md``: every number computed from the run dir, each beside the paper's.

Nothing here is typed in: a missing stage gives a missing section (and the report says so), a missed
target is flagged as missed, with the reason the course gives for it.

One file on purpose (~770 lines): every sentence and table of the results is worded here, beside the
numbers and targets it reads, so a verdict's rule and its wording change together.
"""

from __future__ import annotations

from pathlib import Path

from . import paper, plots
from .metrics import relative_change
from .names import JUDGE_ASPECTS as ASPECTS
from .names import MODEL_NAMES, PREDICTORS, REC_DIFF_PAIRS, pair_models
from .names import REC_MODEL_ORDER as MODEL_ORDER
from .names import REC_SUBSETS as SUBSETS
from .runio import atomic_write_json, atomic_write_text, read_json, read_jsonl

MIN_SEEKERS = 20
"""A seeker-level bootstrap over fewer test seekers than this resamples too few clusters to be trusted: the
report then calls the comparison not shown, whatever its interval says."""
MIN_TEST_SEEKERS = (150, 60)
"""rec_test seekers (all, cold-start) the evaluation issue (27) asks of the ``cpu`` profile: at 64 / 26 the
smallest AUC difference a paired interval could show (~0.02, ~0.04 cold) was the size of the effects tested."""
JUDGE_HALF_WIDTH = 0.15
"""Widest half-width of the judge's GIRL vs GIRL-SFT interval that can show an advantage of the paper's size."""
PPO_DICT_KEYS = ("reward_diff", "oracle_fit_diff", "rm_policy_agreement", "rm_sft_agreement", "oracle_fit_terms")
"""The structured entries of ``ppo/metrics.json`` that ``results.json["ppo"]`` carries (the rest: scalars)."""


def _load(run_dir: Path, stage: str, name: str = "metrics.json"):
    path = run_dir / stage / name
    return read_json(path) if path.exists() else None


def collect_results(cfg, run_dir) -> dict:
    """Gather the stage metrics into the ``results.json`` layout."""
    run_dir = Path(run_dir)
    res: dict = {"profile": cfg.name, "recruiter": cfg.recruiter.kind}
    stats = _load(run_dir, "data", "stats.json")
    if stats:
        res["data"] = stats
    sft = _load(run_dir, "sft")
    if sft:
        res["sft"] = {k: sft.get(k) for k in ("final_train_loss", "jd_perplexity_before", "jd_perplexity_after",
                                              "format_compliance_before", "format_compliance_after",
                                              "train_seconds")}
    rm = _load(run_dir, "reward")
    if rm:
        res["reward_model"] = {k: rm.get(k) for k in ("pairwise_accuracy", "auc", "oracle_agreement",
                                                      "oracle_pairwise_accuracy", "parameters", "architecture",
                                                      "pairwise_accuracy_before", "steps", "seconds",
                                                      "same_occupation_oracle_agreement", "same_occupation_n",
                                                      "accuracy_by_kind", "n_by_kind")}
    ppo = _load(run_dir, "ppo")
    if ppo:
        res["ppo"] = {k: v for k, v in ppo.items()
                      if isinstance(v, (int, float, str, bool)) or v is None or k in PPO_DICT_KEYS}
    gen = _load(run_dir, "generate")
    if gen:  # what the JDs are (realism), not how fast they came (tokens/s lives in generate/metrics.json)
        res["generate"] = {k: v for k, v in gen.items() if k in ("realism", "realism_diff_girl_sft")}
    judge = _load(run_dir, "judge")
    if judge:
        res["judge"] = {pair: {**{k: rep.get(k) for k in ("win", "tie", "lose", "adv", "adv_ci", "backend",
                                                          "flip_rate", "parse_errors", "n", "n_cvs")},
                               "aspects": {a: {k: v.get(k) for k in ("adv", "adv_ci")}
                                           for a, v in (rep.get("aspects") or {}).items()}}
                        for pair, rep in judge.items() if isinstance(rep, dict) and "win" in rep}
    rec = _load(run_dir, "recommend")
    if rec:
        for key in ("recommend", "recommend_cold_start", "recommend_warm", "recommend_within_occupation", "generation_number",
                    "generation_number_dot", "retrieval", "recommend_n_seekers", "recommend_bootstrap"):
            if key in rec:
                res[key] = rec[key]
        if "selection" in rec:
            res["recommend_selection"] = rec["selection"]
        if "recommend" in rec and "recommend_n_seekers" in rec:  # the issue's schema: results["recommend"]["n_seekers"]
            res["recommend"] = {**rec["recommend"], "n_seekers": rec["recommend_n_seekers"]}
    timing_path = run_dir / "timing.json"
    if timing_path.exists():
        res["timing_s"] = read_json(timing_path)
    res["targets"] = check_targets(res)
    return res


def predictors(table: dict | None) -> dict:
    """``{predictor: {model: row, "diff": ...}}`` of a recommendation table, without the ``n_seekers`` entry
    that ``results.json["recommend"]`` also carries."""
    return {k: v for k, v in (table or {}).items() if k != "n_seekers"}


def check_targets(res: dict) -> list[dict]:
    """The issues' targets, each with the measured value and met / missed."""
    out = []

    def target(name, value, ok, ci95=None):
        row = {"target": name, "value": value, "met": bool(ok) if value is not None and ok is not None else None}
        if ci95 is not None:
            row["ci95"] = list(ci95)
        out.append(row)

    def comparison(name, value, ci95):
        """Met only when the 95% interval lies above 0; ``met=None`` with no interval (nothing shown)."""
        ok = None if ci95 is None or ci95[0] is None else ci95[0] > 0
        target(name, value, ok, ci95)

    rm = res.get("reward_model", {})
    target("reward model pairwise accuracy within 0.03 of the noiseless oracle's", rm.get("pairwise_accuracy"),
           (rm.get("pairwise_accuracy") or 0) >= (rm.get("oracle_pairwise_accuracy") or 1) - 0.03)
    target("reward model same-occupation agreement with the oracle >= 0.80",
           rm.get("same_occupation_oracle_agreement"), (rm.get("same_occupation_oracle_agreement") or 0) >= 0.80)
    sft = res.get("sft", {})
    target("SFT format compliance >= 0.90", sft.get("format_compliance_after"),
           (sft.get("format_compliance_after") or 0) >= 0.9)
    ppo = res.get("ppo", {})
    pol = ppo.get("rm_policy_agreement") or {}
    if pol.get("value") is not None:
        target(f"reward model agrees with the oracle on the policy's own JD pairs >= 0.70 (n = {pol['n']})",
               pol["value"], pol["value"] >= 0.7 and pol["n"] >= 150)
    for key in ("finished_rate_sft", "finished_rate_girl"):
        if ppo.get(key) is not None:
            target(f"{key} >= 0.90", ppo[key], ppo[key] >= 0.9)
    for key, name in (("reward_diff", "GIRL - GIRL-SFT reward-model score > 0"),
                      ("oracle_fit_diff", "GIRL - GIRL-SFT oracle fit > 0")):
        if (ppo.get(key) or {}).get("mean") is not None:
            comparison(name, ppo[key]["mean"], ppo[key]["ci95"])
    real = (res.get("generate") or {}).get("realism") or {}
    if all(k in real for k in ("sft", "girl")):
        sft_share, girl_share = real["sft"]["share_required_3_5"], real["girl"]["share_required_3_5"]
        d = ((res.get("generate") or {}).get("realism_diff_girl_sft") or {}).get("share_required_3_5") or {}
        lo = (d.get("ci95") or [None])[0]
        target("realism: GIRL's share naming 3-5 requirements no more than 0.05 below GIRL-SFT's (interval's low "
               "end >= -0.05)", girl_share - sft_share, lo is not None and lo >= -0.05, d.get("ci95"))
        target("realism: GIRL-SFT and GIRL each name 3-5 requirements in >= 0.6 of their JDs",
               min(sft_share, girl_share), min(sft_share, girl_share) >= 0.6)
        corr = real["girl"].get("level_corr")
        target("realism: corr(GIRL's JD level, seeker level) >= 0.3", corr, corr is not None and corr >= 0.3)
    judge = res.get("judge", {})
    if "GIRL_vs_GIRL-SFT" in judge:
        j = judge["GIRL_vs_GIRL-SFT"]
        comparison("judge advantage GIRL vs GIRL-SFT > 0", j["adv"], j.get("adv_ci"))
        rel = (j.get("aspects") or {}).get("relevance")
        if rel and rel.get("adv") is not None:
            comparison("judge relevance advantage GIRL vs GIRL-SFT > 0", rel["adv"], rel.get("adv_ci"))
        if j.get("adv_ci"):
            half = (j["adv_ci"][1] - j["adv_ci"][0]) / 2
            target(f"judge GIRL vs GIRL-SFT interval at most +-{JUDGE_HALF_WIDTH} ({j.get('n')} pairs, "
                   f"{j.get('n_cvs') or j.get('n')} CVs)", round(half, 3), half <= JUDGE_HALF_WIDTH)
    splits = res.get("data", {}).get("splits", {})
    if "rec_test" in splits and res.get("recommend_n_seekers"):
        n = res["recommend_n_seekers"]
        target(f"rec_test >= {MIN_TEST_SEEKERS[0]} seekers, >= {MIN_TEST_SEEKERS[1]} of them cold-start",
               [n.get("all"), n.get("cold_start")],
               (n.get("all") or 0) >= MIN_TEST_SEEKERS[0] and (n.get("cold_start") or 0) >= MIN_TEST_SEEKERS[1])
    for table in ("recommend", "recommend_cold_start"):
        for pred, rows in predictors(res.get(table)).items():
            for a, b in REC_DIFF_PAIRS:  # each ordering a target: AUC a - b > 0
                if a not in rows or b not in rows:
                    continue
                d = rows.get("diff", {}).get(f"{a}-{b}", {}).get("auc")
                name = f"{table} {pred}: AUC {a} - {b} > 0"
                n_seekers = (res.get("recommend_n_seekers") or {}).get("all" if table == "recommend" else "cold_start")
                if d and n_seekers is not None and n_seekers < MIN_SEEKERS:  # too few clusters to trust
                    target(name, d["mean"], None, d["ci95"])
                    out[-1]["reason"] = f"only {n_seekers} test seekers; an interval needs >= {MIN_SEEKERS}"
                elif d:  # seeker-level paired bootstrap on the seeds' ensemble (recommend.paired_diffs)
                    comparison(name, d["mean"], d["ci95"])
                else:  # a run from before the intervals: the two AUCs, nothing shown
                    comparison(name, [round(rows[a]["auc"], 4), round(rows[b]["auc"], 4)], None)
    t = res.get("timing_s", {})
    if res.get("profile") == "cpu" and "total" in t:
        target("cpu main job <= 40 min on 2 cores", round(t["total"] / 60, 1), t["total"] <= 2400)
    return out


def _fmt(v, nd=4):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x, nd) for x in v)
    return str(v)


def _ci_text(ci, nd: int = 3) -> str:
    return f" [{_fmt(ci[0], nd)}, {_fmt(ci[1], nd)}]" if ci and ci[0] is not None else ""


def _shown(ci) -> bool:
    """A comparison is *shown* only when its 95% interval excludes 0 (over one unit it shows nothing:
    :func:`diff_text` checks the difference's ``n``)."""
    return bool(ci) and ci[0] is not None and (ci[0] > 0 or ci[1] < 0)


def direction(d: dict | None, too_few: bool = False) -> int:
    """+1 / -1 when a paired difference ``{"mean", "ci95", "n"}`` is *shown* above / below 0, 0 when it is not
    (no interval, an interval that covers 0, ``too_few`` units behind it, or one unit: ``n`` < 2). The verdict
    :func:`diff_text` prints and :mod:`girl_lib.readings` words."""
    if not d or d.get("mean") is None:
        return 0
    ci = d.get("ci95")
    too_few = too_few or (d.get("n") is not None and d["n"] < 2)  # one CV: its interval is a point
    if too_few or not _shown(ci):
        return 0
    return 1 if ci[0] > 0 else -1


def diff_text(d: dict | None, nd: int = 3, verdict: bool = True, too_few: bool = False) -> str:
    """A paired difference as text, from ``{"mean", "ci95"}``: ``+0.409 [+0.317, +0.511] (shown)`` (signed,
    ``nd`` decimals). The verdict is ``shown`` only when the 95% interval excludes 0 and ``too_few`` is false
    (too few units behind the interval to trust it); ``verdict=False`` leaves it out. ``—`` without a
    difference; the mean alone without an interval. The report, README status and notebooks all use it."""
    if not d or d.get("mean") is None:
        return "—"
    ci = d.get("ci95")
    if not ci or ci[0] is None:
        return f"{d['mean']:+.{nd}f}"
    text = f"{d['mean']:+.{nd}f} [{ci[0]:+.{nd}f}, {ci[1]:+.{nd}f}]"
    if verdict:
        text += " (shown)" if direction(d, too_few) else " (not shown)"
    return text


def _verdict(t: dict) -> str:
    """``yes`` / ``**no**`` for thresholds; for comparisons ``shown`` only when the 95% interval excludes
    0, else ``not shown`` (with the reason)."""
    if "ci95" in t or t["met"] is None and isinstance(t["value"], list):
        if t["met"] is None:
            return f"not shown ({t.get('reason', 'no interval')})"
        return "shown" if t["met"] else "**not shown** (interval includes 0)" if t["ci95"][1] >= 0 else \
            "**no** (interval below 0)"
    return {True: "yes", False: "**no**", None: "—"}[t["met"]]


def _data_section(res: dict) -> list[str]:
    """Table I analogue: rows, seekers (cold-start), rows per seeker, label rate per split."""
    lines: list[str] = []
    if "data" in res:
        lines += ["## Table I analogue — data", "",
                  "| split | rows (this run) | seekers | cold-start seekers | rows per seeker | label rate | paper rows |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        splits = res["data"].get("splits", {})
        for split, paper_rows in paper.TABLE_I.items():
            row = splits.get(split, {})
            cold = (round(row["cold_start_seekers"] * row["seekers"]) if row.get("cold_start_seekers") is not None
                    and row.get("seekers") else None)
            per = row["rows"] / row["seekers"] if row.get("rows") and row.get("seekers") else None
            lines.append(f"| {split} | {_fmt(row.get('rows'))} | {_fmt(row.get('seekers'))} | {_fmt(cold)} | "
                         f"{_fmt(per, 1)} | {_fmt(row.get('label_rate'), 2)} | {paper_rows:,} |")
        lines.append("")
    return lines


def _sft_reward_section(res: dict) -> list[str]:
    """Steps 1-2: SFT perplexity and format compliance, the reward model's accuracies."""
    lines: list[str] = []
    if "sft" in res or "reward_model" in res:
        lines += ["## Steps 1–2 — SFT and reward model", ""]
        s = res.get("sft", {})
        lines += [f"- JD perplexity before → after SFT: {_fmt(s.get('jd_perplexity_before'), 2)} → "
                  f"{_fmt(s.get('jd_perplexity_after'), 2)}",
                  f"- format compliance (both JD sections) before → after: "
                  f"{_fmt(s.get('format_compliance_before'), 2)} → {_fmt(s.get('format_compliance_after'), 2)}"]
        r = res.get("reward_model", {})
        lines += [f"- reward model ({r.get('architecture') or 'cross'}-encoder, {r.get('steps')} steps) pairwise "
                  f"accuracy: {_fmt(r.get('pairwise_accuracy_before'), 3)} before training → "
                  f"{_fmt(r.get('pairwise_accuracy'), 3)} after, AUC {_fmt(r.get('auc'), 3)}, agreement with the "
                  f"oracle recruiter {_fmt(r.get('oracle_agreement'), 3)}; the noiseless oracle itself gets "
                  f"{_fmt(r.get('oracle_pairwise_accuracy'), 3)} on the same pairs"]
        if r.get("same_occupation_oracle_agreement") is not None:
            kinds = ", ".join(f"{k} {_fmt(v, 2)} (n = {r['n_by_kind'][k]})" for k, v in r["accuracy_by_kind"].items())
            lines += [f"- accuracy by where the rejected JD came from: {kinds}; on same-occupation pairs it orders "
                      f"{_fmt(r['same_occupation_oracle_agreement'], 3)} as the noiseless recruiter does "
                      f"(n = {r['same_occupation_n']})"]
        lines.append("")
    return lines


def _ppo_section(res: dict) -> list[str]:
    """Step 3: GIRL vs GIRL-SFT, the PPO settings, the reward model on the policy's own JDs."""
    lines: list[str] = []
    if "ppo" in res:
        p = res["ppo"]
        lines += ["## Step 3 — PPO", "",
                  "| model | mean RM reward | oracle fit | KL to reference |", "|---|---:|---:|---:|",
                  f"| GIRL-SFT | {_fmt(p.get('reward_sft'))} | {_fmt(p.get('oracle_fit_sft'))} | 0 |",
                  f"| GIRL | {_fmt(p.get('reward_girl'))} | {_fmt(p.get('oracle_fit_girl'))} | {_fmt(p.get('kl_girl'))} |",
                  ""]
        if p.get("note"):
            lines += [f"> {p['note']}", ""]
        if p.get("baseline"):
            lines += [f"Training: {p.get('iterations')} iterations, {p.get('jds_trained_on')} sampled JDs "
                      f"({p.get('samples_per_cv')} per CV), baseline `{p['baseline']}`, lambda {p.get('kl_coef')} "
                      f"on the {p.get('kl_reduction', 'mean')} of the per-token KL.", ""]
        if p.get("oracle_fit_terms"):
            lines += [f"Where GIRL - GIRL-SFT's fit comes from (hidden recruiter: `{res.get('recruiter', 'posting')}`; "
                      "exact Shapley split over the fit formula's term groups, paired 95% intervals over CVs):", "",
                      "| term group | contribution |", "|---|---:|"]
            lines += [f"| {g} | {diff_text(d)} |" for g, d in p["oracle_fit_terms"].items()]
            lines.append("")
        pol = p.get("rm_policy_agreement") or {}
        if pol.get("value") is not None:
            lines += [f"On {pol['n']} pairs of the policy's own JDs for one CV (sampled during training, noiseless "
                      f"fits at least 0.05 apart), the reward model orders {_fmt(pol['value'], 2)} of them as the "
                      f"hidden recruiter does (0.5 = chance).", ""]
        if p.get("rm_oracle_agreement") is not None:
            n = f" of the {p['rm_oracle_n']}" if p.get("rm_oracle_n") else ""
            lines += [f"On the CVs{n} where the hidden recruiter prefers one of the two JDs (GIRL's or GIRL-SFT's), "
                      f"the reward model prefers the same one for {_fmt(p['rm_oracle_agreement'], 2)} of them "
                      f"(0.5 = chance).", ""]
    return lines


REALISM_ROWS = tuple((key, MODEL_NAMES[key]) for key in ("base", "sft", "girl")) + (("real", "real JDs"),)
"""Rows of the realism table: ``generate/metrics.json: realism`` key -> the name shown."""


def _generate_section(res: dict) -> list[str]:
    """How realistic the judge CVs' generated JDs are, beside real postings (``girl_lib.realism``)."""
    real = (res.get("generate") or {}).get("realism")
    if not real:
        return []
    lines = ["## Generated JDs — realism against real postings", "",
             "Judge CVs' JDs (every sample) read by the world's parser; real JDs: as many postings of the `sft` "
             "split, each with its own CV. Intervals: 95% bootstrap over CVs.", "",
             "| JDs | n | required skills / JD | share naming 3–5 | unreadable req. lines / JD | level 0/1/2/3/missing "
             "| level corr. with CV | band max / ask (median) | no band | CV 4-gram copy |",
             "|---|---:|---:|---|---:|---|---|---:|---:|---:|"]
    for key, name in REALISM_ROWS:
        r = real.get(key)
        if not r or not r.get("n_jds"):
            continue
        ci = r.get("ci95") or {}
        lv = r.get("level_distribution") or {}
        band = r.get("band_to_ask") or {}
        lines.append(f"| {name} | {r['n_jds']} | {_fmt(r.get('n_required_mean'), 2)} | "
                     f"{_fmt(r.get('share_required_3_5'), 2)}{_ci_text(ci.get('share_required_3_5'), 2)} | "
                     f"{_fmt(r.get('unreadable_requirement_lines'), 2)} | "
                     f"{' / '.join(_fmt(lv.get(k), 2) for k in ('0', '1', '2', '3', 'missing'))} | "
                     f"{_fmt(r.get('level_corr'), 2)}{_ci_text(ci.get('level_corr'), 2)} | "
                     f"{_fmt(band.get('median'), 2)} | {_fmt(band.get('missing'), 2)} | "
                     f"{_fmt(r.get('cv_copy_rate'), 3)} |")
    lines.append("")
    d = res["generate"].get("realism_diff_girl_sft")
    if d:
        lines += [f"GIRL − GIRL-SFT, paired over {d.get('n_cvs')} judge CVs: share naming 3–5 "
                  f"{diff_text(d.get('share_required_3_5'), 2)}; required skills per JD "
                  f"{diff_text(d.get('n_required_mean'), 2)}; level correlation {diff_text(d.get('level_corr'), 2)}.",
                  ""]
    return lines


def _judge_section(res: dict) -> list[str]:
    """Table II analogue, with each aspect's advantage and interval."""
    lines: list[str] = []
    if "judge" in res:
        lines += ["## Table II analogue — pairwise judge", "",
                  "| pair | win | tie | lose | adv. | adv. 95% CI | pairs (CVs) | flip rate | judge |",
                  "|---|---:|---:|---:|---:|---|---:|---:|---|"]
        for pair, r in res["judge"].items():
            ci = r.get("adv_ci") or [None, None]
            lines.append(f"| {pair.replace('_', ' ')} | {_fmt(r['win'], 2)} | {_fmt(r['tie'], 2)} | "
                         f"{_fmt(r['lose'], 2)} | {_fmt(r['adv'], 2)} | [{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}] | "
                         f"{_fmt(r.get('n'))} ({_fmt(r.get('n_cvs') or r.get('n'))}) | {_fmt(r.get('flip_rate'), 2)} | "
                         f"{r.get('backend')} |")
        pt = paper.TABLE_II["GIRL_vs_GIRL-SFT"]
        lines += [f"| paper: GIRL vs GIRL-SFT (ChatGPT) | {pt['win']} | {pt['tie']} | {pt['lose']} | {pt['adv']} | | | | |", ""]
        aspects = [(pair, r["aspects"]) for pair, r in res["judge"].items() if r.get("aspects")]
        if aspects:
            names = list(aspects[0][1])
            lines += ["Each aspect's advantage with its 95% interval (PPO's reward targets relevance):", "",
                      "| pair | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
            for pair, asp in aspects:
                lines.append(f"| {pair.replace('_', ' ')} | " + " | ".join(
                    f"{_fmt(asp[a]['adv'], 2)}{_ci_text(asp[a].get('adv_ci'))}" for a in names) + " |")
            lines.append("")
    return lines


def _recommend_section(res: dict) -> list[str]:
    """Tables III-IV analogues and their paired differences."""
    lines: list[str] = []
    for key, title in (("recommend", "Table III analogue — recommendation"),
                       ("recommend_cold_start", "Table IV analogue — cold start"),
                       ("recommend_within_occupation", "Within the seeker's occupation (beyond the paper)")):
        if key not in res:
            continue
        table = {"recommend": paper.TABLE_III, "recommend_cold_start": paper.TABLE_IV}.get(key, {})
        lines += [f"## {title}", "", "| predictor | model | AUC ↑ | GAUC ↑ | within-occupation AUC ↑ | LogLoss ↓ | "
                  "paper AUC | paper LogLoss |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for pred, rows in predictors(res[key]).items():
            for model, r in rows.items():
                if model == "diff":
                    continue
                pp = table.get(pred, {}).get(model, {})
                rel = f" ({r['auc_rel']:+.1f}%)" if r.get("auc_rel") is not None and model != "Base" else ""
                lrel = f" ({r['logloss_rel']:+.1f}%)" if r.get("logloss_rel") is not None and model != "Base" else ""
                lines.append(f"| {pred} | {model} | {_fmt(r['auc'])}{rel} | {_fmt(r.get('gauc'))} | "
                             f"{_fmt(r.get('auc_within_occupation'))} | {_fmt(r['logloss'])}{lrel} | {_fmt(pp.get('auc'))} | {_fmt(pp.get('logloss'))} |")
        lines.append("")
        lines += _diff_section(res, key)
    return lines

def render_markdown(res: dict, run_dir: Path) -> str:
    """``report.md``: every section whose stage ran, then the plots, the targets and the wall times."""
    lines = [f"# GIRL run report — profile `{res['profile']}`", "",
             "Every number below is computed by this run; the paper's numbers stand beside them for "
             "comparison (its data is a private Chinese recruitment platform with 7B models; ours is a "
             "synthetic world with small models, so absolute values differ).", ""]
    for section in (_data_section, _sft_reward_section, _ppo_section, _generate_section, _judge_section,
                    _recommend_section):
        lines += section(res)
    pngs = sorted((run_dir / "plots").glob("*.png")) if (run_dir / "plots").exists() else []
    if pngs:
        lines += ["## Plots", ""] + [f"![{p.stem}](plots/{p.name})" for p in pngs] + [""]
    if res.get("targets"):
        lines += ["## Targets", "", "| target | value | met |", "|---|---|---|"]
        for t in res["targets"]:
            lines.append(f"| {t['target']} | {_fmt(t['value'], 3)}{_ci_text(t.get('ci95'))} | {_verdict(t)} |")
        lines += ["", "Where a target is missed, the notebooks (03, 05, 06) discuss why on this data and these "
                  "model sizes.", ""]
    if "timing_s" in res:
        t = res["timing_s"]
        lines += ["## Wall time (seconds)", "", "| stage | seconds |", "|---|---:|"]
        lines += [f"| {k} | {v:.0f} |" for k, v in t.items()] + [""]
    return "\n".join(lines)


def _diff_section(res: dict, key: str) -> list[str]:
    """The paired differences of one table with their 95% intervals (empty for a run without them)."""
    table = diff_rows(res[key])
    if not table:
        return []
    subset = next(s for s, k in SUBSETS if k == key)
    facts = res.get("recommend_bootstrap", {}).get("subsets", {}).get(subset, {})
    return [f"Paired differences (first model − second), test probabilities averaged over the seeds; 95% bootstrap "
            f"interval resampling the {facts.get('n_groups', '?')} test seekers ({facts.get('n_resamples', '?')} "
            f"resamples, {facts.get('n_skipped', 0)} skipped). ΔLogLoss < 0 favours the first model.", ""] + table + [""]


def write_plots(res: dict, run_dir: Path) -> None:
    out = run_dir / "plots"
    sft = _load(run_dir, "sft")
    if sft and sft.get("train_loss_curve"):
        plots.save(plots.training_curve(sft["train_loss_curve"], title="SFT loss (Eq. 1)"), out / "sft_loss.png")
    rm = _load(run_dir, "reward")
    if rm and rm.get("history"):
        plots.save(plots.training_curve(rm["history"], title="reward-model loss (Eq. 2)"), out / "reward_loss.png")
        sc = rm.get("eval_scores", {})
        if sc.get("chosen"):
            plots.save(plots.reward_score_hist(sc["chosen"], sc["rejected"]), out / "reward_scores.png")
    rows = read_jsonl(run_dir / "ppo" / "metrics.jsonl")
    if rows:
        plots.save(plots.ppo_curves(rows), out / "ppo_curves.png")
    if res.get("judge"):
        plots.save(plots.win_rate_bars(res["judge"]), out / "judge_win_rates.png")
    if predictors(res.get("recommend")):
        plots.save(plots.auc_bars(predictors(res["recommend"])), out / "auc_bars.png")
    if predictors(res.get("recommend_cold_start")):
        plots.save(plots.auc_bars(predictors(res["recommend_cold_start"]), title="AUC, cold-start seekers"),
                   out / "auc_bars_cold_start.png")
    diffs = {"all test seekers": predictors(res.get("recommend")),
             "cold-start seekers": predictors(res.get("recommend_cold_start"))}
    if any(t and any("diff" in rows for rows in t.values()) for t in diffs.values()):
        plots.save(plots.paired_diff_bars(diffs), out / "auc_paired_differences.png")
    if res.get("judge") and any(r.get("aspects") for r in res["judge"].values()):
        plots.save(plots.aspect_adv_bars(res["judge"]), out / "judge_aspects.png")
    if res.get("generation_number"):
        plots.save(plots.generation_number_curve(res["generation_number"]), out / "generation_number.png")


def write_report(cfg, run_dir) -> dict:
    """Write ``results.json``, ``plots/*.png`` and ``report.md``; return the results dict."""
    run_dir = Path(run_dir)
    res = collect_results(cfg, run_dir)
    write_plots(res, run_dir)
    atomic_write_json(run_dir / "results.json", res)
    atomic_write_text(run_dir / "report.md", render_markdown(res, run_dir))
    return res


def _interval(d: dict) -> str:
    lo, hi = d["ci95"]
    return f"{d['mean']:+.3f} (95% CI [{lo:+.3f}, {hi:+.3f}], {d['n']} CVs)"


def ppo_note(m: dict) -> str:
    """One paragraph on PPO's result from ``ppo/metrics.json``: what the paired differences GIRL - GIRL-SFT
    show (a change is *shown* only when its 95% interval excludes 0) and whether reward hacking is
    suspected (U shown to rise while the recruiter's fit is shown to fall)."""
    rd, od = m.get("reward_diff"), m.get("oracle_fit_diff")
    if not rd or rd.get("mean") is None:
        return "No evaluation CVs: nothing to compare."

    def verdict(d):
        lo, hi = d["ci95"]
        return "rose (shown)" if lo > 0 else "fell (shown)" if hi < 0 else "did not move measurably (not shown)"

    text = f"The reward model's score of GIRL vs GIRL-SFT {verdict(rd)}: {_interval(rd)}."
    if not od or od.get("mean") is None:
        return text + " No oracle recruiter was available, so the reward-hacking guard could not run."
    text += f" The hidden recruiter's fit {verdict(od)}: {_interval(od)}."
    if m.get("reward_hacking_warning"):
        text += (" Reward hacking suspected: GIRL exploits U rather than matching better. Raise ppo.kl_coef "
                 "or improve the reward model.")
    return text


def render_status(res: dict) -> str:
    """The README's status paragraph, generated from ``results.json`` (no number typed in by hand): what the
    run shows and does not show, each comparison with its 95% interval."""
    out = []
    t = res.get("timing_s", {})
    if "total" in t:
        stages = ", ".join(f"{k} {v / 60:.1f}" for k, v in t.items() if k != "total")
        out.append(f"- *Time.* {t['total'] / 60:.1f} min on this machine ({stages} min).")
    s, r = res.get("sft", {}), res.get("reward_model", {})
    if s:
        out.append(f"- *SFT.* JD perplexity {_fmt(s.get('jd_perplexity_before'), 1)} → {_fmt(s.get('jd_perplexity_after'), 2)}, "
                   f"format compliance {_fmt(s.get('format_compliance_before'), 2)} → {_fmt(s.get('format_compliance_after'), 2)}.")
    if r:
        out.append(f"- *Reward model* ({r.get('architecture')}): held-out pairwise accuracy {_fmt(r.get('pairwise_accuracy'), 3)} "
                   f"(the noiseless recruiter: {_fmt(r.get('oracle_pairwise_accuracy'), 3)}); on same-occupation pairs it "
                   f"orders {_fmt(r.get('same_occupation_oracle_agreement'), 3)} as the noiseless recruiter does "
                   f"(n = {r.get('same_occupation_n')}).")
    p = res.get("ppo", {})
    if p.get("reward_diff"):
        pol = p.get("rm_policy_agreement") or {}
        line = (f"- *PPO* ({p.get('iterations')} iterations, {p.get('jds_trained_on')} sampled JDs, baseline "
                f"`{p.get('baseline')}`): GIRL − GIRL-SFT over {p['reward_diff']['n']} held-out CVs, reward-model "
                f"score {diff_text(p['reward_diff'])}")
        if p.get("oracle_fit_diff"):
            line += f", hidden recruiter's fit {diff_text(p['oracle_fit_diff'])}"
        line += (f"; JDs that end before the token cap: GIRL-SFT {_fmt(p.get('finished_rate_sft'), 2)}, "
                 f"GIRL {_fmt(p.get('finished_rate_girl'), 2)}.")
        if pol.get("value") is not None:
            line += (f" On {pol['n']} pairs of the policy's own JDs for one CV the reward model agrees with the "
                     f"recruiter {_fmt(pol['value'], 2)} of the time (0.5 = chance).")
        out.append(line)
        if p.get("oracle_fit_terms"):
            parts = ", ".join(f"{g} {diff_text(d)}" for g, d in p["oracle_fit_terms"].items())
            out.append(f"- *Where the fit gain comes from* (recruiter `{res.get('recruiter', 'posting')}`, Shapley "
                       f"split by term group): {parts}.")
    out += _realism_status(res)
    j = res.get("judge", {}).get("GIRL_vs_GIRL-SFT")
    if j:
        ci = j.get("adv_ci") or [None, None]
        line = (f"- *Judge* ({j.get('backend')}): GIRL vs GIRL-SFT advantage {_fmt(j['adv'], 2)}, 95% CI "
                f"[{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}] over {j.get('n')} pairs of JDs for {j.get('n_cvs') or j.get('n')} "
                f"CVs: {'shown' if _shown(ci) else 'not shown'}")
        rel = (j.get("aspects") or {}).get("relevance") or {}
        if rel.get("adv_ci"):
            line += f"; on relevance alone (what PPO's reward targets) {diff_text({'mean': rel['adv'], 'ci95': rel['adv_ci']})}"
        out.append(line + ".")
    for table, subset, label in (("recommend", "all", "Recommendation"),
                                 ("recommend_cold_start", "cold_start", "Cold start"),
                                 ("recommend_within_occupation", "within_occupation", "Within the seeker's occupation")):
        out += _rec_status(res, table, subset, label)
    return "\n".join(out)


def _realism_status(res: dict) -> list[str]:
    """The realism line of the README status: requirements named and level tracking, GIRL-SFT / GIRL / real."""
    real = (res.get("generate") or {}).get("realism") or {}
    if not all(k in real for k in ("sft", "girl", "real")):
        return []
    def one(k):
        r = real[k]
        return (f"{_fmt(r['n_required_mean'], 2)} required skills per JD, {_fmt(r['share_required_3_5'], 2)} naming 3–5, "
                f"level corr. {_fmt(r['level_corr'], 2)}")
    line = (f"- *Realism* of the judge CVs' JDs: GIRL-SFT {one('sft')}; GIRL {one('girl')}; real postings "
            f"{one('real')}.")
    diff = (res.get("generate") or {}).get("realism_diff_girl_sft") or {}
    if diff.get("share_required_3_5"):
        line += f" GIRL − GIRL-SFT, share naming 3–5: {diff_text(diff['share_required_3_5'], 2)}."
    return [line]


def _rec_status(res: dict, table: str, subset: str, label: str) -> list[str]:
    out = []
    n_seekers = res.get("recommend_n_seekers", {}).get(subset)
    for pred, rows in predictors(res.get(table)).items():
        if all(m in rows for m in ("Base", "GIRL-SFT", "GIRL")):
            line = (f"- *{label}* ({pred}, test AUC Base / GIRL-SFT / GIRL: "
                    f"{' / '.join(_fmt(rows[m]['auc'], 4) for m in ('Base', 'GIRL-SFT', 'GIRL'))})")
            diff = rows.get("diff", {})
            if "GIRL-Base" in diff and "GIRL-GIRL-SFT" in diff:
                kind = {"cold_start": "cold-start ", "within_occupation": "(their same-occupation rows) "}.get(subset, "")
                over = f" over {n_seekers} {kind}test seekers" if n_seekers else ""
                few = n_seekers is not None and n_seekers < MIN_SEEKERS
                line += (f": paired AUC differences{over}, GIRL − Base {diff_text(diff['GIRL-Base']['auc'], too_few=few)}, "
                         f"GIRL − GIRL-SFT {diff_text(diff['GIRL-GIRL-SFT']['auc'], too_few=few)}"
                         + (f", GIRL − Retrieved {diff_text(diff['GIRL-Retrieved']['auc'], too_few=few)}"
                            if "GIRL-Retrieved" in diff else "")
                         + (f"; with fewer than {MIN_SEEKERS} test seekers no interval is trusted." if few else "."))
            else:
                line += ": no interval in this run, so no ordering is shown."
            out.append(line)
    return out


def render_seed_table(runs: list[tuple[str, dict, dict | None]]) -> str:
    """One row per PPO run on the same SFT and reward models (``(label, ppo/metrics.json, judge report of
    GIRL vs GIRL-SFT or None)``): the paired differences with their 95% intervals, shown or not."""
    lines = ["| PPO run | RM score GIRL − GIRL-SFT | oracle fit GIRL − GIRL-SFT | judge adv. GIRL vs GIRL-SFT |",
             "|---|---|---|---|"]
    for label, m, j in runs:
        judge = diff_text({"mean": j["adv"], "ci95": j["adv_ci"]}) if j and j.get("adv_ci") else "—"
        lines.append(f"| {label} | {diff_text(m['reward_diff'])} | {diff_text(m['oracle_fit_diff'])} | {judge} |")
    return "\n".join(lines)


# =========================================================================== stage pages (judge, recommend)
def render_judge_table(metrics: dict, backend_name: str) -> str:
    """``judge/table.md``: the Table II analogue, our pairs next to the paper's numbers where they exist."""

    lines = [
        "# Generation quality (paper Table II analogue)",
        "",
        f"Judge: **{backend_name}**. Each pair is judged in both orders; a win needs both orders to agree. "
        "Adv. = Win − Lose, with a 95% bootstrap interval over CVs.",
        "",
        "| Model pair | Win | Tie | Lose | Adv. | Adv. 95% CI | Flip rate | Parse errors | pairs (CVs) | Paper Win/Tie/Lose/Adv. |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for pair, r in metrics.items():
        ci = _ci_text(r["adv_ci"], 2).strip() or "–"
        p = paper.TABLE_II.get(pair)
        theirs = "–" if p is None else f"{p['win']:.2f}/{p['tie']:.2f}/{p['lose']:.2f}/{p['adv']:.2f}"
        lines.append(f"| {pair.replace('_vs_', ' vs ')} | {_fmt(r['win'], 2)} | {_fmt(r['tie'], 2)} | {_fmt(r['lose'], 2)} | "
                     f"{_fmt(r['adv'], 2)} | {ci} | {_fmt(r['flip_rate'], 2)} | {r['parse_errors']} | "
                     f"{r['n']} ({r.get('n_cvs') or r['n']}) | {theirs} |")
    lines += ["", "Per aspect, Adv. (Win − Lose) with its 95% interval over CVs (PPO's reward targets relevance):",
              "", "| Model pair | " + " | ".join(ASPECTS) + " |", "|---|" + "---|" * len(ASPECTS)]
    for pair, r in metrics.items():
        cells = [f"{_fmt(r['aspects'][a]['adv'], 2)}{_ci_text(r['aspects'][a]['adv_ci'], 2)}" for a in ASPECTS]
        lines.append(f"| {pair.replace('_vs_', ' vs ')} | " + " | ".join(cells) + " |")
    if "not an LLM" in backend_name:
        lines += ["", "The rubric judge is an offline stand-in, not ChatGPT: its relevance verdict reads the "
                      "hidden oracle recruiter, so compare trends with the paper, not numbers."]
    return "\n".join(lines) + "\n"


def _fmt_pm(v, std=None, rel=None) -> str:
    """``0.8123 ± 0.0040 (+1.2%)``."""
    s = f"{v:.4f}"
    if std is not None:
        s += f" ± {std:.4f}"
    if rel is not None:
        s += f" ({rel:+.1f}%)"
    return s


def rec_table_rows(ours: dict, paper_table: dict | None) -> list[str]:
    """Markdown rows of one Table III/IV analogue beside the paper's numbers."""

    lines = ["| Predictor | Model | AUC (↑) | GAUC (↑) | within-occupation AUC (↑) | LogLoss (↓) | Paper AUC | "
             "Paper LogLoss |", "|---|---|---|---|---|---|---|---|"]
    for pred in PREDICTORS:
        for name in MODEL_ORDER:
            if name not in ours.get(pred, {}):
                continue
            r = ours[pred][name]
            base = name == "Base"
            cells = [_fmt_pm(r["auc"], r["auc_std"], None if base else r["auc_rel"]),
                     "—" if r.get("gauc") is None else _fmt_pm(r["gauc"], r.get("gauc_std")),
                     "—" if r.get("auc_within_occupation") is None else _fmt_pm(r["auc_within_occupation"],
                                                                               r.get("auc_within_occupation_std")),
                     _fmt_pm(r["logloss"], r["logloss_std"], None if base else r["logloss_rel"])]
            pp = (paper_table or {}).get(pred, {})
            if name in pp:
                pb = pp["Base"]
                cells += [_fmt_pm(pp[name]["auc"], rel=None if base else relative_change(pp[name]["auc"], pb["auc"])),
                          _fmt_pm(pp[name]["logloss"], rel=None if base else
                               relative_change(pp[name]["logloss"], pb["logloss"], lower_is_better=True))]
            else:
                cells += ["—", "—"]
            lines.append(f"| {pred} | {name} | " + " | ".join(cells) + " |")
    return lines


def diff_rows(ours: dict) -> list[str]:
    """Markdown rows of the paired differences (``ours[pred]["diff"]``) with their 95% intervals."""

    rows = [(pred, pair, d) for pred in PREDICTORS for pair, d in ours.get(pred, {}).get("diff", {}).items()]
    if not rows:
        return []
    lines = ["| Predictor | Model pair | ΔAUC [95% CI] | ΔGAUC [95% CI] | ΔLogLoss [95% CI] |", "|---|---|---|---|---|"]
    for pred, pair, d in rows:
        a, b = pair_models(pair)
        cells = [diff_text(d.get(m), 4, verdict=False) for m in ("auc", "gauc", "logloss")]
        lines.append(f"| {pred} | {a} − {b} | " + " | ".join(cells) + " |")
    return lines


def render_recommend_tables(metrics: dict) -> str:
    """``recommend/tables.md``: Tables III-IV analogues beside the paper's numbers, Fig. 5 data, retrieval.
    Long because it is one page of markdown, section after section; each section is a few lines."""

    rows = metrics["n_rows"]
    lines = ["# Generation-enhanced job recommendation (paper Sec. V, Tables III-IV, Fig. 5)", "",
             f"Rows: {rows['rec_train']} train, {rows['rec_valid']} valid, {rows['rec_test']} test "
             f"({rows['rec_test_cold_start']} cold-start); {rows['seekers']} seekers, {rows['jobs']} jobs. "
             f"Seeds {metrics['seeds']} (mean ± std); j' pooled from n = {metrics['n_generated']} generated JD(s). "
             "Relative change vs Base in %, improvement positive (AUC: (new−base)/base; LogLoss: (base−new)/base).",
             "", "Our numbers come from a synthetic world with small models: compare directions and gaps "
             "between rows, not magnitudes with the paper. `base-gen` (j' from the untuned generator) is an "
             "ablation the paper does not report; `Retrieved` (j' = the real JD matched to the nearest sft CV, "
             "no generation) is the non-generative control. Within-occupation AUC: the AUC over the test "
             "rows whose job is in the seeker's own occupation (an evaluation-only flag of the data).", ""]
    if metrics.get("notes"):
        lines += ["Notes:"] + [f"- {n}" for n in metrics["notes"]] + [""]
    chosen = metrics.get("selection", {}).get("dot_jp_skip", {})
    if chosen:
        lines += ["Dot gate `dot_jp_skip` chosen on rec_valid only (mean validation AUC over the seeds): " + "; ".join(
            f"{m} {r['chosen']} (grid {r['grid']}, valid AUC {', '.join(f'{v:.4f}' for v in r['valid_auc'])})"
            for m, r in chosen.items()) + ".", ""]
    titles = {"recommend": "Table III analogue: all test rows",
              "recommend_cold_start": "Table IV analogue: cold-start seekers (not in rec_train)",
              "recommend_warm": "Warm seekers (in rec_train), beyond the paper",
              "recommend_within_occupation": "Within occupation: test rows whose job is in the seeker's own "
                                             "occupation, beyond the paper"}
    papers = {"recommend": paper.TABLE_III, "recommend_cold_start": paper.TABLE_IV}
    boot = metrics.get("recommend_bootstrap", {})
    for key in ("recommend", "recommend_cold_start", "recommend_warm", "recommend_within_occupation"):
        if key in metrics:
            lines += [f"## {titles[key]}", ""] + rec_table_rows(metrics[key], papers.get(key)) + [""]
            diff = diff_rows(metrics[key])
            if diff:
                subset = next(s for s, k in SUBSETS if k == key)
                facts = boot.get("subsets", {}).get(subset, {})
                lines += [f"Paired differences on the seeds' ensemble (test probabilities averaged over seeds), "
                          f"95% bootstrap over {facts.get('n_groups', '?')} seekers ({facts.get('n_resamples', '?')} "
                          f"resamples, {facts.get('n_skipped', 0)} skipped); ΔLogLoss < 0 favours the first model.",
                          ""] + diff + [""]
    lines += ["The Paper columns' relative changes are recomputed from the paper's numbers. They match the "
              "printed ones to ±0.1 points, except the Dot GIRL-SFT LogLoss of Table III: printed +20.3%, "
              "while 0.4964 → 0.3688 gives +25.7%.", ""]
    curves = [(f"{m} {p}", metrics[key].get(m, {})) for key, p in (("generation_number", "MLP"),
                                                                   ("generation_number_dot", "Dot"))
              for m in ("GIRL", "GIRL-SFT") if m in metrics.get(key, {})]
    if curves:
        ns = sorted({int(n) for _, c in curves for n in c})
        lines += ["## Fig. 5 analogue: test AUC against the number n of pooled generated JDs", "",
                  f"Enhanced predictors (Eq. 13 / 14-15), j' = mean of the first n generated JDs; seeds "
                  f"{metrics.get('curve_seeds')}.", "",
                  "| n | " + " | ".join(name for name, _ in curves) + " |",
                  "|---|" + "---|" * len(curves)]
        for n in ns:
            lines.append(f"| {n} | " + " | ".join(_fmt_pm(c[str(n)]) if str(n) in c else "—" for _, c in curves) + " |")
        lines.append("")
    if metrics.get("zero_shot_auc"):
        subs = [s for s, _ in SUBSETS if any(s in r for r in metrics["zero_shot_auc"].values())]
        lines += ["## Reference without training: test AUC of the frozen encoder's cosine", "",
                  "Beyond the paper. The Dot predictor starts from cos(c, j) (residual towers) and learns "
                  "corrections; j' is pooled as in the tables.", "",
                  "| Score | " + " | ".join(subs) + " |", "|---|" + "---|" * len(subs)]
        for method, r in metrics["zero_shot_auc"].items():
            lines.append(f"| {method} | " + " | ".join(_fmt_pm(r[s]) if s in r else "—" for s in subs) + " |")
        lines.append("")
    ret = metrics.get("retrieval", {})
    if ret.get("methods"):
        ks = metrics["retrieval"]["k"]
        head = [f"{m}@{k}" for k in ks for m in ("Recall", "NDCG")]
        lines += ["## Retrieval beyond the paper: rank the job pool by cos(query, j)", "",
                  f"Pool: {ret['pool_size']} jobs; queries: test seekers with a positive test job; relevant: "
                  f"their positive test jobs. Random ranking gives Recall@k = k / pool size.", "",
                  "| Query | Subset | Queries | " + " | ".join(head) + " |", "|---|---|---|" + "---|" * len(head)]
        for method, by_subset in ret["methods"].items():
            for subset, r in by_subset.items():
                cells = [f"{r[f'{m.lower()}@{k}']:.4f}" for k in ks for m in ("Recall", "NDCG")]
                lines.append(f"| {method} | {subset} | {r['n_queries']} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
