"""The paper's losses (Sec. IV, Eq. 1-3 and 6-8) as pure tensor functions: no models inside.

Read this file next to the paper. Every function names its equation, and where the printed equation
and the code differ (a dropped minus sign, a reused symbol) the docstring says so.

Shapes used throughout: ``B`` sequences (CV/JD pairs), ``T`` (or ``R``) response-token positions.
``mask`` is 1 on the JD tokens the model generated (up to and including EOS) and 0 on padding.

Masked-mean convention (one rule for every token-level quantity here)
---------------------------------------------------------------------
Eq. 3 and Eq. 6 carry a ``1/|J_i|`` *inside* the per-JD sum, so a token-level quantity ``x[b, t]`` is
reduced in two steps:

1. per sequence: ``mean_t x[b, t]`` over the unmasked tokens of JD ``b`` (:func:`masked_mean_per_seq`);
2. over the batch: the plain mean of those per-sequence values (:func:`masked_mean`).

So a short JD weighs as much as a long one, and padding (masked positions, however many) can never
change a loss: removing the masked columns gives exactly the same value. Sequences with no unmasked
token at all are left out of the batch mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers.cache_utils import DynamicCache

from .sampling import _cache_kwarg

IGNORE_INDEX = -100
"""Label value that :func:`sft_loss` skips (prompt and padding positions), as in Hugging Face."""

KL_ESTIMATORS = ("paper", "k1", "k3")


# --------------------------------------------------------------------------- masked means
def masked_mean_per_seq(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[B, T] -> [B]``: mean of ``x`` over the unmasked positions of each row (0 for an empty row)."""
    keep = mask.bool()
    total = torch.where(keep, x, torch.zeros_like(x)).sum(-1)  # where(), not x * mask: inf * 0 = NaN
    return total / keep.sum(-1).clamp(min=1).to(x.dtype)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Scalar: per-sequence masked mean, then the mean over sequences that have at least one token."""
    per_seq = masked_mean_per_seq(x, mask)
    has_tokens = mask.sum(-1) > 0
    if not bool(has_tokens.any()):
        return (x * 0).sum()  # keeps the graph (zero gradient) instead of NaN
    return per_seq[has_tokens].mean()


# --------------------------------------------------------------------------- Eq. 1
def sft_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 1, supervised fine-tuning: negative log-likelihood of the JD tokens.

    ``logits`` [B, L, V] from a causal LM over prompt + JD; ``labels`` [B, L] are the input ids with
    prompt and padding positions set to ``-100``. As causal LMs do, position ``t`` predicts token
    ``t + 1``: ``logits[:, :-1]`` are scored against ``labels[:, 1:]``.

    The paper writes a *sum* over the JD's tokens; we return the *mean* over all labelled tokens of the
    batch (the Hugging Face convention), which only rescales the gradient (the learning rate absorbs it)
    and keeps the value comparable across batch sizes. The paper also writes ``Pr(C | J, T, G)`` where it
    means ``Pr(J | C, T, G)``: the JD is generated given the CV and the prompt.
    """
    logits = logits[:, :-1, :].float()
    targets = labels[:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX)


# --------------------------------------------------------------------------- Eq. 2
def pairwise_ranking_loss(chosen_scores: torch.Tensor, rejected_scores: torch.Tensor) -> torch.Tensor:
    """Eq. 2, reward-model training: ``mean( -log sigma(U(C, J+) - U(C, J-)) )``.

    The paper prints ``L_rmt = log sigma(U(C,J+) - U(C,J-))`` without the minus sign; minimised as
    printed, it would push the matched JD's score *below* the rejected one's. The loss that is minimised
    (Bradley-Terry, as in InstructGPT) is the negative log-likelihood, written here with
    ``-logsigmoid`` for numerical stability.
    """
    return -F.logsigmoid(chosen_scores - rejected_scores).mean()


# --------------------------------------------------------------------------- Eq. 3
KL_REDUCTIONS = ("mean", "sum")


