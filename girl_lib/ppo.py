"""Step 3: reinforcement learning from recruiter feedback with PPO (paper Sec. IV-C, Algorithm 1).

Read it top to bottom next to the paper, in the spirit of CleanRL's single-file ``ppo.py``:

1. the small formulas of Sec. IV-C (Eq. 4, 5) and the options *beyond the paper* (whitening, GAE,
   adaptive KL), each a few lines;
2. the models: actor ``G^a`` (SFT weights + a fresh LoRA adapter), the frozen reference ``G`` (the same
   model with its adapter switched off), the frozen reward model ``U`` and the critic ``U^c`` (a trainable
   copy of ``U`` that sees the CV only: ``U^c(C, _)``);
3. :func:`collect_rollout`: Alg. 1 lines 2-4 (sample CVs, generate JDs, score them, Eq. 3, 4, 5);
4. :func:`ppo_update`: Alg. 1 lines 6-14 (epochs over shuffled minibatches, Eq. 6-7 and Eq. 8);
5. checkpoints, the final comparison with GIRL-SFT, and :func:`run_ppo`, the stage function behind
   ``girl ppo --profile P --run-dir DIR [--resume]``.

The loss functions themselves live in :mod:`girl_lib.losses` (pure tensor code, unit-tested against
hand-computed values).

Outputs, under ``<run_dir>/ppo/``::

    metrics.jsonl   one row per iteration (reward, KL, losses, clip fraction, ...)
    tensorboard/    the same rows as TensorBoard scalars, only when ``tensorboard`` is installed
    checkpoint/     the last checkpoint (actor adapter, critic, optimisers, RNG states, iteration)
    model/          GIRL: the final actor merged into full weights + tokenizer (load like sft/model)
    metrics.json    GIRL vs GIRL-SFT on judge_eval CVs: RM reward, KL, oracle fit, reward-hacking guard
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
import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import losses
from .runio import (GirlError, NonFiniteError, append_jsonl, atomic_dir, atomic_write_json, atomic_write_text,
                    check_finite, clear_done, mark_done, read_json, read_jsonl, require_stage, set_seed)

ScoreFn = Callable[[list, list], "torch.Tensor | Sequence[float]"]
"""``score_fn(cvs, jds) -> [B]``: the reward U(C, J) of each pair (default: the trained reward model)."""
OracleFn = Callable[[str, str], float]
"""``oracle_fn(cv, jd) -> float``: the hidden recruiter's fit (default: :func:`girl_lib.data.oracle_fit`)."""


# =========================================================================== 1. Eq. 4, Eq. 5 and options
def compute_rewards(scores: torch.Tensor, kl: torch.Tensor, kl_coef: float) -> torch.Tensor:
    """Eq. 4: ``r_i = U(C_i, J_i) - lambda * KL(C_i, J_i)``, one reward per generated JD ([B])."""
    return scores - kl_coef * kl


