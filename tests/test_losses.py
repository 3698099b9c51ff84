"""Paper Eq. 1-3 and 6-8 (girl_lib/losses.py) against hand-computed values, masks and gradients."""

import math

import pytest
import torch

from girl_lib import losses

torch.set_num_threads(1)
LN = math.log


# --------------------------------------------------------------------------- Eq. 1
def test_sft_loss_hand_computed_shift_and_ignore():
    # Vocabulary of 3. Position 0 predicts label[1] = 0, position 1 predicts label[2] = 2.
    logits = torch.tensor([[[LN(3.0), 0.0, 0.0],   # softmax = (0.6, 0.2, 0.2)
                            [0.0, 0.0, 0.0],       # uniform
                            [50.0, -50.0, 9.0]]])  # last position predicts nothing
    labels = torch.tensor([[-100, 0, 2]])
    expected = (-LN(0.6) + LN(3.0)) / 2
    assert losses.sft_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    # Ignoring the second target leaves only the first term.
    labels2 = torch.tensor([[-100, 0, -100]])
    assert losses.sft_loss(logits, labels2).item() == pytest.approx(-LN(0.6), rel=1e-6)


# --------------------------------------------------------------------------- Eq. 2
def test_pairwise_ranking_loss_value_and_direction():
    chosen = torch.tensor([2.0, 0.0], requires_grad=True)
    rejected = torch.tensor([0.0, 0.0])
    loss = losses.pairwise_ranking_loss(chosen, rejected)
    expected = (LN(1 + math.exp(-2.0)) + LN(2.0)) / 2  # -log sigma(2), -log sigma(0)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    # Minimising must push the matched JD's score up (the paper's printed sign would push it down).
    assert (chosen.grad < 0).all()
    # A wrongly ordered pair costs more than a correctly ordered one.
    assert losses.pairwise_ranking_loss(torch.tensor([0.0]), torch.tensor([1.0])) > \
        losses.pairwise_ranking_loss(torch.tensor([1.0]), torch.tensor([0.0]))


# --------------------------------------------------------------------------- Eq. 3
def test_kl_penalty_hand_computed_each_estimator():
    # Token 1: p_actor = 0.5, p_ref = 0.25 (rho = 2). Token 2: equal (rho = 1). Token 3: padding.
    logp_actor = torch.tensor([[LN(0.5), LN(0.3), 0.0]])
    logp_ref = torch.tensor([[LN(0.25), LN(0.3), -1e30]])  # garbage at the masked position
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    paper = losses.kl_penalty(logp_actor, logp_ref, mask, "paper")
    k1 = losses.kl_penalty(logp_actor, logp_ref, mask, "k1")
    k3 = losses.kl_penalty(logp_actor, logp_ref, mask, "k3")
    assert paper.shape == (1,)
    assert paper.item() == pytest.approx((2 - 1 - LN(2)) / 2, rel=1e-5)
    assert k1.item() == pytest.approx(LN(2) / 2, rel=1e-5)
    assert k3.item() == pytest.approx((0.5 - 1 + LN(2)) / 2, rel=1e-5)
    with pytest.raises(ValueError):
        losses.kl_penalty(logp_actor, logp_ref, mask, "k2")


def test_kl_estimators_expectations_match_the_docstring():
    """Sampling tokens from the actor q: E[k1] = E[k3] = KL(q||p); E[paper] = chi2(q||p) - KL(q||p)."""
    q = torch.tensor([0.5, 0.3, 0.15, 0.05], dtype=torch.float64)
    p = torch.tensor([0.25, 0.25, 0.25, 0.25], dtype=torch.float64)
    lq, lp = q.log().unsqueeze(0), p.log().unsqueeze(0)
    ones = torch.ones_like(lq)
    kl = (q * (q / p).log()).sum()
    chi2 = (q * q / p).sum() - 1
    expect = {name: (q * losses.kl_per_token(lq, lp, name)[0]).sum() for name in losses.KL_ESTIMATORS}
    assert expect["k1"].item() == pytest.approx(kl.item(), rel=1e-9)
    assert expect["k3"].item() == pytest.approx(kl.item(), rel=1e-9)
    assert expect["paper"].item() == pytest.approx((chi2 - kl).item(), rel=1e-9)
    assert expect["paper"].item() != pytest.approx(kl.item(), rel=1e-3)  # not the KL it is named after
    # Per-token terms of "paper" and "k3" are never negative; k1 can be.
    assert (losses.kl_per_token(lq, lp, "paper") >= 0).all() and (losses.kl_per_token(lq, lp, "k3") >= 0).all()
    assert (losses.kl_per_token(lq, lp, "k1") < 0).any()
    assert losses.kl_penalty(lq, lq, ones, "paper").item() == 0.0


# --------------------------------------------------------------------------- Eq. 6-7
EPS = 0.2


