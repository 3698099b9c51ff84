"""``girl run``: every stage in order over one run dir, resumable, never stale (DESIGN.md's data flow).

    data -> sft -> reward -> ppo -> generate -> judge -> recommend -> results.json, report.md, plots/

Each stage reads only what earlier stages wrote and marks itself done (``<stage>/DONE``) last, with a
*fingerprint* of what it was built from: the parts of the profile it reads and its inputs' fingerprints
(:func:`girl_lib.runio.stage_config`, :data:`girl_lib.runio.INPUTS`). A rerun skips a stage only while its
fingerprint matches the one the profile asks for; otherwise the stage and everything downstream are rebuilt,
and a line says why (``ppo: config changed (ppo.kl_coef 0.05 -> 0.5); rebuilding ppo, generate, ...``).
``force`` rebuilds a stage and its dependents whatever their fingerprints.

A finished output being rebuilt is moved to ``<run_dir>/.<stage>.prev`` and removed only once its successor
is done; a rerun after an interruption resumes the new build (PPO, generation and judging resume *inside*
the stage), or, when the profile went back to what the kept output was made with, restores it.

Every function here that writes holds the run dir's writer lock (:func:`girl_lib.runio.run_dir_lock`): a
second writer stops at once, naming the first. A ``force`` is remembered in ``<run_dir>/FORCED`` until every
stage it rebuilds is done again, whatever interrupts it; a run dir built from the user's own file records it
(``data_source.json``: absolute path, sha256) and never falls back to the synthetic world on its own.

One file on purpose (~640 lines): planning, running, resuming, restoring backups, remembering ``force`` and
adopting a data source all decide together what happens to one run dir under one writer lock; split, the
order of those decisions would be spread over modules.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import distributed as dist
from .config import Profile, profile_to_dict
from .runio import (DAMAGED, INPUTS, STAGES, GirlError, append_jsonl, atomic_write_json, build_fingerprint, building_record,
                    check_run_dir, describe_change, done_record, expected_fingerprints, file_digest,
                    generation_fingerprints, mark_building, read_json, read_jsonl, require_stage, run_dir_lock,
                    run_profile, stage_config, stage_dir, WriteFailed, write_failure)

__all__ = ["DEPENDS_ON", "STAGES", "StageStatus", "adopt_data_source", "backup_dir", "dependents", "describe",
           "ensure", "is_fresh", "prepare", "remembered_force", "run_pipeline", "run_stage", "stage_status",
           "upstream"]

DEPENDS_ON = INPUTS
"""Stage -> the stages whose outputs it reads (:data:`girl_lib.runio.INPUTS`)."""


def dependents(stage: str) -> list[str]:
    """``stage`` and every stage downstream of it, in pipeline order."""
    out = {stage}
    for s in STAGES:
        if any(d in out for d in DEPENDS_ON[s]):
            out.add(s)
    return [s for s in STAGES if s in out]


def upstream(stage: str) -> list[str]:
    """Every stage ``stage`` needs, directly or not, in pipeline order (``stage`` itself excluded)."""
    need, todo = set(), list(DEPENDS_ON[stage])
    while todo:
        s = todo.pop()
        if s not in need:
            need.add(s)
            todo.extend(DEPENDS_ON[s])
    return [s for s in STAGES if s in need]


def backup_dir(run_dir, stage: str) -> Path:
    """Where a finished output waits while its stage is rebuilt (removed once the new one is done)."""
    return Path(run_dir) / f".{stage}.prev"


def _forced(force) -> set:
    out = set()
    for stage in force or ():
        if stage not in STAGES:
            raise GirlError(f"--force {stage!r}: unknown stage; stages are {', '.join(STAGES)}")
        out |= set(dependents(stage))
    return out


# ------------------------------------------------------------------------------------------- remembered --force
FORCE_MARKER = "FORCED"
"""``<run_dir>/FORCED``: the stages a ``--force`` still has to rebuild (``pending``), what was asked
(``asked``), and when each forced build started (``started``, ns). Removed once all are done again."""


def _read_force(run_dir: Path) -> dict:
    try:
        rec = read_json(Path(run_dir) / FORCE_MARKER)
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _done_since(run_dir: Path, stage: str, since_ns) -> bool:
    """``stage`` was marked done after ``since_ns`` (its forced build completed)."""
    try:
        return since_ns is not None and (stage_dir(run_dir, stage) / "DONE").stat().st_mtime_ns >= int(since_ns)
    except OSError:
        return False


def remembered_force(run_dir) -> set:
    """The stages an interrupted ``--force`` still has to rebuild (read only; no lock needed)."""
    rec = _read_force(Path(run_dir))
    started = rec.get("started") or {}
    return {s for s in rec.get("pending") or () if s in STAGES and not _done_since(run_dir, s, started.get(s))}


def _remember_force(run_dir: Path, force) -> None:
    if not force:
        return
    rec = _read_force(run_dir)
    pending = set(remembered_force(run_dir)) | _forced(force)
    rec.update(pending=[s for s in STAGES if s in pending],
               asked=sorted(set(rec.get("asked") or ()) | set(force)), started={})
    atomic_write_json(run_dir / FORCE_MARKER, rec)


def _force_started(run_dir: Path, stage: str) -> None:
    rec = _read_force(run_dir)
    if stage in (rec.get("pending") or ()):
        rec.setdefault("started", {})[stage] = time.time_ns()
        atomic_write_json(run_dir / FORCE_MARKER, rec)


def _force_done(run_dir: Path, stage: str) -> None:
    """``stage`` is built again: drop it from the remembered force (and the marker once nothing is left)."""
    path = run_dir / FORCE_MARKER
    if not path.exists():
        return
    rec = _read_force(run_dir)
    pending = [s for s in rec.get("pending") or () if s != stage and s in remembered_force(run_dir)]
    if pending:
        rec["pending"] = pending
        rec["started"] = {k: v for k, v in (rec.get("started") or {}).items() if k in pending}
        atomic_write_json(path, rec)
    else:
        path.unlink(missing_ok=True)


def _remove_backup(prev: Path) -> None:
    """Delete a backup that is no longer needed; say so when it cannot be deleted (it would linger)."""
    errors = []
    shutil.rmtree(prev, onerror=lambda fn, p, exc: errors.append((p, exc[1])))
    if prev.exists():
        where, err = errors[0] if errors else (prev, "")
        print(f"note: could not delete {prev}, an old output no longer needed ({getattr(err, 'strerror', None) or err}"
              f" at {where}); delete it by hand (`rm -rf {prev}`); nothing reads it", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- one stage
def _dispatch(stage: str, cfg: Profile, run_dir: Path, progress: bool, resume: bool) -> dict:
    # The stage modules are imported here, not at the top: they load torch, transformers and TRL, and this
    # module must stay light for the CLI (which sets the HF libraries offline before they are imported) and
    # for the notebooks' setup cell (girl_lib.course imports it before Colab has installed those, and
    # before anything that could replace an already imported pandas or matplotlib).
    from .data import run_data
    from .generate import run_generate
    from .judge import run_judge
    from .ppo import run_ppo
    from .recommend import run_recommend
    from .reward import run_reward
    from .sft import run_sft

    if stage == "data":
        return run_data(cfg, run_dir)
    if stage == "sft":
        return run_sft(cfg, run_dir, progress=progress)
    if stage == "reward":
        return run_reward(cfg, run_dir, progress=progress)
    if stage == "ppo":
        return run_ppo(cfg, run_dir, resume=resume)
    if stage == "generate":
        return run_generate(cfg, run_dir, progress=progress)
    if stage == "judge":
        return run_judge(cfg, run_dir)
    if stage == "recommend":
        return run_recommend(cfg, run_dir)
    raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")


PARALLEL_STAGES = ("sft", "reward", "ppo", "generate")
"""Stages that split their work over the processes of ``accelerate launch`` (:mod:`girl_lib.distributed`);
under such a launch the others run on the main process only."""


def run_stage(stage: str, cfg: Profile, run_dir, progress: bool = True, *, fresh: bool = False,
              resume: bool | None = None) -> dict:
    """Build one stage (``girl <stage>``, ``girl run`` and the notebooks call this).

    - A finished output is moved to :func:`backup_dir` and removed only once the new one is done.
    - Unfinished outputs (a killed build) are resumed when they were made for the same fingerprint
      (``<stage>/BUILDING``), else discarded with a line saying so; ``fresh=True`` always discards them.
    - What is keyed by its own content carries over into a fresh build: the judge's reply cache, the
      recommender's embedding caches, and ``generate/<model>.jsonl`` of a generator whose weights, data and
      settings are unchanged (:func:`girl_lib.runio.generation_fingerprints`).
    - ``resume`` (PPO only): ``True`` continues from ``ppo/checkpoint`` and refuses one made under another
      config (``girl ppo --resume``); ``None`` resumes a checkpoint of this very build when there is one.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    if dist.is_distributed() and not dist.is_main_process():  # accelerate launch: the main process alone
        resume = dist.broadcast_object(None)                   # moves outputs and writes markers; the others
        if stage in PARALLEL_STAGES:                           # wait for it, then take their share
            return _dispatch(stage, cfg, Path(run_dir), progress, resume)
        dist.barrier()  # data, judge, recommend: one process does the work
        return {}
    run_dir = check_run_dir(run_dir)
    with run_dir_lock(run_dir):
        result = _run_stage_locked(stage, cfg, run_dir, progress, fresh, resume)
        _force_done(run_dir, stage)
        if stage == "data":
            _record_data_source(cfg, run_dir)
    return result


