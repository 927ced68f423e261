"""Models, datasets and loaders built from a config (the one place that reads those sections)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler
from torch.utils.data.distributed import DistributedSampler

from masksem_core.config import DataConfig, ExperimentConfig
from masksem_core.data.prepare import prepare_demo_dataset
from masksem_core.data.prepared import PreparedData, WindowDataset
from masksem_core.engine.distributed import DistributedContext
from masksem_core.errors import ConfigError
from masksem_core.model.factory import build_encoder
from masksem_core.pretraining import MaskSem
from masksem_core.skeleton import get_layout

log = logging.getLogger(__name__)


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


def autocast(precision: str, device: torch.device) -> torch.autocast:
    """bf16/fp16 autocast where asked for (``auto``: bf16 on a CUDA GPU that supports it)."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("fp16 autocast needs a CUDA device; use bf16 or fp32 on CPU")
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype, enabled=precision != "fp32")
