"""The course notebooks: authored as jupytext percent scripts (``notebooks/NN_name.py``), paired with their
``.ipynb``, and executed.

- Every ``.py``/``.ipynb`` pair holds the same cells (sources only: the .ipynb may carry saved outputs);
  ``python -m girl_lib.course sync`` rewrites the .ipynb files from the .py sources.
- Saved outputs must come from the reference run that ``reference/cpu/`` holds now and from the notebook's
  current code (``scripts/update_reference.py --execute`` re-executes and stamps them).
- Execution (marked ``notebooks``): every numbered notebook followed by its solution, in one kernel (the
  solution's cells run after ``%reset -f`` and from ``notebooks/solutions/``, as in a kernel of its own), on
  the ``tiny`` profile with one ``GIRL_RUN_DIR`` for the session (later notebooks reuse the stages earlier ones
  built; each still ensures its own prerequisites), then, when ``reference/cpu/`` exists, every notebook in
  reference mode (``cpu`` profile, ``TRAIN`` off: seconds each). Executed outputs are never written back.
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
RESOURCES = {
    "00_data.ipynb": ("doi.org/10.1214/aos/1176344552", "arxiv.org/abs/2212.10560"),
    "01_sft.ipynb": ("arxiv.org/abs/2106.09685", "huggingface.co/docs/trl/sft_trainer"),
    "02_reward_model.ipynb": ("doi.org/10.2307/2334029", "arxiv.org/abs/2004.12832", "arxiv.org/abs/1908.10084"),
    "03_ppo.ipynb": ("arxiv.org/abs/1707.06347", "arxiv.org/abs/2402.14740", "arxiv.org/abs/2402.03300",
                     "joschu.net/blog/kl-approx.html", "ppo-implementation-details"),
    "04_generate.ipynb": ("arxiv.org/abs/1904.09751", "arxiv.org/abs/1510.03055"),
    "05_judge.ipynb": ("arxiv.org/abs/2306.05685", "arxiv.org/abs/2305.17926"),
    "06_enhanced_recommendation.ipynb": ("doi.org/10.1145/2505515.2505665", "Covington", "arxiv.org/abs/1706.06978"),
}
"""Each notebook's own references (beside the paper, arXiv 2307.02157, which every notebook cites)."""


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
    for ref in ("arxiv.org/abs/2307.02157", *RESOURCES[name]):
        assert ref in md, f"resource {ref}"
    nxt = EXPECTED.index(name) + 1
    if nxt < len(EXPECTED):
        assert f"]({EXPECTED[nxt]})" in md, "a link to the next notebook"
    scaffold = [s for s in code if "TODO" in s]
    assert scaffold and any("course.check(" in s for s in scaffold), "a scaffold cell whose check tolerates the TODO"
    built = [s for s in code if "raise NotImplementedError" in s and "def " in s]
    names = {m for s in built for m in re.findall(r'course\.check\("([^"]+)", \w+\)', s)}
    assert names & set(course.FUNCTION_EXERCISES), "a build-it-yourself cell: a def to fill in, checked against girl_lib"
    assert not any(re.search(r"sk-[A-Za-z0-9_-]{16,}|OPENAI_API_KEY\"\]\s*=\s*\"", s) for s in sources), "no keys"


CONTROL_CHARS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
"""Control characters other than the newline (a TAB, a form feed: a Python string escape such as \\t or \\f
that ate the backslash of \\text or \\frac)."""
MANGLED_LATEX = re.compile(r"(?<![\\A-Za-z])(?:ext|extit|extbf|extrm|rac|imes|heta|au|ightarrow|eq|abla|ewline)\{"
                           r"|(?<![\\A-Za-z])(?:ext|rac)[a-z]*\{")
"""LaTeX commands whose backslash and first letter became an escape: "ext{" (\\t), "rac{" (\\f), "eq" (\\n)..."""


def _markdown_sources():
    for name in EXPECTED:
        for i, (kind, src) in enumerate(course.ipynb_sources(NB_DIR / name)):
            if kind == "markdown":
                yield f"{name} cell {i}", src
    for name in SOLUTIONS:
        for i, (kind, src) in enumerate(course.notebook_sources(SOL_DIR / name)):
            if kind == "markdown":
                yield f"solutions/{name} cell {i}", src