def _check_data_input(cfg: Profile) -> None:
    """The data stage's input file exists and is readable: checked before any finished output moves."""
    if str(cfg.data.source).lower() == "synthetic":
        return
    if not cfg.data.path:
        raise GirlError(f"data.source={cfg.data.source!r} needs a file: set data.path (CLI: --path FILE)")
    path = Path(cfg.data.path)
    if not path.is_file() or file_digest(path) is None:
        why = "is a folder" if path.is_dir() else ("cannot be read" if path.exists() else "is not found")
        raise GirlError(f"data: the {cfg.data.source} file {path} {why}"
                        f"{'' if path.is_absolute() else f' (from {Path.cwd()})'}; nothing in the run dir was "
                        f"changed. Pass its full path (--path /full/path/file), or restore it")


def _run_stage_locked(stage: str, cfg: Profile, run_dir: Path, progress: bool, fresh: bool,
                      resume: bool | None) -> dict:
    for dep in INPUTS[stage]:  # before anything moves: "run X first", with the profile to run it with
        if not (stage == "generate" and {"sft": "sft", "ppo": "girl"}.get(dep) not in (None, *cfg.generate.models)):
            require_stage(run_dir, dep, stage, profile=cfg.name)
    if stage == "data":
        _check_data_input(cfg)
    fp, config, _ = build_fingerprint(cfg, run_dir, stage)
    if stage == "ppo" and resume and done_record(run_dir, stage) is not None:
        return _resume_finished_ppo(cfg, run_dir, fp, config)
    resuming = _prepare_outputs(stage, cfg, run_dir, fp, config, fresh, bool(resume), progress)
    auto_resume = stage == "ppo" and resume is None and resuming and (stage_dir(run_dir, stage) / "checkpoint").exists()
    if stage == "ppo" and resume is None:
        resume = auto_resume
    if dist.is_distributed():
        dist.broadcast_object(bool(resume))
    try:
        result = _dispatch(stage, cfg, run_dir, progress, bool(resume))
    except GirlError as err:
        if auto_resume and "checkpoint in" in str(err):  # girl run / a notebook resumed it on its own
            raise GirlError(f"{err} (with `girl run`: or pass --force ppo)") from None
        raise
    except Exception as err:  # a full disk, a file too large: say where (libraries often do not)
        failed = write_failure(err)
        if failed is None:
            raise
        raise WriteFailed(failed.path or stage_dir(run_dir, stage), failed.reason) from err
    if dist.is_distributed() and stage not in PARALLEL_STAGES:
        dist.barrier()
    prev = backup_dir(run_dir, stage)
    if done_record(run_dir, stage) is not None and prev.exists():
        _remove_backup(prev)
    return result


