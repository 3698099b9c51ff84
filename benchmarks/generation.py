"""Rollout throughput of ``girl_lib.sampling.sample_batch`` against batch size, beside plain HF
``model.generate`` and the original (pre-optimisation) ``sample_batch``.

Throughput = generated tokens per second of wall time, counting only real response tokens (up to and
including EOS; padding after EOS is not counted). The prompt forward is inside the timed region: it is
part of every rollout.

    .venv/bin/python benchmarks/generation.py                          # cpu profile (SmolLM2-135M)
    .venv/bin/python benchmarks/generation.py --batch-sizes 8,32 --repeats 3 --threads 1
    .venv/bin/python benchmarks/generation.py --profile-batch 8 --batch-sizes 8 --baseline-batch 0 --hf-batch 0

The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, emit, loadavg, machine_info, median, sample_cvs  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="cpu", choices=["tiny", "cpu", "colab"],
                   help="girl_lib profile whose generator is used (default: cpu = SmolLM2-135M-Instruct)")
    p.add_argument("--batch-sizes", default="1,2,4,8,16,32", help="comma-separated batch sizes of the sweep")
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--temperature", type=float, default=None, help="default: the profile's ppo.temperature")
    p.add_argument("--top-p", type=float, default=None, help="default: the profile's ppo.top_p")
    p.add_argument("--repeats", type=int, default=1, help="runs per configuration (median reported)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch.set_num_threads (0 = leave torch's default). On a shared, oversubscribed CPU "
                        "1 thread can beat 2 by a wide margin; see README")
    p.add_argument("--baseline-batch", type=int, default=8,
                   help="also time the original sample_batch (benchmarks/_baseline_sample_batch.py) at this "
                        "batch size, interleaved with ours (0 = skip)")
    p.add_argument("--hf-batch", type=int, default=8,
                   help="also time HF model.generate (do_sample, same temperature/top-p, top_k off) at this "
                        "batch size, interleaved with ours (0 = skip)")
    p.add_argument("--backend-batch", type=int, default=0,
                   help="also time ours with generate.backend='hf' (transformers' own DynamicCache, no pre-"
                        "allocation, shared prefix or row dropping) at this batch size, interleaved with the "
                        "default 'fast' backend (0 = skip)")
    p.add_argument("--ablations", action="store_true",
                   help="also time ours with one optimisation switched off at a time (one padded prompt "
                        "forward instead of the shared-prefix one; growing DynamicCache instead of the "
                        "pre-allocated one; no dropping of finished rows; the old sampler), interleaved in "
                        "the head to head")
    p.add_argument("--profile-batch", type=int, default=0,
                   help="profile one sample_batch call at this batch size (cProfile + torch.profiler) and "
                        "print the top costs (0 = skip)")
    p.add_argument("--lora", type=int, default=0,
                   help="wrap the generator in a fresh LoRA adapter of this rank (all linear layers, unmerged), "
                        "as PPO rollouts see it (0 = plain model)")
    p.add_argument("--int8", action="store_true",
                   help="also run the sweep on an int8 copy of the generator (torch dynamic quantization of "
                        "every nn.Linear: int8 weights, fp32 activations) and measure how far its next-token "
                        "distributions are from fp32 (KL, top-1 agreement). Not used by girl_lib")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def count_real_tokens(response, eos_id: int) -> list[int]:
    """Per row: tokens up to and including the first EOS, or all of them when there is none."""
    out = []
    for row in response.tolist():
        out.append(row.index(eos_id) + 1 if eos_id in row else len(row))
    return out


def run_ours(model, tok, cvs, args, seed, backend: str = "fast"):
    import torch

    from girl_lib.sampling import Sampling, sample_batch

    with Timer() as t:
        out = sample_batch(model, tok, cvs, Sampling(args.max_new_tokens, args.temperature, args.top_p, backend),
                           torch.Generator().manual_seed(seed))
    return int(out["n_tokens"].sum()), t.seconds, t.load, t.cpu_seconds


def run_ablation(which, model, tok, cvs, args, seed):
    """Ours with one optimisation switched off (monkeypatched for the duration of the call)."""
    import girl_lib.sampling as G

    saved = {k: getattr(G, k) for k in ("_prealloc_cache", "_compact_worth_it", "_sample_next",
                                        "_shared_prefix_len")}
    try:
        if which == "no_shared_prefix":
            G._shared_prefix_len = lambda *a: 0
        elif which == "no_prealloc":  # (also turns the shared-prefix prefill off: it needs the buffers)
            from transformers.cache_utils import DynamicCache

            G._prealloc_cache = lambda model, max_len: DynamicCache(config=model.config)
        elif which == "no_compaction":
            G._compact_worth_it = lambda *a: False
        elif which == "old_sampler":
            from _baseline_sample_batch import _sample_next as old

            G._sample_next = old
        return run_ours(model, tok, cvs, args, seed)
    finally:
        for k, v in saved.items():
            setattr(G, k, v)


def run_baseline(model, tok, cvs, args, seed):
    import torch

    from _baseline_sample_batch import sample_batch as old_sample_batch

    with Timer() as t:
        out = old_sample_batch(model, tok, cvs, args.max_new_tokens, args.temperature, args.top_p,
                               torch.Generator().manual_seed(seed))
    return int(out["n_tokens"].sum()), t.seconds, t.load, t.cpu_seconds


def run_hf(model, tok, cvs, args, seed):
    import torch

    from girl_lib.prompts import render_prompt

    tok.padding_side = "left"
    enc = tok([render_prompt(tok, c) for c in cvs], return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    kw = dict(max_new_tokens=args.max_new_tokens, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    if args.temperature > 0:
        kw.update(do_sample=True, temperature=args.temperature, top_p=args.top_p, top_k=0)
    else:
        kw.update(do_sample=False)
    with Timer() as t, torch.inference_mode():
        seq = model.generate(**enc, **kw)
    n = sum(count_real_tokens(seq[:, enc["input_ids"].shape[1]:], tok.eos_token_id))
    return n, t.seconds, t.load, t.cpu_seconds


def batch_sweep(model, tok, cvs, sizes, args, label: str) -> dict:
    """``run_ours`` at each batch size, ``args.repeats`` times: {batch: summarise(runs)}."""
    sweep = {}
    for b in sizes:
        runs = []
        for rep in range(args.repeats):
            runs.append(run_ours(model, tok, cvs[:b], args, args.seed + rep))
            n, s, ld, c = runs[-1]
            print(f"  [{label} B={b:3d}] rep {rep}: {n} tokens in {s:.1f}s = {n / s:.1f} tok/s "
                  f"(cpu share {c / s:.2f}, load1 {ld})", flush=True)
        sweep[str(b)] = summarise(runs)
    return sweep


def int8_copy(model):
    """An int8 copy of ``model``: every ``nn.Linear`` (the LM head included) replaced by torch's dynamic
    quantized Linear (per-tensor int8 weights, activations quantized on the fly, fbgemm/x86 kernels).
    Weights read per decode step drop from 4 to 1 byte per parameter, which is what bounds decoding here."""
    import copy
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)


def int8_fidelity(model, qmodel, tok, cvs, n_new: int = 64, seed: int = 0) -> dict:
    """How close the int8 model's next-token distributions are to fp32's, teacher-forced on JDs the fp32
    model sampled: mean KL(fp32 || int8) per response token, and how often both pick the same top token."""
    import torch

    from girl_lib.sampling import Sampling, sample_batch

    out = sample_batch(model, tok, cvs, Sampling(n_new), torch.Generator().manual_seed(seed))
    ids, mask, p = out["input_ids"], out["attention_mask"], out["prompt_len"]
    with torch.inference_mode():
        lp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits[:, p - 1:-1].float(), -1)
        lq = torch.log_softmax(qmodel(input_ids=ids, attention_mask=mask).logits[:, p - 1:-1].float(), -1)
    m = out["response_mask"].bool()
    kl = (lp.exp() * (lp - lq)).sum(-1)[m]
    same = (lp.argmax(-1) == lq.argmax(-1))[m].float()
    return {"kl_per_token": round(float(kl.mean()), 5), "top1_agreement": round(float(same.mean()), 4),
            "tokens": int(m.sum())}


def summarise(runs):
    """runs: [(tokens, seconds, load1, cpu_seconds)] -> median figures.

    ``tokens_per_cpu_s`` divides by the CPU time this process got (all threads): less sensitive to other
    people's jobs than wall time, though not immune (caches, spinning threads)."""
    rates = [n / s for n, s, _, _ in runs]
    return {"tokens_per_s": round(median(rates), 2), "runs_tokens_per_s": [round(r, 2) for r in rates],
            "tokens_per_cpu_s": round(median([n / c for n, _, _, c in runs]), 2),
            "cpu_share": [round(c / s, 2) for _, s, _, c in runs],
            "tokens": [n for n, _, _, _ in runs], "seconds": [round(s, 2) for _, s, _, _ in runs],
            "load1": [ld for _, _, ld, _ in runs]}