def test_markdown_has_no_control_characters_or_mangled_latex():
    """A markdown cell holds no control character but the newline, and no LaTeX command that lost its
    backslash to a string escape (the RLOO/GRPO formula once read "ext{RLOO} ... rac{1}{k-1}")."""
    pytest.importorskip("jupytext")
    bad = []
    for where, src in _markdown_sources():
        for m in CONTROL_CHARS.finditer(src):
            bad.append(f"{where}: control character {m.group()!r} near {src[max(0, m.start() - 30):m.end() + 30]!r}")
        for m in MANGLED_LATEX.finditer(src):
            bad.append(f"{where}: LaTeX without its backslash near {src[max(0, m.start() - 30):m.end() + 30]!r}")
    assert not bad, "\n".join(bad)


PROSE_DECIMAL = re.compile(r"(?<![\w.\-/])[-+]?\d*\.\d+(?![\w.])")
"""A decimal number in running text (links, arXiv ids, DOIs, code spans and LaTeX are dropped before the
search: code and equations state settings and formulas, not results)."""
LINK = re.compile(r"\]\([^)]*\)|\b(?:arXiv|doi)\s+\S+|https?://\S+|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$",
                  re.IGNORECASE | re.DOTALL)
PROSE_CONSTANTS = {
    "0.693": "ln 2, the Bradley-Terry loss at equal scores (02)",
    "0.03": "the reward model's target: within 0.03 of the noiseless recruiter (report.check_targets)",
    "0.61": "the paper's AUC range on its platform, rounded (Tables III-IV)",
    "0.65": "the paper's AUC range on its platform, rounded (Tables III-IV)",
    "1.0": "a bound: certainty, full coverage",
    "2.5": "the lower percentile of a 95% interval",
    "97.5": "the upper percentile of a 95% interval",
    "4.0": "a licence's version (CC BY-SA 4.0)",
    "1.2": "a temperature of notebook 04's exercise",
}
"""Decimals that prose may state which are neither a profile setting nor a paper number, each with its reason."""


