"""``girl`` command line: a thin wrapper over the stage functions.

    girl run       --profile cpu [--run-dir runs/cpu] [--force STAGE]
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

from .config import PROFILE_NAMES, get_profile
from .pipeline import STAGES
from .runio import GirlError


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
    p = sub.add_parser("run", help="the whole pipeline, resumable")
    _common(p)
    p.add_argument("--force", action="append", default=[], choices=STAGES,
                   help="redo this stage and every stage after it that depends on it")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .models import env_offline, quiet_libraries

    env_offline()
    quiet_libraries()
    try:
        cfg, run_dir = _profile(args)
    except (KeyError, ValueError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    try:
        if args.command == "run":
            from .pipeline import run_pipeline

            run_pipeline(cfg, run_dir, force=tuple(args.force))
        elif args.command == "report":
            from .report import write_report

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
                    cfg.data.column_map = json.loads(args.column_map)
            from .pipeline import run_stage
            from .runio import clear_done

            clear_done(run_dir, args.command)
            if args.command == "ppo":
                from .ppo import run_ppo

                metrics = run_ppo(cfg, run_dir, resume=args.resume)
            else:
                metrics = run_stage(args.command, cfg, run_dir)
            _print_summary(metrics)
    except GirlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _judge(args, cfg, run_dir) -> None:
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
        from .runio import clear_done

        clear_done(run_dir, "judge")
        _print_summary(judge.run_judge(cfg, run_dir))


def _print_summary(metrics) -> None:
    if not isinstance(metrics, dict):
        return
    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool)) or v is None}
    print(json.dumps(flat, indent=2)[:4000])


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
