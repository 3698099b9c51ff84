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