@pytest.mark.parametrize("ratio, adv, objective", [
    (1.5, 1.0, 1.2),    # A > 0, rho above the region: clipped at 1 + eps
    (0.5, 1.0, 0.5),    # A > 0, rho below: min keeps the (pessimistic) unclipped rho A
    (1.5, -1.0, -1.5),  # A < 0, rho above: unclipped
    (0.5, -1.0, -0.8),  # A < 0, rho below: clipped at 1 - eps
    (1.1, 2.0, 2.2),    # inside the region: rho A
])
def test_ppo_actor_loss_hand_computed(ratio, adv, objective):
    old = torch.tensor([[LN(0.2)]])
    logp = old + LN(ratio)
    loss = losses.ppo_actor_loss(logp, old, torch.tensor([adv]), torch.ones(1, 1), EPS)
    assert loss.item() == pytest.approx(-objective, rel=1e-5)  # a loss: the negative objective


@pytest.mark.parametrize("ratio, adv, zero_grad", [
    (1.5, 1.0, True),    # already pushed up beyond 1 + eps: no further incentive
    (0.5, -1.0, True),   # already pushed down beyond 1 - eps: no further incentive
    (0.5, 1.0, False),   # moved the wrong way: gradient still pulls it back up
    (1.5, -1.0, False),  # moved the wrong way: gradient still pushes it down
    (1.0, 1.0, False),
    (1.0, -1.0, False),
])
def test_clipped_objective_gradient(ratio, adv, zero_grad):
    old = torch.tensor([[LN(0.2)]])
    logp = (old + LN(ratio)).clone().requires_grad_(True)
    losses.ppo_actor_loss(logp, old, torch.tensor([adv]), torch.ones(1, 1), EPS).backward()
    g = logp.grad.item()
    if zero_grad:
        assert g == 0.0
    else:
        # d(-rho A)/d logp = -rho A: a descent step raises logp when A > 0 and lowers it when A < 0.
        assert g == pytest.approx(-ratio * adv, rel=1e-5)
        assert (g < 0) == (adv > 0)


def test_actor_loss_broadcasts_sequence_advantage_and_averages_per_sequence():
    # Seq 0: 3 tokens, ratios 1 -> objective = A = 2 on each. Seq 1: 1 token, ratio 1.1, A = -1.
    old = torch.zeros(2, 3)
    logp = torch.tensor([[0.0, 0.0, 0.0], [LN(1.1), 9.0, 9.0]])  # garbage on seq 1's padding
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    adv = torch.tensor([2.0, -1.0])
    loss = losses.ppo_actor_loss(logp, old, adv, mask, EPS)
    # Per sequence first (1/|J_i| inside, as Eq. 6), then the batch mean: (2 + (-1.1)) / 2.
    assert loss.item() == pytest.approx(-(2.0 - 1.1) / 2, rel=1e-5)
    # The same advantage given per token is identical.
    loss_tok = losses.ppo_actor_loss(logp, old, adv.unsqueeze(1).expand(2, 3), mask, EPS)
    assert loss_tok.item() == pytest.approx(loss.item(), rel=1e-6)


