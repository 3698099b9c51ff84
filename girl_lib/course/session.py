"""What a notebook gets: :func:`setup` (profile, RUN_DIR, the plan, then train, read or show the reference)
returns a :class:`Session`; :func:`sft_training_setup` shows the SFT trainer's settings without training."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Imports here: only what a bare Colab runtime has (see the note in girl_lib/course/__init__.py).
from ..config import get_profile
from ..names import STAGE_MODEL_NAMES
from ..pipeline import ensure
from .colab import colab_install, drive_wanted, gpu_name, mount_drive, needs_embedded_models, on_colab
from .plan import _fmt_min, choose_profile, decide, minutes_to_train, parse_train, plan_lines, stage_done
from .reference import data_matches_reference, reference_dir, reference_info
from .repo import ROOT, _show


@dataclass
class Session:
    stage: str
    profile: str
    cfg: object
    run_dir: Path
    results_dir: Path
    mode: str
    reference: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_reference(self) -> bool:
        return self.mode == "reference"

    def has_model(self, *stages: str, what: str = "this cell") -> bool:
        """True when the trained models of ``stages`` are in RESULTS_DIR; else print why ``what`` is skipped."""
        missing = [s for s in stages if not (self.results_dir / s / "model").exists()]
        if not missing:
            return True
        if self.is_reference:
            print(f"[reference mode] {what} needs the trained {', '.join(missing)} model(s), which a reference "
                  f"run does not ship (no weights). Set TRAIN = True to train them here "
                  f"({_fmt_min(minutes_to_train(self.stage, self.profile, self.run_dir, reference_dir(self.profile)))}"
                  f" on {self.profile}); the saved output of this cell shows the reference run's result only where "
                  f"it was computed from shipped files.")
        else:
            print(f"{what} needs the trained {', '.join(missing)} model(s), not found in {self.results_dir}.")
        return False


    def generator(self, stage: str = "sft"):
        """(model, tokenizer, name): the trained generator of ``stage`` from RESULTS_DIR, or, when it is not
        there (a reference run ships no weights), the profile's base generator, with a note saying so."""
        from ..models import load_generator  # local: torch (see the note at the imports)

        path = self.results_dir / stage / "model"
        if path.exists():
            model, tok = load_generator(str(path), self.cfg)
            return model, tok, STAGE_MODEL_NAMES.get(stage, stage)
        print(f"[{self.mode} mode] the trained '{stage}' weights are not in {_show(self.results_dir)}: this cell "
              f"uses the untuned base generator ({self.cfg.models.generator}, same tokenizer and prompt). "
              "Set TRAIN = True to use the trained one.")
        model, tok = load_generator(self.cfg.models.generator, self.cfg)
        return model, tok, "base"


def setup(stage: str, profile: str | None = None, train: bool | None = None, run_dir=None,
          use_drive: bool | None = None, overrides: dict | None = None, quiet: bool = True) -> Session:
    """Set up a course notebook for ``stage``; see the module docstring. Prints what it decided and why."""
    name, why = choose_profile(profile)
    if on_colab():
        colab_install(embedded_models=needs_embedded_models(name))
    cfg = get_profile(name, overrides)
    if run_dir is None and os.environ.get("GIRL_RUN_DIR"):
        run_dir = os.environ["GIRL_RUN_DIR"]
    if run_dir is None and drive_wanted(use_drive, name, on_colab()):
        print("RUN_DIR goes on Google Drive, so trained stages survive the session (USE_DRIVE = False: local disk).")
        run_dir = mount_drive() / name
    run_dir = Path(run_dir) if run_dir is not None else ROOT / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    if quiet:
        # local, both: after colab_install (quiet_libraries imports transformers and datasets, which it installs;
        # pandas, a datasets dependency, may be upgraded by it), and models needs torch (see the imports)
        import pandas as pd

        from ..models import quiet_libraries

        quiet_libraries()
        pd.set_option("display.max_colwidth", 120)
    ref_dir = reference_dir(name)
    card = gpu_name()
    print(f"profile '{name}' ({why}); GPU: {card or 'no'}; RUN_DIR = {_show(run_dir)}")
    done = lambda s: stage_done(cfg, run_dir, s)  # noqa: E731
    for line in plan_lines(stage, name, run_dir, ref_dir, done, card):
        print(line)
    decision = decide(stage, name, run_dir, parse_train(train), ref_dir, done=done(stage))
    info = reference_info(ref_dir) if decision.mode == "reference" else None
    session = Session(stage, name, cfg, run_dir, decision.results_dir, decision.mode, info)
    if decision.mode == "reference":
        ensure(cfg, run_dir, "data", include_self=True)   # the datasets: seconds, always built here
        when = info.get("run_date") or info.get("date")
        print(f"showing the reference `{name}` run from {when} ({_show(Path(ref_dir))}/, hash {info['run_hash']}); "
              f"set TRAIN = True to train this stage yourself "
              f"({_fmt_min(minutes_to_train(stage, name, run_dir, ref_dir, done))} on {name}).")
        note = data_matches_reference(run_dir, ref_dir)
        if note:
            print(note)
            session.notes.append(note)
    elif decision.mode == "train":
        print(f"training what is missing ({decision.reason}) ...", flush=True)
        ensure(cfg, run_dir, stage, include_self=True)
    else:
        print(f"reading RUN_DIR ({decision.reason}).")
    print(f"RESULTS_DIR = {_show(session.results_dir)}")
    return session


def sft_training_setup(cfg, rows: dict, model=None, tokenizer=None) -> dict:
    """Build the TRL trainer exactly as ``girl_lib.sft.run_sft`` does (``sft.make_trainer``) on a few
    ``rows`` (``{"cv": [...], "jd": [...]}``) and return what it trains with: ``sft_config`` (TRL's
    ``SFTConfig``), ``lora_config`` (peft's ``LoraConfig``, None when every weight is trained) and the
    trainable / total parameter counts. Nothing is trained; the model is the profile's base generator
    (loaded fresh unless given: the trainer wraps it with LoRA in place)."""
    # local: datasets, torch and sft's trl/peft come with colab_install (see the note at the imports)
    from datasets import Dataset

    from ..models import load_generator
    from ..sft import make_trainer

    if model is None:
        model, tokenizer = load_generator(cfg.models.generator, cfg, for_training=True)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = make_trainer(model, tokenizer, Dataset.from_dict({"cv": rows["cv"], "jd": rows["jd"]}), cfg, tmp)
    peft_cfg = getattr(trainer.model, "peft_config", None) or {}
    params = list(trainer.model.parameters())
    return {"sft_config": trainer.args, "lora_config": peft_cfg.get("default"),
            "trainable": sum(q.numel() for q in params if q.requires_grad), "total": sum(q.numel() for q in params),
            "trainer": trainer}


SFT_CONFIG_FIELDS = ("max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate",
                     "lr_scheduler_type", "warmup_steps", "completion_only_loss", "max_length", "packing", "seed",
                     "bf16", "fp16", "use_cpu", "logging_steps")
LORA_CONFIG_FIELDS = ("r", "lora_alpha", "lora_dropout", "target_modules", "task_type", "bias")


def config_fields(obj, fields) -> dict:
    """``{field: value}`` of a config object, for display (sets shown sorted)."""
    out = {}
    for f in fields:
        v = getattr(obj, f, None)
        out[f] = sorted(v) if isinstance(v, (set, frozenset)) else getattr(v, "value", v)
    return out
