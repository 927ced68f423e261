"""Classifier heads and the encoder + head classifier used by linear eval, fine-tuning and ONNX."""

from __future__ import annotations

import torch
from torch import nn

from masksem_core.model.encoder import SkeletonEncoder
from masksem_core.model.transformer import init_transformer_weights
from masksem_core.model.validation import check_skeleton_batch


class LinearProbeHead(nn.Module):
    """Linear-probe head: mean over M, Te, V → BatchNorm1d(affine=False) → Linear."""

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        # the encoder is frozen, so features are stationary: a cumulative average of the batch
        # statistics (momentum=None) is the exact running estimate, however few steps there are
        self.norm = nn.BatchNorm1d(dim, affine=False, eps=1e-6, momentum=None)
        self.fc = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    @property
    def num_classes(self) -> int:
        return self.fc.out_features

    @staticmethod
    def pool(features: torch.Tensor) -> torch.Tensor:
        """(B, M, Te, V, D) → (B, D): the frozen features the probe sees (cacheable)."""
        return features.mean(dim=(1, 2, 3))

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, D) pooled features → (B, K) logits."""
        return self.fc(self.norm(pooled))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classify(self.pool(features))


class FineTuneHead(nn.Module):
    """MAMP's fine-tuning head: dropout → mean over Te → flatten V·D → mean over M →
    Linear(V·D → hidden) → BatchNorm → ReLU → Linear. (B, M, Te, V, D) → (B, K)."""

    def __init__(
        self,
        dim: int,
        num_joints: int,
        num_classes: int,
        hidden_dim: int = 2048,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(num_joints * dim, hidden_dim)
        self.norm = nn.BatchNorm1d(hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, num_classes)
        init_transformer_weights(self, "xavier")

    @property
    def num_classes(self) -> int:
        return self.fc2.out_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = self.dropout(features).mean(dim=2).flatten(2).mean(dim=1)  # (B, V·D)
        return self.fc2(torch.relu(self.norm(self.fc1(pooled))))


class PooledMLPHead(nn.Module):
    """Alternative fine-tuning head: mean over M, Te, V → LayerNorm → Linear → GELU → dropout →
    Linear."""

    def __init__(
        self, dim: int, num_classes: int, hidden_dim: int | None = None, dropout: float = 0.0
    ) -> None:
        super().__init__()
        hidden_dim = hidden_dim or dim
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, num_classes),
        )
        init_transformer_weights(self.mlp, "trunc_normal")

    @property
    def num_classes(self) -> int:
        return self.mlp[-1].out_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm(features.mean(dim=(1, 2, 3))))  # (B, M, Te, V, D) → (B, K)


class ActionClassifier(nn.Module):
    """Encoder + head on multi-body input: (B, M, T, V, C) → logits (B, K)."""

    def __init__(self, encoder: SkeletonEncoder, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Dense encoder features per body: (B, M, T, V, C) → (B, M, Te, V, D)."""
        enc = self.encoder
        check_skeleton_batch(x, enc.num_joints, enc.in_channels, enc.segment_length, enc.window)
        b, m = x.shape[:2]
        dense = enc(x.flatten(0, 1))  # (B·M, Te, V, D)
        return dense.reshape(b, m, *dense.shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
