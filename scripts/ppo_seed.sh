#!/usr/bin/env bash
# PPO again with another seed on a finished main job's data, SFT model and reward model, then the rubric
# judge on its GIRL vs GIRL-SFT JDs: does the main job's PPO result hold for another seed?
#   bash scripts/ppo_seed.sh 1        -> runs/cpu_seed1/ (ppo/metrics.json, judge_girl_vs_sft.json)
# scripts/update_readme.py lists every runs/cpu_seed*/ beside the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:?usage: bash scripts/ppo_seed.sh SEED}
src=runs/cpu
dst=runs/cpu_seed$seed
bash scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
for stage in data sft reward; do
  [ -f "$src/$stage/DONE" ] || { echo "run the main job first: $src/$stage is not done" >&2; exit 2; }
done
mkdir -p "$dst"
for stage in data sft reward; do
  [ -d "$dst/$stage" ] || cp -r "$src/$stage" "$dst/$stage"
done
[ -f "$dst/ppo/DONE" ] || .venv/bin/girl ppo --profile cpu --run-dir "$dst" --set ppo.seed="$seed"
.venv/bin/python - "$dst" <<'PY'
import json, sys
from pathlib import Path
from girl_lib import judge
from girl_lib.config import get_profile
from girl_lib.data import load_data
run = Path(sys.argv[1])
ev = json.loads((run / "ppo" / "eval_generations.json").read_text())
cv_of = dict(zip(*(load_data(run)["judge_eval"][c] for c in ("seeker_id", "cv"))))
pairs = run / "judge_pairs.jsonl"
extra = ev.get("extra") or {k: [[] for _ in ev["cv_ids"]] for k in ("girl", "sft")}
rows = []  # JD k of GIRL against JD k of GIRL-SFT, as the judge stage pairs them; cv_id clusters the bootstrap
for i, c in enumerate(ev["cv_ids"]):
    girl, sft = [ev["girl"][i]] + extra["girl"][i], [ev["sft"][i]] + extra["sft"][i]
    rows += [{"cv_id": c, "cv": cv_of[c], "jd_a": g["jd"], "jd_b": s["jd"]} for g, s in zip(girl, sft)]
pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
cfg = get_profile("cpu")
rep = judge.judge_file(pairs, run / "judge_girl_vs_sft.json", judge.make_backend(cfg.judge, cfg),
                       n_bootstrap=cfg.judge.n_bootstrap, seed=cfg.judge.seed, progress=False)
print(json.dumps({k: rep.get(k) for k in ("win", "tie", "lose", "adv", "adv_ci", "n", "n_cvs")}))
PY
