"""The offline judge, :class:`RubricJudge` (oracle-based, NOT an LLM): per-JD scores of detail
(:func:`detail_score`, completeness against a real posting), relevance (the hidden recruiter) and
conciseness (:func:`conciseness_score`), turned into verdict lines."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..metrics import distinct_ngram_ratio, words
from ..realism import requirement_lines
from ..world import JD_SECTIONS, oracle_fit, parse_cv, parse_jd
from ..world.texts import section_text
from .verdicts import ASPECTS, format_verdict, split_judge_messages


_SALARY = re.compile(r"salary|compensation|\bpay\b|\d\s*[kK]\b|[$€£¥]\s*\d|\d\s*(?:usd|eur|gbp|cny|rmb|yuan)\b|"
                     r"per (?:month|year|annum|hour)", re.IGNORECASE)
_CITY = re.compile(r"^\W*(?:city|location|based in|workplace|office)\b", re.IGNORECASE | re.MULTILINE)
_NICE = re.compile(r"nice to have|bonus|is a plus|a plus\b|preferred|desirable|ideally", re.IGNORECASE)
_BAND = re.compile(r"\d[\d,.]*\s*[kK]?\s*(?:-|–|—|to)\s*[$€£¥]?\s*\d")
DETAIL_WEIGHTS = {"sections": 0.2, "requirements": 0.3, "level": 0.15, "salary": 0.1, "location": 0.1,
                  "education": 0.15}
"""Weights of :func:`detail_parts` in :func:`detail_score` (they sum to 1)."""
REAL_REQUIREMENT_LINES = (3, 5)
"""Skill requirement lines of a real posting of the world (it names 3-5 required skills, one per line)."""


def _skill_line(line: str) -> bool:
    """A requirement line asking for a skill: not a years, education or nice-to-have line."""
    if _NICE.search(line):
        return False
    p = parse_jd(line)
    return p["min_years"] is None and p["education"] is None


def detail_parts(jd: str) -> dict[str, float]:
    """Each part of :func:`detail_score` in [0, 1]:

    - ``sections``: half for each of ``Responsibilities:`` and ``Requirements:`` present and not empty;
    - ``requirements``: closeness of the number n of skill requirement lines (lines of the Requirements
      section that are not years, education or nice-to-have lines) to a real posting's 3-5: 1 for 3-5,
      n / 3 below, ``1 - (n - 5) / 5`` above (0 from 10 lines: a longer list is not a more real one);
    - ``level``: a level is stated (years, or a seniority word in the title; :func:`girl_lib.world.parse_jd`);
    - ``salary``: 1 for a salary band (a range on a salary line), 0.5 for a salary line without one;
    - ``location``: a city or "remote" the parser reads, or a ``Location:``/``City:`` line;
    - ``education``: an education level is stated.
    """
    jd = jd or ""
    p = parse_jd(jd)
    n = sum(_skill_line(line) for line in requirement_lines(jd) if line)
    lo, hi = REAL_REQUIREMENT_LINES
    pay = [line for line in jd.splitlines() if _SALARY.search(line)]
    return {
        "sections": sum(bool(re.search(r"[A-Za-z0-9]", section_text(jd, h) or "")) for h in JD_SECTIONS) / 2,
        "requirements": 1.0 if lo <= n <= hi else n / lo if n < lo else max(0.0, 1.0 - (n - hi) / hi),
        "level": float(p["level"] is not None),
        "salary": 1.0 if any(_BAND.search(line) for line in pay) else 0.5 if pay else 0.0,
        "location": float(p["city"] is not None or p["remote"] or bool(_CITY.search(jd))),
        "education": float(p["education"] is not None),
    }


def detail_score(jd: str) -> float:
    """Completeness read against a real posting, in [0, 1]: the weighted sum (:data:`DETAIL_WEIGHTS`) of
    :func:`detail_parts`: both sections, 3-5 skill requirement lines, a stated level or years, a salary
    band, a location and an education level. A real JD of the world scores ~1 (0.95 when its salary is
    "competitive"); more bullets or words do not raise it, a list longer than a real one lowers it."""
    parts = detail_parts(jd)
    return float(sum(DETAIL_WEIGHTS[k] * v for k, v in parts.items()))


def conciseness_score(jd: str, typical_words: tuple[int, int] = (60, 110)) -> float:
    """Readability in [0, 1]: 1 minus penalties for repetition (1 - distinct 3-gram ratio), a length
    far from a typical JD (``typical_words``), and broken layout (no line breaks, an over-long line, a
    repeated section header, control characters; 0.25 each)."""
    n_words = len(words(jd))
    if n_words == 0:
        return 0.0
    lo, hi = typical_words
    length_pen = (lo - n_words) / lo if n_words < lo else min(1.0, (n_words - hi) / hi) if n_words > hi else 0.0
    lines = [line for line in jd.splitlines() if line.strip()]
    broken = [len(lines) <= 1 and n_words > 30,
              any(len(line) > 400 for line in lines),
              any(jd.lower().count(s.lower()) > 1 for s in JD_SECTIONS),
              bool(re.search(r"[\x00-\x08\x0b-\x1f\ufffd]", jd))]
    score = 1.0 - (1.0 - distinct_ngram_ratio(jd)) - 0.5 * length_pen - 0.25 * sum(broken)
    return max(0.0, score)


RUBRIC_SOURCES = ("judge/rubric.py", "judge/verdicts.py", "prompts.py", "world", "realism.py", "metrics.py")
"""The code a rubric reply is computed from (paths under ``girl_lib/``): the rubric, the hidden recruiter and
its parsers, the prompt splitter, the realism and text measures."""


def rubric_code_digest(root: str | Path | None = None) -> str:
    """sha256 (12 hex digits) of the :data:`RUBRIC_SOURCES` under ``root`` (default: this ``girl_lib``)."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for rel in RUBRIC_SOURCES:
        path = root / rel
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


