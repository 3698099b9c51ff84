"""Pairwise judging of generated JDs (paper Sec. VI-B, Fig. 4, Table II).

A judge sees a job seeker's CV and two JDs, A and B, and says which is better on three aspects of
paper Sec. VI-B (level of detail, relevance to the seeker, conciseness/readability) plus overall. It
answers in MT-bench style, one verdict token per line::

    Detail: [[A]]
    Relevance: [[B]]
    Conciseness: [[C]]        ([[C]] = tie)
    Overall: [[A]]

Position bias: every pair (x, y) is judged twice, with A=x,B=y and with A=y,B=x. x wins an aspect
only when both orders say so; when the orders disagree the pair counts as a tie, and the share of such
pairs is reported as ``flip_rate``. A reply that cannot be parsed is retried once (the judge is asked to
restate its verdict); if it still fails the pair counts as a parse error and is left out of the rates.

Backends share one interface: ``backend.judge(messages) -> reply text``, plus ``name`` (shown in
reports), ``cache_id`` (what the reply cache is keyed on) and ``max_concurrency``; a backend may add
``judge_batch(list of messages) -> replies`` and ``batch_size`` (then :func:`judge_verdicts` batches):

- :class:`OpenAIJudge`: any OpenAI-compatible chat server (ChatGPT, vLLM, Ollama, ...).
- :class:`HFJudge`: a local Hugging Face chat model, greedy decoding.
- :class:`RubricJudge`: an offline rubric on the oracle recruiter and simple text measures. It is
  *not an LLM*; it exists so the whole pipeline runs offline, and its reports say so.

Replies are cached on disk (JSONL keyed by sha256 of the backend's model id and the messages), so an
interrupted judge resumes where it stopped and a rerun costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import openai
import torch
from tqdm.auto import tqdm

from . import paper
from .data import load_data
from .generate import generated_models, load_generations
from .metrics import distinct_ngram_ratio, words
from .models import load_generator
from .names import JUDGE_ASPECTS, JUDGE_PAIRS
from .prompts import display_cv, validate_cv
from .realism import requirement_lines
from .report import render_judge_table
from .runio import (GirlError, append_jsonl, atomic_write_json, atomic_write_text, mark_done, read_jsonl,
                    require_stage)
from .world import JD_SECTIONS, Recruiter, oracle_fit, parse_cv, parse_jd
from .world.texts import section_text

ASPECTS = JUDGE_ASPECTS
"""The three aspects of paper Sec. VI-B (:data:`girl_lib.names.JUDGE_ASPECTS`); every verdict also has ``overall``."""
VERDICT_KEYS = ASPECTS + ("overall",)
LABELS = {"detail": "Detail", "relevance": "Relevance", "conciseness": "Conciseness", "overall": "Overall"}
"""How each verdict line starts in a reply."""

PAIRS = JUDGE_PAIRS
"""The comparisons of ``run_judge``: (name, model key x, model key y); ``win`` means x is better."""

PAPER_TABLE_II = paper.TABLE_II
"""Paper Table II (ChatGPT as judge, 200 CVs), from :mod:`girl_lib.paper`."""


# =========================================================================== the prompt (paper Fig. 4)
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


# =========================================================================== parsing replies
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


# =========================================================================== aggregation (pure)
_FROM_XY = {"A": "win", "B": "lose", "C": "tie"}  # A=x, B=y: outcome for x
_FROM_YX = {"A": "lose", "B": "win", "C": "tie"}  # A=y, B=x: outcome for x


def _check_verdict(v, where: str):
    if v is None:
        return None
    if not isinstance(v, dict) or any(v.get(a) not in ("A", "B", "C") for a in VERDICT_KEYS):
        raise GirlError(f"{where}: a verdict must map each of {', '.join(VERDICT_KEYS)} to 'A', 'B' or 'C' "
                        f"(or be None for a parse error), got {v!r}")
    return v


def bootstrap_adv_ci(win: np.ndarray, lose: np.ndarray, groups: list, n_bootstrap: int,
                     seed: int) -> list[float] | None:
    """95% percentile bootstrap interval of ``mean(win) - mean(lose)``, resampling whole groups (CVs)."""
    if n_bootstrap <= 0 or len(win) == 0:
        return None
    keys = sorted(set(groups), key=str)
    index = {k: i for i, k in enumerate(keys)}
    g = np.array([index[k] for k in groups])
    w_sum = np.bincount(g, weights=win, minlength=len(keys))
    l_sum = np.bincount(g, weights=lose, minlength=len(keys))
    count = np.bincount(g, minlength=len(keys)).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(keys), size=(n_bootstrap, len(keys)))
    adv = (w_sum[draws].sum(1) - l_sum[draws].sum(1)) / count[draws].sum(1)
    lo, hi = np.percentile(adv, [2.5, 97.5])
    return [round(float(lo), 6), round(float(hi), 6)]


def _rates(outcomes: list[str], flips: list[bool], groups: list, parse_errors: int, n_bootstrap: int,
           seed: int) -> dict:
    n = len(outcomes)
    if n == 0:
        return {"win": None, "tie": None, "lose": None, "adv": None, "adv_ci": None, "flip_rate": None,
                "parse_errors": parse_errors, "n": 0}
    win = np.array([o == "win" for o in outcomes], dtype=float)
    lose = np.array([o == "lose" for o in outcomes], dtype=float)
    r = lambda x: round(float(x), 6)  # noqa: E731
    return {"win": r(win.mean()), "tie": r(1 - win.mean() - lose.mean()), "lose": r(lose.mean()),
            "adv": r(win.mean() - lose.mean()), "adv_ci": bootstrap_adv_ci(win, lose, groups, n_bootstrap, seed),
            "flip_rate": r(np.mean(flips)), "parse_errors": parse_errors, "n": n}


def aggregate(verdict_pairs, n_bootstrap: int = 1000, seed: int = 0, backend: str | None = None) -> dict:
    """Win/tie/lose of x against y from verdicts in both orders.

    ``verdict_pairs``: one item per pair, either a dict ``{"xy": v, "yx": v, "cv_id": ...}`` or a tuple
    ``(v_xy, v_yx)``, where ``v_xy`` is the judge's verdict with A=x, B=y, ``v_yx`` the one with A=y,
    B=x, and ``v`` is a parsed verdict dict or ``None`` (parse error). Per aspect, x wins when both orders
    prefer x, loses when both prefer y, and ties otherwise; ``flip_rate`` is the share of pairs whose two
    orders disagree. Pairs with a parse error in either order are counted in ``parse_errors`` and left
    out of every rate. ``adv_ci`` is a 95% bootstrap interval of ``adv`` over CVs (items sharing a
    ``cv_id`` are resampled together), ``n_bootstrap`` resamples drawn from ``seed``.

    Returns the overall verdict's ``win, tie, lose, adv, adv_ci, flip_rate, parse_errors, n`` (pairs), ``n_cvs``
    (distinct CVs among them), ``backend`` and ``aspects: {aspect: {win, ..., n}}``.
    """
    valid, parse_errors = [], 0
    for i, item in enumerate(verdict_pairs):
        if isinstance(item, dict):
            xy, yx, cv_id = item.get("xy"), item.get("yx"), item.get("cv_id", i)
        else:
            (xy, yx), cv_id = item, i
        xy, yx = _check_verdict(xy, f"verdict pair {i} (xy)"), _check_verdict(yx, f"verdict pair {i} (yx)")
        if xy is None or yx is None:
            parse_errors += 1
        else:
            valid.append((xy, yx, i if cv_id is None else cv_id))
    groups = [cv for _, _, cv in valid]
    per = {}
    for aspect in VERDICT_KEYS:
        outcomes, flips = [], []
        for xy, yx, _ in valid:
            o1, o2 = _FROM_XY[xy[aspect]], _FROM_YX[yx[aspect]]
            outcomes.append(o1 if o1 == o2 else "tie")
            flips.append(o1 != o2)
        per[aspect] = _rates(outcomes, flips, groups, parse_errors, n_bootstrap, seed)
    report = dict(per["overall"])
    report["n_cvs"] = len(set(groups))
    report["backend"] = backend
    report["aspects"] = {a: per[a] for a in ASPECTS}
    return report


# =========================================================================== reply cache
def cache_key(model: str, messages: list[dict]) -> str:
    """sha256 of (model id, messages): the reply cache's key."""
    blob = json.dumps([model, messages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ReplyCache:
    """Judge replies on disk, one JSONL row ``{"key", "model", "reply"}`` each (appended and fsynced).

    Holds no messages and no credentials; ``path=None`` keeps replies in memory only. A line torn by a
    kill mid-write is dropped when the cache is opened, so appending after it stays valid JSONL.
    """

    def __init__(self, path: str | Path | None = None, valid=None):
        self.path = Path(path) if path else None
        self.valid = valid  # reply -> bool: replies that fail it are neither kept nor reused (a rerun asks again)
        self._lock = threading.Lock()
        rows = read_jsonl(self.path) if self.path else []
        torn = self.path and self.path.exists() and self.path.stat().st_size
        if torn and not self.path.read_bytes().endswith(b"\n"):
            atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        self._replies = {r["key"]: r["reply"] for r in rows if valid is None or valid(r["reply"])}
        self.hits = self.misses = 0

    def ask(self, backend, messages: list[dict]) -> str:
        """The cached reply of ``backend`` to ``messages``, or a fresh one (then stored)."""
        cached = self.get(backend, messages)
        return cached if cached is not None else self.put(backend, messages, backend.judge(messages))

    def get(self, backend, messages: list[dict]) -> str | None:
        """The cached reply of ``backend`` to ``messages`` (counted as a hit), or None."""
        key = cache_key(backend.cache_id, messages)
        with self._lock:
            if key in self._replies:
                self.hits += 1
                return self._replies[key]
        return None

    def put(self, backend, messages: list[dict], reply) -> str:
        """Count a fresh ``reply`` (a non-string counts as ``""``) and store it unless ``valid`` rejects it."""
        key = cache_key(backend.cache_id, messages)
        reply = reply if isinstance(reply, str) else ""
        with self._lock:
            self.misses += 1
            if self.valid is not None and not self.valid(reply):  # empty, HTML, unparseable: never cached
                return reply
            self._replies[key] = reply
            if self.path:
                append_jsonl(self.path, [{"key": key, "model": backend.cache_id, "reply": reply}])
        return reply


# =========================================================================== backends
_RETRIED = (408, 409, 429)
"""HTTP statuses the ``openai`` client retries, besides every 5xx (``SyncAPIClient._should_retry``)."""


class OpenAIJudge:
    """Any OpenAI-compatible chat server (ChatGPT, vLLM, Ollama, llama.cpp server) at temperature 0.

    The API key comes from ``OPENAI_API_KEY`` only (``"EMPTY"`` when unset, which local servers accept);
    it is never printed, cached or put in an error message. Each request has ``timeout_s``. Retries are the
    ``openai`` client's own (``max_retries`` of them): HTTP 408, 409, 429, 5xx, timeouts and connection
    errors are retried after the server's ``Retry-After`` (``retry-after-ms`` or ``retry-after``, up to
    2 minutes; a server asking for longer is not retried), else after an exponential backoff of 0.5 s,
    doubling, at most 8 s, minus up to 25% jitter. A bad key (401/403) fails at once; other errors raise
    :class:`GirlError` naming the server URL. ``max_concurrency`` requests run at once (a thread pool in
    :func:`judge_verdicts`).
    """

    def __init__(self, base_url: str | None, model: str, timeout_s: float = 60.0, max_retries: int = 4,
                 max_concurrency: int = 4):
        if not model:
            raise GirlError("the OpenAI judge needs a model name: set judge.model (CLI: --model), e.g. "
                            "'gpt-4o-mini' or the name your vLLM/Ollama server serves")
        self.model = model
        self.max_retries = max(0, int(max_retries))
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout_s = float(timeout_s)
        self._client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY", base_url=base_url,
                                     timeout=self.timeout_s, max_retries=self.max_retries)
        self.base_url = str(self._client.base_url).rstrip("/")
        self.name = f"openai:{model}"
        self.cache_id = model

    def __repr__(self) -> str:
        return f"OpenAIJudge(base_url={self.base_url!r}, model={self.model!r})"

    def _scrub(self, text: str) -> str:
        key = os.environ.get("OPENAI_API_KEY")
        return text.replace(key, "***") if key else text

    def _attempts(self, error: openai.APIError) -> int:
        """Requests the client sent before giving up: it numbers each in its ``x-stainless-retry-count``
        header (fewer than ``max_retries + 1`` when the server said not to retry)."""
        try:
            return int(error.request.headers["x-stainless-retry-count"]) + 1
        except (AttributeError, KeyError, TypeError, ValueError):
            return self.max_retries + 1

    def judge(self, messages: list[dict]) -> str:
        """One chat completion at temperature 0 (the client retries); the reply text."""
        url = self.base_url
        try:
            resp = self._client.chat.completions.create(model=self.model, messages=messages, temperature=0)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
            raise GirlError(
                f"the judge server at {url} rejected the API key (HTTP {e.status_code}). Set OPENAI_API_KEY "
                f"to a key valid for this server (local servers accept any value).") from None
        except openai.APIStatusError as e:
            status = e.status_code
            if status not in _RETRIED and status < 500:
                hint = " Does the base URL end in /v1, and does the server serve this model?" if status == 404 else ""
                raise GirlError(f"the judge server at {url} answered HTTP {status} for model "
                                f"'{self.model}': {self._scrub(str(e.message))[:300]}.{hint}") from None
            wait = e.response.headers.get("retry-after") if e.response is not None else None
            failure = f"HTTP {status}" + (f", Retry-After: {self._scrub(wait)[:40]}" if wait else "")
            attempts = self._attempts(e)
        except openai.APITimeoutError as e:  # before APIConnectionError, its base class
            failure, attempts = f"no answer within {self.timeout_s:g} s", self._attempts(e)
        except openai.APIConnectionError as e:
            failure, attempts = "could not connect", self._attempts(e)
        else:
            choices = getattr(resp, "choices", None) or []
            return (choices[0].message.content or "") if choices else ""
        raise GirlError(
            f"the judge server at {url} failed after {attempts} attempt{'s' * (attempts != 1)} ({failure}). "
            f"Check that it is running and that judge.base_url (CLI: --base-url) is right, e.g. "
            f"http://localhost:8000/v1. Replies judged so far are kept in the cache; rerun to resume.")


class HFJudge:
    """A local Hugging Face chat model as judge, greedy decoding (offline).

    Small models follow the verdict format poorly: expect parse errors, and prefer a capable model
    (e.g. Qwen2.5-7B-Instruct on a GPU). ``model``/``tokenizer`` may be passed already loaded.
    :func:`judge_verdicts` sends up to ``batch_size`` prompts per ``generate`` call (:meth:`judge_batch`);
    ``batch_size=1`` asks one prompt at a time (:meth:`judge`).
    """

    max_concurrency = 1

    def __init__(self, model_name_or_path: str, cfg=None, max_new_tokens: int = 512, model=None, tokenizer=None,
                 batch_size: int = 8):
        if not model_name_or_path:
            raise GirlError("the HF judge needs a model: set judge.model to a local folder or hub name")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise GirlError(f"judge.batch_size must be an integer >= 1, got {batch_size!r}")
        self.batch_size = batch_size
        if model is None or tokenizer is None:
            model, tokenizer = load_generator(model_name_or_path, cfg)
        self.model, self.tokenizer = model.eval(), tokenizer
        self.max_new_tokens = int(max_new_tokens)
        self.name = f"hf:{model_name_or_path}"
        self.cache_id = f"hf:{model_name_or_path}"

    def judge(self, messages: list[dict]) -> str:
        tok = self.tokenizer
        prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        enc = tok(prompt, return_tensors="pt", add_special_tokens=False).to(next(self.model.parameters()).device)
        with torch.no_grad():
            out = self.model.generate(**enc, do_sample=False, max_new_tokens=self.max_new_tokens,
                                      pad_token_id=tok.pad_token_id)
        return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()

    def judge_batch(self, batch: list[list[dict]]) -> list[str]:
        """Replies to several chats, in order, from one greedy ``generate`` call.

        Prompts are padded on the left (``padding_side`` is set for this call only, then restored), so every
        reply starts at the same column and is decoded from its own generated tokens. A tokenizer without a
        pad token gets its EOS token as one."""
        if not batch:
            return []
        tok = self.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        prompts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in batch]
        side, tok.padding_side = tok.padding_side, "left"
        try:
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        finally:
            tok.padding_side = side
        enc = enc.to(next(self.model.parameters()).device)
        with torch.no_grad():
            out = self.model.generate(**enc, do_sample=False, max_new_tokens=self.max_new_tokens,
                                      pad_token_id=tok.pad_token_id)
        new = out[:, enc["input_ids"].shape[1]:]
        return [tok.decode(row, skip_special_tokens=True).strip() for row in new]


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
    cache_id = "rubric-v2"  # v2: detail_score reads completeness against a real posting

    def __init__(self, fit_fn=None, margins: dict | None = None):
        self.fit_fn = fit_fn
        self.margins = {"detail": 0.05, "relevance": 0.02, "conciseness": 0.05, **(margins or {})}

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


