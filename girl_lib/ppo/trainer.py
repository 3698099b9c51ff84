"""Algorithm 1's loop body: :class:`PPOTrainer`, one method per step, each returning what it made.

``iteration`` reads top to bottom: sample CVs -> :class:`Rollout` (JDs, log-probs) -> :class:`Scored`
(``U(C, J)`` and penalties) -> :class:`Advantages` (Eq. 3 KL, Eq. 4 reward, Eq. 5 advantage) -> update
(Eq. 6-8) -> log row -> adaptive KL. Nothing is filled in later: each step's output is frozen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .. import losses
from ..prompts import layout_shortfall, requirement_count_gap, skill_lines
from ..runio import check_finite, derive_seed
from ..sampling import Sampling, sample_batch
from .advantages import update_kl_coef, within_group_share
from .baselines import Baseline
from .policy import Models, reference_policy

ScoreFn = Callable[[list, list], "torch.Tensor | Sequence[float]"]
"""``score_fn(cvs, jds) -> [B]``: the reward U(C, J) of each pair (default: the trained reward model)."""
OracleFn = Callable[[str, str], float]
"""``oracle_fn(cv, jd) -> float``: the hidden recruiter's fit (default: :func:`girl_lib.data.oracle_for` of the profile)."""
POLICY_PAIR_MIN_GAP = 0.05
"""Pairs of one CV's JDs whose noiseless fits differ by less than this are too close to call."""


@dataclass(frozen=True)
class Feedback:
    """What judges a JD: ``score_fn``, the reward ``U(C, J)`` PPO trains on, and ``oracle_fn``, the hidden
    recruiter's fit, logged beside it and never trained on (``None``: not logged)."""

    score_fn: ScoreFn
    oracle_fn: OracleFn | None = None


@dataclass
class Optimizers:
    """AdamW of the actor (lr ``alpha_am``) and of the baseline's trainable part (lr ``alpha_cm``; ``None``
    when the baseline learns nothing)."""

    actor: torch.optim.Optimizer
    critic: torch.optim.Optimizer | None


@dataclass(frozen=True)
class Start:
    """Where training starts: iteration 0 with ``ppo.kl_coef``, or a checkpoint's iteration and lambda; and
    the provenance every checkpoint records (``{"fingerprint", "config", "inputs"}``, empty for none)."""

    iteration: int
    kl_coef: float
    provenance: dict


@dataclass(frozen=True)
class Rollout:
    """One batch of experience ``D`` (Alg. 1 lines 2-3): ``group_size`` consecutive rows per CV; token
    tensors [B, R], the rest [B]."""

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
    hidden: torch.Tensor | None  # the actor's last hidden states (only when the baseline reads them)

    def __len__(self) -> int:
        return len(self.cvs)


@dataclass(frozen=True)
class Scored:
    """``raw_scores``: U(C, J) [B]; ``scores``: U minus the configured penalties (what enters Eq. 4);
    ``oracle``: the hidden recruiter's fit of each JD (diagnostics only; ``None`` without an oracle)."""

    raw_scores: torch.Tensor
    scores: torch.Tensor
    oracle: list | None


@dataclass(frozen=True)
class Advantages:
    """Alg. 1 line 4: ``kl`` (Eq. 3, [B]), ``rewards`` (Eq. 4), ``values`` (the baseline), ``advantages``
    (Eq. 5, whitened if configured) and ``returns`` (the critic's targets); [B, R] with a token-level baseline."""

    kl: torch.Tensor
    rewards: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor


def rollout_sampling(cfg) -> Sampling:
    """How PPO samples its rollouts: ``ppo.max_new_tokens``, ``ppo.temperature``, ``ppo.top_p`` (the
    exploration settings; Eq. 3's log-probs are taken at that temperature), decoded by ``generate.backend``."""
    p = cfg.ppo
    return Sampling(p.max_new_tokens, p.temperature, p.top_p, cfg.generate.backend)


def _as_tensor(scores, device) -> torch.Tensor:
    return torch.as_tensor(scores, dtype=torch.float32).detach().to(device).reshape(-1)


