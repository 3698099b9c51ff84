import torch

from girl_lib.generate import generations_path, load_generations, run_generate, sample_batch
from girl_lib.runio import read_jsonl

CVS = ["Nurse, 6 years in intensive care, Boston. Skills: patient care, triage.",
       "Junior data analyst. Built Tableau dashboards for sales; SQL, Excel, Python. Berlin."]


def test_sample_batch_masks_and_shapes(tiny_generator):
    model, tok = tiny_generator
    out = sample_batch(model, tok, CVS, max_new_tokens=12, temperature=1.0,
                       generator=torch.Generator().manual_seed(0))
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
    a = sample_batch(model, tok, CVS, 10, generator=torch.Generator().manual_seed(3))
    b = sample_batch(model, tok, CVS, 10, generator=torch.Generator().manual_seed(3))
    c = sample_batch(model, tok, CVS, 10, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a["input_ids"], b["input_ids"])
    assert not torch.equal(a["input_ids"], c["input_ids"])


def test_greedy_kv_cache_loop_matches_hf_generate_and_ignores_left_padding(tiny_generator):
    model, tok = tiny_generator
    batched = sample_batch(model, tok, CVS, 8, temperature=0.0)
    alone = sample_batch(model, tok, CVS[:1], 8, temperature=0.0)
    assert batched["texts"][0] == alone["texts"][0]  # padding next to a longer CV changes nothing
    from girl_lib.prompts import render_prompt

    enc = tok([render_prompt(tok, CVS[1])], return_tensors="pt", add_special_tokens=False)
    ref = model.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
    ours = sample_batch(model, tok, CVS[1:], 8, temperature=0.0)
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
    from girl_lib import generate as g

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

    from girl_lib import generate as g
    from girl_lib.prompts import render_prompt

    model, tok = tiny_generator
    peaked = copy.deepcopy(model)
    with torch.no_grad():
        peaked.model.norm.weight.mul_(5.0)
    cvs = CVS + ["Chef, 3 years, Lyon. French cuisine, menu costing.", "Welder. MIG/TIG, 10 years, Houston."]
    enc = tok([render_prompt(tok, c) for c in cvs], return_tensors="pt", padding=True,
              add_special_tokens=False)
    assert g._shared_prefix_len(enc["input_ids"], enc["attention_mask"]) >= 16  # the path is exercised
    batched = sample_batch(peaked, tok, cvs, 12, temperature=0.0)
    for i, cv in enumerate(cvs):
        alone = sample_batch(peaked, tok, [cv], 12, temperature=0.0)
        assert batched["texts"][i] == alone["texts"][0], i


def test_shared_prefix_prefill_logits_and_first_step_match_plain_forward(tiny_generator):
    """The prefill's last-position logits, and the logits of one decode step on top of its cache, equal
    a plain left-padded forward of prompt (+ token): positions and masks line up exactly."""
    from girl_lib import generate as g
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
    from girl_lib.generate import length_batches

    cvs = ["x" * n for n in (5, 1, 4, 2, 3, 9, 7, 8, 6)]
    # Shortest first, every index exactly once.
    assert length_batches(cvs, 3) == [[1, 3, 4], [2, 0, 8], [6, 7, 5]]
    assert length_batches(cvs, 4) == [[1, 3, 4, 2], [0, 8, 6, 7], [5]]  # 1 of 4 is not under a quarter
    assert length_batches(cvs, 8) == [[1, 3, 4, 2, 0, 8, 6, 7, 5]]  # 1 of 8 is: the lone row joins
    assert [len(b) for b in length_batches(["a"] * 65, 32)] == [32, 33]
    assert length_batches(["a"], 32) == [[0]]


def test_judge_samples_for_sft_and_girl_only_and_copied_from_ppo(tiny_cfg, tmp_path):
    """generate.judge_samples = k: GIRL-SFT and GIRL get k JDs per judge CV, base one; PPO's final evaluation
    (first JD + ``extra``) is copied only when it holds the same CVs, settings and at least k JDs."""
    import copy

    from girl_lib.generate import judge_sampler, model_jobs, ppo_eval_rows
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
    saved = {"sampler": judge_sampler(cfg.generate), "cv_ids": ["a", "b"], "girl": [row("a0"), row("b0")],
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
