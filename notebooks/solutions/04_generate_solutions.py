# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions: 04 · Generation
#
# Run after (or instead of) the notebook; CI runs this file on `tiny`. Every exercise asserts its answer
# (a build-it-yourself function is checked by `course.check` against girl_lib on random inputs). Costs are for the `cpu` profile.

# %%
import sys

sys.path.insert(0, "../..")   # the course root, when run from notebooks/solutions/
from girl_lib import course

C = course.setup("generate")
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

# %% [markdown]
# ## 🐢 distinct-2 of GIRL's JDs

# %%
import re

import numpy as np
from girl_lib.generate import load_generations

gens = load_generations(RESULTS_DIR, "girl", "judge_eval")
girl_texts = [jd for jds in gens.values() for jd in jds]
words = [re.findall(r"[a-z0-9+#]+", t.lower()) for t in girl_texts]   # girl_lib.plots' word split
bigrams = [tuple(ws[i:i + 2]) for ws in words for i in range(len(ws) - 1)]
distinct2 = len(set(bigrams)) / max(1, len(bigrams))
assert course.check("04-distinct-2", distinct2, texts=girl_texts)

# %% [markdown]
# ## 🐕 Build it yourself: distinct-n

# %%
from girl_lib.metrics import words


def my_distinct_n(texts, n):
    grams = [tuple(w[i:i + n]) for t in texts for w in [words(t)] for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


assert course.check("04-distinct-n", my_distinct_n)

# %% [markdown]
# ## 🐕 Temperature and diversity

# %%
import torch
from girl_lib.data import load_data
from girl_lib.sampling import Sampling, sample_batch
from girl_lib.metrics import distinct_n

if C.has_model("ppo", what="sampling from GIRL"):
    model, tok, _ = C.generator("ppo")
    cv = load_data(RUN_DIR)["judge_eval"]["cv"][0]
    d2 = {}
    for temperature in (0.3, 0.7, 1.2):
        out = sample_batch(model, tok, [cv], Sampling(24 if C.profile == "tiny" else 120, temperature),
                           torch.Generator().manual_seed(0), repeats=5)
        d2[temperature] = distinct_n(out["texts"], 2)
        print(f"temperature {temperature}: distinct-2 {d2[temperature]:.3f}")
    assert d2[1.2] > d2[0.3], "a hotter sampler repeats fewer bigrams"

# %% [markdown]
# ## 🦁 Self-overlap against the spread of the oracle fit

# %%
from girl_lib.data import oracle_fit
from girl_lib.metrics import pairwise_overlap

rec = load_generations(RESULTS_DIR, "girl", "rec")
cv_of = dict(zip(load_data(RUN_DIR)["rec_test"]["seeker_id"], load_data(RUN_DIR)["rec_test"]["cv"]))
per_cv = [(pairwise_overlap(jds), np.std([oracle_fit(cv_of[s], j) for j in jds]))
          for s, jds in rec.items() if len(jds) > 1 and s in cv_of]
if len(per_cv) > 2:
    overlap, spread = np.array(per_cv).T
    corr = np.corrcoef(overlap, spread)[0, 1]
    print(f"{len(per_cv)} CVs: correlation of self-overlap with the fit's spread {corr:.2f}")
    assert np.isnan(corr) or -1 <= corr <= 1
    assert all(0 <= o <= 1 for o in overlap)
else:
    print("needs generate.n_samples >= 2 (tiny, colab)")
