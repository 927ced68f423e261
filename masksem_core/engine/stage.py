"""The one run driver: any task builder (engine/tasks.py) → seeded model → ``fit`` → summary."""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from masksem_core.config import ExperimentConfig
from masksem_core.engine.builders import open_dataset
from masksem_core.engine.distributed import replicas_in_sync
from masksem_core.engine.run_layout import CHECKPOINT, SUMMARY, stage_dir
from masksem_core.engine.summary import RunSummary
from masksem_core.engine.tasks import StageBuilder
from masksem_core.engine.trainer import fit
from masksem_core.skeleton import get_layout

log = logging.getLogger(__name__)


def run_stage(builder: StageBuilder, resume: str | None = None) -> RunSummary:
    """Seed, open the data, build the model (identical on every rank; the builder fits the
    checkpoint it starts from to the data's layout) on the builder's device, run
    ``fit`` (from ``resume``: "auto" = the stage's last.pt), check that the replicas agree and
    write the stage's summary."""
    config, context = builder.config, builder.context  # one owner of the device
    started = time.perf_counter()
    out = stage_dir(config, builder.folder)
    prepared = open_dataset(config.data, context)
    layout = get_layout(prepared.meta["layout"])
    torch.manual_seed(config.seed)  # the same initial weights on every rank
    model = builder.build_model(layout, prepared).to(context.device)
    torch.manual_seed(config.seed + context.rank)  # per-rank augmentation, masking, dropout
    split = builder.training_split(prepared)
    task, optimisation = builder.build_task(model, prepared, split, out)
    history, wall = fit(
        task,
        optimisation,
        builder.epochs,
        out,
        context,
        config.precision,
        config.log_every,
        resume,
        started,  # the wall time includes set-up, e.g. a cached probe's feature encoding
    )
    in_sync = replicas_in_sync(model, context)
    summary = RunSummary.from_history(
        history,
        experiment=config.experiment,
        stage=builder.stage,
        folder=builder.folder,
        features=builder.features,
        dataset=prepared.meta["dataset"],
        train_split=split,
        test_split=builder.test_split,
        init=builder.init,
        epochs=builder.epochs,
        world_size=context.world_size,
        replicas_in_sync=in_sync,
        checkpoint=str(out / CHECKPOINT),
        wall_seconds=wall,
    )
    if context.is_main:
        summary.write(out)
        log.info(f"{builder.folder} done: {describe(summary)} ({out / SUMMARY})")
    if not in_sync:
        raise RuntimeError("DDP replicas diverged: parameters differ across ranks")
    return summary


def describe(summary: RunSummary) -> str:
    """The closing line of a stage: its test accuracy, or where its checkpoint is."""
    last = summary.last_epoch
    if last is None:
        return (
            f"{summary.checkpoint} (replicas in sync across {summary.world_size} "
            f"process(es): {summary.replicas_in_sync})"
        )
    return (
        f"last-epoch top-1 {last.top1:.2f} %, top-5 {last.top5:.2f} % on "
        f"{summary.test_samples} test samples"
    )


@contextmanager
def claimed(folder: Path, wait: bool) -> Iterator[bool]:
    """Hold ``folder``'s lock for the block, so that processes started side by side (studies,
    cross-validation folds) never run the same stage twice; yields False when another process
    holds it and ``wait`` is off."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


def finished_or_run(
    config: ExperimentConfig, builder: StageBuilder, what: str, wait: bool = True
) -> RunSummary | None:
    """The stage's summary when it has finished; otherwise run (or resume) it. A stage another
    process is running is waited for, then read, or, without ``wait``, left to it (None)."""
    folder = stage_dir(config, builder.stage)
    with claimed(folder, wait=wait) as mine:
        if not mine:
            return None
        if (folder / SUMMARY).is_file():
            return RunSummary.read(folder)
        resume = "auto" if (folder / CHECKPOINT).is_file() else None
        print(f"== {what}" + (" (resuming)" if resume else ""), flush=True)
        return run_stage(builder, resume)