def _prepare_outputs(stage: str, cfg: Profile, run_dir: Path, fp: str, config: dict, fresh: bool, resume: bool,
                     progress: bool) -> bool:
    """Make ``<stage>/`` ready for a build and mark it BUILDING; returns whether the build resumes the
    unfinished outputs there. A finished output moves to :func:`backup_dir`; unfinished ones of another
    fingerprint (or with ``fresh``) are discarded; what stays valid is carried over (:func:`_carry_over`)."""
    out, prev = stage_dir(run_dir, stage), backup_dir(run_dir, stage)
    sources, trash, resuming = [], None, False
    if done_record(run_dir, stage) is not None:
        if prev.exists():
            shutil.rmtree(prev)
        os.replace(out, prev)  # kept until the new output is complete
        sources.append(prev)
    elif out.exists():
        building = building_record(run_dir, stage)
        same = building is not None and building.get("fingerprint") == fp
        if stage == "ppo" and resume:  # explicit: run_ppo checks the checkpoint itself, and refuses a foreign one
            resuming = True
        elif same and not fresh:
            resuming = True
        else:
            trash = run_dir / f".{stage}.discard-{os.getpid()}"
            if trash.exists():
                shutil.rmtree(trash)
            os.replace(out, trash)
            if progress and any(p.name != "BUILDING" for p in trash.iterdir()):
                print(f"{stage}: discarding its unfinished outputs {_discard_reason(same, building, config)}",
                      flush=True)
            sources.append(trash)
            if prev.exists():
                sources.append(prev)
    elif prev.exists():
        sources.append(prev)
    out.mkdir(parents=True, exist_ok=True)
    if not resuming and sources:
        _carry_over(stage, cfg, run_dir, sources, progress)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    if not (stage == "ppo" and resume and building_record(run_dir, stage)):  # an explicit resume may be refused:
        mark_building(run_dir, stage, fp, config, profile=cfg.name)          # the marker stays the checkpoint's
    return resuming


