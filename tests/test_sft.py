import shutil

import pytest
import torch

from girl_lib.config import apply_overrides
from girl_lib.losses import sft_loss
from girl_lib.runio import GirlError, NonFiniteError, is_done, read_json
from girl_lib.sft import build_sft_example, jd_only_nll, make_trainer, run_sft

CV = "Junior data analyst in Berlin. Built Tableau dashboards for the sales team. Skills: SQL, Excel."
JD = "Data Analyst\nAcme GmbH, Berlin\nResponsibilities:\n- build dashboards\nRequirements:\n- SQL"


def test_only_jd_tokens_carry_the_eq1_loss(tiny_generator):
    _, tok = tiny_generator
    ex = build_sft_example(tok, CV, JD)
    n_prompt = ex["n_prompt"]
    assert all(label == -100 for label in ex["labels"][:n_prompt])
    jd_ids = ex["input_ids"][n_prompt:]
    assert ex["labels"][n_prompt:] == jd_ids and jd_ids[-1] == tok.eos_token_id
    assert tok.decode(jd_ids, skip_special_tokens=True).strip() == JD


def test_our_eq1_equals_the_loss_trl_reports(tiny_cfg, tiny_generator):
    from datasets import Dataset

    model, tok = tiny_generator
    rows = Dataset.from_dict({"cv": [CV, CV + " Also Python."], "jd": [JD, JD + "\n- Python"]})
    trainer = make_trainer(model, tok, rows, tiny_cfg, "/tmp/girl-test-sft-trainer")
    batch = next(iter(trainer.get_train_dataloader()))
    model.eval()
    from trl import SFTTrainer

    trl_loss = SFTTrainer.compute_loss(trainer, model, dict(batch))  # TRL's own (fused LM head)
    jd_only = trainer.compute_loss(model, dict(batch))  # what our trainer minimises: head on JD rows only
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    ours = sft_loss(logits, batch["labels"])
    torch.testing.assert_close(ours, trl_loss.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(jd_only.detach(), trl_loss.detach(), rtol=1e-5, atol=1e-6)
    # and it really scores the JD labels: changing one changes the loss
    labels = batch["labels"].clone()
    first_jd = int((labels[0] != -100).nonzero()[0])
    labels[0, first_jd + 1] = (labels[0, first_jd + 1] + 1) % model.config.vocab_size
    changed = jd_only_nll(model, batch["input_ids"], batch["attention_mask"], labels)
    assert not torch.allclose(changed, jd_only)
    # and TRL put the loss on exactly the JD tokens our Eq. 1 example marks
    expected = sorted(sum(label != -100 for label in build_sft_example(tok, c, j)["labels"])
                      for c, j in zip(rows["cv"], rows["jd"]))
    assert sorted(int((labels != -100).sum()) for labels in batch["labels"]) == expected
    tok.padding_side = "left"


def test_run_sft_learns_and_writes_a_loadable_model(tiny_cfg, tiny_data_dir, tmp_path):
    from girl_lib.models import load_generator

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_data_dir, run_dir)
    m = run_sft(tiny_cfg, run_dir, progress=False)
    assert is_done(run_dir, "sft")
    curve = [c["loss"] for c in m["train_loss_curve"]]
    assert curve[-1] < curve[0]
    assert m["jd_perplexity_after"] < m["jd_perplexity_before"]
    assert read_json(run_dir / "sft" / "metrics.json")["n_train"] == m["n_train"]
    model, _ = load_generator(str(run_dir / "sft" / "model"))
    assert model.config.model_type == "llama"


def test_nan_loss_stops_before_saving(tiny_cfg, tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_data_dir, run_dir)
    # validation refuses an infinite learning rate (run_sft checks its config too); a finite but absurd one
    # makes the loss diverge in training, which is what the guard must catch
    cfg = apply_overrides(tiny_cfg, {"sft.max_steps": 4, "sft.logging_steps": 1, "sft.learning_rate": 1e30})
    with pytest.raises(NonFiniteError, match="SFT (loss|grad_norm|produced)"):
        run_sft(cfg, run_dir, progress=False)
    assert not (run_dir / "sft" / "model").exists() and not is_done(run_dir, "sft")


def test_cpu_training_is_fp32_without_checkpointing(tiny_cfg, tiny_generator):
    """TRL defaults bf16 and gradient checkpointing on; both are 15-80x slower on these CPUs."""
    from datasets import Dataset

    model, tok = tiny_generator
    trainer = make_trainer(model, tok, Dataset.from_dict({"cv": [CV], "jd": [JD]}), tiny_cfg, "/tmp/girl-t")
    assert not trainer.args.bf16 and not trainer.args.fp16
    assert not trainer.args.gradient_checkpointing
    tok.padding_side = "left"


def test_cpu_sft_rows_keep_the_whole_jd_and_its_eos():
    """With the cpu profile's tokenizer and max_length, every SFT row of the cpu world keeps its JD and
    the end-of-turn token (the JD is never cut); a CV too long for the budget loses its own tail instead."""
    from girl_lib.config import get_profile
    from girl_lib.models import load_tokenizer, resolve_generator
    from girl_lib.sft import build_sft_example, fit_cv_to_length
    from girl_lib.world.splits import build_splits

    cfg = get_profile("cpu")
    tok = load_tokenizer(resolve_generator("smollm2"))
    rows = build_splits(cfg.data)["sft"][:300]
    for row in rows:
        cv = fit_cv_to_length(tok, row["cv"], row["jd"], cfg.sft.max_length)
        ex = build_sft_example(tok, cv, row["jd"], cfg.sft.max_length)
        jd_ids = tok(row["jd"].strip(), add_special_tokens=False)["input_ids"]
        assert len(ex["input_ids"]) <= cfg.sft.max_length
        assert ex["input_ids"][-1] == tok.eos_token_id and ex["labels"][-1] == tok.eos_token_id
        assert sum(lab != -100 for lab in ex["labels"]) >= len(jd_ids)  # the whole JD carries the loss
    # a budget that cannot hold this CV: the CV is shortened, the JD and EOS stay
    row = rows[0]
    full = len(build_sft_example(tok, row["cv"], row["jd"])["input_ids"])
    short_cv = fit_cv_to_length(tok, row["cv"], row["jd"], full - 40)
    ex = build_sft_example(tok, short_cv, row["jd"])
    assert len(ex["input_ids"]) <= full - 40 and ex["input_ids"][-1] == tok.eos_token_id
    assert row["cv"].startswith(short_cv[:50]) and len(short_cv) < len(row["cv"])
    with pytest.raises(GirlError, match="sft.max_length"):
        fit_cv_to_length(tok, row["cv"], row["jd"], 30)
