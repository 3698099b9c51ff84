"""The PPO stage: :func:`run_ppo` (behind ``girl ppo --profile P --run-dir DIR [--resume]``) builds the models
and the trainer, runs Algorithm 1 (:func:`train`), compares GIRL with GIRL-SFT and saves the stage;
:func:`reward_kl_tradeoff` runs it once per lambda."""

from __future__ import annotations

import copy
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from .. import distributed as dist
from ..config import validate_profile
from ..data import load_data, oracle_for
from ..generate import judge_sampling
from ..report import ppo_note
from ..runio import (
    GirlError,
    append_jsonl,
    atomic_write_json,
    atomic_write_text,
    build_fingerprint,
    clear_done,
    read_jsonl,
    require_stage,
    save_stage,
    set_seed,
)
from ..sampling import Sampling
from .baselines import make_baseline
from .checkpoint import _resume_state, restore, save_checkpoint
from .evaluate import _default_score_fn, evaluate_against_sft
from .policy import Models, build_actor
from .trainer import Feedback, Optimizers, OracleFn, PPOTrainer, ScoreFn, Start


@dataclass(frozen=True)
class Inject:
    """Stand-ins for tests and notebooks (each ``None``: the run's own): ``cvs`` / ``eval_cvs`` replace the
    ``rl`` / ``judge_eval`` splits, ``score_fn(cvs, jds)`` the reward model U, ``oracle_fn(cv, jd)`` the
    hidden recruiter."""

    cvs: Sequence[str] | None = None
    eval_cvs: Sequence[str] | None = None
    score_fn: ScoreFn | None = None
    oracle_fn: OracleFn | None = None


def _tensorboard(log_dir: Path, enabled: bool):
    """A ``SummaryWriter`` when the ``tensorboard`` package is installed (else ``None``, silently)."""
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(log_dir))


def _reset_outputs(out_dir: Path, start_iter: int, fresh: bool) -> None:
    """A fresh run starts with no log, checkpoint or result; a resumed one drops log rows after its
    checkpoint (they are redone)."""
    metrics_path = out_dir / "metrics.jsonl"
    if fresh:
        for old in (metrics_path, out_dir / "metrics.json", out_dir / "eval_generations.json"):
            if old.exists():
                old.unlink()
        for old in (out_dir / "checkpoint", out_dir / "model"):
            if old.exists():
                shutil.rmtree(old)
    else:
        kept = [r for r in read_jsonl(metrics_path) if r["iteration"] <= start_iter]
        atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in kept))



def build_trainer(cfg, run_dir: Path, ckpt_dir: Path, state: dict | None, cvs: list, feedback: Feedback,
                  accelerator, provenance: dict) -> PPOTrainer:
    """Sec. IV-C's models (actor from G, the baseline from U or fresh; G and U frozen), their optimisers
    (restored from the checkpoint ``state`` when resuming) and the trainer around them."""
    p, device = cfg.ppo, accelerator.device
    set_seed(p.seed)
    actor, tok, ref = build_actor(run_dir / "sft" / "model", cfg, adapter_dir=(ckpt_dir / "actor") if state else None)
    baseline = make_baseline(cfg, run_dir, ckpt_dir, state is not None, actor.config.hidden_size)
    actor = actor.to(device)
    ref = ref.to(device) if ref is not None else None
    if feedback.score_fn is None:
        feedback = Feedback(_default_score_fn(run_dir, cfg, device), feedback.oracle_fn)
    opt = Optimizers(torch.optim.AdamW([q for q in actor.parameters() if q.requires_grad], lr=p.actor_lr), None)
    if baseline.module is not None:
        baseline.module = baseline.module.to(device)
        opt.critic = torch.optim.AdamW([q for q in baseline.module.parameters() if q.requires_grad], lr=p.critic_lr)
    if state:
        restore(ckpt_dir, opt)
    if baseline.module is not None:
        actor, baseline.module, opt.actor, opt.critic = accelerator.prepare(actor, baseline.module, opt.actor,
                                                                            opt.critic)
    else:
        actor, opt.actor = accelerator.prepare(actor, opt.actor)
    start = Start(iteration=state["iteration"] if state else 0, kl_coef=state["kl_coef"] if state else p.kl_coef,
                  provenance=provenance)
    return PPOTrainer(cfg, Models(actor=actor, tokenizer=tok, ref=ref), baseline, opt, accelerator, feedback, cvs,
                      start)


