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
# Run after (or instead of) the notebook; CI runs this file on `tiny`. Every exercise asserts its answer
# (a build-it-yourself function is checked by `course.check` against girl_lib on random inputs). Costs are for the `cpu` profile.

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
# ## 🐕 Build it yourself: k1, k3, the group advantage and the clipped surrogate

# %%
def kl_k1(logp_actor, logp_ref):
    return logp_actor - logp_ref


def kl_k3(logp_actor, logp_ref):
    log_rho = logp_actor - logp_ref
    return torch.exp(-log_rho) - 1 + log_rho


def group_advantage(rewards, k, kind):
    r = rewards.view(-1, k)
    if kind == "rloo":
        return (r - (r.sum(1, keepdim=True) - r) / (k - 1)).flatten()
    return ((r - r.mean(1, keepdim=True)) / (r.std(1, unbiased=False, keepdim=True) + 1e-6)).flatten()


def clipped_surrogate(logp, old_logp, advantages, mask, clip_eps):
    rho = torch.exp(logp - old_logp)
    a = advantages[:, None]
    per_token = torch.minimum(rho * a, rho.clamp(1 - clip_eps, 1 + clip_eps) * a)
    return -((per_token * mask).sum(1) / mask.sum(1)).mean()


assert course.check("03-kl-k1", kl_k1)
assert course.check("03-kl-k3", kl_k3)
assert course.check("03-group-advantage", group_advantage)
assert course.check("03-clipped-surrogate", clipped_surrogate)

# %% [markdown]
# ## 🐕 A larger λ

# %%
from girl_lib import scratch_ppo
from girl_lib.data import load_data

cvs = list(load_data(RUN_DIR)["rl"]["cv"][:2])
for lam in (0.05, 0.5):
    rows = scratch_ppo.train(cvs, scratch_ppo.ToyPPOConfig(iterations=20, kl_coef=lam))
    print(f"lambda {lam}: toy reward {rows[0]['toy_reward']:.3f} -> {rows[-1]['toy_reward']:.3f}, "
          f"KL {rows[0]['kl']:.2f} -> {max(r['kl'] for r in rows):.2f} at most")

score = torch.tensor([0.8, 0.6, 0.1, 0.3])
kl = torch.tensor([0.5, 4.0, 0.2, 3.0])                 # the second JD of each CV drifted further
adv = {}
for lam in (0.05, 0.5):
    adv[lam] = ppo.group_advantages(ppo.compute_rewards(score, kl, lam), 2, "rloo")
    print(f"lambda {lam}: advantages {adv[lam].numpy().round(3)}")
assert adv[0.05][3] > 0 > adv[0.5][3]   # CV 2's drifted JD: preferred by U, penalised once lambda prices the KL
print("with lambda 0.5 the JDs far from the reference lose their advantage, whatever U said")

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
    assert len(gae_rows) == 2 and all(r.get("value_loss") is not None for r in gae_rows), "GAE trains a critic"
