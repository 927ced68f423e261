"""Everything ``--resume`` restores, saved after every epoch."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from masksem_core.engine.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    load_state_strict,
    restore_rng_state,
    save_checkpoint,
)
from masksem_core.engine.distributed import DistributedContext, all_gather_objects

log = logging.getLogger(__name__)


class TrainingState:
    """Model, optimiser, schedule, scaler, epoch, history and every rank's RNG."""

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
