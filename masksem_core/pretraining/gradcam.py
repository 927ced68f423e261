"""Unsupervised Grad-CAM of the similarity to the average motion (paper eqs. 4–7), closed form.

z_e is the global average of H_e over its Te·V tokens, so ∂sim/∂H_e is the same at every token
and equals (1/(Te·V)) ∂sim/∂z_e. The CAM therefore needs no backward pass at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call


def bf16_forward(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)``, run entirely in bfloat16 when bf16 autocast is on for ``x``'s device.

    Under autocast every linear re-casts its fp32 weights and LayerNorm returns fp32 (a cast
    before the next linear and an fp32 residual stream); with the weights cast to bf16 once per
    call and autocast off, θ's 750-token CAM forward is ≈ 10 % cheaper on CPU
    (bench/pretrain_step.py), and π differs from fp32's by bf16 rounding only (tested). The
    module's own fp32 weights (θ's EMA state) are left untouched. fp16 keeps autocast: a
    pure-fp16 residual stream can overflow.
    """
    device = x.device.type
    bf16_autocast = torch.is_autocast_enabled(device) and (
        torch.get_autocast_dtype(device) == torch.bfloat16
    )
    if not bf16_autocast:
        return module(x)
    state = {
        name: t.to(torch.bfloat16) if t.is_floating_point() else t
        for name, t in [*module.named_parameters(), *module.named_buffers()]
    }
    with torch.autocast(device, enabled=False):
        return functional_call(module, state, (x.to(torch.bfloat16),))


@torch.no_grad()
def offline_dense_features(offline_encoder: nn.Module, sequences: torch.Tensor) -> torch.Tensor:
    """H_e = θ(E_e) on the full unmasked input (eq. 4): (N, T, V, C) → (N, Te, V, D).

    Empty (all-zero) sequences, the absent second body of a one-person NTU/PKU sample, all have
    the same features, so θ encodes one of them and shares the result: exact, and it removes
    most of θ's cost on those bodies (about 40 % of NTU-60's sequences). Under bf16 autocast θ
    runs in bf16 throughout (:func:`bf16_forward`).
    """
    empty = sequences.flatten(1).eq(0).all(dim=1)  # (N,)
    if int(empty.sum()) <= 1:
        return bf16_forward(offline_encoder, sequences)
    encoded = ~empty
    first_empty = int(empty.nonzero()[0])
    encoded[first_empty] = True
    features = bf16_forward(offline_encoder, sequences[encoded])  # (N', Te, V, D)
    row = encoded.long().cumsum(0) - 1  # (N,) row of each encoded sequence in ``features``
    row[empty] = int(row[first_empty])  # a number, not a view of ``row`` (CUDA refuses that)
    return features[row]


def similarity_gradient(dense: torch.Tensor, reference_dense: torch.Tensor) -> torch.Tensor:
    """∂(−sim(z_e, z̄_e))/∂H_e at any one token (eqs. 5–6), closed form: (N, D).

    With z = GAP(H_e), z̄ = GAP(H̄_e) and sim = z·z̄ / (‖z‖‖z̄‖) (eq. 5):
    ∂sim/∂z = z̄/(‖z‖‖z̄‖) − sim·z/‖z‖², and every token of H_e receives 1/(Te·V) of it.
    ``dense`` is (N, Te, V, D); ``reference_dense`` is (1, Te, V, D) or (N, Te, V, D).
    """
    _, te, v, _ = dense.shape
    z = dense.float().mean(dim=(1, 2))  # (N, D)
    z_ref = reference_dense.float().mean(dim=(1, 2)).expand_as(z)  # (N, D)
    z_norm = z.norm(dim=1, keepdim=True).clamp_min(1e-12)
    ref_norm = z_ref.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sim = (z * z_ref).sum(dim=1, keepdim=True) / (z_norm * ref_norm)
    d_sim_d_z = z_ref / (z_norm * ref_norm) - sim * z / z_norm**2
    return -d_sim_d_z / (te * v)


def grad_cam_channel_weights(dense: torch.Tensor, reference_dense: torch.Tensor) -> torch.Tensor:
    """α_e = (1/(T·V)) Σ_t Σ_v ReLU(∂(−sim)/∂H_e) (eq. 6): (N, D).

    The gradient is identical at every token, so the average of its ReLU is its ReLU.
    """
    return torch.relu(similarity_gradient(dense, reference_dense))


def grad_cam_scores(dense: torch.Tensor, channel_weights: torch.Tensor) -> torch.Tensor:
    """ReLU(Σ_c α_e H_e) (eq. 7 before smoothing): (N, Te, V, D), (N, D) → (N, Te, V)."""
    return torch.relu(torch.einsum("ntvd,nd->ntv", dense.float(), channel_weights))


def adjacency_smoothing(scores: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    """η = ReLU(Σ_c α_e H_e) A_vv (eq. 7): smooth (N, Te, V) scores over the bone graph."""
    return scores @ adjacency


def binary_part_scores(scores: torch.Tensor, body_parts: Sequence[Sequence[int]]) -> torch.Tensor:
    """Official-release CAM variant: η/1e-8 clipped to [0, 1], then averaged within each body part.

    (N, Te, V) → (N, Te, V): every joint of a part gets the part's share of active joints.
    """
    binary = (scores / 1e-8).clamp(0.0, 1.0)
    out = torch.empty_like(binary)
    for part in body_parts:
        index = torch.as_tensor(part, device=scores.device)
        out[..., index] = binary[..., index].mean(dim=-1, keepdim=True)
    return out
