"""What *this* run shows, as markdown for the notebooks: every number formatted from the run's results.

Each notebook renders its reading from the ``results.json`` layout (:func:`load_results`)::

    display(Markdown(readings.ppo_reading(results, C.profile)))

so no result is typed into notebook prose and none goes stale with the next run. A comparison is worded by
its 95% interval, through the report's own verdict (:func:`girl_lib.report.direction`,
:func:`girl_lib.report.diff_text`): **shown**, with its direction, when the interval excludes 0, else
**not shown**, with the interval. A result the run lacks (a ``tiny`` run, an older run) is said to be
missing, never an error. Why a tiny model shows nothing, or what a metric means, stays in the notebook's
markdown: only the run-dependent claims are here.

Numbers stay apart from prose: the small helpers (:func:`target`, :func:`judge_diff`, :func:`train_minutes`
...) return numbers; the ``*_reading`` functions and :func:`about_this_run` render them.
"""

from __future__ import annotations

from pathlib import Path

from . import course, paper, report
from .names import JUDGE_PAIRS, MODEL_NAMES, REC_DIFF_PAIRS
from .report import MIN_SEEKERS, diff_text, direction, predictors
from .runio import is_done, read_json

MAIN_JOB = "bash scripts/main.sh"
"""The ``cpu`` main job (``scripts/main.sh``: ``girl run --profile cpu``), which writes ``runs/cpu``."""
UPDATE_REFERENCE = ".venv/bin/python scripts/update_reference.py runs/cpu --execute"
"""Copies a finished ``runs/cpu`` into ``reference/cpu/`` and re-executes the notebooks against it."""
REC_TABLES = (("recommend", "all", "All test seekers (Table III analogue)"),
              ("recommend_cold_start", "cold_start", "Cold-start seekers (Table IV analogue)"),
              ("recommend_within_occupation", "within_occupation", "Within the seeker's occupation"))
"""The recommendation tables a reading covers: results key, test subset, heading."""


# =========================================================================== numbers
def load_results(session) -> dict:
    """The run's results in the ``results.json`` layout: the shipped ``results.json`` of a reference run,
    else gathered now from ``RESULTS_DIR``'s stage files (:func:`girl_lib.report.collect_results`, which
    writes ``results.json`` at the end of ``girl run``), so a stage just trained here is read as it is."""
    path = Path(session.results_dir) / "results.json"
    if session.mode == "reference" and path.exists():
        return read_json(path)
    return report.collect_results(session.cfg, session.results_dir)


def target(results: dict, name: str) -> dict | None:
    """The row of ``results["targets"]`` (computed by :func:`girl_lib.report.check_targets` when absent)
    whose name starts with ``name``, or None."""
    rows = results["targets"] if "targets" in results else report.check_targets(results)
    return next((t for t in rows if t["target"].startswith(name)), None)


def judge_diff(row: dict | None, aspect: str | None = None) -> dict | None:
    """A judge pair's advantage (overall, or one aspect's) as a paired difference ``{"mean", "ci95", "n"}``,
    ``n`` being the CVs its interval resamples."""
    if not row:
        return None
    src = (row.get("aspects") or {}).get(aspect) if aspect else row
    if not src or src.get("adv") is None:
        return None
    return {"mean": src["adv"], "ci95": src.get("adv_ci"), "n": row.get("n_cvs") or row.get("n")}


def rec_seekers(results: dict, subset: str) -> int | None:
    """Test seekers behind a recommendation subset's intervals (the bootstrap's groups where recorded)."""
    n = (results.get("recommend_n_seekers") or {}).get(subset)
    if n is None:
        n = ((results.get("recommend_bootstrap") or {}).get("subsets", {}).get(subset) or {}).get("n_groups")
    return n


def rec_diff(results: dict, table: str, pred: str, pair: str, metric: str = "auc") -> dict | None:
    """One paired difference of a recommendation table, e.g. ``("recommend", "MLP", "GIRL-Base")``."""
    return ((predictors(results.get(table)).get(pred) or {}).get("diff", {}).get(pair) or {}).get(metric)