def compute_advantages(rewards: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Eq. 5: ``a_i = r_i - U^c(C_i, _)``: how much better this JD did than the critic expected for the CV.

    Raw, as in the paper; :func:`whiten` is a separate option (``ppo.whiten_advantages``).
    """
    return rewards - values


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


# =========================================================================== 2. the models
def disable_dropout(model: torch.nn.Module) -> None:
    """Set every dropout probability to 0 (the PPO ratio must be 1 before the first update)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0


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


def critic_values(critic, tokenizer, cvs: list[str], max_length: int, grad: bool = False) -> torch.Tensor:
    """``U^c(C, _)`` of Eq. 5: the critic scores the CV paired with an *empty* JD ([B]).

    The input format is exactly the reward model's (CV, JD) sentence pair, so the critic starts from
    ``U``'s weights and sees familiar inputs.
    """
    from .reward import score_batch

    return score_batch(critic, tokenizer, list(cvs), [""] * len(cvs), max_length, grad=grad)


@dataclass
class Models:
    """Everything Algorithm 1 touches. ``ref`` is ``None`` with LoRA (the reference is then ``actor`` with
    its adapter disabled: one copy of the weights in memory)."""

    actor: torch.nn.Module
    tokenizer: object
    ref: torch.nn.Module | None
    critic: torch.nn.Module
    critic_tokenizer: object | None


def build_actor(sft_dir: Path, cfg, adapter_dir: Path | None = None):
    """The actor ``G^a``: SFT weights + a fresh LoRA adapter (or the one saved in ``adapter_dir``), or a
    full trainable copy of the SFT model when ``ppo.use_lora`` is off. Returns ``(actor, tokenizer, ref)``."""
    from .models import load_generator

    p = cfg.ppo
    if not p.use_lora:
        actor, tok = load_generator(str(adapter_dir or sft_dir), cfg, for_training=True)
        ref, _ = load_generator(str(sft_dir), cfg, for_training=True)
        ref.eval().requires_grad_(False)
        disable_dropout(ref)
        disable_dropout(actor)
        return actor, tok, ref
    from peft import LoraConfig, PeftModel, get_peft_model

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


# =========================================================================== 3. rollout: Alg. 1 lines 2-4
@dataclass
class Rollout:
    """One batch of experience ``D`` (Alg. 1 lines 2-4). Token tensors are [B, R], the rest [B]
    (advantages/returns/values are [B, R] with GAE)."""

    cvs: list
    texts: list
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    prompt_len: int
    response_mask: torch.Tensor
    finished: torch.Tensor
    old_logp: torch.Tensor
    ref_logp: torch.Tensor
    entropy: torch.Tensor
    raw_scores: torch.Tensor  # U(C, J)
    scores: torch.Tensor  # U(C, J) minus the missing-EOS penalty, if any (what enters Eq. 4)
    kl: torch.Tensor
    rewards: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor

    def __len__(self) -> int:
        return len(self.cvs)


def _as_tensor(scores, device) -> torch.Tensor:
    return torch.as_tensor(scores, dtype=torch.float32).detach().to(device).reshape(-1)


@torch.no_grad()
def collect_rollout(models: Models, actor_unwrapped, value_head, cvs: list[str], score_fn: ScoreFn, cfg,
                    kl_coef: float, generator: torch.Generator, iteration: int = 0) -> Rollout:
    """Alg. 1 lines 2-4 for the given CVs: generate, score, and compute Eq. 3, 4 and 5."""
    from .generate import sample_batch

    p = cfg.ppo
    device = next(actor_unwrapped.parameters()).device
    # Line 3, Sec. IV-C1: J^r = {G^a(C) | C in C^r}, sampled with temperature / top-p.
    out = sample_batch(actor_unwrapped, models.tokenizer, cvs, p.max_new_tokens, p.temperature, p.top_p,
                       generator)
    ids, attn, P, mask = out["input_ids"], out["attention_mask"], out["prompt_len"], out["response_mask"]
    mask = mask.to(torch.float32)
    finished = out["finished"].to(device)

    # log pi_old (the actor that sampled), its entropy and (GAE) the token values; then log pi_ref of the
    # frozen SFT model G. In chunks of B_r rows: [B, R, vocab] logits of a whole rollout can be GBs.
    old_logp, entropy, values_tok, ref_logp = [], [], [], []
    for s in range(0, len(cvs), max(1, p.minibatch_size)):
        rows = slice(s, s + max(1, p.minibatch_size))
        logits, hidden = losses.response_logits(actor_unwrapped, ids[rows], attn[rows], P, p.temperature,
                                                output_hidden_states=p.use_gae)
        old_logp.append(losses.gather_logprobs(logits, ids[rows, P:]))
        entropy.append(losses.entropy_from_logits(logits))
        if p.use_gae:
            values_tok.append(value_head(hidden))
        del logits, hidden
        with reference_policy(models, actor_unwrapped) as ref:
            ref_logp.append(losses.logprobs_of(ref, ids[rows], attn[rows], P, p.temperature))
    old_logp, entropy, ref_logp = torch.cat(old_logp), torch.cat(entropy), torch.cat(ref_logp)

    # U(C, J) from the frozen reward model (or an injected scorer).
    raw_scores = _as_tensor(score_fn(list(cvs), list(out["texts"])), device)
    check_finite(raw_scores, f"reward-model score U(C, J) at iteration {iteration}")
    scores = raw_scores
    if p.missing_eos_penalty is not None:  # beyond the paper: a JD cut off at max_new_tokens is penalised
        scores = raw_scores - p.missing_eos_penalty * (~finished).float()

    kl = losses.kl_penalty(old_logp, ref_logp, mask, p.kl_estimator)  # Eq. 3
    check_finite(kl, f"KL (Eq. 3) at iteration {iteration}")
    if p.use_gae:  # beyond the paper: token-level rewards, per-token values, GAE
        kl_tokens = losses.kl_per_token(old_logp, ref_logp, p.kl_estimator)
        rewards = token_level_rewards(scores, kl_tokens, mask, kl_coef)
        values = torch.cat(values_tok) * mask
        advantages, returns = compute_gae(rewards, values, mask, p.gamma, p.lam)
        if p.whiten_advantages:
            advantages = whiten(advantages, mask)
    else:  # the paper: one reward, one value, one advantage per JD
        rewards = compute_rewards(scores, kl, kl_coef)  # Eq. 4
        values = critic_values(models.critic, models.critic_tokenizer, cvs, cfg.reward.max_length)  # U^c(C,_)
        advantages = compute_advantages(rewards, values)  # Eq. 5
        returns = rewards  # Eq. 8's target for U^c(C, _)
        if p.whiten_advantages:
            advantages = whiten(advantages)
    check_finite(values, f"critic value U^c(C, _) at iteration {iteration}")
    check_finite(rewards, f"reward r (Eq. 4) at iteration {iteration}")
    return Rollout(cvs=list(cvs), texts=list(out["texts"]), input_ids=ids, attention_mask=attn, prompt_len=P,
                   response_mask=mask, finished=finished, old_logp=old_logp, ref_logp=ref_logp,
                   entropy=entropy, raw_scores=raw_scores, scores=scores, kl=kl, rewards=rewards, values=values,
                   advantages=advantages, returns=returns)


# =========================================================================== 4. update: Alg. 1 lines 6-14
def ppo_update(models: Models, value_head, rollout: Rollout, actor_opt, critic_opt, accelerator, cfg,
               generator: torch.Generator, iteration: int = 0) -> dict:
    """Alg. 1 lines 6-14: ``epochs`` passes over shuffled minibatches; per minibatch one AdamW step on
    the actor (Eq. 6-7, lr ``alpha_am``) and one on the critic (Eq. 8, lr ``alpha_cm``). Returns means of
    the logged quantities."""
    p = cfg.ppo
    n = len(rollout)
    P = rollout.prompt_len
    actor_params = [q for q in models.actor.parameters() if q.requires_grad]
    critic_module = value_head if p.use_gae else models.critic
    critic_params = [q for q in critic_module.parameters() if q.requires_grad]
    log = {"policy_loss": [], "value_loss": [], "clip_frac": [], "approx_kl": []}
    for epoch in range(p.epochs):  # line 6
        order = torch.randperm(n, generator=generator)  # line 7: shuffle D
        for start in range(0, n, p.minibatch_size):  # lines 8-9: minibatches of size B_r
            idx = order[start:start + p.minibatch_size].to(rollout.input_ids.device)
            ids, attn, mask = rollout.input_ids[idx], rollout.attention_mask[idx], rollout.response_mask[idx]
            old_logp, adv, ret = rollout.old_logp[idx], rollout.advantages[idx], rollout.returns[idx]

            # Line 10, Eq. 6-7: the clipped surrogate, rho = pi_theta / pi_old per JD token.
            logits, hidden = losses.response_logits(models.actor, ids, attn, P, p.temperature,
                                                    output_hidden_states=p.use_gae)
            logp = losses.gather_logprobs(logits, ids[:, P:])
            del logits
            policy_loss = losses.ppo_actor_loss(logp, old_logp, adv, mask, p.clip_eps)
            check_finite(policy_loss, f"policy loss (Eq. 6) at iteration {iteration}, epoch {epoch}")

            # Line 11, Eq. 8: (r_i - U^c(C_i, _))^2 (per token with GAE).
            if p.use_gae:
                values = value_head(hidden)
                value_loss = losses.critic_loss(values, ret, mask)
            else:
                cvs = [rollout.cvs[i] for i in idx.tolist()]
                values = critic_values(models.critic, models.critic_tokenizer, cvs, cfg.reward.max_length,
                                       grad=True)
                value_loss = losses.critic_loss(values, ret)
            check_finite(value_loss, f"value loss (Eq. 8) at iteration {iteration}, epoch {epoch}")

            # Line 12: theta <- theta - alpha_am grad L_am (AdamW, with grad-norm clipping).
            actor_opt.zero_grad(set_to_none=True)
            accelerator.backward(policy_loss)
            norm = accelerator.clip_grad_norm_(actor_params, p.max_grad_norm)
            check_finite(norm, f"actor gradient norm at iteration {iteration}")
            actor_opt.step()
            # Line 13: phi <- phi - alpha_cm grad L_cm.
            critic_opt.zero_grad(set_to_none=True)
            accelerator.backward(value_loss)
            norm = accelerator.clip_grad_norm_(critic_params, p.max_grad_norm)
            check_finite(norm, f"critic gradient norm at iteration {iteration}")
            critic_opt.step()

            stats = losses.ppo_actor_stats(logp.detach(), old_logp, mask, p.clip_eps)
            log["policy_loss"].append(policy_loss.item())
            log["value_loss"].append(value_loss.item())
            log["clip_frac"].append(stats["clip_frac"])
            log["approx_kl"].append(stats["approx_kl"])
    return {k: float(np.mean(v)) for k, v in log.items()}


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


def _all_finite(module: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(q).all()) for q in module.parameters() if q.requires_grad)


