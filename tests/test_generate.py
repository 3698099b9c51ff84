import copy
import warnings

import pytest
import torch

from girl_lib import generate as g
from girl_lib import sampling as s
from girl_lib.generate import generations_path, load_generations, run_generate
from girl_lib.sampling import Sampling, sample_batch
from girl_lib.runio import read_jsonl

CVS = ["Nurse, 6 years in intensive care, Boston. Skills: patient care, triage.",
       "Junior data analyst. Built Tableau dashboards for sales; SQL, Excel, Python. Berlin."]


def test_sample_batch_masks_and_shapes(tiny_generator):
    model, tok = tiny_generator
    out = sample_batch(model, tok, CVS, Sampling(max_new_tokens=12, temperature=1.0), torch.Generator().manual_seed(0))
    B, P = len(CVS), out["prompt_len"]
    R = out["response_mask"].shape[1]
    assert out["input_ids"].shape == (B, P + R) and out["attention_mask"].shape == (B, P + R)
    resp = out["input_ids"][:, P:]
    for b in range(B):
        mask = out["response_mask"][b].tolist()
        # ones then zeros: a row stops after its EOS
        assert mask == sorted(mask, reverse=True)
        n = sum(mask)
        assert out["n_tokens"][b] == n
        if out["finished"][b]:
            assert resp[b, n - 1] == tok.eos_token_id
        else:
            assert n == R == 12
        assert (resp[b, n:] == tok.pad_token_id).all()


def test_sampling_is_reproducible_from_the_generator(tiny_generator):
    model, tok = tiny_generator
    a = sample_batch(model, tok, CVS, Sampling(max_new_tokens=10), torch.Generator().manual_seed(3))
    b = sample_batch(model, tok, CVS, Sampling(max_new_tokens=10), torch.Generator().manual_seed(3))
    c = sample_batch(model, tok, CVS, Sampling(max_new_tokens=10), torch.Generator().manual_seed(4))
    assert torch.equal(a["input_ids"], b["input_ids"])
    assert not torch.equal(a["input_ids"], c["input_ids"])


def test_greedy_kv_cache_loop_matches_hf_generate_and_ignores_left_padding(tiny_generator):
    model, tok = tiny_generator
    batched = sample_batch(model, tok, CVS, Sampling(max_new_tokens=8, temperature=0.0))
    alone = sample_batch(model, tok, CVS[:1], Sampling(max_new_tokens=8, temperature=0.0))
    assert batched["texts"][0] == alone["texts"][0]  # padding next to a longer CV changes nothing
    from girl_lib.prompts import render_prompt

    enc = tok([render_prompt(tok, CVS[1])], return_tensors="pt", add_special_tokens=False)
    ref = model.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
    ours = sample_batch(model, tok, CVS[1:], Sampling(max_new_tokens=8, temperature=0.0))
    n = int(ours["n_tokens"][0])
    assert ref[0, enc["input_ids"].shape[1]:][:n].tolist() == ours["input_ids"][0, ours["prompt_len"]:][:n].tolist()


