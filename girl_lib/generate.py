"""JD generation: batched sampling for the judge and the recommender (paper Sec. VI).

Output format, one file per model: ``<run_dir>/generate/<model>.jsonl``, one row per generated JD::

    {"subset": "judge_eval" | "rec", "cv_id": "s000123", "sample": 0, "jd": "...",
     "n_tokens": 97, "finished": true}

Model keys: ``base`` (the untuned generator), ``sft`` (GIRL-SFT), ``girl`` (GIRL, after PPO).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .runio import GirlError, read_jsonl

MODEL_NAMES = {"base": "base", "sft": "GIRL-SFT", "girl": "GIRL"}
"""Model key -> the name tables use (the paper's Table II-IV rows)."""


def generations_path(run_dir, model_key: str) -> Path:
    return Path(run_dir) / "generate" / f"{model_key}.jsonl"


def load_generations(run_dir, model_key: str, subset: str) -> dict[str, list[str]]:
    """``cv_id -> [JD of sample 0, sample 1, ...]`` for one model and one subset."""
    path = generations_path(run_dir, model_key)
    if not path.exists():
        raise GirlError(f"no generations for model '{model_key}' at {path}; run `girl generate --run-dir "
                        f"{run_dir}` first")
    by_cv: dict[str, dict[int, str]] = defaultdict(dict)
    for row in read_jsonl(path):
        if row["subset"] == subset:
            by_cv[row["cv_id"]][int(row["sample"])] = row["jd"]
    return {cv_id: [samples[k] for k in sorted(samples)] for cv_id, samples in by_cv.items()}


# --------------------------------------------------------------------------- sampling
def _sample_next(logits, temperature: float, top_p: float, generator):
    """One token per row: greedy when temperature == 0, else temperature + nucleus (top-p) sampling."""
    import torch

    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, idx = probs.sort(-1, descending=True)
        keep = sorted_probs.cumsum(-1) - sorted_probs < top_p  # always keeps the top token
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def sample_batch(model, tokenizer, cvs: list[str], max_new_tokens: int = 160, temperature: float = 1.0,
                 top_p: float = 1.0, generator=None) -> dict:
    """Generate one JD per CV with a KV cache, from the Fig. 3 prompt (left padding).

    Sampling draws from ``generator`` (a seeded ``torch.Generator``), so rollouts are reproducible and
    resumable. Rows that produced EOS stop contributing tokens (they are padded), and the loop ends as
    soon as every row has finished.

    Returns ``input_ids`` [B, P+R] (prompt + response), ``attention_mask`` [B, P+R] (0 on left padding and
    on response tokens after EOS), ``prompt_len`` P, ``response_mask`` [B, R] (1 on response tokens up to
    and including EOS), ``texts`` (decoded JDs), ``finished`` [B] (EOS produced), ``n_tokens`` [B].
    """
    import torch

    from .prompts import render_prompt

    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    prompts = [render_prompt(tokenizer, cv) for cv in cvs]
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    prompt_ids, prompt_mask = enc["input_ids"], enc["attention_mask"]
    batch, prompt_len = prompt_ids.shape
    eos_id, pad_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    was_training = model.training
    model.eval()

    with torch.no_grad():
        attention = prompt_mask.clone()
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        out = model(input_ids=prompt_ids, attention_mask=attention, position_ids=positions, use_cache=True)
        past, logits = out.past_key_values, out.logits[:, -1, :]
        next_pos = positions[:, -1:] + 1
        finished = torch.zeros(batch, dtype=torch.bool, device=device)
        new_tokens, alive_masks = [], []
        for _ in range(max_new_tokens):
            token = _sample_next(logits, temperature, top_p, generator)
            alive = ~finished
            token = torch.where(alive, token, torch.full_like(token, pad_id))
            new_tokens.append(token)
            alive_masks.append(alive)
            finished = finished | (alive & (token == eos_id))
            if bool(finished.all()):
                break
            attention = torch.cat([attention, alive.long().unsqueeze(1)], dim=1)
            out = model(input_ids=token.unsqueeze(1), attention_mask=attention, position_ids=next_pos,
                        past_key_values=past, use_cache=True)
            past, logits = out.past_key_values, out.logits[:, -1, :]
            next_pos = next_pos + 1
    if was_training:
        model.train()

    response = torch.stack(new_tokens, dim=1)
    response_mask = torch.stack(alive_masks, dim=1).long()
    texts = []
    for row, mask in zip(response.tolist(), response_mask.tolist()):
        ids = [t for t, m in zip(row, mask) if m and t != eos_id]
        texts.append(tokenizer.decode(ids, skip_special_tokens=True).strip())
    return {
        "input_ids": torch.cat([prompt_ids, response], dim=1),
        "attention_mask": torch.cat([prompt_mask, response_mask], dim=1),
        "prompt_len": prompt_len,
        "response_mask": response_mask,
        "texts": texts,
        "finished": finished,
        "n_tokens": response_mask.sum(1),
    }


def generate_jds(model, tokenizer, cvs: list[str], batch_size: int = 16, max_new_tokens: int = 160,
                 temperature: float = 0.7, top_p: float = 0.9, seed: int = 0, progress: bool = False,
                 desc: str = "generate"):
    """Yield ``(index, text, n_tokens, finished)`` for every CV, batching CVs of similar length together
    (right-sized padding) and seeding each batch from ``seed`` and its first index (order-independent)."""
    import torch
    from tqdm.auto import tqdm

    order = sorted(range(len(cvs)), key=lambda i: len(cvs[i]))
    bar = tqdm(total=len(cvs), desc=desc, disable=not progress, leave=False)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        gen = torch.Generator(device=next(model.parameters()).device).manual_seed(seed * 1_000_003 + idx[0])
        out = sample_batch(model, tokenizer, [cvs[i] for i in idx], max_new_tokens, temperature, top_p, gen)
        for j, i in enumerate(idx):
            yield i, out["texts"][j], int(out["n_tokens"][j]), bool(out["finished"][j])
        bar.update(len(idx))
    bar.close()


# --------------------------------------------------------------------------- the stage
def model_sources(run_dir, cfg) -> dict[str, str]:
    """Model key -> weights to load: base = the profile's generator, sft/girl = the run's stages."""
    run_dir = Path(run_dir)
    return {"base": cfg.models.generator, "sft": str(run_dir / "sft" / "model"),
            "girl": str(run_dir / "ppo" / "model")}


def generation_jobs(run_dir, cfg) -> tuple[list[tuple[str, str, int]], dict]:
    """What to generate: ``(subset, cv_id, sample)`` triples with the CV texts looked up separately.

    judge_eval: the first ``cfg.generate.n_judge`` CVs, one sample each. rec: every seeker of the
    recommendation splits, ``cfg.generate.n_samples`` samples each (paper Fig. 5 uses 1..n).
    """
    from .data import load_data

    ds = load_data(run_dir)
    jobs, cv_text = [], {}  # jobs: (subset, cv_id, sample)
    judge = ds["judge_eval"].select(range(min(cfg.generate.n_judge, len(ds["judge_eval"]))))
    for sid, cv in zip(judge["seeker_id"], judge["cv"]):
        cv_text[("judge_eval", sid)] = cv
        jobs.append(("judge_eval", sid, 0))
    seen = {}
    for split in ("rec_train", "rec_valid", "rec_test"):
        for sid, cv in zip(ds[split]["seeker_id"], ds[split]["cv"]):
            seen.setdefault(sid, cv)
    for sid, cv in seen.items():
        cv_text[("rec", sid)] = cv
        jobs.extend(("rec", sid, k) for k in range(cfg.generate.n_samples))
    return jobs, cv_text


def run_generate(cfg, run_dir, models: tuple | None = None, progress: bool = True) -> dict:
    """Write ``generate/<model>.jsonl`` for each model; rows already on disk are skipped (resume)."""
    import time

    import torch

    from .models import load_generator
    from .runio import append_jsonl, atomic_write_json, mark_done, require_stage, set_seed

    require_stage(run_dir, "data", "generate")
    run_dir = Path(run_dir)
    models = tuple(models or cfg.generate.models)
    sources = model_sources(run_dir, cfg)
    jobs, cv_text = generation_jobs(run_dir, cfg)
    gcfg = cfg.generate
    stats = {}
    for key in models:
        if key == "sft":
            require_stage(run_dir, "sft", "generate")
        if key == "girl":
            require_stage(run_dir, "ppo", "generate")
        path = generations_path(run_dir, key)
        done = {(r["subset"], r["cv_id"], int(r["sample"])) for r in read_jsonl(path)}
        # Fixed chunks over the full job list, each seeded by its index: a resumed run regenerates an
        # unfinished chunk exactly as an uninterrupted run would have, and appends only missing rows.
        chunk = max(gcfg.batch_size * 4, 1)
        chunks = [(c, jobs[c:c + chunk]) for c in range(0, len(jobs), chunk)]
        todo = [(c, part) for c, part in chunks if any(j not in done for j in part)]
        t0 = time.time()
        n_tokens = n_new = 0
        if todo:
            set_seed(gcfg.seed)
            model, tok = load_generator(sources[key], cfg)
            with torch.inference_mode():
                for c, part in todo:
                    texts = [cv_text[(s, cid)] for s, cid, _ in part]
                    rows = []
                    for i, text, n, fin in generate_jds(model, tok, texts, gcfg.batch_size,
                                                        gcfg.max_new_tokens, gcfg.temperature, gcfg.top_p,
                                                        seed=gcfg.seed * 1_000_003 + c):
                        if part[i] in done:
                            continue
                        subset, cid, sample = part[i]
                        rows.append({"subset": subset, "cv_id": cid, "sample": sample, "jd": text,
                                     "n_tokens": n, "finished": fin})
                        n_tokens += n
                    append_jsonl(path, sorted(rows, key=lambda r: (r["subset"], r["cv_id"], r["sample"])))
                    n_new += len(rows)
                    if progress:
                        print(f"  generate[{key}]: chunk {c // chunk + 1}/{len(chunks)} "
                              f"({n_tokens / max(time.time() - t0, 1e-9):.0f} tok/s)", flush=True)
            del model
        seconds = time.time() - t0
        stats[key] = {"rows": len(jobs), "generated_now": n_new, "seconds": seconds,
                      "tokens_per_s": n_tokens / seconds if todo and seconds > 0 else None}
    atomic_write_json(run_dir / "generate" / "metrics.json", stats)
    mark_done(run_dir, "generate", {"models": list(models)})
    return stats
