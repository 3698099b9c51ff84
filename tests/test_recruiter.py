"""The hidden recruiter reads a JD as a posting (girl_lib/world/recruiter.py): what a JD leaves out, the job
still has. Degenerate JDs that gamed the lenient recruiter must not beat real matched JDs; a tailored, complete
JD must beat every one of them; real JDs that state every fact are read exactly as before."""

from __future__ import annotations

import math
import random
from itertools import combinations

import numpy as np
import pytest

from girl_lib import config
from girl_lib.data import oracle_for, recruiter_readings
from girl_lib.prompts import layout_shortfall, requirement_count_gap, skill_lines
from girl_lib.world import make_world, oracle_fit
from girl_lib.world import recruiter as R
from girl_lib.world import taxonomy as T
from girl_lib.world.fit import (
    FitTerms,
    JobFacts,
    Latent,
    fit_probability,
    logits,
    sigmoid,
)
from girl_lib.world.oracle import (
    Recruiter,
    _cv_facts,
    _jd_facts,
    fit_contributions,
    oracle_terms,
)
from girl_lib.world.people import Job
from girl_lib.world.texts import render_jd


def _seekers(n=40, seed=3):
    world = make_world(0, 0, 0)
    rng = random.Random(seed)
    return world, [world.new_seeker(rng=rng) for _ in range(n)]


def _skill_line(key):
    skill = T.SKILLS[T.SKILL_INDEX[key]]
    return f"Proven {skill.name} experience ({skill.tools[0]})"


def _occ(seeker):
    return T.OCCUPATIONS[T.OCC_INDEX[seeker.occupation]]


def tailored_jd(seeker, rng):
    """The world's own JD rendering, from the seeker's own facts: a complete posting that suits them."""
    occ = _occ(seeker)
    required = tuple(sorted(set(seeker.skills) & set(occ.core))[:5]) or tuple(seeker.skills[:3])
    job = Job(id="t", occupation=seeker.occupation, level=seeker.level,
              title=f"{T.LEVEL_PREFIXES[seeker.level][0]} {occ.titles[0]}".strip(), company="Acme",
              descriptor=seeker.experiences[0].descriptor, industry=seeker.industry, ctype="startup",
              city=seeker.city, remote=False, salary_min=int(seeker.salary * 0.95),
              salary_max=int(seeker.salary * 1.2), show_salary=True, required=required, nice=(),
              education=seeker.education, field=seeker.field, min_years=T.LEVEL_MIN_YEARS[seeker.level],
              latent=Latent())
    return render_jd(job, rng)


def one_requirement(seeker, band=None, years=None):
    """The audit's degenerate JD: one requirement the seeker has, and nothing else (optionally a band or years)."""
    occ = _occ(seeker)
    have = [k for k in seeker.skills if k in occ.core] or list(seeker.skills)
    lines = [occ.titles[0], "Responsibilities:", "• " + occ.duties[0], "Requirements:", "• " + _skill_line(have[0])]
    if band:
        lines.insert(1, f"Salary: {band}")
    if years is not None:
        lines.append(f"• {years}+ years of experience")
    return "\n".join(lines)


def cut_requirements(jd):
    """A JD with everything from its Requirements heading on cut (the trivial output of the 2026-12-07 review)."""
    assert "Requirements:" in jd
    return jd[:jd.index("Requirements:")].rstrip()


DEGENERATE = {
    "one requirement": lambda s: one_requirement(s),
    "one requirement, $10k-$999k": lambda s: one_requirement(s, band="$10k–$999k"),
    "one requirement, 0+ years": lambda s: one_requirement(s, years=0),
    "title only": lambda s: _occ(s).titles[0],
    "tailored, Requirements cut": lambda s: cut_requirements(tailored_jd(s, random.Random(1))),
    "empty": lambda s: "",
}


@pytest.fixture(scope="module")
def matched():
    """Real matched (CV, JD) pairs of the cpu world's SFT split and 40 fresh seekers."""
    from girl_lib.world.splits import build_splits

    cfg = config.get_profile("tiny")
    rows = build_splits(cfg.data)["sft"]
    return rows


