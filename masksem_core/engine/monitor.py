"""What a run shows while it trains: rank-0 progress bars, TensorBoard scalars, wall time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tqdm import tqdm

from masksem_core.engine.distributed import DistributedContext


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


def time_left(seconds: float, epochs_run: int, epochs_left: int) -> str:
    """``elapsed M:SS, ETA M:SS``: the stage's remaining time at this run's mean epoch time."""
    eta = seconds / epochs_run * epochs_left if epochs_run else 0.0
    return f"elapsed {tqdm.format_interval(seconds)}, ETA {tqdm.format_interval(eta)}"


def wall_clock(history: list[dict], started: float | None = None) -> Callable[[], float]:
    """Training seconds so far, accumulated across resumes: the time recorded by the last
    finished epoch of an earlier run plus the time since ``started`` (default: this call)."""
    before = history[-1].get("wall_seconds", 0.0) if history else 0.0
    started = time.perf_counter() if started is None else started
    return lambda: before + time.perf_counter() - started