def _discard_reason(same: bool, building: dict | None, config: dict) -> str:
    if same:
        return "(forced)"
    if building is not None:
        change = describe_change(building.get("config") or {}, config) or "inputs changed"
        return f"made under another config or from other inputs ({change})"
    return "of unknown provenance (no BUILDING marker)"


def _resume_finished_ppo(cfg, run_dir: Path, fp: str, config: dict) -> dict:
    rec = done_record(run_dir, "ppo") or {}
    if rec.get("fingerprint") not in (None, fp):
        change = describe_change(rec.get("config") or {}, config) or "other sft/reward/data"
        raise GirlError(f"PPO in {run_dir / 'ppo'} is finished, made under another config ({change}): there is "
                        f"nothing of this config to resume. Run `girl ppo` without --resume to retrain it (the old "
                        f"result is kept until the new one is complete).")
    print(f"ppo: finished already in {run_dir / 'ppo'} with this config; nothing to resume "
          f"(`girl ppo` without --resume retrains it)", flush=True)
    path = run_dir / "ppo" / "metrics.json"
    return read_json(path) if path.exists() else {}


def _carry_over(stage: str, cfg, run_dir: Path, sources: list[Path], progress: bool) -> None:
    """Copy into a fresh ``<stage>/`` what stays valid from the old outputs (see :func:`run_stage`)."""
    out = stage_dir(run_dir, stage)
    if stage == "judge":  # replies keyed by sha256(model, messages)
        for src in sources:
            if (src / "cache.jsonl").exists():
                append_jsonl(out / "cache.jsonl", read_jsonl(src / "cache.jsonl"))
    elif stage == "recommend":  # embeddings keyed by a hash of the encoder, its length and the texts
        for src in sources:
            for f in sorted(src.glob("emb_*")):
                if not (out / f.name).exists():
                    shutil.copy2(f, out / f.name)
    elif stage == "generate":  # rows of a generator whose weights, data and settings did not change
        now = generation_fingerprints(cfg, run_dir)
        kept = []
        for src in sources:
            try:
                old = read_json(src / "DONE").get("model_fingerprints") or {}
            except (OSError, ValueError, AttributeError):
                continue
            for key, fp in old.items():
                if now.get(key) == fp and (src / f"{key}.jsonl").exists() and not (out / f"{key}.jsonl").exists():
                    shutil.copy2(src / f"{key}.jsonl", out / f"{key}.jsonl")
                    kept.append(key)
        if kept and progress:
            print(f"generate: reusing {', '.join(f'{k}.jsonl' for k in kept)} (generator, data and settings "
                  f"unchanged)", flush=True)