def kl_penalty(logp_actor: torch.Tensor, logp_ref: torch.Tensor, mask: torch.Tensor,
               estimator: str = "paper", reduction: str = "mean") -> torch.Tensor:
    """Eq. 3, the per-JD KL term: ``[B, T] x 2 -> [B]``, a masked mean over each JD's tokens.

    ``reduction="sum"`` (*beyond the paper*, as TRL and InstructGPT do) sums the per-token terms over
    the JD instead: the KL of the whole JD, so ``lambda`` prices every token and a JD that drifts on
    many tokens pays for each of them (with the mean, ``lambda = 0.05`` makes the penalty ~|J| times
    smaller, too small to matter against the reward's spread).

    ``logp_actor`` / ``logp_ref`` are the log-probabilities of the *sampled* tokens under the actor
    ``G^a`` and the frozen SFT reference ``G``. With ``log rho = logp_actor - logp_ref``:

    - ``"paper"`` (Eq. 3): ``rho - 1 - log rho`` with ``rho = p_actor / p_ref`` (the paper calls the ratio
      ``CE``). This is Schulman's "k3" estimator *written for the reverse direction*: k3 estimates
      ``KL(q || p)`` from samples of ``q`` as ``r - 1 - log r`` with ``r = p / q``. Eq. 3 puts the actor in
      the numerator, so it would estimate ``KL(pi_ref || pi_actor)`` if the tokens were drawn from the
      reference. Here they are drawn from the actor, and its expectation is
      ``chi^2(pi_actor || pi_ref) - KL(pi_actor || pi_ref)``: still >= 0 for every token and 0 exactly when
      the two models agree, so it works as a penalty, but it is not an unbiased KL estimate, and it grows
      exponentially where the actor's probability exceeds the reference's.
    - ``"k1"``: ``log rho``; unbiased for ``KL(pi_actor || pi_ref)`` but a single token can be negative.
    - ``"k3"``: ``1/rho - 1 + log rho``; unbiased for ``KL(pi_actor || pi_ref)`` and never negative.
    """
    logp_actor = torch.where(mask.bool(), logp_actor, logp_ref)  # padding: log rho = 0, never inf
    per_token = kl_per_token(logp_actor, logp_ref, estimator)
    if reduction == "sum":
        return torch.where(mask.bool(), per_token, torch.zeros_like(per_token)).sum(-1)
    if reduction != "mean":
        raise ValueError(f"unknown KL reduction {reduction!r}; choose one of {', '.join(KL_REDUCTIONS)}")
    return masked_mean_per_seq(per_token, mask)


def kl_per_token(logp_actor: torch.Tensor, logp_ref: torch.Tensor, estimator: str = "paper") -> torch.Tensor:
    """The per-token terms [B, T] that :func:`kl_penalty` averages (token-level rewards use them)."""
    log_ratio = logp_actor - logp_ref  # log rho
    if estimator == "paper":
        return torch.exp(log_ratio) - 1.0 - log_ratio  # Eq. 3: CE - 1 - log CE
    if estimator == "k1":
        return log_ratio
    if estimator == "k3":
        return torch.exp(-log_ratio) - 1.0 + log_ratio
    raise ValueError(f"unknown KL estimator {estimator!r}; choose one of {', '.join(KL_ESTIMATORS)}")


