"""One builder per task (paper §IV-B/C): pretraining, the cached and the online linear probe, and
fine-tuning (semi-supervised and transfer included). Each reads its own config section and, for
the dataset that :func:`masksem_core.engine.stage.run_stage` opened, builds the model and the
:class:`Task` + :class:`Optimisation` that ``fit`` runs. No builder branches on another's mode."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader

from masksem_core.config import DataConfig, ExperimentConfig
from masksem_core.data.general import source_summary
from masksem_core.data.prepared import PreparedData, WindowDataset
from masksem_core.engine.builders import (
    build_classifier,
    build_pretrainer,
    eval_loader,
    evaluation_windows,
    model_class_names,
    train_loader,
    training_windows,
)
from masksem_core.engine.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_pretrained_encoder,
    load_state_strict,
)
from masksem_core.engine.distributed import DistributedContext, wrap_for_training
from masksem_core.engine.evaluation import TEST_SCALARS, classification_line, evaluate
from masksem_core.engine.linear_probe import (
    cached_probe_features,
    evaluate_head,
    feature_batches,
    steps_per_epoch,
)
from masksem_core.engine.monitor import progress
from masksem_core.engine.run_layout import finetune_folder
from masksem_core.engine.schedule import (
    apply_lr_scales,
    build_adamw,
    parameter_groups,
    warmup_cosine_scheduler,
)
from masksem_core.engine.trainer import Optimisation, Task
from masksem_core.model import ActionClassifier
from masksem_core.model.encoder import encoder_state_for_layout
from masksem_core.pretraining.masksem import MaskSem
from masksem_core.pretraining.reference import average_motion_reference
from masksem_core.shipped import locate_shipped
from masksem_core.skeleton import SkeletonLayout, get_layout

log = logging.getLogger(__name__)


class StageBuilder(Protocol):
    """What :func:`run_stage` needs from a task."""

    config: ExperimentConfig
    context: DistributedContext  # the device and ranks the stage runs on
    stage: str  # pretrain | linear | finetune: config section, checkpoint, summary, logs
    folder: str  # its folder under output_dir (finetune_10pct_seed0 for a label fraction)
    features: str | None  # a linear probe's features: cached | online (None: other stages)
    epochs: int
    init: str | None  # the checkpoint the stage starts from
    test_split: str | None

    def training_split(self, prepared: PreparedData) -> str: ...

    def build_model(self, layout: SkeletonLayout, prepared: PreparedData) -> nn.Module: ...

    def build_task(
        self, model: nn.Module, prepared: PreparedData, split: str, out: Path
    ) -> tuple[Task, Optimisation]: ...


def scheduled(
    optimizer: torch.optim.Optimizer,
    section: object,
    steps: int,
    config: ExperimentConfig,
    context: DistributedContext,
    clip_grad: float | None = None,
) -> Optimisation:
    """``optimizer`` with the section's per-iteration warm-up + cosine schedule and a scaler."""
    scheduler = warmup_cosine_scheduler(
        optimizer,
        section.warmup_epochs * steps,
        section.epochs * steps,
        section.lr,
        section.min_lr,
    )
    scaler = torch.amp.GradScaler(context.device.type, enabled=config.precision == "fp16")
    return Optimisation(optimizer, scheduler, scaler, clip_grad)


