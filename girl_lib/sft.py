"""Step 1: supervised fine-tuning of the generator on matched (CV, JD) pairs (paper Sec. IV-A, Eq. 1).

Training is TRL's ``SFTTrainer`` on prompt/completion rows with ``completion_only_loss=True``: the Fig. 3
prompt (role, instruction, CV) is context only and the JD tokens carry the loss — exactly Eq. 1.
``girl_lib.losses.sft_loss`` computes the same number by hand (a test checks they agree).
On ``cpu``/``colab`` we train LoRA adapters and merge them into the weights at the end, so
``<run_dir>/sft/model`` is a plain ``from_pretrained`` folder; on ``tiny`` we fine-tune every weight.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from datasets import Dataset
from peft import LoraConfig
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback
from trl import SFTConfig as TRLSFTConfig
from trl import SFTTrainer

from . import distributed as dist
from .config import validate_profile
from .data import held_out_split, jd_format_ok
from .losses import sft_loss
from .models import load_generator, native_bf16
from .prompts import prompt_completion, validate_cv
from .runio import GirlError, NonFiniteError, require_stage, save_stage, set_seed
from .sampling import Sampling, generate_jds


def build_sft_example(tokenizer, cv: str, jd: str, max_length: int | None = None) -> dict:
    """Token ids and Eq. 1 labels for one pair: labels are -100 on the prompt, the token id on the JD.

    Mirrors TRL's prompt/completion tokenisation (completion = JD + end-of-turn token)."""
    pc = prompt_completion(tokenizer, validate_cv(cv), jd)
    prompt_ids = tokenizer(pc["prompt"], add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(pc["prompt"] + pc["completion"], add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None and full_ids[-1] != tokenizer.eos_token_id:
        full_ids = full_ids + [tokenizer.eos_token_id]
    n_prompt = 0
    while n_prompt < min(len(prompt_ids), len(full_ids)) and prompt_ids[n_prompt] == full_ids[n_prompt]:
        n_prompt += 1
    labels = [-100] * n_prompt + full_ids[n_prompt:]
    if max_length is not None:
        full_ids, labels = full_ids[:max_length], labels[:max_length]
    return {"input_ids": full_ids, "labels": labels, "n_prompt": n_prompt}


def fit_cv_to_length(tokenizer, cv: str, jd: str, max_length: int | None) -> str:
    """The CV, shortened from its end just enough that prompt + JD + end-of-turn fit ``max_length`` tokens.

    SFT must see every JD whole, its requirements and its end-of-turn token included (a JD cut at the
    end teaches the model never to stop); the CV's last lines (education, skills) are what goes, and the
    model still sees its beginning. Raises when even an empty CV would not leave room for the JD."""
    cv = validate_cv(cv)
    if max_length is None:
        return cv
    for _ in range(8):  # tokens and text do not map one to one at the cut: a few passes settle it
        excess = len(build_sft_example(tokenizer, cv, jd)["input_ids"]) - max_length
        if excess <= 0:
            return cv
        ids = tokenizer(cv, add_special_tokens=False)["input_ids"]
        if excess + 1 >= len(ids):
            break
        cv = tokenizer.decode(ids[:len(ids) - excess - 1], skip_special_tokens=True).strip()
    raise GirlError(f"an SFT row's JD alone does not fit sft.max_length={max_length} tokens; raise "
                    f"sft.max_length (the JD is never truncated)")


@torch.no_grad()
def jd_perplexity(model, tokenizer, cvs, jds, max_length: int = 512, batch_size: int = 8) -> float:
    """exp(mean NLL of the JD tokens given the prompt): Eq. 1 averaged over held-out pairs."""
    device = next(model.parameters()).device
    model.eval()
    total_nll, total_tokens = 0.0, 0
    examples = [build_sft_example(tokenizer, c, j, max_length) for c, j in zip(cvs, jds)]
    for start in range(0, len(examples), batch_size):
        batch = examples[start:start + batch_size]
        width = max(len(e["input_ids"]) for e in batch)
        pad = tokenizer.pad_token_id
        ids = torch.tensor([e["input_ids"] + [pad] * (width - len(e["input_ids"])) for e in batch], device=device)
        labels = torch.tensor([e["labels"] + [-100] * (width - len(e["labels"])) for e in batch], device=device)
        mask = (torch.arange(width, device=device)[None, :] <
                torch.tensor([len(e["input_ids"]) for e in batch], device=device)[:, None]).long()
        logits = model(input_ids=ids, attention_mask=mask).logits
        n = int((labels[:, 1:] != -100).sum())
        total_nll += float(sft_loss(logits, labels)) * n  # Eq. 1, token-weighted
        total_tokens += n
    return math.exp(total_nll / max(total_tokens, 1))


def format_compliance(texts: list[str]) -> float:
    """Share of generated JDs that have both JD sections (``Responsibilities:`` and ``Requirements:``)."""
    return float(np.mean([jd_format_ok(t) for t in texts])) if texts else float("nan")


def sample_jds(model, tokenizer, cvs, gcfg, seed: int = 0) -> list[str]:
    """One sampled JD per CV with the profile's generation settings (for before/after comparisons)."""
    out = [""] * len(cvs)
    for i, text, _, _ in generate_jds(model, tokenizer, list(cvs), Sampling.of_generate(gcfg, seed)):
        out[i] = text
    return out


class FiniteLossCallback(TrainerCallback):
    """Stop training the moment the logged loss or gradient norm is NaN/inf, before anything is saved."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key in ("loss", "grad_norm"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(float(value)):
                raise NonFiniteError(f"SFT {key} became {value} at step {state.global_step}. Nothing "
                                     f"was saved. Lower sft.learning_rate and rerun `girl sft`.")


class StepPrinter(TrainerCallback):
    """One line per logged step (``run_sft`` with ``progress``), from the main process only."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs and state.is_world_process_zero:
            print(f"  sft step {state.global_step}/{args.max_steps}: loss {logs['loss']:.4f}", flush=True)


def _check_weights_finite(model) -> None:
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise NonFiniteError(f"SFT produced NaN/inf weights ({bad[0]} and {len(bad) - 1} more). Nothing was "
                             f"saved. Lower sft.learning_rate and rerun `girl sft`.")


def jd_only_nll(model, input_ids, attention_mask, labels, num_items_in_batch=None) -> torch.Tensor:
    """Eq. 1 with the LM head applied to the JD positions only.

    The backbone reads prompt + JD as usual; the vocabulary projection (576 x 49k for SmolLM2) and the
    cross-entropy run only where ``labels[:, 1:] != -100``, i.e. on the states that predict a JD token.
    Same value as :func:`girl_lib.losses.sft_loss` on the full logits (a test checks it), but on CPU the
    prompt's logits were a third of an SFT step: TRL's fused head projects every position off-GPU.
    ``num_items_in_batch`` (set by the Trainer under gradient accumulation) replaces the token count,
    as in TRL. Plain causal LMs only (no logit soft-capping or scaling)."""
    targets = labels[:, 1:]
    keep = targets != -100
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        # Several processes: the forward must go through the DDP wrapper, or the gradients are never
        # averaged. ``logits_to_keep`` (positions) keeps the head on the columns that predict a JD token in
        # some row of the batch; the rows' own JD positions are picked from those.
        cols = keep.any(0).nonzero().squeeze(-1)
        logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False,
                       logits_to_keep=cols).logits
        sel = keep[:, cols]
        logits, wanted = logits[sel].float(), targets[:, cols][sel]
    else:
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        hidden = base.get_decoder()(input_ids=input_ids, attention_mask=attention_mask,
                                    use_cache=False).last_hidden_state
        logits, wanted = base.get_output_embeddings()(hidden[:, :-1][keep]).float(), targets[keep]
    nll = F.cross_entropy(logits, wanted, reduction="sum")
    n = keep.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return nll / n


class JDOnlySFTTrainer(SFTTrainer):
    """TRL's ``SFTTrainer`` with Eq. 1 computed by :func:`jd_only_nll` (the LM head on JD positions only)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if return_outputs:  # evaluation paths that want logits: TRL's own
            return super().compute_loss(model, inputs, True, num_items_in_batch)
        loss = jd_only_nll(model, inputs["input_ids"], inputs.get("attention_mask"), inputs["labels"],
                           num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # as TRL: DDP averages the gradients
        return loss


def make_trainer(model, tokenizer, train_rows, cfg, output_dir):
    """A configured TRL ``SFTTrainer`` (fp32 and no gradient checkpointing on CPU) whose loss is
    :func:`jd_only_nll` (Eq. 1; TRL's own ``compute_loss`` gives the same value, a test checks it)."""
    s = cfg.sft
    on_gpu = next(model.parameters()).device.type == "cuda"
    world = dist.num_processes()
    if s.batch_size % world:
        raise GirlError(f"sft.batch_size={s.batch_size} is the global batch: it must be divisible by the number "
                        f"of processes ({world})")
    rows = [prompt_completion(tokenizer, fit_cv_to_length(tokenizer, c, j, s.max_length), j)
            for c, j in zip(train_rows["cv"], train_rows["jd"])]
    args = TRLSFTConfig(
        output_dir=str(output_dir), max_steps=s.max_steps, per_device_train_batch_size=s.batch_size // world,
        gradient_accumulation_steps=s.grad_accum, learning_rate=s.learning_rate, warmup_steps=s.warmup_ratio,
        lr_scheduler_type="cosine", logging_steps=s.logging_steps, save_strategy="no", report_to=[],
        completion_only_loss=True, max_length=s.max_length, packing=False, seed=s.seed,
        bf16=on_gpu and native_bf16(), fp16=on_gpu and not native_bf16(),
        activation_checkpointing=False, use_cpu=not on_gpu, dataloader_num_workers=0, disable_tqdm=True,
        dataset_num_proc=None,
    )
    peft_config = None
    if s.use_lora:
        peft_config = LoraConfig(r=s.lora_r, lora_alpha=s.lora_alpha, lora_dropout=s.lora_dropout,
                                 target_modules="all-linear", task_type="CAUSAL_LM")
    tokenizer.padding_side = "right"
    trainer = JDOnlySFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                               processing_class=tokenizer, peft_config=peft_config,
                               callbacks=[FiniteLossCallback()])
    trainer.remove_callback(PrinterCallback)  # run_sft prints its own one-line log
    return trainer


def run_sft(cfg, run_dir, progress: bool = True) -> dict:
    """Fine-tune the base generator on the ``sft`` split; write ``sft/model`` and ``sft/metrics.json``.

    Under ``accelerate launch`` TRL's trainer runs DDP (``sft.batch_size`` is the global batch, each process
    takes ``batch_size / N`` rows of it); every process evaluates (same weights, same seeds, same numbers)
    and only the main process writes."""
    validate_profile(cfg)  # before any work, also when a field was set by hand after the profile was built
    require_stage(run_dir, "data", "sft")
    run_dir, s = Path(run_dir), cfg.sft
    set_seed(s.seed)
    held_out, rest = held_out_split(run_dir, "sft", ("cv", "jd"), s.seed, s.n_eval, eval_share=10)
    n_eval = len(held_out["cv"])
    n_train = min(len(rest), s.max_steps * s.batch_size * s.grad_accum)
    train = rest.select(range(n_train))
    n_format = min(n_eval, s.n_format)

    t0 = time.time()
    model, tok = load_generator(cfg.models.generator, cfg, for_training=True)
    ppl_before = jd_perplexity(model, tok, held_out["cv"], held_out["jd"], s.max_length)
    before = sample_jds(model, tok, held_out["cv"][:n_format], cfg.generate, seed=s.seed)

    trainer = make_trainer(model, tok, train, cfg, run_dir / "sft" / ".trainer")
    if progress:
        trainer.add_callback(StepPrinter())
    t_train = time.time()
    trainer.train()
    train_seconds = time.time() - t_train
    model = trainer.model
    _check_weights_finite(model)
    if s.use_lora:
        model = model.merge_and_unload()
    model.eval()
    tok.padding_side = "left"

    ppl_after = jd_perplexity(model, tok, held_out["cv"], held_out["jd"], s.max_length)
    after = sample_jds(model, tok, held_out["cv"][:n_format], cfg.generate, seed=s.seed)
    curve = [{"step": h["step"], "loss": h["loss"]} for h in trainer.state.log_history if "loss" in h]
    metrics = {
        "train_loss_curve": curve, "final_train_loss": curve[-1]["loss"] if curve else None,
        "jd_perplexity_before": ppl_before, "jd_perplexity_after": ppl_after,
        "format_compliance_before": format_compliance(before), "format_compliance_after": format_compliance(after),
        "samples": [{"cv": c, "before": b, "after": a} for c, b, a in zip(held_out["cv"][:n_format], before, after)],
        "n_train": n_train, "n_eval": n_eval, "steps": s.max_steps, "lora": s.use_lora,
        "train_seconds": train_seconds, "seconds": time.time() - t0,
        "num_processes": dist.num_processes(), "per_device_batch_size": s.batch_size // dist.num_processes(),
    }
    if dist.is_main_process():
        save_stage(run_dir, "sft", metrics, {"jd_perplexity_after": ppl_after}, cfg, model=(model, tok))
    dist.barrier()  # no process returns before the stage is marked done
    return metrics
