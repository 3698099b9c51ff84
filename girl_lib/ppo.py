"""Step 3: reinforcement learning from recruiter feedback with PPO (paper Sec. IV-C, Algorithm 1).

Read it top to bottom next to the paper, in the spirit of CleanRL's single-file ``ppo.py``:

1. the small formulas of Sec. IV-C (Eq. 4, 5) and the options *beyond the paper* (group baselines,
   whitening, GAE, adaptive KL), each a few lines;
2. the baselines: what Eq. 5 subtracts from the reward. One interface (:class:`Baseline`), three kinds:
   the paper's critic ``U^c(C, _)`` (:class:`CriticBaseline`), a token-level value head with GAE
   (:class:`TokenCriticBaseline`) and the group baselines RLOO / GRPO over k JDs of one CV
   (:class:`GroupBaseline`);
3. the models: actor ``G^a`` (SFT weights + a fresh LoRA adapter), the frozen reference ``G`` (the same
   model with its adapter switched off) and the frozen reward model ``U``;
4. :class:`PPOTrainer`, whose :meth:`PPOTrainer.iteration` is Algorithm 1's loop body, one line per step:
   sample CVs -> rollout (generate, log-probs) -> score -> advantages -> update -> log -> checkpoint;
5. checkpoints, the final comparison with GIRL-SFT (with bootstrap intervals), and :func:`run_ppo`, the
   thin stage function behind ``girl ppo --profile P --run-dir DIR [--resume]``.

The loss functions themselves live in :mod:`girl_lib.losses` (pure tensor code, unit-tested against
hand-computed values). Every logged metric is explained in ``docs/metrics.md``.

Outputs, under ``<run_dir>/ppo/``::

    metrics.jsonl   one row per iteration (reward, oracle fit, KL, losses, clip fraction, ...)
    tensorboard/    the same rows as TensorBoard scalars, only when ``tensorboard`` is installed
    checkpoint/     the last checkpoint (actor adapter, critic, optimisers, RNG states, iteration)
    model/          GIRL: the final actor merged into full weights + tokenizer (load like sft/model)
    metrics.json    GIRL vs GIRL-SFT on judge_eval CVs: RM reward, KL, oracle fit, paired differences
                    with 95% intervals, the reward model's agreement with the recruiter, hacking guard
    eval_generations.json  those JDs, sampled with the generate stage's judge settings: it copies them
    DONE

Reproducibility: the CVs of iteration ``k``, the minibatch shuffles and the token sampling all draw
from ``torch.Generator`` objects seeded by ``(seed, k, process)`` at the start of the iteration, so
their state at any iteration boundary is a function of the iteration number stored in the checkpoint;
dropout is switched off in every model (as TRL does for PPO: with dropout the ratio ``rho`` of Eq. 6
would not be 1 at the first step); the global python/numpy/torch RNG states are checkpointed as well.
A run stopped after ``k`` iterations and resumed therefore matches an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from accelerate import Accelerator
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from . import distributed as dist
from . import losses
from .data import load_data, oracle_for
from .generate import batch_generator, judge_sampler, length_batches, sample_batch
from .metrics import bootstrap_ci
from .models import load_generator, load_sequence_scorer
from .prompts import layout_shortfall, requirement_count_gap, skill_lines
from .report import ppo_note
from .reward import score_batch
from .runio import (GirlError, NonFiniteError, append_jsonl, atomic_dir, atomic_write_json, atomic_write_text,
                    build_fingerprint, check_finite, clear_done, derive_seed, describe_change, read_json,
                    read_jsonl, require_stage, save_stage, set_seed)

ScoreFn = Callable[[list, list], "torch.Tensor | Sequence[float]"]
"""``score_fn(cvs, jds) -> [B]``: the reward U(C, J) of each pair (default: the trained reward model)."""
OracleFn = Callable[[str, str], float]
"""``oracle_fn(cv, jd) -> float``: the hidden recruiter's fit (default: :func:`girl_lib.data.oracle_for` of the profile)."""
BASELINES = ("critic", "gae", "rloo", "grpo")
"""What Eq. 5 subtracts: the paper's critic, a token value head with GAE, or a group baseline."""
POLICY_PAIR_MIN_GAP = 0.05
"""Pairs of one CV's JDs whose noiseless fits differ by less than this are too close to call."""


# =========================================================================== 1. Eq. 4, Eq. 5 and options
def compute_rewards(scores: torch.Tensor, kl: torch.Tensor, kl_coef: float) -> torch.Tensor:
    """Eq. 4: ``r_i = U(C_i, J_i) - lambda * KL(C_i, J_i)``, one reward per generated JD ([B])."""
    return scores - kl_coef * kl


def compute_advantages(rewards: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Eq. 5: ``a_i = r_i - U^c(C_i, _)``: how much better this JD did than the critic expected for the CV.

    Raw, as in the paper; :func:`whiten` is a separate option (``ppo.whiten_advantages``).
    """
    return rewards - values


def group_advantages(rewards: torch.Tensor, group_size: int, kind: str = "rloo", eps: float = 1e-6) -> torch.Tensor:
    """*Beyond the paper*: the advantage of each of the k JDs sampled for one CV against the others ([B]).

    Rows come in groups of ``k = group_size`` consecutive JDs of one CV.

    - ``"rloo"`` (REINFORCE leave-one-out, Ahmadian et al. 2024): ``a_i = r_i - mean_{j != i} r_j``, the
      reward minus the mean of the *other* k - 1 JDs of its CV (an unbiased baseline: it does not depend
      on JD i);
    - ``"grpo"`` (Shao et al. 2024): ``a_i = (r_i - mean_j r_j) / (std_j r_j + eps)`` over the group.

    Either way the CV's own difficulty (how well any JD can fit it) cancels: only differences between
    JDs of one CV remain, which is what the policy can change. Needs k >= 2.
    """
    k = int(group_size)
    if k < 2 or rewards.numel() % k:
        raise ValueError(f"group advantages need groups of k >= 2 rows; got {rewards.numel()} rows, k = {k}")
    r = rewards.reshape(-1, k)
    if kind == "rloo":
        others = (r.sum(-1, keepdim=True) - r) / (k - 1)
        return (r - others).reshape(-1)
    if kind == "grpo":
        return ((r - r.mean(-1, keepdim=True)) / (r.std(-1, unbiased=False, keepdim=True) + eps)).reshape(-1)
    raise ValueError(f"unknown group baseline {kind!r}; choose rloo or grpo")


def within_group_share(x: torch.Tensor, group_size: int) -> float | None:
    """Share of the variance of ``x`` ([B], groups of ``group_size`` consecutive rows) that lies *within*
    groups: 1 when every group has the same mean, 0 when rows of a group are equal. ``None`` for k < 2
    or no variance. Logged for the advantages: the part that tells JDs of one CV apart."""
    k = int(group_size)
    if k < 2 or x.numel() % k or x.numel() < 2:
        return None
    x = x.detach().float().reshape(-1, k)
    total = ((x - x.mean()) ** 2).sum()
    if float(total) <= 0:
        return None
    return float(((x - x.mean(-1, keepdim=True)) ** 2).sum() / total)


def whiten(x: torch.Tensor, mask: torch.Tensor | None = None, shift_mean: bool = True,
           eps: float = 1e-8) -> torch.Tensor:
    """*Beyond the paper*: ``(x - mean) / std`` over the batch (over unmasked entries when ``mask``).

    With one element there is no spread to divide by; the value is then only centred.
    """
    if mask is None:
        mask = torch.ones_like(x)
    keep = mask.bool()
    vals = x[keep]
    mean = vals.mean()
    var = ((vals - mean) ** 2).mean()
    out = (x - mean) * torch.rsqrt(var + eps) if vals.numel() > 1 else x - mean
    if not shift_mean:
        out = out + mean
    return torch.where(keep, out, torch.zeros_like(out))


def token_level_rewards(scores: torch.Tensor, kl_tokens: torch.Tensor, mask: torch.Tensor,
                        kl_coef: float) -> torch.Tensor:
    """*Beyond the paper* (Ziegler et al. 2019, InstructGPT): rewards per token [B, R].

    Every JD token pays ``-lambda * kl_t`` (its own KL term); the last JD token also receives ``U(C, J)``.
    The KL terms are summed over the JD here, where Eq. 4 takes their mean, so the same ``lambda``
    penalises about ``|J|`` times harder.
    """
    rewards = -kl_coef * kl_tokens * mask
    last = (mask.sum(-1) - 1).clamp(min=0).long()  # index of the last JD token (EOS if produced)
    return rewards.scatter_add(1, last.unsqueeze(1), scores.unsqueeze(1).to(rewards.dtype))


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
                lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """*Beyond the paper*: generalised advantage estimation (Schulman et al. 2016) over JD tokens.

    ``delta_t = r_t + gamma V_{t+1} - V_t`` (``V`` after the last token is 0) and
    ``A_t = delta_t + gamma lam A_{t+1}``; the critic's targets are ``returns = A + V``. With one token,
    ``gamma = lam = 1`` this reduces to the paper's Eq. 5. All inputs [B, R]; padding contributes 0.
    """
    mask = mask.to(values.dtype)
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(values)
    last_gae = torch.zeros_like(values[:, 0])
    length = values.size(1)
    for t in reversed(range(length)):
        next_value = values[:, t + 1] if t + 1 < length else torch.zeros_like(values[:, 0])
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last_gae = delta + gamma * lam * last_gae
        advantages[:, t] = last_gae
    advantages = advantages * mask
    return advantages, (advantages + values) * mask


def update_kl_coef(kl_coef: float, kl: float, target: float, n_steps: int, horizon: int) -> float:
    """*Beyond the paper*: the adaptive KL controller of Ziegler et al. (2019).

    ``lambda <- lambda * (1 + clip(KL / target - 1, -0.2, 0.2) * n_steps / horizon)``: lambda grows while
    the measured KL is above ``target`` and shrinks while it is below.
    """
    error = float(np.clip(kl / target - 1.0, -0.2, 0.2))
    return kl_coef * (1.0 + error * n_steps / horizon)


# =========================================================================== 2. baselines (Eq. 5, Eq. 8)
def disable_dropout(model: torch.nn.Module) -> None:
    """Set every dropout probability to 0 (the PPO ratio must be 1 before the first update)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0


def critic_values(critic, tokenizer, cvs: list[str], max_length: int, grad: bool = False) -> torch.Tensor:
    """``U^c(C, _)`` of Eq. 5: the critic scores the CV paired with an *empty* JD ([B]).

    The input format is exactly the reward model's (CV, JD) sentence pair, so the critic starts from
    ``U``'s weights and sees familiar inputs.
    """
    return score_batch(critic, tokenizer, list(cvs), [""] * len(cvs), max_length, grad=grad)


class TokenValueHead(torch.nn.Module):
    """*Beyond the paper* (GAE option): ``V(s_t)`` per JD token, a linear map of the actor's last hidden
    state at the position that predicts token ``t`` (the state "prompt + first t JD tokens").

    The paper's critic ``U^c(C, _)`` sees only the CV, so it cannot value partial JDs; this head reads the
    actor's *detached* hidden states, so the critic loss never changes the actor.
    """

    def __init__(self, hidden_size: int):
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.zeros_(self.linear.weight)
        torch.nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.detach().float()).squeeze(-1)


