"""Several processes on one stage (``accelerate launch``): who am I, who writes, how results come back.

One process (``girl sft``, the notebooks, the tests) is the default and this module then does nothing:
no process group, no imports beyond the standard library, the same numbers as before. Under
``accelerate launch`` (``WORLD_SIZE`` > 1 in the environment) every process runs the same stage function
on its share of the work, and

- only the main process (rank 0) writes the run dir (checkpoints, JSONL rows, ``metrics.json``, DONE);
- results computed in shares come back to every process in rank order (:func:`gather_objects`);
- a barrier (:func:`barrier`) keeps the other processes from reading what the main one is still writing.

Which stage splits what (README, "Scaling up"; docs/scaling.md):

- ``sft``: TRL's trainer (DDP through accelerate); ``sft.batch_size`` is the *global* batch, each process
  takes ``batch_size / N`` rows of it.
- ``reward``: each process scores its share of each global batch of ``reward.batch_size`` pairs; the
  gradients are averaged over the processes (an all-reduce, what DDP does), every process takes the same
  optimiser step; the held-out pairs are scored in shares and gathered.
- ``ppo``: each process samples ``rollout_batch_size / N`` CVs and trains on its share of every global
  minibatch of ``ppo.minibatch_size`` JDs (DDP through accelerate); logged means are over every process's
  rows.
- ``generate``: job chunk ``i`` goes to process ``i % N``; chunks are seeded by their position, so the
  rows are those of one process, and the main process writes them in the original order.
"""

from __future__ import annotations

import os
import sys

__all__ = ["barrier", "broadcast_object", "gather_objects", "is_distributed", "is_main_process",
           "num_processes", "process_index", "share"]


def _env_int(*names: str, default: int) -> int:
    for name in names:
        value = os.environ.get(name)
        if value not in (None, ""):
            try:
                return int(value)
            except ValueError:
                pass
    return default


_WARNED = False


def is_distributed() -> bool:
    """True under a multi-process launcher (``accelerate launch`` / ``torchrun``: ``WORLD_SIZE`` > 1)."""
    global _WARNED
    world = _env_int("WORLD_SIZE", default=1)
    if (world == 1 and not _WARNED and os.environ.get("MASTER_PORT")
            and os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true")):
        # `accelerate launch --cpu --num_processes N` (accelerate 1.x) starts ONE process unless it is given an
        # MPI hostfile; it sets MASTER_PORT for the N it was asked for, but no WORLD_SIZE.
        print("warning: this is one process. `accelerate launch --cpu --num_processes N` starts a single process "
              "without MPI (--mpirun_hostfile); for N CPU processes run `accelerate launch --multi_gpu "
              "--num_processes N ...` on a machine without GPUs (or CUDA_VISIBLE_DEVICES=''), or "
              "`--config_file configs/accelerate/cpu_2proc.yaml`", file=sys.stderr, flush=True)
        _WARNED = True
    return world > 1


_STATE = None


def _state():
    """accelerate's ``PartialState`` (creates the process group: gloo on CPU, NCCL on GPUs), once."""
    global _STATE
    if _STATE is None:
        # local: one process imports nothing beyond the standard library (module docstring); torch and
        # accelerate (~2 s together) only under a launcher
        import torch
        from accelerate import PartialState

        _STATE = PartialState(cpu=not torch.cuda.is_available())
    return _STATE


def num_processes() -> int:
    return _state().num_processes if is_distributed() else 1


def process_index() -> int:
    return _state().process_index if is_distributed() else 0


def is_main_process() -> bool:
    return process_index() == 0


def barrier() -> None:
    """Wait until every process gets here (nothing with one process)."""
    if is_distributed():
        _state().wait_for_everyone()


def gather_objects(obj) -> list:
    """``[obj of process 0, obj of process 1, ...]`` on every process (picklable objects of any size);
    ``[obj]`` with one process."""
    if not is_distributed():
        return [obj]
    import torch.distributed as dist  # local: see _state

    _state()
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj):
    """The main process's ``obj`` on every process (``obj`` itself with one process)."""
    if not is_distributed():
        return obj
    import torch.distributed as dist  # local: see _state

    _state()
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def share(n: int, rank: int | None = None, world: int | None = None) -> slice:
    """The contiguous block of ``range(n)`` that process ``rank`` of ``world`` takes: the first
    ``n % world`` processes one item more. Blocks in rank order concatenate back to ``range(n)``."""
    rank = process_index() if rank is None else rank
    world = num_processes() if world is None else world
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (1 if rank < extra else 0))
