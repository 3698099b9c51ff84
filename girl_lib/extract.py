"""Generic facts an HR system reads from any CV or JD text, and the pair features of the reward model.

A dual-encoder reward model compares two texts by cosine similarity, which barely sees *numbers* and
*places*: "6+ years" against a CV's 2 years, a "$50k–$64k" band against a seeker asking $74,000, a JD in
Denver for a seeker in Atlanta. The extractors below pull these facts out with plain, generic regular
expressions (they know nothing of the synthetic world's vocabulary: no list of cities, skills or
occupations), and :func:`pair_features` turns the facts of one (CV, JD) pair into a fixed-length vector
(:data:`FEATURE_NAMES`) that :class:`girl_lib.models.DualEncoderScorer` can weigh linearly.

What is read (every function accepts any value, never raises, and returns ``None`` / empty for a fact the
text does not state):

- years of experience: a CV's "N years" (its first mention), else the union of its date spans
  ("2019 - 2021", "2021–present"; "present" is :data:`PRESENT_YEAR`); a JD's required minimum:
  "N+ years", "at least N years", "N–M years" (-> N), "N years", preferring lines about experience;
- money, in thousands of dollars a year: "$85k", "$85,000", "$85.5K"; ranges "$85k–$105k",
  "$85,000 - $105,000", "$85-105k" (the upper bound's k applies to both); hourly amounts ("$40/hour",
  "$40 an hour") are annualised (x 2080 hours); amounts under $15 without a k are dropped (not a salary);
- a CV's asked salary (the first amount on a line about salary / "looking for" / "expected", else the
  first amount; a range's midpoint) and a JD's salary band (the first range on a salary / pay line, else
  any range, else a single amount as a one-point band; "competitive" gives none);
- places: "City, ST" with ST a US state code (or DC), lower-cased; "remote" (not "no remote" /
  "non-remote"); "relocat..." in a CV (open to relocation);
- degree levels: high school / vocational / diploma / GED / apprenticeship = 0, bachelor / BSc / BA /
  undergraduate degree (or a bare "degree") = 1, master / MSc / MBA / MEng = 2, PhD / doctorate = 3. A
  CV's degree is the highest it names; a JD's requirement the lowest it names outside nice-to-have
  lines ("... is a plus", "nice to have", "preferred", "bonus").
"""

from __future__ import annotations

import functools
import math
import re

PRESENT_YEAR = 2023
"""The year an open date span ("2021 - present") runs to: the year the texts were written (fixed, so a
feature does not change with the day it is computed; the synthetic world's CVs are dated 2023)."""

