"""Nothing stale, nothing lost: stage fingerprints, rebuilds, backups and the PPO checkpoint's provenance.

Most tests replace the stage functions by fakes (``pipeline._dispatch``) that write a file and mark the stage
done as the real ones do, so the invalidation logic runs in milliseconds; one test runs the real tiny
stages through a rebuild, on a copy of the session's finished tiny run (conftest.tiny_run).
"""

import json

import pytest
import torch

from girl_lib.config import get_profile
from girl_lib.pipeline import (STAGES, backup_dir, dependents, describe, ensure, is_fresh, run_pipeline, run_stage,
                               stage_status)
from girl_lib.runio import (GirlError, INPUTS, done_record, expected_fingerprints, generation_fingerprints,
                            read_json, stage_config)


def tiny(*overrides):
    return get_profile("tiny", list(overrides))




def test_each_stage_hashes_the_config_it_reads():
    base = expected_fingerprints(tiny())

    def changed(*overrides):
        new = expected_fingerprints(tiny(*overrides))
        return [s for s in STAGES if new[s] != base[s]]

    assert changed("ppo.kl_coef=0.5") == ["ppo", "generate", "judge", "recommend"]
    assert changed("generate.temperature=0") == ["generate", "judge", "recommend"]
    assert changed("sft.max_steps=5") == ["sft", "ppo", "generate", "judge", "recommend"]
    assert changed("reward.max_length=128") == ["reward", "ppo", "generate", "judge", "recommend"]
    assert changed("data.seed=1") == list(STAGES)
    assert changed("judge.n_bootstrap=100") == ["judge", "recommend"]  # recommend bootstraps with it too
    assert changed("recommend.epochs=2") == ["recommend"]
    # how a stage runs, not what it makes: nothing to rebuild
    assert changed("ppo.checkpoint_every=2", "judge.max_concurrency=2", "recommend.num_threads=2",
                   "models.device=cpu", "generate.backend=hf") == []
    assert expected_fingerprints(tiny()) == base  # stable


def test_the_graph_matches_the_issue():
    assert INPUTS["ppo"] == ("data", "sft", "reward")
    assert INPUTS["generate"] == ("data", "sft", "ppo")
    assert dependents("data") == list(STAGES)
    assert dependents("generate") == ["generate", "judge", "recommend"]


