"""The vanilla transformer encoder shared by the online encoder φ and the offline encoder θ."""

from __future__ import annotations

import torch
from torch import nn

from masksem_core.model.embedding import JointEmbedding, SpatioTemporalPositionalEmbedding
from masksem_core.model.transformer import TransformerStack, init_transformer_weights
from masksem_core.skeleton import SkeletonLayout, nearest_corresponding_joints
from masksem_core.windows import WINDOW


class SkeletonEncoder(nn.Module):
    """Joint embedding + positional embedding + pre-LN transformer + final LN (eqs. 1, 3, 4).

    Works on single-body sequences (N, T, V, C); callers fold the body axis into N.
    """

    def __init__(
        self,
        num_joints: int,
        in_channels: int = 3,
        window: int = WINDOW,
        segment_length: int = 4,
        dim: int = 256,
        depth: int = 8,
        num_heads: int = 8,
        mlp_dim: int = 1024,
        drop_path: float = 0.0,
        weight_init: str = "xavier",
    ) -> None:
        super().__init__()
        if window % segment_length:
            raise ValueError(f"window {window} is not divisible by segment length {segment_length}")
        self.num_joints = num_joints
        self.in_channels = in_channels
        self.window = window
        self.segment_length = segment_length
        self.num_segments = window // segment_length
        self.dim = dim
        self.joint_embedding = JointEmbedding(in_channels, segment_length, dim)
        self.positional_embedding = SpatioTemporalPositionalEmbedding(
            self.num_segments, num_joints, dim
        )
        self.transformer = TransformerStack(dim, depth, num_heads, mlp_dim, drop_path)
        init_transformer_weights(self.transformer, weight_init)
        if weight_init != "xavier":  # MAMP keeps PyTorch's default init for the joint embedding
            init_transformer_weights(self.joint_embedding, weight_init)

    @property
    def num_tokens(self) -> int:
        return self.num_segments * self.num_joints

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """E_e = JointEmbedding(S') + P_t + P_s (eqs. 1, 3): (N, T, V, C) → (N, Te, V, D)."""
        return self.positional_embedding(self.joint_embedding(x))

    def encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """H_e = LN(transformer(tokens)) (eq. 4): (N, L', D) → (N, L', D) for any subset L'."""
        return self.transformer(tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Dense features of the full sequence: (N, T, V, C) → (N, Te, V, D)."""
        tokens = self.embed(x)
        n, te, v, d = tokens.shape
        return self.encode_tokens(tokens.reshape(n, te * v, d)).reshape(n, te, v, d)


SPATIAL_EMBEDDING = "positional_embedding.spatial"  # (1, 1, V, D): the only per-joint weights


def encoder_state_for_layout(
    state: dict[str, torch.Tensor], source: SkeletonLayout, target: SkeletonLayout
) -> dict[str, torch.Tensor]:
    """An encoder's weights for another joint layout. Every weight but the spatial positional
    embedding is shared by all joints; its row for each target joint is the row of the
    corresponding source joint, or of its nearest ancestor's counterpart
    (``nearest_corresponding_joints``: NTU-25's hand tip starts as Kinect-v1-20's hand).
    A pair of layouts without a correspondence raises ValueError naming both."""
    if source.name == target.name:
        return state
    rows = nearest_corresponding_joints(source, target)
    return {**state, SPATIAL_EMBEDDING: state[SPATIAL_EMBEDDING][:, :, rows].clone()}
