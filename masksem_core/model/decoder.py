"""Masked-motion decoder D (paper eq. 11) with the prediction layer FC (eq. 13)."""

from __future__ import annotations

import torch
from torch import nn

from masksem_core.model.embedding import SpatioTemporalPositionalEmbedding
from masksem_core.model.transformer import TransformerStack, init_transformer_weights


class MaskedMotionDecoder(nn.Module):
    """Insert mask tokens at the masked positions, add decoder positions, decode, predict.

    ``out_dim`` is the number of predicted values per token (l·C per target).
    """

    def __init__(
        self,
        num_segments: int,
        num_joints: int,
        encoder_dim: int,
        out_dim: int,
        dim: int = 256,
        depth: int = 3,
        num_heads: int = 8,
        mlp_dim: int = 1024,
        weight_init: str = "xavier",
    ) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.num_joints = num_joints
        self.input_projection = nn.Linear(encoder_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.positional_embedding = SpatioTemporalPositionalEmbedding(num_segments, num_joints, dim)
        self.transformer = TransformerStack(dim, depth, num_heads, mlp_dim)
        self.prediction = nn.Linear(dim, out_dim)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        for part in (self.input_projection, self.transformer, self.prediction):
            init_transformer_weights(part, weight_init)

    def forward(self, kept_features: torch.Tensor, keep_index: torch.Tensor) -> torch.Tensor:
        """(N, K, D_enc) features of kept tokens at flat indices (N, K) → (N, L, out_dim)."""
        n, k, _ = kept_features.shape
        kept = self.input_projection(kept_features)  # (N, K, Dd)
        dim = kept.shape[-1]
        length = self.num_segments * self.num_joints
        full = self.mask_token.to(kept.dtype).expand(n, length, dim).clone()  # (N, L, Dd)
        full.scatter_(1, keep_index.unsqueeze(-1).expand(n, k, dim), kept)
        full = self.positional_embedding(full.reshape(n, self.num_segments, self.num_joints, dim))
        decoded = self.transformer(full.reshape(n, length, dim))  # D_d, (N, L, Dd)
        return self.prediction(decoded)  # M^pred, (N, L, out_dim)
