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

The package, one job a module: :mod:`.verdicts` (the prompt and reading replies), :mod:`.outcomes`
(win/tie/lose and the bootstrap, pure), :mod:`.rubric` (the offline rubric judge), :mod:`.backends` (the
LLM judges and :func:`make_backend`) and :mod:`.judging` (the reply cache, judging pairs, the stage).
Every name is importable from ``girl_lib.judge``.
"""

from ..metrics import distinct_ngram_ratio  # noqa: F401 - re-exported (tests)
from .backends import HFJudge, OpenAIJudge, make_backend
from .judging import (PAIRS, PAPER_TABLE_II, ReplyCache, cache_key, judge_file, judge_pairs, judge_verdicts, read_pairs,
                      run_judge)
from .outcomes import aggregate, bootstrap_adv_ci
from .rubric import (DETAIL_WEIGHTS, REAL_REQUIREMENT_LINES, RubricJudge, conciseness_score, detail_parts,
                     detail_score, world_readable)
from .verdicts import (ASPECTS, JUDGE_PROMPT, JUDGE_SYSTEM, LABELS, RETRY_PROMPT, VERDICT_FORMAT, VERDICT_KEYS,
                       VerdictParseError, build_judge_messages, format_verdict, parse_verdict, parses,
                       split_judge_messages)

__all__ = [
    "ASPECTS", "DETAIL_WEIGHTS", "JUDGE_PROMPT", "JUDGE_SYSTEM", "LABELS", "PAIRS", "PAPER_TABLE_II",
    "REAL_REQUIREMENT_LINES", "RETRY_PROMPT", "VERDICT_FORMAT", "VERDICT_KEYS",
    "HFJudge", "OpenAIJudge", "ReplyCache", "RubricJudge", "VerdictParseError",
    "aggregate", "bootstrap_adv_ci", "build_judge_messages", "cache_key", "conciseness_score", "detail_parts",
    "detail_score", "format_verdict", "judge_file", "judge_pairs", "judge_verdicts", "make_backend", "parse_verdict",
    "parses", "read_pairs", "run_judge", "split_judge_messages", "world_readable",
]
