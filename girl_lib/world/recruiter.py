r"""How the hidden recruiter reads a JD *as a posting*: what the text leaves out, the job still has.

The world's fit formula (:mod:`girl_lib.world.fit`) needs a complete job: its requirements, level,
education, pay, place and industry. The world's own JDs state all of these. A generated JD may not, and
the first recruiter of this project (kept as ``"lenient"``) scored every missing fact as neutral: a JD
that named one requirement the seeker has and nothing else scored like a perfect match, so PPO learnt to
*ask for less*. The ``"posting"`` recruiter (the default) reads a JD as a real posting would be read:

- **The job is of some occupation.** It is read from the title (the longest occupation title in the JD's
  first line), else from the named skills (the occupation whose core and optional skills they best
  match); a JD that shows neither is a job of any occupation.
- **What is not said takes the occupation's usual value.** Each JD is completed with each of
  :data:`N_PROTOTYPES` prototype jobs of its occupation (drawn once, seeded, by the world's own job
  generator): a missing level, education, industry, place or pay band takes the prototype's, and the fit
  is the mean over the completions (the expectation over the occupation's real jobs).
- **Requirements.** A JD naming fewer required skills than any real posting of its occupation does
  (``min(3, core skills)``) is read as having that many, and a requirement it does not state counts as one
  the seeker has *not shown* to meet (:data:`UNSTATED`, a skill no one holds): a recruiter cannot check a
  CV against a requirement the posting hides, so it is no evidence of fit. Coverage of a short list is
  therefore ``held / min(3, core)``: an empty list covers nothing, one held requirement covers a third,
  and naming three or more that the seeker has (a real posting that suits them) is how coverage rises.
  (An earlier version filled the hidden slots with the occupation's core skills, the seeker's gaps first;
  a seeker of that occupation holds most of them, so cutting the Requirements section out of a JD *raised*
  its fit, 0.483 -> 0.640 on the 2026-12-07 run: ``docs/experiments.md``.)
- **Pay a recruiter would not pay.** A band above the top of what the occupation pays at the stated (or
  expected) level, place and industry is read at that top: a "$10k–$999k" band or a junior job at a
  senior salary earns nothing. Real postings never reach the cap, so their reading is unchanged. A band
  far wider than real ones (top over :data:`WIDE_BAND` x bottom) commits to nothing and is read as unstated.
- **Under-asking.** An education requirement more than one level below the occupation's usual one is
  read as one level below (what real postings of it ask at least); "remote" for an occupation that
  never works remotely is read as on-site at the occupation's usual places.

What the JD *states* is always taken as stated otherwise (a stated city, a stated level, a stated band
within the market): tailoring a real posting to the seeker is what GIRL should learn. The world's logged
feedback (the labels of every split) is drawn from the true facts of complete jobs, which neither recruiter
reads, so no label changes; how the two recruiters read the *texts* of each split's real JDs is counted in
the data stage's ``stats.json`` (``recruiter_readings``): they differ only where a real JD hides its pay.

:func:`fit_contributions` splits the difference in fit between two JDs for one CV into the term groups of
:data:`TERM_GROUPS` (exact Shapley values over the groups), to show where a gain comes from.
"""

from __future__ import annotations

import functools
import math
import random
import re
from dataclasses import dataclass, replace

from . import taxonomy as T
from .fit import FitTerms, JobFacts, SeekerFacts, fit_terms, logits, sigmoid

RECRUITERS = ("posting", "lenient")
"""``"posting"``: a JD read as a real posting (this module); ``"lenient"``: missing facts are neutral and
coverage counts only the requirements named (the first recruiter, kept to show what PPO exploited)."""
N_PROTOTYPES = 32
"""Prototype jobs per occupation the missing facts are averaged over."""
MIN_REQUIRED = 3
"""Real postings name 3-5 required skills (fewer only when the occupation has fewer core skills)."""
UNSTATED = tuple(f"(unstated requirement {i + 1})" for i in range(MIN_REQUIRED))
"""The requirements a too-short list hides: skill keys no seeker holds, so each counts as not shown."""
WIDE_BAND = 1.6
"""A band whose top is more than this times its bottom commits to nothing (real bands: top = 1.27 x bottom)
and is read as unstated."""
PAY_CAP_SLACK = 1.0
"""Thousands of dollars above the market's top a band may reach before it is capped (rounding)."""
REMOTE_INDUSTRIES = frozenset({"tech", "media", "services", "finance", "education"})
"""Occupations of these home industries (when portable) may be remote (as in :mod:`.people`)."""
TERM_GROUPS = {
    "skills": ("cov", "nice", "liked_skill"),
    "level": ("under", "over"),
    "education": ("edu_short",),
    "salary": ("over_budget", "short_pay"),
    "industry": ("industry",),
    "city": ("away",),
}
"""Groups of fit terms a JD can move (``liked_type`` and ``relocate`` depend on the CV only)."""