def _group_slices(n_rows: int, group_size: int, rows_per_chunk: int) -> list[slice]:
    """Consecutive slices of whole groups, about ``rows_per_chunk`` rows each (memory bound for logits)."""
    step = max(group_size, (max(1, rows_per_chunk) // group_size) * group_size)
    return [slice(s, min(s + step, n_rows)) for s in range(0, n_rows, step)]


def _iteration_generators(seed: int, iteration: int, rank: int, device) -> tuple[torch.Generator, torch.Generator]:
    """(data generator, sampling generator) of one iteration: CV choice + minibatch shuffles (same on
    every process), and token sampling (one stream per process, on the model's device)."""
    base = derive_seed(seed, iteration * 7_919)
    data_gen = torch.Generator().manual_seed(base)
    sample_gen = torch.Generator(device=device).manual_seed(base + 104_729 * (rank + 1))
    return data_gen, sample_gen


def _gather_mean(accelerator, x: torch.Tensor) -> float:
    return float(accelerator.gather(x.detach().float().reshape(-1).to(accelerator.device)).mean())


def _gather_sum(accelerator, x: torch.Tensor) -> float:
    return float(accelerator.gather(x.detach().float().reshape(-1).to(accelerator.device)).sum())


class PPOTrainer:
    """Algorithm 1's loop body, :meth:`iteration`, one method per step; everything it needs is built by
    :func:`girl_lib.ppo.stage.build_trainer`. ``kl_coef`` is lambda of Eq. 4 (it moves with
    ``ppo.adaptive_kl``, here, after each iteration)."""

    def __init__(self, cfg, models: Models, baseline: Baseline, optimizers: Optimizers, accelerator,
                 feedback: Feedback, cvs: list, start: Start):
        self.cfg, self.p, self.models, self.baseline = cfg, cfg.ppo, models, baseline
        self.actor_unwrapped = accelerator.unwrap_model(models.actor)
        self.score_fn, self.oracle_fn = feedback.score_fn, feedback.oracle_fn
        self.accelerator, self.actor_opt, self.critic_opt = accelerator, optimizers.actor, optimizers.critic
        self.kl_coef, self.provenance, self.cvs = start.kl_coef, start.provenance, cvs
        self.k = max(1, int(self.p.samples_per_cv))
        self.device = accelerator.device

    # ------------------------------------------------------------------ one iteration of Algorithm 1
    def iteration(self, iteration: int) -> dict:
        """Alg. 1 lines 2-14 once, then the adaptive KL step; returns the iteration's log row."""
        t0 = time.time()
        data_gen, sample_gen = _iteration_generators(self.p.seed, iteration, self.accelerator.process_index,
                                                     self.device)
        cvs = self.sample_cvs(data_gen)                            # line 2: C^r, this process's share
        batch = self.rollout(cvs, sample_gen)                      # line 3: J ~ G^a(C), k per CV; log pi_old, pi_ref
        scored = self.score(batch, iteration)                      # U(C, J) (and the oracle's fit, for the log)
        adv = self.compute_advantages(batch, scored, iteration)    # line 4: Eq. 3 (KL), Eq. 4 (r), Eq. 5 (a)
        stats = self.update(batch, adv, data_gen, iteration)       # lines 6-14: Eq. 6-7 (actor), Eq. 8 (critic)
        row = self.log_row(iteration, batch, scored, adv, stats, time.time() - t0)
        if self.p.adaptive_kl:  # beyond the paper: lambda for the next iteration
            self.kl_coef = update_kl_coef(self.kl_coef, row["kl"], self.p.target_kl, self.p.rollout_batch_size,
                                          self.p.kl_horizon)
        return row

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
        p, k, want_hidden = self.p, self.k, self.baseline.needs_hidden
        out = sample_batch(self.actor_unwrapped, self.models.tokenizer, cvs, rollout_sampling(self.cfg), generator,
                           repeats=k)
        ids, attn, P = out["input_ids"], out["attention_mask"], out["prompt_len"]
        old_logp, entropy, hidden, ref_logp = [], [], [], []
        for rows in _group_slices(len(ids), k, p.minibatch_size):
            logits, h = losses.grouped_response_logits(self.actor_unwrapped, ids[rows], attn[rows], P, k,
                                                       p.temperature, output_hidden_states=want_hidden)
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
                       hidden=torch.cat(hidden) if want_hidden else None)

    def score(self, batch: Rollout, iteration: int) -> Scored:
        """``U(C, J)`` from the frozen reward model (or an injected scorer), minus the configured penalties;
        the oracle's fit is recorded beside it for the log (how the hidden recruiter sees the same JDs),
        never used for training."""
        raw = _as_tensor(self.score_fn(list(batch.cvs), list(batch.texts)), self.device)
        check_finite(raw, f"reward-model score U(C, J) at iteration {iteration}")
        scores = raw
        if self.p.missing_eos_penalty is not None:  # beyond the paper: a JD cut at max_new_tokens pays
            scores = scores - self.p.missing_eos_penalty * (~batch.finished).float()
        if self.p.layout_penalty is not None:  # beyond the paper: a JD that leaves parts of a posting out pays
            shortfall = torch.tensor([layout_shortfall(t) for t in batch.texts], device=self.device)
            scores = scores - self.p.layout_penalty * shortfall
        if self.p.requirements_penalty is not None:  # beyond the paper: a real posting names 3-5 requirements
            gap = torch.tensor([requirement_count_gap(t) for t in batch.texts], device=self.device)
            scores = scores - self.p.requirements_penalty * gap
        oracle = ([float(self.oracle_fn(c, j)) for c, j in zip(batch.cvs, batch.texts)]
                  if self.oracle_fn is not None else None)
        return Scored(raw_scores=raw, scores=scores, oracle=oracle)

    def compute_advantages(self, batch: Rollout, scored: Scored, iteration: int) -> Advantages:
        """Alg. 1 line 4: Eq. 3 (KL to the reference), Eq. 4 (reward) and Eq. 5 (advantage), each by the
        configured baseline, optionally whitened."""
        p, mask = self.p, batch.response_mask
        kl = losses.kl_penalty(batch.old_logp, batch.ref_logp, mask, p.kl_estimator, p.kl_reduction)  # Eq. 3
        check_finite(kl, f"KL (Eq. 3) at iteration {iteration}")
        rewards = self.baseline.rewards(scored.scores, kl, batch, self.kl_coef, p.kl_estimator)  # Eq. 4
        values = self.baseline.values(batch.cvs, batch.hidden, mask, rewards)
        advantages, returns = self.baseline.advantages(rewards, values, mask, self.k)  # Eq. 5
        if p.whiten_advantages:
            advantages = self.baseline.whiten(advantages, mask)
        check_finite(values, f"baseline value at iteration {iteration}")
        check_finite(rewards, f"reward r (Eq. 4) at iteration {iteration}")
        return Advantages(kl=kl, rewards=rewards, values=values, advantages=advantages, returns=returns)

    def update(self, batch: Rollout, adv: Advantages, generator: torch.Generator, iteration: int) -> dict:
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
                policy_loss = losses.ppo_actor_loss(logp, old_logp, adv.advantages[idx], mask, p.clip_eps)
                check_finite(policy_loss, f"policy loss (Eq. 6) at iteration {iteration}, epoch {epoch}")
                self._step(self.actor_opt, policy_loss, actor_params, "actor", iteration)  # line 12
                # Line 11, Eq. 8: the baseline's own loss (the paper's (r - U^c(C, _))^2), if it learns.
                value_loss = self.baseline.loss([batch.cvs[i] for i in idx.tolist()], hidden, adv.returns[idx], mask)
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

    def log_row(self, iteration: int, batch: Rollout, scored: Scored, adv: Advantages, stats: dict,
                seconds: float) -> dict:
        """The iteration's line of ``metrics.jsonl`` (means over every process's rows; see docs/metrics.md)."""
        mask, acc = batch.response_mask, self.accelerator
        per_seq = lambda x: losses.masked_mean_per_seq(x, mask) if x.dim() == 2 else x  # noqa: E731
        total_reward = adv.rewards.sum(-1) if adv.rewards.dim() == 2 else adv.rewards
        row = {"iteration": iteration,
               "reward": _gather_mean(acc, scored.raw_scores),  # U(C, J)
               "kl": _gather_mean(acc, adv.kl),  # Eq. 3
               "total_reward": _gather_mean(acc, total_reward),  # Eq. 4
               "value": _gather_mean(acc, per_seq(adv.values)),
               **stats,
               "entropy": _gather_mean(acc, losses.masked_mean_per_seq(batch.entropy, mask)),
               "response_len": _gather_mean(acc, mask.sum(-1)),
               "finished_rate": _gather_mean(acc, batch.finished.float()),
               "skill_lines": _gather_mean(acc, torch.tensor([float(len(skill_lines(t))) for t in batch.texts],
                                                             device=acc.device)),
               "kl_coef": self.kl_coef}
        share = within_group_share(per_seq(adv.advantages), self.k)
        if share is not None:
            row["adv_within_cv_share"] = share
        if scored.oracle is not None:
            row["oracle_fit"] = _gather_mean(acc, torch.tensor(scored.oracle))
            agree, pairs = policy_pair_agreement(scored.raw_scores.tolist(), scored.oracle, self.k)
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