def ppo_data(cfg, run_dir: Path, cvs: Sequence[str] | None, eval_cvs: Sequence[str] | None):
    """Sec. IV-C's CVs: ``(rl_cvs, eval_cvs, eval_ids, sampling)``. RL trains on the ``rl`` split only (CVs
    not used in the first two steps); the final comparison uses the judge's CVs, sampled as the generate
    stage samples them (``eval_ids``/``sampling`` are set then, so it can reuse them). Injected ``cvs`` /
    ``eval_cvs`` (tests, notebooks) replace the splits."""
    p = cfg.ppo
    eval_ids, sampling = None, None
    if cvs is None or eval_cvs is None:
        require_stage(run_dir, "data", "ppo")
        ds = load_data(run_dir)
        cvs = list(ds["rl"]["cv"]) if cvs is None else cvs
        if eval_cvs is None:
            eval_cvs = list(ds["judge_eval"]["cv"])
            eval_ids = list(ds["judge_eval"]["seeker_id"])[:p.n_eval]
            sampling = judge_sampling(cfg.generate)
    cvs, eval_cvs = list(cvs), list(eval_cvs)[:p.n_eval]
    if not cvs:
        raise GirlError("the RL split has no CVs; rebuild the data with a larger data.scale")
    return cvs, eval_cvs, eval_ids, sampling