def save_checkpoint(ckpt_dir: Path, models: Models, value_head, actor_opt, critic_opt, accelerator,
                    iteration: int, kl_coef: float, cfg) -> None:
    """Write ``ckpt_dir`` atomically (built under a temporary name, then renamed): actor adapter (or full
    actor) and critic as safetensors via ``save_pretrained``, optimiser and RNG states with
    ``torch.save`` (plain tensors, read back with ``weights_only=True``), and ``state.json``."""
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    actor = accelerator.unwrap_model(models.actor)
    critic = accelerator.unwrap_model(value_head if cfg.ppo.use_gae else models.critic)
    if not (_all_finite(actor) and _all_finite(critic)):
        raise NonFiniteError(f"weights became NaN/inf by iteration {iteration}; the checkpoint is not "
                             f"overwritten (the last good one is kept). Lower the learning rates.")
    with atomic_dir(ckpt_dir) as tmp:
        actor.save_pretrained(tmp / "actor")
        models.tokenizer.save_pretrained(tmp / "actor")
        if cfg.ppo.use_gae:
            from safetensors.torch import save_file

            (tmp / "critic").mkdir()
            save_file(critic.state_dict(), str(tmp / "critic" / "value_head.safetensors"))
        else:
            critic.save_pretrained(tmp / "critic")
            models.critic_tokenizer.save_pretrained(tmp / "critic")
        torch.save({"actor": actor_opt.state_dict(), "critic": critic_opt.state_dict()}, tmp / "optimizer.pt")
        torch.save(_rng_state(), tmp / "rng.pt")
        atomic_write_json(tmp / "state.json", {"iteration": iteration, "kl_coef": kl_coef,
                                               "use_lora": cfg.ppo.use_lora, "use_gae": cfg.ppo.use_gae})


