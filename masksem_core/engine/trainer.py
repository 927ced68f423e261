"""The one training loop (MAE's split: ``train_one_epoch`` + ``fit``) behind pretraining, linear
evaluation and fine-tuning. A :class:`Task` says what a step computes, what happens around it,
what is evaluated and how an epoch is reported; the trainer owns the optimiser step, logging,
history, checkpoints and resumption."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from masksem_core.engine.distributed import DistributedContext, all_reduce_mean
from masksem_core.engine.monitor import TensorBoardLogger, progress, time_left, wall_clock
from masksem_core.engine.precision import autocast
from masksem_core.engine.run_layout import CHECKPOINT, TENSORBOARD
from masksem_core.engine.training_state import TrainingState

log = logging.getLogger(__name__)


def _nothing(*_: object) -> None:
    return None


def _loss_line(means: dict[str, float], metrics: dict) -> str:
    return f"loss {means['loss']:.4g}"


@dataclass
class Task:
    """One stage. ``loss(batch)`` returns the loss and detached statistics of a batch;
    ``batches(epoch)`` yields an epoch's batches (``steps_per_epoch`` of them)."""

    name: str
    model: nn.Module
    batches: Callable[[int], Iterable]
    steps_per_epoch: int
    loss: Callable[[object], tuple[torch.Tensor, dict[str, torch.Tensor]]]
    begin_epoch: Callable[[int], None] = _nothing  # sampler epoch, train/eval modes, curriculum
    after_step: Callable[[], None] = _nothing  # e.g. the EMA update of θ
    evaluate: Callable[[], dict] | None = None  # test metrics after every epoch
    test_scalars: tuple[str, ...] = ()  # metrics of ``evaluate`` logged to TensorBoard
    epoch_line: Callable[[dict[str, float], dict], str] = _loss_line  # (train means, metrics)
    history_prefix: str = ""  # "train_" for classifiers: train_loss beside test_top1
    checkpoint_extra: dict = field(default_factory=dict)  # kind, config, layout, class names


@dataclass
class Optimisation:
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    clip_grad: float | None = None


def optimisation_step(
    loss: torch.Tensor, optimisation: Optimisation, parameters: list[nn.Parameter]
) -> None:
    """Backward, optional gradient clipping, step, per-iteration schedule step."""
    optimizer, scaler = optimisation.optimizer, optimisation.scaler
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if optimisation.clip_grad:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(parameters, optimisation.clip_grad)
    scaler.step(optimizer)
    scaler.update()
    optimisation.scheduler.step()


def check_finite_loss(loss: torch.Tensor, epoch: int, step: int) -> None:
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"loss became {loss.item()} at epoch {epoch}, step {step}; lower optim.lr, use "
            "precision=fp32, or check the data for outliers"
        )


def train_one_epoch(
    task: Task,
    optimisation: Optimisation,
    epoch: int,
    epochs: int,
    context: DistributedContext,
    precision: str,
    logger: TensorBoardLogger,
    log_every: int,
) -> dict[str, float]:
    """Run one epoch of ``task``; returns the loss and every statistic averaged over the
    epoch's steps and over ranks."""
    task.begin_epoch(epoch)
    trainable = [p for p in task.model.parameters() if p.requires_grad]
    totals: dict[str, float] = {}
    bar = progress(
        task.batches(epoch), context, f"{task.name} {epoch + 1}/{epochs}", task.steps_per_epoch
    )
    for step, batch in enumerate(bar):
        with autocast(precision, context.device):
            loss, stats = task.loss(batch)
        check_finite_loss(loss, epoch, step)
        optimisation_step(loss, optimisation, trainable)
        task.after_step()
        values = {"loss": loss.item(), **{k: float(v) for k, v in stats.items()}}
        for key, value in values.items():
            totals[key] = totals.get(key, 0.0) + value
        global_step = epoch * task.steps_per_epoch + step
        if global_step % log_every == 0:
            lr = optimisation.optimizer.param_groups[-1]["lr"]
            logger.scalars({**values, "lr": lr}, global_step, task.name)
    means = {key: value / task.steps_per_epoch for key, value in totals.items()}
    return all_reduce_mean(means, context)


def fit(
    task: Task,
    optimisation: Optimisation,
    epochs: int,
    out: Path,
    context: DistributedContext,
    precision: str,
    log_every: int,
    resume: str | None = None,
    started: float | None = None,
) -> tuple[list[dict], float]:
    """Train ``task`` for ``epochs`` (from a checkpoint with ``resume``: "auto" = the stage's
    last.pt), evaluating and saving after every epoch; ``epochs = 0`` saves the initial state.
    Returns the history and the training wall time, accumulated across resumes."""
    last = out / CHECKPOINT
    training = TrainingState(
        task.model, optimisation.optimizer, optimisation.scheduler, optimisation.scaler
    )
    start_epoch, history = 0, []
    if resume:
        start_epoch, history = training.resume(last if resume == "auto" else Path(resume), context)
    logger = TensorBoardLogger(out / TENSORBOARD, context)
    clock = wall_clock(history, started)
    this_run = wall_clock([])  # this run's epochs alone: the ETA's pace
    for epoch in range(start_epoch, epochs):
        means = train_one_epoch(
            task, optimisation, epoch, epochs, context, precision, logger, log_every
        )
        metrics = task.evaluate() if task.evaluate else {}
        history.append(
            {
                "epoch": epoch + 1,
                **{f"{task.history_prefix}{k}": v for k, v in means.items()},
                **{f"test_{k}": v for k, v in metrics.items()},
                "wall_seconds": clock(),
            }
        )
        logger.scalars({k: metrics[k] for k in task.test_scalars}, epoch + 1, f"{task.name}_test")
        if context.is_main:
            left = time_left(this_run(), epoch + 1 - start_epoch, epochs - epoch - 1)
            log.info(
                f"{task.name} epoch {epoch + 1}/{epochs}: {task.epoch_line(means, metrics)} "
                f"({left})"
            )
        training.save(last, context, epoch + 1, history, **task.checkpoint_extra)
    if not history:  # epochs = 0: the (seeded or loaded) initial state
        training.save(last, context, 0, history, **task.checkpoint_extra)
    logger.close()
    return history, clock()
