"""Momentum update of the offline encoder θ from the online encoder φ (paper eq. 10)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def ema_update_(offline: nn.Module, online: nn.Module, momentum: float) -> None:
    """θ ← mθ + (1 − m)φ for every parameter, in place; buffers are copied from φ (eq. 10)."""
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"EMA momentum must be in [0, 1], got {momentum}")
    theta = list(offline.parameters())
    phi = [p.detach() for p in online.parameters()]
    if len(theta) != len(phi):
        raise ValueError("offline and online encoders have different parameter lists")
    torch._foreach_mul_(theta, momentum)
    torch._foreach_add_(theta, phi, alpha=1.0 - momentum)
    for b_theta, b_phi in zip(offline.buffers(), online.buffers(), strict=True):
        b_theta.copy_(b_phi)