# =========================================================================== 6. GIRL vs GIRL-SFT
def _mean(x) -> float | None:
    x = [v for v in x if v is not None]
    return float(np.mean(x)) if x else None


@torch.no_grad()
def evaluate_against_sft(models: Models, actor_unwrapped, cvs: list[str], score_fn: ScoreFn,
                         oracle_fn: OracleFn | None, cfg, batch_size: int | None = None,
                         sampler: dict | None = None) -> dict:
    """One JD per CV from GIRL (the actor) and GIRL-SFT (the reference), same sampling settings and the
    same random streams; their mean RM reward ``U``, GIRL's KL to the reference (Eq. 3, the configured
    estimator, on the sampled tokens) and the hidden recruiter's fit. Flags reward hacking: ``U`` up while
    the oracle fit fell.

    ``sampler`` (keys ``max_new_tokens``, ``temperature``, ``top_p``, ``batch_size``, ``seed``) samples
    exactly as :func:`girl_lib.generate.generate_jds` does with those settings (length-sorted batches,
    one seeded stream per batch); the stage passes the generate stage's judge settings, so the judge later
    compares these very JDs. The KL is then between the policies at that temperature. Without it: PPO's
    own temperature / top-p and one stream, in batches of ``batch_size``."""
    from .generate import batch_generator, length_batches, sample_batch

    p = cfg.ppo
    device = next(actor_unwrapped.parameters()).device
    if sampler is None:
        bs = batch_size or max(1, p.rollout_batch_size)
        batches = [list(range(s, min(s + bs, len(cvs)))) for s in range(0, len(cvs), bs)]
        seed = p.seed * 1_000_003 + 99_991
        shared = {"girl": torch.Generator(device=device).manual_seed(seed),
                  "sft": torch.Generator(device=device).manual_seed(seed)}
        streams = lambda idx: (shared["girl"], shared["sft"])  # noqa: E731
        n_new, temperature, top_p = p.max_new_tokens, p.temperature, p.top_p
    else:
        batches = length_batches(list(cvs), sampler["batch_size"])
        streams = lambda idx: (batch_generator(sampler["seed"], idx[0], device),  # noqa: E731
                               batch_generator(sampler["seed"], idx[0], device))
        n_new, temperature, top_p = sampler["max_new_tokens"], sampler["temperature"], sampler["top_p"]
    rows = {"girl": [None] * len(cvs), "sft": [None] * len(cvs)}  # per CV: (text, n_tokens, finished)
    kls = [0.0] * len(cvs)
    for idx in batches:
        chunk = [cvs[i] for i in idx]
        gen_girl, gen_sft = streams(idx)
        out = sample_batch(actor_unwrapped, models.tokenizer, chunk, n_new, temperature, top_p, gen_girl)
        ids, attn, P, mask = out["input_ids"], out["attention_mask"], out["prompt_len"], out["response_mask"]
        # log-probs in minibatches: [B, R, vocab] logits of a whole generation batch can be GBs
        parts = [slice(s, s + max(1, p.minibatch_size)) for s in range(0, len(chunk), max(1, p.minibatch_size))]
        logp = torch.cat([losses.logprobs_of(actor_unwrapped, ids[q], attn[q], P, temperature) for q in parts])
        with reference_policy(models, actor_unwrapped) as ref:
            ref_logp = torch.cat([losses.logprobs_of(ref, ids[q], attn[q], P, temperature) for q in parts])
            sft_out = sample_batch(ref, models.tokenizer, chunk, n_new, temperature, top_p, gen_sft)
        kl = losses.kl_penalty(logp, ref_logp, mask.float(), p.kl_estimator).tolist()
        for j, i in enumerate(idx):
            kls[i] = kl[j]
            for key, o in (("girl", out), ("sft", sft_out)):
                rows[key][i] = (o["texts"][j], int(o["n_tokens"][j]), bool(o["finished"][j]))
    jds = {k: [r[0] for r in v] for k, v in rows.items()}
    lengths = {k: [r[1] for r in v] for k, v in rows.items()}
    done = {k: [float(r[2]) for r in v] for k, v in rows.items()}
    scores = {k: _as_tensor(score_fn(list(cvs), v), "cpu").tolist() if cvs else [] for k, v in jds.items()}
    oracle = {k: ([float(oracle_fn(c, j)) for c, j in zip(cvs, v)] if oracle_fn else [None]) for k, v in jds.items()}
    res = {
        "n_eval": len(cvs),
        "reward_sft": _mean(scores["sft"]), "reward_girl": _mean(scores["girl"]),
        "kl_girl": _mean(kls), "kl_estimator": p.kl_estimator,
        "oracle_fit_sft": _mean(oracle["sft"]), "oracle_fit_girl": _mean(oracle["girl"]),
        "response_len_sft": _mean(lengths["sft"]), "response_len_girl": _mean(lengths["girl"]),
        "finished_rate_sft": _mean(done["sft"]), "finished_rate_girl": _mean(done["girl"]),
        "examples": [{"cv": c, "jd_sft": s, "jd_girl": g} for c, s, g in zip(cvs[:3], jds["sft"], jds["girl"])],
        "sampler": sampler or {"max_new_tokens": n_new, "temperature": temperature, "top_p": top_p},
        "generations": {k: [{"jd": t, "n_tokens": n, "finished": f} for t, n, f in v] for k, v in rows.items()},
    }
    # Does U rank the policy's own samples as the recruiter does? Per CV, the sign of U(GIRL) - U(SFT)
    # against the sign of the oracle's difference (CVs where the oracle sees no difference are left out).
    # Held-out preference pairs mostly pit a matched JD against another occupation's; these two JDs are
    # both for the CV's occupation, where U can be far less reliable, and PPO can only climb what U sees.
    res["rm_oracle_agreement"], res["rm_oracle_n"] = (
        _sign_agreement(scores["sft"], scores["girl"], oracle["sft"], oracle["girl"]) if oracle_fn else (None, 0))
    # A change counts only when the paired per-CV difference exceeds one standard error (no noise flags).
    up = _clear_change(scores["sft"], scores["girl"]) > 0
    if res["oracle_fit_girl"] is None:
        res["reward_hacking_warning"] = False
        res["note"] = "No oracle recruiter available: the reward-hacking guard could not run."
    else:
        oracle_change = _clear_change(oracle["sft"], oracle["girl"])  # -1 fell, 0 within noise, +1 rose
        fell = oracle_change < 0
        res["reward_hacking_warning"] = bool(up and fell)
        if up and fell:
            res["note"] = (f"Reward hacking suspected: the reward model's score rose "
                           f"({res['reward_sft']:.3f} -> {res['reward_girl']:.3f}) while the hidden recruiter's "
                           f"fit fell ({res['oracle_fit_sft']:.3f} -> {res['oracle_fit_girl']:.3f}); GIRL "
                           f"exploits U rather than matching better. Raise ppo.kl_coef or train U longer.")
        elif up and oracle_change > 0:
            res["note"] = ("The reward model's score and the hidden recruiter's fit both rose clearly: no "
                           "sign of reward hacking.")
        elif up:
            mean, se = _paired_difference(oracle["sft"], oracle["girl"])
            res["note"] = (f"The reward model's score rose clearly; the hidden recruiter's fit moved by "
                           f"{mean:+.3f} (standard error {se:.3f}), within one standard error, so no clear "
                           f"sign of reward hacking, nor of a better match.")
        else:
            mean, se = _paired_difference(scores["sft"], scores["girl"])
            res["note"] = (f"The reward model's score did not clearly rise over GIRL-SFT: the mean paired "
                           f"difference is {mean:+.3f} with a standard error of {se:.3f} over "
                           f"{len(scores['sft'])} CVs (a clear change must exceed one standard error).")
    return res


