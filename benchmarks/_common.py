"""Shared helpers of the benchmark scripts: machine facts, timing, prompts.

Each benchmark prints one JSON object as its LAST line (machine-readable); everything above it is for
people. The CPU of the reference machine is shared, so every figure is printed beside
``os.getloadavg()``, runs are repeated and medians are reported.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# OpenMP threads that spin while waiting are ruinous on a shared, oversubscribed CPU: measured here,
# 60 SmolLM2-sized matmuls took 2.0-2.5 s with 2 spinning threads, 0.07-0.14 s with 1 thread and
# 0.09-0.22 s with 2 passive threads (README). Must be set before torch is imported; an explicit
# setting in the environment wins. Printed in machine_info().
# (not set here: see README "Threads on a shared machine")


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not on every platform
        return [float("nan")] * 3


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    import torch

    info = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "loadavg": loadavg(),
    }
    try:  # Linux autogroup scheduling: a "nice 19" group gets a small slice whenever others are busy
        info["autogroup"] = Path("/proc/self/autogroup").read_text().strip()
    except OSError:
        pass
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    return info


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds`` (wall), ``t.cpu_seconds`` (CPU time of this process,
    all threads) and ``t.load`` (1-minute load average at the end).

    ``cpu_seconds / seconds`` is the share of the machine this process actually got: on a shared machine
    it shows how much of a slow figure is contention rather than the code.
    """

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.c0 = time.process_time()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.cpu_seconds = time.process_time() - self.c0
        self.load = loadavg()[0]
        return False


def emit(result: dict) -> None:
    """Print the result as the LAST line of stdout (one JSON object)."""
    sys.stdout.flush()
    print(json.dumps(result, default=_json_default), flush=True)


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
    except ImportError:
        pass
    if isinstance(o, Path):
        return str(o)
    return str(o)


# --------------------------------------------------------------------------- prompts
_ROLES = ["Registered nurse", "Data analyst", "Backend software engineer", "Sales manager", "Accountant",
          "Mechanical engineer", "Primary school teacher", "Marketing specialist", "Warehouse supervisor",
          "UX designer", "Pharmacist", "HR generalist", "Civil engineer", "Chef de partie", "Paralegal",
          "Electrician"]
_CITIES = ["Boston", "Berlin", "Lyon", "Toronto", "Madrid", "Austin", "Dublin", "Melbourne"]
_SKILLS = [
    "patient care, triage, electronic health records, medication administration",
    "SQL, Excel, Python, Tableau dashboards, A/B testing, stakeholder reporting",
    "Go, PostgreSQL, Kubernetes, REST APIs, on-call rotations, code review",
    "CRM pipelines, negotiation, key account management, forecasting, team coaching",
    "IFRS, month-end close, reconciliations, SAP, audit preparation, payroll",
    "CAD, SolidWorks, tolerance analysis, prototyping, FMEA, supplier quality",
    "lesson planning, classroom management, phonics, parent communication, assessment",
    "SEO, paid social, copywriting, Google Analytics, campaign budgets, brand voice",
]


def sample_cvs(n: int, seed: int = 0, source: str = "auto") -> list[str]:
    """``n`` CVs of ~80-140 words: from the synthetic world (``girl_lib.data.sample_corpus``, whose even
    items are CVs) when that module is importable (``source="auto"`` or ``"world"``), else
    (``source="builtin"``) from a small template set of similar length."""
    if source in ("auto", "world"):
        try:
            from girl_lib.data import sample_corpus

            return sample_corpus(2 * n, seed=seed)[0::2][:n]
        except ImportError:
            if source == "world":
                raise
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        role, city = _ROLES[i % len(_ROLES)], rng.choice(_CITIES)
        skills = _SKILLS[i % len(_SKILLS)]
        years = rng.randint(1, 15)
        out.append(
            f"{role} with {years} years of experience, based in {city}. Summary: reliable, detail-oriented "
            f"professional who enjoys solving practical problems with a team and owning results end to end. "
            f"Experience: {rng.randint(2, 6)} years at a mid-sized company in {city}, where I led a small "
            f"team, improved a core process by {rng.randint(10, 40)} percent and trained new colleagues; "
            f"before that, {rng.randint(1, 4)} years at a start-up handling day-to-day operations and "
            f"customer requests. Skills: {skills}. Education: bachelor's degree, plus a certificate earned "
            f"in {2010 + rng.randint(0, 13)}. Languages: English (fluent), {rng.choice(['French', 'German', 'Spanish'])} "
            f"(intermediate). Looking for: a permanent full-time role with growth prospects, hybrid work, "
            f"a salary around {rng.randint(40, 95)}k per year, and a supportive manager."
        )
    return out
