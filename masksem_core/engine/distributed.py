"""Process-group setup for single-process runs and torchrun (nccl on GPUs, gloo on CPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str = "auto") -> DistributedContext:
    """Read torchrun's environment; start the process group when WORLD_SIZE > 1."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        target = torch.device("cuda", local_rank)
    else:
        target = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistributedContext(rank, world_size, local_rank, target)


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The sum over ranks, returned on ``values``' device (reduced on the context's device:
    nccl reduces CUDA tensors only)."""
    if context.enabled:
        reduced = values.to(context.device, copy=True)
        dist.all_reduce(reduced)
        return reduced.to(values.device)
    return values


def all_reduce_mean(values: dict[str, float], context: DistributedContext) -> dict[str, float]:
    """The mean of each value over ranks (MAE's ``all_reduce_mean``); the same keys on every
    rank are required."""
    if not context.enabled:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=context.device)
    dist.all_reduce(tensor)
    return {k: float(v) / context.world_size for k, v in zip(keys, tensor, strict=True)}


def all_gather_objects(obj: object, context: DistributedContext) -> list:
    if not context.enabled:
        return [obj]
    out: list = [None] * context.world_size
    dist.all_gather_object(out, obj)
    return out


def replicas_in_sync(model: torch.nn.Module, context: DistributedContext) -> bool:
    """True when every rank holds bit-identical parameters (checked through a checksum)."""
    with torch.no_grad():
        flat = torch.cat([p.detach().double().flatten().cpu() for p in model.parameters()])
        checksum = (flat * torch.arange(1, flat.numel() + 1, dtype=torch.float64).sin()).sum()
    sums = all_gather_objects(float(checksum), context)
    return all(s == sums[0] for s in sums)


def wrap_for_training(model: torch.nn.Module, context: DistributedContext) -> torch.nn.Module:
    """DistributedDataParallel when several processes run, the bare model otherwise."""
    if not context.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [context.local_rank] if context.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)