# =========================================================================== 7. the stage
def _paired_difference(before, after) -> tuple[float, float]:
    """Mean of the paired differences ``after - before`` and its standard error (0 for one pair)."""
    d = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


def _sign_agreement(u_a, u_b, fit_a, fit_b) -> tuple[float | None, int]:
    """(share of pairs where ``u_b - u_a`` and ``fit_b - fit_a`` have the same sign, number of pairs it is
    taken over): only pairs whose fits differ count, a tie in ``u`` counts as disagreement; the share is
    ``None`` when no fits differ."""
    du, df = np.asarray(u_b, float) - np.asarray(u_a, float), np.asarray(fit_b, float) - np.asarray(fit_a, float)
    decided = df != 0
    share = float((np.sign(du) == np.sign(df))[decided].mean()) if decided.any() else None
    return share, int(decided.sum())


def _clear_change(before, after) -> int:
    """+1 / -1 when the mean paired difference ``after - before`` is beyond one standard error, else 0."""
    if not before or not after or len(before) != len(after):
        return 0
    mean, se = _paired_difference(before, after)
    return int(np.sign(mean)) if abs(mean) > se else 0


def _default_score_fn(run_dir: Path, cfg, device) -> ScoreFn:
    """U(C, J) from the frozen reward model at ``run_dir/reward/model``, in chunks."""
    from .models import load_sequence_scorer
    from .reward import score_batch

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
    base = seed * 1_000_003 + iteration * 7_919
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
    return float(accelerator.gather(x.detach().float().reshape(-1)).mean())


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
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    from .models import load_sequence_scorer

    t_start = time.time()
    run_dir = Path(run_dir)
    p = cfg.ppo
    is_stage = out_dir is None
    out_dir = Path(out_dir) if out_dir is not None else run_dir / "ppo"
    ckpt_dir, metrics_path = out_dir / "checkpoint", out_dir / "metrics.jsonl"
    if p.temperature <= 0:
        raise GirlError("ppo.temperature must be > 0: PPO needs sampled JDs and their probabilities")
    if p.kl_estimator not in losses.KL_ESTIMATORS:
        raise GirlError(f"ppo.kl_estimator={p.kl_estimator!r}; choose one of {', '.join(losses.KL_ESTIMATORS)}")
    require_stage(run_dir, "sft", "ppo")
    require_stage(run_dir, "reward", "ppo")
    if is_stage:
        clear_done(run_dir, "ppo")

    # ---- data: RL CVs only (Sec. IV-C: CVs not used in the first two steps), judge_eval for the end.
    eval_ids, sampler = None, None
    if cvs is None or eval_cvs is None:
        from .data import load_data
        from .generate import judge_sampler

        require_stage(run_dir, "data", "ppo")
        ds = load_data(run_dir)
        cvs = list(ds["rl"]["cv"]) if cvs is None else cvs
        if eval_cvs is None:  # the judge's CVs, sampled as the generate stage samples them (it reuses them)
            eval_cvs = list(ds["judge_eval"]["cv"])
            eval_ids = list(ds["judge_eval"]["seeker_id"])[:p.n_eval]
            sampler = judge_sampler(cfg.generate)
    cvs, eval_cvs = list(cvs), list(eval_cvs)[:p.n_eval]
    if not cvs:
        raise GirlError("the RL split has no CVs; rebuild the data with a larger data.scale")
    if oracle_fn is None:
        try:
            from .data import oracle_fit as oracle_fn
        except ImportError:
            oracle_fn = None

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    device = accelerator.device
    world, rank = accelerator.num_processes, accelerator.process_index
    if p.rollout_batch_size % world:
        raise GirlError(f"ppo.rollout_batch_size={p.rollout_batch_size} must be divisible by the number of "
                        f"processes ({world})")

    # ---- resume point
    state = None
    if resume and (ckpt_dir / "state.json").exists():
        state = read_json(ckpt_dir / "state.json")
        if state.get("use_lora") != p.use_lora or state.get("use_gae") != p.use_gae:
            raise GirlError(f"the checkpoint in {ckpt_dir} was made with use_lora={state.get('use_lora')}, "
                            f"use_gae={state.get('use_gae')}; resume with the same settings or drop --resume")
    start_iter = state["iteration"] if state else 0
    kl_coef = state["kl_coef"] if state else p.kl_coef
    if state is None and accelerator.is_main_process:  # a fresh run: no stale log, checkpoint or result
        for old in (metrics_path, out_dir / "metrics.json", out_dir / "eval_generations.json"):
            if old.exists():
                old.unlink()
        for old in (ckpt_dir, out_dir / "model"):
            if old.exists():
                shutil.rmtree(old)
    elif accelerator.is_main_process:  # drop rows logged after the checkpoint (they are redone)
        kept = [r for r in read_jsonl(metrics_path) if r["iteration"] <= start_iter]
        atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    # ---- models (Sec. IV-C: actor from G, critic from U; G and U frozen)
    set_seed(p.seed)
    actor, tok, ref = build_actor(run_dir / "sft" / "model", cfg,
                                  adapter_dir=(ckpt_dir / "actor") if state else None)
    hidden_size = actor.config.hidden_size if hasattr(actor, "config") else None
    value_head, critic, critic_tok = None, None, None
    if p.use_gae:
        value_head = TokenValueHead(hidden_size)
        if state:
            from safetensors.torch import load_file

            value_head.load_state_dict(load_file(str(ckpt_dir / "critic" / "value_head.safetensors")))
        critic_module = value_head
    else:
        critic, critic_tok = load_sequence_scorer(str(ckpt_dir / "critic" if state else run_dir / "reward" / "model"),
                                                  cfg)
        disable_dropout(critic)
        critic_module = critic
    actor, critic_module = actor.to(device), critic_module.to(device)
    if ref is not None:
        ref = ref.to(device)
    if score_fn is None:
        score_fn = _default_score_fn(run_dir, cfg, device)

    actor_opt = torch.optim.AdamW([q for q in actor.parameters() if q.requires_grad], lr=p.actor_lr)  # alpha_am
    critic_opt = torch.optim.AdamW([q for q in critic_module.parameters() if q.requires_grad], lr=p.critic_lr)
    if state:
        opt_state = torch.load(ckpt_dir / "optimizer.pt", map_location="cpu", weights_only=True)
        actor_opt.load_state_dict(opt_state["actor"])
        critic_opt.load_state_dict(opt_state["critic"])
        _set_rng_state(torch.load(ckpt_dir / "rng.pt", map_location="cpu", weights_only=True))
    actor, critic_module, actor_opt, critic_opt = accelerator.prepare(actor, critic_module, actor_opt, critic_opt)
    if p.use_gae:
        value_head = critic_module
    else:
        critic = critic_module
    models = Models(actor=actor, tokenizer=tok, ref=ref, critic=critic, critic_tokenizer=critic_tok)
    actor_unwrapped = accelerator.unwrap_model(actor)
    head_unwrapped = accelerator.unwrap_model(value_head) if p.use_gae else None

    # ---- Algorithm 1, line 1: for iteration = 1, 2, ...
    last = p.iterations if stop_after is None else min(p.iterations, stop_after)
    bar = tqdm(total=p.iterations, initial=start_iter, desc="ppo",
               disable=not (progress and accelerator.is_main_process))
    tb = _tensorboard(out_dir / "tensorboard", accelerator.is_main_process)
    for iteration in range(start_iter + 1, last + 1):
        t0 = time.time()
        data_gen, sample_gen = _iteration_generators(p.seed, iteration, rank, device)
        # Line 2: sample C^r from the RL CVs (without replacement; each process takes its share).
        pick = torch.randperm(len(cvs), generator=data_gen)[:p.rollout_batch_size]
        if len(pick) < p.rollout_batch_size:  # fewer CVs than the batch: draw again (with repeats)
            extra = torch.randint(len(cvs), (p.rollout_batch_size - len(pick),), generator=data_gen)
            pick = torch.cat([pick, extra])
        batch_cvs = [cvs[i] for i in pick[rank::world].tolist()]
        # Lines 3-4: generate, score, Eq. 3-5.
        rollout = collect_rollout(models, actor_unwrapped, head_unwrapped, batch_cvs, score_fn, cfg, kl_coef,
                                  sample_gen, iteration)
        # Lines 5-15: PPO epochs over minibatches.
        stats = ppo_update(models, value_head, rollout, actor_opt, critic_opt, accelerator, cfg, data_gen,
                           iteration)

        mask = rollout.response_mask
        total_reward = rollout.rewards.sum(-1) if rollout.rewards.dim() == 2 else rollout.rewards
        row = {"iteration": iteration,
               "reward": _gather_mean(accelerator, rollout.raw_scores),  # U(C, J)
               "kl": _gather_mean(accelerator, rollout.kl),  # Eq. 3
               "total_reward": _gather_mean(accelerator, total_reward),  # Eq. 4
               "value": _gather_mean(accelerator, losses.masked_mean_per_seq(rollout.values, mask)
                                     if rollout.values.dim() == 2 else rollout.values),
               **stats,
               "entropy": _gather_mean(accelerator, losses.masked_mean_per_seq(rollout.entropy, mask)),
               "response_len": _gather_mean(accelerator, mask.sum(-1)),
               "finished_rate": _gather_mean(accelerator, rollout.finished.float()),
               "kl_coef": kl_coef,
               "seconds": time.time() - t0}
        if p.adaptive_kl:  # beyond the paper
            kl_coef = update_kl_coef(kl_coef, row["kl"], p.target_kl, p.rollout_batch_size, p.kl_horizon)
        if accelerator.is_main_process:
            append_jsonl(metrics_path, [row])
            if tb is not None:
                for key, value in row.items():
                    if key != "iteration":
                        tb.add_scalar(f"ppo/{key}", value, iteration)
        bar.update(1)
        bar.set_postfix(reward=f"{row['reward']:.3f}", kl=f"{row['kl']:.4f}")
        if iteration % p.checkpoint_every == 0 or iteration == last:
            save_checkpoint(ckpt_dir, models, value_head, actor_opt, critic_opt, accelerator, iteration, kl_coef, cfg)
    bar.close()
    if tb is not None:
        tb.close()

    if last < p.iterations:  # stopped early on purpose (stop_after): the checkpoint is the result
        return {"stopped_at": last, "iterations": p.iterations, "checkpoint": str(ckpt_dir)}

    # ---- the end: GIRL vs GIRL-SFT, the merged model, DONE
    metrics = {}
    if accelerator.is_main_process:
        metrics = evaluate_against_sft(models, actor_unwrapped, eval_cvs, score_fn, oracle_fn, cfg,
                                       sampler=sampler)
        generations = metrics.pop("generations")
        if is_stage and eval_ids is not None:  # the generate stage copies these instead of sampling again
            atomic_write_json(out_dir / "eval_generations.json",
                              {"sampler": sampler, "cv_ids": eval_ids, **generations})
        history = read_jsonl(metrics_path)
        metrics.update({"iterations": p.iterations, "kl_coef": p.kl_coef, "kl_coef_final": kl_coef,
                        "seconds": time.time() - t_start,
                        "train_reward_first": history[0]["reward"] if history else None,
                        "train_reward_last": history[-1]["reward"] if history else None,
                        "train_kl_last": history[-1]["kl"] if history else None})
        if save_model:
            final = actor_unwrapped.merge_and_unload() if p.use_lora else actor_unwrapped
            with atomic_dir(out_dir / "model") as tmp:
                final.save_pretrained(tmp)
                tok.save_pretrained(tmp)
        atomic_write_json(out_dir / "metrics.json", metrics)
        if is_stage:
            mark_done(run_dir, "ppo", {"reward_girl": metrics["reward_girl"], "reward_sft": metrics["reward_sft"]})
    accelerator.wait_for_everyone()
    return metrics


