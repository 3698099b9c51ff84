"""One writer per run dir, write failures, sticky data and remembered --force: the faults that lie between
processes are tested with real processes (a lock holder, two `girl run`, a `ulimit -f` child)."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from girl_lib import pipeline
from girl_lib.cli import main
from girl_lib.config import get_profile
from girl_lib.pipeline import FORCE_MARKER, remembered_force, run_pipeline, run_stage, stage_status
from girl_lib.runio import LOCK_NAME, RunDirBusy, done_record, mark_done, run_dir_lock

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
ENV = dict(os.environ, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1",
           TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")


def _girl(*args, cwd=ROOT, **kw):
    return subprocess.Popen([sys.executable, "-m", "girl_lib.cli", *args], cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _wait_for_holder(run_dir: Path, pid: int, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if json.loads((run_dir / LOCK_NAME).read_text() or "{}").get("pid") == pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("the first process never took the lock")


# ------------------------------------------------------------------------------------------- one writer
def test_a_second_girl_run_stops_at_once_naming_the_first_and_a_killed_holder_frees_the_lock(tmp_path):
    run_dir = tmp_path / "run"
    first = _girl("run", "--profile", "tiny", "--run-dir", str(run_dir))
    try:
        _wait_for_holder(run_dir, first.pid)
        t0 = time.time()
        second = _girl("run", "--profile", "tiny", "--run-dir", str(run_dir))
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert f"pid {first.pid}" in err and "girl run --profile tiny" in err and "One writer per run dir" in err
        assert time.time() - t0 < 60  # it does not wait for the first
        assert first.poll() is None  # the first goes on
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    with run_dir_lock(run_dir):  # the OS released the killed holder's lock
        pass
    assert not list(run_dir.glob(".*.discard-*"))


def test_stage_commands_and_notebook_calls_are_refused_while_another_process_writes(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from girl_lib.runio import run_dir_lock\n"
                               f"with run_dir_lock({str(tmp_path)!r}, command='girl ppo --profile tiny'):\n"
                               "    print('locked', flush=True); time.sleep(300)"],
                              cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        rc = main(["data", "--profile", "tiny", "--run-dir", str(tmp_path)])
        assert rc == 2
        with pytest.raises(RunDirBusy, match=f"pid {holder.pid}, `girl ppo --profile tiny`"):
            run_stage("data", get_profile("tiny"), tmp_path)
        with pytest.raises(RunDirBusy):
            pipeline.ensure(get_profile("tiny"), tmp_path, "sft")
        assert not (tmp_path / "data").exists()  # nothing was started
        stage_status(get_profile("tiny"), tmp_path)  # readers need no lock
    finally:
        holder.kill()
        holder.wait()
    with run_dir_lock(tmp_path):
        with run_dir_lock(tmp_path):  # re-entrant within a process (girl run holds it while each stage takes it)
            pass


# ------------------------------------------------------------------------------------------- write failures
def _file_size_limit(nbytes):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


def test_a_file_too_large_is_one_line_and_exit_1_and_finished_stages_stay(tmp_path):
    """`ulimit -f` (a stand-in for a full disk) in a real child: the data stage cannot write its dataset."""
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "girl_lib.cli", "data", "--profile", "tiny", "--run-dir", str(run_dir)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300,
                          preexec_fn=_file_size_limit(20_000))
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: could not write {run_dir / 'data'}") and "File too large" in lines[0]
    assert "are intact" in lines[0] and f"girl data --profile tiny --run-dir {run_dir}` resumes" in lines[0]
    assert not (run_dir / "data" / "DONE").exists()


class SafetensorError(Exception):
    """Named as safetensors names its error (the CLI recognises it without importing safetensors)."""


@pytest.mark.parametrize("error", [
    SafetensorError('Error while serializing: IoError(Os { code: 27, kind: FileTooLarge, message: "File too large" })'),
    RuntimeError("[enforce fail at inline_container.cc:664] . PytorchStreamWriter failed writing file data/0: "
                 "file write failed"),
    OSError(30, "Read-only file system", "/x/ppo/metrics.json"),
])
def test_library_save_errors_are_write_failures(tmp_path, monkeypatch, capsys, error):
    def fail(*a, **k):
        raise error

    monkeypatch.setattr(pipeline, "_dispatch", fail)
    mark_done(tmp_path, "data", cfg=get_profile("tiny"))
    assert main(["sft", "--profile", "tiny", "--run-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: could not write ") and "are intact" in err
    assert ("/x/ppo/metrics.json" in err) if isinstance(error, OSError) else str(tmp_path / "sft") in err
    assert done_record(tmp_path, "data") is not None


def test_an_interrupted_force_resume_hint_drops_force(tmp_path, monkeypatch, capsys):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_pipeline", interrupted)
    assert main(["run", "--profile", "tiny", "--run-dir", str(tmp_path), "--force", "ppo", "--set",
                 "ppo.kl_coef=0.1"]) == 130
    err = capsys.readouterr().err
    assert f"`girl run --profile tiny --run-dir {tmp_path} --set ppo.kl_coef=0.1`" in err and "remembered" in err


# ------------------------------------------------------------------------------------------- fake stages
def tiny(*overrides):
    return get_profile("tiny", list(overrides))


def test_an_interrupted_force_is_remembered_until_every_stage_it_rebuilds_is_done(fake, tmp_path, capsys):
    run_pipeline(tiny(), tmp_path)
    fake.calls.clear()
    fake.fail = {"ppo"}
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(tiny(), tmp_path, force=("reward",))
    assert remembered_force(tmp_path) == {"ppo", "generate", "judge", "recommend"}  # reward finished
    fake.fail = set()
    fake.calls.clear()
    capsys.readouterr()
    run_pipeline(tiny(), tmp_path)  # without --force: the rebuild is finished, not forgotten
    out = capsys.readouterr().out
    assert fake.calls == ["ppo", "generate", "judge", "recommend"]
    assert fake.resumed["ppo"] is False and fake.saw_partial["ppo"]  # the forced build's own partial output resumes
    assert "finishing an interrupted `--force reward`: rebuilding ppo, generate, judge, recommend" in out
    assert not (tmp_path / FORCE_MARKER).exists()
    fake.calls.clear()
    run_pipeline(tiny(), tmp_path)
    assert fake.calls == []


def test_a_damaged_done_is_called_damaged(fake, tmp_path):
    run_pipeline(tiny(), tmp_path)
    (tmp_path / "judge" / "DONE").write_text("")
    (tmp_path / "sft" / "DONE").write_text('{"fingerprint": "ab')
    status = stage_status(tiny(), tmp_path)
    assert status["judge"].state == "stale" and "DONE marker is damaged (empty)" in status["judge"].reason
    assert "damaged (not JSON" in status["sft"].reason and "older" not in status["sft"].reason


# ------------------------------------------------------------------------------------------- the user's data
def _csv(tmp_path) -> Path:
    f = tmp_path / "mine.csv"
    f.write_text("cv,jd\na,b\n")
    return f


def test_the_users_file_is_kept_from_another_folder_and_never_swapped_for_the_synthetic_world(
        fake, tmp_path, monkeypatch, capsys):
    f = _csv(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["data", "--profile", "tiny", "--run-dir", "run", "--source", "csv", "--path", "mine.csv"]) == 0
    run_dir = tmp_path / "run"
    assert done_record(run_dir, "data")["path"] == str(f)  # stored absolute
    assert json.loads((run_dir / "data_source.json").read_text())["path"] == str(f)
    capsys.readouterr()
    assert main(["sft", "--profile", "tiny", "--run-dir", "run"]) == 0  # a later stage adopts it: no warning
    assert "does not match this profile" not in capsys.readouterr().err
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    run_pipeline(tiny(), run_dir)  # from another folder: the absolute path still finds the file
    assert json.loads((run_dir / "data" / "out.json").read_text())["data.source"] == "csv"
    fake.calls.clear()
    f.rename(tmp_path / "moved.csv")
    with pytest.raises(pipeline.GirlError, match=f"csv file {f}, which is not found"):
        run_pipeline(tiny(), run_dir)
    assert fake.calls == [] and done_record(run_dir, "data") and not (run_dir / ".data.prev").exists()
    # the data stage out of service (as after an interrupted rebuild): the record still names the file
    (run_dir / "data").rename(run_dir / ".data.prev")
    with pytest.raises(pipeline.GirlError, match="not found"):
        run_pipeline(tiny(), run_dir)
    assert fake.calls == []


def test_data_path_without_source_is_inferred_or_refused_and_a_missing_file_changes_nothing(fake, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["data", "--profile", "tiny", "--run-dir", str(run_dir), "--path", str(_csv(tmp_path))]) == 0
    assert "as --source csv" in capsys.readouterr().err
    assert json.loads((run_dir / "data" / "out.json").read_text())["data.source"] == "csv"
    assert main(["data", "--profile", "tiny", "--run-dir", str(run_dir), "--path",
                 str(FIXTURES / "rjdb_tiny.jsonl")]) == 0
    assert json.loads((run_dir / "data" / "out.json").read_text())["data.source"] == "rjdb"
    odd = tmp_path / "mine.dat"
    odd.write_text("x")
    before = (run_dir / "data" / "DONE").read_text()
    assert main(["data", "--profile", "tiny", "--run-dir", str(run_dir), "--path", str(odd)]) == 2
    assert "add --source rjdb, jsonl or csv" in capsys.readouterr().err
    assert main(["data", "--profile", "tiny", "--run-dir", str(run_dir), "--source", "csv", "--path",
                 str(tmp_path / "missing.csv")]) == 2
    assert "file not found" in capsys.readouterr().err
    with pytest.raises(pipeline.GirlError, match="nothing in the run dir was changed"):
        run_stage("data", tiny("data.source=csv", f"data.path={tmp_path / 'missing.csv'}"), run_dir)
    assert (run_dir / "data" / "DONE").read_text() == before and not (run_dir / ".data.prev").exists()


# ------------------------------------------------------------------------------------------- generated rows
def test_generated_rows_are_keyed_by_the_weights_that_wrote_them(fake, tmp_path):
    from girl_lib.runio import generation_fingerprints

    run_pipeline(tiny(), tmp_path)
    (tmp_path / "ppo" / "model").mkdir()
    (tmp_path / "ppo" / "model" / "model.safetensors").write_bytes(b"weights 1")
    first = generation_fingerprints(tiny(), tmp_path)
    (tmp_path / "ppo" / "model" / "model.safetensors").write_bytes(b"weights 2")  # same config, other weights
    second = generation_fingerprints(tiny(), tmp_path)
    assert first["girl"] != second["girl"] and first["base"] == second["base"] and first["sft"] == second["sft"]


def test_judge_takes_its_models_from_generate_done_and_names_a_missing_file(fake, tmp_path):
    from girl_lib.generate import generated_models

    run_pipeline(tiny(), tmp_path)
    mark_done(tmp_path, "generate", {"models": ["sft", "girl"]}, cfg=tiny())  # what run_generate records
    assert generated_models(tmp_path, ("base", "sft", "girl")) == ["sft", "girl"]  # DONE's list, not the default
    (tmp_path / "generate" / "girl.jsonl").unlink()
    with pytest.raises(pipeline.GirlError, match=r"girl\.jsonl is missing; regenerate with `girl run --run-dir"):
        generated_models(tmp_path)


def test_a_backup_that_cannot_be_deleted_is_named_with_the_command_to_remove_it(tmp_path, monkeypatch, capsys):
    prev = tmp_path / ".judge.prev"
    prev.mkdir()
    (prev / "verdicts.jsonl").write_text("{}\n")

    def refuse(path, onerror=None, **kw):  # a file system that will not let the folder go
        onerror(os.unlink, str(prev / "verdicts.jsonl"), (PermissionError, PermissionError(13, "Permission denied"), None))

    monkeypatch.setattr(pipeline.shutil, "rmtree", refuse)
    pipeline._remove_backup(prev)
    err = capsys.readouterr().err
    assert prev.exists() and f"could not delete {prev}" in err and "Permission denied" in err
    assert f"rm -rf {prev}" in err
    monkeypatch.undo()
    pipeline._remove_backup(prev)  # a folder that can go goes, silently
    assert not prev.exists() and capsys.readouterr().err == ""
