"""Linear probe on cached frozen features (paper §IV-C protocol, 100 epochs, made cheap).

The probe's encoder is frozen and in eval mode, and its head sees only the features pooled over
M, Te and V. Encoding every training window once per augmentation draw and training the
BatchNorm + linear head on those cached (N, D) features is therefore the same computation as the
online probe on the same windows. With ``feature_draws == epochs`` every epoch sees a fresh
augmentation draw, as online; with fewer draws, epoch e reuses draw e mod ``feature_draws``.
Test windows are deterministic, so the test set is encoded once instead of once per epoch.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader

from masksem_core.engine.builders import autocast, eval_loader
from masksem_core.engine.distributed import DistributedContext, all_gather_objects
from masksem_core.engine.loops import progress
from masksem_core.model import ActionClassifier, LinearProbeHead


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
    k = min(5, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return {
        "top1": 100.0 * (top[:, 0] == labels).float().mean().item(),
        "top5": 100.0 * (top == labels[:, None]).any(dim=1).float().mean().item(),
        "loss": nn.functional.cross_entropy(logits, labels).item(),
        "samples": len(labels),
        "unique_samples": len(labels),
    }


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    return max(num_samples // min(batch_size, num_samples), 1)