def test_degenerate_jds_score_no_higher_than_real_matched_jds(matched):
    _, seekers = _seekers()
    real = np.mean([oracle_fit(r["cv"], r["jd"]) for r in matched])
    rng = random.Random(0)
    tailored = np.mean([oracle_fit(s.cv, tailored_jd(s, rng)) for s in seekers])
    for name, make in DEGENERATE.items():
        score = np.mean([oracle_fit(s.cv, make(s)) for s in seekers])
        assert score <= real, f"{name}: {score:.3f} > real matched JDs {real:.3f}"
        assert tailored > score + 0.2, f"tailored {tailored:.3f} vs {name} {score:.3f}"
    assert tailored > real


def test_lenient_recruiter_is_gamed_by_the_same_jds(matched):
    """The lesson of notebook 03: under the lenient recruiter asking for less wins."""
    _, seekers = _seekers()
    real = np.mean([oracle_fit(r["cv"], r["jd"], "lenient") for r in matched])
    one = np.mean([oracle_fit(s.cv, one_requirement(s), "lenient") for s in seekers])
    assert one > real + 0.2


def test_real_jds_that_state_every_fact_read_as_before():
    world = make_world(0, 30, 120)
    n = 0
    for s in world.seekers:
        for j in world.jobs:
            if j.show_salary and j.occupation == s.occupation:
                assert oracle_fit(s.cv, j.jd) == pytest.approx(oracle_fit(s.cv, j.jd, "lenient"), abs=1e-12)
                n += 1
    assert n > 20


def test_dropping_a_requirement_the_seeker_lacks_does_not_raise_coverage():
    _, seekers = _seekers(60)
    for s in seekers:
        occ = _occ(s)
        have = [k for k in occ.core if k in s.skills]
        lack = [k for k in occ.core if k not in s.skills]
        if len(have) >= 1 and len(lack) >= 2 and len(occ.core) >= 4:
            base = [occ.titles[0], "Requirements:"]
            both = "\n".join(base + ["• " + _skill_line(k) for k in have[:1] + lack[:2]])
            only = "\n".join(base + ["• " + _skill_line(k) for k in have[:1]])
            s_facts = _cv_facts(s.cv)
            cov_both = np.mean([t.cov for t in R.posting_terms(s_facts, _jd_facts(both), T.OCC_INDEX[s.occupation])])
            cov_only = np.mean([t.cov for t in R.posting_terms(s_facts, _jd_facts(only), T.OCC_INDEX[s.occupation])])
            lenient_only = oracle_terms(s.cv, only, "lenient")[0].cov
            assert lenient_only == 1.0  # the old reading: 1 of 1 named requirements
            assert cov_both == pytest.approx(1 / 3)  # three named: a real posting's count, nothing added
            # one named: read as three, the two hidden ones not shown to be met -> 1 of 3, as if it named
            # two requirements the seeker lacks (hiding a gap never pays)
            assert cov_only == pytest.approx(1 / 3)
            empty = "\n".join([occ.titles[0], "Requirements:"])
            assert all(t.cov == 0.0 for t in R.posting_terms(s_facts, _jd_facts(empty), T.OCC_INDEX[s.occupation]))
            return
    pytest.fail("no seeker with a requirement it has and two it lacks")


