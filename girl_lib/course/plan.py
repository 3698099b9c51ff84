"""What a notebook decides before it runs: the profile (:func:`choose_profile`), whether this stage is trained,
read from RUN_DIR or shown from the reference run (:func:`decide`), and what it needs and how long that takes
(:func:`plan_lines`, :func:`stage_minutes`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Imports here: only what a bare Colab runtime has (see the note in girl_lib/course/__init__.py).
from ..pipeline import STAGES, is_fresh, upstream
from ..runio import GirlError, is_done, read_json
from .colab import has_gpu, on_colab
from .reference import reference_covers, reference_info


NOTEBOOKS = {
    "data": "00_data.ipynb",
    "sft": "01_sft.ipynb",
    "reward": "02_reward_model.ipynb",
    "ppo": "03_ppo.ipynb",
    "generate": "04_generate.ipynb",
    "judge": "05_judge.ipynb",
    "recommend": "06_enhanced_recommendation.ipynb",
}
"""Pipeline stage -> the notebook that teaches it (in the order of ``girl_lib.pipeline.STAGES``)."""

STAGE_MINUTES_ESTIMATE = {
    # ESTIMATES in minutes, used only when no measured timing.json is at hand. `cpu`: the main job of
    # 2026-11-29 on 2 cores (README); `tiny`: 2 shared cores; `colab`: a guess for a T4, never timed here.
    "tiny": {"data": 0.1, "sft": 0.5, "reward": 0.5, "ppo": 1.0, "generate": 0.5, "judge": 0.1, "recommend": 0.2},
    "cpu": {"data": 0.1, "sft": 5.3, "reward": 1.4, "ppo": 21.7, "generate": 2.5, "judge": 0.1, "recommend": 0.4},
    # colab's judge: ~600 greedy replies of a 1.5B model in batches of 8 (judge.batch_size), ~10 s a batch.
    "colab": {"data": 0.5, "sft": 15.0, "reward": 8.0, "ppo": 45.0, "generate": 10.0, "judge": 15.0,
              "recommend": 3.0},
}
CARD_SPEEDUP = {"T4": 1.0, "P100": 1.0, "V100": 1.8, "L4": 1.6, "A10": 2.0, "A100": 3.5, "H100": 6.0,
                "H200": 6.5}
"""GUESSES, never timed: how many times a T4's speed a card has (bf16/fp16 dense throughput and memory
bandwidth, roughly). The ``colab`` estimates are for a T4 and are divided by this; an unlisted card counts
as a T4."""


def card_speedup(name: str | None) -> tuple[float, str]:
    """(speed-up over a T4, card key) from a CUDA device name (:data:`CARD_SPEEDUP`; unknown: a T4's)."""
    for key in sorted(CARD_SPEEDUP, key=len, reverse=True):
        if name and key.lower() in name.lower():
            return CARD_SPEEDUP[key], key
    return 1.0, "T4"


def choose_profile(profile: str | None = None, env: dict | None = None, gpu: bool | None = None,
                   colab: bool | None = None) -> tuple[str, str]:
    """(profile, why): the argument, else ``$GIRL_PROFILE``, else ``colab`` on a GPU, else ``tiny`` (on a
    Colab runtime without a GPU, ``why`` says it fell back and how to get a GPU)."""
    env = os.environ if env is None else env
    if profile:
        return profile, "set in the notebook"
    if env.get("GIRL_PROFILE"):
        return env["GIRL_PROFILE"], "from GIRL_PROFILE"
    if has_gpu() if gpu is None else gpu:
        return "colab", "a GPU is present"
    if on_colab() if colab is None else colab:
        return "tiny", ("FELL BACK: this Colab runtime has no GPU, so the tiny profile runs (random toy models, "
                        "results mean nothing). For the real course use Runtime > Change runtime type > T4 GPU, "
                        "or set PROFILE = \"cpu\" (slow) to read the reference run")
    return "tiny", "the default (no GPU); set PROFILE = \"cpu\" for the real models"


def parse_train(train, env: dict | None = None) -> bool | None:
    """TRAIN as given, else ``$GIRL_TRAIN`` (1/0, true/false, yes/no), else None (decide by default)."""
    if train is not None:
        return bool(train)
    value = (os.environ if env is None else env).get("GIRL_TRAIN", "").strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    return None


@dataclass
class Decision:
    mode: str
    """``"done"`` (RUN_DIR has the stage), ``"train"`` (build what is missing) or ``"reference"``."""
    results_dir: Path
    reason: str


def stage_done(cfg, run_dir, stage: str) -> bool:
    """``stage`` is finished in ``run_dir`` and, where the pipeline records fingerprints, built from what
    ``cfg`` asks for (a stale output is not shown as this profile's result)."""
    return is_fresh(cfg, run_dir, stage)


def decide(stage: str, profile: str, run_dir, train: bool | None, ref_dir, done: bool | None = None) -> Decision:
    """Where this notebook's results come from (pure: reads only the two folders' markers).

    - the run dir already has the stage: read it (``done``), whatever TRAIN says;
    - ``data`` and the ``tiny`` profile: train (seconds);
    - TRAIN = True: train;
    - otherwise a reference of this profile that holds the stage: show it (``reference``);
    - no reference: train when TRAIN is unset, and refuse (with the way out) when TRAIN = False.
    """
    run_dir = Path(run_dir)
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    if is_done(run_dir, stage) if done is None else done:
        return Decision("done", run_dir, f"RUN_DIR already holds the '{stage}' results")
    if stage == "data" or profile == "tiny":
        return Decision("train", run_dir, "it takes seconds on this profile" if profile == "tiny" else
                        "the data stage takes seconds")
    if train:
        return Decision("train", run_dir, "TRAIN = True")
    if ref_dir is not None and reference_covers(ref_dir, profile, stage):
        return Decision("reference", Path(ref_dir), "TRAIN is not set and a reference run is shipped")
    if train is False:
        raise GirlError(f"TRAIN = False, but {run_dir} holds no '{stage}' results and there is no reference "
                        f"'{profile}' run to show (reference/{profile}/). Set TRAIN = True to train it, or point "
                        f"RUN_DIR at a finished run.")
    return Decision("train", run_dir, f"no reference '{profile}' run is shipped")


def stage_minutes(stage: str, profile: str, ref_dir=None, card: str | None = None) -> tuple[float, str]:
    """(minutes, source) for one stage: the reference run's timing.json when it is of this profile, else
    :data:`STAGE_MINUTES_ESTIMATE` (for ``colab``: a T4's, divided by :func:`card_speedup` of ``card``)."""
    info = reference_info(ref_dir) if ref_dir else None
    timing = Path(ref_dir) / "timing.json" if ref_dir else None
    if info and info.get("profile") == profile and timing.exists():
        seconds = read_json(timing).get(stage)
        if seconds is not None:
            return seconds / 60, f"measured in the reference run of {info.get('run_date') or info.get('date')}"
    minutes = STAGE_MINUTES_ESTIMATE.get(profile, STAGE_MINUTES_ESTIMATE["cpu"])[stage]
    if profile != "colab":
        return minutes, "estimate"
    speedup, key = card_speedup(card)
    return minutes / speedup, f"estimate for a {key}, a guess never timed"


def _fmt_min(minutes: float) -> str:
    return "seconds" if minutes < 0.5 else f"~{minutes:.0f} min" if minutes >= 1.5 else "~1 min"


def plan_lines(stage: str, profile: str, run_dir, ref_dir=None, done=None, card: str | None = None) -> list[str]:
    """What this notebook needs, stage by stage: done in RUN_DIR, or to build (how long, on ``card`` where the
    profile's estimate is a GPU's). ``done(stage)`` says whether a stage is finished (default: its DONE
    marker)."""
    done = done or (lambda s: is_done(run_dir, s))
    need = upstream(stage) + [stage]
    lines = [f"{NOTEBOOKS[stage]} needs " + (" -> ".join(need[:-1]) + f" before '{stage}'" if len(need) > 1
                                             else f"only its own stage '{stage}'")]
    total, sources = 0.0, set()
    for s in need:
        if done(s):
            lines.append(f"  {s:<10} done in RUN_DIR")
            continue
        minutes, source = stage_minutes(s, profile, ref_dir, card)
        total += minutes
        sources.add(source)
        notebook = f" (notebook {NOTEBOOKS[s][:2]})" if s != stage else ""
        where = f" on a {card_speedup(card)[1]}" if profile == "colab" else ""
        lines.append(f"  {s:<10} to build{notebook}: {_fmt_min(minutes)} on {profile}{where}")
    if total:
        lines.append(f"  training all of it here: {_fmt_min(total)} ({'; '.join(sorted(sources))})")
    return lines


def minutes_to_train(stage: str, profile: str, run_dir, ref_dir=None, done=None) -> float:
    done = done or (lambda s: is_done(run_dir, s))
    return sum(stage_minutes(s, profile, ref_dir)[0] for s in upstream(stage) + [stage] if not done(s))
