"""``girl run``: every stage in order over one run dir, resumable (DESIGN.md's data flow).

    data -> sft -> reward -> ppo -> generate -> judge -> recommend -> results.json, report.md, plots/

Each stage reads only what earlier stages wrote and marks itself done (``<stage>/DONE``) last, so a rerun
skips finished stages and a killed run resumes at the stage where it stopped (PPO, generation and
judging also resume *inside* the stage). ``force`` redoes a stage and everything that depends on it.
"""

from __future__ import annotations

import time
from pathlib import Path

from .config import Profile, profile_to_dict
from .runio import atomic_write_json, clear_done, is_done, read_json

STAGES = ("data", "sft", "reward", "ppo", "generate", "judge", "recommend")
DEPENDS_ON = {
    "data": (),
    "sft": ("data",),
    "reward": ("data",),
    "ppo": ("sft", "reward"),
    "generate": ("sft", "ppo"),
    "judge": ("generate",),
    "recommend": ("generate",),
}


def dependents(stage: str) -> list[str]:
    """``stage`` and every stage downstream of it, in pipeline order."""
    out = {stage}
    for s in STAGES:
        if any(d in out for d in DEPENDS_ON[s]):
            out.add(s)
    return [s for s in STAGES if s in out]


def run_stage(stage: str, cfg: Profile, run_dir, progress: bool = True) -> dict:
    """Run one stage's function (the CLI's ``girl <stage>`` calls the same)."""
    if stage == "data":
        from .data import run_data
        return run_data(cfg, run_dir)
    if stage == "sft":
        from .sft import run_sft
        return run_sft(cfg, run_dir, progress=progress)
    if stage == "reward":
        from .reward import run_reward
        return run_reward(cfg, run_dir, progress=progress)
    if stage == "ppo":
        from .ppo import run_ppo
        resume = (Path(run_dir) / "ppo" / "checkpoint").exists()
        return run_ppo(cfg, run_dir, resume=resume)
    if stage == "generate":
        from .generate import run_generate
        return run_generate(cfg, run_dir, progress=progress)
    if stage == "judge":
        from .judge import run_judge
        return run_judge(cfg, run_dir)
    if stage == "recommend":
        from .recommend import run_recommend
        return run_recommend(cfg, run_dir)
    raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")


def upstream(stage: str) -> list[str]:
    """Every stage ``stage`` needs, directly or not, in pipeline order (``stage`` itself excluded)."""
    need, todo = set(), list(DEPENDS_ON[stage])
    while todo:
        s = todo.pop()
        if s not in need:
            need.add(s)
            todo.extend(DEPENDS_ON[s])
    return [s for s in STAGES if s in need]


def ensure(cfg: Profile, run_dir, stage: str, include_self: bool = False, progress: bool = True) -> Path:
    """Run whatever ``stage`` needs that is not done yet (notebooks start with this). Returns run_dir."""
    run_dir = Path(run_dir)
    for s in upstream(stage) + ([stage] if include_self else []):
        if not is_done(run_dir, s):
            if progress:
                print(f"running missing stage '{s}' ...", flush=True)
            run_stage(s, cfg, run_dir, progress=progress)
    return run_dir


def _fmt(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def run_pipeline(cfg: Profile, run_dir, force: tuple[str, ...] = (), stages: tuple[str, ...] = STAGES,
                 progress: bool = True) -> dict:
    """Run the stages that are not done yet; then write ``results.json``, ``report.md`` and ``plots/``."""
    from .report import write_report

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stage in force:
        for s in dependents(stage):
            clear_done(run_dir, s)
    profile_path = run_dir / "profile.json"
    if profile_path.exists() and read_json(profile_path).get("name") != cfg.name:
        print(f"note: {run_dir} was made with profile '{read_json(profile_path).get('name')}', now "
              f"'{cfg.name}'; finished stages are kept. Use another --run-dir for a clean run.")
    atomic_write_json(profile_path, profile_to_dict(cfg))

    timing_path = run_dir / "timing.json"
    timing = read_json(timing_path) if timing_path.exists() else {}
    t_start = time.time()
    for i, stage in enumerate(stages, 1):
        head = f"[{i}/{len(stages)}] {stage:<9}"
        if is_done(run_dir, stage):
            if progress:
                print(f"{head} done already (skipped) | elapsed {_fmt(time.time() - t_start)}", flush=True)
            continue
        if progress:
            print(f"{head} running ... | elapsed {_fmt(time.time() - t_start)}", flush=True)
        t0 = time.time()
        run_stage(stage, cfg, run_dir, progress=progress)
        timing[stage] = time.time() - t0  # of the run that finished it (a resumed stage counts its last part)
        atomic_write_json(timing_path, timing)
        if progress:
            print(f"{head} finished in {_fmt(timing[stage])} | elapsed {_fmt(time.time() - t_start)}", flush=True)
    timing["total"] = sum(v for k, v in timing.items() if k in STAGES)
    atomic_write_json(timing_path, timing)
    results = write_report(cfg, run_dir)
    if progress:
        print(f"results: {run_dir / 'results.json'}\nreport:  {run_dir / 'report.md'}")
    return results
