# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions: 00 · The data
#
# Run after (or instead of) the notebook; CI runs this file on `tiny`. Every exercise asserts its answer
# (a build-it-yourself function is checked by `course.check` against girl_lib on random inputs). Costs are for the `cpu` profile.

# %%
import sys

sys.path.insert(0, "../..")   # the course root, when run from notebooks/solutions/
from girl_lib import course

C = course.setup("data")
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

# %% [markdown]
# ## 🐢 How noisy are the labels?

# %%
import numpy as np
import pandas as pd
from girl_lib.data import make_world
from girl_lib.metrics import pairwise_overlap

world = make_world(seed=cfg.data.seed, n_seekers=400, n_jobs=400)
pairs = pd.DataFrame(world.sample_pairs(3000, seed=0))
agreement = float((pairs["label"] == (pairs["fit"] > 0.5)).mean())
assert course.check("00-label-noise", agreement, pairs=pairs)
print(f"observed labels agree with the noiseless decision on {agreement:.3f} of the pairs")

# %% [markdown]
# ## 🐕 Another seed: same shares, other people

# %%
from collections import Counter

other = make_world(seed=1, n_seekers=400, n_jobs=400)
share = lambda w: pd.Series(Counter(j.industry for j in w.jobs)).sort_index() / len(w.jobs)  # noqa: E731
print(pd.DataFrame({"seed 0": share(world), "seed 1": share(other)}).round(3))
print("same first seeker?", world.seekers[0].cv == other.seekers[0].cv)
assert world.seekers[0].cv != other.seekers[0].cv

# %% [markdown]
# ## 🐕 Build it yourself: a paired bootstrap interval

# %%
def paired_bootstrap_ci(a, b, n, seed):
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    means = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(n)]
    return np.quantile(means, [0.025, 0.975])


assert course.check("00-paired-bootstrap", paired_bootstrap_ci)

# %% [markdown]
# ## 🦁 Break the semantic gap

# %%
from girl_lib.world import taxonomy as T

name_of = {s.key: s.name for s in T.SKILLS}
rows = [(s, j) for s in world.seekers[:100] for j in [next(j for j in world.jobs if j.occupation == s.occupation)]]
before = np.mean([pairwise_overlap([s.cv, j.jd]) for s, j in rows])
after = np.mean([pairwise_overlap([s.cv + " " + ", ".join(name_of[k] for k in j.required), j.jd]) for s, j in rows])
print(f"word overlap CV vs a same-occupation JD: {before:.3f} -> {after:.3f} with the skills' JD names added")
assert after > before
print("the Base recommender of 06 would gain most, since it compares CV and JD words directly")