class Baseline:
    """What Eq. 5 subtracts from the reward, and how it learns (Eq. 8). The trainer calls only these:

    - ``module``: the trainable part (``None``: nothing to learn, no critic optimiser);
    - ``needs_hidden``: whether :meth:`values` and :meth:`loss` read the actor's hidden states;
    - ``per_token``: rewards, values and advantages are [B, R] (token level) instead of [B];
    - :meth:`values` -> the baseline of each rollout row; :meth:`advantages` -> (advantages, returns);
    - :meth:`loss` -> the critic's loss on a minibatch (``None`` when there is nothing to learn).
    """

    name = "baseline"
    module: torch.nn.Module | None = None
    needs_hidden = False
    per_token = False

    def values(self, cvs: list, hidden, mask) -> torch.Tensor:
        raise NotImplementedError

    def advantages(self, rewards, values, mask, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def loss(self, cvs: list, hidden, returns, mask) -> torch.Tensor | None:
        return None


class CriticBaseline(Baseline):
    """The paper: a critic ``U^c(C, _)`` (a trainable copy of U that sees the CV only) predicts the
    reward of a CV; Eq. 5 ``a = r - U^c(C, _)``, Eq. 8 trains it towards ``r``."""

    name = "critic"

    def __init__(self, critic, tokenizer, max_length: int):
        self.module, self.tokenizer, self.max_length = critic, tokenizer, max_length

    def values(self, cvs, hidden, mask):
        return critic_values(self.module, self.tokenizer, cvs, self.max_length)

    def advantages(self, rewards, values, mask, group_size):
        return compute_advantages(rewards, values), rewards  # Eq. 5; Eq. 8's target is r

    def loss(self, cvs, hidden, returns, mask):
        return losses.critic_loss(critic_values(self.module, self.tokenizer, cvs, self.max_length, grad=True),
                                  returns)  # Eq. 8


class TokenCriticBaseline(Baseline):
    """*Beyond the paper*: a value per JD token (:class:`TokenValueHead` on the actor's detached hidden
    states), token-level rewards and GAE(gamma, lam)."""

    name = "gae"
    needs_hidden = True
    per_token = True

    def __init__(self, value_head: TokenValueHead, gamma: float, lam: float):
        self.module, self.gamma, self.lam = value_head, gamma, lam

    def values(self, cvs, hidden, mask):
        return self.module(hidden) * mask

    def advantages(self, rewards, values, mask, group_size):
        return compute_gae(rewards, values, mask, self.gamma, self.lam)

    def loss(self, cvs, hidden, returns, mask):
        return losses.critic_loss(self.module(hidden), returns, mask)


class GroupBaseline(Baseline):
    """*Beyond the paper*: k JDs per CV, each judged against the others of its CV
    (:func:`group_advantages`, ``rloo`` or ``grpo``). Nothing to learn; the logged "value" is the
    group's mean reward."""

    def __init__(self, kind: str):
        self.name = kind

    def values(self, cvs, hidden, mask):
        return None  # filled in by advantages(): the group mean needs the rewards

    def advantages(self, rewards, values, mask, group_size):
        return group_advantages(rewards, group_size, self.name), rewards


def make_baseline(cfg, run_dir: Path, ckpt_dir: Path, resumed: bool, hidden_size: int) -> Baseline:
    """The baseline ``ppo.baseline`` names, with its trainable part loaded (from the checkpoint when
    resuming, else the critic from the reward model / a zero value head)."""
    p = cfg.ppo
    if p.baseline in ("rloo", "grpo"):
        return GroupBaseline(p.baseline)
    if p.baseline == "gae":
        head = TokenValueHead(hidden_size)
        if resumed:
            head.load_state_dict(load_file(str(ckpt_dir / "critic" / "value_head.safetensors")))
        return TokenCriticBaseline(head, p.gamma, p.lam)
    critic, tok = load_sequence_scorer(str(ckpt_dir / "critic" if resumed else run_dir / "reward" / "model"), cfg)
    disable_dropout(critic)
    return CriticBaseline(critic, tok, cfg.reward.max_length)


# =========================================================================== 3. the models
@dataclass
class Models:
    """The policies Algorithm 1 samples from. ``ref`` is ``None`` with LoRA (the reference is then
    ``actor`` with its adapter disabled: one copy of the weights in memory)."""

    actor: torch.nn.Module
    tokenizer: object
    ref: torch.nn.Module | None


def build_actor(sft_dir: Path, cfg, adapter_dir: Path | None = None):
    """The actor ``G^a``: SFT weights + a fresh LoRA adapter (or the one saved in ``adapter_dir``), or a
    full trainable copy of the SFT model when ``ppo.use_lora`` is off. Returns ``(actor, tokenizer, ref)``."""
    p = cfg.ppo
    if not p.use_lora:
        actor, tok = load_generator(str(adapter_dir or sft_dir), cfg, for_training=True)
        ref, _ = load_generator(str(sft_dir), cfg, for_training=True)
        ref.eval().requires_grad_(False)
        disable_dropout(ref)
        disable_dropout(actor)
        return actor, tok, ref
    base, tok = load_generator(str(sft_dir), cfg, for_training=True)
    disable_dropout(base)
    if adapter_dir is not None:
        actor = PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=True)
    else:
        lora = LoraConfig(r=p.lora_r, lora_alpha=p.lora_alpha, lora_dropout=0.0, target_modules="all-linear",
                          task_type="CAUSAL_LM")
        actor = get_peft_model(base, lora)
    return actor, tok, None


@contextlib.contextmanager
def reference_policy(models: Models, actor_unwrapped):
    """``with reference_policy(m, a) as ref:`` yields the frozen SFT model ``G`` of Eq. 3.

    With LoRA it is the actor itself with the adapter switched off (``disable_adapter``), so the
    reference costs no memory.
    """
    if models.ref is not None:
        yield models.ref
    else:
        with actor_unwrapped.disable_adapter():
            yield actor_unwrapped


# =========================================================================== 4. the trainer: Algorithm 1
@dataclass
class Rollout:
    """One batch of experience ``D`` (Alg. 1 lines 2-4): ``group_size`` consecutive rows per CV. Token
    tensors are [B, R], the rest [B] (rewards/values/advantages/returns are [B, R] with GAE)."""

    cvs: list
    group_size: int
    texts: list
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    prompt_len: int
    response_mask: torch.Tensor
    finished: torch.Tensor
    old_logp: torch.Tensor
    ref_logp: torch.Tensor
    entropy: torch.Tensor
    hidden: torch.Tensor | None = None  # the actor's last hidden states (GAE only)
    raw_scores: torch.Tensor | None = None  # U(C, J)
    scores: torch.Tensor | None = None  # U(C, J) minus the missing-EOS penalty, if any (what enters Eq. 4)
    kl: torch.Tensor | None = None
    rewards: torch.Tensor | None = None
    values: torch.Tensor | None = None
    advantages: torch.Tensor | None = None
    returns: torch.Tensor | None = None
    oracle: list | None = None  # the hidden recruiter's fit of each JD (diagnostics only, never trained on)

    def __len__(self) -> int:
        return len(self.cvs)


