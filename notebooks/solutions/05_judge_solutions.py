# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions: 05 · The judge
#
# Run after (or instead of) the notebook; CI runs this file on `tiny`. Every exercise asserts its answer
# (a build-it-yourself function is checked by `course.check` against girl_lib on random inputs). Costs are for the `cpu` profile.

# %%
import sys

sys.path.insert(0, "../..")   # the course root, when run from notebooks/solutions/
from girl_lib import course

C = course.setup("judge")
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

# %% [markdown]
# ## 🐢 Adv. = Win − Lose

# %%
judge = course.read_json(RESULTS_DIR / "judge" / "metrics.json")
report = judge["GIRL_vs_GIRL-SFT"]
advantage = report["win"] - report["lose"]
assert course.check("05-advantage", advantage, report=report)

# %% [markdown]
# ## 🐕 Build it yourself: the advantage with order swap

# %%
def swap_advantage(xy, yx):
    wins = losses = 0
    for a, b in zip(xy, yx):
        first = {"A": "win", "B": "lose", "C": "tie"}[a]    # A = x
        second = {"A": "lose", "B": "win", "C": "tie"}[b]   # A = y
        outcome = first if first == second else "tie"
        wins += outcome == "win"
        losses += outcome == "lose"
    return (wins - losses) / len(xy)


assert course.check("05-swap-advantage", swap_advantage)

# %% [markdown]
# ## 🐕 The rubric's margins

# %%
from girl_lib.data import load_data
from girl_lib.generate import load_generations
from girl_lib.judge import VERDICT_KEYS, RubricJudge, format_verdict, judge_pairs, parse_verdict

split = load_data(RUN_DIR)["judge_eval"]
gens = {k: load_generations(RESULTS_DIR, k, "judge_eval") for k in ("sft", "girl")}
rows = [{"cv_id": c, "cv": cv, "jd_a": gens["girl"][c][0], "jd_b": gens["sft"][c][0]}
        for c, cv in zip(split["seeker_id"], split["cv"]) if c in gens["girl"] and c in gens["sft"]]
strict = judge_pairs(rows, RubricJudge(margins={"relevance": 0.0}), n_bootstrap=100, progress=False)
print(f"Adv. with the default margins {report['adv']:+.2f}, with a zero relevance margin {strict['adv']:+.2f}")
assert -1 <= strict["adv"] <= 1 and strict["flip_rate"] == 0, "the rubric reads both orders the same way"

# %% [markdown]
# ## 🦁 A length-biased judge

# %%
import re


class PrefersLonger:
    """Prefers the longer JD on every aspect (a demo of length bias)."""
    name = cache_id = "prefers-longer (demo)"
    max_concurrency = 1

    def judge(self, messages):
        text = messages[-1]["content"]
        # the two JDs as the judge prompt frames them (judge.JUDGE_USER: "[The Start of Job Description A]" ...)
        a, b = (re.search(rf"\[The Start of Job Description {x}\](.*?)\[The End of Job Description {x}\]", text, re.S)
                for x in ("A", "B"))
        la, lb = (len(m.group(1)) if m else 0 for m in (a, b))
        return format_verdict({k: "A" if la >= lb else "B" for k in VERDICT_KEYS})


biased = judge_pairs(rows, PrefersLonger(), n_bootstrap=100, progress=False)
print({k: biased[k] for k in ("win", "tie", "lose", "flip_rate")})
assert biased["flip_rate"] <= 0.1, "a length-biased judge is consistent across orders, so the swap cannot catch it"
print("swapping orders does not help, because the longer JD stays longer in both orders")
assert parse_verdict(PrefersLonger().judge([{"content": "x"}])) is not None
