"""girl_lib.hacking: the same JDs read by both recruiters, and a reward model's agreement on a policy's JDs."""

from __future__ import annotations

import json

import pytest

from girl_lib import hacking
from girl_lib.runio import GirlError
from girl_lib.world import make_world, oracle_fit
from girl_lib.world import taxonomy as T


@pytest.fixture(scope="module")
def world():
    return make_world(0, 6, 60)


def _one_requirement(seeker):
    occ = T.OCCUPATIONS[T.OCC_INDEX[seeker.occupation]]
    have = next((k for k in seeker.skills if k in occ.core), seeker.skills[0])
    return f"{occ.titles[0]}\nRequirements:\n- {T.SKILLS[T.SKILL_INDEX[have]].name}"


def _eval_file(tmp_path, cvs, sft, girl):
    """An eval_generations.json as run_ppo writes it: first JD per CV, the rest under extra."""
    row = lambda jd: {"jd": jd, "n_tokens": 10, "finished": True}  # noqa: E731
    saved = {"sampler": {}, "cv_ids": [f"s{i}" for i in range(len(cvs))],
             "sft": [row(x[0]) for x in sft], "girl": [row(x[0]) for x in girl],
             "extra": {"sft": [[row(j) for j in x[1:]] for x in sft], "girl": [[row(j) for j in x[1:]] for x in girl]}}
    path = tmp_path / "eval_generations.json"
    path.write_text(json.dumps(saved))
    return path


def test_eval_jds_reads_first_and_extra_samples(tmp_path):
    path = _eval_file(tmp_path, ["a", "b"], [["s0", "s0b"], ["s1", "s1b"]], [["g0", "g0b"], ["g1", "g1b"]])
    ids, jds = hacking.eval_jds(tmp_path)
    assert ids == ["s0", "s1"] and jds == {"sft": [["s0", "s0b"], ["s1", "s1b"]], "girl": [["g0", "g0b"], ["g1", "g1b"]]}
    assert hacking.eval_jds(path)[1] == jds
    with pytest.raises(GirlError, match="run `girl ppo`"):
        hacking.eval_jds(tmp_path / "missing")


def test_recruiter_comparison_prices_what_a_jd_leaves_out(world):
    seekers = world.seekers
    cvs = [s.cv for s in seekers]
    real = [[next(j.jd for j in world.jobs if j.occupation == s.occupation and j.show_salary)
             if any(j.occupation == s.occupation and j.show_salary for j in world.jobs) else world.jobs[0].jd]
            for s in seekers]
    short = [[_one_requirement(s)] for s in seekers]
    res = hacking.recruiter_comparison(cvs, {"sft": real, "girl": short}, seed=0)
    lenient = [oracle_fit(c, j[0], "lenient") - oracle_fit(c, r[0], "lenient") for c, j, r in zip(cvs, short, real)]
    assert res["lenient"]["diff"]["mean"] == pytest.approx(sum(lenient) / len(lenient))
    assert res["posting"]["diff"]["mean"] < res["lenient"]["diff"]["mean"]   # the short JDs lose what was free
    for kind in ("lenient", "posting"):  # the term split adds up to the difference
        total = sum(d["mean"] for d in res[kind]["terms"].values())
        assert total == pytest.approx(res[kind]["diff"]["mean"])
    assert res["requirements_girl"]["mean"] <= 1 and res["requirements_girl"]["share_3_5"] == 0.0
    with pytest.raises(GirlError, match="one list of JDs per CV"):
        hacking.recruiter_comparison(cvs[:2], {"sft": real, "girl": short})


def test_rm_policy_agreement_counts_pairs_ordered_as_the_recruiter_does(world):
    seekers = world.seekers[:4]
    cvs = [s.cv for s in seekers]
    jds = {"sft": [[world.jobs[i].jd, _one_requirement(s)] for i, s in enumerate(seekers)],
           "girl": [[world.jobs[i + 10].jd, world.jobs[i + 20].jd] for i in range(len(seekers))]}
    same = hacking.rm_policy_agreement(lambda c, j: [oracle_fit(a, b) for a, b in zip(c, j)], cvs, jds)
    flipped = hacking.rm_policy_agreement(lambda c, j: [-oracle_fit(a, b) for a, b in zip(c, j)], cvs, jds)
    assert same["n"] == flipped["n"] > 0
    assert same["value"] == 1.0 and flipped["value"] == 0.0


def test_eval_cvs_reads_the_stored_cvs_in_order(tmp_path):
    _eval_file(tmp_path, ["a", "b"], [["s0"], ["s1"]], [["g0"], ["g1"]])
    with pytest.raises(GirlError, match="cvs.json"):
        hacking.eval_cvs(tmp_path, ["s0", "s1"])
    (tmp_path / "cvs.json").write_text(json.dumps({"s1": "CV one", "s0": "CV zero"}))
    assert hacking.eval_cvs(tmp_path, ["s0", "s1"]) == ["CV zero", "CV one"]
    assert hacking.eval_cvs(tmp_path / "eval_generations.json", ["s1"]) == ["CV one"]
    with pytest.raises(GirlError, match="lacks the CVs s9"):
        hacking.eval_cvs(tmp_path, ["s0", "s9"])


def test_the_shipped_lenient_run_has_its_cvs():
    ids, jds = hacking.eval_jds(hacking.LENIENT_RUN)
    cvs = hacking.eval_cvs(hacking.LENIENT_RUN, ids)
    assert len(cvs) == len(ids) == len(jds["girl"]) and all(cv.strip() for cv in cvs)