def _as_tensor(scores, device) -> torch.Tensor:
    return torch.as_tensor(scores, dtype=torch.float32).detach().to(device).reshape(-1)


def _group_slices(n_rows: int, group_size: int, rows_per_chunk: int) -> list[slice]:
    """Consecutive slices of whole groups, about ``rows_per_chunk`` rows each (memory bound for logits)."""
    step = max(group_size, (max(1, rows_per_chunk) // group_size) * group_size)
    return [slice(s, min(s + step, n_rows)) for s in range(0, n_rows, step)]


class PPOTrainer:
    """Algorithm 1's loop body, :meth:`iteration`, one method per step; everything it needs is built by
    :func:`build_trainer`. ``kl_coef`` is lambda of Eq. 4 (it moves with ``ppo.adaptive_kl``)."""

    def __init__(self, cfg, models: Models, actor_unwrapped, baseline: Baseline, score_fn: ScoreFn,
                 oracle_fn: OracleFn | None, accelerator, actor_opt, critic_opt, kl_coef: float, cvs: list):
        self.cfg, self.p, self.models, self.actor_unwrapped = cfg, cfg.ppo, models, actor_unwrapped
        self.baseline, self.score_fn, self.oracle_fn = baseline, score_fn, oracle_fn
        self.accelerator, self.actor_opt, self.critic_opt = accelerator, actor_opt, critic_opt
        self.kl_coef, self.cvs = kl_coef, cvs
        self.k = max(1, int(self.p.samples_per_cv))
        self.device = accelerator.device
        self.provenance: dict = {}  # what each checkpoint records it was made from (set by run_ppo)

    # ------------------------------------------------------------------ one iteration of Algorithm 1
    def iteration(self, iteration: int) -> dict:
        """Alg. 1 lines 2-14 once; returns the iteration's log row."""
        t0 = time.time()
        data_gen, sample_gen = _iteration_generators(self.p.seed, iteration, self.accelerator.process_index,
                                                     self.device)
        cvs = self.sample_cvs(data_gen)                   # line 2: C^r, this process's share
        batch = self.rollout(cvs, sample_gen)             # line 3: J ~ G^a(C), k per CV; log pi_old, log pi_ref
        self.score(batch, iteration)                      # U(C, J) (and the oracle's fit, for the log only)
        self.compute_advantages(batch, iteration)         # line 4: Eq. 3 (KL), Eq. 4 (r), Eq. 5 (a)
        stats = self.update(batch, data_gen, iteration)   # lines 6-14: Eq. 6-7 (actor), Eq. 8 (critic)
        return self.log_row(iteration, batch, stats, time.time() - t0)

    def sample_cvs(self, data_gen: torch.Generator) -> list[str]:
        """Alg. 1 line 2: ``rollout_batch_size`` CVs without replacement (repeats only when the split is
        smaller); each process takes every ``world``-th."""
        n = self.p.rollout_batch_size
        pick = torch.randperm(len(self.cvs), generator=data_gen)[:n]
        if len(pick) < n:
            pick = torch.cat([pick, torch.randint(len(self.cvs), (n - len(pick),), generator=data_gen)])
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        return [self.cvs[i] for i in pick[rank::world].tolist()]

    @torch.no_grad()
    def rollout(self, cvs: list[str], generator: torch.Generator) -> Rollout:
        """Alg. 1 line 3, Sec. IV-C1: ``J ~ G^a(C)`` (k JDs per CV, each prompt read once), then the
        sampled tokens' log-probs under the actor (``pi_old``) and the reference ``G`` (Eq. 3 needs both),
        in chunks of whole groups: [B, R, vocab] logits of a whole rollout can be GBs."""
        p, k = self.p, self.k
        out = sample_batch(self.actor_unwrapped, self.models.tokenizer, cvs, p.max_new_tokens, p.temperature,
                           p.top_p, generator, repeats=k, backend=self.cfg.generate.backend)
        ids, attn, P = out["input_ids"], out["attention_mask"], out["prompt_len"]
        old_logp, entropy, hidden, ref_logp = [], [], [], []
        for rows in _group_slices(len(ids), k, p.minibatch_size):
            logits, h = losses.grouped_response_logits(self.actor_unwrapped, ids[rows], attn[rows], P, k,
                                                       p.temperature, output_hidden_states=self.baseline.needs_hidden)
            old_logp.append(losses.gather_logprobs(logits, ids[rows, P:]))
            entropy.append(losses.entropy_from_logits(logits))
            hidden.append(h)
            del logits
            with reference_policy(self.models, self.actor_unwrapped) as ref:
                ref_logits, _ = losses.grouped_response_logits(ref, ids[rows], attn[rows], P, k, p.temperature)
                ref_logp.append(losses.gather_logprobs(ref_logits, ids[rows, P:]))
                del ref_logits
        return Rollout(cvs=[c for c in cvs for _ in range(k)], group_size=k, texts=list(out["texts"]),
                       input_ids=ids, attention_mask=attn, prompt_len=P,
                       response_mask=out["response_mask"].to(torch.float32),
                       finished=out["finished"].to(self.device), old_logp=torch.cat(old_logp),
                       ref_logp=torch.cat(ref_logp), entropy=torch.cat(entropy),
                       hidden=torch.cat(hidden) if self.baseline.needs_hidden else None)

    def score(self, batch: Rollout, iteration: int) -> None:
        """``U(C, J)`` from the frozen reward model (or an injected scorer); the oracle's fit is recorded
        beside it for the log (how the hidden recruiter sees the same JDs), never used for training."""
        batch.raw_scores = _as_tensor(self.score_fn(list(batch.cvs), list(batch.texts)), self.device)
        check_finite(batch.raw_scores, f"reward-model score U(C, J) at iteration {iteration}")
        batch.scores = batch.raw_scores
        if self.p.missing_eos_penalty is not None:  # beyond the paper: a JD cut at max_new_tokens pays
            batch.scores = batch.scores - self.p.missing_eos_penalty * (~batch.finished).float()
        if self.p.layout_penalty is not None:  # beyond the paper: a JD that leaves parts of a posting out pays
            shortfall = torch.tensor([layout_shortfall(t) for t in batch.texts], device=self.device)
            batch.scores = batch.scores - self.p.layout_penalty * shortfall
        if self.p.requirements_penalty is not None:  # beyond the paper: a real posting names 3-5 requirements
            gap = torch.tensor([requirement_count_gap(t) for t in batch.texts], device=self.device)
            batch.scores = batch.scores - self.p.requirements_penalty * gap
        if self.oracle_fn is not None:
            batch.oracle = [float(self.oracle_fn(c, j)) for c, j in zip(batch.cvs, batch.texts)]

    def compute_advantages(self, batch: Rollout, iteration: int) -> None:
        """Alg. 1 line 4: Eq. 3 (KL to the reference), Eq. 4 (reward) and Eq. 5 (advantage, by the
        configured baseline), optionally whitened."""
        p, mask = self.p, batch.response_mask
        batch.kl = losses.kl_penalty(batch.old_logp, batch.ref_logp, mask, p.kl_estimator, p.kl_reduction)  # Eq. 3
        check_finite(batch.kl, f"KL (Eq. 3) at iteration {iteration}")
        if self.baseline.per_token:  # beyond the paper: every token pays its KL, the last one gets U
            kl_tokens = losses.kl_per_token(batch.old_logp, batch.ref_logp, p.kl_estimator)
            batch.rewards = token_level_rewards(batch.scores, kl_tokens, mask, self.kl_coef)
        else:
            batch.rewards = compute_rewards(batch.scores, batch.kl, self.kl_coef)  # Eq. 4
        values = self.baseline.values(batch.cvs, batch.hidden, mask)
        batch.advantages, batch.returns = self.baseline.advantages(batch.rewards, values, mask, self.k)  # Eq. 5
        if values is None:  # group baselines: log each JD's group mean reward as its "value"
            values = batch.rewards.reshape(-1, self.k).mean(-1).repeat_interleave(self.k)
        batch.values = values
        if p.whiten_advantages:
            batch.advantages = whiten(batch.advantages, mask if self.baseline.per_token else None)
        check_finite(values, f"baseline value at iteration {iteration}")
        check_finite(batch.rewards, f"reward r (Eq. 4) at iteration {iteration}")

    def update(self, batch: Rollout, generator: torch.Generator, iteration: int) -> dict:
        """Alg. 1 lines 6-14: ``epochs`` passes over shuffled minibatches of whole groups; per minibatch one
        AdamW step on the actor (Eq. 6-7, lr ``alpha_am``) and, if the baseline learns, one on it (Eq. 8,
        lr ``alpha_cm``). Returns the means of the logged quantities."""
        p, k, P = self.p, self.k, batch.prompt_len
        actor_params = [q for q in self.models.actor.parameters() if q.requires_grad]
        log = {"policy_loss": [], "value_loss": [], "clip_frac": [], "approx_kl": []}
        n_groups = len(batch) // k
        for epoch in range(p.epochs):  # line 6
            order = torch.randperm(n_groups, generator=generator)  # line 7: shuffle D (whole groups)
            # ppo.minibatch_size is the global minibatch: each of N processes trains on 1/N of it (DDP
            # averages the gradients), so N processes take as many optimiser steps as one.
            per_step = max(1, p.minibatch_size // k // self.accelerator.num_processes)
            for start in range(0, n_groups, per_step):  # lines 8-9: minibatches of B_r JDs
                groups = order[start:start + per_step]
                idx = (groups.unsqueeze(1) * k + torch.arange(k)).reshape(-1).to(batch.input_ids.device)
                ids, attn, mask = batch.input_ids[idx], batch.attention_mask[idx], batch.response_mask[idx]
                old_logp = batch.old_logp[idx]
                # Line 10, Eq. 6-7: the clipped surrogate, rho = pi_theta / pi_old per JD token.
                logits, hidden = losses.grouped_response_logits(self.models.actor, ids, attn, P, k, p.temperature,
                                                                output_hidden_states=self.baseline.needs_hidden)
                logp = losses.gather_logprobs(logits, ids[:, P:])
                del logits
                policy_loss = losses.ppo_actor_loss(logp, old_logp, batch.advantages[idx], mask, p.clip_eps)
                check_finite(policy_loss, f"policy loss (Eq. 6) at iteration {iteration}, epoch {epoch}")
                self._step(self.actor_opt, policy_loss, actor_params, "actor", iteration)  # line 12
                # Line 11, Eq. 8: the baseline's own loss (the paper's (r - U^c(C, _))^2), if it learns.
                value_loss = self.baseline.loss([batch.cvs[i] for i in idx.tolist()], hidden, batch.returns[idx],
                                                mask)
                if value_loss is not None:
                    check_finite(value_loss, f"value loss (Eq. 8) at iteration {iteration}, epoch {epoch}")
                    critic_params = [q for q in self.baseline.module.parameters() if q.requires_grad]
                    self._step(self.critic_opt, value_loss, critic_params, "critic", iteration)  # line 13
                stats = losses.ppo_actor_stats(logp.detach(), old_logp, mask, p.clip_eps)
                log["policy_loss"].append(policy_loss.item())
                log["value_loss"].append(value_loss.item() if value_loss is not None else 0.0)
                log["clip_frac"].append(stats["clip_frac"])
                log["approx_kl"].append(stats["approx_kl"])
        return {key: float(np.mean(v)) for key, v in log.items()}

    def _step(self, opt, loss, params, what: str, iteration: int) -> None:
        """One AdamW step with gradient-norm clipping (Alg. 1 lines 12-13)."""
        opt.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        norm = self.accelerator.clip_grad_norm_(params, self.p.max_grad_norm)
        check_finite(norm, f"{what} gradient norm at iteration {iteration}")
        opt.step()

    def log_row(self, iteration: int, batch: Rollout, stats: dict, seconds: float) -> dict:
        """The iteration's line of ``metrics.jsonl`` (means over every process's rows; see docs/metrics.md)."""
        mask, acc = batch.response_mask, self.accelerator
        per_seq = lambda x: losses.masked_mean_per_seq(x, mask) if x.dim() == 2 else x  # noqa: E731
        total_reward = batch.rewards.sum(-1) if batch.rewards.dim() == 2 else batch.rewards
        row = {"iteration": iteration,
               "reward": _gather_mean(acc, batch.raw_scores),  # U(C, J)
               "kl": _gather_mean(acc, batch.kl),  # Eq. 3
               "total_reward": _gather_mean(acc, total_reward),  # Eq. 4
               "value": _gather_mean(acc, per_seq(batch.values)),
               **stats,
               "entropy": _gather_mean(acc, losses.masked_mean_per_seq(batch.entropy, mask)),
               "response_len": _gather_mean(acc, mask.sum(-1)),
               "finished_rate": _gather_mean(acc, batch.finished.float()),
               "skill_lines": _gather_mean(acc, torch.tensor([float(len(skill_lines(t))) for t in batch.texts],
                                                             device=acc.device)),
               "kl_coef": self.kl_coef}
        share = within_group_share(per_seq(batch.advantages), self.k)
        if share is not None:
            row["adv_within_cv_share"] = share
        if batch.oracle is not None:
            row["oracle_fit"] = _gather_mean(acc, torch.tensor(batch.oracle))
            agree, pairs = policy_pair_agreement(batch.raw_scores.tolist(), batch.oracle, self.k)
            row["rm_oracle_agree"], row["rm_oracle_pairs"] = (int(_gather_sum(acc, torch.tensor(float(v))))
                                                              for v in (agree, pairs))
        per_process = acc.gather(torch.tensor([float(len(batch))], device=acc.device)).long().tolist()
        row["rollouts"], row["rollouts_per_process"] = sum(per_process), per_process
        row["seconds"] = seconds
        return row


def policy_pair_agreement(scores: Sequence[float], fits: Sequence[float], group_size: int,
                          min_gap: float = POLICY_PAIR_MIN_GAP) -> tuple[int, int]:
    """(agreeing pairs, pairs): over every pair of JDs of one CV (groups of ``group_size`` rows) whose
    noiseless fits differ by at least ``min_gap``, how often U orders them as the hidden recruiter does
    (a tie in U counts as disagreement). This is what PPO climbs: differences between JDs of one CV."""
    agree = pairs = 0
    for g in range(0, len(scores) - group_size + 1, group_size):
        for i in range(g, g + group_size):
            for j in range(i + 1, g + group_size):
                if abs(fits[i] - fits[j]) >= min_gap:
                    pairs += 1
                    agree += int((scores[i] - scores[j]) * (fits[i] - fits[j]) > 0)
    return agree, pairs


# =========================================================================== 5. checkpoints
def _rng_state() -> dict:
    """Global RNG states as plain tensors/ints (loadable with ``torch.load(weights_only=True)``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _all_finite(module: torch.nn.Module | None) -> bool:
    return module is None or all(bool(torch.isfinite(q).all()) for q in module.parameters() if q.requires_grad)


CHECKPOINT_KEYS = ("use_lora", "baseline", "samples_per_cv")
"""Settings a checkpoint must share with the run that resumes it (the saved parts differ otherwise)."""


def save_checkpoint(ckpt_dir: Path, trainer: PPOTrainer, iteration: int) -> None:
    """Write ``ckpt_dir`` atomically (built under a temporary name, then renamed): actor adapter (or full
    actor) and the baseline's trainable part as safetensors, optimiser and RNG states with ``torch.save``
    (plain tensors, read back with ``weights_only=True``), and ``state.json``."""
    acc, p = trainer.accelerator, trainer.p
    acc.wait_for_everyone()
    if not acc.is_main_process:
        return
    actor = acc.unwrap_model(trainer.models.actor)
    baseline = trainer.baseline
    critic = acc.unwrap_model(baseline.module) if baseline.module is not None else None
    if not (_all_finite(actor) and _all_finite(critic)):
        raise NonFiniteError(f"weights became NaN/inf by iteration {iteration}; the checkpoint is not "
                             f"overwritten (the last good one is kept). Lower the learning rates.")
    with atomic_dir(ckpt_dir) as tmp:
        actor.save_pretrained(tmp / "actor")
        trainer.models.tokenizer.save_pretrained(tmp / "actor")
        if isinstance(baseline, TokenCriticBaseline):
            (tmp / "critic").mkdir()
            save_file(critic.state_dict(), str(tmp / "critic" / "value_head.safetensors"))
        elif isinstance(baseline, CriticBaseline):
            critic.save_pretrained(tmp / "critic")
            baseline.tokenizer.save_pretrained(tmp / "critic")
        opt = {"actor": trainer.actor_opt.state_dict()}
        if trainer.critic_opt is not None:
            opt["critic"] = trainer.critic_opt.state_dict()
        torch.save(opt, tmp / "optimizer.pt")
        torch.save(_rng_state(), tmp / "rng.pt")
        atomic_write_json(tmp / "state.json", {"iteration": iteration, "kl_coef": trainer.kl_coef,
                                               **{key: getattr(p, key) for key in CHECKPOINT_KEYS},
                                               **trainer.provenance})


# =========================================================================== 6. GIRL vs GIRL-SFT
def _mean(x) -> float | None:
    x = [v for v in x if v is not None]
    return float(np.mean(x)) if x else None


def paired_difference(before: Sequence[float], after: Sequence[float], n_boot: int = 2000,
                      seed: int = 0) -> dict:
    """``{"mean", "ci95": [lo, hi], "n"}`` of the paired differences ``after - before`` (one per CV): the
    mean and its 95% percentile-bootstrap interval over CVs (rows resampled with replacement)."""
    d = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    if len(d) == 0:
        return {"mean": None, "ci95": [None, None], "n": 0}
    ci = bootstrap_ci(d, np.mean, n=n_boot, seed=seed)
    return {"mean": float(d.mean()), "ci95": [ci["low"], ci["high"]], "n": int(len(d))}


def shown(diff: dict) -> int:
    """+1 when a :func:`paired_difference`'s 95% interval lies above 0, -1 below, 0 when it covers 0."""
    lo, hi = diff.get("ci95", [None, None])
    if lo is None:
        return 0
    return 1 if lo > 0 else -1 if hi < 0 else 0


def _sign_agreement(u_a, u_b, fit_a, fit_b) -> tuple[float | None, int]:
    """(share of pairs where ``u_b - u_a`` and ``fit_b - fit_a`` have the same sign, number of pairs it is
    taken over): only pairs whose fits differ count, a tie in ``u`` counts as disagreement; the share is
    ``None`` when no fits differ."""
    du, df = np.asarray(u_b, float) - np.asarray(u_a, float), np.asarray(fit_b, float) - np.asarray(fit_a, float)
    decided = df != 0
    share = float((np.sign(du) == np.sign(df))[decided].mean()) if decided.any() else None
    return share, int(decided.sum())


@torch.no_grad()
def sample_girl_and_sft(models: Models, actor_unwrapped, cvs: list[str], cfg, batch_size: int | None = None,
                        sampler: dict | None = None) -> tuple[dict, list[float], dict]:
    """One JD per CV from GIRL (the actor) and GIRL-SFT (the reference), same settings and the same random
    streams, and GIRL's KL to the reference on its own tokens (Eq. 3, the configured estimator and
    reduction). Returns ``(rows, kls, sampler)`` with ``rows[model][i] = (text, n_tokens, finished)``.

    ``sampler`` (keys ``max_new_tokens``, ``temperature``, ``top_p``, ``batch_size``, ``seed``) samples
    exactly as :func:`girl_lib.generate.generate_jds` does with those settings (length-sorted batches,
    one seeded stream per batch); the stage passes the generate stage's judge settings, so the judge later
    compares these very JDs. The KL is then between the policies at that temperature. Without it: PPO's
    own temperature / top-p and one stream, in batches of ``batch_size``."""
    p = cfg.ppo
    device = next(actor_unwrapped.parameters()).device
    if sampler is None:
        bs = batch_size or max(1, p.rollout_batch_size)
        batches = [list(range(s, min(s + bs, len(cvs)))) for s in range(0, len(cvs), bs)]
        seed = derive_seed(p.seed, 99_991)
        shared = {"girl": torch.Generator(device=device).manual_seed(seed),
                  "sft": torch.Generator(device=device).manual_seed(seed)}
        streams = lambda idx: (shared["girl"], shared["sft"])  # noqa: E731
        sampler = {"max_new_tokens": p.max_new_tokens, "temperature": p.temperature, "top_p": p.top_p}
    else:
        batches = length_batches(list(cvs), sampler["batch_size"])
        streams = lambda idx: (batch_generator(sampler["seed"], idx[0], device),  # noqa: E731
                               batch_generator(sampler["seed"], idx[0], device))
    n_new, temperature, top_p = sampler["max_new_tokens"], sampler["temperature"], sampler["top_p"]
    rows = {"girl": [None] * len(cvs), "sft": [None] * len(cvs)}
    kls = [0.0] * len(cvs)
    for idx in batches:
        chunk = [cvs[i] for i in idx]
        gen_girl, gen_sft = streams(idx)
        out = sample_batch(actor_unwrapped, models.tokenizer, chunk, n_new, temperature, top_p, gen_girl,
                           backend=cfg.generate.backend)
        ids, attn, P, mask = out["input_ids"], out["attention_mask"], out["prompt_len"], out["response_mask"]
        # log-probs in minibatches: [B, R, vocab] logits of a whole generation batch can be GBs
        parts = _group_slices(len(chunk), 1, p.minibatch_size)
        logp = torch.cat([losses.logprobs_of(actor_unwrapped, ids[q], attn[q], P, temperature) for q in parts])
        with reference_policy(models, actor_unwrapped) as ref:
            ref_logp = torch.cat([losses.logprobs_of(ref, ids[q], attn[q], P, temperature) for q in parts])
            sft_out = sample_batch(ref, models.tokenizer, chunk, n_new, temperature, top_p, gen_sft,
                                   backend=cfg.generate.backend)
        kl = losses.kl_penalty(logp, ref_logp, mask.float(), p.kl_estimator, p.kl_reduction).tolist()
        for j, i in enumerate(idx):
            kls[i] = kl[j]
            for key, o in (("girl", out), ("sft", sft_out)):
                rows[key][i] = (o["texts"][j], int(o["n_tokens"][j]), bool(o["finished"][j]))
    return rows, kls, sampler


@torch.no_grad()
def extra_samples(models: Models, actor_unwrapped, cvs: list[str], sampler: dict, k: int, seed: int,
                  batch_size: int = 8, backend: str = "fast") -> dict:
    """``k`` more JDs per CV from GIRL and from GIRL-SFT (same settings as ``sampler``; paired random streams,
    one prompt forward per CV): ``{"girl": [[(text, n_tokens, finished), ...] per CV], "sft": [...]}``."""
    out = {"girl": [], "sft": []}
    if k < 1:
        return {key: [[] for _ in cvs] for key in out}
    device = next(actor_unwrapped.parameters()).device
    for s in range(0, len(cvs), batch_size):
        chunk = cvs[s:s + batch_size]
        for key in out:
            gen = torch.Generator(device=device).manual_seed(derive_seed(seed, 7_777 + s))
            with (reference_policy(models, actor_unwrapped) if key == "sft" else contextlib.nullcontext(actor_unwrapped)) as m:
                o = sample_batch(m, models.tokenizer, chunk, sampler["max_new_tokens"], sampler["temperature"],
                                 sampler["top_p"], gen, repeats=k, backend=backend)
            rows = list(zip(o["texts"], o["n_tokens"].tolist(), o["finished"].tolist()))
            out[key] += [rows[j * k:(j + 1) * k] for j in range(len(chunk))]
    return out


def compare_with_sft(cvs: list[str], rows: dict, kls: list[float], score_fn: ScoreFn,
                     oracle_fn: OracleFn | None, cfg, extra: dict | None = None) -> dict:
    """The numbers of GIRL vs GIRL-SFT on the same CVs: mean RM reward ``U``, KL, oracle fit, lengths,
    finished rates; the paired differences GIRL - GIRL-SFT of ``U`` and of the oracle's fit with 95%
    bootstrap intervals over CVs (``reward_diff``, ``oracle_fit_diff``; per CV the mean over its JDs when
    ``extra`` (:func:`extra_samples`) adds more); how often ``U`` orders the first two JDs of a CV as the
    recruiter does (``rm_oracle_agreement``); and the reward-hacking flag: ``U`` shown to rise while the
    oracle's fit is shown to fall (each "shown" = its interval excludes 0)."""
    extra = extra or {key: [[] for _ in cvs] for key in rows}
    every = {key: [[rows[key][i]] + list(extra[key][i]) for i in range(len(cvs))] for key in rows}  # per CV
    flat_cvs = {key: [c for c, r in zip(cvs, every[key]) for _ in r] for key in rows}
    flat = {key: [x for r in every[key] for x in r] for key in rows}

    starts = {key: np.cumsum([0] + [len(r) for r in every[key]])[:-1].tolist() for key in rows}  # each CV's 1st

    def per_cv(values, key):  # flat values back to per-CV means
        return [float(np.mean(values[s:s + len(r)])) for s, r in zip(starts[key], every[key])]

    scores = {key: _as_tensor(score_fn(flat_cvs[key], [x[0] for x in flat[key]]), "cpu").tolist() if cvs else []
              for key in rows}
    oracle = ({key: [float(oracle_fn(c, x[0])) for c, x in zip(flat_cvs[key], flat[key])] for key in rows}
              if oracle_fn else None)
    cv_scores = {key: per_cv(scores[key], key) for key in rows}
    first = {key: [scores[key][s] for s in starts[key]] for key in rows}
    seed = cfg.ppo.seed
    res = {
        "n_eval": len(cvs), "eval_samples": len(every["girl"][0]) if cvs else 0,
        "reward_sft": _mean(scores["sft"]), "reward_girl": _mean(scores["girl"]),
        "kl_girl": _mean(kls), "kl_estimator": cfg.ppo.kl_estimator, "kl_reduction": cfg.ppo.kl_reduction,
        "oracle_fit_sft": _mean(oracle["sft"]) if oracle else None,
        "oracle_fit_girl": _mean(oracle["girl"]) if oracle else None,
        "response_len_sft": _mean([x[1] for x in flat["sft"]]), "response_len_girl": _mean([x[1] for x in flat["girl"]]),
        "finished_rate_sft": _mean([float(x[2]) for x in flat["sft"]]),
        "finished_rate_girl": _mean([float(x[2]) for x in flat["girl"]]),
        "reward_diff": paired_difference(cv_scores["sft"], cv_scores["girl"], seed=seed),
        "examples": [{"cv": c, "jd_sft": s[0], "jd_girl": g[0]} for c, s, g in zip(cvs[:3], rows["sft"], rows["girl"])],
    }
    res["reward_hacking_warning"] = False
    res["rm_oracle_agreement"], res["rm_oracle_n"] = None, 0
    if oracle:
        res["oracle_fit_diff"] = paired_difference(per_cv(oracle["sft"], "sft"), per_cv(oracle["girl"], "girl"),
                                                   seed=seed + 1)
        oracle_first = {key: [oracle[key][s] for s in starts[key]] for key in rows}
        # Does U rank the policy's two JDs of a CV as the recruiter does? Both are for the CV's occupation,
        # where U can be far less reliable than on held-out pairs, and PPO can only climb what U sees.
        res["rm_oracle_agreement"], res["rm_oracle_n"] = _sign_agreement(first["sft"], first["girl"],
                                                                         oracle_first["sft"], oracle_first["girl"])
        res["reward_hacking_warning"] = bool(shown(res["reward_diff"]) > 0 and shown(res["oracle_fit_diff"]) < 0)
        if hasattr(oracle_fn, "contributions"):
            res["oracle_fit_terms"] = fit_term_split(cvs, every, oracle_fn, seed + 2)
    res["_per_jd"] = {key: {"reward": scores[key], "oracle_fit": oracle[key] if oracle else None} for key in rows}
    return res


def fit_term_split(cvs: list[str], every: dict, recruiter, seed: int) -> dict:
    """Where GIRL - GIRL-SFT's oracle fit comes from: per term group (:data:`girl_lib.world.recruiter.TERM_GROUPS`)
    its Shapley contribution (``recruiter.contributions``), JD m of GIRL against JD m of GIRL-SFT for the same
    CV, averaged per CV, with a 95% bootstrap interval over CVs. The groups sum to ``oracle_fit_diff``'s mean."""
    per_cv: dict = {}
    for i, cv in enumerate(cvs):
        pairs = list(zip(every["sft"][i], every["girl"][i]))
        parts = [recruiter.contributions(cv, a[0], b[0]) for a, b in pairs]
        for group in parts[0] if parts else ():
            per_cv.setdefault(group, []).append(float(np.mean([x[group] for x in parts])))
    return {group: paired_difference([0.0] * len(v), v, seed=seed) for group, v in per_cv.items()}


def evaluate_against_sft(models: Models, actor_unwrapped, cvs: list[str], score_fn: ScoreFn,
                         oracle_fn: OracleFn | None, cfg, batch_size: int | None = None,
                         sampler: dict | None = None) -> dict:
    """:func:`sample_girl_and_sft` (and :func:`extra_samples` with ``ppo.eval_samples`` > 1) then
    :func:`compare_with_sft`; the first JD of each CV is returned under ``"generations"`` and the settings
    they were sampled with under ``"sampler"``."""
    rows, kls, sampler = sample_girl_and_sft(models, actor_unwrapped, cvs, cfg, batch_size, sampler)
    extra = extra_samples(models, actor_unwrapped, cvs, sampler, cfg.ppo.eval_samples - 1, cfg.ppo.seed,
                          backend=cfg.generate.backend)
    res = compare_with_sft(cvs, rows, kls, score_fn, oracle_fn, cfg, extra)
    res["sampler"] = sampler
    per_jd = res.pop("_per_jd")
    scored = {}  # each JD with its reward-model score and oracle fit, in compare_with_sft's order (per CV: 1st, extras)
    for key in rows:
        it = iter(range(len(per_jd[key]["reward"])))
        scored[key] = [[_scored_row(x, per_jd[key], next(it)) for x in [rows[key][i]] + list(extra[key][i])]
                       for i in range(len(cvs))]
    res["generations"] = {k: [r[0] for r in v] for k, v in scored.items()}
    res["extra_generations"] = {k: [r[1:] for r in v] for k, v in scored.items()}
    return res


def _scored_row(x: tuple, per_jd: dict, i: int) -> dict:
    """One generated JD as saved in ``eval_generations.json``: text, length, finished, U and the oracle's fit."""
    fit = per_jd["oracle_fit"][i] if per_jd["oracle_fit"] is not None else None
    return {"jd": x[0], "n_tokens": x[1], "finished": x[2], "reward": per_jd["reward"][i], "oracle_fit": fit}


@torch.no_grad()
def compare_baselines(cfg, run_dir, cvs: Sequence[str], k: int = 4, seed: int = 0, score_fn: ScoreFn | None = None,
                      oracle_fn: OracleFn | None = None) -> dict:
    """Eq. 5 against a group baseline *on the same samples*: k JDs per CV from GIRL-SFT (PPO's first
    rollout: the actor still equals the reference, so the KL is 0 and r = U), their advantages under the
    paper's critic (``U^c(C, _)``, the untrained copy of U that PPO starts from) and under RLOO.

    Returns per-row lists (``cv``, ``jd``, ``reward``, ``value``, ``adv_eq5``, ``adv_rloo``, ``oracle_fit``)
    and the summaries: ``within_share_eq5`` / ``within_share_rloo`` (:func:`within_group_share`: how much
    of each advantage tells one CV's JDs apart), ``value_vs_cv_mean_corr`` (does the critic's value track
    the CV's mean reward?) and ``rm_oracle`` (:func:`policy_pair_agreement` on these JDs)."""

    run_dir, p = Path(run_dir), cfg.ppo
    model, tok = load_generator(str(run_dir / "sft" / "model"), cfg)
    device = next(model.parameters()).device
    out = sample_batch(model, tok, list(cvs), p.max_new_tokens, p.temperature, p.top_p,
                       torch.Generator(device=device).manual_seed(seed), repeats=k, backend=cfg.generate.backend)
    rows = [c for c in cvs for _ in range(k)]
    reward = _as_tensor((score_fn or _default_score_fn(run_dir, cfg, device))(rows, out["texts"]), "cpu")
    critic, ctok = load_sequence_scorer(str(run_dir / "reward" / "model"), cfg)
    value = critic_values(critic.eval(), ctok, rows, cfg.reward.max_length).float().cpu()
    adv_eq5, adv_rloo = compute_advantages(reward, value), group_advantages(reward, k, "rloo")
    oracle_fn = oracle_fn or oracle_for(cfg)
    fits = [float(oracle_fn(c, j)) for c, j in zip(rows, out["texts"])]
    cv_mean, cv_value = reward.reshape(-1, k).mean(-1).numpy(), value.reshape(-1, k)[:, 0].numpy()
    corr = float(np.corrcoef(cv_mean, cv_value)[0, 1]) if len(cvs) > 2 and cv_value.std() > 0 else None
    agree, pairs = policy_pair_agreement(reward.tolist(), fits, k)
    return {"cv": rows, "jd": list(out["texts"]), "reward": reward.tolist(), "value": value.tolist(),
            "adv_eq5": adv_eq5.tolist(), "adv_rloo": adv_rloo.tolist(), "oracle_fit": fits, "k": k,
            "within_share_eq5": within_group_share(adv_eq5, k), "within_share_rloo": within_group_share(adv_rloo, k),
            "value_vs_cv_mean_corr": corr, "rm_oracle": {"agree": agree, "pairs": pairs}}


# =========================================================================== 7. the stage
def _default_score_fn(run_dir: Path, cfg, device) -> ScoreFn:
    """U(C, J) from the frozen reward model at ``run_dir/reward/model``, in chunks."""
    rm, rtok = load_sequence_scorer(str(run_dir / "reward" / "model"), cfg)
    rm = rm.to(device).eval().requires_grad_(False)

    def score(cvs, jds):
        chunks = [score_batch(rm, rtok, cvs[i:i + 16], jds[i:i + 16], cfg.reward.max_length)
                  for i in range(0, len(cvs), 16)]
        return torch.cat(chunks) if chunks else torch.zeros(0)

    return score


def _iteration_generators(seed: int, iteration: int, rank: int, device) -> tuple[torch.Generator, torch.Generator]:
    """(data generator, sampling generator) of one iteration: CV choice + minibatch shuffles (same on
    every process), and token sampling (one stream per process, on the model's device)."""
    base = derive_seed(seed, iteration * 7_919)
    data_gen = torch.Generator().manual_seed(base)
    sample_gen = torch.Generator(device=device).manual_seed(base + 104_729 * (rank + 1))
    return data_gen, sample_gen


def _tensorboard(log_dir: Path, enabled: bool):
    """A ``SummaryWriter`` when the ``tensorboard`` package is installed (else ``None``, silently)."""
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(log_dir))


def _gather_mean(accelerator, x: torch.Tensor) -> float:
    return float(accelerator.gather(x.detach().float().reshape(-1).to(accelerator.device)).mean())


def _gather_sum(accelerator, x: torch.Tensor) -> float:
    return float(accelerator.gather(x.detach().float().reshape(-1).to(accelerator.device)).sum())


def check_ppo_config(p) -> None:
    """Refuse settings PPO cannot run with, before any work (a message naming the field and the fix)."""
    if p.temperature <= 0:
        raise GirlError("ppo.temperature must be > 0: PPO needs sampled JDs and their probabilities")
    if p.kl_estimator not in losses.KL_ESTIMATORS:
        raise GirlError(f"ppo.kl_estimator={p.kl_estimator!r}; choose one of {', '.join(losses.KL_ESTIMATORS)}")
    if p.kl_reduction not in losses.KL_REDUCTIONS:
        raise GirlError(f"ppo.kl_reduction={p.kl_reduction!r}; choose one of {', '.join(losses.KL_REDUCTIONS)}")
    if p.baseline not in BASELINES:
        raise GirlError(f"ppo.baseline={p.baseline!r}; choose one of {', '.join(BASELINES)}")
    k = int(p.samples_per_cv)
    if k < 1 or (p.baseline in ("rloo", "grpo") and k < 2):
        raise GirlError(f"ppo.samples_per_cv={p.samples_per_cv}: must be >= 1, and >= 2 with ppo.baseline="
                        f"{p.baseline!r} (a group baseline compares the JDs of one CV)")
    if p.minibatch_size % k:
        raise GirlError(f"ppo.minibatch_size={p.minibatch_size} must be a multiple of ppo.samples_per_cv={k} "
                        f"(a minibatch holds whole groups of one CV's JDs)")


def _resume_state(ckpt_dir: Path, p, resume: bool, provenance: dict | None = None) -> dict | None:
    """The checkpoint's ``state.json`` when resuming (``None``: start afresh). Refuses, with a
    :class:`GirlError`, a checkpoint whose files are unreadable (truncated, corrupt) and one made under
    another config or from other sft/reward/data (``provenance``: this run's ``{"fingerprint", "config",
    "inputs"}``, see :func:`girl_lib.runio.build_fingerprint`)."""
    if not (resume and ckpt_dir.exists()):
        return None
    fix = f"delete `{ckpt_dir}` or run without `--resume` (PPO then starts afresh)"
    try:
        state = read_json(ckpt_dir / "state.json")
        int(state["iteration"])
        for name in ("optimizer.pt", "rng.pt"):
            torch.load(ckpt_dir / name, map_location="cpu", weights_only=True)
        for f in sorted(ckpt_dir.rglob("*.safetensors")):
            with safe_open(str(f), framework="pt") as st:
                for key in list(st.keys())[:1]:
                    st.get_tensor(key)
        for f in sorted(ckpt_dir.rglob("*.json")):
            read_json(f)
    except Exception as err:  # noqa: BLE001 - whatever a damaged file raises, the fix is the same
        raise GirlError(f"the PPO checkpoint in {ckpt_dir} is unreadable or incomplete ({type(err).__name__}: "
                        f"{str(err)[:200]}); {fix}") from None
    made = {key: state.get(key) for key in CHECKPOINT_KEYS}
    want = {key: getattr(p, key) for key in CHECKPOINT_KEYS}
    if made != want:
        raise GirlError(f"the checkpoint in {ckpt_dir} was made with {made}, this run asks for {want}; resume with "
                        f"the same settings or {fix}")
    if provenance and state.get("fingerprint") and state["fingerprint"] != provenance["fingerprint"]:
        what = describe_change(state.get("config") or {}, provenance["config"])
        other = [k for k, v in (state.get("inputs") or {}).items() if v != provenance["inputs"].get(k)]
        why = "; ".join(x for x in (what, f"other {', '.join(other)} than now" if other else "") if x)
        raise GirlError(f"the checkpoint in {ckpt_dir} was made under another config or from other inputs "
                        f"({why or 'fingerprint differs'}); {fix}")
    return state


def _reset_outputs(out_dir: Path, start_iter: int, fresh: bool) -> None:
    """A fresh run starts with no log, checkpoint or result; a resumed one drops log rows after its
    checkpoint (they are redone)."""
    metrics_path = out_dir / "metrics.jsonl"
    if fresh:
        for old in (metrics_path, out_dir / "metrics.json", out_dir / "eval_generations.json"):
            if old.exists():
                old.unlink()
        for old in (out_dir / "checkpoint", out_dir / "model"):
            if old.exists():
                shutil.rmtree(old)
    else:
        kept = [r for r in read_jsonl(metrics_path) if r["iteration"] <= start_iter]
        atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in kept))


