"""Eq. 4 and Eq. 5 of Sec. IV-C, and the options *beyond the paper* (group baselines, whitening, token-level
rewards, GAE, adaptive KL): small pure functions on tensors, each a few lines, each tested against
hand-computed values in ``tests/test_ppo.py``."""

from __future__ import annotations

import numpy as np
import torch


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

