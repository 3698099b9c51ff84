"""PPO from scratch on the tiny models, with a toy reward that varies (notebook 03, "One PPO iteration").

Algorithm 1's loop body in plain PyTorch, small enough to run ~20 iterations in seconds on a CPU, so a
student can *watch* PPO work: the reward rises and the KL to the frozen reference grows from 0.

Why a toy reward: the tiny profile's reward model is a random BERT, which gives every JD nearly the same
score, so every advantage is ~0 and PPO has nothing to learn. :func:`toy_reward` instead pays for the
share of the JD's tokens that also occur in its CV (a crude "use the seeker's own words"): it varies from
sample to sample, so the RLOO advantages carry signal.

One iteration (:func:`iteration`):

1. rollout: ``k`` JDs per CV from the actor (``sampling.sample_batch``, KV cache, seeded);
2. reward (Eq. 4): ``toy_reward - lambda * KL``, the KL summed over the JD's tokens (k1, as on ``cpu``);
3. advantage: RLOO within each CV;
4. ``epochs`` clipped updates (Eq. 6-7) on the whole batch; at the first one the ratio
   ``pi_theta / pi_old`` is exactly 1 (asserted: the actor has not moved since it sampled).

The actor starts as an exact copy of the reference (the SFT model), so the KL is 0 at the first
iteration and grows as the actor learns.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass

import torch

from . import losses
from .sampling import Sampling, sample_batch
from .ppo import compute_rewards, disable_dropout, group_advantages


@dataclass
class ToyPPOConfig:
    iterations: int = 20
    k: int = 8                 # JDs per CV (the RLOO group)
    new_tokens: int = 16       # JD length cap (tokens)
    temperature: float = 1.0
    kl_coef: float = 0.05      # lambda of Eq. 4 (KL summed over the JD)
    clip_eps: float = 0.2
    lr: float = 5e-3           # AdamW on a 2-layer, width-64 model: ratios stay within ~[0.7, 1.4]
    epochs: int = 2            # updates per batch (Alg. 1 line 6)
    seed: int = 0


def toy_reward(response: torch.Tensor, response_mask: torch.Tensor, prompt_ids: torch.Tensor,
               prompt_mask: torch.Tensor | None = None) -> torch.Tensor:
    """[B]: the share of each JD's tokens (``response`` [B, R], 1 in ``response_mask`` on the JD's tokens)
    that also occur in its prompt (``prompt_ids`` [B, P], the CV inside the prompt template; positions
    where ``prompt_mask`` is 0, left padding, are not part of it). 0 for an empty JD."""
    if prompt_mask is None:
        prompt_mask = torch.ones_like(prompt_ids)
    out = []
    for resp, keep, prompt, pkeep in zip(response, response_mask.bool(), prompt_ids, prompt_mask.bool()):
        toks = resp[keep]
        seen = torch.isin(toks, prompt[pkeep])
        out.append(seen.float().mean() if toks.numel() else torch.tensor(0.0))
    return torch.stack(out)


def make_models(seed: int = 0):
    """(actor, frozen reference, tokenizer): the tiny random Llama twice, dropout off, the reference a copy."""
    from .config import get_profile  # local, both: the models module loads transformers
    from .models import load_generator

    torch.manual_seed(seed)
    actor, tok = load_generator("tiny", get_profile("tiny"))
    disable_dropout(actor)            # rho must be exactly 1 before the first update
    actor.train()
    reference = copy.deepcopy(actor).eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    return actor, reference, tok


def iteration(actor, reference, opt, tok, cvs: list[str], cfg: ToyPPOConfig, gen: torch.Generator) -> dict:
    """One PPO iteration on ``cvs`` (``cfg.k`` JDs each); returns what it measured (before the update)."""
    batch = sample_batch(actor, tok, cvs, Sampling(cfg.new_tokens, cfg.temperature), gen, repeats=cfg.k)
    ids, attn, p = batch["input_ids"], batch["attention_mask"], batch["prompt_len"]
    mask = batch["response_mask"].float()

    def logprobs(model):   # [B, R]; each CV's prompt runs once for its k JDs (left padding handled)
        logits, _ = losses.grouped_response_logits(model, ids, attn, p, cfg.k, cfg.temperature)
        return losses.gather_logprobs(logits, ids[:, p:])

    with torch.no_grad():
        old_logp = logprobs(actor)          # pi_old: the actor that sampled
        ref_logp = logprobs(reference)      # the frozen reference G
    score = toy_reward(ids[:, p:], mask, ids[:, :p], attn[:, :p])
    kl = losses.kl_penalty(old_logp, ref_logp, mask, "k1", "sum")      # KL to the reference, per JD
    reward = compute_rewards(score, kl, cfg.kl_coef)                    # Eq. 4
    adv = group_advantages(reward, cfg.k, "rloo")                       # RLOO
    ratios = []
    for epoch in range(cfg.epochs):
        new_logp = logprobs(actor)
        ratio = torch.exp(new_logp - old_logp)[mask.bool()].detach()
        if epoch == 0:
            assert torch.allclose(ratio, torch.ones_like(ratio), atol=1e-4), \
                f"rho must be 1 at the first epoch, got [{ratio.min():.5f}, {ratio.max():.5f}]"
        ratios.append(ratio)
        loss = losses.ppo_actor_loss(new_logp, old_logp, adv, mask, cfg.clip_eps)   # Eq. 6-7
        opt.zero_grad()
        loss.backward()
        opt.step()
    last = ratios[-1]
    return {"toy_reward": float(score.mean()), "kl": float(kl.mean()), "reward": float(reward.mean()),
            "adv_std": float(adv.std()), "jd_tokens": float(mask.sum(1).mean()),
            "ratio_min": float(last.min()), "ratio_max": float(last.max()),
            "clip_frac": float(((last - 1).abs() > cfg.clip_eps).float().mean())}


def train(cvs: list[str], cfg: ToyPPOConfig | None = None, models=None, progress: bool = False) -> list[dict]:
    """``cfg.iterations`` PPO iterations from a fresh tiny actor (a copy of the reference) on ``cvs``; one
    row per iteration: ``toy_reward``, ``kl`` (mean per JD, summed over tokens), ``reward`` (Eq. 4),
    ``adv_std``, ``jd_tokens``, the last epoch's ratio range and clipped share, and ``seconds``."""
    cfg = cfg or ToyPPOConfig()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # width-64 matrices: one thread is as fast, and never fights other work
    try:
        actor, reference, tok = models or make_models(cfg.seed)
        opt = torch.optim.AdamW(actor.parameters(), lr=cfg.lr)
        gen = torch.Generator().manual_seed(cfg.seed)
        rows, t0 = [], time.perf_counter()
        for it in range(1, cfg.iterations + 1):
            row = {"iteration": it, **iteration(actor, reference, opt, tok, list(cvs), cfg, gen),
                   "seconds": round(time.perf_counter() - t0, 2)}
            rows.append(row)
            if progress:
                print(f"iteration {it:2d}: toy reward {row['toy_reward']:.3f}, KL {row['kl']:.3f}, "
                      f"ratio [{row['ratio_min']:.3f}, {row['ratio_max']:.3f}]", flush=True)
    finally:
        torch.set_num_threads(threads)
    return rows


def config_dict(cfg: ToyPPOConfig) -> dict:
    return asdict(cfg)
