r"""Data-parallel training under ``torchrun`` (``WORLD_SIZE`` > 1): the
process group (NCCL on GPUs, gloo on CPU) and the few collectives a training
run needs.  Every helper is a no-op in a single process.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Tuple, TypeVar

import torch
import torch.distributed as dist
from torch.nn import Module

from pyg_dss.train.cli import UsageError

__all__ = ["setup_distributed", "is_distributed", "all_sum", "broadcast", "sync_buffers",
           "barrier", "teardown_distributed"]

T = TypeVar("T")


def is_distributed() -> bool:
    """Whether a process group is up."""
    return dist.is_available() and dist.is_initialized()


def setup_distributed(device: str = "auto") -> Tuple[int, int, torch.device]:
    r"""Initialises the process group from torchrun's environment and returns
    ``(rank, world_size, device)``.  :obj:`device`: ``"auto"`` (CUDA when
    available), ``"cpu"`` or ``"cuda"``; each process gets its local GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {device} was asked for, but torch sees no CUDA device "
                         "(use --device auto or cpu).")
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if world <= 1:
        return 0, 1, torch.device(device if device.startswith("cuda") else
                                  ("cuda" if cuda else "cpu"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
        where = torch.device("cuda", local_rank)
    else:
        where = torch.device("cpu")
        # torchrun sets OMP_NUM_THREADS=1; share the cores between the processes.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), dist.get_world_size(), where


def teardown_distributed() -> None:
    """Ends the process group (if any)."""
    if is_distributed():
        dist.destroy_process_group()


def all_sum(stats: Dict[str, float], device: torch.device) -> Dict[str, float]:
    """Adds per-process sums over all processes."""
    if not is_distributed():
        return stats
    keys = sorted(stats)
    t = torch.tensor([stats[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(keys, t.tolist(), strict=True))


def broadcast(obj: T, rank: int) -> T:
    """Rank 0's value of a picklable object, on every rank."""
    if not is_distributed():
        return obj
    box: list[Any] = [obj if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sync_buffers(model: Module) -> None:
    """Copies rank 0's buffers (BatchNorm running statistics) to every rank,
    so that all ranks evaluate the same model (each rank updated its own
    during its last training step)."""
    if is_distributed():
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def barrier() -> None:
    """Waits for every process."""
    if is_distributed():
        dist.barrier()
