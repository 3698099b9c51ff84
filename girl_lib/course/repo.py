"""Where the course lives: the repository root, its GitHub URL and branch (the Colab badges and the clone
cell point there), and :func:`set_repo_url`, which rewrites :data:`DEFAULT_REPO_URL` below for a fork."""

from __future__ import annotations

import os
import re
from pathlib import Path

# Imports here: only what a bare Colab runtime has (see the note in girl_lib/course/__init__.py).


DEFAULT_REPO_URL = "https://github.com/girl-course/girl-course"
"""Where the course is hosted. Forks: `python -m girl_lib.course set-repo-url URL` (rewrites badges too)."""
REPO_URL = os.environ.get("GIRL_REPO_URL", DEFAULT_REPO_URL)
BRANCH = "main"
ROOT = Path(__file__).resolve().parents[2]
"""The repository root (this package is installed editable from it, locally and on Colab)."""


def _show(path: Path) -> str:
    try:
        return os.path.relpath(path, ROOT)
    except ValueError:
        return str(path)


def colab_url(notebook: str, repo_url: str | None = None, folder: str = "notebooks") -> str:
    """The "Open in Colab" address of ``notebook`` (e.g. ``01_sft.ipynb``) in ``repo_url``."""
    path = (repo_url or REPO_URL).removeprefix("https://github.com/").removesuffix(".git").strip("/")
    return f"https://colab.research.google.com/github/{path}/blob/{BRANCH}/{folder}/{notebook}"


def badge(notebook: str, repo_url: str | None = None) -> str:
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook, repo_url)})")


URL_FILES = ("girl_lib/course/repo.py", "README.md", "docs/instructor.md")


def set_repo_url(new_url: str, root: Path = ROOT, old_url: str = DEFAULT_REPO_URL) -> list[Path]:
    """Replace ``old_url`` (and its Colab badge form) by ``new_url`` in this module, the README, the
    instructor notes and every notebook source and .ipynb. Returns the files changed."""
    new_url = new_url.rstrip("/").removesuffix(".git")
    if not re.match(r"^https://github\.com/[\w.-]+/[\w.-]+$", new_url):
        raise ValueError(f"{new_url!r}: expected https://github.com/OWNER/NAME")
    old_path, new_path = old_url.removeprefix("https://github.com/"), new_url.removeprefix("https://github.com/")
    files = [root / f for f in URL_FILES] + sorted((root / "notebooks").rglob("*.py")) + \
        sorted((root / "notebooks").rglob("*.ipynb"))
    changed = []
    for path in files:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        new = text.replace(old_url, new_url).replace(f"/github/{old_path}/", f"/github/{new_path}/")
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed
