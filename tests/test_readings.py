"""girl_lib.readings: what a run shows, rendered from its results (never typed into a notebook's prose).

Hand-made results check the wording of each comparison by its 95% interval (shown, with its direction;
not shown, with the interval; missing); the shipped reference run checks that every notebook's reading
renders from ``reference/cpu/results.json`` and states that file's numbers; the notebooks' sources check
that each renders its reading and, under the set-up, what its saved outputs are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from girl_lib import course, readings
from girl_lib.report import diff_text

ROOT = Path(__file__).resolve().parents[1]
REF_DIR = ROOT / "reference" / "cpu"
NB_DIR = ROOT / "notebooks"


def _diff(mean, lo, hi, n=80):
    return {"mean": mean, "ci95": [lo, hi], "n": n}


# --------------------------------------------------------------------------- one comparison
def test_comparison_is_shown_with_its_direction_when_the_interval_excludes_0():
    up = readings.comparison("U", _diff(0.5, 0.3, 0.7), "GIRL higher", "GIRL lower")
    assert up == "U: **shown**, GIRL higher: +0.500 [+0.300, +0.700]"
    down = readings.comparison("U", _diff(-0.25, -0.4, -0.1), "GIRL higher", "GIRL lower", nd=2, over="over 80 CVs")
    assert down == "U: **shown**, GIRL lower: -0.25 [-0.40, -0.10] over 80 CVs"


def test_comparison_is_not_shown_with_its_interval_when_it_covers_0():
    text = readings.comparison("fit", _diff(0.01, -0.02, 0.04), "up", "down")
    assert text == "fit: **not shown** (its 95% interval covers 0): +0.010 [-0.020, +0.040]"
    assert "up" not in text.split(":", 1)[1] and "down" not in text


def test_comparison_is_not_shown_with_too_few_units_or_one_unit():
    few = readings.comparison("AUC", _diff(0.1, 0.05, 0.15), "a", "b", too_few=True)
    assert few.startswith("AUC: **not shown** (too few units") and "+0.100 [+0.050, +0.150]" in few
    one = readings.comparison("AUC", _diff(0.1, 0.1, 0.1, n=1), "a", "b")
    assert "**not shown**" in one and "**shown**," not in one


def test_comparison_says_so_when_the_run_lacks_the_result_or_its_interval():
    assert readings.comparison("X", None, "a", "b") == "X: this run has no such result"
    assert readings.comparison("X", {"mean": None}, "a", "b") == "X: this run has no such result"
    no_ci = readings.comparison("X", {"mean": 0.2, "ci95": None}, "a", "b")
    assert no_ci == "X: +0.200, with no interval in this run, so nothing is shown"


# --------------------------------------------------------------------------- readings from hand-made results
def test_ppo_reading_words_each_difference_by_its_interval():
    res = {"profile": "cpu", "recruiter": "posting", "targets": [], "ppo": {
        "iterations": 12, "reward_diff": _diff(0.5, 0.3, 0.7), "oracle_fit_diff": _diff(0.01, -0.02, 0.04),
        "reward_hacking_warning": False,
        "oracle_fit_terms": {"salary": _diff(0.03, 0.02, 0.05), "level": _diff(-0.02, -0.04, -0.01),
                             "skills": _diff(-0.01, -0.03, 0.02)}}}
    text = readings.ppo_reading(res, "cpu")
    assert "Reward-model score, GIRL − GIRL-SFT: **shown**, GIRL scores higher: +0.500 [+0.300, +0.700] over 80" in text
    assert "Hidden recruiter's fit, GIRL − GIRL-SFT: **not shown** (its 95% interval covers 0): +0.010 [-0.020, +0.040]" in text
    assert "shown to raise it: salary +0.030 [+0.020, +0.050]; shown to lower it: level -0.020 [-0.040, -0.010]; " \
           "not shown: skills." in text
    assert "not raised" in text
    # the other way round: the recruiter's fit shown to fall, and the flag raised
    res["ppo"] |= {"oracle_fit_diff": _diff(-0.05, -0.08, -0.02), "reward_hacking_warning": True}
    text = readings.ppo_reading(res, "cpu")
    assert "**shown**, the recruiter likes GIRL's JDs less: -0.050 [-0.080, -0.020]" in text and "**raised**" in text


def test_judge_reading_words_the_advantage_and_places_the_papers_number():
    res = {"profile": "cpu", "targets": [], "judge": {
        "GIRL_vs_GIRL-SFT": {"adv": -0.3, "adv_ci": [-0.45, -0.15], "n": 240, "n_cvs": 80, "backend": "rubric",
                             "aspects": {"relevance": {"adv": 0.05, "adv_ci": [-0.07, 0.18]}}},
        "GIRL-SFT_vs_base": {"adv": 0.9, "adv_ci": [0.8, 1.0], "n": 80, "n_cvs": 80}}}
    text = readings.judge_reading(res, "cpu")
    assert "GIRL vs GIRL-SFT, advantage (win − lose): **shown**, GIRL-SFT preferred: -0.30 [-0.45, -0.15] " \
           "over 240 pairs for 80 CVs" in text
    assert "GIRL-SFT vs base-gen, advantage (win − lose): **shown**, GIRL-SFT preferred: +0.90 [+0.80, +1.00]" in text
    assert "on relevance alone (what PPO's reward targets): **not shown** (its 95% interval covers 0): " \
           "+0.05 [-0.07, +0.18]" in text
    assert "GIRL vs base-gen: this run has no such result." in text
    assert "lies above this run's interval" in text
    res["judge"]["GIRL_vs_GIRL-SFT"]["adv_ci"] = [0.1, 0.3]
    assert "lies inside this run's interval" in readings.judge_reading(res, "cpu")


def _rec_table(girl_base, girl_sft):
    rows = {m: {"auc": 0.7} for m in ("Base", "GIRL-SFT", "GIRL")}
    return {"MLP": {**rows, "diff": {"GIRL-Base": {"auc": girl_base}, "GIRL-GIRL-SFT": {"auc": girl_sft}}}}


def test_recommend_reading_words_each_pair_and_distrusts_too_few_seekers():
    res = {"profile": "cpu", "targets": [],
           "recommend": _rec_table(_diff(0.02, 0.01, 0.03), _diff(-0.001, -0.009, 0.008)),
           "recommend_cold_start": _rec_table(_diff(0.03, 0.01, 0.05), _diff(0.002, -0.01, 0.01)),
           "recommend_n_seekers": {"all": 150, "cold_start": 92}}
    text = readings.recommend_reading(res, "cpu")
    assert "MLP, test AUC: GIRL − Base: **shown**, GIRL higher: +0.020 [+0.010, +0.030]; GIRL − GIRL-SFT: " \
           "**not shown** (its 95% interval covers 0): -0.001 [-0.009, +0.008]" in text
    assert "*Within the seeker's occupation*: this run has no such table." in text
    assert "GIRL-Retrieved" not in text and "Retrieved" not in text.split("Within")[0]  # no Retrieved row: no pair
    assert "a larger cold-start gain is **not shown**" in text
    res["recommend_n_seekers"]["all"] = 4   # a handful of seekers: no interval is trusted
    few = readings.recommend_reading(res, "cpu").split("*Cold-start")[0]
    assert "fewer than" in few and "**shown**," not in few and "**not shown** (too few units" in few


def test_sft_reward_and_generate_readings_state_the_targets_verdicts():
    res = {"profile": "cpu",
           "sft": {"jd_perplexity_before": 30.0, "jd_perplexity_after": 3.0, "format_compliance_before": 0.0,
                   "format_compliance_after": 0.5},
           "reward_model": {"pairwise_accuracy": 0.9, "oracle_pairwise_accuracy": 0.91, "auc": 0.8,
                            "same_occupation_oracle_agreement": 0.7, "same_occupation_n": 50}}
    sft = readings.sft_reading(res, "cpu")
    assert "30.00 before SFT, 3.00 after (10.0 times lower)" in sft
    res["sft"]["jd_perplexity_after"] = 45.0   # SFT made it worse: said so, not "times lower"
    worse = readings.sft_reading(res, "cpu")
    assert "did not fall: 30.00 before SFT, 45.00 after (1.50 times the perplexity before)" in worse
    assert "lower" not in worse
    res["sft"]["jd_perplexity_after"] = 3.0
    assert "target `SFT format compliance >= 0.90`: **missed**" in sft   # the report's target, by its own name
    rm = readings.reward_reading(res, "cpu")
    assert "target `reward model pairwise accuracy within 0.03 of the noiseless oracle's`: met" in rm
    assert "target `reward model same-occupation agreement with the oracle >= 0.80`: **missed**" in rm
    gen = readings.generate_reading({"profile": "cpu", "generate": {"realism": {
        "sft": {"n_jds": 10, "n_required_mean": 2.0, "share_required_3_5": 0.3, "level_corr": 0.1},
        "girl": {"n_jds": 10, "n_required_mean": 3.0, "share_required_3_5": 0.7, "level_corr": 0.4}},
        "realism_diff_girl_sft": {"share_required_3_5": _diff(0.4, 0.2, 0.6, n=10), "n_cvs": 10}}}, "cpu")
    assert "Share naming 3–5 requirements, GIRL − GIRL-SFT: **shown**, GIRL higher: +0.40 [+0.20, +0.60]" in gen
    assert "Level correlation, GIRL − GIRL-SFT: this run has no such result." in gen
    assert "Target `realism: corr(GIRL's JD level, seeker level) >= 0.3`: met." in gen


@pytest.mark.parametrize("stage", list(readings.READINGS))
def test_a_run_without_the_stage_says_so_instead_of_failing(stage):
    for res in ({}, {"profile": "tiny"}, {"profile": "tiny", "targets": []}):
        text = readings.READINGS[stage](res, "tiny")
        assert "random toys" in text and "nothing to read" in text


def test_a_tiny_run_missing_keys_renders_what_it_has():
    res = {"profile": "tiny", "ppo": {"reward_diff": _diff(0.1, -0.2, 0.4, n=4)},
           "judge": {"GIRL_vs_GIRL-SFT": {"adv": 0.0, "adv_ci": None, "n": 12}},
           "recommend": {"MLP": {"Base": {"auc": 0.5}, "GIRL": {"auc": 0.6}}}}
    ppo = readings.ppo_reading(res, "tiny")
    assert "Hidden recruiter's fit, GIRL − GIRL-SFT: this run has no such result." in ppo
    assert "no split of the fit difference" in ppo
    judge = readings.judge_reading(res, "tiny")
    assert "+0.00 over 12 pairs for 12 CVs, with no interval in this run, so nothing is shown" in judge
    rec = readings.recommend_reading(res, "tiny")
    assert "GIRL − Base: this run has no such result" in rec and "GIRL-SFT" not in rec


def test_load_results_reads_the_shipped_file_or_gathers_the_stage_files(tmp_path):
    ref = readings.load_results(SimpleNamespace(mode="reference", results_dir=REF_DIR, cfg=None))
    assert ref == json.loads((REF_DIR / "results.json").read_text())
    from girl_lib.config import get_profile

    empty = readings.load_results(SimpleNamespace(mode="train", results_dir=tmp_path, cfg=get_profile("tiny")))
    assert empty["profile"] == "tiny" and "ppo" not in empty
    assert "This run has no PPO results" in readings.ppo_reading(empty, "tiny")


# --------------------------------------------------------------------------- the shipped reference run
REF_NUMBER = {
    "data": lambda r: f"{r['data']['splits']['sft']['rows']:,}",
    "sft": lambda r: f"{r['sft']['jd_perplexity_after']:.2f}",
    "reward": lambda r: f"{r['reward_model']['pairwise_accuracy']:.3f}",
    "ppo": lambda r: diff_text(r["ppo"]["reward_diff"], verdict=False),
    "generate": lambda r: diff_text(r["generate"]["realism_diff_girl_sft"]["share_required_3_5"], 2, verdict=False),
    "judge": lambda r: f"{r['judge']['GIRL_vs_GIRL-SFT']['adv']:+.2f}",
    "recommend": lambda r: diff_text(r["recommend"]["MLP"]["diff"]["GIRL-Base"]["auc"], verdict=False),
}
"""A number each notebook's reading must state, formatted from reference/cpu/results.json."""


