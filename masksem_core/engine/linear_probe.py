"""Linear probe on cached frozen features (paper §IV-C protocol, 100 epochs, made cheap).

The probe's encoder is frozen and in eval mode, and its head sees only the features pooled over
M, Te and V. Encoding every training window once per augmentation draw and training the
BatchNorm + linear head on those cached (N, D) features is therefore the same computation as the
online probe on the same windows. With ``feature_draws == epochs`` every epoch sees a fresh
augmentation draw, as online; with fewer draws, epoch e reuses draw e mod ``feature_draws``.
Test windows are deterministic, so the test set is encoded once instead of once per epoch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from masksem_core.config import ExperimentConfig
from masksem_core.engine.builders import eval_loader
from masksem_core.engine.checkpoint import load_checkpoint, save_checkpoint
from masksem_core.engine.distributed import DistributedContext, all_gather_objects
from masksem_core.engine.evaluation import accuracy_counts
from masksem_core.engine.monitor import progress
from masksem_core.engine.precision import autocast
from masksem_core.engine.run_layout import FEATURE_CACHE
from masksem_core.model import ActionClassifier, LinearProbeHead

log = logging.getLogger(__name__)


@torch.no_grad()
def encode_pooled(
    model: ActionClassifier, loader: DataLoader, context: DistributedContext, precision: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled frozen features and labels of every item of ``loader``'s dataset, in dataset order,
    gathered over ranks: (N, D) float32 and (N,) int64."""
    model.eval()
    indices: list[int] = list(loader.sampler)
    features, labels = [], []
    for x, y in progress(loader, context, "encoding"):
        with autocast(precision, context.device):
            pooled = LinearProbeHead.pool(model.features(x.to(context.device)))  # (B, D)
        features.append(pooled.float().cpu())
        labels.append(y)
    parts = all_gather_objects((indices, torch.cat(features), torch.cat(labels)), context)
    size = sum(len(part[0]) for part in parts)
    out_features = torch.empty(size, parts[0][1].shape[1])
    out_labels = torch.empty(size, dtype=torch.long)
    for part_indices, part_features, part_labels in parts:
        out_features[part_indices] = part_features
        out_labels[part_indices] = part_labels
    return out_features, out_labels


def encode_draws(
    model: ActionClassifier,
    dataset: torch.utils.data.Dataset,
    draws: int,
    seed: int,
    context: DistributedContext,
    batch_size: int,
    workers: int,
    precision: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``draws`` augmented passes over the training windows: (draws, N, D) and labels (N,)."""
    loader = eval_loader(dataset, batch_size * context.world_size, context, workers)
    features = []
    labels = torch.empty(0, dtype=torch.long)
    for draw in range(draws):
        torch.manual_seed(seed * 100_003 + draw + context.rank * 7_919)  # this draw's crops
        draw_features, labels = encode_pooled(model, loader, context, precision)
        features.append(draw_features)
    return torch.stack(features), labels


def feature_batches(
    features: torch.Tensor, labels: torch.Tensor, batch_size: int, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of shuffled full batches of cached (N, D) features and labels (the last partial
    batch is dropped, as the online loader does)."""
    order = torch.randperm(len(labels), generator=generator)
    batch_size = min(batch_size, len(labels))
    for step in range(len(labels) // batch_size):
        batch = order[step * batch_size : (step + 1) * batch_size]
        yield features[batch], labels[batch]


@torch.no_grad()
def evaluate_head(head: LinearProbeHead, features: torch.Tensor, labels: torch.Tensor) -> dict:
    """Top-1/top-5 (%) and mean cross-entropy of the head on cached features."""
    head.eval()
    logits = head.classify(features)
    top1, top5 = accuracy_counts(logits, labels)
    return {
        "top1": 100.0 * top1 / len(labels),
        "top5": 100.0 * top5 / len(labels),
        "loss": nn.functional.cross_entropy(logits, labels).item(),
        "samples": len(labels),
        "unique_samples": len(labels),
    }


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    return max(num_samples // min(batch_size, num_samples), 1)


def encoder_digest(model: ActionClassifier) -> float:
    """A cheap fingerprint of the frozen encoder's weights (sum of |w|), so a feature cache
    written for another encoder is never reused."""
    return float(sum(p.detach().double().abs().sum() for p in model.encoder.parameters()))


def cached_probe_features(
    model: ActionClassifier,
    train_set: torch.utils.data.Dataset,
    test_loader: DataLoader,
    config: ExperimentConfig,
    context: DistributedContext,
    out: Path,
) -> dict[str, torch.Tensor]:
    """Pooled frozen features of ``linear.feature_draws`` augmented passes over the training
    windows and of the test windows; stored in the stage folder so a resumed probe reuses them."""
    path, draws = out / FEATURE_CACHE, config.linear.feature_draws
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
            path, {"draws": draws, "encoder_digest": encoder_digest(model), "features": features}
        )
        log.info(
            f"linear probe: encoded {draws} augmentation draws of {len(train_labels)} training "
            f"and {len(test_labels)} test windows in {time.perf_counter() - started:.1f} s"
        )
    return features