def train_minutes(stage: str, profile: str, done=None) -> float:
    """Minutes ``TRAIN = True`` costs on ``profile`` for ``stage`` and what it needs (``done(stage)`` says
    what is already built): measured in the reference run where it is of this profile, else the course's
    estimate (``colab``: a T4's). :func:`girl_lib.course.minutes_to_train` with a default of nothing built."""
    ref = course.reference_dir(profile)
    return course.minutes_to_train(stage, profile, None, ref if ref.exists() else None,
                                   done=done or (lambda s: False))


# =========================================================================== rendering
def _n(v, nd: int = 3) -> str:
    return report._fmt(v, nd)


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.0f}%"


def _minutes(m: float) -> str:
    return "seconds" if m < 0.5 else f"about {m:.0f} min"


def comparison(label: str, d: dict | None, up: str, down: str, nd: int = 3, too_few: bool = False,
               over: str = "") -> str:
    """One comparison, worded by its 95% interval: ``label: **shown**, <up|down>: +0.61 [+0.45, +0.78]`` or
    ``label: **not shown** (why): ...``; the run lacking it, or its interval, is said so."""
    if not d or d.get("mean") is None:
        return f"{label}: this run has no such result"
    over = f" {over}" if over else ""
    ci = d.get("ci95")
    if not ci or ci[0] is None:
        return f"{label}: {diff_text(d, nd)}{over}, with no interval in this run, so nothing is shown"
    numbers = diff_text(d, nd, verdict=False)
    way = direction(d, too_few)
    if way:
        return f"{label}: **shown**, {up if way > 0 else down}: {numbers}{over}"
    why = "its 95% interval covers 0" if not report._shown(ci) else "too few units behind its interval to trust it"
    return f"{label}: **not shown** ({why}): {numbers}{over}"


def goal(results: dict, name: str) -> str:
    """``target `<its name>`: met`` (or ``**missed**``) for the report's target whose name starts with ``name``
    (the threshold is the report's, stated in the target's name, never restated here)."""
    row = target(results, name)
    if row is None:
        return f"no target `{name}...` in this run"
    verdict = "not measured in this run" if row.get("met") is None else "met" if row["met"] else "**missed**"
    return f"target `{row['target']}`: {verdict}"


def _head(results: dict, profile: str) -> list[str]:
    lines = [f"**What this run shows** (`{results.get('profile', profile)}` profile; every number below is "
             "read from the run's results)."]
    if profile == "tiny":
        lines.append("On `tiny` the models are random toys: these numbers test the code, not GIRL.")
    return [" ".join(lines), ""]


def _missing(results: dict, profile: str, what: str) -> str:
    return "\n".join(_head(results, profile) + [f"This run has no {what} results yet (the stage has not run, or "
                                                  "the run predates them): nothing to read."])


def data_reading(results: dict, profile: str) -> str:
    """Notebook 00: the splits this run built beside the paper's Table I, the cold-start seekers of
    ``rec_test`` and where the two recruiters read the real JDs differently."""
    d = results.get("data")
    if not d or not d.get("splits"):
        return _missing(results, profile, "data")
    splits = d["splits"]
    out = _head(results, profile)
    sizes = ", ".join(f"{k} {splits[k]['rows']:,}" for k in paper.TABLE_I if splits.get(k, {}).get("rows") is not None)
    out.append(f"- Rows per split (source `{d.get('source')}`, seed {d.get('seed')}, scale {d.get('scale')}): {sizes}; "
               f"the paper's Table I has {sum(paper.TABLE_I.values()):,} rows in all.")
    test = splits.get("rec_test") or {}
    if test.get("seekers"):
        cold = test.get("cold_start_seekers")
        cold_n = round(cold * test["seekers"]) if cold is not None else None
        out.append(f"- `rec_test`: {test['seekers']} seekers, {cold_n if cold_n is not None else 'no count of'} of "
                   f"them cold-start ({_pct(cold)}), match rate {_n(test.get('label_rate'), 2)}.")
    read = d.get("recruiter_readings") or {}
    if read:
        differ, pairs = sum(r["reading_differs"] for r in read.values()), sum(r["pairs"] for r in read.values())
        out.append(f"- The posting and lenient recruiters read {differ:,} of {pairs:,} real (CV, JD) pairs differently "
                   f"({_pct(differ / pairs if pairs else None)}); they differ only where a JD leaves a fact out.")
    else:
        out.append("- This run's data records no recruiter readings.")
    return "\n".join(out)