def make_accelerator(p) -> Accelerator:
    """One process per device; refuses batch sizes the processes cannot share."""
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    k_cv, world = max(1, int(p.samples_per_cv)), accelerator.num_processes
    if p.rollout_batch_size % world:
        raise GirlError(f"ppo.rollout_batch_size={p.rollout_batch_size} must be divisible by the number of "
                        f"processes ({world})")
    if world > 1 and (p.minibatch_size // k_cv) % world:
        raise GirlError(f"ppo.minibatch_size={p.minibatch_size} is the global minibatch ({p.minibatch_size // k_cv} "
                        f"CV(s) of {k_cv} JDs): with {world} processes it must hold a multiple of {world} CVs; set "
                        f"ppo.minibatch_size={k_cv * world} (or a multiple of it)")
    return accelerator


def train(trainer: PPOTrainer, start_iter: int, last: int, out_dir: Path, progress: bool) -> None:
    """Algorithm 1, line 1: ``for iteration = start_iter + 1 .. last``: one iteration (rollout -> score ->
    advantages -> update -> adaptive KL), the log row (``metrics.jsonl``, TensorBoard) and a checkpoint
    every ``ppo.checkpoint_every`` iterations and at ``last``."""
    p, acc = trainer.p, trainer.accelerator
    bar = tqdm(total=p.iterations, initial=start_iter, desc="ppo", disable=not (progress and acc.is_main_process))
    tb = _tensorboard(out_dir / "tensorboard", acc.is_main_process)
    for iteration in range(start_iter + 1, last + 1):
        row = trainer.iteration(iteration)  # rollout -> score -> advantages -> update -> adaptive KL
        if acc.is_main_process:  # log
            append_jsonl(out_dir / "metrics.jsonl", [row])
            for key, value in (row.items() if tb is not None else ()):
                if key != "iteration":
                    tb.add_scalar(f"ppo/{key}", value, iteration)
        bar.update(1)
        bar.set_postfix(reward=f"{row['reward']:.3f}", kl=f"{row['kl']:.4f}")
        if iteration % p.checkpoint_every == 0 or iteration == last:  # checkpoint
            save_checkpoint(out_dir / "checkpoint", trainer, iteration)
    bar.close()
    if tb is not None:
        tb.close()


def final_metrics(trainer: PPOTrainer, eval_cvs: list, sampling: Sampling | None, seconds: float,
                  out_dir: Path) -> tuple[dict, dict]:
    """GIRL vs GIRL-SFT on the eval CVs (:func:`evaluate_against_sft`) plus the training log's summary:
    ``(metrics, generations)``, where ``generations`` holds the eval JDs (``extra``: further samples)."""
    metrics = evaluate_against_sft(trainer.models, trainer.actor_unwrapped, eval_cvs, trainer.score_fn,
                                   trainer.oracle_fn, trainer.cfg, sampling)
    generations = {**metrics.pop("generations"), "extra": metrics.pop("extra_generations")}
    history = read_jsonl(out_dir / "metrics.jsonl")
    metrics.update(training_summary(history, trainer.p, trainer.kl_coef, seconds))
    metrics["note"] = ppo_note(metrics)
    metrics["num_processes"] = trainer.accelerator.num_processes
    # JDs each process sampled per iteration (together rollout_batch_size * samples_per_cv)
    metrics["rows_per_process"] = history[-1].get("rollouts_per_process") if history else None
    return metrics, generations


def run_ppo(cfg, run_dir, resume: bool = False, *, inject: Inject | None = None, stop_after: int | None = None,
            out_dir=None, save_model: bool = True, progress: bool = True) -> dict:
    """Algorithm 1 end to end; the function behind ``girl ppo``.

    Reads ``run_dir/sft/model`` (actor and reference), ``run_dir/reward/model`` (U and the critic's
    initial weights) and the ``rl`` / ``judge_eval`` CVs of ``girl_lib.data.load_data(run_dir)``. Writes
    ``out_dir`` (default ``run_dir/ppo``) as described in the package docstring and returns its
    ``metrics.json`` content.

    For tests and notebooks: ``inject`` (:class:`Inject`) replaces the data splits, the reward model or the
    hidden recruiter; ``stop_after=k`` checkpoints and returns after iteration ``k`` (as if the run had been
    killed); ``save_model=False`` skips ``model/``. ``resume=True`` continues from ``out_dir/checkpoint``
    (a fresh start when there is none).
    """
    t_start = time.time()
    validate_profile(cfg)  # before any work: a config changed by hand after it was built is checked here too
    run_dir, p, inject = Path(run_dir), cfg.ppo, inject or Inject()
    is_stage = out_dir is None
    out_dir = Path(out_dir) if out_dir is not None else run_dir / "ppo"
    require_stage(run_dir, "sft", "ppo")
    require_stage(run_dir, "reward", "ppo")
    if is_stage and dist.is_main_process():
        clear_done(run_dir, "ppo")
    cvs, eval_cvs, eval_ids, sampling = ppo_data(cfg, run_dir, inject.cvs, inject.eval_cvs)
    feedback = Feedback(inject.score_fn, inject.oracle_fn or oracle_for(cfg))
    accelerator = make_accelerator(p)

    # ---- the models, fresh or from the checkpoint (which must come from this config and these inputs)
    fp, fp_config, fp_inputs = build_fingerprint(cfg, run_dir, "ppo")
    provenance = {"fingerprint": fp, "config": fp_config, "inputs": fp_inputs}
    state = _resume_state(out_dir / "checkpoint", p, resume, provenance)
    start_iter = state["iteration"] if state else 0
    if accelerator.is_main_process:
        _reset_outputs(out_dir, start_iter, fresh=state is None)
    trainer = build_trainer(cfg, run_dir, out_dir / "checkpoint", state, cvs, feedback, accelerator, provenance)

    # ---- Algorithm 1
    last = p.iterations if stop_after is None else min(p.iterations, stop_after)
    train(trainer, start_iter, last, out_dir, progress)
    if last < p.iterations:  # stopped early on purpose (stop_after): the checkpoint is the result
        return {"stopped_at": last, "iterations": p.iterations, "checkpoint": str(out_dir / "checkpoint")}

    # ---- the end: GIRL vs GIRL-SFT, the merged model, DONE
    metrics = {}
    if accelerator.is_main_process:
        metrics, generations = final_metrics(trainer, eval_cvs, sampling, time.time() - t_start, out_dir)
        if is_stage and eval_ids is not None:  # the generate stage copies these instead of sampling again
            atomic_write_json(out_dir / "eval_generations.json",
                              {"sampler": sampling.record(), "cv_ids": eval_ids, **generations})
        final = None
        if save_model:
            merged = trainer.actor_unwrapped.merge_and_unload() if p.use_lora else trainer.actor_unwrapped
            final = (merged, trainer.models.tokenizer)
        summary = {"reward_girl": metrics["reward_girl"], "reward_sft": metrics["reward_sft"]}
        save_stage(run_dir, "ppo", metrics, summary, cfg, model=final, out_dir=out_dir, mark=is_stage)
    accelerator.wait_for_everyone()
    return metrics


def training_summary(history: list[dict], p, kl_coef_final: float, seconds: float) -> dict:
    """What the training log adds to ``metrics.json``: settings, first/last rewards, and the reward model's
    agreement with the recruiter on the policy's own JDs (``rm_policy_agreement``: pairs of one CV's JDs,
    pooled over every iteration; ``rm_sft_agreement``: the first iteration only, where the policy still is
    GIRL-SFT)."""
    out = {"iterations": p.iterations, "kl_coef": p.kl_coef, "kl_coef_final": kl_coef_final, "seconds": seconds,
           "baseline": p.baseline, "samples_per_cv": p.samples_per_cv,
           "jds_trained_on": p.iterations * p.rollout_batch_size * p.samples_per_cv,
           "train_reward_first": history[0]["reward"] if history else None,
           "train_reward_last": history[-1]["reward"] if history else None,
           "train_kl_last": history[-1]["kl"] if history else None}
    rows = [r for r in history if r.get("rm_oracle_pairs")]
    pairs = sum(r["rm_oracle_pairs"] for r in rows)
    out["rm_policy_agreement"] = {"value": sum(r["rm_oracle_agree"] for r in rows) / pairs if pairs else None,
                                  "n": pairs}
    first = history[0] if history and history[0].get("rm_oracle_pairs") else None
    out["rm_sft_agreement"] = ({"value": first["rm_oracle_agree"] / first["rm_oracle_pairs"],
                                "n": first["rm_oracle_pairs"]} if first else {"value": None, "n": 0})
    return out


def reward_kl_tradeoff(cfg, run_dir, kl_coefs: Sequence[float] = (0.0, 0.05, 0.2, 1.0), out_root=None,
                       inject: Inject | None = None, progress: bool = True) -> list[dict]:
    """Run PPO once per KL coefficient ``lambda`` (Eq. 4) and return one row per run: the final RM reward
    and KL to the reference of GIRL on the eval CVs, with the paired reward difference's 95% interval
    (the reward-KL trade-off the notebook plots with error bars).

    Each run writes ``out_root/kl_<lambda>/`` (default ``run_dir/ppo_tradeoff``) and saves no merged
    model; ``inject`` and ``progress`` as in :func:`run_ppo`.
    """
    out_root = Path(out_root) if out_root is not None else Path(run_dir) / "ppo_tradeoff"
    rows = []
    for coef in kl_coefs:
        c = copy.deepcopy(cfg)
        c.ppo.kl_coef = float(coef)
        m = run_ppo(c, run_dir, out_dir=out_root / f"kl_{coef:g}", save_model=False, inject=inject, progress=progress)
        rows.append({"kl_coef": float(coef), **{k: m.get(k) for k in (
            "reward_girl", "reward_sft", "kl_girl", "oracle_fit_girl", "oracle_fit_sft", "train_reward_last",
            "train_kl_last", "reward_hacking_warning", "reward_diff", "oracle_fit_diff")}})
    return rows
