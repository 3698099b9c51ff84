# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions: 02 · The reward model
#
# Run after (or instead of) the notebook; CI runs this file on `tiny`. Every exercise asserts its answer
# (a build-it-yourself function is checked by `course.check` against girl_lib on random inputs). Costs are for the `cpu` profile.

# %%
import sys

sys.path.insert(0, "../..")   # the course root, when run from notebooks/solutions/
from girl_lib import course

C = course.setup("reward")
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

# %% [markdown]
# ## 🐢 Pairwise accuracy from the logged scores

# %%
import numpy as np
import torch

rm = course.read_json(RESULTS_DIR / "reward" / "metrics.json")
sc = rm["eval_scores"]
pairwise_accuracy = float(np.mean(np.array(sc["chosen"]) > np.array(sc["rejected"])))
assert course.check("02-pairwise-accuracy", pairwise_accuracy, chosen=sc["chosen"], rejected=sc["rejected"])

# %% [markdown]
# ## 🐕 Build it yourself: the Bradley–Terry loss

# %%
import torch.nn.functional as F


def bt_loss(chosen, rejected):
    return -F.logsigmoid(chosen - rejected).mean()


assert course.check("02-bt-loss", bt_loss)

# %% [markdown]
# ## 🐕 A margin

# %%
chosen = torch.tensor([0.5, 2.0, -1.0], requires_grad=True)
rejected = torch.tensor([0.5, 0.0, 1.0])
push = {}
for m in (0.0, 3.0):
    chosen.grad = None
    (-torch.nn.functional.logsigmoid(chosen - rejected - m)).mean().backward()
    push[m] = -chosen.grad.clone()
    print(f"margin {m}: gradient descent moves U(C, J+) by {push[m].numpy().round(3)}")
assert push[3.0][1] > 5 * push[0.0][1] > 0     # pair 2 (2.0 vs 0.0): ranked right, still pushed until U+ - U- > m
print("with a margin, the correctly ranked pair 2 still gets a sizeable push until U+ - U- > m")

# %% [markdown]
# ## 🦁 Eq. 2 as printed: the model learns the wrong order

# %%
from girl_lib.config import get_profile
from girl_lib.data import load_data
from girl_lib.models import load_sequence_scorer

tiny = get_profile("tiny")
model, rtok = load_sequence_scorer("tiny", tiny)
rows = load_data(RUN_DIR)["reward"].select(range(16)).to_dict()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
enc = rtok(rows["cv"] * 2, rows["chosen"] + rows["rejected"], truncation="only_first", max_length=tiny.reward.max_length,
           padding=True, return_tensors="pt")
model.train()
for step in range(40):
    u = model(**enc).logits[:, 0]
    loss = torch.nn.functional.logsigmoid(u[:16] - u[16:]).mean()     # as printed: no minus sign
    opt.zero_grad()
    loss.backward()
    opt.step()
model.eval()
with torch.no_grad():
    u = model(**enc).logits[:, 0]
accuracy = (u[:16] > u[16:]).float().mean().item()
print(f"training accuracy after 40 steps of the printed Eq. 2: {accuracy:.2f}")
assert accuracy < 0.5