@pytest.mark.parametrize("stage", list(readings.READINGS))
def test_each_reading_renders_the_reference_run_and_states_its_numbers(stage):
    res = json.loads((REF_DIR / "results.json").read_text())
    text = readings.READINGS[stage](res, res["profile"])
    assert text.startswith("**What this run shows** (`cpu` profile")
    assert "nothing to read" not in text and "random toys" not in text
    assert REF_NUMBER[stage](res) in text


def test_the_reference_verdicts_agree_with_its_targets():
    """Each shown / not shown of the readings is the report's: a comparison target met exactly when shown."""
    res = json.loads((REF_DIR / "results.json").read_text())
    ppo = readings.ppo_reading(res, "cpu")
    for key, label in (("reward_diff", "Reward-model score"), ("oracle_fit_diff", "Hidden recruiter's fit")):
        met = readings.target(res, {"reward_diff": "GIRL - GIRL-SFT reward-model", "oracle_fit_diff":
                                    "GIRL - GIRL-SFT oracle fit"}[key])["met"]
        line = next(x for x in ppo.splitlines() if x.startswith(f"- {label}"))
        assert ("**shown**, GIRL" in line or "**shown**, the recruiter likes GIRL's JDs better" in line) == met
    rec = readings.recommend_reading(res, "cpu")
    mlp_all = next(x for x in rec.splitlines() if x.strip().startswith("- MLP"))
    assert ("GIRL − Base: **shown**, GIRL higher" in mlp_all) == readings.target(res, "recommend MLP: AUC GIRL - Base")["met"]