def test_run_generate_writes_and_resumes_identically(tiny_cfg, tiny_data_dir, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_data_dir, run_dir)
    run_generate(tiny_cfg, run_dir, models=("base",), progress=False)
    full = read_jsonl(generations_path(run_dir, "base"))
    assert {r["subset"] for r in full} == {"judge_eval", "rec"}
    rec = load_generations(run_dir, "base", "rec")
    assert all(len(v) == tiny_cfg.generate.n_samples for v in rec.values())
    # Kill mid-way: keep the first third of the rows and a torn line, then rerun.
    path = generations_path(run_dir, "base")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[: len(lines) // 3]) + '\n{"subset": "rec", "cv')
    run_generate(tiny_cfg, run_dir, models=("base",), progress=False)
    resumed = read_jsonl(path)
    key = lambda r: (r["subset"], r["cv_id"], r["sample"])  # noqa: E731
    assert sorted(map(key, resumed)) == sorted(map(key, full))
    assert {key(r): r["jd"] for r in resumed} == {key(r): r["jd"] for r in full}


def test_shared_prefix_length_on_left_padded_prompts():
    from girl_lib import sampling as g

    common = list(range(100, 120))  # 20 shared tokens, above the 16-token minimum
    rows = [common + [1, 2, 3], common + [4, 5], common + [1, 9, 9, 9]]
    width = max(map(len, rows))
    ids = torch.tensor([[0] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    assert g._shared_prefix_len(ids, mask) == 20
    assert g._shared_prefix_len(ids[:1], mask[:1]) == 0  # one row: nothing to share
    # identical prompts keep at least one token of their own for the batched forward
    same = torch.tensor([common + [1], common + [1]])
    assert g._shared_prefix_len(same, torch.ones_like(same)) == 20
    short = torch.tensor([common[:10] + [1], common[:10] + [2]])
    assert g._shared_prefix_len(short, torch.ones_like(short)) == 0  # below the minimum: plain prefill


def test_shared_prefix_prefill_gives_the_plain_prefill_results(tiny_generator):
    """Rows generated in a batch (shared-prefix prefill of the Fig. 3 template) equal the same rows
    generated one at a time (plain prefill), greedy, with a peaked copy of the tiny model."""
    import copy

    from girl_lib import sampling as g
    from girl_lib.prompts import render_prompt

    model, tok = tiny_generator
    peaked = copy.deepcopy(model)
    with torch.no_grad():
        peaked.model.norm.weight.mul_(5.0)
    cvs = CVS + ["Chef, 3 years, Lyon. French cuisine, menu costing.", "Welder. MIG/TIG, 10 years, Houston."]
    enc = tok([render_prompt(tok, c) for c in cvs], return_tensors="pt", padding=True,
              add_special_tokens=False)
    assert g._shared_prefix_len(enc["input_ids"], enc["attention_mask"]) >= 16  # the path is exercised
    batched = sample_batch(peaked, tok, cvs, Sampling(max_new_tokens=12, temperature=0.0))
    for i, cv in enumerate(cvs):
        alone = sample_batch(peaked, tok, [cv], Sampling(max_new_tokens=12, temperature=0.0))
        assert batched["texts"][i] == alone["texts"][0], i


def test_shared_prefix_prefill_logits_and_first_step_match_plain_forward(tiny_generator):
    """The prefill's last-position logits, and the logits of one decode step on top of its cache, equal
    a plain left-padded forward of prompt (+ token): positions and masks line up exactly."""
    from girl_lib import sampling as g
    from girl_lib.prompts import render_prompt

    model, tok = tiny_generator
    tok.padding_side = "left"
    cvs = CVS + ["Welder. MIG/TIG, 10 years, Houston."]
    enc = tok([render_prompt(tok, c) for c in cvs], return_tensors="pt", padding=True, add_special_tokens=False)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    n = g._shared_prefix_len(ids, mask)
    assert n >= 16
    kw = g._cache_kwarg(model)
    with torch.inference_mode():
        cache = g._prealloc_cache(model, ids.shape[1] + 1)
        logits, attention = g._prefill_shared_prefix(model, cache, kw, ids, mask, n, tok.pad_token_id)
        ref = model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0)).logits
        assert torch.allclose(logits, ref[:, -1], atol=1e-4)
        nxt = ref[:, -1].argmax(-1, keepdim=True)
        step = model(input_ids=nxt, attention_mask=torch.cat([attention, torch.ones_like(nxt)], 1),
                     position_ids=mask.sum(1, keepdim=True), use_cache=True, **{kw: cache}).logits[:, -1]
        ids2, mask2 = torch.cat([ids, nxt], 1), torch.cat([mask, torch.ones_like(nxt)], 1)
        ref2 = model(input_ids=ids2, attention_mask=mask2, position_ids=(mask2.cumsum(-1) - 1).clamp(min=0)).logits
        assert torch.allclose(step, ref2[:, -1], atol=1e-4)


def test_length_batches_sort_by_length_and_fold_a_small_remainder():
    from girl_lib.sampling import length_batches

    cvs = ["x" * n for n in (5, 1, 4, 2, 3, 9, 7, 8, 6)]
    # Shortest first, every index exactly once.
    assert length_batches(cvs, 3) == [[1, 3, 4], [2, 0, 8], [6, 7, 5]]
    assert length_batches(cvs, 4) == [[1, 3, 4, 2], [0, 8, 6, 7], [5]]  # 1 of 4 is not under a quarter
    assert length_batches(cvs, 8) == [[1, 3, 4, 2, 0, 8, 6, 7, 5]]  # 1 of 8 is: the lone row joins
    assert [len(b) for b in length_batches(["a"] * 65, 32)] == [32, 33]
    assert length_batches(["a"], 32) == [[0]]


def test_run_generate_measures_realism_of_the_judge_jds(tiny_cfg, tiny_data_dir, tmp_path):
    """Every row already on disk (no model is loaded): metrics.json still gets ``realism`` for each model and
    the real postings, and GIRL - GIRL-SFT paired over the judge CVs."""
    import json
    import shutil

    from girl_lib.data import load_data
    from girl_lib.runio import append_jsonl, mark_done, read_json

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_data_dir, run_dir)
    mark_done(run_dir, "sft")
    mark_done(run_dir, "ppo")
    jobs, cv_text = g.generation_jobs(run_dir, tiny_cfg)
    real = load_data(run_dir)["sft"]["jd"]
    thin = "Analyst\nResponsibilities:\n- Reports\nRequirements:\n- 3+ years of experience\n- SQL\n- Great attitude"
    jds = {"base": lambda i: "", "sft": lambda i: thin, "girl": lambda i: real[i]}
    for key, jd in jds.items():
        append_jsonl(generations_path(run_dir, key),
                     [{"subset": s, "cv_id": c, "sample": k, "jd": jd(i), "n_tokens": 1, "finished": True}
                      for i, (s, c, k) in enumerate(g.model_jobs(jobs, key, tiny_cfg.generate))])
    stats = run_generate(tiny_cfg, run_dir, progress=False)
    assert all(stats[k]["generated_now"] == 0 for k in jds)
    metrics = read_json(run_dir / "generate" / "metrics.json")
    assert metrics == json.loads(json.dumps(stats))
    n_judge = len({c for s, c in cv_text if s == "judge_eval"})
    real_row = metrics["realism"]
    assert set(real_row) == {"base", "sft", "girl", "real"}
    assert all(real_row[k]["n_jds"] == n_judge for k in real_row)  # judge_samples = 1; as many real ones
    assert real_row["base"]["n_required_mean"] == 0 and real_row["base"]["level_distribution"]["missing"] == 1
    assert real_row["sft"]["n_required_mean"] == 1 and real_row["sft"]["unreadable_requirement_lines"] == 1
    assert real_row["real"]["share_required_3_5"] > 0.8 and real_row["real"]["sections_present"]["salary"] == 1
    d = metrics["realism_diff_girl_sft"]
    assert d["n_cvs"] == n_judge and d["n_required_mean"]["mean"] > 2 and d["share_required_3_5"]["ci95"][0] > 0


