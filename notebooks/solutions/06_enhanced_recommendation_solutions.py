# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions: 06 · Enhanced recommendation
#
# Run after (or instead of) the notebook; CI runs this file on `tiny`. Every exercise asserts its answer
# (a build-it-yourself function is checked by `course.check` against girl_lib on random inputs). Costs are for the `cpu` profile.

# %%
import sys

sys.path.insert(0, "../..")   # the course root, when run from notebooks/solutions/
from girl_lib import course

C = course.setup("recommend")
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

# %% [markdown]
# ## 🐢 AUC of the untrained cosine

# %%
import numpy as np
from girl_lib.data import load_data
from girl_lib.generate import load_generations
from girl_lib.metrics import auc
from girl_lib.models import encode_texts, load_encoder
from sklearn.metrics import roc_auc_score

test = load_data(RUN_DIR)["rec_test"]
encoder, enc_tok = load_encoder(cfg)
embed = lambda texts: encode_texts(encoder, enc_tok, list(texts), batch_size=32, max_length=cfg.recommend.embed_max_length)  # noqa: E731
seekers = sorted(set(test["seeker_id"]))
cv_text = dict(zip(test["seeker_id"], test["cv"]))
c_emb = dict(zip(seekers, embed([cv_text[s] for s in seekers])))
j_emb = embed(test["jd"])
cos_scores = [float(c_emb[s] @ v) for s, v in zip(test["seeker_id"], j_emb)]
auc_by_hand = roc_auc_score(test["label"], cos_scores)
assert course.check("06-auc", auc_by_hand, labels=test["label"], scores=cos_scores)

# %% [markdown]
# ## 🐕 Build it yourself: AUC and GAUC

# %%
def my_auc(labels, scores):
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    pos, neg = s[y == 1], s[y == 0]
    return float(((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean())


def my_gauc(labels, scores, groups):
    y, s, g = np.asarray(labels), np.asarray(scores, dtype=float), np.asarray(groups)
    per_seeker = [my_auc(y[g == k], s[g == k]) for k in np.unique(g) if len(set(y[g == k])) == 2]
    return float(np.mean(per_seeker))


assert course.check("06-build-auc", my_auc)
assert course.check("06-gauc", my_gauc)

# %% [markdown]
# ## 🐕 More of the generated JD in the query

# %%
gens = load_generations(RESULTS_DIR, "girl", "rec")
if all(s in gens for s in seekers):
    jp = {s: embed(gens[s]).mean(0) for s in seekers}
    mixed_auc = {}
    for w in (0.0, 0.5, 1.0, 2.0):
        mix = {s: c_emb[s] + w * jp[s] / np.linalg.norm(jp[s]) for s in seekers}
        scores = [float(mix[s] @ v / np.linalg.norm(mix[s])) for s, v in zip(test["seeker_id"], j_emb)]
        mixed_auc[w] = auc(test["label"], scores)
        print(f"cos(c + {w} j', j): untrained AUC {mixed_auc[w]:.4f}")
    assert abs(mixed_auc[0.0] - auc_by_hand) < 1e-6, "w = 0 is the CV alone: the 🐢 exercise's AUC"

# %% [markdown]
# ## 🦁 More seeds
#
# On `cpu` (about a minute): copy the run dir, then
# `girl recommend --profile cpu --run-dir runs/cpu-seeds --set recommend.seeds=0,1,2,3,4` and compare the paired
# intervals of `recommend/metrics.json` with the main run's. On `tiny` the same call takes seconds:

# %%
import shutil
import tempfile

from girl_lib.config import get_profile
from girl_lib.pipeline import run_stage

if C.profile == "tiny":
    with tempfile.TemporaryDirectory() as tmp:
        for stage in ("data", "generate"):
            shutil.copytree(RUN_DIR / stage, f"{tmp}/{stage}")
        shutil.copy(RUN_DIR / "profile.json", tmp) if (RUN_DIR / "profile.json").exists() else None
        more = get_profile("tiny", {"recommend.seeds": (0, 1, 2)})
        out = run_stage("recommend", more, tmp, progress=False)
        print("seeds", out.get("seeds"), "| MLP GIRL AUC", round(out["recommend"]["MLP"]["GIRL"]["auc"], 4))
        assert 0 <= out["recommend"]["MLP"]["GIRL"]["auc"] <= 1