def sft_reading(results: dict, profile: str) -> str:
    """Notebook 01: held-out JD perplexity and format compliance before and after SFT, against the target."""
    s = results.get("sft")
    if not s:
        return _missing(results, profile, "SFT")
    out = _head(results, profile)
    before, after = s.get("jd_perplexity_before"), s.get("jd_perplexity_after")
    if before is not None and after is not None:
        ratio = (f"{_n(before / after, 1)} times lower" if after < before
                 else f"{_n(after / before, 2)} times the perplexity before")
        moved = "fell" if after < before else "did not fall"
        out.append(f"- Held-out JD perplexity {moved}: {_n(before, 2)} before SFT, {_n(after, 2)} after ({ratio}).")
    else:
        out.append("- This run has no held-out perplexity.")
    out.append(f"- Format compliance (both JD sections): {_n(s.get('format_compliance_before'), 2)} before, "
               f"{_n(s.get('format_compliance_after'), 2)} after; {goal(results, 'SFT format compliance')}.")
    if s.get("train_seconds") is not None:
        out.append(f"- Training took {s['train_seconds'] / 60:.1f} min.")
    out.append("- These are single measurements on held-out pairs, without an interval: no paired comparison here "
               "is shown or not shown.")
    return "\n".join(out)


def reward_reading(results: dict, profile: str) -> str:
    """Notebook 02: held-out pairwise accuracy against the noiseless recruiter's ceiling, by kind of rejected
    JD, and same-occupation agreement, each against its target."""
    r = results.get("reward_model")
    if not r:
        return _missing(results, profile, "reward-model")
    out = _head(results, profile)
    acc, ceiling = r.get("pairwise_accuracy"), r.get("oracle_pairwise_accuracy")
    n = sum((r.get("n_by_kind") or {}).values()) or None
    on = f" on {n} held-out pairs" if n else ""
    out.append(f"- Pairwise accuracy{on}: {_n(r.get('pairwise_accuracy_before'))} before training, {_n(acc)} after "
               f"(AUC {_n(r.get('auc'))}); the noiseless recruiter gets {_n(ceiling)} on the same pairs; "
               f"{goal(results, 'reward model pairwise accuracy')}.")
    by_kind = r.get("accuracy_by_kind") or {}
    if by_kind:
        kinds = ", ".join(f"`{k}` {_n(v)} (n = {(r.get('n_by_kind') or {}).get(k, '?')})" for k, v in by_kind.items())
        out.append(f"- By where the rejected JD came from: {kinds}; weakest: `{min(by_kind, key=by_kind.get)}`.")
    if r.get("same_occupation_oracle_agreement") is not None:
        out.append(f"- On same-occupation pairs it orders {_n(r['same_occupation_oracle_agreement'])} of "
                   f"{r.get('same_occupation_n')} as the noiseless recruiter does; "
                   f"{goal(results, 'reward model same-occupation')}.")
    else:
        out.append("- This run has no same-occupation agreement.")
    out.append("- These are proportions on one held-out set, without a paired interval.")
    return "\n".join(out)


