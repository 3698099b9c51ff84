"""``python -m girl_lib.course``: ``sync`` (write every notebook from its source), ``set-repo-url`` (point the
badges and clone cells at a fork) and ``plan`` (each notebook's prerequisites and times)."""

from __future__ import annotations

import argparse
import sys

from ..pipeline import STAGES
from .notebooks import NB_DIR, sync_notebook
from .plan import plan_lines
from .reference import reference_dir
from .repo import ROOT, _show, set_repo_url


def main(argv: list[str] | None = None) -> int:
    description = sys.modules[__package__].__doc__.split("\n")[0]  # the package's first line
    parser = argparse.ArgumentParser(prog="python -m girl_lib.course", description=description)
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