def test_judge_samples_for_sft_and_girl_only_and_copied_from_ppo(tiny_cfg, tmp_path):
    """generate.judge_samples = k: GIRL-SFT and GIRL get k JDs per judge CV, base one; PPO's final evaluation
    (first JD + ``extra``) is copied only when it holds the same CVs, settings and at least k JDs."""
    import copy

    from girl_lib.generate import judge_sampling, model_jobs, ppo_eval_rows
    from girl_lib.runio import atomic_write_json

    cfg = copy.deepcopy(tiny_cfg)
    cfg.generate.judge_samples = 3
    cfg.generate.rec_models = ("sft",)
    jobs = [("judge_eval", cid, k) for k in range(3) for cid in ("a", "b")] + [("rec", "r1", 0)]
    assert [j for j in model_jobs(jobs, "base", cfg.generate)] == [("judge_eval", "a", 0), ("judge_eval", "b", 0)]
    assert len(model_jobs(jobs, "girl", cfg.generate)) == 6
    assert model_jobs(jobs, "sft", cfg.generate)[-1] == ("rec", "r1", 0)

    judge_jobs = jobs[:6]
    row = lambda t: {"jd": t, "n_tokens": 3, "finished": True}  # noqa: E731
    saved = {"sampler": judge_sampling(cfg.generate).record(), "cv_ids": ["a", "b"], "girl": [row("a0"), row("b0")],
             "sft": [row("sa0"), row("sb0")],
             "extra": {"girl": [[row("a1"), row("a2")], [row("b1"), row("b2")]], "sft": [[row("s")] * 2] * 2}}
    atomic_write_json(tmp_path / "ppo" / "eval_generations.json", saved)
    rows = ppo_eval_rows(tmp_path, "girl", judge_jobs, cfg.generate)
    assert {(r["cv_id"], r["sample"]): r["jd"] for r in rows} == {
        ("a", 0): "a0", ("b", 0): "b0", ("a", 1): "a1", ("b", 1): "b1", ("a", 2): "a2", ("b", 2): "b2"}
    assert ppo_eval_rows(tmp_path, "base", judge_jobs, cfg.generate) is None
    saved["extra"]["girl"] = [[row("a1")], [row("b1")]]  # PPO sampled 2 per CV, 3 asked
    atomic_write_json(tmp_path / "ppo" / "eval_generations.json", saved)
    assert ppo_eval_rows(tmp_path, "girl", judge_jobs, cfg.generate) is None
    assert len(ppo_eval_rows(tmp_path, "girl", judge_jobs[:4], cfg.generate)) == 4  # 2 asked: copied
    saved["cv_ids"] = ["b", "a"]
    atomic_write_json(tmp_path / "ppo" / "eval_generations.json", saved)
    assert ppo_eval_rows(tmp_path, "girl", judge_jobs[:4], cfg.generate) is None


