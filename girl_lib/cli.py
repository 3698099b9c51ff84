"""``girl`` command line: a thin wrapper over the stage functions.

    girl run       --profile cpu [--run-dir runs/cpu] [--force STAGE]   (rebuilds what is stale, see pipeline)
    girl data      --profile cpu --run-dir DIR [--source rjdb --path FILE]
    girl sft | reward | generate | recommend --profile P --run-dir DIR
    girl ppo       --profile P --run-dir DIR [--resume]
    girl judge     --run-dir DIR [--backend rubric|openai|hf] [--base-url URL --model NAME]
    girl judge     --pairs FILE.jsonl --base-url URL --model NAME --out REPORT.json
    girl report    --run-dir DIR

Every command takes ``--set section.field=value`` (repeatable) to override any profile field.

Start-up is kept light: parsing, ``--help`` and checking the profile import neither torch nor transformers
nor matplotlib (``tests/test_cli.py``); a command imports what it needs when it runs. Exit status: 0 done,
1 a file could not be written (disk full, file too large, read-only; finished stages are intact), 2 a usage
or input error (including a run dir another process is writing), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from . import pipeline  # run_pipeline and run_stage are called as pipeline.X: tests replace them
from .config import PROFILE_NAMES, get_profile
from .pipeline import DEPENDS_ON, STAGES, backup_dir, stage_status
from .runio import GirlError, WriteFailed, check_run_dir, run_profile, write_failure

FILE_SOURCES = ("rjdb", "jsonl", "csv")


def _common(p: argparse.ArgumentParser, run_dir_required: bool = False) -> None:
    p.add_argument("--profile", choices=PROFILE_NAMES, default=None,
                   help="profile name (default: $GIRL_PROFILE or cpu)")
    p.add_argument("--run-dir", default=None, required=run_dir_required,
                   help="run directory (default: runs/<profile>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override a profile field, e.g. --set ppo.kl_coef=0.1 (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="girl", description="GIRL: generative job recommendation, a course.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="the whole pipeline: resumes what was interrupted, rebuilds what is stale "
                                   "(a stage whose config or inputs changed, and everything after it)")
    _common(p)
    p.add_argument("--force", action="append", default=[], choices=STAGES,
                   help="redo this stage and every stage after it that depends on it, dropping their checkpoints and "
                        "partial outputs (finished ones are kept until their replacements are complete)")
    for stage in STAGES:
        if stage == "judge":
            continue
        p = sub.add_parser(stage, help=f"the {stage} stage")
        _common(p)
        if stage == "data":
            p.add_argument("--source", choices=("synthetic", "rjdb", "jsonl", "csv"), default=None)
            p.add_argument("--path", default=None, help="input file for --source rjdb/jsonl/csv")
            p.add_argument("--column-map", default=None,
                           help='JSON mapping of our columns to the file\'s, e.g. \'{"cv": "resume"}\'')
        if stage == "ppo":
            p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p = sub.add_parser("judge", help="pairwise judge: a run's Table II analogue, or a pairs file")
    _common(p)
    p.add_argument("--pairs", default=None, help="JSONL with cv, jd_a, jd_b rows (file mode)")
    p.add_argument("--out", default=None, help="REPORT.json path (file mode)")
    p.add_argument("--backend", choices=("rubric", "openai", "hf"), default=None)
    p.add_argument("--base-url", default=None, help="OpenAI-compatible server URL (key from OPENAI_API_KEY)")
    p.add_argument("--model", default=None, help="judge model name (openai) or path (hf)")
    p = sub.add_parser("report", help="rebuild results.json, report.md and plots/ from a run dir")
    _common(p)
    return parser


def _env_offline() -> None:
    """The HF libraries must not try the network (as ``models.env_offline``, without importing torch)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")


def _quiet_libraries() -> None:
    from .models import quiet_libraries  # local: it loads torch, transformers and datasets

    quiet_libraries()


def _check_overrides(overrides: list[str]) -> None:
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set {item}: no value given; write it as --set {item}=VALUE "
                             f"(e.g. --set ppo.kl_coef=0.1)")
        if not item.partition("=")[0].strip():
            raise ValueError(f"--set {item}: no field name before '='; write it as --set SECTION.FIELD=VALUE "
                             f"(e.g. --set ppo.kl_coef=0.1)")


def _profile(args):
    _check_overrides(args.overrides)
    cfg = get_profile(args.profile, args.overrides)
    run_dir = Path(args.run_dir or Path("runs") / cfg.name)
    return cfg, run_dir