def test_completion_fills_missing_facts_from_the_prototype():
    occ_id = T.OCC_INDEX["data_analyst"]
    occ = T.OCCUPATIONS[occ_id]
    proto = R.prototypes(occ_id)[0]
    empty = R.complete(JobFacts(), occ_id, proto)
    assert empty.level == proto.level and empty.education == proto.education and empty.industry == proto.industry
    assert empty.required == frozenset(R.UNSTATED)  # three hidden requirements, none shown to be met
    expected_max = R.market_center(occ, proto.level, empty.city, proto.industry, proto.pay_draw) * 1.12
    assert empty.salary_max == pytest.approx(expected_max)
    # stated facts are kept; two named requirements are read as three, the third not shown to be met
    j = JobFacts(required=frozenset(occ.core[:2]), level=3, city="Boston", industry="finance", education=1,
                 salary_min=100.0, salary_max=120.0)
    c = R.complete(j, occ_id, proto)
    assert c.level == 3 and c.city == "Boston" and c.industry == "finance" and c.salary_max == 120.0
    assert c.required == frozenset(occ.core[:2]) | {R.UNSTATED[0]}
    # three named requirements are a real posting's count: nothing is added
    j3 = JobFacts(required=frozenset(occ.core[:3]))
    assert R.complete(j3, occ_id, proto).required == frozenset(occ.core[:3])


def test_pay_above_the_market_is_read_at_the_market_top_and_huge_bands_as_unstated():
    occ_id = T.OCC_INDEX["data_analyst"]
    occ = T.OCCUPATIONS[occ_id]
    proto = R.prototypes(occ_id)[0]
    top = R.market_top(occ, 0, "Boston", "tech")
    hand = occ.salary_k * T.LEVEL_PAY[0] * next(c.pay for c in T.CITIES if c.name == "Boston") \
        * T.INDUSTRIES["tech"].pay * 1.1 * 1.12 + R.PAY_CAP_SLACK
    assert top == pytest.approx(hand)
    rich = JobFacts(level=0, city="Boston", industry="tech", salary_min=top * 1.5, salary_max=top * 1.8)
    assert R.complete(rich, occ_id, proto).salary_max == pytest.approx(top)
    huge = JobFacts(level=0, city="Boston", industry="tech", salary_min=10.0, salary_max=999.0)
    unstated = JobFacts(level=0, city="Boston", industry="tech")
    assert R.complete(huge, occ_id, proto).salary_max == pytest.approx(R.complete(unstated, occ_id, proto).salary_max)


def test_under_asking_education_and_impossible_remote():
    nurse = T.OCC_INDEX["registered_nurse"]
    occ = T.OCCUPATIONS[nurse]
    proto = R.prototypes(nurse)[0]
    c = R.complete(JobFacts(education=0, remote=True), nurse, proto)
    assert c.education == max(0, occ.education - 1)
    assert not R.remote_ok(occ) and c.remote is False and c.city is not None


def test_occupation_is_read_from_the_title_then_from_the_skills():
    assert R.infer_occupation("Senior Data Analyst", [], []) == T.OCC_INDEX["data_analyst"]
    occ = T.OCCUPATIONS[T.OCC_INDEX["backend_engineer"]]
    assert R.infer_occupation("Great job", list(occ.core), []) == T.OCC_INDEX["backend_engineer"]
    assert R.infer_occupation("", [], []) is None


def test_fit_is_the_mean_over_completions():
    world, seekers = _seekers(3)
    s = seekers[0]
    jd = one_requirement(s)
    occ = R.infer_occupation(_occ(s).titles[0], [], [])
    by_hand = np.mean([fit_probability(_cv_facts(s.cv), c, None) for c in R.completions(_jd_facts(jd), occ)])
    assert oracle_fit(s.cv, jd) == pytest.approx(by_hand)


def _brute_shapley(terms_a, terms_b):
    names = list(R.TERM_GROUPS)
    n = len(names)

    def value(subset):
        total = 0.0
        for ta, tb in zip(terms_a, terms_b):
            t = FitTerms(**vars(ta))
            for g in subset:
                for f in R.TERM_GROUPS[names[g]]:
                    setattr(t, f, getattr(tb, f))
            z_r, z_s = logits(t)
            total += sigmoid(z_r) * sigmoid(z_s)
        return total / len(terms_a)

    out = {}
    for g in range(n):
        others = [x for x in range(n) if x != g]
        out[names[g]] = sum(math.factorial(len(S)) * math.factorial(n - len(S) - 1) / math.factorial(n)
                            * (value(S + (g,)) - value(S)) for r in range(n) for S in combinations(others, r))
    return out