# --------------------------------------------------------------------------- backends: "fast" and "hf"
BATCH_CVS = CVS + ["Chef, 3 years, Lyon. French cuisine, menu costing.", "Welder. MIG/TIG, 10 years, Houston.",
                   "Teacher."]
"""CVs of different lengths: left padding, and (at least two rows) the shared-prefix prefill."""


@pytest.fixture(scope="module")
def context_lm(tiny_generator):
    """A random tiny Llama (the tiny generator's shape and tokenizer) with an untied LM head. The tiny
    generator's greedy JDs repeat one token whatever the context; this one's change token by token, so a
    wrong position or mask changes them."""
    from transformers import LlamaForCausalLM

    model, tok = tiny_generator
    config = copy.deepcopy(model.config)
    config.tie_word_embeddings, config.initializer_range = False, 0.1
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return LlamaForCausalLM(config).eval(), tok


def _stopping(model, tok, step: int, alpha: float):
    """A copy of ``model`` whose EOS logit is ``alpha`` times that of the token its greedy JD of
    ``BATCH_CVS[0]`` has at ``step``: rows stop at different steps, so finished rows get dropped."""
    out = sample_batch(model, tok, BATCH_CVS, Sampling(max_new_tokens=step + 1, temperature=0.0))
    trigger = int(out["input_ids"][0, out["prompt_len"] + step])
    stopping = copy.deepcopy(model)
    with torch.no_grad():
        stopping.lm_head.weight[tok.eos_token_id] = alpha * stopping.lm_head.weight[trigger]
    return stopping


def _mixed_lengths_model(model, tok, ok):
    """The first :func:`_stopping` copy (over a few trigger steps and strengths) that ``ok(copy)`` accepts.
    The random tiny model's tokens depend on its tokenizer, trained on the world's texts, so a fixed (step,
    alpha) may make every row stop at once on another build; the search keeps the tests' preconditions true
    on any build, and fails loudly if none does."""
    for step in (3, 2, 4, 5, 6):
        for alpha in (1.5, 3.0, 1.2, 2.0, 5.0):
            candidate = _stopping(model, tok, step, alpha)
            if ok(candidate):
                return candidate
    pytest.fail("no EOS trigger found that makes the rows stop at different steps")