# ------------------------------------------------------------------------------------------- the plan
@dataclass
class StageStatus:
    stage: str
    state: str
    """``"fresh"`` (done, fingerprint matches), ``"stale"`` (done, but made from something else) or
    ``"missing"`` (not done)."""
    reason: str = ""
    own: bool = False
    """The cause lies in the stage itself (its config, --force, no fingerprint), not only in its inputs."""


def stage_status(cfg: Profile, run_dir, force=()) -> dict[str, StageStatus]:
    """Every stage's :class:`StageStatus` in ``run_dir`` against the profile ``cfg``."""
    run_dir = Path(run_dir)
    expected = expected_fingerprints(cfg)
    forced = _forced(force)
    remembered = remembered_force(run_dir) - forced
    out = {}
    for stage in STAGES:
        rec = done_record(run_dir, stage)
        if rec is None:
            out[stage] = StageStatus(stage, "missing", "not built yet")
        elif rec.get(DAMAGED):
            out[stage] = StageStatus(stage, "stale", f"its DONE marker is damaged ({rec[DAMAGED]})", own=True)
        elif stage in remembered:
            asked = ", ".join(f"--force {s}" for s in _read_force(run_dir).get("asked") or ()) or "--force"
            out[stage] = StageStatus(stage, "stale", f"an interrupted `{asked}` still has to rebuild it")
        elif stage in forced:
            change = describe_change(rec.get("config") or {}, stage_config(cfg, stage))
            out[stage] = StageStatus(stage, "stale", "forced" + (f"; config changed ({change})" if change else ""),
                                     own=True)
        elif rec.get("fingerprint") == expected[stage]:
            out[stage] = StageStatus(stage, "fresh")
        elif not rec.get("fingerprint"):
            out[stage] = StageStatus(stage, "stale", "made without a fingerprint (by an older girl_lib)", own=True)
        else:
            change = describe_change(rec.get("config") or {}, stage_config(cfg, stage))
            if change:
                out[stage] = StageStatus(stage, "stale", f"config changed ({change})", own=True)
            else:
                inputs = rec.get("inputs") or {}
                other = [d for d in INPUTS[stage] if inputs.get(d) != expected[d]]
                reason = f"{' and '.join(other)} changed since it was built" if other else "fingerprint differs"
                out[stage] = StageStatus(stage, "stale", reason)
    return out


