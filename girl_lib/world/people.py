"""Job seekers and jobs of the synthetic world, with their structured facts and their texts.

:class:`World` draws people and postings from the taxonomy with one ``random.Random`` stream (never global
state), so a seed fixes everything. Each :class:`Seeker` carries a CV and each :class:`Job` a JD, rendered
by :mod:`girl_lib.world.texts`; :meth:`World.fit` and :meth:`World.feedback` apply the hidden fit function
of :mod:`girl_lib.world.fit` to the *true* facts (the oracle recruiter only sees the texts).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from . import taxonomy as T
from .fit import JobFacts, Latent, SeekerFacts, fit_probability, fit_terms, sample_feedback
from .texts import render_cv, render_jd

FIRST_NAMES = ("Maria", "James", "Aisha", "Wei", "Olivia", "Mateo", "Priya", "Noah", "Fatima", "Liam", "Sofia",
               "Ethan", "Chloe", "Omar", "Grace", "Lucas", "Mei", "Daniel", "Hannah", "Diego", "Amara", "Ryan",
               "Elena", "Kofi", "Laura", "Samuel", "Yuki", "Nadia", "Victor", "Zara", "Isaac", "Leah", "Tomas",
               "Ines", "Marcus", "Ana", "Felix", "Rosa", "Hugo", "Nora")
LAST_NAMES = ("Lopez", "Smith", "Khan", "Chen", "Johnson", "Garcia", "Patel", "Brown", "Nguyen", "Okafor",
              "Rossi", "Miller", "Kim", "Silva", "Wilson", "Haddad", "Novak", "Davis", "Tanaka", "Murphy",
              "Costa", "Ali", "Schmidt", "Martin", "Walker", "Reyes", "Sato", "Hughes", "Mensah", "Fischer")
COMPANY_HEADS = ("Bright", "North", "Blue", "Silver", "Oak", "River", "Stone", "Clear", "Summit", "Pine",
                 "Harbor", "Maple", "Iron", "Cedar", "Golden", "Lake", "Sun", "True", "Keystone", "Evergreen")
COMPANY_TAILS = ("loop", "wind", "field", "bridge", "works", "line", "point", "gate", "way", "light", "wave",
                 "path", "crest", "vale", "ridge", "stack")
SCHOOLS = ("Westbrook University", "Northfield College", "Eastgate Institute", "Riverside University",
           "Highland State University", "Crescent College", "Pinecrest University", "Harborview College",
           "Midland Technical College", "Lakeshore University")

LEVEL_WEIGHTS = (0.30, 0.35, 0.23, 0.12)
"""Share of seekers and jobs at each seniority level."""
LEVEL_YEARS = ((1, 2), (3, 5), (6, 9), (10, 16))
"""Range of years of experience drawn for each seeker level."""
TYPE_WEIGHTS = (0.25, 0.35, 0.15, 0.15, 0.10)
"""Share of employers of each kind in ``taxonomy.COMPANY_TYPES``."""
POPULAR = {"sales_associate": 2.0, "customer_service_rep": 2.0, "registered_nurse": 1.8, "teacher": 1.6,
           "truck_driver": 1.5, "backend_engineer": 1.6, "accountant": 1.5, "data_analyst": 1.4,
           "store_manager": 1.3, "warehouse_supervisor": 1.3, "project_manager": 1.3, "medical_assistant": 1.3}
"""Occupations more common than the rest (weight 1.0)."""
OCC_WEIGHTS = tuple(POPULAR.get(o.key, 1.0) for o in T.OCCUPATIONS)
CITY_WEIGHTS = tuple(c.weight for c in T.CITIES)
_OCC_IDS = tuple(range(len(T.OCCUPATIONS)))
REMOTE_INDUSTRIES = {"tech", "media", "services", "finance", "education"}
"""Portable occupations of these industries may post remote jobs."""
REMOTE_SHARE = 0.25
"""Share of remote postings among occupations that can be remote."""


@dataclass
class Experience:
    title: str
    company: str
    descriptor: str  # e.g. "fintech startup": names the industry and the kind of employer
    industry: str
    ctype: str
    start: int
    end: int | None  # None = present
    level: int


@dataclass
class Seeker:
    """A job seeker: true facts, and the CV that shows them."""

    id: str
    name: str
    occupation: str
    years: int
    level: int
    education: int
    field: str
    school: str
    grad_year: int
    city: str
    relocate: bool
    salary: int  # expected, thousands of dollars
    skills: tuple  # skill keys, sorted
    tools: dict  # skill key -> the tool the skills line names
    experiences: list
    cv: str = ""

    @property
    def industry(self) -> str:
        return self.experiences[0].industry

    @property
    def company_types(self) -> frozenset:
        return frozenset(e.ctype for e in self.experiences)

    def facts(self) -> SeekerFacts:
        return SeekerFacts(skills=frozenset(self.skills), level=self.level, years=self.years,
                           education=self.education, salary=self.salary, city=self.city,
                           relocate=self.relocate, industry=self.industry, company_types=self.company_types)


@dataclass
class Job:
    """A posting: true facts, the recruiter's hidden tastes, and the JD."""

    id: str
    occupation: str
    level: int
    title: str
    company: str
    descriptor: str
    industry: str
    ctype: str
    city: str | None
    remote: bool
    salary_min: int
    salary_max: int
    show_salary: bool
    required: tuple
    nice: tuple
    education: int
    field: str
    min_years: int
    latent: Latent = field(default_factory=Latent)
    jd: str = ""

    def facts(self) -> JobFacts:
        return JobFacts(required=frozenset(self.required), nice=frozenset(self.nice), level=self.level,
                        min_years=self.min_years, education=self.education, salary_min=self.salary_min,
                        salary_max=self.salary_max, city=self.city, remote=self.remote, industry=self.industry)