def ppo_reading(results: dict, profile: str) -> str:
    """Notebook 03: GIRL − GIRL-SFT on the held-out CVs (reward model and hidden recruiter, each shown or not),
    the reward-hacking flag, where the fit difference comes from, and whether the reward model agrees with
    the recruiter on the policy's own JDs."""
    p = results.get("ppo")
    if not p:
        return _missing(results, profile, "PPO")
    out = _head(results, profile)
    rd = p.get("reward_diff") or {}
    over = f"over {rd['n']} held-out CVs" if rd.get("n") else ""
    out.append(f"- PPO ran {p.get('iterations')} iterations ({p.get('jds_trained_on')} sampled JDs, baseline "
               f"`{p.get('baseline')}`, λ {p.get('kl_coef')}); GIRL's KL to GIRL-SFT: {_n(p.get('kl_girl'), 2)}.")
    out.append("- " + comparison("Reward-model score, GIRL − GIRL-SFT", p.get("reward_diff"), "GIRL scores higher",
                                 "GIRL scores lower", over=over) + ".")
    out.append("- " + comparison("Hidden recruiter's fit, GIRL − GIRL-SFT", p.get("oracle_fit_diff"),
                                 "the recruiter likes GIRL's JDs better", "the recruiter likes GIRL's JDs less",
                                 over=over) + ".")
    if "reward_hacking_warning" in p:
        out.append("- Reward-hacking warning (score shown up while the fit is shown down): "
                   + ("**raised**." if p["reward_hacking_warning"] else "not raised."))
    terms = p.get("oracle_fit_terms") or {}
    if terms:
        ups = [f"{g} {diff_text(d, verdict=False)}" for g, d in terms.items() if direction(d) > 0]
        downs = [f"{g} {diff_text(d, verdict=False)}" for g, d in terms.items() if direction(d) < 0]
        flat = [g for g, d in terms.items() if not direction(d)]
        recruiter = results.get("recruiter", "posting")
        out.append(f"- Where the fit difference comes from (term groups, recruiter `{recruiter}`): shown to raise "
                   f"it: {'; '.join(ups) or 'none'}; shown to lower it: {'; '.join(downs) or 'none'}; not shown: "
                   f"{', '.join(flat) or 'none'}.")
    else:
        out.append("- This run has no split of the fit difference by term group.")
    pol = p.get("rm_policy_agreement") or {}
    if pol.get("value") is not None:
        out.append(f"- On {pol['n']} pairs of the policy's own JDs for one CV, the reward model agreed with the "
                   f"recruiter {_n(pol['value'], 2)} of the time (0.5 = chance); "
                   f"{goal(results, 'reward model agrees with the oracle on the policy')}.")
    if p.get("finished_rate_girl") is not None:
        out.append(f"- JDs ending before the token cap: GIRL-SFT {_n(p.get('finished_rate_sft'), 2)}, GIRL "
                   f"{_n(p['finished_rate_girl'], 2)}.")
    return "\n".join(out)


def generate_reading(results: dict, profile: str) -> str:
    """Notebook 04: how realistic the judge CVs' JDs are (requirements named, level tracking) beside real
    postings, and GIRL − GIRL-SFT on the same CVs, shown or not."""
    g = results.get("generate") or {}
    real = g.get("realism") or {}
    if not real:
        return _missing(results, profile, "realism")
    out = _head(results, profile)
    names = {**MODEL_NAMES, "real": "real postings"}
    for key in ("base", "sft", "girl", "real"):
        r = real.get(key)
        if not r or not r.get("n_jds"):
            continue
        ci = r.get("ci95") or {}
        share = _n(r.get("share_required_3_5"), 2) + report._ci_text(ci.get("share_required_3_5"), 2)
        corr = _n(r.get("level_corr"), 2) + report._ci_text(ci.get("level_corr"), 2)
        out.append(f"- {names[key]} ({r['n_jds']} JDs): {_n(r.get('n_required_mean'), 2)} required skills per JD, "
                   f"share naming 3–5 {share}, level correlation with the seeker {corr}.")
    diff = g.get("realism_diff_girl_sft") or {}
    over = f"over {diff['n_cvs']} CVs" if diff.get("n_cvs") else ""
    for key, label in (("share_required_3_5", "Share naming 3–5 requirements"),
                       ("n_required_mean", "Required skills per JD"), ("level_corr", "Level correlation")):
        out.append("- " + comparison(f"{label}, GIRL − GIRL-SFT", diff.get(key), "GIRL higher", "GIRL lower", 2,
                                     over=over) + ".")
    for name in ("realism: GIRL's share", "realism: GIRL-SFT and GIRL each", "realism: corr(GIRL's JD level"):
        text = goal(results, name)
        out.append(f"- {text[0].upper()}{text[1:]}.")
    return "\n".join(out)


