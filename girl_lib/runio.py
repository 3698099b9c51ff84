"""Run-dir plumbing: atomic writes, stage markers, JSONL, seeding, finiteness checks.

Every stage writes under ``<run_dir>/<stage>/``. Files are written under a temporary name and renamed
(atomic on POSIX), folders are built under ``<name>.tmp-<pid>`` and renamed into place, and a stage
writes ``<run_dir>/<stage>/DONE`` last, so a killed run never leaves a half-written result that a
rerun would trust.

One file on purpose (~610 lines): it is the run dir's whole on-disk contract (writer lock, atomic writes,
markers, fingerprints), which every stage imports; kept together, "DONE last, with its fingerprint" is
written and checked in one place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import random
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np


class GirlError(RuntimeError):
    """A user-facing error: the message says what went wrong and how to fix it."""


class NonFiniteError(GirlError):
    """A loss, reward or value became NaN/inf; training stops before writing a broken checkpoint."""


class RunDirBusy(GirlError):
    """Another process holds the run dir's writer lock (:func:`run_dir_lock`)."""


# ------------------------------------------------------------------------------------------- one writer
LOCK_NAME = ".girl.lock"
"""The file in a run dir whose ``flock`` its one writer holds (it also names the holder: pid, command)."""
_HELD: dict = {}  # resolved run dir -> [open lock file, depth]: the lock is re-entrant within a process


def _command_line() -> str:
    """How this process was started, as a user would type it (``girl run ...``)."""
    import shlex
    import sys

    argv = list(sys.argv) or ["python"]
    head = Path(argv[0]).name
    if head in ("girl", "cli.py", "__main__.py"):
        argv[0] = "girl"
    elif head.startswith("ipykernel") or "ipykernel" in " ".join(argv):
        return "a notebook (Jupyter kernel)"
    return shlex.join(argv)


