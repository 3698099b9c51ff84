import json
import subprocess
import sys
from pathlib import Path

from girl_lib.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def test_every_stage_has_a_subcommand():
    parser = build_parser()
    for cmd in ("run", "data", "sft", "reward", "ppo", "generate", "judge", "recommend", "report"):
        args = parser.parse_args([cmd, "--profile", "tiny", "--run-dir", "x"])
        assert args.command == cmd
    assert parser.parse_args(["ppo", "--resume"]).resume
    assert parser.parse_args(["run", "--force", "ppo"]).force == ["ppo"]


def test_data_from_rjdb_fixture(tmp_path):
    rc = main(["data", "--profile", "tiny", "--run-dir", str(tmp_path), "--source", "rjdb",
               "--path", str(FIXTURES / "rjdb_tiny.jsonl")])
    assert rc == 0
    from girl_lib.data import load_data

    ds = load_data(tmp_path)
    assert len(ds["sft"]) > 0 and set(ds["rec_test"]["label"]) <= {0, 1}


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"Job-Description": "x"}\n')
    rc = main(["data", "--profile", "tiny", "--run-dir", str(tmp_path / "r"), "--source", "rjdb", "--path", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error:") and "Resume-matched" in err
    rc = main(["sft", "--profile", "tiny", "--run-dir", str(tmp_path / "empty")])
    assert rc == 2 and "girl data --run-dir" in capsys.readouterr().err


def test_judge_pairs_file_mode_with_the_offline_rubric(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "girl_lib.cli", "judge", "--profile", "tiny", "--pairs",
                           str(FIXTURES / "judge_pairs.jsonl"), "--backend", "rubric", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    for key in ("win", "tie", "lose", "adv", "adv_ci", "flip_rate", "parse_errors", "n", "aspects"):
        assert key in report
    assert set(report["aspects"]) == {"detail", "relevance", "conciseness"}


def test_unknown_override_is_reported(capsys):
    assert main(["data", "--profile", "tiny", "--run-dir", "x", "--set", "ppo.nope=1"]) == 2
    assert "ppo.nope" in capsys.readouterr().err
