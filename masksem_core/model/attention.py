"""Scaled dot-product attention kernels, chosen per call by device, dtype and length."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

ATTENTION_PATHS = ("auto", "sdpa", "matmul", "chunked", "onnxruntime")
# Bytes of one chunk's (c, L, L) score tensor in the chunked kernel
CHUNK_SCORE_BYTES = 4 << 20
# Sequences up to this length count as short for the CPU kernel choice
SHORT_TOKENS = 150


def matmul_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √d) v with plain batched matmuls: (N, H, L, d) → (N, H, L, d)."""
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (N, H, L, L)
    return scores.softmax(dim=-1) @ v


class _ChunkedAttention(torch.autograd.Function):
    """softmax(q kᵀ) v over chunks of ``chunk`` sequences, q pre-scaled; (S, L, d) each.

    Keeps no (L, L) tensor between forward and backward: backward recomputes each chunk's
    probabilities P and uses rowsum(dP ∘ P) = rowsum(dO ∘ O) (as flash attention does), so
    the working set is one chunk's scores and the matmuls run in the inputs' dtype.
    """

    @staticmethod
    def forward(ctx, q, k, v, chunk: int):
        out = torch.empty_like(v)
        for part in _chunks(q.shape[0], chunk):
            torch.bmm(_probabilities(q[part], k[part]), v[part], out=out[part])
        ctx.save_for_backward(q, k, v, out)
        ctx.chunk = chunk
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        q, k, v, out = ctx.saved_tensors
        grad_out = grad_out.to(v.dtype).contiguous()
        grad_q, grad_k, grad_v = (torch.empty_like(t) for t in (q, k, v))
        wide = torch.promote_types(v.dtype, torch.float32)
        row_dot = (grad_out.to(wide) * out.to(wide)).sum(-1, keepdim=True)  # D: (S, L, 1)
        with torch.autocast(q.device.type, enabled=False):
            for part in _chunks(q.shape[0], ctx.chunk):
                probs = _probabilities(q[part], k[part])  # (c, L, L)
                torch.bmm(probs.transpose(1, 2), grad_out[part], out=grad_v[part])
                grad_scores = torch.bmm(grad_out[part], v[part].transpose(1, 2))  # dP
                grad_scores.sub_(row_dot[part].to(grad_scores.dtype)).mul_(probs)  # P ∘ (dP − D)
                torch.bmm(grad_scores, k[part], out=grad_q[part])
                torch.bmm(grad_scores.transpose(1, 2), q[part], out=grad_k[part])
        return grad_q, grad_k, grad_v, None


def _chunks(total: int, chunk: int):
    return (slice(start, start + chunk) for start in range(0, total, chunk))


def _probabilities(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return torch.bmm(q, k.transpose(1, 2)).softmax(dim=-1)  # (c, L, L), softmax in fp32 inside


def chunked_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, score_bytes: int = CHUNK_SCORE_BYTES
) -> torch.Tensor:
    """softmax(q kᵀ / √d) v for (N, H, L, d) inputs, computed ``score_bytes`` of scores at a
    time with recomputation in backward: plain matmuls without the (N, H, L, L) tensors that
    :func:`matmul_attention` keeps for backward. Runs in the inputs' dtype (autocast off
    inside: under autocast the projections are already low precision)."""
    n, heads, length, dim = q.shape
    dtype = torch.promote_types(torch.promote_types(q.dtype, k.dtype), v.dtype)
    chunk = max(1, score_bytes // (length * length * torch.finfo(dtype).bits // 8))
    flat = [t.to(dtype).reshape(n * heads, length, dim).contiguous() for t in (q * dim**-0.5, k, v)]
    with torch.autocast(q.device.type, enabled=False):
        out = _ChunkedAttention.apply(*flat, chunk)
    return out.reshape(n, heads, length, dim)


def preferred_attention_path(q: torch.Tensor) -> str:
    """The fastest kernel for ``q`` (N, H, L, d), as measured by ``bench/attention.py``.

    On CPU (AMD EPYC Zen 4, AVX-512 bf16, 2 threads; batch 16 × 8 heads × 32, forward +
    backward): in bf16 plain matmuls for short sequences (75 tokens, φ's kept tokens: 2.2 ms vs
    SDPA 13.1) and the chunked kernel above (750 tokens, θ, the decoder, fine-tuning: 117 ms vs
    SDPA 234 and whole-batch matmuls 250, whose (N, H, L, L) scores cost memory traffic); in
    fp32 the chunked kernel for short sequences (4.0 vs 4.6 ms) and SDPA's flash kernel above
    (216 vs 238 ms at 750). SDPA on CUDA.
    """
    if q.device.type != "cpu":
        return "sdpa"
    short = q.shape[-2] <= SHORT_TOKENS
    if q.dtype == torch.float32:
        return "chunked" if short else "sdpa"
    return "matmul" if short else "chunked"


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


KERNELS = {
    "sdpa": F.scaled_dot_product_attention,
    "matmul": matmul_attention,
    "chunked": chunked_attention,
}


def split_head_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, path: str = "auto"
) -> torch.Tensor:
    """Multi-head attention of (N, L, D) projections over ``heads`` heads → (N, L, D).

    ``path``: ``auto`` (:func:`preferred_attention_path`), ``sdpa``, ``matmul``, ``chunked``,
    or ``onnxruntime`` (ONNX export to ORT's fused kernel; SDPA when run in PyTorch).
    """
    if path == "onnxruntime":
        return _OnnxRuntimeAttention.apply(q, k, v, heads)
    n, length, dim = q.shape
    q, k, v = (t.reshape(n, length, heads, dim // heads).transpose(1, 2) for t in (q, k, v))
    if path == "auto":
        path = preferred_attention_path(q)
    if path not in KERNELS:
        raise ValueError(f"unknown attention path {path!r}; choose one of {ATTENTION_PATHS}")
    out = KERNELS[path](q, k, v)
    return out.transpose(1, 2).reshape(n, length, dim)  # (N, H, L, d) → (N, L, D)