def build_trainer(cfg, run_dir: Path, ckpt_dir: Path, state: dict | None, cvs: list, score_fn: ScoreFn | None,
                  oracle_fn: OracleFn | None, accelerator) -> PPOTrainer:
    """Sec. IV-C's models (actor from G, the baseline from U or fresh; G and U frozen), their optimisers
    (restored from the checkpoint when resuming) and the trainer around them."""
    p, device = cfg.ppo, accelerator.device
    set_seed(p.seed)
    actor, tok, ref = build_actor(run_dir / "sft" / "model", cfg, adapter_dir=(ckpt_dir / "actor") if state else None)
    baseline = make_baseline(cfg, run_dir, ckpt_dir, state is not None, actor.config.hidden_size)
    actor = actor.to(device)
    ref = ref.to(device) if ref is not None else None
    if score_fn is None:
        score_fn = _default_score_fn(run_dir, cfg, device)
    actor_opt = torch.optim.AdamW([q for q in actor.parameters() if q.requires_grad], lr=p.actor_lr)  # alpha_am
    critic_opt = None
    if baseline.module is not None:
        baseline.module = baseline.module.to(device)
        critic_opt = torch.optim.AdamW([q for q in baseline.module.parameters() if q.requires_grad],
                                       lr=p.critic_lr)  # alpha_cm
    if state:
        opt_state = torch.load(ckpt_dir / "optimizer.pt", map_location="cpu", weights_only=True)
        actor_opt.load_state_dict(opt_state["actor"])
        if critic_opt is not None:
            critic_opt.load_state_dict(opt_state["critic"])
        _set_rng_state(torch.load(ckpt_dir / "rng.pt", map_location="cpu", weights_only=True))
    if baseline.module is not None:
        actor, baseline.module, actor_opt, critic_opt = accelerator.prepare(actor, baseline.module, actor_opt,
                                                                            critic_opt)
    else:
        actor, actor_opt = accelerator.prepare(actor, actor_opt)
    models = Models(actor=actor, tokenizer=tok, ref=ref)
    return PPOTrainer(cfg, models, accelerator.unwrap_model(actor), baseline, score_fn, oracle_fn, accelerator,
                      actor_opt, critic_opt, state["kl_coef"] if state else p.kl_coef, cvs)