def make_backend(cfg_judge, cfg=None):
    """The backend a :class:`~girl_lib.config.JudgeConfig` asks for (``rubric``, ``openai`` or ``hf``)."""
    kind = (cfg_judge.backend or "").lower()
    if kind == "rubric":
        return RubricJudge(fit_fn=Recruiter(cfg.recruiter.kind) if cfg is not None else None)
    if kind == "openai":
        return OpenAIJudge(cfg_judge.base_url, cfg_judge.model, timeout_s=cfg_judge.timeout_s,
                           max_retries=cfg_judge.max_retries, max_concurrency=cfg_judge.max_concurrency)
    if kind == "hf":
        return HFJudge(cfg_judge.model, cfg, max_new_tokens=cfg_judge.max_new_tokens,
                       batch_size=getattr(cfg_judge, "batch_size", 8))
    raise GirlError(f"unknown judge.backend {cfg_judge.backend!r}: choose 'rubric', 'openai' or 'hf'")


# =========================================================================== judging pairs
def _check_row(row, where: str) -> dict:
    if not isinstance(row, dict):
        raise GirlError(f"{where}: expected an object with fields cv, jd_a, jd_b, got {type(row).__name__}")
    for field in ("cv", "jd_a", "jd_b"):
        if field not in row:
            raise GirlError(f"{where}: missing field '{field}' (each pair needs cv, jd_a, jd_b)")
        if not isinstance(row[field], str):
            raise GirlError(f"{where}: field '{field}' must be a string, got {type(row[field]).__name__}")
    if not row["cv"].strip():
        raise GirlError(f"{where}: field 'cv' is empty")
    return row


