r"""The hidden fit function: how recruiters and job seekers of the synthetic world decide.

A pair is *matched* (label 1) only when both sides are satisfied, as in the paper (Sec. III: z_{s,j} = 1
means "both job seeker s and the recruiter of job j are satisfied with each other").

Terms (``s`` = seeker facts, ``j`` = job facts, all computed by :func:`fit_terms`):

- ``cov``         = |required(j) ∩ skills(s)| / |required(j)|    (0 when the JD names no skill)
- ``nice``        = |nice_to_have(j) ∩ skills(s)| / |nice_to_have(j)|
- ``under``       = max(0, level(j) - level(s))                  (levels 0..3: junior, mid, senior, lead)
- ``over``        = max(0, level(s) - level(j) - 1)              (one level above the job is fine)
- ``edu_short``   = max(0, education(j) - education(s))          (0 high school .. 3 doctorate)
- ``over_budget`` = max(0, expected_salary(s) / band_max(j) - 1)
- ``short_pay``   = max(0, 1 - band_max(j) / expected_salary(s))
- ``industry``    = 1 if the seeker's latest employer is in the job's industry
- ``away``        = 1 if the job is on-site in another city than the seeker's (remote jobs ignore city)
- ``liked_skill`` = 1 if the seeker has the job's *hidden* favourite skill, one of its nice-to-haves
- ``liked_type``  = 1 if the seeker worked at the recruiter's *hidden* favourite kind of employer
                    (startup, corporation, agency, public, non-profit)

Recruiter logit::

    z_r = -3.0 + 6.0 cov + 0.5 nice - 1.5 under - 0.7 over - 1.2 edu_short - 3.0 over_budget
          + 0.6 industry - 1.0 away (1 - 0.7 relocate) + 1.0 liked_skill + 0.8 liked_type

Seeker logit (the seeker must like the job too: pay and place)::

    z_s = 2.5 - 10.0 short_pay - 2.5 away (1 - relocate)

Noiseless fit probability: ``p = sigmoid(z_r) * sigmoid(z_s)``.

Observed feedback (the world's labels) adds noise: each side decides independently,
``recruiter_ok ~ Bernoulli(sigmoid(z_r + e_r))``, ``seeker_ok ~ Bernoulli(sigmoid(z_s + e_s))`` with
``e ~ Normal(0, 0.5)``, and ``label = recruiter_ok and seeker_ok``.

The *oracle recruiter* (:mod:`girl_lib.world.oracle`) evaluates the same formula on facts parsed back
from text. Text cannot show the latent preferences, so it uses their expectation: ``liked_skill`` is
replaced by ``nice`` (the favourite is one of the listed nice-to-haves, each equally likely) and
``liked_type`` by (number of distinct employer kinds in the CV) / 5 (0.35 when none can be read).
In :func:`fit_terms` a fact that is missing (``None``) contributes nothing. That is right for the world's
own jobs, which are complete, and it is how the ``lenient`` recruiter read generated JDs, which made
asking for less free. The default ``posting`` recruiter (:mod:`girl_lib.world.recruiter`) first completes
a JD with its occupation's usual facts, so what a JD leaves out the job still has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .taxonomy import COMPANY_TYPES

W_RECRUITER = {
    "bias": -3.0, "cov": 6.0, "nice": 0.5, "under": -1.5, "over": -0.7, "edu_short": -1.2,
    "over_budget": -3.0, "industry": 0.6, "away": -1.0, "liked_skill": 1.0, "liked_type": 0.8,
}
"""Weights of the recruiter logit (see the module docstring)."""
RELOCATE_DISCOUNT = 0.7
"""A seeker open to relocation cuts the recruiter's distance penalty by this share."""
W_SEEKER = {"bias": 2.5, "short_pay": -10.0, "away": -2.5}
"""Weights of the seeker logit."""
LABEL_NOISE = 0.5
"""Standard deviation of the logit noise behind observed feedback."""
UNKNOWN_TYPE_PRIOR = 0.35
"""Oracle's expectation of ``liked_type`` when no employer kind can be read from the CV."""


@dataclass(frozen=True)
class SeekerFacts:
    """What a recruiter can know about a seeker (from the world, or parsed from a CV)."""

    skills: frozenset = frozenset()
    level: int | None = None
    years: float | None = None
    education: int | None = None
    salary: float | None = None  # expected, thousands of dollars a year
    city: str | None = None
    relocate: bool = False
    industry: str | None = None
    company_types: frozenset = frozenset()