# --------------------------------------------------------------------------- Eq. 6-7
def _broadcast_advantages(advantages: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-JD advantage ``a_i`` [B] becomes [B, T] (every token of JD i shares it, as in Eq. 6)."""
    if advantages.dim() == 1:
        return advantages.unsqueeze(-1).expand_as(like)
    if advantages.shape != like.shape:
        raise ValueError(f"advantages {tuple(advantages.shape)} must be [B] or shaped like logp {tuple(like.shape)}")
    return advantages


def ppo_actor_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                   mask: torch.Tensor, clip_eps: float) -> torch.Tensor:
    """Eq. 6-7, the clipped surrogate as a loss to *minimise*:

    ``L_am = - mean_i (1/|J_i|) sum_j min( rho_ij a_i, clip(rho_ij, 1 - eps, 1 + eps) a_i )``

    with ``rho_ij = pi_theta(v_ij | ...) / pi_old(v_ij | ...)``: the current actor over the actor that
    *sampled* the JD (``old_logp``, fixed during the epochs of Alg. 1 lines 6-14).

    Two discrepancies with the printed paper:

    - Eq. 6 has no minus sign: PPO *maximises* this objective; Alg. 1 line 12 then takes a gradient
      *descent* step on ``L_am``, so the loss must be its negative.
    - Eq. 6 reuses the symbol ``CE`` of Eq. 3 for this ratio, but the two ratios differ: Eq. 3 compares
      the actor with the frozen reference (SFT) model, Eq. 6-7 the actor with its own pre-update copy
      ``pi_old`` (importance sampling). At the first minibatch of an iteration ``rho = 1`` here.

    ``advantages`` is [B] (the paper: one advantage per JD, broadcast to every token) or [B, T]
    (token-level advantages, e.g. GAE). Reduction: the masked-mean convention of this module.
    """
    advantages = _broadcast_advantages(advantages, logp).detach()
    old_logp = old_logp.detach()
    logp = torch.where(mask.bool(), logp, old_logp)  # padding: rho = 1 (and no inf/NaN from garbage)
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages  # Eq. 7
    return -masked_mean(torch.minimum(unclipped, clipped), mask)  # Eq. 6, with the minus sign


@torch.no_grad()
def ppo_actor_stats(logp: torch.Tensor, old_logp: torch.Tensor, mask: torch.Tensor, clip_eps: float) -> dict:
    """Diagnostics logged beside :func:`ppo_actor_loss` (same masked-mean convention):

    - ``clip_frac``: share of tokens whose ratio left ``[1 - eps, 1 + eps]`` (where Eq. 7 clips);
    - ``approx_kl``: ``KL(pi_old || pi_theta)`` by the k3 estimator ``(rho - 1) - log rho`` (tokens were
      sampled from ``pi_old``), as CleanRL logs it. Large values mean the update moved too far.
    """
    log_ratio = torch.where(mask.bool(), logp - old_logp, torch.zeros_like(logp))
    ratio = torch.exp(log_ratio)
    clipped = ((ratio - 1.0).abs() > clip_eps).to(logp.dtype)
    return {
        "clip_frac": float(masked_mean(clipped, mask)),
        "approx_kl": float(masked_mean((ratio - 1.0) - log_ratio, mask)),
    }


# --------------------------------------------------------------------------- Eq. 8
def critic_loss(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 8, ``L_cm = (r_i - U^c(C_i, _))^2``, averaged: plain mean squared error.

    ``values`` and ``returns`` are [B] (the paper: one value per CV). With token-level values (the GAE
    option) they are [B, T] and ``mask`` reduces them by this module's masked-mean convention.
    """
    sq = (values - returns.detach()) ** 2
    if mask is None:
        return sq.mean()
    return masked_mean(sq, mask)


# --------------------------------------------------------------------------- log-probs and entropy
def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the softmax over the last dimension: ``logsumexp(z) - sum softmax(z) z``."""
    logits = logits.float()
    probs = torch.softmax(logits, dim=-1)
    return torch.logsumexp(logits, dim=-1) - (probs * logits).sum(-1)


def gather_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``log softmax(logits)[token]`` for each position: [B, T, V], [B, T] -> [B, T]."""
    logits = logits.float()
    picked = torch.gather(logits, -1, tokens.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)


def response_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, prompt_len: int,
                    temperature: float = 1.0, output_hidden_states: bool = False):
    """Logits [B, R, V] that predict the response tokens ``input_ids[:, prompt_len:]``.

    Position ids are ``cumsum(attention_mask) - 1``, exactly as ``generate`` builds them for a
    left-padded batch, so a JD's log-probs do not depend on how much padding its prompt got. Logits
    are divided by the sampling temperature, so they describe the distribution the tokens were drawn
    from. Returns ``(logits, hidden)``, where ``hidden`` [B, R, H] (last layer, the states that predict
    each response token) is ``None`` unless ``output_hidden_states``.
    """
    resp_len = input_ids.size(1) - prompt_len
    if resp_len <= 0:
        raise ValueError(f"no response tokens: input length {input_ids.size(1)}, prompt_len {prompt_len}")
    position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                logits_to_keep=resp_len + 1, output_hidden_states=output_hidden_states, use_cache=False)
    logits = out.logits[:, :-1, :]  # position t predicts token t + 1
    if temperature != 1.0:
        logits = logits / temperature
    hidden = out.hidden_states[-1][:, prompt_len - 1:-1, :] if output_hidden_states else None
    return logits, hidden


