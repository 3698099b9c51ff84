"""The course notebooks: authored as jupytext percent scripts (``notebooks/NN_name.py``), paired with their
``.ipynb``, and executed.

- Every ``.py``/``.ipynb`` pair holds the same cells (sources only: the .ipynb may carry saved outputs);
  ``python -m girl_lib.course sync`` rewrites the .ipynb files from the .py sources.
- Saved outputs must come from the reference run that ``reference/cpu/`` holds now and from the notebook's
  current code (``scripts/update_reference.py --execute`` re-executes and stamps them).
- Execution (marked ``notebooks``): every numbered notebook, then every solution, on the ``tiny`` profile
  with one ``GIRL_RUN_DIR`` for the session (later notebooks reuse the stages earlier ones built; each still
  ensures its own prerequisites), then, when ``reference/cpu/`` exists, every notebook in reference mode
  (``cpu`` profile, ``TRAIN`` off: seconds each). Executed outputs are never written back.
  Deselect with ``-m "not notebooks"``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from girl_lib import course

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
SOL_DIR = NB_DIR / "solutions"
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["00_data.ipynb", "01_sft.ipynb", "02_reward_model.ipynb", "03_ppo.ipynb", "04_generate.ipynb",
            "05_judge.ipynb", "06_enhanced_recommendation.ipynb"]
SOLUTIONS = [n.replace(".ipynb", "_solutions.py") for n in EXPECTED]
REF_DIR = ROOT / "reference" / "cpu"
CELL_TIMEOUT_S = 900
RESOURCES = ("arxiv.org/abs/2307.02157", "arxiv.org/abs/2203.02155", "arxiv.org/abs/1707.06347",
             "joschu.net/blog/kl-approx.html", "arxiv.org/abs/2306.05685", "Covington", "huggingface.co/docs/trl")


def _cells(name: str):
    return json.loads((NB_DIR / name).read_text(encoding="utf-8"))["cells"]


def _text(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_all_seven_notebooks_exist_as_pairs():
    assert NOTEBOOKS == EXPECTED
    sources = sorted(p.name for p in NB_DIR.glob("[0-9][0-9]_*.py"))
    assert sources == [n.replace(".ipynb", ".py") for n in EXPECTED]
    assert not (NB_DIR / "_build.py").exists(), "the string-built notebooks are gone: edit notebooks/NN_name.py"
    assert sorted(p.name for p in SOL_DIR.glob("*.py")) == sorted(SOLUTIONS)


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_pair_is_in_sync(name):
    """The .ipynb holds exactly the cells of its .py source (edit the .py, then `python -m girl_lib.course sync`)."""
    py = NB_DIR / name.replace(".ipynb", ".py")
    assert course.ipynb_sources(NB_DIR / name) == course.notebook_sources(py), (
        f"{name} differs from {py.name}: run `.venv/bin/python -m girl_lib.course sync`")


@pytest.mark.parametrize("name", EXPECTED)
def test_saved_outputs_belong_to_the_current_reference(name):
    """Outputs saved in a notebook were produced from the reference run in reference/cpu and from the
    notebook's current code; otherwise rerun `scripts/update_reference.py --execute`."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    why = course.stale_outputs(nb, course.reference_info(REF_DIR))
    assert why is None, f"{name}: {why}; run `.venv/bin/python scripts/update_reference.py --execute`"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_follows_the_course_layout(name):
    nb = json.loads((NB_DIR / name).read_text(encoding="utf-8"))
    cells = nb["cells"]
    sources = [_text(c) for c in cells]
    first_md = sources[0]
    assert first_md.startswith("# ") and course.badge(name) in first_md, "the badge must be course.badge(name)"
    assert "You will learn" in first_md and "Hardware and time" in first_md
    code = [_text(c) for c in cells if c["cell_type"] == "code"]
    assert f'os.environ.get("GIRL_REPO_URL", "{course.DEFAULT_REPO_URL}")' in code[0], "the clone cell's URL"
    stage = next(s for s, n in course.NOTEBOOKS.items() if n == name)
    assert f'C = course.setup("{stage}", profile=PROFILE, train=TRAIN, use_drive=USE_DRIVE)' in code[1]
    assert "RESULTS_DIR" in code[1]
    assert nb["metadata"].get("accelerator") == "GPU" and "colab" in nb["metadata"]
    md = "\n".join(s for c, s in zip(cells, sources) if c["cell_type"] == "markdown")
    assert any(s.startswith("## Exercises") for s in sources)
    for tier in ("🐢", "🐕", "🦁"):
        assert tier in md, f"exercise tier {tier}"
    assert len(re.findall(r"<details>", md)) >= 3 + 1, "check-your-understanding answers in <details>"
    assert "**Takeaways**" in md and "**Troubleshooting**" in md and "## Resources" in md
    for ref in RESOURCES:
        assert ref in md, f"resource {ref}"
    nxt = EXPECTED.index(name) + 1
    if nxt < len(EXPECTED):
        assert f"]({EXPECTED[nxt]})" in md, "a link to the next notebook"
    scaffold = [s for s in code if "TODO" in s]
    assert scaffold and any("course.check(" in s for s in scaffold), "a scaffold cell whose check tolerates the TODO"
    assert not any(re.search(r"sk-[A-Za-z0-9_-]{16,}|OPENAI_API_KEY\"\]\s*=\s*\"", s) for s in sources), "no keys"