def parses(reply: str) -> bool:
    """Whether ``reply`` holds a complete verdict (:func:`parse_verdict` reads it)."""
    try:
        parse_verdict(reply)
        return True
    except VerdictParseError:
        return False


def world_readable(cv: str) -> bool:
    """Whether the rubric can read ``cv``: the synthetic world's parser finds at least one of its skills and its
    city or salary. The rubric's relevance is the hidden recruiter of *that* world; on other CVs it is noise."""
    facts = parse_cv(cv)
    return bool(facts["skills"]) and (facts["city"] is not None or facts["salary"] is not None)


def _judge_order(backend, cache: ReplyCache, cv: str, jd_a: str, jd_b: str) -> tuple[dict | None, str, str | None]:
    """(verdict or None, last reply, parse error or None) for one order; an unreadable reply is retried once."""
    messages = build_judge_messages(cv, jd_a, jd_b)
    reply = cache.ask(backend, messages)
    try:
        return parse_verdict(reply), reply, None
    except VerdictParseError as e:
        retry = messages + [{"role": "assistant", "content": reply},
                            {"role": "user", "content": RETRY_PROMPT.format(error=e)}]
    reply = cache.ask(backend, retry)
    try:
        return parse_verdict(reply), reply, None
    except VerdictParseError as e:
        return None, reply, str(e)


