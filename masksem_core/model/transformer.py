"""Pre-LN transformer blocks (paper eqs. 4 and 11): attention kernels chosen by device and
dtype, stochastic depth."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


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


ATTENTION_PATHS = ("auto", "sdpa", "matmul", "onnxruntime")


def matmul_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √d) v with plain batched matmuls: (N, H, L, d) → (N, H, L, d)."""
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (N, H, L, L)
    return scores.softmax(dim=-1) @ v


def preferred_attention_path(q: torch.Tensor) -> str:
    """The faster of PyTorch's SDPA kernel and plain matmuls for ``q`` (N, H, L, d).

    Measured on CPU (AMD EPYC Zen 4, AVX-512 bf16, 2 threads): ``bench/attention.py`` (batch
    16 × 8 heads × 32) finds SDPA's flash kernel faster in fp32 (2–2.9× at 300–750 tokens, equal
    at 75), and in bf16 matmuls faster up to 300 tokens (2–6× with backward), SDPA faster for the
    no-grad forward at 750 and equal with backward; in the whole pretraining step
    (``bench/pretrain_step.py``) bf16 matmuls over the decoder's 750 tokens cost 22 % more than
    SDPA (memory traffic of the (L, L) scores). So: SDPA in fp32 and on CUDA, matmuls for short
    low-precision sequences (≤ 512 tokens: φ's 75 kept tokens), SDPA above.
    """
    if q.device.type != "cpu" or q.dtype == torch.float32:
        return "sdpa"
    return "matmul" if q.shape[-2] <= 512 else "sdpa"


class _OnnxRuntimeAttention(torch.autograd.Function):
    """Exports as ONNX Runtime's fused ``com.microsoft.MultiHeadAttention`` (q, k, v of shape
    (N, L, D)); computes the same attention in PyTorch while tracing."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int):
        return split_head_attention(q, k, v, heads, "sdpa")

    @staticmethod
    def symbolic(g, q, k, v, heads: int):
        out = g.op("com.microsoft::MultiHeadAttention", q, k, v, num_heads_i=heads)
        out.setType(q.type())
        return out


def split_head_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, path: str = "auto"
) -> torch.Tensor:
    """Multi-head attention of (N, L, D) projections over ``heads`` heads → (N, L, D).

    ``path``: ``auto`` (:func:`preferred_attention_path`), ``sdpa``, ``matmul``, or
    ``onnxruntime`` (ONNX export to ORT's fused kernel; SDPA when run in PyTorch).
    """
    if path == "onnxruntime":
        return _OnnxRuntimeAttention.apply(q, k, v, heads)
    n, length, dim = q.shape
    q, k, v = (t.reshape(n, length, heads, dim // heads).transpose(1, 2) for t in (q, k, v))
    if path == "auto":
        path = preferred_attention_path(q)
    if path == "sdpa":
        out = F.scaled_dot_product_attention(q, k, v)
    elif path == "matmul":
        out = matmul_attention(q, k, v)
    else:
        raise ValueError(f"unknown attention path {path!r}; choose one of {ATTENTION_PATHS}")
    return out.transpose(1, 2).reshape(n, length, dim)  # (N, H, L, d) → (N, L, D)


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
