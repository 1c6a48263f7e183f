"""Multi-process data-parallel training on ``torch.distributed`` (gloo on CPU, NCCL on CUDA).

``torchrun --nproc_per_node=N -m vidgan run recipe=...`` starts N processes; each
samples its own shard of the real data and its own latents, and after every backward
the gradients are averaged over all processes, so the models stay identical. Batch
norm buffers are broadcast from rank 0 after each optimiser step, as
``DistributedDataParallel`` does by default. Gradients are averaged by hand rather than
through ``DistributedDataParallel`` because a GAN step runs a discriminator several
times (real, fake, generator step) before one backward, which that wrapper does not
support without giving up its overlap anyway.
"""

from __future__ import annotations

import datetime
import os
import torch
import torch.distributed as dist
from torch import nn

from vidgan.data.base import Subset, VideoDataset
from vidgan.errors import VidganError


def launched() -> bool:
    """True inside a process started by torchrun (or any launcher setting WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> torch.device:
    """Join the process group the launcher describes; returns this process's device."""
    if not launched() or dist.is_initialized():
        return device
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=10))
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


def teardown() -> None:
    """Leave the process group (a process that exits with it still open can abort in gloo's
    destructors: "terminate called without an active exception")."""
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def average_gradients(module: nn.Module) -> None:
    """Average the gradients of ``module`` over all processes (one all-reduce)."""
    if world_size() == 1:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_state(module: nn.Module, buffers_only: bool = False) -> None:
    """Copy rank 0's buffers (and parameters unless ``buffers_only``) to every process."""
    if world_size() == 1:
        return
    tensors = list(module.buffers()) + ([] if buffers_only else [p.data for p in module.parameters()])
    for t in tensors:
        dist.broadcast(t, src=0)


def everywhere(flag: torch.Tensor) -> bool:
    """True when a boolean scalar is true on every process (so all take the same branch)."""
    if world_size() == 1:
        return bool(flag)
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    flag = flag.to(device=device, dtype=torch.int32).reshape(1)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag)


def gather(obj: object) -> list[object]:
    """Every process's ``obj``, in rank order (on every process)."""
    if world_size() == 1:
        return [obj]
    out: list[object] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def check_in_sync(module: nn.Module, what: str) -> None:
    """Fail if the parameters of ``module`` differ between processes."""
    if world_size() == 1:
        return
    local = torch.stack([p.detach().double().sum() for p in module.parameters()]).cpu()
    sums = gather(local)
    if any(not torch.equal(s, sums[0]) for s in sums):
        raise VidganError(f"the {what} differs between processes; distributed training lost sync")


def shard(dataset: VideoDataset, rank: int, world: int) -> Subset:
    """Every ``world``-th video of a data set, starting at ``rank`` (DistributedSampler's split)."""
    if len(dataset) < world:
        raise VidganError(f"the data has {len(dataset)} videos, fewer than the {world} processes")
    return Subset(dataset, range(rank, len(dataset), world))