def _ask_batched(backend, cache: ReplyCache, requests: list[list[dict]], batch_size: int, done=None,
                 estimate: bool = False) -> list[str]:
    """``cache.ask`` for many requests, the uncached ones sent ``batch_size`` at a time through
    ``backend.judge_batch``. Identical requests are sent once; each reply is stored (when readable) as soon
    as its batch returns. ``done(n)`` is told how many requests got their reply. ``estimate``: after the
    first batch, print the requests left and the minutes they should take at the cost measured on it."""
    replies = [cache.get(backend, m) for m in requests]
    todo: dict[str, list[int]] = {}  # cache key -> indices of the requests that are that message list
    for n, (messages, reply) in enumerate(zip(requests, replies)):
        if reply is None:
            todo.setdefault(cache_key(backend.cache_id, messages), []).append(n)
    if done:
        done(len(requests) - sum(map(len, todo.values())))
    keys = list(todo)
    for start in range(0, len(keys), batch_size):
        chunk = keys[start:start + batch_size]
        t0 = time.perf_counter()
        fresh = backend.judge_batch([requests[todo[k][0]] for k in chunk])
        seconds = time.perf_counter() - t0
        if len(fresh) != len(chunk):
            raise GirlError(f"{backend.name} answered {len(fresh)} replies to a batch of {len(chunk)} requests")
        for k, reply in zip(chunk, fresh):
            reply = cache.put(backend, requests[todo[k][0]], reply)
            for n in todo[k]:
                replies[n] = reply
        if done:
            done(sum(len(todo[k]) for k in chunk))
        left = len(keys) - start - len(chunk)
        if estimate and start == 0 and left:
            per = seconds / len(chunk)
            tqdm.write(f"judge ({backend.name}): {left} requests left after a first batch of {len(chunk)}, "
                       f"{per:.2f} s per request measured: about {left * per / 60:.1f} min "
                       f"(plus retries of unreadable replies)")
    return replies


