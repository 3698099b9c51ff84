"""Algorithm 1 (girl_lib/ppo/): Eq. 4-5 and the options by hand, the critic, a toy task PPO must
learn, resume equivalence, and the NaN guard. Runs use a fake run dir (tiny SFT generator + tiny
reward model) and injected CVs / scorers, so no data stage or trained reward model is needed."""

import hashlib
import json
import math
import shutil

import pytest
import torch

from girl_lib import losses, ppo, report
from girl_lib.config import get_profile
from girl_lib.runio import NonFiniteError, atomic_dir, is_done, mark_done, read_json, read_jsonl

torch.set_num_threads(1)

CVS = [f"CV {i}: python engineer, {i} years, Beijing" for i in range(16)]


# --------------------------------------------------------------------------- Eq. 4, Eq. 5 and options
def test_rewards_and_advantages_hand_computed():
    scores, kl, values = torch.tensor([1.0, -0.5]), torch.tensor([0.2, 4.0]), torch.tensor([0.3, -1.0])
    r = ppo.compute_rewards(scores, kl, kl_coef=0.5)  # Eq. 4
    assert torch.allclose(r, torch.tensor([0.9, -2.5]))
    assert torch.allclose(ppo.compute_advantages(r, values), torch.tensor([0.6, -1.5]))  # Eq. 5


def test_whiten():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    w = ppo.whiten(x)
    assert w.mean().abs() < 1e-6 and w.std(unbiased=False).item() == pytest.approx(1.0, rel=1e-4)
    assert torch.allclose(ppo.whiten(x, shift_mean=False).mean(), x.mean())
    m = torch.tensor([[1.0, 1.0, 0.0]])
    wm = ppo.whiten(torch.tensor([[1.0, 3.0, 1000.0]]), m)
    assert torch.allclose(wm, torch.tensor([[-1.0, 1.0, 0.0]]), atol=1e-4)  # padding ignored and zeroed
    assert ppo.whiten(torch.tensor([5.0])).item() == 0.0  # one element: only centred, no NaN