def describe(status: dict[str, StageStatus], force=()) -> list[str]:
    """One line per cause of rebuilding: ``"ppo: config changed (ppo.kl_coef 0.05 -> 0.5); rebuilding ppo,
    generate, judge, recommend"``. Stages rebuilt only because an input is rebuilt are named in their
    input's line."""
    todo = {s for s, st in status.items() if st.state != "fresh"}
    lines, covered = [], set()
    for stage in [s for s in STAGES if s in set(force or ())]:
        deps = [s for s in dependents(stage) if s not in covered]
        if deps:
            change = status[stage].reason.partition("; ")[2]
            lines.append(f"{stage}: forced (--force {stage}{'; ' + change if change else ''}); rebuilding "
                         f"{', '.join(deps)}")
            covered |= set(deps)
    groups: dict = {}  # stages stale for the same reason share a line ("sft, reward: data changed ...")
    for stage in STAGES:
        st = status[stage]
        if st.state != "stale" or stage in covered:
            continue
        if not st.own and any(d in todo for d in INPUTS[stage]):
            continue  # its input's line names it
        groups.setdefault(st.reason if not st.own else f"{stage}:{st.reason}", []).append(stage)
    for key, roots in groups.items():
        reason = key.split(":", 1)[1] if ":" in key and key.split(":", 1)[0] in STAGES else key
        if len(roots) > 1:
            reason = reason.replace("since it was", "since they were")
        deps = [s for s in STAGES if s in todo and any(s in dependents(r) for r in roots)]
        lines.append(f"{', '.join(roots)}: {reason}; rebuilding {', '.join(deps)}")
    return lines


def is_fresh(cfg: Profile, run_dir, stage: str) -> bool:
    """``stage`` is done in ``run_dir`` and was built from what ``cfg`` asks for (use instead of ``is_done``
    where stale outputs must not be shown)."""
    rec = done_record(run_dir, stage)
    return bool(rec) and rec.get("fingerprint") == expected_fingerprints(cfg)[stage]


DATA_SOURCE = "data_source.json"
"""``<run_dir>/data_source.json``: the file the run dir's data was built from (source, absolute path, sha256,
column map), written when a data stage on a file finishes and removed when synthetic data replaces it. With
``data/DONE`` it is how the run dir keeps the user's data even while the data stage is being rebuilt."""


def _record_data_source(cfg: Profile, run_dir: Path) -> None:
    rec = done_record(run_dir, "data")
    if not rec:
        return
    path = run_dir / DATA_SOURCE
    if str(cfg.data.source).lower() == "synthetic" or not cfg.data.path:
        path.unlink(missing_ok=True)
        return
    atomic_write_json(path, {"source": str(cfg.data.source), "path": str(Path(cfg.data.path).resolve()),
                             "sha256": (rec.get("config") or {}).get("data.file_sha256"),
                             "column_map": dict(cfg.data.column_map or {})})


def recorded_data_source(run_dir) -> dict | None:
    """``{"source", "path", "sha256", "column_map", "from"}`` of the file the run dir's data was built from
    (``data/DONE``, else :data:`DATA_SOURCE`, else ``.data.prev/DONE``), or ``None`` for synthetic data."""
    run_dir = Path(run_dir)
    places = [run_dir / "data" / "DONE", run_dir / DATA_SOURCE, backup_dir(run_dir, "data") / "DONE"]
    for place in places:
        try:
            rec = read_json(place)
        except (OSError, ValueError):
            continue
        if not isinstance(rec, dict):
            continue
        if place.name == DATA_SOURCE:
            return {**rec, "from": str(place)} if rec.get("path") else None
        conf = rec.get("config") or {}
        source = conf.get("data.source")
        path = rec.get("path") or conf.get("data.path")
        if source in (None, "synthetic") or not path:
            return None
        return {"source": source, "path": path, "sha256": conf.get("data.file_sha256"),
                "column_map": dict(conf.get("data.column_map") or {}), "from": str(place)}
    return None


