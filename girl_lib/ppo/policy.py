"""The policies of Sec. IV-C: the actor ``G^a`` (SFT weights + a fresh LoRA adapter, or a full trainable
copy) and the frozen reference ``G`` (with LoRA: the same model with its adapter switched off)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model

from ..models import load_generator


def disable_dropout(model: torch.nn.Module) -> None:
    """Set every dropout probability to 0 (the PPO ratio must be 1 before the first update)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0


@dataclass
class Models:
    """The policies Algorithm 1 samples from. ``ref`` is ``None`` with LoRA (the reference is then
    ``actor`` with its adapter disabled: one copy of the weights in memory)."""

    actor: torch.nn.Module
    tokenizer: object
    ref: torch.nn.Module | None


def build_actor(sft_dir: Path, cfg, adapter_dir: Path | None = None):
    """The actor ``G^a``: SFT weights + a fresh LoRA adapter (or the one saved in ``adapter_dir``), or a
    full trainable copy of the SFT model when ``ppo.use_lora`` is off. Returns ``(actor, tokenizer, ref)``."""
    p = cfg.ppo
    if not p.use_lora:
        actor, tok = load_generator(str(adapter_dir or sft_dir), cfg, for_training=True)
        ref, _ = load_generator(str(sft_dir), cfg, for_training=True)
        ref.eval().requires_grad_(False)
        disable_dropout(ref)
        disable_dropout(actor)
        return actor, tok, ref
    base, tok = load_generator(str(sft_dir), cfg, for_training=True)
    disable_dropout(base)
    if adapter_dir is not None:
        actor = PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=True)
    else:
        lora = LoraConfig(r=p.lora_r, lora_alpha=p.lora_alpha, lora_dropout=0.0, target_modules="all-linear",
                          task_type="CAUSAL_LM")
        actor = get_peft_model(base, lora)
    return actor, tok, None


@contextlib.contextmanager
def reference_policy(models: Models, actor_unwrapped):
    """``with reference_policy(m, a) as ref:`` yields the frozen SFT model ``G`` of Eq. 3.

    With LoRA it is the actor itself with the adapter switched off (``disable_adapter``), so the
    reference costs no memory.
    """
    if models.ref is not None:
        yield models.ref
    else:
        with actor_unwrapped.disable_adapter():
            yield actor_unwrapped

