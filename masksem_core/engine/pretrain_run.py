"""Self-supervised pretraining with the MaskSem objective (paper §III, §IV-B)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from masksem_core.atomic import write_json_atomic
from masksem_core.config import ExperimentConfig
from masksem_core.data.prepared import WindowDataset
from masksem_core.engine.builders import build_pretrainer, open_dataset, train_loader
from masksem_core.engine.checkpoint import CheckpointError, load_checkpoint
from masksem_core.engine.distributed import (
    DistributedContext,
    replicas_in_sync,
)
from masksem_core.engine.loops import (
    progress,
    wrap_for_training,
)
from masksem_core.engine.run_layout import CHECKPOINT, SUMMARY, stage_dir
from masksem_core.engine.schedule import build_adamw, parameter_groups, warmup_cosine_scheduler
from masksem_core.engine.trainer import Optimisation, Task, fit
from masksem_core.pretraining import average_motion_reference

log = logging.getLogger(__name__)


def compute_reference(
    dataset: WindowDataset, batch_size: int, workers: int, context: DistributedContext
) -> torch.Tensor:
    """S̄ over the training split's deterministic windows (eq. 2); identical on every rank."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, shuffle=False)
    batches = (x for x, _ in progress(loader, context, "average motion S̄"))
    return average_motion_reference(batches)


def run_pretraining(
    config: ExperimentConfig,
    context: DistributedContext,
    resume: str | None = None,
    init: str | None = None,
) -> Path:
    """Pretrain and return the path of the final checkpoint (``<output_dir>/pretrain/last.pt``).

    ``init`` (or ``pretrain.init``): start φ, θ and the decoder from another pretraining
    checkpoint (e.g. a finished MAMP-mode run: two-stage MaskSem) with a fresh optimiser and
    schedule."""
    data_cfg, train_cfg = config.data, config.pretrain
    out = stage_dir(config, "pretrain")
    init = init or train_cfg.init
    source = load_checkpoint(init) if init and not resume else None  # bad paths fail early
    prepared = open_dataset(data_cfg, context)
    layout = prepared.meta["layout"]
    torch.manual_seed(config.seed)  # the same initial weights on every rank, θ included
    model = build_pretrainer(config, layout).to(context.device)
    torch.manual_seed(config.seed + context.rank)  # per-rank masking and augmentation
    if source is not None:
        if source.get("layout") != layout:
            raise CheckpointError(
                f"{init} was pretrained on layout {source.get('layout')}, the dataset "
                f"{data_cfg.root} uses {layout}"
            )
        try:
            fresh = model.initialise_from_pretrained(source["model"])
        except ValueError as err:
            raise CheckpointError(f"{init} does not fit this model: {err}") from None
        if context.is_main:
            log.info(
                f"initialised from {init}" + (f" (kept fresh: {', '.join(fresh)})" if fresh else "")
            )
    train_set = WindowDataset(prepared, data_cfg.train_split, train=True, window=data_cfg.window)
    loader, sampler = train_loader(
        train_set, train_cfg.batch_size, context, data_cfg.num_workers, config.seed
    )
    steps_per_epoch = len(loader)
    total_steps = train_cfg.epochs * steps_per_epoch
    optimizer = build_adamw(
        parameter_groups(model, train_cfg.weight_decay), train_cfg.lr, tuple(train_cfg.betas)
    )
    scheduler = warmup_cosine_scheduler(
        optimizer,
        train_cfg.warmup_epochs * steps_per_epoch,
        total_steps,
        train_cfg.lr,
        train_cfg.min_lr,
    )
    scaler = torch.amp.GradScaler(context.device.type, enabled=config.precision == "fp16")
    if not resume and model.config.masking == "semantic" and model.config.reference == "dataset":
        reference_set = WindowDataset(
            prepared, data_cfg.train_split, train=False, window=data_cfg.window
        )
        model.set_reference(
            compute_reference(
                reference_set, train_cfg.batch_size, data_cfg.num_workers, context
            ).to(context.device)
        )
    wrapped = wrap_for_training(model, context)

    def begin_epoch(epoch: int) -> None:
        sampler.set_epoch(epoch)
        model.begin_epoch(epoch)
        wrapped.train()

    task = Task(
        name="pretrain",
        model=model,
        batches=lambda epoch: loader,
        steps_per_epoch=steps_per_epoch,
        loss=lambda batch: wrapped(batch[0].to(context.device, non_blocking=True)),
        begin_epoch=begin_epoch,
        after_step=model.update_offline_encoder,
        checkpoint_extra={
            "kind": "pretrain",
            "config": config.to_dict(),
            "layout": layout,
            "class_names": prepared.class_names,
        },
    )
    history, wall = fit(
        task,
        Optimisation(optimizer, scheduler, scaler, train_cfg.clip_grad),
        train_cfg.epochs,
        out,
        context,
        config.precision,
        config.log_every,
        resume,
    )
    last = out / CHECKPOINT
    in_sync = replicas_in_sync(model, context)
    if context.is_main:
        write_json_atomic(
            out / SUMMARY,
            {
                "experiment": config.experiment,
                "stage": "pretrain",
                "epochs": train_cfg.epochs,
                "init": str(init) if init else None,
                "history": history,
                "checkpoint": str(last),
                "world_size": context.world_size,
                "replicas_in_sync": in_sync,
                "wall_seconds": wall,
            },
        )
        log.info(
            f"pretraining done: {last} (replicas in sync across {context.world_size} "
            f"process(es): {in_sync})"
        )
    if not in_sync:
        raise RuntimeError("DDP replicas diverged: parameters differ across ranks")
    return last