def test_actor_stats_hand_computed():
    old = torch.zeros(1, 4)
    logp = torch.tensor([[LN(1.5), 0.0, LN(0.5), 5.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    s = losses.ppo_actor_stats(logp, old, mask, EPS)
    assert s["clip_frac"] == pytest.approx(2 / 3)
    k3 = lambda r: (r - 1) - LN(r)  # noqa: E731
    assert s["approx_kl"] == pytest.approx((k3(1.5) + 0 + k3(0.5)) / 3, rel=1e-5)


# --------------------------------------------------------------------------- Eq. 8
def test_critic_loss_is_plain_mse():
    v, r = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0])
    assert losses.critic_loss(v, r).item() == pytest.approx(2.5)
    vt = torch.tensor([[1.0, 3.0], [2.0, 100.0]])
    rt = torch.zeros(2, 2)
    mt = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    assert losses.critic_loss(vt, rt, mt).item() == pytest.approx((5.0 + 4.0) / 2)


# --------------------------------------------------------------------------- padding invariance
def _ragged_batch(seed=0, B=4, T=7):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([7, 3, 1, 5])
    mask = (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).float()
    logp = -torch.rand(B, T, generator=g) * 3
    old = logp + 0.3 * torch.randn(B, T, generator=g)
    ref = logp + 0.5 * torch.randn(B, T, generator=g)
    adv = torch.randn(B, generator=g)
    return lengths, mask, logp, old, ref, adv


def _with_padding(x, extra, fill):
    return torch.cat([x, torch.full((x.size(0), extra), fill, dtype=x.dtype)], dim=1)


def test_padding_cannot_change_any_loss():
    lengths, mask, logp, old, ref, adv = _ragged_batch()
    base = {
        "actor": losses.ppo_actor_loss(logp, old, adv, mask, EPS),
        "kl": losses.kl_penalty(logp, ref, mask, "paper"),
        "kl3": losses.kl_penalty(logp, ref, mask, "k3"),
        "stats": losses.ppo_actor_stats(logp, old, mask, EPS),
        "critic": losses.critic_loss(logp, old, mask),
    }
    # (a) More padding columns holding garbage (even inf) change nothing.
    pm = _with_padding(mask, 5, 0.0)
    pl, po, pr = _with_padding(logp, 5, 50.0), _with_padding(old, 5, -50.0), _with_padding(ref, 5, float("-inf"))
    assert losses.ppo_actor_loss(pl, po, adv, pm, EPS).item() == pytest.approx(base["actor"].item(), rel=1e-6)
    assert torch.allclose(losses.kl_penalty(pl, pr, pm, "paper"), base["kl"])
    assert torch.allclose(losses.kl_penalty(pl, pr, pm, "k3"), base["kl3"])
    assert losses.ppo_actor_stats(pl, po, pm, EPS) == pytest.approx(base["stats"])
    assert losses.critic_loss(pl, po, pm).item() == pytest.approx(base["critic"].item(), rel=1e-6)
    # (b) Removing the masked positions (each sequence alone, unpadded) gives the same value.
    per_seq_actor, per_seq_kl = [], []
    for b, n in enumerate(lengths.tolist()):
        one = torch.ones(1, n)
        per_seq_actor.append(losses.ppo_actor_loss(logp[b:b + 1, :n], old[b:b + 1, :n], adv[b:b + 1], one, EPS))
        per_seq_kl.append(losses.kl_penalty(logp[b:b + 1, :n], ref[b:b + 1, :n], one, "paper"))
    assert torch.stack(per_seq_actor).mean().item() == pytest.approx(base["actor"].item(), rel=1e-6)
    assert torch.allclose(torch.cat(per_seq_kl), base["kl"])


def test_padding_gets_no_gradient_and_no_nan():
    lengths, mask, logp, old, ref, adv = _ragged_batch(1)
    x = _with_padding(logp, 3, 1e4).requires_grad_(True)  # exp(1e4) = inf on the padding
    loss = losses.ppo_actor_loss(x, _with_padding(old, 3, 0.0), adv, _with_padding(mask, 3, 0.0), EPS)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    assert (x.grad[_with_padding(mask, 3, 0.0) == 0] == 0).all()


# --------------------------------------------------------------------------- log-probs and entropy
def test_entropy_and_gather_hand_computed():
    logits = torch.tensor([[[0.0, 0.0, 0.0, 0.0], [LN(3.0), 0.0, -1e9, -1e9]]])
    ent = losses.entropy_from_logits(logits)
    assert ent[0, 0].item() == pytest.approx(LN(4.0), rel=1e-6)
    p = torch.tensor([0.75, 0.25])
    assert ent[0, 1].item() == pytest.approx(float(-(p * p.log()).sum()), rel=1e-5)
    lp = losses.gather_logprobs(logits, torch.tensor([[2, 1]]))
    assert lp[0, 0].item() == pytest.approx(LN(0.25), rel=1e-6)
    assert lp[0, 1].item() == pytest.approx(LN(0.25), rel=1e-5)


def test_logprobs_of_matches_manual_and_ignores_left_padding(tiny_generator):
    model, tok = tiny_generator
    model.eval()
    g = torch.Generator().manual_seed(0)
    V = model.config.vocab_size
    a_prompt, a_resp = torch.randint(5, V, (5,), generator=g), torch.randint(5, V, (3,), generator=g)
    b_prompt, b_resp = torch.randint(5, V, (8,), generator=g), torch.randint(5, V, (3,), generator=g)
    pad = tok.pad_token_id
    ids = torch.stack([torch.cat([torch.full((3,), pad), a_prompt, a_resp]), torch.cat([b_prompt, b_resp])])
    attn = torch.ones_like(ids)
    attn[0, :3] = 0
    with torch.no_grad():
        batched = losses.logprobs_of(model, ids, attn, prompt_len=8)
        alone = losses.logprobs_of(model, torch.cat([a_prompt, a_resp]).unsqueeze(0),
                                   torch.ones(1, 8, dtype=torch.long), prompt_len=5)
        # Manual: one plain forward, log-softmax, gather the next tokens.
        full = torch.cat([b_prompt, b_resp]).unsqueeze(0)
        logits = model(input_ids=full).logits[0]
        manual = torch.log_softmax(logits[7:10], -1).gather(-1, b_resp.unsqueeze(-1)).squeeze(-1)
        hot = losses.logprobs_of(model, full, torch.ones_like(full), prompt_len=8, temperature=2.0)
        manual_hot = torch.log_softmax(logits[7:10] / 2.0, -1).gather(-1, b_resp.unsqueeze(-1)).squeeze(-1)
        lp, ent = losses.logprobs_of(model, full, torch.ones_like(full), prompt_len=8, return_entropy=True)
    assert batched.shape == (2, 3)
    assert torch.allclose(batched[0], alone[0], atol=1e-5)
    assert torch.allclose(batched[1], manual, atol=1e-5)
    assert torch.allclose(hot[0], manual_hot, atol=1e-5)
    assert ent.shape == (1, 3) and (ent > 0).all() and (ent <= LN(V) + 1e-4).all()