_TITLES = sorted(((t.lower(), i) for i, o in enumerate(T.OCCUPATIONS) for t in o.titles), key=lambda x: -len(x[0]))
_TITLE_RE = re.compile(r"(?<![\w])(" + "|".join(re.escape(t) for t, _ in _TITLES) + r")(?![\w])", re.IGNORECASE)
_TITLE_OCC = dict(_TITLES)
_CITY = {c.name: c for c in T.CITIES}


@dataclass(frozen=True)
class Prototype:
    """What one real job of an occupation has that a JD might leave out."""

    occupation: int
    level: int
    required: tuple  # in a random order: the fill takes the first ones
    nice: tuple
    education: int
    industry: str
    city: str | None
    remote: bool
    pay_draw: float  # the job's own factor in U(0.92, 1.1) of the world's salary formula


def remote_ok(occ: T.Occupation) -> bool:
    """Whether real postings of ``occ`` can be remote."""
    return bool(occ.portable and occ.industry in REMOTE_INDUSTRIES)


def market_center(occ: T.Occupation, level: int, city: str | None, industry: str, draw: float = 1.0) -> float:
    """The world's salary centre (thousands a year) of a job: occupation x level x place x industry x draw."""
    pay = _CITY[city].pay if city in _CITY else 1.05
    return occ.salary_k * T.LEVEL_PAY[level] * pay * T.INDUSTRIES[industry].pay * draw


def market_top(occ: T.Occupation, level: int, city: str | None, industry: str) -> float:
    """The highest band top a real posting with these facts can have (draw 1.1, band max = centre x 1.12)."""
    return market_center(occ, level, city, industry, 1.1) * 1.12 + PAY_CAP_SLACK


@functools.cache
def prototypes(occupation: int | None) -> tuple[Prototype, ...]:
    """:data:`N_PROTOTYPES` jobs of an occupation (index into ``taxonomy.OCCUPATIONS``; ``None``: of any
    occupation), drawn by the world's own job generator with a fixed seed."""
    # local: people imports fit, and fit is all this module needs at import time
    from .people import World

    key = "any" if occupation is None else T.OCCUPATIONS[occupation].key
    rng = random.Random(f"girl-recruiter-prototypes-{key}")
    world = World(seed=0)
    out = []
    for _ in range(N_PROTOTYPES):
        job = world.new_job(occupation=None if occupation is None else key, rng=rng)
        occ_id = T.OCC_INDEX[job.occupation]
        occ = T.OCCUPATIONS[occ_id]
        required = list(job.required)
        rng.shuffle(required)
        draw = (job.salary_max / 1.12) / market_center(occ, job.level, job.city, job.industry)
        out.append(Prototype(occ_id, job.level, tuple(required), tuple(job.nice), job.education, job.industry,
                             job.city, job.remote, draw))
    return tuple(out)


def infer_occupation(title: str, required, nice) -> int | None:
    """The JD's occupation: the longest occupation title in its title line, else the occupation whose core
    (weight 1) and optional (weight 0.5) skills best cover the named skills; ``None`` when neither shows."""
    m = _TITLE_RE.search(title or "")
    if m:
        return _TITLE_OCC[m.group(1).lower()]
    named = set(required) | set(nice)
    if not named:
        return None
    best, best_score = None, 0.0
    for i, occ in enumerate(T.OCCUPATIONS):
        score = len(named & set(occ.core)) + 0.5 * len(named & set(occ.optional))
        if score > best_score:
            best, best_score = i, score
    return best