US_STATES = frozenset((
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC").split())
"""Two-letter codes that make "City, ST" a place."""

HOURS_PER_YEAR = 2080
"""40 hours x 52 weeks: an hourly rate times this is a yearly salary."""

_DASH = r"(?:-|–|—|to)"
_YEARS_WORD = r"(?:years?|yrs?)\b"
# "3 years", "3+ years", "3-5 years", "at least 3 years", "minimum of 3 years", "2.5 years"
_YEARS_RE = re.compile(r"(?<![\w.$])(\d{1,2}(?:\.\d)?)(?!\d)\s*\+?\s*(?:" + _DASH + r"\s*\d{1,2}\s*\+?\s*)?"
                       + _YEARS_WORD, re.IGNORECASE)
_SPAN_RE = re.compile(r"\b((?:19|20)\d\d)\s*" + _DASH + r"\s*((?:19|20)\d\d|present|now|today|current)\b",
                      re.IGNORECASE)
_EXPERIENCE_LINE_RE = re.compile(r"experience|role|position|similar|relevant|background|in the field|required",
                                 re.IGNORECASE)
_NUM = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_K = r"(?:\s*([kK])(?![a-zA-Z]))?"
_HOURLY = r"\s*(?:/\s*(?:h|hr|hour)\b|(?:an|a|per)\s+hour\b)"
_MONEY_RE = re.compile(r"\$\s?" + _NUM + _K + r"(" + _HOURLY + r")?")
_RANGE_RE = re.compile(r"\$\s?" + _NUM + _K + r"\s*" + _DASH + r"\s*\$?\s?" + _NUM + _K + r"(" + _HOURLY + r")?")
_ASK_LINE_RE = re.compile(r"salary|looking for|expect|desired|asking|compensation|per year|a year|/\s*y(?:ea)?r",
                          re.IGNORECASE)
_PAY_LINE_RE = re.compile(r"salary|\bpay\b|compensation|\bwage|\$", re.IGNORECASE)
_PLACE_RE = re.compile(r"(?<![\w'])((?:[A-Z][\w.'-]*[ \t]+){0,3}[A-Z][\w.'-]*),[ \t]*([A-Z]{2})(?![\w])")
_LOCATION_LINE_RE = re.compile(r"location|based in|located|address|city", re.IGNORECASE)
_REMOTE_RE = re.compile(r"(?<!\bno\s)(?<!\bnot\s)(?<!non-)(?<!non\s)\bremote\b", re.IGNORECASE)
_RELOCATE_RE = re.compile(r"relocat", re.IGNORECASE)
_DEGREE_RES = (
    (3, re.compile(r"\b(?:ph\.?\s?d\b|doctorate|doctoral|doctor of)", re.IGNORECASE)),
    (2, re.compile(r"\b(?:master(?:'s|’s|s)\b|master(?:'s|’s)? (?:of|degree)\b|m\.?sc\b|m\.sc\.|mba\b|m\.?eng\b|"
                   r"m\.a\.|ma in\b|ms in\b)", re.IGNORECASE)),
    (1, re.compile(r"\b(?:bachelor(?:'s|’s|s)?\b|b\.?sc\b|b\.sc\.|b\.?eng\b|b\.a\.|ba in\b|bs in\b|ba \(|bsc \(|"
                   r"undergraduate degree)", re.IGNORECASE)),
    (0, re.compile(r"\b(?:high school|high-school|vocational|diploma|ged\b|apprenticeship)", re.IGNORECASE)),
)
_BARE_DEGREE_RE = re.compile(r"\bdegree\b", re.IGNORECASE)
_NICE_LINE_RE = re.compile(r"nice to have|is a plus|\ba plus\b|bonus|preferred|desirable|ideally", re.IGNORECASE)


def _text(x) -> str:
    """Any value as a string: ``None`` -> "", bytes decoded, the rest ``str()``-ed."""
    if isinstance(x, str):
        return x
    if x is None:
        return ""
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    try:
        return str(x)
    except Exception:  # an object whose __str__ raises: nothing to read
        return ""


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


# --------------------------------------------------------------------------- years of experience
def stated_years(text) -> float | None:
    """The first "N years" (also "N+ years", "N–M years" -> N, "at least N years") in ``text``, else ``None``."""
    m = _YEARS_RE.search(_text(text))
    return float(m.group(1)) if m else None


def date_spans(text, present_year: int = PRESENT_YEAR) -> list[tuple[int, int]]:
    """(start, end) years of every "YYYY - YYYY" / "YYYY - present" span, in order (an open end is
    ``present_year``; a span that ends before it starts is dropped)."""
    out = []
    for a, b in _SPAN_RE.findall(_text(text)):
        end = int(b) if b[0].isdigit() else present_year
        if end >= int(a):
            out.append((int(a), end))
    return out


def span_years(spans: list[tuple[int, int]]) -> float | None:
    """Years covered by the union of ``spans`` (overlaps counted once); ``None`` without spans."""
    if not spans:
        return None
    total, cur_a, cur_b = 0, None, None
    for a, b in sorted(spans):
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    return float(total + (cur_b - cur_a))


def cv_years(text, present_year: int = PRESENT_YEAR) -> float | None:
    """A CV's years of experience: its first stated "N years", else the years its date spans cover."""
    stated = stated_years(text)
    return stated if stated is not None else span_years(date_spans(text, present_year))


def jd_years(text) -> float | None:
    """A JD's required minimum years: the first "N+ years" / "at least N years" / "N–M years" (-> N) on a
    line about experience (or a role), else the first anywhere; ``None`` when it asks for none."""
    lines = _lines(_text(text))
    for ln in [ln for ln in lines if _EXPERIENCE_LINE_RE.search(ln)] + lines:
        m = _YEARS_RE.search(ln)
        if m:
            return float(m.group(1))
    return None


# --------------------------------------------------------------------------- money
def _amount_k(num: str, k: str | None, hourly: str | None, k_from: str | None = None) -> float | None:
    """One amount in thousands of dollars a year (``k_from``: the k of a range's other bound)."""
    try:
        value = float(num.replace(",", ""))
    except ValueError:
        return None
    if hourly:
        return value * HOURS_PER_YEAR / 1000.0 if 0 < value < 1000 else None
    if k:
        return value
    if value >= 1000:
        return value / 1000.0
    if k_from:
        return value
    return value if value >= 15 else None  # "$12" is a price or an hourly rate, not a salary


def money_amounts(text) -> list[float]:
    """Every money amount in ``text`` in thousands of dollars a year, in order ("$85k" -> 85.0,
    "$74,000" -> 74.0, "$40/hour" -> 83.2); a range counts as its two bounds."""
    text, out, pos = _text(text), [], 0
    while True:
        r, m = _RANGE_RE.search(text, pos), _MONEY_RE.search(text, pos)
        if m is None:
            return out
        if r is not None and r.start() == m.start():
            lo_hi = _range_bounds(r)
            out += [v for v in lo_hi if v is not None]
            pos = r.end()
        else:
            v = _amount_k(m.group(1), m.group(2), m.group(3))
            if v is not None:
                out.append(v)
            pos = m.end()


def _range_bounds(r: re.Match) -> tuple[float | None, float | None]:
    lo = _amount_k(r.group(1), r.group(2), r.group(5), k_from=r.group(4))
    hi = _amount_k(r.group(3), r.group(4), r.group(5), k_from=r.group(2))
    return lo, hi


def _range(text: str) -> tuple[float, float] | None:
    r = _RANGE_RE.search(text)
    if r:
        lo, hi = _range_bounds(r)
        if lo and hi:
            return (min(lo, hi), max(lo, hi))
    return None


def salary_band(text) -> tuple[float, float] | None:
    """A JD's salary band (min, max) in thousands a year: the first range on a salary / pay line, else the
    first range anywhere, else the first single amount as (v, v); ``None`` when it names no pay."""
    lines = _lines(_text(text))
    pay_lines = [ln for ln in lines if _PAY_LINE_RE.search(ln)]
    for ln in pay_lines + lines:
        band = _range(ln)
        if band:
            return band
    for ln in pay_lines:
        amounts = money_amounts(ln)
        if amounts:
            return (amounts[0], amounts[0])
    return None


def salary_ask(text) -> float | None:
    """A CV's asked salary in thousands a year: on the first line about salary ("Looking for $41k per
    year", "Expected salary: $74,000") its first amount (a range's midpoint), else the first amount in the
    text; ``None`` when it names none."""
    lines = _lines(_text(text))
    for ln in [ln for ln in lines if _ASK_LINE_RE.search(ln) and "$" in ln] + lines:
        r, m = _RANGE_RE.search(ln), _MONEY_RE.search(ln)
        if r is not None and m is not None and r.start() == m.start():  # its first amount opens a range
            lo, hi = _range_bounds(r)
            if lo and hi:
                return (lo + hi) / 2.0
        amounts = money_amounts(ln)
        if amounts:
            return amounts[0]
    return None


# --------------------------------------------------------------------------- places
def places(text) -> list[str]:
    """Every "City, ST" of ``text`` (ST a US state code), lower-cased, e.g. ``"new york, ny"``, in order."""
    out = []
    for m in _PLACE_RE.finditer(_text(text)):
        if m.group(2) in US_STATES:
            out.append(f"{' '.join(m.group(1).split()).lower()}, {m.group(2).lower()}")
    return out


def place(text) -> str | None:
    """The text's own place: the first "City, ST" on a location line ("Location: ...", "Based in ..."),
    else the first anywhere; ``None`` without one."""
    lines = _lines(_text(text))
    for ln in [ln for ln in lines if _LOCATION_LINE_RE.search(ln)] + lines:
        found = places(ln)
        if found:
            return found[0]
    return None


def same_place(a: str | None, b: str | None) -> bool:
    """Whether two :func:`places` name one place: the same state, and one city's words end the other's
    (``"boston, ma"`` and ``"team lead boston, ma"``: a capitalised word before the city is no new place)."""
    if not a or not b:
        return False
    (city_a, _, st_a), (city_b, _, st_b) = a.rpartition(", "), b.rpartition(", ")
    if st_a != st_b:
        return False
    wa, wb = city_a.split(), city_b.split()
    n = min(len(wa), len(wb))
    return n > 0 and wa[-n:] == wb[-n:]


def is_remote(text) -> bool:
    """Whether the text says "remote" (a remote job; "no remote" and "non-remote" do not count)."""
    return bool(_REMOTE_RE.search(_text(text)))


def open_to_relocation(text) -> bool:
    """Whether a CV mentions relocating ("Open to relocation", "Willing to relocate")."""
    return bool(_RELOCATE_RE.search(_text(text)))


# --------------------------------------------------------------------------- degrees
def degree_levels(text) -> list[int]:
    """The degree levels ``text`` names, sorted: 0 high school / vocational / diploma, 1 bachelor, 2 master,
    3 doctorate (a bare "degree" with no other level counts as 1)."""
    text = _text(text)
    levels = sorted(lvl for lvl, rx in _DEGREE_RES if rx.search(text))
    if not levels and _BARE_DEGREE_RE.search(text):
        levels = [1]
    return levels


def cv_degree(text) -> int | None:
    """A CV's highest degree level, or ``None``."""
    levels = degree_levels(text)
    return max(levels) if levels else None


def jd_degree(text) -> int | None:
    """A JD's required degree level: the lowest it names outside nice-to-have lines, or ``None``."""
    required = "\n".join(ln for ln in _lines(_text(text)) if not _NICE_LINE_RE.search(ln))
    levels = degree_levels(required)
    return min(levels) if levels else None


# --------------------------------------------------------------------------- facts and pair features
def cv_facts(text) -> dict:
    """What a CV states: ``years``, ``ask`` (thousands a year), ``place``, ``relocate``, ``degree``."""
    return dict(_cv_facts(_text(text)))


def jd_facts(text) -> dict:
    """What a JD states: ``years`` (required minimum), ``band`` ((min, max) thousands a year), ``place``,
    ``remote``, ``degree`` (required level)."""
    return dict(_jd_facts(_text(text)))


@functools.lru_cache(maxsize=16384)  # a text's facts are read once: the reward stage scores each text many times
def _cv_facts(text: str) -> tuple:
    return tuple({"years": cv_years(text), "ask": salary_ask(text), "place": place(text),
                  "relocate": open_to_relocation(text), "degree": cv_degree(text)}.items())


@functools.lru_cache(maxsize=16384)
def _jd_facts(text: str) -> tuple:
    return tuple({"years": jd_years(text), "band": salary_band(text), "place": place(text),
                  "remote": is_remote(text), "degree": jd_degree(text)}.items())


FEATURE_NAMES = (
    "years_short",      # max(0, jd_years - cv_years) / 5: how far the CV falls short of the years asked
    "years_short_any",  # 1 when jd_years > cv_years (any shortfall, however small)
    "years_excess",     # max(0, cv_years - jd_years) / 10: over-qualification
    "pay_short",        # max(0, 1 - band_max / ask): the band's top is below what the seeker asks
    "over_budget",      # min(2, max(0, ask / band_max - 1)): the seeker asks more than the band's top
    "log_pay_ratio",    # log(band_max / ask), clipped to [-1, 1]
    "same_place",       # 1 when the JD's "City, ST" is the CV's (same_place)
    "away",             # 1 when the JD is on-site (not remote) in another city than the CV's
    "away_relocate",    # away, for a CV open to relocation
    "jd_remote",        # 1 when the JD is remote
    "degree_short",     # max(0, jd_degree - cv_degree): degree levels missing
    "jd_no_years",      # 1 when the JD states no required years
    "jd_no_band",       # 1 when the JD states no salary
    "jd_no_place",      # 1 when the JD states neither a city nor remote
    "jd_no_degree",     # 1 when the JD states no degree
)
"""The entries of :func:`pair_features`, in order. A term that compares a CV fact with a JD fact is 0
when either side does not state it; the ``jd_no_*`` indicators then say that the JD left the fact out, so
a learnt weight can price an omission instead of scoring it as a match."""


MISSING_GROUPS = {
    "jd_no_years": ("years_short", "years_short_any", "years_excess"),
    "jd_no_band": ("pay_short", "over_budget", "log_pay_ratio"),
    "jd_no_place": ("same_place", "away", "away_relocate", "jd_remote"),
    "jd_no_degree": ("degree_short",),
}
"""Each missing-fact indicator and the comparison features that are 0 because the JD left that fact out."""


def pair_features(cv, jd) -> list[float]:
    """The :data:`FEATURE_NAMES` vector of one (CV, JD) pair (floats, every entry finite). Never raises."""
    c, j = cv_facts(_text(cv)), jd_facts(_text(jd))
    f = dict.fromkeys(FEATURE_NAMES, 0.0)
    if c["years"] is not None and j["years"] is not None:
        f["years_short"] = max(0.0, j["years"] - c["years"]) / 5.0
        f["years_short_any"] = float(j["years"] > c["years"])
        f["years_excess"] = max(0.0, c["years"] - j["years"]) / 10.0
    if c["ask"] and j["band"] and j["band"][1] > 0:
        ask, top = c["ask"], j["band"][1]
        f["pay_short"] = max(0.0, 1.0 - top / ask)
        f["over_budget"] = min(2.0, max(0.0, ask / top - 1.0))
        f["log_pay_ratio"] = min(1.0, max(-1.0, math.log(top / ask)))
    if c["place"] is not None and j["place"] is not None:
        f["same_place"] = float(same_place(c["place"], j["place"]))
        if not j["remote"] and not f["same_place"]:
            f["away"] = 1.0
            f["away_relocate"] = float(c["relocate"])
    f["jd_remote"] = float(j["remote"])
    if c["degree"] is not None and j["degree"] is not None:
        f["degree_short"] = float(max(0, j["degree"] - c["degree"]))
    f["jd_no_years"] = float(j["years"] is None)
    f["jd_no_band"] = float(j["band"] is None)
    f["jd_no_place"] = float(j["place"] is None and not j["remote"])
    f["jd_no_degree"] = float(j["degree"] is None)
    return [float(f[name]) if math.isfinite(f[name]) else 0.0 for name in FEATURE_NAMES]