# --------------------------------------------------------------------------- what the saved outputs are
def _fake_reference(path: Path, date="2031-01-02") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / course.REFERENCE_MARKER).write_text(json.dumps({"profile": "cpu", "date": date, "run_date": date,
                                                            "run_hash": "abc123"}))
    (path / "timing.json").write_text(json.dumps({"data": 60, "sft": 600, "reward": 600, "ppo": 1200,
                                                  "total": 3000}))
    return path


def test_about_this_run_renders_the_reference_date_switch_costs_and_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("GIRL_REFERENCE_DIR", str(_fake_reference(tmp_path / "ref")))
    tiny = readings.about_this_run(SimpleNamespace(stage="ppo", profile="tiny", mode="train", run_dir=tmp_path / "run"))
    assert "A `tiny` run, trained here" in tiny and "run of 2031-01-02" in tiny and "`abc123`" in tiny
    assert '`PROFILE = "cpu"` with `TRAIN = True`' in tiny
    assert "about 41 min on 2 CPU cores (measured in the reference run" in tiny   # (60+600+600+1200) s
    colab = readings.train_minutes("ppo", "colab")
    assert f"about {colab:.0f} min on a Colab T4" in tiny and colab > 0
    assert "`bash scripts/main.sh`" in tiny and "50 min on 2 cores in the reference run" in tiny
    assert "`.venv/bin/python scripts/update_reference.py runs/cpu --execute`" in tiny
    ref = readings.about_this_run(SimpleNamespace(stage="ppo", profile="cpu", mode="reference", run_dir=tmp_path / "run"))
    assert ref.startswith("**What you see.** The reference `cpu` run of 2031-01-02") and "`TRAIN = True` in" in ref
    _fake_reference(tmp_path / "ref", date="2032-05-06")    # the date comes from REFERENCE.json, never typed
    assert "2032-05-06" in readings.about_this_run(SimpleNamespace(stage="sft", profile="cpu", mode="reference",
                                                                   run_dir=tmp_path / "run"))
    data = readings.about_this_run(SimpleNamespace(stage="data", profile="cpu", mode="train", run_dir=tmp_path / "run"))
    assert "None here: the data stage is built in every mode" in data


