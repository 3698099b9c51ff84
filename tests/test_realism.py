"""Tests of girl_lib.realism on hand-written CVs and JDs, every expected value computed by hand."""

from __future__ import annotations

import math

import pytest

from girl_lib import realism as R
from girl_lib.runio import GirlError

# Seekers: A mid (4 years -> level 1, asks $80k), B senior (8 years -> 2, $120k), C junior (1 year -> 0, $50k).
CV_A = ("Ana Lima\nBoston, MA | Expected salary: $80k\nData analyst with 4 years of experience.\n"
        "Skills: SQL, Tableau, Excel\nEducation: BSc in Statistics")
CV_B = ("Ben Okafor\nChicago, IL | Expected salary: $120k\nSenior data analyst, 8 years of experience.\n"
        "Skills: SQL, Tableau")
CV_C = "Cleo Park\nJunior analyst, 1 year of experience. Expected salary: $50k"

# A real-like posting: 3 required skills (SQL, Tableau, Python), 3+ years (level 1), band top 90, every part,
# one requirement line the parser cannot read ("Team spirit"); the nice-to-have and degree lines are read.
JD_REAL = """Data Analyst
Company: Acme (fintech startup)
Location: Boston, MA (on-site) | Salary: $70k–$90k
Responsibilities:
- Build weekly reports
Requirements:
- 3+ years of relevant experience
- SQL
- Tableau
- Python
- Bachelor's degree in statistics
- Nice to have: Excel
- Team spirit"""
# GIRL-like: 1 skill, "3+ years" (level 1, the years line wins over "Senior" in the title), no salary, no
# company, two unreadable lines, and a line copied from CV_B.
JD_THIN = """Senior Data Analyst
Location: Remote (US)
Responsibilities:
- Senior data analyst, 8 years of experience
Requirements:
- 3+ years of experience
- SQL
- Great attitude
- ???"""
# 6 skills (out of the real 3-5), level from the "Junior" title (0), band top 45 below C's ask of 50.
JD_LONG = """Junior Analyst
Company: Brightpath
Location: Chicago, IL | Salary: $40k-$45k
Responsibilities:
- Keep the data clean
Requirements:
- SQL, Tableau, Python, Excel, Java and Figma"""

CVS = [CV_A, CV_B, CV_C, CV_A]
JDS = [JD_REAL, JD_THIN, JD_LONG, ""]  # the empty JD: nothing at all, a second JD for CV A
GROUPS = ["a", "b", "c", "a"]


def test_each_metric_on_hand_written_jds():
    r = R.realism(CVS, JDS)
    assert r["n_jds"] == 4 and "ci95" not in r
    assert r["n_required_mean"] == pytest.approx((3 + 1 + 6 + 0) / 4)
    assert r["share_required_3_5"] == pytest.approx(1 / 4)
    assert r["unreadable_requirement_lines"] == pytest.approx((1 + 2 + 0 + 0) / 4)
    assert r["level_distribution"] == pytest.approx({"0": 0.25, "1": 0.5, "2": 0.0, "3": 0.0, "missing": 0.25})
    # pairs with both levels: (JD 1, CV 1), (1, 2), (0, 0): cov 1, var 2/3 and 2 -> 1 / sqrt(4/3)
    assert r["level_corr"] == pytest.approx(math.sqrt(3) / 2) and r["n_level_pairs"] == 3
    # bands: 90 / 80 and 45 / 50 (below the ask); JD_THIN and the empty JD have none
    assert r["band_to_ask"] == pytest.approx({"median": (90 / 80 + 45 / 50) / 2, "missing": 0.5, "below_ask": 0.5,
                                              "n": 2})
    assert r["sections_present"] == pytest.approx({"title": 0.75, "company": 0.5, "location": 0.75, "salary": 0.5,
                                                   "responsibilities": 0.75, "requirements": 0.75})
    # JD_THIN has 22 words, 19 4-grams, 4 of them in CV_B ("senior data analyst 8" .. "8 years of experience");
    # JD_REAL and JD_LONG copy none; the empty JD has no 4-gram and is left out
    assert r["cv_copy_rate"] == pytest.approx((0 + 4 / 19 + 0) / 3)


def test_per_text_helpers():
    assert R.requirement_lines(JD_THIN) == ["3+ years of experience", "SQL", "Great attitude", "???"]
    assert R.unreadable_lines(JD_THIN) == 2 and R.unreadable_lines(JD_REAL) == 1 and R.unreadable_lines("") == 0
    assert R.requirement_lines("Requirements:\n1. SQL\n2.\n\n") == ["SQL", ""]  # a bare "2." says nothing
    assert R.unreadable_lines("Requirements:\n1. SQL\n2.") == 1
    assert R.sections(JD_THIN) == {"title": True, "company": False, "location": True, "salary": False,
                                   "responsibilities": True, "requirements": True}
    assert not R.sections("Name: Mateo | Expected salary: $91,000\nCompany: X")["title"]  # a contact line
    assert R.sections("Job: Support Agent\nSunloop\nRequirements:\n- Zendesk")["title"]
    assert R.sections("Support Agent\nSunloop\nRequirements:\n- Zendesk")["company"]  # a name on line 2
    assert not R.sections("Support Agent\nDallas, TX (on-site)\nRequirements:\n- Zendesk")["company"]
    assert R.copy_rate("one two three four five", "one two three four six seven") == pytest.approx(1 / 3)
    assert R.copy_rate("one two three four", "x y z") is None


def test_copy_rate_mean_leaves_out_jds_without_4_grams():
    r = R.realism(["one two three four five", "alpha beta"], ["one two three four six seven", "x y z"])
    assert r["cv_copy_rate"] == pytest.approx(1 / 3)
    assert R.realism(["a"], ["b"])["cv_copy_rate"] is None