def _judge_batched(backend, cache: ReplyCache, orders: list[tuple[str, str, str]], batch_size: int,
                   bar=None) -> list[tuple[dict | None, str, str | None]]:
    """:func:`_judge_order` for every (cv, jd_a, jd_b) of ``orders``, batched: the same requests, cache and
    results, but all first requests go out first, then one retry of each unreadable reply."""
    done = bar.update if bar is not None else None
    firsts = [build_judge_messages(*o) for o in orders]
    replies = _ask_batched(backend, cache, firsts, batch_size, done=done, estimate=True)
    results: list = [None] * len(orders)
    retries: dict[int, list[dict]] = {}
    for n, (messages, reply) in enumerate(zip(firsts, replies)):
        try:
            results[n] = (parse_verdict(reply), reply, None)
        except VerdictParseError as e:
            retries[n] = messages + [{"role": "assistant", "content": reply},
                                     {"role": "user", "content": RETRY_PROMPT.format(error=e)}]
    if bar is not None and retries:
        bar.total += len(retries)
        bar.refresh()
    again = _ask_batched(backend, cache, list(retries.values()), batch_size, done=done)
    for n, reply in zip(retries, again):
        try:
            results[n] = (parse_verdict(reply), reply, None)
        except VerdictParseError as e:
            results[n] = (None, reply, str(e))
    return results