def _cum(weights) -> tuple:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return tuple(out)


_CUM = {}


def _weighted(rng: random.Random, items, weights):
    """One weighted draw; cumulative weights are cached per weight tuple (a hot path)."""
    key = tuple(weights)
    cum = _CUM.get(key)
    if cum is None:
        cum = _CUM[key] = _cum(key)
    return rng.choices(items, cum_weights=cum, k=1)[0]


class World:
    """Generator of seekers and jobs; ids are unique within one world (``s000001``, ``j000001``).

    ``World(seed)`` alone draws nothing; call :meth:`new_seeker` / :meth:`new_job`, or use
    :func:`make_world` for a ready sample.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.rng = random.Random(f"girl-world-{seed}")
        self.n_seekers = 0
        self.n_jobs = 0
        self.seekers: list[Seeker] = []
        self.jobs: list[Job] = []
        self._facts: dict = {}

    # ------------------------------------------------------------------ companies
    def _company(self, industry: str, rng: random.Random) -> tuple[str, str, str]:
        ctype = _weighted(rng, T.COMPANY_TYPES, TYPE_WEIGHTS)
        adjective = rng.choice(T.INDUSTRIES[industry].adjectives)
        noun = rng.choice(T.TYPE_NOUNS[ctype])
        name = rng.choice(COMPANY_HEADS) + rng.choice(COMPANY_TAILS)
        return name, f"{adjective} {noun}", ctype

    def _industry_for(self, occ: T.Occupation, rng: random.Random, p_home: float) -> str:
        if occ.portable and rng.random() > p_home:
            return rng.choice(tuple(T.INDUSTRIES))
        return occ.industry

    @staticmethod
    def _title(occ: T.Occupation, level: int, rng: random.Random) -> str:
        prefixes = T.LEVEL_PREFIXES[level]
        if level == 3 and occ.industry in T.TECHNICAL_INDUSTRIES:
            prefixes = prefixes + ("Principal",)
        prefix = rng.choice(prefixes)
        base = rng.choice(occ.titles)
        return f"{prefix} {base}".strip()

    # ------------------------------------------------------------------ seekers
    def new_seeker(self, occupation: str | None = None, rng: random.Random | None = None) -> Seeker:
        """Draw one seeker (occupation by popularity unless given) and render the CV."""
        rng = rng or self.rng
        self.n_seekers += 1
        occ_id = T.OCC_INDEX[occupation] if occupation else _weighted(rng, _OCC_IDS, OCC_WEIGHTS)
        occ = T.OCCUPATIONS[occ_id]
        level = _weighted(rng, range(4), LEVEL_WEIGHTS)
        years = rng.randint(*LEVEL_YEARS[level])
        edu = min(3, max(0, occ.education + _weighted(rng, (-1, 0, 1), (0.15, 0.65, 0.20))))
        if occ.education == 3:
            edu = 3
        city = _weighted(rng, T.CITIES, CITY_WEIGHTS)
        industry = T.INDUSTRIES[occ.industry]
        base = occ.salary_k * T.LEVEL_PAY[level] * city.pay * industry.pay
        salary = int(round(base * rng.lognormvariate(0.0, 0.13)))

        q = min(0.97, max(0.3, 0.55 + 0.08 * level + rng.gauss(0.0, 0.15)))
        skills = [k for k in occ.core if rng.random() < q]
        while len(skills) < 2:
            extra = rng.choice(occ.core)
            if extra not in skills:
                skills.append(extra)
        skills += [k for k in occ.optional if rng.random() < 0.3]
        prev_occ = None
        if T.RELATED[occ_id] and rng.random() < 0.2:  # career changer: brings skills of a related job
            prev_occ = T.OCCUPATIONS[rng.choice(T.RELATED[occ_id][:4])]
            skills += rng.sample(prev_occ.core, k=min(2, len(prev_occ.core)))
        skills = tuple(sorted(set(skills)))
        tools = {k: rng.choice(T.SKILLS[T.SKILL_INDEX[k]].tools) for k in skills}

        experiences = self._career(occ, prev_occ, level, years, rng)
        grad_year = T.CURRENT_YEAR - years - rng.randint(0, 2)
        seeker = Seeker(
            id=f"s{self.n_seekers:06d}", name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            occupation=occ.key, years=years, level=level, education=edu, field=rng.choice(occ.fields),
            school=rng.choice(SCHOOLS), grad_year=grad_year, city=city.name, relocate=rng.random() < 0.2,
            salary=salary, skills=skills, tools=tools, experiences=experiences)
        seeker.cv = render_cv(seeker, rng)
        return seeker

    def _career(self, occ, prev_occ, level, years, rng) -> list[Experience]:
        n = {0: 1, 1: rng.choice((1, 2)), 2: rng.choice((2, 3)), 3: rng.choice((2, 3))}[level]
        n = min(n, years)
        cuts = sorted(rng.sample(range(1, years), n - 1)) if n > 1 else []
        bounds = [0] + cuts + [years]  # years before now, newest role first
        home = self._industry_for(occ, rng, p_home=0.6)
        out = []
        for k in range(n):
            role_occ = prev_occ if (prev_occ is not None and k == n - 1 and n > 1) else occ
            role_level = max(0, level - k)
            industry = home if (k == 0 or rng.random() < 0.7) else self._industry_for(role_occ, rng, 0.5)
            name, descriptor, ctype = self._company(industry, rng)
            end = None if k == 0 else T.CURRENT_YEAR - bounds[k]
            start = T.CURRENT_YEAR - bounds[k + 1]
            out.append(Experience(self._title(role_occ, role_level, rng), name, descriptor, industry, ctype,
                                  start, end, role_level))
        return out

    # ------------------------------------------------------------------ jobs
    def new_job(self, occupation: str | None = None, level: int | None = None, city: str | None = None,
                rng: random.Random | None = None) -> Job:
        """Draw one posting (occupation/level/city drawn unless given) and render the JD."""
        rng = rng or self.rng
        self.n_jobs += 1
        occ_id = T.OCC_INDEX[occupation] if occupation else _weighted(rng, _OCC_IDS, OCC_WEIGHTS)
        occ = T.OCCUPATIONS[occ_id]
        if level is None:
            level = _weighted(rng, range(4), LEVEL_WEIGHTS)
        industry = self._industry_for(occ, rng, p_home=0.6)
        company, descriptor, ctype = self._company(industry, rng)
        remote = occ.portable and occ.industry in REMOTE_INDUSTRIES and rng.random() < REMOTE_SHARE
        city_obj = None
        if not remote:
            city_obj = (next(c for c in T.CITIES if c.name == city) if city
                        else _weighted(rng, T.CITIES, CITY_WEIGHTS))
        pay = city_obj.pay if city_obj else 1.05
        center = occ.salary_k * T.LEVEL_PAY[level] * pay * T.INDUSTRIES[industry].pay * rng.uniform(0.92, 1.1)
        n_req = min(len(occ.core), rng.choice((3, 4, 4, 5)))
        required = tuple(sorted(rng.sample(occ.core, k=n_req)))
        nice = tuple(sorted(rng.sample(occ.optional, k=min(len(occ.optional), rng.choice((1, 2))))))
        education = occ.education if rng.random() < 0.8 else max(0, occ.education - 1)
        min_years = rng.choice((0, 1)) if level == 0 else T.LEVEL_MIN_YEARS[level]
        job = Job(
            id=f"j{self.n_jobs:06d}", occupation=occ.key, level=level, title=self._title(occ, level, rng),
            company=company, descriptor=descriptor, industry=industry, ctype=ctype,
            city=city_obj.name if city_obj else None, remote=remote,
            salary_min=int(round(center * 0.88)), salary_max=int(round(center * 1.12)),
            show_salary=rng.random() < 0.9, required=required, nice=nice, education=education,
            field=rng.choice(occ.fields), min_years=min_years,
            latent=Latent(liked_skill=rng.choice(nice) if nice else None,
                          liked_type=rng.choice(T.COMPANY_TYPES)))
        job.jd = render_jd(job, rng)
        return job

    # ------------------------------------------------------------------ feedback
    def _facts_of(self, obj):
        key = obj.id
        facts = self._facts.get(key)
        if facts is None:
            facts = self._facts[key] = obj.facts()
        return facts

    def fit(self, seeker: Seeker, job: Job) -> float:
        """Noiseless fit probability with the recruiter's hidden tastes (see :mod:`girl_lib.world.fit`)."""
        return fit_probability(self._facts_of(seeker), self._facts_of(job), job.latent)

    def terms(self, seeker: Seeker, job: Job):
        """The named terms of the fit formula for this pair (for plots)."""
        return fit_terms(self._facts_of(seeker), self._facts_of(job), job.latent)

    def feedback(self, seeker: Seeker, job: Job, rng: random.Random | None = None) -> int:
        """One noisy observed outcome (1 = matched: both sides satisfied)."""
        return sample_feedback(self._facts_of(seeker), self._facts_of(job), job.latent, rng or self.rng)

    def sample_pairs(self, n: int, seed: int = 0, same_share: float = 0.5) -> list[dict]:
        """``n`` random (seeker, job) pairs of this world's lists, ``same_share`` of them within one occupation,
        as flat dicts (ids, occupations, every fit term, ``fit`` and an observed ``label``) for plots."""
        rng = random.Random(f"girl-pairs-{self.seed}-{seed}")
        by_occ: dict = {}
        for job in self.jobs:
            by_occ.setdefault(job.occupation, []).append(job)
        out = []
        for _ in range(n):
            seeker = rng.choice(self.seekers)
            same = by_occ.get(seeker.occupation)
            job = rng.choice(same) if same and rng.random() < same_share else rng.choice(self.jobs)
            terms = self.terms(seeker, job)
            out.append({"seeker_id": seeker.id, "job_id": job.id, "occupation": seeker.occupation,
                        "job_occupation": job.occupation, "industry": seeker.industry,
                        **{k: getattr(terms, k) for k in terms.__dataclass_fields__},
                        "fit": self.fit(seeker, job), "label": self.feedback(seeker, job, rng)})
        return out


def make_world(seed: int = 0, n_seekers: int = 300, n_jobs: int = 300) -> World:
    """A world with ``n_seekers`` seekers and ``n_jobs`` jobs drawn, for notebooks and plots.

    >>> w = make_world(0, 50, 50)
    >>> w.fit(w.seekers[0], w.jobs[0])  # noiseless probability that both sides say yes
    """
    world = World(seed)
    world.seekers = [world.new_seeker() for _ in range(n_seekers)]
    world.jobs = [world.new_job() for _ in range(n_jobs)]
    return world
