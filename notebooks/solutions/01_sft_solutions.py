# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions: 01 · SFT
#
# Run after (or instead of) the notebook; CI runs this file on `tiny`. Every exercise asserts its answer
# (a build-it-yourself function is checked by `course.check` against girl_lib on random inputs). Costs are for the `cpu` profile.

# %%
import sys

sys.path.insert(0, "../..")   # the course root, when run from notebooks/solutions/
from girl_lib import course

C = course.setup("sft")
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir

# %%
import torch
from girl_lib.config import get_profile
from girl_lib.data import load_data
from girl_lib.losses import sft_loss
from girl_lib.sft import build_sft_example

model, tok, _ = C.generator("sft")
row = load_data(RUN_DIR)["sft"][0]
ex = build_sft_example(tok, row["cv"], row["jd"])
ids, labels = ex["input_ids"], ex["labels"]

# %% [markdown]
# ## 🐢 Tokens that carry loss

# %%
n_loss_tokens = sum(lab != -100 for lab in labels)
assert course.check("01-loss-tokens", n_loss_tokens, labels=labels)

# %% [markdown]
# ## 🐕 Build it yourself: the SFT loss and its mask

# %%
def my_sft_loss(logits, labels):
    logits, targets = logits[:, :-1].float(), labels[:, 1:]          # position t predicts token t + 1
    keep = targets != -100
    logp = torch.log_softmax(logits, -1).gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1)
    return -logp[keep].mean()


assert course.check("01-sft-loss", my_sft_loss)

# %% [markdown]
# ## 🐕 Loss with the prompt included

# %%
with torch.no_grad():
    logits = model(input_ids=torch.tensor([ids])).logits.float()
jd_only = sft_loss(logits, torch.tensor([labels])).item()
everything = sft_loss(logits, torch.tensor([ids])).item()
print(f"Eq. 1 (JD tokens only): {jd_only:.3f}; with the prompt too: {everything:.3f}; "
      f"{ex['n_prompt']} of {len(ids)} tokens are prompt, so the prompt dominates the mean")
assert ex["n_prompt"] > len(ids) - ex["n_prompt"], "the prompt (instruction + CV) is most of the tokens"
assert abs(everything - jd_only) > 1e-4
print("loss on the prompt rewards reproducing the fixed instruction and the CV, not writing a JD")

# %% [markdown]
# ## 🦁 Fewer SFT steps in a fresh run dir

# %%
import tempfile

from girl_lib.pipeline import ensure, run_stage

short = get_profile(C.profile, {"sft.max_steps": 5 if C.profile == "tiny" else 10})
with tempfile.TemporaryDirectory() as tmp:
    ensure(short, tmp, "sft")
    m = run_stage("sft", short, tmp, progress=False)
full = course.read_json(RESULTS_DIR / "sft" / "metrics.json")
print(f"perplexity after {short.sft.max_steps} steps: {m['jd_perplexity_after']:.2f}; "
      f"after {full['steps']} steps: {full['jd_perplexity_after']:.2f} (before: {full['jd_perplexity_before']:.2f})")
assert m["steps"] == short.sft.max_steps and m["jd_perplexity_after"] > 1.0