@dataclass(frozen=True)
class JobFacts:
    """What a JD says about a job (from the world, or parsed from a JD)."""

    required: frozenset = frozenset()
    nice: frozenset = frozenset()
    level: int | None = None
    min_years: float | None = None
    education: int | None = None
    salary_min: float | None = None
    salary_max: float | None = None
    city: str | None = None
    remote: bool = False
    industry: str | None = None


@dataclass(frozen=True)
class Latent:
    """A recruiter's hidden preferences (never written in any text)."""

    liked_skill: str | None = None
    liked_type: str | None = None


@dataclass
class FitTerms:
    """The named terms of the fit formula for one pair (handy for plots)."""

    cov: float = 0.0
    nice: float = 0.0
    under: float = 0.0
    over: float = 0.0
    edu_short: float = 0.0
    over_budget: float = 0.0
    short_pay: float = 0.0
    industry: float = 0.0
    away: float = 0.0
    relocate: float = 0.0
    liked_skill: float = 0.0
    liked_type: float = 0.0


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def fit_terms(s: SeekerFacts, j: JobFacts, latent: Latent | None = None) -> FitTerms:
    """Compute every term of the formula; ``latent=None`` uses the oracle's expectations."""
    t = FitTerms()
    if j.required:
        t.cov = len(j.required & s.skills) / len(j.required)
    if j.nice:
        t.nice = len(j.nice & s.skills) / len(j.nice)
    if s.level is not None and j.level is not None:
        t.under = max(0, j.level - s.level)
        t.over = max(0, s.level - j.level - 1)
    if s.education is not None and j.education is not None:
        t.edu_short = max(0, j.education - s.education)
    if s.salary and j.salary_max:
        t.over_budget = max(0.0, s.salary / j.salary_max - 1.0)
        t.short_pay = max(0.0, 1.0 - j.salary_max / s.salary)
    if s.industry and j.industry:
        t.industry = float(s.industry == j.industry)
    if not j.remote and s.city and j.city:
        t.away = float(s.city != j.city)
    t.relocate = float(bool(s.relocate))
    if latent is not None:
        t.liked_skill = float(latent.liked_skill is not None and latent.liked_skill in s.skills)
        t.liked_type = float(latent.liked_type is not None and latent.liked_type in s.company_types)
    else:
        t.liked_skill = t.nice
        t.liked_type = (len(s.company_types) / len(COMPANY_TYPES)) if s.company_types else UNKNOWN_TYPE_PRIOR
    return t


def logits(t: FitTerms) -> tuple[float, float]:
    """(recruiter logit, seeker logit) for the terms, as in the module docstring."""
    w = W_RECRUITER
    z_r = (w["bias"] + w["cov"] * t.cov + w["nice"] * t.nice + w["under"] * t.under + w["over"] * t.over
           + w["edu_short"] * t.edu_short + w["over_budget"] * t.over_budget + w["industry"] * t.industry
           + w["away"] * t.away * (1.0 - RELOCATE_DISCOUNT * t.relocate)
           + w["liked_skill"] * t.liked_skill + w["liked_type"] * t.liked_type)
    z_s = W_SEEKER["bias"] + W_SEEKER["short_pay"] * t.short_pay + W_SEEKER["away"] * t.away * (1.0 - t.relocate)
    return z_r, z_s


def fit_probability(s: SeekerFacts, j: JobFacts, latent: Latent | None = None) -> float:
    """Noiseless probability that both sides are satisfied: sigmoid(z_r) * sigmoid(z_s)."""
    z_r, z_s = logits(fit_terms(s, j, latent))
    return sigmoid(z_r) * sigmoid(z_s)


def sample_feedback(s: SeekerFacts, j: JobFacts, latent: Latent, rng) -> int:
    """One noisy observed outcome: 1 when recruiter and seeker both say yes (``rng``: ``random.Random``)."""
    z_r, z_s = logits(fit_terms(s, j, latent))
    recruiter_ok = rng.random() < sigmoid(z_r + rng.gauss(0.0, LABEL_NOISE))
    seeker_ok = rng.random() < sigmoid(z_s + rng.gauss(0.0, LABEL_NOISE))
    return int(recruiter_ok and seeker_ok)