def judge_verdicts(rows, backend, cache_path=None, progress: bool = True) -> list[dict]:
    """Judge every row (``cv``, ``jd_a`` = x, ``jd_b`` = y, optional ``cv_id``) in both orders.

    Returns one dict per row: ``cv_id``, ``xy``/``yx`` (verdict dicts or None), ``reply_xy``/``reply_yx``
    and ``error_xy``/``error_yx``. Up to ``backend.max_concurrency`` requests run at once; each reply is
    appended to the cache at ``cache_path`` as soon as it arrives, so a failure keeps all finished work.
    A backend with ``judge_batch`` and ``batch_size > 1`` (:class:`HFJudge`) gets its uncached requests in
    batches (:func:`_judge_batched`), with the same requests, cache use, retries and results; it prints an
    estimate of the time left after its first batch.
    """
    rows = [_check_row(r, f"judge pair {i}") for i, r in enumerate(rows)]
    if not rows:
        raise GirlError("no pairs to judge: give at least one row with cv, jd_a, jd_b")
    if isinstance(backend, RubricJudge):
        foreign = sum(not world_readable(cv) for cv in {r["cv"] for r in rows})
        if foreign:
            warnings.warn(f"the rubric judge cannot read {foreign} of {len({r['cv'] for r in rows})} CVs (no skill, "
                          f"city or salary of the synthetic world): its relevance verdict reads that world's hidden "
                          f"recruiter, so on these pairs it judges noise. Use an LLM judge (judge.backend=openai or hf) "
                          f"for CVs from elsewhere.", stacklevel=2)
    cache = ReplyCache(cache_path, valid=parses)
    jobs = [(i, order) for i in range(len(rows)) for order in ("xy", "yx")]

    def triple(job) -> tuple[str, str, str]:
        r = rows[job[0]]
        return (r["cv"], r["jd_a"], r["jd_b"]) if job[1] == "xy" else (r["cv"], r["jd_b"], r["jd_a"])

    def run(job):
        return _judge_order(backend, cache, *triple(job))

    results = {}
    workers = max(1, int(getattr(backend, "max_concurrency", 1)))
    batch_size = int(getattr(backend, "batch_size", 1)) if hasattr(backend, "judge_batch") else 1
    with tqdm(total=len(jobs), desc="judge", disable=not progress, leave=False) as bar:
        if batch_size > 1:
            results = dict(zip(jobs, _judge_batched(backend, cache, [triple(j) for j in jobs], batch_size, bar)))
        elif workers == 1:
            for job in jobs:
                results[job] = run(job)
                bar.update(1)
        else:
            pool = ThreadPoolExecutor(max_workers=workers)
            futures = {pool.submit(run, job): job for job in jobs}
            try:
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(1)
            finally:  # on an error: drop queued requests, let running ones finish (and be cached)
                pool.shutdown(wait=True, cancel_futures=True)
    out = []
    for i, r in enumerate(rows):
        cv_id = r.get("cv_id") or "cv-" + hashlib.sha256(r["cv"].encode("utf-8")).hexdigest()[:12]
        item = {"cv_id": cv_id, "sample": r.get("sample", 0)}
        for order in ("xy", "yx"):
            verdict, reply, error = results[(i, order)]
            item.update({order: verdict, f"reply_{order}": reply, f"error_{order}": error})
        out.append(item)
    return out