def compute_reference(
    dataset: WindowDataset, batch_size: int, workers: int, context: DistributedContext
) -> torch.Tensor:
    """S̄ over the training split's deterministic windows (eq. 2); identical on every rank."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, shuffle=False)
    batches = (x for x, _ in progress(loader, context, "average motion S̄"))
    return average_motion_reference(batches)


def pretraining_data(config: ExperimentConfig) -> DataConfig:
    """The data section pretraining reads: ``data`` in ``pretrain.window_mode``."""
    mode = config.pretrain.window_mode
    return config.data if mode == "data" else replace(config.data, window_mode=mode)


def log_sources(prepared: PreparedData, split: str) -> None:
    """Samples and hours of motion per source of a corpus of several (the general one)."""
    samples = [prepared.samples[i] for i in prepared.split_indices(split)]
    if not samples or "source" not in samples[0]["extra"]:
        return
    for source, entry in sorted(source_summary(samples, prepared.fps).items()):
        log.info(f"  source {source}: {entry['samples']} samples, {entry['hours']:.3f} h")


class Pretraining:
    """Self-supervised MaskSem pretraining (section ``pretrain``). ``init``: start φ, θ and the
    decoder from another pretraining checkpoint (two-stage MaskSem) with a fresh optimiser."""

    stage = folder = "pretrain"
    features = None
    test_split = None

    def __init__(
        self, config: ExperimentConfig, context: DistributedContext, init: str | None = None
    ) -> None:
        self.config, self.context = config, context
        self.epochs = config.pretrain.epochs
        self.init = init or config.pretrain.init
        self.source = load_checkpoint(self.init) if self.init else None  # bad paths fail early
        self.init_layout = self.source.get("layout") if self.source else None

    def training_split(self, prepared: PreparedData) -> str:
        return self.config.data.train_split

    def build_model(self, layout: SkeletonLayout, prepared: PreparedData) -> MaskSem:
        if self.init_layout is not None and self.init_layout != layout.name:
            raise CheckpointError(
                f"{self.init} was pretrained on layout {self.init_layout}, the dataset "
                f"{self.config.data.root} uses {layout.name}: pretraining continues only on the "
                "same joints (fine-tuning and the linear probe map them)"
            )
        model = build_pretrainer(self.config, layout.name)
        if self.source is not None:
            try:
                fresh = model.initialise_from_pretrained(self.source["model"])
            except ValueError as err:
                raise CheckpointError(f"{self.init} does not fit this model: {err}") from None
            if self.context.is_main:
                kept = f" (kept fresh: {', '.join(fresh)})" if fresh else ""
                log.info(f"initialised from {self.init}{kept}")
        return model

    def build_task(
        self, model: MaskSem, prepared: PreparedData, split: str, out: Path
    ) -> tuple[Task, Optimisation]:
        config, context, data_cfg, cfg = (
            self.config,
            self.context,
            pretraining_data(self.config),
            self.config.pretrain,
        )
        loader, sampler = train_loader(
            training_windows(prepared, split, data_cfg),
            cfg.batch_size,
            context,
            data_cfg.num_workers,
            config.seed,
        )
        if context.is_main:
            log_sources(prepared, split)
        groups = parameter_groups(model, cfg.weight_decay)
        optimisation = scheduled(
            build_adamw(groups, cfg.lr, tuple(cfg.betas)),
            cfg,
            len(loader),
            config,
            context,
            cfg.clip_grad,
        )
        if model.config.masking == "semantic" and model.config.reference == "dataset":
            reference_set = evaluation_windows(prepared, split, data_cfg)
            reference = compute_reference(
                reference_set, cfg.batch_size, data_cfg.num_workers, context
            )
            model.set_reference(reference.to(context.device))
        wrapped = wrap_for_training(model, context)

        def begin_epoch(epoch: int) -> None:
            sampler.set_epoch(epoch)
            model.begin_epoch(epoch)
            wrapped.train()

        task = Task(
            name=self.stage,
            model=model,
            batches=lambda epoch: loader,
            steps_per_epoch=len(loader),
            loss=lambda batch: wrapped(batch[0].to(context.device, non_blocking=True)),
            begin_epoch=begin_epoch,
            after_step=model.update_offline_encoder,
            checkpoint_extra={
                "stage": self.stage,
                "config": config.to_dict(),
                "layout": prepared.meta["layout"],
                "class_names": prepared.class_names,
            },
        )
        return task, optimisation


class _Classification:
    """What every classifier stage shares: the encoder it starts from (or a seeded random one
    when ``init`` is None), the model, the test windows and the checkpoint contents."""

    stage = ""  # the config section of its schedule, its name in logs and checkpoints
    features = None
    head = "linear"
    drop_path = 0.0
    head_dropout = 0.0
    input_mismatch: tuple[str, ...] = ()  # input settings allowed to differ from the init's

    def __init__(
        self, config: ExperimentConfig, context: DistributedContext, init: str | None
    ) -> None:
        self.config, self.context, self.init = config, context, init
        self.model_cfg, self.encoder_state, self.init_layout = config.model, None, None
        if init:  # a bad checkpoint is reported before any data is touched
            self.model_cfg, self.encoder_state, self.init_layout = load_pretrained_encoder(
                locate_shipped(init)
            )
        self.test_split = config.data.test_split
        self.epochs = getattr(config, self.stage).epochs

    def training_split(self, prepared: PreparedData) -> str:
        return self.config.data.train_split

    def build_model(self, layout: SkeletonLayout, prepared: PreparedData) -> ActionClassifier:
        model = build_classifier(
            self.model_cfg,
            layout.num_joints,
            self.config.data.window,
            len(model_class_names(prepared, self.config.data)),
            head=self.head,
            drop_path=self.drop_path,
            head_dropout=self.head_dropout,
        )
        if self.encoder_state is not None:
            source = get_layout(self.init_layout)
            try:
                state = encoder_state_for_layout(self.encoder_state, source, layout)
            except ValueError as err:
                raise CheckpointError(
                    f"{self.init} (layout {source.name}) cannot start a model of the dataset "
                    f"{self.config.data.root} (layout {layout.name}): {err}"
                ) from None
            load_state_strict(model.encoder, state, f"encoder of {self.init}")
            if self.context.is_main:
                moved = sum(tensor.numel() for tensor in state.values())
                mapping = (
                    f"mapped from layout {source.name} to {layout.name} (each joint's "
                    "positional row from its counterpart)"
                    if source.name != layout.name
                    else f"layout {layout.name}"
                )
                log.info(
                    f"encoder loaded from {self.init}: {moved:,} parameters in {len(state)} "
                    f"tensors, {mapping}"
                )
        return model

    def test_loader(self, prepared: PreparedData) -> DataLoader:
        config = self.config
        windows = evaluation_windows(prepared, self.test_split, config.data)
        return eval_loader(windows, config.eval_batch_size, self.context, config.data.num_workers)

    def online_parts(
        self,
        model: ActionClassifier,
        prepared: PreparedData,
        split: str,
        criterion: nn.Module,
        batch_size: int,
    ) -> tuple[dict, Callable[[int], None]]:
        """The Task parts of a classifier trained on windows drawn every epoch (batches, loss,
        test evaluation) and the sampler's ``set_epoch``."""
        config, context = self.config, self.context
        loader, sampler = train_loader(
            training_windows(prepared, split, config.data),
            batch_size,
            context,
            config.data.num_workers,
            config.seed,
        )
        wrapped = wrap_for_training(model, context)
        test = self.test_loader(prepared)

        def loss(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
            x, y = batch
            logits = wrapped(x.to(context.device, non_blocking=True)).float()
            return criterion(logits, y.to(context.device)), {}

        parts = {
            "batches": lambda epoch: loader,
            "steps_per_epoch": len(loader),
            "loss": loss,
            "evaluate": lambda: evaluate(model, test, context, config.precision),
        }
        return parts, sampler.set_epoch

    def task(self, model: ActionClassifier, prepared: PreparedData, **parts: object) -> Task:
        return Task(
            name=self.stage,
            model=model,
            test_scalars=TEST_SCALARS,
            epoch_line=classification_line,
            history_prefix="train_",
            checkpoint_extra={
                "stage": self.stage,
                "config": replace(self.config, model=self.model_cfg).to_dict(),
                "layout": prepared.meta["layout"],
                "class_names": model_class_names(prepared, self.config.data),
                "head": self.head,
                "init": self.init,
                "input_mismatch": list(self.input_mismatch),
            },
            **parts,
        )


class _LinearProbe(_Classification):
    """BatchNorm + linear head on the frozen encoder in eval mode, SGD (section ``linear``)."""

    stage = folder = "linear"

    def build_model(self, layout: SkeletonLayout, prepared: PreparedData) -> ActionClassifier:
        model = super().build_model(layout, prepared)
        model.encoder.requires_grad_(False)
        return model

    def optimisation(self, model: ActionClassifier, steps: int) -> Optimisation:
        cfg = self.config.linear
        sgd = torch.optim.SGD(
            model.head.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
        return scheduled(sgd, cfg, steps, self.config, self.context)

    @staticmethod
    def frozen_train_mode(model: ActionClassifier) -> None:
        model.train()
        model.encoder.eval()  # frozen features: no dropout, no drop path


class CachedProbe(_LinearProbe):
    """The linear probe trained on cached pooled features of ``linear.feature_draws``
    augmentation draws: the online probe's computation without re-encoding every epoch."""

    features = "cached"

    def build_task(
        self, model: ActionClassifier, prepared: PreparedData, split: str, out: Path
    ) -> tuple[Task, Optimisation]:
        config, cfg, context = self.config, self.config.linear, self.context
        train_set = training_windows(prepared, split, config.data)
        cached = cached_probe_features(
            model, train_set, self.test_loader(prepared), config, context, out
        )
        features = {name: tensor.to(context.device) for name, tensor in cached.items()}
        criterion = nn.CrossEntropyLoss()
        steps = steps_per_epoch(len(features["train_labels"]), cfg.batch_size)

        def batches(epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            draws = features["train"]
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
            return feature_batches(
                draws[epoch % len(draws)], features["train_labels"], cfg.batch_size, generator
            )

        def loss(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
            pooled, y = batch
            return criterion(model.head.classify(pooled), y), {}

        task = self.task(
            model,
            prepared,
            batches=batches,
            steps_per_epoch=steps,
            loss=loss,
            begin_epoch=lambda epoch: self.frozen_train_mode(model),
            evaluate=lambda: evaluate_head(model.head, features["test"], features["test_labels"]),
        )
        return task, self.optimisation(model, steps)


class OnlineProbe(_LinearProbe):
    """The linear probe with the frozen encoder run on fresh augmented windows every epoch."""

    features = "online"

    def build_task(
        self, model: ActionClassifier, prepared: PreparedData, split: str, out: Path
    ) -> tuple[Task, Optimisation]:
        config = self.config
        parts, set_epoch = self.online_parts(
            model, prepared, split, nn.CrossEntropyLoss(), config.linear.batch_size
        )

        def begin_epoch(epoch: int) -> None:
            set_epoch(epoch)
            self.frozen_train_mode(model)

        task = self.task(model, prepared, begin_epoch=begin_epoch, **parts)
        return task, self.optimisation(model, parts["steps_per_epoch"])


def linear_probe(
    config: ExperimentConfig, context: DistributedContext, init: str | None
) -> CachedProbe | OnlineProbe:
    """The probe ``linear.cache_features`` asks for; ``init`` None probes the seeded random
    initialisation (the baseline every pretrained encoder must beat)."""
    probe = CachedProbe if config.linear.cache_features else OnlineProbe
    return probe(config, context, init)


class FineTuning(_Classification):
    """The whole network with an MLP head, AdamW with layer-wise decay (section ``finetune``);
    a class-stratified label fraction for semi-supervised runs; another dataset's checkpoint
    for transfer; ``init`` None trains from scratch."""

    stage = "finetune"

    def __init__(
        self,
        config: ExperimentConfig,
        context: DistributedContext,
        init: str | None,
        input_mismatch: tuple[str, ...] = (),
    ) -> None:
        super().__init__(config, context, init)
        self.input_mismatch = tuple(input_mismatch)
        cfg = config.finetune
        self.folder = finetune_folder(config)
        self.head, self.drop_path, self.head_dropout = cfg.head, cfg.drop_path, cfg.head_dropout

    def training_split(self, prepared: PreparedData) -> str:
        cfg, split = self.config.finetune, self.config.data.train_split
        if not cfg.label_fraction:
            return split
        return prepared.add_label_fraction_split(
            split, cfg.label_fraction, cfg.label_seed, save=self.context.is_main
        )

    def build_task(
        self, model: ActionClassifier, prepared: PreparedData, split: str, out: Path
    ) -> tuple[Task, Optimisation]:
        config, cfg = self.config, self.config.finetune
        criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        parts, set_epoch = self.online_parts(model, prepared, split, criterion, cfg.batch_size)

        def begin_epoch(epoch: int) -> None:
            set_epoch(epoch)
            model.train()

        depth = len(model.encoder.transformer.blocks)
        groups = parameter_groups(model, cfg.weight_decay, cfg.layer_decay, depth=depth)
        optimizer = build_adamw(groups, cfg.lr, tuple(cfg.betas))
        apply_lr_scales(optimizer)
        optimisation = scheduled(
            optimizer, cfg, parts["steps_per_epoch"], config, self.context, cfg.clip_grad
        )
        return self.task(model, prepared, begin_epoch=begin_epoch, **parts), optimisation
