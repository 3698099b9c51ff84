"""What a judge is asked and how its answer is read: the prompt of paper Fig. 4 (:func:`build_judge_messages`),
the four verdict lines (:func:`parse_verdict`, :func:`format_verdict`) and the retry prompt."""

from __future__ import annotations

import re

from ..names import JUDGE_ASPECTS
from ..prompts import display_cv, validate_cv
from ..runio import GirlError


ASPECTS = JUDGE_ASPECTS
"""The three aspects of paper Sec. VI-B (:data:`girl_lib.names.JUDGE_ASPECTS`); every verdict also has ``overall``."""
VERDICT_KEYS = ASPECTS + ("overall",)
LABELS = {"detail": "Detail", "relevance": "Relevance", "conciseness": "Conciseness", "overall": "Overall"}
"""How each verdict line starts in a reply."""


JUDGE_SYSTEM = (
    "You are a helpful and precise assistant for checking the quality of job descriptions written for a "
    "job seeker on an online recruitment platform."
)
VERDICT_FORMAT = "Detail: [[X]]\nRelevance: [[X]]\nConciseness: [[X]]\nOverall: [[X]]"
JUDGE_PROMPT = """We would like your feedback on two job descriptions (JDs), A and B, written for the job seeker whose CV is shown below.

[The Start of the CV]
{cv}
[The End of the CV]

[The Start of Job Description A]
{jd_a}
[The End of Job Description A]

[The Start of Job Description B]
{jd_b}
[The End of Job Description B]

Compare the two JDs on three aspects:
1. Level of detail: whether the JD contains enough necessary information about the job (responsibilities, requirements, skills, salary, city).
2. Relevance: whether the JD is suitable for this job seeker.
3. Conciseness: whether the JD is fluent, concise and easy to read.
Be as objective as possible. The order in which the JDs are shown must not influence your judgement, and a longer JD is not better for being longer.
First explain your comparison in a few sentences. Then end your reply with exactly these four lines, replacing X by A if JD A is better, B if JD B is better, or C for a tie:
""" + VERDICT_FORMAT
"""The user message of the judge (paper Fig. 4, MT-bench style verdict tokens); fields ``cv``, ``jd_a``,
``jd_b``. Sent at temperature 0 with :data:`JUDGE_SYSTEM` as the system message."""

RETRY_PROMPT = ("Your reply could not be read: {error}. Answer again with only these four lines, replacing X "
                "by A, B or C:\n" + VERDICT_FORMAT)
"""Sent once, after the judge's own unreadable reply, before a pair is counted as a parse error."""

_MARKERS = {
    "cv": ("[The Start of the CV]", "[The End of the CV]"),
    "jd_a": ("[The Start of Job Description A]", "[The End of Job Description A]"),
    "jd_b": ("[The Start of Job Description B]", "[The End of Job Description B]"),
}


def build_judge_messages(cv: str, jd_a: str, jd_b: str) -> list[dict]:
    """Chat messages asking the judge to compare ``jd_a`` and ``jd_b`` for ``cv`` (paper Fig. 4)."""
    validate_cv(cv)
    for field, jd in (("jd_a", jd_a), ("jd_b", jd_b)):
        if not isinstance(jd, str):
            raise GirlError(f"the '{field}' of a judge pair must be a string, got {type(jd).__name__}")
    user = JUDGE_PROMPT.format(cv=display_cv(cv), jd_a=jd_a.strip(), jd_b=jd_b.strip())
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def split_judge_messages(messages: list[dict]) -> tuple[str, str, str]:
    """Inverse of :func:`build_judge_messages`: ``(cv, jd_a, jd_b)`` from the first user message."""
    user = next((m["content"] for m in messages if m.get("role") == "user"), None)
    if user is None:
        raise GirlError("judge messages hold no user message; build them with build_judge_messages()")
    parts = []
    for field, (start, end) in _MARKERS.items():
        i, j = user.find(start), user.find(end)
        if i < 0 or j < i:
            raise GirlError(f"judge message lacks the {field} block ({start!r} ... {end!r}); build it with "
                            f"build_judge_messages()")
        parts.append(user[i + len(start):j].strip())
    return parts[0], parts[1], parts[2]


class VerdictParseError(GirlError):
    """A judge reply without exactly one readable verdict per aspect."""


_TOKEN = re.compile(r"\[\[\s*([ABCabc])\s*\]\]")
_ALIASES = {"detail": "detail", "details": "detail", "level of detail": "detail", "level of details": "detail",
            "relevance": "relevance", "conciseness": "conciseness", "readability": "conciseness",
            "overall": "overall", "final verdict": "overall"}
_LINE = re.compile(r"^(?:[-•]\s*|\d+[.)]\s*)?"
                   r"(level of details?|details?|relevance|conciseness|readability|overall|final verdict)"
                   r"\b[^:\[\n]{0,40}:(.*)$", re.IGNORECASE)


def parse_verdict(reply: str) -> dict[str, str]:
    """``{"detail"|"relevance"|"conciseness"|"overall": "A"|"B"|"C"}`` from a judge reply.

    A verdict line starts with the aspect's name (markdown emphasis and list markers are ignored), then
    a colon, then one token ``[[A]]``, ``[[B]]`` or ``[[C]]``. Lines naming an aspect without a token
    (explanations) are skipped. Raises :class:`VerdictParseError` when an aspect has no verdict, when a
    line holds two different tokens, or when two lines give one aspect different verdicts.
    """
    if not isinstance(reply, str) or not reply.strip():
        raise VerdictParseError("the judge reply is empty")
    found: dict[str, str] = {}
    for raw in reply.splitlines():
        line = re.sub(r"[*_#>`]", "", raw).strip()
        m = _LINE.match(line)
        if not m:
            continue
        aspect = _ALIASES[m.group(1).lower()]
        tokens = {t.upper() for t in _TOKEN.findall(m.group(2))}
        if not tokens:
            continue
        if len(tokens) > 1:
            raise VerdictParseError(f"the {LABELS[aspect]!r} line holds different verdicts "
                                    f"({', '.join(f'[[{t}]]' for t in sorted(tokens))})")
        token = tokens.pop()
        if found.get(aspect, token) != token:
            raise VerdictParseError(f"two lines give {LABELS[aspect]!r} different verdicts "
                                    f"([[{found[aspect]}]] and [[{token}]])")
        found[aspect] = token
    missing = [LABELS[a] for a in VERDICT_KEYS if a not in found]
    if missing:
        raise VerdictParseError(f"no verdict for {', '.join(missing)} (expected lines like "
                                f"'{missing[0]}: [[A]]' with [[A]], [[B]] or [[C]])")
    return {a: found[a] for a in VERDICT_KEYS}


def format_verdict(verdict: dict[str, str]) -> str:
    """The four verdict lines of a reply (what :func:`parse_verdict` reads back)."""
    return "\n".join(f"{LABELS[a]}: [[{verdict[a]}]]" for a in VERDICT_KEYS)


def parses(reply: str) -> bool:
    """Whether ``reply`` holds a complete verdict (:func:`parse_verdict` reads it)."""
    try:
        parse_verdict(reply)
        return True
    except VerdictParseError:
        return False