def judge_pairs(rows, backend, cache_path=None, n_bootstrap: int = 1000, seed: int = 0,
                progress: bool = True) -> dict:
    """Judge ``rows`` (``cv``, ``jd_a``, ``jd_b``) in both orders and aggregate: the REPORT of
    :func:`aggregate`, where ``win`` means ``jd_a`` is better."""
    verdicts = judge_verdicts(rows, backend, cache_path=cache_path, progress=progress)
    return _usable(aggregate(verdicts, n_bootstrap=n_bootstrap, seed=seed, backend=backend.name), backend.name)


def _usable(report: dict, backend_name: str, what: str = "the pairs") -> dict:
    """``report``, or a clear error when not one pair got a readable verdict in both orders."""
    if not report["n"]:
        raise GirlError(f"no usable verdict for {what}: all {report['parse_errors']} pairs got unreadable replies from "
                        f"{backend_name} (see the verdicts' error_xy / error_yx). Nothing unreadable was cached, so a "
                        f"rerun asks again; check the server, the model name and that it follows the verdict format")
    return report


def read_pairs(pairs_path) -> list[dict]:
    """Rows of a pairs JSONL file, each checked for ``cv``, ``jd_a``, ``jd_b``."""
    path = Path(pairs_path)
    if not path.exists():
        raise GirlError(f"pairs file {path} not found; it needs one JSON object per line with cv, jd_a, jd_b")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise GirlError(f"{path}, line {n}: not valid JSON ({e.msg})") from None
        rows.append(_check_row(row, f"{path}, line {n}"))
    if not rows:
        raise GirlError(f"pairs file {path} holds no rows")
    return rows


