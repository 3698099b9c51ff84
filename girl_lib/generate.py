"""JD generation: batched sampling for the judge and the recommender (paper Sec. VI).

Output format, one file per model: ``<run_dir>/generate/<model>.jsonl``, one row per generated JD::

    {"subset": "judge_eval" | "rec", "cv_id": "s000123", "sample": 0, "jd": "...",
     "n_tokens": 97, "finished": true}

Model keys: ``base`` (the untuned generator), ``sft`` (GIRL-SFT), ``girl`` (GIRL, after PPO).

Sampling itself (the Fig. 3 prompt, the KV-cache decoders, seeded batches) is :mod:`girl_lib.sampling`;
this module is the stage around it: which CVs each model gets, resumable chunks, PPO's evaluation JDs
reused, realism.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import torch

from . import distributed as dist
from .config import validate_profile
from .data import load_data
from .models import load_generator
from .names import MODEL_NAMES  # noqa: F401 - generator key -> table label, re-exported (generate.MODEL_NAMES)
from .realism import real_pairs, realism, realism_diff
from .runio import (
    GirlError,
    append_jsonl,
    atomic_write_json,
    derive_seed,
    done_record,
    mark_done,
    read_json,
    read_jsonl,
    require_stage,
    set_seed,
)
from .sampling import Sampling, generate_jds


def generations_path(run_dir, model_key: str) -> Path:
    return Path(run_dir) / "generate" / f"{model_key}.jsonl"


def generated_models(run_dir, default: tuple | list = ()) -> list[str]:
    """The generators the generate stage recorded in ``generate/DONE`` (``default`` for a DONE from before it
    recorded them), each checked to have its ``generate/<key>.jsonl``: a missing file is an error naming it,
    never a smaller table (judge and recommend take their model list from here)."""
    run_dir = Path(run_dir)
    rec = done_record(run_dir, "generate") or {}
    models = [str(m) for m in (rec["models"] if isinstance(rec.get("models"), list) else default)]
    missing = [generations_path(run_dir, k) for k in models if not generations_path(run_dir, k).is_file()]
    if missing:
        raise GirlError(f"the generate stage recorded {', '.join(models)}, but {', '.join(map(str, missing))} "
                        f"{'is' if len(missing) == 1 else 'are'} missing; regenerate with `girl run --run-dir "
                        f"{run_dir} --force generate` (same --profile/--set)")
    return models


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


# --------------------------------------------------------------------------- the stage
def model_sources(run_dir, cfg) -> dict[str, str]:
    """Model key -> weights to load: base = the profile's generator, sft/girl = the run's stages."""
    run_dir = Path(run_dir)
    return {"base": cfg.models.generator, "sft": str(run_dir / "sft" / "model"),
            "girl": str(run_dir / "ppo" / "model")}


def generation_jobs(run_dir, cfg) -> tuple[list[tuple[str, str, int]], dict]:
    """What to generate: ``(subset, cv_id, sample)`` triples with the CV texts looked up separately.

    judge_eval: the first ``cfg.generate.n_judge`` CVs, ``cfg.generate.judge_samples`` samples each (sample
    by sample, so the first ``n_judge`` jobs are every CV's sample 0; :func:`model_jobs` keeps only sample
    0 for ``base``). rec: every seeker of the recommendation splits, ``cfg.generate.n_samples`` samples
    each (paper Fig. 5 uses 1..n).
    """
    ds = load_data(run_dir)
    jobs, cv_text = [], {}  # jobs: (subset, cv_id, sample)
    judge = ds["judge_eval"].select(range(min(cfg.generate.n_judge, len(ds["judge_eval"]))))
    for sid, cv in zip(judge["seeker_id"], judge["cv"]):
        cv_text[("judge_eval", sid)] = cv
    jobs += [("judge_eval", sid, k) for k in range(cfg.generate.judge_samples) for sid in judge["seeker_id"]]
    seen = {}
    for split in ("rec_train", "rec_valid", "rec_test"):
        for sid, cv in zip(ds[split]["seeker_id"], ds[split]["cv"]):
            seen.setdefault(sid, cv)
    for sid, cv in seen.items():
        cv_text[("rec", sid)] = cv
        jobs.extend(("rec", sid, k) for k in range(cfg.generate.n_samples))
    return jobs, cv_text


JUDGE_SAMPLED = ("sft", "girl")
"""Models with ``generate.judge_samples`` JDs per judge CV (the pair PPO is judged on); the rest get one."""


def model_jobs(jobs: list, key: str, gcfg) -> list:
    """The jobs of model ``key``: its judge_eval samples, and the rec jobs if it is one of ``rec_models``."""
    return [j for j in jobs if (j[0] == "judge_eval" and (j[2] == 0 or key in JUDGE_SAMPLED))
            or (j[0] == "rec" and key in gcfg.rec_models)]


def chunk_seed(gcfg, start: int) -> int:
    """The ``seed`` :func:`girl_lib.sampling.generate_jds` gets for the job chunk that starts at ``start``."""
    return derive_seed(gcfg.seed, start)


def judge_sampling(gcfg) -> Sampling:
    """How the generate stage samples the ``judge_eval`` chunk (it is the first chunk, at 0). PPO's final
    evaluation samples GIRL-SFT and GIRL with exactly these settings, and the stage reuses those JDs."""
    return Sampling.of_generate(gcfg, chunk_seed(gcfg, 0))


def ppo_eval_rows(run_dir, key: str, judge_jobs: list, gcfg) -> list[dict] | None:
    """``generate/<key>.jsonl`` rows for the judge CVs taken from PPO's final evaluation
    (``ppo/eval_generations.json``: each CV's first JD under ``key``, the rest under ``extra``), or ``None``
    when it sampled other CVs, with other settings, or fewer JDs per CV."""
    path = Path(run_dir) / "ppo" / "eval_generations.json"
    if key not in JUDGE_SAMPLED or not judge_jobs or not path.exists():
        return None
    saved = read_json(path)
    ids = list(dict.fromkeys(cid for _, cid, _ in judge_jobs))
    if saved.get("sampler") != judge_sampling(gcfg).record() or saved.get("cv_ids") != ids:
        return None
    extra = saved.get("extra", {}).get(key) or [[] for _ in ids]
    index = {cid: i for i, cid in enumerate(ids)}
    if any(k > len(extra[index[cid]]) for _, cid, k in judge_jobs):
        return None
    return [{"subset": s, "cv_id": cid, "sample": k,
             **(saved[key][index[cid]] if k == 0 else extra[index[cid]][k - 1])} for s, cid, k in judge_jobs]


def _job_chunks(todo_jobs: list, n_judge: int, batch_size: int) -> list[tuple[int, list]]:
    """``(start, jobs)`` chunks over a model's full job list, each seeded by its start: the judge_eval jobs
    (the first ``n_judge``) as one chunk at 0 (as :func:`judge_sampling` says), then the rec jobs in chunks of
    ``4 * batch_size``. A resumed run regenerates an unfinished chunk exactly as an uninterrupted run would
    have, and appends only the missing rows."""
    size = max(batch_size * 4, 1)
    starts = sorted({0} | set(range(n_judge, len(todo_jobs), size)))
    ends = starts[1:] + [len(todo_jobs)]
    return [(c, todo_jobs[c:e]) for c, e in zip(starts, ends) if e > c]


def _reuse_ppo_rows(run_dir, key: str, judge_jobs: list, gcfg, done: set) -> list:
    """Append PPO's final-evaluation JDs (:func:`ppo_eval_rows`) that the file lacks (main process) and add
    them to ``done``; returns the reused rows (empty when PPO's do not match)."""
    reused = ppo_eval_rows(run_dir, key, judge_jobs, gcfg) or []
    if reused:  # PPO's final evaluation already sampled these JDs with these very settings
        if dist.is_main_process():
            append_jsonl(generations_path(run_dir, key),
                         [r for r in reused if (r["subset"], r["cv_id"], r["sample"]) not in done])
        done |= {(r["subset"], r["cv_id"], r["sample"]) for r in reused}
    return reused


def _chunk_rows(model, tok, start: int, part: list, cv_text: dict, done: set, gcfg) -> tuple[list, int]:
    """Generate one chunk (seeded by its ``start``): its rows not yet ``done``, sorted, and their tokens."""
    rows, tokens = [], 0
    texts = [cv_text[(s, cid)] for s, cid, _ in part]
    for i, text, n, fin in generate_jds(model, tok, texts, Sampling.of_generate(gcfg, chunk_seed(gcfg, start))):
        if part[i] in done:
            continue
        subset, cid, sample = part[i]
        rows.append({"subset": subset, "cv_id": cid, "sample": sample, "jd": text, "n_tokens": n,
                     "finished": fin})
        tokens += n
    rows.sort(key=lambda r: (r["subset"], r["cv_id"], r["sample"]))
    return rows, tokens


def _generate_chunks(lm: tuple, path: Path, todo: list, n_chunks: int, cv_text: dict, done: set, gcfg,
                     label: str | None) -> tuple[int, int, list[int]]:
    """Generate the ``todo`` chunks (``(number, start, jobs)``) with ``lm`` = ``(model, tokenizer)``: in
    rounds of N processes, chunk
    ``first + r`` goes to process ``r``; each round is gathered and the main process appends it in chunk
    order. Progress lines (``label``: the model key, ``None``: quiet) on the main process. Returns
    ``(rows generated, their tokens, rows generated by each process)``."""
    world, rank, main = dist.num_processes(), dist.process_index(), dist.is_main_process()
    t0 = time.time()
    n_new = n_tokens = 0
    mine = [0] * world
    with torch.inference_mode():
        for first in range(0, len(todo), world):
            rows, tokens = [], 0
            if first + rank < len(todo):
                _, start, part = todo[first + rank]
                rows, tokens = _chunk_rows(*lm, start, part, cv_text, done, gcfg)
            for r, (got, got_tokens) in enumerate(dist.gather_objects((rows, tokens))):
                if first + r >= len(todo):
                    continue
                if main:  # in chunk order, as one process would have appended them
                    append_jsonl(path, got)
                mine[r] += len(got)
                n_new += len(got)
                n_tokens += got_tokens
                if label and main:
                    print(f"  generate[{label}]: chunk {todo[first + r][0] + 1}/{n_chunks} "
                          f"({n_tokens / max(time.time() - t0, 1e-9):.0f} tok/s)", flush=True)
    return n_new, n_tokens, mine


def _generate_model(cfg, run_dir: Path, key: str, jobs: list, cv_text: dict, progress: bool) -> dict:
    """Complete ``generate/<key>.jsonl`` (reused PPO rows, then the missing chunks); its metrics entry."""
    gcfg = cfg.generate
    if key in ("sft", "girl"):
        require_stage(run_dir, "sft" if key == "sft" else "ppo", "generate")
    path = generations_path(run_dir, key)
    done = {(r["subset"], r["cv_id"], int(r["sample"])) for r in read_jsonl(path)}
    dist.barrier()  # every process has read the file before the main one appends to it
    todo_jobs = model_jobs(jobs, key, gcfg)
    judge_jobs = [j for j in todo_jobs if j[0] == "judge_eval"]
    reused = _reuse_ppo_rows(run_dir, key, judge_jobs, gcfg, done)
    chunks = _job_chunks(todo_jobs, len(judge_jobs), gcfg.batch_size)
    todo = [(n, c, part) for n, (c, part) in enumerate(chunks) if any(j not in done for j in part)]
    world = dist.num_processes()
    t0 = time.time()
    n_new, n_tokens, mine = 0, 0, [0] * world
    if todo:
        set_seed(gcfg.seed)
        model, tok = load_generator(model_sources(run_dir, cfg)[key], cfg)
        n_new, n_tokens, mine = _generate_chunks((model, tok), path, todo, len(chunks), cv_text, done, gcfg,
                                                 key if progress else None)
        del model
    seconds = time.time() - t0
    return {"rows": len(todo_jobs), "generated_now": n_new, "reused_from_ppo": len(reused), "seconds": seconds,
            "tokens_per_s": n_tokens / seconds if todo and seconds > 0 else None,
            "num_processes": world, "rows_per_process": mine}


REALISM_REAL = "real"
"""The key of the real postings in ``metrics.json: realism`` (beside the model keys)."""


def realism_metrics(cfg, run_dir, models, cv_text: dict, n_bootstrap: int = 1000) -> dict:
    """``{"realism": {key: ..., "real": ...}, "realism_diff_girl_sft": ...}`` for ``metrics.json``: how
    realistic each model's judge_eval JDs are (:func:`girl_lib.realism.realism`, every sample, intervals over
    CVs), beside real postings, and GIRL - GIRL-SFT paired over the judge CVs
    (:func:`girl_lib.realism.realism_diff`; only when both were generated).

    ``real``: as many real postings as there are judge CVs, each with its own matched CV, from the data
    stage's ``sft`` split (matched CV-JD pairs, the postings GIRL-SFT learns to write), shuffled as SFT
    shuffles it so its held-out rows come first, one pair per seeker (:func:`girl_lib.realism.real_pairs`).
    A model without judge_eval rows on disk is left out. Parses are cached: well under a few seconds."""
    sets = {}
    for key in models:
        path = generations_path(run_dir, key)
        rows = [r for r in (read_jsonl(path) if path.exists() else []) if r["subset"] == "judge_eval"
                and ("judge_eval", r["cv_id"]) in cv_text]
        rows.sort(key=lambda r: (r["cv_id"], int(r["sample"])))
        if rows:
            sets[key] = ([cv_text[("judge_eval", r["cv_id"])] for r in rows], [r["jd"] for r in rows],
                         [r["cv_id"] for r in rows])
    n_cvs = len({cid for s, cid in cv_text if s == "judge_eval"})
    seed = cfg.generate.seed
    out = {key: realism(*s, n_bootstrap=n_bootstrap, seed=seed) for key, s in sets.items()}
    if n_cvs:
        out[REALISM_REAL] = realism(*real_pairs(load_data(run_dir)["sft"], n_cvs, seed=cfg.sft.seed),
                                    n_bootstrap=n_bootstrap, seed=seed)
    res = {"realism": out}
    if "sft" in sets and "girl" in sets:
        res["realism_diff_girl_sft"] = realism_diff(sets["sft"], sets["girl"], n_bootstrap=n_bootstrap, seed=seed)
    return res


def run_generate(cfg, run_dir, models: tuple | None = None, progress: bool = True) -> dict:
    """Write ``generate/<model>.jsonl`` for each model; rows already on disk are skipped (resume).

    Under ``accelerate launch`` with N processes, job chunk ``i`` (of those still to do) goes to process
    ``i % N``; the chunks of each round of N are gathered and the main process appends them in their
    original order, so the file is the one a single process writes (chunks are seeded by their position,
    not by who samples them). Only the main process writes; ``rows_per_process`` says who generated what.
    Sampling uses ``cfg.generate.backend`` (:func:`girl_lib.sampling.sample_batch`). ``metrics.json`` holds each model's
    entry and, beside them, ``realism`` and ``realism_diff_girl_sft`` (:func:`realism_metrics`).
    """
    validate_profile(cfg)  # before any work, also when a field was set by hand after the profile was built
    require_stage(run_dir, "data", "generate")
    run_dir = Path(run_dir)
    models = tuple(models or cfg.generate.models)
    jobs, cv_text = generation_jobs(run_dir, cfg)
    stats = {key: _generate_model(cfg, run_dir, key, jobs, cv_text, progress) for key in models}
    if dist.is_main_process():
        stats.update(realism_metrics(cfg, run_dir, models, cv_text))
        atomic_write_json(run_dir / "generate" / "metrics.json", stats)
        mark_done(run_dir, "generate", {"models": list(models)}, cfg=cfg)
    dist.barrier()  # no process returns before the stage is marked done
    return stats