def ppo_data(cfg, run_dir: Path, cvs: Sequence[str] | None, eval_cvs: Sequence[str] | None):
    """Sec. IV-C's CVs: ``(rl_cvs, eval_cvs, eval_ids, sampler)``. RL trains on the ``rl`` split only (CVs
    not used in the first two steps); the final comparison uses the judge's CVs, sampled as the generate
    stage samples them (``eval_ids``/``sampler`` are set then, so it can reuse them). Injected ``cvs`` /
    ``eval_cvs`` (tests, notebooks) replace the splits."""
    p = cfg.ppo
    eval_ids, sampler = None, None
    if cvs is None or eval_cvs is None:
        require_stage(run_dir, "data", "ppo")
        ds = load_data(run_dir)
        cvs = list(ds["rl"]["cv"]) if cvs is None else cvs
        if eval_cvs is None:
            eval_cvs = list(ds["judge_eval"]["cv"])
            eval_ids = list(ds["judge_eval"]["seeker_id"])[:p.n_eval]
            sampler = judge_sampler(cfg.generate)
    cvs, eval_cvs = list(cvs), list(eval_cvs)[:p.n_eval]
    if not cvs:
        raise GirlError("the RL split has no CVs; rebuild the data with a larger data.scale")
    return cvs, eval_cvs, eval_ids, sampler