def judge_file(pairs_path, out_path, backend, cache_path=None, n_bootstrap: int = 1000, seed: int = 0,
               progress: bool = True) -> dict:
    """Judge the pairs of a JSONL file and write the REPORT to ``out_path`` (atomically).

    Replies are cached at ``cache_path`` (default: ``<out_path without suffix>.cache.jsonl``), so an
    interrupted run resumes.
    """
    rows = read_pairs(pairs_path)
    out_path = Path(out_path)
    cache_path = cache_path or out_path.with_suffix(".cache.jsonl")
    report = judge_pairs(rows, backend, cache_path=cache_path, n_bootstrap=n_bootstrap, seed=seed,
                         progress=progress)
    atomic_write_json(out_path, report)
    return report


# =========================================================================== the stage (Table II analogue)
def run_judge(cfg, run_dir, backend=None, progress: bool = True) -> dict:
    """Judge the run's generations on ``judge_eval`` CVs (sample 0) for every pair of :data:`PAIRS`
    whose two models were generated. Writes ``judge/<pair>.json``, ``judge/<pair>.verdicts.jsonl``,
    ``judge/metrics.json`` ({pair: report}), ``judge/table.md``, caches replies in
    ``judge/cache.jsonl`` (resume), then marks the stage done. ``backend`` defaults to
    ``make_backend(cfg.judge, cfg)``."""
    require_stage(run_dir, "generate", "judge")
    run_dir = Path(run_dir)
    out_dir = run_dir / "judge"
    split = load_data(run_dir)["judge_eval"]
    cvs = {str(sid): cv for sid, cv in zip(split["seeker_id"], split["cv"])}
    present = set(generated_models(run_dir, cfg.generate.models))  # what generate recorded, each file checked
    pairs = [p for p in PAIRS if p[1] in present and p[2] in present]
    if not pairs:
        raise GirlError(f"judge needs generations of at least two of base, sft, girl in {run_dir / 'generate'} "
                        f"(the generate stage made: {', '.join(sorted(present)) or 'none'}); set generate.models "
                        f"and run `girl generate --run-dir {run_dir}`")
    gens = {k: load_generations(run_dir, k, "judge_eval") for k in present}
    backend = backend or make_backend(cfg.judge, cfg)
    metrics = {}
    for name, x, y in pairs:
        # JD k of x against JD k of y, for every k both models have (generate.judge_samples); pairs of one CV
        # share its cv_id, so the bootstrap resamples CVs, not pairs.
        rows = [{"cv_id": cid, "sample": k, "cv": cv, "jd_a": gens[x][cid][k], "jd_b": gens[y][cid][k]}
                for cid, cv in cvs.items() for k in range(min(len(gens[x].get(cid, [])), len(gens[y].get(cid, []))))]
        if not rows:
            raise GirlError(f"no judge_eval CV has generations from both '{x}' and '{y}' in {run_dir / 'generate'}; "
                            f"rerun `girl generate --run-dir {run_dir}`")
        verdicts = judge_verdicts(rows, backend, cache_path=out_dir / "cache.jsonl", progress=progress)
        report = aggregate(verdicts, n_bootstrap=cfg.judge.n_bootstrap, seed=cfg.judge.seed, backend=backend.name)
        atomic_write_text(out_dir / f"{name}.verdicts.jsonl",
                          "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in verdicts))
        _usable(report, backend.name, name)
        atomic_write_json(out_dir / f"{name}.json", report)
        metrics[name] = report
    atomic_write_json(out_dir / "metrics.json", metrics)
    atomic_write_text(out_dir / "table.md", render_judge_table(metrics, backend.name))
    mark_done(run_dir, "judge", {"backend": backend.name, "pairs": list(metrics)}, cfg=cfg)
    return metrics
