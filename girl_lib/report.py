"""``results.json`` and ``report.md``: every number computed from the run dir, each beside the paper's.

Nothing here is typed in: a missing stage gives a missing section (and the report says so), a missed
target is flagged as missed, with the reason the course gives for it.
"""

from __future__ import annotations

from pathlib import Path

from .runio import atomic_write_json, atomic_write_text, read_json, read_jsonl

PAPER_TABLE_II_GIRL_VS_SFT = {"win": 0.45, "tie": 0.25, "lose": 0.26, "adv": 0.19}
PAIR_KEYS = ("GIRL_vs_GIRL-SFT", "GIRL-SFT_vs_base", "GIRL_vs_base")
MIN_SEEKERS = 20
"""A seeker-level bootstrap over fewer test seekers than this resamples too few clusters to be trusted: the
report then calls the comparison not shown, whatever its interval says."""
REC_TARGET_PAIRS = (("GIRL", "GIRL-SFT"), ("GIRL", "Base"), ("GIRL-SFT", "Base"))
"""The orderings of Tables III-IV the course checks, each as a paired AUC difference ``a - b > 0``."""
PPO_DICT_KEYS = ("reward_diff", "oracle_fit_diff", "rm_policy_agreement", "rm_sft_agreement")
"""The structured entries of ``ppo/metrics.json`` that ``results.json["ppo"]`` carries (the rest: scalars)."""


def _load(run_dir: Path, stage: str, name: str = "metrics.json"):
    path = run_dir / stage / name
    return read_json(path) if path.exists() else None


def collect_results(cfg, run_dir) -> dict:
    """Gather the stage metrics into the ``results.json`` layout."""
    run_dir = Path(run_dir)
    res: dict = {"profile": cfg.name}
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
    judge = _load(run_dir, "judge")
    if judge:
        res["judge"] = {pair: {k: rep.get(k) for k in ("win", "tie", "lose", "adv", "adv_ci", "backend",
                                                       "flip_rate", "parse_errors", "n")}
                        for pair, rep in judge.items() if isinstance(rep, dict) and "win" in rep}
    rec = _load(run_dir, "recommend")
    if rec:
        for key in ("recommend", "recommend_cold_start", "recommend_warm", "generation_number",
                    "generation_number_dot", "retrieval", "recommend_n_seekers", "recommend_bootstrap"):
            if key in rec:
                res[key] = rec[key]
        if "selection" in rec:
            res["recommend_selection"] = rec["selection"]
    timing_path = run_dir / "timing.json"
    if timing_path.exists():
        res["timing_s"] = read_json(timing_path)
    res["targets"] = check_targets(res)
    return res


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
    target("reward model same-occupation agreement with the oracle >= 0.85",
           rm.get("same_occupation_oracle_agreement"), (rm.get("same_occupation_oracle_agreement") or 0) >= 0.85)
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
    judge = res.get("judge", {})
    if "GIRL_vs_GIRL-SFT" in judge:
        comparison("judge advantage GIRL vs GIRL-SFT > 0", judge["GIRL_vs_GIRL-SFT"]["adv"],
                   judge["GIRL_vs_GIRL-SFT"].get("adv_ci"))
    for table in ("recommend", "recommend_cold_start"):
        for pred, rows in res.get(table, {}).items():
            for a, b in REC_TARGET_PAIRS:
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


def _ci_text(ci) -> str:
    return f" [{_fmt(ci[0], 3)}, {_fmt(ci[1], 3)}]" if ci and ci[0] is not None else ""


def _verdict(t: dict) -> str:
    """``yes`` / ``**no**`` for thresholds; for comparisons ``shown`` only when the 95% interval excludes
    0, else ``not shown`` (with the reason)."""
    if "ci95" in t or t["met"] is None and isinstance(t["value"], list):
        if t["met"] is None:
            return f"not shown ({t.get('reason', 'no interval')})"
        return "shown" if t["met"] else "**not shown** (interval includes 0)" if t["ci95"][1] >= 0 else \
            "**no** (interval below 0)"
    return {True: "yes", False: "**no**", None: "—"}[t["met"]]