def lock_holder(run_dir: str | Path) -> dict | None:
    """``{"pid", "command", "since"}`` of the process that last took the run dir's lock (``None``: unknown).
    Only meaningful while the lock is held: a killed holder's record stays until the next writer."""
    try:
        rec = json.loads((Path(run_dir) / LOCK_NAME).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def _busy_message(run_dir: Path) -> str:
    holder = lock_holder(run_dir) or {}
    who = f"pid {holder['pid']}" if holder.get("pid") else "another process"
    what = f", `{holder['command']}`" if holder.get("command") else ""
    since = f" (since {holder['since']})" if holder.get("since") else ""
    return (f"{run_dir} is being written by {who}{what}{since}. One writer per run dir: wait for it to finish "
            f"(or stop it), or pass another --run-dir. Reading it (`girl report`, a notebook in reference mode) "
            f"needs no lock.")


@contextlib.contextmanager
def run_dir_lock(run_dir: str | Path, command: str | None = None) -> Iterator[Path]:
    """Hold ``run_dir``'s writer lock (``flock`` on :data:`LOCK_NAME`) for the block; raise :class:`RunDirBusy`
    at once, naming the holder's pid and command, when another process holds it. The OS releases the lock of
    a killed process. Re-entrant within one process (``girl run`` holds it while each stage takes it again)."""
    run_dir = Path(run_dir)
    key = str(run_dir.resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield run_dir
        finally:
            _HELD[key][1] -= 1
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no flock; one writer is then the user's care
        yield run_dir
        return
    f = open(run_dir / LOCK_NAME, "a+", encoding="utf-8")  # "a+": never truncate the holder's record
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise RunDirBusy(_busy_message(run_dir)) from None
    import time

    f.seek(0)
    f.truncate()
    f.write(json.dumps({"pid": os.getpid(), "command": command or _command_line(),
                        "since": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
    f.flush()
    _HELD[key] = [f, 1]
    try:
        yield run_dir
    finally:
        _HELD[key][1] -= 1
        if _HELD[key][1] == 0:
            del _HELD[key]
            f.close()  # closing the last descriptor releases the flock


def holds_lock(run_dir: str | Path) -> bool:
    """Whether this process holds ``run_dir``'s writer lock."""
    return str(Path(run_dir).resolve()) in _HELD


# ------------------------------------------------------------------------------------------- write failures
class WriteFailed(GirlError):
    """A file of the run dir could not be written (disk full, file too large, read-only): ``path`` and
    ``reason`` say which and why; the CLI turns it into one line and exit status 1."""

    def __init__(self, path, reason: str):
        self.path, self.reason = (str(path) if path else None), reason
        super().__init__(f"could not write {self.path or 'a file'}: {reason}")


WRITE_ERRNOS = ("ENOSPC", "EFBIG", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO")
"""``errno`` names of an :class:`OSError` that means a write failed for a reason outside the program."""


def write_failure(err: BaseException, path=None) -> WriteFailed | None:
    """``err`` as a :class:`WriteFailed` when it is one (an ``OSError`` of :data:`WRITE_ERRNOS`, safetensors'
    ``SafetensorError``, torch's "PytorchStreamWriter failed" / "file write failed"), else ``None``. Checked
    by name, so neither torch nor safetensors is imported."""
    import errno as _errno

    if isinstance(err, WriteFailed):
        return err
    if isinstance(err, OSError):
        if err.errno is None or _errno.errorcode.get(err.errno) not in WRITE_ERRNOS:
            return None
        return WriteFailed(err.filename or path, err.strerror or str(err))
    text = str(err)
    if type(err).__name__ == "SafetensorError" or (
            isinstance(err, RuntimeError) and ("PytorchStreamWriter failed" in text or "file write failed" in text)):
        for code, reason in ((" 27", "File too large"), ("FileTooLarge", "File too large"),
                             ("StorageFull", "No space left on device"), (" 28", "No space left on device")):
            if code in text:
                return WriteFailed(path, reason)
        return WriteFailed(path, text.splitlines()[0][:200] if text else type(err).__name__)
    return None


def atomic_write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(path)
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def recover_dir(path: str | Path) -> None:
    """Clear what a writer of :func:`atomic_dir` (or :func:`atomic_write_text`) left when it was killed (SIGKILL,
    power loss), where no ``except`` ran: its ``.<name>.tmp-<pid>`` (a half-built folder or file) and
    ``.<name>.old-<pid>``. If the kill came between the two renames (``path`` gone, its previous version moved
    aside), that previous version is put back first, so a reader finds the last complete folder. Leftovers of a process still alive, or of this one, are
    left alone: they may be a build in progress. ``atomic_dir`` calls this before it builds; a reader that must
    find the folder (a resume) calls it before it looks."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    prefix = f".{path.name}."
    for leftover in sorted(path.parent.iterdir()):
        kind, _, pid = leftover.name[len(prefix):].partition("-")
        if not (leftover.name.startswith(prefix) and kind in ("tmp", "old") and pid.isdigit()):
            continue
        if int(pid) == os.getpid() or _pid_alive(int(pid)):
            continue
        if kind == "old" and not path.exists() and leftover.is_dir():
            os.replace(leftover, path)
        elif leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name; on success replace ``path`` with it.

    >>> with atomic_dir(run_dir / "sft" / "model") as tmp:
    ...     model.save_pretrained(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(path)
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


# ------------------------------------------------------------------------------------------- provenance
STAGES = ("data", "sft", "reward", "ppo", "generate", "judge", "recommend")
INPUTS = {
    "data": (),
    "sft": ("data",),
    "reward": ("data",),
    "ppo": ("data", "sft", "reward"),
    "generate": ("data", "sft", "ppo"),
    "judge": ("data", "generate"),
    "recommend": ("data", "generate"),
}
"""The stages whose outputs each stage reads (its fingerprint includes theirs)."""
CONFIG_READ = {
    "data": ("data",),
    "sft": ("sft", "models.generator", "models.dtype"),
    "reward": ("reward", "models.reward_backbone", "models.dtype", "recruiter"),
    "ppo": ("ppo", "reward.max_length", "models.dtype", "recruiter"),
    "generate": ("generate", "models.generator", "models.dtype"),
    "judge": ("judge", "recruiter"),
    "recommend": ("recommend", "models.encoder", "models.dtype", "judge.n_bootstrap", "judge.seed"),
}
"""The profile's sections (or single fields) each stage's results depend on. Top-level scalars of the profile
(``seed``) count for every stage. Not counted: :data:`NOT_RESULTS`, and on purpose ``generate`` for ``sft`` and
``ppo`` (they sample a few JDs with its settings for their metrics only; retraining for a new temperature
would be absurd, and the generate stage reuses PPO's evaluation JDs only when their sampler matches)."""
NOT_RESULTS = frozenset({"models.device", "ppo.checkpoint_every", "judge.max_concurrency", "judge.timeout_s",
                         "judge.max_retries", "judge.batch_size", "recommend.num_threads", "generate.backend"})
"""Fields that change how a stage runs, not what it produces (a change rebuilds nothing). Like ``models.device``,
``generate.backend`` can move a sampled token only through float rounding: both backends draw from the same
distribution with the same random numbers (``tests/test_generate.py``); ``judge.batch_size`` batches the same greedy
requests of a local judge (``tests/test_judge.py``: the same replies as one at a time)."""
FINGERPRINT_VERSION = 1


def _plain(value):
    """JSON-stable form of a config value (tuples as lists, dicts with string keys)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def file_digest(path) -> str | None:
    """sha256 of a file's bytes (``None`` when it cannot be read)."""
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


def stage_config(cfg, stage: str) -> dict:
    """``{"section.field": value}`` of everything ``stage`` reads from the profile ``cfg`` (see
    :data:`CONFIG_READ`); the data stage adds ``data.file_sha256``, the digest of its input file."""
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name != "name" and not dataclasses.is_dataclass(value):
            out[f.name] = _plain(value)
    for item in CONFIG_READ[stage]:
        section, _, field = item.partition(".")
        sub = getattr(cfg, section)
        names = [field] if field else [x.name for x in dataclasses.fields(sub)]
        for name in names:
            key = f"{section}.{name}"
            if key not in NOT_RESULTS:
                out[key] = _plain(getattr(sub, name))
    if stage == "data" and str(cfg.data.source).lower() != "synthetic" and cfg.data.path:
        digest = file_digest(cfg.data.path)
        if digest is not None:  # the file's content counts, not where it lies
            out.pop("data.path", None)
        out["data.file_sha256"] = digest
    return out


def fingerprint(stage: str, config: dict, inputs: dict) -> str:
    """The hash a stage's output is known by: its config (:func:`stage_config`) and its inputs' fingerprints."""
    blob = json.dumps({"v": FINGERPRINT_VERSION, "stage": stage, "config": config, "inputs": inputs},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def expected_fingerprints(cfg) -> dict:
    """``{stage: fingerprint}`` that a run dir built entirely from ``cfg`` holds."""
    fps: dict = {}
    for stage in STAGES:
        fps[stage] = fingerprint(stage, stage_config(cfg, stage), {d: fps[d] for d in INPUTS[stage]})
    return fps


DAMAGED = "_damaged"
"""The key :func:`done_record` sets (to the reason) for a DONE marker that is empty or not a JSON object."""


def _read_marker(run_dir: str | Path, stage: str, name: str, unreadable):
    """The JSON object in ``<stage>/<name>``: ``None`` when absent, ``unreadable(reason)`` when it is not one."""
    path = stage_dir(run_dir, stage) / name
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as err:
        return unreadable(f"unreadable: {getattr(err, 'strerror', None) or err}")
    if not text.strip():
        return unreadable("empty")
    try:
        rec = json.loads(text)
    except ValueError as err:
        return unreadable(f"not JSON: {err}")
    return rec if isinstance(rec, dict) else unreadable(f"a JSON {type(rec).__name__}, not an object")


def done_record(run_dir: str | Path, stage: str) -> dict | None:
    """The content of ``<stage>/DONE`` (``None`` when the stage is not finished). A damaged marker (empty,
    not JSON) reads as ``{DAMAGED: reason}``: a finished-looking stage that must be rebuilt."""
    return _read_marker(run_dir, stage, "DONE", lambda why: {DAMAGED: why})


def recorded_fingerprint(run_dir: str | Path, stage: str) -> str | None:
    rec = done_record(run_dir, stage)
    return rec.get("fingerprint") if rec else None


def cached_result(path: str | Path, made_from: dict, compute: Callable[[], Any] | None) -> Any:
    """A side result (a notebook's extra study) saved at ``path`` with what it was ``made_from`` (the
    fingerprints of the stages it read, its settings): returned while ``made_from`` is unchanged; otherwise
    ``compute()``, saved atomically with ``made_from``, or ``None`` when ``compute`` is ``None`` (nothing
    to compute it with, e.g. a reference run without weights). A result made from other inputs is never
    returned."""
    path, made_from = Path(path), json.loads(json.dumps(made_from))  # tuples compare as the lists JSON gives back
    if path.exists():
        saved = read_json(path)
        if isinstance(saved, dict) and saved.get("made_from") == made_from and "result" in saved:
            return saved["result"]
    if compute is None:
        return None
    result = compute()
    atomic_write_json(path, {"made_from": made_from, "result": result})
    return result


def build_fingerprint(cfg, run_dir: str | Path, stage: str) -> tuple[str, dict, dict]:
    """``(fingerprint, config, inputs)`` of ``stage`` built now from ``cfg`` and the inputs on disk."""
    config = stage_config(cfg, stage)
    inputs = {d: recorded_fingerprint(run_dir, d) for d in INPUTS[stage]}
    return fingerprint(stage, config, inputs), config, inputs


_WEIGHTS_CACHE: dict = {}


def weights_digest(model_dir: str | Path) -> str | None:
    """sha256 of a model folder (every file's name and bytes), ``None`` when there is none. A rebuilt stage with
    the same config can hold other weights (PPO on a GPU is not bit-reproducible): rows sampled from the old
    weights must not pass for the new ones. Cached per (path, sizes, mtimes) within a process."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return None
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    key = (str(model_dir.resolve()), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if key not in _WEIGHTS_CACHE:
        h = hashlib.sha256()
        for p in files:
            h.update(p.relative_to(model_dir).as_posix().encode() + b"\0")
            h.update((file_digest(p) or "").encode())
        _WEIGHTS_CACHE[key] = h.hexdigest()[:16]
    return _WEIGHTS_CACHE[key]


def generation_fingerprints(cfg, run_dir: str | Path) -> dict:
    """Per generator (base, sft, girl): what its ``generate/<key>.jsonl`` rows depend on, hashed: the generate
    settings (all but ``models``), the data, and the weights (base: the profile's generator; sft: the sft
    stage's fingerprint and :func:`weights_digest`, and ppo, whose evaluation JDs it may copy; girl: ppo's
    fingerprint and weights digest). Equal hashes: the rows can be reused."""
    config = {k: v for k, v in stage_config(cfg, "generate").items() if k != "generate.models"}
    data = recorded_fingerprint(run_dir, "data")
    sft_w, ppo_w = weights_digest(stage_dir(run_dir, "sft") / "model"), weights_digest(stage_dir(run_dir, "ppo") / "model")
    sources = {"base": {}, "sft": {"sft": recorded_fingerprint(run_dir, "sft"), "sft_weights": sft_w,
                                   "ppo": recorded_fingerprint(run_dir, "ppo")},
               "girl": {"ppo": recorded_fingerprint(run_dir, "ppo"), "ppo_weights": ppo_w}}
    return {key: fingerprint(f"generate:{key}", config, {"data": data, **src}) for key, src in sources.items()}


def describe_change(old: dict, new: dict, limit: int = 4) -> str:
    """``"ppo.kl_coef 0.05 -> 0.5, ppo.iterations 3 -> 4"``: the fields that differ between two configs."""
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k, "<unset>") != new.get(k, "<unset>")]
    parts = [f"{k} {_short(old.get(k, '<unset>'))} -> {_short(new.get(k, '<unset>'))}" for k in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"and {len(keys) - limit} more")
    return ", ".join(parts)


def _short(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def mark_done(run_dir: str | Path, stage: str, info: dict | None = None, cfg=None) -> None:
    """Write ``<stage>/DONE`` last. With ``cfg``, it records the stage's provenance: its fingerprint, the
    config it read, its inputs' fingerprints and the profile name (``girl run`` rebuilds it when these no
    longer match). A ``BUILDING`` marker left by :func:`mark_building` is removed."""
    record = dict(info or {})
    if cfg is not None:
        fp, config, inputs = build_fingerprint(cfg, run_dir, stage)
        record.update(fingerprint=fp, profile=getattr(cfg, "name", None), config=config, inputs=inputs)
        if stage == "generate":
            record["model_fingerprints"] = generation_fingerprints(cfg, run_dir)
        if stage == "data":  # where a file came from (its content, not its path, is in the fingerprint)
            record["path"] = str(Path(cfg.data.path).resolve()) if cfg.data.path else None
    atomic_write_json(stage_dir(run_dir, stage) / "DONE", record)
    building = stage_dir(run_dir, stage) / "BUILDING"
    if building.exists():
        building.unlink()


def save_model_dir(path: str | Path, model, tokenizer=None) -> Path:
    """A ``from_pretrained`` folder, swapped in whole (:func:`atomic_dir`): safetensors weights + tokenizer."""
    try:
        with atomic_dir(path) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp)
    except Exception as err:  # a full disk surfaces as safetensors' or torch's own error: name the folder
        failed = write_failure(err, path)
        if failed is None:
            raise
        raise WriteFailed(path, failed.reason) from err  # the folder, not its temporary name
    return Path(path)


def save_stage(run_dir: str | Path, stage: str, metrics: dict, summary: dict, cfg, model: tuple | None = None,
               out_dir: str | Path | None = None, mark: bool = True) -> None:
    """The end of a training stage, in the order that keeps a killed run honest: ``model/`` (safetensors
    weights + tokenizer, swapped in whole), then ``metrics.json``, then ``DONE`` holding ``summary`` and
    the provenance (:func:`mark_done`). ``model`` is ``(weights, tokenizer)`` (``None`` skips the
    weights); ``out_dir`` defaults to ``run_dir/stage``; ``mark=False`` writes no DONE (a side run in
    another folder, e.g. PPO's λ sweep)."""
    out_dir = Path(out_dir) if out_dir is not None else stage_dir(run_dir, stage)
    if model is not None:
        save_model_dir(out_dir / "model", *model)
    atomic_write_json(out_dir / "metrics.json", metrics)
    if mark:
        mark_done(run_dir, stage, summary, cfg=cfg)


def mark_building(run_dir: str | Path, stage: str, fp: str, config: dict | None = None,
                  profile: str | None = None) -> None:
    """``<stage>/BUILDING``: which fingerprint the unfinished outputs of a stage belong to (resume only
    those)."""
    atomic_write_json(stage_dir(run_dir, stage) / "BUILDING",
                      {"fingerprint": fp, "config": config or {}, "profile": profile})


def building_record(run_dir: str | Path, stage: str) -> dict | None:
    """The content of ``<stage>/BUILDING`` (``None`` when absent or unreadable)."""
    return _read_marker(run_dir, stage, "BUILDING", lambda why: None)


def clear_done(run_dir: str | Path, stage: str) -> None:
    marker = stage_dir(run_dir, stage) / "DONE"
    if marker.exists():
        marker.unlink()


def run_profile(run_dir: str | Path) -> str | None:
    """The profile a run dir is being built or was made with (a stage's BUILDING marker, ``profile.json``,
    a stage's DONE), or ``None``."""
    run_dir = Path(run_dir)
    for stage in STAGES:
        rec = building_record(run_dir, stage)
        if rec and rec.get("profile"):
            return rec["profile"]
    try:
        if (run_dir / "profile.json").is_file():
            name = read_json(run_dir / "profile.json").get("name")
            if name:
                return name
    except (OSError, ValueError, AttributeError):
        pass
    for stage in STAGES:
        rec = done_record(run_dir, stage)
        if rec and rec.get("profile"):
            return rec["profile"]
    return None


def require_stage(run_dir: str | Path, stage: str, needed_by: str, profile: str | None = None) -> Path:
    """Fail with a clear message when an earlier stage has not run."""
    if not is_done(run_dir, stage):
        profile = profile or run_profile(run_dir) or "<profile>"
        raise GirlError(
            f"{needed_by} needs the '{stage}' stage, but {stage_dir(run_dir, stage)} is missing or "
            f"unfinished. Run `girl {stage} --run-dir {run_dir} --profile {profile}` first "
            f"(or `girl run --run-dir {run_dir} --profile {profile}`)."
        )
    return stage_dir(run_dir, stage)


def check_run_dir(run_dir: str | Path) -> Path:
    """``run_dir`` as a writable folder (created when missing), or a :class:`GirlError` saying why not."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise GirlError(f"the run dir {run_dir} is a file, not a folder; pass another --run-dir")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GirlError(f"cannot create the run dir {run_dir} ({err.strerror or err}); pass another "
                        f"--run-dir") from None
    probe = run_dir / f".write-test-{os.getpid()}"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise GirlError(f"the run dir {run_dir} is not writable ({err.strerror or err}); fix its permissions or "
                        f"pass another --run-dir") from None
    return run_dir


def derive_seed(seed: int, offset: int = 0) -> int:
    """The seed of sub-stream ``offset`` (a chunk, an iteration, a purpose) of a stage seeded ``seed``. The
    prime stride keeps the streams of neighbouring seeds from overlapping for any offset below it."""
    return int(seed) * 1_000_003 + int(offset)


def set_seed(seed: int) -> None:
    import torch  # local: cli, course and data import this module and must not pay ~1 s for torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_finite(value, what: str) -> None:
    """Raise :class:`NonFiniteError` if ``value`` (float or tensor) holds NaN or inf."""
    try:
        import torch  # local, as in set_seed

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
