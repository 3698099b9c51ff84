"""One PPO iteration of ours (``girl_lib.ppo.run_ppo``: rollout + update) against one TRL ``GRPOTrainer``
iteration on the same model, the same LoRA, the same prompts, the same number of completions and the
same ``max_new_tokens``; both fp32 on CPU, measured in one process, interleaved, several repeats, median.

What one iteration is, on each side (profile values in brackets for ``cpu``):

- ours: Algorithm 1 once: sample ``B = ppo.rollout_batch_size`` JDs [8] (B/2 CVs x 2) with ``sample_batch``, score them,
  log-probs under the actor and the reference (LoRA off), critic values, then ``ppo.epochs`` [1] passes
  over minibatches of ``ppo.minibatch_size`` [4] (actor + critic forward/backward, AdamW steps). Timed by
  wrapping the trainer's steps (``TIMED_STEPS``; model loading and logging excluded); a missing step fails.
- TRL: ``GRPOTrainer`` with ``generation_batch_size = B`` completions (``B/2`` prompts x
  ``num_generations=2``, since GRPO needs groups), ``per_device_train_batch_size = ppo.minibatch_size``,
  ``steps_per_generation = B / minibatch``, ``num_iterations = ppo.epochs``, ``beta = ppo.kl_coef`` (so
  it computes reference log-probs too): one generation followed by the same number of optimiser steps
  over the same number of sequences. Timed from the first ``on_step_begin`` to the last ``on_step_end``
  of the iteration's steps (trainer construction excluded). TRL trains no critic; ours does (a small
  encoder), so ours does strictly more work.
- Prompts: the same ``B/2`` CVs, each sampled twice (ours: ``samples_per_cv = 2``, one prompt forward per CV).
- Reward: a cheap function of the JD text (its length, capped), on both sides.

Throughput = generated tokens (real response tokens up to and including EOS) / wall seconds of the
iteration; also per CPU-second of this process (``*_per_cpu_s``, ``ratio_cpu``), which other jobs on a
shared machine disturb far less than wall time. Last stdout line: ``{"girl_tokens_per_s": .., "trl_tokens_per_s": .., "ratio": .., ...}``.

    .venv/bin/python benchmarks/ppo_vs_trl.py --profile tiny            # ~1-2 min on 2 cores
    .venv/bin/python benchmarks/ppo_vs_trl.py --profile cpu --repeats 3  # SmolLM2; ~15-25 min on 2 shared cores
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, loadavg, machine_info, median, sample_cvs  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="tiny", choices=["tiny", "cpu"], help="girl_lib profile (default tiny)")
    p.add_argument("--repeats", type=int, default=5, help="timed iterations per side (median reported)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default: the profile's ppo.max_new_tokens")
    p.add_argument("--rollout-batch-size", type=int, default=None,
                   help="completions per iteration (even; default: the profile's ppo.rollout_batch_size)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch's default)")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up iteration of each side")
    p.add_argument("--keep", default=None, help="keep the scratch run dir here instead of a temporary one")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def reward_of_text(text: str) -> float:
    """The cheap reward of both sides: JD length in words / 100, capped at 1.5."""
    return min(len(text.split()) / 100.0, 1.5)


def make_scratch_run(cfg, root: Path) -> Path:
    """A run dir holding what ``run_ppo`` reads: ``sft/model`` (the profile's generator, linked, not
    copied) and ``reward/model`` (the profile's reward backbone: the critic starts from it), marked done."""
    from girl_lib.models import resolve_encoder, resolve_generator
    from girl_lib.runio import mark_done

    run = root / "run"
    for stage, src in (("sft", resolve_generator(cfg.models.generator)),
                       ("reward", resolve_encoder(cfg.models.reward_backbone))):
        (run / stage).mkdir(parents=True, exist_ok=True)
        link = run / stage / "model"
        if not link.exists():
            link.symlink_to(Path(src).resolve(), target_is_directory=True)
        mark_done(run, stage, {"benchmark": True})
    return run


def ours_iteration(cfg, run_dir: Path, cvs: list[str], out_dir: Path) -> dict:
    """One timed iteration of ``run_ppo`` (iteration 1 of a fresh run; stops before the final evaluation).

    ``cvs``: the B/2 distinct CVs; each gets 2 JDs (``samples_per_cv = 2``), as TRL's GRPO groups. Wall and
    CPU time are those of the trainer's steps (:data:`TIMED_STEPS`, Alg. 1 lines 2-14), measured by wrapping
    them; ``run_ppo``'s own per-iteration ``seconds`` is reported beside them."""
    import copy
    import time

    import torch

    import girl_lib.ppo as ppo
    from girl_lib.runio import read_jsonl

    c = copy.deepcopy(cfg)
    c.ppo.iterations = 2  # stop_after=1 < iterations: return after iteration 1, skip the final evaluation
    c.ppo.rollout_batch_size, c.ppo.samples_per_cv = len(cvs), 2  # B/2 CVs x 2 JDs: TRL's GRPO groups
    c.ppo.checkpoint_every = 10**9
    if out_dir.exists():
        shutil.rmtree(out_dir)
    sc = lambda cv_list, jds: torch.tensor([reward_of_text(j) for j in jds])  # noqa: E731
    spent = {"wall": 0.0, "cpu": 0.0}
    saved = {}

    def timed(fn):
        def wrapper(*a, **kw):
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                spent["wall"] += time.perf_counter() - w0
                spent["cpu"] += time.process_time() - c0
        return wrapper

    # The iteration's work, as PPOTrainer.iteration runs it: rollout -> score -> advantages -> update. A hook
    # that is gone (renamed) must fail here, never silently time something else.
    missing = [name for name in TIMED_STEPS if not callable(getattr(ppo.PPOTrainer, name, None))]
    if missing:
        raise SystemExit(f"ppo.PPOTrainer has no {', '.join(missing)}: update TIMED_STEPS in {__file__} to the "
                         "trainer's current steps (rollout, score, advantages, update)")
    for name in TIMED_STEPS:
        saved[name] = getattr(ppo.PPOTrainer, name)
        setattr(ppo.PPOTrainer, name, timed(saved[name]))
    try:
        ppo.run_ppo(c, run_dir, inject=ppo.Inject(cvs=cvs, eval_cvs=cvs[:1], score_fn=sc), stop_after=1,
                    out_dir=out_dir, save_model=False, progress=False)
    finally:
        for name, fn in saved.items():
            setattr(ppo.PPOTrainer, name, fn)
    row = read_jsonl(out_dir / "metrics.jsonl")[-1]
    tokens = row["response_len"] * c.ppo.rollout_batch_size * c.ppo.samples_per_cv
    if spent["wall"] <= 0:
        raise SystemExit("the timed PPO steps never ran: the trainer's loop no longer calls them")
    return {"seconds": spent["wall"], "cpu_seconds": spent["cpu"], "run_ppo_seconds": row["seconds"],
            "tokens": tokens, "load1": loadavg()[0]}


TIMED_STEPS = ("rollout", "score", "compute_advantages", "update")
"""The methods of ``ppo.PPOTrainer`` one iteration's work is made of (timed; logging and checkpoints are not)."""


def trl_iteration(cfg, prompts: list[str], out_dir: Path, seed: int) -> dict:
    """One timed GRPO iteration: one generation of B completions + (epochs x B/minibatch) optimiser steps."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from girl_lib.models import load_generator

    p = cfg.ppo
    B, mb = p.rollout_batch_size, p.minibatch_size
    steps = p.epochs * (B // mb)
    model, tok = load_generator(cfg.models.generator, cfg, for_training=True)
    tok.padding_side = "left"
    generated = []

    def reward_fn(completions, completion_ids=None, **kwargs):
        generated.append(sum(len(c) for c in completion_ids) if completion_ids is not None else None)
        return [reward_of_text(c if isinstance(c, str) else c[-1]["content"]) for c in completions]

    marks = {}

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            marks.setdefault("start", time.perf_counter())
            marks.setdefault("cpu_start", time.process_time())

        def on_step_end(self, args, state, control, **kw):
            marks["end"] = time.perf_counter()
            marks["cpu_end"] = time.process_time()

    args = GRPOConfig(
        output_dir=str(out_dir), max_steps=steps, per_device_train_batch_size=mb, gradient_accumulation_steps=1,
        steps_per_generation=B // mb, num_generations=2, num_iterations=p.epochs,  # generation batch = mb x spg = B
        max_completion_length=p.max_new_tokens, temperature=p.temperature, top_p=p.top_p, top_k=0,
        beta=p.kl_coef, epsilon=p.clip_eps, learning_rate=p.actor_lr, max_grad_norm=p.max_grad_norm,
        use_cpu=True, bf16=False, fp16=False, gradient_checkpointing=False, use_vllm=False, report_to=[],
        logging_steps=10**6, save_strategy="no", disable_tqdm=True, seed=seed, data_seed=seed,
        disable_dropout=True, dataloader_num_workers=0,
    )
    lora = LoraConfig(r=p.lora_r, lora_alpha=p.lora_alpha, lora_dropout=0.0, target_modules="all-linear",
                      task_type="CAUSAL_LM")
    trainer = GRPOTrainer(model=model, reward_funcs=reward_fn, args=args,
                          train_dataset=Dataset.from_dict({"prompt": prompts}), processing_class=tok,
                          peft_config=lora, callbacks=[Clock()])
    trainer.train()
    seconds = marks["end"] - marks["start"]
    del trainer, model
    return {"seconds": seconds, "cpu_seconds": marks["cpu_end"] - marks["cpu_start"],
            "tokens": sum(g for g in generated if g), "load1": loadavg()[0]}


def main(argv=None):
    args = parse_args(argv)
    import torch

    from girl_lib.config import get_profile
    from girl_lib.models import env_offline
    from girl_lib.prompts import render_prompt

    env_offline()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {}
    if args.max_new_tokens is not None:
        overrides["ppo.max_new_tokens"] = args.max_new_tokens
    if args.rollout_batch_size is not None:
        overrides["ppo.rollout_batch_size"] = args.rollout_batch_size
    cfg = get_profile(args.profile, overrides)
    p = cfg.ppo
    if p.rollout_batch_size % 2 or p.rollout_batch_size % p.minibatch_size:
        raise SystemExit(f"rollout_batch_size={p.rollout_batch_size} must be even and a multiple of "
                         f"minibatch_size={p.minibatch_size}")
    info = machine_info()
    print(f"machine: {info}", flush=True)
    print(f"profile={args.profile} generator={cfg.models.generator} B={p.rollout_batch_size} "
          f"minibatch={p.minibatch_size} epochs={p.epochs} max_new_tokens={p.max_new_tokens} "
          f"lora_r={p.lora_r} T={p.temperature} top_p={p.top_p} threads={torch.get_num_threads()}", flush=True)

    base_cvs = sample_cvs(p.rollout_batch_size // 2, seed=args.seed)
    ours_cvs = list(base_cvs)  # each sampled twice (samples_per_cv = 2 in ours_iteration)
    from girl_lib.models import load_tokenizer, resolve_generator

    tok = load_tokenizer(resolve_generator(cfg.models.generator))
    prompts = [render_prompt(tok, c) for c in base_cvs]

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="girl_ppo_vs_trl_"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        run_dir = make_scratch_run(cfg, root)
        if not args.no_warmup:
            import copy

            warm = copy.deepcopy(cfg)
            warm.ppo.max_new_tokens = min(8, p.max_new_tokens)
            ours_iteration(warm, run_dir, ours_cvs, root / "ours_warm")
            trl_iteration(warm, prompts, root / "trl_warm", args.seed)
            print("  warm-up done", flush=True)
        ours, trl = [], []
        for rep in range(args.repeats):  # interleaved: load changes hit both sides alike
            ours.append(ours_iteration(cfg, run_dir, ours_cvs, root / f"ours_{rep}"))
            o = ours[-1]
            print(f"  [girl] rep {rep}: {o['tokens']:.0f} tokens in {o['seconds']:.1f}s = "
                  f"{o['tokens'] / o['seconds']:.1f} tok/s, {o['tokens'] / o['cpu_seconds']:.1f} per CPU-s "
                  f"(load1 {o['load1']})", flush=True)
            trl.append(trl_iteration(cfg, prompts, root / f"trl_{rep}", args.seed))
            t = trl[-1]
            print(f"  [trl ] rep {rep}: {t['tokens']:.0f} tokens in {t['seconds']:.1f}s = "
                  f"{t['tokens'] / t['seconds']:.1f} tok/s, {t['tokens'] / t['cpu_seconds']:.1f} per CPU-s "
                  f"(load1 {t['load1']})", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    girl_rate = median([o["tokens"] / o["seconds"] for o in ours])
    trl_rate = median([t["tokens"] / t["seconds"] for t in trl])
    girl_cpu = median([o["tokens"] / o["cpu_seconds"] for o in ours if o["cpu_seconds"]])
    trl_cpu = median([t["tokens"] / t["cpu_seconds"] for t in trl])
    emit({"girl_tokens_per_s": round(girl_rate, 2), "trl_tokens_per_s": round(trl_rate, 2),
          "ratio": round(girl_rate / trl_rate, 3),
          "girl_tokens_per_cpu_s": round(girl_cpu, 2) if girl_cpu else None,
          "trl_tokens_per_cpu_s": round(trl_cpu, 2),
          "ratio_cpu": round(girl_cpu / trl_cpu, 3) if girl_cpu else None,
          "girl_cpu_seconds": [round(o["cpu_seconds"], 2) if o["cpu_seconds"] else None for o in ours],
          "trl_cpu_seconds": [round(t["cpu_seconds"], 2) for t in trl],
          "girl_seconds": [round(o["seconds"], 2) for o in ours], "trl_seconds": [round(t["seconds"], 2) for t in trl],
          "girl_tokens": [round(o["tokens"]) for o in ours], "trl_tokens": [t["tokens"] for t in trl],
          "load1": {"girl": [o["load1"] for o in ours], "trl": [t["load1"] for t in trl]},
          "profile": args.profile, "rollout_batch_size": p.rollout_batch_size, "max_new_tokens": p.max_new_tokens,
          "epochs": p.epochs, "minibatch_size": p.minibatch_size, "lora_r": p.lora_r,
          "threads": torch.get_num_threads(), "machine": info})


if __name__ == "__main__":
    main()