def _allowed_prose_numbers() -> set[str]:
    """Every decimal a notebook may type: the paper's numbers, the profiles' settings, :data:`PROSE_CONSTANTS`."""
    import dataclasses

    from girl_lib import paper
    from girl_lib.config import PROFILE_NAMES, get_profile

    def numbers(obj):
        if isinstance(obj, dict):
            for v in obj.values():
                yield from numbers(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                yield from numbers(v)
        elif dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                yield from numbers(getattr(obj, f.name))
        elif isinstance(obj, float):
            yield obj

    values = [v for name in PROFILE_NAMES for v in numbers(get_profile(name))]
    values += [v for name in dir(paper) if name.isupper() for v in numbers(getattr(paper, name))]
    allowed = set(PROSE_CONSTANTS)
    for v in values:
        allowed |= {f"{v:g}", f"{v:.2f}", f"{v:.3f}", f"{v:.4f}".lstrip("0") or "0"}
        allowed |= {x.lstrip("0") for x in (f"{v:.2f}", f"{v:.3f}", f"{v:.4f}")}
    return allowed


def test_no_result_is_typed_into_notebook_prose():
    """Results in prose are computed, never typed: a decimal in a markdown cell must be a profile's setting, a
    number of the paper (``girl_lib.paper``) or one of :data:`PROSE_CONSTANTS`. A run's result typed into
    prose goes stale with the next run; print it from the run's files instead."""
    pytest.importorskip("jupytext")
    allowed = _allowed_prose_numbers()
    bad = []
    for where, src in _markdown_sources():
        text = LINK.sub(" ", src)
        for m in PROSE_DECIMAL.finditer(text):
            if m.group().lstrip("+-") not in allowed:
                bad.append(f"{where}: {m.group()} in {text[max(0, m.start() - 40):m.end() + 20]!r}")
    assert not bad, "typed numbers in notebook prose (compute them, or add a reason to PROSE_CONSTANTS):\n" + \
        "\n".join(bad)


def test_the_prose_number_check_catches_a_typed_result():
    text = "GIRL beats GIRL-SFT by 0.843 on the held-out pairs (see [x](https://a.b/1.234))"
    found = [m.group() for m in PROSE_DECIMAL.finditer(LINK.sub(" ", text))]
    assert found == ["0.843"] and "0.843" not in _allowed_prose_numbers()
    assert "0.19" in _allowed_prose_numbers() and "0.05" in _allowed_prose_numbers()  # paper; cpu's scale


def test_the_markdown_check_catches_escaped_latex():
    broken = "$$a_i^{\text{RLOO}} = r_i - \frac{1}{k-1}\\sum_{j \ne i} r_j$$"      # written without a raw string
    assert CONTROL_CHARS.search(broken) and MANGLED_LATEX.search(broken)
    fine = r"$$a_i^{\text{RLOO}} = r_i - \frac{1}{k-1}\sum_{j \ne i} r_j \qquad \textit{KL} \tau \theta$$"
    assert not CONTROL_CHARS.search(fine) and not MANGLED_LATEX.search(fine)


@pytest.mark.parametrize("name", EXPECTED)
def test_every_solution_asserts(name):
    """Solutions never end in an unconditional "solved": each build-it exercise of the notebook is asserted
    through course.check, and so is every other check."""
    nb_code = "\n".join(s for c, s in zip(_cells(name), map(_text, _cells(name))) if c["cell_type"] == "code")
    sol = (SOL_DIR / name.replace(".ipynb", "_solutions.py")).read_text(encoding="utf-8")
    assert not re.search(r"print\(\s*f?[\"']solved", sol), "an unconditional print('solved')"
    assert not re.search(r"^course\.check\(", sol, re.M), "a solution asserts its check: assert course.check(...)"
    for exercise in re.findall(r'course\.check\("([^"]+)"', nb_code):
        assert f'assert course.check("{exercise}"' in sol, f"the solution of {exercise}"


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


def _execute(path: Path, env: dict, timings: dict, label: str, monkeypatch, cwd: Path | None = None, where=""):
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
        nb = course.execute_notebook(path, env, cwd=cwd or path.parent, timeout=CELL_TIMEOUT_S)
    except nbclient.exceptions.CellExecutionError as err:
        err.add_note(f"while executing {where or path.relative_to(ROOT)} ({label}, "
                     f"GIRL_RUN_DIR={env.get('GIRL_RUN_DIR')})")
        raise
    finally:
        timings[f"{path.name} ({label})"] = time.time() - t0
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    return nb


def _stdout(cells) -> str:
    """What the code cells printed (``cells``: a notebook's, or a part of them)."""
    cells = getattr(cells, "cells", cells)
    return "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


SOLUTION_BRIDGE = ("%reset -f\n"
                   "import os\n"
                   f"os.chdir({str(SOL_DIR)!r})  # where the solution starts, with no name of the notebook's")
"""Run between a notebook's cells and its solution's in the same kernel: what a kernel of the solution's own
would give it (no name the notebook defined, ``notebooks/solutions/`` as the working folder), without the
start of a second kernel and the imports of torch and transformers again."""


def _with_solution(name: str, tmp_path: Path) -> tuple[Path, int]:
    """Notebook ``name`` followed by :data:`SOLUTION_BRIDGE` and its solution's cells, written to ``tmp_path``;
    and the number of the notebook's own cells."""
    import jupytext
    import nbformat

    nb = nbformat.read(NB_DIR / name, as_version=4)
    solution = jupytext.read(SOL_DIR / name.replace(".ipynb", "_solutions.py"))
    n = len(nb.cells)
    nb.cells += [nbformat.v4.new_code_cell(SOLUTION_BRIDGE), *solution.cells]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path, n


@pytest.mark.notebooks
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_and_its_solution_execute_on_tiny(name, notebook_run_dir, notebook_timings, monkeypatch, tmp_path):
    """The notebook on tiny with the exercise scaffolds left as they are, then (same kernel) its solution: every
    exercise solved and asserted."""
    pytest.importorskip("nbformat")
    pytest.importorskip("jupytext")
    path, n = _with_solution(name, tmp_path)
    solution = f"solutions/{name.replace('.ipynb', '_solutions.py')}"
    nb = _execute(path, {"GIRL_PROFILE": "tiny", "GIRL_RUN_DIR": str(notebook_run_dir)}, notebook_timings,
                  "tiny, then its solution", monkeypatch, cwd=NB_DIR,
                  where=f"notebooks/{name} (its first {n} cells), then notebooks/{solution} (the cells after "
                        f"`%reset -f`)")
    out, solved = _stdout(nb.cells[:n]), _stdout(nb.cells[n + 1:])
    assert "profile 'tiny'" in out and "showing the reference" not in out
    assert "not done yet" in out, "the exercise scaffold's check runs with the TODO left in place"
    assert "profile 'tiny'" in solved, f"{solution}: its own setup"
    assert "not done yet" not in solved and "solved" in solved, solution


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
