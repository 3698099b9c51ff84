"""Run-dir plumbing: atomic writes, stage markers, JSONL, seeding, finiteness checks.

Every stage writes under ``<run_dir>/<stage>/``. Files are written under a temporary name and renamed
(atomic on POSIX), folders are built under ``<name>.tmp-<pid>`` and renamed into place, and a stage
writes ``<run_dir>/<stage>/DONE`` last, so a killed run never leaves a half-written result that a
rerun would trust.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np


class GirlError(RuntimeError):
    """A user-facing error: the message says what went wrong and how to fix it."""


class NonFiniteError(GirlError):
    """A loss, reward or value became NaN/inf; training stops before writing a broken checkpoint."""


def atomic_write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name; on success replace ``path`` with it.

    >>> with atomic_dir(run_dir / "sft" / "model") as tmp:
    ...     model.save_pretrained(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def append_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    """Append rows and fsync, so a crash loses at most the row being written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _drop_torn_tail(path)
    with open(path, "a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, default=_json_default) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _drop_torn_tail(path: Path) -> None:
    """A kill mid-write can leave a last line without its newline: cut it before appending more."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        f.truncate(data.rfind(b"\n") + 1)


def read_jsonl(path: str | Path) -> list[dict]:
    """Read a JSONL file; a torn last line (from a kill mid-write) is dropped."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i >= len(lines) - 2:  # torn final line
                break
            raise GirlError(f"{path}: line {i + 1} is not valid JSON; delete the file to regenerate it")
    return rows


def stage_dir(run_dir: str | Path, stage: str) -> Path:
    return Path(run_dir) / stage


def is_done(run_dir: str | Path, stage: str) -> bool:
    return (stage_dir(run_dir, stage) / "DONE").exists()


def mark_done(run_dir: str | Path, stage: str, info: dict | None = None) -> None:
    atomic_write_json(stage_dir(run_dir, stage) / "DONE", info or {})


def clear_done(run_dir: str | Path, stage: str) -> None:
    marker = stage_dir(run_dir, stage) / "DONE"
    if marker.exists():
        marker.unlink()


def require_stage(run_dir: str | Path, stage: str, needed_by: str) -> Path:
    """Fail with a clear message when an earlier stage has not run."""
    if not is_done(run_dir, stage):
        raise GirlError(
            f"{needed_by} needs the '{stage}' stage, but {stage_dir(run_dir, stage)} is missing or "
            f"unfinished. Run `girl {stage} --run-dir {run_dir}` first (or `girl run`)."
        )
    return stage_dir(run_dir, stage)


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_finite(value, what: str) -> None:
    """Raise :class:`NonFiniteError` if ``value`` (float or tensor) holds NaN or inf."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            ok = bool(torch.isfinite(value).all())
        else:
            ok = math.isfinite(float(value))
    except TypeError:
        ok = math.isfinite(float(value))
    if not ok:
        raise NonFiniteError(
            f"{what} is NaN or infinite. Training stopped; the last good checkpoint is kept. "
            f"Lower the learning rate or check the inputs, then rerun (it resumes)."
        )
