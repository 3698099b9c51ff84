#!/usr/bin/env python
"""Ship a finished run's small outputs as the course's reference run, and save the notebooks' outputs.

    .venv/bin/python scripts/update_reference.py runs/cpu              # copy into reference/cpu/
    .venv/bin/python scripts/update_reference.py --execute             # re-execute notebooks in reference mode
    .venv/bin/python scripts/update_reference.py runs/cpu --execute    # both, in that order
    .venv/bin/python scripts/update_reference.py runs/tiny --out /tmp/ref   # anywhere else (tests, trials)

Copying takes each stage's metrics.json / metrics.jsonl and DONE marker, data/stats.json, the generated
JDs (generate/*.jsonl), the judge's reports and verdicts, recommend/*.json and tables.md, results.json,
report.md, timing.json, profile.json and plots/*.png: never model weights, checkpoints, datasets or
embedding caches (``girl_lib.course.REFERENCE_PATTERNS``; a weight file is refused even with ``--extra``).
It replaces the earlier reference (only a folder holding a REFERENCE.json is ever replaced), writes
REFERENCE.json (date, profile, hash of the files) and prints the total size.

``--execute`` runs every numbered notebook with GIRL_PROFILE=<profile>, GIRL_TRAIN=0 and the reference
(datasets are rebuilt in runs/reference-view/, seconds), writes the outputs into notebooks/*.ipynb and
stamps each with the reference's hash and its own code hash: tests/test_notebooks.py fails when saved
outputs come from another reference or older code.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from girl_lib import course  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", nargs="?", help="a finished run dir (`girl run`), e.g. runs/cpu")
    parser.add_argument("--out", help="reference folder (default: reference/<the run's profile>)")
    parser.add_argument("--extra", nargs="*", default=(), help="more files of the run dir to ship (checked too)")
    parser.add_argument("--execute", action="store_true",
                        help="re-execute the notebooks in reference mode and save their outputs")
    parser.add_argument("--profile", default="cpu", help="profile of the reference to execute against")
    parser.add_argument("--notebooks", nargs="*", help="only these notebooks (names), with --execute")
    args = parser.parse_args(argv)
    if not args.run_dir and not args.execute:
        parser.error("give a RUN_DIR to copy, --execute, or both")

    profile = args.profile
    if args.run_dir:
        run_dir = Path(args.run_dir)
        try:
            run_profile = course.read_json(run_dir / "profile.json").get("name")
        except FileNotFoundError:
            parser.error(f"{run_dir} is not a finished run dir (no profile.json)")
        out = Path(args.out) if args.out else ROOT / "reference" / run_profile
        info = course.copy_reference(run_dir, out, extra=tuple(args.extra))
        print(f"copied {info['n_files']} files ({info['size_bytes'] / 1e6:.2f} MB) of the '{info['profile']}' run "
              f"from {run_dir} (finished {info['run_date']}) into {out}; hash {info['run_hash']}, date {info['date']}")
        missing = [s for s in course.STAGES if s not in info["stages"]]
        if missing:
            print(f"note: stages not finished in that run (not shipped): {', '.join(missing)}")
        profile = info["profile"]
        ref_dir = out
    else:
        ref_dir = Path(args.out) if args.out else ROOT / "reference" / profile

    if args.execute:
        info = course.reference_info(ref_dir)
        if info is None:
            print(f"no {course.REFERENCE_MARKER} in {ref_dir}: copy a run first", file=sys.stderr)
            return 1
        view = ROOT / "runs" / "reference-view"
        env = course.reference_env(ref_dir, view, info["profile"])
        names = args.notebooks or sorted(course.NOTEBOOKS.values())
        for name in names:
            py = course.NB_DIR / Path(name).with_suffix(".py").name
            ipynb = course.sync_notebook(py)        # cells from the .py source first
            t0 = time.time()
            nb = course.execute_notebook(ipynb, env, cwd=course.NB_DIR)
            course.stamp(nb, info)
            course.write_notebook(nb, ipynb)
            print(f"executed {ipynb.relative_to(ROOT)} in reference mode ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