def render_markdown(res: dict, run_dir: Path) -> str:
    from .data import PAPER_TABLE_I

    lines = [f"# GIRL run report — profile `{res['profile']}`", "",
             "Every number below is computed by this run; the paper's numbers stand beside them for "
             "comparison (its data is a private Chinese recruitment platform with 7B models; ours is a "
             "synthetic world with small models, so absolute values differ).", ""]
    if "data" in res:
        lines += ["## Table I analogue — data", "",
                  "| split | rows (this run) | seekers | label rate | paper rows |", "|---|---:|---:|---:|---:|"]
        splits = res["data"].get("splits", {})
        for split, paper in PAPER_TABLE_I.items():
            row = splits.get(split, {})
            lines.append(f"| {split} | {_fmt(row.get('rows'))} | {_fmt(row.get('seekers'))} | "
                         f"{_fmt(row.get('label_rate'), 2)} | {paper:,} |")
        lines.append("")
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
    if "judge" in res:
        lines += ["## Table II analogue — pairwise judge", "",
                  "| pair | win | tie | lose | adv. | adv. 95% CI | flip rate | judge |", "|---|---:|---:|---:|---:|---|---:|---|"]
        for pair, r in res["judge"].items():
            ci = r.get("adv_ci") or [None, None]
            lines.append(f"| {pair.replace('_', ' ')} | {_fmt(r['win'], 2)} | {_fmt(r['tie'], 2)} | "
                         f"{_fmt(r['lose'], 2)} | {_fmt(r['adv'], 2)} | [{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}] | "
                         f"{_fmt(r.get('flip_rate'), 2)} | {r.get('backend')} |")
        pt = PAPER_TABLE_II_GIRL_VS_SFT
        lines += [f"| paper: GIRL vs GIRL-SFT (ChatGPT) | {pt['win']} | {pt['tie']} | {pt['lose']} | {pt['adv']} | | | |", ""]
    for key, title in (("recommend", "Table III analogue — recommendation"),
                       ("recommend_cold_start", "Table IV analogue — cold start")):
        if key not in res:
            continue
        from .recommend import PAPER_TABLE_III, PAPER_TABLE_IV

        paper = PAPER_TABLE_III if key == "recommend" else PAPER_TABLE_IV
        lines += [f"## {title}", "", "| predictor | model | AUC ↑ | GAUC ↑ | LogLoss ↓ | paper AUC | paper LogLoss |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for pred, rows in res[key].items():
            for model, r in rows.items():
                if model == "diff":
                    continue
                pp = paper.get(pred, {}).get(model, {})
                rel = f" ({r['auc_rel']:+.1f}%)" if r.get("auc_rel") is not None and model != "Base" else ""
                lrel = f" ({r['logloss_rel']:+.1f}%)" if r.get("logloss_rel") is not None and model != "Base" else ""
                lines.append(f"| {pred} | {model} | {_fmt(r['auc'])}{rel} | {_fmt(r.get('gauc'))} | "
                             f"{_fmt(r['logloss'])}{lrel} | {_fmt(pp.get('auc'))} | {_fmt(pp.get('logloss'))} |")
        lines.append("")
        lines += _diff_section(res, key)
    plots = sorted((run_dir / "plots").glob("*.png")) if (run_dir / "plots").exists() else []
    if plots:
        lines += ["## Plots", ""] + [f"![{p.stem}](plots/{p.name})" for p in plots] + [""]
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
    from .recommend import SUBSETS, diff_rows

    table = diff_rows(res[key])
    if not table:
        return []
    subset = next(s for s, k in SUBSETS if k == key)
    facts = res.get("recommend_bootstrap", {}).get("subsets", {}).get(subset, {})
    return [f"Paired differences (first model − second), test probabilities averaged over the seeds; 95% bootstrap "
            f"interval resampling the {facts.get('n_groups', '?')} test seekers ({facts.get('n_resamples', '?')} "
            f"resamples, {facts.get('n_skipped', 0)} skipped). ΔLogLoss < 0 favours the first model.", ""] + table + [""]


def write_plots(res: dict, run_dir: Path) -> None:
    from . import plots

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
    if res.get("recommend"):
        plots.save(plots.auc_bars(res["recommend"]), out / "auc_bars.png")
    if res.get("recommend_cold_start"):
        plots.save(plots.auc_bars(res["recommend_cold_start"], title="AUC, cold-start seekers"),
                   out / "auc_bars_cold_start.png")
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
                f"score {_diff_text(p['reward_diff'])}")
        if p.get("oracle_fit_diff"):
            line += f", hidden recruiter's fit {_diff_text(p['oracle_fit_diff'])}"
        line += (f"; JDs that end before the token cap: GIRL-SFT {_fmt(p.get('finished_rate_sft'), 2)}, "
                 f"GIRL {_fmt(p.get('finished_rate_girl'), 2)}.")
        if pol.get("value") is not None:
            line += (f" On {pol['n']} pairs of the policy's own JDs for one CV the reward model agrees with the "
                     f"recruiter {_fmt(pol['value'], 2)} of the time (0.5 = chance).")
        out.append(line)
    j = res.get("judge", {}).get("GIRL_vs_GIRL-SFT")
    if j:
        ci = j.get("adv_ci") or [None, None]
        shown_ = ci[0] is not None and (ci[0] > 0 or ci[1] < 0)
        out.append(f"- *Judge* ({j.get('backend')}): GIRL vs GIRL-SFT advantage {_fmt(j['adv'], 2)}, 95% CI "
                   f"[{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}] over {j.get('n')} CVs: {'shown' if shown_ else 'not shown'}.")
    n_seekers = res.get("recommend_n_seekers", {}).get("all")
    for pred, rows in res.get("recommend", {}).items():
        if all(m in rows for m in ("Base", "GIRL-SFT", "GIRL")):
            line = (f"- *Recommendation* ({pred}, test AUC Base / GIRL-SFT / GIRL: "
                    f"{' / '.join(_fmt(rows[m]['auc'], 4) for m in ('Base', 'GIRL-SFT', 'GIRL'))})")
            diff = rows.get("diff", {})
            if "GIRL-Base" in diff and "GIRL-GIRL-SFT" in diff:
                over = f" over {n_seekers} test seekers" if n_seekers else ""
                few = n_seekers is not None and n_seekers < MIN_SEEKERS
                line += (f": paired AUC differences{over}, GIRL − Base {_diff_text(diff['GIRL-Base']['auc'], few)}, "
                         f"GIRL − GIRL-SFT {_diff_text(diff['GIRL-GIRL-SFT']['auc'], few)}"
                         + (f"; with fewer than {MIN_SEEKERS} test seekers no interval is trusted." if few else "."))
            else:
                line += ": no interval in this run, so no ordering is shown."
            out.append(line)
    return "\n".join(out)


def _diff_text(d: dict, too_few: bool = False) -> str:
    lo, hi = d["ci95"]
    verdict = "not shown" if too_few or not (lo > 0 or hi < 0) else "shown"
    return f"{d['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}] ({verdict})"


def render_seed_table(runs: list[tuple[str, dict, dict | None]]) -> str:
    """One row per PPO run on the same SFT and reward models (``(label, ppo/metrics.json, judge report of
    GIRL vs GIRL-SFT or None)``): the paired differences with their 95% intervals, shown or not."""
    lines = ["| PPO run | RM score GIRL − GIRL-SFT | oracle fit GIRL − GIRL-SFT | judge adv. GIRL vs GIRL-SFT |",
             "|---|---|---|---|"]
    for label, m, j in runs:
        judge = "—"
        if j and j.get("adv_ci"):
            lo, hi = j["adv_ci"]
            judge = f"{j['adv']:+.3f} [{lo:+.3f}, {hi:+.3f}] ({'shown' if lo > 0 or hi < 0 else 'not shown'})"
        lines.append(f"| {label} | {_diff_text(m['reward_diff'])} | {_diff_text(m['oracle_fit_diff'])} | {judge} |")
    return "\n".join(lines)

