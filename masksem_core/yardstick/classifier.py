"""The yardstick: multinomial logistic regression (L2) over :class:`SkeletonFeatures`, one
module from the learned model's input window to logits, so that it exports to ONNX, calibrates
and plays live exactly like a learned model."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from masksem_core.skeleton import SkeletonLayout
from masksem_core.yardstick.features import SkeletonFeatures, YardstickError

MIN_STD = 1e-6


class YardstickClassifier(nn.Module):
    """(B, M, T, V, 3) windows → (B, classes) logits: features, standardised with the training
    set's mean and spread, then one linear layer."""

    def __init__(self, layout: SkeletonLayout, window: int, frames: int, classes: int) -> None:
        super().__init__()
        self.features = SkeletonFeatures(layout, window, frames)
        width = self.features.width
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))
        self.linear = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear((self.features(x) - self.mean) / self.std)

    @torch.no_grad()
    def encode(self, windows: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """Features of (N, M, T, V, 3) windows, in batches; NaN anywhere is refused."""
        if torch.isnan(windows).any():
            raise YardstickError("windows hold NaN joints; the yardstick takes finite input only")
        return torch.cat(
            [self.features(windows[i : i + batch]) for i in range(0, len(windows), batch)]
        )

    def fit(self, features: torch.Tensor, labels: torch.Tensor, l2: float) -> float:
        """Standardise on ``features`` (N, F), then minimise the mean cross-entropy
        + ``l2``/2 · ‖W‖² with L-BFGS (full batch; convex, so the optimum does not depend on
        the start). → the final training loss."""
        if len(features) == 0:
            raise YardstickError("no training windows to fit the yardstick on")
        self.mean.copy_(features.mean(0))
        self.std.copy_(features.std(0, unbiased=False).clamp(min=MIN_STD))
        z = (features - self.mean) / self.std
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        optimiser = torch.optim.LBFGS(
            self.linear.parameters(),
            lr=1,
            max_iter=500,
            history_size=20,
            tolerance_grad=1e-6,
            line_search_fn="strong_wolfe",
        )

        def objective() -> torch.Tensor:
            penalty = l2 / 2 * self.linear.weight.square().sum()
            return F.cross_entropy(self.linear(z), labels) + penalty

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        optimiser.step(closure)
        with torch.no_grad():
            return float(objective())


def top1(logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose argmax is the label."""
    return float((logits.argmax(1) == labels).mean()) if len(labels) else float("nan")
