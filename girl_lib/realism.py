"""How *realistic* generated JDs are: the content a real posting of the world carries, measured on text.

An audit of the ``cpu`` reference run found GIRL's JDs name fewer requirements than real postings (1.7
parsed required skills per JD against 3.4-3.6; 98% of real JDs name 3-5), collapse the level to "3+
years", and copy CV phrases. :func:`realism` measures this on any set of (CV, JD) pairs, :func:`realism_diff`
compares two generators on the same CVs. This is *measurement*: it reads texts with the world's parsers
(:func:`girl_lib.world.parse_jd` / :func:`~girl_lib.world.parse_cv`) and never feeds a model.

Per JD (means / shares over the JDs given):

- ``n_required_mean``: required skills the parser reads (``len(parse_jd(jd)["required"])``);
  ``share_required_3_5``: share of JDs naming 3 to 5 of them (the range of the world's real postings);
- ``unreadable_requirement_lines``: mean per JD of the non-blank lines of the ``Requirements:`` section
  (bullet markers stripped) from which the parser reads nothing: no required or nice-to-have skill, no
  years, no education;
- ``level_distribution``: share of JDs per parsed level (``"0"`` .. ``"3"``, from years or a seniority
  word in the title) and ``"missing"``; ``level_corr``: Pearson correlation of the JD's level with the
  seeker's level read from the CV, over the pairs where both are known (``None`` with fewer than 2 such
  pairs or no variance);
- ``band_to_ask``: ``median`` of ``salary_max / asked salary`` (JDs with a band and a CV with an ask),
  ``missing``: share of JDs without a band, ``below_ask``: share of JDs whose band's top is below the
  CV's ask (among JDs with a band and a CV with an ask), ``n``: how many pairs the median and
  ``below_ask`` are taken over;
- ``sections_present``: share of JDs with a title line, a company, a location, a salary line, and the
  ``Responsibilities:`` and ``Requirements:`` sections (see :func:`sections` for each test);
- ``cv_copy_rate``: share of the JD's word 4-grams (with repeats) that occur in its CV, averaged over
  the JDs with at least one 4-gram (``None`` when none has);
- ``n_jds``.

Intervals: with ``groups`` (one CV id per JD), ``ci95`` holds 95% percentile-bootstrap intervals of
``share_required_3_5`` and ``level_corr`` that resample whole groups (all JDs of a drawn CV come along;
:func:`girl_lib.metrics.bootstrap_ci` over group indices). :func:`realism_diff` gives ``B - A`` for two
generators with a paired bootstrap over the CVs they share, in the ``{"mean", "ci95", "n"}`` format of
:func:`girl_lib.ppo.paired_difference` that :func:`girl_lib.report.diff_text` prints.

Parses are cached per text, so a few hundred JDs take well under a second.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Sequence

import numpy as np

from .metrics import bootstrap_ci, words
from .runio import GirlError
from .world import parse_cv, parse_jd
from .world.texts import JD_SECTIONS, section_text

REAL_RANGE = (3, 5)
"""Required skills a real posting of the world names (98% of them): ``share_required_3_5`` counts this range."""
LEVELS = ("0", "1", "2", "3", "missing")
"""Keys of ``level_distribution`` (JSON keys are strings): junior, mid, senior, lead, not stated."""
SECTION_KEYS = ("title", "company", "location", "salary", "responsibilities", "requirements")
"""Keys of ``sections_present``."""
COPY_N = 4
"""``cv_copy_rate`` counts word n-grams of this length."""
DIFF_METRICS = ("share_required_3_5", "n_required_mean", "level_corr")
"""What :func:`realism_diff` compares."""

_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s*")
_TITLE_FIELD = re.compile(r"^\s*(?:job title|job|title|position|role)\s*:\s*", re.IGNORECASE)
_NOT_TITLE = re.compile(r"[:|$\d]")
_COMPANY_FIELD = re.compile(r"^\W*(?:company|employer|organi[sz]ation)\s*:", re.IGNORECASE | re.MULTILINE)
_NOT_COMPANY = re.compile(r"[|$:]|\b(?:remote|on-site|hybrid|salary|location)\b", re.IGNORECASE)
_LOCATION_FIELD = re.compile(r"^\W*(?:location|city|based in|workplace)\b", re.IGNORECASE | re.MULTILINE)
_SALARY_LINE = re.compile(r"salary|compensation|\bpay\b|\$\s?\d", re.IGNORECASE)


# --------------------------------------------------------------------------- per text (cached)
@functools.lru_cache(maxsize=16384)
def _jd(text: str) -> dict:
    return parse_jd(text)


@functools.lru_cache(maxsize=16384)
def _cv(text: str) -> dict:
    return parse_cv(text)


def requirement_lines(jd: str) -> list[str]:
    """The non-blank lines of the JD's ``Requirements:`` section, bullet markers stripped (a bare marker
    such as ``2.`` stays as an empty line: it is a requirement line that says nothing); [] without it."""
    body = section_text(jd or "", JD_SECTIONS[1])
    if body is None:
        return []
    return [_BULLET.sub("", line, count=1).strip() for line in body.splitlines() if line.strip()]


def readable(line: str) -> bool:
    """The parser reads something from this requirement line: a required or nice-to-have skill, years, or
    an education level."""
    p = _jd(line)
    return bool(p["required"] or p["nice"]) or p["min_years"] is not None or p["education"] is not None


@functools.lru_cache(maxsize=16384)
def unreadable_lines(jd: str) -> int:
    """How many of :func:`requirement_lines` are not :func:`readable`."""
    return sum(not readable(line) for line in requirement_lines(jd))


def _title_line(jd: str) -> bool:
    lines = [ln.strip() for ln in jd.splitlines() if ln.strip()]
    if not lines or _BULLET.match(lines[0]):
        return False
    title = _TITLE_FIELD.sub("", lines[0], count=1)
    return bool(title) and not _NOT_TITLE.search(title) and len(title.split()) <= 10


def _company_line(jd: str) -> bool:
    """The line after the title reads as an employer: capitalised, at most 8 words, not a bullet, and no
    field, ``|``, ``$``, city or work mode (a location line is not a company)."""
    lines = [ln.strip() for ln in jd.splitlines() if ln.strip()]
    if len(lines) < 2 or _BULLET.match(lines[1]) or not lines[1][0].isupper():
        return False
    line = lines[1]
    return len(line.split()) <= 8 and not _NOT_COMPANY.search(line) and _jd(line)["city"] is None


@functools.lru_cache(maxsize=16384)
def sections(jd: str) -> dict[str, bool]:
    """Which parts of a posting the JD has:

    - ``title``: its first non-blank line (after an optional ``Job:``/``Title:`` field name) is a title: at
      most 10 words, not a bullet, no ``:``, ``|``, ``$`` or digit (not a contact line or a field);
    - ``company``: a ``Company:`` field, an employer phrase the parser reads ("a fintech startup"), or a
      second line that names one (:func:`_company_line`: "Brightpath · design studio", "Bayview College");
    - ``location``: a city the parser knows, "remote", or a ``Location:``/``City:`` line;
    - ``salary``: a line mentioning salary / pay / compensation or a dollar amount ("competitive" counts);
    - ``responsibilities``, ``requirements``: the section header is present.
    """
    p = _jd(jd)
    return {
        "title": _title_line(jd),
        "company": (bool(_COMPANY_FIELD.search(jd)) or p["industry"] is not None
                    or _company_line(jd)),
        "location": p["city"] is not None or p["remote"] or bool(_LOCATION_FIELD.search(jd)),
        "salary": any(_SALARY_LINE.search(line) for line in jd.splitlines()),
        "responsibilities": section_text(jd, JD_SECTIONS[0]) is not None,
        "requirements": section_text(jd, JD_SECTIONS[1]) is not None,
    }


def copy_rate(cv: str, jd: str, n: int = COPY_N) -> float | None:
    """Share of the JD's word n-grams (with repeats) that occur anywhere in the CV; None below n words."""
    jw, cw = words(jd), words(cv)
    grams = [tuple(jw[i:i + n]) for i in range(len(jw) - n + 1)]
    if not grams:
        return None
    cv_grams = {tuple(cw[i:i + n]) for i in range(len(cw) - n + 1)}
    return sum(g in cv_grams for g in grams) / len(grams)


