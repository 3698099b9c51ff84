"""The names every stage, the report and the notebooks share, in one leaf module (it imports nothing).

Generators, judge aspects and comparisons, recommenders, test subsets and the paired comparisons each
report shows are named here once; :mod:`girl_lib.generate`, :mod:`girl_lib.judge`, :mod:`girl_lib.recommend`,
:mod:`girl_lib.report` and :mod:`girl_lib.course` import them from here (so ``report`` needs neither
``judge`` nor ``recommend``, which import it to render their tables).
"""

from __future__ import annotations

MODEL_NAMES = {"sft": "GIRL-SFT", "girl": "GIRL", "base": "base-gen"}
"""Generator key (``generate/<key>.jsonl``) -> the name every table, plot and notebook uses (the paper's
Table II-IV rows). ``base-gen`` is our ablation, JDs from the untuned generator; the paper's ``Base`` row
(recommendation without any generated JD) is not a generator and has no key here."""
STAGE_MODEL_NAMES = {"sft": "GIRL-SFT", "ppo": "GIRL"}
"""Training stage whose ``model/`` is a generator -> its label."""

JUDGE_ASPECTS = ("detail", "relevance", "conciseness")
"""The three aspects of paper Sec. VI-B; every verdict also has ``overall``."""
JUDGE_PAIRS = (("GIRL_vs_GIRL-SFT", "girl", "sft"), ("GIRL-SFT_vs_base", "sft", "base"),
               ("GIRL_vs_base", "girl", "base"))
"""The judge's comparisons: (name, generator key x, generator key y); ``win`` means x is better."""

PREDICTORS = ("MLP", "Dot")
"""The two-tower recommenders (paper Eq. 10-11 and 13-15)."""
REC_MODEL_ORDER = ("Base", "GIRL-SFT", "GIRL", "Retrieved", "base-gen")
"""Rows of Tables III-IV. ``Retrieved`` is the non-generative control: j' is the real JD matched to the
nearest ``sft`` CV, through the same pipeline as a generated JD."""
REC_SUBSETS = (("all", "recommend"), ("cold_start", "recommend_cold_start"), ("warm", "recommend_warm"),
               ("within_occupation", "recommend_within_occupation"))
"""Test subset -> key of ``recommend/metrics.json``. ``within_occupation``: the test rows whose job is in the
seeker's own occupation (the data's evaluation-only ``same_occupation`` flag), where occupation cannot decide."""
REC_DIFF_PAIRS = (("GIRL", "Base"), ("GIRL", "GIRL-SFT"), ("GIRL", "Retrieved"), ("GIRL-SFT", "Base"))
"""The paired differences the recommend stage computes (``"A-B"`` keys), in the order the report shows them."""


def pair_models(pair: str) -> tuple[str, str]:
    """``"GIRL-SFT-Base"`` -> ``("GIRL-SFT", "Base")`` (model names contain dashes, so split on known names)."""
    for a, b in REC_DIFF_PAIRS:
        if pair == f"{a}-{b}":
            return a, b
    return tuple(pair.rsplit("-", 1))  # type: ignore[return-value]