def test_no_placeholder_repository_url():
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *NB_DIR.rglob("*.py"), *NB_DIR.rglob("*.ipynb"),
             *ROOT.glob("girl_lib/*.py")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "YOUR-GITHUB-USER" not in text and "github.com/<you>" not in text, path


# --------------------------------------------------------------------------- execution
@pytest.fixture(scope="session")
def notebook_run_dir(tmp_path_factory):
    """One run dir for every notebook of the session (later notebooks reuse earlier stages)."""
    return tmp_path_factory.mktemp("notebooks_run")


@pytest.fixture(scope="session")
def notebook_timings():
    timings: dict[str, float] = {}
    yield timings
    if timings:
        total = sum(timings.values())
        lines = [f"  {name:<44} {seconds:7.1f} s" for name, seconds in timings.items()]
        print("\nnotebook execution times:\n" + "\n".join(lines) + f"\n  {'total':<44} {total:7.1f} s")


def _execute(path: Path, env: dict, timings: dict, label: str, monkeypatch):
    pytest.importorskip("nbclient")
    pytest.importorskip("jupytext")
    for var in ("OPENAI_API_KEY", "GIRL_JUDGE_BASE_URL", "GIRL_JUDGE_MODEL", "GIRL_PROFILE", "GIRL_TRAIN",
                "GIRL_REFERENCE_DIR", "GIRL_RUN_RM_COMPARE", "GIRL_RUN_TRADEOFF"):
        monkeypatch.delenv(var, raising=False)        # never call a judge server, never inherit a mode
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", **env}
    t0 = time.time()
    import nbclient

    try:
        nb = course.execute_notebook(path, env, cwd=path.parent, timeout=CELL_TIMEOUT_S)
    except nbclient.exceptions.CellExecutionError as err:
        err.add_note(f"while executing {path.relative_to(ROOT)} ({label}, GIRL_RUN_DIR={env.get('GIRL_RUN_DIR')})")
        raise
    finally:
        timings[f"{path.name} ({label})"] = time.time() - t0
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    return nb


def _stdout(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


@pytest.mark.notebooks
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_executes_on_tiny(name, notebook_run_dir, notebook_timings, monkeypatch):
    nb = _execute(NB_DIR / name, {"GIRL_PROFILE": "tiny", "GIRL_RUN_DIR": str(notebook_run_dir)},
                  notebook_timings, "tiny", monkeypatch)
    out = _stdout(nb)
    assert "profile 'tiny'" in out and "showing the reference" not in out
    assert "not done yet" in out, "the exercise scaffold's check runs with the TODO left in place"


@pytest.mark.notebooks
@pytest.mark.parametrize("name", SOLUTIONS)
def test_solution_executes_on_tiny(name, notebook_run_dir, notebook_timings, monkeypatch):
    nb = _execute(SOL_DIR / name, {"GIRL_PROFILE": "tiny", "GIRL_RUN_DIR": str(notebook_run_dir)},
                  notebook_timings, "solution, tiny", monkeypatch)
    out = _stdout(nb)
    assert "not done yet" not in out and "solved" in out


@pytest.fixture(scope="session")
def reference_run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("reference_view")


@pytest.mark.notebooks
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_executes_in_reference_mode(name, reference_run_dir, notebook_timings, monkeypatch):
    """On `cpu` with TRAIN unset, each notebook shows reference/cpu (datasets rebuilt in seconds, no training)."""
    if course.reference_info(REF_DIR) is None:
        pytest.skip("no reference/cpu/ shipped yet (scripts/update_reference.py RUN_DIR)")
    nb = _execute(NB_DIR / name, course.reference_env(REF_DIR, reference_run_dir, "cpu"), notebook_timings,
                  "reference", monkeypatch)
    out = _stdout(nb)
    if name != "00_data.ipynb":          # the data stage always builds (seconds); the others must not train
        assert "showing the reference `cpu` run" in out and "training what is missing" not in out