class RubricJudge:
    """Offline rubric judge, oracle-based, NOT an LLM.

    Per JD: detail = :func:`detail_score`, relevance = ``fit_fn(cv, jd)`` (default: the hidden oracle
    recruiter ``world.oracle_fit``), conciseness = :func:`conciseness_score`. Per aspect, A or B wins
    when its score is higher by more than ``margins[aspect]``, else [[C]]; overall is the majority of
    the three aspect verdicts (a tie when A and B win equally many). The reply has the same format as
    an LLM's, so it goes through :func:`parse_verdict`. Deterministic and position-invariant.
    """

    max_concurrency = 1
    name = "rubric (oracle-based, not an LLM)"

    def __init__(self, fit_fn=None, margins: dict | None = None):
        self.fit_fn = fit_fn
        self.margins = {"detail": 0.05, "relevance": 0.02, "conciseness": 0.05, **(margins or {})}
        # The reply cache's key: a reply is a function of this code, the recruiter it reads and the margins, so a
        # change to any of them must not find the old replies (a hand-kept "rubric-v2" once outlived a change
        # of the recruiter's reading, and a rebuilt judge stage served verdicts of the old reading).
        fit = "oracle" if fit_fn is None else getattr(fit_fn, "__qualname__", type(fit_fn).__name__)
        margins_id = ",".join(f"{a}={self.margins[a]:g}" for a in ASPECTS)
        self.cache_id = f"rubric-{rubric_code_digest()}-{fit}-{margins_id}"

    def _fit(self, cv: str, jd: str) -> float:
        return float((self.fit_fn or oracle_fit)(cv, jd))

    def scores(self, cv: str, jd: str) -> dict[str, float]:
        """The three aspect scores of one JD for one CV."""
        return {"detail": detail_score(jd), "relevance": self._fit(cv, jd), "conciseness": conciseness_score(jd)}

    def judge(self, messages: list[dict]) -> str:
        cv, jd_a, jd_b = split_judge_messages(messages)
        sa, sb = self.scores(cv, jd_a), self.scores(cv, jd_b)
        verdict = {}
        for a in ASPECTS:
            diff = sa[a] - sb[a]
            verdict[a] = "A" if diff > self.margins[a] else "B" if diff < -self.margins[a] else "C"
        n_a, n_b = sum(v == "A" for v in verdict.values()), sum(v == "B" for v in verdict.values())
        verdict["overall"] = "A" if n_a > n_b else "B" if n_b > n_a else "C"
        scores = ", ".join(f"{a} {sa[a]:.3f}/{sb[a]:.3f}" for a in ASPECTS)
        return f"Rubric scores (JD A/JD B; oracle-based, not an LLM): {scores}\n{format_verdict(verdict)}"


def world_readable(cv: str) -> bool:
    """Whether the rubric can read ``cv``: the synthetic world's parser finds at least one of its skills and its
    city or salary. The rubric's relevance is the hidden recruiter of *that* world; on other CVs it is noise."""
    facts = parse_cv(cv)
    return bool(facts["skills"]) and (facts["city"] is not None or facts["salary"] is not None)
