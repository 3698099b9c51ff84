"""Field-by-field comparison of two job descriptions (the recommender's JD-vs-JD features).

A generated JD j' is written in the JD's schema, so the recommender can compare it with a real JD j field
by field, the paper's "semantic gap" argument (a CV and a JD share no schema; two JDs do). Everything here is
generic: the title is a JD's first line, the requirements are the lines under a heading that names
requirements or qualifications, and the numbers come from :mod:`girl_lib.extract` (years, pay band, place,
degree). No list of the synthetic world's occupations, skills or cities is used, and no oracle parser.

:func:`jd_pair_features` returns the :data:`JD_PAIR_FEATURE_NAMES` vector of one (j', j) pair; every
function accepts any text, never raises, and scores a fact that either JD leaves out as 0 (the
``facts_missing`` entry counts such facts, so a learnt weight can tell "left out" from "differs").
"""

from __future__ import annotations

import functools
import math
import re

from .extract import _text, jd_facts, same_place

STOPWORDS = frozenset(
    "a an and or the of in on at for to with as by from is are be our your you we us it its this that "
    "will can who what etc per e.g i.e plus".split())
"""Words that carry no field content; dropped before token overlaps."""

_TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9+#&/.-]*[a-z0-9+#]|[a-z0-9]")
_REQ_HEADING_RE = re.compile(r"requirement|qualification|what you (?:need|bring)|must have|you have|skills",
                             re.IGNORECASE)
_BULLET_RE = re.compile(r"^\s*(?:[-*•·–]|\d+[.)])\s*")

JD_PAIR_FEATURE_NAMES = (
    "title_overlap",         # Jaccard of the two title lines' tokens
    "requirement_overlap",   # Jaccard of the requirement lines' tokens (both sets)
    "requirement_coverage",  # share of j's requirement tokens that j' names too (a BM25-like query coverage)
    "same_place",            # 1 when both name one "City, ST" (extract.same_place)
    "both_remote",           # 1 when both say remote
    "pay_overlap",           # overlap / union of the two pay bands (1: the same band)
    "log_pay_ratio",         # log(mid band j / mid band j'), clipped to [-1, 1]: j pays more (+) or less (-)
    "years_gap",             # (years j - years j') / 5, clipped to [-2, 2]: j asks more (+) or fewer (-)
    "degree_gap",            # degree level j - j' (0 high school .. 3 doctorate)
    "facts_missing",         # share of (years, band, place, degree) that either JD leaves out
)
"""The entries of :func:`jd_pair_features`, in order."""


def tokens(text) -> frozenset:
    """Lower-cased word tokens of ``text`` without :data:`STOPWORDS` ("P&L", "C++", "node.js" stay whole)."""
    return frozenset(t for t in _TOKEN_RE.findall(_text(text).lower()) if t not in STOPWORDS)


def title_line(jd) -> str:
    """A JD's first non-empty line (its title), stripped; "" for an empty text."""
    return next((ln.strip() for ln in _text(jd).splitlines() if ln.strip()), "")


def requirement_lines(jd) -> list[str]:
    """The lines under a JD's requirements heading ("Requirements:", "Qualifications:", "What you bring:"),
    bullets stripped, up to the next heading (a line ending in ":" that is no bullet). Empty without one."""
    out, inside = [], False
    for line in _text(jd).splitlines():
        if not line.strip():
            continue
        is_bullet = bool(_BULLET_RE.match(line))
        if not is_bullet and line.rstrip().endswith(":"):
            inside = bool(_REQ_HEADING_RE.search(line))
            continue
        if inside:
            out.append(_BULLET_RE.sub("", line).strip())
    return out


def jaccard(a, b) -> float:
    """|a & b| / |a | b| of two sets; 0 when both are empty."""
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a or b else 0.0


def coverage(query, doc) -> float:
    """Share of ``query``'s tokens that ``doc`` holds; 0 for an empty query."""
    query = set(query)
    return len(query & set(doc)) / len(query) if query else 0.0


def band_overlap(a, b) -> float:
    """Overlap / union of two pay bands ``(lo, hi)``; two one-point bands overlap 1 when equal, else 0;
    0 when either is ``None``."""
    if not a or not b:
        return 0.0
    (lo_a, hi_a), (lo_b, hi_b) = sorted(a), sorted(b)
    union = max(hi_a, hi_b) - min(lo_a, lo_b)
    if union <= 0:
        return 1.0  # both are the same single point
    return max(0.0, min(hi_a, hi_b) - max(lo_a, lo_b)) / union


@functools.lru_cache(maxsize=32768)  # every real JD is compared with many generated ones
def _jd_view(text: str) -> tuple:
    """(title tokens, requirement tokens, facts) of one JD text."""
    return (tokens(title_line(text)), tokens(" ".join(requirement_lines(text))), jd_facts(text))


def jd_pair_features(jd_gen, jd) -> list[float]:
    """The :data:`JD_PAIR_FEATURE_NAMES` vector comparing a generated JD ``jd_gen`` (j') with a real JD ``jd``
    (j); floats, every entry finite. Never raises."""
    (t_g, r_g, f_g), (t_j, r_j, f_j) = _jd_view(_text(jd_gen)), _jd_view(_text(jd))
    out = dict.fromkeys(JD_PAIR_FEATURE_NAMES, 0.0)
    out["title_overlap"] = jaccard(t_g, t_j)
    out["requirement_overlap"] = jaccard(r_g, r_j)
    out["requirement_coverage"] = coverage(r_j, r_g)
    out["same_place"] = float(same_place(f_g["place"], f_j["place"]))
    out["both_remote"] = float(f_g["remote"] and f_j["remote"])
    missing = 0
    if f_g["band"] and f_j["band"]:
        out["pay_overlap"] = band_overlap(f_g["band"], f_j["band"])
        mid_g, mid_j = sum(f_g["band"]) / 2, sum(f_j["band"]) / 2
        if mid_g > 0 and mid_j > 0:
            out["log_pay_ratio"] = min(1.0, max(-1.0, math.log(mid_j / mid_g)))
    else:
        missing += 1
    if f_g["years"] is not None and f_j["years"] is not None:
        out["years_gap"] = min(2.0, max(-2.0, (f_j["years"] - f_g["years"]) / 5.0))
    else:
        missing += 1
    if f_g["place"] is None and not f_g["remote"] or f_j["place"] is None and not f_j["remote"]:
        missing += 1
    if f_g["degree"] is not None and f_j["degree"] is not None:
        out["degree_gap"] = float(f_j["degree"] - f_g["degree"])
    else:
        missing += 1
    out["facts_missing"] = missing / 4.0
    return [float(out[k]) if math.isfinite(out[k]) else 0.0 for k in JD_PAIR_FEATURE_NAMES]