def test_term_contributions_are_shapley_values_that_sum_to_the_difference():
    _, seekers = _seekers(4)
    s = seekers[1]
    a, b = one_requirement(s), tailored_jd(s, random.Random(1))
    got = fit_contributions(s.cv, a, b)
    want = _brute_shapley(oracle_terms(s.cv, a), oracle_terms(s.cv, b))
    assert got == pytest.approx(want)
    assert sum(got.values()) == pytest.approx(oracle_fit(s.cv, b) - oracle_fit(s.cv, a))
    lenient = fit_contributions(s.cv, a, b, "lenient")
    assert sum(lenient.values()) == pytest.approx(oracle_fit(s.cv, b, "lenient") - oracle_fit(s.cv, a, "lenient"))


def test_recruiter_kind_is_checked_and_chosen_by_the_profile():
    with pytest.raises(ValueError, match="recruiter.kind"):
        oracle_fit("cv", "jd", "strict")
    with pytest.raises(config.ConfigError, match="recruiter.kind"):
        config.get_profile("tiny", ["recruiter.kind=strict"])
    cfg = config.get_profile("tiny", ["recruiter.kind=lenient"])
    assert oracle_for(cfg) == Recruiter("lenient")
    assert config.get_profile("cpu").recruiter.kind == "posting"


def test_recruiter_readings_count_only_hidden_pay_differences():
    from datasets import Dataset, DatasetDict

    world = make_world(0, 10, 40)
    rows = [{"cv": s.cv, "jd": j.jd} for s, j in zip(world.seekers * 4, world.jobs)]
    hidden = sum(not j.show_salary for j in world.jobs)
    got = recruiter_readings(DatasetDict({"sft": Dataset.from_list(rows)}))["sft"]
    assert got["pairs"] == len(rows)
    assert got["reading_differs"] <= hidden


def test_layout_shortfall_counts_the_missing_parts():
    world = make_world(0, 0, 5)
    full = next(j.jd for j in world.jobs if j.show_salary)
    assert layout_shortfall(full) == 0.0
    assert layout_shortfall("") == 1.0
    two_bullets = "Analyst\nLocation: Boston, MA | Salary: $50k\nResponsibilities:\n- a\nRequirements:\n- x\n- y"
    assert layout_shortfall(two_bullets) == pytest.approx(0.2)
    assert layout_shortfall("Requirements:\n- a\n- b\n- c") == pytest.approx(0.6)


def test_requirement_count_gap_counts_skill_lines_only():
    head = "Analyst\nRequirements:\n"
    skills = ["- Proven SQL experience", "- Solid Excel skills", "- Hands-on experience with Tableau",
              "- Python", "- Statistics", "- Stakeholder management", "- Git", "- Docker"]
    not_skills = ["- 3+ years of experience", "- Bachelor's degree in a related field", "- Bonus: dbt",
                  "- Nice to have: Looker", "- High school diploma"]
    def gap(lines):
        return requirement_count_gap(head + "\n".join(lines))

    assert gap([]) == 1.0 and gap(not_skills) == 1.0  # years, degrees and bonuses are not skill requirements
    assert gap(skills[:1] + not_skills) == pytest.approx(2 / 3)
    assert gap(skills[:2]) == pytest.approx(1 / 3)
    assert gap(skills[:3]) == 0.0 and gap(skills[:5] + not_skills) == 0.0
    assert gap(skills[:6]) == pytest.approx(1 / 3) and gap(skills[:8]) == 1.0
    assert gap(["Proven SQL experience"] * 3) == 1.0  # lines without a bullet are not a list
    # the world's real postings: in range but for occupations with two core skills (their postings name two)
    world = make_world(0, 0, 400)
    for j in world.jobs:
        n_core = len(T.OCCUPATIONS[T.OCC_INDEX[j.occupation]].core)
        assert len(skill_lines(j.jd)) == len(j.required), j.jd
        assert requirement_count_gap(j.jd) == (0.0 if n_core >= 3 else pytest.approx(1 / 3))
