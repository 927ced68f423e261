"""Models, datasets and loaders built from a config (the one place that reads those sections)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler
from torch.utils.data.distributed import DistributedSampler

from masksem_core.config import DataConfig, ExperimentConfig, ModelConfig
from masksem_core.data.prepare import prepare_demo_dataset
from masksem_core.data.prepared import PreparedData, WindowDataset
from masksem_core.data.stream import BACKGROUND, StreamSampling
from masksem_core.data.stream_dataset import StreamWindowDataset
from masksem_core.data.transforms import (
    ModelInput,
    augmentation,
    training_transform,
)
from masksem_core.engine.distributed import DistributedContext
from masksem_core.errors import ConfigError
from masksem_core.model import (
    ActionClassifier,
    FineTuneHead,
    LinearProbeHead,
    PooledMLPHead,
    SkeletonEncoder,
)
from masksem_core.pretraining.masksem import MaskSem
from masksem_core.skeleton import get_layout
from masksem_core.window_spec import WindowSpec

log = logging.getLogger(__name__)


def build_encoder(
    model_cfg: ModelConfig, num_joints: int, window: int, drop_path: float = 0.0
) -> SkeletonEncoder:
    return SkeletonEncoder(
        num_joints,
        in_channels=3,
        window=window,
        segment_length=model_cfg.segment_length,
        dim=model_cfg.dim,
        depth=model_cfg.depth,
        num_heads=model_cfg.heads,
        mlp_dim=model_cfg.mlp_dim,
        drop_path=drop_path,
        weight_init=model_cfg.weight_init,
    )


def build_classifier(
    model_cfg: ModelConfig,
    num_joints: int,
    window: int,
    num_classes: int,
    head: str,
    drop_path: float = 0.0,
    head_dropout: float = 0.3,
) -> ActionClassifier:
    """Encoder + head: ``linear`` probe, ``mlp`` (MAMP's fine-tuning head) or ``pooled_mlp``."""
    encoder = build_encoder(model_cfg, num_joints, window, drop_path)
    if head == "linear":
        return ActionClassifier(encoder, LinearProbeHead(encoder.dim, num_classes))
    if head == "mlp":
        return ActionClassifier(
            encoder, FineTuneHead(encoder.dim, num_joints, num_classes, dropout=head_dropout)
        )
    if head == "pooled_mlp":
        return ActionClassifier(
            encoder, PooledMLPHead(encoder.dim, num_classes, dropout=head_dropout)
        )
    raise ValueError(f"unknown head {head!r}; choose linear, mlp or pooled_mlp")


def build_pretrainer(config: ExperimentConfig, layout_name: str) -> MaskSem:
    model_cfg = config.model
    layout = get_layout(layout_name)
    encoder = build_encoder(model_cfg, layout.num_joints, config.data.window)
    return MaskSem(
        encoder,
        layout,
        config.pretraining,
        decoder_dim=model_cfg.decoder_dim,
        decoder_depth=model_cfg.decoder_depth,
        decoder_heads=model_cfg.decoder_heads,
        decoder_mlp_dim=model_cfg.decoder_mlp_dim,
        weight_init=model_cfg.weight_init,
    )


def open_dataset(data_cfg: DataConfig, context: DistributedContext) -> PreparedData:
    """Open the prepared dataset; the synthetic demo data is generated on first use."""
    root = Path(data_cfg.root)
    if data_cfg.dataset == "demo" and not (root / "meta.json").is_file():
        if context.is_main:
            log.info(f"generating the synthetic demo dataset in {root} (first run only)")
            prepare_demo_dataset(root, data_cfg.demo_samples_per_class, overwrite=root.exists())
        if context.enabled:
            dist.barrier()
    return PreparedData(root)


def stream_sampling(data_cfg: DataConfig) -> StreamSampling:
    return StreamSampling(
        data_cfg.window_seconds, data_cfg.min_visible_seconds, data_cfg.tail_seconds
    )


def training_windows(
    prepared: PreparedData, split: str, data_cfg: DataConfig
) -> WindowDataset | StreamWindowDataset:
    """The split's training windows: clip mode, crop + resize then the augmentation; stream
    mode, stream windows (a share of them idle, at a random tempo) then the augmentation."""
    if data_cfg.window_mode == "clip":
        return WindowDataset(prepared, split, training_transform(data_cfg, layout_of(prepared)))
    return stream_windows(prepared, split, data_cfg, train=True)


def evaluation_windows(
    prepared: PreparedData, split: str, data_cfg: DataConfig
) -> WindowDataset | StreamWindowDataset:
    """The split's deterministic evaluation windows (stream mode: each ending where its action
    ends)."""
    if data_cfg.window_mode == "clip":
        return WindowDataset(prepared, split, ModelInput(window_spec(data_cfg, prepared)))
    return stream_windows(prepared, split, data_cfg, train=False)


def stream_windows(
    prepared: PreparedData,
    split: str,
    data_cfg: DataConfig,
    train: bool,
    idle_windows: int = 0,
) -> StreamWindowDataset:
    """Stream windows of the config: training ones (a share idle, augmented) or the
    deterministic evaluation ones (with ``idle_windows`` idle windows per action after them)."""
    return StreamWindowDataset(
        prepared,
        split,
        window_spec(data_cfg, prepared),
        stream_sampling(data_cfg),
        train=train,
        background_fraction=data_cfg.background_fraction if train else 0.0,
        context_fraction=data_cfg.context_fraction if train else 0.0,
        augment=augmentation(data_cfg, layout_of(prepared)) if train else None,
        tempo=tuple(data_cfg.tempo) if train else (1.0, 1.0),
        idle_windows=idle_windows,
    )


def layout_of(prepared: PreparedData) -> str:
    return prepared.meta["layout"]


def window_spec(data_cfg: DataConfig, prepared: PreparedData) -> WindowSpec:
    """The model input of a run over ``prepared``: built here, once, for every caller."""
    return WindowSpec.from_data_config(data_cfg, layout_of(prepared), prepared.fps)


def model_class_names(prepared: PreparedData, data_cfg: DataConfig) -> list[str]:
    """The classes a model of this config outputs: the dataset's, plus 'no action' when stream
    windows include idle ones."""
    background = data_cfg.window_mode == "stream" and data_cfg.background_fraction > 0
    return prepared.class_names + ([BACKGROUND] if background else [])


class ShardSampler(Sampler[int]):
    """Evaluation sampler: rank r takes items r, r + W, r + 2W, … — every item exactly once."""

    def __init__(self, length: int, context: DistributedContext) -> None:
        self.indices = list(range(context.rank, length, context.world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def per_rank_batch(total: int, context: DistributedContext) -> int:
    if total % context.world_size:
        raise ConfigError(
            f"total batch size {total} is not divisible by {context.world_size} "
            "processes; change the batch_size setting"
        )
    return total // context.world_size


def train_loader(
    dataset: WindowDataset, total_batch: int, context: DistributedContext, workers: int, seed: int
) -> tuple[DataLoader, DistributedSampler]:
    sampler = DistributedSampler(
        dataset,
        num_replicas=context.world_size,
        rank=context.rank,
        shuffle=True,
        seed=seed,
        drop_last=True,
    )
    batch = min(per_rank_batch(total_batch, context), len(sampler))
    loader = DataLoader(
        dataset,
        batch_size=batch,
        sampler=sampler,
        num_workers=workers,
        drop_last=True,
        pin_memory=context.device.type == "cuda",
        persistent_workers=False,
    )
    return loader, sampler


def eval_loader(
    dataset: WindowDataset, total_batch: int, context: DistributedContext, workers: int
) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=per_rank_batch(total_batch, context),
        sampler=ShardSampler(len(dataset), context),
        num_workers=workers,
        pin_memory=context.device.type == "cuda",
    )
