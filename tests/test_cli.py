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


HEAVY = ("torch", "transformers", "matplotlib", "datasets", "trl")


def test_start_up_imports_no_torch_transformers_or_matplotlib():
    """`import girl_lib.cli`, `girl --help` and a bad --set answer without the heavy libraries (a fresh
    process: the test process has them loaded already)."""
    code = ("import sys, contextlib, io\n"
            "import girl_lib.cli as cli\n"
            "for argv in (['--help'], ['run', '--help'], ['data', '--profile', 'tiny', '--set', 'ppo.kl_coef'],\n"
            "             ['data', '--profile', 'tiny', '--set', 'ppo.nope=1']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "        try:\n"
            "            cli.main(argv)\n"
            "        except SystemExit:\n"
            "            pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_set_without_a_value_names_the_flag_and_the_fix(capsys):
    assert main(["run", "--profile", "tiny", "--run-dir", "x", "--set", "ppo.kl_coef"]) == 2
    err = capsys.readouterr().err
    assert "--set ppo.kl_coef: no value given; write it as --set ppo.kl_coef=VALUE" in err
    assert "unpack" not in err
