"""Linear evaluation, fine-tuning, semi-supervised fine-tuning and transfer (paper §IV-C)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from masksem_core.atomic import write_json_atomic
from masksem_core.config import ExperimentConfig, ModelConfig
from masksem_core.data.prepared import WindowDataset
from masksem_core.engine.builders import (
    eval_loader,
    open_dataset,
    train_loader,
)
from masksem_core.engine.checkpoint import (
    CheckpointError,
    checkpoint_config,
    load_checkpoint,
    load_state_strict,
    save_checkpoint,
    sub_state,
)
from masksem_core.engine.distributed import DistributedContext
from masksem_core.engine.linear_probe import (
    encode_draws,
    encode_pooled,
    evaluate_head,
    feature_batches,
    steps_per_epoch,
)
from masksem_core.engine.loops import (
    evaluate,
    wrap_for_training,
)
from masksem_core.engine.run_layout import (
    CHECKPOINT,
    FEATURE_CACHE,
    SUMMARY,
    finetune_stage,
    stage_dir,
)
from masksem_core.engine.schedule import (
    apply_lr_scales,
    build_adamw,
    parameter_groups,
    warmup_cosine_scheduler,
)
from masksem_core.engine.trainer import Optimisation, Task, fit
from masksem_core.errors import ConfigError
from masksem_core.model import ActionClassifier
from masksem_core.model.factory import build_classifier
from masksem_core.skeleton import get_layout

log = logging.getLogger(__name__)

MODES = ("linear", "finetune")


def load_pretrained_encoder(path: str | Path) -> tuple[ModelConfig, dict, str]:
    """(model config, encoder state, layout) of any MaskSem checkpoint holding an encoder."""
    state = load_checkpoint(path)
    encoder = sub_state(state["model"], "encoder")
    if not encoder:
        raise CheckpointError(f"{path} holds no encoder weights (no 'encoder.*' keys)")
    return checkpoint_config(state, path).model, encoder, state["layout"]


def cached_probe_features(
    model: ActionClassifier,
    train_set: WindowDataset,
    test_loader: torch.utils.data.DataLoader,
    config: ExperimentConfig,
    context: DistributedContext,
    out: Path,
) -> dict[str, torch.Tensor]:
    """Pooled frozen features of ``linear.feature_draws`` augmented passes over the training
    windows and of the test windows; stored in the stage folder so a resumed probe reuses them."""
    cfg = config.linear
    path = out / FEATURE_CACHE
    draws = cfg.feature_draws
    if path.is_file():
        cache = load_checkpoint(path)
        if cache.get("draws") == draws and cache.get("encoder_digest") == encoder_digest(model):
            return cache["features"]
    started = time.perf_counter()
    train, train_labels = encode_draws(
        model,
        train_set,
        draws,
        config.seed,
        context,
        config.eval_batch_size,
        config.data.num_workers,
        config.precision,
    )
    test, test_labels = encode_pooled(model, test_loader, context, config.precision)
    features = {
        "train": train,
        "train_labels": train_labels,
        "test": test,
        "test_labels": test_labels,
    }
    if context.is_main:
        save_checkpoint(
            path,
            {"draws": draws, "encoder_digest": encoder_digest(model), "features": features},
        )
        log.info(
            f"linear probe: encoded {draws} augmentation draws of {len(train_labels)} training "
            f"and {len(test_labels)} test windows in {time.perf_counter() - started:.1f} s"
        )
    return features


def encoder_digest(model: ActionClassifier) -> float:
    """A cheap fingerprint of the frozen encoder's weights (sum of |w|), so a feature cache
    written for another encoder is never reused."""
    return float(sum(p.detach().double().abs().sum() for p in model.encoder.parameters()))


def run_classification(
    config: ExperimentConfig,
    context: DistributedContext,
    mode: str,
    init: str | None = None,
    resume: str | None = None,
    random_encoder: bool = False,
) -> dict:
    """Train a classifier head (linear) or the whole network (finetune); return the summary.

    ``random_encoder``: the linear probe runs on the seeded random initialisation (the baseline
    every pretrained encoder must beat) instead of a checkpoint."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    started = time.perf_counter()
    data_cfg, cfg = config.data, getattr(config, mode)
    fine = config.finetune if mode == "finetune" else None
    init = None if random_encoder else (init or cfg.init)
    if mode == "linear" and not init and not random_encoder:
        raise ConfigError(
            "linear evaluation needs a pretrained checkpoint: pass --init PATH "
            "(or --no-init to probe a random encoder)"
        )
    out = stage_dir(config, finetune_stage(config) if fine else "linear")
    model_cfg, encoder_state, source_layout = config.model, None, None
    if init:  # a bad checkpoint is reported before any data is touched
        model_cfg, encoder_state, source_layout = load_pretrained_encoder(init)
    prepared = open_dataset(data_cfg, context)
    layout = get_layout(prepared.meta["layout"])
    source_layout = source_layout or layout.name
    if get_layout(source_layout).num_joints != layout.num_joints:
        raise CheckpointError(
            f"{init} was pretrained on layout {source_layout}, the dataset "
            f"{data_cfg.root} uses {layout.name}"
        )
    num_classes = len(prepared.class_names)
    torch.manual_seed(config.seed)  # the same initial weights on every rank
    model = build_classifier(
        model_cfg,
        layout.num_joints,
        data_cfg.window,
        num_classes,
        head=fine.head if fine else "linear",
        drop_path=fine.drop_path if fine else 0.0,
        head_dropout=fine.head_dropout if fine else 0.0,
    )
    if encoder_state is not None:
        load_state_strict(model.encoder, encoder_state, f"encoder of {init}")
    if mode == "linear":
        model.encoder.requires_grad_(False)
    model.to(context.device)
    torch.manual_seed(config.seed + context.rank)  # per-rank augmentation and dropout

    train_split = data_cfg.train_split
    if fine and fine.label_fraction:
        train_split = prepared.add_label_fraction_split(
            train_split, fine.label_fraction, fine.label_seed, save=context.is_main
        )
    train_set = WindowDataset(
        prepared, train_split, train=True, window=data_cfg.window, rotate=True
    )
    test_set = WindowDataset(prepared, data_cfg.test_split, train=False, window=data_cfg.window)
    test_loader = eval_loader(test_set, config.eval_batch_size, context, data_cfg.num_workers)
    cached = mode == "linear" and cfg.cache_features
    if cached:
        features = cached_probe_features(model, train_set, test_loader, config, context, out)
        steps = steps_per_epoch(len(features["train_labels"]), cfg.batch_size)
    else:
        loader, sampler = train_loader(
            train_set, cfg.batch_size, context, data_cfg.num_workers, config.seed
        )
        steps = len(loader)
    if mode == "linear":
        optimizer = torch.optim.SGD(
            model.head.parameters(),
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
    else:
        groups = parameter_groups(
            model,
            cfg.weight_decay,
            cfg.layer_decay,
            depth=len(model.encoder.transformer.blocks),
        )
        optimizer = build_adamw(groups, cfg.lr, tuple(cfg.betas))
        apply_lr_scales(optimizer)
    scheduler = warmup_cosine_scheduler(
        optimizer, cfg.warmup_epochs * steps, cfg.epochs * steps, cfg.lr, cfg.min_lr
    )
    scaler = torch.amp.GradScaler(context.device.type, enabled=config.precision == "fp16")
    criterion = nn.CrossEntropyLoss(label_smoothing=fine.label_smoothing if fine else 0.0)
    wrapped = wrap_for_training(model, context)

    def begin_epoch(epoch: int) -> None:
        wrapped.train()
        if mode == "linear":
            model.encoder.eval()  # frozen features: no dropout, no drop path
        if not cached:
            sampler.set_epoch(epoch)

    if cached:

        def batches(epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            draws = features["train"]
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
            return feature_batches(
                draws[epoch % len(draws)], features["train_labels"], cfg.batch_size, generator
            )

        def loss(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
            pooled, y = batch
            return criterion(model.head.classify(pooled.to(context.device)), y), {}

        def test_metrics() -> dict:
            return evaluate_head(model.head, features["test"], features["test_labels"])

    else:

        def batches(epoch: int) -> DataLoader:
            return loader

        def loss(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
            x, y = batch
            logits = wrapped(x.to(context.device, non_blocking=True)).float()
            return criterion(logits, y.to(context.device)), {}

        def test_metrics() -> dict:
            return evaluate(model, test_loader, context, config.precision, num_classes)

    task = Task(
        name=mode,
        model=model,
        batches=batches,
        steps_per_epoch=steps,
        loss=loss,
        begin_epoch=begin_epoch,
        evaluate=test_metrics,
        history_prefix="train_",
        checkpoint_extra={
            "kind": mode,
            "config": replace(config, model=model_cfg).to_dict(),
            "layout": layout.name,
            "class_names": prepared.class_names,
            "head": fine.head if fine else "linear",
            "init": str(init) if init else None,
        },
    )
    history, wall = fit(
        task,
        Optimisation(optimizer, scheduler, scaler, fine.clip_grad if fine else None),
        cfg.epochs,
        out,
        context,
        config.precision,
        config.log_every,
        resume,
        started,  # the wall time includes the feature encoding of a cached probe
    )
    last = out / CHECKPOINT
    best = max(history, key=lambda h: h["test_top1"])
    final = history[-1]
    summary = {
        "experiment": config.experiment,
        "mode": mode,
        "dataset": prepared.meta["dataset"],
        "train_split": train_split,
        "test_split": data_cfg.test_split,
        "init": init,
        "random_encoder": random_encoder,
        "epochs": cfg.epochs,
        "world_size": context.world_size,
        "last_epoch": {"top1": final["test_top1"], "top5": final["test_top5"]},
        "best_epoch_selected_on_test": {
            "epoch": best["epoch"],
            "top1": best["test_top1"],
            "note": "for reference only; report last_epoch",
        },
        "test_samples": final["test_samples"],
        "unique_test_samples": final["test_unique_samples"],
        "history": history,
        "checkpoint": str(last),
        "wall_seconds": wall,
    }
    if context.is_main:
        write_json_atomic(out / SUMMARY, summary)
        log.info(
            f"{mode} done: last-epoch top-1 {final['test_top1']:.2f} %, top-5 "
            f"{final['test_top5']:.2f} % on {final['test_samples']} test samples "
            f"({out / SUMMARY})"
        )
    return summary
