"""The oracle recruiter: parses CV and JD *texts* back into facts and scores them with the hidden formula.

Because it reads text, it can judge JDs written by a model as well as the world's own. Parsing goes
through the taxonomy: every alias or tool mentioned names a skill ("Tableau" -> data visualisation),
"6+ years" or a "Senior" title gives seniority, "$85k–$105k" a salary band, "BSc"/"Master's" an
education level, a city name or "Remote" the place, and "a fintech startup" the industry and kind of
employer. :func:`oracle_fit` is the noiseless fit probability of :mod:`girl_lib.world.fit` with the
recruiter's hidden tastes replaced by their expectation.

Messy text never raises: any string (empty, garbage, no sections, no salary) gives a float in [0, 1].
How a JD that leaves facts out is read depends on the recruiter (:data:`.recruiter.RECRUITERS`): the
default ``"posting"`` recruiter reads it as a real posting of its occupation, filling what is missing with
the occupation's usual values (:mod:`girl_lib.world.recruiter`); the ``"lenient"`` one (the project's first,
kept for the lesson on reward hacking) scores missing facts as neutral and counts coverage over the
requirements named only, so a JD that asks for less scores higher.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from . import taxonomy as T
from . import recruiter as R
from .fit import FitTerms, JobFacts, SeekerFacts, fit_probability, fit_terms
from .texts import JD_SECTIONS, jd_format_ok, section_text

_KEYWORDS = T.keyword_table()
_SKILL_RE = T.keyword_regex(_KEYWORDS)
_CITY_RE = re.compile(r"(?<![\w])(" + "|".join(re.escape(c) for c in T.CITY_NAMES) + r")(?![\w])", re.IGNORECASE)
_CITY_CANON = {c.lower(): c for c in T.CITY_NAMES}
_ADJ = {a.lower(): key for key, ind in T.INDUSTRIES.items() for a in ind.adjectives}
_TYPE = {n.lower(): t for t, nouns in T.TYPE_NOUNS.items() for n in nouns}
_NOUNS = sorted(set(_TYPE) | set(T.GENERIC_COMPANY_NOUNS), key=len, reverse=True)
_EMPLOYER_RE = re.compile(
    r"(?<![\w])(" + "|".join(re.escape(a) for a in sorted(_ADJ, key=len, reverse=True)) + r")\s+("
    + "|".join(re.escape(n) for n in _NOUNS) + r")(?![\w])", re.IGNORECASE)
_YEARS_RE = re.compile(r"(?<![\w.])(\d{1,2})\s*\+?\s*(?:(?:-|–|to)\s*\d{1,2}\s*)?(?:years?|yrs)\b", re.IGNORECASE)
_SPAN_RE = re.compile(r"\b((?:19|20)\d\d)\s*(?:-|–|—|to)\s*((?:19|20)\d\d|present|now|today|current)\b",
                      re.IGNORECASE)
_MONEY = r"\$\s?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*([kK]\b)?"
_MONEY_RE = re.compile(_MONEY)
_RANGE_RE = re.compile(_MONEY + r"\s*(?:-|–|—|to)\s*\$?\s?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*([kK]\b)?")
_EDU_RES = (
    (3, re.compile(r"\b(ph\.?\s?d|doctorate|doctoral|doctor of|pharmd)\b", re.IGNORECASE)),
    (2, re.compile(r"\b(master's|masters|master of|master degree|m\.?sc|mba|m\.eng|ma in)\b", re.IGNORECASE)),
    (1, re.compile(r"\b(bachelor(?:'s|s)?|b\.?sc|b\.eng|beng|ba in|b\.a\.|undergraduate degree)\b", re.IGNORECASE)),
    (0, re.compile(r"\b(high school|vocational|apprenticeship|diploma|ged)\b", re.IGNORECASE)),
)
_GENERIC_DEGREE_RE = re.compile(r"\bdegree\b", re.IGNORECASE)
_NICE_RE = re.compile(r"nice to have|bonus|is a plus|a plus\b|preferred|desirable|ideally", re.IGNORECASE)
_REMOTE_RE = re.compile(r"\bremote\b", re.IGNORECASE)
_RELOCATE_RE = re.compile(r"relocat", re.IGNORECASE)
_TITLE_LEVEL = ((3, re.compile(r"\b(lead|principal|head of|director)\b", re.IGNORECASE)),
                (2, re.compile(r"\b(senior|sr\.?)\b", re.IGNORECASE)),
                (0, re.compile(r"\b(junior|jr\.?|graduate|entry-level|entry level|trainee|intern)\b", re.IGNORECASE)))


def _text(x) -> str:
    return x if isinstance(x, str) else ("" if x is None else str(x))


def find_skills(text: str) -> list[str]:
    """Skill keys mentioned in ``text`` (by alias or tool), sorted and without duplicates."""
    ids = {_KEYWORDS[m.group(1).lower()] for m in _SKILL_RE.finditer(_text(text))}
    return sorted(T.SKILLS[i].key for i in ids)


def _money_k(num: str, k: str | None) -> float | None:
    value = float(num.replace(",", ""))
    if k:
        return value
    if value >= 1000:
        return value / 1000.0
    return value if value >= 15 else None  # "$12" is hourly or noise, not a yearly salary in thousands


def _salary_range(text: str) -> tuple[float | None, float | None]:
    m = _RANGE_RE.search(text)
    if m:
        k_lo = m.group(2) or m.group(4)  # "$85-105k": the k of the upper bound applies to both
        lo, hi = _money_k(m.group(1), k_lo), _money_k(m.group(3), m.group(4) or m.group(2))
        if lo and hi:
            return (min(lo, hi), max(lo, hi))
    m = _MONEY_RE.search(text)
    if m:
        v = _money_k(m.group(1), m.group(2))
        return (v, v)
    return (None, None)


def _employers(text: str) -> list[tuple[str, str | None]]:
    """(industry, company type or None) for each "fintech startup"-like phrase, in order."""
    return [(_ADJ[m.group(1).lower()], _TYPE.get(m.group(2).lower())) for m in _EMPLOYER_RE.finditer(text)]


def _education_levels(text: str) -> list[int]:
    levels = [lvl for lvl, rx in _EDU_RES if rx.search(text)]
    if not levels and _GENERIC_DEGREE_RE.search(text):
        levels = [1]
    return levels


def _city(text: str) -> str | None:
    m = _CITY_RE.search(text)
    return _CITY_CANON[m.group(1).lower()] if m else None


def parse_cv(text: str) -> dict:
    """Facts a recruiter reads from a CV: skills, years, level, education, salary, city, relocate, industry,
    company_types. Missing facts are ``None`` (or empty); never raises."""
    text = _text(text)
    years = None
    m = _YEARS_RE.search(text)
    if m:
        years = float(m.group(1))
    else:
        spans = [(int(a), T.CURRENT_YEAR if not b[0].isdigit() else int(b)) for a, b in _SPAN_RE.findall(text)]
        total = sum(max(0, b - a) for a, b in spans)
        years = float(total) if spans else None
    levels = _education_levels(text)
    employers = _employers(text)
    salary = _MONEY_RE.search(text)
    return {
        "skills": find_skills(text),
        "years": years,
        "level": T.level_from_years(years) if years is not None else None,
        "education": max(levels) if levels else None,
        "salary": _money_k(salary.group(1), salary.group(2)) if salary else None,
        "city": _city(text),
        "relocate": bool(_RELOCATE_RE.search(text)),
        "industry": employers[0][0] if employers else None,
        "company_types": sorted({t for _, t in employers if t}),
    }


def parse_jd(text: str) -> dict:
    """Facts a seeker reads from a JD: required and nice-to-have skills, min years, level, education,
    salary band, city, remote, industry, and whether both sections are present. Never raises."""
    text = _text(text)
    nice_lines = [ln for ln in text.splitlines() if _NICE_RE.search(ln)]
    core_text = "\n".join(ln for ln in text.splitlines() if not _NICE_RE.search(ln))
    nice = set(find_skills("\n".join(nice_lines)))
    required = set(find_skills(core_text))
    reqs = section_text(text, JD_SECTIONS[1])
    scope = reqs if reqs else core_text
    m = _YEARS_RE.search(scope) or _YEARS_RE.search(core_text)
    min_years = float(m.group(1)) if m else None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    title = lines[0].strip() if lines else ""
    level = T.level_from_years(min_years) if min_years is not None else None
    if level is None:
        level = next((lvl for lvl, rx in _TITLE_LEVEL if rx.search(title)), None)
    levels = _education_levels(core_text)
    pay_line = next((ln for ln in lines if re.search(r"salary|pay\b|compensation|\$", ln, re.IGNORECASE)), "")
    lo, hi = _salary_range(pay_line)
    employers = _employers(text)
    city = _city(text)
    return {
        "title": title,
        "required": sorted(required),
        "nice": sorted(nice - required),
        "min_years": min_years,
        "level": level,
        "education": min(levels) if levels else None,
        "salary_min": lo,
        "salary_max": hi,
        "city": city,
        "remote": bool(_REMOTE_RE.search(text)),
        "industry": employers[0][0] if employers else None,
        "format_ok": jd_format_ok(text),
    }


def seeker_facts(parsed: dict) -> SeekerFacts:
    """:class:`SeekerFacts` from a :func:`parse_cv` dict."""
    return SeekerFacts(skills=frozenset(parsed["skills"]), level=parsed["level"], years=parsed["years"],
                       education=parsed["education"], salary=parsed["salary"], city=parsed["city"],
                       relocate=parsed["relocate"], industry=parsed["industry"],
                       company_types=frozenset(parsed["company_types"]))


def job_facts(parsed: dict) -> JobFacts:
    """:class:`JobFacts` from a :func:`parse_jd` dict."""
    return JobFacts(required=frozenset(parsed["required"]), nice=frozenset(parsed["nice"]), level=parsed["level"],
                    min_years=parsed["min_years"], education=parsed["education"], salary_min=parsed["salary_min"],
                    salary_max=parsed["salary_max"], city=parsed["city"], remote=parsed["remote"],
                    industry=parsed["industry"])


@functools.lru_cache(maxsize=8192)
def _cv_facts(text: str) -> SeekerFacts:
    return seeker_facts(parse_cv(text))


@functools.lru_cache(maxsize=8192)
def _jd_facts(text: str) -> JobFacts:
    return job_facts(parse_jd(text))


@functools.lru_cache(maxsize=8192)
def jd_occupation(text: str) -> int | None:
    """The occupation (index into ``taxonomy.OCCUPATIONS``) a JD is read as (:func:`.recruiter.infer_occupation`)."""
    parsed = parse_jd(_text(text))
    return R.infer_occupation(parsed["title"], parsed["required"], parsed["nice"])


def check_recruiter(recruiter: str) -> str:
    if recruiter not in R.RECRUITERS:
        raise ValueError(f"recruiter={recruiter!r} is not one of {R.RECRUITERS}; set recruiter.kind to one of them")
    return recruiter


def oracle_terms(cv: str, jd: str, recruiter: str = "posting") -> list[FitTerms]:
    """The fit terms the recruiter reads for a CV and a JD: one per completion of the JD (``"posting"``)
    or a single one (``"lenient"``)."""
    s, j = _cv_facts(_text(cv)), _jd_facts(_text(jd))
    if check_recruiter(recruiter) == "lenient":
        return [fit_terms(s, j, None)]
    return R.posting_terms(s, j, jd_occupation(_text(jd)))


def oracle_fit(cv: str, jd: str, recruiter: str = "posting") -> float:
    """Noiseless fit probability in [0, 1] of a CV and a JD, read from their texts (see module docstring).

    Parsed facts are cached per text, so scoring one CV against many JDs parses it once."""
    if check_recruiter(recruiter) == "lenient":
        p = fit_probability(_cv_facts(_text(cv)), _jd_facts(_text(jd)), latent=None)
    else:
        p = R.fit_of_terms(oracle_terms(cv, jd, recruiter))
    return min(1.0, max(0.0, float(p)))


def fit_contributions(cv: str, jd_a: str, jd_b: str, recruiter: str = "posting") -> dict:
    """``{term group: contribution}`` to ``oracle_fit(cv, jd_b) - oracle_fit(cv, jd_a)``
    (:func:`.recruiter.fit_contributions`, exact Shapley values over :data:`.recruiter.TERM_GROUPS`)."""
    return R.fit_contributions(oracle_terms(cv, jd_a, recruiter), oracle_terms(cv, jd_b, recruiter))


@dataclass(frozen=True)
class Recruiter:
    """The hidden recruiter of one kind (:data:`.recruiter.RECRUITERS`) as a callable ``(cv, jd) -> fit``,
    with :meth:`contributions` for the term split of a difference."""

    kind: str = "posting"

    def __post_init__(self):
        check_recruiter(self.kind)

    def __call__(self, cv: str, jd: str) -> float:
        return oracle_fit(cv, jd, self.kind)

    def contributions(self, cv: str, jd_a: str, jd_b: str) -> dict:
        return fit_contributions(cv, jd_a, jd_b, self.kind)
