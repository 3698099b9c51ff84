"""``girl`` command line: a thin wrapper over the stage functions.

    girl run       --profile cpu [--run-dir runs/cpu] [--force STAGE]   (rebuilds what is stale, see pipeline)
    girl data      --profile cpu --run-dir DIR [--source rjdb --path FILE]
    girl sft | reward | generate | recommend --profile P --run-dir DIR
    girl ppo       --profile P --run-dir DIR [--resume]
    girl judge     --run-dir DIR [--backend rubric|openai|hf] [--base-url URL --model NAME]
    girl judge     --pairs FILE.jsonl --base-url URL --model NAME --out REPORT.json
    girl report    --run-dir DIR

Every command takes ``--set section.field=value`` (repeatable) to override any profile field.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import pipeline  # run_pipeline and run_stage are called as pipeline.X: tests replace them
from .config import PROFILE_NAMES, get_profile
from .models import env_offline, quiet_libraries
from .pipeline import DEPENDS_ON, STAGES, backup_dir, stage_status
from .report import write_report
from .runio import GirlError, check_run_dir, run_profile


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


def _profile(args):
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
    args = build_parser().parse_args(argv)
    env_offline()
    quiet_libraries()
    try:
        cfg, run_dir = _profile(args)
    except (KeyError, ValueError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    try:
        if not (args.command == "judge" and args.pairs):
            _check_default_run_dir(args, cfg, run_dir)
        if args.command == "run":
            pipeline.run_pipeline(cfg, run_dir, force=tuple(args.force))
        elif args.command == "report":
            check_run_dir(run_dir)
            _check_report(cfg, run_dir)
            write_report(cfg, run_dir)
            print(run_dir / "report.md")
        elif args.command == "judge":
            _judge(args, cfg, run_dir)
        else:
            if args.command == "data":
                if args.source:
                    cfg.data.source = args.source
                if args.path:
                    cfg.data.path = args.path
                if args.column_map:
                    cfg.data.column_map = _column_map(args.column_map)
            check_run_dir(run_dir)
            _note_stale_inputs(cfg, run_dir, args.command)
            if args.command == "ppo":  # without --resume PPO starts afresh, with it a foreign checkpoint is refused
                metrics = pipeline.run_stage("ppo", cfg, run_dir, fresh=not args.resume, resume=True if args.resume else None)
            else:
                metrics = pipeline.run_stage(args.command, cfg, run_dir)
            _print_summary(metrics)
    except GirlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "run" and args.force:
            how = "rerun it without --force (same --profile/--set) to resume"
        elif args.command == "ppo" and not args.resume:
            how = "rerun with `girl ppo --resume` (same --profile/--set) to resume"
        else:
            how = "rerun the same command to resume"
        print(f"\ninterrupted; {how} (finished stages, and outputs being replaced, are kept)", file=sys.stderr)
        return 130
    except OSError as err:  # disk full, permissions, a path that is a file: a message, not a traceback
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    return 0


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
