"""Run by tests/test_distributed.py under ``accelerate launch`` (two CPU processes) and, for reference, in
one plain process. Not a test module itself.

    python tests/distributed_driver.py reward-nodropout RUN_DIR   run_reward on tiny, dropout off
    python tests/distributed_driver.py ppo-gather OUT.json        PPO's CV split and gathered means

The one-process references are called in the test's own process (``reward_nodropout``, ``ppo_gather``).

``reward-nodropout``: dropout draws its masks per process, so with it two processes cannot reproduce one
process's training even in exact arithmetic; without it, the only differences left are float rounding.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@contextlib.contextmanager
def no_dropout():
    """``run_reward`` loads its scorer with dropout off for the block (the loader is put back after it, so the
    tests can call :func:`reward_nodropout` in their own process)."""
    from girl_lib import reward
    from girl_lib.ppo import disable_dropout

    load = reward.load_sequence_scorer

    def load_without_dropout(*args, **kwargs):
        model, tok = load(*args, **kwargs)
        disable_dropout(model)
        return model, tok

    reward.load_sequence_scorer = load_without_dropout  # the name run_reward calls
    try:
        yield
    finally:
        reward.load_sequence_scorer = load


def reward_nodropout(run_dir: str) -> None:
    from girl_lib import reward
    from girl_lib.config import get_profile

    with no_dropout():
        reward.run_reward(get_profile("tiny"), run_dir, progress=False)


def ppo_gather(out_path: str) -> None:
    """What one PPO iteration does with the processes: which CVs each samples (:meth:`PPOTrainer.sample_cvs`)
    and what the logged means are (``_gather_mean`` / ``_gather_sum``), on values that differ by process."""
    import torch
    from accelerate import Accelerator

    from girl_lib.config import get_profile
    from girl_lib.ppo import PPOTrainer, _gather_mean, _gather_sum, _iteration_generators

    acc = Accelerator(cpu=True)
    cfg = get_profile("tiny", ["ppo.rollout_batch_size=6"])
    cvs = [f"cv {i}" for i in range(40)]
    trainer = PPOTrainer.__new__(PPOTrainer)  # only what sample_cvs reads
    trainer.p, trainer.cvs, trainer.accelerator = cfg.ppo, cvs, acc
    data_gen, _ = _iteration_generators(cfg.ppo.seed, 3, acc.process_index, "cpu")
    mine = trainer.sample_cvs(data_gen)
    # per-sample values that depend on the process: rank r holds 3 values r*10 + (0, 1, 2)
    x = torch.arange(3, dtype=torch.float32) + 10 * acc.process_index
    report = {"rank": acc.process_index, "world": acc.num_processes, "cvs": mine,
              "mean": _gather_mean(acc, x), "sum": _gather_sum(acc, x), "local": x.tolist()}
    everyone = [None] * acc.num_processes
    torch.distributed.all_gather_object(everyone, report) if acc.num_processes > 1 else everyone.__setitem__(0, report)
    if acc.is_main_process:
        with open(out_path, "w") as f:
            json.dump(everyone, f)
    acc.wait_for_everyone()
    if torch.distributed.is_initialized():  # gloo left to the interpreter's exit may abort the process (SIGABRT,
        torch.distributed.destroy_process_group()  # "terminate called without an active exception")


if __name__ == "__main__":
    what, arg = sys.argv[1], sys.argv[2]
    {"reward-nodropout": reward_nodropout, "ppo-gather": ppo_gather}[what](arg)