def _run_recording(monkeypatch, model, tok, cvs, generator=None, repeats=1, **sampling):
    """``sample_batch(model, tok, cvs, Sampling(**sampling), generator, repeats)`` and the logits every sampling
    step saw (running rows only)."""
    seen = []

    def recording(logits, *rest):
        seen.append(logits.clone())
        return sample_next(logits, *rest)

    sample_next = s._sample_next
    monkeypatch.setattr(s, "_sample_next", recording)
    out = sample_batch(model, tok, cvs, Sampling(**sampling), generator, repeats)
    monkeypatch.setattr(s, "_sample_next", sample_next)
    return out, seen


def _assert_same_output(a: dict, b: dict):
    assert a.keys() == b.keys() and a["prompt_len"] == b["prompt_len"] and a["texts"] == b["texts"]
    for key in ("input_ids", "attention_mask", "response_mask", "finished", "n_tokens"):
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key


def test_hf_backend_greedy_matches_fast_token_for_token(context_lm, monkeypatch):
    """Greedy: the plain loop and ours give the same tokens, and the same logits at every step (a position
    or mask off by one in either changes them by far more than float rounding); both equal HF generate."""
    model, tok = context_lm
    def mixed(m):  # rows stop at different steps, none at once, some never
        n = sample_batch(m, tok, BATCH_CVS, Sampling(max_new_tokens=24, temperature=0.0))["n_tokens"]
        return 1 < int(n.min()) < int(n.max()) == 24

    model = _mixed_lengths_model(model, tok, mixed)
    fast, fast_logits = _run_recording(monkeypatch, model, tok, BATCH_CVS, max_new_tokens=24, temperature=0.0,
                                       backend="fast")
    hf, hf_logits = _run_recording(monkeypatch, model, tok, BATCH_CVS, max_new_tokens=24, temperature=0.0,
                                   backend="hf")
    n = fast["n_tokens"]
    assert 1 < int(n.min()) < int(n.max()) == 24  # rows stop at different steps...
    assert fast_logits[-1].shape[0] < len(BATCH_CVS)  # ...and finished rows were dropped
    _assert_same_output(fast, hf)
    assert len(fast_logits) == len(hf_logits)
    for step, (a, b) in enumerate(zip(fast_logits, hf_logits)):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-4), step
    # both equal transformers' own greedy generate on the same left-padded batch
    P = fast["prompt_len"]
    ref = model.generate(input_ids=fast["input_ids"][:, :P], attention_mask=fast["attention_mask"][:, :P],
                         max_new_tokens=24, do_sample=False, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    for row, k in enumerate(n.tolist()):
        assert ref[row, P:P + k].tolist() == fast["input_ids"][row, P:P + k].tolist(), row


def test_hf_backend_samples_the_same_tokens_as_fast(context_lm, monkeypatch):
    """Sampling (T = 0.7, top-p 0.9, 3 JDs per CV): the same generator seed gives the same JDs token for token,
    also after finished rows were dropped (the plain loop draws its uniforms for the same rows). The
    shared-prefix prefill is off here: it is the one computation that differs in float rounding (checked
    by the next test); with it on, a draw that lands within rounding of a CDF step may differ."""
    model, tok = context_lm
    monkeypatch.setattr(s, "_shared_prefix_len", lambda *a: 0)
    kw = dict(max_new_tokens=24, temperature=0.7, top_p=0.9, repeats=3)

    def drops_rows(m):  # the fast decoder drops finished rows on this sampled run
        _, seen = _run_recording(monkeypatch, m, tok, BATCH_CVS, generator=torch.Generator().manual_seed(1),
                                 backend="fast", **kw)
        return seen[-1].shape[0] < 3 * len(BATCH_CVS)

    model = _mixed_lengths_model(model, tok, drops_rows)
    fast, fast_logits = _run_recording(monkeypatch, model, tok, BATCH_CVS, generator=torch.Generator().manual_seed(1),
                                       backend="fast", **kw)
    hf, hf_logits = _run_recording(monkeypatch, model, tok, BATCH_CVS, generator=torch.Generator().manual_seed(1),
                                   backend="hf", **kw)
    assert fast_logits[-1].shape[0] < 3 * len(BATCH_CVS)  # finished rows were dropped
    _assert_same_output(fast, hf)
    assert [x.shape for x in fast_logits] == [x.shape for x in hf_logits]
    other = sample_batch(model, tok, BATCH_CVS, Sampling(24, 0.7, 0.9, backend="hf"), torch.Generator().manual_seed(2),
                         repeats=3)
    assert not torch.equal(other["input_ids"], hf["input_ids"])  # the tokens do come from the generator


def test_hf_backend_first_step_distribution_matches_the_shared_prefix_prefill(context_lm, monkeypatch):
    """With the shared-prefix prefill on (the default), the first sampling step of both backends sees the
    same logits up to float rounding: the same distribution, temperature and top-p applied alike."""
    from girl_lib.prompts import render_prompt

    model, tok = context_lm
    enc = tok([render_prompt(tok, c) for c in BATCH_CVS], return_tensors="pt", padding=True,
              add_special_tokens=False)
    assert s._shared_prefix_len(enc["input_ids"], enc["attention_mask"]) >= 16  # the path is exercised
    kw = dict(max_new_tokens=1, temperature=0.7, top_p=0.9)
    _, (fast,) = _run_recording(monkeypatch, model, tok, BATCH_CVS, generator=torch.Generator().manual_seed(0),
                                backend="fast", **kw)
    _, (hf,) = _run_recording(monkeypatch, model, tok, BATCH_CVS, generator=torch.Generator().manual_seed(0),
                              backend="hf", **kw)
    assert torch.allclose(fast, hf, atol=1e-4)
    assert torch.allclose(torch.softmax(fast / 0.7, -1), torch.softmax(hf / 0.7, -1), atol=1e-6)


def test_backend_is_validated_by_the_config_and_by_sample_batch(tiny_generator):
    import dataclasses

    from girl_lib.config import ConfigError, GenerateConfig, get_profile, validate_profile

    assert GenerateConfig().backend == "fast" and get_profile("tiny", ["generate.backend=hf"]).generate.backend == "hf"
    with pytest.raises(ConfigError, match=r"generate\.backend"):
        validate_profile(dataclasses.replace(get_profile("tiny"), generate=GenerateConfig(backend="nope")))
    with pytest.raises(ConfigError, match=r"generate\.backend='nope'"):
        get_profile("tiny", ["generate.backend=nope"])
    model, tok = tiny_generator
    with pytest.raises(ValueError, match="nope"):
        sample_batch(model, tok, CVS[:1], Sampling(max_new_tokens=2, backend="nope"))


def test_fast_backend_falls_back_to_hf_once_warned_when_the_internal_is_missing(tiny_generator, monkeypatch):
    model, tok = tiny_generator
    monkeypatch.setattr(s, "FAST_BACKEND_AVAILABLE", False)
    monkeypatch.setattr(s, "_FALLBACK_WARNED", False)
    monkeypatch.setattr(s, "_decode_fast", lambda *a: pytest.fail("the fast decoder ran"))
    expected = sample_batch(model, tok, CVS, Sampling(max_new_tokens=6, temperature=0.0, backend="hf"))
    with pytest.warns(RuntimeWarning, match="DynamicLayer"):
        out = sample_batch(model, tok, CVS, Sampling(max_new_tokens=6, temperature=0.0, backend="fast"))
    _assert_same_output(out, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per process, not per batch
        sample_batch(model, tok, CVS, Sampling(max_new_tokens=2, temperature=0.0))


def test_run_generate_and_generate_jds_pass_the_configured_backend(tiny_cfg, tiny_data_dir, tiny_generator, tmp_path,
                                                                   monkeypatch):
    import shutil

    from girl_lib.sampling import generate_jds

    seen = []

    class Stop(Exception):
        pass

    def spy(model, tok, cvs, sampling, *rest, **kwargs):
        seen.append(sampling.backend)
        raise Stop

    monkeypatch.setattr(s, "sample_batch", spy)
    with pytest.raises(Stop):
        next(generate_jds(*tiny_generator, ["cv"], Sampling(backend="hf")))
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_data_dir, run_dir)
    cfg = copy.deepcopy(tiny_cfg)
    cfg.generate.backend = "hf"
    with pytest.raises(Stop):
        run_generate(cfg, run_dir, models=("base",), progress=False)
    assert seen == ["hf", "hf"]
