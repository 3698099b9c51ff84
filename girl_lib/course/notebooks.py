"""Notebook files: each ``notebooks/NN_name.ipynb`` is written from its jupytext source ``NN_name.py``
(:func:`sync_notebook`), executed in memory (:func:`execute_notebook`) and stamped with the reference run and
code its saved outputs come from (:func:`stamp`, :func:`stale_outputs`)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# Imports here: only what a bare Colab runtime has (see the note in girl_lib/course/__init__.py).
from .repo import ROOT


NB_DIR = ROOT / "notebooks"


def notebook_sources(py_path) -> list[tuple[str, str]]:
    """(cell type, source) of every cell of a jupytext percent script (what its .ipynb must hold)."""
    # local, as every jupytext/nbformat/nbclient import here: notebook tooling, in the optional `course` and
    # `test` extras (pyproject.toml), not on Colab, and 1-1.5 s each to import
    import jupytext

    return [(c.cell_type, c.source) for c in jupytext.read(py_path).cells]


def ipynb_sources(ipynb_path) -> list[tuple[str, str]]:
    import nbformat  # local: see notebook_sources

    return [(c.cell_type, c.source) for c in nbformat.read(ipynb_path, as_version=4).cells]


def code_hash(cells) -> str:
    """A short hash of a notebook's code (cells as nbformat nodes or (type, source) pairs)."""
    pairs = [(c.cell_type, c.source) if hasattr(c, "cell_type") else tuple(c) for c in cells]
    blob = "\n# ---- cell ----\n".join(src for kind, src in pairs if kind == "code")
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sync_notebook(py_path, keep_outputs: bool = True) -> Path:
    """Write ``NN_name.ipynb`` from its source ``NN_name.py``: cells from the .py, stable cell ids, and the
    saved outputs and metadata of the old .ipynb kept for every cell whose source did not change."""
    import jupytext  # local, both: see notebook_sources
    import nbformat

    py_path = Path(py_path)
    ipynb = py_path.with_suffix(".ipynb")
    new = jupytext.read(py_path)
    old = nbformat.read(ipynb, as_version=4) if ipynb.exists() and keep_outputs else None
    if old is not None:
        kept = {}
        for cell in old.cells:
            kept.setdefault((cell.cell_type, cell.source), cell)
        for i, cell in enumerate(new.cells):
            prev = kept.get((cell.cell_type, cell.source))
            if prev is not None and cell.cell_type == "code":
                new.cells[i]["outputs"] = prev.get("outputs", [])
                new.cells[i]["execution_count"] = prev.get("execution_count")
        if "girl" in old.metadata:
            new.metadata["girl"] = old.metadata["girl"]
    stem = py_path.stem.split("_")[0]
    for i, cell in enumerate(new.cells):
        cell["id"] = f"c{stem}-{i:02d}"
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    new.nbformat, new.nbformat_minor = 4, 5
    nbformat.validate(new)
    ipynb.write_text(nbformat.writes(new) + "\n", encoding="utf-8")
    return ipynb


def execute_notebook(path, env: dict, cwd=None, timeout: int = 900):
    """Execute a notebook (.ipynb or jupytext .py) in memory with ``env`` added to the kernel's environment;
    return the executed nbformat node (nothing is written)."""
    import jupytext  # local, all three: see notebook_sources
    import nbclient
    import nbformat

    path = Path(path)
    nb = jupytext.read(path) if path.suffix == ".py" else nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: str(v) for k, v in env.items()})
    try:
        # "immediate": the outputs are in `nb` once the last cell ends; a graceful shutdown only waits ~3 s
        # per kernel for it to exit by itself.
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", shutdown_kernel="immediate",
                                         resources={"metadata": {"path": str(cwd or path.parent)}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def write_notebook(nb, path) -> Path:
    """Save an executed notebook with the stable cell ids :func:`sync_notebook` gives."""
    import nbformat  # local: see notebook_sources

    path = Path(path)
    stem = path.stem.split("_")[0]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{stem}-{i:02d}"
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return path


def reference_env(ref_dir, run_dir, profile: str = "cpu") -> dict:
    """The environment that runs notebooks in reference mode (the CI check and ``--execute``)."""
    return {"GIRL_PROFILE": profile, "GIRL_TRAIN": "0", "GIRL_RUN_DIR": str(run_dir),
            "GIRL_REFERENCE_DIR": str(ref_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def stamp(nb, info: dict) -> None:
    """Record in a notebook's metadata which reference run and which code produced its saved outputs."""
    nb.metadata["girl"] = {"reference": {k: info.get(k) for k in ("profile", "run_hash", "date", "run_date")},
                           "code_hash": code_hash(nb.cells)}


def stale_outputs(nb, info: dict | None) -> str | None:
    """Why a notebook's saved outputs do not belong to the reference ``info`` and its own code (None: fine).
    A notebook without outputs is always fine."""
    if not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        return None
    meta = nb.metadata.get("girl", {})
    ref = meta.get("reference", {})
    if info is None:
        return "it has saved outputs but there is no reference/cpu/REFERENCE.json"
    if ref.get("run_hash") != info.get("run_hash"):
        return (f"its outputs come from reference run {ref.get('run_hash')}, but reference/{info.get('profile')} "
                f"holds {info.get('run_hash')}")
    if meta.get("code_hash") != code_hash(nb.cells):
        return "its code changed after its outputs were saved"
    return None
