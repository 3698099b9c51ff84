"""The one prompt (paper Fig. 3) that SFT, PPO, generation and the judge's CV display all use.

Fig. 3 has four parts: a *role* line (matching the backbone's instruction-tuning data), an
*instruction* describing the task, the *input* (the job seeker's CV), and the *output* (the JD; blank
at inference). We render them through the generator's own chat template: role -> system message,
instruction + input -> user message, output -> assistant message.
"""

from __future__ import annotations

import re

from .extract import degree_levels
from .runio import GirlError

ROLE = "You are a career advisor at an online recruitment platform. You write job descriptions."
INSTRUCTION = (
    "Given this job seeker's CV, write the job description that suits them best. "
    "Use the layout: title line, company, city, salary, then 'Responsibilities:' and 'Requirements:' "
    "as bulleted sections."
)


def validate_cv(cv: str, field: str = "cv") -> str:
    """Reject empty CVs with a clear message; return the stripped text."""
    if not isinstance(cv, str) or not cv.strip():
        raise GirlError(f"the '{field}' text is empty: every prompt needs a non-empty CV")
    return cv.strip()


def build_messages(cv: str, jd: str | None = None) -> list[dict]:
    """Chat messages of Fig. 3. With ``jd`` the assistant turn holds the target (SFT); without, it is
    left for the model to write (inference)."""
    messages = [
        {"role": "system", "content": ROLE},
        {"role": "user", "content": f"{INSTRUCTION}\n\nCV:\n{cv.strip()}"},
    ]
    if jd is not None:
        messages.append({"role": "assistant", "content": jd.strip()})
    return messages


def render_prompt(tokenizer, cv: str) -> str:
    """The prompt string the generator sees at inference (ends where the JD starts)."""
    validate_cv(cv)
    return tokenizer.apply_chat_template(build_messages(cv), tokenize=False, add_generation_prompt=True)


def prompt_completion(tokenizer, cv: str, jd: str) -> dict:
    """One SFT row as TRL prompt/completion text: loss goes to the completion (the JD) only (Eq. 1)."""
    prompt = render_prompt(tokenizer, cv)
    full = tokenizer.apply_chat_template(build_messages(cv, jd), tokenize=False)
    if not full.startswith(prompt):
        # Templates that rewrite earlier turns: fall back to prompt + JD + end-of-turn.
        return {"prompt": prompt, "completion": jd.strip() + (tokenizer.eos_token or "")}
    # Drop the template's trailing newline so the completion ends exactly with the end-of-turn token
    # (TRL appends EOS to completions that do not already end with it).
    return {"prompt": prompt, "completion": full[len(prompt):].rstrip()}


def display_cv(cv: str) -> str:
    """How the judge shows the CV: the same text the generator was given."""
    return cv.strip()


LAYOUT_ITEMS = ("Responsibilities:", "Requirements:", "3+ requirement bullets", "salary figure", "location")
"""What :func:`layout_shortfall` checks: the layout :data:`INSTRUCTION` asks for, and at least three
requirements (every real posting names three or more)."""
_BULLET_RE = re.compile(r"^\s*(?:[-•*·]|\d+[.)])\s+\S")
_MONEY_RE = re.compile(r"\$\s?\d")
_PLACE_RE = re.compile(r"\blocation\b|\bremote\b|\b[A-Z][a-z]+(?: [A-Z][a-z]+)*, [A-Z]{2}\b", re.IGNORECASE)


REQUIREMENT_RANGE = (3, 5)
"""How many skill requirements a real posting names (98% of the world's real JDs name 3-5)."""
_NOT_A_SKILL_RE = re.compile(r"\byears?\b|\byrs?\b|\bbonus\b|\bnice to have\b|\bplus\b|\bpreferred\b",
                             re.IGNORECASE)


def skill_lines(jd: str) -> list[str]:
    """The bullet lines of a JD's ``Requirements:`` section that ask for a skill: not years, not a degree,
    not a bonus or nice-to-have. A generic reading of a posting's layout (no skill list, no world parser)."""
    text = jd if isinstance(jd, str) else ""
    req_at = text.lower().find("requirements:")
    if req_at < 0:
        return []
    lines = text[req_at:].splitlines()[1:]
    return [ln.strip() for ln in lines
            if _BULLET_RE.match(ln) and not _NOT_A_SKILL_RE.search(ln) and not degree_levels(ln)]


def requirement_count_gap(jd: str) -> float:
    """How far a JD's number of :func:`skill_lines` is from :data:`REQUIREMENT_RANGE`, in units of its
    lower end, capped at 1: 0 for 3-5 skill lines, 1/3 for 2 or 6, 1 for none (or 8 and more)."""
    n, (low, high) = len(skill_lines(jd)), REQUIREMENT_RANGE
    return min(1.0, (max(0, low - n) + max(0, n - high)) / low)


def layout_shortfall(jd: str) -> float:
    """Share of :data:`LAYOUT_ITEMS` a JD lacks, in [0, 1]: a generic check of the layout the prompt asks for
    (no skill list, no parser of the world: only headers, bullets, a "$" figure and a place line)."""
    text = jd if isinstance(jd, str) else ""
    lower = text.lower()
    req_at = lower.find("requirements:")
    req_lines = text[req_at:].splitlines()[1:] if req_at >= 0 else []
    bullets = sum(bool(_BULLET_RE.match(line)) for line in req_lines)
    have = ("responsibilities:" in lower, req_at >= 0, bullets >= 3, bool(_MONEY_RE.search(text)),
            bool(_PLACE_RE.search(text)))
    return 1.0 - sum(have) / len(have)