def test_level_corr_is_none_without_two_pairs_or_variance():
    assert R.realism([CV_A], [JD_REAL])["level_corr"] is None  # one pair
    assert R.realism([CV_A, CV_B], [JD_REAL, JD_THIN])["level_corr"] is None  # JD levels 1 and 1: no variance
    assert R.realism([], [])["n_jds"] == 0
    with pytest.raises(GirlError, match="one CV per JD"):
        R.realism([CV_A], [JD_REAL, JD_THIN])


def test_intervals_resample_cvs():
    r = R.realism(CVS, JDS, groups=GROUPS, n_bootstrap=200, seed=1)
    assert r["n_groups"] == 3 and set(r["ci95"]) == {"share_required_3_5", "level_corr"}
    lo, hi = r["ci95"]["share_required_3_5"]
    assert 0.0 <= lo <= r["share_required_3_5"] <= hi <= 1.0
    lo, hi = r["ci95"]["level_corr"]
    assert -1.0 <= lo <= hi <= 1.0
    assert R.realism(CVS, JDS, groups=GROUPS, n_bootstrap=200, seed=1) == r  # seeded
    same = R.realism([CV_A] * 3, [JD_REAL] * 3, groups=["a", "b", "c"], n_bootstrap=50)
    assert same["ci95"]["share_required_3_5"] == pytest.approx([1.0, 1.0])
    assert same["ci95"]["level_corr"] == [None, None]  # undefined on the JDs themselves
    with pytest.raises(GirlError, match="one CV id per JD"):
        R.realism(CVS, JDS, groups=["a"])


def _jd(years: int, skills: str) -> str:
    return f"Analyst\nResponsibilities:\n- Reports\nRequirements:\n- {years}+ years of experience\n- {skills}"


def test_paired_diff_sign_and_values():
    cvs, ids = [CV_C, CV_A, CV_B], ["c", "a", "b"]  # seeker levels 0, 1, 2
    # A (thin): 1 skill each, levels 1, 1, 0 (corr -sqrt(3)/2); B (real): 3 skills, levels 0, 1, 2 (corr 1)
    a = (cvs, [_jd(3, "SQL"), _jd(3, "SQL"), _jd(0, "SQL")], ids)
    b = (cvs, [_jd(0, "SQL, Tableau, Python"), _jd(4, "SQL, Tableau, Python"), _jd(7, "SQL, Tableau, Python")], ids)
    d = R.realism_diff(a, b, n_bootstrap=300)
    assert d["n_cvs"] == 3
    assert d["share_required_3_5"]["mean"] == pytest.approx(1.0)
    assert d["share_required_3_5"]["ci95"] == pytest.approx([1.0, 1.0])
    assert d["n_required_mean"]["mean"] == pytest.approx(2.0) and d["n_required_mean"]["n"] == 3
    assert d["level_corr"]["mean"] == pytest.approx(1 + math.sqrt(3) / 2)
    assert d["level_corr"]["ci95"][0] > 0  # every defined resample: B 1, A at most -sqrt(3)/2
    back = R.realism_diff(b, a, n_bootstrap=300)  # B - A: the sign flips
    assert back["n_required_mean"]["mean"] == pytest.approx(-2.0) and back["level_corr"]["ci95"][1] < 0
    # only shared CVs count; several JDs per CV allowed
    extra = (a[0] + [CV_A], a[1] + [_jd(3, "SQL")], a[2] + ["z"])
    assert R.realism_diff(extra, b, n_bootstrap=50)["n_required_mean"]["mean"] == pytest.approx(2.0)
    with pytest.raises(GirlError, match="share no CV id"):
        R.realism_diff(a, (cvs, b[1], ["x", "y", "z"]))


def test_diff_renders_with_the_report_formatter():
    from girl_lib.report import _generate_section, diff_text

    cvs, ids = [CV_C, CV_A, CV_B], ["c", "a", "b"]
    a = (cvs, [_jd(3, "SQL")] * 3, ids)
    b = (cvs, [_jd(3, "SQL, Tableau, Python")] * 3, ids)
    d = R.realism_diff(a, b, n_bootstrap=50)
    assert diff_text(d["n_required_mean"]) == "+2.000 [+2.000, +2.000] (shown)"
    res = {"generate": {"realism": {"sft": R.realism(*a), "girl": R.realism(*b), "real": R.realism(CVS, JDS)},
                        "realism_diff_girl_sft": d}}
    text = "\n".join(_generate_section(res))
    assert "| GIRL-SFT | 3 | 1.00 | 0.00" in text and "| GIRL | 3 | 3.00 | 1.00" in text
    assert "| real JDs | 4 | 2.50 | 0.25" in text and "base-gen" not in text
    assert "required skills per JD +2.00 [+2.00, +2.00] (shown)" in text
    assert _generate_section({}) == []


def test_real_pairs_one_per_seeker():
    from datasets import Dataset

    split = Dataset.from_dict({"cv": [f"cv{i}" for i in range(10)], "jd": [f"jd{i}" for i in range(10)],
                               "seeker_id": ["s1", "s1", "s2", "s3", "s3", "s4", "s5", "s5", "s6", "s6"]})
    cvs, jds, ids = R.real_pairs(split, 4, seed=0)
    assert len(ids) == 4 == len(set(ids)) and len(cvs) == len(jds) == 4
    assert all(cv[2:] == jd[2:] for cv, jd in zip(cvs, jds))  # each JD with its own CV
    assert R.real_pairs(split, 4, seed=0) == (cvs, jds, ids)
    assert len(R.real_pairs(split, 50)[2]) == 6  # every seeker once