def test_token_level_rewards_put_score_on_last_token():
    scores = torch.tensor([2.0, 1.0])
    kl_tok = torch.tensor([[0.1, 0.2, 0.3], [0.4, 9.0, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    r = ppo.token_level_rewards(scores, kl_tok, mask, kl_coef=0.5)
    assert torch.allclose(r, torch.tensor([[-0.05, -0.1, 2.0 - 0.15], [1.0 - 0.2, 0.0, 0.0]]))


def test_gae_hand_computed_and_reduces_to_eq5():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 7.0]])
    values = torch.tensor([[0.5, 0.2, 0.4, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # last position is padding
    g, lam = 0.9, 0.5
    adv, ret = ppo.compute_gae(rewards, values, mask, g, lam)
    d2 = 1.0 - 0.4                      # V after the last token is 0
    d1 = 0.0 + g * 0.4 - 0.2
    d0 = 0.0 + g * 0.2 - 0.5
    a2, a1 = d2, d1 + g * lam * d2
    a0 = d0 + g * lam * a1
    assert torch.allclose(adv, torch.tensor([[a0, a1, a2, 0.0]]), atol=1e-6)
    assert torch.allclose(ret, torch.tensor([[a0 + 0.5, a1 + 0.2, a2 + 0.4, 0.0]]), atol=1e-6)
    # One token, gamma = lam = 1: A = r - V, the paper's Eq. 5.
    a, r = ppo.compute_gae(torch.tensor([[1.5]]), torch.tensor([[0.25]]), torch.ones(1, 1), 1.0, 1.0)
    assert a.item() == pytest.approx(1.25) and r.item() == pytest.approx(1.5)


def test_group_advantages_hand_computed():
    r = torch.tensor([1.0, 2.0, 6.0, 0.0, 0.0, 3.0])  # two CVs, k = 3
    # RLOO: r_i minus the mean of the other two of its CV
    assert torch.allclose(ppo.group_advantages(r, 3, "rloo"),
                          torch.tensor([1 - 4.0, 2 - 3.5, 6 - 1.5, 0 - 1.5, 0 - 1.5, 3 - 0.0]))
    # GRPO: (r - group mean) / group std (population std)
    m1, s1 = 3.0, math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 3)
    m2, s2 = 1.0, math.sqrt((1 + 1 + 4) / 3)
    want = torch.tensor([(1 - m1) / s1, (2 - m1) / s1, (6 - m1) / s1, (0 - m2) / s2, (0 - m2) / s2, (3 - m2) / s2])
    assert torch.allclose(ppo.group_advantages(r, 3, "grpo"), want, atol=1e-5)
    # a CV's own offset cancels: adding 100 to every JD of CV 2 changes nothing
    assert torch.allclose(ppo.group_advantages(r + torch.tensor([0, 0, 0, 100.0, 100, 100]), 3, "rloo"),
                          ppo.group_advantages(r, 3, "rloo"))
    with pytest.raises(ValueError):
        ppo.group_advantages(r, 4, "rloo")  # 6 rows do not form groups of 4
    with pytest.raises(ValueError):
        ppo.group_advantages(r, 1, "rloo")  # one JD per CV: nothing to compare with


def test_within_group_share():
    # groups [1, 3] and [5, 7]: total variance about 4 = 5 (sum of squares 20 / 4); within: (1+1+1+1)/4 = 1
    assert ppo.within_group_share(torch.tensor([1.0, 3.0, 5.0, 7.0]), 2) == pytest.approx(4 / 20)
    assert ppo.within_group_share(torch.tensor([1.0, 1.0, 5.0, 5.0]), 2) == pytest.approx(0.0)
    assert ppo.within_group_share(torch.tensor([1.0, 5.0, 1.0, 5.0]), 2) == pytest.approx(1.0)
    assert ppo.within_group_share(torch.tensor([1.0, 5.0]), 1) is None


def test_summed_kl_hand_computed():
    logp_a = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.5, 0.0]])
    logp_r = torch.tensor([[-1.5, -1.0, -3.0], [-1.0, -9.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    # k1 per token: log rho = logp_a - logp_r -> [0.5, -1.0, 0.0] and [0.5, (masked)]
    assert torch.allclose(losses.kl_penalty(logp_a, logp_r, mask, "k1", "sum"), torch.tensor([-0.5, 0.5]))
    assert torch.allclose(losses.kl_penalty(logp_a, logp_r, mask, "k1", "mean"), torch.tensor([-0.5 / 3, 0.5]))
    # paper estimator rho - 1 - log rho per token, summed over the JD
    t = lambda x: math.exp(x) - 1 - x  # noqa: E731
    assert losses.kl_penalty(logp_a, logp_r, mask, "paper", "sum")[0].item() == pytest.approx(t(0.5) + t(-1.0) + t(0.0))
    # Eq. 4 with the summed KL: lambda prices every token
    r = ppo.compute_rewards(torch.tensor([2.0, 2.0]), losses.kl_penalty(logp_a, logp_r, mask, "k1", "sum"), 0.5)
    assert torch.allclose(r, torch.tensor([2.25, 1.75]))
    with pytest.raises(ValueError):
        losses.kl_penalty(logp_a, logp_r, mask, "k1", "median")


def test_policy_pair_agreement_known_values():
    # one CV, k = 3: fits 0.1, 0.5, 0.52 -> pairs (0,1), (0,2) decided; (1,2) within 0.05, left out
    assert ppo.policy_pair_agreement([0.0, 1.0, -1.0], [0.1, 0.5, 0.52], 3) == (1, 2)
    # two CVs, k = 2: U agrees on the first, ties on the second (a tie is a disagreement)
    assert ppo.policy_pair_agreement([0.0, 1.0, 2.0, 2.0], [0.2, 0.9, 0.9, 0.1], 2) == (1, 2)


def test_paired_difference_interval():
    before, after = [0.0] * 40, [1.0 + 0.1 * (i % 3) for i in range(40)]
    d = ppo.paired_difference(before, after)
    assert d["n"] == 40 and d["mean"] == pytest.approx(1.0 + 0.1 * 39 / 40, abs=1e-9)
    assert 1.0 <= d["ci95"][0] < d["mean"] < d["ci95"][1] <= 1.2 and report.direction(d) == 1
    noisy = ppo.paired_difference([0.0] * 40, [(-1) ** i for i in range(40)])
    assert noisy["ci95"][0] < 0 < noisy["ci95"][1] and report.direction(noisy) == 0


def test_adaptive_kl_moves_towards_target():
    assert ppo.update_kl_coef(0.1, kl=1.0, target=0.1, n_steps=100, horizon=1000) == pytest.approx(0.1 * 1.02)
    assert ppo.update_kl_coef(0.1, kl=0.0, target=0.1, n_steps=100, horizon=1000) == pytest.approx(0.1 * 0.98)
    assert ppo.update_kl_coef(0.1, kl=0.1, target=0.1, n_steps=100, horizon=1000) == pytest.approx(0.1)


# --------------------------------------------------------------------------- fake run dir
@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """``sft/model``: the tiny generator with its final norm scaled x5, so its next-token distribution
    is peaked like a trained model's rather than nearly uniform; ``reward/model``: the tiny scorer."""
    from girl_lib.models import load_generator, load_sequence_scorer

    run = tmp_path_factory.mktemp("ppo_run")
    gen, tok = load_generator("tiny")
    with torch.no_grad():
        gen.model.norm.weight.mul_(5.0)
    with atomic_dir(run / "sft" / "model") as d:
        gen.save_pretrained(d)
        tok.save_pretrained(d)
    mark_done(run, "sft")
    scorer, stok = load_sequence_scorer("tiny")
    with atomic_dir(run / "reward" / "model") as d:
        scorer.save_pretrained(d)
        stok.save_pretrained(d)
    mark_done(run, "reward")
    return run


@pytest.fixture
def run_dir(base_run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(base_run, dst)
    return dst


def length_score(cvs, jds):
    """Toy reward: JD length in characters (capped), a stand-in for U(C, J)."""
    return torch.tensor([min(len(j), 16) / 16 for j in jds], dtype=torch.float32)


def blank_score(cvs, jds):
    """Toy reward: 1 when the JD is blank (the generator stopped or wrote only whitespace), else 0."""
    return torch.tensor([float(not j.strip()) for j in jds])


def small_cfg(**ppo_fields):
    cfg = get_profile("tiny")
    for k, v in {"iterations": 3, "rollout_batch_size": 4, "minibatch_size": 2, "epochs": 1,
                 "max_new_tokens": 4, "checkpoint_every": 1, "n_eval": 4, **ppo_fields}.items():
        setattr(cfg.ppo, k, v)
    return cfg


# --------------------------------------------------------------------------- the critic (Eq. 8)
def test_critic_loss_falls(base_run):
    from girl_lib.models import load_sequence_scorer

    torch.manual_seed(0)
    critic, tok = load_sequence_scorer(str(base_run / "reward" / "model"))
    ppo.disable_dropout(critic)
    cvs, returns = CVS[:8], torch.linspace(-1.0, 1.0, 8)
    opt = torch.optim.AdamW(critic.parameters(), lr=3e-3)
    history = []
    for _ in range(25):
        loss = losses.critic_loss(ppo.critic_values(critic, tok, cvs, 64, grad=True), returns)  # Eq. 8
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert history[-1] < 0.5 * history[0]


# --------------------------------------------------------------------------- a toy task PPO must learn
def test_ppo_learns_toy_reward_with_bounded_kl(run_dir):
    """A one-token bandit: the stand-in reward model pays 1 for a blank JD. The fake SFT model writes one
    ~10% of the time; PPO must make that the rule within a few iterations while the KL to the reference
    stays near what that costs (-log p_ref(blank) ~ 2-3 nats), then flag it as reward hacking, because
    the toy recruiter (oracle) wants JDs with content. Random drift of the weights would lower the
    blank rate (the blank token is the SFT model's favourite), so a rise is learning, not noise."""
    cfg = small_cfg(iterations=5, rollout_batch_size=16, minibatch_size=16, epochs=4, max_new_tokens=1,
                    use_lora=False, actor_lr=1e-3, kl_estimator="k3", n_eval=32, checkpoint_every=5)
    oracle = lambda cv, jd: float(len(jd.strip()))  # noqa: E731
    m = ppo.run_ppo(cfg, run_dir, inject=ppo.Inject(cvs=CVS, eval_cvs=CVS * 2, score_fn=blank_score, oracle_fn=oracle),
                    progress=False)
    assert 0.0 < m["reward_sft"] < 0.5, f"toy premise broken: the SFT model's blank rate is {m['reward_sft']}"
    rows = read_jsonl(run_dir / "ppo" / "metrics.jsonl")
    assert [r["iteration"] for r in rows] == list(range(1, 6))
    # Iteration 1 samples from actor == reference: KL exactly 0.
    assert rows[0]["kl"] == pytest.approx(0.0, abs=1e-6)
    for key in ("reward", "kl", "total_reward", "value", "policy_loss", "value_loss", "clip_frac", "approx_kl",
                "entropy", "response_len", "finished_rate", "kl_coef", "seconds"):
        assert all(math.isfinite(r[key]) for r in rows), key
    # Learning: training reward rises, and GIRL beats GIRL-SFT on the eval CVs by a wide margin.
    assert rows[-1]["reward"] > rows[0]["reward"] + 0.3
    assert m["reward_girl"] > m["reward_sft"] + 0.4, m
    # KL bounded: moved (> 0) but not beyond what switching to blank JDs costs.
    assert 0.05 < m["kl_girl"] < 4.0 and all(r["kl"] < 4.0 for r in rows)
    # Reward-hacking guard: U rose while the recruiter's fit fell.
    assert m["oracle_fit_girl"] < m["oracle_fit_sft"]
    assert m["reward_hacking_warning"] is True and "hacking" in m["note"]
    # U pays for blank JDs, the recruiter for length: wherever the two JDs of a CV differ in length, U
    # prefers the other one (or neither, a tie in U), so it never agrees with the recruiter.
    assert m["rm_oracle_agreement"] == 0.0
    for key in ("reward_sft", "reward_girl", "kl_girl", "oracle_fit_sft", "oracle_fit_girl", "iterations",
                "seconds"):
        assert key in m
    assert json.loads((run_dir / "ppo" / "metrics.json").read_text())["reward_girl"] == m["reward_girl"]
    assert is_done(run_dir, "ppo")
    # ppo/model loads exactly like the SFT model and differs from it.
    from girl_lib.models import load_generator

    girl, _ = load_generator(str(run_dir / "ppo" / "model"))
    sft, _ = load_generator(str(run_dir / "sft" / "model"))
    diff = max((a - b).abs().max().item() for a, b in zip(girl.state_dict().values(), sft.state_dict().values()))
    assert diff > 0


def test_grouped_forward_equals_plain_forward_and_gradients(base_run):
    """k JDs of one CV share the prompt's forward: same logits, hidden states and gradients as k plain
    rows (so PPO's group rollouts and updates compute exactly what the paper's per-JD ones would)."""
    from girl_lib.models import load_generator
    from girl_lib.sampling import Sampling, sample_batch

    model, tok = load_generator(str(base_run / "sft" / "model"))
    cvs = ["CV a: python, 3 years", "CV bbb: nurse in Boston with 10 years of care"]
    out = sample_batch(model, tok, cvs, Sampling(max_new_tokens=10), torch.Generator().manual_seed(0), repeats=3)
    ids, attn, P, mask = out["input_ids"], out["attention_mask"], out["prompt_len"], out["response_mask"].bool()
    # the sampler's shared prefill gives the same JDs as six independent rows
    plain = sample_batch(model, tok, [c for c in cvs for _ in range(3)], Sampling(max_new_tokens=10),
                         torch.Generator().manual_seed(0))
    assert plain["texts"] == out["texts"] and torch.equal(plain["input_ids"], ids)
    l1, h1 = losses.response_logits(model, ids, attn, P, 0.7, output_hidden_states=True)
    l2, h2 = losses.grouped_response_logits(model, ids, attn, P, 3, 0.7, output_hidden_states=True)
    assert (l1 - l2).abs()[mask].max() < 1e-4 and (h1 - h2).abs()[mask].max() < 1e-4
    grads = []
    for fn in (lambda: losses.response_logits(model, ids, attn, P)[0],
               lambda: losses.grouped_response_logits(model, ids, attn, P, 3)[0]):
        model.zero_grad(set_to_none=True)
        (losses.gather_logprobs(fn(), ids[:, P:]) * mask).sum().backward()
        grads.append([q.grad.clone() for q in model.parameters() if q.grad is not None])
    assert len(grads[0]) == len(grads[1]) > 0
    assert max((a - b).abs().max().item() for a, b in zip(*grads)) < 1e-3 * max(a.abs().max().item() for a in grads[0])
    with pytest.raises(ValueError, match="share their prompt"):
        losses.grouped_response_logits(model, ids[[0, 1, 3, 2, 4, 5]], attn, P, 3)


def test_group_baseline_carries_the_signal_eq5_drowns_in_cv_offsets(run_dir):
    """The blank-JD bandit plus a large per-CV offset in U (some CVs are simply easier to fit), on the same
    k = 4 samples per CV: RLOO's advantage is exactly "was this JD blank, compared with its CV's others",
    while Eq. 5 with the critic PPO starts from (U^c(C, _), not yet trained) mostly carries the offsets.
    (A multi-iteration race between the two flipped with the tiny model's vocabulary: +0.62 vs +0.34 with
    one, +0.22 vs +0.38 with another, so the test checks the mechanism on the same samples instead.)"""
    offset = {cv: 10.0 * (i % 4) for i, cv in enumerate(CVS)}

    def offset_blank(cvs, jds):
        return torch.tensor([offset[c] + float(not j.strip()) for c, j in zip(cvs, jds)])

    cfg = small_cfg(max_new_tokens=1, temperature=1.0)
    res = ppo.compare_baselines(cfg, run_dir, CVS, k=4, score_fn=offset_blank, oracle_fn=lambda cv, jd: 0.0)
    blank = torch.tensor([float(not j.strip()) for j in res["jd"]])
    assert 0 < blank.sum() < len(blank), "toy premise broken: no blank (or only blank) JDs were sampled"
    within = (blank.reshape(-1, 4) - blank.reshape(-1, 4).mean(-1, keepdim=True)).reshape(-1)
    corr = lambda a, b: float(torch.corrcoef(torch.stack([torch.tensor(a), b]))[0, 1])  # noqa: E731
    # RLOO: a_i = (4/3) (blank_i - mean blank of the CV), exactly
    assert torch.allclose(torch.tensor(res["adv_rloo"]), within * 4 / 3, atol=1e-5)
    assert res["within_share_rloo"] == pytest.approx(1.0)
    # Eq. 5: mostly offsets, little of the blank signal
    # (seen with two tiny models: correlation -0.04 and -0.07, within-CV share 0.001)
    assert corr(res["adv_eq5"], blank) < 0.5 and res["within_share_eq5"] < 0.2


# --------------------------------------------------------------------------- checkpoints and resume
def _final_weights(run_dir):
    from safetensors.torch import load_file

    return load_file(str(run_dir / "ppo" / "model" / "model.safetensors"))


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize("options", [
    {},
    # full fine-tuning instead of LoRA, and every option beyond the paper at once: GAE with a token
    # value head, k1 KL, adaptive lambda, whitening, missing-EOS penalty
    {"use_lora": False, "baseline": "gae", "gamma": 0.99, "lam": 0.9, "kl_estimator": "k1", "adaptive_kl": True,
     "kl_horizon": 50, "whiten_advantages": True, "missing_eos_penalty": 0.5},
    # k = 2 JDs per CV with RLOO, the summed KL and LoRA (grouped forward through a PEFT model)
    {"baseline": "rloo", "samples_per_cv": 2, "kl_reduction": "sum", "use_lora": True},
], ids=["paper", "all-options", "rloo"])
def test_resume_matches_uninterrupted_run(base_run, tmp_path, options):
    runs = {}
    for name in ("straight", "resumed"):
        runs[name] = tmp_path / name
        shutil.copytree(base_run, runs[name])
    cfg = small_cfg(**options)
    kw = dict(inject=ppo.Inject(cvs=CVS, eval_cvs=CVS[:4], score_fn=length_score), progress=False)
    full = ppo.run_ppo(cfg, runs["straight"], **kw)

    stopped = ppo.run_ppo(cfg, runs["resumed"], stop_after=1, **kw)
    assert stopped["stopped_at"] == 1 and not is_done(runs["resumed"], "ppo")
    state = json.loads((runs["resumed"] / "ppo" / "checkpoint" / "state.json").read_text())
    assert state["iteration"] == 1
    # A row logged after the checkpoint (as if killed mid-way) must be dropped and redone.
    with open(runs["resumed"] / "ppo" / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"iteration": 2, "reward": 999.0}) + "\n")
    resumed = ppo.run_ppo(cfg, runs["resumed"], resume=True, **kw)

    a, b = read_jsonl(runs["straight"] / "ppo" / "metrics.jsonl"), read_jsonl(runs["resumed"] / "ppo" / "metrics.jsonl")
    assert [r["iteration"] for r in b] == [1, 2, 3]
    for ra, rb in zip(_strip(a), _strip(b)):
        assert ra.keys() == rb.keys()
        for k in ra:
            assert rb[k] == pytest.approx(ra[k], rel=1e-5, abs=1e-6), (ra["iteration"], k)
    ckpt_files = {p.name for p in (runs["resumed"] / "ppo" / "checkpoint" / "actor").iterdir()}
    assert ("adapter_model.safetensors" in ckpt_files) == cfg.ppo.use_lora
    assert not any(p.suffix in (".bin", ".pkl") for p in (runs["resumed"] / "ppo").rglob("*"))
    wa, wb = _final_weights(runs["straight"]), _final_weights(runs["resumed"])
    assert not any("lora" in k or k.startswith("base_model") for k in wa)  # adapter merged away
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=1e-6), k
    for k in ("reward_girl", "reward_sft", "kl_girl"):
        assert resumed[k] == pytest.approx(full[k], rel=1e-5, abs=1e-6)
    if options.get("adaptive_kl"):
        assert full["kl_coef_final"] != cfg.ppo.kl_coef


def _hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_nan_reward_stops_and_keeps_last_checkpoint(run_dir):
    cfg = small_cfg(iterations=3, checkpoint_every=1)
    ckpt = run_dir / "ppo" / "checkpoint"
    seen = {"calls": 0, "hashes": None}

    def flaky(cvs, jds):
        seen["calls"] += 1
        if seen["calls"] == 3:  # iteration 3: the checkpoint of iteration 2 is on disk now
            seen["hashes"] = _hashes(ckpt)
            return torch.full((len(jds),), float("nan"))
        return length_score(cvs, jds)

    with pytest.raises(NonFiniteError, match="NaN"):
        ppo.run_ppo(cfg, run_dir, inject=ppo.Inject(cvs=CVS, eval_cvs=CVS[:4], score_fn=flaky), progress=False)
    assert json.loads((ckpt / "state.json").read_text())["iteration"] == 2
    assert _hashes(ckpt) == seen["hashes"]  # untouched by the failed iteration
    assert not (run_dir / "ppo" / "model").exists() and not is_done(run_dir, "ppo")
    assert [r["iteration"] for r in read_jsonl(run_dir / "ppo" / "metrics.jsonl")] == [1, 2]
    # Fixing the cause and resuming finishes the run from iteration 3.
    m = ppo.run_ppo(cfg, run_dir, resume=True, inject=ppo.Inject(cvs=CVS, eval_cvs=CVS[:4], score_fn=length_score),
                    progress=False)
    assert m["iterations"] == 3 and is_done(run_dir, "ppo")


# --------------------------------------------------------------------------- reward-KL trade-off
def test_reward_kl_tradeoff_larger_lambda_keeps_policy_closer(run_dir):
    # n_eval = 16 CVs, so a reward is a multiple of 1/16. Across PPO seeds 0-4 this set-up gave
    # rewards (lambda=0 vs 10) of 0.62-0.94 vs 0-0.25 and KL ratios (10 vs 0) of 0.14-0.53: with Adam,
    # even a heavily penalised policy random-walks a little on noisy single-token KL estimates.
    cfg = small_cfg(iterations=3, rollout_batch_size=16, minibatch_size=16, epochs=4, max_new_tokens=1,
                    use_lora=False, actor_lr=1e-3, kl_estimator="k3", checkpoint_every=10, n_eval=16)
    rows = ppo.reward_kl_tradeoff(cfg, run_dir, kl_coefs=(0.0, 10.0),
                                  inject=ppo.Inject(cvs=CVS, eval_cvs=CVS, score_fn=blank_score), progress=False)
    assert [r["kl_coef"] for r in rows] == [0.0, 10.0]
    # Eq. 4: a heavy KL price keeps GIRL near GIRL-SFT; no price lets it chase the reward.
    assert rows[1]["kl_girl"] < 0.75 * rows[0]["kl_girl"]
    assert rows[0]["reward_girl"] >= rows[1]["reward_girl"] + 0.25
    assert (run_dir / "ppo_tradeoff" / "kl_10" / "metrics.json").exists()
    assert not (run_dir / "ppo_tradeoff" / "kl_10" / "model").exists()
    assert not is_done(run_dir, "ppo")


# --------------------------------------------------------------------------- the stage on real tiny data
def test_run_ppo_stage_defaults_on_tiny_data(base_run, tiny_data_dir, tiny_cfg, tmp_path):
    """``girl ppo`` path: CVs from the ``rl`` split, U from ``reward/model``, the oracle from
    ``girl_lib.data``; metrics.json has every key the later stages read."""
    import copy

    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    shutil.copytree(tiny_data_dir / "data", run / "data")
    cfg = copy.deepcopy(tiny_cfg)
    cfg.ppo.iterations, cfg.ppo.max_new_tokens, cfg.ppo.n_eval, cfg.ppo.eval_samples = 2, 8, 3, 2
    m = ppo.run_ppo(cfg, run, progress=False)
    for key in ("reward_sft", "reward_girl", "kl_girl", "oracle_fit_sft", "oracle_fit_girl"):
        assert isinstance(m[key], float) and math.isfinite(m[key]), key
    assert m["n_eval"] == 3 and m["iterations"] == 2 and isinstance(m["reward_hacking_warning"], bool)
    assert m["note"]
    assert is_done(run, "ppo") and (run / "ppo" / "model" / "model.safetensors").exists()
    # reward_girl / reward_sft are the reward model's U on the eval JDs (n_eval = 3 = the examples).
    from girl_lib.reward import score_pairs

    cvs_, girl, sft = zip(*[(e["cv"], e["jd_girl"], e["jd_sft"]) for e in m["examples"]])
    rm = str(run / "reward" / "model")
    assert m["reward_girl"] == pytest.approx(sum(score_pairs(rm, list(cvs_), list(girl),
                                                             max_length=cfg.reward.max_length)) / 3, abs=1e-5)
    assert m["reward_sft"] == pytest.approx(sum(score_pairs(rm, list(cvs_), list(sft),
                                                            max_length=cfg.reward.max_length)) / 3, abs=1e-5)

    # The eval JDs were sampled exactly as the generate stage samples the judge's CVs, so that stage
    # copies them: GIRL-SFT's are what generate_jds gives with the judge chunk's seed ...
    from girl_lib.data import load_data
    from girl_lib.generate import chunk_seed, judge_sampling, load_generations, run_generate
    from girl_lib.models import load_generator
    from girl_lib.sampling import Sampling, generate_jds

    saved = read_json(run / "ppo" / "eval_generations.json")
    judge = load_data(run)["judge_eval"].select(range(3))
    assert saved["cv_ids"] == judge["seeker_id"] and saved["sampler"] == judge_sampling(cfg.generate).record()
    g = cfg.generate
    model, tok = load_generator(str(run / "sft" / "model"))
    direct = {i: t for i, t, _, _ in generate_jds(model, tok, judge["cv"], Sampling.of_generate(g, chunk_seed(g, 0)))}
    assert [r["jd"] for r in saved["sft"]] == [direct[i] for i in range(3)]
    # ... and the stage reuses both models' rows instead of sampling them again.
    cfg.generate.n_judge, cfg.generate.judge_samples = 3, 2
    stats = run_generate(cfg, run, models=("sft", "girl"), progress=False)
    assert stats["sft"]["reused_from_ppo"] == 6 and stats["girl"]["reused_from_ppo"] == 6
    for key in ("sft", "girl"):  # each CV's first JD, then its extra one (ppo.eval_samples = 2)
        got = load_generations(run, key, "judge_eval")
        assert [got[cid] for cid in saved["cv_ids"]] == [[r["jd"], e[0]["jd"]]
                                                         for r, e in zip(saved[key], saved["extra"][key])]
    cfg.generate.judge_samples = 1
    # other settings: nothing is reused
    cfg.generate.temperature = 0.5
    shutil.rmtree(run / "generate")
    assert run_generate(cfg, run, models=("sft",), progress=False)["sft"]["reused_from_ppo"] == 0


def test_ppo_with_a_dual_encoder_reward_model_and_critic(run_dir):
    """A ``dual`` reward model (reward.architecture=dual) serves as U and, copied, as the critic; the
    critic checkpoint keeps its kind, and a resumed run finishes."""
    from girl_lib.models import load_sequence_scorer, scorer_kind

    shutil.rmtree(run_dir / "reward" / "model")
    scorer, stok = load_sequence_scorer("tiny", kind="dual")
    with atomic_dir(run_dir / "reward" / "model") as d:
        scorer.save_pretrained(d)
        stok.save_pretrained(d)
    cfg = small_cfg(iterations=2, use_lora=False, checkpoint_every=1)
    ppo.run_ppo(cfg, run_dir, inject=ppo.Inject(cvs=CVS, eval_cvs=CVS[:4]), progress=False, stop_after=1)
    assert scorer_kind(str(run_dir / "ppo" / "checkpoint" / "critic")) == "dual"
    m = ppo.run_ppo(cfg, run_dir, resume=True, inject=ppo.Inject(cvs=CVS, eval_cvs=CVS[:4]), progress=False)
    assert m["iterations"] == 2 and math.isfinite(m["reward_girl"]) and math.isfinite(m["reward_sft"])
    rows = read_jsonl(run_dir / "ppo" / "metrics.jsonl")
    assert [r["iteration"] for r in rows] == [1, 2] and all(math.isfinite(r["value_loss"]) for r in rows)


def test_sign_agreement_known_values():
    # pairs: U and fit both rise; U rises, fit falls; U ties, fit rises; fit ties (left out)
    share, n = ppo._sign_agreement([0, 0, 0, 0], [1, 1, 0, 5], [0.1, 0.5, 0.2, 0.3], [0.4, 0.2, 0.3, 0.3])
    assert share == pytest.approx(1 / 3) and n == 3
    assert ppo._sign_agreement([1.0], [0.0], [0.5], [0.2]) == (1.0, 1)
    assert ppo._sign_agreement([1.0], [2.0], [0.5], [0.5]) == (None, 0)


def test_compare_baselines_on_the_same_samples(run_dir):
    """Eq. 5 and RLOO on one set of k JDs per CV: Eq. 5's advantage is r - U^c(C, _) row by row, RLOO's
    sums to 0 within each CV, and all of RLOO's variance lies within CVs."""
    cfg = small_cfg(max_new_tokens=6)
    res = ppo.compare_baselines(cfg, run_dir, CVS[:3], k=4, score_fn=length_score,
                                oracle_fn=lambda cv, jd: len(jd) / 10)
    assert len(res["jd"]) == 12 and res["cv"][:4] == [CVS[0]] * 4
    r, v = torch.tensor(res["reward"]), torch.tensor(res["value"])
    assert torch.allclose(torch.tensor(res["adv_eq5"]), r - v, atol=1e-6)
    assert torch.allclose(torch.tensor(res["adv_rloo"]).reshape(3, 4).sum(-1), torch.zeros(3), atol=1e-5)
    assert res["within_share_rloo"] in (None, pytest.approx(1.0))
    assert res["rm_oracle"]["pairs"] <= 3 * 6
    # U^c(C, _) does not depend on the JD: one value per CV
    assert torch.allclose(v.reshape(3, 4), v.reshape(3, 4)[:, :1].expand(3, 4))


def test_extra_eval_samples_keep_the_judged_jds_and_tighten_nothing_else(base_run, tmp_path):
    """``ppo.eval_samples=3``: the first JD of each eval CV (the one the judge reads) is the same as with one
    sample; the per-CV means then average three JDs per model."""
    out = {}
    for k in (1, 3):
        run = tmp_path / f"k{k}"
        shutil.copytree(base_run, run)
        cfg = small_cfg(iterations=1, eval_samples=k, n_eval=4, max_new_tokens=6)
        out[k] = ppo.run_ppo(cfg, run, inject=ppo.Inject(cvs=CVS, eval_cvs=CVS[:4], score_fn=length_score,
                                                   oracle_fn=lambda cv, jd: len(jd) / 10), progress=False)
    assert out[1]["eval_samples"] == 1 and out[3]["eval_samples"] == 3
    assert out[3]["examples"] == out[1]["examples"]
    assert out[1]["kl_girl"] == pytest.approx(out[3]["kl_girl"])
    for key in ("reward_diff", "oracle_fit_diff"):
        assert out[3][key]["n"] == 4 and out[3][key]["ci95"][0] <= out[3][key]["mean"] <= out[3][key]["ci95"][1]


def test_score_subtracts_each_penalty_from_u():
    """U minus the missing-EOS, layout and requirement-count penalties, each by its own weight."""
    from types import SimpleNamespace

    from girl_lib.config import PPOConfig
    from girl_lib.ppo import PPOTrainer
    from girl_lib.prompts import layout_shortfall, requirement_count_gap

    full = ("Analyst\nLocation: Boston, MA | Salary: $50k\nResponsibilities:\n- a\nRequirements:\n"
            "- SQL\n- Excel\n- Tableau")
    short = "Analyst\nRequirements:\n- SQL\n- 3+ years"
    texts = [full, short, ""]
    trainer = SimpleNamespace(p=PPOConfig(missing_eos_penalty=2.0, layout_penalty=0.5, requirements_penalty=0.6),
                              score_fn=lambda cvs, jds: [1.0, 2.0, 3.0], device=torch.device("cpu"), oracle_fn=None)
    batch = SimpleNamespace(cvs=["c"] * 3, texts=texts, finished=torch.tensor([True, True, False]))
    scored = PPOTrainer.score(trainer, batch, 0)
    assert [requirement_count_gap(t) for t in texts] == pytest.approx([0.0, 2 / 3, 1.0])
    expected = [1.0 - 0.5 * layout_shortfall(full), 2.0 - 0.5 * layout_shortfall(short) - 0.6 * 2 / 3,
                3.0 - 2.0 - 0.5 * 1.0 - 0.6 * 1.0]
    assert scored.raw_scores.tolist() == pytest.approx([1.0, 2.0, 3.0])
    assert scored.scores.tolist() == pytest.approx(expected)
