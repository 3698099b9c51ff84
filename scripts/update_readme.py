"""Copy the results of a finished run into README.md between the RESULTS markers (never type numbers in).

    python scripts/update_readme.py runs/cpu
"""

import datetime
import json
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(run_dir: str) -> None:
    run = Path(run_dir)
    report = (run / "report.md").read_text()
    results = json.loads((run / "results.json").read_text())
    total = results.get("timing_s", {}).get("total")
    # Keep the tables and targets; drop the title and the plot links (they point into the run dir).
    body = re.sub(r"^# .*\n", "", report)
    body = re.sub(r"## Plots\n\n(?:!\[.*\n)*\n?", "", body)
    body = body.replace("## ", "#### ")
    import os

    when = datetime.date.today().isoformat()
    head = (f"### Results of the main job (`{results['profile']}` profile, measured {when} on "
            f"{os.cpu_count()} CPU cores, {platform.machine()}; wall time "
            f"{total / 60:.1f} min)\n\n" if total else "### Results of the main job\n\n")
    sys.path.insert(0, str(ROOT))
    from girl_lib.report import render_seed_table, render_status

    status = (f"**Status of the `{results['profile']}` main job ({when}), generated from its results.json.** A "
              f"comparison is *shown* only when its 95% interval excludes 0.\n\n{render_status(results)}")
    seeds = []  # the main job's PPO and any reruns with other seeds (scripts/ppo_seed.sh)
    for d in [run] + sorted(run.parent.glob(f"{run.name}_seed*")):
        m, j = d / "ppo" / "metrics.json", d / "judge_girl_vs_sft.json"
        if m.exists() and "reward_diff" in (pm := json.loads(m.read_text())):
            seed = json.loads((d / "profile.json").read_text())["ppo"]["seed"] if d == run else d.name.split("seed")[-1]
            judge = (json.loads(j.read_text()) if j.exists()
                     else results.get("judge", {}).get("GIRL_vs_GIRL-SFT") if d == run else None)
            seeds.append((f"`{d.name}` (ppo.seed={seed})", pm, judge))
    if len(seeds) > 1:
        status += ("\n\nThe same SFT and reward models, PPO with another seed (`bash scripts/ppo_seed.sh SEED`), "
                   "over the same held-out CVs:\n\n" + render_seed_table(seeds))
    else:
        status += ("\n\nNo PPO rerun with another seed on these SFT and reward models yet (`bash scripts/ppo_seed.sh 1` "
                   "adds one to this table): one seed is not a result about PPO.")
    readme = (ROOT / "README.md").read_text()
    new = re.sub(r"<!-- RESULTS:START -->.*<!-- RESULTS:END -->",
                 lambda _: f"<!-- RESULTS:START -->\n{head}{body.strip()}\n<!-- RESULTS:END -->", readme, flags=re.S)
    new = re.sub(r"<!-- STATUS:START -->.*<!-- STATUS:END -->",
                 lambda _: f"<!-- STATUS:START -->\n{status}\n<!-- STATUS:END -->", new, flags=re.S)
    (ROOT / "README.md").write_text(new)
    print("README.md updated from", run / "report.md")
    from girl_lib import readings

    stages = ("data", "sft", "reward", "ppo", "generate", "judge", "recommend")
    expected = "\n\n".join(f"#### {stage}\n\n" + getattr(readings, f"{stage}_reading")(results, results["profile"])
                             for stage in stages)
    guide = ROOT / "docs" / "instructor.md"
    text = re.sub(r"<!-- EXPECTED:START -->.*<!-- EXPECTED:END -->",
                  lambda _: f"<!-- EXPECTED:START -->\n{expected}\n<!-- EXPECTED:END -->", guide.read_text(), flags=re.S)
    guide.write_text(text)
    print("docs/instructor.md updated from", run / "results.json")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/cpu")
