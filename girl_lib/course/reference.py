"""Reference mode: the small outputs of a finished run shipped in ``reference/<profile>/`` (no weights, no
datasets), how :func:`copy_reference` copies and checks them, and how a notebook reads them."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import date
from fnmatch import fnmatch
from pathlib import Path

# Imports here: only what a bare Colab runtime has (see the note in girl_lib/course/__init__.py).
from ..pipeline import STAGES
from ..runio import GirlError, atomic_write_json, is_done, read_json
from .repo import ROOT


REFERENCE_PROFILES = ("cpu",)
"""Profiles for which a reference run may be shipped (``tiny`` trains in seconds, ``colab`` has a GPU)."""
REFERENCE_MARKER = "REFERENCE.json"


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
    "reward_compare/rows.json", "ppo_tradeoff/rows.json", "ppo_baselines/compare.json",
    "recommend_untrained/scores.json",
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
