"""PPO checkpoints: written atomically (built under a temporary name, then renamed), read back only after
every file in them loads and they were made from this config and these inputs; resuming from one
continues a run exactly as if it had not stopped (``tests/test_ppo.py::test_resume_matches_uninterrupted_run``)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from ..runio import (GirlError, NonFiniteError, atomic_dir, atomic_write_json, describe_change, read_json,
                     recover_dir)


def _rng_state() -> dict:
    """Global RNG states as plain tensors/ints (loadable with ``torch.load(weights_only=True)``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _all_finite(module: torch.nn.Module | None) -> bool:
    return module is None or all(bool(torch.isfinite(q).all()) for q in module.parameters() if q.requires_grad)


CHECKPOINT_KEYS = ("use_lora", "baseline", "samples_per_cv")
"""Settings a checkpoint must share with the run that resumes it (the saved parts differ otherwise)."""


def save_checkpoint(ckpt_dir: Path, trainer, iteration: int) -> None:
    """Write ``ckpt_dir`` atomically (built under a temporary name, then renamed): actor adapter (or full
    actor) and the baseline's trainable part as safetensors, optimiser and RNG states with ``torch.save``
    (plain tensors, read back with ``weights_only=True``), and ``state.json``."""
    acc, p = trainer.accelerator, trainer.p
    acc.wait_for_everyone()
    if not acc.is_main_process:
        return
    actor = acc.unwrap_model(trainer.models.actor)
    baseline = trainer.baseline
    if not (_all_finite(actor) and _all_finite(baseline.module)):
        raise NonFiniteError(f"weights became NaN/inf by iteration {iteration}; the checkpoint is not "
                             f"overwritten (the last good one is kept). Lower the learning rates.")
    with atomic_dir(ckpt_dir) as tmp:
        actor.save_pretrained(tmp / "actor")
        trainer.models.tokenizer.save_pretrained(tmp / "actor")
        baseline.save(tmp / "critic", acc.unwrap_model)  # nothing for a group baseline
        opt = {"actor": trainer.actor_opt.state_dict()}
        if trainer.critic_opt is not None:
            opt["critic"] = trainer.critic_opt.state_dict()
        torch.save(opt, tmp / "optimizer.pt")
        torch.save(_rng_state(), tmp / "rng.pt")
        atomic_write_json(tmp / "state.json", {"iteration": iteration, "kl_coef": trainer.kl_coef,
                                               **{key: getattr(p, key) for key in CHECKPOINT_KEYS},
                                               **trainer.provenance})


def _resume_state(ckpt_dir: Path, p, resume: bool, provenance: dict | None = None) -> dict | None:
    """The checkpoint's ``state.json`` when resuming (``None``: start afresh). Refuses, with a
    :class:`GirlError`, a checkpoint whose files are unreadable (truncated, corrupt) and one made under
    another config or from other sft/reward/data (``provenance``: this run's ``{"fingerprint", "config",
    "inputs"}``, see :func:`girl_lib.runio.build_fingerprint`)."""
    recover_dir(ckpt_dir)  # a writer killed mid-checkpoint: its leftovers go, a checkpoint moved aside comes back
    if not (resume and ckpt_dir.exists()):
        return None
    fix = f"delete `{ckpt_dir}` or run without `--resume` (PPO then starts afresh)"
    try:
        state = read_json(ckpt_dir / "state.json")
        int(state["iteration"])
        for name in ("optimizer.pt", "rng.pt"):
            torch.load(ckpt_dir / name, map_location="cpu", weights_only=True)
        for f in sorted(ckpt_dir.rglob("*.safetensors")):
            with safe_open(str(f), framework="pt") as st:
                for key in list(st.keys())[:1]:
                    st.get_tensor(key)
        for f in sorted(ckpt_dir.rglob("*.json")):
            read_json(f)
    except Exception as err:  # noqa: BLE001 - whatever a damaged file raises, the fix is the same
        raise GirlError(f"the PPO checkpoint in {ckpt_dir} is unreadable or incomplete ({type(err).__name__}: "
                        f"{str(err)[:200]}); {fix}") from None
    made = {key: state.get(key) for key in CHECKPOINT_KEYS}
    want = {key: getattr(p, key) for key in CHECKPOINT_KEYS}
    if made != want:
        raise GirlError(f"the checkpoint in {ckpt_dir} was made with {made}, this run asks for {want}; resume with "
                        f"the same settings or {fix}")
    if provenance and state.get("fingerprint") and state["fingerprint"] != provenance["fingerprint"]:
        what = describe_change(state.get("config") or {}, provenance["config"])
        other = [k for k, v in (state.get("inputs") or {}).items() if v != provenance["inputs"].get(k)]
        why = "; ".join(x for x in (what, f"other {', '.join(other)} than now" if other else "") if x)
        raise GirlError(f"the checkpoint in {ckpt_dir} was made under another config or from other inputs "
                        f"({why or 'fingerprint differs'}); {fix}")
    return state




def restore(ckpt_dir: Path, optimizers) -> None:
    """Load a checkpoint's optimiser states into ``optimizers`` and its RNG states into the global generators."""
    opt_state = torch.load(ckpt_dir / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizers.actor.load_state_dict(opt_state["actor"])
    if optimizers.critic is not None:
        optimizers.critic.load_state_dict(opt_state["critic"])
    _set_rng_state(torch.load(ckpt_dir / "rng.pt", map_location="cpu", weights_only=True))