def profile_once(model, tok, cvs, args):
    """cProfile (where the Python time goes) and torch.profiler (which ops) of one sample_batch call."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from girl_lib.sampling import Sampling, sample_batch

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    out = sample_batch(model, tok, cvs, Sampling(args.max_new_tokens, args.temperature, args.top_p),
                       torch.Generator().manual_seed(args.seed))
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    funcs = {}
    for (file, _, name), (_, _, _, cum, _) in stats.stats.items():
        funcs.setdefault(name, 0.0)
        funcs[name] = max(funcs[name], cum)
    # model forward calls: the prompt forward is the first; the rest are decode steps
    by_name = {k: round(v, 2) for k, v in funcs.items()
               if k in ("sample_batch", "_sample_next", "_inverse_cdf", "batch_select_indices", "decode",
                        "render_prompt", "__call__")}
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(18)
    print(buf.getvalue())

    with profile(activities=[ProfilerActivity.CPU]) as tp:
        sample_batch(model, tok, cvs, Sampling(min(args.max_new_tokens, 32), args.temperature, args.top_p),
                     torch.Generator().manual_seed(args.seed))
    table = tp.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    print(table)
    total = sum(e.self_cpu_time_total for e in tp.key_averages())
    top_ops = sorted(((e.key, e.self_cpu_time_total) for e in tp.key_averages()), key=lambda x: -x[1])[:8]

    # The prompt forward alone (as sample_batch runs it: last-position logits only), to split prefill
    # from decoding.
    from girl_lib.prompts import render_prompt

    tok.padding_side = "left"
    enc = tok([render_prompt(tok, c) for c in cvs], return_tensors="pt", padding=True, add_special_tokens=False)
    pos = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    with Timer() as tpf, torch.inference_mode():
        model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], position_ids=pos, use_cache=True,
              logits_to_keep=1)
    lens = enc["attention_mask"].sum(1)
    return {"batch": len(cvs), "wall_s": round(wall, 2), "tokens": int(out["n_tokens"].sum()),
            "prefill_s": round(tpf.seconds, 2), "prefill_share": round(tpf.seconds / wall, 3),
            "prompt_tokens_mean": round(float(lens.float().mean()), 1), "prompt_len_padded": int(enc["input_ids"].shape[1]),
            "padding_waste": round(1 - float(lens.sum()) / enc["input_ids"].numel(), 3),
            "cprofile_cum_s": by_name,
            "torch_ops_self_share_32_tokens": {k: round(v / total, 3) for k, v in top_ops}, "load1": loadavg()[0]}


def main(argv=None):
    args = parse_args(argv)
    import torch

    from girl_lib.config import get_profile
    from girl_lib.models import env_offline, load_generator

    env_offline()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = get_profile(args.profile)
    args.temperature = cfg.ppo.temperature if args.temperature is None else args.temperature
    args.top_p = cfg.ppo.top_p if args.top_p is None else args.top_p
    sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    info = machine_info()
    print(f"machine: {info}", flush=True)
    model, tok = load_generator(cfg.models.generator, cfg)
    if args.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=args.lora, lora_alpha=2 * args.lora, lora_dropout=0.0,
                                                 target_modules="all-linear", task_type="CAUSAL_LM"))
    model.eval()
    n_max = max(sizes + [args.baseline_batch, args.hf_batch, args.profile_batch])
    cvs = sample_cvs(n_max, seed=args.seed)
    print(f"generator={cfg.models.generator} max_new_tokens={args.max_new_tokens} T={args.temperature} "
          f"top_p={args.top_p} threads={torch.get_num_threads()}", flush=True)

    # Warm-up (allocator, lazy imports), not timed.
    run_ours(model, tok, cvs[:2], argparse.Namespace(**{**vars(args), "max_new_tokens": 4}), args.seed)

    result = {"profile": args.profile, "generator": cfg.models.generator, "max_new_tokens": args.max_new_tokens,
              "temperature": args.temperature, "top_p": args.top_p, "threads": torch.get_num_threads(),
              "lora_r": args.lora,
              "repeats": args.repeats}

    # 1. Head to head at one batch size, interleaved so that load changes hit all three alike.
    cmp_batch = args.baseline_batch or args.hf_batch or args.backend_batch
    if cmp_batch:
        heads = {"ours": [], "baseline": [], "hf_generate": [], "backend_hf": []}
        ablations = (("no_shared_prefix", "no_prealloc", "no_compaction", "old_sampler") if args.ablations
                     else ())
        heads.update({a: [] for a in ablations})
        for rep in range(args.repeats):
            seed = args.seed + rep
            heads["ours"].append(run_ours(model, tok, cvs[:cmp_batch], args, seed))
            for a in ablations:
                heads[a].append(run_ablation(a, model, tok, cvs[:cmp_batch], args, seed))
            if args.baseline_batch:
                heads["baseline"].append(run_baseline(model, tok, cvs[:args.baseline_batch], args, seed))
            if args.hf_batch:
                heads["hf_generate"].append(run_hf(model, tok, cvs[:args.hf_batch], args, seed))
            if args.backend_batch:
                heads["backend_hf"].append(run_ours(model, tok, cvs[:args.backend_batch], args, seed, "hf"))
            for k, v in heads.items():
                if v:
                    n, s, ld, c = v[-1]
                    print(f"  [{k:11s} B={cmp_batch}] rep {rep}: {n} tokens in {s:.1f}s = {n / s:.1f} tok/s "
                          f"(cpu share {c / s:.2f}, load1 {ld})", flush=True)
        result["head_to_head_batch"] = cmp_batch
        for k, v in heads.items():
            if v:
                result[k + "_b%d" % cmp_batch] = summarise(v)

    # 2. Batch-size sweep of ours.
    sweep = batch_sweep(model, tok, cvs, sizes, args, "ours")
    result["sweep"] = sweep
    if sweep:
        best = max(sweep, key=lambda k: sweep[k]["tokens_per_s"])
        result["best_batch"] = int(best)
        result["best_tokens_per_s"] = sweep[best]["tokens_per_s"]
        result["goal_120_met"] = sweep[best]["tokens_per_s"] >= 120

    # 2b. The same sweep with int8 weights (not what girl_lib samples with; see int8_copy).
    if args.int8:
        qmodel = int8_copy(model)
        run_ours(qmodel, tok, cvs[:2], argparse.Namespace(**{**vars(args), "max_new_tokens": 4}), args.seed)
        sweep8 = batch_sweep(qmodel, tok, cvs, sizes, args, "int8")
        best8 = max(sweep8, key=lambda k: sweep8[k]["tokens_per_s"])
        result["int8"] = {"sweep": sweep8, "best_batch": int(best8), "best_tokens_per_s": sweep8[best8]["tokens_per_s"],
                          "fidelity": int8_fidelity(model, qmodel, tok, cvs[:8], seed=args.seed)}
        print(f"  int8 fidelity: {result['int8']['fidelity']}", flush=True)

    # 3. Where the time goes.
    if args.profile_batch:
        result["profile_run"] = profile_once(model, tok, cvs[:args.profile_batch], args)
    result["machine"] = info
    result["loadavg_end"] = loadavg()
    emit(result)


if __name__ == "__main__":
    main()