def judge_reading(results: dict, profile: str) -> str:
    """Notebook 05: each judged pair's advantage, shown or not, relevance alone for GIRL vs GIRL-SFT, and
    where the paper's advantage lies against this run's interval."""
    j = results.get("judge")
    if not j:
        return _missing(results, profile, "judge")
    out = _head(results, profile)
    backend = next((r.get("backend") for r in j.values() if r.get("backend")), None)
    if backend:
        out.append(f"- Judge: {backend}.")
    labels = {"girl": "GIRL", "sft": "GIRL-SFT", "base": "base-gen"}
    for pair, x, y in JUDGE_PAIRS:
        r = j.get(pair)
        if not r:
            out.append(f"- {labels[x]} vs {labels[y]}: this run has no such result.")
            continue
        out.append("- " + comparison(f"{labels[x]} vs {labels[y]}, advantage (win − lose)", judge_diff(r),
                                     f"{labels[x]} preferred", f"{labels[y]} preferred", 2,
                                     over=f"over {r.get('n')} pairs for {r.get('n_cvs') or r.get('n')} CVs") + ".")
    main = j.get("GIRL_vs_GIRL-SFT")
    if main:
        out.append("- " + comparison("GIRL vs GIRL-SFT on relevance alone (what PPO's reward targets)",
                                     judge_diff(main, "relevance"), "GIRL preferred", "GIRL-SFT preferred", 2) + ".")
        ci, theirs = main.get("adv_ci"), paper.TABLE_II["GIRL_vs_GIRL-SFT"]["adv"]
        if ci and ci[0] is not None:
            where = "inside" if ci[0] <= theirs <= ci[1] else "above" if theirs > ci[1] else "below"
            out.append(f"- The paper's GIRL vs GIRL-SFT advantage ({theirs}, ChatGPT as judge) lies {where} this "
                       f"run's interval; {goal(results, 'judge GIRL vs GIRL-SFT interval')}.")
    return "\n".join(out)


def recommend_reading(results: dict, profile: str) -> str:
    """Notebook 06: for each table and predictor, the paired AUC differences (GIRL − Base, GIRL − GIRL-SFT,
    GIRL − Retrieved, GIRL-SFT − Base), shown or not, and whether the gain over Base is larger for cold start."""
    if not predictors(results.get("recommend")):
        return _missing(results, profile, "recommendation")
    out = _head(results, profile)
    for table, subset, heading in REC_TABLES:
        rows = predictors(results.get(table))
        if not rows:
            out.append(f"- *{heading}*: this run has no such table.")
            continue
        n = rec_seekers(results, subset)
        few = n is not None and n < MIN_SEEKERS
        out.append(f"- *{heading}*" + (f", {n} test seekers" if n is not None else "")
                   + (f" (fewer than {MIN_SEEKERS}: no interval is trusted)" if few else "") + ":")
        for pred in rows:
            parts = [comparison(f"{a} − {b}", rec_diff(results, table, pred, f"{a}-{b}"), f"{a} higher",
                                f"{b} higher", too_few=few) for a, b in REC_DIFF_PAIRS
                     if a in rows[pred] and b in rows[pred]]
            out.append(f"    - {pred}, test AUC: " + "; ".join(parts) + ".")
    for pred in predictors(results.get("recommend")):
        d_all = rec_diff(results, "recommend", pred, "GIRL-Base")
        d_cold = rec_diff(results, "recommend_cold_start", pred, "GIRL-Base")
        if d_all and d_cold:
            bigger = "larger" if d_cold["mean"] > d_all["mean"] else "not larger"
            out.append(f"- {pred}: GIRL − Base is {_n(d_cold['mean'])} on cold-start seekers against {_n(d_all['mean'])} "
                       f"on all, {bigger} for cold start; no interval is computed for the gap between the two, so a "
                       "larger cold-start gain is **not shown**.")
    return "\n".join(out)


READINGS = {"data": data_reading, "sft": sft_reading, "reward": reward_reading, "ppo": ppo_reading,
            "generate": generate_reading, "judge": judge_reading, "recommend": recommend_reading}
