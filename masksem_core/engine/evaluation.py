"""Classification metrics over a whole test split, each sample counted once across ranks."""

from __future__ import annotations

import torch
from torch import nn

from masksem_core.engine.distributed import (
    DistributedContext,
    all_gather_objects,
    all_reduce_sum,
)
from masksem_core.engine.monitor import progress
from masksem_core.engine.precision import autocast

TEST_SCALARS = ("top1", "top5", "loss")  # what classification tasks log to TensorBoard


def accuracy_counts(logits: torch.Tensor, labels: torch.Tensor) -> tuple[int, int]:
    """(top-1 correct, top-5 correct) of (B, K) logits against (B,) labels (top-k with k ≤ K)."""
    top = logits.topk(min(5, logits.shape[1]), dim=1).indices
    return int((top[:, 0] == labels).sum()), int((top == labels[:, None]).any(dim=1).sum())


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: torch.utils.data.DataLoader,
    context: DistributedContext,
    precision: str,
) -> dict:
    """Top-1/top-5 (%), mean cross-entropy, samples and distinct samples over the split."""
    was_training = model.training
    model.eval()
    counts = torch.zeros(4, dtype=torch.float64)  # top-1, top-5, samples, summed loss
    seen: list[int] = list(loader.sampler)
    for x, y in progress(loader, context, "evaluating"):
        x, y = x.to(context.device, non_blocking=True), y.to(context.device)
        with autocast(precision, context.device):
            logits = model(x).float()
        top1, top5 = accuracy_counts(logits, y)
        loss = nn.functional.cross_entropy(logits, y, reduction="sum").item()
        counts += torch.tensor([top1, top5, len(y), loss], dtype=torch.float64)
    counts = all_reduce_sum(counts, context)
    all_seen = [i for part in all_gather_objects(seen, context) for i in part]
    model.train(was_training)
    n = max(counts[2].item(), 1.0)
    return {
        "top1": 100.0 * counts[0].item() / n,
        "top5": 100.0 * counts[1].item() / n,
        "loss": counts[3].item() / n,
        "samples": int(counts[2].item()),
        "unique_samples": len(set(all_seen)),
    }


def classification_line(means: dict[str, float], metrics: dict) -> str:
    """An epoch's log line: training loss, then test top-1 and top-5."""
    return (
        f"loss {means['loss']:.4g}, test top-1 {metrics['top1']:.2f} %, "
        f"top-5 {metrics['top5']:.2f} %"
    )