def test_about_this_run_without_a_reference(tmp_path, monkeypatch):
    monkeypatch.setenv("GIRL_REFERENCE_DIR", str(tmp_path / "none"))
    text = readings.about_this_run(SimpleNamespace(stage="judge", profile="tiny", mode="train", run_dir=tmp_path))
    assert "No reference `cpu` run is shipped" in text and "an estimate" in text and "scripts/main.sh" in text


# --------------------------------------------------------------------------- the notebooks render them
@pytest.mark.parametrize("stage,name", list(course.NOTEBOOKS.items()))
def test_each_notebook_renders_its_reading_and_what_its_outputs_are(stage, name):
    pytest.importorskip("jupytext")
    cells = course.notebook_sources(NB_DIR / name.replace(".ipynb", ".py"))
    code = [src for kind, src in cells if kind == "code"]
    assert "course.setup(" in code[1] and "readings.about_this_run(C)" in code[2], "the cell under the set-up"
    assert any(f"readings.{stage}_reading(results, C.profile)" in src and "readings.load_results(C)" in src
               for src in code), f"{name} renders readings.{stage}_reading"
    first = cells[0][1]
    assert "TRAIN" in first and "scripts/main.sh" in first and "update_reference.py runs/cpu --execute" in first
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", first), "the reference date is rendered, not typed"