"""Pipeline stage -> the reading its notebook renders."""


# =========================================================================== the notebook's first rendered cell
def about_this_run(session, ref_profile: str = "cpu") -> str:
    """What the notebook shows in this session and what its saved outputs are (the reference run, its date
    from ``REFERENCE.json``), the one switch to train instead with its cost on ``cpu`` (measured in the
    reference run) and on a Colab T4 (an estimate), and the commands that remake the saved outputs."""
    ref_dir = course.reference_dir(ref_profile)
    info = course.reference_info(ref_dir)
    stage, profile = session.stage, session.profile
    when = (info.get("run_date") or info.get("date")) if info else None
    ref = (f"the reference `{ref_profile}` run of {when} (`reference/{ref_profile}/`, hash `{info.get('run_hash')}`)"
           if info else None)
    out = []
    if session.mode == "reference":
        out.append(f"**What you see.** {ref[0].upper() + ref[1:]}: its saved results, read in seconds, no training. "
                   "The outputs saved with this notebook come from the same run.")
    elif stage == "data":
        line = f"**What you see.** The `{profile}` datasets, built here in seconds from the profile's seed."
        if ref:
            line += (f" The outputs saved with this notebook are those of {ref}, the same datasets" if profile == ref_profile
                     else f" The outputs saved with this notebook are the `{ref_profile}` datasets of {ref}; set "
                          f"`PROFILE = \"{ref_profile}\"` to build them") + "."
        out.append(line)
    else:
        how = "trained here" if session.mode == "train" else "read from `RUN_DIR`"
        line = f"**What you see.** A `{profile}` run, {how}."
        if profile == "tiny":
            line += " Its models are random toys: the numbers test the code, not GIRL."
        if ref and profile == ref_profile:
            line += (f" The outputs saved with this notebook are {ref}, which a session shows when `RUN_DIR` lacks "
                     "this stage and `TRAIN` is not set.")
        elif ref:
            line += (f" The outputs saved with this notebook are {ref}; to read it, set `PROFILE = \"{ref_profile}\"` "
                     "and leave `TRAIN = None`.")
        out.append(line)
    if stage == "data":
        out.append("**The one switch.** None here: the data stage is built in every mode, in seconds. In the later "
                   "notebooks `TRAIN = True` trains the stage instead of reading the reference run.")
    else:
        # what TRAIN = True would build on top of this RUN_DIR (reference mode); otherwise from scratch
        here = (lambda s: is_done(session.run_dir, s)) if session.mode == "reference" else None
        cpu, colab = train_minutes(stage, ref_profile, here), train_minutes(stage, "colab")
        timed = "measured in the reference run" if info else "an estimate"
        switch = "`TRAIN = True`" if profile == ref_profile else f"`PROFILE = \"{ref_profile}\"` with `TRAIN = True`"
        line = (f"**The one switch.** {switch} in the set-up cell trains this stage (and what it needs that is not "
                f"built) instead of reading the reference run: {_minutes(cpu)} on 2 CPU cores ({timed}; 2-core hosts "
                f"differ up to 3x), {_minutes(colab)} on a Colab T4 (where the set-up picks the `colab` profile, which "
                "has no reference run and trains; an estimate never timed).")
        if session.mode == "done":
            line += (" This session's `RUN_DIR` already holds the stage, so it reads it whatever `TRAIN` says (the "
                     "costs are those of a fresh `RUN_DIR`).")
        out.append(line)
    total = None
    if ref_dir.exists() and (ref_dir / "timing.json").exists():
        total = read_json(ref_dir / "timing.json").get("total")
    took = f", {total / 60:.0f} min on 2 cores in the reference run" if total else ""
    out.append(f"**To remake the saved outputs.** `{MAIN_JOB}` (the `{ref_profile}` main job, into `runs/{ref_profile}`"
               f"{took}), then `{UPDATE_REFERENCE}` (copies the run into `reference/{ref_profile}/` and re-executes "
               "every notebook against it).")
    if not info:
        out.append(f"No reference `{ref_profile}` run is shipped here (`reference/{ref_profile}/REFERENCE.json`).")
    return "\n\n".join(out)
