"""Joint (segment) embedding, paper eq. 1, and spatio-temporal positional embeddings."""

from __future__ import annotations

import torch
from torch import nn


def segment_tokens(x: torch.Tensor, segment_length: int) -> torch.Tensor:
    """Split time into non-overlapping segments: (N, T, V, C) → (N, T/l, V, l·C).

    Used both for the embedding's input and for the reconstruction targets so that token
    (t_e, v) always means "joint v during frames t_e·l … t_e·l + l − 1".
    """
    n, t, v, c = x.shape
    x = x.reshape(n, t // segment_length, segment_length, v, c)  # (N, Te, l, V, C)
    return x.permute(0, 1, 3, 2, 4).reshape(n, t // segment_length, v, segment_length * c)


class JointEmbedding(nn.Module):
    """E' = JointEmbedding(S'): Linear(l·C → D) on each (segment, joint) token (eq. 1).

    Equivalent to MAMP's Conv2d with kernel (l, 1) and stride (l, 1), including PyTorch's default
    initialisation (same fan-in l·C)."""

    def __init__(self, in_channels: int, segment_length: int, dim: int) -> None:
        super().__init__()
        self.segment_length = segment_length
        self.proj = nn.Linear(segment_length * in_channels, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(segment_tokens(x, self.segment_length))  # (N, Te, V, D)


class SpatioTemporalPositionalEmbedding(nn.Module):
    """Learned P_t (1, Te, 1, D) and P_s (1, 1, V, D), added by broadcasting (eqs. 3, 11)."""

    def __init__(self, num_segments: int, num_joints: int, dim: int) -> None:
        super().__init__()
        self.temporal = nn.Parameter(torch.zeros(1, num_segments, 1, dim))
        self.spatial = nn.Parameter(torch.zeros(1, 1, num_joints, dim))
        nn.init.trunc_normal_(self.temporal, std=0.02)
        nn.init.trunc_normal_(self.spatial, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens + self.temporal + self.spatial  # (N, Te, V, D)
