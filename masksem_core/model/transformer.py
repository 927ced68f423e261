"""Pre-LN transformer blocks (paper eqs. 4 and 11) with stochastic depth."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from masksem_core.model.attention import ATTENTION_PATHS, split_head_attention


class DropPath(nn.Module):
    """Stochastic depth: drop a whole residual branch per sample with probability ``p``."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop path probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MultiHeadSelfAttention(nn.Module):
    """MSA with a fused q/k/v projection; ``path`` selects the attention kernel."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embedding dim {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.path = "auto"
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # each (N, L, D)
        return self.proj(split_head_attention(q, k, v, self.num_heads, self.path))


@contextmanager
def attention_path(module: nn.Module, path: str) -> Iterator[None]:
    """Run every attention layer of ``module`` through ``path`` inside the block."""
    if path not in ATTENTION_PATHS:
        raise ValueError(f"unknown attention path {path!r}; choose one of {ATTENTION_PATHS}")
    layers = [m for m in module.modules() if isinstance(m, MultiHeadSelfAttention)]
    previous = [m.path for m in layers]
    for layer in layers:
        layer.path = path
    try:
        yield
    finally:
        for layer, old in zip(layers, previous, strict=True):
            layer.path = old


class TransformerBlock(nn.Module):
    """H' = MSA(LN(H)) + H;  H = MLP(LN(H')) + H'  (paper eq. 4 / eq. 11)."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class TransformerStack(nn.Module):
    """``depth`` blocks followed by a final LayerNorm; drop path rises linearly with depth."""

    def __init__(
        self, dim: int, depth: int, num_heads: int, mlp_dim: int, drop_path: float = 0.0
    ) -> None:
        super().__init__()
        rates = torch.linspace(0, drop_path, depth).tolist() if depth else []
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, num_heads, mlp_dim, rate) for rate in rates
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


WEIGHT_INITS = ("xavier", "trunc_normal")


def init_transformer_weights(module: nn.Module, scheme: str = "xavier") -> None:
    """Linear weights xavier-uniform (MAMP, after JAX ViT) or trunc-normal(0.02) (MAE), zero
    biases; LayerNorm weight 1, bias 0."""
    if scheme not in WEIGHT_INITS:
        raise ValueError(f"unknown weight init {scheme!r}; choose one of {WEIGHT_INITS}")
    for m in module.modules():
        if isinstance(m, nn.Linear):
            if scheme == "xavier":
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