def _adopt_data_source(cfg: Profile, run_dir: Path, forced: set, progress: bool) -> Profile:
    """Data that ``girl data --source rjdb|jsonl|csv`` built stays in use when the profile names no file of
    its own (the profile's synthetic default), unless the data stage is forced. The file must still be
    there: a missing one is an error naming it, never a silent switch to the synthetic world."""
    if "data" in forced or str(cfg.data.source) != "synthetic" or cfg.data.path:
        return cfg
    rec = recorded_data_source(run_dir)
    if not rec:
        return cfg
    path = Path(rec["path"])
    if not path.is_file():
        where = "" if path.is_absolute() else " (a path relative to the folder `girl data` ran in)"
        raise GirlError(f"{run_dir} was built from the {rec['source']} file {path}{where}, which is not found "
                        f"from here; nothing was changed. Restore it, or point the run dir to it with `girl data "
                        f"--run-dir {run_dir} --source {rec['source']} --path /full/path/to/file`, or rebuild on "
                        f"the profile's synthetic world with `girl run --force data`")
    cfg = copy.deepcopy(cfg)
    cfg.data.source, cfg.data.path = rec["source"], str(path)
    cfg.data.column_map = dict(rec.get("column_map") or {})
    if progress:
        print(f"data: keeping the {rec['source']} data `girl data` built from {path} (--force data rebuilds it "
              f"from the profile's synthetic world)", flush=True)
    return cfg