def grouped_response_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, prompt_len: int,
                            group_size: int, temperature: float = 1.0, output_hidden_states: bool = False):
    """:func:`response_logits` for rows that come in groups of ``group_size`` consecutive rows with the same
    prompt (k JDs sampled for one CV): each prompt runs once and its keys/values are shared by the group's
    rows, so a group of k costs one prompt + k JDs instead of k prompts + k JDs. Same values as
    :func:`response_logits` (up to float rounding; a test checks it) and, with gradients on, the same
    gradients: the prompt's states feed every row of its group, so their gradients add up as they would.
    """
    k = int(group_size)
    if k <= 1:
        return response_logits(model, input_ids, attention_mask, prompt_len, temperature, output_hidden_states)
    batch, resp_len = input_ids.size(0), input_ids.size(1) - prompt_len
    if batch % k or resp_len <= 0:
        raise ValueError(f"{batch} rows do not form groups of {k}, or there are no response tokens")
    prompt_ids, prompt_mask = input_ids[::k, :prompt_len], attention_mask[::k, :prompt_len]
    if not torch.equal(input_ids[:, :prompt_len], prompt_ids.repeat_interleave(k, 0)):
        raise ValueError(f"rows of a group of {k} must share their prompt")
    first = int((prompt_mask.sum(0) > 0).nonzero()[0, 0])  # columns that are padding in every row go
    prompt_ids, prompt_mask = prompt_ids[:, first:], prompt_mask[:, first:]
    width = prompt_ids.size(1)
    inner = getattr(model, "module", model)  # a DDP-wrapped model (accelerate, several processes)
    cache = DynamicCache(config=inner.config)
    cache_kw = _cache_kwarg(inner)
    out = model(input_ids=prompt_ids, attention_mask=prompt_mask,
                position_ids=(prompt_mask.long().cumsum(-1) - 1).clamp(min=0), use_cache=True, logits_to_keep=1,
                output_hidden_states=output_hidden_states, **{cache_kw: cache})
    logits = [out.logits[:, -1:, :].repeat_interleave(k, 0)]  # the last prompt state predicts JD token 0
    hidden = [out.hidden_states[-1][:, -1:, :].repeat_interleave(k, 0)] if output_hidden_states else []
    if resp_len > 1:
        cache.batch_repeat_interleave(k)
        mask = torch.cat([prompt_mask.repeat_interleave(k, 0), attention_mask[:, prompt_len:]], 1)
        positions = (mask.long().cumsum(-1) - 1).clamp(min=0)[:, width:width + resp_len - 1]
        out = model(input_ids=input_ids[:, prompt_len:-1], attention_mask=mask[:, :width + resp_len - 1],
                    position_ids=positions, use_cache=True, output_hidden_states=output_hidden_states,
                    **{cache_kw: cache})
        logits.append(out.logits)
        if output_hidden_states:
            hidden.append(out.hidden_states[-1])
    logits = torch.cat(logits, 1)
    if temperature != 1.0:
        logits = logits / temperature
    return logits, (torch.cat(hidden, 1) if output_hidden_states else None)


def logprobs_of(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, prompt_len: int,
                temperature: float = 1.0, return_entropy: bool = False):
    """Log-probabilities [B, R] of the response tokens ``input_ids[:, prompt_len:]`` under ``model``
    (a gather of the log-softmax); with ``return_entropy`` also the per-token entropy [B, R].

    Values at padding positions (after EOS) are meaningless; mask them with the response mask.
    """
    logits, _ = response_logits(model, input_ids, attention_mask, prompt_len, temperature)
    logp = gather_logprobs(logits, input_ids[:, prompt_len:])
    if return_entropy:
        return logp, entropy_from_logits(logits)
    return logp