def test_a_file_source_is_hashed_by_content(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("cv,jd\na,b\n")
    cfg = tiny("data.source=csv", f"data.path={f}")
    before = expected_fingerprints(cfg)["data"]
    f.write_text("cv,jd\na,c\n")
    assert expected_fingerprints(cfg)["data"] != before
    assert "data.path" not in stage_config(cfg, "data")  # moving the file does not rebuild


def test_finished_run_is_skipped_and_a_config_change_rebuilds_downstream(fake, tmp_path, capsys):
    run_pipeline(tiny(), tmp_path)
    assert fake.calls == list(STAGES)
    assert all(is_fresh(tiny(), tmp_path, s) for s in STAGES)
    fake.calls.clear()
    run_pipeline(tiny(), tmp_path)
    assert fake.calls == []
    capsys.readouterr()
    run_pipeline(tiny("ppo.kl_coef=0.5"), tmp_path)
    out = capsys.readouterr().out
    assert ("ppo: config changed (ppo.kl_coef 0.05 -> 0.5); rebuilding ppo, generate, judge, recommend"
            in out)
    assert fake.calls == ["ppo", "generate", "judge", "recommend"]
    assert json.loads((tmp_path / "ppo" / "out.json").read_text())["ppo.kl_coef"] == 0.5
    assert not any(backup_dir(tmp_path, s).exists() for s in STAGES)  # backups dropped once replaced
    rec = done_record(tmp_path, "generate")
    assert rec["inputs"]["ppo"] == done_record(tmp_path, "ppo")["fingerprint"]
    assert rec["profile"] == "tiny" and rec["config"]["generate.temperature"] == 0.7


def test_force_rebuilds_a_stage_and_its_dependents_and_drops_partial_outputs(fake, tmp_path, capsys):
    run_pipeline(tiny(), tmp_path)
    fake.calls.clear()
    (tmp_path / "ppo" / "checkpoint").mkdir()  # an old checkpoint travels with the old output
    run_pipeline(tiny(), tmp_path, force=("ppo",))
    assert "ppo: forced (--force ppo); rebuilding ppo, generate, judge, recommend" in capsys.readouterr().out
    assert fake.calls == ["ppo", "generate", "judge", "recommend"]
    assert not (tmp_path / "ppo" / "checkpoint").exists()
    assert not fake.saw_partial["ppo"]
    # an unfinished stage's leftovers are dropped by --force, resumed otherwise
    fake.fail = {"generate"}
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(tiny(), tmp_path, force=("generate",))
    fake.fail = set()
    run_pipeline(tiny(), tmp_path)
    assert fake.saw_partial["generate"]  # resumed: same fingerprint
    fake.fail = {"generate"}
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(tiny(), tmp_path, force=("generate",))
    fake.fail = set()
    run_pipeline(tiny(), tmp_path, force=("generate",))
    assert not fake.saw_partial["generate"]


def test_an_interrupted_rebuild_keeps_the_old_output_until_the_new_one_is_done(fake, tmp_path, capsys):
    run_pipeline(tiny(), tmp_path)
    old = (tmp_path / "ppo" / "out.json").read_text()
    fake.fail = {"ppo"}
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(tiny("ppo.kl_coef=0.5"), tmp_path)
    assert (backup_dir(tmp_path, "ppo") / "out.json").read_text() == old  # nothing lost
    assert (tmp_path / "generate" / "DONE").exists()  # downstream not touched yet
    assert stage_status(tiny(), tmp_path)["ppo"].state == "missing"
    fake.fail = set()
    # the profile went back: the kept output is restored, nothing runs
    fake.calls.clear()
    capsys.readouterr()
    run_pipeline(tiny(), tmp_path)
    assert "ppo: restored the finished output" in capsys.readouterr().out
    assert fake.calls == [] and (tmp_path / "ppo" / "out.json").read_text() == old
    assert not backup_dir(tmp_path, "ppo").exists()
    # interrupted again, then finished with the new profile: the partial build is resumed, the backup dropped
    fake.fail = {"ppo"}
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(tiny("ppo.kl_coef=0.5"), tmp_path)
    fake.fail = set()
    run_pipeline(tiny("ppo.kl_coef=0.5"), tmp_path)
    assert fake.saw_partial["ppo"]
    assert not backup_dir(tmp_path, "ppo").exists()
    assert all(is_fresh(tiny("ppo.kl_coef=0.5"), tmp_path, s) for s in STAGES)


def test_partial_outputs_of_another_config_are_discarded(fake, tmp_path, capsys):
    run_pipeline(tiny(), tmp_path, stages=("data", "sft", "reward"))
    fake.fail = {"ppo"}
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(tiny(), tmp_path)
    fake.fail = set()
    run_pipeline(tiny("ppo.kl_coef=0.5"), tmp_path)
    assert "ppo: discarding its unfinished outputs made under another config" in capsys.readouterr().out
    assert not fake.saw_partial["ppo"]


def test_a_damaged_checkpoint_stops_girl_run_with_a_way_out(fake, tmp_path):
    run_pipeline(tiny(), tmp_path, stages=("data", "sft", "reward"))
    fake.fail = {"ppo"}
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(tiny(), tmp_path)
    fake.fail = set()
    (tmp_path / "ppo" / "checkpoint").mkdir()
    (tmp_path / "ppo" / "checkpoint" / "damaged").write_text("")
    with pytest.raises(GirlError, match=r"delete it or run without `--resume`.*--force ppo"):
        run_pipeline(tiny(), tmp_path)
    run_pipeline(tiny(), tmp_path, force=("ppo",))
    assert fake.resumed["ppo"] is False and is_fresh(tiny(), tmp_path, "ppo")


def test_generations_are_reused_only_when_their_generator_is_unchanged(fake, tmp_path):
    run_pipeline(tiny(), tmp_path)
    before = {k: (tmp_path / "generate" / f"{k}.jsonl").read_text() for k in ("base", "sft", "girl")}
    fps = generation_fingerprints(tiny(), tmp_path)
    run_pipeline(tiny("ppo.kl_coef=0.5"), tmp_path)
    after = {k: (tmp_path / "generate" / f"{k}.jsonl").read_text() for k in ("base", "sft", "girl")}
    assert after["base"] == before["base"]  # same generator, data and settings: carried over
    assert after["girl"] != before["girl"] and after["sft"] != before["sft"]
    new = generation_fingerprints(tiny("ppo.kl_coef=0.5"), tmp_path)
    assert new["base"] == fps["base"] and new["girl"] != fps["girl"]
    run_pipeline(tiny("ppo.kl_coef=0.5", "generate.temperature=0"), tmp_path)
    assert (tmp_path / "generate" / "base.jsonl").read_text() != before["base"]  # the sampler changed


def test_the_judge_cache_and_embedding_caches_carry_over(fake, tmp_path):
    run_pipeline(tiny(), tmp_path)
    (tmp_path / "judge" / "cache.jsonl").write_text('{"key": "k", "reply": "r"}\n')
    (tmp_path / "recommend" / "emb_cv.npy").write_bytes(b"x")
    run_pipeline(tiny("judge.n_bootstrap=50"), tmp_path)
    assert "reply" in (tmp_path / "judge" / "cache.jsonl").read_text()
    assert (tmp_path / "recommend" / "emb_cv.npy").read_bytes() == b"x"


def test_data_from_a_file_is_kept_and_everything_after_it_rebuilt(fake, tmp_path, capsys):
    run_pipeline(tiny(), tmp_path)
    f = tmp_path / "my.csv"
    f.write_text("cv,jd\na,b\n")
    fake.calls.clear()
    run_stage("data", tiny("data.source=csv", f"data.path={f}"), tmp_path)  # what `girl data --source csv` does
    capsys.readouterr()
    run_pipeline(tiny(), tmp_path)
    out = capsys.readouterr().out
    assert "data: keeping the csv data" in out
    assert "sft, reward: data changed since they were built; rebuilding sft, reward, ppo" in out
    assert fake.calls == ["data"] + list(STAGES[1:])
    assert json.loads((tmp_path / "data" / "out.json").read_text())["data.source"] == "csv"
    fake.calls.clear()
    run_pipeline(tiny(), tmp_path, force=("data",))  # back to the profile's synthetic world
    assert json.loads((tmp_path / "data" / "out.json").read_text())["data.source"] == "synthetic"


def test_other_synthetic_data_rebuilds_what_was_built_from_it(fake, tmp_path, capsys):
    run_pipeline(tiny(), tmp_path)
    run_stage("data", tiny("data.seed=1"), tmp_path)
    fake.calls.clear()
    capsys.readouterr()
    run_pipeline(tiny("data.seed=1"), tmp_path)
    assert fake.calls == list(STAGES[1:])
    # back to seed 0: the data is rebuilt; everything after it too (it was built from seed 1 meanwhile)
    fake.calls.clear()
    run_pipeline(tiny(), tmp_path)
    assert "data: config changed (data.seed 1 -> 0)" in capsys.readouterr().out
    assert fake.calls == list(STAGES)


def test_ensure_rebuilds_stale_upstream_stages(fake, tmp_path):
    run_pipeline(tiny(), tmp_path)
    fake.calls.clear()
    ensure(tiny("sft.max_steps=5"), tmp_path, "generate")
    assert fake.calls == ["sft", "ppo"]
    assert not is_fresh(tiny("sft.max_steps=5"), tmp_path, "generate")


def test_describe_groups_causes_and_names_unfingerprinted_stages(fake, tmp_path):
    run_pipeline(tiny(), tmp_path)
    (tmp_path / "judge" / "DONE").write_text("{}")  # made by an older girl_lib
    lines = describe(stage_status(tiny("recommend.epochs=2"), tmp_path))
    assert lines == ["judge: made without a fingerprint (by an older girl_lib); rebuilding judge",
                     "recommend: config changed (recommend.epochs 5 -> 2); rebuilding recommend"]


# ------------------------------------------------------------------------------------------- the CLI
def test_cli_refuses_a_default_run_dir_of_another_profile(tmp_path, monkeypatch, capsys):
    from girl_lib.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "tiny").mkdir(parents=True)
    (tmp_path / "runs" / "tiny" / "profile.json").write_text(json.dumps({"name": "cpu"}))
    assert main(["data", "--profile", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "holds a 'cpu' run" in err and "--run-dir" in err
    assert not (tmp_path / "runs" / "tiny" / "data").exists()


def test_cli_report_refuses_a_stale_run(fake, tmp_path, capsys):
    from girl_lib.cli import main

    run_pipeline(tiny(), tmp_path)
    assert main(["report", "--profile", "tiny", "--run-dir", str(tmp_path), "--set", "ppo.kl_coef=0.5"]) == 2
    err = capsys.readouterr().err
    assert "ppo: config changed (ppo.kl_coef 0.05 -> 0.5)" in err and "a report would mix runs" in err
    assert main(["report", "--profile", "colab", "--run-dir", str(tmp_path)]) == 2


def test_cli_stage_commands_keep_the_old_output_and_note_stale_inputs(fake, tmp_path, capsys):
    from girl_lib.cli import main

    run_pipeline(tiny(), tmp_path)
    capsys.readouterr()
    assert main(["generate", "--profile", "tiny", "--run-dir", str(tmp_path), "--set", "ppo.kl_coef=0.5"]) == 0
    assert "note: ppo in" in capsys.readouterr().err
    assert main(["ppo", "--profile", "tiny", "--run-dir", str(tmp_path), "--resume"]) == 0
    assert "nothing to resume" in capsys.readouterr().out
    assert main(["ppo", "--profile", "tiny", "--run-dir", str(tmp_path), "--resume", "--set", "ppo.kl_coef=0.5"]) == 2
    assert "without --resume" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- PPO checkpoints
def _fake_checkpoint(ckpt, provenance, iteration=1):
    from girl_lib.ppo import CHECKPOINT_KEYS

    p = tiny().ppo
    ckpt.mkdir(parents=True)
    torch.save({"actor": {}}, ckpt / "optimizer.pt")
    torch.save({"torch": torch.get_rng_state()}, ckpt / "rng.pt")
    (ckpt / "state.json").write_text(json.dumps({"iteration": iteration, "kl_coef": p.kl_coef,
                                                 **{k: getattr(p, k) for k in CHECKPOINT_KEYS}, **provenance}))


def test_ppo_resume_refuses_a_checkpoint_of_another_config_or_other_inputs(tmp_path):
    from girl_lib.ppo import _resume_state

    cfg = tiny()
    mine = {"fingerprint": "aaaa", "config": stage_config(cfg, "ppo"), "inputs": {"sft": "s1", "reward": "r1"}}
    ckpt = tmp_path / "checkpoint"
    _fake_checkpoint(ckpt, mine)
    assert _resume_state(ckpt, cfg.ppo, True, mine)["iteration"] == 1
    assert _resume_state(ckpt, cfg.ppo, False, mine) is None
    other = dict(mine, fingerprint="bbbb", config=stage_config(tiny("ppo.kl_coef=0.5"), "ppo"))
    with pytest.raises(GirlError, match=r"ppo.kl_coef 0.05 -> 0.5.*delete `.*checkpoint` or run without `--resume`"):
        _resume_state(ckpt, cfg.ppo, True, other)
    other = dict(mine, fingerprint="cccc", inputs={"sft": "s2", "reward": "r1"})
    with pytest.raises(GirlError, match="other sft than now"):
        _resume_state(ckpt, cfg.ppo, True, other)


@pytest.mark.parametrize("damage", ["truncate_optimizer", "garbage_state", "no_state", "truncate_safetensors"])
def test_ppo_resume_explains_a_damaged_checkpoint(tmp_path, damage):
    from safetensors.torch import save_file

    from girl_lib.ppo import _resume_state

    cfg = tiny()
    ckpt = tmp_path / "checkpoint"
    _fake_checkpoint(ckpt, {})
    (ckpt / "actor").mkdir()
    save_file({"w": torch.zeros(64, 64)}, str(ckpt / "actor" / "model.safetensors"))
    if damage == "truncate_optimizer":
        data = (ckpt / "optimizer.pt").read_bytes()
        (ckpt / "optimizer.pt").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_state":
        (ckpt / "state.json").write_text('{"iteration": 1, "kl_')
    elif damage == "no_state":
        (ckpt / "state.json").unlink()
    else:
        data = (ckpt / "actor" / "model.safetensors").read_bytes()
        (ckpt / "actor" / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(GirlError, match=r"unreadable or incomplete.*delete `.*checkpoint` or run without `--resume`"):
        _resume_state(ckpt, cfg.ppo, True, None)


# ------------------------------------------------------------------------------------------- end to end
def test_real_tiny_stages_rebuild_after_a_config_change(tiny_run_copy):
    """The real stages: a finished run (a copy of the session's, conftest.tiny_run), then ppo.kl_coef changes
    (PPO and the recommender shortened): PPO is retrained (its log has every iteration, metrics.json says 0.5),
    GIRL's JDs are regenerated and the base model's are reused; data, SFT and the reward model are kept."""
    run_dir = tiny_run_copy
    before = {"base": (run_dir / "generate" / "base.jsonl").read_text()}
    kept = {s: (run_dir / s / "DONE").stat().st_mtime_ns for s in ("data", "sft", "reward")}
    changed = tiny("ppo.kl_coef=0.5", "ppo.iterations=2", "recommend.epochs=1")
    run_pipeline(changed, run_dir, progress=False)
    assert {s: (run_dir / s / "DONE").stat().st_mtime_ns for s in kept} == kept
    rows = [json.loads(line) for line in (run_dir / "ppo" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [1, 2]
    assert read_json(run_dir / "ppo" / "metrics.json")["kl_coef"] == 0.5
    assert (run_dir / "generate" / "base.jsonl").read_text() == before["base"]
    stats = read_json(run_dir / "generate" / "metrics.json")
    assert stats["base"]["generated_now"] == 0  # carried over: same generator, data and settings
    assert stats["girl"]["generated_now"] + stats["girl"]["reused_from_ppo"] == stats["girl"]["rows"] > 0
    assert all(is_fresh(changed, run_dir, s) for s in STAGES)
    assert not list(run_dir.glob(".*.prev"))
