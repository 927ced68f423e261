"""Pieces of the training loops shared by pretraining, linear evaluation and fine-tuning."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from masksem_core.engine.builders import autocast
from masksem_core.engine.distributed import (
    DistributedContext,
    all_gather_objects,
    all_reduce_sum,
)

log = logging.getLogger(__name__)


def progress(
    iterable: Iterable, context: DistributedContext, desc: str, total: int | None = None
) -> Iterator:
    """A tqdm bar on rank 0 only."""
    return iter(
        tqdm(
            iterable,
            desc=desc,
            total=total,
            disable=not context.is_main,
            dynamic_ncols=True,
            leave=False,
        )
    )


class TensorBoardLogger:
    """Scalars to TensorBoard on rank 0; a no-op elsewhere."""

    def __init__(self, log_dir: Path, context: DistributedContext) -> None:
        self.writer = None
        if context.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(log_dir))

    def scalars(self, values: dict[str, float], step: int, prefix: str) -> None:
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(f"{prefix}/{key}", float(value), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def optimisation_step(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    clip_grad: float | None,
    parameters: list[nn.Parameter],
) -> None:
    """Backward, optional gradient clipping, step, per-iteration schedule step."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if clip_grad:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(parameters, clip_grad)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()


def check_finite_loss(loss: torch.Tensor, epoch: int, step: int) -> None:
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"loss became {loss.item()} at epoch {epoch}, step {step}; lower optim.lr, use "
            "precision=fp32, or check the data for outliers"
        )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: torch.utils.data.DataLoader,
    context: DistributedContext,
    precision: str,
    num_classes: int,
) -> dict:
    """Top-1/top-5 over the whole split; each sample is seen exactly once across ranks."""
    was_training = model.training
    model.eval()
    counts = torch.zeros(3, dtype=torch.float64)  # correct top1, correct top5, samples
    loss_sum = torch.zeros(1, dtype=torch.float64)
    seen: list[int] = list(loader.sampler)
    k = min(5, num_classes)
    for x, y in progress(loader, context, "evaluating"):
        x, y = x.to(context.device, non_blocking=True), y.to(context.device)
        with autocast(precision, context.device):
            logits = model(x).float()
        loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        top = logits.topk(k, dim=1).indices
        counts[0] += (top[:, 0] == y).sum().item()
        counts[1] += (top == y[:, None]).any(dim=1).sum().item()
        counts[2] += len(y)
    counts = all_reduce_sum(counts, context)
    loss_sum = all_reduce_sum(loss_sum, context)
    all_seen = [i for part in all_gather_objects(seen, context) for i in part]
    model.train(was_training)
    n = max(counts[2].item(), 1.0)
    return {
        "top1": 100.0 * counts[0].item() / n,
        "top5": 100.0 * counts[1].item() / n,
        "loss": loss_sum.item() / n,
        "samples": int(counts[2].item()),
        "unique_samples": len(set(all_seen)),
    }


def wall_clock(history: list[dict], started: float | None = None) -> Callable[[], float]:
    """Training seconds so far, accumulated across resumes: the time recorded by the last
    finished epoch of an earlier run plus the time since ``started`` (default: this call)."""
    before = history[-1].get("wall_seconds", 0.0) if history else 0.0
    started = time.perf_counter() if started is None else started
    return lambda: before + time.perf_counter() - started


def wrap_for_training(model: nn.Module, context: DistributedContext) -> nn.Module:
    """DistributedDataParallel when several processes run, the bare model otherwise."""
    if not context.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [context.local_rank] if context.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


class TrainingState:
    """Everything --resume restores: model, optimiser, schedule, scaler, epoch, history, RNG."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scaler = scaler

    def resume(self, path: Path, context: DistributedContext) -> tuple[int, list]:
        """Load a checkpoint strictly; returns (epochs done, history)."""
        from masksem_core.engine.checkpoint import (
            load_checkpoint,
            load_state_strict,
            restore_rng_state,
        )

        state = load_checkpoint(path)
        load_state_strict(self.model, state["model"], f"checkpoint {path}")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"][context.rank % len(state["rng"])])
        if context.is_main:
            log.info(f"resumed from {path} at epoch {state['epoch']}")
        return state["epoch"], list(state["history"])

    def save(
        self, path: Path, context: DistributedContext, epoch: int, history: list, **extra: object
    ) -> None:
        """Gather every rank's RNG state; rank 0 writes the checkpoint atomically."""
        from masksem_core.engine.checkpoint import capture_rng_state, save_checkpoint

        rng_states = all_gather_objects(capture_rng_state(), context)
        if context.is_main:
            save_checkpoint(
                path,
                {
                    **extra,
                    "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                    "scaler": self.scaler.state_dict(),
                    "epoch": epoch,
                    "history": history,
                    "rng": rng_states,
                },
            )
