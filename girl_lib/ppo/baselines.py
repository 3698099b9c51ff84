"""What Eq. 5 subtracts from the reward, and how it learns (Eq. 8).

One interface (:class:`Baseline`), three kinds: the paper's critic ``U^c(C, _)`` (:class:`CriticBaseline`),
a token-level value head with GAE (:class:`TokenCriticBaseline`) and the group baselines RLOO / GRPO over
k JDs of one CV (:class:`GroupBaseline`). Each answers for itself: its rewards (Eq. 4 or the token-level
form), values, advantages, whitening, loss, and how its trainable part is saved to and loaded from a
checkpoint, so the trainer never asks which kind it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

from .. import losses
from ..models import load_sequence_scorer
from ..reward import score_batch
from .advantages import compute_advantages, compute_gae, compute_rewards, group_advantages, token_level_rewards, whiten
from .policy import disable_dropout


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
    - ``needs_hidden``: whether :meth:`values` and :meth:`loss` read the actor's hidden states (the trainer
      asks the actor for them only then);
    - :meth:`rewards` -> Eq. 4's reward of each rollout row ([B] from the per-JD KL, or [B, R] for a
      token-level baseline, which takes the per-token KL terms from the rollout itself);
    - :meth:`values` -> the baseline of each row; :meth:`advantages` -> (advantages, returns);
    - :meth:`whiten` -> the advantages whitened over what they are spread over (JDs, or JD tokens);
    - :meth:`loss` -> the critic's loss on a minibatch (``None`` when there is nothing to learn);
    - :meth:`save` -> its trainable part into a checkpoint folder (each kind has a ``load`` to match).
    """

    name = "baseline"
    module: torch.nn.Module | None = None
    needs_hidden = False

    def rewards(self, scores, kl, rollout, kl_coef: float, kl_estimator: str) -> torch.Tensor:
        return compute_rewards(scores, kl, kl_coef)  # Eq. 4, one reward per JD

    def values(self, cvs: list, hidden, mask, rewards) -> torch.Tensor:
        raise NotImplementedError

    def advantages(self, rewards, values, mask, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def whiten(self, advantages, mask) -> torch.Tensor:
        return whiten(advantages)  # over the batch's JDs

    def loss(self, cvs: list, hidden, returns, mask) -> torch.Tensor | None:
        return None

    def save(self, out_dir: Path, unwrap: Callable) -> None:
        """Write the trainable part under ``out_dir`` (``unwrap``: the accelerator's ``unwrap_model``)."""


class CriticBaseline(Baseline):
    """The paper: a critic ``U^c(C, _)`` (a trainable copy of U that sees the CV only) predicts the
    reward of a CV; Eq. 5 ``a = r - U^c(C, _)``, Eq. 8 trains it towards ``r``."""

    name = "critic"

    def __init__(self, critic, tokenizer, max_length: int):
        self.module, self.tokenizer, self.max_length = critic, tokenizer, max_length

    @classmethod
    def load(cls, path: Path, cfg) -> "CriticBaseline":
        """From the reward model's folder (a fresh critic) or a checkpoint's ``critic/``."""
        critic, tok = load_sequence_scorer(str(path), cfg)
        disable_dropout(critic)
        return cls(critic, tok, cfg.reward.max_length)

    def values(self, cvs, hidden, mask, rewards):
        return critic_values(self.module, self.tokenizer, cvs, self.max_length)

    def advantages(self, rewards, values, mask, group_size):
        return compute_advantages(rewards, values), rewards  # Eq. 5; Eq. 8's target is r

    def loss(self, cvs, hidden, returns, mask):
        return losses.critic_loss(critic_values(self.module, self.tokenizer, cvs, self.max_length, grad=True),
                                  returns)  # Eq. 8

    def save(self, out_dir, unwrap):
        unwrap(self.module).save_pretrained(out_dir)
        self.tokenizer.save_pretrained(out_dir)


class TokenCriticBaseline(Baseline):
    """*Beyond the paper*: a value per JD token (:class:`TokenValueHead` on the actor's detached hidden
    states), token-level rewards and GAE(gamma, lam)."""

    name = "gae"
    needs_hidden = True
    FILE = "value_head.safetensors"

    def __init__(self, value_head: TokenValueHead, gamma: float, lam: float):
        self.module, self.gamma, self.lam = value_head, gamma, lam

    @classmethod
    def load(cls, ckpt_critic: Path | None, hidden_size: int, gamma: float, lam: float) -> "TokenCriticBaseline":
        """A zero value head, or the one saved in a checkpoint's ``critic/`` (``ckpt_critic``)."""
        head = TokenValueHead(hidden_size)
        if ckpt_critic is not None:
            head.load_state_dict(load_file(str(Path(ckpt_critic) / cls.FILE)))
        return cls(head, gamma, lam)

    def rewards(self, scores, kl, rollout, kl_coef, kl_estimator):
        kl_tokens = losses.kl_per_token(rollout.old_logp, rollout.ref_logp, kl_estimator)  # Eq. 3's terms, per token
        return token_level_rewards(scores, kl_tokens, rollout.response_mask, kl_coef)  # each pays its KL, the last gets U

    def values(self, cvs, hidden, mask, rewards):
        return self.module(hidden) * mask

    def advantages(self, rewards, values, mask, group_size):
        return compute_gae(rewards, values, mask, self.gamma, self.lam)

    def whiten(self, advantages, mask):
        return whiten(advantages, mask)  # over the batch's JD tokens

    def loss(self, cvs, hidden, returns, mask):
        return losses.critic_loss(self.module(hidden), returns, mask)

    def save(self, out_dir, unwrap):
        Path(out_dir).mkdir()
        save_file(unwrap(self.module).state_dict(), str(Path(out_dir) / self.FILE))


class GroupBaseline(Baseline):
    """*Beyond the paper*: k JDs per CV, each judged against the others of its CV
    (:func:`group_advantages`, ``rloo`` or ``grpo``). Nothing to learn; the logged "value" is the
    group's mean reward."""

    def __init__(self, kind: str, group_size: int):
        self.name, self.k = kind, int(group_size)

    def values(self, cvs, hidden, mask, rewards):
        return rewards.reshape(-1, self.k).mean(-1).repeat_interleave(self.k)  # each JD's group mean

    def advantages(self, rewards, values, mask, group_size):
        return group_advantages(rewards, group_size, self.name), rewards


def make_baseline(cfg, run_dir: Path, ckpt_dir: Path, resumed: bool, hidden_size: int) -> Baseline:
    """The baseline ``ppo.baseline`` names, with its trainable part loaded (from the checkpoint when
    resuming, else the critic from the reward model / a zero value head)."""
    p = cfg.ppo
    if p.baseline in ("rloo", "grpo"):
        return GroupBaseline(p.baseline, p.samples_per_cv)
    if p.baseline == "gae":
        return TokenCriticBaseline.load(ckpt_dir / "critic" if resumed else None, hidden_size, p.gamma, p.lam)
    return CriticBaseline.load(ckpt_dir / "critic" if resumed else run_dir / "reward" / "model", cfg)
