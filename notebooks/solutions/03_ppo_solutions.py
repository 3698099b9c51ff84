# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions: 03 · PPO
#
# Run after (or instead of) the notebook; CI runs this file on `tiny`. Every exercise prints "solved" or
# its result. Costs are for the `cpu` profile.

# %%
import sys

sys.path.insert(0, "../..")   # the course root, when run from notebooks/solutions/
from girl_lib import course

C = course.setup("ppo")
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

# %% [markdown]
# ## 🐢 RLOO by hand

# %%
import torch
from girl_lib import ppo

rewards = [1.0, 3.0, 0.0, 4.0]
k = 2
rloo_by_hand = []
for g in range(0, len(rewards), k):
    group = rewards[g:g + k]
    rloo_by_hand += [r - (sum(group) - r) / (k - 1) for r in group]
assert course.check("03-rloo", rloo_by_hand, rewards=rewards, k=k)

# %% [markdown]
# ## 🐕 A larger λ

# %%
score = torch.tensor([0.8, 0.6, 0.1, 0.3])
kl = torch.tensor([0.5, 4.0, 0.2, 3.0])                 # the second JD of each CV drifted further
for lam in (0.05, 0.5):
    adv = ppo.group_advantages(ppo.compute_rewards(score, kl, lam), 2, "rloo")
    print(f"lambda {lam}: advantages {adv.numpy().round(3)}")
print("solved: with lambda 0.5 the JDs far from the reference lose their advantage, whatever U said")

# %% [markdown]
# ## 🦁 GAE instead of RLOO (a short run)

# %%
import tempfile

from girl_lib.config import get_profile
from girl_lib.runio import read_jsonl

if C.profile == "tiny":
    gae_cfg = get_profile("tiny", {"ppo.baseline": "gae", "ppo.iterations": 2})
    with tempfile.TemporaryDirectory() as tmp:
        ppo.run_ppo(gae_cfg, RUN_DIR, out_dir=tmp, save_model=False, progress=False)
        gae_rows = read_jsonl(f"{tmp}/metrics.jsonl")
    main_rows = read_jsonl(RESULTS_DIR / "ppo" / "metrics.jsonl")
    print("value loss, GAE:", [round(r.get("value_loss") or 0, 4) for r in gae_rows])
    print("value loss, main run:", [round(r.get("value_loss") or 0, 4) for r in main_rows])
print("solved")
