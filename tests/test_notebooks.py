"""The course notebooks: built from ``notebooks/_build.py``, saved without outputs, and every one executes
on the ``tiny`` profile.

The execution test (marked ``notebooks``) runs the numbered notebooks in order with nbclient, kernel
``python3``, cwd ``notebooks/``, ``GIRL_PROFILE=tiny`` and one ``GIRL_RUN_DIR`` shared by the whole
session, so later notebooks reuse the stages earlier ones built; each notebook still ensures its own
prerequisites and runs alone. Executed outputs are never written back to the repository.
Deselect with ``-m "not notebooks"``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["00_data.ipynb", "01_sft.ipynb", "02_reward_model.ipynb", "03_ppo.ipynb", "04_generate.ipynb",
            "05_judge.ipynb", "06_enhanced_recommendation.ipynb"]
CELL_TIMEOUT_S = 900


def _load_builder():
    spec = importlib.util.spec_from_file_location("girl_notebook_builder", NB_DIR / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_all_seven_notebooks_exist():
    assert NOTEBOOKS == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_clean_and_up_to_date(name):
    """Saved without outputs, and identical to what ``notebooks/_build.py`` builds (edit the builder, not
    the .ipynb, then run ``python notebooks/_build.py``)."""
    text = (NB_DIR / name).read_text(encoding="utf-8")
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{name} has saved outputs"
    assert text == _load_builder().render(name), f"{name} is out of date: run `python notebooks/_build.py`"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_follows_the_course_layout(name):
    nb = json.loads((NB_DIR / name).read_text(encoding="utf-8"))
    first_md = "".join(nb["cells"][0]["source"])
    assert first_md.startswith("# ") and "colab.research.google.com/github/" in first_md and name in first_md
    assert "You will learn" in first_md and "Hardware and time" in first_md
    first_code = next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert 'PROFILE = os.environ.get("GIRL_PROFILE", "tiny")' in first_code
    assert 'RUN_DIR = Path(os.environ.get("GIRL_RUN_DIR", f"../runs/{PROFILE}"))' in first_code
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert any("ensure(cfg, RUN_DIR" in s for s in sources)
    assert any(s.startswith("## Exercises") for s in sources)
    assert any("**Troubleshooting**" in s for s in sources)
    assert not any(re.search(r"sk-[A-Za-z0-9_-]{16,}|OPENAI_API_KEY\"\]\s*=\s*\"", s) for s in sources), "no keys"


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
        lines = [f"  {name:<36} {seconds:7.1f} s" for name, seconds in timings.items()]
        print("\nnotebook execution times (tiny profile):\n" + "\n".join(lines) + f"\n  {'total':<36} {total:7.1f} s")


@pytest.mark.notebooks
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_executes_on_tiny(name, notebook_run_dir, notebook_timings, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    # The kernel inherits this process's environment.
    monkeypatch.setenv("GIRL_PROFILE", "tiny")
    monkeypatch.setenv("GIRL_RUN_DIR", str(notebook_run_dir))
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    for var in ("OPENAI_API_KEY", "GIRL_JUDGE_BASE_URL", "GIRL_JUDGE_MODEL"):  # never call a judge server in CI
        monkeypatch.delenv(var, raising=False)

    nb = nbformat.read(NB_DIR / name, as_version=4)  # executed in memory only; never written back
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    t0 = time.time()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        err.add_note(f"while executing notebooks/{name} (GIRL_RUN_DIR={notebook_run_dir})")
        raise
    finally:
        notebook_timings[name] = time.time() - t0
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