def complete(j: JobFacts, occupation: int | None, proto: Prototype) -> JobFacts:
    """``j`` completed with ``proto`` as the posting recruiter reads it (see the module docstring): missing
    facts take the prototype's, and a too-short requirement list is padded with :data:`UNSTATED`."""
    occ = T.OCCUPATIONS[proto.occupation if occupation is None else occupation]
    level = j.level if j.level is not None else proto.level
    industry = j.industry if j.industry is not None else proto.industry
    min_edu = max(0, occ.education - 1)
    education = max(min_edu, j.education) if j.education is not None else proto.education
    if j.remote and remote_ok(occ):
        city, remote = None, True
    elif j.city is not None:
        city, remote = j.city, False
    elif proto.remote and remote_ok(occ):
        city, remote = None, True
    else:  # a prototype of another occupation (``occupation`` known) may be remote where this one cannot
        city, remote = proto.city or _fallback_city(proto), False
    top = market_top(occ, level, city, industry)
    if j.salary_max and not (j.salary_min and j.salary_max > WIDE_BAND * j.salary_min):
        band_max = min(j.salary_max, top)
    else:
        band_max = market_center(occ, level, city, industry, proto.pay_draw) * 1.12
    required = set(j.required)
    shortfall = min(MIN_REQUIRED, len(occ.core)) - len(required)
    if shortfall > 0:  # a hidden requirement is one the seeker has not shown to meet
        required |= set(UNSTATED[:shortfall])
    nice = set(j.nice) if j.nice else set(proto.nice) - required
    return replace(j, required=frozenset(required), nice=frozenset(nice), level=level, education=education,
                   industry=industry, city=city, remote=remote, salary_max=band_max)


def _fallback_city(proto: Prototype) -> str:
    """A city for a job that must be on-site when the prototype is remote: the most common city."""
    return max(T.CITIES, key=lambda c: c.weight).name


@functools.lru_cache(maxsize=8192)
def completions(jd_facts: JobFacts, occupation: int | None) -> tuple[JobFacts, ...]:
    """Every completion of a JD's facts (one per prototype of its occupation)."""
    return tuple(complete(jd_facts, occupation, p) for p in prototypes(occupation))


def posting_terms(s: SeekerFacts, j: JobFacts, occupation: int | None) -> list[FitTerms]:
    """The oracle's fit terms of ``s`` and each completion of ``j`` (latent tastes at their expectation)."""
    return [fit_terms(s, c, None) for c in completions(j, occupation)]


def fit_of_terms(terms: list[FitTerms]) -> float:
    """Mean noiseless fit probability over completions."""
    if not terms:
        return 0.0
    total = 0.0
    for t in terms:
        z_r, z_s = logits(t)
        total += sigmoid(z_r) * sigmoid(z_s)
    return total / len(terms)


_GROUP_FIELDS = tuple(TERM_GROUPS.values())


def fit_contributions(terms_a: list[FitTerms], terms_b: list[FitTerms]) -> dict:
    """Exact Shapley split of ``fit(b) - fit(a)`` (same CV, same completions: ``terms_*`` from
    :func:`posting_terms`, or one lenient :class:`FitTerms` each) over :data:`TERM_GROUPS`.

    ``value(S)`` is the mean fit when the groups in ``S`` take B's terms and the rest A's; a group's
    contribution is its Shapley value. The contributions sum to ``fit(b) - fit(a)``."""
    names = list(TERM_GROUPS)
    n = len(names)
    value: dict = {}
    for mask in range(1 << n):
        mixed = []
        for ta, tb in zip(terms_a, terms_b):
            t = replace(ta)
            for g in range(n):
                if mask >> g & 1:
                    for f in _GROUP_FIELDS[g]:
                        setattr(t, f, getattr(tb, f))
            mixed.append(t)
        value[mask] = fit_of_terms(mixed)
    weights = {size: _shapley_weight(size, n) for size in range(n)}
    out = {}
    for g, name in enumerate(names):
        total = 0.0
        for mask in range(1 << n):
            if not mask >> g & 1:
                total += weights[bin(mask).count("1")] * (value[mask | 1 << g] - value[mask])
        out[name] = total
    return out


@functools.cache
def _shapley_weight(size: int, n: int) -> float:
    """|S|! (n - |S| - 1)! / n!, the weight of a coalition of ``size`` groups in a Shapley value."""
    f = math.factorial
    return f(size) * f(n - size - 1) / f(n)