def _column_map(text: str) -> dict:
    try:
        cmap = json.loads(text)
    except json.JSONDecodeError as err:
        raise GirlError(f"--column-map is not valid JSON ({err.msg} at character {err.pos}): {text!r}; "
                        f"write it as '{{\"cv\": \"resume\", \"jd\": \"job\"}}'") from None
    if not isinstance(cmap, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in cmap.items()):
        raise GirlError(f"--column-map must be a JSON object of column names, e.g. '{{\"cv\": \"resume\"}}'; "
                        f"got {text!r}")
    return cmap


def infer_source(path: Path) -> str:
    """``rjdb``, ``jsonl`` or ``csv`` for a ``--path`` given without ``--source``: from the file's extension,
    and for JSON lines from the first row's columns (RJDB's ``Job-Description``/``Resume-matched``)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".json", ".ndjson"):
        try:
            with open(path, encoding="utf-8") as f:
                first = next((line for line in f if line.strip()), "")
            row = json.loads(first) if first else None
        except (OSError, UnicodeDecodeError, ValueError):
            row = None
        if isinstance(row, dict) and {"Job-Description", "Resume-matched"} <= set(row):
            return "rjdb"
        return "jsonl"
    raise GirlError(f"--path {path}: cannot tell its format from the name; add --source rjdb, jsonl or csv")


def _data_args(args, cfg) -> None:
    """``girl data`` options into ``cfg.data``: the path made absolute (a run started from another folder
    still finds it), checked to exist before anything in the run dir moves, the source inferred if not given."""
    if args.source == "synthetic" and args.path:
        raise GirlError("--source synthetic takes no --path; drop --path, or choose --source rjdb, jsonl or csv")
    if args.path:
        path = Path(args.path).expanduser().resolve()
        if not path.is_file():
            raise GirlError(f"--path {args.path}: {'is a folder, not a file' if path.is_dir() else 'file not found'} "
                            f"({path}); nothing in the run dir was changed")
        cfg.data.source = args.source or infer_source(path)
        if not args.source:
            print(f"data: reading {path} as --source {cfg.data.source} (from the file; pass --source to choose)",
                  file=sys.stderr)
        cfg.data.path = str(path)
    elif args.source in FILE_SOURCES:
        raise GirlError(f"--source {args.source} needs --path FILE (the {args.source} file to read)")
    elif args.source:
        cfg.data.source = args.source
        cfg.data.path = None
    if args.column_map:
        cfg.data.column_map = _column_map(args.column_map)


def _resume_command(args, argv: list[str]) -> str:
    """The command that resumes this one: the same arguments, without ``--force`` (the run dir remembers an
    unfinished forced rebuild) and, for ``girl ppo``, with ``--resume``."""
    out, skip = ["girl"], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--force":
            skip = True
            continue
        if a.startswith("--force="):
            continue
        out.append(a)
    if args.command == "ppo" and not getattr(args, "resume", False):
        out.append("--resume")
    return shlex.join(out)


def _check_default_run_dir(args, cfg, run_dir: Path) -> None:
    """Without --run-dir, never write into a run dir made with another profile."""
    if args.run_dir is not None or not run_dir.exists() or not run_dir.is_dir():
        return
    other = run_profile(run_dir)
    if other and other != cfg.name:
        raise GirlError(f"{run_dir} holds a '{other}' run, not a '{cfg.name}' one; pass --run-dir to choose where "
                        f"this '{cfg.name}' run goes (e.g. --run-dir {run_dir}-{cfg.name}), or --profile {other}")


def _note_stale_inputs(cfg, run_dir: Path, stage: str) -> None:
    """``girl <stage>`` builds from the inputs on disk as they are; say so when they do not match the profile."""
    status = stage_status(cfg, run_dir)
    for dep in DEPENDS_ON[stage]:
        if status[dep].state == "stale":
            print(f"note: {dep} in {run_dir} does not match this profile ({status[dep].reason}); {stage} is built "
                  f"from it as it is. `girl run --profile {cfg.name} --run-dir {run_dir}` rebuilds what is stale.",
                  file=sys.stderr)


def _check_report(cfg, run_dir: Path) -> None:
    """A report from stages made under another profile would mix runs: refuse."""
    other = run_profile(run_dir)
    status = stage_status(cfg, run_dir)
    if all(st.state == "missing" for st in status.values()):
        raise GirlError(f"nothing to report in {run_dir}: no stage has finished there. Run `girl run --profile "
                        f"{cfg.name} --run-dir {run_dir}` first.")
    stale = [st for st in status.values() if st.state == "stale" and "without a fingerprint" not in st.reason]
    for st in status.values():  # a rebuild under way: the old output waits in .<stage>.prev
        if st.state == "missing" and backup_dir(run_dir, st.stage).exists():
            st.reason = "its rebuild was interrupted"
            stale.append(st)
    if stale or (other and other != cfg.name):
        what = "; ".join(f"{st.stage}: {st.reason}" for st in stale) or f"it holds a '{other}' run"
        raise GirlError(f"{run_dir} does not match --profile {cfg.name} ({what}); a report would mix runs. Run "
                        f"`girl run --profile {cfg.name} --run-dir {run_dir}` (it rebuilds what is stale), or pass "
                        f"the --profile/--set the run was made with.")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    _env_offline()
    try:
        cfg, run_dir = _profile(args)
    except (KeyError, ValueError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    try:
        _command(args, cfg, run_dir)
    except WriteFailed as err:
        return _write_failed(err, args, argv, run_dir)
    except GirlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "run" and args.force:
            how = f"rerun without --force to resume: `{_resume_command(args, argv)}` (the forced rebuild is remembered)"
        elif args.command == "ppo" and not args.resume:
            how = f"rerun with `girl ppo --resume` (same --profile/--set) to resume: `{_resume_command(args, argv)}`"
        else:
            how = "rerun the same command to resume"
        print(f"\ninterrupted; {how} (finished stages, and outputs being replaced, are kept)", file=sys.stderr)
        return 130
    except OSError as err:  # permissions, a path that is a file, a missing file: a message, not a traceback
        failed = write_failure(err)
        if failed is not None:
            return _write_failed(failed, args, argv, run_dir)
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except Exception as err:  # safetensors' and torch's own errors for a full disk
        failed = write_failure(err)
        if failed is None:
            raise
        return _write_failed(failed, args, argv, run_dir)
    return 0


def _write_failed(err: WriteFailed, args, argv: list[str], run_dir: Path) -> int:
    """One line for a write that failed (disk full, file too large, read-only); exit status 1."""
    where = "" if args.command == "judge" and args.pairs else f" in {run_dir}"
    print(f"error: could not write {err.path or 'a file'} ({err.reason}). Finished stages{where} are intact; "
          f"free some space (or make it writable), then `{_resume_command(args, argv)}` resumes.", file=sys.stderr)
    return 1


def _command(args, cfg, run_dir: Path) -> None:
    if not (args.command == "judge" and args.pairs):
        _check_default_run_dir(args, cfg, run_dir)
    if args.command == "report":
        from .report import write_report  # local: it loads matplotlib (start-up stays light)

        check_run_dir(run_dir)
        _check_report(cfg, run_dir)
        write_report(cfg, run_dir)
        print(run_dir / "report.md")
        return
    if args.command == "data":
        _data_args(args, cfg)
    _quiet_libraries()
    if args.command == "run":
        pipeline.run_pipeline(cfg, run_dir, force=tuple(args.force))
    elif args.command == "judge":
        _judge(args, cfg, run_dir)
    else:
        check_run_dir(run_dir)
        if args.command != "data":
            cfg = pipeline.adopt_data_source(cfg, run_dir)
        _note_stale_inputs(cfg, run_dir, args.command)
        if args.command == "ppo":  # without --resume PPO starts afresh, with it a foreign checkpoint is refused
            metrics = pipeline.run_stage("ppo", cfg, run_dir, fresh=not args.resume, resume=True if args.resume else None)
        else:
            metrics = pipeline.run_stage(args.command, cfg, run_dir)
        _print_summary(metrics)


def _judge(args, cfg, run_dir) -> None:
    # Imported here: the judge module loads transformers, which must come after main() has set the HF
    # libraries offline (huggingface_hub reads HF_HUB_OFFLINE once, when first imported).
    from . import judge

    if args.backend:
        cfg.judge.backend = args.backend
    if args.base_url:
        cfg.judge.base_url = args.base_url
        if not args.backend:
            cfg.judge.backend = "openai"
    if args.model:
        cfg.judge.model = args.model
    if args.pairs:
        if not args.out:
            raise GirlError("--pairs needs --out REPORT.json")
        report = judge.judge_file(args.pairs, args.out, judge.make_backend(cfg.judge, cfg))
        _print_summary(report)
    else:
        check_run_dir(run_dir)
        cfg = pipeline.adopt_data_source(cfg, run_dir)
        _note_stale_inputs(cfg, run_dir, "judge")
        _print_summary(pipeline.run_stage("judge", cfg, run_dir))


def _print_summary(metrics) -> None:
    if not isinstance(metrics, dict):
        return
    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool)) or v is None}
    print(json.dumps(flat, indent=2)[:4000])


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