# --------------------------------------------------------------------------- weighted statistics
def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    total = w.sum()
    if total <= 0:
        raise GirlError("realism: no JD to average over")
    return float((w * x).sum() / total)


def _wcorr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted Pearson correlation (integer weights = rows repeated); GirlError where undefined."""
    if w.sum() <= 0 or (w > 0).sum() < 2:
        raise GirlError("realism: a correlation needs at least 2 pairs")
    mx, my = _wmean(x, w), _wmean(y, w)
    cov = (w * (x - mx) * (y - my)).sum()
    vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    if vx <= 1e-12 or vy <= 1e-12:
        raise GirlError("realism: a correlation is undefined without variance")
    return float(cov / np.sqrt(vx * vy))


def _or_none(fn: Callable, *args) -> float | None:
    try:
        return fn(*args)
    except GirlError:
        return None


class _Table:
    """Per-JD columns of one set of (CV, JD) pairs, and the statistics :func:`realism_diff` resamples."""

    def __init__(self, cvs: Sequence[str], jds: Sequence[str]):
        if len(cvs) != len(jds):
            raise GirlError(f"realism: {len(cvs)} CVs but {len(jds)} JDs; give one CV per JD")
        self.cvs = ["" if c is None else str(c) for c in cvs]
        self.jds = ["" if j is None else str(j) for j in jds]
        parsed = [_jd(j) for j in self.jds]
        seekers = [_cv(c) for c in self.cvs]
        self.n_req = np.array([len(p["required"]) for p in parsed], dtype=float)
        self.in_range = ((self.n_req >= REAL_RANGE[0]) & (self.n_req <= REAL_RANGE[1])).astype(float)
        self.jd_level = np.array([np.nan if p["level"] is None else p["level"] for p in parsed], dtype=float)
        self.cv_level = np.array([np.nan if s["level"] is None else s["level"] for s in seekers], dtype=float)
        self.both = ~np.isnan(self.jd_level) & ~np.isnan(self.cv_level)
        self.band = np.array([np.nan if p["salary_max"] is None else p["salary_max"] for p in parsed], dtype=float)
        self.ask = np.array([np.nan if not s["salary"] else s["salary"] for s in seekers], dtype=float)
        self.parsed = parsed

    def stat(self, name: str, w: np.ndarray) -> float:
        if name == "share_required_3_5":
            return _wmean(self.in_range, w)
        if name == "n_required_mean":
            return _wmean(self.n_req, w)
        if name == "level_corr":
            b = self.both
            return _wcorr(self.jd_level[b], self.cv_level[b], w[b])
        raise GirlError(f"realism: unknown statistic {name!r}")


def _group_index(groups, n_rows: int) -> tuple[np.ndarray, list]:
    g = list(groups)
    if len(g) != n_rows:
        raise GirlError(f"realism: {len(g)} group ids for {n_rows} JDs; give one CV id per JD")
    ids = list(dict.fromkeys(g))
    index = {x: i for i, x in enumerate(ids)}
    return np.array([index[x] for x in g], dtype=np.int64), ids


def _ci(stat: Callable[[np.ndarray], float], n_groups: int, n_bootstrap: int, seed: int) -> list:
    """95% interval of ``stat(group counts)`` over resampled groups ([None, None] where undefined)."""
    try:
        stat(np.ones(n_groups))
    except GirlError:
        return [None, None]
    try:
        ci = bootstrap_ci(np.arange(n_groups), lambda idx: stat(np.bincount(idx, minlength=n_groups)),
                          n=n_bootstrap, seed=seed)
    except GirlError:
        return [None, None]
    return [ci["low"], ci["high"]]


# --------------------------------------------------------------------------- the two functions
def realism(cvs: Sequence[str], jds: Sequence[str], groups: Sequence | None = None, n_bootstrap: int = 1000,
            seed: int = 0) -> dict:
    """Realism numbers of JDs ``jds`` written for CVs ``cvs`` (one CV per JD); see the module docstring.

    ``groups`` (one CV id per JD, e.g. several samples per CV) adds ``ci95``: 95% bootstrap intervals of
    ``share_required_3_5`` and ``level_corr`` resampling groups, ``n_bootstrap`` resamples from ``seed``.
    Numbers only (floats, ints, None), JSON-ready."""
    t = _Table(cvs, jds)
    n = len(t.jds)
    out: dict = {"n_jds": n}
    if n == 0:
        return out
    ones = np.ones(n)
    out["n_required_mean"] = t.stat("n_required_mean", ones)
    out["share_required_3_5"] = t.stat("share_required_3_5", ones)
    out["unreadable_requirement_lines"] = float(np.mean([unreadable_lines(j) for j in t.jds]))
    levels = ["missing" if p["level"] is None else str(p["level"]) for p in t.parsed]
    out["level_distribution"] = {k: levels.count(k) / n for k in LEVELS}
    out["level_corr"] = _or_none(t.stat, "level_corr", ones)
    out["n_level_pairs"] = int(t.both.sum())
    known = ~np.isnan(t.band) & ~np.isnan(t.ask)
    out["band_to_ask"] = {"median": float(np.median(t.band[known] / t.ask[known])) if known.any() else None,
                          "missing": float(np.isnan(t.band).mean()),
                          "below_ask": float((t.band[known] < t.ask[known]).mean()) if known.any() else None,
                          "n": int(known.sum())}
    secs = [sections(j) for j in t.jds]
    out["sections_present"] = {k: sum(s[k] for s in secs) / n for k in SECTION_KEYS}
    rates = [r for r in (copy_rate(c, j) for c, j in zip(t.cvs, t.jds)) if r is not None]
    out["cv_copy_rate"] = float(np.mean(rates)) if rates else None
    if groups is not None:
        inv, ids = _group_index(groups, n)
        out["n_groups"] = len(ids)
        out["ci95"] = {name: _ci(lambda c, name=name: t.stat(name, c[inv]), len(ids), n_bootstrap, seed)
                       for name in ("share_required_3_5", "level_corr")}
    return out


def realism_diff(a: tuple, b: tuple, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """``B - A`` of ``share_required_3_5``, ``n_required_mean`` and ``level_corr`` for two generators, each
    given as ``(cvs, jds, groups)`` (one CV text and CV id per JD; several JDs per CV allowed).

    Paired over CVs: only the CV ids both hold count; a resample draws those CVs with replacement and
    brings every JD of each drawn CV, from A and from B alike, so the interval is paired. Returns
    ``{metric: {"mean", "ci95": [lo, hi], "n"}, "n_cvs"}`` where ``mean`` is the difference on the JDs
    themselves and ``n`` the CVs (``mean`` None where the metric is undefined on either side)."""
    tables, invs = [], []
    ids_a, ids_b = list(dict.fromkeys(a[2])), set(b[2])
    shared = [g for g in ids_a if g in ids_b]
    if not shared:
        raise GirlError("realism_diff: the two sets of JDs share no CV id; compare JDs written for the same CVs")
    index = {g: i for i, g in enumerate(shared)}
    for cvs, jds, groups in (a, b):
        if not (len(cvs) == len(jds) == len(groups)):
            raise GirlError(f"realism_diff: {len(cvs)} CVs, {len(jds)} JDs and {len(groups)} CV ids; give one "
                            f"of each per JD")
        keep = [i for i, g in enumerate(groups) if g in index]
        tables.append(_Table([cvs[i] for i in keep], [jds[i] for i in keep]))
        invs.append(np.array([index[groups[i]] for i in keep], dtype=np.int64))
    n_groups = len(shared)
    out: dict = {}
    for name in DIFF_METRICS:
        def diff(counts, name=name):
            return tables[1].stat(name, counts[invs[1]]) - tables[0].stat(name, counts[invs[0]])

        mean = _or_none(diff, np.ones(n_groups))
        ci = _ci(diff, n_groups, n_bootstrap, seed) if mean is not None else [None, None]
        out[name] = {"mean": mean, "ci95": ci, "n": n_groups}
    out["n_cvs"] = n_groups
    return out


def real_pairs(split, n: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """``(cvs, jds, cv_ids)`` of ``n`` real postings with their own matched CVs: the data stage's ``sft``
    split (matched CV-JD pairs, the postings GIRL-SFT learns to write), shuffled with ``seed`` as SFT shuffles
    it (pass ``cfg.sft.seed``: SFT's held-out rows come first), one pair per seeker, the first ``n`` seekers.
    ``split`` is a ``datasets.Dataset`` with columns ``cv``, ``jd`` and ``seeker_id``."""
    split = split.shuffle(seed=seed)
    head = split.select(range(min(len(split), 4 * max(n, 1))))
    cvs, jds, ids, seen = [], [], [], set()
    for cv, jd, sid in zip(head["cv"], head["jd"], head["seeker_id"]):
        if sid in seen:
            continue
        seen.add(sid)
        cvs.append(cv), jds.append(jd), ids.append(sid)
        if len(ids) >= n:
            break
    return cvs, jds, ids