def make_accelerator(p) -> Accelerator:
    """One process per device; refuses batch sizes the processes cannot share."""
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    k_cv, world = max(1, int(p.samples_per_cv)), accelerator.num_processes
    if p.rollout_batch_size % world:
        raise GirlError(f"ppo.rollout_batch_size={p.rollout_batch_size} must be divisible by the number of "
                        f"processes ({world})")
    if world > 1 and (p.minibatch_size // k_cv) % world:
        raise GirlError(f"ppo.minibatch_size={p.minibatch_size} is the global minibatch ({p.minibatch_size // k_cv} "
                        f"CV(s) of {k_cv} JDs): with {world} processes it must hold a multiple of {world} CVs; set "
                        f"ppo.minibatch_size={k_cv * world} (or a multiple of it)")
    return accelerator


def train(trainer: PPOTrainer, start_iter: int, last: int, out_dir: Path, progress: bool) -> None:
    """Algorithm 1, line 1: ``for iteration = start_iter + 1 .. last``: one iteration (rollout -> score ->
    advantages -> update), the adaptive KL step, the log row (``metrics.jsonl``, TensorBoard) and a
    checkpoint every ``ppo.checkpoint_every`` iterations and at ``last``."""
    p, acc = trainer.p, trainer.accelerator
    bar = tqdm(total=p.iterations, initial=start_iter, desc="ppo", disable=not (progress and acc.is_main_process))
    tb = _tensorboard(out_dir / "tensorboard", acc.is_main_process)
    for iteration in range(start_iter + 1, last + 1):
        row = trainer.iteration(iteration)  # rollout -> score -> advantages -> update
        if p.adaptive_kl:  # beyond the paper
            trainer.kl_coef = update_kl_coef(trainer.kl_coef, row["kl"], p.target_kl, p.rollout_batch_size,
                                             p.kl_horizon)
        if acc.is_main_process:  # log
            append_jsonl(out_dir / "metrics.jsonl", [row])
            for key, value in (row.items() if tb is not None else ()):
                if key != "iteration":
                    tb.add_scalar(f"ppo/{key}", value, iteration)
        bar.update(1)
        bar.set_postfix(reward=f"{row['reward']:.3f}", kl=f"{row['kl']:.4f}")
        if iteration % p.checkpoint_every == 0 or iteration == last:  # checkpoint
            save_checkpoint(out_dir / "checkpoint", trainer, iteration)
    bar.close()
    if tb is not None:
        tb.close()


def final_metrics(trainer: PPOTrainer, eval_cvs: list, oracle_fn: OracleFn, sampler: dict | None,
                  seconds: float, out_dir: Path) -> tuple[dict, dict]:
    """GIRL vs GIRL-SFT on the eval CVs (:func:`evaluate_against_sft`) plus the training log's summary:
    ``(metrics, generations)``, where ``generations`` holds the eval JDs (``extra``: further samples)."""
    metrics = evaluate_against_sft(trainer.models, trainer.actor_unwrapped, eval_cvs, trainer.score_fn,
                                   oracle_fn, trainer.cfg, sampler=sampler)
    generations = {**metrics.pop("generations"), "extra": metrics.pop("extra_generations")}
    history = read_jsonl(out_dir / "metrics.jsonl")
    metrics.update(training_summary(history, trainer.p, trainer.kl_coef, seconds))
    metrics["note"] = ppo_note(metrics)
    metrics["num_processes"] = trainer.accelerator.num_processes
    # JDs each process sampled per iteration (together rollout_batch_size * samples_per_cv)
    metrics["rows_per_process"] = history[-1].get("rollouts_per_process") if history else None
    return metrics, generations


def run_ppo(cfg, run_dir, resume: bool = False, *, cvs: Sequence[str] | None = None,
            eval_cvs: Sequence[str] | None = None, score_fn: ScoreFn | None = None,
            oracle_fn: OracleFn | None = None, stop_after: int | None = None, out_dir=None,
            save_model: bool = True, progress: bool = True) -> dict:
    """Algorithm 1 end to end; the function behind ``girl ppo``.

    Reads ``run_dir/sft/model`` (actor and reference), ``run_dir/reward/model`` (U and the critic's
    initial weights) and the ``rl`` / ``judge_eval`` CVs of ``girl_lib.data.load_data(run_dir)``. Writes
    ``out_dir`` (default ``run_dir/ppo``) as described in the module docstring and returns its
    ``metrics.json`` content.

    For tests and notebooks: ``cvs`` / ``eval_cvs`` replace the data splits, ``score_fn(cvs, jds)`` the
    reward model, ``oracle_fn(cv, jd)`` the hidden recruiter; ``stop_after=k`` checkpoints and returns
    after iteration ``k`` (as if the run had been killed); ``save_model=False`` skips ``model/``.
    ``resume=True`` continues from ``out_dir/checkpoint`` (a fresh start when there is none).
    """
    t_start = time.time()
    run_dir, p = Path(run_dir), cfg.ppo
    is_stage = out_dir is None
    out_dir = Path(out_dir) if out_dir is not None else run_dir / "ppo"
    check_ppo_config(p)
    require_stage(run_dir, "sft", "ppo")
    require_stage(run_dir, "reward", "ppo")
    if is_stage and dist.is_main_process():
        clear_done(run_dir, "ppo")
    cvs, eval_cvs, eval_ids, sampler = ppo_data(cfg, run_dir, cvs, eval_cvs)
    oracle_fn = oracle_fn or oracle_for(cfg)
    accelerator = make_accelerator(p)

    # ---- the models, fresh or from the checkpoint (which must come from this config and these inputs)
    fp, fp_config, fp_inputs = build_fingerprint(cfg, run_dir, "ppo")
    provenance = {"fingerprint": fp, "config": fp_config, "inputs": fp_inputs}
    state = _resume_state(out_dir / "checkpoint", p, resume, provenance)
    start_iter = state["iteration"] if state else 0
    if accelerator.is_main_process:
        _reset_outputs(out_dir, start_iter, fresh=state is None)
    trainer = build_trainer(cfg, run_dir, out_dir / "checkpoint", state, cvs, score_fn, oracle_fn, accelerator)
    trainer.provenance = provenance

    # ---- Algorithm 1
    last = p.iterations if stop_after is None else min(p.iterations, stop_after)
    train(trainer, start_iter, last, out_dir, progress)
    if last < p.iterations:  # stopped early on purpose (stop_after): the checkpoint is the result
        return {"stopped_at": last, "iterations": p.iterations, "checkpoint": str(out_dir / "checkpoint")}

    # ---- the end: GIRL vs GIRL-SFT, the merged model, DONE
    metrics = {}
    if accelerator.is_main_process:
        metrics, generations = final_metrics(trainer, eval_cvs, oracle_fn, sampler, time.time() - t_start, out_dir)
        if is_stage and eval_ids is not None:  # the generate stage copies these instead of sampling again
            atomic_write_json(out_dir / "eval_generations.json",
                              {"sampler": sampler, "cv_ids": eval_ids, **generations})
        final = None
        if save_model:
            final = trainer.actor_unwrapped.merge_and_unload() if p.use_lora else trainer.actor_unwrapped
        summary = {"reward_girl": metrics["reward_girl"], "reward_sft": metrics["reward_sft"]}
        save_stage(run_dir, "ppo", metrics, summary, cfg, model=final, tokenizer=trainer.models.tokenizer,
                   out_dir=out_dir, mark=is_stage)
    accelerator.wait_for_everyone()
    return metrics


def training_summary(history: list[dict], p, kl_coef_final: float, seconds: float) -> dict:
    """What the training log adds to ``metrics.json``: settings, first/last rewards, and the reward model's
    agreement with the recruiter on the policy's own JDs (``rm_policy_agreement``: pairs of one CV's JDs,
    pooled over every iteration; ``rm_sft_agreement``: the first iteration only, where the policy still is
    GIRL-SFT)."""
    out = {"iterations": p.iterations, "kl_coef": p.kl_coef, "kl_coef_final": kl_coef_final, "seconds": seconds,
           "baseline": p.baseline, "samples_per_cv": p.samples_per_cv,
           "jds_trained_on": p.iterations * p.rollout_batch_size * p.samples_per_cv,
           "train_reward_first": history[0]["reward"] if history else None,
           "train_reward_last": history[-1]["reward"] if history else None,
           "train_kl_last": history[-1]["kl"] if history else None}
    rows = [r for r in history if r.get("rm_oracle_pairs")]
    pairs = sum(r["rm_oracle_pairs"] for r in rows)
    out["rm_policy_agreement"] = {"value": sum(r["rm_oracle_agree"] for r in rows) / pairs if pairs else None,
                                  "n": pairs}
    first = history[0] if history and history[0].get("rm_oracle_pairs") else None
    out["rm_sft_agreement"] = ({"value": first["rm_oracle_agree"] / first["rm_oracle_pairs"],
                                "n": first["rm_oracle_pairs"]} if first else {"value": None, "n": 0})
    return out


def reward_kl_tradeoff(cfg, run_dir, kl_coefs: Sequence[float] = (0.0, 0.05, 0.2, 1.0), out_root=None,
                       **inject) -> list[dict]:
    """Run PPO once per KL coefficient ``lambda`` (Eq. 4) and return one row per run: the final RM reward
    and KL to the reference of GIRL on the eval CVs, with the paired reward difference's 95% interval
    (the reward-KL trade-off the notebook plots with error bars).

    Each run writes ``out_root/kl_<lambda>/`` (default ``run_dir/ppo_tradeoff``) and saves no merged
    model. ``inject`` is passed to :func:`run_ppo` (``cvs``, ``eval_cvs``, ``score_fn``, ``oracle_fn``,
    ``progress``).
    """
    out_root = Path(out_root) if out_root is not None else Path(run_dir) / "ppo_tradeoff"
    rows = []
    for coef in kl_coefs:
        c = copy.deepcopy(cfg)
        c.ppo.kl_coef = float(coef)
        m = run_ppo(c, run_dir, out_dir=out_root / f"kl_{coef:g}", save_model=False, **inject)
        rows.append({"kl_coef": float(coef), **{k: m.get(k) for k in (
            "reward_girl", "reward_sft", "kl_girl", "oracle_fit_girl", "oracle_fit_sft", "train_reward_last",
            "train_kl_last", "reward_hacking_warning", "reward_diff", "oracle_fit_diff")}})
    return rows