def reward_kl_tradeoff(cfg, run_dir, kl_coefs: Sequence[float] = (0.0, 0.05, 0.2, 1.0), out_root=None,
                       **inject) -> list[dict]:
    """Run PPO once per KL coefficient ``lambda`` (Eq. 4) and return one row per run: the final RM reward
    and KL to the reference of GIRL on the eval CVs (the reward-KL trade-off the notebook plots).

    Each run writes ``out_root/kl_<lambda>/`` (default ``run_dir/ppo_tradeoff``) and saves no merged
    model. ``inject`` is passed to :func:`run_ppo` (``cvs``, ``eval_cvs``, ``score_fn``, ``oracle_fn``,
    ``progress``).
    """
    import copy

    out_root = Path(out_root) if out_root is not None else Path(run_dir) / "ppo_tradeoff"
    rows = []
    for coef in kl_coefs:
        c = copy.deepcopy(cfg)
        c.ppo.kl_coef = float(coef)
        m = run_ppo(c, run_dir, out_dir=out_root / f"kl_{coef:g}", save_model=False, **inject)
        rows.append({"kl_coef": float(coef), **{k: m.get(k) for k in (
            "reward_girl", "reward_sft", "kl_girl", "oracle_fit_girl", "oracle_fit_sft", "train_reward_last",
            "train_kl_last", "reward_hacking_warning")}})
    return rows
