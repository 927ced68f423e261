"""π-weighted masked reconstruction loss and the hybrid combination (paper eqs. 14–15)."""

from __future__ import annotations

import torch


def masked_reconstruction_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    masked: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """L = (1/|idx^mask|) Σ_{i ∈ idx^mask} ‖M^pred_i − M_i‖² · π_i (eq. 14).

    ``prediction`` and ``target`` are (N, L, l·C), ``masked`` is a boolean (N, L) and
    ``weights`` the masking distribution π (N, L), or None for the unweighted loss. As in MAMP,
    a token's squared error is averaged over its l·C values (‖·‖² / (l·C)).
    """
    per_token = (prediction.float() - target.float()).pow(2).mean(dim=-1)  # (N, L)
    if weights is not None:
        per_token = per_token * weights
    mask = masked.to(per_token.dtype)
    return (per_token * mask).sum() / mask.sum().clamp_min(1.0)


def hybrid_motion_loss(
    velocity_loss: torch.Tensor, acceleration_loss: torch.Tensor, beta: float
) -> torch.Tensor:
    """L = (1 − β) L_v + β L_a (eq. 15)."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"β must be in [0, 1], got {beta}")
    return (1.0 - beta) * velocity_loss + beta * acceleration_loss