def _restore_backups(cfg: Profile, run_dir: Path, forced: set, progress: bool) -> None:
    """After an interrupted rebuild: drop a backup whose stage is done again; restore one that matches the
    profile again (unless its stage is forced or a build for this very profile is under way)."""
    expected = expected_fingerprints(cfg)
    for stage in STAGES:
        prev = backup_dir(run_dir, stage)
        if not prev.exists():
            continue
        if done_record(run_dir, stage) is not None:
            _remove_backup(prev)
            continue
        try:
            old = read_json(prev / "DONE").get("fingerprint")
        except (OSError, ValueError, AttributeError):
            old = None
        building = building_record(run_dir, stage)
        if (stage in forced or old != expected[stage]
                or (building is not None and building.get("fingerprint") == expected[stage])):
            continue
        out = stage_dir(run_dir, stage)
        if out.exists():
            trash = run_dir / f".{stage}.discard-{os.getpid()}"
            os.replace(out, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(prev, out)
        if progress:
            print(f"{stage}: restored the finished output made with this config (the interrupted rebuild for "
                  f"another config is dropped)", flush=True)


def prepare(cfg: Profile, run_dir, force=(), progress: bool = True,
            only: tuple | list = STAGES) -> tuple[Profile, dict[str, StageStatus]]:
    """Bring ``run_dir`` to a state a build of the stages ``only`` can start from: keep file data
    (:func:`_adopt_data_source`), restore or drop backups, then return the (possibly adopted) profile and
    every stage's status, printing one line per cause of rebuilding (among ``only``)."""
    run_dir = check_run_dir(run_dir)
    with run_dir_lock(run_dir):
        forced = _forced(force) | remembered_force(run_dir)
        cfg = _adopt_data_source(cfg, run_dir, _forced(force), progress)
        _restore_backups(cfg, run_dir, forced, progress)
    status = stage_status(cfg, run_dir, force)
    if progress:
        shown = {s: st if s in only else StageStatus(s, "fresh") for s, st in status.items()}
        other = run_profile(run_dir)
        if other and other != cfg.name and any(st.state == "stale" for st in shown.values()):
            print(f"note: {run_dir} holds a '{other}' run; stages that do not match '{cfg.name}' are rebuilt",
                  flush=True)
        pending = [s for s in STAGES if s in remembered_force(run_dir) - _forced(force) and s in only]
        if pending:
            asked = ", ".join(f"--force {s}" for s in _read_force(run_dir).get("asked") or ()) or "--force"
            print(f"finishing an interrupted `{asked}`: rebuilding {', '.join(pending)}", flush=True)
        for line in describe(shown, [f for f in force if f in only]):
            print(line, flush=True)
    return cfg, status


# ------------------------------------------------------------------------------------------- many stages
def ensure(cfg: Profile, run_dir, stage: str, include_self: bool = False, progress: bool = True) -> Path:
    """Build whatever ``stage`` needs that is missing or stale (notebooks start with this). Returns run_dir."""
    run_dir = check_run_dir(run_dir)
    targets = upstream(stage) + ([stage] if include_self else [])
    with run_dir_lock(run_dir):
        cfg, status = prepare(cfg, run_dir, (), progress, only=targets)
        for s in targets:
            if status[s].state != "fresh":
                if progress:
                    print(f"running {status[s].state} stage '{s}' ...", flush=True)
                run_stage(s, cfg, run_dir, progress=progress)
    return run_dir


def _fmt(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def run_pipeline(cfg: Profile, run_dir, force: tuple[str, ...] = (), stages: tuple[str, ...] = STAGES,
                 progress: bool = True) -> dict:
    """Run the stages that are missing or stale; then write ``results.json``, ``report.md`` and ``plots/``.
    Holds the run dir's writer lock throughout; ``force`` is remembered (:data:`FORCE_MARKER`) until every
    stage it rebuilds is done, so a rerun after an interruption (without ``force``) finishes it."""
    run_dir = check_run_dir(run_dir)
    with run_dir_lock(run_dir):
        return _run_pipeline_locked(cfg, run_dir, tuple(force), stages, progress)


def _run_pipeline_locked(cfg: Profile, run_dir: Path, force: tuple, stages: tuple, progress: bool) -> dict:
    forced = _forced(force)
    _remember_force(run_dir, force)
    started = _read_force(run_dir).get("started") or {}
    cfg, status = prepare(cfg, run_dir, force, progress, only=stages)
    atomic_write_json(run_dir / "profile.json", profile_to_dict(cfg))

    timing_path = run_dir / "timing.json"
    timing = read_json(timing_path) if timing_path.exists() else {}
    t_start = time.time()
    for i, stage in enumerate(stages, 1):
        head = f"[{i}/{len(stages)}] {stage:<9}"
        if status[stage].state == "fresh":
            if progress:
                print(f"{head} done already (skipped) | elapsed {_fmt(time.time() - t_start)}", flush=True)
            continue
        if progress:
            print(f"{head} running ... | elapsed {_fmt(time.time() - t_start)}", flush=True)
        t0 = time.time()
        # a forced stage starts afresh once; a rerun after an interruption resumes that forced build
        fresh = stage in forced or (stage in remembered_force(run_dir) and stage not in started)
        _force_started(run_dir, stage)
        run_stage(stage, cfg, run_dir, progress=progress, fresh=fresh)
        timing[stage] = time.time() - t0  # of the run that finished it (a resumed stage counts its last part)
        atomic_write_json(timing_path, timing)
        if progress:
            print(f"{head} finished in {_fmt(timing[stage])} | elapsed {_fmt(time.time() - t_start)}", flush=True)
    timing["total"] = sum(v for k, v in timing.items() if k in STAGES)
    atomic_write_json(timing_path, timing)
    from .report import write_report  # local: report loads matplotlib and pandas (see _dispatch)

    results = write_report(cfg, run_dir)
    if progress:
        print(f"results: {run_dir / 'results.json'}\nreport:  {run_dir / 'report.md'}")
    return results


def adopt_data_source(cfg: Profile, run_dir, progress: bool = False) -> Profile:
    """``cfg`` with the run dir's own data source (a file ``girl data --source X`` read) when the profile
    names none; for ``girl <stage>`` and notebooks, which then see that data as matching (read only)."""
    return _adopt_data_source(cfg, Path(run_dir), set(), progress)
